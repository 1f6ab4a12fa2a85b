// Command loadgen is workload W5 of the benchmarks module: it drives a
// running examples/httpserver over loopback and reports the latency of its
// requests per priority.
//
// Usage, from the benchmarks directory (./run.sh w5 builds and starts the
// server, runs this against it and stops it):
//
//	go run ./cmd/loadgen -url http://127.0.0.1:PORT [-clients 64] [-duration 20s]
//	    [-size 4096] [-mix low=1,normal=1,high=1,critical=1] [-bench file]
//
// Each of -clients goroutines sends POST /hash requests back to back until
// -duration has passed, each with -size random bytes and an X-Priority
// header drawn from -mix. The bodies are drawn from -bodies random bodies
// made before the run, with their SHA-256, so that making them takes
// nothing from the CPUs the generator shares with the server. Every answer
// is checked: a 200 must carry the body's SHA-256, a 503 must carry
// Retry-After. A client that gets a 503 sends its next request at once.
// Latency runs from just before a request is sent to the last byte of its
// answer, and is kept for the 200s with the right digest.
//
// It writes a Markdown table to stdout, one row per priority and one for all
// of them, and with -bench the same figures as `go test -bench` lines, which
// benchstat reads. It exits 1 if any request went unanswered or was answered
// wrongly (a wrong digest, or a status other than 200 and 503 with
// Retry-After), and 2 for bad flags. It sends requests only to a loopback
// address.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config holds the parsed command line.
type config struct {
	url      string // base URL of the server, without a trailing slash
	clients  int
	duration time.Duration
	size     int
	bodies   int
	mix      mix
	seed     uint64
	timeout  time.Duration
	wait     time.Duration
	bench    string
}

// parseArgs parses the flags.
func parseArgs(args []string, stderr io.Writer) (config, error) {
	var c config
	var mixFlag string
	fset := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.StringVar(&c.url, "url", "", "base URL of the server, http://127.0.0.1:PORT (required)")
	fset.IntVar(&c.clients, "clients", 64, "number of concurrent clients")
	fset.DurationVar(&c.duration, "duration", 20*time.Second, "how long to send requests")
	fset.IntVar(&c.size, "size", 4<<10, "bytes in each request body")
	fset.IntVar(&c.bodies, "bodies", 1024, "number of distinct random bodies")
	fset.StringVar(&mixFlag, "mix", "low=1,normal=1,high=1,critical=1",
		"priority levels and their weights")
	fset.Uint64Var(&c.seed, "seed", 1, "seed of the bodies and of the draws")
	fset.DurationVar(&c.timeout, "timeout", 30*time.Second, "limit on one request")
	fset.DurationVar(&c.wait, "wait", 10*time.Second, "how long to wait for GET /readyz to be 200")
	fset.StringVar(&c.bench, "bench", "", "file to write benchstat lines to")
	if err := fset.Parse(args); err != nil {
		return c, err
	}
	var err error
	if c.mix, err = parseMix(mixFlag); err != nil {
		return c, err
	}
	switch {
	case fset.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fset.Args())
	case c.clients < 1, c.size < 0, c.bodies < 1, c.duration <= 0, c.timeout <= 0:
		return c, errors.New("-clients, -bodies, -duration and -timeout must be positive, " +
			"-size at least 0")
	}
	c.url = strings.TrimSuffix(c.url, "/")
	return c, checkLoopback(c.url)
}

// checkLoopback returns an error unless u is an http URL whose host is a
// loopback IP address or localhost.
func checkLoopback(u string) error {
	pu, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	host := pu.Hostname()
	ip := net.ParseIP(host)
	if pu.Scheme != "http" || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
		return fmt.Errorf("-url %q: want http://127.0.0.1:PORT (loopback only)", u)
	}
	return nil
}

