#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end: `msgscope top` (the live view) and `msgscope replay`, driven
the way a person drives them: inside tmux, keys sent with send-keys, the
screen read back with capture-pane. A real nats-server and nginx serve real
clients (natsc pub/sub and request/reply, curl).

  test_live_screen     header values, the flows of the workload, every view
                       and key, q exits and gives the terminal back
  test_small_terminal  80x24: every view and pane renders within 80
                       columns; a resize redraws; Ctrl-C exits cleanly
  test_batch           top -b -n N -d 1: N plain-text frames, parsed
  test_batch_json      top -b --json: one JSON object per frame
  test_record_replay   top -o records a trace with metrics lines; replay -b
                       (as an unprivileged user) shows the same flows;
                       replay in tmux: pause, jump, step, speed, quit
  test_replay_errors   missing, non-trace, newer-schema input: one line, exit 1

Exit 0 = pass, 1 = fail, 77 = skipped (no root/BPF/binary/tmux; fails when
CI=true). Run one test: test_top.py test_batch
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import expect  # noqa: E402

PUB_SUBJECT = 'e2e.top.orders'
REQ_SUBJECT = 'e2e.top.price'
PAYLOAD = '{"order":42,"item":"book"}'
REPLY = '{"price":7}'
BATCH_WIDTH = 200

# Column names of the four views (the first line of their tables).
VIEW_HEADERS = {
    1: ('PROTO', 'FROM', 'TO', 'SUBJECT/ENDPOINT', 'MSG/s'),
    2: ('TIME', 'COMM', 'MESSAGE'),
    3: ('COMPONENT', 'IN/s', 'OUT/s', 'SUB', 'SRV'),
    4: ('SUBJECT', 'PUBLISHERS', 'SUBSCRIBERS', 'LAST PAYLOAD'),
}


# ---------------------------------------------------------------------------
# tmux

