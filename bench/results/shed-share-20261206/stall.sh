#!/usr/bin/env bash
# msgscope trace piped to a reader that stalls, NATS 256 B at 100k msg/s for 10 s
set -u
. /work/main/bench/lib.sh
W=/tmp/shedshare; mkdir -p $W
[ -x $W/nb ] || gcc -O2 -o $W/nb /work/main/bench/nats_bench.c -lnats -lpthread || exit 1
PORT=$((20000+RANDOM%20000)); URL=nats://127.0.0.1:$PORT
nats-server -a 127.0.0.1 -p $PORT >$W/nats.log 2>&1 & NS=$!
trap 'kill $NS 2>/dev/null' EXIT
sleep 0.5
for r in $(seq ${ROUNDS:-2}); do for B in "$@"; do
  $W/nb sub -s $URL -S d.x -n 256 -t 40 >$W/sub.out 2>&1 & sp=$!
  wait_line $W/sub.out READY 10
  $W/nb pub -s $URL -S d.x -n 256 -r 100000 -d 10 -w >$W/pub.out 2>&1 & pp=$!
  wait_line $W/pub.out READY 10
  ( $B trace 2>$W/ms.err | python3 "$(dirname "$0")"/staller.py ${EVERY:-1.5} ${STALL:-0.4} >$W/st.out ) & tp=$!
  wait_line $W/ms.err "msgscope: tracing" 60
  kill -USR1 $pp; wait $pp; wait $sp
  pkill -INT -f "^$B trace" ; wait $tp
  echo "$(basename $B) $(cat $W/st.out) notices=$(grep -c 'outruns msgscope' $W/ms.err)"
done; done