func run(args []string, stdout, stderr io.Writer) int {
	c, err := parseArgs(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintln(stderr, "loadgen:", err)
		return 2
	}
	client := newClient(c.clients+1, c.timeout)
	defer client.CloseIdleConnections()
	if err := waitReady(client, c.url, c.wait); err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 1
	}
	bodies := makeBodies(c.seed, c.bodies, c.size)
	fmt.Fprintf(stderr, "loadgen: %d clients for %v against %s\n", c.clients, c.duration, c.url)
	started := time.Now().UTC()
	tallies, elapsed := load(client, c, bodies, stderr)

	var all tally
	rows := make([]row, 0, len(c.mix)+1)
	for i, s := range c.mix {
		all.add(&tallies[i])
		rows = append(rows, newRow(s.level, s.weight, &tallies[i]))
	}
	rows = append(rows, newRow("all", 0, &all))
	st, err := serverStats(client, c.url)
	if err != nil {
		fmt.Fprintln(stderr, "loadgen: server stats:", err)
	} else {
		for i := range rows {
			if w, ok := st.WaitByLevel[rows[i].name]; ok {
				rows[i].wait = w.P99
			}
		}
	}
	writeReport(stdout, c, started, elapsed, rows, st)
	if c.bench != "" {
		if err := writeBenchFile(c.bench, rows, elapsed); err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return 1
		}
	}
	switch {
	case all.failed():
		fmt.Fprintf(stderr, "loadgen: FAIL: %d of %d requests unanswered or answered wrongly\n",
			all.other+all.wrong+all.errors, all.sent())
		return 1
	case all.ok == 0:
		fmt.Fprintf(stderr, "loadgen: FAIL: none of %d requests got a 200\n", all.sent())
		return 1
	}
	return 0
}

// newClient returns a client for conns connections to one host, without
// proxies or compression.
func newClient(conns int, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// waitReady polls GET base/readyz until it answers 200, for at most d.
func waitReady(c *http.Client, base string, d time.Duration) error {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := c.Get(base + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET %s/readyz not 200 after %v: %w", base, d, err)
		}
		<-tick.C
	}
}

// A body is a request body and the answer it must get.
type body struct {
	data []byte
	sum  string // hex SHA-256 and a newline, as the server writes it
}

// makeBodies returns n random bodies of size bytes, the same for the same seed.
func makeBodies(seed uint64, n, size int) []body {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	r := rand.NewChaCha8(key)
	bodies := make([]body, n)
	for i := range bodies {
		b := make([]byte, size)
		r.Read(b)
		sum := sha256.Sum256(b)
		bodies[i] = body{data: b, sum: hex.EncodeToString(sum[:]) + "\n"}
	}
	return bodies
}

