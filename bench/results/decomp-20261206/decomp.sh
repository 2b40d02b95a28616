#!/usr/bin/env bash
# ad-hoc: nats 256 unthrottled, modes interleaved: U untraced, T trace, S trace with reader SIGSTOPped,
# D reader stopped 90 ms of every 100 (duty.py), P trace --ring-per-cpu,
# I untraced beside a SCHED_IDLE busy loop (idlebusy.py, ON/OFF s), W = S + that loop,
# Q trace --buffer-size $QSIZE (MiB, default 4)
set -u
B=${B:-/work/main/build/msgscope}
SECS=${SECS:-5}; ROUNDS=${ROUNDS:-4}; MODES=${MODES:-"U T S"}
W=/tmp/dec/w; mkdir -p $W
gcc -O2 -o $W/nb /work/main/bench/nats_bench.c -lnats -lpthread || exit 1
PORT=$((20000+RANDOM%20000)); URL=nats://127.0.0.1:$PORT
nats-server -a 127.0.0.1 -p $PORT >$W/nats.log 2>&1 & NS=$!
trap 'kill $NS 2>/dev/null' EXIT
sleep 0.5
. /work/main/bench/lib.sh
run() { # mode
  local m=$1 ms=""
  $W/nb sub -s $URL -S d.x -n 256 -t $((SECS+30)) >$W/sub.out 2>&1 & local sp=$!
  wait_line $W/sub.out READY 10
  $W/nb pub -s $URL -S d.x -n 256 -r 0 -d $SECS -w >$W/pub.out 2>&1 & local pp=$!
  wait_line $W/pub.out READY 10
  if [ $m != U ] && [ $m != I ]; then
    : >$W/ms.err
    local extra="${EXTRA:-}"; [ $m = P ] && extra="$extra --ring-per-cpu"; [ $m = Q ] && extra="$extra --buffer-size ${QSIZE:-4}"
    $B trace -o ${OUTF:-/dev/null} $extra 2>$W/ms.err & ms=$!
    wait_line $W/ms.err "msgscope: tracing" 60
    { [ $m = S ] || [ $m = W ]; } && kill -STOP $ms
    [ $m = D ] && { python3 "$(dirname "$0")/duty.py" $ms ${ON:-0.01} ${OFF:-0.04} & dp=$!; }
  fi
  local bp=""
  { [ $m = I ] || [ $m = W ]; } && { python3 "$(dirname "$0")/idlebusy.py" ${ON:-0.01} ${OFF:-0.04} & bp=$!; }
  local c0=0; [ -n "$ms" ] && c0=$(cpu_ticks $ms)
  local b0=0; [ -n "$bp" ] && b0=$(cpu_ticks $bp)
  local l0=$(( $(cpu_ticks $NS) + $(cpu_ticks $pp) + $(cpu_ticks $sp) ))
  kill -USR1 $pp; local pmax=0 smax=0 nmax=0 t
  while kill -0 $sp 2>/dev/null; do
    t=$(cpu_ticks $pp); [ "$t" -gt $pmax ] && pmax=$t
    t=$(cpu_ticks $sp); [ "$t" -gt $smax ] && smax=$t
    t=$(cpu_ticks $NS); [ "$t" -gt $nmax ] && nmax=$t
    grep -q msgs_per_s $W/sub.out && break
    sleep 0.1
  done
  local l1=$(( pmax + smax + nmax ))
  wait $pp; wait $sp
  local c1=0; [ -n "$ms" ] && c1=$(cpu_ticks $ms)
  [ $m = D ] && { kill $dp; wait $dp 2>/dev/null; }
  local b1=0; [ -n "$bp" ] && { b1=$(cpu_ticks $bp); kill $bp; wait $bp 2>/dev/null; }
  if [ -n "$ms" ]; then kill -CONT $ms; kill -INT $ms; wait $ms; fi
  local r=$(python3 -c "import json;print(round(json.loads(open('$W/sub.out').read().splitlines()[-1])['msgs_per_s']))")
  local sent=$(python3 -c "import json;print(json.loads(open('$W/pub.out').read().splitlines()[-1])['sent'])")
  echo "$m $r load_us_per_msg=$(python3 -c "print(round((($l1-$l0)*10000.0)/$sent,3))") cpu=$(( (c1-c0) + (b1-b0) ))ticks $(grep -o 'total [0-9]*' $W/ms.err 2>/dev/null| tail -1)"
}
for r in $(seq $ROUNDS); do for m in $MODES; do run $m; done; done
