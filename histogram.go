package workerpool

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// The histogram is log-linear, in the manner of HdrHistogram with five
// significant bits: values below 64 ns get one bucket per nanosecond, and from
// there on each power of two [2^e, 2^(e+1)) is split into 32 equal buckets of
// width 2^(e-5). A bucket is then at most 1/32 of its lower bound wide, so its
// midpoint is within 1/64 (1.6 %) of any value in it. Fixed buckets cost about
// 8.5 KiB per histogram but make recording a few atomic adds with no locks and
// no allocation, and make snapshots mergeable by plain addition.
const (
	histSubBits = 5                // log2 of the buckets per power of two
	histSub     = 1 << histSubBits // buckets per power of two

	// histMaxExp bounds the exact range: values below 2^38 ns (about 275 s)
	// get their own bucket; larger ones share the last bucket.
	histMaxExp = 38

	// numBuckets is 64 one-nanosecond buckets for [0, 64), then 32 buckets
	// for each power of two from 2^6 up to 2^37.
	numBuckets = (histMaxExp - histSubBits + 1) * histSub
)

// histIndex returns the bucket of v nanoseconds. It takes no branches on the
// value: s is the width exponent, 0 below 64 and Len64(v)-6 above, so v>>s
// keeps the six significant bits in [32, 64) and s<<5 moves to the octave.
func histIndex(v uint64) int {
	s := bits.Len64(v|(2*histSub-1)) - (histSubBits + 1)
	return min(s<<histSubBits+int(v>>s), numBuckets-1)
}

// histBounds returns the lowest value of bucket i and its width, both in ns.
// It inverts histIndex for the buckets below numBuckets-1; the last bucket
// also holds every value beyond the exact range.
func histBounds(i int) (lower, width uint64) {
	if i < histSub {
		return uint64(i), 1
	}
	s := i>>histSubBits - 1
	return uint64(i&(histSub-1)+histSub) << s, 1 << s
}

// histMid returns the value reported for bucket i: its midpoint, in ns.
func histMid(i int) uint64 {
	lower, width := histBounds(i)
	return lower + width/2
}

// A histogram counts durations in fixed log-linear buckets. It is safe for
// concurrent use: record is lock-free, and a snapshot taken while records run
// sees each record whole or not at all in each field, though not necessarily
// in all fields at once (see [histSnapshot.add]). The zero value is empty.
type histogram struct {
	counts [numBuckets]atomic.Uint64
	n      atomic.Uint64 // number of records
	sumNS  atomic.Uint64 // sum of the recorded values, negative ones as 0
	maxNS  atomic.Uint64 // largest value recorded, exact even past the range

	// first and last are the lowest and highest bucket used, plus one (0
	// while empty), so that snapshots and resets touch only the buckets in
	// use: latencies of one pool rarely span more than a few hundred.
	first, last atomic.Int32
}

// record adds d to h. Negative durations count as 0. It allocates nothing
// and takes no lock: four atomic adds, plus a compare-and-swap while d is a
// new maximum. The maximum is raised first so that a reader that sees the
// count also sees a maximum at least as large (quantiles clamp to it).
func (h *histogram) record(d time.Duration) {
	v := uint64(max(d, 0))
	h.raiseMax(v)
	i := histIndex(v)
	h.widen(int32(i + 1))
	h.counts[i].Add(1)
	h.sumNS.Add(v)
	h.n.Add(1)
}

// raiseMax sets h.maxNS to v if v is larger. The loop retries only when
// another record raised the maximum in between, so it ends quickly.
func (h *histogram) raiseMax(v uint64) {
	for {
		m := h.maxNS.Load()
		if v <= m || h.maxNS.CompareAndSwap(m, v) {
			return
		}
	}
}

// widen makes [first, last] cover bucket i-1. Each loop retries only while
// another record widens the range at the same time.
func (h *histogram) widen(i int32) {
	for {
		f := h.first.Load()
		if f != 0 && f <= i || h.first.CompareAndSwap(f, i) {
			break
		}
	}
	for {
		l := h.last.Load()
		if l >= i || h.last.CompareAndSwap(l, i) {
			return
		}
	}
}

// used returns the range of buckets in use, [lo, hi), empty when lo >= hi.
func (h *histogram) used() (lo, hi int) {
	f, l := h.first.Load(), h.last.Load()
	if f == 0 || l == 0 {
		return 0, 0
	}
	return int(f) - 1, int(l)
}

