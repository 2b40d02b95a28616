#!/bin/sh
# Install what msgscope needs to build, run and test, from Debian's packages.
# Used by the README's set-up commands and by CI; safe to run again.
set -eu
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -ne 0 ]; then
	echo "scripts/deps.sh: run as root (sudo)" >&2
	exit 1
fi
# Some machine images ship /dev/null as a plain file (a redirect into a
# missing /dev/null creates one). Everything "discarded" then piles up in it,
# and daemon(3) refuses to start, so tmux, which the tests drive the live
# view with, cannot start its server. Put the device back.
# Made beside it and renamed over it, so a refused mknod changes nothing.
if [ ! -c /dev/null ]; then
	echo "scripts/deps.sh: /dev/null is not a character device; recreating it" >&2
	if ! { mknod -m 666 /dev/null.msgscope c 1 3 && mv -f /dev/null.msgscope /dev/null; }; then
		rm -f /dev/null.msgscope
		echo "scripts/deps.sh: could not recreate /dev/null; tests driving tmux will fail" >&2
	fi
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	build-essential pkg-config meson ninja-build clang llvm bpftool \
	libbpf-dev libelf-dev zlib1g-dev libjansson-dev libncurses-dev \
	python3 nats-server libnats-dev liburing-dev nginx-light curl openssl libssl-dev \
	sysstat tmux wrk procps iproute2 golang-go >/dev/null
echo "scripts/deps.sh: dependencies installed"
