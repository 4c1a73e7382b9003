package agenttest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// The versionsrv build, shared by the tests of one test binary.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Versionsrv builds testdata/versionsrv once per test binary and returns the
// binary's path. A test binary that calls it removes the build in its
// TestMain with RemoveBuild.
func Versionsrv(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "versionsrv-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "versionsrv")
		// By import path: the tests run in their own package's directory.
		src := reflect.TypeFor[Host]().PkgPath() + "/testdata/versionsrv"
		out, err := exec.Command("go", "build", "-o", binPath, src).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

// RemoveBuild removes what Versionsrv built, if anything.
func RemoveBuild() {
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
}

// TarGz builds a gzip-compressed tar of files (name → content, in order; mode
// 0755 for names under bin/) and returns it with its checksum.
func TarGz(t testing.TB, files map[string][]byte, order []string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range order {
		mode := int64(0o644)
		if strings.HasPrefix(name, "bin/") {
			mode = 0o755
		}
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(files[name])), Typeflag: tar.TypeReg}))
		_, err := tw.Write(files[name])
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), "sha256:" + hex.EncodeToString(sum[:])
}

// Package writes the package of versionsrv at version (bin/versionsrv and a
// VERSION file) to dir as versionsrv-<version>.tar.gz, and returns its path
// and checksum.
func Package(t testing.TB, dir, version string) (path, checksum string) {
	t.Helper()
	bin, err := os.ReadFile(Versionsrv(t))
	require.NoError(t, err)
	b, sum := TarGz(t, map[string][]byte{"bin/versionsrv": bin, "VERSION": []byte(version + "\n")}, []string{"bin/versionsrv", "VERSION"})
	path = filepath.Join(dir, "versionsrv-"+version+".tar.gz")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	return path, sum
}
