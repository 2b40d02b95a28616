#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end: TLS plaintext capture (bpf/tls.bpf.c, userspace/tls_attach.c,
userspace/go_tls.c) against real TLS programs, with a certificate made by
openssl in the test:

- nats-server with TLS (Go crypto/tls, server side) and libnats clients
  (OpenSSL, client side): PUB/SUB/MSG in plaintext with subjects and
  payloads, on the same connection ids and addresses as the clear INFO;
- nginx with HTTPS and curl (OpenSSL on both sides);
- python processes that load libssl only after msgscope started (one the
  system's libssl, one a private copy found through the mmap notification);
- a Go HTTPS client built here when a Go toolchain is installed (optional);
- with the TLS probes turned off (MSGSCOPE_NO_TLS=1) and ports forced to
  NATS/HTTP, the ciphertext the socket hooks see never becomes a record.

Exit 0 = pass, 1 = fail, 77 = skipped (no root/BPF/binary; fails when CI=true).
Run one test: test_tls.py test_https_nginx_curl
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import expect, dump  # noqa: E402

NATS_OPS_TLS = ('CONNECT', 'PUB', 'SUB', 'MSG', 'PING', 'PONG', '+OK', 'UNSUB', 'HPUB', 'HMSG')


# ---------------------------------------------------------------------------
# fixtures

_cert = None


def cert():
    """A self-signed certificate for 127.0.0.1/localhost: (cert, key)."""
    global _cert
    if _cert:
        return _cert
    d = h.mkdtemp('msgscope-tls-cert-')
    os.chmod(d, 0o755)
    c, k = os.path.join(d, 'cert.pem'), os.path.join(d, 'key.pem')
    h.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', k, '-out', c,
           '-days', '2', '-subj', '/CN=localhost',
           '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'])
    os.chmod(c, 0o644)
    os.chmod(k, 0o644)  # nginx workers run as nobody
    _cert = (c, k)
    return _cert


class TlsNatsServer(h._Server):
    """nats-server requiring TLS on 127.0.0.1:<free port>."""

    def __init__(self):
        self.port = h.free_port()
        self.dir = h.mkdtemp('msgscope-tls-nats-')

    @property
    def url(self):
        return f'tls://127.0.0.1:{self.port}'

    def start(self):
        c, k = cert()
        self.proc = h.spawn([h.tool('nats-server'), '-a', '127.0.0.1', '-p', str(self.port),
                             '--tls', '--tlscert', c, '--tlskey', k,
                             '-l', os.path.join(self.dir, 'nats.log')], stdout=False)
        h.wait_port(self.port, self.proc)


_NGINX_TLS_CONF = '''
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 128; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    types {{ text/html html; text/plain txt; application/octet-stream bin; }}
    default_type application/octet-stream;
    keepalive_timeout 30s;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        root {root};
        location / {{ }}
        location = /post {{ return 200 "posted\\n"; }}
    }}
}}
'''


class TlsNginx(h._Server):
    """nginx serving make_docroot() over HTTPS (HTTP/1.1 only)."""

    def __init__(self):
        self.port = h.free_port()
        self.prefix = h.mkdtemp('msgscope-tls-nginx-')
        os.chmod(self.prefix, 0o755)
        self.root = os.path.join(self.prefix, 'html')
        self.files = h.make_docroot(self.root)

    @property
    def url(self):
        return f'https://127.0.0.1:{self.port}'

    def start(self):
        c, k = cert()
        os.makedirs(os.path.join(self.prefix, 'tmp'), exist_ok=True)
        conf = os.path.join(self.prefix, 'nginx.conf')
        with open(conf, 'w') as f:
            f.write(_NGINX_TLS_CONF.format(prefix=self.prefix, port=self.port, root=self.root,
                                           cert=c, key=k))
        self.proc = h.spawn([h.tool('nginx'), '-p', self.prefix, '-c', conf,
                             '-e', os.path.join(self.prefix, 'error.log')], stdout=False)
        h.wait_port(self.port, self.proc)

    def worker_pids(self):
        try:
            with open(f'/proc/{self.pid}/task/{self.pid}/children') as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []


def curl(*args):
    return h.run(['curl', '-sS', '--http1.1', '--cacert', cert()[0]] + [str(a) for a in args])


def on_port(t, port):
    """Records on connections to or from port."""
    p = f':{port}'
    return [r for r in t.messages() if r.get('local', '').endswith(p) or r.get('peer', '').endswith(p)]


