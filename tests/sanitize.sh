#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/sanitize.sh — the unit tests built with AddressSanitizer and
# UndefinedBehaviorSanitizer, in a build directory of their own, so the
# normal build stays an ordinary (fast, unsanitised) one.
#
#   tests/sanitize.sh [MESON TEST ARGS...]      e.g. tests/sanitize.sh nats_parser
#
# Environment:
#   SANITIZE_BUILD  build directory (default <repo>/build-asan)
#   SANITIZE_CC     compiler (default: meson's choice, gcc on Debian; the fuzz
#                   targets use clang, so both compilers' sanitizers run)
#
# Why a script and a second build directory rather than a meson option:
# b_sanitize applies to the whole build (the msgscope binary and natsc
# included), so the sanitised unit tests cannot live in the same build
# directory as the normal ones; a script that owns its own directory is
# what both CI and a developer can run with one command, and it is wired
# into the normal build as the meson test 'sanitize' (suite 'sanitize').
#
# Any sanitizer report fails the test it happens in: ASan aborts by itself,
# UBSan is made to (-fno-sanitize-recover=all and halt_on_error=1), and
# LeakSanitizer runs at exit (detect_leaks=1).
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
build=${SANITIZE_BUILD:-$repo/build-asan}
cd "$repo"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-}
# Called from an outer `meson test`: do not inherit its test-harness knobs.
unset MALLOC_PERTURB_ MESON_TEST_ITERATION

if [ ! -f "$build/build.ninja" ]; then
	env ${SANITIZE_CC:+CC=$SANITIZE_CC} meson setup "$build" \
		-Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debug -Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all \
		>"$build.setup.log" 2>&1 || {
		cat "$build.setup.log" >&2
		echo "sanitize: meson setup $build failed" >&2
		exit 1
	}
fi

# A test added since the directory was set up must be in the list below:
# regenerate first (a no-op when no meson.build changed).
ninja -C "$build" build.ninja >/dev/null 2>&1

# Only what the unit tests need: the BPF object, msgscope and natsc are
# not built here.
mapfile -t targets < <(meson introspect --tests "$build" 2>/dev/null | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    if any(s == "unit" or s.endswith(":unit") for s in t.get("suite", [])):
        print(os.path.basename(t["cmd"][0]))
')
if [ "${#targets[@]}" -eq 0 ]; then
	echo "sanitize: no unit tests found in $build" >&2
	exit 1
fi
if ! meson compile -C "$build" "${targets[@]}" >"$build.compile.log" 2>&1; then
	cat "$build.compile.log" >&2
	echo "sanitize: building the sanitised unit tests failed" >&2
	exit 1
fi
meson test -C "$build" --no-rebuild --suite unit --print-errorlogs "$@"
