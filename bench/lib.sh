# SPDX-License-Identifier: MIT
# bench/lib.sh — small helpers the bench scripts share (sourced).

# The A/B scripts' arguments: two or more msgscope binaries, run as root.
# Exits with the script's message otherwise.
require_bins() { # SCRIPT BIN...
	local me=$1 b
	shift
	[ $# -ge 2 ] || { echo "$me: give two or more msgscope binaries (--help)" >&2; exit 2; }
	[ "$(id -u)" = 0 ] || { echo "$me: needs root" >&2; exit 1; }
	for b in "$@"; do
		[ -x "$b" ] || { echo "$me: $b is not executable" >&2; exit 1; }
	done
}

# Wait until FILE has a line starting with PATTERN (at most SECS).
wait_line() {
	local file=$1 pat=$2 secs=$3 i=0
	while ! grep -q "^$pat" "$file" 2>/dev/null; do
		i=$((i + 1)); [ $i -ge $(( secs * 20 )) ] && return 1
		sleep 0.05
	done
}

# utime + stime of PID in clock ticks; -1 when it is gone.
cpu_ticks() { local t; cpu_ticks_var t "$1"; echo "$t"; }

# The same into variable VAR, and PID's state letter (R, S, T, Z...; empty
# and false when it is gone): builtins only, no $(...) subshell, for polls
# that run beside a msgscope being measured.
cpu_ticks_var() { # VAR PID
	local -n _ctv=$1
	local f
	read -r -a f 2>/dev/null <"/proc/$2/stat" || { _ctv=-1; return; }
	_ctv=$(( f[13] + f[14] ))
}
proc_state_var() { # VAR PID
	local -n _psv=$1
	local line
	_psv=
	read -r line 2>/dev/null <"/proc/$2/stat" || return 1
	line=${line##*) } # past the command name, which may hold spaces
	_psv=${line%% *}
}

# Whether PID has its data hook attached (bpftool perf lists it): the
# socket send tracepoint, or on_sys_exit where the kernel lacks it.
probe_attached() {
	bpftool perf 2>/dev/null |
		awk -v me="$1" '$1 == "pid" && $2 == me && /sock_send_length|sys_exit/ { n++ } END { exit !n }'
}

# The set-up of the scripts that start tracers: root, $MS ($MSGSCOPE, else
# $ROOT/build/msgscope), a work directory $WORK named after TAG, no MSPID
# yet. When something is missing, the calling script ($ME) exits with a
# one-line error.
tracer_setup() { # TAG
	[ "$(id -u)" = 0 ] || { echo "$ME: needs root" >&2; exit 1; }
	MS=${MSGSCOPE:-$ROOT/build/msgscope}
	[ -x "$MS" ] || { echo "$ME: no msgscope at $MS (build it, or set MSGSCOPE)" >&2; exit 1; }
	WORK=$(mktemp -d "/tmp/msgscope-$1.XXXXXX")
	MSPID=""
}

# For an EXIT trap: stop a tracer still running, remove $WORK.
tracer_cleanup() {
	[ -n "$MSPID" ] && kill -INT "$MSPID" 2>/dev/null && wait "$MSPID" 2>/dev/null
	rm -rf "$WORK"
}

# Start `$MS trace ARGS... -o /dev/null` in the background, its stderr in
# $WORK/ms.err, and wait until its probes are attached: MSPID. A VAR=VALUE
# before the call reaches msgscope's environment. When it does not start,
# the calling script ($ME) exits.
tracer_start() {
	"$MS" trace "$@" -o /dev/null 2>"$WORK/ms.err" &
	MSPID=$!
	for _ in $(seq 1 300); do
		grep -q 'msgscope: tracing' "$WORK/ms.err" && { sleep 0.3; return 0; }
		kill -0 "$MSPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "$ME: msgscope did not start: $(tail -1 "$WORK/ms.err")" >&2
	exit 1
}

tracer_stop() {
	kill -INT "$MSPID" 2>/dev/null
	wait "$MSPID" 2>/dev/null
	MSPID=""
}

# Start nginx (the binary BIN) in the background on the site in DIR
# (nginx_site), its stdout appended to DIR/logs/stdout: NGINX_PID. Returns
# 1 unless URL answers within ~5 s.
nginx_start() { # BIN DIR URL
	"$1" -p "$2" -c "$2/nginx.conf" -e "$2/logs/error.log" >>"$2/logs/stdout" 2>&1 &
	NGINX_PID=$!
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "$3" 2>/dev/null && break
		sleep 0.05
	done
	curl -sf -o /dev/null "$3"
}

# For the ad-hoc scripts under results/: nginx_site in a fresh work
# directory, started on a random port, gone at exit. Sets WORK (the
# directory, where tracer_start puts ms.err) and URL; exits if nginx does
# not come up.
nginx_scratch() {
	local port=$((20000 + RANDOM % 20000))
	WORK=$(mktemp -d /tmp/msgscope-nginx.XXXX)
	URL=http://127.0.0.1:$port/small
	nginx_site "$WORK/ng" "$port"
	chmod -R a+rX "$WORK"
	nginx_start "$(command -v nginx)" "$WORK/ng" "$URL" ||
		{ echo "nginx did not come up" >&2; exit 1; }
	# (the pid now, so that later starts do not change what is killed)
	# shellcheck disable=SC2064
	trap "kill $NGINX_PID 2>/dev/null; wait; rm -rf '$WORK'" EXIT
}

# An nginx site in DIR for the HTTP cases: one worker, keep-alive for the
# whole run, a 100-byte /small, listening on 127.0.0.1:PORT. Start it with
# nginx -p DIR -c DIR/nginx.conf -e DIR/logs/error.log. Its workers run
# unprivileged: the caller makes the path to DIR readable.
nginx_site() { # DIR PORT
	local ng=$1
	mkdir -p "$ng/html" "$ng/logs" "$ng/tmp"
	head -c 100 /dev/zero | tr '\0' 'a' >"$ng/html/small"
	cat >"$ng/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $ng/nginx.pid;
error_log $ng/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile off;                  # body in the same writev as the headers
  keepalive_requests 100000000;  # keep-alive for the whole run
  keepalive_timeout 120s;
  client_body_temp_path $ng/tmp/body;
  proxy_temp_path $ng/tmp/proxy;
  fastcgi_temp_path $ng/tmp/fcgi;
  uwsgi_temp_path $ng/tmp/uwsgi;
  scgi_temp_path $ng/tmp/scgi;
  default_type text/plain;
  server {
    listen 127.0.0.1:$2;
    root $ng/html;
  }
}
EOF
}
