package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A Result is one benchmark's measurements, over every run of it.
type Result struct {
	// Name is the full name without "Benchmark" and without the GOMAXPROCS
	// suffix, e.g. "W1Throughput/body=empty/submitters=1/pool=ants".
	Name string
	// Procs is the GOMAXPROCS suffix, or 0 where there was none.
	Procs int
	// Values maps a unit ("ns/op", "p99-us") to one value per run.
	Values map[string][]float64
	// Units lists the units in the order they first appeared.
	Units []string
}

// Workload returns the first element of the name, e.g. "W1Throughput".
func (r *Result) Workload() string {
	w, _, _ := strings.Cut(r.Name, "/")
	return w
}

// Pool returns the value of the name's "pool=" element, or "".
func (r *Result) Pool() string {
	for _, e := range strings.Split(r.Name, "/") {
		if v, ok := strings.CutPrefix(e, "pool="); ok {
			return v
		}
	}
	return ""
}

// Group returns the name's elements other than the workload and the pool,
// joined by "/": the results in one group differ only by pool.
func (r *Result) Group() string {
	var es []string
	for i, e := range strings.Split(r.Name, "/") {
		if i > 0 && !strings.HasPrefix(e, "pool=") {
			es = append(es, e)
		}
	}
	return strings.Join(es, "/")
}

// Median returns the median of the values of unit, and whether there were
// any.
func (r *Result) Median(unit string) (float64, bool) {
	vs := slices.Clone(r.Values[unit])
	if len(vs) == 0 {
		return 0, false
	}
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2], true
	}
	return (vs[n/2-1] + vs[n/2]) / 2, true
}

// A File is a parsed `go test -bench` output.
type File struct {
	// Config holds the "key: value" header lines (goos, goarch, pkg, cpu).
	Config map[string]string
	// Results lists each benchmark once, in the order first seen; repeated
	// runs (-count) add values to the same Result.
	Results []*Result
}

// Find returns the result with the given name, or nil.
func (f *File) Find(name string) *Result {
	for _, r := range f.Results {
		if r.Name == name {
			return r
		}
	}
	return nil
}

var (
	configLine  = regexp.MustCompile(`^([a-z][a-zA-Z0-9_-]*):\s+(.*)$`)
	procsSuffix = regexp.MustCompile(`-(\d+)$`)
)

// Parse reads the output of `go test -bench`, in the benchmark format that
// benchstat reads. Lines that are not results or configuration are skipped.
func Parse(r io.Reader) (*File, error) {
	f := &File{Config: make(map[string]string)}
	byName := make(map[string]*Result)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := sc.Text()
		if m := configLine.FindStringSubmatch(line); m != nil {
			f.Config[m[1]] = m[2]
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 || len(fields)%2 != 0 {
			continue // a name line printed before a benchmark's log output
		}
		if _, err := strconv.ParseInt(fields[1], 10, 64); err != nil {
			continue
		}
		name, procs := splitName(strings.TrimPrefix(fields[0], "Benchmark"))
		res := byName[name]
		if res == nil {
			res = &Result{Name: name, Procs: procs, Values: make(map[string][]float64)}
			byName[name] = res
			f.Results = append(f.Results, res)
		}
		for i := 2; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: value %q: %w", lineNo, fields[i], err)
			}
			unit := fields[i+1]
			if _, ok := res.Values[unit]; !ok {
				res.Units = append(res.Units, unit)
			}
			res.Values[unit] = append(res.Values[unit], v)
		}
	}
	return f, sc.Err()
}

// splitName splits "W1/pool=ants-2" into "W1/pool=ants" and 2.
func splitName(s string) (string, int) {
	m := procsSuffix.FindStringSubmatchIndex(s)
	if m == nil {
		return s, 0
	}
	n, err := strconv.Atoi(s[m[2]:m[3]])
	if err != nil {
		return s, 0
	}
	return s[:m[0]], n
}
