#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end: msgscope captures NATS traffic between a real nats-server and
real libnats clients (tests/clients/natsc.c).

Exit 0 = pass, 1 = fail, 77 = skipped (no root/BPF/binary; fails when CI=true).
Run one test: test_nats_capture.py test_pub_sub
"""
import json
import os
import subprocess
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import expect, dump  # noqa: E402

SNAPLEN = 4096


def natsc_comm():
    return os.path.basename(h.natsc_path())[:15]


def one_conn(recs):
    return len({r.get('conn') for r in recs}) == 1


def test_pub_sub():
    payload = 'hello msgscope'
    with h.NatsServer() as ns:
        with h.Trace(h.scope(ns.pid) + ['--port', ns.port_arg]) as t:
            sub = h.natsc(ns.url, '--name', 'e2e-sub', 'sub', 'e2e.ps', '--count', 3, '--timeout', 10)
            sub.wait_for('READY')
            pub = h.natsc(ns.url, '--name', 'e2e-pub', 'pub', 'e2e.ps', payload, 3)
            pub.wait_ok()
            sub.wait_ok()
            expect(sub.stdout.count(f'MSG e2e.ps {len(payload)}') == 3, 'subscriber got 3 messages', sub.stdout)
        comm = natsc_comm()
        everything = dump(t.messages())

        pubs = t.nats(op='PUB', subject='e2e.ps', pid=pub.pid)
        expect(len(pubs) == 3, 'publisher: 3 PUB records', f'got {len(pubs)}:\n{everything}')
        for r in pubs:
            assert r.get('dir') == 'send', f'PUB dir should be send: {h.short(r)}'
            assert r.get('size') == len(payload), f'PUB size: {h.short(r)}'
            assert r.get('payload') == payload, f'PUB payload: {h.short(r)}'
            assert r.get('comm') == comm, f'PUB comm should be {comm!r}: {h.short(r)}'
            assert r.get('role') == 'client', f'PUB role should be client: {h.short(r)}'
            assert r.get('peer') == f'127.0.0.1:{ns.port}', f'PUB peer: {h.short(r)}'
            assert r.get('local', '').startswith('127.0.0.1:'), f'PUB local: {h.short(r)}'
            assert not r.get('truncated'), f'PUB should not be truncated: {h.short(r)}'
            assert 'reply' not in r or not r['reply'], f'PUB has no reply subject: {h.short(r)}'
        h.log('  ok: each PUB: payload, size, dir=send, comm, role=client, local/peer, not truncated')
        expect(one_conn(pubs), 'PUB records share one conn id')

        conn = t.nats(op='CONNECT', pid=pub.pid)
        expect(len(conn) == 1 and conn[0].get('dir') == 'send', 'publisher CONNECT record (send)', dump(conn))
        expect((conn[0].get('connect') or {}).get('name') == 'e2e-pub', 'CONNECT object carries name', h.short(conn[0]))
        info = t.nats(op='INFO', pid=pub.pid)
        expect(len(info) == 1 and info[0].get('dir') == 'recv' and isinstance(info[0].get('info'), dict),
               'publisher INFO record (recv, object)', dump(info))
        expect(conn[0].get('conn') == pubs[0].get('conn'), 'CONNECT and PUB on the same conn')

        subs = t.nats(op='SUB', subject='e2e.ps', pid=sub.pid)
        expect(len(subs) == 1 and subs[0].get('dir') == 'send' and subs[0].get('sid'),
               'subscriber SUB record (send, sid)', dump(subs))
        msgs = t.nats(op='MSG', subject='e2e.ps', pid=sub.pid)
        expect(len(msgs) == 3, 'subscriber: 3 MSG records', f'got {len(msgs)}:\n{everything}')
        for r in msgs:
            assert r.get('dir') == 'recv', f'MSG dir should be recv: {h.short(r)}'
            assert r.get('size') == len(payload), f'MSG size: {h.short(r)}'
            assert r.get('payload') == payload, f'MSG payload: {h.short(r)}'
            assert r.get('sid') == subs[0].get('sid'), f'MSG sid matches SUB sid: {h.short(r)}'
            assert r.get('comm') == comm, f'MSG comm: {h.short(r)}'
        expect(one_conn(msgs) and msgs[0]['conn'] != pubs[0]['conn'],
               'MSG records on the subscriber conn, distinct from the publisher conn')

        # The server's side of the same traffic.
        spub = t.nats(op='PUB', subject='e2e.ps', pid=ns.pid)
        smsg = t.nats(op='MSG', subject='e2e.ps', pid=ns.pid)
        expect(len(spub) == 3 and all(r.get('dir') == 'recv' and r.get('role') == 'server' for r in spub),
               'nats-server: 3 PUB recv (role server)', dump(spub))
        expect(len(smsg) == 3 and all(r.get('dir') == 'send' for r in smsg),
               'nats-server: 3 MSG send', dump(smsg))
        expect(t.end.get('parse_errors', 0) == 0, 'end: parse_errors == 0', h.short(t.end))


def test_autodetect_without_port_hint():
    """No --port: the NATS protocol is recognised from the bytes."""
    with h.NatsServer() as ns:
        with h.Trace([]) as t:
            pub = h.natsc(ns.url, 'pub', 'e2e.auto', 'detect-me')
            pub.wait_ok()
        pubs = t.nats(op='PUB', subject='e2e.auto', pid=pub.pid)
        expect(len(pubs) == 1 and pubs[0].get('payload') == 'detect-me',
               'PUB captured on a random port without --port', dump(t.messages()))


def test_queue_group():
    count = 20
    with h.NatsServer() as ns:
        with h.Trace(h.scope(ns.pid) + ['--port', ns.port_arg]) as t:
            members = [h.natsc(ns.url, 'sub', 'e2e.q', '--queue', 'workers', '--timeout', 20) for _ in range(2)]
            for m in members:
                m.wait_for('READY')
            pub = h.natsc(ns.url, 'pub', 'e2e.q', 'job', count)
            pub.wait_ok()
            deadline = time.monotonic() + 10
            while sum(m.stdout.count('MSG e2e.q') for m in members) < count:
                assert time.monotonic() < deadline, 'queue members did not receive all messages: ' + \
                    ' | '.join(m.stdout for m in members)
                time.sleep(0.05)
            for m in members:
                m.signal(signal.SIGTERM)
                m.wait_ok()
        got = [m.stdout.count('MSG e2e.q') for m in members]
        expect(sum(got) == count, f'clients received {count} in total', str(got))

        pubs = t.nats(op='PUB', subject='e2e.q', pid=pub.pid)
        expect(len(pubs) == count, f'{count} PUB records', f'got {len(pubs)}')
        for m, n in zip(members, got):
            s = t.nats(op='SUB', subject='e2e.q', pid=m.pid)
            expect(len(s) == 1 and s[0].get('queue') == 'workers',
                   f'member {m.pid}: SUB record with queue "workers"', dump(s))
            msgs = t.nats(op='MSG', subject='e2e.q', pid=m.pid)
            expect(len(msgs) == n, f'member {m.pid}: {n} MSG records (as many as it received)',
                   f'got {len(msgs)}')
        total = len(t.nats(op='MSG', subject='e2e.q', dir='recv'))
        expect(total == count, 'MSG records across the two members sum to the PUB count',
               f'{total} != {count}')


def test_request_reply():
    with h.NatsServer() as ns:
        with h.Trace(h.scope(ns.pid) + ['--port', ns.port_arg]) as t:
            rep = h.natsc(ns.url, 'reply', 'e2e.svc', 'pong-reply', '--count', 1, '--timeout', 10)
            rep.wait_for('READY')
            req = h.natsc(ns.url, 'request', 'e2e.svc', 'ping-request', '--timeout', 5)
            req.wait_ok()
            rep.wait_ok()
        line = [l for l in req.stdout.splitlines() if l.startswith('REPLY ')]
        assert line, f'requester printed no REPLY: {req.stdout}'
        inbox = line[0].split()[1]
        h.log(f'  reply inbox: {inbox}')
        everything = dump(t.messages())

        rq = t.nats(op='PUB', subject='e2e.svc', pid=req.pid)
        expect(len(rq) == 1, 'request PUB captured', everything)
        expect(rq[0].get('reply') == inbox and rq[0].get('payload') == 'ping-request',
               'request PUB carries the reply subject the answer came on', h.short(rq[0]))
        rm = t.nats(op='MSG', subject='e2e.svc', pid=rep.pid)
        expect(len(rm) == 1 and rm[0].get('reply') == inbox,
               'replier MSG carries the reply subject', dump(rm))
        rp = t.nats(op='PUB', subject=inbox, pid=rep.pid)
        expect(len(rp) == 1 and rp[0].get('payload') == 'pong-reply' and rp[0].get('dir') == 'send',
               'reply PUB to that inbox', everything)
        back = t.nats(op='MSG', subject=inbox, pid=req.pid)
        expect(len(back) == 1 and back[0].get('payload') == 'pong-reply' and back[0].get('dir') == 'recv',
               'requester MSG on the inbox', everything)


def test_hpub_headers():
    payload = 'hdr-payload'
    with h.NatsServer() as ns:
        with h.Trace(h.scope(ns.pid) + ['--port', ns.port_arg]) as t:
            sub = h.natsc(ns.url, 'sub', 'e2e.h', '--count', 1, '--timeout', 10)
            sub.wait_for('READY')
            pub = h.natsc(ns.url, 'hpub', 'e2e.h', payload, 'X-Trace-Id=abc123', 'X-Multi=one', 'X-Multi=two')
            pub.wait_ok()
            sub.wait_ok()
        everything = dump(t.messages())
        hp = t.nats(op='HPUB', subject='e2e.h', pid=pub.pid)
        expect(len(hp) == 1, 'HPUB record', everything)
        r = hp[0]
        expect(h.header(r, 'X-Trace-Id') == 'abc123', 'HPUB headers contain X-Trace-Id: abc123', h.short(r))
        expect(h.header(r, 'X-Multi') == ['one', 'two'], 'repeated header is an array', h.short(r))
        expect(r.get('size') == len(payload) and r.get('payload') == payload,
               'HPUB size excludes headers; payload exact', h.short(r))
        expect(isinstance(r.get('header_size'), int) and r['header_size'] > len('NATS/1.0\r\n\r\n'),
               'HPUB header_size declared', h.short(r))
        hm = t.nats(op='HMSG', subject='e2e.h', pid=sub.pid)
        expect(len(hm) == 1 and h.header(hm[0], 'X-Trace-Id') == 'abc123' and hm[0].get('payload') == payload,
               'HMSG at the subscriber with the header', everything)


def test_big_payload():
    size = 100000
    expected = ''.join(chr(0x61 + i % 26) for i in range(size - 1)) + 'Z'
    with h.NatsServer() as ns:
        with h.Trace(h.scope(ns.pid) + ['--port', ns.port_arg, '--snaplen', SNAPLEN]) as t:
            sub = h.natsc(ns.url, 'sub', 'e2e.big.>', '--count', 2, '--timeout', 10)
            sub.wait_for('READY')
            pub = h.natsc(ns.url, 'pubsize', 'e2e.big.data', size, '--then-pub', 'e2e.big.after', 'small-after')
            pub.wait_ok()
            sub.wait_ok()
        everything = dump(t.messages())
        for who, op, pid in (('publisher', 'PUB', pub.pid), ('subscriber', 'MSG', sub.pid),
                             ('nats-server', 'PUB', ns.pid)):
            big = t.nats(op=op, subject='e2e.big.data', pid=pid)
            expect(len(big) == 1, f'{who}: {op} of the 100 KB message', everything)
            r = big[0]
            p = r.get('payload') or ''
            expect(r.get('size') == size, f'{who}: size == {size}', h.short(r))
            expect(r.get('truncated') is True, f'{who}: truncated true', h.short(r))
            expect(0 < len(p) <= SNAPLEN, f'{who}: 0 < captured payload <= snaplen ({SNAPLEN})',
                   f'len {len(p)}')
            expect(expected.startswith(p), f'{who}: captured payload is the message prefix', p[:80])
            after = t.nats(op=op, subject='e2e.big.after', pid=pid)
            expect(len(after) == 1 and after[0].get('payload') == 'small-after' and not after[0].get('truncated'),
                   f'{who}: the next message on the connection is still parsed', everything)
            expect(after[0].get('conn') == r.get('conn'), f'{who}: both on one conn')


def test_client_connected_before_trace():
    with h.NatsServer() as ns:
        early = h.natsc(ns.url, 'idle', 30, '--then-pub', 'e2e.early', 'early-bird', stdin=True)
        early.wait_for('READY')
        with h.Trace(h.scope(ns.pid, early.pid) + ['--port', ns.port_arg]) as t:
            early.send('go')
            early.wait_for('PUBLISHED')
            early.wait_ok()
        pubs = t.nats(op='PUB', subject='e2e.early', pid=early.pid)
        expect(len(pubs) == 1, 'PUB of a client connected before msgscope started is captured',
               dump(t.messages()))
        r = pubs[0]
        expect(r.get('payload') == 'early-bird' and r.get('size') == 10 and r.get('dir') == 'send',
               'its payload/size/dir are right', h.short(r))
        expect(r.get('role') == 'unknown', 'its role is "unknown" (socket opened before the trace)', h.short(r))


# A bare subscriber whose read is already waiting in the kernel when the
# trace starts: the idle subscriber of a quiet system. nats-server PINGs a
# new client about 2 s after it connects; that PING, had it come while the
# trace started, would have ended the waiting read instead of the MSG (CI
# saw it once msgscope took 1.6 s to attach). So the subscriber answers it
# first: the next PING is minutes away.
BLOCKED_SUB = r"""
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(b'CONNECT {"verbose":false}\r\nSUB e2e.blocked 1\r\nPING\r\n')
buf = b''
while b'PONG\r\n' not in buf:
    buf += s.recv(4096)
