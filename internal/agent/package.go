package agent

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/teslaops/tesla/internal/agenttask"
)

// packageMarker is the file in a version directory that says what package it
// holds: written last, so a directory with it is complete.
const packageMarker = ".tesla-package.json"

// maxArchiveBytes bounds a downloaded archive.
const maxArchiveBytes = 16 << 30

// installed is the content of packageMarker.
type installed struct {
	Kind     string `json:"kind"`
	Location string `json:"location"`
	Checksum string `json:"checksum,omitempty"`
	Ref      string `json:"ref,omitempty"`
	Commit   string `json:"commit,omitempty"`
}

// Layout is where the agent keeps services: <root>/<service>/<version>/ (one
// directory a version, never changed once unpacked), <root>/<service>/current
// (a link to the version that runs) and <root>/<service>/run/ (pid file and
// log of the process the agent runs).
type Layout struct{ Root string }

func (l Layout) serviceDir(svc string) string      { return filepath.Join(l.Root, svc) }
func (l Layout) versionDir(svc, ver string) string { return filepath.Join(l.Root, svc, ver) }
func (l Layout) currentLink(svc string) string     { return filepath.Join(l.Root, svc, "current") }
func (l Layout) runDir(svc string) string          { return filepath.Join(l.Root, svc, "run") }

// Current returns the version the service's current link names ("" if none).
func (l Layout) Current(svc string) string {
	t, err := os.Readlink(l.currentLink(svc))
	if err != nil {
		return ""
	}
	return filepath.Base(t)
}

// ensurePackage makes <root>/<service>/<version> hold the spec's package: a
// complete directory of the same package is kept as it is (skipped, e.g. a
// rollback), another package there is an error (a version is never replaced
// in place), else it is fetched, verified and unpacked beside it and renamed
// into place.
func (l Layout) ensurePackage(ctx context.Context, client *http.Client, spec agenttask.Spec) (skipped bool, out string, err error) {
	src := *spec.Source
	dir := l.versionDir(spec.Service, spec.Version)
	if b, err := os.ReadFile(filepath.Join(dir, packageMarker)); err == nil {
		var have installed
		if err := json.Unmarshal(b, &have); err != nil {
			return false, "", fmt.Errorf("%s has an unreadable %s: remove the directory to install again", dir, packageMarker)
		}
		same := have.Kind == src.Kind && (src.Kind == agenttask.SourceTar && have.Checksum == src.Checksum ||
			src.Kind == agenttask.SourceGit && have.Ref == src.Ref && have.Location == src.Location)
		if !same {
			return false, "", fmt.Errorf("%s already holds another package (%s %s%s): a version is never replaced in place; deploy it under a new version",
				dir, have.Kind, have.Checksum, have.Commit)
		}
		return true, fmt.Sprintf("%s already holds this package (%s%s): nothing fetched", dir, have.Checksum, have.Commit), nil
	} else if _, err := os.Stat(dir); err == nil {
		return false, "", fmt.Errorf("%s exists but was not installed by the agent (no %s): remove it or use another version", dir, packageMarker)
	}
	if err := os.MkdirAll(l.serviceDir(spec.Service), 0o755); err != nil {
		return false, "", fmt.Errorf("error creating the service directory: %w", err)
	}
	// The agent runs one task at a time: scratch left here is a previous
	// run's, cut short (killed mid-fetch).
	stale, _ := filepath.Glob(filepath.Join(l.serviceDir(spec.Service), ".unpack-*"))
	more, _ := filepath.Glob(filepath.Join(l.serviceDir(spec.Service), ".download-*"))
	for _, p := range append(stale, more...) {
		_ = os.RemoveAll(p)
	}
	tmp, err := os.MkdirTemp(l.serviceDir(spec.Service), ".unpack-"+spec.Version+"-")
	if err != nil {
		return false, "", fmt.Errorf("error creating a directory to unpack into: %w", err)
	}
	defer os.RemoveAll(tmp) // gone once renamed; cleans up a failure
	if err := os.Chmod(tmp, 0o755); err != nil {
		return false, "", err
	}
	mark := installed{Kind: src.Kind, Location: src.Location, Checksum: src.Checksum, Ref: src.Ref}
	switch src.Kind {
	case agenttask.SourceTar:
		n, files, err := fetchTar(ctx, client, src, l.serviceDir(spec.Service), tmp)
		if err != nil {
			return false, "", err
		}
		out = fmt.Sprintf("fetched %s (%d bytes, %s verified), unpacked %d entries into %s", src.Location, n, src.Checksum, files, dir)
	case agenttask.SourceGit:
		commit, err := cloneGit(ctx, src, tmp)
		if err != nil {
			return false, "", err
		}
		mark.Commit = commit
		out = fmt.Sprintf("cloned %s at %s (commit %s) into %s", src.Location, src.Ref, commit, dir)
	}
	b, _ := json.Marshal(mark)
	if err := writeFileAtomic(filepath.Join(tmp, packageMarker), b, 0o644); err != nil {
		return false, "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return false, "", fmt.Errorf("error moving the unpacked package into %s: %w", dir, err)
	}
	syncDir(l.serviceDir(spec.Service))
	return false, out, nil
}

