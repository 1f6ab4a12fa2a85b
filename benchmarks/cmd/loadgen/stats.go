package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// levels are the values of the X-Priority header, in order of priority.
var levels = []string{"low", "normal", "high", "critical"}

// A share is one priority level of a mix and its weight.
type share struct {
	level  string
	weight int
}

// A mix is the priority levels requests are drawn from, each in proportion
// to its weight. Its shares are in the order of levels, and every weight is
// positive.
type mix []share

// parseMix parses a mix written as comma-separated level=weight pairs, such
// as "low=1,normal=1,high=1,critical=1". Levels left out get no requests; a
// level given twice, an unknown level, or a negative weight is an error, and
// so is a mix whose weights sum to 0.
func parseMix(s string) (mix, error) {
	weights := make(map[string]int)
	for field := range strings.SplitSeq(s, ",") {
		field = strings.TrimSpace(field)
		name, val, ok := strings.Cut(field, "=")
		if !ok {
			return nil, fmt.Errorf("mix: %q is not level=weight", field)
		}
		if !slices.Contains(levels, name) {
			return nil, fmt.Errorf("mix: unknown level %q: want one of %s",
				name, strings.Join(levels, ", "))
		}
		if _, dup := weights[name]; dup {
			return nil, fmt.Errorf("mix: level %q given twice", name)
		}
		w, err := strconv.Atoi(val)
		if err != nil || w < 0 {
			return nil, fmt.Errorf("mix: weight of %s: %q is not a whole number >= 0", name, val)
		}
		weights[name] = w
	}
	var m mix
	for _, l := range levels {
		if w := weights[l]; w > 0 {
			m = append(m, share{l, w})
		}
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("mix: %q has no level with a weight above 0", s)
	}
	return m, nil
}

// String returns m in the form parseMix reads.
func (m mix) String() string {
	parts := make([]string, len(m))
	for i, s := range m {
		parts[i] = fmt.Sprintf("%s=%d", s.level, s.weight)
	}
	return strings.Join(parts, ",")
}

// pick returns the index in m of a share drawn from r in proportion to the
// weights.
func (m mix) pick(r *rand.Rand) int {
	total := 0
	for _, s := range m {
		total += s.weight
	}
	n := r.IntN(total)
	for i, s := range m {
		if n < s.weight {
			return i
		}
		n -= s.weight
	}
	panic("unreachable")
}

// A tally counts the answers to the requests of one priority level, and
// keeps the latency of every 200 with a correct digest.
type tally struct {
	ok     int // 200 with the right digest
	busy   int // 503 with Retry-After, the server shedding load
	other  int // any other status, 503 without Retry-After included
	wrong  int // 200 with a wrong digest
	errors int // no answer: transport error or timeout

	latencies []time.Duration
}

// sent returns the number of requests the tally covers.
func (t *tally) sent() int { return t.ok + t.busy + t.other + t.wrong + t.errors }

// add adds the counts and latencies of u to t.
func (t *tally) add(u *tally) {
	t.ok += u.ok
	t.busy += u.busy
	t.other += u.other
	t.wrong += u.wrong
	t.errors += u.errors
	t.latencies = append(t.latencies, u.latencies...)
}

// failed reports whether any request went unanswered or was answered
// wrongly: a 200 with a wrong digest, or a status other than 200 and 503
// with Retry-After.
func (t *tally) failed() bool { return t.other+t.wrong+t.errors > 0 }

// A summary is the distribution of a set of latencies.
type summary struct {
	n             int
	p50, p99, max time.Duration
}

// summarize returns the summary of d, which it sorts.
func summarize(d []time.Duration) summary {
	slices.Sort(d)
	s := summary{n: len(d), p50: quantile(d, 0.50), p99: quantile(d, 0.99)}
	if len(d) > 0 {
		s.max = d[len(d)-1]
	}
	return s
}

// quantile returns the q-quantile of the sorted d by the nearest-rank
// method: the smallest value with at least q of the values at or below it.
// It returns 0 for an empty d.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// The value of rank ceil(q*n) is at index ceil(q*n)-1, which is
	// int(q*n - slack); the slack keeps a q*n that should be whole but
	// comes out a hair above it, such as 0.99*100, from moving up one.
	i := int(float64(len(sorted))*q - 1e-9)
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// A row is one line of the report: a priority level, or all of them.
type row struct {
	name   string
	weight int // 0 in the overall row
	t      *tally
	lat    summary
	wait   float64 // the server's p99 wait in the queue in ms, or -1 when unknown
}

// newRow returns the row for t, summarising its latencies.
func newRow(name string, weight int, t *tally) row {
	return row{name: name, weight: weight, t: t, lat: summarize(t.latencies), wait: -1}
}

// ms formats d as milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/1e6) }

// writeTable writes rows as a Markdown table; elapsed is the length of the
// run, for the rate of requests.
func writeTable(w io.Writer, rows []row, elapsed time.Duration) {
	fmt.Fprintln(w, "| priority | share | requests | 200 | 503 | other | wrong | errors"+
		" | 200/s | p50 ms | p99 ms | max ms | server wait p99 ms |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	total := 0
	for _, r := range rows {
		total += r.weight
	}
	for _, r := range rows {
		share, wait := "all", "-"
		if r.weight > 0 {
			share = fmt.Sprintf("%.0f %%", 100*float64(r.weight)/float64(total))
		}
		if r.wait >= 0 {
			wait = fmt.Sprintf("%.2f", r.wait)
		}
		t := r.t
		fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %d | %d | %d | %.0f | %s | %s | %s | %s |\n",
			r.name, share, t.sent(), t.ok, t.busy, t.other, t.wrong, t.errors,
			float64(t.ok)/elapsed.Seconds(), ms(r.lat.p50), ms(r.lat.p99), ms(r.lat.max), wait)
	}
}

// writeBench writes rows as `go test -bench` result lines, which benchstat
// reads: one op is one answered request, and the figures are the latency
// percentiles in µs and the rate of 200 answers. procs is the generator's
// GOMAXPROCS, the suffix go test gives benchmark names.
func writeBench(w io.Writer, name string, rows []row, elapsed time.Duration, procs int) {
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	for _, r := range rows {
		fmt.Fprintf(w, "Benchmark%s/priority=%s-%d\t%d\t%.1f p50-us\t%.1f p99-us\t%.1f max-us"+
			"\t%.0f ok/s\n", name, r.name, procs, r.lat.n, us(r.lat.p50), us(r.lat.p99),
			us(r.lat.max), float64(r.t.ok)/elapsed.Seconds())
	}
}
