#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/run.sh — msgscope's overhead and completeness benchmark. One command:
#
#   bench/run.sh [--quick] [--runs N] [--secs S] [--only REGEX] [--no-profile]
#                [--soak] [--soak-only] [--modes LIST]
#
#   --quick        2 runs per mode, shorter NATS/HTTP runs (3 s / 5 s)
#   --runs N       runs per mode (default 5, --quick 2)
#   --secs S       seconds per NATS and HTTP run (default 5 / 10, --quick 3 / 5)
#   --only REGEX   only the cases whose name matches (e.g. 'nats-256')
#   --modes LIST   comma list of untraced,sys,sys0,sys19,pair,pid,tui
#                  (default: all available but sys19 and pair; sys0 and
#                  sys19 are system-wide at --nice 0 and 19 instead of the
#                  default SCHED_IDLE, pair is system-wide with
#                  --pair-local, its peer_read sends counted as their
#                  readers' sight too)
#   --no-profile   skip the perf / bpf_stats profile of nats-256-max
#   --soak         also the 10-minute memory soak (20k msgs/s, system-wide)
#   --soak-only    only the soak
#   --profile-only only the profile
#   --complete-only only the completeness runs (no timed runs)
#
# Needs root, nats-server, nginx, wrk, libnats (-lnats), gcc, python3, perf,
# bpftool. Only 127.0.0.1 is used. Every process it starts is stopped on exit.
# Raw data: bench/results/<date>/ ; summary: bench/results/<date>/summary.md
# (bench/RESULTS.md is written by hand from it).
#
# msgscope binary: $MSGSCOPE if set; else a meson build of this tree in
# /tmp/msgscope-bench-build; else a direct gcc build of it.
# It is copied into the work directory first, so a rebuild during the run
# does not change what is measured; its git commit and sha256 are recorded.

set -u -o pipefail

BENCH_DIR=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

# The summary's command line says how the run was made, quoted to paste.
ARGS_GIVEN=""
for a in "$@"; do
	[[ "$a" =~ ^[A-Za-z0-9_./,=:+-]+$ ]] || a="'${a//\'/\'\\\'\'}'"
	ARGS_GIVEN+=" $a"
done
QUICK=0 RUNS="" SECS="" ONLY="" PROFILE=1 SOAK=0 SOAK_ONLY=0 MODES_WANTED="" PROFILE_ONLY=0 COMPLETE_ONLY=0
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--runs) RUNS=$2; shift ;;
	--secs) SECS=$2; shift ;;
	--only) ONLY=$2; shift ;;
	--modes) MODES_WANTED=$2; shift ;;
	--no-profile) PROFILE=0 ;;
	--soak) SOAK=1 ;;
	--soak-only) SOAK=1; SOAK_ONLY=1 ;;
	--profile-only) PROFILE_ONLY=1 ;;
	--complete-only) COMPLETE_ONLY=1 ;;
	-h|--help) sed -n '3,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
if [ "$QUICK" = 1 ]; then
	: "${RUNS:=2}"; NATS_DUR=3; WRK_DUR=5
else
	: "${RUNS:=5}"; NATS_DUR=5; WRK_DUR=10
fi
if [ -n "$SECS" ]; then
	[[ "$SECS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --secs wants a whole number of seconds" >&2; exit 2; }
	NATS_DUR=$SECS; WRK_DUR=$SECS
fi
SOAK_MIN=${SOAK_MIN:-10}
SOAK_RATE=${SOAK_RATE:-20000}

[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (BPF)" >&2; exit 1; }
for t in nats-server nginx wrk gcc python3 bpftool perf; do
	command -v "$t" >/dev/null || { echo "run.sh: $t not found" >&2; exit 1; }
done

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${BENCH_OUT:-$BENCH_DIR/results/$STAMP}
WORK=$(mktemp -d /tmp/msgscope-bench.XXXXXX)
mkdir -p "$OUT" "$WORK/bin"
LOG=$OUT/run.log

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$LOG" >&2; }

# ---- clean-up: every process we start, by pid -------------------------------
PIDS_STARTED=()
BPF_STATS_ORIG=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
cleanup() {
	local p
	trap '' INT TERM
	for p in "${PIDS_STARTED[@]}"; do
		kill -0 "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null
	done
	sleep 0.3
	for p in "${PIDS_STARTED[@]}"; do
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_ORIG" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

track() { PIDS_STARTED+=("$1"); }

now() { echo "$EPOCHREALTIME"; }

# A sleep without a fork: a read with a timeout from a fifo that no one
# writes to, held open both ways so that it neither blocks nor ends.
nap_init() { mkfifo "$WORK/nap.fifo" && exec {NAP_FD}<>"$WORK/nap.fifo"; }
nap() { read -r -t "$1" -u "$NAP_FD" _; }

# Wait for PID to end, at most SECS; then TERM, then KILL. Reaps it.
# Polls with builtins only: the poll forked awk and sleep every 50 ms
# before, and one more loop doing that raised the CPU of the msgscope under
# measurement at 100k msgs/s by 2-4 points of a core in 3 interleaved
# pairs of runs (bench/RESULTS.md, 2026-12-06 night).
wait_pid() {
	local pid=$1 secs=$2 i=0 max st
	max=$(( secs * 20 ))
	while kill -0 "$pid" 2>/dev/null; do
		# A zombie child of ours counts as ended.
		proc_state_var st "$pid" || break
		[ "$st" = Z ] && break
		i=$((i + 1))
		if [ $i -ge $max ]; then
			log "  pid $pid still running after ${secs}s: TERM"
			kill -TERM "$pid" 2>/dev/null; sleep 1
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		nap 0.05
	done
	wait "$pid" 2>/dev/null
}
nap_init || { log "cannot make $WORK/nap.fifo"; exit 1; }

# wait_line, cpu_ticks
. "$BENCH_DIR/lib.sh"
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }

# msgscope may be gone before stop_tracer looks: with -p it stops once its
# targets exit, and its exit takes ~0.2 s since 0152b7d. Every 0.2 s while
# it runs: "cpu_ticks VmHWM VmRSS RssAnon RssFile RssShmem" into FILE.
sample_tracer() { # PID FILE
	local pid=$1 f=$2 t k v rest hwm rss anon file shmem
	while cpu_ticks_var t "$pid" && [ "$t" -ge 0 ]; do
		hwm=0 rss=0 anon=0 file=0 shmem=0
		while read -r k v rest; do
			case $k in
			VmHWM:) hwm=$v ;; VmRSS:) rss=$v ;; RssAnon:) anon=$v ;;
			RssFile:) file=$v ;; RssShmem:) shmem=$v ;;
			esac
		done 2>/dev/null <"/proc/$pid/status" || break
		echo "$t $hwm $rss $anon $file $shmem" >"$f"
		nap 0.2
	done
}

