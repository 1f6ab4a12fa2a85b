package workerpool

import (
	"math/bits"
	"time"
)

// An orderKey ranks a waiting task: a higher class first, then a higher
// 128-bit rank, then the lower sequence number (first in, first out).
//
// Without aging the rank is the priority. With aging, a task's effective
// priority at time now is prio + (now-enq)/d. Every waiting task ages at the
// same rate, so comparing prio_a + (now-enq_a)/d with prio_b + (now-enq_b)/d
// is comparing prio_a*d - enq_a with prio_b*d - enq_b: a key fixed at
// enqueue time, and the heap never needs a rescan. The product needs up to
// 127 bits, so the rank is 128 bits wide and never overflows. Critical tasks
// do not age and sit in a higher class that no aged task reaches.
type orderKey struct {
	class uint8
	hi    int64
	lo    uint64
	seq   uint64
}

// makeKey builds the key of a task with priority pr, enqueued at enq
// nanoseconds since the pool's start, under aging step d (0 means no aging).
func makeKey(pr Priority, enq int64, d time.Duration, seq uint64) orderKey {
	p := int64(pr)
	if d <= 0 {
		return orderKey{hi: p >> 63, lo: uint64(p), seq: seq}
	}
	if pr >= PriorityCritical {
		return orderKey{class: 1, hi: p >> 63, lo: uint64(p), seq: seq}
	}
	mag := uint64(p)
	if p < 0 {
		mag = -mag
	}
	hi, lo := bits.Mul64(mag, uint64(d))
	if p < 0 {
		lo = -lo
		hi = ^hi
		if lo == 0 {
			hi++
		}
	}
	lo, borrow := bits.Sub64(lo, uint64(enq), 0)
	hi -= borrow
	return orderKey{hi: int64(hi), lo: lo, seq: seq}
}

// before reports whether a starts before b.
func (a *orderKey) before(b *orderKey) bool {
	if a.class != b.class {
		return a.class > b.class
	}
	if a.hi != b.hi {
		return a.hi > b.hi
	}
	if a.lo != b.lo {
		return a.lo > b.lo
	}
	return a.seq < b.seq
}

// A taskHeap is a binary heap of tasks, first to start at the root. Each
// task keeps its index so that a cancelled task leaves in O(log n). It is
// written out rather than built on container/heap, whose interface boxes
// every push and pop.
type taskHeap []*Task

func (h taskHeap) less(i, j int) bool { return h[i].key.before(&h[j].key) }

func (h taskHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *taskHeap) push(t *Task) {
	t.index = len(*h)
	*h = append(*h, t)
	h.up(t.index)
}

// pop removes and returns the first task; the heap must not be empty.
func (h *taskHeap) pop() *Task {
	return h.remove(0)
}

// remove removes and returns the task at index i.
func (h *taskHeap) remove(i int) *Task {
	old := *h
	n := len(old) - 1
	t := old[i]
	if i != n {
		old.swap(i, n)
		if !old[:n].down(i) {
			old[:n].up(i)
		}
	}
	old[n] = nil
	*h = old[:n]
	t.index = -1
	return t
}

func (h taskHeap) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

// down moves the task at i towards the leaves; it reports whether it moved.
func (h taskHeap) down(i int) bool {
	start := i
	for {
		child := 2*i + 1
		if child >= len(h) {
			break
		}
		if r := child + 1; r < len(h) && h.less(r, child) {
			child = r
		}
		if !h.less(child, i) {
			break
		}
		h.swap(i, child)
		i = child
	}
	return i > start
}

// A sharedQueue holds the accepted tasks waiting for any worker. With aging
// on, every task has its own rank, so it is a heap. With aging off, which is
// the default, tasks of one priority share a rank and differ only by
// arrival, so it groups them: a FIFO list per priority and a small heap of
// the priorities in use. Push, pop and remove are then O(1) plus O(log k)
// in the k priorities waiting, instead of O(log n) in the n tasks, and a
// worker taking the next task reads one list head instead of sifting a
// large heap.
type sharedQueue struct {
	aging  bool
	heap   taskHeap  // with aging
	levels levelHeap // without aging: the non-empty levels
	byPrio map[Priority]*level
	last   *level // the level used last: most pushes hit it
	n      int
}