def check_clean(t, recs, what):
    """No record on a TLS connection came from ciphertext: on every
    connection that shows TLS plaintext, the only records without tls are
    NATS INFO (sent in the clear before the handshake); no parse errors."""
    tls_conns = {(r['pid'], r['conn']) for r in recs if r.get('tls')}
    bad = [r for r in recs if (r['pid'], r['conn']) in tls_conns and not r.get('tls')
           and not (r['type'] == 'nats' and r.get('op') == 'INFO')]
    expect(not bad, f'{what}: every record on a TLS connection is TLS plaintext (or the clear INFO)',
           dump(bad))
    expect(t.end.get('parse_errors') == 0 and t.end.get('resyncs') == 0,
           f'{what}: no parse errors, no resyncs', h.short(t.end))


# ---------------------------------------------------------------------------
# tests

def test_nats_tls_client_and_server(extra=()):
    """libnats (OpenSSL) clients and nats-server (Go crypto/tls)."""
    natsc = h.natsc_path()
    ca = cert()[0]
    with TlsNatsServer() as ns:
        script = (f'read go; {natsc} -s {ns.url} --tls-ca {ca} --count 2 --timeout 10 sub tls.orders & '
                  f'sleep 1; {natsc} -s {ns.url} --tls-ca {ca} --name tlspub '
                  f'pub tls.orders "secret order 42" 2; wait')
        # The clients are children of a shell that waits for the trace to
        # start: -p follows the server and them.
        sh = h.spawn(['/bin/sh', '-c', script], stdin=True)
        with h.Trace(['-p', f'{ns.pid},{sh.pid}', *extra]) as t:
            sh.send('go')
            sh.wait_ok(30)
        recs = on_port(t, ns.port)
        everything = dump(recs)

        # client side, OpenSSL
        pubs = [r for r in recs if r.get('op') == 'PUB' and r.get('comm') == 'natsc']
        expect(len(pubs) == 2, 'client: 2 PUB records from natsc', everything)
        for r in pubs:
            expect(r.get('tls') is True and r['dir'] == 'send' and r['role'] == 'client'
                   and r['subject'] == 'tls.orders' and r.get('payload') == 'secret order 42'
                   and r['size'] == 15 and r['peer'] == f'127.0.0.1:{ns.port}',
                   'client PUB: tls, send, client, subject, payload, peer', h.short(r))
        conn = [r for r in recs if r['pid'] == pubs[0]['pid'] and r['conn'] == pubs[0]['conn']]
        info = [r for r in conn if r.get('op') == 'INFO']
        connect = [r for r in conn if r.get('op') == 'CONNECT']
        expect(len(info) == 1 and 'tls' not in info[0] and info[0]['dir'] == 'recv',
               'client: the INFO before the handshake is plaintext on the same connection', dump(conn))
        expect(len(connect) == 1 and connect[0].get('tls') and connect[0].get('connect', {}).get('name') == 'tlspub',
               'client: CONNECT (with its name) captured as TLS plaintext', dump(conn))
        expect(all(r['local'] == info[0]['local'] and r['peer'] == info[0]['peer'] for r in conn),
               'client: TLS records carry the socket\'s addresses and conn id', dump(conn))
        msgs_c = [r for r in recs if r.get('op') == 'MSG' and r.get('comm') == 'natsc']
        expect(len(msgs_c) == 2 and all(r.get('tls') and r['dir'] == 'recv' and r['subject'] == 'tls.orders'
                                        and r.get('payload') == 'secret order 42' for r in msgs_c),
               'subscriber: 2 MSG records received as TLS plaintext', everything)
        subs = [r for r in recs if r.get('op') == 'SUB' and r.get('comm') == 'natsc']
        expect(len(subs) == 1 and subs[0].get('tls') and subs[0]['subject'] == 'tls.orders',
               'subscriber: SUB as TLS plaintext', everything)

        # server side, Go crypto/tls
        srv = [r for r in recs if r['pid'] == ns.pid]
        spubs = [r for r in srv if r.get('op') == 'PUB']
        expect(len(spubs) == 2 and all(r.get('tls') and r['dir'] == 'recv' and r['role'] == 'server'
                                       and r['subject'] == 'tls.orders' and r.get('payload') == 'secret order 42'
                                       for r in spubs),
               'server: 2 PUB received, as TLS plaintext', dump(srv))
        smsgs = [r for r in srv if r.get('op') == 'MSG']
        expect(len(smsgs) == 2 and all(r.get('tls') and r['dir'] == 'send' and r['subject'] == 'tls.orders'
                                       for r in smsgs),
               'server: 2 MSG sent, as TLS plaintext', dump(srv))
        expect(smsgs[0]['peer'] == msgs_c[0]['local'] and smsgs[0]['local'] == msgs_c[0]['peer'],
               'server MSG and subscriber MSG: the two ends of one TCP connection',
               h.short(smsgs[0]) + '\n' + h.short(msgs_c[0]))
        sconnect = [r for r in srv if r.get('op') == 'CONNECT']
        expect(len(sconnect) == 2 and all(r.get('tls') for r in sconnect),
               'server: both CONNECTs as TLS plaintext', dump(srv))
        sinfo = [r for r in srv if r.get('op') == 'INFO']
        expect(len(sinfo) == 2 and all('tls' not in r and r['dir'] == 'send' for r in sinfo),
               'server: INFO sent in the clear on both connections', dump(srv))
        check_clean(t, recs, 'NATS over TLS')
    return t