max_prog_id() { bpftool prog show 2>/dev/null | awk -F: '/^[0-9]+:/ { m = $1 } END { print m + 0 }'; }
# The CPU other users of the machine took during a run: each process's own
# time, ours (this script's descendants and the servers) left out
# (foreign_cpu.py says why not the machine's busy time minus ours).
snap_begin() { python3 "$BENCH_DIR/foreign_cpu.py" snap "$WORK/foreign.snap"; }
# % of one core used by others between snap_begin and now.
snap_end() {
	FOREIGN_CPU=$(python3 "$BENCH_DIR/foreign_cpu.py" since "$WORK/foreign.snap" \
		$$ "$NATS_PID" "$NGINX_PID" "$NGINX_WORKER") || FOREIGN_CPU=0
}

# Busy % of the whole machine over 0.5 s.
machine_busy() {
	local a b
	read -r -a a < /proc/stat; sleep 0.5; read -r -a b < /proc/stat
	python3 - "${a[*]}" "${b[*]}" <<'EOF'
import sys
a = [int(x) for x in sys.argv[1].split()[1:]]; b = [int(x) for x in sys.argv[2].split()[1:]]
d = [y - x for x, y in zip(a, b)]; tot = sum(d[:8]) or 1
print(round(100.0 * (tot - d[3] - d[4]) / tot, 1))
EOF
}

# Pids (other than ours) with BPF programs on the syscall tracepoints, raw
# (sys_exit) or per syscall (sys_exit_read): another tracer (a colleague's
# msgscope, say) would slow the "untraced" runs too.
foreign_tracers() {
	bpftool perf 2>/dev/null | awk -v me="${1:-none}" '$1 == "pid" && $2 != me && /sys_(enter|exit)/ { print $2 }' | sort -u | tr '\n' ' '
}

# The BPF programs pid holds through its links (multi-uprobe links do not
# show in bpftool perf).
held_prog_ids() {
	grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{ print $2 }' | sort -u
}

# Before a run: no foreign tracer and a quiet machine (bounded waits).
wait_quiet() {
	local i busy f
	for i in $(seq 1 $(( ${WAIT_TRACER:-120} / 5 ))); do
		f=$(foreign_tracers)
		[ -z "$f" ] && break
		[ "$i" = 1 ] && log "  waiting: foreign BPF tracer(s) on syscalls: pid $f"
		sleep 5
	done
	busy=0
	for i in $(seq 1 $(( ${WAIT_BUSY:-30} / 2 ))); do
		busy=$(machine_busy)
		python3 -c "import sys; sys.exit(0 if $busy < 20 else 1)" && break
		[ "$i" = 1 ] && log "  waiting: machine ${busy}% busy before the run"
		sleep 2
	done
	PRE_BUSY=$busy
	PRE_FOREIGN=$(foreign_tracers)
}

