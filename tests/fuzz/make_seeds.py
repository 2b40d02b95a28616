#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make_seeds.py — (re)build tests/fuzz/corpus/<target>/ from the captures
in tests/data/ (real bytes taken from nats-server, libnats, nginx, python
and curl), in each target's input layout (see the comment at the top of
each tests/fuzz/fuzz_<target>.c).

    python3 tests/fuzz/make_seeds.py

Deterministic: the same captures give the same seeds. Only seeds are
written; what the fuzzer finds later lives in its working directory.
"""
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(REPO, 'tests', 'data')
OUT = os.path.join(HERE, 'corpus')


def read(*parts):
    with open(os.path.join(DATA, *parts), 'rb') as f:
        return f.read()


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def nats_captures():
    d = os.path.join(DATA, 'nats')
    return {n[:-4]: read('nats', n) for n in sorted(os.listdir(d)) if n.endswith('.bin')}


def http_pairs():
    """name -> (request bytes, response bytes)"""
    d = os.path.join(DATA, 'http')
    names = sorted(os.listdir(d))
    pairs = {}
    for n in names:
        if not n.endswith('.req.bin'):
            continue
        base = n[:-len('.req.bin')]
        req = read('http', n)
        if base + '.resp.bin' in names:
            resp = read('http', base + '.resp.bin')
        else:  # a response captured as prefix + tail (a gap between)
            resp = b''.join(read('http', m) for m in names
                            if m.startswith(base + '.resp.') and m.endswith('.bin'))
        pairs[base] = (req, resp)
    return pairs


# ---- nats_parser: [flags][seed][stream] -------------------------------------

def seeds_nats(caps):
    for name, data in caps.items():
        recv = 8 if 'server_to_client' in name else 0
        write('nats_parser', name + '.synced', bytes([0x05 | recv, 0]) + data)
        write('nats_parser', name + '.joined', bytes([0x02 | recv, 7]) + data[5:])
        write('nats_parser', name + '.holes', bytes([0x33 | recv, 3]) + data)


# ---- http_parser: [flags][flags2][seed][u16 req len][req][resp] -------------

def seeds_http(pairs):
    for name, (req, resp) in pairs.items():
        write('http_parser', name + '.client',
              bytes([0x05, 0x01, 0]) + struct.pack('<H', len(req)) + req + resp)
        write('http_parser', name + '.server',
              bytes([0x0d, 0x01, 5]) + struct.pack('<H', len(req)) + req + resp)
    name, (req, resp) = next(iter(pairs.items()))
    write('http_parser', name + '.holes',
          bytes([0x23, 0x03, 9]) + struct.pack('<H', len(req)) + req + resp)


# ---- conntrack: [config] events ---------------------------------------------

def data_event(idx, dir_, proto, payload, role=1, fresh=True, lport=40000 + 1):
    sel = idx | dir_ << 4 | {'nats': 0, 'http': 1}[proto] << 5
    flags = 1 if fresh else 0
    meta = role & 3          # tgid 100, AF_INET
    offm = 0                 # contiguous, len = cap
    return (bytes([0, sel, flags, meta, offm]) + struct.pack('<H', len(payload))
            + struct.pack('<H', lport) + payload)


def close_event(idx):
    return bytes([2, idx, 0]) + struct.pack('<H', 40001)


def interleave(a, b, piece):
    """Alternate pieces of two streams: [(0, bytes), (1, bytes), ...]."""
    out, i, j = [], 0, 0
    while i < len(a) or j < len(b):
        if i < len(a):
            out.append((0, a[i:i + piece]))
            i += piece
        if j < len(b):
            out.append((1, b[j:j + piece]))
            j += piece
    return out


def seeds_conntrack(caps, pairs):
    cfg = 0x03 | 2 << 2   # max_conns 16384, keep 4096
    # A NATS client (conn 1) and the server's view of the same connection
    # (conn 2, directions swapped).
    c2s, s2c = caps['client_to_server'], caps['server_to_client']
    ev = b''
    for side, chunk in interleave(s2c, c2s, 97):
        if side == 0:
            ev += data_event(0, 1, 'nats', chunk, role=1)   # client receives
            ev += data_event(1, 0, 'nats', chunk, role=2)   # server sends
        else:
            ev += data_event(0, 0, 'nats', chunk, role=1)
            ev += data_event(1, 1, 'nats', chunk, role=2)
    ev += close_event(0) + close_event(1)
    write('conntrack', 'nats_both_ends', bytes([cfg]) + ev)
    vc2s, vs2c = caps['verbose_client_to_server'], caps['verbose_server_to_client']
    ev = b''
    for side, chunk in interleave(vs2c, vc2s, 31):
        ev += data_event(2, 1 if side == 0 else 0, 'nats', chunk)
    # the process exits without close (op 3, tgid 100)
    write('conntrack', 'nats_verbose_exit', bytes([cfg]) + ev + bytes([3]))
    # Every HTTP pair on its own connection; then a table of one, so that
    # each new connection evicts the previous one.
    for cfg_, tag in ((cfg, 'http_all'), (0x00 | 2 << 2, 'http_evict')):
        ev = b''
        for k, (name, (req, resp)) in enumerate(pairs.items()):
            idx = 3 + k % 5
            for side, chunk in interleave(req, resp, 211):
                ev += data_event(idx, side, 'http', chunk)
            if tag == 'http_all':
                ev += close_event(idx)
        write('conntrack', tag, bytes([cfg_]) + ev)
    # Joined late (not fresh): the parser must find its footing.
    req, resp = pairs['nginx_keepalive']
    ev = data_event(4, 0, 'http', req[20:], fresh=False) + data_event(4, 1, 'http', resp[7:], fresh=False)
    write('conntrack', 'http_joined', bytes([cfg]) + ev + close_event(4))


# ---- correlator: [config] items -----------------------------------------------

def s8(b):
    if isinstance(b, str):
        b = b.encode()
    b = b[:255]
    return bytes([len(b)]) + b


def nats_rec(conn, dir_, op, subject=b'', reply=b'', sid=b'', queue=b'', js=b'',
             headers=b'', payload=b'', size=None, hsize=0, max_=-1, step=50):
    ops = ['INFO', 'CONNECT', 'PUB', 'HPUB', 'SUB', 'UNSUB', 'MSG', 'HMSG',
           'PING', 'PONG', '+OK', '-ERR']
    cs = conn | dir_ << 3   # time step 0: forward u8 µs
    out = bytes([0, cs, step, ops.index(op)])
    out += b''.join(s8(x) for x in (subject, reply, sid, queue, js, headers, payload))
    if size is None or size == len(payload):
        out += bytes([0])
    else:
        out += bytes([1]) + struct.pack('<I', size)
    out += struct.pack('<H', hsize) + struct.pack('<b', max_) + bytes([0])
    return out


def http_rec(conn, dir_, kind, method=b'', path=b'', status=0, reason=b'',
             headers=(), body=b'', step=80):
    cs = conn | dir_ << 3
    out = bytes([2, cs, step, 1 if kind == 'response' else 0])
    out += s8(method) + s8(path) + s8(b'HTTP/1.1')
    out += struct.pack('<H', status) + s8(reason)
    out += bytes([len(headers)]) + b''.join(s8(n) + s8(v) for n, v in headers)
    out += s8(body) + bytes([0])
    return out


def nats_lines(data):
    """(op, args, payload) from a NATS byte stream: a small reader that is
    enough for the captures (it trusts the declared sizes)."""
    i = 0
    while i < len(data):
        e = data.find(b'\r\n', i)
        if e < 0:
            return
        line = data[i:e]
        i = e + 2
        parts = line.split(b' ', 1)
        op = parts[0].decode('ascii', 'replace').upper()
        args = parts[1] if len(parts) > 1 else b''
        payload = b''
        if op in ('PUB', 'MSG', 'HPUB', 'HMSG'):
            n = int(args.split()[-1])
            payload = data[i:i + n]
            i += n + 2
        yield op, args, payload


def nats_items(conn, dir_, data):
    out = b''
    for op, args, payload in nats_lines(data):
        a = args.split()
        if op in ('INFO', 'CONNECT'):
            out += nats_rec(conn, dir_, op, js=args)
        elif op == '-ERR':
            out += nats_rec(conn, dir_, op, js=args.strip(b"'"))
        elif op == 'SUB':
            q = a[1] if len(a) == 3 else b''
            out += nats_rec(conn, dir_, op, subject=a[0], queue=q, sid=a[-1])
        elif op == 'UNSUB':
            out += nats_rec(conn, dir_, op, sid=a[0], max_=int(a[1]) if len(a) > 1 else -1)
        elif op in ('PUB', 'MSG'):
            sid = a[1] if op == 'MSG' else b''
            rest = a[2:-1] if op == 'MSG' else a[1:-1]
            out += nats_rec(conn, dir_, op, subject=a[0], sid=sid,
                            reply=rest[0] if rest else b'', payload=payload)
        elif op in ('HPUB', 'HMSG'):
            hs = int(a[-2])
            sid = a[1] if op == 'HMSG' else b''
            rest = a[2:-2] if op == 'HMSG' else a[1:-2]
            out += nats_rec(conn, dir_, op, subject=a[0], sid=sid,
                            reply=rest[0] if rest else b'', headers=payload[:hs],
                            payload=payload[hs:], size=len(payload) - hs, hsize=hs)
        elif op in ('PING', 'PONG', '+OK'):
            out += nats_rec(conn, dir_, op)
    return out


def http_items(conn, dir_req, req, resp):
    out = b''
    for raw, kind, d in ((req, 'request', dir_req), (resp, 'response', 1 - dir_req)):
        for m in re.finditer(rb'(?s)([A-Z]+ \S+ HTTP/1\.[01]|HTTP/1\.[01] \d{3}[^\r]*)\r\n(.*?)\r\n\r\n', raw):
            start, hdrs = m.group(1), m.group(2)
            headers = [tuple(l.split(b': ', 1)) for l in hdrs.split(b'\r\n') if b': ' in l][:32]
            if kind == 'request':
                meth, path, _ = start.split(b' ', 2)
                out += http_rec(conn, d, kind, method=meth, path=path, headers=headers)
            else:
                st = start.split(b' ', 2)
                out += http_rec(conn, d, kind, status=int(st[1]),
                                reason=st[2] if len(st) > 2 else b'', headers=headers,
                                body=b'x' * 10)
    return out


def seeds_correlator(caps, pairs):
    c2s, s2c = caps['client_to_server'], caps['server_to_client']
    # The client's own view (conn 0) and the server's (conn 1), then a
    # subscriber on conn 2/3 receiving what conn 0 published.
    items = nats_items(0, 1, s2c) + nats_items(0, 0, c2s)
    items += nats_items(1, 1, c2s) + nats_items(1, 0, s2c)
    sub = (nats_rec(2, 0, 'CONNECT', js=b'{"name":"sub","verbose":false}')
           + nats_rec(2, 0, 'SUB', subject=b'demo.>', sid=b'1')
           + nats_rec(3, 1, 'SUB', subject=b'demo.>', sid=b'1'))
    deliver = b''
    for op, args, payload in nats_lines(c2s):
        if op == 'PUB' and args.startswith(b'demo.'):
            subj = args.split()[0]
            deliver += nats_rec(3, 0, 'MSG', subject=subj, sid=b'1', payload=payload)
            deliver += nats_rec(2, 1, 'MSG', subject=subj, sid=b'1', payload=payload)
    req = (nats_rec(0, 0, 'PUB', subject=b'svc.echo', reply=b'_INBOX.abc.1', payload=b'ping')
           + nats_rec(2, 0, 'PUB', subject=b'_INBOX.abc.1', payload=b'pong'))
    end = bytes([3]) + struct.pack('<H', 6000)
    for cfg, tag in ((0x00, 'nats_defaults'), (0x01, 'nats_small_caps'), (0x02, 'nats_periodic')):
        write('correlator', tag, bytes([cfg]) + sub + items + deliver + req + end)
    vc, vs = caps['verbose_client_to_server'], caps['verbose_server_to_client']
    write('correlator', 'nats_verbose',
          bytes([0]) + nats_items(6, 0, vc) + nats_items(6, 1, vs) + end)
    for name, (rq, rs) in pairs.items():
        items = http_items(4, 0, rq, rs) + http_items(5, 1, rq, rs)
        write('correlator', 'http_' + name, bytes([0x02]) + items + end)


# ---- trace_reader: a JSON Lines trace as is ---------------------------------

META = (b'{"type":"meta","schema":1,"tool":"msgscope","version":"0.1.0","ts":1,'
        b'"host":"h","kernel":"k","options":{"snaplen":4096,"pids":[],"comm":null,'
        b'"ports":{},"show_secrets":false}}\n')
CONN = b'"pid":7,"comm":"c","conn":1,"local":"127.0.0.1:1","peer":"127.0.0.1:4222","role":"client"'


def seeds_trace_reader():
    d = os.path.join(DATA, 'traces')
    for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        data = read('traces', n)
        if n.endswith('.jsonl') and len(data) <= 16384:
            write('trace_reader', n, data)
    lines = [
        b'{"type":"nats","ts":2,' + CONN + b',"dir":"send","op":"PUB","subject":"a.b","reply":"_INBOX.x","size":3,"payload":"a\\u0000b"}',
        b'{"type":"nats","ts":3,' + CONN + b',"dir":"recv","op":"HMSG","subject":"a.b","sid":"1","header_size":30,"status":503,"headers":{"K":["v1","v2"]},"size":4,"payload":"AAECAw==","payload_encoding":"base64","truncated":true}',
        b'{"type":"http","ts":4,' + CONN + b',"dir":"send","kind":"request","method":"GET","path":"/x","version":"HTTP/1.1","headers":{"Host":"h","Cookie":"[REDACTED]"},"size":0}',
        b'{"type":"http","ts":5,' + CONN + b',"dir":"recv","kind":"response","status":200,"reason":"OK","version":"HTTP/1.1","headers":{},"body":"//79","body_encoding":"base64","size":3,"chunked":true}',
        b'{"type":"drops","ts":6,"events":1,"bytes":2,"control":0,"untracked":0,"total_events":1,"total_bytes":2}',
        b'{"type":"exchange","ts":7}',
        b'not json',
        b'{"type":"end","ts":8,"events":4,"bytes":9,"records":4,"drops":1,"parse_errors":0,"resyncs":0,"reason":"signal"}',
    ]
    write('trace_reader', 'synthetic.jsonl', META + b'\n'.join(lines) + b'\n')
    write('trace_reader', 'newer_schema.jsonl', META.replace(b'"schema":1', b'"schema":2'))
    write('trace_reader', 'cut_short.jsonl', META + lines[0][:40])


def main():
    caps = nats_captures()
    pairs = http_pairs()
    if not caps or not pairs:
        sys.exit('make_seeds: no captures under tests/data/nats or tests/data/http')
    seeds_nats(caps)
    seeds_http(pairs)
    seeds_conntrack(caps, pairs)
    seeds_correlator(caps, pairs)
    seeds_trace_reader()
    for t in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, t))
        size = sum(os.path.getsize(os.path.join(OUT, t, f)) for f in files)
        print(f'{t}: {len(files)} seeds, {size} bytes')


if __name__ == '__main__':
    main()