s.settimeout(10)
try:
    while b'PING\r\n' not in buf:
        buf += s.recv(4096)
    s.sendall(b'PONG\r\n')
except socket.timeout:
    pass
s.settimeout(None)
print('READY', flush=True)
got = s.recv(65536)
print('GOT', len(got), flush=True)
"""


def test_read_blocked_at_attach():
    """The one read a subscriber had waiting when msgscope attached: its
    message is recorded. With the arguments remembered at the syscall's
    enter, this read was never seen (README: kernels before 5.15 still
    miss it; msgscope check says which path runs)."""
    h.require_tools(['bpftool'])
    with h.NatsServer() as ns:
        sub = h.spawn(['python3', '-c', BLOCKED_SUB, str(ns.port)])
        sub.wait_for('READY')
        time.sleep(0.2)            # into its recv()
        with h.Trace(h.scope(ns.pid, sub.pid) + ['--port', ns.port_arg]) as t:
            progs = h.loaded_prog_names()
            h.natsc(ns.url, 'pub', 'e2e.blocked', 'waited-for', 1).wait_ok()
            sub.wait_for('GOT')
            time.sleep(0.3)
        msgs = t.nats(op='MSG', subject='e2e.blocked', pid=sub.pid)
        expect(len(msgs) == 1 and msgs[0].get('payload') == 'waited-for',
               'the MSG read by a recv() that was blocked before the trace started is recorded',
               dump(t.messages()))
    expect(('on_sock_recv' in progs or 'on_sys_exit' in progs) and 'exit_read' not in progs
           and 'enter_read' not in progs,
           'the data syscalls are followed from inside or at their exit alone, '
           'by the socket hooks or one raw sys_exit program', sorted(progs))



def traced_pub_pair(subject, inspect=None, args=(), **env):
    """A subscriber waiting, then two publications to it, traced with env
    set; the first one's delivery is the read already waiting for the
    second, traced with args added. Returns the trace and what
    inspect(trace) said while it ran: by default the BPF programs loaded
    meanwhile."""
    h.require_tools(['bpftool'])
    with h.env(**env):
        with h.NatsServer() as ns:
            sub = h.natsc(ns.url, 'sub', subject, '--count', 2, '--timeout', 30)
            sub.wait_for('READY')
            with h.Trace(h.scope(ns.pid, sub.pid) + ['--port', ns.port_arg, *args]) as t:
                h.natsc(ns.url, 'pub', subject, 'first', 1).wait_ok()
                time.sleep(0.3)    # the subscriber is in its next read
                h.natsc(ns.url, 'pub', subject, 'second', 1).wait_ok()
                sub.wait_ok()
                progs = inspect(t) if inspect else h.loaded_prog_names()
                time.sleep(0.3)
    return t, progs


def possible_cpus():
    """How many CPUs the kernel may run BPF programs on (as libbpf counts)."""
    n = 0
    for part in open('/sys/devices/system/cpu/possible').read().strip().split(','):
        lo, _, hi = part.partition('-')
        n += int(hi or lo) - int(lo) + 1
    return n


def ring_maps(pid):
    """The ring buffer maps pid holds: {name: count}."""
    out = subprocess.run([h.tool('bpftool'), 'map', 'show', '-j'], stdout=subprocess.PIPE,
                         check=True, text=True).stdout
    mine = h.bpf_objects(pid)['map']
    got = {}
    for m in json.loads(out):
        if m.get('id') in mine and m.get('type') == 'ringbuf':
            got[m.get('name')] = got.get(m.get('name'), 0) + 1
    return got


def rings_in_order(subject, args, want_rings):
    """A publication pair traced with args: its rings are want_rings
    ms_rings beside the one-page `events` (only `events` for 0), and
    every end of both publications is recorded, merged back in time
    order."""
    t, rings = traced_pub_pair(subject, inspect=lambda t: ring_maps(t.proc.pid), args=args)
    want = {'events': 1, 'ms_ring': want_rings} if want_rings else {'events': 1}
    expect({k: v for k, v in rings.items() if k in ('ms_ring', 'events')} == want,
           f'{args}: rings {want}', rings)
    said = f'+ {want_rings} ring buffers' if want_rings else '+ ring buffer'
    expect(said in t.meta.get('capture', '') and
           (want_rings or 'ring buffers' not in t.meta.get('capture', '')),
           f'meta.capture says "{said}"', t.meta.get('capture'))
    for payload in ('first', 'second'):
        expect(every_end(t, subject, payload),
               f'{payload}: the server\'s PUB and MSG and the subscriber\'s MSG are recorded',
               dump(t.messages()))
    ts = [r['ts'] for r in t.nats(subject=subject)]
    expect(ts == sorted(ts), 'records come out merged in time order', ts)


def test_two_rings_by_default():
    """By default, on more than one CPU, CPU c's records go to ring c mod 2
    (the CPUs of a client and its server share no lock or cache line for
    them), merged back in time order."""
    ncpu = possible_cpus()
    rings_in_order('e2e.rings2', [], 2 if ncpu >= 2 else 0)


def test_ring_per_cpu():
    """With --rings cpu, each CPU's records go to a ring of its own."""
    ncpu = possible_cpus()
    rings_in_order('e2e.rings', ['--rings', 'cpu'], ncpu if ncpu >= 2 else 0)


