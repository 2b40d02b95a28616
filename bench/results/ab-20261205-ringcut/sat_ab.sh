#!/bin/bash
# sat_ab.sh ROUNDS BIN... : NATS 256 B unthrottled, 8 s, untraced then each BIN
# (trace -o /dev/null) per round; prints pub msgs/s, msgscope CPU%, drops.
R=$1; shift
pgrep -f 'nats-server -a 127.0.0.1 -p 14222' >/dev/null || { nats-server -a 127.0.0.1 -p 14222 >/tmp/sx/nats.log 2>&1 & sleep 1; }
for r in $(seq 1 $R); do
  line="round $r: untraced $(/tmp/sx/natsload.sh 8 | awk '{print int($2)}')"
  for b in "$@"; do
    $b trace -o /dev/null 2>/tmp/sx/sat.err & ms=$!
    sleep 2.5
    t0=$(awk '{print $14+$15}' /proc/$ms/stat)
    rate=$(/tmp/sx/natsload.sh 8 | awk '{print int($2)}')
    t1=$(awk '{print $14+$15}' /proc/$ms/stat)
    kill -INT $ms; wait $ms
    drops=$(grep -o 'total [0-9]*' /tmp/sx/sat.err | tail -1 | awk '{print $2}')
    line="$line | $(basename $b) $rate cpu $(( (t1-t0) * 100 / 100 / 9 ))% drops ${drops:-0}"
  done
  echo "$line"
done
