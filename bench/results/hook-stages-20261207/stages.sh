#!/usr/bin/env bash
# ad-hoc: where a socket hook's time goes, stage by stage. Builds msgscope
# (release) at HEAD and once per *.patch here, each patch returning early at
# one stage of on_sock_send/on_sock_recv's path (v0: at once; v1: after the
# syscall's registers and the pid filter; v2: after the connection lookup;
# v3: after the TLS check; v5: after the stream offsets, before the record's
# reservation and copy). Then, ROUNDS (4) times, interleaved: bench/hook_cost
# untraced (U), and under each build (full = HEAD; r1 = HEAD --rings 1) with
# bpf_stats on. Prints "ROUND VARIANT SEND_NS RECV_NS CPU_NS": the two
# hooks' ns per run (bpf_stats, its own clock reads included) and
# hook_cost's CPU ns per exchange (write, recv, writev, read).
set -u
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
. "$REPO/bench/lib.sh"
B=${BUILDS:-/tmp/hook-stages}
VARIANTS=${VARIANTS:-"U v0 v1 v2 v3 v5 full r1"}
mkdir -p "$B"
gcc -O2 -o "$B/hook_cost" "$REPO/bench/hook_cost.c" || exit 1
build() { # name patch
	local wt=$B/wt-$1
	[ -x "$B/rel-$1/msgscope" ] && return 0
	git -C "$REPO" worktree add -q --detach "$wt" HEAD || return 1
	[ -n "$2" ] && { git -C "$wt" apply "$2" || return 1; }
	meson setup "$B/rel-$1" "$wt" -Dbuildtype=release >/dev/null &&
		meson compile -C "$B/rel-$1" msgscope >/dev/null
}
build full "" || exit 1
for p in "$HERE"/v*.patch; do
	build "$(basename "$p" .patch)" "$p" || exit 1
done
WORK=$(mktemp -d)
trap 'sysctl -qw kernel.bpf_stats_enabled=0; rm -rf "$WORK"' EXIT
sysctl -qw kernel.bpf_stats_enabled=1
for r in $(seq "${ROUNDS:-4}"); do
	for v in $VARIANTS; do
		if [ "$v" = U ]; then
			echo "$r U - - $("$B/hook_cost" 100000)"
			continue
		fi
		opt=()
		MS=$B/rel-$v/msgscope
		[ "$v" = r1 ] && { MS=$B/rel-full/msgscope; opt=(--rings 1); }
		tracer_start "${opt[@]}"
		sleep 0.5
		bpftool -j prog show >"$WORK/a.json"
		c=$("$B/hook_cost" 100000)
		bpftool -j prog show >"$WORK/b.json"
		tracer_stop
		python3 - "$WORK/a.json" "$WORK/b.json" "$r $v" "$c" <<'P'
import json, sys
before = {p['id']: p for p in json.load(open(sys.argv[1]))}
ns = {}
for p in json.load(open(sys.argv[2])):
    q = before.get(p['id'])
    if not q or 'run_cnt' not in p:
        continue
    n = p['run_cnt'] - q.get('run_cnt', 0)
    if n:
        ns[p['name']] = (p['run_time_ns'] - q.get('run_time_ns', 0)) / n
print(sys.argv[3], round(ns.get('on_sock_send', 0)),
      round(ns.get('on_sock_recv', 0)), sys.argv[4])
P
	done
done
