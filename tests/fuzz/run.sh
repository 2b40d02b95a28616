#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/fuzz/run.sh — build msgscope's libFuzzer targets against the pure
# sources (clang -fsanitize=fuzzer,address,undefined, nothing recovers),
# replay every kept regression input, then fuzz each target for a bounded
# time starting from its seed corpus.
#
#   tests/fuzz/run.sh [TARGET...]      (default: every tests/fuzz/fuzz_*.c)
#
# Environment:
#   FUZZ_SECONDS  seconds per target (default 60; 0: build + regressions only)
#   FUZZ_JOBS     targets fuzzed at once (default: number of CPUs, at most 4)
#   FUZZ_BUILD    build and working-corpus directory (default <repo>/build-fuzz)
#   CLANG         compiler (default clang)
#
# A crash, leak, timeout or sanitizer report is kept under
# tests/fuzz/crashes/<target>/ (its path is printed) and makes the script
# exit 1. Keep the input as a regression case once fixed:
#   mv tests/fuzz/crashes/T/crash-... tests/fuzz/regressions/T/<what-it-was>
# Reproduce one input:  build-fuzz/fuzz_T FILE
# The seed corpora (tests/fuzz/corpus/<target>/) are only read; what the
# fuzzer finds goes to $FUZZ_BUILD/corpus/<target>/ and is reused next run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-$repo/build-fuzz}
cc=${CLANG:-clang}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
[ "$jobs" -gt 4 ] && jobs=4
[ "$jobs" -lt 1 ] && jobs=1

# Longest input per target: enough for several messages of every kind, short
# enough that each run is fast. The NATS/HTTP line limits (64 KiB) are
# reached through gaps and kept regression inputs rather than huge inputs.
max_len_for() {
	case "$1" in
	conntrack|trace_reader) echo 16384 ;;
	*) echo 8192 ;;
	esac
}

die() { echo "fuzz: $*" >&2; exit 2; }

command -v "$cc" >/dev/null || die "$cc not found (clang with libFuzzer is needed)"
mkdir -p "$build/obj" "$build/corpus" || die "cannot create $build"

