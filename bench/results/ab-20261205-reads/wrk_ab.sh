#!/bin/bash
# wrk_ab.sh ROUNDS BIN... : wrk beside nginx, untraced and under each msgscope, interleaved
R=$1; shift
nginx -p /tmp/ab/ng -c /tmp/ab/ng/nginx.conf -e /tmp/ab/ng/logs/error.log >/dev/null 2>&1 &
NG=$!; sleep 1
rps() { wrk -t1 -c32 -d8s http://127.0.0.1:18089/small | awk '/Requests\/sec/{print $2}'; }
printf "%-6s %10s" round none; for b in "$@"; do printf " %12s" "$(basename $b)"; done; echo
for i in $(seq 1 $R); do
  printf "%-6s %10s" $i "$(rps)"
  for b in "$@"; do
    $b trace -o /dev/null 2>/tmp/ab/wrk_ms.err & M=$!
    for _ in $(seq 1 100); do grep -q 'tracing' /tmp/ab/wrk_ms.err && break; sleep 0.1; done
    sleep 0.5
    printf " %12s" "$(rps)"
    kill -INT $M; wait $M
  done
  echo
done
kill $NG; wait $NG 2>/dev/null
