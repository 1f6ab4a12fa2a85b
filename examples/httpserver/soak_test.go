//go:build soak

package main

// The soak test is behind the soak build tag, so CI's default run leaves it
// out. Run it, with its progress lines shown as they come, by
//
//	go test -tags soak -run Soak -v -timeout 20m ./examples/httpserver -soak.duration 10m
//
// -soak.duration must come after the package: go test passes every argument
// from the first flag it does not know on to the test binary, so a package
// after it is not read as one. SOAK_DURATION=10m in the environment does
// the same as the flag; the default is 1m.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/example/workerpool"
)

var soakDuration = flag.Duration("soak.duration", time.Minute,
	"how long TestSoak runs; SOAK_DURATION is read when the flag is not given")

const (
	soakClients = 24       // concurrent clients, more than the pool's workers and queue hold
	soakMaxBody = 64 << 10 // bodies are 0 to soakMaxBody bytes, the server's limit
	soakMin     = 1        // WithMinWorkers
	soakMax     = 4        // WithMaxWorkers
	soakQueue   = 16       // WithQueueSize: small, so that some requests get a 503
	soakEvery   = 10 * time.Second
	soakGrowth  = 1.10 // allowed growth over the second half of the run
)

// soakLength returns -soak.duration, or SOAK_DURATION when the flag was
// not given.
func soakLength(t *testing.T) time.Duration {
	t.Helper()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "soak.duration" })
	env := os.Getenv("SOAK_DURATION")
	if given || env == "" {
		return *soakDuration
	}
	d, err := time.ParseDuration(env)
	require.NoError(t, err, "SOAK_DURATION")
	return d
}

// A soak is the service running in-process on a pool the test controls,
// and the load on it.
type soak struct {
	t      *testing.T
	pool   *workerpool.Pool
	url    string
	client *http.Client
	stop   chan struct{} // closed to stop the load
	wg     sync.WaitGroup

	// gate is held shared by every request and resize, and alone by a
	// sample, so that samples see the process between requests: no
	// request in flight, every connection idle.
	gate sync.RWMutex

	sent, answered, ok, busy atomic.Uint64 // POST /hash
	bad, errs                atomic.Uint64 // wrong answers, requests with no answer
	ready, notReady, resizes atomic.Uint64

	mu       sync.Mutex // guards problems
	problems []string   // the first few bad answers and errors
}

// problem records a bad answer, or a request with no answer when noAnswer.
func (s *soak) problem(noAnswer bool, format string, args ...any) {
	if noAnswer {
		s.errs.Add(1)
	} else {
		s.bad.Add(1)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.problems) < 10 {
		s.problems = append(s.problems, fmt.Sprintf(format, args...))
	}
}

// TestSoak runs the service under steady load from soakClients clients,
// each sending POST /hash back to back with random bodies and priorities
// and checking every answer, while the pool is resized every half second
// and /readyz is polled. Every 10 s, at the half-way mark and at the end it
// pauses the load and logs goroutines, heap after GC and the counters.
//
// It runs in-process, on newHandler and a pool of its own, because the
// command has no way to resize its pool from outside; the command's
// shutdown function ends the run. It fails if a request is answered
// wrongly (a 200 with a wrong digest, or anything but 200 and 503 with
// Retry-After: 1), if a request goes unanswered, or if goroutines or heap
// grow by more than 10 % in the second half over their value at the
// half-way mark. TestMain's goleak check covers the end.
func TestSoak(t *testing.T) {
	d := soakLength(t)
	require.Positive(t, d, "soak duration")
	pool, err := workerpool.New(workerpool.WithMinWorkers(soakMin),
		workerpool.WithMaxWorkers(soakMax), workerpool.WithQueueSize(soakQueue),
		workerpool.WithIdleTimeout(50*time.Millisecond))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: newHandler(pool, soakMaxBody), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	tr := &http.Transport{MaxIdleConnsPerHost: soakClients + 1, MaxConnsPerHost: soakClients + 1}
	s := &soak{t: t, pool: pool, url: "http://" + ln.Addr().String(),
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second}, stop: make(chan struct{})}
	t.Logf("soak: %v on %s: %d clients, bodies of 0-%d bytes, pool min %d max %d queue %d",
		d, s.url, soakClients, soakMaxBody, soakMin, soakMax, soakQueue)
	for i := range soakClients {
		s.wg.Go(func() { s.load(i) })
	}
	s.wg.Go(func() { s.resize(500 * time.Millisecond) })
	s.wg.Go(func() { s.pollReady(200 * time.Millisecond) })

	samples := s.run(d)
	close(s.stop)
	s.wg.Wait()
	s.checkAnswers()
	if !t.Failed() { // A run stopped early has no second half.
		checkGrowth(t, samples, d/2)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var log strings.Builder
	assert.NoError(t, shutdown(ctx, srv, pool, serveErr, &log), "shutdown: %s", &log)
	tr.CloseIdleConnections()
	s.checkPool()
}

