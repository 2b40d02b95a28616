#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/ab_complete.sh — run.sh's completeness run (the trace piped to
# trace_count), two or more builds interleaved: whether one build drops
# more than another when msgscope falls behind. On this VM one build's
# piped 100k runs drop in none of 2 runs one hour and in 4 of 7 the next,
# so only an interleaved comparison over many rounds means anything.
#
#   bench/ab_complete.sh [--rounds N] [--secs S] [--case NAME] [--pid]
#                        [--out DIR] BIN_A BIN_B [BIN...]
#
# Each round runs, for every BIN in order,
#   MSGSCOPE=BIN bench/run.sh --complete-only --runs 1 --secs S
#                             --modes sys --only '^NAME$'
# (default: 6 rounds, case nats-256-100k, 10 s; --pid: `-p` on the clients
# instead of system-wide). Each run's results go to DIR/<i>-<name of BIN>/r<round>
# (default DIR: bench/results/ab-complete-<date>). Prints per run the drop
# events, the share of messages recorded, msgscope's CPU and its priority
# boosts (the futile ones after the slash, priority.h); then per BIN the
# runs that dropped events and the median drop events. A BIN may be a
# script that execs msgscope with an option. Needs what run.sh needs.

set -u -o pipefail
BENCH_DIR=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
ROUNDS=6 SECS=10 CASE=nats-256-100k MODE=sys OUT=""
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=$2; shift ;;
	--secs) SECS=$2; shift ;;
	--case) CASE=$2; shift ;;
	--pid) MODE=pid ;;
	--out) OUT=$2; shift ;;
	-h|--help) sed -n '4,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "ab_complete.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
# require_bins
. "$BENCH_DIR/lib.sh"
require_bins ab_complete.sh "$@"
OUT=${OUT:-$BENCH_DIR/results/ab-complete-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT" || exit 1
trap 'exit 130' INT TERM
echo "bench/ab_complete.sh --rounds $ROUNDS --secs $SECS --case $CASE$([ $MODE = pid ] && echo ' --pid') $*" >"$OUT/command"

# one_run DIR -> "DROPS RECORDED% CPU% BOOSTS/FUTILE" from run.sh's results
one_run() {
	python3 - "$1" "$CASE" "$MODE" <<'EOF'
import json, re, sys
out, case, mode = sys.argv[1:]
raw = f"{out}/raw/{case}/{mode}/complete"
try:
    end = json.load(open(f"{raw}/counts.json")).get("end") or {}
    tracer = json.load(open(f"{raw}/tracer.json"))
    row = [l for l in open(f"{out}/summary.md") if l.startswith(f"| {case} |")
           and "observation" not in l and re.search(r"\| [\d,]+ \| [\d,]+ \| [\d.]+ \|", l)][-1]
    recorded = row.split("|")[6].strip()
    print(f"{end.get('drops', 0)} {recorded} {tracer['cpu_pct']:.1f} "
          f"{end.get('boosts', 0)}/{end.get('futile_boosts', 0)}")
except (OSError, ValueError, KeyError, IndexError):
    print("fail")
EOF
}

for r in $(seq 1 "$ROUNDS"); do
	line="round $r"
	i=0
	for b in "$@"; do
		i=$((i + 1))
		dir="$OUT/$i-$(basename "$b")/r$r"
		mkdir -p "${dir%/*}"
		BENCH_OUT="$dir" MSGSCOPE="$b" "$BENCH_DIR/run.sh" --complete-only --runs 1 \
			--secs "$SECS" --modes "$MODE" --only "^$CASE\$" >"$dir.log" 2>&1
		res=$(one_run "$dir")
		echo "$i $res" >>"$OUT/runs"
		read -r drops rec cpu boosts <<<"$res"
		[ "$drops" = fail ] && line="$line | fail (see $dir.log)" ||
			line="$line | $drops drops, $rec% recorded, $cpu%, boosts $boosts"
	done
	echo "$line" | tee -a "$OUT/rounds"
done

python3 - "$OUT/runs" "$@" <<'EOF' | tee "$OUT/summary"
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 5:
        runs.setdefault(int(f[0]), []).append(int(f[1]))
for i, b in enumerate(sys.argv[2:], 1):
    got = runs.get(i, [])
    if not got:
        print(f"{b}: no good run"); continue
    print(f"{b}: events dropped in {sum(1 for d in got if d)} of {len(got)} runs, "
          f"median {statistics.median(got):.0f} drop events")
EOF