def spill_burst(size, **env):
    """msgscope with a ring of 1 MiB per CPU, stopped, while nats-server,
    its client and msgscope, all on one CPU, take two publications of
    size bytes; traced with env set. Returns the trace."""
    ncpu = possible_cpus()
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(saved)})
    try:
        with h.env(**env), h.NatsServer() as ns:
            # a power of two, shared out: 1 MiB per CPU
            buf = 1 << (ncpu - 1).bit_length()
            with h.Trace(['-p', ns.pid, '--ring-per-cpu', '--buffer-size', buf]) as t:
                os.kill(t.proc.pid, signal.SIGSTOP)
                try:
                    for _ in range(2):
                        h.natsc(ns.url, 'pubsize', 'e2e.spill', size).wait_ok()
                finally:
                    os.kill(t.proc.pid, signal.SIGCONT)
                time.sleep(0.5)
    finally:
        os.sched_setaffinity(0, saved)
    return t


def test_ring_per_cpu_spills():
    """A burst from one CPU that overfills its ring spills into the next
    CPU's: 1.4 MB of publications read by nats-server on one CPU, with a
    ring of 1 MiB per CPU and msgscope stopped, loses nothing and both
    publications are recorded. On the socket hooks and on the raw
    sys_exit program, whose verifier budget is the tightest."""
    expect(possible_cpus() >= 2, 'more than one CPU, or there is no other ring to spill into',
           possible_cpus())
    size = 700000
    for path, env in (('socket hooks', {}), ('raw sys_exit', {'MSGSCOPE_RAW_SYS_EXIT': '1'})):
        t = spill_burst(size, **env)
        pubs = t.nats(op='PUB', subject='e2e.spill')
        expect(t.end.get('drops') == 0,
               f'{path}: nothing dropped, the second ring took what the first had no room for',
               h.short(t.end))
        expect(t.end.get('gap_bytes') == 0 and t.end.get('bytes', 0) >= 2 * size,
               f'{path}: every byte of them reached the parser', h.short(t.end))
        expect(len(pubs) == 2 and all(p.get('size') == size for p in pubs),
               f'{path}: both publications recorded', [p.get('size') for p in pubs])


