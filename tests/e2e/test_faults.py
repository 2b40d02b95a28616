#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end: msgscope under faults, with real servers and real clients.

 - an observed process SIGKILLed in the middle of a message; connections
   reset mid-request; a NATS server killed and restarted while a client
   reconnects: msgscope keeps running, what came before is intact, and no
   state is left behind for the dead connections (a table of 16 entries
   that would overflow otherwise evicts nothing);
 - msgscope SIGKILLed: none of its BPF programs, links or maps survive it;
   SIGTERM: the trace is flushed and ends with an `end` line, exit 0;
 - the output disk fills up: one clear error, exit 1, every line on disk is
   valid JSON;
 - a symlink planted at the output path: refused, its target untouched;
 - 10 000 concurrent connections and a flood beyond capacity: memory stays
   bounded, drops are counted and shown, evictions are reported.

Exit 0 = pass, 1 = fail, 77 = skipped (no root/BPF/binary; fails when CI=true).
Run one test: test_faults.py test_disk_full
"""
import contextlib
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import expect, dump  # noqa: E402

REPO = h.REPO
BIG = 100 * 1024


# ---------------------------------------------------------------------------
# helpers

def rss_kb(pid):
    """VmRSS of pid in KiB (0 if gone)."""
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def sanitized(pid):
    """msgscope built with AddressSanitizer (MSGSCOPE pointing at such a
    build): its quarantine and redzones make RSS meaningless as a bound."""
    try:
        with open(f'/proc/{pid}/maps') as f:
            return 'libasan' in f.read()
    except OSError:
        return False


def expect_rss_bound(asan, grew, bound, what):
    if asan:
        h.log(f'    (AddressSanitizer build: RSS grew by {grew} KiB; the {bound} KiB bound is not checked)')
        return
    expect(grew < bound, f'{what}: RSS grew by {grew} KiB < {bound} KiB')


class RssWatch:
    """Sample a process's VmRSS in the background; .peak is the maximum."""

    def __init__(self, pid, period=0.1):
        self.pid, self.period, self.peak, self._stop = pid, period, rss_kb(pid), False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop:
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(self.period)

    def stop(self):
        self._stop = True
        self._t.join(timeout=2)
        return self.peak


def script(code, name='helper.py'):
    """Write a helper script into a temp dir; returns its path."""
    path = os.path.join(h.mkdtemp('msgscope-faults-'), name)
    with open(path, 'w') as f:
        f.write(code)
    return path


def py(path, *args, **kw):
    return h.spawn([sys.executable, '-u', path] + [str(a) for a in args], **kw)


def start_trace(path, args):
    """msgscope trace -o path args, started and ready (for runs that do not
    end with an `end` line, which h.Trace insists on)."""
    p = h.spawn([h.msgscope_path(), 'trace', '-o', path] + [str(a) for a in args])
    p.wait_for(h.READY_MARK, timeout=60, stream='stderr')
    return p


def message_lines(t):
    return [r for r in t.records if r.get('type') in ('nats', 'http')]


def check_end_counts(t, what):
    """The end line agrees with the file: records == message lines, drops
    shown when counted."""
    end = t.end
    n = len(message_lines(t))
    expect(end.get('records') == n, f'{what}: end.records ({end.get("records")}) == message lines in the file ({n})',
           h.short(end))
    for k in ('events', 'bytes', 'records', 'drops', 'parse_errors', 'resyncs', 'conns_evicted'):
        assert isinstance(end.get(k), int) and end[k] >= 0, f'end.{k} missing or negative: {h.short(end)}'
    if end['drops']:
        expect(t.select('drops'), f'{what}: drops counted in end ({end["drops"]}) also have drops lines')


# A NATS publisher on a raw socket: CONNECT, `count` complete PUBs of BIG
# bytes (flushed with PING/PONG so the server has them), then the first half
# of one more, and it waits to be killed. Commands on stdin ("go") repeat it
# from a fresh fork, so one pid (given to -p) owns every victim.
KILLPUB = r'''
import os, socket, sys, time
port, count = int(sys.argv[1]), int(sys.argv[2])
BIG = 100 * 1024

def victim():
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    f.readline()                                  # INFO
    s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"name":"killpub"}\r\n')
    for i in range(count):
        body = (b"%08d" % i) + b"x" * (BIG - 8)
        s.sendall(b"PUB fault.big %d\r\n" % BIG + body + b"\r\n")
    s.sendall(b"PING\r\n")
    while f.readline().strip() != b"PONG":
        pass
    s.sendall(b"PUB fault.big %d\r\n" % BIG + b"p" * (BIG // 2))   # cut here
    print("PARTIAL %d" % os.getpid(), flush=True)
    time.sleep(3600)

print("READY", flush=True)
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        try:
            victim()
        finally:
            os._exit(0)
    # the test kills the child; reap it
    os.waitpid(pid, 0)
    print("REAPED %d" % pid, flush=True)
'''


