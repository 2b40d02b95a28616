#!/bin/bash
# hc_ab.sh ROUNDS BIN... : hook_cost ns/exchange untraced and under each BIN's trace, interleaved
R=$1; shift
st() { "$1" trace -o /dev/null 2>/tmp/sx/hc.err & P=$!; for i in $(seq 100); do grep -q 'msgscope: tracing' /tmp/sx/hc.err && break; sleep 0.1; done; sleep 0.3; }
for r in $(seq 1 $R); do
  line="none $(./hook_cost 100000)"
  for b in "$@"; do st $b; line="$line $(basename $b) $(./hook_cost 100000)"; kill -INT $P; wait $P; done
  echo $line
done
