#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/tls_vs_sslsniff.sh — msgscope's TLS plaintext capture next to bcc's
# sslsniff on the same TLS workloads: which messages each one sees, what the
# workload pays, what the tracer itself burns.
#
#   bench/tls_vs_sslsniff.sh [--setup-bcc]
#
# Workloads (all on 127.0.0.1, certificate made here with openssl):
#   nats   natsc (libnats/OpenSSL) publishes N_NATS messages over TLS to
#          nats-server (Go crypto/tls); a natsc subscriber receives them.
#   https  one curl (OpenSSL) fetches N_HTTP small files from nginx (OpenSSL)
#          over one keep-alive HTTPS connection.
# Tracers, each started before the workload and stopped after it:
#   none              the baseline
#   msgscope          `msgscope trace -c COMM`, TLS probes on
#   msgscope-notls    the same with MSGSCOPE_NO_TLS=1 (syscall hooks only)
#   sslsniff          bcc's sslsniff-bpfcc -c COMM, output to a file
# Both tracers follow the client program only (-c, the clients run as
# tlsb-natsc and tlsb-curl) so that other traffic on the host weighs on
# neither; sslsniff cannot see Go's crypto/tls at all, so msgscope's
# server-side view is measured apart (msgscope-server: -p nats-server, with
# the default snaplen and with -s 65536).
# Modes are interleaved run by run: the host's load changes weigh on all.
#
# Seen: NATS PUB and MSG operations (msgscope: records; sslsniff: "PUB
# bench.tls " / "MSG bench.tls " in its dumps), HTTP requests and responses.
# Cost: median workload wall time over REPS runs, and the tracer's CPU time
# (utime+stime after it is ready, until it is stopped: a trace's tail may
# still be written after that).
#
# sslsniff (bpfcc-tools 0.26) needs kernel headers and, with Debian 12's
# 6.1 headers, a one-token fix of its BPF text (the kernel's min() no
# longer compiles for BPF): it runs from a patched copy in the temp dir.
# --setup-bcc links /lib/modules/$(uname -r)/{build,source} to the
# installed linux-headers-*-amd64 when the running kernel has none.
#
# Environment: MSGSCOPE (default build/msgscope), NATSC, N_NATS (20000),
# N_HTTP (2000), REPS (3), PAYLOAD (128 bytes).
set -u
cd "$(dirname "$0")/.."

MSGSCOPE=${MSGSCOPE:-build/msgscope}
N_NATS=${N_NATS:-20000}
N_HTTP=${N_HTTP:-2000}
REPS=${REPS:-3}
PAYLOAD_SIZE=${PAYLOAD:-128}
SETUP_BCC=0
[ "${1:-}" = "--setup-bcc" ] && SETUP_BCC=1

die() { echo "tls_vs_sslsniff: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$MSGSCOPE" ] || die "no msgscope at $MSGSCOPE (set MSGSCOPE)"
for t in nats-server nginx curl openssl python3; do
	command -v $t >/dev/null || [ -x /usr/sbin/$t ] || die "missing $t"
done

