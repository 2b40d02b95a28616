#!/bin/bash
# starve.sh RATE HOGS [msgscope trace args]: NATS 256 B at RATE msg/s
# (publisher and subscriber through nats-server, bench/nats_bench.c) for 8 s,
# traced system-wide, with HOGS busy loops (`yes >/dev/null`) started in
# this session, hence in msgscope's scheduling group (autogroup). Prints the
# trace's end line and its drops lines. MSBIN picks the binary.
set -u
RATE=$1; HOGS=$2; shift 2
MSBIN=${MSBIN:-/work/main/build/msgscope}
HERE=$(cd "$(dirname "$0")" && pwd)
D=$(mktemp -d /tmp/starve.XXXXXX)
[ -x /tmp/nats_bench ] || gcc -O2 -o /tmp/nats_bench "$HERE/../../nats_bench.c" -lnats -lpthread
NB=/tmp/nats_bench
nats-server -a 127.0.0.1 -p 4333 >"$D/ns.log" 2>&1 & NS=$!
sleep 0.5
"$NB" sub -s nats://127.0.0.1:4333 -S st.x -n 256 -t 30 >"$D/sub.out" 2>&1 & SUB=$!
"$NB" pub -s nats://127.0.0.1:4333 -S st.x -n 256 -r "$RATE" -d 8 -w >"$D/pub.out" 2>&1 & PUB=$!
sleep 1
"$MSBIN" trace -o "$D/t.jsonl" "$@" 2>"$D/ms.err" & MS=$!
sleep 1.5
H=(); for i in $(seq "$HOGS"); do (exec yes >/dev/null) & H+=($!); done
kill -USR1 $PUB
wait $PUB
kill "${H[@]}" 2>/dev/null
sleep 0.5; kill -INT $MS; wait $MS
kill $SUB $NS 2>/dev/null; wait 2>/dev/null
grep -E '"type":"(drops|end)"' "$D/t.jsonl" | cut -c1-420
tail -1 "$D/pub.out"
rm -rf "$D"
