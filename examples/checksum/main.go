// Command checksum walks a directory tree and prints the SHA-256 of every
// regular file, hashing the files on a workerpool.Pool.
//
// Usage:
//
//	checksum [-min n] [-max n] [-queue n] [dir]
//
// The output on stdout is in sha256sum format, sorted by path, so
//
//	checksum dir > sums.txt && sha256sum -c sums.txt
//
// verifies it when run from the same working directory. Files under 64 KiB
// are submitted at [workerpool.PriorityHigh] and larger ones at
// [workerpool.PriorityNormal]; the summary on stderr shows, per priority, the
// mean time from submit to start, so the effect of priority is visible.
//
// With no dir argument, checksum hashes the Go toolchain's own source tree,
// $(go env GOROOT)/src. A file that cannot be read is reported on stderr and
// counted, the run goes on, and the exit code is 1. Bad flags exit with 2.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/example/workerpool"
)

// smallFile is the size below which a file is hashed at PriorityHigh.
const smallFile = 64 << 10

// progressInterval is how often the progress line is redrawn.
const progressInterval = 200 * time.Millisecond

// openFile opens a file for hashing. Tests replace it to make one file fail
// even when they run as root, which can read a chmod 000 file.
var openFile = os.Open

// isTerminal reports whether w is a character device, such as a terminal.
// It uses only the standard library so that the module stays stdlib-only.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&fs.ModeCharDevice != 0
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config holds the parsed command line.
type config struct {
	minWorkers, maxWorkers, queue int
	root                          string
}

// parseArgs parses the flags and the optional directory argument.
func parseArgs(args []string, stderr io.Writer) (config, error) {
	var c config
	fset := flag.NewFlagSet("checksum", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprintln(fset.Output(), "usage: checksum [-min n] [-max n] [-queue n] [dir]")
		fset.PrintDefaults()
	}
	fset.IntVar(&c.minWorkers, "min", 0, "minimum number of workers")
	fset.IntVar(&c.maxWorkers, "max", runtime.GOMAXPROCS(0), "maximum number of workers")
	fset.IntVar(&c.queue, "queue", 1024, "number of tasks that may wait to start")
	if err := fset.Parse(args); err != nil {
		return c, err
	}
	switch fset.NArg() {
	case 0:
		c.root = goSrcDir()
	case 1:
		c.root = fset.Arg(0)
	default:
		fset.Usage()
		return c, errors.New("too many arguments")
	}
	return c, nil
}

// goSrcDir returns the source tree of the Go toolchain. It asks the go
// command, because runtime.GOROOT is deprecated and reports the GOROOT the
// binary was built with, and falls back to runtime.GOROOT if that fails.
func goSrcDir() string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	goroot := strings.TrimSpace(string(out))
	if err != nil || goroot == "" {
		goroot = runtime.GOROOT() //nolint:staticcheck // Fallback only.
	}
	return filepath.Join(goroot, "src")
}

// run is the whole command; main only adds os.Exit. It returns the exit
// code: 0 on success, 1 if any file failed, 2 for bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	c, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "checksum: %v\n", err)
		return 2
	}
	p, err := workerpool.New(
		workerpool.WithMinWorkers(c.minWorkers),
		workerpool.WithMaxWorkers(c.maxWorkers),
		workerpool.WithQueueSize(c.queue),
	)
	if err != nil {
		fmt.Fprintf(stderr, "checksum: %v\n", err)
		return 2
	}

	h := &hasher{pool: p, start: time.Now()}
	stop := func() {}
	if isTerminal(stderr) {
		stop = h.progress(stderr, progressInterval)
	}
	walkErr := h.walk(context.Background(), c.root)
	h.wait(context.Background())
	elapsed := time.Since(h.start)
	stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shutErr := p.Shutdown(ctx)

	hashed, failed := h.report(stdout, stderr)
	if walkErr != nil {
		fmt.Fprintf(stderr, "checksum: %v\n", walkErr)
		failed++
	}
	if shutErr != nil {
		fmt.Fprintf(stderr, "checksum: shutdown: %v\n", shutErr)
		failed++
	}
	h.summary(stderr, c, totals{hashed, failed, elapsed}, p.Stats())
	if failed > 0 {
		return 1
	}
	return 0
}