def test_observed_process_killed_mid_message():
    count, victims = 3, 40
    path = script(KILLPUB, 'killpub.py')
    with h.NatsServer() as ns:
        drv = py(path, ns.port, count, stdin=True)
        drv.wait_for('READY')
        # Only the server and the driver's family: other traffic on this
        # host cannot fill the 16-entry table. nats-server reads up to
        # 64 KiB at once: with a smaller snaplen a cut can swallow a whole
        # control line, and that message is (rightly) not reported.
        with h.Trace(['-p', f'{ns.pid},{drv.pid}', '--max-conns', 16, '-i', 1,
                      '--snaplen', 65536, '--max-payload', 4096]) as t:
            killed = []
            for i in range(victims):
                drv.send('go')
                pid = None
                deadline = time.monotonic() + 20
                while pid is None:
                    got = [l for l in drv.out_lines if l.startswith('PARTIAL ')]
                    if len(got) > i:
                        pid = int(got[i].split()[1])
                        break
                    assert time.monotonic() < deadline, 'victim never reached its partial message:\n' + drv.describe()
                    time.sleep(0.02)
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                deadline = time.monotonic() + 20
                while sum(l.startswith('REAPED ') for l in drv.out_lines) <= i:
                    assert time.monotonic() < deadline, 'victim not reaped:\n' + drv.describe()
                    time.sleep(0.02)
            expect(t.proc.running(), f'msgscope still running after {victims} observed processes were SIGKILLed mid-message')
            # Capture goes on: a fresh client's messages are seen.
            h.natsc(ns.url, 'pub', 'fault.after', 'still here', 3).wait_ok()
            time.sleep(1.5)
        everything = dump(t.messages(), 20)
        first = killed[0]
        pubs = t.nats(op='PUB', subject='fault.big', pid=first)
        expect(len(pubs) == count, f'first victim: its {count} complete PUBs are recorded', everything)
        for i, r in enumerate(pubs):
            assert r.get('size') == BIG, f'PUB size {BIG}: {h.short(r)}'
            assert (r.get('payload') or '').startswith('%08d' % i), f'PUB payload in order: {h.short(r)}'
        expect(all(len(t.nats(op='PUB', subject='fault.big', pid=p)) == count for p in killed),
               f'every victim: exactly {count} PUB records (the cut one is not invented)')
        srv = t.nats(op='PUB', subject='fault.big', pid=ns.pid, dir='recv')
        expect(len(srv) == count * victims,
               f'server side: {count * victims} complete PUBs received, none for the cut messages',
               f'got {len(srv)}')
        expect(len(t.nats(op='PUB', subject='fault.after', pid=ns.pid)) == 3,
               'after the kills, new traffic is still captured', everything)
        end = t.end
        expect(end.get('conns_evicted') == 0,
               f'no stale connection state: {2 * victims} connections through a 16-entry table, none evicted',
               h.short(end))
        check_end_counts(t, 'kill mid-message')


# A client that sends half an HTTP request and resets the connection
# (SO_LINGER 0: RST instead of FIN).
def reset_mid_request(port):
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-Half: ')
    time.sleep(0.05)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
    s.close()


def test_connections_reset():
    resets = 40
    with h.PyHttpServer() as srv:
        with h.Trace(['-p', srv.pid, '--max-conns', 16, '-i', 1]) as t:
            for i in range(resets):
                reset_mid_request(srv.port)
                if i % 10 == 9:
                    h.run(['curl', '-sS', '-o', '/dev/null', srv.url + '/hello.txt'])
            time.sleep(1.0)
            expect(t.proc.running(), f'msgscope still running after {resets} connections reset mid-request')
        resp = t.http(kind='response', pid=srv.pid, status=200)
        expect(len(resp) == resets // 10, f'the {resets // 10} complete requests were answered and recorded',
               dump(t.messages()))
        req = t.http(kind='request', pid=srv.pid)
        expect(all(r.get('path') == '/hello.txt' and 'X-Half' not in (r.get('headers') or {}) for r in req),
               'no record invented from a reset half-request', dump(req))
        expect(t.end.get('conns_evicted') == 0,
               f'no stale state: {resets + resets // 10} reset/closed connections, 16-entry table, none evicted',
               h.short(t.end))
        check_end_counts(t, 'connections reset')


# A NATS subscriber that reconnects by itself, on a raw socket.
RESUB = r'''
import socket, sys, time
port = int(sys.argv[1])
n = 0
while True:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
    except OSError:
        time.sleep(0.1)
        continue
    n += 1
    f = s.makefile("rb")
    try:
        f.readline()
        s.sendall(b'CONNECT {"verbose":false,"name":"resub"}\r\nSUB fault.restart 1\r\nPING\r\n')
        while True:
            line = f.readline()
            if not line:
                raise OSError("eof")
            if line.startswith(b"PONG"):
                print("READY %d" % n, flush=True)
            elif line.startswith(b"PING"):
                s.sendall(b"PONG\r\n")
            elif line.startswith(b"MSG "):
                size = int(line.split()[-1])
                body = f.read(size + 2)[:size]
                print("MSG %s" % body.decode(), flush=True)
    except OSError:
        print("DISCONNECTED %d" % n, flush=True)
        s.close()
        time.sleep(0.1)
'''


