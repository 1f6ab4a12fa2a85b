package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/example/workerpool"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newTestPool returns a pool that is shut down when the test ends.
func newTestPool(t *testing.T, opts ...workerpool.Option) *workerpool.Pool {
	t.Helper()
	p, err := workerpool.New(opts...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Shutdown(context.Background())) })
	return p
}

// holdWorker occupies one worker of p until the returned release is called
// or the test ends, whichever comes first. It returns once the task runs.
func holdWorker(t *testing.T, p *workerpool.Pool) (release func()) {
	t.Helper()
	started, done := make(chan struct{}), make(chan struct{})
	_, err := p.Submit(context.Background(), func(context.Context) error {
		close(started)
		<-done
		return nil
	})
	require.NoError(t, err)
	<-started
	release = sync.OnceFunc(func() { close(done) })
	t.Cleanup(release) // Runs before the pool's Shutdown, registered earlier.
	return release
}

// sumOf is the answer of POST /hash for body.
func sumOf(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]) + "\n"
}

// hashRequest returns a POST /hash request with the given X-Priority header;
// "-" sends none.
func hashRequest(ctx context.Context, prio string, body io.Reader) *http.Request {
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/hash", body)
	if prio != "-" {
		r.Header.Set("X-Priority", prio)
	}
	return r
}

// opaque hides the length of r, so the request has no Content-Length.
type opaque struct{ r io.Reader }

func (o opaque) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestHash(t *testing.T) {
	t.Parallel()
	const limit = 1 << 10
	big := bytes.Repeat([]byte("x"), limit+1)
	exact := big[:limit]
	tests := []struct {
		name     string
		method   string
		prio     string
		body     io.Reader
		wantCode int
		wantBody string
	}{
		{"no header is normal", "POST", "-", strings.NewReader("abc"), 200, sumOf([]byte("abc"))},
		{"empty header is normal", "POST", "", strings.NewReader("abc"), 200, sumOf([]byte("abc"))},
		{"low", "POST", "low", strings.NewReader("a"), 200, sumOf([]byte("a"))},
		{"normal", "POST", "normal", strings.NewReader("b"), 200, sumOf([]byte("b"))},
		{"high", "POST", "high", strings.NewReader("c"), 200, sumOf([]byte("c"))},
		{"critical", "POST", "critical", strings.NewReader("d"), 200, sumOf([]byte("d"))},
		{"empty body", "POST", "-", http.NoBody, 200, sumOf(nil)},
		{"body at the limit", "POST", "-", bytes.NewReader(exact), 200, sumOf(exact)},
		{"chunked at the limit", "POST", "-", opaque{bytes.NewReader(exact)}, 200, sumOf(exact)},
		{"bad priority", "POST", "urgent", strings.NewReader("a"), 400, ""},
		{"priority is case-sensitive", "POST", "High", strings.NewReader("a"), 400, ""},
		{"declared body over the limit", "POST", "-", bytes.NewReader(big), 413, ""},
		{"chunked over the limit", "POST", "-", opaque{bytes.NewReader(big)}, 413, ""},
		{"GET", "GET", "-", nil, 405, ""},
		{"PUT", "PUT", "-", strings.NewReader("a"), 405, ""},
	}
	h := newHandler(newTestPool(t, workerpool.WithMaxWorkers(2)), limit)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := hashRequest(context.Background(), tt.prio, tt.body)
			r.Method = tt.method
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, tt.wantCode, w.Code, "body: %s", w.Body)
			if tt.wantBody != "" {
				assert.Equal(t, tt.wantBody, w.Body.String())
				assert.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))
			}
			if tt.wantCode == 405 {
				assert.Equal(t, "POST", w.Header().Get("Allow"))
			}
		})
	}
}

