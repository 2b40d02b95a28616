import sys, time, json
# reads stdin; every EVERY s stalls STALL s; at EOF prints the end line's counters
every=float(sys.argv[1]); stall=float(sys.argv[2])
f=sys.stdin.buffer; last=b''; n=0; t=time.monotonic()+every
buf=b''
while True:
    d=f.read1(1<<16)
    if not d: break
    buf=(buf+d)[-8192:]
    n+=d.count(b'\n')
    if time.monotonic()>=t:
        # slow for `stall` s: a 64 KiB read every 10 ms
        e2=time.monotonic()+stall
        while time.monotonic()<e2:
            d=f.read1(1<<16)
            if not d: break
            buf=(buf+d)[-8192:]; n+=d.count(b'\n')
            time.sleep(0.01)
        t=time.monotonic()+every
end=[l for l in buf.split(b'\n') if b'"type":"end"' in l]
e=json.loads(end[-1]) if end else {}
print("lines", n, {k:e.get(k) for k in ("records","drops","drop_bytes","cut_bytes","boosts","futile_boosts","sheds","shed_ms","shed_cuts")})
