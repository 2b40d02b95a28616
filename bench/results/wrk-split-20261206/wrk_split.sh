#!/usr/bin/env bash
# ad-hoc: wrk -t1 -c32 against nginx (bench/lib.sh's site, 100 bytes,
# keep-alive), modes interleaved per round. Prints "ROUND MODE REQ/S P50 P99".
#   U untraced
#   B untraced beside a SCHED_IDLE busy loop (python3)
#   T $MS trace -o /dev/null                (default: build/msgscope)
#   D $MS_DRAIN: a build whose ring reader calls nothing for a record
#     (userspace/ring_reader.c: `int rc = 0; (void)fn;` for the call of fn)
#   N $MS trace --nice 0
#   L $MS trace --nice 19
#   P $MS trace --ring-per-cpu
# ROUNDS (4), SECS (8), MODES ("U B D T").  wrk_ana.py FILE summarises.
set -u
REPO=$(cd "$(dirname "$(readlink -f "$0")")/../../.." && pwd)
. "$REPO/bench/lib.sh"
MS=${MS:-$REPO/build/msgscope}
ROUNDS=${ROUNDS:-4} SECS=${SECS:-8} MODES=${MODES:-"U B D T"}
nginx_scratch
start_ms() {
	"$@" -o /dev/null 2>"$WORK/ms.err" & MSPID=$!
	for _ in $(seq 100); do grep -q 'msgscope: tracing' "$WORK/ms.err" && break; sleep 0.1; done
	sleep 1
}
for r in $(seq "$ROUNDS"); do
	for m in $MODES; do
		MSPID="" BUSY=""
		case $m in
		B) chrt -i 0 python3 -c 'while True: pass' & BUSY=$!; sleep 0.5 ;;
		T) start_ms "$MS" trace ;;
		D) start_ms "${MS_DRAIN:?set MS_DRAIN}" trace ;;
		N) start_ms "$MS" trace --nice 0 ;;
		L) start_ms "$MS" trace --nice 19 ;;
		P) start_ms "$MS" trace --ring-per-cpu ;;
		esac
		out=$(wrk -t1 -c32 -d"${SECS}s" --latency "$URL")
		# (background jobs ignore SIGINT: the busy loop gets SIGTERM)
		[ -n "$BUSY" ] && { kill "$BUSY"; wait "$BUSY" 2>/dev/null; }
		[ -n "$MSPID" ] && { kill -INT "$MSPID"; wait "$MSPID" 2>/dev/null; }
		echo "$r $m $(awk '/Requests\/sec/ { print $2 }' <<<"$out")" \
			"$(awk '$1 == "50%" { print $2 }' <<<"$out")" "$(awk '$1 == "99%" { print $2 }' <<<"$out")"
	done
done
