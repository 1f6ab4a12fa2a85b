package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestParseMix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    mix
		wantErr string
	}{
		{"low=1,normal=1,high=1,critical=1",
			mix{{"low", 1}, {"normal", 1}, {"high", 1}, {"critical", 1}}, ""},
		{"critical=1, low=3", mix{{"low", 3}, {"critical", 1}}, ""},
		{"low=0,high=2", mix{{"high", 2}}, ""},
		{"low=0", nil, "no level with a weight above 0"},
		{"urgent=1", nil, `unknown level "urgent"`},
		{"low=1,low=2", nil, "given twice"},
		{"low=-1,high=1", nil, "not a whole number"},
		{"low=x", nil, "not a whole number"},
		{"low", nil, "not level=weight"},
		{"", nil, "not level=weight"},
	}
	for _, tt := range tests {
		got, err := parseMix(tt.in)
		if tt.wantErr != "" {
			assert.ErrorContains(t, err, tt.wantErr, "mix %q", tt.in)
			continue
		}
		if assert.NoError(t, err, "mix %q", tt.in) {
			assert.Equal(t, tt.want, got, "mix %q", tt.in)
		}
	}
	m, err := parseMix("high=2,low=1")
	require.NoError(t, err)
	assert.Equal(t, "low=1,high=2", m.String())
}

func TestMixPick(t *testing.T) {
	t.Parallel()
	m := mix{{"low", 1}, {"high", 3}}
	r := rand.New(rand.NewPCG(1, 2))
	var got [2]int
	const n = 40000
	for range n {
		got[m.pick(r)]++
	}
	assert.InDelta(t, n/4, got[0], n/100, "low, weight 1 of 4")
	assert.InDelta(t, 3*n/4, got[1], n/100, "high, weight 3 of 4")
}

func TestQuantile(t *testing.T) {
	t.Parallel()
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i + 1)
	}
	tests := []struct {
		name string
		d    []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", []time.Duration{7}, 0.99, 7},
		{"median of odd", []time.Duration{1, 2, 3}, 0.5, 2},
		{"median of even is the lower", []time.Duration{1, 2, 3, 4}, 0.5, 2},
		{"p99 of 100 is the 99th", hundred, 0.99, 99},
		{"p50 of 100 is the 50th", hundred, 0.50, 50},
		{"p99 of 10 is the max", hundred[:10], 0.99, 10},
		{"p100", hundred, 1, 100},
		{"p0 is the min", hundred, 0, 1},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, quantile(tt.d, tt.q), tt.name)
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	d := []time.Duration{5 * time.Millisecond, time.Millisecond, 3 * time.Millisecond}
	s := summarize(d)
	assert.Equal(t, summary{n: 3, p50: 3 * time.Millisecond, p99: 5 * time.Millisecond,
		max: 5 * time.Millisecond}, s)
	assert.Equal(t, summary{}, summarize(nil))
}

func TestTally(t *testing.T) {
	t.Parallel()
	a := tally{ok: 2, busy: 1, latencies: []time.Duration{1, 2}}
	assert.False(t, a.failed())
	a.add(&tally{ok: 1, other: 1, latencies: []time.Duration{3}})
	assert.Equal(t, 5, a.sent())
	assert.True(t, a.failed())
	assert.Equal(t, []time.Duration{1, 2, 3}, a.latencies)
	for _, bad := range []tally{{wrong: 1}, {errors: 1}, {other: 1}} {
		assert.True(t, bad.failed(), "%+v", bad)
	}
}

func TestWriteTableAndBench(t *testing.T) {
	t.Parallel()
	low := &tally{ok: 10, busy: 2,
		latencies: []time.Duration{time.Millisecond, 2 * time.Millisecond}}
	rows := []row{newRow("low", 1, low), newRow("all", 0, low)}
	rows[0].wait = 0.25
	var md strings.Builder
	writeTable(&md, rows, 2*time.Second)
	lines := strings.Split(strings.TrimSpace(md.String()), "\n")
	require.Len(t, lines, 4)
	assert.Equal(t, "| low | 100 % | 12 | 10 | 2 | 0 | 0 | 0 | 5 | 1.00 | 2.00 | 2.00 | 0.25 |",
		lines[2])
	assert.Equal(t, "| all | all | 12 | 10 | 2 | 0 | 0 | 0 | 5 | 1.00 | 2.00 | 2.00 | - |",
		lines[3])

	var b strings.Builder
	writeBench(&b, "W5Service", rows[:1], 2*time.Second, 2)
	assert.Equal(t, "BenchmarkW5Service/priority=low-2\t2\t1000.0 p50-us\t2000.0 p99-us"+
		"\t2000.0 max-us\t5 ok/s\n", b.String())
}

func TestParseArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"-url", "http://127.0.0.1:8080"}, ""},
		{[]string{"-url", "http://localhost:8080/"}, ""},
		{[]string{"-url", "http://[::1]:8080"}, ""},
		{[]string{}, "loopback only"},
		{[]string{"-url", "http://192.0.2.1:80"}, "loopback only"},
		{[]string{"-url", "https://127.0.0.1:8080"}, "loopback only"},
		{[]string{"-url", "http://127.0.0.1:1", "-clients", "0"}, "must be positive"},
		{[]string{"-url", "http://127.0.0.1:1", "-mix", "low=0"}, "mix"},
		{[]string{"-url", "http://127.0.0.1:1", "extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		c, err := parseArgs(tt.args, io.Discard)
		if tt.wantErr != "" {
			assert.ErrorContains(t, err, tt.wantErr, "args %q", tt.args)
			continue
		}
		if assert.NoError(t, err, "args %q", tt.args) {
			assert.False(t, strings.HasSuffix(c.url, "/"), "url %q", c.url)
			assert.Equal(t, 64, c.clients)
			assert.Equal(t, 20*time.Second, c.duration)
			assert.Equal(t, 4096, c.size)
		}
	}
}

// fakeServer serves a stand-in for examples/httpserver on loopback: POST
// /hash answers the body's SHA-256, corrupted when wrong is set, except for
// X-Priority low, which is always refused with a 503 and Retry-After.
func fakeServer(t *testing.T, wrong bool) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hash", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		if r.Header.Get("X-Priority") == "low" {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		sum := sha256.Sum256(b)
		if wrong {
			sum[0]++
		}
		io.WriteString(w, hex.EncodeToString(sum[:])+"\n")
	})
	mux.HandleFunc("GET /readyz", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `{"submitted":3,"max_workers":2,"window_ms":60000,`+
			`"wait_by_level":{"high":{"p99_ms":0.5}}}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestRun(t *testing.T) {
	t.Parallel()
	bench := filepath.Join(t.TempDir(), "w5.txt")
	var out, errs strings.Builder
	code := run([]string{"-url", fakeServer(t, false), "-clients", "4", "-duration", "100ms",
		"-size", "100", "-bodies", "8", "-mix", "low=1,high=1", "-bench", bench}, &out, &errs)
	assert.Equal(t, 0, code, "stderr: %s", errs.String())

	report := out.String()
	assert.Contains(t, report, "4 clients for 100ms")
	assert.Contains(t, report, "shares these CPUs with the server")
	assert.Contains(t, report, "max workers 2, submitted 3")
	var low, high, all []string
	for line := range strings.Lines(report) {
		cells := strings.Split(line, " | ")
		switch {
		case strings.HasPrefix(line, "| low |"):
			low = cells
		case strings.HasPrefix(line, "| high |"):
			high = cells
		case strings.HasPrefix(line, "| all |"):
			all = cells
		}
	}
	require.NotNil(t, low, report)
	require.NotNil(t, high, report)
	require.NotNil(t, all, report)
	assert.Equal(t, "0", low[3], "low: no 200s")
	assert.Equal(t, low[2], low[4], "low: every request a 503")
	assert.Equal(t, high[2], high[3], "high: every request a 200")
	assert.Equal(t, "0.50 |\n", high[12], "high: the server's wait p99")
	assert.Equal(t, "0 | 0 | 0", strings.Join(all[5:8], " | "), "other, wrong, errors")

	b, err := os.ReadFile(bench)
	require.NoError(t, err)
	assert.Contains(t, string(b), "\nBenchmarkW5Service/priority=high-")
	assert.Contains(t, string(b), "\nBenchmarkW5Service/priority=all-")
}

func TestRunFailsOnWrongDigest(t *testing.T) {
	t.Parallel()
	var out, errs strings.Builder
	code := run([]string{"-url", fakeServer(t, true), "-clients", "2", "-duration", "50ms",
		"-size", "10", "-mix", "normal=1"}, &out, &errs)
	assert.Equal(t, 1, code)
	assert.Contains(t, errs.String(), "wrong digest")
	assert.Contains(t, errs.String(), "FAIL")
}

func TestRunBadFlags(t *testing.T) {
	t.Parallel()
	var errs strings.Builder
	assert.Equal(t, 2, run([]string{"-url", "http://192.0.2.1"}, io.Discard, &errs))
	assert.Contains(t, errs.String(), "loopback only")
	assert.Equal(t, 0, run([]string{"-h"}, io.Discard, io.Discard))
}
