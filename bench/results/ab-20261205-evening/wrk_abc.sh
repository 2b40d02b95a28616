#!/bin/bash
# wrk_abc.sh ROUNDS BIN... : ratio and msgscope CPU% per binary, interleaved
R=$1; shift
w() { wrk -t1 -c32 -d5s http://127.0.0.1:18089/small | awk '/Requests\/sec/{print int($2)}'; }
st() { "$1" trace -o /dev/null 2>/tmp/sx/wk.err & P=$!; for i in $(seq 100); do grep -q 'msgscope: tracing' /tmp/sx/wk.err && break; sleep 0.1; done; sleep 0.3; }
for r in $(seq 1 $R); do
  u=$(w); line="untraced $u"
  for b in "$@"; do st $b; t0=$(awk '{print $14+$15}' /proc/$P/stat); v=$(w); t1=$(awk '{print $14+$15}' /proc/$P/stat); kill -INT $P; wait $P; line="$line $(basename $b) $(python3 -c "print('%.3f %4.1f%%' % ($v/$u, ($t1-$t0)/5.0))")"; done
  echo $line
done
