#!/bin/bash
# bpfcost.sh ROUNDS BIN... : BPF ns per message (all msgscope programs, bpf_stats) at 100k msg/s 256 B, 5 s
R=$1; shift
URL=nats://127.0.0.1:24222
progs() { for fd in /proc/$1/fdinfo/*; do awk '/^prog_id:/{print $2}' $fd 2>/dev/null; done | sort -u; }
stat() { local ids; ids=$(progs $1 | paste -sd' '); bpftool prog show -j | python3 -c "
import json,sys; ids=set(int(x) for x in '$ids'.split()); t=c=0
for p in json.load(sys.stdin):
    if p['id'] in ids: t+=p.get('run_time_ns',0); c+=p.get('run_cnt',0)
print(t, c)"; }
sysctl -qw kernel.bpf_stats_enabled=1
for r in $(seq 1 $R); do
  line=""
  for b in "$@"; do
    "$b" trace -o /dev/null 2>/tmp/sx/bc.err & P=$!; for i in $(seq 100); do grep -q 'msgscope: tracing' /tmp/sx/bc.err && break; sleep 0.1; done; sleep 0.3
    /tmp/pf/nats_bench sub -s $URL -S bc -n 256 -t 30 > /tmp/sx/sub.out & S=$!; sleep 0.3
    read t0 c0 <<<"$(stat $P)"
    /tmp/pf/nats_bench pub -s $URL -S bc -n 256 -r 100000 -d 5 >/dev/null; wait $S
    read t1 c1 <<<"$(stat $P)"
    kill -INT $P; wait $P
    line="$line $(basename $b) $(python3 -c "print('%.0f ns/msg %.1f runs/msg' % (($t1-$t0)/500000, ($c1-$c0)/500000))")"
  done
  echo $line
done
sysctl -qw kernel.bpf_stats_enabled=0
