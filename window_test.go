package workerpool

import (
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// winAt converts a duration since the window's base time to its now.
func winAt(d time.Duration) int64 { return int64(d) }

func TestWindowSize(t *testing.T) {
	t.Parallel()
	w := newWindow(time.Minute, 6)
	hist := unsafe.Sizeof(histogram{})
	slot := unsafe.Sizeof(windowSlot{})
	total := unsafe.Sizeof(*w) + uintptr(len(w.slots))*slot
	assert.Equal(t, uintptr(8736), hist, "bytes per histogram")
	assert.Equal(t, uintptr(69936), slot, "bytes per slot")
	assert.Less(t, total, uintptr(1<<20), "bytes per window of 6 slots")
	t.Logf("histogram %d B, slot %d B, window %d B (%.1f KiB)",
		hist, slot, total, float64(total)/1024)
}

func TestNewWindowClamps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		w          time.Duration
		slots      int
		span, slot int64
		n          int
	}{
		{time.Minute, 6, int64(time.Minute), int64(10 * time.Second), 6},
		{100, 3, 99, 33, 3},
		{0, 0, 1, 1, 1},
		{5, 10, 10, 1, 10},
	}
	for _, tt := range tests {
		w := newWindow(tt.w, tt.slots)
		assert.Equal(t, tt.span, w.span, "newWindow(%v, %d).span", tt.w, tt.slots)
		assert.Equal(t, tt.slot, w.slotNS, "newWindow(%v, %d).slotNS", tt.w, tt.slots)
		assert.Len(t, w.slots, tt.n, "newWindow(%v, %d).slots", tt.w, tt.slots)
	}
}

func TestWindowRecordsLandInTheirSlot(t *testing.T) {
	t.Parallel()
	w := newWindow(time.Minute, 6)
	w.addEvent(winAt(0), evAccepted)
	w.addEvent(winAt(10*time.Second+1), evSucceeded)
	w.recordRun(winAt(25*time.Second), 2, time.Millisecond)
	w.recordWait(winAt(59*time.Second), 3, time.Microsecond)

	assert.Equal(t, int64(0), w.slots[0].epoch.Load())
	assert.Equal(t, uint64(1), w.slots[0].events[evAccepted].Load())
	assert.Equal(t, int64(10*time.Second), w.slots[1].epoch.Load())
	assert.Equal(t, uint64(1), w.slots[1].events[evSucceeded].Load())
	assert.Equal(t, int64(20*time.Second), w.slots[2].epoch.Load())
	assert.Equal(t, uint64(1), w.slots[2].hists.run[2].n.Load())
	assert.Equal(t, int64(50*time.Second), w.slots[5].epoch.Load())
	assert.Equal(t, uint64(1), w.slots[5].hists.wait[3].n.Load())
	for _, i := range []int{3, 4} {
		assert.Equal(t, int64(math.MinInt64), w.slots[i].epoch.Load(), "slot %d unused", i)
	}
}

func TestWindowSnapshotCounts(t *testing.T) {
	t.Parallel()
	w := newWindow(time.Minute, 6)
	now := winAt(5 * time.Second)
	want := map[windowEvent]uint64{
		evSucceeded: 7, evFailed: 3, evPanicked: 1, evAccepted: 11, evRefused: 2,
	}
	for ev, n := range want {
		for range n {
			w.addEvent(now, ev)
		}
	}
	for lvl := range numLevels {
		for i := range lvl + 1 {
			w.recordWait(now, lvl, time.Duration(i+1)*time.Millisecond)
			w.recordRun(now, lvl, time.Duration(i+1)*time.Second)
		}
	}

	s := w.snapshot(now)
	assert.Equal(t, want[evSucceeded], s.succeeded)
	assert.Equal(t, want[evFailed], s.failed)
	assert.Equal(t, want[evPanicked], s.panicked)
	assert.Equal(t, want[evAccepted], s.accepted)
	assert.Equal(t, want[evRefused], s.refused)
	for lvl := range numLevels {
		assert.Equal(t, uint64(lvl+1), s.wait[lvl].n, "wait count of level %d", lvl)
		assert.Equal(t, time.Duration(lvl+1)*time.Second, s.run[lvl].summary().Max)
	}
	all := mergeLevels(&s.run)
	assert.Equal(t, uint64(10), all.n, "overall count is the sum of the levels")
	assert.Equal(t, 4*time.Second, all.summary().Max)
}

func TestWindowExpires(t *testing.T) {
	t.Parallel()
	w := newWindow(time.Minute, 6)
	w.addEvent(winAt(0), evAccepted)
	w.recordRun(winAt(0), 1, time.Second)

	s := w.snapshot(winAt(time.Minute - 1))
	assert.Equal(t, uint64(1), s.accepted, "still within W")
	assert.Equal(t, uint64(1), s.run[1].n)

	s = w.snapshot(winAt(time.Minute))
	assert.Equal(t, windowSnapshot{}, s, "empty once W has passed")

	assert.Equal(t, uint64(1), w.cum.run[1].n.Load(), "cumulative histograms never expire")
}

