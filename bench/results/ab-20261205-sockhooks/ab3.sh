#!/bin/bash
run() { ./hook_cost 100000; }
with() { ./loader empty.bpf.o "$@" > l.out 2>&1 & L=$!; for i in $(seq 50); do grep -q READY l.out && break; sleep 0.1; done; v=$(run); kill $L; wait $L 2>/dev/null; echo $v; }
for r in $(seq 1 $1); do
  echo "none $(run) sysexit $(with on_sys_exit) sock $(with on_send on_recv on_state) sock+mmaptp $(with on_send on_recv on_state exit_mmap enter_mmap) sock+exitmmap $(with on_send on_recv on_state exit_mmap)"
done
