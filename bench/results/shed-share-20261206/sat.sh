#!/usr/bin/env bash
set -u
. /work/main/bench/lib.sh
W=/tmp/shedshare; mkdir -p $W
PORT=$((20000+RANDOM%20000)); URL=nats://127.0.0.1:$PORT
nats-server -a 127.0.0.1 -p $PORT >$W/nats.log 2>&1 & NS=$!
trap 'kill $NS 2>/dev/null' EXIT
sleep 0.5
for B in "$@"; do
  $W/nb sub -s $URL -S d.x -n 256 -t 40 >$W/sub.out 2>&1 & sp=$!
  wait_line $W/sub.out READY 10
  $W/nb pub -s $URL -S d.x -n 256 -r 0 -d 10 -w >$W/pub.out 2>&1 & pp=$!
  wait_line $W/pub.out READY 10
  $B trace -o $W/sat.jsonl 2>$W/ms.err & ms=$!
  wait_line $W/ms.err "msgscope: tracing" 60
  kill -USR1 $pp; wait $pp; wait $sp
  kill -INT $ms; wait $ms
  echo "$(basename $B) rate=$(tail -1 $W/sub.out | grep -o '"msgs_per_s":[0-9.]*') $(tail -1 $W/sat.jsonl | python3 -c 'import json,sys; e=json.load(sys.stdin); print({k:e.get(k) for k in ("records","drops","boosts","futile_boosts","sheds","shed_ms")})')"
done