func TestWindowRollsOver(t *testing.T) {
	t.Parallel()
	w := newWindow(time.Minute, 6)
	// One event every 10 s for 2 minutes: the ring of 6 turns twice.
	for sec := 0; sec < 120; sec += 10 {
		w.addEvent(winAt(time.Duration(sec)*time.Second), evSucceeded)
		w.recordWait(winAt(time.Duration(sec)*time.Second), 0, time.Duration(sec)*time.Second)
	}
	// The slots now hold the periods starting at 60, 70, ..., 110 s; a
	// snapshot at t counts those starting within (t-60s, t].
	tests := []struct {
		at   time.Duration
		want uint64
	}{
		{-time.Second, 0},
		{59 * time.Second, 0},  // 0..50 s were rotated out
		{60 * time.Second, 1},  // 60 s
		{75 * time.Second, 2},  // 60, 70 s
		{105 * time.Second, 5}, // 60..100 s; the 110 s slot is ahead
		{115 * time.Second, 6}, // 60..110 s
		{120 * time.Second, 5}, // 70..110 s: 60 s is no longer after 120-60
		{169*time.Second + 1, 1},
		{170 * time.Second, 0},
		{500 * time.Second, 0}, // long idle: nothing cleared, all skipped
	}
	for _, tt := range tests {
		s := w.snapshot(winAt(tt.at))
		assert.Equal(t, tt.want, s.succeeded, "snapshot at %v", tt.at)
		assert.Equal(t, tt.want, s.wait[0].n, "wait count at %v", tt.at)
	}
	s := w.snapshot(winAt(115 * time.Second))
	assert.Equal(t, 110*time.Second, s.wait[0].summary().Max, "newest slot")
	assert.Equal(t, uint64(12), w.cum.wait[0].n.Load())
}

func TestWindowDropsRecordsOlderThanTheirSlot(t *testing.T) {
	t.Parallel()
	w := newWindow(time.Minute, 6)
	w.addEvent(winAt(70*time.Second), evFailed) // slot 1 now holds 70 s
	w.addEvent(winAt(10*time.Second), evFailed) // slot 1's old period: dropped
	w.recordRun(winAt(10*time.Second), 0, time.Second)

	s := w.snapshot(winAt(70 * time.Second))
	assert.Equal(t, uint64(1), s.failed)
	assert.Zero(t, s.run[0].n)
	assert.Equal(t, uint64(1), w.cum.run[0].n.Load(), "cumulative keeps it")
}

func TestWindowConcurrentRecord(t *testing.T) {
	t.Parallel()
	const goroutines, perG = 8, 5000
	w := newWindow(time.Minute, 6)
	now := winAt(30 * time.Second) // one slot, so no rotation races
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				w.addEvent(now, windowEvent(i%int(numEvents)))
				w.recordWait(now, g%numLevels, time.Duration(i))
				w.recordRun(now, g%numLevels, time.Duration(i))
			}
		})
	}
	wg.Wait()

	s := w.snapshot(now)
	const perEvent = goroutines * perG / int(numEvents)
	for _, got := range []uint64{s.succeeded, s.failed, s.panicked, s.accepted, s.refused} {
		assert.Equal(t, uint64(perEvent), got)
	}
	wait, run := mergeLevels(&s.wait), mergeLevels(&s.run)
	assert.Equal(t, uint64(goroutines*perG), wait.n)
	assert.Equal(t, uint64(goroutines*perG), run.n)
	assert.Equal(t, uint64(goroutines*perG/numLevels), s.run[3].n)
}

func TestWindowConcurrentRotation(t *testing.T) {
	t.Parallel()
	// Goroutines sweep the clock through many rotations at once. Counts near
	// rotations are approximate by design; this checks the race detector and
	// that nothing outside the window survives.
	w := newWindow(time.Millisecond, 4)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 20000 {
				now := int64(i) * 1000 // 1 µs steps: 250 per slot period
				w.addEvent(now, evAccepted)
				w.recordRun(now, 1, time.Duration(i))
			}
		})
	}
	wg.Wait()

	end := int64(20000 * 1000)
	s := w.snapshot(end)
	assert.LessOrEqual(t, s.accepted, uint64(8*1000), "at most W of events")
	assert.LessOrEqual(t, s.run[1].n, uint64(8*1000))
	assert.Equal(t, uint64(8*20000), w.cum.run[1].n.Load())
}

func TestWindowSynctest(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		w := newWindow(time.Minute, 6)
		now := func() int64 { return int64(time.Since(base)) }

		w.addEvent(now(), evRefused)
		time.Sleep(30 * time.Second) // fake time: advances the bubble's clock
		w.addEvent(now(), evRefused)
		require.Equal(t, uint64(2), w.snapshot(now()).refused)

		time.Sleep(45 * time.Second)
		assert.Equal(t, uint64(1), w.snapshot(now()).refused, "the first expired")
	})
}

func BenchmarkWindowRecord(b *testing.B) {
	b.Run("addEvent", func(b *testing.B) {
		w := newWindow(time.Minute, 6)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			w.addEvent(1, evAccepted)
		}
	})
	b.Run("recordRun", func(b *testing.B) {
		w := newWindow(time.Minute, 6)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			w.recordRun(1, 1, time.Duration(i&0xfffff)*time.Microsecond)
		}
	})
	b.Run("recordRun/rotating", func(b *testing.B) {
		// The clock moves 1 µs per record; a slot of 10 ms rotates every
		// 10,000 records, so this includes the amortised rotation cost.
		w := newWindow(60*time.Millisecond, 6)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			w.recordRun(int64(i)*1000, 1, time.Duration(i&0xfffff)*time.Microsecond)
		}
	})
	b.Run("recordRun/parallel", func(b *testing.B) {
		w := newWindow(time.Minute, 6)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				w.recordRun(1, i&3, time.Duration(i&0xfffff)*time.Microsecond)
				i++
			}
		})
	})
}

func BenchmarkWindowSnapshot(b *testing.B) {
	w := newWindow(time.Minute, 6)
	for i := range 60 {
		w.recordRun(int64(i)*int64(time.Second), i&3, time.Duration(i)*time.Millisecond)
	}
	now := int64(59 * time.Second)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := w.snapshot(now)
		all := mergeLevels(&s.run)
		_ = all.summary()
	}
}
