#!/bin/bash
# (run 2 added M64: percpu-area-64k.patch, the same with a 64 KiB area)
# build one release binary per ablation patch from /tmp/abl (a clone of HEAD)
set -e
cd /tmp/abl
[ -f /tmp/relabl/build.ninja ] || meson setup /tmp/relabl -Dbuildtype=release >/dev/null
for v in "C:/work/main/bench/results/wrk-ablate-20261207/ring-choice-only.patch" \
         "R:/tmp/ablp/reserve-discard.patch" \
         "RC:/work/main/bench/results/wrk-ablate-20261207/reserve-copy-discard.patch" \
         "M:/tmp/ablp/percpu-area.patch"; do
	n=${v%%:*}; p=${v#*:}
	git checkout -q .
	git apply "$p"
	meson compile -C /tmp/relabl msgscope >/dev/null
	cp /tmp/relabl/msgscope /tmp/ablp/ms_$n
	echo built $n
done
git checkout -q .
