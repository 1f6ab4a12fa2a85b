#!/usr/bin/env bash
# run.sh quick|full runs the benchmark workloads W1-W4 of this module, writes
# the raw `go test -bench` output to results/bench.txt (benchstat reads it),
# and renders results.md and chart.png from it with ./cmd/report.
#
#   quick: every benchmark once (-count=1); under 10 minutes on 2 cores.
#   full:  every benchmark 6 times (-count=6), for benchstat; about 45 minutes on 2 cores.
#
# run.sh w5 [loadgen flags] runs W5: it builds examples/httpserver and starts
# it on a free port of 127.0.0.1 (W5_SERVER_ARGS adds server flags), runs
# ./cmd/loadgen against it (64 clients for 20 s unless the flags say
# otherwise), then stops the server with SIGTERM and checks that it exits 0.
# It writes the Markdown table to results/w5.md and benchstat lines to
# results/w5.txt.
set -euo pipefail

usage() {
	echo "usage: $0 quick|full" >&2
	echo "       $0 w5 [loadgen flags]" >&2
	exit 2
}

# w5 [loadgen flags] runs W5 against a server of its own and exits.
w5() {
	mkdir -p results
	echo "== W5: building examples/httpserver and cmd/loadgen" >&2
	(cd .. && go build -o benchmarks/results/httpserver ./examples/httpserver)
	go build -o results/loadgen ./cmd/loadgen

	local log=results/w5-server.log sargs=() addr="" rc=0 src=0
	read -r -a sargs <<<"${W5_SERVER_ARGS:-}"
	results/httpserver -addr 127.0.0.1:0 "${sargs[@]}" 2>"$log" &
	w5_pid=$!
	trap 'kill "$w5_pid" 2>/dev/null || true' EXIT
	# The server prints its address once it listens; give it 10 s.
	for _ in $(seq 100); do
		addr=$(sed -n 's|^httpserver: listening on http://||p' "$log")
		[[ -n $addr ]] && break
		if ! kill -0 "$w5_pid" 2>/dev/null; then
			cat "$log" >&2
			echo "w5: the server exited before listening" >&2
			exit 1
		fi
		sleep 0.1
	done
	if [[ -z $addr ]]; then
		cat "$log" >&2
		echo "w5: the server is not listening after 10 s" >&2
		exit 1
	fi

	echo "== W5: server on $addr (pid $w5_pid) ${W5_SERVER_ARGS:-}" >&2
	results/loadgen -url "http://$addr" -bench results/w5.txt "$@" | tee results/w5.md ||
		rc=$?
	kill -TERM "$w5_pid"
	wait "$w5_pid" || src=$?
	trap - EXIT
	cat "$log" >&2
	if [[ $src -ne 0 ]]; then
		echo "w5: the server exited $src after SIGTERM, want 0" >&2
		exit 1
	fi
	echo "w5: the server exited 0 after SIGTERM" >&2
	if [[ $rc -ne 0 ]]; then
		echo "w5: loadgen failed (exit $rc)" >&2
		exit "$rc"
	fi
	echo "Markdown table: $(pwd)/results/w5.md; benchstat lines: $(pwd)/results/w5.txt" >&2
	exit 0
}

[[ $# -ge 1 ]] || usage
cd "$(dirname "$0")"
case "$1" in
quick) count=1 ;;
full) count=6 ;;
w5)
	shift
	w5 "$@"
	;;
*) usage ;;
esac
[[ $# -eq 1 ]] || usage

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
