#!/bin/bash
# nats_ab.sh ROUNDS BIN... : NATS 256 B unthrottled msgs/s received, untraced and under each BIN's trace, interleaved
R=$1; shift
URL=nats://127.0.0.1:24222
one() { /tmp/pf/nats_bench sub -s $URL -S sat -n 256 -t 30 > /tmp/sx/sub.out & S=$!; sleep 0.3
        /tmp/pf/nats_bench pub -s $URL -S sat -n 256 -r 0 -d 5 >/dev/null; wait $S
        tail -1 /tmp/sx/sub.out | python3 -c "import json,sys; print(int(json.load(sys.stdin)['msgs_per_s']))"; }
st() { "$1" trace -o /dev/null 2>/tmp/sx/nt.err & P=$!; for i in $(seq 100); do grep -q 'msgscope: tracing' /tmp/sx/nt.err && break; sleep 0.1; done; sleep 0.3; }
for r in $(seq 1 $R); do
  u=$(one); line="untraced $u"
  for b in "$@"; do st $b; v=$(one); kill -INT $P; wait $P; line="$line $(basename $b) $v $(python3 -c "print('%.3f' % ($v/$u))")"; done
  echo $line
done