// A result is one file's outcome. The walker creates it; only the task that
// hashes the file writes sum and err, and the walker reads them back only
// after the task is done, so no lock is needed.
type result struct {
	path string
	task *workerpool.Task // nil if the walk failed for this path
	sum  string
	err  error
}

// A hasher walks a tree and hashes its files on a pool.
type hasher struct {
	pool  *workerpool.Pool
	start time.Time

	// results is owned by the goroutine that runs walk and then wait.
	results []*result

	files, bytes, submitted atomic.Int64
	maxWorkers              atomic.Int64
	high, normal            prioStats
}

// prioStats counts, for one priority, files and time from submit to start.
type prioStats struct {
	files, waitNanos atomic.Int64
}

// walk submits one task per regular file under root. Blocking Submit bounds
// the number of queued tasks and so the memory in use. Errors for single
// entries are recorded and do not stop the walk; an error from Submit does.
func (h *hasher) walk(ctx context.Context, root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			// WalkDir skips a directory it cannot read; record it and go on.
			h.results = append(h.results, &result{path: path, err: err})
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			h.results = append(h.results, &result{path: path, err: err})
			return nil
		}
		return h.submit(ctx, path, info.Size())
	})
}

// submit queues the hashing of one file.
func (h *hasher) submit(ctx context.Context, path string, size int64) error {
	prio, ps := workerpool.PriorityNormal, &h.normal
	if size < smallFile {
		prio, ps = workerpool.PriorityHigh, &h.high
	}
	r := &result{path: path}
	submitted := time.Now()
	fn := func(context.Context) error {
		ps.waitNanos.Add(int64(time.Since(submitted)))
		ps.files.Add(1)
		h.noteWorkers()
		sum, n, err := hashFile(path)
		r.sum, r.err = sum, err
		h.files.Add(1)
		h.bytes.Add(n)
		return err
	}
	t, err := h.pool.Submit(ctx, fn, workerpool.WithPriority(prio), workerpool.WithSize(size))
	if err != nil {
		return fmt.Errorf("submit %s: %w", path, err)
	}
	r.task = t
	h.results = append(h.results, r)
	h.submitted.Add(1)
	return nil
}

// noteWorkers records the largest number of workers seen while tasks run.
func (h *hasher) noteWorkers() {
	n := int64(h.pool.NumWorkers())
	for {
		old := h.maxWorkers.Load()
		if n <= old || h.maxWorkers.CompareAndSwap(old, n) {
			return
		}
	}
}

// wait waits for every submitted task. A task that ends without running its
// body (dropped, canceled) gets the error from Wait.
func (h *hasher) wait(ctx context.Context) {
	for _, r := range h.results {
		if r.task == nil {
			continue
		}
		if err := r.task.Wait(ctx); err != nil && r.err == nil {
			r.err = err
		}
	}
}

// hashFile returns the hex SHA-256 of the named file and its length.
func hashFile(path string) (string, int64, error) {
	f, err := openFile(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// report prints the sums sorted by path to stdout and the failures to
// stderr, and returns how many files it hashed and how many failed.
func (h *hasher) report(stdout, stderr io.Writer) (hashed, failed int) {
	slices.SortFunc(h.results, func(a, b *result) int { return strings.Compare(a.path, b.path) })
	for _, r := range h.results {
		if r.err != nil {
			failed++
			fmt.Fprintf(stderr, "checksum: %s\n", describe(r))
			continue
		}
		hashed++
		fmt.Fprintln(stdout, sumLine(r.sum, r.path))
	}
	return hashed, failed
}

// describe formats a failure so that it names the file exactly once.
func describe(r *result) string {
	var pe *fs.PathError
	if errors.As(r.err, &pe) && pe.Path == r.path {
		return r.err.Error()
	}
	return r.path + ": " + r.err.Error()
}

// sumLine formats one line the way sha256sum does. Like GNU sha256sum, a
// name holding a backslash or a newline is escaped and the line starts with
// a backslash, so that sha256sum -c reads it back.
func sumLine(sum, path string) string {
	if !strings.ContainsAny(path, "\\\n") {
		return sum + "  " + path
	}
	esc := strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(path)
	return `\` + sum + "  " + esc
}