def test_nothing_lost_while_starting():
    """The rings are in place before the first hook is attached: processes
    that exit while msgscope starts (a shell running /bin/true in a loop,
    followed with -p, its children with it) lose no event. Before, with
    two rings, the hooks ran before the rings were made and counted those
    exits as dropped."""
    churn = subprocess.Popen(['sh', '-c', 'while :; do /bin/true; done'])
    try:
        with h.Trace(['-p', churn.pid]) as t:
            time.sleep(0.3)
    finally:
        churn.kill()
        churn.wait()
    control = sum(d.get('control', 0) for d in t.select('drops'))
    expect(control == 0 and t.end.get('drops') == 0,
           f'no event dropped while starting (control {control}, data {t.end.get("drops")})',
           dump(t.select('drops')))


def test_one_ring_path():
    """With --rings 1, one ring, `events`, takes every CPU's records."""
    rings_in_order('e2e.onering', ['--rings', '1'], 0)


def every_end(t, subject, payload):
    """The server's PUB and MSG and the subscriber's MSG were recorded."""
    got = {(r.get('op'), r.get('dir')) for r in t.nats(subject=subject, payload=payload)}
    return {('PUB', 'recv'), ('MSG', 'send'), ('MSG', 'recv')} <= got


def test_pair_local_on_each_path():
    """--pair-local loads and pairs on every capture path (it once did not
    on the syscall tracepoints: a chain of calls passed the verifier's stack
    bound): each publication's PUB and MSG recorded, by the reader or by a
    send marked peer_read, and the ends paired."""
    for label, env in (('socket hooks or default', {}),
                       ('raw sys_exit', {'MSGSCOPE_RAW_SYS_EXIT': '1'}),
                       ('syscall tracepoints', {'MSGSCOPE_SYSCALL_TRACEPOINTS': '1'}),
                       ('enter hooks', {'MSGSCOPE_ENTER_HOOKS': '1'})):
        t, _ = traced_pub_pair('e2e.pair', args=['--pair-local'], **env)
        got = {(r.get('op'), 'paired' if r.get('peer_read') else r.get('dir'))
               for r in t.nats(subject='e2e.pair', payload='second')}
        expect({'PUB', 'MSG'} <= {op for op, how in got if how in ('recv', 'paired')},
               f'{label}: PUB and MSG each recorded at the read or as a paired send '
               f'({sorted(got)})', dump(t.messages()))
        expect(t.end.get('paired', 0) >= 1, f'{label}: ends paired', h.short(t.end))


def test_pair_local_lost_bytes():
    """--pair-local: a byte a peer_read send did not capture is lost to its
    reader too, whose read was left out. The end line counts those bytes in
    peer_lost_bytes, so that drop_bytes + cut_bytes + peer_lost_bytes is
    what the same trace without the option misses, where each end counts
    its own (bench/run.sh's completeness accounting adds them up so).
    Here --snaplen 64 cuts each 2000-byte PUB and MSG, on two paired
    connections; without the option peer_lost_bytes is 0. And the bytes
    of paired sends dropped with the ring full are counted so too."""
    count, size = 20, 2000
    ends = {}
    for pair in (False, True):
        with h.NatsServer() as ns:
            sub = h.natsc(ns.url, 'sub', 'e2e.lost', '--count', count, '--timeout', 30)
            sub.wait_for('READY')
            args = h.scope(ns.pid, sub.pid) + ['--port', ns.port_arg, '--snaplen', 64]
            with h.Trace(args + (['--pair-local'] if pair else [])) as t:
                h.natsc(ns.url, 'pub', 'e2e.lost', 'x' * size, count).wait_ok()
                sub.wait_ok()
                time.sleep(0.3)
        ends[pair] = t.end
    alone, paired = ends[False], ends[True]
    missed = {k: e.get('drop_bytes', 0) + e.get('cut_bytes', 0) + e.get('peer_lost_bytes', 0)
              for k, e in ends.items()}
    expect(alone.get('peer_lost_bytes') == 0, 'without --pair-local, no byte is a paired one',
           h.short(alone))
    expect(paired.get('paired', 0) >= 2 and
           0 < paired.get('peer_lost_bytes', 0) <= paired.get('cut_bytes', 0),
           'with it, the paired sends\' cut bytes (a part of cut_bytes) count as their '
           'readers\' loss too', h.short(paired))
    expect(abs(missed[True] - missed[False]) <= missed[False] // 10,
           'what the trace misses adds up the same with the option and without, '
           f'within 10% ({missed[True]} against {missed[False]})',
           f'{h.short(paired)}\n{h.short(alone)}')
    # Dropped: a ring of 1 MiB and msgscope stopped while 3 MB of PUBs
    # go out on a paired connection. What is dropped is the publisher's
    # sends (the server's reads of them are left out, never shipped).
    with h.NatsServer() as ns:
        with h.Trace(h.scope(ns.pid) + ['--port', ns.port_arg, '--pair-local',
                                        '--buffer-size', 1]) as t:
            os.kill(t.proc.pid, signal.SIGSTOP)
            try:
                h.natsc(ns.url, 'pub', 'e2e.lost', 'x' * 100000, 30).wait_ok()
            finally:
                os.kill(t.proc.pid, signal.SIGCONT)
            time.sleep(0.5)
    expect(t.end.get('drop_bytes', 0) > 1000000 and
           t.end.get('peer_lost_bytes', 0) >= t.end.get('drop_bytes', 0) * 9 // 10,
           'a paired send dropped with the ring full counts as its reader\'s loss too',
           h.short(t.end))


