//go:build race

package workerpool_test

// Task counts of the real-time scenario and stress tests under the race
// detector; norace_test.go holds the full counts.
//
// Scenario 8 is cut from a million tasks to 100,000: with 100 workers the
// race detector makes every hand-off cost 20 to 30 µs on an idle 2-core
// machine, and 60 µs or more on a loaded one (against about 2 µs without
// it), its vector clocks growing with the number of goroutines, so a
// million tasks took 20 to 30 s. The full million runs in every test run
// without -race.
const (
	scnStatsLoad   = 10_000  // tasks per producer in scenario 6
	scnMillion     = 100_000 // tasks of scenario 8
	scnStressTasks = 1_000   // tasks per submitter in the stress tests
)
