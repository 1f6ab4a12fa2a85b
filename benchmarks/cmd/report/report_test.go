package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sample is `go test -bench` output with two runs of each W1 benchmark, a
// name line printed before log output, and a W3 benchmark.
const sample = `goos: linux
goarch: amd64
pkg: github.com/example/workerpool/benchmarks
cpu: AMD EPYC
BenchmarkW1Throughput/body=empty/submitters=1/pool=workerpool-2   1000000  100.0 ns/op  90.00 cpu-ns/task  100.0 wall-ns/task  16 B/op  1 allocs/op
BenchmarkW1Throughput/body=empty/submitters=1/pool=floor-chan-2   1000000   50.00 ns/op  40.00 cpu-ns/task   50.00 wall-ns/task   0 B/op  0 allocs/op
BenchmarkW1Throughput/body=empty/submitters=1/pool=workerpool-2   1000000  120.0 ns/op  110.0 cpu-ns/task  120.0 wall-ns/task  16 B/op  1 allocs/op
BenchmarkW1Throughput/body=empty/submitters=1/pool=floor-chan-2   1000000   50.00 ns/op  40.00 cpu-ns/task   50.00 wall-ns/task   0 B/op  0 allocs/op
BenchmarkW3Priority/pool=workerpool
    bench_test.go:1: a log line
BenchmarkW3Priority/pool=workerpool-2   1   700000000 ns/op   2.000 gc-cycles  90.00 max-us  30.00 p50-us  50.00 p99-us
BenchmarkW3Priority/pool=floor-chan-2   1   700000000 ns/op   1.000 gc-cycles  290000 max-us  280000 p50-us  289000 p99-us
PASS
ok  	github.com/example/workerpool/benchmarks	4.402s
`

func TestParse(t *testing.T) {
	f, err := Parse(strings.NewReader(sample))
	require.NoError(t, err)
	assert.Equal(t, "linux", f.Config["goos"])
	assert.Equal(t, "AMD EPYC", f.Config["cpu"])
	require.Len(t, f.Results, 4)

	r := f.Results[0]
	assert.Equal(t, "W1Throughput/body=empty/submitters=1/pool=workerpool", r.Name)
	assert.Equal(t, 2, r.Procs)
	assert.Equal(t, "W1Throughput", r.Workload())
	assert.Equal(t, "workerpool", r.Pool())
	assert.Equal(t, "body=empty/submitters=1", r.Group())
	assert.Equal(t, []float64{90, 110}, r.Values["cpu-ns/task"])
	assert.Equal(t, []string{"ns/op", "cpu-ns/task", "wall-ns/task", "B/op", "allocs/op"}, r.Units)
	med, ok := r.Median("wall-ns/task")
	assert.True(t, ok)
	assert.InDelta(t, 110.0, med, 1e-9)
	_, ok = r.Median("p99-us")
	assert.False(t, ok)

	w3 := f.Find("W3Priority/pool=workerpool")
	require.NotNil(t, w3)
	assert.Empty(t, w3.Group())
	assert.Equal(t, []float64{50}, w3.Values["p99-us"])
}

func TestParseRejectsBadValue(t *testing.T) {
	_, err := Parse(strings.NewReader("BenchmarkX-2  1  abc ns/op\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 1")
}

func TestSplitName(t *testing.T) {
	cases := []struct {
		in    string
		name  string
		procs int
	}{
		{"W1/pool=ants-2", "W1/pool=ants", 2},
		{"W1/pool=floor-chan-16", "W1/pool=floor-chan", 16},
		{"W1/pool=floor-chan", "W1/pool=floor-chan", 0},
		{"W4", "W4", 0},
	}
	for _, c := range cases {
		name, procs := splitName(c.in)
		assert.Equal(t, c.name, name, "splitName(%q)", c.in)
		assert.Equal(t, c.procs, procs, "splitName(%q)", c.in)
	}
}

func TestWriteMarkdown(t *testing.T) {
	f, err := Parse(strings.NewReader(sample))
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, WriteMarkdown(&b, f, "bench.txt"))
	md := b.String()
	assert.Contains(t, md, "## W1Throughput")
	assert.Contains(t, md, "### body=empty, submitters=1")
	assert.Contains(t, md,
		"| pool | wall ns/task | CPU ns/task | B/op | allocs/op | wall ÷ floor-chan |")
	assert.Contains(t, md, "| workerpool | 110 | 100 | 16.0 | 1.00 | 2.20× |")
	assert.Contains(t, md, "| pool | p50 µs | p99 µs | max µs | GC cycles |")
	assert.Contains(t, md, "| floor-chan | 280000 | 289000 | 290000 | 1.00 |")
	assert.Contains(t, md, "| GOMAXPROCS | 2 |")
	assert.Contains(t, md, "| runs per benchmark | 2 |")
	assert.NotContains(t, md, "ns/op |", "ns/op is left out when per-task figures exist")
}

func TestWriteChart(t *testing.T) {
	f, err := Parse(strings.NewReader(sample))
	require.NoError(t, err)
	dir := t.TempDir()
	for _, name := range []string{"chart.png", "chart.svg"} {
		path := filepath.Join(dir, name)
		require.NoError(t, WriteChart(path, f))
		st, err := os.Stat(path)
		require.NoError(t, err)
		assert.Positive(t, st.Size(), name)
	}
	require.Error(t, WriteChart(filepath.Join(dir, "chart.gif"), f))
	require.Error(t, WriteChart(filepath.Join(dir, "x.png"), &File{}), "no results")
}
