#!/usr/bin/env bash
# ad-hoc: when msgscope boosts and starts to shed under NATS 256 B
# saturation (N runs, default 3): its stderr lines, stamped with the seconds
# since the load began (polled, so late by up to the poll), and t0 (wall
# clock mod 1000) for the DBG lines of a build with debug-prints.patch,
# which carry their own time. B: the msgscope binary.
REPO=$(cd "$(dirname "$(readlink -f "$0")")/../../.." && pwd)
. "$REPO/bench/lib.sh"
B=${B:-$REPO/build/msgscope}
gcc -O2 -o /tmp/nb "$REPO/bench/nats_bench.c" -lnats -lpthread || exit 1
W=$(mktemp -d); PORT=$((20000+RANDOM%20000)); URL=nats://127.0.0.1:$PORT
nats-server -a 127.0.0.1 -p $PORT >$W/nats.log 2>&1 & NS=$!
trap 'kill $NS 2>/dev/null; rm -rf $W' EXIT
sleep 0.5
for i in $(seq ${N:-3}); do
  /tmp/nb sub -s $URL -S d.x -n 256 -t 40 >$W/sub.out 2>&1 & sp=$!
  wait_line $W/sub.out READY 10
  $B trace -o /dev/null 2>$W/ms.err & ms=$!
  wait_line $W/ms.err "msgscope: tracing" 60; sleep 1
  t0=$(date +%s.%N); python3 -c "print(\"t0\", $t0 % 1000)"
  python3 -c '
import sys,time,os
t0=float(sys.argv[1]); f=open(sys.argv[2]); seen=0
end=time.time()+7
while time.time()<end:
    l=f.readline()
    if l: print("%.2f %s"%(time.time()-t0,l.strip()[:90])); continue
    time.sleep(0.01)
' $t0 $W/ms.err > $W/stamp & stp=$!
  /tmp/nb pub -s $URL -S d.x -n 256 -r 0 -d 5 >$W/pub.out 2>&1
  wait $sp; wait $stp
  kill -INT $ms; wait $ms
  echo "run $i: $(grep -o '"msgs_per_s":[0-9.]*' $W/pub.out)"; grep -v tracing $W/stamp
done