# Starts and SIGKILLs nats-server on demand, so that every server it runs is
# its child: followed by msgscope (-p) like the subscriber, whatever else
# this host is doing.
SUPERVISOR = r'''
import signal, subprocess, sys, time
argv = sys.argv[1:]
p = None
print("READY", flush=True)
for line in sys.stdin:
    if line.startswith("start"):
        p = subprocess.Popen(argv)
        print("STARTED %d" % p.pid, flush=True)
    elif line.startswith("kill") and p:
        p.send_signal(signal.SIGKILL)
        p.wait()
        print("KILLED %d" % p.pid, flush=True)
if p:
    p.kill()
'''


def test_server_restart():
    resub = script(RESUB, 'resub.py')
    port = h.free_port()
    logdir = h.mkdtemp('msgscope-nats-')
    sup = py(script(SUPERVISOR, 'supervisor.py'), h.tool('nats-server'), '-a', '127.0.0.1', '-p', port,
             '-l', os.path.join(logdir, 'nats.log'), stdin=True)
    sup.wait_for('READY')
    url = f'nats://127.0.0.1:{port}'
    sub = py(resub, port)
    with h.Trace(['-p', f'{sup.pid},{sub.pid}', '-i', 1]) as t:
        sup.send('start')
        s1 = int(sup.wait_for('STARTED').split()[1])
        sub.wait_for('READY 1', timeout=30)
        h.natsc(url, 'pub', 'fault.restart', 'before', 3).wait_ok()
        deadline = time.monotonic() + 10
        while sub.stdout.count('MSG before') < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        sup.send('kill')
        sup.wait_for('KILLED')
        sub.wait_for('DISCONNECTED 1', timeout=20)
        sup.send('start')
        s2 = [int(l.split()[1]) for l in sup.out_lines if l.startswith('STARTED')]
        while len(s2) < 2:
            time.sleep(0.05)
            s2 = [int(l.split()[1]) for l in sup.out_lines if l.startswith('STARTED')]
        s2 = s2[1]
        sub.wait_for('READY 2', timeout=30)
        h.natsc(url, 'pub', 'fault.restart', 'after', 3).wait_ok()
        deadline = time.monotonic() + 10
        while sub.stdout.count('MSG after') < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        expect(sub.stdout.count('MSG after') == 3, 'the subscriber reconnected and got the new messages',
               sub.stdout)
        expect(t.proc.running(), 'msgscope still running after the server was killed and restarted')
        time.sleep(1.0)
    before = t.nats(op='MSG', subject='fault.restart', pid=sub.pid, payload='before')
    after = t.nats(op='MSG', subject='fault.restart', pid=sub.pid, payload='after')
    expect(len(before) == 3 and len(after) == 3,
           'subscriber side: 3 MSG before and 3 after the restart', dump(t.nats(pid=sub.pid)))
    expect(len({r['conn'] for r in before}) == 1 and len({r['conn'] for r in after}) == 1 and
           before[0]['conn'] != after[0]['conn'],
           'before and after travel on two different connections of the same process')
    expect(len(t.nats(op='PUB', subject='fault.restart', pid=s1)) == 3 and
           len(t.nats(op='MSG', subject='fault.restart', pid=s1)) == 3,
           'the first server\'s records (before it was killed) are intact', dump(t.nats(pid=s1)))
    expect(len(t.nats(op='MSG', subject='fault.restart', pid=s2, payload='after')) == 3,
           'capture continues on the restarted server\'s connections', dump(t.nats(pid=s2)))
    check_end_counts(t, 'server restart')


# ---------------------------------------------------------------------------
# msgscope itself killed or stopped

def bpf_names():
    """Program names defined in the BPF sources: `SEC(...) int NAME(`,
    `int BPF_PROG(NAME, ...)`, and names built by macros such as
    DATA_HOOKS(read, ...) -> enter_read/exit_read."""
    names = set()
    for src in ('capture.bpf.c', 'tls.bpf.c'):
        p = os.path.join(REPO, 'bpf', src)
        if not os.path.exists(p):
            continue
        text = open(p).read()
        joined = text.replace('\\\n', ' ')
        names |= set(re.findall(r'SEC\("[^"]+"\)\s*int\s+(?:BPF_[A-Z_]+\()?(\w+)', joined))
        for macro, param, body in re.findall(r'#define\s+(\w+)\((\w+)[^)]*\)(.*)', joined):
            prefixes = re.findall(r'int\s+(\w*)##' + param + r'\b', body)
            for arg in re.findall(r'^' + macro + r'\((\w+)', text, re.M):
                names |= {pre + arg for pre in prefixes}
    return names


def is_ours(name, names):
    # Without BTF the kernel keeps 15 characters of a name.
    return name in names or (len(name) == 15 and any(n.startswith(name) for n in names))


