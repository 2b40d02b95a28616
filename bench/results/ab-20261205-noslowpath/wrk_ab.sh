#!/bin/bash
# wrk_ab.sh ROUNDS BIN... : wrk req/s (keep-alive, nginx) untraced and under each BIN's trace -o /dev/null, interleaved
R=$1; shift
w() { wrk -t1 -c32 -d5s http://127.0.0.1:18089/small | awk '/Requests\/sec/{print int($2)}'; }
st() { "$1" trace -o /dev/null 2>/tmp/sx/wk.err & P=$!; for i in $(seq 100); do grep -q 'msgscope: tracing' /tmp/sx/wk.err && break; sleep 0.1; done; sleep 0.3; }
for r in $(seq 1 $R); do
  u=$(w); line="untraced $u"
  for b in "$@"; do st $b; v=$(w); kill -INT $P; wait $P; line="$line $(basename $b) $v $(python3 -c "print('%.3f' % ($v/$u))")"; done
  echo $line
done
