package workerpool

import (
	"math/bits"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newWorkers registers n workers with ids 1..n on a balancer of depth d.
func newWorkers(d, n int) (*balancer, []*worker) {
	b := &balancer{depth: d}
	ws := make([]*worker, n)
	for i := range ws {
		ws[i] = &worker{id: i + 1}
		b.register(ws[i])
	}
	return b, ws
}

func TestBalancerPick(t *testing.T) {
	t.Run("zero workers is an error", func(t *testing.T) {
		b := &balancer{depth: 2}
		w, err := b.pick()
		assert.Nil(t, w)
		assert.ErrorIs(t, err, errNoWorkers)
	})
	t.Run("first pick with all idle goes to the lowest id", func(t *testing.T) {
		b, ws := newWorkers(1, 5)
		w, err := b.pick()
		require.NoError(t, err)
		assert.Same(t, ws[0], w)
	})
	t.Run("one worker", func(t *testing.T) {
		b, ws := newWorkers(2, 1)
		w, _ := b.pick()
		assert.Same(t, ws[0], w)
		b.setLoad(ws[0], 1)
		w, _ = b.pick()
		assert.Same(t, ws[0], w, "below its depth it is still a candidate")
		b.setLoad(ws[0], 2)
		_, err := b.pick()
		assert.ErrorIs(t, err, errAllFull)
	})
	t.Run("least loaded wins", func(t *testing.T) {
		b, ws := newWorkers(4, 3)
		b.setLoad(ws[0], 2)
		b.setLoad(ws[1], 1)
		b.setLoad(ws[2], 3)
		w, _ := b.pick()
		assert.Same(t, ws[1], w)
	})
	t.Run("ties go to the lowest average, then the lowest id", func(t *testing.T) {
		b, ws := newWorkers(2, 3)
		ws[0].observe(30 * time.Millisecond)
		ws[1].observe(10 * time.Millisecond)
		ws[2].observe(10 * time.Millisecond)
		for _, w := range ws {
			b.fix(w)
		}
		w, _ := b.pick()
		assert.Same(t, ws[1], w)
		b.setLoad(ws[1], 1)
		w, _ = b.pick()
		assert.Same(t, ws[2], w)
	})
	t.Run("depth respected and all full refused", func(t *testing.T) {
		b, ws := newWorkers(3, 4)
		placed := map[int]int{}
		for range 12 {
			w, err := b.pick()
			require.NoError(t, err)
			b.setLoad(w, w.load+1)
			placed[w.id]++
		}
		for _, w := range ws {
			assert.Equal(t, 3, w.load)
			assert.Equal(t, 3, placed[w.id])
		}
		_, err := b.pick()
		assert.ErrorIs(t, err, errAllFull)
		b.setLoad(ws[2], 2)
		w, err := b.pick()
		require.NoError(t, err)
		assert.Same(t, ws[2], w)
	})
	t.Run("unregister", func(t *testing.T) {
		b, ws := newWorkers(1, 3)
		b.unregister(ws[0])
		w, _ := b.pick()
		assert.Same(t, ws[1], w)
		b.setLoad(ws[1], 1)
		b.unregister(ws[1]) // not a candidate: only the count changes
		b.unregister(ws[2])
		_, err := b.pick()
		assert.ErrorIs(t, err, errNoWorkers)
	})
}

func TestWorkerAverage(t *testing.T) {
	w := &worker{}
	w.observe(80 * time.Millisecond)
	assert.Equal(t, 80*time.Millisecond, w.avg, "the first run sets the average")
	w.observe(160 * time.Millisecond)
	assert.Equal(t, 90*time.Millisecond, w.avg, "each run moves it by 1/8 of the gap")
	for range 200 {
		w.observe(8 * time.Millisecond)
	}
	assert.InDelta(t, float64(8*time.Millisecond), float64(w.avg), float64(10*time.Microsecond))
	assert.Equal(t, uint64(202), w.runs)
}

// TestBalancerHeapInvariant drives random loads and checks that pick always
// returns a least-loaded candidate, as a scan would.
func TestBalancerHeapInvariant(t *testing.T) {
	b, ws := newWorkers(4, 64)
	seed := uint64(1)
	next := func(n int) int {
		seed = seed*6364136223846793005 + 1442695040888963407
		return int(seed>>33) % n
	}
	for range 5000 {
		w := ws[next(len(ws))]
		switch next(3) {
		case 0:
			b.setLoad(w, next(5))
		case 1:
			w.observe(time.Duration(next(1000)) * time.Microsecond)
			b.fix(w)
		default:
			got, err := b.pick()
			var want *worker
			for _, c := range ws {
				if c.load < b.depth && (want == nil || better(c, want)) {
					want = c
				}
			}
			if want == nil {
				assert.ErrorIs(t, err, errAllFull)
				continue
			}
			require.NoError(t, err)
			require.Same(t, want, got)
		}
	}
}

// TestBalancerPlacementIsLogarithmic counts the heap moves of placing a
// task and of the worker freeing up again: never more than the heap's
// height each, so among 100,000 workers a placement costs about 17 moves,
// not 100,000.
func TestBalancerPlacementIsLogarithmic(t *testing.T) {
	for _, n := range []int{1, 10, 1000, 100_000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			b, ws := newWorkers(2, n)
			height := uint64(bits.Len(uint(n)))
			for i := range 2000 {
				w, err := b.pick()
				if err != nil {
					require.ErrorIs(t, err, errAllFull)
					b.setLoad(ws[i%n], 0)
					continue
				}
				before := b.moves
				b.setLoad(w, w.load+1)
				require.LessOrEqual(t, b.moves-before, height)
				if i%3 == 0 {
					v := ws[(i*7919)%n]
					before = b.moves
					b.setLoad(v, 0)
					require.LessOrEqual(t, b.moves-before, height)
				}
			}
		})
	}
}

func BenchmarkBalancerPlace(b *testing.B) {
	for _, n := range []int{10, 1000, 100_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			bal, _ := newWorkers(2, n)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				w, _ := bal.pick()
				bal.setLoad(w, 1)
				bal.setLoad(w, 0)
			}
		})
	}
}