# ---- build ------------------------------------------------------------------
# The tree's own build first (meson); when it is broken mid-change, the same
# compiler flags by hand over every userspace/*.c, into the work directory.
build_direct() {
	local o=$WORK/msbuild
	mkdir -p "$o"
	clang -g -O2 -target bpf -Wall -D__TARGET_ARCH_x86 -I"$ROOT/vmlinux/$(uname -m)" \
		-I"$ROOT/include" -c "$ROOT/bpf/capture.bpf.c" -o "$o/capture.bpf.o" &&
	bpftool gen skeleton "$o/capture.bpf.o" name capture_bpf >"$o/capture.skel.h" &&
	gcc -std=gnu11 -D_GNU_SOURCE -DMSGSCOPE_VERSION='"bench"' -w -g -O2 \
		-I"$ROOT/include" -I"$ROOT/userspace" -I"$o" "$ROOT"/userspace/*.c \
		-lbpf -lelf -lz -ljansson -lncursesw -ltinfo -lm -o "$o/msgscope"
}

build() {
	log "building bench clients"
	gcc -O2 -g -Wall -Wextra -std=gnu11 -o "$WORK/bin/nats_bench" "$BENCH_DIR/nats_bench.c" -lnats -lpthread || return 1
	gcc -O2 -g -Wall -Wextra -std=gnu11 -o "$WORK/bin/http_rate" "$BENCH_DIR/http_rate.c" || return 1
	gcc -O2 -g -Wall -Wextra -std=gnu11 -o "$WORK/bin/trace_count" "$BENCH_DIR/trace_count.c" || return 1
	local ms=${MSGSCOPE:-}
	if [ -z "$ms" ]; then
		local bd=/tmp/msgscope-bench-build
		log "building msgscope (meson, $bd)"
		if { [ -f "$bd/build.ninja" ] || meson setup "$bd" "$ROOT" >>"$LOG" 2>&1; } &&
		   meson compile -C "$bd" msgscope >>"$LOG" 2>&1; then
			ms=$bd/msgscope
			MS_BUILD="meson (debugoptimized: -O2 -g)"
		elif build_direct >>"$LOG" 2>&1; then
			log "meson build failed (see run.log): built directly, every userspace/*.c, -O2 -g"
			ms=$WORK/msbuild/msgscope
			MS_BUILD="direct gcc -O2 -g of bpf/capture.bpf.c + userspace/*.c (meson build of this tree failed)"
		else
			log "cannot build msgscope (see $LOG); set MSGSCOPE=/path/to/msgscope"
			return 1
		fi
	else
		MS_BUILD="given: MSGSCOPE=$ms"
	fi
	cp "$ms" "$WORK/bin/msgscope" || return 1
	MS=$WORK/bin/msgscope
	MS_SHA=$(sha256sum "$MS" | cut -c1-16)
	MS_COMMIT=$(git -C "$ROOT" log --oneline -1 2>/dev/null)
	MS_DIRTY=$(git -C "$ROOT" status --short --untracked-files=no 2>/dev/null | wc -l)
	log "msgscope from $ms sha256 $MS_SHA, tree at '$MS_COMMIT' ($MS_DIRTY modified tracked files)"
	if "$MS" top --help >/dev/null 2>&1; then HAVE_TOP=1; else HAVE_TOP=0; fi
}

# ---- servers ----------------------------------------------------------------
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Private copies of the server binaries: their command names (natsd-bench,
# nginx-bench) keep them out of anyone's `pkill nats-server` on a shared box.
start_nats() {
	"$WORK/bin/natsd-bench" -a 127.0.0.1 -p "$NATS_PORT" >>"$WORK/nats-server.log" 2>&1 &
	NATS_PID=$!; track $NATS_PID
	local i
	for i in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null && return 0
		sleep 0.05
	done
	log "nats-server did not come up"; return 1
}

start_nginx() {
	nginx_start "$WORK/bin/nginx-bench" "$WORK/nginx" "$HTTP_URL"
	local up=$?
	track $NGINX_PID
	[ $up = 0 ] || { log "nginx did not come up"; return 1; }
	NGINX_WORKER=$(pgrep -P "$NGINX_PID" | head -1)
	track "$NGINX_WORKER"
}

start_servers() {
	NATS_PORT=$(free_port); HTTP_PORT=$(free_port)
	NATS_URL=nats://127.0.0.1:$NATS_PORT
	HTTP_URL=http://127.0.0.1:$HTTP_PORT/small
	cp "$(command -v nats-server)" "$WORK/bin/natsd-bench"
	cp "$(command -v nginx)" "$WORK/bin/nginx-bench"
	nginx_site "$WORK/nginx" "$HTTP_PORT"
	chmod -R a+rX "$WORK"
	start_nats && start_nginx || return 1
	log "nats-server pid $NATS_PID on $NATS_PORT; nginx master $NGINX_PID worker $NGINX_WORKER on $HTTP_PORT"
}

# Someone else's clean-up may have killed a server: bring it back, say so.
ensure_servers() {
	if ! kill -0 "$NATS_PID" 2>/dev/null; then
		log "  nats-server (pid $NATS_PID) is gone: restarting it"
		wait "$NATS_PID" 2>/dev/null; start_nats
	fi
	if ! kill -0 "$NGINX_WORKER" 2>/dev/null || ! kill -0 "$NGINX_PID" 2>/dev/null; then
		log "  nginx (pid $NGINX_PID/$NGINX_WORKER) is gone: restarting it"
		kill -TERM "$NGINX_PID" 2>/dev/null; wait "$NGINX_PID" 2>/dev/null; start_nginx
	fi
}

# ---- the tracer under test ----------------------------------------------------
# start_tracer MODE PIDS RUNDIR COMPLETE  -> MSPID (empty for untraced)
start_tracer() {
	local mode=$1 pids=$2 dir=$3 complete=$4 out=/dev/null
	MSPID="" COUNTPID=""
	[ "$mode" = untraced ] && return 0
	if [ "$complete" = 1 ]; then
		mkfifo "$dir/trace.fifo"
		"$WORK/bin/trace_count" <"$dir/trace.fifo" >"$dir/counts.json" &
		COUNTPID=$!; track $COUNTPID
		out=-
	fi
	case $mode in
	sys) echo "$MS trace -o $out" >"$dir/cmd"
	     if [ "$complete" = 1 ]; then "$MS" trace -o - >"$dir/trace.fifo" 2>"$dir/ms.err" &
	     else "$MS" trace -o /dev/null 2>"$dir/ms.err" & fi ;;
	sys19) echo "$MS trace --nice 19 -o $out" >"$dir/cmd"
	     "$MS" trace --nice 19 -o /dev/null 2>"$dir/ms.err" & ;;
	sys0) echo "$MS trace --nice 0 -o $out" >"$dir/cmd"
	     "$MS" trace --nice 0 -o /dev/null 2>"$dir/ms.err" & ;;
	pair) echo "$MS trace --pair-local -o $out" >"$dir/cmd"
	     if [ "$complete" = 1 ]; then "$MS" trace --pair-local -o - >"$dir/trace.fifo" 2>"$dir/ms.err" &
	     else "$MS" trace --pair-local -o /dev/null 2>"$dir/ms.err" & fi ;;
	pid) echo "$MS trace -p $pids -o $out" >"$dir/cmd"
	     if [ "$complete" = 1 ]; then "$MS" trace -p "$pids" -o - >"$dir/trace.fifo" 2>"$dir/ms.err" &
	     else "$MS" trace -p "$pids" -o /dev/null 2>"$dir/ms.err" & fi ;;
	tui) echo "$MS top -b -d 1 >/dev/null" >"$dir/cmd"
	     "$MS" top -b -d 1 >/dev/null 2>"$dir/ms.err" & ;;
	esac
	MSPID=$!; track $MSPID
	sample_tracer "$MSPID" "$dir/ms.sample" &
	track $!
	# Ready when its syscall probe is attached (and, for trace, it says so:
	# after every probe is).
	local i
	for i in $(seq 1 600); do
		kill -0 "$MSPID" 2>/dev/null || { log "  msgscope exited at start: $(tail -2 "$dir/ms.err")"; return 1; }
		if probe_attached "$MSPID"; then
			[ "$mode" = tui ] && { sleep 0.5; return 0; }
			grep -q 'msgscope: tracing' "$dir/ms.err" && return 0
		fi
		sleep 0.05
	done
	log "  msgscope not ready after 30 s"
	return 1
}

# stop_tracer DIR T_GO T_DONE CPU0 — writes DIR/tracer.json
stop_tracer() {
	local dir=$1 tgo=$2 tdone=$3 cpu0=$4
	local c_prev c_cur i tq hwm rss anon file shmem drops rc foreign
	foreign=$(foreign_tracers "$MSPID")
	NEW_PROGS=$(( $(max_prog_id) > PROG_ID_GO ? 1 : 0 ))
	if [ -z "$MSPID" ]; then
		snap_end
		printf '{"mode":"untraced","pre_busy":%s,"foreign_before":"%s","foreign_after":"%s","new_progs":%s,"foreign_cpu_pct":%s}\n' \
			"$PRE_BUSY" "$PRE_FOREIGN" "$foreign" "$NEW_PROGS" "$FOREIGN_CPU" >"$dir/tracer.json"
		return 0
	fi
	# Let it drain what is still in the ring: CPU flat for 300 ms (at most
	# DRAIN_MAX s; a tracer still busy then is reported with its drain time).
	local c_done
	cpu_ticks_var c_prev "$MSPID"; c_done=$c_prev
	for i in $(seq 1 $(( ${DRAIN_MAX:-10} * 10 ))); do
		nap 0.1
		cpu_ticks_var c_cur "$MSPID"
		if [ $(( c_cur - c_prev )) -le 1 ]; then
			nap 0.2; cpu_ticks_var c_cur "$MSPID"
			[ $(( c_cur - c_prev )) -le 2 ] && break
		fi
		c_prev=$c_cur
	done
	tq=$(now)
	c_cur=$(cpu_ticks "$MSPID")
	hwm=$(status_kb "$MSPID" VmHWM); rss=$(status_kb "$MSPID" VmRSS)
	anon=$(status_kb "$MSPID" RssAnon); file=$(status_kb "$MSPID" RssFile); shmem=$(status_kb "$MSPID" RssShmem)
	if [ "$c_cur" -lt 0 ] || [ -z "$hwm" ]; then
		# gone already: its last sample
		read -r c_cur hwm rss anon file shmem <"$dir/ms.sample" 2>/dev/null
		[ "$c_done" -lt 0 ] && c_done=$c_cur
	fi
	local tint
	tint=$(now)
	kill -INT "$MSPID" 2>/dev/null
	# A completeness run waits longer: its end line is the accounting.
	wait_pid "$MSPID" "$([ -n "$COUNTPID" ] && echo "${STOP_MAX_COMPLETE:-180}" || echo "${STOP_MAX:-15}")"; rc=$?
	tint=$(python3 -c "print(round($(now) - $tint, 2))")
	[ -n "$COUNTPID" ] && wait_pid "$COUNTPID" 30
	rm -f "$dir/trace.fifo" # git cannot keep a fifo, and cp -r would block on it
	snap_end
	drops=$(grep -o 'dropped: ring buffer full (total [0-9]*' "$dir/ms.err" | tail -1 | grep -o '[0-9]*$')
	# times it shed (--overload-snaplen): one stderr line each
	sheds=$(grep -c 'outruns msgscope at any priority' "$dir/ms.err")
	python3 - "$dir/tracer.json" <<EOF
import json, sys
tgo, tdone, tq = $tgo, $tdone, $tq
# CPU while the load ran, as % of one core (what the target is about),
# and over load + drain: both are CPU time over the wall time it was spent
# in (dividing the drain's CPU by the load's wall time gave >100% once).
cpu_load = ($c_done - $cpu0) / $(getconf CLK_TCK)
cpu = ($c_cur - $cpu0) / $(getconf CLK_TCK)
json.dump({"mode": "$MODE", "mspid": $MSPID, "exit": $rc,
  "cpu_s": cpu, "cpu_load_s": cpu_load, "wall_s": tdone - tgo, "drain_s": tq - tdone,
  "cpu_pct": 100.0 * cpu_load / (tdone - tgo),
  "cpu_pct_with_drain": 100.0 * cpu / (tq - tgo), "stop_s": $tint,
  "hwm_kb": int("${hwm:-0}"), "rss_kb": int("${rss:-0}"), "rss_anon_kb": int("${anon:-0}"),
  "rss_file_kb": int("${file:-0}"), "rss_shmem_kb": int("${shmem:-0}"),
  "drops_stderr": None if "$MODE" == "tui" else int("${drops:-0}"),
  "sheds_stderr": None if "$MODE" == "tui" else int("${sheds:-0}"), "pre_busy": $PRE_BUSY,
  "foreign_before": "$PRE_FOREIGN", "foreign_after": "$foreign",
  "new_progs": $NEW_PROGS, "foreign_cpu_pct": $FOREIGN_CPU,
  "msgscope_sha": "$MS_SHA", "tree": "$MS_COMMIT"}, open(sys.argv[1], "w"))
EOF
}

# ---- one run of each kind ----------------------------------------------------
# Each: rundir, then start clients (connected, waiting), tracer, GO, wait.

run_pubsub() { # SIZE RATE DIR COMPLETE
	local size=$1 rate=$2 dir=$3 complete=$4 subj pub sub cpu0 tgo tdone
	subj="bench.$(basename "$(dirname "$(dirname "$dir")")").$RANDOM"
	"$WORK/bin/nats_bench" sub -s "$NATS_URL" -S "$subj" -n "$size" -t 30 >"$dir/sub.out" 2>"$dir/sub.err" &
	sub=$!; track $sub
	wait_line "$dir/sub.out" READY 30 || { log "  sub not ready"; return 1; }
	"$WORK/bin/nats_bench" pub -s "$NATS_URL" -S "$subj" -n "$size" -r "$rate" -d "$NATS_DUR" -w \
		>"$dir/pub.out" 2>"$dir/pub.err" &
	pub=$!; track $pub
	wait_line "$dir/pub.out" READY 30 || { log "  pub not ready"; return 1; }
	start_tracer "$MODE" "$pub,$sub" "$dir" "$complete" || return 1
	echo "{\"pub\":$pub,\"sub\":$sub,\"server\":$NATS_PID,\"subject\":\"$subj\"}" >"$dir/pids.json"
	cpu0=$([ -n "$MSPID" ] && cpu_ticks "$MSPID" || echo 0)
	PROG_ID_GO=$(max_prog_id)
	tgo=$(now)
	kill -USR1 "$pub"
	wait_pid "$pub" $(( NATS_DUR + 90 ))
	wait_pid "$sub" 60
	tdone=$(now)
	stop_tracer "$dir" "$tgo" "$tdone" "$cpu0"
}

run_reqrep() { # SIZE DIR COMPLETE
	local size=$1 dir=$2 complete=$3 subj req rep cpu0 tgo tdone
	subj="bench.rr.$RANDOM"
	"$WORK/bin/nats_bench" reply -s "$NATS_URL" -S "$subj" -n "$size" -t $(( NATS_DUR + 60 )) \
		>"$dir/reply.out" 2>"$dir/reply.err" &
	rep=$!; track $rep
	wait_line "$dir/reply.out" READY 30 || { log "  reply not ready"; return 1; }
	"$WORK/bin/nats_bench" req -s "$NATS_URL" -S "$subj" -n "$size" -d "$NATS_DUR" -w \
		>"$dir/req.out" 2>"$dir/req.err" &
	req=$!; track $req
	wait_line "$dir/req.out" READY 30 || { log "  req not ready"; return 1; }
	start_tracer "$MODE" "$req,$rep" "$dir" "$complete" || return 1
	echo "{\"req\":$req,\"reply\":$rep,\"server\":$NATS_PID,\"subject\":\"$subj\"}" >"$dir/pids.json"
	cpu0=$([ -n "$MSPID" ] && cpu_ticks "$MSPID" || echo 0)
	PROG_ID_GO=$(max_prog_id)
	tgo=$(now)
	kill -USR1 "$req"
	wait_pid "$req" $(( NATS_DUR + 60 ))
	wait_pid "$rep" 30
	tdone=$(now)
	stop_tracer "$dir" "$tgo" "$tdone" "$cpu0"
}

# wrk connects as it starts, so it is started stopped (SIGSTOP before exec:
# same pid), the tracer attached to that pid, then let go.
run_wrk() { # DIR COMPLETE
	local dir=$1 complete=$2 w cpu0 tgo tdone i st
	echo "wrk -t1 -c32 -d${WRK_DUR}s --latency $HTTP_URL" >"$dir/client_cmd"
	bash -c 'kill -STOP $$; exec wrk -t1 -c32 -d'"$WRK_DUR"'s --latency '"$HTTP_URL" >"$dir/wrk.out" 2>"$dir/wrk.err" &
	w=$!; track $w
	for i in $(seq 1 100); do
		proc_state_var st "$w" && [ "$st" = T ] && break
		nap 0.02
	done
	start_tracer "$MODE" "$w" "$dir" "$complete" || { kill -CONT "$w"; return 1; }
	echo "{\"client\":$w,\"server\":$NGINX_WORKER}" >"$dir/pids.json"
	cpu0=$([ -n "$MSPID" ] && cpu_ticks "$MSPID" || echo 0)
	PROG_ID_GO=$(max_prog_id)
	tgo=$(now)
	kill -CONT "$w"
	wait_pid "$w" $(( WRK_DUR + 30 ))
	tdone=$(now)
	stop_tracer "$dir" "$tgo" "$tdone" "$cpu0"
}

run_http_rate() { # RATE DIR COMPLETE
	local rate=$1 dir=$2 complete=$3 c cpu0 tgo tdone
	echo "http_rate -r $rate -c 32 -d $WRK_DUR $HTTP_URL" >"$dir/client_cmd"
	"$WORK/bin/http_rate" -r "$rate" -c 32 -d "$WRK_DUR" -w "$HTTP_URL" >"$dir/http_rate.out" 2>"$dir/http_rate.err" &
	c=$!; track $c
	wait_line "$dir/http_rate.out" READY 30 || { log "  http_rate not ready"; return 1; }
	start_tracer "$MODE" "$c" "$dir" "$complete" || return 1
	echo "{\"client\":$c,\"server\":$NGINX_WORKER}" >"$dir/pids.json"
	cpu0=$([ -n "$MSPID" ] && cpu_ticks "$MSPID" || echo 0)
	PROG_ID_GO=$(max_prog_id)
	tgo=$(now)
	kill -USR1 "$c"
	wait_pid "$c" $(( WRK_DUR + 30 ))
	tdone=$(now)
	stop_tracer "$dir" "$tgo" "$tdone" "$cpu0"
}

# ---- cases ------------------------------------------------------------------
# name kind args
CASES=(
	"nats-16-max pubsub 16 0"
	"nats-256-max pubsub 256 0"
	"nats-4k-max pubsub 4096 0"
	"nats-16-10k pubsub 16 10000"
	"nats-256-10k pubsub 256 10000"
	"nats-4k-10k pubsub 4096 10000"
	"nats-16-100k pubsub 16 100000"
	"nats-256-100k pubsub 256 100000"
	"nats-4k-100k pubsub 4096 100000"
	"nats-reqrep-256 reqrep 256"
	"http-wrk wrk"
	"http-rate-10k http_rate 10000"
)

# A run is "disturbed" when another BPF tracer was attached, BPF programs were
# loaded during it, or other processes took more than FOREIGN_MAX % of a core.
FOREIGN_MAX=${FOREIGN_MAX:-15}
ATTEMPTS=${ATTEMPTS:-2}
disturbed() { # DIR -> prints a reason, status 0 if disturbed
	python3 - "$1/tracer.json" "$FOREIGN_MAX" <<'EOF'
import json, sys
try:
    t = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(1)
why = []
if t.get("foreign_before", "").strip() or t.get("foreign_after", "").strip():
    why.append("foreign tracer %s/%s" % (t.get("foreign_before", "").strip(), t.get("foreign_after", "").strip()))
if t.get("new_progs"):
    why.append("BPF programs loaded during the run")
if t.get("foreign_cpu_pct", 0) > float(sys.argv[2]):
    why.append("other processes used %.0f%% of a core" % t["foreign_cpu_pct"])
print("; ".join(why))
sys.exit(0 if why else 1)
EOF
}

run_case_once() { # CASE-LINE MODE IDX COMPLETE
	local line=$1 name kind a1 a2 dir attempt why rc
	MODE=$2
	read -r name kind a1 a2 <<<"$line"
	dir=$OUT/raw/$name/$MODE/$3
	for attempt in $(seq 1 "$ATTEMPTS"); do
		rm -rf "$dir"; mkdir -p "$dir"
		ensure_servers
		wait_quiet
		snap_begin
		case $kind in
		pubsub) run_pubsub "$a1" "$a2" "$dir" "$4" ;;
		reqrep) run_reqrep "$a1" "$dir" "$4" ;;
		wrk) run_wrk "$dir" "$4" ;;
		http_rate) run_http_rate "$a1" "$dir" "$4" ;;
		esac
		rc=$?
		[ $rc = 0 ] || { log "  $name/$MODE/$3 failed"; echo failed >"$dir/FAILED"; }
		log "  $name $MODE #$3 $(python3 "$BENCH_DIR/report.py" --one "$dir" 2>/dev/null)"
		why=$(disturbed "$dir") || break
		echo "$why" >"$dir/DISTURBED"
		[ "$attempt" -lt "$ATTEMPTS" ] && log "  disturbed ($why): again"
	done
}

# ---- profile: where the time goes, nats-256-max system-wide -------------------
profile() {
	local dir=$OUT/profile line="nats-256-max pubsub 256 0" pub sub cpu0 tgo tdone subj
	mkdir -p "$dir"
	ensure_servers
	log "profile: nats-256-max, msgscope trace -o /dev/null system-wide, bpf_stats on, perf"
	MODE=sys
	wait_quiet
	sysctl -qw kernel.bpf_stats_enabled=1
	subj=bench.profile.$RANDOM
	"$WORK/bin/nats_bench" sub -s "$NATS_URL" -S "$subj" -n 256 -t 30 >"$dir/sub.out" 2>"$dir/sub.err" &
	sub=$!; track $sub; wait_line "$dir/sub.out" READY 10
	"$WORK/bin/nats_bench" pub -s "$NATS_URL" -S "$subj" -n 256 -r 0 -d "$NATS_DUR" -w >"$dir/pub.out" 2>"$dir/pub.err" &
	pub=$!; track $pub; wait_line "$dir/pub.out" READY 10
	snap_begin
	start_tracer sys "" "$dir" 0 || { sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_ORIG"; return 1; }
	held_prog_ids "$MSPID" >"$dir/prog_ids"
	bpftool -j prog show >"$dir/bpf_before.json" 2>/dev/null
	perf record -q -g -p "$MSPID" -o "$WORK/perf.msgscope.data" -- sleep "$NATS_DUR" >/dev/null 2>&1 &
	local perf1=$!; track $perf1
	perf record -q -a -o "$WORK/perf.all.data" -- sleep "$NATS_DUR" >/dev/null 2>&1 &
	local perf2=$!; track $perf2
	cpu0=$(cpu_ticks "$MSPID"); PROG_ID_GO=$(max_prog_id); tgo=$(now)
	kill -USR1 "$pub"
	wait_pid "$pub" $(( NATS_DUR + 90 )); wait_pid "$sub" 60; tdone=$(now)
	wait_pid $perf1 30; wait_pid $perf2 30
	bpftool -j prog show >"$dir/bpf_after.json" 2>/dev/null
	stop_tracer "$dir" "$tgo" "$tdone" "$cpu0"
	sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_ORIG"
	echo "{\"pub\":$pub,\"sub\":$sub,\"server\":$NATS_PID}" >"$dir/pids.json"
	perf report -i "$WORK/perf.msgscope.data" --stdio --no-children --sort symbol 2>/dev/null |
		grep -v '^$' | grep -E '^ +[0-9]' | head -40 >"$dir/perf.msgscope.top.txt"
	perf report -i "$WORK/perf.all.data" --stdio --no-children --sort comm,dso 2>/dev/null |
		grep -E '^ +[0-9]' | head -40 >"$dir/perf.all.comm_dso.txt"
	perf report -i "$WORK/perf.all.data" --stdio --no-children --sort comm,symbol 2>/dev/null |
		grep -E '^ +[0-9]' | head -60 >"$dir/perf.all.comm_sym.txt"
	python3 "$BENCH_DIR/report.py" --bpf "$dir" >"$dir/bpf_stats.txt" 2>&1
	log "profile: $(head -3 "$dir/perf.msgscope.top.txt" | tr -s ' ' | tr '\n' ';')"
}

# ---- soak: msgscope's memory over 10 minutes at a steady rate -------------------
soak() {
	local dir=$OUT/soak pub sub i subj t0
	mkdir -p "$dir"
	ensure_servers
	log "soak: ${SOAK_MIN} min, ${SOAK_RATE} msgs/s of 256 B, msgscope trace -o /dev/null system-wide"
	MODE=sys
	wait_quiet
	subj=bench.soak.$RANDOM
	"$WORK/bin/nats_bench" sub -s "$NATS_URL" -S "$subj" -n 256 -t 60 >"$dir/sub.out" 2>"$dir/sub.err" &
	sub=$!; track $sub; wait_line "$dir/sub.out" READY 10
	"$WORK/bin/nats_bench" pub -s "$NATS_URL" -S "$subj" -n 256 -r "$SOAK_RATE" -d $(( SOAK_MIN * 60 )) -w \
		>"$dir/pub.out" 2>"$dir/pub.err" &
	pub=$!; track $pub; wait_line "$dir/pub.out" READY 10
	snap_begin
	start_tracer sys "" "$dir" 0 || return 1
	PROG_ID_GO=$(max_prog_id)
	t0=$(date +%s)
	kill -USR1 "$pub"
	echo "t_s rss_kb hwm_kb anon_kb cpu_ticks" >"$dir/rss.txt"
	for i in $(seq 0 $(( SOAK_MIN * 6 ))); do
		echo "$(( $(date +%s) - t0 )) $(status_kb "$MSPID" VmRSS) $(status_kb "$MSPID" VmHWM) $(status_kb "$MSPID" RssAnon) $(cpu_ticks "$MSPID")" >>"$dir/rss.txt"
		kill -0 "$pub" 2>/dev/null || break
		sleep $(( t0 + (i + 1) * 10 - $(date +%s) > 0 ? t0 + (i + 1) * 10 - $(date +%s) : 0 ))
	done
	wait_pid "$pub" 90; wait_pid "$sub" 60
	stop_tracer "$dir" "$t0" "$(now)" 0
	python3 "$BENCH_DIR/report.py" --soak "$dir" | tee -a "$LOG"
}

# ---- main -------------------------------------------------------------------
main() {
	build || exit 1
	start_servers || exit 1
	local modes=(untraced sys sys0 pid) m
	[ "$HAVE_TOP" = 1 ] && modes+=(tui)
	if [ -n "$MODES_WANTED" ]; then
		local want=() x
		IFS=, read -r -a want <<<"$MODES_WANTED"
		modes=()
		for x in "${want[@]}"; do
			if [ "$x" = tui ] && [ "$HAVE_TOP" != 1 ]; then continue; fi
			modes+=("$x")
		done
	fi
	{
		echo "--- invocation ---"
		echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
		echo "kernel: $(uname -r)"
		echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
		echo "msgscope: sha256 $MS_SHA, tree '$MS_COMMIT', $MS_DIRTY modified tracked files; build: $MS_BUILD"
		echo "nats-server: $(nats-server --version)"
		echo "nginx: $(nginx -v 2>&1)"
		echo "wrk: $(wrk -v 2>&1 | head -1)"
		echo "libnats: $(grep -m1 'NATS_VERSION_STRING' /usr/include/nats/version.h | awk '{print $3}')"
		echo "runs per mode: $RUNS; NATS run: ${NATS_DUR}s; HTTP run: ${WRK_DUR}s; modes: ${modes[*]}"
		[ "$HAVE_TOP" = 1 ] || echo "tui: msgscope top -b not available yet ('msgscope top --help' fails in this build): TUI batch case skipped"
		echo "command: bench/run.sh$ARGS_GIVEN"
		echo "settings: WAIT_TRACER=${WAIT_TRACER:-120} WAIT_BUSY=${WAIT_BUSY:-30} ATTEMPTS=$ATTEMPTS FOREIGN_MAX=$FOREIGN_MAX DRAIN_MAX=${DRAIN_MAX:-10} STOP_MAX=${STOP_MAX:-15} STOP_MAX_COMPLETE=${STOP_MAX_COMPLETE:-180}"
	} >"$WORK/env.txt"
	cat "$WORK/env.txt" >>"$OUT/env.txt"
	while read -r l; do log "$l"; done <"$WORK/env.txt"
	if [ "$PROFILE_ONLY" = 1 ]; then
		profile
	elif [ "$SOAK_ONLY" = 0 ]; then
		local line name i
		for line in "${CASES[@]}"; do
			name=${line%% *}
			[ -n "$ONLY" ] && ! [[ $name =~ $ONLY ]] && continue
			log "case $name"
			# A/B interleaved, each round starting one mode later
			# (untraced, sys, pid, tui; then sys, pid, tui, untraced; ...):
			# in a fixed order `top -b` always ran last, after three
			# 10 s wrk runs, and came out lower than an A/B of the two
			# gives (bench/RESULTS.md, 2026-12-06 last).
			for i in $(seq 1 "$([ "$COMPLETE_ONLY" = 1 ] && echo 0 || echo "$RUNS")"); do
				local k n=${#modes[@]}
				for k in $(seq 0 $((n - 1))); do
					run_case_once "$line" "${modes[$(( (k + i - 1) % n ))]}" "$i" 0
				done
			done
			# Completeness: one more traced run per mode, the trace written
			# to a pipe (-o -) and counted.
			for m in "${modes[@]}"; do
				case $m in sys|pair|pid) run_case_once "$line" "$m" complete 1 ;; esac
			done
		done
		[ "$PROFILE" = 1 ] && { [ -z "$ONLY" ] || [[ nats-256-max =~ $ONLY ]]; } && profile
	fi
	[ "$SOAK" = 1 ] && soak
	python3 "$BENCH_DIR/report.py" "$OUT" >"$OUT/summary.md"
	log "done: $OUT/summary.md"
	cat "$OUT/summary.md"
}

main
