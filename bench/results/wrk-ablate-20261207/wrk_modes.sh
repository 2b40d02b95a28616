#!/usr/bin/env bash
# ad-hoc: wrk -t1 -c32 against nginx (bench/lib.sh's site, 100 bytes,
# keep-alive), modes interleaved per round; prints "ROUND MODE REQ/S P50 P99"
# (the format of ../wrk-split-20261206/wrk_ana.py). Mode U is untraced; any
# other mode X runs $MS_X ("binary [trace options]") as
# `binary trace [options] -o /dev/null`, e.g.
#   MS_T=build/msgscope MS_D="/tmp/drain -b 1" MODES="U D T" wrk_modes.sh
# ROUNDS (8), SECS (8), MODES ("U T").
set -u
ME=$(basename "$0")
REPO=$(cd "$(dirname "$(readlink -f "$0")")/../../.." && pwd)
. "$REPO/bench/lib.sh"
ROUNDS=${ROUNDS:-8} SECS=${SECS:-8} MODES=${MODES:-"U T"}
nginx_scratch
MSPID=""
for r in $(seq "$ROUNDS"); do
	for m in $MODES; do
		if [ "$m" != U ]; then
			var=MS_$m
			read -r -a cmd <<<"${!var:?set $var}"
			MS=${cmd[0]}
			tracer_start "${cmd[@]:1}"
			sleep 0.7 # (with tracer_start's 0.3: 1 s for the load to settle)
		fi
		out=$(wrk -t1 -c32 -d"${SECS}s" --latency "$URL")
		[ -n "$MSPID" ] && tracer_stop
		echo "$r $m $(awk '/Requests\/sec/ { print $2 }' <<<"$out")" \
			"$(awk '$1 == "50%" { print $2 }' <<<"$out")" "$(awk '$1 == "99%" { print $2 }' <<<"$out")"
	done
done
