package agent

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/agenttask"
)

type entry struct {
	name, link string
	typ        byte
}

func archive(t *testing.T, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o4755}
		if e.typ == tar.TypeReg {
			h.Size = 2
		}
		require.NoError(t, tw.WriteHeader(h))
		if e.typ == tar.TypeReg {
			_, err := tw.Write([]byte("ok"))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return &buf
}

func TestUnpackRefusesWhatLeavesTheDirectory(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		entries []entry
		refused string
	}{
		"climbing name":        {[]entry{{name: "a/../../x", typ: tar.TypeReg}}, "leaves the version directory"},
		"absolute name":        {[]entry{{name: "/etc/x", typ: tar.TypeReg}}, "is absolute"},
		"absolute link":        {[]entry{{name: "l", link: "/etc/passwd", typ: tar.TypeSymlink}}, "absolute path"},
		"link climbing out":    {[]entry{{name: "d/l", link: "../../x", typ: tar.TypeSymlink}}, "leaves the version directory"},
		"hard link":            {[]entry{{name: "f", typ: tar.TypeReg}, {name: "h", link: "f", typ: tar.TypeLink}}, "not a file, directory or symbolic link"},
		"device":               {[]entry{{name: "dev", typ: tar.TypeChar}}, "not a file, directory or symbolic link"},
		"fine, with a link in": {[]entry{{name: "./bin/", typ: tar.TypeDir}, {name: "bin/app", typ: tar.TypeReg}, {name: "app", link: "bin/app", typ: tar.TypeSymlink}}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			n, err := unpackTar(archive(t, tc.entries...), dir)
			if tc.refused == "" {
				require.NoError(t, err)
				require.Equal(t, 3, n)
				b, err := os.ReadFile(filepath.Join(dir, "app"))
				require.NoError(t, err)
				require.Equal(t, "ok", string(b))
				fi, err := os.Stat(filepath.Join(dir, "bin", "app"))
				require.NoError(t, err)
				require.Equal(t, os.FileMode(0o755), fi.Mode()&(os.ModePerm|os.ModeSetuid), "set-id bits are dropped")
				return
			}
			require.ErrorContains(t, err, tc.refused)
		})
	}
}

