#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/hook_cost.sh — what msgscope's probes cost the process they trace:
# its CPU time per HTTP exchange over loopback (bench/hook_cost.c: write,
# recv, writev, read), untraced and under `msgscope trace`, interleaved;
# then, from one more traced run, how that time splits over the BPF
# programs (bpf_stats: run time per run, including bpf_stats' own clock
# reads, ~120 ns a run on the machine this was written on).
#
#   bench/hook_cost.sh [--runs N] [--exchanges N]
#
# Variants: untraced; `msgscope trace -o /dev/null`; the same with
# --no-tls. Medians of N runs (default 6) of 100000 exchanges. Needs root
# and bpftool. msgscope: $MSGSCOPE, else build/msgscope.

set -u -o pipefail
BENCH_DIR=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
RUNS=6 EXCHANGES=100000
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift ;;
	--exchanges) EXCHANGES=$2; shift ;;
	-h|--help) sed -n '3,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "hook_cost.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
# tracer_setup, tracer_cleanup, tracer_start, tracer_stop
ME=hook_cost.sh
. "$BENCH_DIR/lib.sh"
tracer_setup hookcost
cleanup() {
	sysctl -qw kernel.bpf_stats_enabled="$STATS_ORIG" 2>/dev/null
	tracer_cleanup
}
STATS_ORIG=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
trap cleanup EXIT
trap 'exit 130' INT TERM
gcc -O2 -o "$WORK/hook_cost" "$BENCH_DIR/hook_cost.c" || exit 1

VARIANTS=("untraced" "trace" "trace --no-tls")
for i in $(seq 1 "$RUNS"); do
	for v in "${VARIANTS[@]}"; do
		[ "$v" = untraced ] || tracer_start ${v#trace}
		echo "$v|$("$WORK/hook_cost" "$EXCHANGES")" >>"$WORK/runs"
		[ "$v" = untraced ] || tracer_stop
	done
done

tracer_start
sysctl -qw kernel.bpf_stats_enabled=1
bpftool prog show -j >"$WORK/before.json"
"$WORK/hook_cost" "$EXCHANGES" >/dev/null
bpftool prog show -j >"$WORK/after.json"
sysctl -qw kernel.bpf_stats_enabled="$STATS_ORIG"
tracer_stop

python3 - "$WORK" "$EXCHANGES" "$MS" <<'EOF'
import collections, json, statistics, sys
work, n, ms = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = collections.OrderedDict()
for line in open(f"{work}/runs"):
    v, ns = line.rstrip("\n").split("|")
    runs.setdefault(v, []).append(float(ns))
base = statistics.median(runs["untraced"])
print(f"msgscope: {ms}; {len(runs['untraced'])} interleaved runs of {n} exchanges each\n")
print("| variant | CPU ns per exchange (median) | added | runs |")
print("|---|---|---|---|")
for v, xs in runs.items():
    m = statistics.median(xs)
    print(f"| {v} | {m:.0f} | {'' if v == 'untraced' else f'+{m - base:.0f}'} | "
          f"{', '.join(f'{x:.0f}' for x in xs)} |")
before = {p["id"]: p for p in json.load(open(f"{work}/before.json"))}
rows = []
for p in json.load(open(f"{work}/after.json")):
    b = before.get(p["id"], {})
    cnt = p.get("run_cnt", 0) - b.get("run_cnt", 0)
    t = p.get("run_time_ns", 0) - b.get("run_time_ns", 0)
    if cnt >= n // 2:
        rows.append((p.get("name", "?"), cnt, t))
print("\nBPF programs during one traced run (bpf_stats):\n")
print("| program | runs | ns per run | ns per exchange |")
print("|---|---|---|---|")
for name, cnt, t in sorted(rows, key=lambda r: -r[2]):
    print(f"| {name} | {cnt} | {t / cnt:.0f} | {t / n:.0f} |")
print(f"| all | | | {sum(r[2] for r in rows) / n:.0f} |")
EOF