def test_enter_hooks_fallback():
    """Kernels before 5.15 have no bpf_task_pt_regs: an enter hook per data
    syscall remembers its arguments for the exit (and before 5.11 the fd
    table is walked with helper reads, not BTF loads). That path (forced
    here with MSGSCOPE_ENTER_HOOKS=1, both parts) records every end of a
    publication, except at the subscriber the read that was already waiting
    when the trace started."""
    t, progs = traced_pub_pair('e2e.enter', MSGSCOPE_ENTER_HOOKS='1')
    expect('enter_read' in progs and 'exit_read' in progs and 'on_exit' in progs
           and 'on_exit_btf' not in progs,
           'the enter hooks are loaded beside the exit hooks, process exit on its tracepoint',
           sorted(progs))
    expect(every_end(t, 'e2e.enter', 'second'),
           'with the enter hooks, the server\'s PUB and MSG and the subscriber\'s MSG are recorded',
           dump(t.messages()))


def test_syscall_tracepoints_path():
    """Where tp_btf is refused but bpf_task_pt_regs works, a tracepoint per
    data syscall reads the arguments at its exit instead of on_sys_exit.
    MSGSCOPE_SYSCALL_TRACEPOINTS=1 forces that path: every end of a
    publication is recorded, the read already waiting included."""
    t, progs = traced_pub_pair('e2e.tps', MSGSCOPE_SYSCALL_TRACEPOINTS='1')
    expect('exit_read' in progs and 'exit_connect' in progs and 'on_sys_exit' not in progs
           and 'enter_read' not in progs,
           'a tracepoint per syscall exit, no enter hooks, no raw sys_exit', sorted(progs))
    for payload in ('first', 'second'):
        expect(every_end(t, 'e2e.tps', payload),
               f'{payload}: the server\'s PUB and MSG and the subscriber\'s MSG are recorded',
               dump(t.messages()))


def test_socket_hooks_path():
    """Where the kernel has the socket tracepoints (msgscope check says so),
    they follow the data instead of a hook on every syscall's exit: every
    end of a publication is recorded, and the connection opened during the
    trace has its sides (client, server) from the state change the socket
    hooks watch. Elsewhere the raw sys_exit program must have been chosen."""
    t, progs = traced_pub_pair('e2e.sock')
    if h.feature_here('sock data tracepoints'):
        expect({'on_sock_send', 'on_sock_recv', 'on_sock_state'} <= progs
               and not {'on_sys_exit', 'exit_read', 'enter_read', 'enter_close'} & progs,
               'the socket hooks, and no hook on the other syscalls', sorted(progs))
    else:
        expect('on_sys_exit' in progs and 'on_sock_send' not in progs,
               'no socket tracepoints here: the raw sys_exit program', sorted(progs))
    for payload in ('first', 'second'):
        expect(every_end(t, 'e2e.sock', payload),
               f'{payload}: the server\'s PUB and MSG and the subscriber\'s MSG are recorded',
               dump(t.messages()))
    pubs = t.nats(op='PUB', subject='e2e.sock', payload='second')
    roles = {(r.get('dir'), r.get('role')) for r in pubs}
    expect(roles == {('send', 'client'), ('recv', 'server')},
           'the publisher connected during the trace: its side is the client, the server\'s '
           'the server', dump(pubs))


def test_raw_sys_exit_path():
    """Without the socket tracepoints (forced with MSGSCOPE_RAW_SYS_EXIT=1),
    one raw sys_exit program follows the data syscalls and close(2)."""
    t, progs = traced_pub_pair('e2e.raw', MSGSCOPE_RAW_SYS_EXIT='1')
    expect('on_sys_exit' in progs and not {'on_sock_send', 'exit_read', 'enter_close'} & progs,
           'one raw sys_exit program, no socket or syscall tracepoint hooks', sorted(progs))
    for payload in ('first', 'second'):
        expect(every_end(t, 'e2e.raw', payload),
               f'{payload}: the server\'s PUB and MSG and the subscriber\'s MSG are recorded',
               dump(t.messages()))


# The start of a bare NATS client script: connect(port) says CONNECT and
# waits for the server's PONG; await_pong(s) waits for the answer to a PING.
BARE_CLIENT = r"""
import socket, sys
def await_pong(s, buf=b''):
    while b'PONG\r\n' not in buf:
        buf += s.recv(4096)
def connect(port):
    s = socket.create_connection(('127.0.0.1', port))
    buf = b''
    while b'\r\n' not in buf:
        buf += s.recv(4096)
    s.sendall(b'CONNECT {"verbose":false}\r\nPING\r\n')
    await_pong(s, buf)
    return s
"""

# A bare NATS publisher that sends two PUBs in one sendmmsg(2), then a third
# with a plain send.
MMSG_PUB = BARE_CLIENT + r"""
import ctypes
class iovec(ctypes.Structure):
    _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]
class msghdr(ctypes.Structure):
    _fields_ = [('name', ctypes.c_void_p), ('namelen', ctypes.c_uint32),
                ('iov', ctypes.POINTER(iovec)), ('iovlen', ctypes.c_size_t),
                ('control', ctypes.c_void_p), ('controllen', ctypes.c_size_t),
                ('flags', ctypes.c_int)]
class mmsghdr(ctypes.Structure):
    _fields_ = [('hdr', msghdr), ('len', ctypes.c_uint)]
libc = ctypes.CDLL(None, use_errno=True)
s = connect(int(sys.argv[1]))
msgs = [b'PUB e2e.mmsg 3\r\n%s\r\n' % w for w in (b'one', b'two')]
bodies = [ctypes.create_string_buffer(m, len(m)) for m in msgs]
iovs = [iovec(ctypes.cast(b, ctypes.c_void_p), len(m)) for b, m in zip(bodies, msgs)]
vec = (mmsghdr * 2)()
for i in range(2):
    vec[i].hdr.iov = ctypes.pointer(iovs[i])
    vec[i].hdr.iovlen = 1
n = libc.sendmmsg(s.fileno(), vec, 2, 0)
assert n == 2, ('sendmmsg', n, ctypes.get_errno())
s.sendall(b'PUB e2e.mmsg 5\r\nthree\r\nPING\r\n')
await_pong(s)
print('SENT', flush=True)
"""


def traced_bare_pub(script, subject, extra=()):
    """Run a bare publisher (a script of BARE_CLIENT's, given the server's
    port, printing SENT when done) against a fresh nats-server under
    `msgscope trace --port` (plus extra). Returns the trace and the
    payloads of the PUBs on subject, as the publisher sent them and as the
    server read them."""
    with h.NatsServer() as ns:
        with h.Trace(['--port', ns.port_arg] + list(extra)) as t:
            pub = h.spawn(['python3', '-c', script, str(ns.port)])
            pub.wait_for('SENT')
            pub.wait_ok()
            time.sleep(0.3)
    sent = [r.get('payload') for r in t.nats(op='PUB', pid=pub.pid, subject=subject)]
    got = [r.get('payload') for r in t.nats(op='PUB', pid=ns.pid, subject=subject)]
    return t, sent, got


