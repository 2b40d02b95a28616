#!/bin/bash
# piped 100k run with samples of msgscope's state and trace_count's CPU
cd /tmp/pe
BIN=${1:-/tmp/ab/head}
nats-server -a 127.0.0.1 -p 4333 >/dev/null 2>&1 & NS=$!
sleep 0.5
./nats_bench sub -s nats://127.0.0.1:4333 -S x.y -n 256 -t 30 > sub.out 2>&1 & SUB=$!
sleep 0.5
./nats_bench pub -s nats://127.0.0.1:4333 -S x.y -n 256 -r 100000 -d 10 -w > pub.out 2>&1 & PUB=$!
sleep 0.5
rm -f fifo; mkfifo fifo
./trace_count < fifo > counts.json & TC=$!
$BIN trace -o - > fifo 2> ms.err & MS=$!
sleep 3
kill -USR1 $PUB
: > samples
t0=$(date +%s%N)
while kill -0 $PUB 2>/dev/null; do
  echo "$(cat /proc/$MS/wchan) $(awk '{print $3}' /proc/$MS/stat) $(awk '{print $14+$15}' /proc/$TC/stat) $(awk '{print $14+$15}' /proc/$MS/stat)" >> samples
  sleep 0.005
done
kill -INT $MS; wait $MS; wait $TC
kill $SUB $NS 2>/dev/null; wait 2>/dev/null
echo "msgscope states:"; awk '{print $1, $2}' samples | sort | uniq -c | sort -rn | head
echo "tc cpu ticks: $(head -1 samples | awk '{print $3}') -> $(tail -1 samples | awk '{print $3}'); ms: $(head -1 samples | awk '{print $4}') -> $(tail -1 samples | awk '{print $4}'), samples $(wc -l < samples)"
grep -o '"drops":[0-9]*' counts.json | tail -1; grep -o '"boosts":[0-9]*,"futile_boosts":[0-9]*' counts.json