def test_nats_tls_paired():
    """The same with --pair-local. Whether the ends get paired at the
    client's read of INFO depends on which probe makes the client's entry
    first; either way TLS plaintext comes from both ends' TLS probes,
    never paired, and what a pair leaves out is ciphertext (or the pair
    comes apart at the handshake: unpaired)."""
    t = test_nats_tls_client_and_server(['--pair-local'])
    end = t.end
    h.log(f"  paired {end.get('paired')}, unpaired {end.get('unpaired')}, "
          f"reads left out {end.get('peer_reads')}")
    marked = [r for r in t.messages() if r.get('peer_read') and r.get('tls')]
    expect(not marked, 'no TLS plaintext record marked peer_read', dump(marked))



def test_nats_tls_client_connected_before_trace():
    """A libnats TLS client whose connection (and handshake) predates the
    trace: what it publishes afterwards is recorded as TLS plaintext, and
    nothing of its ciphertext is."""
    ca = cert()[0]
    with TlsNatsServer() as ns:
        early = h.natsc(ns.url, '--tls-ca', ca, 'idle', 30, '--then-pub', 'tls.early',
                        'early-secret', stdin=True)
        early.wait_for('READY')
        with h.Trace(['-p', f'{ns.pid},{early.pid}']) as t:
            early.send('go')
            early.wait_for('PUBLISHED')
            early.wait_ok()
            time.sleep(0.3)
        recs = on_port(t, ns.port)
        pubs = [r for r in recs if r.get('op') == 'PUB' and r.get('pid') == early.pid]
        expect(len(pubs) == 1 and pubs[0].get('tls') is True and pubs[0].get('payload') == 'early-secret',
               'the PUB of a TLS connection older than the trace is recorded as TLS plaintext', dump(recs))
        tls_conns = {(r['pid'], r['conn']) for r in recs if r.get('tls')}
        bad = [r for r in recs if (r['pid'], r['conn']) in tls_conns and not r.get('tls')]
        expect(not bad, 'every record on its connection is TLS plaintext', dump(bad))
        # joined mid-stream: the parsers may resynchronise, never fail
        expect(t.end.get('parse_errors') == 0, 'no parse errors', h.short(t.end))

def perf_uprobe_count(pid):
    """Perf-event uprobes and uretprobes held by pid (bpftool perf show)."""
    out = subprocess.run([h.tool('bpftool'), 'perf', 'show', '-j'], stdout=subprocess.PIPE,
                         check=True, text=True).stdout
    return sum(1 for e in json.loads(out or '[]')
               if e.get('pid') == pid and e.get('fd_type') in ('uprobe', 'uretprobe'))


def multi_uprobes_here():
    r = subprocess.run([h.msgscope_path(), 'check'], stdout=subprocess.PIPE, text=True)
    return any(l.split()[:2] == ['uprobe_multi', 'yes'] for l in r.stdout.splitlines())