// fetchTar downloads (or copies) the archive next to the version directories
// while hashing it, refuses it unless its SHA-256 is the spec's, then unpacks
// it into dir. Nothing is unpacked from an archive that was not verified.
func fetchTar(ctx context.Context, client *http.Client, src agenttask.Source, scratch, dir string) (int64, int, error) {
	in, err := openLocation(ctx, client, src.Location)
	if err != nil {
		return 0, 0, err
	}
	defer in.Close()
	f, err := os.CreateTemp(scratch, ".download-")
	if err != nil {
		return 0, 0, fmt.Errorf("error creating the download file: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(in, maxArchiveBytes+1))
	if err != nil {
		return n, 0, fmt.Errorf("error fetching %s: %w", src.Location, err)
	}
	if n > maxArchiveBytes {
		return n, 0, fmt.Errorf("%s is larger than %d bytes", src.Location, int64(maxArchiveBytes))
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != src.Checksum {
		return n, 0, fmt.Errorf("checksum mismatch: %s is %s, the task expects %s; nothing was unpacked", src.Location, got, src.Checksum)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return n, 0, err
	}
	files, err := unpackTar(f, dir)
	return n, files, err
}

// openLocation opens an http(s) URL, a file:// URL or a local path.
func openLocation(ctx context.Context, client *http.Client, loc string) (io.ReadCloser, error) {
	u, err := url.Parse(loc)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("User-Agent", "tesla-agent/"+Version)
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("error fetching %s: %w", loc, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("error fetching %s: the server answered %s", loc, resp.Status)
		}
		return resp.Body, nil
	}
	p := loc
	if err == nil && u.Scheme == "file" {
		p = u.Path
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("error opening the package: %w", err)
	}
	return f, nil
}

// unpackTar extracts a tar archive (gzip-compressed or not) into dir. Every
// entry must stay inside dir: an absolute name, a ".." that climbs out, a
// symbolic link pointing out, a hard link or a device is refused, and the
// whole archive with it. Set-id bits are dropped.
func unpackTar(r io.Reader, dir string) (int, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return 0, fmt.Errorf("the archive is not valid gzip: %w", err)
		}
		defer gz.Close()
		r = gz
	} else {
		r = br
	}
	tr := tar.NewReader(r)
	n := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("the archive is not a valid tar: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		if name == "" || name == "." || name == "./" {
			continue
		}
		rel, err := agenttask.CleanRelative(name)
		if err != nil {
			return n, fmt.Errorf("archive entry %q refused: %v; nothing was installed", hdr.Name, err)
		}
		target := filepath.Join(dir, filepath.FromSlash(rel))
		mode := os.FileMode(hdr.Mode) & 0o777
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, mode|0o700); err != nil {
				return n, err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return n, err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_EXCL, mode)
			if err != nil {
				return n, fmt.Errorf("archive entry %q: %w", hdr.Name, err)
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return n, fmt.Errorf("archive entry %q: %w", hdr.Name, err)
			}
		case tar.TypeSymlink:
			if path.IsAbs(hdr.Linkname) {
				return n, fmt.Errorf("archive entry %q refused: it links to the absolute path %q; nothing was installed", hdr.Name, hdr.Linkname)
			}
			if _, err := agenttask.CleanRelative(path.Join(path.Dir(rel), hdr.Linkname)); err != nil {
				return n, fmt.Errorf("archive entry %q refused: its link %q leaves the version directory; nothing was installed", hdr.Name, hdr.Linkname)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return n, err
			}
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return n, fmt.Errorf("archive entry %q: %w", hdr.Name, err)
			}
		default:
			return n, fmt.Errorf("archive entry %q refused: type %q is not a file, directory or symbolic link; nothing was installed", hdr.Name, hdr.Typeflag)
		}
		n++
	}
}

// cloneGit checks out ref of the repository into dir with the git binary and
// returns the commit.
func cloneGit(ctx context.Context, src agenttask.Source, dir string) (string, error) {
	git, err := exec.LookPath("git")
	if err != nil {
		return "", errors.New("a GIT source needs the git binary, which is not on the agent's PATH")
	}
	run := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, git, args...)
		cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
		b, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("git %s: %v: %s", args[0], err, agenttask.Truncate(strings.TrimSpace(string(b)), 1000))
		}
		return strings.TrimSpace(string(b)), nil
	}
	if _, err := run("clone", "--quiet", "--no-checkout", "--", src.Location, dir); err != nil {
		return "", err
	}
	if _, err := run("-C", dir, "checkout", "--quiet", "--detach", src.Ref, "--"); err != nil {
		return "", err
	}
	return run("-C", dir, "rev-parse", "HEAD")
}

