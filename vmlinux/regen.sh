#!/bin/sh
# Regenerate the vendored vmlinux.h for this machine's architecture from the
# running kernel's BTF. CO-RE relocations make one header fit other kernels:
# regenerate only to use types or fields the vendored copy lacks.
set -eu
arch=$(uname -m)
here=$(dirname "$0")
mkdir -p "$here/$arch"
bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$here/$arch/vmlinux.h"
echo "wrote $here/$arch/vmlinux.h"