def test_https_nginx_curl():
    """nginx (OpenSSL, server) and curl (OpenSSL with its own BIO, client)."""
    h.require_tools(['bpftool'])
    with TlsNginx() as ng:
        with h.Trace(['-p', ng.pid]) as t:
            progs = h.loaded_prog_names()
            perf_uprobes = perf_uprobe_count(t.proc.pid)
            g = curl('-o', '/dev/null', ng.url + '/hello.txt')
            p = curl('-o', '/dev/null', '-d', 'x=1&y=2', ng.url + '/post')
            b = curl('-o', '/dev/null', ng.url + '/big.bin')
            # curl is not followed (-p nginx): trace a second one as a command
        with h.Trace([], cmd=['curl', '-sS', '--http1.1', '--cacert', cert()[0], '-o', '/dev/null',
                              ng.url + '/c.txt']) as tc:
            tc.wait_exit(20)
        recs = on_port(t, ng.port)
        everything = dump(recs)
        reqs = [r for r in recs if r.get('kind') == 'request']
        resps = [r for r in recs if r.get('kind') == 'response']
        expect(len(reqs) == 3 and len(resps) == 3, 'nginx: 3 requests, 3 responses', everything)
        expect(all(r.get('tls') and r['role'] == 'server' and r['local'] == f'127.0.0.1:{ng.port}'
                   for r in recs), 'nginx: every record is TLS plaintext on the listening port', everything)
        by_path = {r['path']: r for r in reqs}
        expect(by_path.get('/hello.txt', {}).get('method') == 'GET' and by_path['/hello.txt']['dir'] == 'recv',
               'nginx: GET /hello.txt received', everything)
        expect(by_path.get('/post', {}).get('method') == 'POST' and by_path['/post'].get('body') == 'x=1&y=2',
               'nginx: POST /post with its body', everything)
        statuses = sorted(r['status'] for r in resps)
        expect(statuses == [200, 200, 200], 'nginx: three 200 responses', everything)
        big = [r for r in resps if r.get('size') == h.BIG_SIZE]
        expect(len(big) == 1 and big[0]['dir'] == 'send', 'nginx: 200 KiB body sent, full size counted',
               everything)
        expect(all(r['pid'] in ng.worker_pids() for r in recs), 'nginx: records from the worker process',
               everything)
        check_clean(t, recs, 'nginx')

        crecs = on_port(tc, ng.port)
        creq = [r for r in crecs if r.get('kind') == 'request']
        cresp = [r for r in crecs if r.get('kind') == 'response']
        expect(len(creq) == 1 and creq[0].get('tls') and creq[0]['comm'] == 'curl' and creq[0]['dir'] == 'send'
               and creq[0]['method'] == 'GET' and creq[0]['path'] == '/c.txt' and creq[0]['role'] == 'client',
               'curl: GET /c.txt sent as TLS plaintext', dump(crecs))
        expect(len(cresp) == 1 and cresp[0].get('tls') and cresp[0]['status'] == 200
               and cresp[0]['size'] == 3334 and cresp[0]['conn'] == creq[0]['conn'],
               'curl: 200 response with its size, same connection', dump(crecs))
        check_clean(tc, crecs, 'curl')
    # How the OpenSSL functions are probed: one multi-uprobe link per program
    # (Linux >= 6.6), or one perf-event uprobe per function and kind.
    if os.environ.get('MSGSCOPE_NO_UPROBE_MULTI') or not multi_uprobes_here():
        expect(perf_uprobes >= 14 and 'ssl_write_enter' in progs and 'ssl_any_enter' not in progs,
               f'one perf-event uprobe per function: {perf_uprobes}', sorted(progs))
    else:
        expect(perf_uprobes == 0 and 'ssl_any_enter' in progs and 'ssl_write_enter' not in progs,
               f'multi-uprobe links, one program for every entry: {perf_uprobes} perf-event uprobes',
               sorted(progs))
    # Which syscall hooks told which sockets are TLS (bpf/tls_state.bpf.h).
    if os.environ.get('MSGSCOPE_ENTER_HOOKS'):
        expect('tls_enter_write' in progs, 'the TLS side\'s own sys_enter hooks are loaded', sorted(progs))
    elif tuple(int(x) for x in os.uname().release.split('.')[:2]) >= (5, 15):
        expect('tls_enter_write' not in progs and
               {'on_sock_send', 'on_sys_exit', 'exit_write'} & progs,
               'from 5.15 capture\'s exit hooks do it: no TLS sys_enter hooks', sorted(progs))


def test_https_on_enter_hooks_path():
    """Kernels before 5.15 (no bpf_task_pt_regs): the TLS side's own
    sys_enter hooks bind sockets to SSL calls and spot hellos, before
    capture's exit decides. MSGSCOPE_ENTER_HOOKS=1 forces that path here;
    the same HTTPS exchanges must come out the same."""
    with h.env(MSGSCOPE_ENTER_HOOKS='1'):
        test_https_nginx_curl()


