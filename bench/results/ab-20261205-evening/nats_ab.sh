#!/bin/bash
# nats_ab.sh ROUNDS SIZE BIN... : unthrottled pub/sub msg/s untraced and under each BIN, interleaved
R=$1; SZ=$2; shift 2
U=nats://127.0.0.1:14222
one() { /tmp/sx/nats_bench sub -s $U -S t.$RANDOM -n $SZ -t 30 > /tmp/sx/nsub.out 2>&1 & S=$!; sleep 0.3; subj=$(awk '{print $0}' /dev/null); }
run() { local subj=t.$RANDOM; /tmp/sx/nats_bench sub -s $U -S $subj -n $SZ -t 30 > /tmp/sx/nsub.out 2>&1 & local S=$!; sleep 0.3
  /tmp/sx/nats_bench pub -s $U -S $subj -n $SZ -r 0 -d 5 -w > /tmp/sx/npub.out 2>&1 & local PB=$!; sleep 0.3; kill -USR1 $PB; wait $PB $S
  python3 -c "import json; print(int(json.loads(open('/tmp/sx/nsub.out').read().split('\n')[1])['msgs_per_s']))"; }
st() { "$1" trace -o /dev/null 2>/tmp/sx/nk.err & P=$!; for i in $(seq 100); do grep -q 'msgscope: tracing' /tmp/sx/nk.err && break; sleep 0.1; done; sleep 0.3; }
for r in $(seq 1 $R); do
  u=$(run); line="untraced $u"
  for b in "$@"; do st $b; t0=$(awk '{print $14+$15}' /proc/$P/stat); v=$(run); t1=$(awk '{print $14+$15}' /proc/$P/stat); kill -INT $P; wait $P; d=$(grep -o "total [0-9]*" /tmp/sx/nk.err | tail -1); line="$line $(basename $b) $(python3 -c "print('%.3f %4.1f%%' % ($v/$u, ($t1-$t0)/5.3))") [$d]"; done
  echo $line
done
