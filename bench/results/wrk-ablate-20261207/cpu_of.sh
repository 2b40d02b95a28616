#!/usr/bin/env bash
# ad-hoc: cpu_of.sh CMD...: for each CMD in turn ("binary [trace options]"),
# `binary trace [options] -o /dev/null` system-wide during an 8 s
# wrk -t1 -c32 run against nginx; prints its CPU (utime + stime, ticks of
# 10 ms), its threads' voluntary and involuntary context switches a
# second, CPU ns per request and wrk's req/s.
set -u
ME=$(basename "$0")
REPO=$(cd "$(dirname "$(readlink -f "$0")")/../../.." && pwd)
. "$REPO/bench/lib.sh"
nginx_scratch
MSPID=""
switches() { cat /proc/"$1"/task/*/status | awk -v k="$2" '$1 == k":" { s += $2 } END { print s }'; }
for c in "$@"; do
	read -r -a cmd <<<"$c"
	MS=${cmd[0]}
	tracer_start "${cmd[@]:1}"
	sleep 0.7 # (with tracer_start's 0.3: 1 s for the load to settle)
	t0=$(cpu_ticks "$MSPID") v0=$(switches "$MSPID" voluntary_ctxt_switches) i0=$(switches "$MSPID" nonvoluntary_ctxt_switches)
	out=$(wrk -t1 -c32 -d8s "$URL")
	t1=$(cpu_ticks "$MSPID") v1=$(switches "$MSPID" voluntary_ctxt_switches) i1=$(switches "$MSPID" nonvoluntary_ctxt_switches)
	tracer_stop
	n=$(awk '/requests in/ { print $1 }' <<<"$out")
	echo "$c: ticks $((t1 - t0)) vol/s $(((v1 - v0) / 8)) invol/s $(((i1 - i0) / 8))" \
		"ns/req $(((t1 - t0) * 10000000 / n)) req/s $(awk '/Requests\/sec/ { print $2 }' <<<"$out")"
done