// A level is the FIFO list of waiting tasks of one priority.
type level struct {
	prio       Priority
	head, tail *Task // linked through Task.qprev and Task.qnext
	hidx       int   // index in levelHeap, or -1 when empty
}

// maxIdleLevels bounds the empty levels kept for reuse, so that a caller
// cycling through many distinct priorities cannot grow the map forever.
const maxIdleLevels = 64

func (q *sharedQueue) len() int { return q.n }

// peek returns the task that starts next, or nil.
func (q *sharedQueue) peek() *Task {
	switch {
	case q.n == 0:
		return nil
	case q.aging:
		return q.heap[0]
	}
	return q.levels[0].head
}

func (q *sharedQueue) push(t *Task) {
	q.n++
	if q.aging {
		q.heap.push(t)
		return
	}
	lv := q.last
	if lv == nil || lv.prio != t.prio {
		lv = q.level(t.prio)
		q.last = lv
	}
	t.qprev, t.qnext = lv.tail, nil
	if lv.tail != nil {
		lv.tail.qnext = t
	} else {
		lv.head = t
		q.levels.push(lv)
	}
	lv.tail = t
}

// level returns the level of pr, making it if needed.
func (q *sharedQueue) level(pr Priority) *level {
	if lv, ok := q.byPrio[pr]; ok {
		return lv
	}
	if q.byPrio == nil {
		q.byPrio = make(map[Priority]*level)
	}
	if len(q.byPrio) >= maxIdleLevels+len(q.levels) {
		for p, lv := range q.byPrio {
			if lv.head == nil && lv != q.last {
				delete(q.byPrio, p)
			}
		}
	}
	lv := &level{prio: pr, hidx: -1}
	q.byPrio[pr] = lv
	return lv
}

// pop removes and returns the next task; the queue must not be empty.
func (q *sharedQueue) pop() *Task {
	t := q.peek()
	q.remove(t)
	return t
}

// remove takes t, which must be in the queue, out of it.
func (q *sharedQueue) remove(t *Task) {
	q.n--
	if q.aging {
		q.heap.remove(t.index)
		return
	}
	lv := q.byPrio[t.prio]
	if t.qprev != nil {
		t.qprev.qnext = t.qnext
	} else {
		lv.head = t.qnext
	}
	if t.qnext != nil {
		t.qnext.qprev = t.qprev
	} else {
		lv.tail = t.qprev
	}
	t.qprev, t.qnext = nil, nil
	if lv.head == nil {
		q.levels.remove(lv.hidx)
	}
}

// A levelHeap is a max-heap of levels by priority.
type levelHeap []*level

func (h levelHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx = i
	h[j].hidx = j
}

func (h *levelHeap) push(lv *level) {
	lv.hidx = len(*h)
	*h = append(*h, lv)
	for i := lv.hidx; i > 0; {
		parent := (i - 1) / 2
		if (*h)[parent].prio >= (*h)[i].prio {
			break
		}
		h.swap(i, parent)
		i = parent
	}
}

func (h *levelHeap) remove(i int) {
	old := *h
	n := len(old) - 1
	lv := old[i]
	if i != n {
		old.swap(i, n)
	}
	old[n] = nil
	*h = old[:n]
	lv.hidx = -1
	if i == n {
		return
	}
	// Restore order around i: up, then down.
	hh := *h
	for j := i; j > 0; {
		parent := (j - 1) / 2
		if hh[parent].prio >= hh[j].prio {
			break
		}
		hh.swap(j, parent)
		j = parent
		i = j
	}
	for {
		child := 2*i + 1
		if child >= len(hh) {
			return
		}
		if r := child + 1; r < len(hh) && hh[r].prio > hh[child].prio {
			child = r
		}
		if hh[child].prio <= hh[i].prio {
			return
		}
		hh.swap(i, child)
		i = child
	}
}