def test_https_on_per_function_uprobes():
    """Kernels before 6.6 (no multi-uprobe links): a perf-event uprobe per
    OpenSSL function and kind, and per Go function entry and RET, each with
    its own program. MSGSCOPE_NO_UPROBE_MULTI=1 forces that path here; the
    same HTTPS exchanges must come out the same."""
    with h.env(MSGSCOPE_NO_UPROBE_MULTI='1'):
        test_https_nginx_curl()
        test_go_https_client()


_LATE_PY = r'''
import socket, sys, time
sys.stdout.write("STARTED\n"); sys.stdout.flush()
sys.stdin.readline()              # msgscope is running now
import ssl                        # dlopen: _ssl -> libssl, mapped only now
time.sleep(float(sys.argv[3]))
ctx = ssl.create_default_context(cafile=sys.argv[1])
with socket.create_connection(("127.0.0.1", int(sys.argv[2]))) as s:
    with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
        t.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: late\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            b = t.recv(65536)
            if not b:
                break
            data += b
print(data.split(b"\r\n")[0].decode())
'''


def _libssl_system():
    for p in ('/usr/lib/x86_64-linux-gnu/libssl.so.3', '/lib/x86_64-linux-gnu/libssl.so.3',
              '/usr/lib64/libssl.so.3'):
        if os.path.exists(p):
            return p
    found = glob.glob('/usr/lib*/**/libssl.so.3', recursive=True)
    return found[0] if found else None


def test_libssl_loaded_later():
    """Processes running before msgscope that load libssl only afterwards:
    the system's libssl (probed at start-up) and a private copy (probed when
    the mmap notification names it). The notification comes from the mm's
    unlock where `msgscope check` finds that tracepoint, else from mmap(2)'s
    exit (forced with MSGSCOPE_MMAP_EXIT=1): both are run."""
    lib = _libssl_system()
    if not lib:
        raise h.Unavailable('no libssl.so.3 found')
    unlock = h.feature_here('mmap_lock tracepoint')
    for env, hook in (({}, 'on_mmap_unlock' if unlock else 'exit_mmap'),
                      ({'MSGSCOPE_MMAP_EXIT': '1'}, 'exit_mmap')):
        with h.env(**env):
            libssl_loaded_later(lib, hook)


def libssl_loaded_later(lib, hook):
    d = h.mkdtemp('msgscope-tls-late-')
    script = os.path.join(d, 'late.py')
    with open(script, 'w') as f:
        f.write(_LATE_PY)
    priv = os.path.join(d, 'lib')
    os.makedirs(priv)
    shutil.copy(lib, os.path.join(priv, 'libssl.so.3'))
    ca = cert()[0]
    with TlsNginx() as ng:
        # The private copy gets a head start of 0.5 s after dlopen(): the
        # uprobes land a few ms after the mmap (see tls_attach.h).
        sys_py = h.spawn([sys.executable, script, ca, ng.port, '0'], stdin=True)
        priv_py = h.spawn([sys.executable, script, ca, ng.port, '0.5'], stdin=True,
                          env={'LD_LIBRARY_PATH': priv})
        for p in (sys_py, priv_py):
            p.wait_for('STARTED')
            with open(f'/proc/{p.pid}/maps') as f:
                expect('libssl' not in f.read(), f'pid {p.pid}: no libssl mapped before msgscope starts')
        with h.Trace(['-p', f'{sys_py.pid},{priv_py.pid}']) as t:
            progs = h.loaded_prog_names()
            expect(hook in progs and not {'on_mmap_unlock', 'exit_mmap'} - {hook} & progs,
                   f'the libssl watch on {hook} alone', sorted(progs))
            for p in (sys_py, priv_py):
                p.send('go')
            for p in (sys_py, priv_py):
                p.wait_ok(20)
                expect('200 OK' in p.stdout, f'pid {p.pid}: HTTPS request succeeded', p.describe())
        for p, what in ((sys_py, 'system libssl'), (priv_py, 'private libssl copy')):
            recs = [r for r in t.http() if r['pid'] == p.pid]
            req = [r for r in recs if r.get('kind') == 'request']
            resp = [r for r in recs if r.get('kind') == 'response']
            expect(len(req) == 1 and req[0].get('tls') and req[0]['path'] == '/hello.txt'
                   and h.header(req[0], 'Host') == 'late',
                   f'{what}: request captured as TLS plaintext', dump(t.messages()))
            expect(len(resp) == 1 and resp[0].get('tls') and resp[0]['status'] == 200,
                   f'{what}: response captured as TLS plaintext', dump(t.messages()))
        check_clean(t, t.messages(), 'late libssl')


