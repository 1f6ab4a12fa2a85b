package workerpool

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// histMaxRelErr is the largest relative error a bucket midpoint may have:
// half a bucket width over its lower bound, 1/64, under the 2 % requirement.
const histMaxRelErr = 1.0 / 64

func TestHistIndexTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v       uint64
		idx     int
		lower   uint64
		width   uint64
		midWant uint64
	}{
		{0, 0, 0, 1, 0},
		{1, 1, 1, 1, 1},
		{31, 31, 31, 1, 31},
		{32, 32, 32, 1, 32},
		{63, 63, 63, 1, 63},
		{64, 64, 64, 2, 65},
		{65, 64, 64, 2, 65},
		{127, 95, 126, 2, 127},
		{128, 96, 128, 4, 130},
		{1000, 190, 992, 16, 1000},
		{1 << 20, 15*32 + 32, 1 << 20, 1 << 15, 1<<20 + 1<<14},
		{1 << 37, 33 * 32, 1 << 37, 1 << 32, 1<<37 + 1<<31},
		{1<<38 - 1, numBuckets - 1, 63 << 32, 1 << 32, 63<<32 + 1<<31},
	}
	for _, tt := range tests {
		idx := histIndex(tt.v)
		lower, width := histBounds(idx)
		assert.Equal(t, tt.idx, idx, "histIndex(%d)", tt.v)
		assert.Equal(t, tt.lower, lower, "lower bound of bucket of %d", tt.v)
		assert.Equal(t, tt.width, width, "width of bucket of %d", tt.v)
		assert.Equal(t, tt.midWant, histMid(idx), "midpoint of bucket of %d", tt.v)
	}
}

func TestHistBoundsInvertIndex(t *testing.T) {
	t.Parallel()
	next := uint64(0)
	for i := range numBuckets {
		lower, width := histBounds(i)
		require.Equal(t, next, lower, "bucket %d must start where %d ended", i, i-1)
		require.Equal(t, i, histIndex(lower), "histIndex(lower of %d)", i)
		require.Equal(t, i, histIndex(lower+width-1), "histIndex(upper of %d)", i)
		next = lower + width
	}
	assert.Equal(t, uint64(1)<<histMaxExp, next, "buckets end at 2^%d", histMaxExp)
	assert.Equal(t, numBuckets-1, histIndex(math.MaxUint64), "overflow goes to the last bucket")
}

// histTestValues returns values from 1 ns to 2^37 ns: every power of two and
// its neighbours, a geometric sweep with 0.07 % steps and random values.
func histTestValues() []uint64 {
	var vs []uint64
	for e := range 38 {
		p := uint64(1) << e
		vs = append(vs, p-1, p, p+1)
	}
	for f := 1.0; f < 1<<37; f *= 1.0007 {
		vs = append(vs, uint64(f))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		vs = append(vs, 1+r.Uint64N(1<<37))
	}
	return vs
}

func TestHistMidpointWithin2Percent(t *testing.T) {
	t.Parallel()
	worst, worstV := 0.0, uint64(0)
	for _, v := range histTestValues() {
		if v == 0 {
			continue
		}
		i := histIndex(v)
		lower, width := histBounds(i)
		require.True(t, lower <= v && v < lower+width, "%d not in bucket %d", v, i)
		rel := math.Abs(float64(histMid(i))-float64(v)) / float64(v)
		if rel > worst {
			worst, worstV = rel, v
		}
	}
	assert.LessOrEqual(t, worst, histMaxRelErr, "worst relative error at %d ns", worstV)
	t.Logf("worst midpoint error %.3f %% at %d ns", 100*worst, worstV)
}

func TestHistogramRecordEdges(t *testing.T) {
	t.Parallel()
	var h histogram
	h.record(-time.Second)
	var s histSnapshot
	s.add(&h)
	assert.Equal(t, uint64(1), s.counts[0], "negative durations count as 0")
	assert.Equal(t, uint64(0), s.sumNS)
	assert.Equal(t, time.Duration(0), s.quantile(0.5))

	huge := time.Duration(1) << 45 // ~9.8 hours, past the exact range
	h.record(huge)
	s = histSnapshot{}
	s.add(&h)
	assert.Equal(t, uint64(1), s.counts[numBuckets-1], "overflow goes to the last bucket")
	assert.Equal(t, huge, time.Duration(s.maxNS), "max is exact past the range")
	assert.Equal(t, huge, s.quantile(1), "the open last bucket reports the max")
	assert.Equal(t, uint64(huge), s.sumNS, "sum is exact past the range")
}

