#!/bin/bash
# ipi.sh: reschedule IPIs and wrk req/s, untraced / SCHED_IDLE busy loop / msgscope trace
res() { awk '/RES:/{print $2+$3}' /proc/interrupts; }
cal() { awk '/CAL:/{print $2+$3}' /proc/interrupts; }
w() { r0=$(res); c0=$(cal); q=$(wrk -t1 -c32 -d5s http://127.0.0.1:18089/small | awk '/Requests\/sec/{print int($2)}'); r1=$(res); c1=$(cal); echo "$q req/s, RES $(( (r1-r0)/5 ))/s CAL $(( (c1-c0)/5 ))/s"; }
for r in 1 2; do
echo "untraced: $(w)"
chrt -i 0 bash -c 'while :; do :; done' & B=$!; sleep 0.3; echo "idle busy loop: $(w)"; kill $B; wait $B 2>/dev/null
/tmp/sx/ms_tail trace -o /dev/null 2>/tmp/sx/ipi.err & P=$!; for i in $(seq 100); do grep -q 'msgscope: tracing' /tmp/sx/ipi.err && break; sleep 0.1; done; sleep 0.3
echo "msgscope trace: $(w)"; kill -INT $P; wait $P
done