// run takes a sample at 0, every soakEvery, at the half-way mark and at d,
// and returns them. It stops early once a request went wrong.
func (s *soak) run(d time.Duration) []soakSample {
	var at []time.Duration
	for a := time.Duration(0); a < d; a += soakEvery {
		at = append(at, a)
	}
	at = append(at, d/2, d)
	slices.Sort(at)
	at = slices.Compact(at)

	start := time.Now()
	var samples []soakSample
	for _, a := range at {
		<-time.After(time.Until(start.Add(a)))
		samples = append(samples, s.sample(a))
		if s.bad.Load()+s.errs.Load() > 0 {
			s.t.Errorf("soak: stopped at %v: a request went wrong", a)
			break
		}
	}
	return samples
}

// A soakSample is what a sample measured.
type soakSample struct {
	at         time.Duration
	goroutines int
	heap       uint64 // bytes of live heap after GC
}

// sample pauses the load, measures, logs a line and resumes the load.
func (s *soak) sample(at time.Duration) soakSample {
	s.gate.Lock()
	defer s.gate.Unlock()
	// Twice: the first GC moves sync.Pool contents to the victim cache, the
	// second frees them.
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	smp := soakSample{at: at, goroutines: runtime.NumGoroutine(), heap: ms.HeapAlloc}
	st := s.pool.Counters()
	s.t.Logf("soak: t=%-6v goroutines=%d heap=%.2fMiB | POST /hash sent=%d ok=%d 503=%d "+
		"bad=%d noanswer=%d | readyz 200=%d 503=%d | resizes=%d | pool submitted=%d "+
		"succeeded=%d canceled=%d rejected=%d dropped=%d workers=%d pinned=%t",
		at, smp.goroutines, float64(smp.heap)/(1<<20), s.sent.Load(), s.ok.Load(),
		s.busy.Load(), s.bad.Load(), s.errs.Load(), s.ready.Load(), s.notReady.Load(),
		s.resizes.Load(), st.Submitted, st.Succeeded, st.Canceled, st.Rejected, st.Dropped,
		st.Workers, st.Pinned)
	return smp
}

// stopped reports whether the load should stop.
func (s *soak) stopped() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// soakPriorities are the X-Priority values the clients send; "" sends none.
var soakPriorities = []string{"", "low", "normal", "high", "critical"}

// load is client id: it sends POST /hash with a random body and
// priority, back to back, until the load stops.
func (s *soak) load(id int) {
	r := rand.New(rand.NewPCG(uint64(id), 0x50a4))
	var key [32]byte
	key[0] = byte(id)
	src := rand.NewChaCha8(key)
	buf := make([]byte, soakMaxBody)
	for !s.stopped() {
		body := buf[:r.IntN(soakMaxBody+1)]
		src.Read(body)
		prio := soakPriorities[r.IntN(len(soakPriorities))]
		s.gate.RLock()
		s.post(prio, body)
		s.gate.RUnlock()
	}
}

// post sends one POST /hash and checks the answer.
func (s *soak) post(prio string, body []byte) {
	s.sent.Add(1)
	req, err := http.NewRequest(http.MethodPost, s.url+"/hash", bytes.NewReader(body))
	if err != nil {
		s.problem(true, "new request: %v", err)
		return
	}
	if prio != "" {
		req.Header.Set("X-Priority", prio)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.problem(true, "POST /hash: %v", err)
		return
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		s.problem(true, "POST /hash: reading the answer: %v", err)
		return
	}
	s.answered.Add(1)
	switch {
	case resp.StatusCode == http.StatusOK && string(got) == sumOf(body):
		s.ok.Add(1)
	case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "1":
		s.busy.Add(1)
	default:
		s.problem(false, "POST /hash (X-Priority %q, %d bytes): %d, Retry-After %q, %q",
			prio, len(body), resp.StatusCode, resp.Header.Get("Retry-After"), got)
	}
}