// load runs the clients until c.duration has passed and every client has
// its last answer. It returns a tally per share of c.mix and how long the
// run took. It reports the first few bad answers on stderr.
func load(client *http.Client, c config, bodies []body, stderr io.Writer) ([]tally, time.Duration) {
	var notes atomic.Int32
	note := func(format string, args ...any) {
		if notes.Add(1) <= 10 {
			fmt.Fprintf(stderr, "loadgen: "+format+"\n", args...)
		}
	}
	per := make([][]tally, c.clients)
	start := time.Now()
	deadline := start.Add(c.duration)
	var wg sync.WaitGroup
	for i := range per {
		per[i] = make([]tally, len(c.mix))
		r := rand.New(rand.NewPCG(c.seed, uint64(i)+1))
		wg.Go(func() {
			for time.Now().Before(deadline) {
				drive(client, c, bodies, r, per[i], note)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	tallies := make([]tally, len(c.mix))
	for _, ts := range per {
		for i := range ts {
			tallies[i].add(&ts[i])
		}
	}
	return tallies, elapsed
}

// drive sends one request with a body and a priority drawn from r, and
// counts its answer in tallies.
func drive(client *http.Client, c config, bodies []body, r *rand.Rand, tallies []tally,
	note func(string, ...any),
) {
	i := c.mix.pick(r)
	b := &bodies[r.IntN(len(bodies))]
	t := &tallies[i]
	begin := time.Now()
	code, retry, got, err := post(client, c.url, c.mix[i].level, b.data)
	lat := time.Since(begin)
	switch {
	case err != nil:
		t.errors++
		note("no answer: %v", err)
	case code == http.StatusOK && got == b.sum:
		t.ok++
		t.latencies = append(t.latencies, lat)
	case code == http.StatusOK:
		t.wrong++
		note("wrong digest: got %q, want %q", got, b.sum)
	case code == http.StatusServiceUnavailable && retry != "":
		t.busy++
	default:
		t.other++
		note("status %d (Retry-After %q): %q", code, retry, got)
	}
}

// post sends POST base/hash and returns the status code, the Retry-After
// header and the body of the answer.
func post(c *http.Client, base, prio string, data []byte) (int, string, string, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/hash", bytes.NewReader(data))
	if err != nil {
		return 0, "", "", err
	}
	req.Header.Set("X-Priority", prio)
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b), err
}

// stats is the part of the server's GET /stats answer the report uses.
type stats struct {
	Submitted   uint64                  `json:"submitted"`
	Succeeded   uint64                  `json:"succeeded"`
	Canceled    uint64                  `json:"canceled"`
	Rejected    uint64                  `json:"rejected"`
	MaxWorkers  int                     `json:"max_workers"`
	WindowMS    float64                 `json:"window_ms"`
	WaitByLevel map[string]latencyStats `json:"wait_by_level"`
}

// latencyStats is one latency summary of GET /stats.
type latencyStats struct {
	P99 float64 `json:"p99_ms"`
}

// serverStats returns the server's GET /stats.
func serverStats(c *http.Client, base string) (*stats, error) {
	resp, err := c.Get(base + "/stats")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	var st stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, err
	}
	return &st, nil
}

// writeReport writes the Markdown report: the run and the machine, the
// table, and what the server counted; st may be nil.
func writeReport(w io.Writer, c config, started time.Time, elapsed time.Duration, rows []row,
	st *stats,
) {
	fmt.Fprintf(w, "W5 on %s: %d clients for %v (ran %.1f s), %d-byte bodies, "+
		"mix %s, against %s.\n", started.Format("2006-01-02 15:04 MST"), c.clients, c.duration,
		elapsed.Seconds(), c.size, c.mix, c.url)
	fmt.Fprintf(w, "Machine: %s/%s, %d CPUs (%s), %s. The generator (GOMAXPROCS %d) "+
		"shares these CPUs with the server.\n\n", runtime.GOOS, runtime.GOARCH,
		runtime.NumCPU(), cpuModel(), runtime.Version(), runtime.GOMAXPROCS(0))
	writeTable(w, rows, elapsed)
	fmt.Fprintln(w, "\nLatency is from sending a request to the last byte of its answer, over"+
		" the 200s\nwith the right digest. 503 is the server shedding load (with Retry-After).")
	if st != nil {
		fmt.Fprintf(w, "Server wait p99 is the pool's time from submit to start, from GET "+
			"/stats\n(window %.0f s). Server: max workers %d, submitted %d, succeeded %d, "+
			"rejected %d, canceled %d.\n", st.WindowMS/1e3, st.MaxWorkers, st.Submitted,
			st.Succeeded, st.Rejected, st.Canceled)
	}
}

// writeBenchFile writes rows to path as `go test -bench` output.
func writeBenchFile(path string, rows []row, elapsed time.Duration) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "goos: %s\ngoarch: %s\npkg: github.com/example/workerpool/benchmarks\n"+
		"cpu: %s\n", runtime.GOOS, runtime.GOARCH, cpuModel())
	writeBench(f, "W5Service", rows, elapsed, runtime.GOMAXPROCS(0))
	return f.Close()
}

// cpuModel returns the processor's name from /proc/cpuinfo, or "unknown".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
