#!/bin/bash
# http_cpu.sh ROUNDS RATE BIN... : msgscope CPU % (utime+stime over the load) at a fixed HTTP rate, interleaved
R=$1; RATE=$2; shift 2
st() { "$1" trace -o /dev/null 2>/tmp/sx/hc.err & P=$!; for i in $(seq 100); do grep -q 'msgscope: tracing' /tmp/sx/hc.err && break; sleep 0.1; done; sleep 0.3; }
for r in $(seq 1 $R); do
  line=""
  for b in "$@"; do st $b; t0=$(awk '{print $14+$15}' /proc/$P/stat); /tmp/sx/http_rate -r $RATE -c 32 -d 8 http://127.0.0.1:18089/small > /tmp/sx/hr.out 2>&1; t1=$(awk '{print $14+$15}' /proc/$P/stat); kill -INT $P; wait $P
    ok=$(python3 -c "import json; d=json.loads(open('/tmp/sx/hr.out').read().strip().split('\n')[-1]); print(d.get('responses', d.get('completed','?')))" 2>/dev/null)
    line="$line $(basename $b) $(python3 -c "print('%4.1f%%' % (($t1-$t0)/8.0))") [$ok]"; done
  echo $line
done
