#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end: msgscope's process selection (-p, following children,
-- CMD, --comm, processes that touch no socket), how it ends (--duration,
SIGTERM) and its CLI errors.

Exit 0 = pass, 1 = fail, 77 = skipped (no root/BPF/binary; fails when CI=true).
Run one test: test_filters.py test_pid_filter
"""
import os
import signal
import stat
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import expect, dump  # noqa: E402


def test_pid_filter():
    with h.NatsServer() as ns:
        a = h.natsc(ns.url, '--wait', 'pub', 'e2e.from.a', 'payload-a', 3, stdin=True)
        b = h.natsc(ns.url, '--wait', 'pub', 'e2e.from.b', 'payload-b', 3, stdin=True)
        a.wait_for('WAITING')
        b.wait_for('WAITING')
        with h.Trace(['-p', a.pid, '--port', ns.port_arg]) as t:
            a.send('go')
            b.send('go')
            a.wait_ok()
            b.wait_ok()
        everything = dump(t.messages())
        expect(t.meta.get('options', {}).get('pids') == [a.pid], f'meta.options.pids == [{a.pid}]',
               h.short(t.meta))
        pubs = t.nats(op='PUB', pid=a.pid)
        expect(len(pubs) == 3 and all(r.get('subject') == 'e2e.from.a' for r in pubs),
               'traced publisher: its 3 PUBs are there', everything)
        expect(t.nats(op='CONNECT', pid=a.pid), 'traced publisher: its CONNECT is there (fresh connection)')
        other = t.messages(pid=b.pid)
        expect(not other, f'zero records from the untraced publisher (pid {b.pid})', dump(other))
        server = t.messages(pid=ns.pid)
        expect(not server, f'zero records from the untraced nats-server (pid {ns.pid})', dump(server))
        stray = [r for r in t.messages() if r.get('pid') != a.pid]
        expect(not stray, 'no record from any other pid', dump(stray))
        expect(not t.nats(subject='e2e.from.b'), 'the other publisher\'s subject appears nowhere')


def test_follows_forked_child():
    with h.Nginx() as ng:
        sh = h.spawn(['sh', '-c', f'read x; curl -sS -o /dev/null {ng.url}/hello.txt; echo done'], stdin=True)
        with h.Trace(['-p', sh.pid, '--port', ng.port_arg]) as t:
            workers = ng.all_pids()
            sh.send('go')
            sh.wait_for('done')
            sh.wait_ok()
        req = t.http(kind='request', path='/hello.txt')
        expect(len(req) == 1, 'the request of curl, forked by the traced shell after the trace started, '
               'is captured', dump(t.messages()))
        expect(req[0].get('comm') == 'curl' and req[0].get('pid') != sh.pid and req[0].get('dir') == 'send',
               f'it belongs to the child (comm curl, pid {req[0].get("pid")} != shell {sh.pid})',
               h.short(req[0]))
        resp = t.http(kind='response', pid=req[0]['pid'])
        expect(len(resp) == 1 and resp[0].get('status') == 200, 'the child\'s response is captured', dump(resp))
        srv = [r for r in t.messages() if r.get('pid') in workers]
        expect(not srv, 'nothing from nginx (not a descendant of the shell)', dump(srv))


def test_command():
    with h.Nginx() as ng:
        t = h.Trace(['--port', ng.port_arg], cmd=['curl', '-sS', '-o', '/dev/null', ng.url + '/index.html'])
        with t:
            rc = t.wait_exit()
        expect(rc == 0, 'msgscope exits 0 by itself when the command exits', f'rc {rc}\n{t.stderr}')
        ran = (t.end['ts'] - t.ready_ns) / 1e9
        expect(ran < 10, 'it stopped soon after the command exited', f'{ran:.2f}s after ready')
        req = t.http(kind='request', path='/index.html')
        expect(len(req) == 1 and req[0].get('comm') == 'curl', 'the command\'s request is captured',
               dump(t.messages()))
        resp = t.http(kind='response', pid=req[0]['pid'])
        expect(len(resp) == 1 and resp[0].get('status') == 200, 'and its response', dump(resp))
        srv = t.messages(local=f'127.0.0.1:{ng.port}')
        expect(not srv, 'nothing from nginx (only the command is traced)', dump(srv))
        expect(t.end.get('reason') == 'command-exited', 'end.reason == "command-exited"', h.short(t.end))
        mode = stat.S_IMODE(os.stat(t.path).st_mode)
        expect(mode == 0o600, 'trace file mode is 0600', oct(mode))


def test_comm_filter():
    with h.Nginx() as ng:
        with h.Trace(['--comm', 'curl', '--port', ng.port_arg]) as t:
            c = h.run(['curl', '-sS', '-o', '/dev/null', ng.url + '/a.txt'])
            with urllib.request.urlopen(ng.url + '/b.txt', timeout=10) as r:
                r.read()
        expect(t.meta.get('options', {}).get('comm') == 'curl', 'meta.options.comm == "curl"', h.short(t.meta))
        msgs = t.messages()
        expect(any(r.get('pid') == c.pid and r.get('path') == '/a.txt' for r in msgs),
               'curl\'s request is captured', dump(msgs))
        expect(all(r.get('comm') == 'curl' for r in msgs), 'every record has comm "curl"',
               dump([r for r in msgs if r.get('comm') != 'curl']))
        expect(not t.http(path='/b.txt'), 'the python client\'s request (and nginx\'s side) is absent')


def test_duration_and_sigterm():
    with h.NatsServer() as ns:
        with h.Trace(['--duration', 2, '--port', ns.port_arg]) as t:
            h.natsc(ns.url, 'pub', 'e2e.dur', 'x').wait_ok()
            rc = t.wait_exit()
        expect(rc == 0, '--duration 2: exits 0 by itself', f'rc {rc}')
        expect(t.end.get('reason') == 'duration', 'end.reason == "duration"', h.short(t.end))
        # end.ts is taken when the run stops, before the probes are detached
        # (which can be slow): compare it with when tracing became ready.
        ran = (t.end['ts'] - t.ready_ns) / 1e9
        expect(1.5 <= ran <= 5.0, '--duration 2: stopped ~2 s after the ready line', f'{ran:.2f}s')
        expect(t.nats(op='PUB', subject='e2e.dur'), 'traffic during the run is captured')

        with h.Trace(['--port', ns.port_arg]) as t:
            h.natsc(ns.url, 'pub', 'e2e.term', 'x').wait_ok()
            t.proc.signal(signal.SIGTERM)
            rc = t.wait_exit()
        expect(rc == 0, 'SIGTERM: exits 0 after flushing', f'rc {rc}')
        expect(t.end.get('reason') == 'signal', 'end.reason == "signal"', h.short(t.end))
        expect(t.nats(op='PUB', subject='e2e.term'), 'traffic before SIGTERM is in the trace')


def _expect_cli_error(argv, what):
    p = h.run(argv, check=False, timeout=20)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    expect(p.rc != 0, f'{what}: non-zero exit', f'rc {p.rc}\n{p.describe()}')
    expect(len(lines) == 1 and lines[0].startswith('msgscope:'),
           f'{what}: exactly one stderr line starting with "msgscope:"', repr(p.stderr))
    h.log(f'    stderr: {lines[0]}')
    expect(p.stdout == '', f'{what}: nothing on stdout', p.stdout)


def test_cli_errors():
    exe = h.msgscope_path()
    d = h.mkdtemp('msgscope-err-')
    pid = 999999
    while os.path.exists(f'/proc/{pid}'):
        pid += 1
    out = os.path.join(d, 'x.jsonl')
    _expect_cli_error([exe, 'trace', '-o', out, '-p', str(pid), '--duration', '5'],
                      f'-p {pid} (no such process)')
    expect(not os.path.exists(out), 'a trace that never started leaves no file')
    # A trace that never started must not touch what -o names: an existing
    # file keeps its contents, and /dev/null (what benchmarks write to) stays
    # the device. Removing it once broke every later daemon(3) on the host.
    kept = os.path.join(d, 'kept.jsonl')
    with open(kept, 'w') as f:
        f.write('earlier trace\n')
    for cmd in ('trace', 'top'):
        extra = ['-b', '-n', '1'] if cmd == 'top' else ['--duration', '5']
        for target in (kept, '/dev/null'):
            _expect_cli_error([exe, cmd, '-o', target, '-p', str(pid)] + extra,
                              f'{cmd} -o {target} -p {pid}')
        with open(kept) as f:
            expect(f.read() == 'earlier trace\n', f'{cmd}: an existing -o file is left as it was')
        expect(h.dev_null_is_device(), f'{cmd}: /dev/null is still a character device',
               oct(os.stat('/dev/null').st_mode))
    bad = '/nonexistent/dir/x'
    assert not os.path.exists('/nonexistent'), '/nonexistent exists on this machine'
    _expect_cli_error([exe, 'trace', '-o', bad, '--duration', '5'], f'-o {bad}')
    expect(not os.path.exists(bad), 'no file created')


def bpf_run_counts(pid):
    """run_cnt of each BPF program process pid holds (bpf_stats on)."""
    progs = h.bpftool_ids('prog')
    return {i: progs[i].get('run_cnt', 0) for i in h.bpf_objects(pid)['prog'] if i in progs}


def test_file_io_runs_no_hook():
    """A process that touches no socket: on the socket-hook path its
    syscalls run none of msgscope's programs (dd's 400,000 reads and writes
    of /dev/zero and /dev/null add next to nothing to their run counts);
    on the raw sys_exit path, where the socket tracepoints are missing,
    every one of them runs on_sys_exit."""
    h.require_tools(['bpftool', 'dd'])
    socks = h.feature_here('sock data tracepoints')
    with open('/proc/sys/kernel/bpf_stats_enabled') as f:
        stats_was = f.read().strip()
    try:
        with open('/proc/sys/kernel/bpf_stats_enabled', 'w') as f:
            f.write('1')
        with h.Trace() as t:
            before = bpf_run_counts(t.proc.pid)
            h.run(['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64', 'count=200000'])
            after = bpf_run_counts(t.proc.pid)
    finally:
        with open('/proc/sys/kernel/bpf_stats_enabled', 'w') as f:
            f.write(stats_was)
    runs = sum(after.get(i, 0) - n for i, n in before.items())
    if socks:
        expect(runs < 20000, f'{runs} runs of msgscope\'s programs during 400,000 syscalls '
               'on no socket', str(after))
    else:
        expect(runs >= 400000, f'{runs} runs of msgscope\'s programs during 400,000 syscalls '
               '(on_sys_exit sees every one)', str(after))


TESTS = [
    test_pid_filter,
    test_follows_forked_child,
    test_command,
    test_comm_filter,
    test_duration_and_sigterm,
    test_cli_errors,
    test_file_io_runs_no_hook,
]

if __name__ == '__main__':
    h.main(TESTS, needs=['nats-server', 'nginx', 'curl'])