// reset empties h. Records that run concurrently with reset may survive it
// in part; callers such as window rotation accept that.
func (h *histogram) reset() {
	// Clear every bucket, not only the range in use: a record racing the
	// reset may have counted outside the range it left behind, and such a
	// stale count must not surface later. Resets are rare (one per window
	// slot period), so the full sweep costs nothing that matters.
	h.first.Store(0)
	h.last.Store(0)
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.n.Store(0)
	h.sumNS.Store(0)
	h.maxNS.Store(0)
}

// A histSnapshot is a plain copy of one or more histograms, for reading and
// merging. The zero value is an empty snapshot. It is about 8.5 KiB, so pass
// it by pointer.
type histSnapshot struct {
	counts [numBuckets]uint64
	n      uint64 // number of records, read from the histogram's own count
	sumNS  uint64
	maxNS  uint64
	lo, hi int // the buckets that may be non-zero: [lo, hi)
}

// widen makes s's range cover [lo, hi).
func (s *histSnapshot) widen(lo, hi int) {
	switch {
	case hi <= lo:
	case s.hi <= s.lo:
		s.lo, s.hi = lo, hi
	default:
		s.lo, s.hi = min(s.lo, lo), max(s.hi, hi)
	}
}

// add merges the current contents of the live histogram h into s. While
// records run, n, sum and the buckets are read at slightly different moments
// and may disagree by the records in flight; quantile therefore ranks by the
// bucket counts rather than n. The maximum is read last so that it covers
// every bucket count already read (record raises it first).
func (s *histSnapshot) add(h *histogram) {
	s.n += h.n.Load()
	s.sumNS += h.sumNS.Load()
	lo, hi := h.used()
	for i := lo; i < hi; i++ {
		s.counts[i] += h.counts[i].Load()
	}
	s.widen(lo, hi)
	s.maxNS = max(s.maxNS, h.maxNS.Load())
}

// merge adds the contents of o to s.
func (s *histSnapshot) merge(o *histSnapshot) {
	for i := o.lo; i < o.hi; i++ {
		s.counts[i] += o.counts[i]
	}
	s.widen(o.lo, o.hi)
	s.n += o.n
	s.sumNS += o.sumNS
	s.maxNS = max(s.maxNS, o.maxNS)
}

// quantile returns the q-quantile (q in [0, 1], clamped) of the recorded
// values: the midpoint of the bucket holding the value of rank ceil(q*total),
// capped at the exact maximum. The midpoint is never below its bucket's lower
// bound, hence never below the smallest bucket in use. It returns 0 for an
// empty snapshot.
func (s *histSnapshot) quantile(q float64) time.Duration {
	var total uint64
	for i := s.lo; i < s.hi; i++ {
		total += s.counts[i]
	}
	if total == 0 {
		return 0
	}
	if !(q > 0) { // also catches NaN
		q = 0
	}
	rank := max(uint64(math.Ceil(min(q, 1)*float64(total))), 1)
	var cum uint64
	for i := s.lo; i < s.hi; i++ {
		if cum += s.counts[i]; cum >= rank {
			return s.bucketValue(i)
		}
	}
	return time.Duration(s.maxNS) // unreachable: cum reaches total
}

// bucketValue returns the value reported for bucket i: its midpoint capped at
// the maximum, or the maximum itself for the open-ended last bucket.
func (s *histSnapshot) bucketValue(i int) time.Duration {
	if i == numBuckets-1 {
		return time.Duration(s.maxNS)
	}
	return time.Duration(min(histMid(i), s.maxNS))
}

// mean returns the arithmetic mean of the recorded values, 0 when empty.
func (s *histSnapshot) mean() time.Duration {
	if s.n == 0 {
		return 0
	}
	return time.Duration(s.sumNS / s.n)
}

// summary returns the count, mean, common quantiles and maximum of s.
func (s *histSnapshot) summary() Latency {
	return Latency{
		Count: s.n,
		Mean:  s.mean(),
		P50:   s.quantile(0.50),
		P90:   s.quantile(0.90),
		P99:   s.quantile(0.99),
		Max:   time.Duration(s.maxNS),
	}
}

// The exported cumulative buckets sit at the powers of two from 2^10 ns
// (1.024 µs) to 2^37 ns (about 137 s). Powers of two are bucket edges of the
// histogram, so the counts are exact, not interpolated; and the bounds never
// change, so the buckets of several pools or replicas can be summed bound by
// bound. 1-2-5 decimal steps would read better but fall inside buckets.
const (
	bucketMinExp     = 10
	bucketMaxExp     = 37
	numExportBuckets = bucketMaxExp - bucketMinExp + 1 // 28
)