def test_sendmmsg():
    """Two PUBs sent in one sendmmsg(2) on TCP. On the socket hooks their
    bytes are counted as a gap, not copied (the hook runs once per message
    and does not say which), and the stream stays in step: the publisher's
    next PUB is recorded. On the raw sys_exit path the whole vector is read
    at the exit and all three are recorded. The server's reads record all
    three either way."""
    for env in ({}, {'MSGSCOPE_RAW_SYS_EXIT': '1'}):
        with h.env(**env):
            t, sent, got = traced_bare_pub(MMSG_PUB, 'e2e.mmsg')
        expect(got == ['one', 'two', 'three'],
               f'{"raw sys_exit" if env else "default"} path: the server read all three PUBs',
               dump(t.messages()))
        if env or not h.feature_here('sock data tracepoints'):
            expect(sent == ['one', 'two', 'three'],
                   'on the raw sys_exit path the sendmmsg vector is read at its exit', str(sent))
        else:
            expect(sent == ['three'] and t.end.get('gap_bytes', 0) >= 42,
                   'on the socket hooks the two PUBs of the sendmmsg are a gap of their bytes, '
                   'and the PUB after them is recorded', f'{sent}, end: {h.short(t.end)}')


# A bare NATS publisher that sends twelve short PUBs in one sendmsg(2) of
# twelve iovecs, one PUB each (as Go servers write pending messages), then
# a PING.
MANY_IOV_PUB = BARE_CLIENT + r"""
s = connect(int(sys.argv[1]))
pubs = [b'PUB e2e.iov 2\r\n%02d\r\n' % i for i in range(12)]
assert s.sendmsg(pubs) == sum(map(len, pubs)), 'sendmsg of twelve'
s.sendall(b'PING\r\n')
await_pong(s)
print('SENT', flush=True)
"""


def test_many_short_iovecs():
    """A short call of more iovecs than one record per iovec covers (8):
    at the default snaplen each of its twelve iovecs goes out in a record
    of its own, and all twelve PUBs are recorded at the publisher, nothing
    cut, on the socket hooks and the raw sys_exit program (before, those
    past the eighth were a counted gap). At --snaplen 65536, where the
    programs carry no long-copy path, the eight are recorded and the rest
    of the call is counted in cut_bytes."""
    want = ['%02d' % i for i in range(12)]
    for label, env, extra, n in (('socket hooks', {}, [], 12),
                                 ('raw sys_exit', {'MSGSCOPE_RAW_SYS_EXIT': '1'}, [], 12),
                                 ('--snaplen 65536', {}, ['--snaplen', '65536'], 8)):
        with h.env(**env):
            t, sent, got = traced_bare_pub(MANY_IOV_PUB, 'e2e.iov', extra)
        expect(got == want, f'{label}: the server read all twelve PUBs', dump(t.messages()))
        cut = sum(len('PUB e2e.iov 2\r\n%s\r\n' % p) for p in want[n:])
        expect(sent == want[:n] and t.end.get('cut_bytes') == cut,
               f'{label}: the first {n} PUBs recorded at the publisher, {cut} bytes cut',
               f'{sent}, end: {h.short(t.end)}')


# A bare NATS publisher that sends COUNT PUBs in one send(2), COUNT more in
# one sendmsg(2) of a single iovec, and COUNT more in one sendmsg(2) of six
# iovecs cut at arbitrary bytes (about 50 KB each), each call some 300 KB,
# then a PING.
LONG_PUB = BARE_CLIENT + r"""
port, count = int(sys.argv[1]), int(sys.argv[2])
s = connect(port)
def batch(first):
    return b''.join(b'PUB e2e.long 8\r\n%08d\r\n' % i for i in range(first, first + count))
one = batch(0)
assert s.send(one) == len(one), 'one send'
two = batch(count)
assert s.sendmsg([two]) == len(two), 'one sendmsg'
three = batch(2 * count)
cuts = [len(three) * k // 6 + 7 * k for k in range(6)] + [len(three)]
assert s.sendmsg([three[a:b] for a, b in zip(cuts, cuts[1:])]) == len(three), 'sendmsg of six'
four = batch(3 * count)
half = len(four) // 2 + 5
assert s.sendmsg([four[:half], four[half:]]) == len(four), 'sendmsg of two long'
five = batch(4 * count)
cuts = [len(five) * k // 12 for k in range(12)] + [len(five)]
assert s.sendmsg([five[a:b] for a, b in zip(cuts, cuts[1:])]) == len(five), 'sendmsg of twelve'
s.sendall(b'PING\r\n')
await_pong(s)
print('SENT', len(one), len(two), flush=True)
"""


def test_long_writes():
    """At the default snaplen (1 MiB) a buffer longer than one record (64
    KiB) is shipped in pieces, and a call's iovecs each in a record or in
    pieces: every PUB of a 300 KB send(2), of a 300 KB sendmsg(2) of one
    iovec, of one of six, of one of two 150 KB iovecs (cut at 64 KiB
    each before) and of one of twelve (as Go servers write a backlog; past
    the eighth iovec a gap before) is recorded at the publisher, in order,
    none cut, on the default path and on the raw sys_exit one. At --snaplen
    65536 the rest of each call is a gap: fewer are recorded, the stream
    resynchronises, and the gap is counted, as cut_bytes: every gap byte is
    a cut or a drop. So it is at 1 MiB for calls that would take the
    ring past a quarter full (600 KB calls, a 1 MiB ring), counted as ring_cuts;
    that case traces the publisher alone (--comm), as the server's reads of
    3 MB would overflow the small ring. And so it is when the kernel
    refuses the long copy path (simulated): msgscope says so, loads at 64
    KiB and the meta line says 65536."""
    small_ring = ['--buffer-size', '1M', '--comm', 'python3']  # the unit written out
    refused = {'MSGSCOPE_REFUSE_LONG_COPY': '1'}
    cases = (('default path', {}, [], 12000), ('raw sys_exit', {'MSGSCOPE_RAW_SYS_EXIT': '1'}, [], 12000),
             ('--snaplen 65536', {}, ['--snaplen', 65536], 12000),
             ('1 MiB ring', {}, small_ring, 24000), ('long copy refused', refused, [], 12000))
    for what, env, extra, count in cases:
        want = ['%08d' % i for i in range(5 * count)]
        with h.env(**env):
            with h.NatsServer() as ns:
                with h.Trace(['--port', ns.port_arg] + extra) as t:
                    pub = h.spawn(['python3', '-c', LONG_PUB, str(ns.port), str(count)])
                    pub.wait_for('SENT')
                    pub.wait_ok()
                    time.sleep(0.3)
        sent = t.nats(op='PUB', pid=pub.pid, subject='e2e.long')
        got = [r.get('payload') for r in sent]
        read = [r.get('payload') for r in t.nats(op='PUB', pid=ns.pid, subject='e2e.long')]
        if extra != small_ring:
            expect(read == want, f'{what}: the server read every PUB, in order',
                   f'{len(read)} of {len(want)}')
        if what in ('default path', 'raw sys_exit'):
            expect(got == want and not any(r.get('truncated') for r in sent),
                   f'{what}: every PUB of the five long calls recorded at the publisher, in order, '
                   'none cut', f'{len(got)} of {len(want)}; end: {h.short(t.end)}')
        else:
            expect(0 < got.count('%08d' % 0) and len(got) < len(want) // 2 and
                   all('%08d' % (k * count) in got for k in (1, 2, 3, 4)) and
                   t.end.get('gap_bytes', 0) > 600000,
                   f'{what}: each call cut after 64 KiB, the next calls\' first PUBs '
                   'recorded, the rest counted as a gap', f'{len(got)}; end: {h.short(t.end)}')
        expect(t.end.get('gap_bytes', 0) - t.end.get('cut_bytes', 0) <= t.end.get('drop_bytes', 0),
               f'{what}: every gap byte is a cut or a drop', h.short(t.end))
        expect(t.end.get('ring_cuts') == (5 if extra == small_ring else 0),
               f'{what}: ring_cuts counts the calls cut for the ring\'s sake, and only those',
               h.short(t.end))
        refusal = 'refused the programs at --snaplen 1048576' in t.stderr
        snaplen = t.meta.get('options', {}).get('snaplen')
        expect((refusal, snaplen) == ((True, 65536) if env is refused else
                                      (False, 65536 if extra[:1] == ['--snaplen'] else 1048576)),
               f'{what}: the meta line\'s snaplen is the one loaded; a refusal is said on stderr',
               f'snaplen {snaplen}; stderr: {t.stderr[-400:]}')