class Tmux:
    """One private tmux server (its own socket, no user config) running one
    command in a window of the given size. The command's exit status is
    printed as MSGSCOPE-EXIT=N, and the pane stays to be read."""

    _n = 0

    def __init__(self, argv, cols=160, rows=50):
        Tmux._n += 1
        self.sock = f'msgscope-e2e-{os.getpid()}-{Tmux._n}'
        self.argv = [str(a) for a in argv]
        self.cols, self.rows = cols, rows
        self.last = ''
        self.socket_path = None

    def tmux(self, *args, check=True):
        r = subprocess.run(['tmux', '-L', self.sock, '-f', '/dev/null'] + [str(a) for a in args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        if check and r.returncode != 0:
            raise AssertionError(f'tmux {" ".join(map(str, args))}: {r.stderr.decode().strip()}')
        return r.stdout.decode('utf-8', 'replace')

    def __enter__(self):
        # The wrapper catches SIGINT (Ctrl-C reaches the whole foreground
        # group) with a handler, not by ignoring it: an ignored SIGINT would
        # be inherited by msgscope and never reach its signalfd.
        cmd = "trap : INT; " + shlex.join(self.argv) + '; echo "MSGSCOPE-EXIT=$?"; sleep 600'
        # tmux's server daemonizes, and daemon(3) refuses a /dev/null that
        # is not the device; tmux then only says "server exited unexpectedly".
        assert h.dev_null_is_device(), \
            '/dev/null is not a character device, so tmux cannot start (scripts/deps.sh repairs it)'
        self.tmux('new-session', '-d', '-s', 'e2e', '-x', self.cols, '-y', self.rows, 'sh', '-c', cmd)
        self.socket_path = self.tmux('display-message', '-p', '#{socket_path}').strip()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            try:
                h.log('last screen:\n' + self.screen())
            except AssertionError as e:   # the server is gone: say so, keep the cause
                h.log(f'(no last screen: {e})')
        self.tmux('kill-server', check=False)
        if self.socket_path:
            try:
                os.unlink(self.socket_path)
            except OSError:
                pass
        return False

    def screen(self):
        self.last = self.tmux('capture-pane', '-p', '-t', 'e2e')
        return self.last

    def lines(self):
        return self.screen().split('\n')

    def keys(self, *keys, settle=0.4):
        for k in keys:
            self.tmux('send-keys', '-t', 'e2e', k)
        time.sleep(settle)

    def text(self, s, settle=0.4):
        """Type s literally."""
        self.tmux('send-keys', '-t', 'e2e', '-l', s)
        time.sleep(settle)

    def wait(self, pred, what, timeout=15.0):
        deadline = time.monotonic() + timeout
        while True:
            scr = self.screen()
            if pred(scr):
                return scr
            if time.monotonic() > deadline:
                raise AssertionError(f'{what}: not on screen within {timeout}s:\n{scr}')
            time.sleep(0.25)

    def alternate_on(self):
        return self.tmux('display-message', '-p', '-t', 'e2e', '#{alternate_on}').strip() == '1'

    def resize(self, cols, rows):
        self.tmux('resize-window', '-t', 'e2e', '-x', cols, '-y', rows)


def top_argv(*extra, ports=()):
    """msgscope top following only this test's process tree (-p): the
    servers and every client are its children, and other load on the host
    (other tests, benchmarks) cannot crowd them out."""
    argv = [h.msgscope_path(), 'top', '-p', os.getpid()]
    for p in ports:
        argv += ['--port', p]
    return [str(a) for a in argv] + [str(a) for a in extra]


# ---------------------------------------------------------------------------
# reading tables (screen or batch frame)

def table_after(lines, first_col):
    """The column header line starting with first_col and the row lines
    under it (up to a blank line or the status line)."""
    for i, line in enumerate(lines):
        if line.startswith(first_col + ' '):
            rows = []
            for row in lines[i + 1:]:
                if not row.strip() or row.startswith('q quit') or row.startswith('  ('):
                    break
                rows.append(row)
            return line, rows
    return None, []


def parse_flows(lines):
    """Flows view rows as dicts: proto, from, to, subject, and the numeric
    columns by name. Text columns are sliced at their header positions;
    numeric columns (no blanks inside) are taken from the right."""
    header, rows = table_after(lines, 'PROTO')
    if header is None:
        return []
    tokens = [(m.group(0), m.start()) for m in re.finditer(r'\S+', header)]
    names = [t[0] for t in tokens]
    text = ['PROTO', 'FROM', 'TO', 'SUBJECT/ENDPOINT']
    pos = [dict(tokens)[n] for n in text]
    nnum = len(names) - len(text)
    out = []
    for row in rows:
        parts = row.rsplit(None, nnum)
        if len(parts) != nnum + 1:
            continue
        head = parts[0]
        cells = [head[pos[i]:pos[i + 1] if i + 1 < len(pos) else None].strip() for i in range(len(pos))]
        d = dict(zip(['proto', 'from', 'to', 'subject'], cells))
        d.update(zip(names[len(text):], parts[1:]))
        out.append(d)
    return out


def num(s):
    """'1.2k' -> 1200.0, '3' -> 3.0; None for '-'."""
    m = re.fullmatch(r'([0-9.]+)([kMGTP]?)', s or '')
    if not m:
        return None
    return float(m.group(1)) * {'': 1, 'k': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12, 'P': 1e15}[m.group(2)]


def edge_key(f):
    return (f['proto'], f['from'], f['to'], f['subject'])


def find_flows(flows, wl, ng):
    """The three flows the workload makes, each a list of matching rows."""
    workers = {f'nginx[{p}]' for p in ng.worker_pids()}
    pub = [f for f in flows if f['proto'] == 'nats' and f['subject'] == PUB_SUBJECT
           and re.fullmatch(r'natsc\[\d+\]:e2e-pub', f['from'])
           and f['to'] == f'natsc[{wl.sub.pid}]:e2e-sub']
    req = [f for f in flows if f['proto'] == 'n-req' and f['subject'] == REQ_SUBJECT
           and re.fullmatch(r'natsc\[\d+\]:e2e-req', f['from'])
           and f['to'] == f'natsc[{wl.svc.pid}]:e2e-svc']
    web = [f for f in flows if f['proto'] == 'http' and f['subject'] == 'GET /hello.txt'
           and re.fullmatch(r'curl\[\d+\]', f['from']) and f['to'] in workers]
    return pub, req, web


def header_ok(lines):
    """The CPU and MEM lines carry numbers, and the 8 CPU shares add up."""
    cpu = next((l for l in lines if l.startswith('CPU ')), '')
    mem = next((l for l in lines if l.startswith('MEM ')), '')
    vals = [float(v) for v in re.findall(r'\b(?:us|sy|ni|id|wa|hi|si|st)\s+([0-9.]+)', cpu)]
    return (len(vals) == 8 and abs(sum(vals) - 100) < 1.0 and
            re.search(r'\btot [0-9.]+[KMGT] used [0-9.]+[KMGT] \d+%', mem) is not None)


# ---------------------------------------------------------------------------
# workload

class Workload:
    """Long-lived subscriber and responder (started after msgscope, so their
    CONNECT and SUB are seen), then a thread that keeps publishing,
    requesting and fetching until stopped."""

    def __init__(self, ns, ng):
        self.ns, self.ng = ns, ng
        self.stop_ev = threading.Event()
        self.errors = []
        self.rounds = 0
        self.thread = None
        self.sub = self.svc = None

    def start(self):
        self.sub = h.natsc(self.ns.url, '--name', 'e2e-sub', 'sub', PUB_SUBJECT,
                           '--count', 1000000, '--timeout', 300)
        self.sub.wait_for('READY')
        self.svc = h.natsc(self.ns.url, '--name', 'e2e-svc', 'reply', REQ_SUBJECT, REPLY,
                           '--count', 1000000, '--timeout', 300)
        self.svc.wait_for('READY')
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _round(self):
        h.natsc(self.ns.url, '--name', 'e2e-pub', 'pub', PUB_SUBJECT, PAYLOAD, 5).wait_ok()
        h.natsc(self.ns.url, '--name', 'e2e-req', 'request', REQ_SUBJECT, '{"item":"book"}').wait_ok()
        for _ in range(2):
            h.run(['curl', '-sS', '-o', '/dev/null', self.ng.url + '/hello.txt'])

    def _run(self):
        while not self.stop_ev.is_set():
            try:
                self._round()
                self.rounds += 1
            except Exception as e:  # reported by stop()
                self.errors.append(str(e))
                return
            self.stop_ev.wait(0.2)

    def stop(self):
        self.stop_ev.set()
        if self.thread:
            self.thread.join(timeout=30)
        assert not self.errors, 'workload failed: ' + self.errors[0]
        assert self.rounds > 0, 'workload made no round'


# ---------------------------------------------------------------------------
# tests

def wait_started(t, what='top screen'):
    return t.wait(lambda s: ' 1 Flows ' in s and '\nCPU ' in s, what, timeout=45)


def wait_flows(t, wl, ng, timeout=30):
    """Until the Flows view shows all three flows; returns the parsed rows."""
    deadline = time.monotonic() + timeout
    while True:
        flows = parse_flows(t.lines())
        pub, req, web = find_flows(flows, wl, ng)
        if pub and req and web:
            return flows, pub, req, web
        if time.monotonic() > deadline:
            raise AssertionError(f'flows not all on screen within {timeout}s '
                                 f'(pub {len(pub)}, req {len(req)}, http {len(web)}):\n{t.last}')
        time.sleep(0.5)


def clock_s(hms):
    h_, m_, s_ = hms.split(':')
    return int(h_) * 3600 + int(m_) * 60 + float(s_)


def tail_is_live(scr):
    """The header clock and the first row of the Messages table agree to
    within 3 s (the view follows the newest message)."""
    lines = scr.split('\n')
    clock = re.search(r'\b(\d\d:\d\d:\d\d)\b', lines[0]) if lines else None
    _, rows = table_after(lines, 'TIME')
    first = re.match(r'(\d\d:\d\d:\d\d\.\d+)\s', rows[0]) if rows else None
    if not clock or not first:
        return False
    d = clock_s(clock.group(1)) - clock_s(first.group(1))
    return -2 < (d + 43200) % 86400 - 43200 < 3


def view_header(scr, view):
    header, _ = table_after(scr.split('\n'), VIEW_HEADERS[view][0])
    return header is not None and all(c in header for c in VIEW_HEADERS[view])


def test_live_screen():
    with h.NatsServer() as ns, h.Nginx() as ng:
        argv = top_argv('-d', 1, ports=[ns.port_arg, ng.port_arg])
        with Tmux(argv, 160, 50) as t:
            wait_started(t)
            expect(t.alternate_on(), 'top runs on the alternate screen')
            wl = Workload(ns, ng).start()
            try:
                flows, pub, req, web = wait_flows(t, wl, ng)
                expect(True, f'Flows: natsc:e2e-pub -> natsc[{wl.sub.pid}]:e2e-sub on {PUB_SUBJECT}, '
                       f'request-reply to natsc[{wl.svc.pid}]:e2e-svc, curl -> nginx GET /hello.txt')
                lines = t.wait(lambda s: header_ok(s.split('\n')), 'CPU/MEM header values').split('\n')
                expect(header_ok(lines), 'header: CPU shares add up to 100, MEM has sizes')
                expect(any(l.startswith('MSC ') and re.search(r'events \S+/s', l) for l in lines),
                       'header: msgscope events/s')
                t.wait(lambda s: any((num(f.get('MSG/s')) or 0) > 0 for f in parse_flows(s.split('\n'))),
                       'a flow with a non-zero MSG/s')
                expect(True, 'a flow shows a non-zero rate')

                # views: number keys and Tab
                for v in (2, 3, 4):
                    t.keys(str(v))
                    t.wait(lambda s: view_header(s, v), f'view {v} columns')
                expect(True, 'keys 2, 3, 4 show Messages, Components, Subjects')
                scr = t.screen()
                expect(PUB_SUBJECT in scr and '{"order":42' in scr, 'Subjects: the subject and its last payload', scr)
                # Every round's short-lived clients are components too: on a
                # fast host they push the subscriber (OUT/s 0) off the
                # screen, so look for each through the filter.
                t.keys('3')
                t.wait(lambda s: view_header(s, 3), 'view 3 columns')
                for want in (f'natsc[{wl.sub.pid}]:e2e-sub', 'nginx['):
                    t.keys('/')
                    t.text(want.split('[')[0] if want.startswith('nginx') else 'e2e-sub')
                    t.keys('Enter')
                    t.wait(lambda s: want in s, f'Components: {want} (filtered)')
                    t.keys('Escape')
                    t.wait(lambda s: 'filter "' not in s, 'Esc clears the filter')
                expect(True, 'Components: the subscriber and nginx')
                t.keys('2')
                t.wait(tail_is_live, 'Messages: the first row is the newest message (within 3 s of the clock)')
                expect(True, 'Messages: the tail follows the newest message after a trip through other views')
                # NATS floods the tail: one screen holds a fraction of a
                # second, so each kind is looked for through the filter.
                for want, typed in (('GET /hello.txt', 'hello.txt'), (f'PUB {PUB_SUBJECT}', PUB_SUBJECT)):
                    t.keys('/')
                    t.text(typed)
                    t.keys('Enter')
                    t.wait(lambda s: want in s, f'Messages: {want} in the tail (filtered)')
                    t.keys('Escape')
                    t.wait(lambda s: 'filter "' not in s, 'Esc clears the filter')
                expect(True, 'Messages: a GET and a PUB in the live tail')
                t.keys('Tab', 'Tab', 'Tab')
                t.wait(lambda s: view_header(s, 1), 'Tab cycles back to Flows')
                expect(True, 'Tab cycles 2 -> 3 -> 4 -> 1')

                # filter: the tab line counts shown/all rows
                t.keys('/')
                t.text('hello')
                t.keys('Enter')
                scr = t.wait(lambda s: 'filter "hello"' in s, 'filter shown in the tab line')
                rows = table_after(scr.split('\n'), 'PROTO')[1]
                shown, total = map(int, re.search(r' (\d+)/(\d+)  sort', scr).groups())
                expect(rows and all('hello' in r for r in rows) and 0 < shown < total,
                       f'/ filter narrows Flows to GET /hello.txt rows ({shown} of {total})', scr)

                # details of the most recent one (sorted by LAST: its
                # messages are still in the ring of recent messages)
                t.keys('>', '>', '>', '>', '>')
                t.wait(lambda s: 'sort LAST desc' in s, '> five times: sort by LAST')
                t.keys('Home', 'Enter')
                scr = t.wait(lambda s: 'Flows details' in s, 'details pane')
                expect('Flow http: curl[' in scr and 'GET /hello.txt' in scr and 'Latency distribution' in scr,
                       'Enter opens the flow details: header and latency distribution', scr)
                t.wait(lambda s: '"type": "http"' in s and '"kind": "re' in s,
                       'a pretty-printed message in the details')
                expect(True, 'details list recent messages, JSON pretty-printed')
                t.keys('Escape')
                t.wait(lambda s: view_header(s, 1) and 'Flows details' not in s, 'Esc back to the table')
                t.keys('Escape')
                t.wait(lambda s: 'filter "' not in s, 'Esc clears the filter')
                expect(True, 'Esc closes details, then clears the filter')

                # sort
                t.keys('<', '<', '<', '<', '<')
                t.wait(lambda s: 'sort MSG/s desc' in s, '< five times: back to MSG/s')
                t.keys('s')
                t.wait(lambda s: 'sort BYTE/s desc' in s, 's sorts by the next column')
                t.keys('r')
                t.wait(lambda s: 'sort BYTE/s asc' in s, 'r reverses')
                t.keys('<')
                t.wait(lambda s: 'sort MSG/s desc' in s, '< goes back a column')
                expect(True, 's, r, < change the sort column and order')

                # help, pause, per-CPU, delay
                t.keys('h')
                scr = t.wait(lambda s: 'msgscope help' in s, 'help')
                expect('quit' in scr and 'filter rows' in scr, 'h shows the help', scr)
                t.keys('x')
                t.wait(lambda s: 'msgscope help' not in s, 'any key closes help')
                t.keys('p')
                t.wait(lambda s: 'PAUSED' in s.split('\n')[0], 'p pauses')
                t.keys('p')
                t.wait(lambda s: 'PAUSED' not in s.split('\n')[0], 'p resumes')
                expect(True, 'h help, p pause/resume')
                t.keys('c')
                t.wait(lambda s: re.search(r'^0\s+ us\s+[0-9.]+', s, re.M), 'c: per-CPU lines')
                t.keys('c')
                t.keys('d', 'C-u')
                t.text('0.5')
                t.keys('Enter')
                t.wait(lambda s: 'delay 0.5s' in s, 'd sets the delay')
                expect(True, 'c per-CPU lines, d delay')
            finally:
                wl.stop()

            # quit: the terminal comes back
            t.keys('q', settle=0.2)
            # the terminal comes back at once; detaching the probes can take
            # seconds on a busy host
            scr = t.wait(lambda s: 'MSGSCOPE-EXIT=' in s, 'exit after q', timeout=90)
            expect('MSGSCOPE-EXIT=0' in scr, 'q exits with status 0', scr)
            expect(not t.alternate_on() and ' 1 Flows ' not in scr,
                   'the terminal is restored (normal screen, no top frame left)', scr)


def test_small_terminal():
    with h.NatsServer() as ns, h.Nginx() as ng:
        argv = top_argv('-d', 1, '--no-color', ports=[ns.port_arg, ng.port_arg])
        with Tmux(argv, 80, 24) as t:
            wait_started(t, '80x24 top screen')
            wl = Workload(ns, ng).start()
            try:
                t.wait(lambda s: len(parse_flows(s.split('\n'))) > 0, 'flows at 80x24')
                for keys in (['2'], ['3'], ['4'], ['1'], ['Enter'], ['Escape'], ['h'], ['x'],
                             ['/'], ['Escape'], ['2', 'Enter'], ['PageDown'], ['Escape']):
                    t.keys(*keys)
                    lines = t.lines()
                    assert 'MSGSCOPE-EXIT' not in t.last, f'top exited after {keys}:\n{t.last}'
                    wide = [l for l in lines if len(l) > 80]
                    assert not wide, f'lines wider than 80 after {keys}: {wide}'
                    assert len(lines) <= 25, f'{len(lines)} lines after {keys}'
                expect(True, '80x24: views, details, help and filter render within the window')
                t.keys('1')
                t.resize(132, 40)
                scr = t.wait(lambda s: len(table_after(s.split('\n'), 'PROTO')[0] or '') > 100,
                             'the table widens after a resize')
                expect('P50' in scr, 'a wider terminal shows the columns dropped at 80 (P50)', scr)
                t.resize(80, 24)
                t.wait(lambda s: len(table_after(s.split('\n'), 'PROTO')[0] or 'x' * 99) <= 80,
                       'back to 80 columns')
                expect(True, 'resizes redraw at the new size')
            finally:
                wl.stop()
            t.keys('C-c', settle=0.2)
            scr = t.wait(lambda s: 'MSGSCOPE-EXIT=' in s, 'exit after Ctrl-C', timeout=90)
            expect('MSGSCOPE-EXIT=0' in scr and not t.alternate_on(),
                   'Ctrl-C exits with status 0 and restores the terminal', scr)


def split_frames(out):
    """Batch output -> list of frames (lists of lines); a frame starts with
    its title line."""
    frames = []
    for line in out.split('\n'):
        if line.startswith('msgscope '):
            frames.append([])
        if frames:
            frames[-1].append(line)
    return frames


def run_batch(ns, ng, n, *extra):
    """top -b -n n -d 1 while the workload runs; returns (proc, workload).
    The workload starts once the first frame shows that capture is on."""
    p = h.spawn(top_argv('-b', '-n', n, '-d', 1, '-w', BATCH_WIDTH, *extra,
                         ports=[ns.port_arg, ng.port_arg]))
    p.wait_for('"type":"frame"' if '--json' in extra else 'msgscope ', timeout=45)
    wl = Workload(ns, ng).start()
    try:
        p.wait_ok(timeout=n * 1.0 + 30)
    finally:
        wl.stop()
    return p, wl


def test_batch():
    n = 6
    with h.NatsServer() as ns, h.Nginx() as ng:
        p, wl = run_batch(ns, ng, n)
        frames = split_frames(p.stdout)
        expect(len(frames) == n, f'-n {n}: {n} frames', p.stdout[-3000:])
        for i, f in enumerate(frames):
            assert header_ok(f), f'frame {i}: header values:\n' + '\n'.join(f)
            assert any(l.startswith('MSC ') for l in f), f'frame {i}: no MSC line'
            assert any(l.startswith(' 1 Flows ') for l in f), f'frame {i}: no tab line'
            assert table_after(f, 'PROTO')[0], f'frame {i}: no Flows table'
            assert all(len(l) <= BATCH_WIDTH for l in f), f'frame {i}: line wider than -w'
        expect(True, 'every frame: CPU/MEM/MSC header with values, tab line, Flows table')
        titles = [f[0] for f in frames]
        clocks = [re.search(r'\d\d:\d\d:\d\d', t).group(0) for t in titles]
        expect(len(set(clocks)) >= n - 1, 'frames are taken at successive times', '\n'.join(titles))
        pub, req, web = find_flows(parse_flows(frames[-1]), wl, ng)
        expect(pub and req and web, 'last frame: the pub/sub, request/reply and HTTP flows',
               '\n'.join(frames[-1]))
        expect('\x1b' not in p.stdout, 'batch output is plain text (no escape sequences)')


def test_batch_json():
    with h.NatsServer() as ns, h.Nginx() as ng:
        p, wl = run_batch(ns, ng, 4, '--json')
        frames = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
        expect(len(frames) == 4 and all(f.get('type') == 'frame' for f in frames),
               '--json: one "frame" object per line', p.stdout[:2000])
        f = frames[-1]
        for key in ('ts', 'cpu', 'mem', 'sys', 'net', 'disk', 'msgscope', 'rows'):
            assert key in f, f'frame has no {key}: {sorted(f)}'
        expect(abs(sum(f['cpu'].values()) - 100) < 0.5, 'frame cpu shares add up to 100', f['cpu'])
        rows = f['rows']
        expect(any(r['SUBJECT/ENDPOINT'] == PUB_SUBJECT and r['TO'] == f'natsc[{wl.sub.pid}]:e2e-sub'
                   for r in rows), 'rows: the pub/sub flow, with numeric MSG/s', rows[:5])
        expect(all(isinstance(r['MSG/s'], (int, float)) for r in rows), 'numeric columns are numbers')


def load_trace(path):
    with open(path) as f:
        recs = [json.loads(l) for l in f if l.strip()]
    assert recs and recs[0]['type'] == 'meta', 'trace: first line is not meta'
    assert recs[-1]['type'] == 'end', 'trace: last line is not end'
    return recs


def world_executable(path):
    """Can any user run path (every directory on the way searchable)?"""
    path = os.path.realpath(path)
    if not os.stat(path).st_mode & 0o001:
        return False
    d = os.path.dirname(path)
    while d != '/':
        if not os.stat(d).st_mode & 0o001:
            return False
        d = os.path.dirname(d)
    return True


def unprivileged(argv):
    """argv run as nobody when possible (replay must not need root)."""
    if os.geteuid() == 0 and shutil.which('setpriv') and world_executable(argv[0]):
        return ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] + argv, True
    h.log('  (replay runs as root here: setpriv or a world-executable binary is missing)')
    return argv, False


def test_record_replay():
    n = 6
    d = h.mkdtemp('msgscope-top-')
    trace = os.path.join(d, 'top.jsonl')
    with h.NatsServer() as ns, h.Nginx() as ng:
        p, wl = run_batch(ns, ng, n, '-o', trace)
        live = split_frames(p.stdout)
        live_edges = {edge_key(f) for f in parse_flows(live[-1])}
        expect(all(find_flows(parse_flows(live[-1]), wl, ng)), 'top -o: the three flows live')

        recs = load_trace(trace)
        metrics = [r for r in recs if r['type'] == 'metrics']
        expect(len(metrics) == n, f'trace: one metrics line per interval ({len(metrics)})')
        m = metrics[-1]
        expect(all(k in m for k in ('ts', 'interval_s', 'cpu', 'mem', 'net', 'disk', 'psi', 'msgscope')),
               'metrics line: host_metrics_to_json keys plus msgscope counters', sorted(m))
        expect(abs(m['interval_s'] - 1.0) < 0.2, 'metrics interval_s ~ 1', m['interval_s'])
        expect(any(r['type'] == 'nats' and r.get('op') == 'PUB' and r.get('subject') == PUB_SUBJECT for r in recs)
               and any(r['type'] == 'http' for r in recs), 'trace: nats and http records')
        expect(os.stat(trace).st_mode & 0o777 == 0o600, 'trace file mode 0600')

        # replay, as nobody: the trace file is root's 0600, so hand over a copy
        pub_copy = os.path.join(d, 'public.jsonl')
        shutil.copy(trace, pub_copy)
        os.chmod(pub_copy, 0o644)
        os.chmod(d, 0o755)
        argv, nobody = unprivileged([h.msgscope_path(), 'replay', '-b', '-d', 1, '-w', BATCH_WIDTH, pub_copy])
        r = h.run(argv, timeout=60)
        frames = split_frames(r.stdout)
        expect(len(frames) >= n - 1, f'replay -b: a frame per second of trace ({len(frames)})')
        expect(any(header_ok(f) for f in frames), 'replay frames show the recorded host metrics')
        replay_edges = {edge_key(f) for f in parse_flows(frames[-1])}
        missing = live_edges - replay_edges
        expect(not missing, f'replay shows every flow top showed ({len(live_edges)})'
               + (' as an unprivileged user' if nobody else ''), f'missing: {sorted(missing)}')
        expect(all(find_flows(parse_flows(frames[-1]), wl, ng)), 'replay: the three flows')

        # interactive replay
        with Tmux([h.msgscope_path(), 'replay', '-d', 1, trace], 160, 50) as t:
            t.wait(lambda s: 'msgscope replay' in s and ' 1 Flows ' in s, 'replay screen')
            t.keys('Space')
            t.wait(lambda s: 'PAUSED' in s.split('\n')[0], 'space pauses the replay')
            t.keys('g')
            t.text('0')
            t.keys('Enter')
            t.wait(lambda s: 't+0.0s/' in s, 'g 0 jumps to the start')
            t.keys('n')
            t.wait(lambda s: 't+1.0s/' in s, 'n steps one interval')
            t.keys('n', 'n')
            t.wait(lambda s: 't+3.0s/' in s, 'n n: two more intervals')
            for _ in range(n + 4):   # step on until the workload's flows show
                if all(find_flows(parse_flows(t.lines()), wl, ng)):
                    break
                t.keys('n')
            expect(all(find_flows(parse_flows(t.lines()), wl, ng)),
                   'stepping through the replay shows the three flows', t.last)
            t.keys('+')
            t.wait(lambda s: 'x2 ' in s.split('\n')[0], '+ doubles the speed')
            t.keys('Space')
            t.wait(lambda s: 'END' in s.split('\n')[0], 'playing on reaches the end', timeout=30)
            expect(True, 'replay in tmux: pause, jump, step, speed, end')
            t.keys('q', settle=0.2)
            scr = t.wait(lambda s: 'MSGSCOPE-EXIT=' in s, 'replay exits on q')
            expect('MSGSCOPE-EXIT=0' in scr and not t.alternate_on(), 'replay: q exits 0, terminal restored')


def test_replay_errors():
    d = h.mkdtemp('msgscope-replay-')
    cases = []
    missing = os.path.join(d, 'missing.jsonl')
    cases.append(('a missing file', missing, 1))
    notjson = os.path.join(d, 'notjson.jsonl')
    with open(notjson, 'w') as f:
        f.write('hello\n')
    cases.append(('not JSON Lines', notjson, 1))
    nometa = os.path.join(d, 'nometa.jsonl')
    with open(nometa, 'w') as f:
        f.write('{"type":"nats","ts":1}\n')
    cases.append(('no meta line', nometa, 1))
    newer = os.path.join(d, 'newer.jsonl')
    with open(newer, 'w') as f:
        f.write('{"type":"meta","schema":99,"ts":1}\n')
    cases.append(('a newer schema', newer, 1))
    for what, path, rc in cases:
        p = h.run([h.msgscope_path(), 'replay', '-b', path], check=False)
        lines = p.stderr.strip().split('\n')
        expect(p.rc == rc and len(lines) == 1 and lines[0].startswith('msgscope: ') and not p.stdout,
               f'replay of {what}: exit {rc}, one "msgscope:" line', f'rc {p.rc}: {p.stderr}')
    p = h.run([h.msgscope_path(), 'replay'], check=False)
    expect(p.rc == 2 and 'missing TRACE' in p.stderr, 'replay without a file: usage error, exit 2', p.stderr)
    p = h.run([h.msgscope_path(), 'top', '--bogus'], check=False)
    expect(p.rc == 2 and p.stderr.startswith('msgscope: top: unknown option'), 'top --bogus: exit 2', p.stderr)


if __name__ == '__main__':
    h.main([test_live_screen, test_small_terminal, test_batch, test_batch_json,
            test_record_replay, test_replay_errors],
           needs=['nats-server', 'nginx', 'curl', 'tmux'])