# ---- build ------------------------------------------------------------------
# The pure sources are exactly meson's pure_sources list, minus files not
# written yet.
mapfile -t pure < <(awk '/^pure_sources = files\(/ {on=1; next}
	on && /^\)/ {exit}
	on { while (match($0, /'"'"'[^'"'"']+'"'"'/)) { print substr($0, RSTART + 1, RLENGTH - 2); $0 = substr($0, RSTART + RLENGTH) } }' meson.build)
[ "${#pure[@]}" -gt 0 ] || die "no pure_sources found in meson.build"

cflags=(-std=gnu11 -D_GNU_SOURCE -DMSGSCOPE_VERSION='"fuzz"' -g -O1
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
	-Wall -Wno-unused-parameter -Wno-macro-redefined -Iinclude -Iuserspace -Itests/fuzz)
ldlibs=(-ljansson -lm)

# Objects are reused when their source, every header and the flags are
# unchanged, by content: modification times of files written from other
# machines (a shared checkout) cannot be trusted.
common_sum=$( { cat userspace/*.h include/*.h; printf '%s\n' "${cflags[@]}"; } | sha256sum | cut -c1-64)
compile_one() { # src obj sum
	rm -f "$2.sum"
	"$cc" "${cflags[@]}" -fsanitize=fuzzer-no-link -c "$1" -o "$2" && echo "$3" >"$2.sum"
}
objs=()
running=0
for src in "${pure[@]}"; do
	[ -f "$src" ] || { echo "fuzz: note: $src does not exist yet, skipped"; continue; }
	obj="$build/obj/$(basename "${src%.c}").o"
	sum="$common_sum $(sha256sum <"$src" | cut -c1-64)"
	if [ ! -f "$obj" ] || [ "$(cat "$obj.sum" 2>/dev/null)" != "$sum" ]; then
		compile_one "$src" "$obj" "$sum" &
		running=$((running + 1))
		if [ "$running" -ge "$jobs" ]; then
			wait -n
			running=$((running - 1))
		fi
	fi
	objs+=("$obj")
done
wait
for obj in "${objs[@]}"; do
	[ -f "$obj.sum" ] || die "compiling $(basename "${obj%.o}").c failed"
done

# A target needs the module it fuzzes: fuzz_trace_reader.c waits for
# userspace/trace_reader.c, and so on.
needs_module() {
	case "$1" in
	nats_parser|http_parser|conntrack|correlator|trace_reader) echo "userspace/$1.c" ;;
	*) echo "" ;;
	esac
}

targets=()
if [ $# -gt 0 ]; then
	targets=("$@")
else
	for f in tests/fuzz/fuzz_*.c; do
		t=$(basename "${f%.c}")
		targets+=("${t#fuzz_}")
	done
fi

built=()
running=0
for t in "${targets[@]}"; do
	src=tests/fuzz/fuzz_$t.c
	[ -f "$src" ] || die "no such target: $t ($src)"
	mod=$(needs_module "$t")
	if [ -n "$mod" ] && [ ! -f "$mod" ]; then
		echo "fuzz: note: $mod does not exist yet, target $t skipped"
		continue
	fi
	rm -f "$build/fuzz_$t"
	"$cc" "${cflags[@]}" -fsanitize=fuzzer "$src" "${objs[@]}" "${ldlibs[@]}" -o "$build/fuzz_$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	built+=("$t")
done
wait
for t in "${built[@]}"; do
	[ -x "$build/fuzz_$t" ] || die "building fuzz_$t failed"
done
[ "${#built[@]}" -gt 0 ] || die "no target built"
echo "fuzz: built ${built[*]} in $build"

# ---- regressions ------------------------------------------------------------
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
for t in "${built[@]}"; do
	dir=tests/fuzz/regressions/$t
	[ -d "$dir" ] || continue
	mapfile -t inputs < <(find "$dir" -type f ! -name '*.md' | sort)
	[ "${#inputs[@]}" -gt 0 ] || continue
	log="$build/regressions-$t.log"
	if "$build/fuzz_$t" -rss_limit_mb=2048 -timeout=30 "${inputs[@]}" >"$log" 2>&1; then
		echo "fuzz: $t: ${#inputs[@]} regression input(s) pass"
	else
		echo "fuzz: $t: a regression input fails (log: $log):"
		grep -E 'Running:|ERROR|runtime error|invariant|SUMMARY' "$log" | tail -n 20
		failed=1
	fi
done

# ---- fuzzing ----------------------------------------------------------------
if [ "$seconds" = 0 ]; then
	echo "fuzz: FUZZ_SECONDS=0: fuzzing skipped"
	exit $failed
fi

fuzz_one() {
	local t=$1 crashes="tests/fuzz/crashes/$t" work="$build/corpus/$t"
	local seeds="tests/fuzz/corpus/$t" log="$build/fuzz-$t.log" rc
	local dict="tests/fuzz/$t.dict"
	local args=(-max_total_time="$seconds" -max_len="$(max_len_for "$t")"
		    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
		    -artifact_prefix="$crashes/")

	mkdir -p "$crashes" "$work"
	[ -f "$dict" ] && args+=(-dict="$dict")
	[ -d "$seeds" ] || seeds=
	"$build/fuzz_$t" "${args[@]}" "$work" ${seeds:+"$seeds"} >"$log" 2>&1
	rc=$?
	echo "$rc" >"$log.rc"
}

echo "fuzz: fuzzing ${built[*]} for ${seconds}s each, $jobs at a time"
start=$(date +%s)
running=0
for t in "${built[@]}"; do
	# Artifacts older than this run are not this run's findings.
	find "tests/fuzz/crashes/$t" -type f 2>/dev/null | sort >"$build/before-$t"
	fuzz_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

for t in "${built[@]}"; do
	log="$build/fuzz-$t.log"
	rc=$(cat "$log.rc" 2>/dev/null || echo 99)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	secs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+' "$log" | tail -n 1)
	new=$(comm -13 "$build/before-$t" <(find "tests/fuzz/crashes/$t" -type f | sort))
	if [ "$rc" != 0 ] || [ -n "$new" ]; then
		failed=1
		echo "fuzz: $t: FAILED (rc $rc; log: $log)"
		grep -E 'ERROR|runtime error|invariant failed|SUMMARY|Test unit written' "$log" | head -n 20
		for f in $new; do echo "fuzz: crash input: $repo/$f"; done
	else
		echo "fuzz: $t: ok, ${execs:-?} runs in ${seconds}s (${secs:-?}/s), ${cov:-no coverage line}"
	fi
done
echo "fuzz: done in $(( $(date +%s) - start ))s"
exit $failed
