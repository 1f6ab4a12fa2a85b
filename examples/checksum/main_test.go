package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// lineRE is the sha256sum format for a name that needs no escaping.
var lineRE = regexp.MustCompile(`^[0-9a-f]{64}  .+$`)

// testFiles maps paths, relative to the tree's root, to file sizes. The
// sizes fall on both sides of smallFile, and "a.txt" sorts before "a/…"
// although WalkDir visits the directory "a" first.
var testFiles = map[string]int{
	"empty":                 0,
	"a.txt":                 1,
	"a/b/small":             smallFile - 1,
	"a/b/exact":             smallFile,
	"a/big":                 3*smallFile + 7,
	"a/name with space.txt": 100,
	"z/deep/er/still/file":  200 << 10,
}

// makeTree writes testFiles under dir and returns the SHA-256 of each file,
// keyed by its relative path.
func makeTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	sums := make(map[string]string)
	for name, size := range testFiles {
		data := bytes.Repeat([]byte(name), size/len(name)+1)[:size]
		path := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, data, 0o644))
		sum := sha256.Sum256(data)
		sums[name] = hex.EncodeToString(sum[:])
	}
	return sums
}

// runChecksum runs the command and returns its exit code, stdout and stderr.
func runChecksum(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// checkSums checks that out has one well-formed line per file in want,
// sorted by path, each with the file's digest. Paths are root + "/" + name.
func checkSums(t *testing.T, out, root string, want map[string]string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	paths := make([]string, 0, len(lines))
	got := make(map[string]string)
	for _, line := range lines {
		require.Regexp(t, lineRE, line)
		sum, path, _ := strings.Cut(line, "  ")
		paths = append(paths, path)
		rel := strings.TrimPrefix(path, root+string(filepath.Separator))
		got[filepath.ToSlash(rel)] = sum
	}
	assert.True(t, slices.IsSorted(paths), "got unsorted paths %q", paths)
	assert.Equal(t, want, got)
}

// failOpen makes openFile fail for the named path until the test ends.
func failOpen(t *testing.T, name string) {
	t.Helper()
	orig := openFile
	t.Cleanup(func() { openFile = orig })
	openFile = func(path string) (*os.File, error) {
		if path == name {
			return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrPermission}
		}
		return orig(path)
	}
}

// verifyWithSha256sum runs sha256sum -c on out from dir, if it is installed.
func verifyWithSha256sum(t *testing.T, dir, out string) {
	t.Helper()
	bin, err := exec.LookPath("sha256sum")
	if err != nil {
		t.Log("sha256sum not on PATH; not checking with it")
		return
	}
	cmd := exec.Command(bin, "-c", "--strict", "-")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(out)
	res, err := cmd.CombinedOutput()
	require.NoError(t, err, "sha256sum -c: %s", res)
	for _, line := range strings.Split(strings.TrimSpace(string(res)), "\n") {
		assert.True(t, strings.HasSuffix(line, ": OK"), "sha256sum -c: %s", line)
	}
}

func TestRunAllReadable(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"-max", "1", "-queue", "0"},
		{"-min", "2", "-max", "4", "-queue", "1"},
	} {
		t.Run(strings.Join(append([]string{"args"}, args...), " "), func(t *testing.T) {
			root := t.TempDir()
			want := makeTree(t, root)

			code, out, errOut := runChecksum(t, append(args, root)...)
			require.Equal(t, 0, code, "stderr: %s", errOut)
			checkSums(t, out, root, want)
			assert.Contains(t, errOut, "7 files hashed, 0 failed")
			assert.Contains(t, errOut, "submitted 7, succeeded 7, failed 0")
			assert.Contains(t, errOut, "priority high   (< 64 KiB): 4 files")
			assert.Contains(t, errOut, "priority normal (>= 64 KiB): 3 files")
			assert.NotContains(t, errOut, "\r", "progress line on a non-terminal")
			verifyWithSha256sum(t, root, out)
		})
	}
}

