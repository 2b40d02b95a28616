#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/ab_wrk_bpf.sh — two or more msgscope builds under wrk, interleaved:
# what the socket hooks cost per run while client and server keep both
# CPUs busy, where cache lines the hooks share go back and forth between
# them (a run there can cost twice what it costs in bench/hook_cost.sh's
# ping-pong).
#
#   bench/ab_wrk_bpf.sh [--rounds N] [--secs S] BIN_A BIN_B [BIN...]
#
# Each round runs every BIN in order: `BIN trace -o /dev/null` system-wide,
# then `wrk -t1 -c32 -dS` against nginx serving 100 bytes over keep-alive
# (bench/lib.sh's nginx_site). Prints per run wrk's requests/s, the mean
# run time of on_sock_send and on_sock_recv from bpf_stats (which adds its
# own clock reads, ~100 ns a run) and msgscope's CPU (% of one core), then
# the medians (default 5 rounds of 6 s). A BIN may be a script that execs
# msgscope with a setting in its environment. Needs root, bpftool, nginx
# and wrk.

set -u -o pipefail
BENCH_DIR=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
ROUNDS=5 SECS=6
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=$2; shift ;;
	--secs) SECS=$2; shift ;;
	-h|--help) sed -n '4,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "ab_wrk_bpf.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
# require_bins, cpu_ticks, nginx_site, nginx_start
. "$BENCH_DIR/lib.sh"
require_bins ab_wrk_bpf.sh "$@"
for t in nginx wrk bpftool; do
	command -v "$t" >/dev/null || { echo "ab_wrk_bpf.sh: no $t" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/msgscope-abwrk.XXXXXX)
PIDS=() MSPID=""
STATS_ORIG=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
cleanup() {
	[ -n "$MSPID" ] && kill -INT "$MSPID" 2>/dev/null
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$STATS_ORIG" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(( 20000 + RANDOM % 20000 ))
URL=http://127.0.0.1:$PORT/small
nginx_site "$WORK/nginx" "$PORT"
chmod -R a+rX "$WORK"
nginx_start "$(command -v nginx)" "$WORK/nginx" "$URL"
up=$?
PIDS+=("$NGINX_PID")
[ $up = 0 ] || { echo "ab_wrk_bpf.sh: nginx did not come up" >&2; exit 1; }
sysctl -qw kernel.bpf_stats_enabled=1

# "run_time_ns run_cnt" summed over the socket hooks loaded now
hook_stats() {
	bpftool prog show -j | python3 -c '
import json, sys
t = c = 0
for p in json.load(sys.stdin):
    if p.get("name") in ("on_sock_send", "on_sock_recv"):
        t += p.get("run_time_ns", 0); c += p.get("run_cnt", 0)
print(t, c)'
}

# one_run BIN -> prints "REQS NS_PER_RUN CPU%" (or "fail")
one_run() {
	local t0 c0 t1 c1 k0 k1 reqs
	"$1" trace -o /dev/null 2>"$WORK/ms.err" &
	MSPID=$!
	for _ in $(seq 1 300); do
		grep -q 'msgscope: tracing' "$WORK/ms.err" && break
		kill -0 "$MSPID" 2>/dev/null || break
		sleep 0.1
	done
	sleep 1
	read -r t0 c0 < <(hook_stats)
	k0=$(cpu_ticks "$MSPID")
	reqs=$(wrk -t1 -c32 -d"${SECS}s" "$URL" | awk '/Requests\/sec/ { print $2 }')
	k1=$(cpu_ticks "$MSPID")
	read -r t1 c1 < <(hook_stats)
	kill -INT "$MSPID"; wait "$MSPID" 2>/dev/null; MSPID=""
	if [ -z "$reqs" ] || [ "$c1" -le "$c0" ] || [ "$k0" -lt 0 ] || [ "$k1" -lt 0 ]; then
		echo fail; return
	fi
	python3 -c "print('%.0f %.0f %.1f' % ($reqs, ($t1 - $t0) / ($c1 - $c0),
		($k1 - $k0) * 100.0 / $(getconf CLK_TCK) / $SECS))"
}

for r in $(seq 1 "$ROUNDS"); do
	line="round $r"
	i=0
	for b in "$@"; do
		i=$((i + 1))
		res=$(one_run "$b")
		echo "$i $res" >>"$WORK/runs"
		read -r reqs ns cpu <<<"$res"
		[ "$reqs" = fail ] && line="$line | fail" ||
			line="$line | $reqs req/s, $ns ns/run, $cpu%"
	done
	echo "$line"
done

python3 - "$WORK/runs" "$@" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 4:
        runs.setdefault(int(f[0]), []).append([float(x) for x in f[1:]])
for i, b in enumerate(sys.argv[2:], 1):
    got = runs.get(i, [])
    if not got:
        print(f"{b}: no good run"); continue
    med = [statistics.median(col) for col in zip(*got)]
    print(f"{b}: median of {len(got)}: {med[0]:.0f} req/s, {med[1]:.0f} ns per hook run, "
          f"msgscope {med[2]:.1f}% of a core")
EOF
