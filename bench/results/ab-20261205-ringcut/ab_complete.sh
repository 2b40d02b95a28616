#!/bin/bash
# ab_complete.sh ROUNDS BIN... : 100k msg/s completeness (trace piped), alternated
cd "$(dirname "$0")/../../.."
R=$1; shift
for r in $(seq 1 $R); do
  for b in "$@"; do
    MSGSCOPE=$b bench/run.sh --runs 1 --secs 10 --complete-only --modes untraced,sys --only '^nats-256-100k$' >/tmp/sx/abc.log 2>&1
    dir=$(ls -d bench/results/2026*/ | tail -1)
    row=$(grep '^| nats-256-100k | trace, system-wide | 4 ' $dir/summary.md | tail -1 | awk -F'|' '{print "recorded="$7" drops="$8" accounted="$10" cpu="$12}')
    rss=$(grep -o '"rss_hwm[^,]*' $dir/*.json 2>/dev/null | head -1)
    end=$(grep -o 'end line: .*' $dir/summary.md | tail -1 | grep -oE '"(gap_bytes|ring_cuts)": [0-9]+' | paste -sd' ')
    echo "round $r $(basename $b) $(basename $dir): $row $end"
  done
done
