package workerpool

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// numLevels is the number of priority levels with their own latency
// histograms, indexed as by Priority.level: 0 Low, 1 Normal, 2 High,
// 3 Critical.
const numLevels = 4

// A windowEvent is a kind of event that a window counts.
type windowEvent int

// The events a window counts.
const (
	evSucceeded windowEvent = iota // a task ran and returned nil
	evFailed                       // a task ran and returned an error
	evPanicked                     // a task ran and panicked
	evAccepted                     // a submission was accepted
	evRefused                      // a submission was refused: queue full
	numEvents
)

// levelHists holds live wait (queued until started) and run (started until
// returned) histograms per priority level.
type levelHists struct {
	wait, run [numLevels]histogram
}

// reset empties every histogram of l.
func (l *levelHists) reset() {
	for i := range numLevels {
		l.wait[i].reset()
		l.run[i].reset()
	}
}

// levelSnaps is a plain copy of levelHists. The overall latency of all
// levels is mergeLevels of wait or run.
type levelSnaps struct {
	wait, run [numLevels]histSnapshot
}

// add merges the current contents of l into s.
func (s *levelSnaps) add(l *levelHists) {
	for i := range numLevels {
		s.wait[i].add(&l.wait[i])
		s.run[i].add(&l.run[i])
	}
}

// mergeLevels returns the merge of the snapshots of all levels.
func mergeLevels(hs *[numLevels]histSnapshot) histSnapshot {
	var all histSnapshot
	for i := range hs {
		all.merge(&hs[i])
	}
	return all
}

// A windowSlot holds what happened during one slot period.
type windowSlot struct {
	// epoch is the start of the period the slot holds, in ns since the
	// window's base time; math.MinInt64 when the slot was never used.
	epoch  atomic.Int64
	events [numEvents]atomic.Uint64
	hists  levelHists
}

// clear empties the slot's counters and histograms, leaving its epoch.
func (sl *windowSlot) clear() {
	for i := range sl.events {
		sl.events[i].Store(0)
	}
	sl.hists.reset()
}

// A window keeps counters and latency histograms for a rolling period W (the
// pool's "last minute"), as a ring of n slots of W/n each, plus cumulative
// latency histograms that are never rotated, for exporting [Bucket]s.
//
// Time is passed in by the caller as now, nanoseconds since a base time it
// chose (the pool takes time.Since(start)), so tests drive the window
// without sleeping and it works under testing/synctest. Callers should pass
// a non-decreasing clock; negative times count as 0.
//
// Recording is lock-free while now falls in a slot's current period. The
// first record of a new period rotates the slot: it takes rotateMu, clears
// the slot and sets its epoch, once per slot period. The counts are exact
// except near rotations: a record that reads a slot's epoch, then stalls
// while another goroutine rotates that slot (at least W-W/n later), lands in
// the cleared slot or is lost, and a record whose now is already older than
// the slot's period is dropped from the window. That is at most the few
// records in flight at a slot boundary. The cumulative histograms miss none.
//
// A snapshot sums the slots whose epoch lies within (now-W, now], so it
// covers between W-W/n and W of history; older slots are skipped, never
// cleared on read.
//
// Memory is constant. With the default 6 slots a window is about 478 KiB:
// a histogram is 8,736 bytes (1,088 buckets), a slot holds 8 of them (wait
// and run for 4 levels) plus 48 bytes of counters and epoch, 69,936 bytes;
// 6 slots, 8 cumulative histograms and 48 bytes of header make 489,552 bytes
// on 64-bit platforms (TestWindowSize checks). Each further slot adds 68 KiB,
// so keep n small; 6 gives a 10 s resolution for W = 1 minute.
type window struct {
	span   int64 // W in ns, a multiple of slotNS
	slotNS int64 // length of a slot period in ns
	slots  []windowSlot
	cum    levelHists // since the window was made; never rotated

	// rotateMu serialises slot rotations; the fast path never takes it.
	rotateMu sync.Mutex
}

// A windowSnapshot is what a window recorded during its last W: summed
// counters and merged latency histograms per level.
type windowSnapshot struct {
	succeeded, failed, panicked uint64 // tasks that ran, by how they ended
	accepted, refused           uint64 // submissions, refused: queue full
	levelSnaps
}