func TestConfigAndCurrentLinkStayInside(t *testing.T) {
	t.Parallel()
	l := Layout{Root: t.TempDir()}
	v1 := l.versionDir("svc", "v1")
	require.NoError(t, os.MkdirAll(v1, 0o755))
	outside := t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(v1, "out")))
	_, err := l.writeConfig("svc", "v1", []agenttask.File{{Path: "out/x.conf", Content: "x"}})
	require.ErrorContains(t, err, "outside the version directory")
	require.NoFileExists(t, filepath.Join(outside, "x.conf"))
	out, err := l.writeConfig("svc", "v1", []agenttask.File{{Path: "conf/a.conf", Content: "a=1", Mode: 0o600}})
	require.NoError(t, err)
	require.Contains(t, out, "conf/a.conf")
	fi, err := os.Stat(filepath.Join(v1, "conf", "a.conf"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	require.Equal(t, "", l.Current("svc"))
	require.NoError(t, l.switchCurrent("svc", "v1"))
	require.Equal(t, "v1", l.Current("svc"))
	require.NoError(t, os.MkdirAll(l.versionDir("svc", "v2"), 0o755))
	require.NoError(t, l.switchCurrent("svc", "v2"))
	require.Equal(t, "v2", l.Current("svc"))
	left, _ := filepath.Glob(filepath.Join(l.serviceDir("svc"), ".current-*"))
	require.Empty(t, left, "no temporary link is left behind")
}

// TestConfigRemovalStaysInside: a CONFIGURE removes the files it names from
// the version directory, an absent one is no error, and a path leaving the
// directory (absolute, "..", or through a linked directory) refuses the
// whole task before anything is written or removed.
func TestConfigRemovalStaysInside(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	l := Layout{Root: root}
	v1 := l.versionDir("svc", "v1")
	require.NoError(t, os.MkdirAll(filepath.Join(v1, "conf"), 0o755))
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "keep.conf"), []byte("k"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(v1, "out")))
	require.NoError(t, os.WriteFile(filepath.Join(v1, "conf", "old.conf"), []byte("o"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "sibling.conf"), []byte("s"), 0o644))
	e := NewExecutor(root, t.TempDir())
	configure := func(remove ...string) (string, error) {
		return e.Run(context.Background(), agenttask.Spec{Action: agenttask.ActionConfigure, Service: "svc", Version: "v1", NoRestart: true,
			Config: []agenttask.File{{Path: "conf/new.conf", Content: "n"}}, Remove: remove}, NewProgress())
	}

	for bad, why := range map[string]string{"../../sibling.conf": "leaves the version directory",
		"/etc/passwd": "is absolute", "conf/../../../sibling.conf": "leaves the version directory"} {
		_, err := configure(bad)
		require.ErrorContains(t, err, "the agent refuses the task: file to remove", bad)
		require.ErrorContains(t, err, why, bad)
	}
	_, err := l.removalTargets("svc", "v1", []string{"/etc/passwd"})
	require.ErrorContains(t, err, "is absolute")
	_, err = configure("conf/old.conf", "out/keep.conf")
	require.ErrorContains(t, err, `config file to remove "out/keep.conf" is outside the version directory`)
	require.FileExists(t, filepath.Join(outside, "keep.conf"))
	require.FileExists(t, filepath.Join(v1, "conf", "old.conf"), "a refused task removes nothing")
	require.NoFileExists(t, filepath.Join(v1, "conf", "new.conf"), "a refused task writes nothing")
	require.FileExists(t, filepath.Join(root, "sibling.conf"))

	p := NewProgress()
	_, err = e.Run(context.Background(), agenttask.Spec{Action: agenttask.ActionConfigure, Service: "svc", Version: "v1", NoRestart: true,
		Config: []agenttask.File{{Path: "conf/new.conf", Content: "n"}}, Remove: []string{"conf/old.conf", "gone/x.conf"}}, p)
	require.NoError(t, err)
	require.NoFileExists(t, filepath.Join(v1, "conf", "old.conf"))
	require.FileExists(t, filepath.Join(v1, "conf", "new.conf"))
	require.Contains(t, p.Steps()[0].Output, "removed conf/old.conf")
	require.Contains(t, p.Steps()[0].Output, "absent already gone/x.conf")
}

func TestGitSourceIsClonedAtItsRefOnce(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git binary")
	}
	repo := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.email=t@example", "-c", "user.name=t", "-c", "commit.gpgsign=false"}, args...)...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	git("init", "--quiet")
	require.NoError(t, os.WriteFile(filepath.Join(repo, "VERSION"), []byte("v1\n"), 0o644))
	git("add", "VERSION")
	git("commit", "--quiet", "-m", "v1")
	git("tag", "v1")
	require.NoError(t, os.WriteFile(filepath.Join(repo, "VERSION"), []byte("v2\n"), 0o644))
	git("commit", "--quiet", "-am", "v2")

	l := Layout{Root: t.TempDir()}
	spec := agenttask.Spec{Action: agenttask.ActionDeploy, Service: "svc", Version: "1.0",
		Source:  &agenttask.Source{Kind: agenttask.SourceGit, Location: repo, Ref: "v1"},
		Process: &agenttask.Process{Command: []string{"true"}}}
	require.NoError(t, spec.Validate())
	skipped, out, err := l.ensurePackage(context.Background(), nil, spec)
	require.NoError(t, err)
	require.False(t, skipped)
	require.Contains(t, out, "at v1 (commit ")
	b, err := os.ReadFile(filepath.Join(l.versionDir("svc", "1.0"), "VERSION"))
	require.NoError(t, err)
	require.Equal(t, "v1\n", string(b), "the tag, not the branch's head")
	skipped, _, err = l.ensurePackage(context.Background(), nil, spec)
	require.NoError(t, err)
	require.True(t, skipped, "the same ref is not cloned again")
	spec.Source.Ref = "HEAD"
	_, _, err = l.ensurePackage(context.Background(), nil, spec)
	require.ErrorContains(t, err, "already holds another package")
}