func TestHistogramQuantileUniform(t *testing.T) {
	t.Parallel()
	var h histogram
	for v := 1; v <= 10000; v++ {
		h.record(time.Duration(v) * time.Microsecond)
	}
	var s histSnapshot
	s.add(&h)
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0, time.Microsecond},
		{0.01, 100 * time.Microsecond},
		{0.25, 2500 * time.Microsecond},
		{0.5, 5000 * time.Microsecond},
		{0.9, 9000 * time.Microsecond},
		{0.99, 9900 * time.Microsecond},
		{0.999, 9990 * time.Microsecond},
		{1, 10000 * time.Microsecond},
	}
	for _, tt := range tests {
		got := s.quantile(tt.q)
		assert.InEpsilon(t, tt.want, got, 0.02,
			"quantile(%v): got %v, want %v", tt.q, got, tt.want)
	}
	sum := s.summary()
	assert.Equal(t, uint64(10000), sum.Count)
	assert.Equal(t, 5000500*time.Nanosecond, sum.Mean, "mean is exact")
	assert.Equal(t, 10*time.Millisecond, sum.Max, "max is exact")
	assert.InEpsilon(t, 5*time.Millisecond, sum.P50, 0.02)
	assert.InEpsilon(t, 9*time.Millisecond, sum.P90, 0.02)
	assert.InEpsilon(t, 9.9*float64(time.Millisecond), float64(sum.P99), 0.02)
}

func TestHistogramQuantileConstant(t *testing.T) {
	t.Parallel()
	const d = 1234567 * time.Nanosecond
	var h histogram
	for range 1000 {
		h.record(d)
	}
	var s histSnapshot
	s.add(&h)
	for _, q := range []float64{math.NaN(), -1, 0, 0.5, 0.99, 1, 2} {
		got := s.quantile(q)
		assert.InEpsilon(t, d, got, 0.02, "quantile(%v)", q)
		assert.LessOrEqual(t, got, d, "quantile(%v) is clamped to the max", q)
	}
}

func TestHistSnapshotEmpty(t *testing.T) {
	t.Parallel()
	var s histSnapshot
	s.add(new(histogram))
	assert.Equal(t, Latency{}, s.summary())
	for _, q := range []float64{0, 0.5, 1} {
		assert.Equal(t, time.Duration(0), s.quantile(q), "quantile(%v)", q)
	}
	bs := cumulativeBuckets(make([]histogram, 1))
	require.Len(t, bs, numExportBuckets)
	for _, b := range bs {
		assert.Zero(t, b.Count, "bucket le %v", b.UpperBound)
	}
}

func TestHistSnapshotMerge(t *testing.T) {
	t.Parallel()
	var lo, hi, all histogram
	for v := 1; v <= 1000; v++ {
		d := time.Duration(v) * time.Microsecond
		all.record(d)
		if v <= 500 {
			lo.record(d)
		} else {
			hi.record(d)
		}
	}
	var want, sLo, sHi, added histSnapshot
	want.add(&all)
	sLo.add(&lo)
	sHi.add(&hi)
	merged := sLo
	merged.merge(&sHi)
	added.add(&lo)
	added.add(&hi)
	assert.Equal(t, want, merged, "merge of the halves equals the whole")
	assert.Equal(t, want, added, "adding both histograms equals the whole")
	assert.Equal(t, time.Millisecond, merged.summary().Max)
}

