#!/bin/bash
# ddab3.sh ROUNDS BIN... : dd's CPU (s) for 2M 64-byte reads + 2M writes, untraced and under each BIN's trace
R=$1; shift
d() { /usr/bin/time -f '%U %S' dd if=/dev/zero of=/dev/null bs=64 count=2000000 2>&1 | tail -1 | awk '{printf "%.2f", $1+$2}'; }
st() { "$1" trace -o /dev/null 2>/tmp/sx/dd.err & P=$!; for i in $(seq 100); do grep -q 'msgscope: tracing' /tmp/sx/dd.err && break; sleep 0.1; done; sleep 0.3; }
for r in $(seq 1 $R); do
  line="untraced $(d)"
  for b in "$@"; do st $b; line="$line $(basename $b) $(d)"; kill -INT $P; wait $P; done
  echo $line
done