// A write-only CONFIGURE writes the files into the current version and
// touches no process (the spec names none); its paths stay inside the
// version directory as every CONFIGURE's do.
func TestWriteOnlyConfigureWritesWithoutRestarting(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	e := NewExecutor(root, "/proc")
	require.NoError(t, os.MkdirAll(e.layout.versionDir("svc", "v1"), 0o755))
	require.NoError(t, e.layout.switchCurrent("svc", "v1"))
	spec := agenttask.Spec{Action: agenttask.ActionConfigure, Service: "svc", NoRestart: true,
		Config: []agenttask.File{{Path: "conf/app.conf", Content: "a=2\n"}}}
	p := NewProgress()
	out, err := e.Run(context.Background(), spec, p)
	require.NoError(t, err)
	require.Contains(t, out, "not restarted")
	b, err := os.ReadFile(filepath.Join(root, "svc", "v1", "conf", "app.conf"))
	require.NoError(t, err)
	require.Equal(t, "a=2\n", string(b))
	var names []string
	for _, s := range p.Steps() {
		names = append(names, s.Name+" "+s.State)
	}
	require.Equal(t, []string{"configure OK"}, names, "no stop, start or health step")

	spec.Config = []agenttask.File{{Path: "../other/x.conf", Content: "x"}}
	_, err = e.Run(context.Background(), spec, NewProgress())
	require.ErrorContains(t, err, "spec.config[0].path")
	require.NoFileExists(t, filepath.Join(root, "svc", "other", "x.conf"))
}

// A REBOOT runs the configured reboot command (a harmless one here) and
// reports its failure when the command fails.
func TestRebootRunsTheConfiguredCommand(t *testing.T) {
	t.Parallel()
	mark := filepath.Join(t.TempDir(), "rebooted")
	e := NewExecutor(t.TempDir(), "/proc").WithReboot([]string{"touch", mark})
	out, err := e.Run(context.Background(), agenttask.Spec{Action: agenttask.ActionReboot}, NewProgress())
	require.NoError(t, err)
	require.Contains(t, out, "reboot started: touch")
	require.FileExists(t, mark)

	e = NewExecutor(t.TempDir(), "/proc").WithReboot([]string{"false"})
	_, err = e.Run(context.Background(), agenttask.Spec{Action: agenttask.ActionReboot}, NewProgress())
	require.ErrorContains(t, err, "reboot: false")
}

// The boot time comes from procfs' btime line.
func TestBootTimeFromProcStat(t *testing.T) {
	t.Parallel()
	proc := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(proc, "stat"), []byte("cpu  1 2 3\nbtime 1700000000\nprocesses 5\n"), 0o644))
	b, err := bootTime(proc)
	require.NoError(t, err)
	require.Equal(t, int64(1700000000), b.Unix())
	require.NoError(t, os.WriteFile(filepath.Join(proc, "stat"), []byte("cpu  1 2 3\n"), 0o644))
	_, err = bootTime(proc)
	require.ErrorContains(t, err, "no btime")
}

// A task left unfinished in the journal is reported FAILED after a restart,
// unless it is a REBOOT and the machine booted after the agent took it.
func TestInterruptedRebootIsDoneAfterABoot(t *testing.T) {
	t.Parallel()
	proc := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(proc, "stat"), []byte("btime 1700000000\n"), 0o644))
	booted := time.Unix(1700000000, 0)
	reboot := agenttask.Spec{Action: agenttask.ActionReboot}
	for name, tc := range map[string]struct {
		spec    agenttask.Spec
		claimed time.Time
		want    string
	}{
		"reboot, then a boot":     {reboot, booted.Add(-time.Minute), agenttask.StateSucceeded},
		"reboot, no boot since":   {reboot, booted.Add(time.Minute), agenttask.StateFailed},
		"a restart cut a restart": {agenttask.Spec{Action: agenttask.ActionRestart, Service: "web"}, booted.Add(-time.Minute), agenttask.StateFailed},
	} {
		rep := interrupted(journalEntry{ID: 1, Spec: tc.spec, ClaimedAt: tc.claimed}, proc)
		require.Equal(t, tc.want, rep.State, name)
	}
	require.Equal(t, agenttask.StateFailed, interrupted(journalEntry{Spec: reboot}, t.TempDir()).State, "no boot time known")
}