func TestHashQueueFull(t *testing.T) {
	t.Parallel()
	// In a bubble, so that synctest.Wait can tell when the worker is idle again.
	synctest.Test(t, func(t *testing.T) {
		p := newTestPool(t, workerpool.WithMaxWorkers(1), workerpool.WithQueueSize(0))
		h := newHandler(p, 1<<10)
		release := holdWorker(t, p)

		w := httptest.NewRecorder()
		h.ServeHTTP(w, hashRequest(context.Background(), "critical", strings.NewReader("a")))
		assert.Equal(t, http.StatusServiceUnavailable, w.Code)
		assert.Equal(t, "1", w.Header().Get("Retry-After"))
		assert.EqualValues(t, 1, p.Stats().Rejected)

		release()
		synctest.Wait()
		w = httptest.NewRecorder()
		h.ServeHTTP(w, hashRequest(context.Background(), "-", strings.NewReader("a")))
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, sumOf([]byte("a")), w.Body.String())
	})
}

func TestHashAfterShutdown(t *testing.T) {
	t.Parallel()
	p := newTestPool(t)
	require.NoError(t, p.Shutdown(context.Background()))
	w := httptest.NewRecorder()
	newHandler(p, 1<<10).ServeHTTP(w, hashRequest(context.Background(), "-", http.NoBody))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Empty(t, w.Header().Get("Retry-After"))
}

func TestHashClientGoneCancelsQueuedTask(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := newTestPool(t, workerpool.WithMaxWorkers(1), workerpool.WithQueueSize(4))
		release := holdWorker(t, p)
		ctx, cancel := context.WithCancel(context.Background())
		w := httptest.NewRecorder()
		served := make(chan struct{})
		go func() {
			defer close(served)
			newHandler(p, 1<<10).ServeHTTP(w, hashRequest(ctx, "high", strings.NewReader("a")))
		}()
		synctest.Wait()
		require.Equal(t, 1, p.Stats().Queued, "the request's task should wait")

		cancel()
		<-served
		release()
		require.NoError(t, p.Shutdown(context.Background()))
		st := p.Stats()
		assert.EqualValues(t, 1, st.Canceled, "the request's task")
		assert.EqualValues(t, 1, st.Succeeded, "the worker's holder")
		assert.Empty(t, w.Body.String(), "no answer to a client that has gone")
	})
}

func TestStatsAndReadyz(t *testing.T) {
	t.Parallel()
	p := newTestPool(t)
	h := newHandler(p, 1<<10)
	h.ServeHTTP(httptest.NewRecorder(), hashRequest(context.Background(), "-", http.NoBody))

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/stats", nil))
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	var st workerpool.Stats
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &st))
	assert.EqualValues(t, 1, st.Submitted)
	assert.EqualValues(t, 1, st.Succeeded)

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/stats", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "healthy", decodeReady(t, w.Body).Status)
}

// ready is the part of /readyz's answer the tests read.
type ready struct {
	Status string `json:"status"`
	Ready  bool   `json:"ready"`
}

// decodeReady decodes a /readyz answer.
func decodeReady(t *testing.T, r io.Reader) ready {
	t.Helper()
	var v ready
	require.NoError(t, json.NewDecoder(r).Decode(&v))
	return v
}

func TestParseArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want error
	}{
		{nil, nil},
		{[]string{"-addr", "127.0.0.1:0", "-max", "2", "-max-body", "10"}, nil},
		{[]string{"-h"}, flag.ErrHelp},
		{[]string{"-nosuch"}, errUsage},
		{[]string{"extra"}, errUsage},
		{[]string{"-max-body", "-1"}, errUsage},
	}
	for _, tt := range tests {
		_, err := parseArgs(tt.args, io.Discard)
		assert.ErrorIs(t, err, tt.want, "args %q", tt.args)
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{flag.ErrHelp, 0},
		{fmt.Errorf("%w: x", errUsage), 2},
		{fmt.Errorf("%w: x", errLost), 1},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, exitCode(tt.err, io.Discard), "err %v", tt.err)
	}
}

func TestRunBadPoolOption(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-max", "0"}, io.Discard)
	assert.ErrorIs(t, err, errUsage)
	assert.ErrorIs(t, err, workerpool.ErrInvalidOption)
}

func TestRunStopsOnCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := newLogSink()
	errc := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-max", "2"}, stderr)
	}()
	c := newClient(t, 1)
	code, got, err := post(c, "http://"+stderr.waitAddr(t, exited), "high", []byte("abc"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, sumOf([]byte("abc")), got)

	c.CloseIdleConnections()
	cancel()
	assert.NoError(t, <-errc)
	assert.Contains(t, stderr.String(), "stopped: submitted=1 succeeded=1 ")
}

// blockingServer serves, on a free loopback port, a handler that answers
// only once its pool task returns; the task returns when unblock is closed
// or its context ends. It returns the server, its URL, the channel Serve's
// error arrives on, and a channel that gets a value when a task starts.
func blockingServer(t *testing.T, p *workerpool.Pool, unblock <-chan struct{}) (
	srv *http.Server, url string, serveErr chan error, started chan struct{},
) {
	t.Helper()
	started = make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		task, err := p.Submit(r.Context(), func(ctx context.Context) error {
			started <- struct{}{}
			select {
			case <-unblock:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if err == nil {
			err = task.Wait(r.Context())
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv = &http.Server{Handler: h}
	serveErr = make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	return srv, "http://" + ln.Addr().String(), serveErr, started
}

func TestShutdownWaitsForRequestsInFlight(t *testing.T) {
	t.Parallel()
	p, err := workerpool.New()
	require.NoError(t, err)
	unblock := make(chan struct{})
	srv, url, serveErr, started := blockingServer(t, p, unblock)
	began := make(chan struct{})
	srv.RegisterOnShutdown(func() { close(began) })
	c := newClient(t, 1)
	code := make(chan int, 1)
	go func() {
		resp, err := c.Get(url)
		if !assert.NoError(t, err) {
			code <- 0
			return
		}
		resp.Body.Close()
		code <- resp.StatusCode
	}()
	<-started

	var stderr strings.Builder
	errc := make(chan error, 1)
	go func() { errc <- shutdown(context.Background(), srv, p, serveErr, &stderr) }()
	<-began
	close(unblock) // Only now, so the request is in flight during Shutdown.
	assert.Equal(t, http.StatusOK, <-code)
	assert.NoError(t, <-errc)
	assert.Contains(t, stderr.String(), "submitted=1 succeeded=1 ")
}

func TestShutdownPastDeadlineLosesWork(t *testing.T) {
	t.Parallel()
	p, err := workerpool.New()
	require.NoError(t, err)
	srv, url, serveErr, started := blockingServer(t, p, nil)
	c := newClient(t, 1)
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
		}
	}()
	<-started

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // The deadline has passed with the request still in flight.
	var stderr strings.Builder
	err = shutdown(ctx, srv, p, serveErr, &stderr)
	assert.ErrorIs(t, err, errLost)
	assert.ErrorIs(t, err, context.Canceled)
	<-answered
	assert.NoError(t, p.Shutdown(context.Background()))
	assert.Contains(t, stderr.String(), "submitted=1 ")
}

// goBinary returns the go command of the toolchain that runs the test, or
// the one on PATH.
func goBinary() string {
	//nolint:staticcheck // GOROOT is set by go test, so this is its toolchain.
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err == nil {
		return gobin
	}
	return "go"
}

// A logSink keeps what the command writes to stderr and sends the address
// it listens on to addr. The command writes each line in one Write.
type logSink struct {
	addr chan string // buffered; the address is printed once

	mu  sync.Mutex // guards buf
	buf strings.Builder
}

func newLogSink() *logSink { return &logSink{addr: make(chan string, 1)} }

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if a, ok := strings.CutPrefix(string(p), "httpserver: listening on http://"); ok {
		l.addr <- strings.TrimSpace(a)
	}
	return len(p), nil
}

// String returns what was written so far.
func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitAddr returns the address the command listens on. It fails the test if
// exited is closed first, or after 30s.
func (l *logSink) waitAddr(t *testing.T, exited <-chan struct{}) string {
	t.Helper()
	select {
	case addr := <-l.addr:
		return addr
	case <-exited:
		t.Fatalf("exited before listening:\n%s", l)
	case <-time.After(30 * time.Second):
		t.Fatalf("not listening after 30s:\n%s", l)
	}
	return ""
}

// A server is the httpserver binary running in a child process.
type server struct {
	cmd    *exec.Cmd
	addr   string        // host:port it listens on
	stderr *logSink      // its stderr
	exited chan struct{} // closed once it has exited and stderr is read
}

// startServer builds the command and starts it on a free loopback port.
// The process is killed, if still running, when the test ends.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "httpserver")
	out, err := exec.Command(goBinary(), "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	s := &server{stderr: newLogSink(), exited: make(chan struct{})}
	s.cmd = exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	s.cmd.Stderr = s.stderr
	require.NoError(t, s.cmd.Start())
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.exited
	})
	s.addr = s.stderr.waitAddr(t, s.exited)
	return s
}

