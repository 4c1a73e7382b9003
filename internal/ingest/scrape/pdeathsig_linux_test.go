package scrape_test

import (
	"os/exec"
	"syscall"
)

// dieWithTest asks the kernel to kill the child when the test process dies, so
// a test binary killed by its timeout never leaves a node_exporter behind (the
// t.Cleanup that normally stops it does not run then).
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
