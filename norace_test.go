//go:build !race

package workerpool_test

// Task counts of the real-time scenario and stress tests; race_test.go
// holds the counts used under the race detector.
const (
	scnStatsLoad   = 10_000    // tasks per producer in scenario 6
	scnMillion     = 1_000_000 // tasks of scenario 8
	scnStressTasks = 1_000     // tasks per submitter in the stress tests
)