func TestHistogramConcurrentRecord(t *testing.T) {
	t.Parallel()
	const goroutines, perG = 8, 10000
	var h histogram
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				h.record(time.Duration(g*perG + i))
			}
		})
	}
	wg.Wait()
	var s histSnapshot
	s.add(&h)
	const n = goroutines * perG
	var inBuckets uint64
	for _, c := range s.counts {
		inBuckets += c
	}
	assert.Equal(t, uint64(n), s.n, "count")
	assert.Equal(t, uint64(n), inBuckets, "sum of bucket counts")
	assert.Equal(t, uint64(n*(n-1)/2), s.sumNS, "sum")
	assert.Equal(t, uint64(n-1), s.maxNS, "max")
}

func TestCumulativeBucketsAtBounds(t *testing.T) {
	t.Parallel()
	hs := make([]histogram, 1)
	h := &hs[0]
	for e := bucketMinExp; e <= bucketMaxExp; e++ {
		h.record(time.Duration(1)<<e - 1) // just below the bound 2^e
		h.record(time.Duration(1) << e)   // at the bound: counted in the next one
	}
	bs := cumulativeBuckets(hs)
	require.Len(t, bs, numExportBuckets)
	for i, b := range bs {
		e := bucketMinExp + i
		assert.Equal(t, time.Duration(1)<<e, b.UpperBound, "bound %d", i)
		assert.Equal(t, uint64(2*i+1), b.Count, "values below 2^%d", e)
	}
}

func TestLatencyJSON(t *testing.T) {
	t.Parallel()
	l := Latency{
		Count: 42,
		Mean:  1500 * time.Microsecond,
		P50:   time.Millisecond,
		P90:   1234567 * time.Nanosecond,
		P99:   3 * time.Second,
		Max:   time.Hour,
	}
	b, err := json.Marshal(l)
	require.NoError(t, err)
	assert.JSONEq(t, `{"count":42,"mean_ms":1.5,"p50_ms":1,"p90_ms":1.234567,
		"p99_ms":3000,"max_ms":3600000}`, string(b))

	var got Latency
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, l, got)

	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		d := time.Duration(r.Int64N(1 << 50))
		l := Latency{Count: 1, Mean: d, P50: d, P90: d, P99: d, Max: d}
		b, err := json.Marshal(l)
		require.NoError(t, err)
		var got Latency
		require.NoError(t, json.Unmarshal(b, &got))
		require.Equal(t, l, got, "round trip of %d ns", int64(d))
	}
	assert.Error(t, json.Unmarshal([]byte(`{"count":"x"}`), &got))
}

func TestBucketJSON(t *testing.T) {
	t.Parallel()
	bs := []Bucket{{UpperBound: 1 << 20, Count: 3}, {UpperBound: time.Second, Count: 7}}
	b, err := json.Marshal(bs)
	require.NoError(t, err)
	assert.JSONEq(t, `[{"le_ms":1.048576,"count":3},{"le_ms":1000,"count":7}]`, string(b))
	var got []Bucket
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, bs, got)
	assert.Error(t, json.Unmarshal([]byte(`[{"le_ms":"x"}]`), &got))
}

func BenchmarkHistogramRecord(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		var h histogram
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			h.record(time.Duration(i&0xfffff) * time.Microsecond)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var h histogram
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				h.record(time.Duration(i&0xfffff) * time.Microsecond)
				i++
			}
		})
	})
}

func BenchmarkHistSnapshotSummary(b *testing.B) {
	var h histogram
	for v := range 100000 {
		h.record(time.Duration(v) * time.Microsecond)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var s histSnapshot
		s.add(&h)
		_ = s.summary()
	}
}

func TestCumulativeBucketsMergeLevels(t *testing.T) {
	t.Parallel()
	hs := make([]histogram, 3)
	r := rand.New(rand.NewPCG(9, 10))
	var values []time.Duration
	for range 5000 {
		for _, d := range []time.Duration{
			time.Duration(r.Int64N(int64(200 * time.Second))),
			time.Duration(r.Int64N(4096)),
		} {
			hs[r.IntN(len(hs))].record(d)
			values = append(values, d)
		}
	}
	for _, b := range cumulativeBuckets(hs) {
		var want uint64
		for _, v := range values {
			if v < b.UpperBound {
				want++
			}
		}
		assert.Equal(t, want, b.Count, "values below %v", b.UpperBound)
	}
}