// resize changes the pool's size every period, in a cycle that pins it at
// sizes from below min to above max and hands sizing back to the scaler.
func (s *soak) resize(every time.Duration) {
	set := func(n, want int) func() {
		return func() {
			if got := s.pool.SetNumWorkers(n); got != want {
				s.problem(false, "SetNumWorkers(%d) = %d, want %d", n, got, want)
			}
		}
	}
	steps := []func(){
		set(1, 1), set(soakMax, soakMax), s.pool.ResumeScaling,
		set(0, soakMin), set(2, 2), set(soakMax+10, soakMax), s.pool.ResumeScaling,
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		s.gate.RLock()
		steps[i%len(steps)]()
		s.gate.RUnlock()
		s.resizes.Add(1)
	}
}

// pollReady sends GET /readyz every period and checks that the answer is
// 200 with ready true, or 503 with ready false.
func (s *soak) pollReady(every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		s.gate.RLock()
		s.getReady()
		s.gate.RUnlock()
	}
}

// getReady sends one GET /readyz and checks the answer.
func (s *soak) getReady() {
	resp, err := s.client.Get(s.url + "/readyz")
	if err != nil {
		s.problem(true, "GET /readyz: %v", err)
		return
	}
	defer resp.Body.Close()
	var v ready
	err = json.NewDecoder(resp.Body).Decode(&v)
	switch {
	case err == nil && resp.StatusCode == http.StatusOK && v.Ready:
		s.ready.Add(1)
	case err == nil && resp.StatusCode == http.StatusServiceUnavailable && !v.Ready:
		s.notReady.Add(1)
	default:
		s.problem(false, "GET /readyz: %d, %+v, %v", resp.StatusCode, v, err)
	}
}

// checkAnswers checks, once the load has stopped, that every request was
// answered and rightly.
func (s *soak) checkAnswers() {
	t := s.t
	sent, answered := s.sent.Load(), s.answered.Load()
	t.Logf("soak: POST /hash sent=%d answered=%d (200=%d, 503=%d) lost=%d bad=%d; "+
		"readyz 200=%d 503=%d; resizes=%d", sent, answered, s.ok.Load(), s.busy.Load(),
		sent-answered, s.bad.Load(), s.ready.Load(), s.notReady.Load(), s.resizes.Load())
	assert.Equal(t, sent, answered, "requests lost: %v", s.problems)
	assert.Zero(t, s.bad.Load(), "wrong answers: %v", s.problems)
	assert.Zero(t, s.errs.Load(), "requests with no answer: %v", s.problems)
	assert.Positive(t, s.ok.Load(), "no request got a 200")
	assert.Positive(t, s.ready.Load(), "no GET /readyz got a 200")
}

// checkPool checks the pool's counters after shutdown against the answers:
// each 200 is a task that succeeded, each 503 a refused TrySubmit, and no
// task failed, was canceled or was dropped.
func (s *soak) checkPool() {
	st := s.pool.Stats()
	assert.Equal(s.t, s.ok.Load(), st.Succeeded, "pool succeeded vs 200 answers")
	assert.Equal(s.t, s.ok.Load(), st.Submitted, "pool submitted vs 200 answers")
	assert.Equal(s.t, s.busy.Load(), st.Rejected, "pool rejected vs 503 answers")
	assert.Zero(s.t, st.Failed+st.Panicked+st.Canceled+st.Dropped,
		"failed, panicked, canceled or dropped tasks: %+v", st)
}

// checkGrowth fails t if a sample after half grows goroutines or heap by
// more than soakGrowth over the sample at half, and logs the verdict.
func checkGrowth(t *testing.T, samples []soakSample, half time.Duration) {
	t.Helper()
	i := slices.IndexFunc(samples, func(s soakSample) bool { return s.at == half })
	if i < 0 {
		t.Errorf("soak: no sample at the half-way mark %v", half)
		return
	}
	mid := samples[i]
	maxG, maxH := mid.goroutines, mid.heap
	for _, s := range samples[i+1:] {
		maxG, maxH = max(maxG, s.goroutines), max(maxH, s.heap)
	}
	growG := float64(maxG) / float64(mid.goroutines)
	growH := float64(maxH) / float64(mid.heap)
	t.Logf("soak: second half: goroutines %d at %v, at most %d after (%+.1f%%); "+
		"heap %.2fMiB, at most %.2fMiB after (%+.1f%%); limit %+.0f%%",
		mid.goroutines, half, maxG, 100*(growG-1), float64(mid.heap)/(1<<20),
		float64(maxH)/(1<<20), 100*(growH-1), 100*(soakGrowth-1))
	assert.LessOrEqual(t, growG, soakGrowth, "goroutine growth over the second half")
	assert.LessOrEqual(t, growH, soakGrowth, "heap growth over the second half")
}
