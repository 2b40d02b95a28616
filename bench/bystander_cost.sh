#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/bystander_cost.sh — what msgscope costs a process that touches no
# socket: dd making 64-byte reads of /dev/zero and writes to /dev/null,
# its CPU time (user + system) untraced and under `msgscope trace` on each
# capture path this kernel has, interleaved. Every process on a traced
# host pays this on its syscalls, whatever it does.
#
#   bench/bystander_cost.sh [--runs N] [--count N]
#
# Variants: untraced; `msgscope trace -o /dev/null` (the default path:
# the socket hooks where the kernel has them, no syscall tracepoint); the
# same with MSGSCOPE_MMAP_EXIT=1 (the TLS libraries' watch on mmap(2)'s
# exit tracepoint, as where the kernel lacks mmap_lock_released); with
# MSGSCOPE_RAW_SYS_EXIT=1 (one raw sys_exit program, the path before the
# socket hooks); and `--no-tls` on the default path. Medians of N
# runs (default 5) of dd count=N (default 2000000: twice as many
# syscalls). Needs root. msgscope: $MSGSCOPE, else build/msgscope.
set -u -o pipefail
BENCH_DIR=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
RUNS=5 COUNT=2000000
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift ;;
	--count) COUNT=$2; shift ;;
	-h|--help) sed -n '3,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bystander_cost.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
# tracer_setup, tracer_cleanup, tracer_start, tracer_stop
ME=bystander_cost.sh
. "$BENCH_DIR/lib.sh"
tracer_setup bystander
trap tracer_cleanup EXIT
trap 'exit 130' INT TERM

# dd's CPU seconds, user + system
dd_cpu() {
	/usr/bin/time -f '%U %S' dd if=/dev/zero of=/dev/null bs=64 count="$COUNT" 2>&1 |
		tail -1 | awk '{ printf "%.2f", $1 + $2 }'
}
[ -x /usr/bin/time ] || { echo "bystander_cost.sh: needs /usr/bin/time (Debian: time)" >&2; exit 1; }

VARIANTS=("untraced" "trace" "trace, MSGSCOPE_MMAP_EXIT=1" "trace, MSGSCOPE_RAW_SYS_EXIT=1"
	  "trace --no-tls")
for i in $(seq 1 "$RUNS"); do
	for v in "${VARIANTS[@]}"; do
		case "$v" in
		untraced) ;;
		"trace --no-tls") tracer_start --no-tls ;;
		*MSGSCOPE_MMAP_EXIT*) MSGSCOPE_MMAP_EXIT=1 tracer_start ;;
		*MSGSCOPE_RAW_SYS_EXIT*) MSGSCOPE_RAW_SYS_EXIT=1 tracer_start ;;
		*) tracer_start ;;
		esac
		echo "$v|$(dd_cpu)" >>"$WORK/runs"
		[ "$v" = untraced ] || tracer_stop
	done
done

python3 - "$WORK/runs" "$COUNT" "$MS" <<'EOF'
import collections, statistics, sys
path, n, ms = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = collections.OrderedDict()
for line in open(path):
    v, s = line.rstrip("\n").split("|")
    runs.setdefault(v, []).append(float(s))
base = statistics.median(runs["untraced"])
print(f"msgscope: {ms}; {len(runs['untraced'])} interleaved runs of dd, "
      f"{n} reads + {n} writes of 64 bytes\n")
print("| variant | dd CPU s (median) | x untraced | ns added per syscall | runs |")
print("|---|---|---|---|---|")
for v, xs in runs.items():
    m = statistics.median(xs)
    added = "" if v == "untraced" else f"{(m - base) * 1e9 / (2 * n):.0f}"
    print(f"| {v} | {m:.2f} | {m / base:.2f} | {added} | {', '.join(f'{x:.2f}' for x in xs)} |")
EOF
