#!/bin/sh
# SPDX-License-Identifier: MIT
# capture.sh DEST [PID] — copy the /proc files host_metrics reads into
# DEST/proc and mirror /sys/block as empty dirs into DEST/sys/block.
# PID's stat becomes DEST/proc/self/stat (default: this shell), so a busy
# process can stand in for "the sampler itself".
# Files are copied with cat: procfs files report size 0.
set -eu
dest=$1
pid=${2:-$$}
mkdir -p "$dest/proc/net" "$dest/proc/pressure" "$dest/proc/self" \
	"$dest/sys/block"
for f in uptime loadavg stat meminfo vmstat diskstats net/dev; do
	cat "/proc/$f" >"$dest/proc/$f"
done
for f in cpu memory io; do
	if [ -r "/proc/pressure/$f" ]; then
		cat "/proc/pressure/$f" >"$dest/proc/pressure/$f" || true
	fi
done
cat "/proc/$pid/stat" >"$dest/proc/self/stat"
for b in /sys/block/*; do
	# git keeps no empty dir: the placeholder file keeps it
	mkdir -p "$dest/sys/block/${b##*/}"
	: >"$dest/sys/block/${b##*/}/.keep"
done