// newWindow returns an empty window of length w made of the given number of
// slots. The pool passes validated values; as a safety net slots is raised
// to at least 1 and a slot to at least 1 ns, and w is rounded down to a
// whole number of slots.
func newWindow(w time.Duration, slots int) *window {
	slots = max(slots, 1)
	slotNS := max(int64(w)/int64(slots), 1)
	win := &window{
		span:   slotNS * int64(slots),
		slotNS: slotNS,
		slots:  make([]windowSlot, slots),
	}
	for i := range win.slots {
		win.slots[i].epoch.Store(math.MinInt64)
	}
	return win
}

// recordWait records that a task at level lvl waited d in the queue.
func (w *window) recordWait(now int64, lvl int, d time.Duration) {
	if sl := w.slot(now); sl != nil {
		sl.hists.wait[lvl].record(d)
	}
	w.cum.wait[lvl].record(d)
}

// recordRun records that a task at level lvl ran for d.
func (w *window) recordRun(now int64, lvl int, d time.Duration) {
	if sl := w.slot(now); sl != nil {
		sl.hists.run[lvl].record(d)
	}
	w.cum.run[lvl].record(d)
}

// addEvent counts one event of kind ev.
func (w *window) addEvent(now int64, ev windowEvent) {
	if sl := w.slot(now); sl != nil {
		sl.events[ev].Add(1)
	}
}

// slot returns the slot for time now, rotating it first if it still holds
// an older period. It returns nil if the slot already holds a newer period,
// that is if now is more than about W behind the latest record.
func (w *window) slot(now int64) *windowSlot {
	period := max(now, 0) / w.slotNS
	epoch := period * w.slotNS
	sl := &w.slots[period%int64(len(w.slots))]
	if sl.epoch.Load() == epoch || w.rotate(sl, epoch) {
		return sl
	}
	return nil
}

// rotate moves sl to the period starting at epoch unless it is already
// there or beyond, and reports whether sl now holds that period. The epoch is
// stored after clearing, so records of the new period that arrive meanwhile
// miss the fast path and wait on rotateMu instead of landing in data that is
// about to be cleared.
func (w *window) rotate(sl *windowSlot, epoch int64) bool {
	w.rotateMu.Lock()
	defer w.rotateMu.Unlock()

	switch cur := sl.epoch.Load(); {
	case cur == epoch: // another record rotated it first
		return true
	case cur > epoch:
		return false
	}
	sl.clear()
	sl.epoch.Store(epoch)
	return true
}

// snapshot returns the sums of the slots whose period started within
// (now-W, now]. It is about 70 KiB; callers keep it briefly.
func (w *window) snapshot(now int64) windowSnapshot {
	var s windowSnapshot
	for i := range w.slots {
		sl := &w.slots[i]
		if e := sl.epoch.Load(); e <= now-w.span || e > now {
			continue
		}
		s.succeeded += sl.events[evSucceeded].Load()
		s.failed += sl.events[evFailed].Load()
		s.panicked += sl.events[evPanicked].Load()
		s.accepted += sl.events[evAccepted].Load()
		s.refused += sl.events[evRefused].Load()
		s.levelSnaps.add(&sl.hists)
	}
	return s
}

// windowCounts is the event part of a windowSnapshot, without histograms.
type windowCounts struct {
	succeeded, failed, panicked uint64
	accepted, refused           uint64
}

// counts sums the events of the slots within (now-W, now]; unlike snapshot
// it leaves the histograms alone, so Health stays cheap.
func (w *window) counts(now int64) windowCounts {
	var c windowCounts
	for i := range w.slots {
		sl := &w.slots[i]
		if e := sl.epoch.Load(); e <= now-w.span || e > now {
			continue
		}
		c.succeeded += sl.events[evSucceeded].Load()
		c.failed += sl.events[evFailed].Load()
		c.panicked += sl.events[evPanicked].Load()
		c.accepted += sl.events[evAccepted].Load()
		c.refused += sl.events[evRefused].Load()
	}
	return c
}