# A bare NATS subscriber that reads its stream in pieces of exactly one
# message, but out of step by OFFSET bytes: every read starts inside a MSG
# line and the next line starts a whole message later, far from the start
# of the read. nats-server's PING (its first comes two seconds after the
# client connects) would shift that step by 6 bytes: a read after one is
# 6 bytes longer, so the step holds whenever msgscope starts. On SIGUSR1 it
# reads SHIFT bytes once, which moves its reads to start SHIFT bytes
# further into the message. A bare publisher to go with it.
DEEP_SUB = r"""
import signal, socket, sys
port, count, size, offset = (int(a) for a in sys.argv[1:5])
SHIFT = 50000
frame = len(b'MSG e2e.deep 1 %d\r\n' % size) + size + 2
shift = []
signal.signal(signal.SIGUSR1, lambda *a: shift.append(1))
s = socket.create_connection(('127.0.0.1', port))
s.sendall(b'CONNECT {"verbose":false}\r\nSUB e2e.deep 1\r\nPING\r\n')
buf = b''
while b'PONG\r\n' not in buf:
    buf += s.recv(4096)
print('READY', flush=True)
got, tail, pings = 0, b'', 0
def read(n):
    global got, tail, pings
    d = s.recv(n, socket.MSG_WAITALL)
    got += len(d)
    pings += (tail + d).count(b'PING\r\n')
    tail = d[-5:]
read(offset)
for i in range(count - 1):
    if shift == [1]:
        read(SHIFT)
        shift.append(1)
        print('SHIFTED', flush=True)
    ping_bytes, pings = 6 * pings, 0
    read(frame + ping_bytes)
    if i == 10:
        print('FLOWING', flush=True)
print('DONE', got, flush=True)
"""
DEEP_PUB = r"""
import socket, sys, time
port, count, size, rate = (int(a) for a in sys.argv[1:5])
s = socket.create_connection(('127.0.0.1', port))
s.sendall(b'CONNECT {"verbose":false}\r\n')
msg = b'PUB e2e.deep %d\r\n' % size + b'x' * size + b'\r\n'
t0 = time.monotonic()
for i in range(count):
    s.sendall(msg)
    time.sleep(max(0.0, t0 + (i + 1) / rate - time.monotonic()))
s.sendall(b'PING\r\n')
while b'PONG' not in s.recv(4096):
    pass
print('SENT', count, flush=True)
"""


def deep_clients(ns, count, size, rate, offset=7):
    """The subscriber, connected and reading out of step, and the publisher."""
    sub = h.spawn(['python3', '-c', DEEP_SUB] + [str(a) for a in (ns.port, count, size, offset)])
    sub.wait_for('READY')
    pub = h.spawn(['python3', '-c', DEEP_PUB] + [str(a) for a in (ns.port, count, size, rate)])
    sub.wait_for('FLOWING', timeout=30)
    return sub, pub


def expect_deep_subscriber_seen(count, offset, what):
    """Trace a subscriber of 8 KiB messages reading out of step by offset
    bytes, connected before the trace: its MSGs are recorded."""
    size = 8192
    with h.NatsServer() as ns:
        sub, pub = deep_clients(ns, count, size, 1000, offset)  # most after the trace starts
        with h.Trace(h.scope(ns.pid, sub.pid, pub.pid)) as t:
            pub.wait_for('SENT', timeout=60)
            sub.wait_for('DONE', timeout=30)
            time.sleep(0.5)
        msgs = t.nats(op='MSG', subject='e2e.deep', pid=sub.pid)
        late = len(t.nats(op='PUB', subject='e2e.deep', pid=pub.pid))
        expect(late > 100, 'the publisher sent messages after the trace started', f'{late} PUB records')
        expect(len(msgs) >= late // 2, what,
               f'{len(msgs)} MSG records at the subscriber, {late} PUB records at the publisher')
        expect(all(r.get('size') == size for r in msgs), f'every MSG has size {size}', dump(msgs[:3]))


def test_subscriber_joined_mid_message():
    """A busy subscriber connected before msgscope, whose every read starts
    inside a message: its connection is recognised as NATS and its messages
    are recorded. Only the first 256 bytes of a read were searched for a
    message boundary before, and this subscriber was never seen."""
    expect_deep_subscriber_seen(5000, 7, 'the subscriber joined mid-message is recognised and its MSGs recorded')


def test_boundary_split_between_reads():
    """A subscriber connected before msgscope whose reads each end two
    bytes into the next message ("...\\r\\nMS" | "G e2e.deep ..."): no read
    holds a whole boundary, so the guess carries the end of one read into
    the next. Without that it was never recognised."""
    expect_deep_subscriber_seen(4000, 2, 'the subscriber whose reads split every boundary is recognised')