_GO_CLIENT = r'''
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	// msgscope probes a new executable a few ms after its exec.
	time.Sleep(500 * time.Millisecond)
	pem, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
	c := &http.Client{Transport: tr}
	for _, u := range os.Args[2:] {
		r, err := c.Get(u)
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		fmt.Printf("%d %d\n", r.StatusCode, len(b))
	}
}
'''


def _go_tool():
    for c in [shutil.which('go')] + sorted(glob.glob('/usr/lib/go-1.*/bin/go'), reverse=True):
        if c and os.access(c, os.X_OK):
            return c
    return None


def test_go_https_client():
    """A Go HTTPS client built here: with symbols, and stripped (names from
    .gopclntab); E2E_GO_PIE=1 adds a PIE build. Skipped without a Go
    toolchain, except in CI, where that fails."""
    go = _go_tool()
    if not go:
        # scripts/deps.sh installs golang-go: in CI a missing toolchain is a
        # broken set-up, not a reason to pass.
        assert not h.in_ci(), 'no Go toolchain in CI (scripts/deps.sh installs golang-go)'
        h.log('  skipped: no Go toolchain (apt-get install golang-go)')
        return
    d = h.mkdtemp('msgscope-tls-go-')
    with open(os.path.join(d, 'main.go'), 'w') as f:
        f.write(_GO_CLIENT)
    # A cache that outlives the test: the first build compiles crypto/tls
    # and net/http, a minute on two cores.
    env = dict(os.environ, GOCACHE='/var/tmp/msgscope-e2e-gocache', GOPATH=os.path.join(d, 'gopath'),
               GO111MODULE='off', CGO_ENABLED='0', GOFLAGS='')
    builds = {'plain': [], 'stripped': ['-ldflags=-s -w']}
    if os.environ.get('E2E_GO_PIE'):
        builds['pie'] = ['-buildmode=pie']  # another full std build
    bins = {}
    for name, flags in builds.items():
        # Anyone may name an executable with escape sequences; msgscope -v
        # prints its path: the terminal must not get them.
        out = os.path.join(d, 'goget-' + name + ('\x1b]2;pwned\x07' if name == 'stripped' else ''))
        r = subprocess.run([go, 'build'] + flags + ['-o', out, 'main.go'], cwd=d, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        expect(r.returncode == 0, f'go build {name}', r.stdout.decode('utf-8', 'replace'))
        bins[name] = out
    with TlsNginx() as ng:
        for name, exe in bins.items():
            with h.Trace(['-v'], cmd=[exe, cert()[0], ng.url + '/hello.txt', ng.url + '/b.txt']) as t:
                t.wait_exit(30)
            recs = on_port(t, ng.port)
            req = [r for r in recs if r.get('kind') == 'request']
            resp = [r for r in recs if r.get('kind') == 'response']
            expect(len(req) == 2 and all(r.get('tls') and r['dir'] == 'send' and r['method'] == 'GET'
                                         for r in req)
                   and [r['path'] for r in req] == ['/hello.txt', '/b.txt'],
                   f'Go client ({name}): 2 GET requests as TLS plaintext', dump(recs) + '\n' + t.stderr)
            expect(len(resp) == 2 and all(r.get('tls') and r['status'] == 200 for r in resp)
                   and sorted(r['size'] for r in resp) == [13, 223],
                   f'Go client ({name}): 2 responses with sizes', dump(recs))
            check_clean(t, recs, f'Go client ({name})')
            expect('\x1b' not in t.stderr and '\x07' not in t.stderr and
                   'Go crypto/tls probes on ' in t.stderr and
                   ('/' + os.path.basename(exe).replace('\x1b', '?').replace('\x07', '?') + ' (go') in t.stderr,
                   f'Go client ({name}): -v names the executable, control characters shown as ?', repr(t.stderr[-600:]))


def test_ciphertext_never_parsed():
    """TLS probes off, ports forced to NATS and HTTP: the socket hooks ship
    handshake ciphertext, and none of it becomes a record."""
    natsc = h.natsc_path()
    ca = cert()[0]
    with h.env(MSGSCOPE_NO_TLS='1'):
        with TlsNatsServer() as ns, TlsNginx() as ng:
            sh = h.spawn(['/bin/sh', '-c',
                          f'read go; {natsc} -s {ns.url} --tls-ca {ca} pub tls.x "p" 3 && '
                          f'curl -sS --http1.1 --cacert {ca} -o /dev/null {ng.url}/hello.txt'],
                         stdin=True)
            with h.Trace(['-p', f'{ns.pid},{ng.pid},{sh.pid}', '-P', f'{ns.port}:nats',
                          '-P', f'{ng.port}:http']) as t:
                sh.send('go')
                sh.wait_ok(30)
    nrecs = on_port(t, ns.port)
    expect(all(r.get('op') == 'INFO' for r in nrecs) and len(nrecs) >= 1,
           'NATS: only the clear INFO, nothing from the ciphertext after it', dump(nrecs))
    expect(not any(r.get('tls') for r in t.messages()), 'no TLS plaintext with the probes off')
    hrecs = on_port(t, ng.port)
    expect(not hrecs, 'HTTPS: no record at all from ciphertext', dump(hrecs))
    expect(t.end.get('parse_errors') == 0, 'no parse errors from ciphertext', h.short(t.end))


# A client that speaks NATS in the clear, then writes a TLS ClientHello
# through a stack msgscope does not hook (plain send() here), then more.
SNIFF_CLIENT = r"""
import socket, sys
sys.stdin.readline()
for hello in (True, False):
    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
    s.recv(4096)                      # INFO, in the clear
    subject = 'sniff.after' if hello else 'sniff.control'
    s.send(b'CONNECT {}\r\n')
    if hello:
        s.send(b'\x16\x03\x01\x00\x2f\x01' + b'\x00' * 47)
    s.send(b'PUB ' + subject.encode() + b' 1\r\nX\r\n')
    s.recv(16)                        # the server's goodbye
    s.close()
print('done', flush=True)
"""


def sniff_run(extra=()):
    """SNIFF_CLIENT against a server of ours that says INFO; the client
    traced with -v. Returns the Trace."""
    import socket as so
    ls = so.socket()
    ls.bind(('127.0.0.1', 0))
    ls.listen(4)
    port = ls.getsockname()[1]
    cl = h.spawn([sys.executable, '-c', SNIFF_CLIENT, str(port)], stdin=True)
    with h.Trace(['-p', cl.pid, '-v'] + list(extra)) as t:
        cl.send('go')
        for _ in range(2):
            c, _ = ls.accept()
            c.sendall(b'INFO {"server_id":"sniff"}\r\n')
            c.settimeout(10)
            got = b''
            while b'X\r\n' not in got:
                more = c.recv(4096)
                if not more:
                    break
                got += more
            c.sendall(b'-ERR bye\r\n')
            c.close()
        cl.wait_ok(20)
    ls.close()
    return t


def test_hello_marks_an_unhooked_tls_stack():
    """A TLS hello written on a connection already known as NATS marks it as
    TLS: what follows is not shipped (it would be ciphertext). The hello is
    found in the copy of the send (the shipping path), not a read of its own;
    with a snaplen too short to hold it, by a read of its own."""
    t = sniff_run()
    pubs = [r for r in t.messages() if r.get('type') == 'nats' and r.get('op') == 'PUB']
    expect([r.get('subject') for r in pubs] == ['sniff.control'],
           'the PUB after the hello is not shipped; the one on the clear connection is', dump(t.messages()))
    expect('sockets marked TLS by their hello: 1' in t.stderr,
           '-v counts the one socket marked by its hello', t.stderr[-800:])
    t = sniff_run(['--snaplen', 4])
    expect('sockets marked TLS by their hello: 1' in t.stderr,
           '--snaplen 4 (a copy shorter than a hello): the socket is still marked', t.stderr[-800:])

if __name__ == '__main__':
    h.main([test_nats_tls_client_and_server, test_nats_tls_paired,
            test_nats_tls_client_connected_before_trace,
            test_https_nginx_curl, test_https_on_enter_hooks_path, test_https_on_per_function_uprobes,
            test_libssl_loaded_later,
            test_go_https_client, test_ciphertext_never_parsed,
            test_hello_marks_an_unhooked_tls_stack],
           needs=['nats-server', 'nginx', 'curl', 'openssl'])