def test_msgscope_sigkilled_leaves_nothing_attached():
    h.require_tools(['bpftool'])
    names = bpf_names()
    expect(len(names) > 20, f'{len(names)} program names found in bpf/*.bpf.c')
    path = os.path.join(h.mkdtemp('msgscope-kill-'), 'trace.jsonl')
    with h.NatsServer() as ns:
        p = start_trace(path, ['--port', ns.port_arg])
        h.natsc(ns.url, 'pub', 'fault.kill', 'x').wait_ok()
        mine = h.bpf_objects(p.pid)
        progs = h.bpftool_ids('prog')
        attached = {i: progs[i].get('name') for i in mine['prog'] if i in progs}
        # How many depends on the kernel's path (the socket hooks, a raw
        # sys_exit hook or one per syscall, multi-uprobe links or not): at
        # least a data hook and the close and process-exit hooks.
        expect(len(attached) >= 3 and
               {'on_sock_send', 'on_sys_exit', 'exit_read'} & set(attached.values()),
               f'msgscope holds {len(attached)} BPF programs, a data hook among them, '
               f'{len(mine["link"])} links, {len(mine["map"])} maps', str(sorted(attached.values())))
        strangers = {n for n in attached.values() if not is_ours(n, names)}
        expect(not strangers, 'every program it holds is one of bpf/*.bpf.c', str(strangers))
        p.signal(signal.SIGKILL)
        rc = p.wait(timeout=30)
        expect(rc == -signal.SIGKILL, 'msgscope SIGKILLed')
        # The kernel frees programs once the last reference (an fd, a
        # link) is gone; give its deferred work a moment.
        deadline = time.monotonic() + 30
        while True:
            left = {k: mine[k] & set(h.bpftool_ids(k)) for k in ('prog', 'link', 'map')}
            if not any(left.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        expect(not left['prog'], 'bpftool prog show: none of its programs is left', str(left['prog']))
        expect(not left['link'], 'bpftool link show: none of its links is left', str(left['link']))
        expect(not left['map'], 'bpftool map show: none of its maps is left', str(left['map']))
    # A trace cut by SIGKILL: every line on disk is whole and valid.
    with open(path, 'rb') as f:
        data = f.read()
    lines = data.split(b'\n')
    expect(data.endswith(b'\n'), 'the killed trace ends on a whole line')
    for line in lines[:-1]:
        json.loads(line)
    expect(json.loads(lines[0]).get('type') == 'meta',
           f'the killed trace: meta line first, all {len(lines) - 1} lines valid JSON')


def test_check_loads_the_programs():
    """`msgscope check` loads the capture programs once, as trace would at
    the largest --snaplen, and says at which snaplen the kernel took them;
    nothing stays loaded.
    A kernel that refuses the long-copy path (simulated) still passes the
    check, at 64 KiB a call, and says why on stderr."""
    for env, want in (({}, '--snaplen up to 1048576: a call copied whole'),
                      ({'MSGSCOPE_REFUSE_LONG_COPY': '1'},
                       'a call copied up to 65536 bytes (the verifier refused more)')):
        before = set(h.bpftool_ids('prog'))
        r = subprocess.run([h.msgscope_path(), 'check'], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=120,
                           env=dict(os.environ, **env))
        rows = [l.split(None, 3) for l in r.stdout.splitlines()]
        row = [x for x in rows if x[:2] == ['capture', 'programs']]
        expect(r.returncode == 0 and row and row[0][2:] == ['yes', want],
               f'check {env or "(default)"}: exit 0, capture programs yes: {want}',
               f'rc {r.returncode}: {r.stdout[-600:]} {r.stderr[-300:]}')
        expect(('refused the programs at --snaplen 1048576' in r.stderr) == bool(env),
               f'check {env or "(default)"}: a refusal, and only a refusal, is said on stderr',
               r.stderr[-300:])
        left = set(h.bpftool_ids('prog')) - before
        expect(not left, f'check {env or "(default)"}: no program left loaded', str(left))


def test_sigterm_flushes():
    with h.NatsServer() as ns:
        with h.Trace(['-p', ns.pid]) as t:
            h.natsc(ns.url, 'pub', 'fault.term', 'bye', 5).wait_ok()
            time.sleep(0.5)
            t.proc.signal(signal.SIGTERM)
            rc = t.wait_exit(timeout=60)
        expect(rc == 0, 'SIGTERM: exit 0', f'rc {rc}')
        expect(t.end.get('reason') == 'signal', 'SIGTERM: an end line, reason "signal"', h.short(t.end))
        expect(len(t.nats(op='PUB', subject='fault.term', pid=ns.pid)) == 5,
               'SIGTERM: everything captured before it is in the trace')
        check_end_counts(t, 'SIGTERM')


# ---------------------------------------------------------------------------
# output problems

def msgscope_lines(text):
    return [l for l in text.splitlines() if l.startswith('msgscope:')]


def test_disk_full():
    d = h.mkdtemp('msgscope-full-')
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'msgscope-e2e', d],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise h.Unavailable('cannot mount a tmpfs: ' + r.stdout.decode())
    try:
        path = os.path.join(d, 'trace.jsonl')
        with h.NatsServer() as ns:
            p = start_trace(path, ['--port', ns.port_arg, '-i', 1])
            for _ in range(40):
                h.natsc(ns.url, 'pub', 'fault.full', 'y' * 2000, 50).wait_ok()
                if not p.running():
                    break
            rc = p.wait(timeout=60)
        with open(path, 'rb') as f:
            raw = f.read()
        expect(rc == 1, 'disk full (64 KiB tmpfs): msgscope stops by itself with exit status 1', f'rc {rc}')
        errs = [l for l in msgscope_lines(p.stderr) if l != h.READY_MARK and
                ('No space left' in l or 'writ' in l or 'fail' in l)]
        expect(len(errs) == 1 and 'No space left' in errs[0], 'disk full: exactly one error line on stderr',
               p.stderr)
        h.log(f'    stderr: {errs[0]}')
        expect(raw.endswith(b'\n'), 'disk full: the file ends with a whole line', repr(raw[-80:]))
        lines = raw.split(b'\n')[:-1]
        for i, line in enumerate(lines, 1):
            try:
                json.loads(line)
            except ValueError as e:
                raise AssertionError(f'line {i} of the full disk trace is not JSON ({e}): {line[:200]!r}')
        expect(json.loads(lines[0]).get('type') == 'meta',
               f'disk full: all {len(lines)} lines written ({len(raw)} bytes) are valid JSON, meta first')
    finally:
        subprocess.run(['umount', '-l', d])


