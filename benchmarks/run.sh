#!/usr/bin/env bash
# run.sh quick|full runs the benchmark workloads W1-W4 of this module, writes
# the raw `go test -bench` output to results/bench.txt (benchstat reads it),
# and renders results.md and chart.png from it with ./cmd/report.
#
#   quick: every benchmark once (-count=1); under 10 minutes on 2 cores.
#   full:  every benchmark 6 times (-count=6), for benchstat; about 45 minutes on 2 cores.
set -euo pipefail

usage() {
	echo "usage: $0 quick|full" >&2
	exit 2
}

[[ $# -eq 1 ]] || usage
case "$1" in
quick) count=1 ;;
full) count=6 ;;
*) usage ;;
esac

cd "$(dirname "$0")"
mkdir -p results
out=results/bench.txt
: >"$out"

# bench NAME BENCHTIME runs one workload and appends its output to $out.
bench() {
	echo "== $1 (-benchtime=$2 -count=$count)" >&2
	go test -run '^$' -bench "^$1\$" -benchtime "$2" -count "$count" -timeout 3h . |
		tee -a "$out"
}

start=$SECONDS
# W1: one op is one task; 1,000,000 tasks per benchmark.
bench BenchmarkW1Throughput 1000000x
# W2-W4: one op is a whole run of the workload.
bench BenchmarkW2Shapes 1x
bench BenchmarkW3Priority 1x
bench BenchmarkW4WaitingMemory 1x

go run ./cmd/report -in "$out" -md results.md -chart chart.png

dir=$(pwd)
cat <<EOF

Done in $((SECONDS - start)) s ($1 run, -count=$count).
  raw output (benchstat): $dir/$out
  Markdown table:         $dir/results.md
  chart (W1 and W3):      $dir/chart.png
Compare two runs with: go run golang.org/x/perf/cmd/benchstat@latest old.txt $out
EOF
