#!/usr/bin/env bash
# ad-hoc: cpu_of.sh CMD...: for each CMD in turn ("binary [trace options]"),
# `CMD -o /dev/null` system-wide during an 8 s wrk -t1 -c32 run against
# nginx; prints its CPU (utime + stime, ticks of 10 ms), its threads'
# voluntary and involuntary context switches a second, CPU ns per request
# and wrk's req/s.
set -u
REPO=$(cd "$(dirname "$(readlink -f "$0")")/../../.." && pwd)
. "$REPO/bench/lib.sh"
nginx_scratch
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
switches() { cat /proc/"$1"/task/*/status | awk -v k="$2" '$1 == k":" { s += $2 } END { print s }'; }
for cmd in "$@"; do
	# shellcheck disable=SC2086 # the command and its options
	$cmd -o /dev/null 2>"$W/ms.err" & MSPID=$!
	for _ in $(seq 100); do grep -q 'msgscope: tracing' "$W/ms.err" && break; sleep 0.1; done
	sleep 1
	t0=$(ticks $MSPID) v0=$(switches $MSPID voluntary_ctxt_switches) i0=$(switches $MSPID nonvoluntary_ctxt_switches)
	out=$(wrk -t1 -c32 -d8s "$URL")
	t1=$(ticks $MSPID) v1=$(switches $MSPID voluntary_ctxt_switches) i1=$(switches $MSPID nonvoluntary_ctxt_switches)
	kill -INT $MSPID; wait $MSPID 2>/dev/null
	n=$(awk '/requests in/ { print $1 }' <<<"$out")
	echo "$cmd: ticks $((t1 - t0)) vol/s $(((v1 - v0) / 8)) invol/s $(((i1 - i0) / 8))" \
		"ns/req $(((t1 - t0) * 10000000 / n)) req/s $(awk '/Requests\/sec/ { print $2 }' <<<"$out")"
done