func TestRunRelativePaths(t *testing.T) {
	dir := t.TempDir()
	want := makeTree(t, filepath.Join(dir, "tree"))
	t.Chdir(dir)

	code, out, errOut := runChecksum(t, "tree/")
	require.Equal(t, 0, code, "stderr: %s", errOut)
	checkSums(t, out, "tree", want)
	assert.Contains(t, out, "  tree/a/name with space.txt\n")
	verifyWithSha256sum(t, dir, out)
}

func TestRunUnreadableFile(t *testing.T) {
	root := t.TempDir()
	want := makeTree(t, root)
	bad := filepath.Join(root, "a", "b", "unreadable")
	require.NoError(t, os.WriteFile(bad, []byte("secret"), 0o644))
	failOpen(t, bad)

	code, out, errOut := runChecksum(t, root)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "checksum: open "+bad+": permission denied\n")
	assert.Contains(t, errOut, "7 files hashed, 1 failed")
	assert.Contains(t, errOut, "submitted 8, succeeded 7, failed 1")
	checkSums(t, out, root, want)
	verifyWithSha256sum(t, root, out)
}

func TestRunChmodUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		// Root reads a chmod 000 file; TestRunUnreadableFile covers failure.
		t.Skip("running as root, which can read a chmod 000 file")
	}
	root := t.TempDir()
	want := makeTree(t, root)
	bad := filepath.Join(root, "a", "locked")
	require.NoError(t, os.WriteFile(bad, []byte("secret"), 0o000))

	code, out, errOut := runChecksum(t, root)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, bad)
	checkSums(t, out, root, want)
}

func TestRunRootChmodStillHashes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can read a chmod 000 file")
	}
	root := t.TempDir()
	want := makeTree(t, root)
	locked := filepath.Join(root, "a", "locked")
	require.NoError(t, os.WriteFile(locked, []byte("secret"), 0o000))
	sum := sha256.Sum256([]byte("secret"))
	want["a/locked"] = hex.EncodeToString(sum[:])

	code, out, errOut := runChecksum(t, root)
	require.Equal(t, 0, code, "stderr: %s", errOut)
	checkSums(t, out, root, want)
}

func TestRunMissingDir(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	code, out, errOut := runChecksum(t, missing)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, missing)
}

func TestRunUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"unknown flag", []string{"-bogus"}, 2},
		{"bad number", []string{"-max", "many"}, 2},
		{"two dirs", []string{"a", "b"}, 2},
		{"help", []string{"-h"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runChecksum(t, tc.args...)
			assert.Equal(t, tc.code, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, "usage: checksum")
		})
	}
}

func TestSumLine(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for _, tc := range []struct{ path, want string }{
		{"dir/file", sum + "  dir/file"},
		{"with space", sum + "  with space"},
		{`back\slash`, `\` + sum + `  back\\slash`},
		{"new\nline", `\` + sum + `  new\nline`},
	} {
		assert.Equal(t, tc.want, sumLine(sum, tc.path), "path %q", tc.path)
	}
}

func TestGoSrcDir(t *testing.T) {
	dir := goSrcDir()
	assert.Equal(t, "src", filepath.Base(dir))
	_, err := os.Stat(filepath.Join(dir, "runtime"))
	assert.NoError(t, err)
}

func TestProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		h := &hasher{start: time.Now()}
		h.submitted.Store(10)
		h.files.Store(4)
		h.bytes.Store(2e6)
		stop := h.progress(&buf, time.Second)

		time.Sleep(time.Second) // Fake time: exactly one tick.
		synctest.Wait()
		stop()
		assert.Equal(t, "\r4/10 files, 2.0 MB, 2.0 MB/s\x1b[K\r\x1b[K", buf.String())
	})
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, isTerminal(f))
	assert.False(t, isTerminal(&bytes.Buffer{}))
}
