#!/bin/bash
# nats_ab2.sh ROUNDS BIN... : as nats_ab.sh, plus msgscope's CPU and its end line's events/drops
R=$1; shift
URL=nats://127.0.0.1:24222
. /work/main/bench/lib.sh
one() { /tmp/pf/nats_bench sub -s $URL -S sat -n 256 -t 30 > /tmp/sx/sub.out & S=$!; sleep 0.3
        /tmp/pf/nats_bench pub -s $URL -S sat -n 256 -r 0 -d 5 >/dev/null; wait $S
        tail -1 /tmp/sx/sub.out | python3 -c "import json,sys; print(int(json.load(sys.stdin)['msgs_per_s']))"; }
for r in $(seq 1 $R); do
  u=$(one); line="untraced $u"
  for b in "$@"; do
    "$b" trace -o /tmp/sx/t.json 2>/tmp/sx/nt.err & P=$!; for i in $(seq 100); do grep -q 'msgscope: tracing' /tmp/sx/nt.err && break; sleep 0.1; done; sleep 0.3
    c0=$(cpu_ticks $P); v=$(one); c1=$(cpu_ticks $P); kill -INT $P; wait $P
    ev=$(grep '"type":"end"' /tmp/sx/t.json | python3 -c "import json,sys; e=json.load(sys.stdin); print(e['events'], e['drops'])")
    line="$line | $(basename $b) $(python3 -c "print('%.3f' % ($v/$u))") cpu $((c1-c0)) ev/drops $ev"
  done
  echo $line
done
rm -f /tmp/sx/t.json
