# SPDX-License-Identifier: MIT
# bench/lib.sh — small helpers the bench scripts share (sourced).

# Wait until FILE has a line starting with PATTERN (at most SECS).
wait_line() {
	local file=$1 pat=$2 secs=$3 i=0
	while ! grep -q "^$pat" "$file" 2>/dev/null; do
		i=$((i + 1)); [ $i -ge $(( secs * 20 )) ] && return 1
		sleep 0.05
	done
}

# utime + stime of PID in clock ticks; -1 when it is gone.
cpu_ticks() { local f; read -r -a f 2>/dev/null <"/proc/$1/stat" || { echo -1; return; }; echo $(( f[13] + f[14] )); }

# Whether PID has its syscall probe attached (bpftool perf lists it).
probe_attached() {
	bpftool perf 2>/dev/null | awk -v me="$1" '$1 == "pid" && $2 == me && /sys_exit/ { n++ } END { exit !n }'
}
