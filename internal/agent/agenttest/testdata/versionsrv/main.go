// Command versionsrv is the service of the agent tests (built by package
// agenttest): it serves GET /version with the content of the VERSION file of
// its package, on the address in its configuration file config/addr (both read
// from its working directory, the version directory the agent starts it in).
package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	version, err := os.ReadFile("VERSION")
	if err != nil {
		fmt.Fprintln(os.Stderr, "versionsrv:", err)
		os.Exit(1)
	}
	addr, err := os.ReadFile("config/addr")
	if err != nil {
		fmt.Fprintln(os.Stderr, "versionsrv:", err)
		os.Exit(1)
	}
	http.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, strings.TrimSpace(string(version)))
	})
	srv := &http.Server{Addr: strings.TrimSpace(string(addr))}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		srv.Close()
	}()
	fmt.Println("versionsrv", strings.TrimSpace(string(version)), "listening on", srv.Addr)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "versionsrv:", err)
		os.Exit(1)
	}
}