def test_symlink_refused():
    d = h.mkdtemp('msgscope-link-')
    target = os.path.join(d, 'precious')
    with open(target, 'w') as f:
        f.write('do not touch\n')
    os.chmod(target, 0o644)
    before = os.stat(target)
    link = os.path.join(d, 'trace.jsonl')
    os.symlink(target, link)
    dangling = os.path.join(d, 'dangling.jsonl')
    os.symlink(os.path.join(d, 'created-through-link'), dangling)
    for path, what in ((link, 'symlink to a file'), (dangling, 'dangling symlink')):
        p = h.run([h.msgscope_path(), 'trace', '-o', path, '-D', 1], check=False, timeout=60)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        expect(p.rc != 0, f'{what} at the output path: refused (rc {p.rc})')
        expect(len(lines) == 1 and lines[0].startswith('msgscope:') and 'symlink' in lines[0],
               f'{what}: one clear error line', p.stderr)
        h.log(f'    stderr: {lines[0]}')
        expect(os.path.islink(path), f'{what}: the link itself is left alone')
    after = os.stat(target)
    expect(open(target).read() == 'do not touch\n' and after.st_mode == before.st_mode and
           after.st_mtime_ns == before.st_mtime_ns, 'the link target is untouched (content, mode, mtime)')
    expect(not os.path.exists(os.path.join(d, 'created-through-link')), 'nothing was created through the dangling link')
    # A regular file that exists is taken over with mode 0600.
    plain = os.path.join(d, 'plain.jsonl')
    with open(plain, 'w') as f:
        f.write('old\n')
    os.chmod(plain, 0o644)
    h.run([h.msgscope_path(), 'trace', '-o', plain, '-D', 1], timeout=60)
    expect(os.stat(plain).st_mode & 0o777 == 0o600, 'an existing regular file: rewritten with mode 0600',
           oct(os.stat(plain).st_mode))


# ---------------------------------------------------------------------------
# scale: many connections, floods

# A server for many connections (asyncio): answers each HTTP request with
# a small response and keeps the connection until the client closes it.
MANY_SERVER = r'''
import asyncio, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[2]), int(sys.argv[2])))

async def handle(r, w):
    try:
        while True:
            head = await r.readuntil(b"\r\n\r\n")
            n = 0
            for l in head.split(b"\r\n"):
                if l.lower().startswith(b"content-length:"):
                    n = int(l.split(b":")[1])
            while n > 0:
                chunk = await r.read(min(n, 1 << 16))
                if not chunk:
                    return
                n -= len(chunk)
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await w.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        w.close()

async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=4096)
    print("LISTENING", flush=True)
    async with srv:
        await srv.serve_forever()

asyncio.run(main())
'''

# n concurrent connections, each sending one request and reading its
# response; all stay open until every one is answered, then all close.
MANY_CLIENT = r'''
import asyncio, resource, sys
port, n, limit = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

async def one(i, sem, conns):
    async with sem:
        for attempt in range(50):
            try:
                r, w = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        else:
            return False
        w.write(b"GET /c/%d HTTP/1.1\r\nHost: many\r\n\r\n" % i)
        await w.drain()
        await r.readuntil(b"\r\n\r\nok")
        conns.append(w)
        return True

async def main():
    sem = asyncio.Semaphore(400)
    conns = []
    ok = await asyncio.gather(*[one(i, sem, conns) for i in range(n)])
    print("OPEN %d" % len(conns), flush=True)
    sys.stdin.readline()
    for w in conns:
        w.close()
    print("CLOSED %d" % sum(ok), flush=True)

asyncio.run(main())
'''


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        raise h.Unavailable(f'RLIMIT_NOFILE hard limit {hard} < {want}')
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return soft, hard


