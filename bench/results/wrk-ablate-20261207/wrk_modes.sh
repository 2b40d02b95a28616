#!/usr/bin/env bash
# ad-hoc: wrk -t1 -c32 against nginx (bench/lib.sh's site, 100 bytes,
# keep-alive), modes interleaved per round; prints "ROUND MODE REQ/S P50 P99"
# (the format of ../wrk-split-20261206/wrk_ana.py). Mode U is untraced; any
# other mode X runs the command in $MS_X ("binary [trace options]") as
# `$MS_X -o /dev/null`, e.g.
#   MS_T="build/msgscope trace" MS_D="/tmp/drain trace" MODES="U D T" wrk_modes.sh
# ROUNDS (8), SECS (8), MODES ("U T").
set -u
REPO=$(cd "$(dirname "$(readlink -f "$0")")/../../.." && pwd)
. "$REPO/bench/lib.sh"
ROUNDS=${ROUNDS:-8} SECS=${SECS:-8} MODES=${MODES:-"U T"}
nginx_scratch
for r in $(seq "$ROUNDS"); do
	for m in $MODES; do
		MSPID=""
		if [ "$m" != U ]; then
			var=MS_$m
			# shellcheck disable=SC2086 # the command and its options
			${!var:?set $var} -o /dev/null 2>"$W/ms.err" & MSPID=$!
			for _ in $(seq 100); do grep -q 'msgscope: tracing' "$W/ms.err" && break; sleep 0.1; done
			sleep 1
		fi
		out=$(wrk -t1 -c32 -d"${SECS}s" --latency "$URL")
		[ -n "$MSPID" ] && { kill -INT "$MSPID"; wait "$MSPID" 2>/dev/null; }
		echo "$r $m $(awk '/Requests\/sec/ { print $2 }' <<<"$out")" \
			"$(awk '$1 == "50%" { print $2 }' <<<"$out")" "$(awk '$1 == "99%" { print $2 }' <<<"$out")"
	done
done
