package main

import (
	"fmt"
	"io"
	"time"

	"github.com/example/workerpool"
)

// progress redraws a one-line progress report on w every interval until the
// returned stop function is called. Stop waits for the drawing goroutine to
// exit and clears the line, so that nothing else writes to w at the same time.
func (h *hasher) progress(w io.Writer, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\x1b[K")
				return
			case <-t.C:
				fmt.Fprintf(w, "\r%s\x1b[K", h.progressLine())
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// progressLine is the text of the progress report: files and bytes done,
// and the rate so far.
func (h *hasher) progressLine() string {
	files, bytes := h.files.Load(), h.bytes.Load()
	return fmt.Sprintf("%d/%d files, %s, %.1f MB/s",
		files, h.submitted.Load(), megabytes(bytes), rate(bytes, time.Since(h.start)))
}

// summary prints the closing report: totals, workers, the pool's counters,
// and per priority the files and the mean wait from submit to start.
func (h *hasher) summary(w io.Writer, c config, sum totals, s workerpool.Stats) {
	bytes := h.bytes.Load()
	fmt.Fprintf(w, "checksum: %d files hashed, %d failed, %d bytes (%s) in %v, %.1f MB/s\n",
		sum.hashed, sum.failed, bytes, megabytes(bytes), sum.elapsed.Round(time.Millisecond),
		rate(bytes, sum.elapsed))
	fmt.Fprintf(w, "workers: %d used at most (min %d, max %d), queue %d\n",
		h.maxWorkers.Load(), c.minWorkers, c.maxWorkers, c.queue)
	fmt.Fprintf(w, "pool: submitted %d, succeeded %d, failed %d, panicked %d, "+
		"canceled %d, dropped %d, rejected %d, bytes %d, success %.2f%%\n",
		s.Submitted, s.Succeeded, s.Failed, s.Panicked,
		s.Canceled, s.Dropped, s.Rejected, s.BytesProcessed, s.SuccessRate)
	fmt.Fprintf(w, "priority high   (< 64 KiB): %s\n", h.high.String())
	fmt.Fprintf(w, "priority normal (>= 64 KiB): %s\n", h.normal.String())
}

// totals are the figures of a finished run.
type totals struct {
	hashed, failed int
	elapsed        time.Duration
}

// String reports the files started at one priority and their mean wait.
func (ps *prioStats) String() string {
	n := ps.files.Load()
	if n == 0 {
		return "0 files"
	}
	mean := time.Duration(ps.waitNanos.Load() / n)
	return fmt.Sprintf("%d files, mean submit->start %v", n, mean.Round(time.Microsecond))
}

// megabytes formats n bytes in decimal megabytes.
func megabytes(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// rate returns n bytes over d in decimal megabytes per second.
func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / 1e6 / d.Seconds()
}