def test_10000_connections():
    n, limit = 10000, 10000 + 512
    max_conns = 4096
    old = raise_nofile(limit)
    try:
        port = h.free_port()
        srv = py(script(MANY_SERVER, 'many_server.py'), port, limit)
        srv.wait_for('LISTENING', timeout=20)
        cli = None
        with h.Trace(['-p', srv.pid, '--max-conns', max_conns, '-i', 1], settle=1.0) as t:
            time.sleep(1.0)
            base, asan = rss_kb(t.proc.pid), sanitized(t.proc.pid)
            watch = RssWatch(t.proc.pid)
            cli = py(script(MANY_CLIENT, 'many_client.py'), port, n, limit, stdin=True)
            line = cli.wait_for('OPEN', timeout=240)
            opened = int(line.split()[1])
            time.sleep(1.0)
            cli.send('close')
            cli.wait_for('CLOSED', timeout=120)
            time.sleep(2.0)
            peak = watch.stop()
            after = rss_kb(t.proc.pid)
        expect(opened == n, f'{n} connections open at once, each answered', line)
        h.log(f'    msgscope VmRSS: before {base} KiB, peak {peak} KiB, after {after} KiB')
        # The bound: --max-conns connections of at most a few KiB of parser
        # state each (idle parsers hold no buffers), plus the ring buffer's
        # pages as they are touched (16 MiB) and allocator slack.
        expect_rss_bound(asan, peak - base, 48 * 1024,
                         f'{n} connections through a {max_conns}-entry table')
        end = t.end
        evicted, drops = end.get('conns_evicted', 0), end.get('drops', 0)
        expect(evicted >= n - max_conns - 64 or drops > 0,
               f'end.conns_evicted ({evicted}) accounts for {n} concurrent connections in {max_conns} slots',
               h.short(end))
        reqs = t.http(kind='request', pid=srv.pid)
        resps = t.http(kind='response', pid=srv.pid)
        expect(len(reqs) <= n and len(resps) <= n and len(reqs) >= (n * 9) // 10 - drops,
               f'records make sense: {len(reqs)} requests and {len(resps)} responses recorded for {n} exchanges '
               f'({drops} events dropped)', h.short(end))
        paths = {r.get('path') for r in reqs}
        expect(len(paths) == len(reqs), 'no request recorded twice')
        check_end_counts(t, '10 000 connections')
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, old)


# Many connections pushing large bodies as fast as they can.
FLOOD = r'''
import socket, sys, threading, time
port, conns, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
chunk = b"z" * 65536
total = [0]

def run():
    s = socket.create_connection(("127.0.0.1", port))
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        size = 8 << 20
        s.sendall(b"POST /flood HTTP/1.1\r\nHost: f\r\nContent-Length: %d\r\n\r\n" % size)
        left = size
        while left > 0:
            n = min(left, len(chunk))
            s.sendall(chunk[:n])
            left -= n
        s.recv(100)
        total[0] += size
    s.close()

ts = [threading.Thread(target=run) for _ in range(conns)]
for t in ts: t.start()
for t in ts: t.join()
print("SENT %d" % total[0], flush=True)
'''


def test_flood_beyond_capacity():
    port = h.free_port()
    srv = py(script(MANY_SERVER, 'many_server.py'), port, 4096)
    srv.wait_for('LISTENING', timeout=20)
    flood_args = ['-p', srv.pid, '--buffer-size', 1, '--snaplen', 65536]
    with h.Trace(flood_args + ['-i', 1], settle=1.5) as t:
        # The TUI, flooded the same way, in batch mode: one JSON frame
        # every 0.5 s must keep coming.
        top = h.spawn([h.msgscope_path(), 'top', '-b', '--json', '-d', 0.5] + flood_args)
        top.wait_for('"frame"', timeout=60)
        time.sleep(1.0)
        base, asan = rss_kb(t.proc.pid), sanitized(t.proc.pid)
        watch = RssWatch(t.proc.pid)
        fl = py(script(FLOOD, 'flood.py'), port, 32, 8)
        frames, last_change, max_gap = len(top.out_lines), time.monotonic(), 0.0
        t.proc.wait_for('dropped', timeout=60, stream='stderr')
        while fl.running():
            now, n = time.monotonic(), len(top.out_lines)
            if n != frames:
                frames, last_change = n, now
            max_gap = max(max_gap, now - last_change)
            time.sleep(0.05)
        fl.wait_for('SENT', timeout=120)
        peak = watch.stop()
        top.signal(signal.SIGINT)
        top_rc = top.wait(timeout=60)
        t0 = time.monotonic()
    stop_took = time.monotonic() - t0
    tframes = [json.loads(l) for l in top.out_lines if l.startswith('{')]
    expect(top_rc == 0 and max_gap < 3.0,
           f'TUI (top -b -d 0.5) stayed responsive under the flood: {len(tframes)} frames, '
           f'longest wait {max_gap:.1f}s, exit 0 on SIGINT', f'rc {top_rc}')
    expect(max(f.get('msgscope', {}).get('drops', 0) for f in tframes) > 0,
           'TUI: the drops are shown in its frames')
    h.log(f'    msgscope VmRSS: before {base} KiB, peak {peak} KiB; stopped in {stop_took:.1f}s')
    end = t.end
    drops = t.select('drops')
    expect(end.get('drops', 0) > 0, f'flood: end.drops = {end.get("drops")} > 0', h.short(end))
    expect(drops and sum(d.get('events', 0) for d in drops) > 0,
           f'flood: {len(drops)} drops lines in the trace', dump(drops))
    expect(drops[-1].get('total_events') <= end['drops'], 'drops lines and end line agree')
    expect_rss_bound(asan, peak - base, 64 * 1024, 'flood (1 MiB ring buffer, bounded reassembly)')
    check_end_counts(t, 'flood')