def test_subscriber_given_up_on_is_tried_again():
    """Messages larger than the bytes a read is searched through, read out
    of step: every attempt to recognise the subscriber fails and msgscope
    gives up on it. When its reads shift so that a message boundary comes
    early in them, a later attempt recognises it; it used to stay unseen."""
    size = 100000
    with h.NatsServer() as ns:
        sub, pub = deep_clients(ns, 600, size, 100)     # 6 s
        with h.Trace(h.scope(ns.pid, sub.pid, pub.pid)) as t:
            time.sleep(0.6)        # ~60 reads: past the first attempts, all failed
            sub.signal(signal.SIGUSR1)
            sub.wait_for('SHIFTED')
            pub.wait_for('SENT', timeout=60)
            sub.wait_for('DONE', timeout=30)
            time.sleep(0.5)
        msgs = t.nats(op='MSG', subject='e2e.deep', pid=sub.pid)
        late = len(t.nats(op='PUB', subject='e2e.deep', pid=pub.pid))
        expect(late > 100, 'the publisher sent messages after the trace started', f'{late} PUB records')
        expect(len(msgs) >= 50, 'the subscriber is recognised after its reads shift',
               f'{len(msgs)} MSG records at the subscriber, {late} PUB records at the publisher')
        expect(all(r.get('size') == size for r in msgs), f'every MSG has size {size}', dump(msgs[:3]))


# A publisher whose writes each hold one PUB, four bytes out of step
# (" e2e.edge 10\r\n0123456789\r\nPUB "), from the last bytes of a page
# whose next page is unmapped (PROT_NONE).
EDGE_PUB = BARE_CLIENT + r"""
import ctypes, mmap, signal, time
port, count = int(sys.argv[1]), int(sys.argv[2])
msg = b'PUB e2e.edge 10\r\n0123456789\r\n'
out = msg[4:] + msg[:4]
page = mmap.PAGESIZE
mem = mmap.mmap(-1, 2 * page)
base = ctypes.addressof(ctypes.c_char.from_buffer(mem))
libc = ctypes.CDLL(None, use_errno=True)
if libc.mprotect(ctypes.c_void_p(base + page), page, 0):
    sys.exit('mprotect: errno %d' % ctypes.get_errno())
mem[page - len(out):page] = out
edge = memoryview(mem)[page - len(out):page]
go = []
signal.signal(signal.SIGUSR1, lambda *a: go.append(1))
s = connect(port)
s.sendall(msg[:4])
print('READY', flush=True)
while not go:
    time.sleep(0.01)
for i in range(count):
    s.send(edge)
    time.sleep(0.002)
s.sendall(msg[4:] + b'PING\r\n')
await_pong(s)
print('SENT', count, flush=True)
"""


def test_boundary_before_unmapped_page():
    """A publisher connected before msgscope writes each PUB from the end
    of a page whose next page is unmapped, four bytes out of step, so the
    boundary is inside each write. Its connection is recognised as NATS and
    its PUBs recorded. The search for a boundary read a fixed 256 bytes,
    which fails there: every guess failed and no PUB was recorded."""
    count = 600
    with h.NatsServer() as ns:
        pub = h.spawn(['python3', '-c', EDGE_PUB, str(ns.port), str(count)])
        pub.wait_for('READY')
        with h.Trace(h.scope(ns.pid, pub.pid)) as t:
            pub.signal(signal.SIGUSR1)
            pub.wait_for('SENT', timeout=30)
            time.sleep(0.5)
        pubs = t.nats(op='PUB', subject='e2e.edge', pid=pub.pid)
        expect(len(pubs) >= count - 20, 'the publisher writing at the edge of a page is recognised',
               f'{len(pubs)} PUB records for {count} writes')
        expect(all(r.get('size') == 10 for r in pubs), 'every PUB has size 10', dump(pubs[:3]))


SECRET_PASS = 'natsPw-7Qx2-zz91-secret'
SECRET_TOKEN = 'natsTok-Vb55-k0w1-secret'


def test_connect_redaction():
    with h.NatsServer(user='e2e-user', password=SECRET_PASS) as ns, \
            h.NatsServer(token=SECRET_TOKEN) as nt:
        with h.Trace(h.scope(ns.pid, nt.pid) + ['--port', ns.port_arg, '--port', nt.port_arg]) as t:
            a = h.natsc(ns.url, '--user', 'e2e-user', '--pass', SECRET_PASS, 'pub', 'e2e.auth', 'x')
            b = h.natsc(nt.url, '--token', SECRET_TOKEN, 'pub', 'e2e.tok', 'y')
            a.wait_ok()
            b.wait_ok()
        c = t.nats(op='CONNECT', pid=a.pid)
        expect(len(c) == 1, 'CONNECT with user/pass captured', dump(t.messages()))
        obj = c[0].get('connect') or {}
        expect(obj.get('user') == 'e2e-user', 'CONNECT user kept', h.short(c[0]))
        expect(obj.get('pass') == h.REDACTED, 'CONNECT pass is "[REDACTED]"', h.short(c[0]))
        c = t.nats(op='CONNECT', pid=b.pid)
        expect(len(c) == 1 and (c[0].get('connect') or {}).get('auth_token') == h.REDACTED,
               'CONNECT auth_token is "[REDACTED]"', dump(c))
        expect(t.nats(op='PUB', subject='e2e.auth', pid=a.pid), 'authenticated PUB captured')
        expect(SECRET_PASS not in t.raw, 'the password appears nowhere in the trace file')
        expect(SECRET_TOKEN not in t.raw, 'the token appears nowhere in the trace file')
        expect(t.meta.get('options', {}).get('show_secrets') is False, 'meta.options.show_secrets false',
               h.short(t.meta))

        with h.Trace(h.scope(ns.pid) + ['--port', ns.port_arg, '--show-secrets']) as t2:
            a = h.natsc(ns.url, '--user', 'e2e-user', '--pass', SECRET_PASS, 'pub', 'e2e.auth', 'x')
            a.wait_ok()
        c = t2.nats(op='CONNECT', pid=a.pid)
        expect(len(c) == 1 and (c[0].get('connect') or {}).get('pass') == SECRET_PASS,
               'with --show-secrets the password is in the CONNECT record', dump(c))
        expect(t2.meta.get('options', {}).get('show_secrets') is True, 'meta.options.show_secrets true',
               h.short(t2.meta))


TESTS = [
    test_pub_sub,
    test_autodetect_without_port_hint,
    test_queue_group,
    test_request_reply,
    test_hpub_headers,
    test_big_payload,
    test_client_connected_before_trace,
    test_read_blocked_at_attach,
    test_enter_hooks_fallback,
    test_syscall_tracepoints_path,
    test_pair_local_on_each_path,
    test_pair_local_lost_bytes,
    test_two_rings_by_default,
    test_ring_per_cpu,
    test_ring_per_cpu_spills,
    test_one_ring_path,
    test_nothing_lost_while_starting,
    test_socket_hooks_path,
    test_raw_sys_exit_path,
    test_sendmmsg,
    test_many_short_iovecs,
    test_long_writes,
    test_subscriber_joined_mid_message,
    test_boundary_split_between_reads,
    test_boundary_before_unmapped_page,
    test_subscriber_given_up_on_is_tried_again,
    test_connect_redaction,
]

if __name__ == '__main__':
    h.main(TESTS, needs=['nats-server'])
