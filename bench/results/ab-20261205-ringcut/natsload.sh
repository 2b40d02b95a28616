#!/bin/bash
# natsload.sh SECS : 256B unthrottled pub/sub on 127.0.0.1:14222
S=${1:-10}
/tmp/sx/nats_bench sub -s nats://127.0.0.1:14222 -S bx -n 256 -t 5 >/tmp/sx/sub.out 2>&1 &
sp=$!
sleep 0.5
/tmp/sx/nats_bench pub -s nats://127.0.0.1:14222 -S bx -n 256 -r 0 -d $S >/tmp/sx/pub.out 2>&1
wait $sp
python3 -c "
import json
p=[json.loads(l) for l in open('/tmp/sx/pub.out') if l.startswith('{')][0]
s=[json.loads(l) for l in open('/tmp/sx/sub.out') if l.startswith('{')][0]
print('pub', p.get('msgs_per_s'), 'sub', s.get('msgs_per_s'), 'recv', s.get('received'))"