def saturate_nats(extra, n):
    """n messages of 256 bytes from a libnats publisher to a subscriber, as
    fast as they go, traced by this test's scope plus the server with a
    1 MiB ring: more than msgscope can read at any priority. Returns the
    Trace."""
    with h.NatsServer() as ns:
        with h.Trace(h.scope(ns.pid) + ['--port', ns.port_arg, '--buffer-size', 1] + extra,
                     settle=1.0) as t:
            # a sink for the server's MSGs: it prints a line per message
            # and falls behind (a slow consumer), which is not the point
            sub = h.natsc(ns.url, 'sub', 'fault.sat', '--count', n, '--timeout', 120)
            sub.wait_for('READY', timeout=20)
            pub = h.natsc(ns.url, 'pub', 'fault.sat', 'p' * 256, n)
            pub.wait_ok(timeout=180)
            sub.signal(signal.SIGTERM)
            sub.wait(timeout=30)
    return t


def test_sheds_when_outrun():
    """When the load outruns msgscope even at nice 0, the kernel copies only
    the start of each call for a while (--overload-snaplen, priority.h);
    the rest is counted as cut, and with 0 it never sheds."""
    n = 3000000
    t = saturate_nats([], n)
    end, errs = t.end, msgscope_lines(t.stderr)
    expect(t.meta.get('options', {}).get('overload_snaplen') == 512,
           'meta: options.overload_snaplen is the default, 512', h.short(t.meta))
    expect(end.get('futile_boosts', 0) >= 1 and end.get('sheds', 0) >= 1 and
           end.get('shed_ms', 0) > 0 and end.get('shed_cuts', 0) > 0,
           f'outrun: it shed (futile_boosts {end.get("futile_boosts")}, sheds {end.get("sheds")}, '
           f'shed_ms {end.get("shed_ms")}, shed_cuts {end.get("shed_cuts")})', h.short(end))
    expect(end.get('sheds') <= end.get('futile_boosts'), 'a shed follows a futile boost, never more')
    expect(end.get('cut_bytes', 0) > 0, 'the bytes past the shed snaplen count in cut_bytes', h.short(end))
    expect(sum(1 for l in errs if 'only the first 512 bytes of each call' in l) == end.get('sheds'),
           'stderr says each time it sheds', '\n'.join(errs)[:1500])
    pubs = t.nats(op='PUB', subject='fault.sat')
    expect(pubs and all(r.get('size') == 256 for r in pubs),
           f'every PUB recorded is whole, none made up from a cut call: {len(pubs)} of 256 bytes')
    check_end_counts(t, 'outrun')

    t = saturate_nats(['--overload-snaplen', 0], n)
    end = t.end
    expect(t.meta.get('options', {}).get('overload_snaplen') == 0, 'meta: --overload-snaplen 0')
    expect(end.get('sheds') == 0 and end.get('shed_cuts') == 0 and end.get('shed_ms') == 0,
           f'--overload-snaplen 0: never sheds (futile_boosts {end.get("futile_boosts")})', h.short(end))
    check_end_counts(t, 'outrun, --overload-snaplen 0')


AUTOGROUP = '/proc/sys/kernel/sched_autogroup_enabled'


@contextlib.contextmanager
def same_sched_group():
    """Processes started inside share one scheduling group. With autogroup
    on, each session (and the harness starts every process in its own) is a
    group of its own, and a group gets its share of the CPU whatever the
    policy of its tasks: msgscope at SCHED_IDLE would then compete with a
    busy loop as an equal. Tasks keep the group they were forked in."""
    was = None
    if os.path.exists(AUTOGROUP):
        with open(AUTOGROUP) as f:
            was = f.read().strip()
        with open(AUTOGROUP, 'w') as f:
            f.write('0')
    try:
        yield
    finally:
        if was is not None:
            with open(AUTOGROUP, 'w') as f:
                f.write(was)