// Latency summarises durations observed by the pool: how many, their mean,
// the 50th, 90th and 99th percentiles, and the maximum. Percentiles are
// accurate to within 2 % of the true value; Count, Mean and Max are exact.
// In JSON the durations are float milliseconds, under the keys count,
// mean_ms, p50_ms, p90_ms, p99_ms and max_ms.
type Latency struct {
	Count                    uint64
	Mean, P50, P90, P99, Max time.Duration
}

// latencyJSON is the wire form of Latency.
type latencyJSON struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// MarshalJSON writes l with its durations as float milliseconds, a unit a
// dashboard can plot without knowing Go's nanosecond Duration.
func (l Latency) MarshalJSON() ([]byte, error) {
	return json.Marshal(latencyJSON{
		Count: l.Count,
		Mean:  durationMS(l.Mean),
		P50:   durationMS(l.P50),
		P90:   durationMS(l.P90),
		P99:   durationMS(l.P99),
		Max:   durationMS(l.Max),
	})
}

// UnmarshalJSON reads the form written by [Latency.MarshalJSON], rounding
// durations to the nearest nanosecond.
func (l *Latency) UnmarshalJSON(b []byte) error {
	var j latencyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("workerpool: decoding Latency: %w", err)
	}
	*l = Latency{
		Count: j.Count,
		Mean:  msDuration(j.Mean),
		P50:   msDuration(j.P50),
		P90:   msDuration(j.P90),
		P99:   msDuration(j.P99),
		Max:   msDuration(j.Max),
	}
	return nil
}

// Bucket is one cumulative histogram bucket: Count observations were <=
// UpperBound. Exactly, they were below UpperBound, which for whole
// nanoseconds differs from Prometheus's "le" by one nanosecond at the bound.
// The bounds are fixed powers of two, so buckets from several pools can be
// added. In JSON it is {"le_ms": float milliseconds, "count": n}.
type Bucket struct {
	UpperBound time.Duration
	Count      uint64
}

// bucketJSON is the wire form of Bucket.
type bucketJSON struct {
	LeMS  float64 `json:"le_ms"`
	Count uint64  `json:"count"`
}

// MarshalJSON writes b with its bound in float milliseconds.
func (b Bucket) MarshalJSON() ([]byte, error) {
	return json.Marshal(bucketJSON{LeMS: durationMS(b.UpperBound), Count: b.Count})
}

// UnmarshalJSON reads the form written by [Bucket.MarshalJSON].
func (b *Bucket) UnmarshalJSON(data []byte) error {
	var j bucketJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("workerpool: decoding Bucket: %w", err)
	}
	*b = Bucket{UpperBound: msDuration(j.LeMS), Count: j.Count}
	return nil
}

// durationMS converts d to float milliseconds. msDuration recovers d to the
// nanosecond for durations below 2^50 ns (13 days), where the two roundings
// stay under half a nanosecond.
func durationMS(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

// msDuration converts float milliseconds back to a Duration, rounding to the
// nearest nanosecond and saturating instead of overflowing.
func msDuration(ms float64) time.Duration {
	ns := math.Round(ms * float64(time.Millisecond))
	switch {
	case ns >= math.MaxInt64:
		return math.MaxInt64
	case ns <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(ns)
}

// cumulativeBuckets returns the cumulative counts of the merge of hs at the
// export bounds, every power of two from 2^10 ns to 2^37 ns. A bucket counts
// the values below its bound (at most UpperBound-1ns); the implicit +Inf
// bucket is the total count. It reads the live histograms directly: cheaper
// than a snapshot, which would copy every bucket of every level first.
func cumulativeBuckets(hs []histogram) []Bucket {
	var counts [numExportBuckets]uint64
	for k := range hs {
		h := &hs[k]
		lo, hi := h.used()
		for i := lo; i < hi; i++ {
			c := h.counts[i].Load()
			if c == 0 {
				continue
			}
			// Bucket i counts under every bound above its lower edge;
			// powers of two are bucket edges, so this is exact.
			lower, _ := histBounds(i)
			if e := max(bits.Len64(lower), bucketMinExp); e <= bucketMaxExp {
				counts[e-bucketMinExp] += c
			}
		}
	}
	out := make([]Bucket, numExportBuckets)
	var cum uint64
	for j := range out {
		cum += counts[j]
		out[j] = Bucket{UpperBound: time.Duration(1) << (j + bucketMinExp), Count: cum}
	}
	return out
}
