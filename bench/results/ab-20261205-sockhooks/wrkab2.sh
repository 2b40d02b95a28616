#!/bin/bash
w() { wrk -t1 -c32 -d4s http://127.0.0.1:18081/small | awk '/Requests\/sec/{print int($2)}'; }
with() { ./loader empty.bpf.o "$@" > l.out 2>&1 & L=$!; for i in $(seq 50); do grep -q READY l.out && break; sleep 0.1; done; v=$(w); kill $L; wait $L 2>/dev/null; echo $v; }
for r in $(seq 1 $1); do
  echo "none $(w) sysexit $(with on_sys_exit) sock $(with on_send on_recv on_state) sock+exitmmap $(with on_send on_recv on_state exit_mmap)"
done