def test_catches_up_on_busy_host():
    """With every CPU busy, msgscope at SCHED_IDLE may not run for a second
    or more, so it cannot see its ring buffer fill up and boost itself; a
    thread at nice 0 looks for it and lifts it (userspace/prio_watch.h). A
    busy loop per CPU and NATS at 20k msg/s: before the watcher, most such
    runs lost more than a quarter of the bytes."""
    rate, secs = 20000, 8
    hogs = []
    with h.NatsServer() as ns, same_sched_group():
        with h.Trace(h.scope(ns.pid) + ['--port', ns.port_arg], settle=1.0) as t:
            try:
                hogs = [h.spawn(['yes'], stdout=False)
                        for _ in range(os.cpu_count() or 1)]
                sub = h.natsc(ns.url, '--quiet', 'sub', 'busy.host', '--count', rate * secs,
                              '--timeout', 120)
                sub.wait_for('READY', timeout=20)
                pub = h.natsc(ns.url, '--rate', rate, 'pub', 'busy.host', 'b' * 256, rate * secs)
                pub.wait_ok(timeout=120)
                sub.signal(signal.SIGTERM)
                sub.wait(timeout=30)
            finally:
                for p in hogs:
                    p.signal(signal.SIGKILL)
    end = t.end
    sent = end.get('bytes', 0) + end.get('drop_bytes', 0)
    expect(end.get('drop_bytes', 0) <= sent // 50,
           f'at most 2% of the bytes dropped ({end.get("drop_bytes")} of {sent})', h.short(end))
    pubs = t.nats(op='PUB', subject='busy.host', pid=pub.pid)
    expect(len(pubs) >= rate * secs * 97 // 100,
           f'nearly every PUB the publisher sent recorded: {len(pubs)} of {rate * secs}')
    expect(end.get('lifts', 0) >= 1,
           'the busy loops kept msgscope from running until the watcher lifted it (end.lifts)', h.short(end))
    check_end_counts(t, 'busy host')


# ---------------------------------------------------------------------------
# bad user input

def test_bad_user_input():
    exe = h.msgscope_path()
    d = h.mkdtemp('msgscope-bad-')
    newer = os.path.join(d, 'newer.jsonl')
    with open(newer, 'w') as f:
        f.write('{"type":"meta","schema":999,"tool":"msgscope","ts":1}\n{"type":"end","ts":2}\n')
    garbage = os.path.join(d, 'garbage.jsonl')
    with open(garbage, 'wb') as f:
        f.write(b'\x00\x01 not a trace\n')
    out = os.path.join(d, 'x.jsonl')
    cases = [
        ([exe, 'trace', '--no-such-option'], 'trace: unknown option'),
        ([exe, 'trace', '-o', out, '-p', '12,abc'], 'trace: bad pid list "12,abc"'),
        ([exe, 'trace', '-o', out, '-p', ','], 'trace: bad pid list ","'),
        ([exe, 'trace', '-o', out, '-p', '-5'], 'trace: bad pid list "-5"'),
        ([exe, 'trace', '-o', out, '-p', '99999999999'], 'trace: pid out of range'),
        ([exe, 'trace', '-o', out, '--buffer-size', '3'], 'trace: buffer size not a power of two'),
        ([exe, 'trace', '-o', out, '--buffer-size', '16K'], 'trace: buffer size in KiB, not MiB'),
        ([exe, 'top', '-b', '--buffer-size', '0M'], 'top: buffer size of 0 MiB'),
        ([exe, 'trace', '-o', out, '--rings', '0'], 'trace: 0 rings'),
        ([exe, 'top', '-b', '--rings', 'all'], 'top: rings neither a number nor cpu'),
        ([exe, 'no-such-command'], 'unknown command'),
    ]
    for cmd in ('replay', 'flows'):
        cases += [
            ([exe, cmd, os.path.join(d, 'missing.jsonl')], f'{cmd}: missing trace'),
            ([exe, cmd, d], f'{cmd}: a directory instead of a trace'),
            ([exe, cmd, garbage], f'{cmd}: not a trace'),
            ([exe, cmd, newer], f'{cmd}: a trace with a newer schema'),
        ]
    for argv, what in cases:
        p = h.run(argv, check=False, timeout=60)
        lines = msgscope_lines(p.stderr)
        expect(p.rc not in (0, None) and len(lines) == 1 and p.stdout.strip() == '',
               f'{what}: exit {p.rc}, one error line', f'stdout {p.stdout[:300]!r}\nstderr {p.stderr[:600]!r}')
        h.log(f'    {lines[0]}')
    expect(not os.path.exists(out), 'no trace file left behind by refused runs')
    # A hostile trace must not reach the terminal: warnings quote the input.
    hostile = os.path.join(d, 'hostile.jsonl')
    with open(newer) as f:
        meta = f.readline().replace('"schema":999', '"schema":1')
    with open(hostile, 'wb') as f:
        f.write(meta.encode() + b'\x1b]2;pwned\x07\x1b[2J{"type":"nats"\n'
                b'{"type":"nats","x":"\\u001b[2J" "y"\n{"type":"end","ts":3}\n')
    for cmd in ('replay', 'flows'):
        p = h.run([exe, cmd, hostile], check=False, timeout=60)
        expect('\x1b' not in p.stderr and '\x07' not in p.stderr,
               f'{cmd}: malformed lines of a hostile trace are reported without its control characters',
               repr(p.stderr[:400]))


if __name__ == '__main__':
    h.main([
        test_observed_process_killed_mid_message,
        test_connections_reset,
        test_server_restart,
        test_msgscope_sigkilled_leaves_nothing_attached,
        test_check_loads_the_programs,
        test_sigterm_flushes,
        test_disk_full,
        test_symlink_refused,
        test_10000_connections,
        test_flood_beyond_capacity,
        test_sheds_when_outrun,
        test_catches_up_on_busy_host,
        test_bad_user_input,
    ], needs=['nats-server', 'curl'])