// switchCurrent points the service's current link at version atomically: a
// new link under a temporary name renamed over the old one, so current is
// always one version or the other.
func (l Layout) switchCurrent(svc, ver string) error {
	var b [6]byte
	_, _ = rand.Read(b[:])
	tmp := filepath.Join(l.serviceDir(svc), ".current-"+hex.EncodeToString(b[:]))
	if err := os.Symlink(ver, tmp); err != nil {
		return fmt.Errorf("error creating the new current link: %w", err)
	}
	if err := os.Rename(tmp, l.currentLink(svc)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("error switching the current link: %w", err)
	}
	syncDir(l.serviceDir(svc))
	return nil
}

// writeConfig writes the spec's files into the version directory, each
// atomically; a path reaching outside it, directly or through a link, is
// refused before anything is written.
func (l Layout) writeConfig(svc, ver string, files []agenttask.File) (string, error) {
	dir := l.versionDir(svc, ver)
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("version %s of %s is not installed: %w", ver, svc, err)
	}
	targets := make([]string, len(files))
	for i, f := range files {
		rel, err := agenttask.CleanRelative(f.Path)
		if err != nil {
			return "", err
		}
		target := filepath.Join(real, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return "", fmt.Errorf("error creating the directory of %s: %w", f.Path, err)
		}
		parent, err := filepath.EvalSymlinks(filepath.Dir(target))
		if err != nil || (parent != real && !strings.HasPrefix(parent, real+string(filepath.Separator))) {
			return "", fmt.Errorf("config file %q would be written outside the version directory: refused", f.Path)
		}
		if fi, err := os.Lstat(target); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			return "", fmt.Errorf("config file %q is a symbolic link in the package: refused", f.Path)
		}
		targets[i] = target
	}
	var names []string
	for i, f := range files {
		mode := os.FileMode(f.Mode)
		if mode == 0 {
			mode = 0o644
		}
		if err := writeFileAtomic(targets[i], []byte(f.Content), mode); err != nil {
			return "", err
		}
		names = append(names, f.Path)
	}
	return fmt.Sprintf("wrote %s in %s", strings.Join(names, ", "), dir), nil
}

// removalTargets resolves the files a CONFIGURE removes to paths inside the
// version directory, refusing the whole list before anything is touched if
// one would leave it: an absolute path or "..", or a directory on the way
// that is a link pointing elsewhere (a package's conf -> /etc must not let a
// removal of conf/passwd reach /etc/passwd). A file whose directory does not
// exist is absent already (an empty target).
func (l Layout) removalTargets(svc, ver string, paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	dir := l.versionDir(svc, ver)
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("version %s of %s is not installed: %w", ver, svc, err)
	}
	targets := make([]string, len(paths))
	for i, p := range paths {
		rel, err := agenttask.CleanRelative(p)
		if err != nil {
			return nil, fmt.Errorf("config file to remove %q refused: %w", p, err)
		}
		target := filepath.Join(real, filepath.FromSlash(rel))
		parent, err := filepath.EvalSymlinks(filepath.Dir(target))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil || (parent != real && !strings.HasPrefix(parent, real+string(filepath.Separator))) {
			return nil, fmt.Errorf("config file to remove %q is outside the version directory %s: refused", p, dir)
		}
		fi, err := os.Lstat(filepath.Join(parent, filepath.Base(target)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, fmt.Errorf("error reading config file to remove %q: %w", p, err)
		case fi.IsDir():
			return nil, fmt.Errorf("config file to remove %q is a directory: refused", p)
		}
		targets[i] = filepath.Join(parent, filepath.Base(target))
	}
	return targets, nil
}

// removeConfig deletes the resolved targets (removalTargets) and says which
// files it removed and which were absent already, so that a task sent twice
// succeeds twice.
func removeConfig(paths, targets []string) (string, error) {
	var removed, absent []string
	for i, t := range targets {
		if t == "" {
			absent = append(absent, paths[i])
			continue
		}
		switch err := os.Remove(t); {
		case errors.Is(err, fs.ErrNotExist):
			absent = append(absent, paths[i])
		case err != nil:
			return "", fmt.Errorf("error removing config file %s: %w", paths[i], err)
		default:
			removed = append(removed, paths[i])
		}
	}
	var out []string
	if len(removed) > 0 {
		out = append(out, "removed "+strings.Join(removed, ", "))
	}
	if len(absent) > 0 {
		out = append(out, "absent already "+strings.Join(absent, ", "))
	}
	return strings.Join(out, "; "), nil
}

// writeFileAtomic writes b to path through a temporary file and a rename.
func writeFileAtomic(p string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".*")
	if err != nil {
		return fmt.Errorf("error writing %s: %w", p, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("error writing %s: %w", p, err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("error writing %s: %w", p, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("error writing %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("error writing %s: %w", p, err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return fmt.Errorf("error writing %s: %w", p, err)
	}
	return nil
}
