#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/ab_cpu.sh — msgscope's CPU at a fixed NATS or HTTP rate, two or
# more builds interleaved: the way to tell whether a userspace change helps
# live, where cache misses count and the host's noise is larger than most
# single changes (the same binary gave 23-30% in one hour, 26-39% the next).
#
#   bench/ab_cpu.sh [--http] [--rounds N] [--rate R] [--size B] [--secs S]
#                   [--pid] [--top] BIN_A BIN_B [BIN...]
#
# Each round runs every BIN once, in order, on the same load: one libnats
# publisher at R msgs/s (default 100000) of B bytes (256) for S seconds
# (10), one subscriber, a nats-server on 127.0.0.1; with --http instead,
# bench/http_rate at R requests/s (default 30000) over 32 keep-alive
# connections to nginx serving 100 bytes (bench/lib.sh's nginx_site).
# `BIN trace -o /dev/null` runs system-wide (--pid: -p on the clients),
# started after the clients are connected (--top: `BIN top -b -d 1`
# instead, its frames to /dev/null). msgscope's CPU is its
# utime + stime over the load, as % of one core. Prints each round and the
# medians (default 6 rounds). A BIN may be a script that execs msgscope
# with a setting in its environment, to A/B one switch in one build.
# Needs root, and nats-server with libnats (-lnats), or nginx.

set -u -o pipefail
BENCH_DIR=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
ROUNDS=6 RATE="" SIZE=256 SECS=10 PIDMODE=0 TOP=0 HTTP=0
while [ $# -gt 0 ]; do
	case "$1" in
	--http) HTTP=1 ;;
	--rounds) ROUNDS=$2; shift ;;
	--rate) RATE=$2; shift ;;
	--size) SIZE=$2; shift ;;
	--secs) SECS=$2; shift ;;
	--pid) PIDMODE=1 ;;
	--top) TOP=1 ;;
	-h|--help) sed -n '4,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "ab_cpu.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
# require_bins, wait_line, cpu_ticks, probe_attached, nginx_site, nginx_start
. "$BENCH_DIR/lib.sh"
require_bins ab_cpu.sh "$@"
if [ "$HTTP" = 1 ]; then
	RATE=${RATE:-30000}
	command -v nginx >/dev/null || { echo "ab_cpu.sh: no nginx" >&2; exit 1; }
else
	RATE=${RATE:-100000}
	command -v nats-server >/dev/null || { echo "ab_cpu.sh: no nats-server" >&2; exit 1; }
fi

WORK=$(mktemp -d /tmp/msgscope-abcpu.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(( 20000 + RANDOM % 20000 ))
if [ "$HTTP" = 1 ]; then
	gcc -O2 -std=gnu11 -o "$WORK/http_rate" "$BENCH_DIR/http_rate.c" ||
		{ echo "ab_cpu.sh: cannot build http_rate" >&2; exit 1; }
	nginx_site "$WORK/nginx" "$PORT"
	chmod -R a+rX "$WORK"
	URL=http://127.0.0.1:$PORT/small
	nginx_start "$(command -v nginx)" "$WORK/nginx" "$URL"
	up=$?
	PIDS+=("$NGINX_PID")
	[ $up = 0 ] || { echo "ab_cpu.sh: nginx did not come up" >&2; exit 1; }
else
	gcc -O2 -std=gnu11 -o "$WORK/nats_bench" "$BENCH_DIR/nats_bench.c" -lnats -lpthread ||
		{ echo "ab_cpu.sh: cannot build nats_bench (libnats-dev?)" >&2; exit 1; }
	nats-server -a 127.0.0.1 -p "$PORT" >"$WORK/nats.log" 2>&1 &
	PIDS+=($!)
	URL=nats://127.0.0.1:$PORT
	sleep 0.5
fi

# top says nothing when it is ready: its syscall probe attached, then
# the rest of its probes a moment later (as run.sh waits for it)
top_ready() {
	local i
	for i in $(seq 1 600); do
		kill -0 "$1" 2>/dev/null || return 1
		probe_attached "$1" && { sleep 0.5; return 0; }
		sleep 0.05
	done
	return 1
}

# Start the load's clients, connected and waiting: GO is the one to send
# SIGUSR1 to, LOAD the pids to wait for. Returns 1 when one did not start.
start_clients() {
	: >"$WORK/sub.out"; : >"$WORK/pub.out"
	if [ "$HTTP" = 1 ]; then
		"$WORK/http_rate" -r "$RATE" -c 32 -d "$SECS" -w "$URL" >"$WORK/pub.out" 2>&1 &
		GO=$!; LOAD="$GO"
		wait_line "$WORK/pub.out" READY 10 || { kill $GO; return 1; }
		return 0
	fi
	"$WORK/nats_bench" sub -s "$URL" -S ab.cpu -n "$SIZE" -t $(( SECS + 30 )) >"$WORK/sub.out" 2>&1 &
	LOAD=$!
	wait_line "$WORK/sub.out" READY 10 || { kill $LOAD; return 1; }
	"$WORK/nats_bench" pub -s "$URL" -S ab.cpu -n "$SIZE" -r "$RATE" -d "$SECS" -w >"$WORK/pub.out" 2>&1 &
	GO=$!; LOAD="$GO $LOAD"
	wait_line "$WORK/pub.out" READY 10 || { kill $LOAD; return 1; }
}

# one_run BIN -> prints "CPU% DROPS" (or "fail")
one_run() {
	local bin=$1 ms t0 t1 c0 c1 drops scope=() GO LOAD
	: >"$WORK/ms.err"
	start_clients || { echo fail; return; }
	[ "$PIDMODE" = 1 ] && scope=(-p "${LOAD// /,}")
	if [ "$TOP" = 1 ]; then
		"$bin" top -b -d 1 "${scope[@]}" >/dev/null 2>"$WORK/ms.err" &
		ms=$!
		top_ready $ms || { kill $LOAD $ms; echo fail; return; }
	else
		"$bin" trace -o /dev/null "${scope[@]}" 2>"$WORK/ms.err" &
		ms=$!
		wait_line "$WORK/ms.err" "msgscope: tracing" 60 || { kill $LOAD $ms; echo fail; return; }
	fi
	c0=$(cpu_ticks $ms); t0=$(date +%s.%N)
	kill -USR1 $GO
	for p in $LOAD; do wait $p; done
	c1=$(cpu_ticks $ms); t1=$(date +%s.%N)
	kill -INT $ms; wait $ms
	drops=$(grep -o 'total [0-9]*' "$WORK/ms.err" | tail -1 | grep -o '[0-9]*')
	python3 -c "print('%.1f' % (100.0 * ($c1 - $c0) / $(getconf CLK_TCK) / ($t1 - $t0)), end=' ')"
	echo "${drops:-0}"
}

declare -A CPU
printf '%-6s' round
for b in "$@"; do printf ' %18s' "$(basename "$b")"; done
echo
for r in $(seq 1 "$ROUNDS"); do
	printf '%-6s' "$r"
	for b in "$@"; do
		read -r cpu drops <<<"$(one_run "$b")"
		[ "$cpu" = fail ] && { printf ' %18s' fail; continue; }
		CPU[$b]="${CPU[$b]:-} $cpu"
		printf ' %18s' "$cpu% ($drops drops)"
	done
	echo
done
printf '%-6s' median
for b in "$@"; do
	printf ' %18s' "$(python3 -c "import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print('%.1f%%' % statistics.median(v) if v else '-')" ${CPU[$b]:-})"
done
echo