// log returns what the server has written to stderr so far.
func (s *server) log() string { return s.stderr.String() }

// stop sends SIGTERM and returns the exit code. It fails the test if the
// server takes more than 10s to exit.
func (s *server) stop(t *testing.T) int {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("server did not exit within 10s of SIGTERM:\n%s", s.log())
	}
	return s.cmd.ProcessState.ExitCode()
}

// newClient returns an HTTP client for loopback tests, without proxies,
// whose idle connections are closed when the test ends.
func newClient(t *testing.T, conns int) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: conns}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// randomBody returns n pseudo-random bytes, the same for the same seed.
func randomBody(seed uint64, n int) []byte {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

// post sends a POST /hash and returns the status code and body.
func post(c *http.Client, url, prio string, body []byte) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, url+"/hash", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if prio != "" {
		req.Header.Set("X-Priority", prio)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// get sends a GET and decodes the JSON answer into v.
func get(t *testing.T, c *http.Client, url string, v any) *http.Response {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
	return resp
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the command")
	}
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGTERM")
	}
	t.Parallel()
	const (
		requests = 300
		clients  = 24
		maxBody  = 128 << 10
	)
	s := startServer(t, "-max", "4", "-queue", "512", "-max-body", fmt.Sprint(maxBody))
	url := "http://" + s.addr
	c := newClient(t, clients)

	// Mixed priorities and random bodies, from 0 bytes to exactly the limit.
	prios := []string{"", "low", "normal", "high", "critical"}
	var next, ok atomic.Int64
	var sent atomic.Uint64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < requests; i = next.Add(1) - 1 {
				n := rand.New(rand.NewPCG(uint64(i), 1)).IntN(64 << 10)
				switch i {
				case 0:
					n = 0
				case 1:
					n = maxBody
				}
				body := randomBody(uint64(i), n)
				code, got, err := post(c, url, prios[i%int64(len(prios))], body)
				if assert.NoError(t, err, "request %d", i) &&
					assert.Equal(t, http.StatusOK, code, "request %d: %s", i, got) &&
					assert.Equal(t, sumOf(body), got, "request %d", i) {
					ok.Add(1)
					sent.Add(uint64(n))
				}
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, requests, ok.Load(), "successful requests")

	code, _, err := post(c, url, "urgent", []byte("a"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, code, "bad X-Priority")
	code, _, err = post(c, url, "", make([]byte, maxBody+1))
	require.NoError(t, err)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code, "oversize body")
	resp, err := c.Get(url + "/hash")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "GET /hash")

	var r ready
	resp = get(t, c, url+"/readyz", &r)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "healthy", r.Status)
	assert.True(t, r.Ready)

	// Every request was answered, so every task has ended and is counted;
	// the refused requests never reached the pool.
	var st workerpool.Stats
	resp = get(t, c, url+"/stats", &st)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.EqualValues(t, requests, st.Submitted)
	assert.EqualValues(t, requests, st.Succeeded)
	assert.Zero(t, st.Failed+st.Panicked+st.Canceled+st.Dropped+st.Rejected)
	assert.Equal(t, sent.Load(), st.BytesProcessed)
	assert.Zero(t, st.Queued+st.Busy)
	assert.EqualValues(t, requests, st.Run.Count)

	c.CloseIdleConnections()
	assert.Equal(t, 0, s.stop(t), "exit code; stderr:\n%s", s.log())
	assert.Contains(t, s.log(), fmt.Sprintf("submitted=%d succeeded=%d ", requests, requests))
}
