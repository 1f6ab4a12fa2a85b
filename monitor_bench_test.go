package workerpool

import (
	"testing"
	"time"
)

// BenchmarkRecordTask is the cost the monitor adds to one task: its wait and
// run latencies and its outcome.
func BenchmarkRecordTask(b *testing.B) {
	m := monitor{win: newWindow(time.Minute, 6)}
	t := &Task{taskConfig: taskConfig{prio: PriorityHigh}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		now := int64(i) * 1000
		t.submit, t.started = now-500, now
		m.started(t)
		m.ran(now+300, t, OutcomeSucceeded, 300)
	}
}
