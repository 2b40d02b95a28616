#!/bin/bash
# nats_ab.sh ROUNDS BIN... ("none" = untraced): subscriber msgs/s, 256 B unthrottled, 5 s
R=$1; shift
cd /tmp/x
nats-server -a 127.0.0.1 -p 14333 >/dev/null 2>&1 & NS=$!
sleep 1
printf "%-6s" round; for b in "$@"; do printf "%12s" $(basename $b); done; echo
for r in $(seq $R); do
  printf "%-6s" $r
  for b in "$@"; do
    subj=ab.$RANDOM
    ./nats_bench sub -s nats://127.0.0.1:14333 -S $subj -n 256 -t 30 > sub.out 2>/dev/null & S=$!
    until grep -q READY sub.out 2>/dev/null; do sleep 0.05; done
    ./nats_bench pub -s nats://127.0.0.1:14333 -S $subj -n 256 -r 0 -d 5 -w > pub.out 2>/dev/null & P=$!
    until grep -q READY pub.out 2>/dev/null; do sleep 0.05; done
    if [ "$b" != none ]; then $b trace -o /dev/null 2>/dev/null & MS=$!; sleep 2.5; fi
    kill -USR1 $P; wait $P; wait $S
    if [ "$b" != none ]; then kill -INT $MS; wait $MS; fi
    v=$(grep -o '"msgs_per_s":[0-9.]*' sub.out | head -1 | cut -d: -f2)
    printf "%12.0f" $v
  done; echo
done
kill $NS; wait $NS 2>/dev/null