W=$(mktemp -d /tmp/msgscope-tlsbench.XXXXXX)
chmod 755 "$W"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
wait_for() { # file text timeout_s
	for _ in $(seq 1 $(( $3 * 10 ))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

# ---- fixtures ----------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/key.pem" -out "$W/cert.pem" -days 2 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null ||
	die "openssl req failed"
chmod 644 "$W"/*.pem

# The clients run under names of their own, so that `-c` picks them and
# nothing else that runs on the host (other natsc or curl processes).
NATSC_SRC=${NATSC:-}
NATSC=$W/tlsb-natsc
if [ -n "$NATSC_SRC" ]; then
	cp "$NATSC_SRC" "$NATSC"
else
	cc -std=gnu11 -O2 tests/clients/natsc.c -lnats -o "$NATSC" || die "cannot build natsc"
fi
"$NATSC" --help 2>&1 | grep -q -- --tls-ca || die "$NATSC has no --tls-ca"
CURL=$W/tlsb-curl
cp "$(command -v curl)" "$CURL"

NPORT=$(free_port)
nats-server -a 127.0.0.1 -p "$NPORT" --tls --tlscert "$W/cert.pem" --tlskey "$W/key.pem" \
	-l "$W/nats.log" >/dev/null 2>&1 &
PIDS+=($!)
NSPID=$!

HPORT=$(free_port)
mkdir -p "$W/ng/tmp" "$W/ng/html"
echo "hello over tls" > "$W/ng/html/hello.txt"
chmod -R 755 "$W/ng"
cat > "$W/ng/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $W/ng/nginx.pid;
error_log $W/ng/error.log warn;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path $W/ng/tmp/body;
    proxy_temp_path $W/ng/tmp/proxy;
    fastcgi_temp_path $W/ng/tmp/fastcgi;
    uwsgi_temp_path $W/ng/tmp/uwsgi;
    scgi_temp_path $W/ng/tmp/scgi;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:$HPORT ssl;
        ssl_certificate $W/cert.pem;
        ssl_certificate_key $W/key.pem;
        root $W/ng/html;
    }
}
EOF
nginx -p "$W/ng" -c "$W/ng/nginx.conf" -e "$W/ng/error.log" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do
	curl -s --cacert "$W/cert.pem" "https://127.0.0.1:$HPORT/hello.txt" >/dev/null &&
		nc_ok=1 && break
	sleep 0.1
done
[ "${nc_ok:-}" = 1 ] || die "nginx did not come up"

# ---- sslsniff ----------------------------------------------------------------
SSLSNIFF=""
if [ -x /usr/sbin/sslsniff-bpfcc ] && /usr/bin/python3 -c 'import bcc' 2>/dev/null; then
	kdir=/lib/modules/$(uname -r)
	if [ ! -e "$kdir/build" ] && [ ! -e /sys/kernel/kheaders.tar.xz ]; then
		hdr=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -1)
		com=${hdr%-amd64}-common
		if [ "$SETUP_BCC" = 1 ] && [ -n "$hdr" ] && [ -d "$com" ]; then
			mkdir -p "$kdir" && ln -sfn "$hdr" "$kdir/build" && ln -sfn "$com" "$kdir/source"
			echo "note: linked $kdir/build -> $hdr for bcc" >&2
		else
			echo "note: no kernel headers for bcc: sslsniff skipped" \
				"(apt-get install linux-headers-amd64, then rerun with --setup-bcc)" >&2
		fi
	fi
	if [ -e "$kdir/build" ] || [ -e /sys/kernel/kheaders.tar.xz ]; then
		sed 's/min((size_t)MAX_BUF_SIZE, (size_t)len)/(((size_t)len < (size_t)MAX_BUF_SIZE) ? (size_t)len : (size_t)MAX_BUF_SIZE)/' \
			/usr/sbin/sslsniff-bpfcc > "$W/sslsniff.py"
		SSLSNIFF="/usr/bin/python3 -u $W/sslsniff.py"
	fi
else
	echo "note: bcc's sslsniff-bpfcc not installed (apt-get install bpfcc-tools): skipped" >&2
fi

# ---- one run -------------------------------------------------------------------
PAYLOAD=$(head -c "$PAYLOAD_SIZE" /dev/zero | tr '\0' 'p')

workload() { # nats|https -> prints wall ms
	local t0 t1
	case $1 in
	nats)
		"$NATSC" -s "tls://127.0.0.1:$NPORT" --tls-ca "$W/cert.pem" --count "$N_NATS" --timeout 60 \
			sub bench.tls > "$W/sub.out" 2>&1 &
		local sub=$!
		wait_for "$W/sub.out" READY 10 || { echo "subscriber not ready" >&2; }
		t0=$(now_ms)
		"$NATSC" -s "tls://127.0.0.1:$NPORT" --tls-ca "$W/cert.pem" pub bench.tls "$PAYLOAD" "$N_NATS" \
			>/dev/null 2>&1
		wait $sub
		t1=$(now_ms)
		;;
	https)
		t0=$(now_ms)
		"$CURL" -s --http1.1 --cacert "$W/cert.pem" -o /dev/null \
			"https://127.0.0.1:$HPORT/hello.txt?i=[1-$N_HTTP]"
		t1=$(now_ms)
		;;
	esac
	echo $(( t1 - t0 ))
}

# start_tracer MODE COMM -> sets TPID, TOUT; waits until ready
start_tracer() {
	TOUT=$W/tracer.$1.out
	TMODE=$1
	rm -f "$TOUT" "$W/tracer.err"
	case $1 in
	none) TPID=""; return 0 ;;
	msgscope) "$MSGSCOPE" trace -c "$2" -o "$TOUT" 2>"$W/tracer.err" & TPID=$! ;;
	msgscope-server) "$MSGSCOPE" trace -p "$NSPID" -o "$TOUT" 2>"$W/tracer.err" & TPID=$! ;;
	msgscope-server64) "$MSGSCOPE" trace -s 65536 -p "$NSPID" -o "$TOUT" 2>"$W/tracer.err" & TPID=$! ;;
	msgscope-notls) MSGSCOPE_NO_TLS=1 "$MSGSCOPE" trace -c "$2" -o "$TOUT" 2>"$W/tracer.err" & TPID=$! ;;
	sslsniff) $SSLSNIFF -c "$2" -n -g > "$TOUT" 2>"$W/tracer.err" & TPID=$! ;;
	esac
	case $1 in
	sslsniff) wait_for "$TOUT" FUNC 120 ;;
	*) wait_for "$W/tracer.err" "msgscope: tracing" 60 ;;
	esac || { echo "tracer $1 did not start:" >&2; tail -3 "$W/tracer.err" >&2; kill "$TPID" 2>/dev/null; return 1; }
	TCPU0=$(cpu_ticks "$TPID")
}

stop_tracer() { # -> TCPU: tracer cpu ms (not in a subshell: it waits)
	TCPU=0
	[ -z "$TPID" ] && return
	sleep 0.5
	local c1
	c1=$(cpu_ticks "$TPID")
	# Background jobs of a script ignore SIGINT: python (sslsniff) would
	# never see it. msgscope takes SIGINT through its signalfd.
	if [ "$TMODE" = sslsniff ]; then kill -TERM "$TPID"; else kill -INT "$TPID"; fi
	wait "$TPID" 2>/dev/null
	TCPU=$(( (c1 - TCPU0) * 1000 / $(getconf CLK_TCK) ))
}

# count MODE FILE WORKLOAD -> "seen1 seen2 seen3 seen4"
count() {
	local port=$NPORT
	[ "$3" = https ] && port=$HPORT
	python3 - "$1" "$2" "$3" "$port" <<'PY'
import json, sys
mode, path, wl, port = sys.argv[1:]
ours = lambda r: r.get('peer', '').endswith(':' + port) or r.get('local', '').endswith(':' + port)
a = b = c = d = 0
try:
    data = open(path, 'rb').read()
except OSError:
    data = b''
if mode.startswith('msgscope'):
    for line in data.splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if not ours(r):
            continue  # another program of the same name elsewhere on the host
        if wl == 'nats' and r.get('type') == 'nats' and r.get('subject') == 'bench.tls':
            if r.get('op') == 'PUB' and r.get('comm') == 'tlsb-natsc': a += 1
            if r.get('op') == 'MSG' and r.get('comm') == 'tlsb-natsc': b += 1
            if r.get('op') == 'PUB' and r.get('comm') == 'nats-server': c += 1
            if r.get('op') == 'MSG' and r.get('comm') == 'nats-server': d += 1
        if wl == 'https' and r.get('type') == 'http' and r.get('comm') == 'tlsb-curl':
            if r.get('kind') == 'request': a += 1
            if r.get('kind') == 'response': b += 1
elif mode == 'sslsniff':
    if wl == 'nats':
        a = data.count(b'PUB bench.tls ')
        b = data.count(b'MSG bench.tls ')
    else:
        a = data.count(b'GET /hello.txt?i=')
        b = data.count(b'HTTP/1.1 200 OK')
print(a, b, c, d)
PY
}

median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : int((v[NR/2] + v[NR/2+1]) / 2)}'; }

# ---- the matrix ------------------------------------------------------------------
modes="none msgscope msgscope-notls"
[ -n "$SSLSNIFF" ] && modes="$modes sslsniff"

echo "# msgscope TLS capture vs bcc sslsniff — $(date -u +%F), $(nproc) CPUs, kernel $(uname -r)"
echo "# nats: $N_NATS PUBs of $PAYLOAD_SIZE bytes over TLS + subscriber; https: $N_HTTP GETs, one keep-alive connection"
echo "# times: median of $REPS runs; seen: counts in the tracer's output (last run)"
printf '%-7s %-15s %10s %9s %12s %12s\n' workload tracer wall_ms overhead tracer_cpu_ms seen
# Modes interleaved run by run, so that a change in the host's load weighs
# on all of them alike.
declare -A WALLS CPUS SEEN
for wl in nats https; do
	comm=tlsb-natsc
	[ $wl = https ] && comm=tlsb-curl
	for r in $(seq 1 "$REPS"); do
		for mode in $modes; do
			start_tracer $mode $comm || continue
			w=$(workload $wl)
			stop_tracer
			WALLS[$wl.$mode]+="$w "
			CPUS[$wl.$mode]+="$TCPU "
			[ $mode != none ] && SEEN[$wl.$mode]=$(count $mode "$TOUT" $wl)
		done
	done
	base=""
	for mode in $modes; do
		[ -z "${WALLS[$wl.$mode]:-}" ] && continue
		wall=$(printf '%s\n' ${WALLS[$wl.$mode]} | median)
		cpu=$(printf '%s\n' ${CPUS[$wl.$mode]} | median)
		[ $mode = none ] && base=$wall
		ovh="-"
		[ -n "$base" ] && [ "$base" -gt 0 ] && [ $mode != none ] &&
			ovh=$(awk -v w="$wall" -v b="$base" 'BEGIN {printf "%+.0f%%", (w - b) * 100 / b}')
		seen="-"
		if [ $mode != none ]; then
			read -r s1 s2 _ _ <<< "${SEEN[$wl.$mode]}"
			if [ $wl = nats ]; then seen="PUB=$s1/$N_NATS MSG=$s2/$N_NATS"
			else seen="req=$s1/$N_HTTP resp=$s2/$N_HTTP"; fi
		fi
		printf '%-7s %-15s %10s %9s %12s   %s\n' $wl $mode "$wall" "$ovh" "$cpu" "$seen"
	done
done

# msgscope's view of the Go side (sslsniff has none): -p nats-server, one
# run with the default snaplen (32 KiB) and one with the largest: nats-server
# writes up to 64 KiB of MSGs to its TLS conn at once.
for mode in msgscope-server msgscope-server64; do
	start_tracer $mode - || continue
	wall=$(workload nats)
	stop_tracer
	read -r s1 s2 s3 s4 < <(count msgscope "$TOUT" nats)
	printf '%-7s %-17s %8s %9s %12s   %s\n' nats $mode "$wall" "" "$TCPU" \
		"nats-server (Go crypto/tls): PUB=$s3/$N_NATS MSG=$s4/$N_NATS"
done
