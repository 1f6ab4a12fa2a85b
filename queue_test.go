package workerpool

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bigRank is the aging rank prio*d - enq computed without overflow.
func bigRank(pr Priority, enq int64, d time.Duration) *big.Int {
	r := new(big.Int).Mul(big.NewInt(int64(pr)), big.NewInt(int64(d)))
	return r.Sub(r, big.NewInt(enq))
}

func TestMakeKeyMatchesExactArithmetic(t *testing.T) {
	prios := []Priority{
		math.MinInt64, math.MinInt64 + 1, -1 << 40, -11, PriorityLow, -1, 0, 1,
		PriorityHigh, PriorityCritical - 1, math.MaxInt64,
	}
	enqs := []int64{0, 1, int64(time.Hour), math.MaxInt64}
	ds := []time.Duration{1, time.Millisecond, time.Hour, math.MaxInt64}
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		prios = append(prios, Priority(int64(r.Uint64())))
		enqs = append(enqs, r.Int64())
	}
	for _, d := range ds {
		for i := range 5000 {
			a := prios[r.IntN(len(prios))]
			b := prios[r.IntN(len(prios))]
			ea, eb := enqs[r.IntN(len(enqs))], enqs[r.IntN(len(enqs))]
			if i < len(prios) {
				a = prios[i]
			}
			ka, kb := makeKey(a, ea, d, 1), makeKey(b, eb, d, 2)
			var want bool
			switch ca, cb := a >= PriorityCritical, b >= PriorityCritical; {
			case ca != cb:
				want = ca
			case ca:
				want = a >= b
			default:
				want = bigRank(a, ea, d).Cmp(bigRank(b, eb, d)) >= 0
			}
			require.Equal(t, want, ka.before(&kb), "prio %d enq %d vs prio %d enq %d, d %v", a, ea, b, eb, d)
		}
	}
}

func TestMakeKeyWithoutAging(t *testing.T) {
	low := makeKey(PriorityLow, 0, 0, 1)
	high := makeKey(PriorityHigh, 1<<60, 0, 2)
	assert.True(t, high.before(&low), "without aging, waiting time does not count")
	min := makeKey(math.MinInt64, 0, 0, 3)
	max := makeKey(math.MaxInt64, 0, 0, 4)
	assert.True(t, max.before(&min))
	sameA, sameB := makeKey(5, 10, 0, 5), makeKey(5, 0, 0, 6)
	assert.True(t, sameA.before(&sameB), "FIFO among equals, by sequence")
}

func TestTaskHeapOrderAndRemove(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var h taskHeap
	var tasks []*Task
	for i := range 500 {
		tk := &Task{key: makeKey(Priority(r.IntN(7)-3), 0, 0, uint64(i))}
		tasks = append(tasks, tk)
		h.push(tk)
	}
	// Remove a third from the middle, as cancellation does.
	removed := map[*Task]bool{}
	for _, tk := range tasks[:len(tasks)/3] {
		h.remove(tk.index)
		assert.Equal(t, -1, tk.index)
		removed[tk] = true
	}
	var prev *Task
	for len(h) > 0 {
		tk := h.pop()
		require.False(t, removed[tk])
		if prev != nil {
			require.True(t, prev.key.before(&tk.key), "heap order broken")
		}
		prev = tk
	}
}

// TestSharedQueueMatchesHeap drives the level queue and the plain heap with
// the same random pushes, removals and pops, and checks they agree on order.
func TestSharedQueueMatchesHeap(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var lq sharedQueue
	var ref taskHeap
	var live []*Task
	for i := range 20000 {
		switch op := r.IntN(10); {
		case op < 5 || len(live) == 0:
			// Many distinct priorities, to exercise dropping idle levels.
			pr := Priority(r.IntN(200) - 100)
			if r.IntN(2) == 0 {
				pr = Priority(r.IntN(3))
			}
			a := &Task{taskConfig: taskConfig{prio: pr}, key: makeKey(pr, 0, 0, uint64(i)), index: -1}
			b := &Task{taskConfig: taskConfig{prio: pr}, key: a.key, index: -1}
			a.older = b // pair them up
			lq.push(a)
			ref.push(b)
			live = append(live, a)
		case op < 7:
			k := r.IntN(len(live))
			a := live[k]
			live = append(live[:k], live[k+1:]...)
			lq.remove(a)
			ref.remove(a.older.index)
		default:
			a := lq.pop()
			b := ref.pop()
			require.Same(t, b, a.older, "step %d: level queue and heap disagree", i)
			for k, x := range live {
				if x == a {
					live = append(live[:k], live[k+1:]...)
					break
				}
			}
		}
		require.Equal(t, len(ref), lq.len())
	}
	assert.LessOrEqual(t, len(lq.byPrio), maxIdleLevels+len(lq.levels)+1)
}
