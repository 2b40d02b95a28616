#!/bin/bash
d() { /usr/bin/time -f '%e %U %S' dd if=/dev/zero of=/dev/null bs=64 count=2000000 2>&1 | tail -1 | awk '{printf "%.2f", $2+$3}'; }
with() { ./loader empty.bpf.o "$@" > l.out 2>&1 & L=$!; for i in $(seq 50); do grep -q READY l.out && break; sleep 0.1; done; v=$(d); kill $L; wait $L 2>/dev/null; echo $v; }
for r in $(seq 1 $1); do
  echo "none $(d) sysexit-empty $(with on_sys_exit) sock $(with on_send on_recv on_state) sock+exitmmap-tp $(with on_send on_recv on_state exit_mmap)"
done
