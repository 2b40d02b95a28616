#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end: msgscope captures HTTP/1.x between real servers (nginx,
python3 -m http.server) and real clients (curl, python http.client/urllib,
a raw socket for pipelining).

Exit 0 = pass, 1 = fail, 77 = skipped (no root/BPF/binary; fails when CI=true).
Run one test: test_http_capture.py test_keepalive
"""
import http.client
import os
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import expect, dump  # noqa: E402

SNAPLEN = 4096


def curl(*args):
    """Run curl to completion (silent, errors shown); returns the Proc."""
    return h.run(['curl', '-sS'] + [str(a) for a in args])


def listening():
    """A TCP socket listening on 127.0.0.1 at a free port: (socket, port)."""
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen(4)
    return s, s.getsockname()[1]


def serve_once(srv, handle):
    """Accept one connection on srv in a thread, run handle(conn), close it.
    Returns the thread."""
    def run():
        c = srv.accept()[0]
        try:
            handle(c)
        finally:
            c.close()
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th


def wait_in_file(path, *parts, timeout=5.0):
    """Whether a line of the file at path holds every one of parts within
    timeout seconds (a running trace's file, flushed every tick)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(path, 'rb') as f:
            if any(all(p.encode() in line for p in parts) for line in f):
                return True
        time.sleep(0.1)
    return False


def nginx_side(t, ng, **crit):
    """Records on nginx's listening socket (the server side)."""
    return t.http(local=f'127.0.0.1:{ng.port}', **crit)


def test_nginx_get_post():
    post_data = 'name=msgscope&lang=C&n=42'
    with h.Nginx() as ng:
        with h.Trace(h.scope(*ng.all_pids()) + ['--port', ng.port_arg]) as t:
            workers = ng.worker_pids()
            g = curl('-o', '/dev/null', ng.url + '/hello.txt')
            p = curl('-o', '/dev/null', '-d', post_data, ng.url + '/echo')
        everything = dump(t.messages())

        req = t.http(kind='request', pid=g.pid)
        resp = t.http(kind='response', pid=g.pid)
        expect(len(req) == 1 and len(resp) == 1, 'curl GET: one request and one response record', everything)
        r = req[0]
        expect(r.get('method') == 'GET' and r.get('path') == '/hello.txt' and r.get('version') == 'HTTP/1.1',
               'GET request: method, path, version', h.short(r))
        expect(r.get('dir') == 'send' and r.get('comm') == 'curl' and r.get('role') == 'client',
               'GET request: dir=send, comm=curl, role=client', h.short(r))
        expect(r.get('peer') == f'127.0.0.1:{ng.port}', 'GET request: peer is nginx', h.short(r))
        expect(h.header(r, 'Host') == f'127.0.0.1:{ng.port}', 'GET request: Host header', h.short(r))
        expect(r.get('size') == 0 and 'body' not in r, 'GET request: no body, size 0', h.short(r))
        s = resp[0]
        expect(s.get('status') == 200 and s.get('reason') == 'OK' and s.get('dir') == 'recv',
               'GET response: 200 OK, dir=recv', h.short(s))
        expect(s.get('size') == 13 and s.get('body') == 'hello, world\n', 'GET response: body and size', h.short(s))
        expect(s.get('conn') == r.get('conn'), 'GET request and response on one conn')

        sr = nginx_side(t, ng, kind='request', path='/hello.txt')
        expect(len(sr) == 1 and sr[0].get('dir') == 'recv' and sr[0].get('role') == 'server'
               and sr[0].get('pid') in workers,
               'nginx worker side: request recv, role=server', dump(sr) + f' workers={workers}')
        ss = nginx_side(t, ng, kind='response', conn=sr[0]['conn'])
        expect(len(ss) == 1 and ss[0].get('dir') == 'send' and ss[0].get('status') == 200
               and ss[0].get('body') == 'hello, world\n',
               'nginx worker side: response send with body', dump(ss))

        preq = t.http(kind='request', pid=p.pid)
        presp = t.http(kind='response', pid=p.pid)
        expect(len(preq) == 1 and len(presp) == 1, 'curl POST: one request and one response', everything)
        r = preq[0]
        expect(r.get('method') == 'POST' and r.get('path') == '/echo', 'POST request: method and path', h.short(r))
        expect(r.get('body') == post_data and r.get('size') == len(post_data),
               'POST request: body and size', h.short(r))
        expect(h.header(r, 'Content-Length') == str(len(post_data)), 'POST request: Content-Length header',
               h.short(r))
        expect(presp[0].get('status') == 200 and presp[0].get('body') == post_data,
               'POST response: 200 with the echoed body', h.short(presp[0]))
        sp = nginx_side(t, ng, kind='request', method='POST')
        expect(len(sp) == 1 and sp[0].get('body') == post_data, 'nginx side: POST body received', dump(sp))


def test_big_body_then_next():
    with h.Nginx() as ng:
        with h.Trace(h.scope(*ng.all_pids()) + ['--port', ng.port_arg, '--snaplen', SNAPLEN]) as t:
            c = curl('-o', '/dev/null', '-o', '/dev/null', ng.url + '/big.bin', ng.url + '/hello.txt')
        resp = t.http(kind='response', pid=c.pid)
        expect(len(resp) == 2, 'two responses on the curl side', dump(t.messages()))
        big, nxt = resp
        expect(big.get('size') == h.BIG_SIZE and big.get('truncated') is True,
               f'200 KB response: size {h.BIG_SIZE}, truncated', h.short(big))
        body = big.get('body') or ''
        expect(0 < len(body) <= SNAPLEN, f'200 KB response: 0 < captured body <= snaplen ({SNAPLEN})',
               f'len {len(body)}')
        expect(ng.files['/big.bin'].decode().startswith(body), 'captured body is the file prefix', body[:60])
        expect(nxt.get('status') == 200 and nxt.get('body') == 'hello, world\n' and not nxt.get('truncated'),
               'the next response on the connection is parsed', h.short(nxt))
        expect(nxt.get('conn') == big.get('conn'), 'both on one keep-alive conn')
        sresp = nginx_side(t, ng, kind='response')
        expect(len(sresp) == 2 and sresp[0].get('size') == h.BIG_SIZE and sresp[1].get('size') == 13,
               'nginx side: both responses with right sizes', dump(sresp))


def test_keepalive():
    paths = ['/a.txt', '/b.txt', '/c.txt']
    with h.Nginx() as ng:
        with h.Trace(h.scope(*ng.all_pids()) + ['--port', ng.port_arg]) as t:
            args = []
            for p in paths:
                args += ['-o', '/dev/null']
            c = curl('-w', '%{num_connects}\\n', *args, *[ng.url + p for p in paths])
            # python http.client, one persistent connection, in this process
            conn = http.client.HTTPConnection('127.0.0.1', ng.port, timeout=10)
            for p in paths:
                conn.request('GET', p)
                r = conn.getresponse()
                r.read()
                assert r.status == 200, f'{p}: {r.status}'
            local = '%s:%d' % conn.sock.getsockname()
            conn.close()
        expect(c.stdout.split() == ['1', '0', '0'], 'curl reused one connection (num_connects 1,0,0)', c.stdout)
        sizes = [len(ng.files[p]) for p in paths]
        for who, crit in (('curl', {'pid': c.pid}), ('python http.client', {'pid': os.getpid(), 'local': local})):
            req = t.http(kind='request', **crit)
            resp = t.http(kind='response', **crit)
            expect([r.get('path') for r in req] == paths, f'{who}: 3 requests in order', dump(req))
            expect([r.get('size') for r in resp] == sizes and all(r.get('status') == 200 for r in resp),
                   f'{who}: 3 responses in order with sizes {sizes}', dump(resp))
            conns = {r.get('conn') for r in req + resp}
            expect(len(conns) == 1, f'{who}: all on the same conn id', str(conns))
        sreq = nginx_side(t, ng, kind='request')
        expect(len(sreq) == 6 and len({r['conn'] for r in sreq}) == 2,
               'nginx side: 6 requests on 2 connections', dump(sreq))


def test_pipelining():
    paths = ['/a.txt', '/b.txt', '/c.txt']
    with h.Nginx() as ng:
        host = f'127.0.0.1:{ng.port}'
        reqs = b''
        for i, p in enumerate(paths):
            last = i == len(paths) - 1
            reqs += (f'GET {p} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: e2e-pipeline\r\n'
                     + ('Connection: close\r\n' if last else '') + '\r\n').encode()
        with h.Trace(h.scope(*ng.all_pids()) + ['--port', ng.port_arg]) as t:
            s = socket.create_connection(('127.0.0.1', ng.port), timeout=10)
            local = '%s:%d' % s.getsockname()
            s.sendall(reqs)            # all three requests in one write
            data = b''
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
        expect(data.count(b'HTTP/1.1 200 OK') == 3, 'nginx answered the 3 pipelined requests', data[:200])
        sizes = [len(ng.files[p]) for p in paths]
        mine = t.http(pid=os.getpid(), local=local)
        kinds = [r.get('kind') for r in mine]
        expect(kinds == ['request'] * 3 + ['response'] * 3,
               'client side: 3 request records then 3 response records', dump(mine))
        expect([r.get('path') for r in mine[:3]] == paths, 'client side: requests in order', dump(mine[:3]))
        expect([r.get('size') for r in mine[3:]] == sizes and all(r.get('status') == 200 for r in mine[3:]),
               'client side: responses in order (sizes %s)' % sizes, dump(mine[3:]))
        expect(len({r.get('conn') for r in mine}) == 1, 'client side: one conn id')
        expect(mine[0].get('ts') <= mine[1].get('ts') <= mine[2].get('ts'), 'request ts ordered')
        srv = nginx_side(t, ng, peer=local)
        sreq = [r for r in srv if r.get('kind') == 'request']
        sresp = [r for r in srv if r.get('kind') == 'response']
        expect([r.get('path') for r in sreq] == paths and [r.get('size') for r in sresp] == sizes,
               'nginx side: 3 requests and 3 responses in order', dump(srv))


def test_chunked_response():
    with h.Nginx() as ng:
        h.verify_chunked(ng.url + '/chunked')
        h.log('  ok: curl -v shows Transfer-Encoding: chunked from nginx /chunked')
        with h.Trace(h.scope(*ng.all_pids()) + ['--port', ng.port_arg]) as t:
            c = curl(ng.url + '/chunked')
        expect(c.stdout + '\n' == h.CHUNKED_BODY, 'curl got the de-chunked body')
        resp = t.http(kind='response', pid=c.pid)
        expect(len(resp) == 1, 'one response record on the curl side', dump(t.messages()))
        r = resp[0]
        expect(r.get('chunked') is True, 'response chunked: true', h.short(r))
        expect(h.header(r, 'Transfer-Encoding') == 'chunked', 'Transfer-Encoding header kept', h.short(r))
        expect(r.get('body') == h.CHUNKED_BODY, 'body is de-chunked (no chunk-size lines)', repr(r.get('body')))
        expect(r.get('size') == len(h.CHUNKED_BODY), f'size == {len(h.CHUNKED_BODY)} (de-chunked length)',
               h.short(r))
        expect(not r.get('truncated'), 'not truncated', h.short(r))
        sresp = nginx_side(t, ng, kind='response')
        expect(len(sresp) == 1 and sresp[0].get('chunked') is True and sresp[0].get('body') == h.CHUNKED_BODY,
               'nginx side: chunked response, de-chunked body', dump(sresp))


AUTH_SECRET = 'Bearer AuthSecret-91c2e7'
PROXY_SECRET = 'Basic ProxySecret-55ab1f'
COOKIE_SECRET = 'session=CookieSecret-0d3e88'


def test_secret_headers_redacted():
    hdrs = ['-H', f'Authorization: {AUTH_SECRET}', '-H', f'Proxy-Authorization: {PROXY_SECRET}',
            '-H', f'Cookie: {COOKIE_SECRET}']
    secrets = [AUTH_SECRET, PROXY_SECRET, COOKIE_SECRET, h.SET_COOKIE_SECRET]
    with h.Nginx() as ng:
        with h.Trace(h.scope(*ng.all_pids()) + ['--port', ng.port_arg]) as t:
            c = curl('-o', '/dev/null', *hdrs, ng.url + '/setcookie')
        req = t.http(kind='request', pid=c.pid)
        resp = t.http(kind='response', pid=c.pid)
        expect(len(req) == 1 and len(resp) == 1, 'request and response captured', dump(t.messages()))
        for name in ('Authorization', 'Proxy-Authorization', 'Cookie'):
            expect(h.header(req[0], name) == h.REDACTED, f'request {name} is "[REDACTED]"', h.short(req[0]))
        expect(str(h.header(req[0], 'User-Agent')).startswith('curl/'), 'other headers kept (User-Agent)', h.short(req[0]))
        expect(h.header(resp[0], 'Set-Cookie') == h.REDACTED, 'response Set-Cookie is "[REDACTED]"',
               h.short(resp[0]))
        for s in secrets:
            expect(s.split()[-1].split('=')[-1] not in t.raw, f'secret {s!r} appears nowhere in the trace')

        with h.Trace(h.scope(*ng.all_pids()) + ['--port', ng.port_arg, '--show-secrets']) as t2:
            c = curl('-o', '/dev/null', *hdrs, ng.url + '/setcookie')
        req = t2.http(kind='request', pid=c.pid)
        resp = t2.http(kind='response', pid=c.pid)
        expect(len(req) == 1 and h.header(req[0], 'Authorization') == AUTH_SECRET
               and h.header(req[0], 'Cookie') == COOKIE_SECRET,
               'with --show-secrets: Authorization and Cookie visible', dump(req))
        expect(len(resp) == 1 and h.SET_COOKIE_SECRET in str(h.header(resp[0], 'Set-Cookie')),
               'with --show-secrets: Set-Cookie visible', dump(resp))


# Closes a connection the peer keeps open (the socket stays in FIN_WAIT2),
# then makes another on the same fd number.
FD_REUSE_CLIENT = r"""
import socket, sys
silent, http_port = int(sys.argv[1]), int(sys.argv[2])
a = socket.create_connection(('127.0.0.1', silent))
fd = a.fileno()
a.sendall(b'GET /first HTTP/1.1\r\nHost: silent\r\n\r\n')
a.close()
b = socket.create_connection(('127.0.0.1', http_port))
b.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n')
got = b.makefile('rb').read()
print('FDS', fd, b.fileno(), got.split(b'\r\n')[0].decode(), flush=True)
b.close()
"""


def test_fd_reused_before_close():
    """A client closes a connection whose peer never answers or closes (its
    socket lingers in FIN_WAIT2, so no TCP_CLOSE ends it yet), then opens
    another on the same fd number, whose struct file may sit at the freed
    one's address. The second connection is recorded as itself (its own
    peer and conn), not as the first."""
    silent, silent_port = listening()
    held = []
    try:
        with h.PyHttpServer() as py:
            with h.Trace(['--port', f'{silent_port}:http', '--port', py.port_arg]) as t:
                cli = h.spawn([sys.executable, '-c', FD_REUSE_CLIENT,
                               str(silent_port), str(py.port)])
                held.append(silent.accept()[0])
                cli.wait_for('FDS')
                cli.wait_ok()
            fds = cli.stdout.split()
            expect(fds[1] == fds[2] and '200' in cli.stdout,
                   'the second connection got the first one\'s fd, and its answer', cli.stdout)
            req = t.http(pid=cli.pid, kind='request')
            by_path = {r.get('path'): r for r in req}
            expect(sorted(by_path) == ['/first', '/hello.txt'], 'both requests recorded',
                   dump(t.messages()))
            first, second = by_path.get('/first', {}), by_path.get('/hello.txt', {})
            expect(first.get('peer') == f'127.0.0.1:{silent_port}'
                   and second.get('peer') == f'127.0.0.1:{py.port}',
                   'each request has its own connection\'s peer', dump(req))
            expect(first.get('conn') != second.get('conn'), 'two conns', dump(req))
            resp = t.http(pid=cli.pid, kind='response')
            expect(len(resp) == 1 and resp[0].get('status') == 200
                   and resp[0].get('conn') == second.get('conn')
                   and resp[0].get('peer') == f'127.0.0.1:{py.port}',
                   'the response is on the second connection', dump(resp))
    finally:
        for s in held + [silent]:
            s.close()


def test_body_until_close():
    """An HTTP/1.0 response without Content-Length ends where the server
    closes the connection: both ends' records are complete only once the
    close is seen (with the socket hooks, the socket's TCP_CLOSE)."""
    body = b'read until the server closes\n'
    srv, port = listening()

    def answer(c):
        while b'\r\n\r\n' not in c.recv(4096):
            pass
        c.sendall(b'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n' + body)

    try:
        with h.Trace(['--port', f'{port}:http']) as t:
            th = serve_once(srv, answer)
            g = curl('-o', '-', f'http://127.0.0.1:{port}/eof')
            th.join(10)
            expect(g.stdout.strip() == body.decode().strip(), 'curl read the body until the close', g.stdout)
        resp = t.http(kind='response')
        expect(sorted(r.get('dir') for r in resp) == ['recv', 'send'],
               'the response recorded at both ends', dump(t.messages()))
        expect(all(r.get('size') == len(body) and r.get('body') == body.decode() for r in resp),
               'each with the whole body, ended by the close', dump(resp))
    finally:
        srv.close()


# Sends a request, shuts down its side, and reads the answer only once its
# socket has reached TCP_CLOSE (the answer and the server's FIN came first).
HALF_CLOSE_CLIENT = r"""
import socket, struct, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(b'GET /half HTTP/1.1\r\nHost: h\r\n\r\n')
s.shutdown(socket.SHUT_WR)
for _ in range(100):
    state = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
    if state == 7:  # TCP_CLOSE
        break
    time.sleep(0.02)
got = s.makefile('rb').read()
print('STATE', state, got.split(b'\r\n')[0].decode(), flush=True)
s.close()
"""


def test_half_closed_client():
    """A client that shuts down its side and reads the answer only after
    the server's answer and FIN took its socket to TCP_CLOSE: the answer
    is still recorded on the client's connection, paired with its
    request (the connection ends at the read that finds the end)."""
    srv, port = listening()

    def answer(c):
        while c.recv(4096):    # the request, then the client's FIN
            pass
        c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello')

    try:
        with h.Trace(['--port', f'{port}:http']) as t:
            th = serve_once(srv, answer)
            cli = h.spawn([sys.executable, '-c', HALF_CLOSE_CLIENT, str(port)])
            cli.wait_for('STATE')
            cli.wait_ok()
            th.join(10)
        expect(cli.stdout.split()[1:3] == ['7', 'HTTP/1.1'],
               'the client read the answer with its socket in TCP_CLOSE', cli.stdout)
        req = t.http(pid=cli.pid, kind='request')
        resp = t.http(pid=cli.pid, kind='response')
        expect(len(req) == 1 and len(resp) == 1 and resp[0].get('status') == 200
               and resp[0].get('body') == 'hello', 'the client\'s request and answer recorded',
               dump(t.messages()))
        expect(req and resp and req[0].get('conn') == resp[0].get('conn'),
               'both on the client\'s one connection', dump(req + resp))
        ex = [r for r in t.records if r.get('type') == 'exchange'
              and (r.get('client') or {}).get('pid') == cli.pid]
        expect(len(ex) == 1 and ex[0].get('answered') and ex[0].get('status') == 200,
               'the exchange is answered', dump(t.records))
    finally:
        srv.close()


# A POST whose 10-byte body comes after its head has been read.
SPLIT_POST_HEAD = b'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n'


def read_head(c):
    """Read a request head from c a byte at a time: the body stays unread."""
    got = b''
    while not got.endswith(b'\r\n\r\n'):
        got += c.recv(1)
    return got


def post_in_two_parts(port, head_read):
    """Connect to port and send SPLIT_POST_HEAD, then its body once the
    server has set head_read. Returns the client's socket."""
    cli = socket.create_connection(('127.0.0.1', port))
    cli.sendall(SPLIT_POST_HEAD)
    head_read.wait(10)
    cli.sendall(b'0123456789')
    return cli


def test_closed_with_body_unread():
    """A server that answers from the head alone and closes without reading
    the body (python's http.server does this to a POST it does not handle,
    when the body comes in a later segment): the close resets the socket
    with bytes unread. The connection ends at that close, not at a read
    that will never come: the request is recorded, cut short, while the
    trace runs."""
    srv, port = listening()
    head_read, body_sent = threading.Event(), threading.Event()

    def answer_early(c):
        read_head(c)
        head_read.set()
        body_sent.wait(10)
        time.sleep(0.1)        # the body waits in the socket, unread
        c.sendall(b'HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n'
                  b'Connection: close\r\n\r\n')

    try:
        # -i 1: the file is flushed every second, so it can be read live
        with h.Trace(['-i', '1', '--port', f'{port}:http']) as t:
            th = serve_once(srv, answer_early)
            cli = post_in_two_parts(port, head_read)
            body_sent.set()
            th.join(10)
            try:
                answer = cli.recv(4096)
            except ConnectionResetError:
                answer = b''
            cli.close()
            # the server's request is written while the trace runs, not
            # by the flush of open connections at its end
            seen_live = wait_in_file(t.path, f'"local":"127.0.0.1:{port}"', '"kind":"request"')
        expect(b'413' in answer or answer == b'', 'the server answered from the head', repr(answer))
        req = t.http(local=f'127.0.0.1:{port}', kind='request')
        expect(seen_live and len(req) == 1, 'the server\'s request recorded before the trace ended',
               dump(t.messages()))
        expect(req and req[0].get('method') == 'POST' and req[0].get('truncated') is True,
               'a POST, cut short by the close', dump(req))
        resp = t.http(local=f'127.0.0.1:{port}', kind='response')
        expect(len(resp) == 1 and resp[0].get('status') == 413, 'the answer recorded', dump(resp))
    finally:
        srv.close()


def test_reset_with_body_unread():
    """The client resets the connection (SO_LINGER 0) with its request's
    body unread by the server: the server's socket reaches TCP_CLOSE while
    the server still holds it, with bytes left to read, so the connection
    waits for the read that finds the end. The server closes it without
    that read: the connection ends at the socket's release, and the
    request is recorded, cut short, while the trace runs."""
    srv, port = listening()
    head_read, reset_seen = threading.Event(), threading.Event()
    states = []

    def give_up_after_reset(c):
        read_head(c)
        head_read.set()
        for _ in range(250):   # until the reset has closed the socket
            states.append(c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0])
            if states[-1] == 7:  # TCP_CLOSE
                break
            time.sleep(0.02)
        reset_seen.set()
        # serve_once closes it, the body unread

    try:
        with h.Trace(['-i', '1', '--port', f'{port}:http']) as t:
            th = serve_once(srv, give_up_after_reset)
            cli = post_in_two_parts(port, head_read)
            time.sleep(0.1)      # the body is in the server's socket
            cli.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            cli.close()
            reset_seen.wait(10)
            th.join(10)
            seen_live = wait_in_file(t.path, f'"local":"127.0.0.1:{port}"', '"kind":"request"')
        expect(states and states[-1] == 7, 'the reset closed the server\'s socket before it let go',
               repr(states[-3:]))
        req = t.http(local=f'127.0.0.1:{port}', kind='request')
        expect(seen_live and len(req) == 1, 'the server\'s request recorded before the trace ended',
               dump(t.messages()))
        expect(req and req[0].get('method') == 'POST' and req[0].get('truncated') is True,
               'a POST, cut short', dump(req))
    finally:
        srv.close()


def test_python_http_server():
    post_data = b'{"from": "urllib", "n": 7}'
    with h.PyHttpServer() as py:
        srv_comm = h.read_comm(py.pid)
        my_comm = h.read_comm(os.getpid())
        with h.Trace(h.scope(py.pid) + ['--port', py.port_arg]) as t:
            with urllib.request.urlopen(py.url + '/hello.txt', timeout=10) as r:
                got = r.read()
                status = r.status
            try:
                urllib.request.urlopen(urllib.request.Request(
                    py.url + '/index.html', data=post_data,
                    headers={'Content-Type': 'application/json'}), timeout=10)
                post_status = 200
            except urllib.error.HTTPError as e:
                post_status = e.code
                e.read()
        expect(status == 200 and got == b'hello, world\n', 'urllib GET worked')
        expect(post_status == 501, 'python http.server answers POST with 501 (unsupported)', str(post_status))
        everything = dump(t.messages())

        cli = t.http(pid=os.getpid())
        creq = [r for r in cli if r.get('kind') == 'request']
        cresp = [r for r in cli if r.get('kind') == 'response']
        expect([r.get('method') for r in creq] == ['GET', 'POST'], 'client: GET and POST requests', everything)
        expect(all(r.get('dir') == 'send' and r.get('comm') == my_comm for r in creq),
               f'client requests: dir=send, comm={my_comm!r}', dump(creq))
        expect(creq[0].get('path') == '/hello.txt' and creq[1].get('path') == '/index.html', 'client: paths')
        expect(creq[1].get('body') == post_data.decode() and creq[1].get('size') == len(post_data),
               'client POST: body and size', h.short(creq[1]))
        expect([r.get('status') for r in cresp] == [200, 501], 'client: responses 200 then 501', dump(cresp))
        expect(cresp[0].get('body') == 'hello, world\n' and cresp[0].get('dir') == 'recv',
               'client GET response body', h.short(cresp[0]))

        srv = t.http(pid=py.pid)
        sreq = [r for r in srv if r.get('kind') == 'request']
        sresp = [r for r in srv if r.get('kind') == 'response']
        expect([r.get('method') for r in sreq] == ['GET', 'POST'] and all(r.get('dir') == 'recv' for r in sreq),
               'server: GET and POST received', everything)
        expect(all(r.get('comm') == srv_comm and r.get('role') == 'server' for r in srv),
               f'server records: comm={srv_comm!r}, role=server', dump(srv))
        # http.client sends the body after the head, and http.server answers
        # an unhandled POST without reading it: when the body came after the
        # server's read, the server never read it, and the record says so
        # (test_closed_with_body_unread makes that timing certain).
        expect(sreq[1].get('body') == post_data.decode() or
               (sreq[1].get('truncated') is True and not sreq[1].get('body')),
               'server: POST body, or cut short when the server did not read it', h.short(sreq[1]))
        expect([r.get('status') for r in sresp] == [200, 501] and all(r.get('dir') == 'send' for r in sresp),
               'server: responses 200, 501 sent', dump(sresp))
        expect(sresp[0].get('body') == 'hello, world\n', 'server: GET response body', h.short(sresp[0]))


def read_body(f):
    """Read an HTTP head from the file f, then as many body bytes as its
    Content-Length says (0 when it says nothing); returns the body."""
    length = 0
    while (line := f.readline()) not in (b'\r\n', b''):
        if line.lower().startswith(b'content-length:'):
            length = int(line.split(b':')[1])
    return f.read(length)


def test_vectored_writes():
    """Requests and responses written with sendmsg(), each spread over
    several iovecs (one empty): capture walks the iovec array. Both ends
    see every head and body whole, in order, for a 200-byte body and a
    3000-byte one; under a snaplen shorter than the write, the body is cut
    where the snaplen ends."""
    small = b'abcdefghij' * 20
    big = bytes(range(48, 58)) * 300
    post = b'0123456789' * 20
    srv, port = listening()

    def answer(c):
        f = c.makefile('rb')
        for body in (small, big, small):
            read_body(f)
            head = b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n' % len(body)
            c.sendmsg([head, b'', b'Content-Type: text/plain\r\n\r\n',
                       body[:50], body[50:]])

    def exchange(cli, path, body=b''):
        cli.sendmsg([b'POST %s HTTP/1.1\r\n' % path, b'Host: v\r\n', b'',
                     b'Content-Length: %d\r\n\r\n' % len(body), body])
        return read_body(cli.makefile('rb'))

    def run(extra):
        with h.Trace(extra + ['--port', f'{port}:http']) as t:
            th = serve_once(srv, answer)
            with socket.create_connection(('127.0.0.1', port)) as cli:
                got = [exchange(cli, b'/small', post), exchange(cli, b'/big'),
                       exchange(cli, b'/again', post)]
            th.join(10)
        expect(got == [small, big, small], 'the client read all three answers',
               repr([len(g) for g in got]))
        return t

    try:
        t = run([])
        for dir_, role in (('send', 'client'), ('recv', 'server')):
            req = t.http(kind='request', dir=dir_)
            expect([r.get('path') for r in req] == ['/small', '/big', '/again'] and
                   all(r.get('role') == role for r in req), f'requests {dir_}: three, in order',
                   dump(req))
            expect([r.get('body') for r in req] == [post.decode(), None, post.decode()] or
                   [r.get('body') or '' for r in req] == [post.decode(), '', post.decode()],
                   f'requests {dir_}: the bodies whole', dump(req))
        for dir_ in ('send', 'recv'):
            resp = t.http(kind='response', dir=dir_)
            expect([r.get('body') for r in resp] == [small.decode(), big.decode(), small.decode()] and
                   all(r.get('headers', {}).get('Content-Type') == 'text/plain' for r in resp) and
                   not any(r.get('truncated') for r in resp),
                   f'responses {dir_}: heads and bodies whole, in order', dump(resp))
        # 100 bytes a syscall: the first request's head (54 bytes) and the
        # first 46 of its body
        t = run(['--snaplen', 100])
        req = t.http(kind='request', path='/small', dir='send')
        expect(len(req) == 1 and req[0].get('size') == len(post) and
               req[0].get('truncated') is True and req[0].get('body') == post[:46].decode(),
               'snaplen 100: the body cut after its first 46 bytes', dump(req))
    finally:
        srv.close()


def test_pair_local_sendfile():
    """--pair-local on one keep-alive connection, curl and nginx both traced:
    each message recorded once, at its send, and the exchanges whole. What
    it gives up, as documented: a body nginx sends by sendfile is counted,
    not captured (curl's read of it, which had it, is left out)."""
    with h.Nginx() as ng:
        with h.Trace(h.scope(*ng.all_pids()) + ['--port', ng.port_arg, '--pair-local']) as t:
            c = curl('-w', '%{num_connects}\\n', '-o', '/dev/null', '-o', '/dev/null',
                     ng.url + '/hello.txt', ng.url + '/sf/hello.txt')
        expect(c.stdout.split() == ['1', '0'], 'curl reused one connection', c.stdout)
        creq = t.http(kind='request', pid=c.pid)
        expect([r.get('path') for r in creq] == ['/hello.txt', '/sf/hello.txt'] and
               all(r.get('dir') == 'send' for r in creq),
               'curl: both requests, as sends', dump(creq))
        expect(not t.http(pid=c.pid, dir='recv'), "curl's reads left out",
               dump(t.http(pid=c.pid, dir='recv')))
        sresp = nginx_side(t, ng, kind='response')
        expect(len(sresp) == 2 and all(r.get('peer_read') and r.get('status') == 200 for r in sresp),
               'nginx: two responses, sends marked peer_read', dump(sresp))
        expect(sresp[0].get('body') == 'hello, world\n' and not sresp[0].get('truncated'),
               'written body: captured', h.short(sresp[0]))
        expect(len(sresp) == 2 and sresp[1].get('size') == 13 and sresp[1].get('truncated') is True
               and 'body' not in sresp[1],
               'sendfile body: counted (size 13), not captured', dump(sresp))
        end = t.end
        expect(end.get('paired', 0) >= 1 and end.get('peer_reads', 0) >= 2 and end.get('cut_bytes', 0) >= 13,
               'end: paired, reads left out, the sendfile body in cut_bytes', h.short(end))
        ex = [r for r in t.select('exchange') if (r.get('client') or {}).get('pid') == c.pid]
        expect(sorted(r.get('path') for r in ex) == ['/hello.txt', '/sf/hello.txt'] and
               all(r.get('status') == 200 and r.get('answered') for r in ex),
               'two answered exchanges', dump(ex))


def keepalive_server(answer):
    """A handle for serve_once(): reads each HTTP request on the connection
    (no body) and has answer(conn, path) write the response."""
    def handle(c):
        buf = b''
        while True:
            d = c.recv(4096)
            if not d:
                return
            buf += d
            while b'\r\n\r\n' in buf:
                req, buf = buf.split(b'\r\n\r\n', 1)
                answer(c, req.split(b' ')[1])
    return handle


def splice_answer(c, path):
    """The head by send(), the body by splice(2) from a pipe into the socket."""
    body = b'spliced body of ' + path + b'\n'
    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n'
              b'Content-Length: %d\r\n\r\n' % len(body))
    r, w = os.pipe()
    try:
        os.write(w, body)
        os.close(w)
        w = None
        moved = 0
        while moved < len(body):
            moved += os.splice(r, c.fileno(), len(body) - moved)
    finally:
        os.close(r)
        if w is not None:
            os.close(w)

CAPTURE_PATHS = (('socket hooks', {}), ('raw sys_exit', {'MSGSCOPE_RAW_SYS_EXIT': '1'}))


def test_splice_body_counted():
    """Bytes a process moves into a traced socket by splice(2), which no hook
    reads the buffer of, are counted where they fall in the stream, so the
    parser does not take the bytes after them for theirs. Before, the first
    response's spliced body was missing from the server's stream: its body
    was recorded as the second response's head, and the second response
    was lost to a parse error. On the socket hooks the hook inside splice
    counts them; on the syscall hooks (kernels without those tracepoints)
    the socket's sequence numbers do, at the next call and at the close.
    With --pair-local the same bytes, lost to both ends, are counted for
    both."""
    paths = ['/one', '/two']
    bodies = [b'spliced body of %s\n' % p.encode() for p in paths]
    cases = [(label, env, []) for label, env in CAPTURE_PATHS] + \
        [('socket hooks --pair-local', {}, ['--pair-local'])]
    for mode, env, extra in cases:
        srv, port = listening()
        try:
            with h.env(**env), h.Trace(['--port', f'{port}:http'] + extra) as t:
                th = serve_once(srv, keepalive_server(splice_answer))
                c = curl('-w', '%{num_connects}\\n', *[f'http://127.0.0.1:{port}{p}' for p in paths])
                th.join(5)
        finally:
            srv.close()
        expect(c.stdout.split('\n') == [bodies[0].decode().strip(), '1', bodies[1].decode().strip(), '0'],
               f'{mode}: curl got both bodies on one connection', c.stdout)
        sresp = t.http(local=f'127.0.0.1:{port}', kind='response')
        expect(len(sresp) == 2 and all(r.get('status') == 200 for r in sresp),
               f'{mode}: the server sent two responses', dump(t.messages()))
        expect(all(r.get('size') == len(b) and r.get('truncated') is True and 'body' not in r
                   for r, b in zip(sresp, bodies)),
               f'{mode}: each spliced body counted (its size), not captured, not invented',
               dump(sresp))
        end = t.end
        expect(end.get('parse_errors') == 0 and end.get('cut_bytes', 0) >= sum(map(len, bodies)) and
               end.get('unseen_bytes') == sum(map(len, bodies)),
               f'{mode}: no parse error; the spliced bytes in cut_bytes, and exactly unseen_bytes',
               h.short(end))
        if not extra:
            cresp = t.http(pid=c.pid, kind='response')
            expect([r.get('body') for r in cresp] == [b.decode() for b in bodies],
                   f"{mode}: curl's reads recorded the bodies", dump(cresp))
        else:
            expect(all(r.get('peer_read') for r in sresp) and
                   end.get('peer_lost_bytes', 0) >= sum(map(len, bodies)),
                   f'{mode}: paired sends; the bodies lost to both ends, counted twice',
                   h.short(end))


def slow_body_answer(c, path):
    """The head, then after a pause the body, so that a reader can take
    them apart."""
    body = b'body of ' + path + b'\n'
    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n' % len(body))
    time.sleep(0.1)
    c.sendall(body)

SPLICE_READER = r'''
import os, socket, sys
port, plan = int(sys.argv[1]), sys.argv[2:]
s = socket.create_connection(("127.0.0.1", port))
for how in plan:                       # "s/path": body by splice(2); "r/path": by recv
    s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % how[1:].encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    head, body = head.split(b"\r\n\r\n", 1)
    n = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0]) - len(body)
    if how[0] == "s":
        r, w = os.pipe()
        while n:
            k = os.splice(s.fileno(), w, n)
            body += os.read(r, k)
            n -= k
        os.close(r); os.close(w)
    while n:
        d = s.recv(n)
        body += d
        n -= len(d)
    sys.stdout.write(body.decode())
s.close()
'''


def test_splice_read_counted():
    """Bytes a process takes out of a traced socket by splice(2) are read by
    tcp_read_sock(), which neither the syscall hooks nor the socket ones
    see: the socket's sequence numbers count them at the connection's next
    call. A reader that takes two of four response bodies by splice
    records those responses cut to their heads, the splice bytes in
    cut_bytes, and the others whole; before, the first body's bytes were
    missing and the next head was taken for it. (A last splice before a
    close the socket reaches by itself is not counted on the socket hooks:
    a reset is often processed inside a call whose own hook has yet to
    count its bytes.)"""
    paths = ['/one', '/two', '/three', '/four']
    plan = ['s/one', 'r/two', 's/three', 'r/four']
    bodies = ['body of %s\n' % p for p in paths]
    for mode, env in CAPTURE_PATHS:
        srv, port = listening()
        try:
            with h.env(**env), h.Trace(['--port', f'{port}:http']) as t:
                th = serve_once(srv, keepalive_server(slow_body_answer))
                c = h.run([sys.executable, '-c', SPLICE_READER, port] + plan)
                th.join(5)
        finally:
            srv.close()
        expect(c.stdout.split('\n') == [b.strip() for b in bodies],
               f'{mode}: the reader got the four bodies', c.stdout)
        cresp = t.http(pid=c.pid, kind='response')
        expect([(r.get('size'), r.get('body'), r.get('truncated')) for r in cresp] ==
               [(len(b), None, True) if how[0] == 's' else (len(b), b, None)
                for how, b in zip(plan, bodies)],
               f'{mode}: the spliced bodies counted, the read ones recorded', dump(cresp))
        end = t.end
        spliced = len(bodies[0]) + len(bodies[2])
        expect(end.get('cut_bytes') == spliced and end.get('unseen_bytes') == spliced and
               end.get('parse_errors') == 0,
               f'{mode}: the spliced bytes, exactly, in cut_bytes and unseen_bytes', h.short(end))


def plain_answer(c, path):
    """The response by one send(), its body naming the path asked for."""
    body = b'body of ' + path + b'\n'
    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s' % (len(body), body))


def test_io_uring_counted():
    """A client sends and reads some of its messages through io_uring, inline
    and in io_uring's worker threads (the rest by write and read on the
    same socket): no syscall hook sees those. The socket hooks count them
    as they move, the syscall hooks by the socket's sequence numbers. The
    client records what it moved by syscalls, what went through the ring
    is exactly cut_bytes, not silently missing; the server, on plain
    syscalls, records all five exchanges."""
    paths = ['/one', '/two', '/three', '/four', '/five']
    hows = ['wr', 'ur', 'wu', 'ar', 'wa']   # uring_get.c: w/r syscall, u inline, a worker
    bodies = ['body of %s\n' % p for p in paths]
    ring_bytes = sum(len('GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' % p)
                     for w, p in zip(hows, paths) if w[0] != 'w') + \
        sum(len('HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s' % (len(b), b))
            for w, b in zip(hows, bodies) if w[1] != 'r')
    for mode, env in CAPTURE_PATHS:
        srv, port = listening()
        try:
            with h.env(**env), h.Trace(['--port', f'{port}:http']) as t:
                th = serve_once(srv, keepalive_server(plain_answer))
                c = h.run([h.uring_get_path(), port] + [w + p for w, p in zip(hows, paths)])
                th.join(5)
        finally:
            srv.close()
        expect(c.stdout.split('\n') == [b.strip() for b in bodies],
               f'{mode}: uring_get got the five answers', c.stdout)
        sreq = t.http(local=f'127.0.0.1:{port}', kind='request')
        sresp = t.http(local=f'127.0.0.1:{port}', kind='response')
        expect([r.get('path') for r in sreq] == paths and [r.get('body') for r in sresp] == bodies,
               f'{mode}: the server recorded the five exchanges', dump(t.messages()))
        creq = t.http(pid=c.pid, kind='request')
        cresp = t.http(pid=c.pid, kind='response')
        expect([r.get('path') for r in creq] == [p for w, p in zip(hows, paths) if w[0] == 'w'],
               f"{mode}: the client's requests sent by write(2), not those through io_uring",
               dump(creq))
        expect([r.get('body') for r in cresp] == [b for w, b in zip(hows, bodies) if w[1] == 'r'],
               f"{mode}: the client's responses read by read(2), not those through io_uring",
               dump(cresp))
        end = t.end
        expect(end.get('cut_bytes') == ring_bytes and end.get('unseen_bytes') == ring_bytes and
               end.get('parse_errors') == 0,
               f'{mode}: the io_uring requests and responses counted in cut_bytes ({ring_bytes})',
               h.short(end))

def test_pair_local_older_connection():
    """--pair-local on a keep-alive connection made before the trace: the
    two ends' offsets start wherever each was first seen, and TCP sequence
    numbers line them up. Each request recorded once, every exchange."""
    paths = ['/a.txt', '/b.txt', '/c.txt']
    with h.Nginx() as ng:
        conn = http.client.HTTPConnection('127.0.0.1', ng.port, timeout=10)
        conn.request('GET', '/hello.txt')   # before the trace
        conn.getresponse().read()
        local = '%s:%d' % conn.sock.getsockname()
        with h.Trace(h.scope(*ng.all_pids()) + ['--port', ng.port_arg, '--pair-local']) as t:
            for p in paths:
                conn.request('GET', p)
                r = conn.getresponse()
                r.read()
                assert r.status == 200, f'{p}: {r.status}'
        conn.close()
        end = t.end
        h.log(f"  paired {end.get('paired')}, unpaired {end.get('unpaired')}, "
              f"reads left out {end.get('peer_reads')}")
        expect(end.get('paired', 0) >= 1 and end.get('peer_reads', 0) >= 1,
               'the older connection was paired, reads left out', h.short(end))
        reqs = [r for r in t.http(kind='request')
                if local in (r.get('local'), r.get('peer'))]
        once = [r for r in reqs if r.get('dir') == 'recv' or r.get('peer_read')]
        expect(sorted(r.get('path') for r in once) == paths and len(reqs) <= len(paths) + 1,
               'each request recorded once (the first may come from both ends)', dump(reqs))
        resp = [r for r in t.http(kind='response') if local in (r.get('local'), r.get('peer'))]
        expect(len(resp) == len(paths) and all(r.get('status') == 200 for r in resp)
               and sum(1 for r in resp if r.get('peer_read')) >= len(paths) - 1,
               'each response recorded once, as a send marked peer_read', dump(resp))
        ex = [r for r in t.select('exchange') if r.get('path') in paths]
        expect(sorted(r.get('path') for r in ex) == paths and all(r.get('status') == 200 for r in ex),
               'three exchanges, 200', dump(ex))


def test_pair_local_bytes_in_flight():
    """--pair-local, a connection older than the trace with a response
    already sent but not yet read when tracing starts: the server's hooks
    never see it, so the client's read of it must be shipped. The ends are
    lined up by sequence numbers, not by where each was first seen."""
    srv, port = listening()
    resp = b'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n'
    try:
        cli = socket.create_connection(('127.0.0.1', port))
        conn, _ = srv.accept()
        cli.sendall(b'GET /early HTTP/1.1\r\nHost: x\r\n\r\n')
        conn.recv(4096)
        conn.sendall(resp + b'old!')          # left unread over the start
        with h.Trace(h.scope() + ['--port', f'{port}:http', '--pair-local']) as t:
            cli.sendall(b'GET /late HTTP/1.1\r\nHost: x\r\n\r\n')
            conn.recv(4096)
            conn.sendall(resp + b'new!')
            got = b''
            while got.count(b'HTTP/1.1') < 2 or not got.endswith(b'new!'):
                got += cli.recv(4096)
            cli.close()
            conn.close()
        end = t.end
        h.log(f"  paired {end.get('paired')}, reads left out {end.get('peer_reads')}")
        mine = [r for r in t.http(kind='response') if f':{port}' in (r.get('local', '') + r.get('peer', ''))]
        bodies = sorted(r.get('body') for r in mine if r.get('dir') == 'recv' or r.get('peer_read'))
        expect(bodies == ['new!', 'old!'],
               'both responses recorded: the one sent before the trace by the client\'s read',
               dump(mine))
        expect(end.get('paired', 0) >= 1, 'the two ends were paired', h.short(end))
    finally:
        srv.close()


def test_pair_local_one_byte_sender():
    """--pair-local where the two ends guess the protocol apart: a client
    writing its first request a byte at a time is never taken for HTTP
    (it ships nothing), the server reading it whole is. The server must not
    leave its reads out to records the client never ships: each request is
    recorded once, at one end or the other, and every exchange forms."""
    srv, port = listening()
    req = b'GET /one HTTP/1.1\r\nHost: x\r\n\r\n'
    resp = b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'
    try:
        with h.Trace(h.scope() + ['--pair-local']) as t:
            cli = socket.create_connection(('127.0.0.1', port))
            cli.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn, _ = srv.accept()
            for b in req:
                cli.send(bytes([b]))
            time.sleep(0.2)
            conn.recv(4096)
            conn.sendall(resp)
            cli.recv(4096)
            for _ in range(3):
                cli.sendall(req.replace(b'/one', b'/two'))
                time.sleep(0.1)
                conn.recv(4096)
                conn.sendall(resp)
                time.sleep(0.1)
                cli.recv(4096)
            cli.close()
            conn.close()
        end = t.end
        h.log(f"  paired {end.get('paired')}, unpaired {end.get('unpaired')}, "
              f"reads left out {end.get('peer_reads')}")
        reqs = [r for r in t.http(kind='request') if r.get('peer', '').endswith(f':{port}')
                or r.get('local', '').endswith(f':{port}')]
        once = [r for r in reqs if r.get('dir') == 'recv' or r.get('peer_read')]
        expect(sorted(r.get('path') for r in once) == ['/one', '/two', '/two', '/two'],
               'every request recorded: read by the server, or sent and marked peer_read', dump(reqs))
        ex = [r for r in t.select('exchange') if r.get('path') in ('/one', '/two')]
        expect(len(ex) == 4 and all(r.get('status') == 200 for r in ex), 'four exchanges, 200', dump(ex))
    finally:
        srv.close()


def forget_conn(pid, fd):
    """Delete (pid, fd)'s entry from msgscope's connection map, as the LRU
    map's eviction would under pressure."""
    key = struct.pack('<II', pid, fd).hex(' ').split()
    r = h.run(['bpftool', 'map', 'delete', 'name', 'conns', 'key', 'hex'] + key,
              check=False)
    expect(r.rc == 0, f"bpftool deleted ({pid}, {fd}) from conns",
           r.stderr.strip())


PAIR_REQ = b'GET %s HTTP/1.1\r\nHost: x\r\n\r\n'
PAIR_RESP = b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'


def one_exchange(cli, conn, path):
    """A request from cli and its answer from conn, each read whole."""
    cli.sendall(PAIR_REQ % path.encode())
    time.sleep(0.05)
    conn.recv(4096)
    conn.sendall(PAIR_RESP)
    got = b''
    while not got.endswith(b'ok'):
        got += cli.recv(4096)


def requests_once(t, port):
    """The requests on port, and the paths recorded as the reader's sight:
    read by the server, or sent and marked peer_read."""
    reqs = [r for r in t.http(kind='request') if f':{port}' in (r.get('local', '') + r.get('peer', ''))]
    return reqs, sorted(r.get('path') for r in reqs if r.get('dir') == 'recv' or r.get('peer_read'))


def test_pair_local_sender_evicted():
    """--pair-local, the sender's entry lost (evicted) after pairing: made
    again, it no longer flags its sends, so the reader must ship its reads
    again rather than leave them to records that do not stand for them.
    Every request recorded at the server's read or as a flagged send."""
    srv, port = listening()
    paths = ['/1', '/2', '/3', '/4']
    try:
        with h.Trace(h.scope() + ['--port', f'{port}:http', '--pair-local']) as t:
            cli = socket.create_connection(('127.0.0.1', port))
            conn, _ = srv.accept()
            for i, p in enumerate(paths):
                if i == 2:
                    time.sleep(0.1)
                    forget_conn(os.getpid(), cli.fileno())
                one_exchange(cli, conn, p)
            cli.close()
            conn.close()
        end = t.end
        h.log(f"  paired {end.get('paired')}, unpaired {end.get('unpaired')}, "
              f"reads left out {end.get('peer_reads')}")
        reqs, seen = requests_once(t, port)
        expect(seen == paths, 'every request recorded once as the server\'s sight', dump(reqs))
        expect(end.get('paired', 0) >= 1 and end.get('unpaired', 0) >= 1,
               'paired, then undone when the sender\'s entry was gone', h.short(end))
        ex = [r for r in t.select('exchange') if r.get('path') in paths]
        expect(sorted(r.get('path') for r in ex) == paths and
               all(r.get('status') == 200 for r in ex), 'four exchanges, 200', dump(ex))
    finally:
        srv.close()


def test_pair_local_sender_closed_first():
    """--pair-local, the client closes right after its last request and
    the server reads it later. The client's socket reaches TCP_CLOSE as
    soon as its FIN is acknowledged, and its entry goes; the server must
    not take that for an eviction: the client shipped the request, so the
    server's read stays left out. The request recorded once, not twice."""
    srv, port = listening()
    try:
        with h.Trace(h.scope() + ['--port', f'{port}:http', '--pair-local']) as t:
            cli = socket.create_connection(('127.0.0.1', port))
            conn, _ = srv.accept()
            one_exchange(cli, conn, '/first')
            cli.sendall(PAIR_REQ % b'/last')
            cli.close()
            time.sleep(0.3)
            last = conn.recv(4096)
            assert last.startswith(b'GET /last'), last
            conn.close()
        end = t.end
        h.log(f"  paired {end.get('paired')}, unpaired {end.get('unpaired')}, "
              f"reads left out {end.get('peer_reads')}")
        reqs, seen = requests_once(t, port)
        expect(seen == ['/first', '/last'], 'each request recorded once', dump(reqs))
        expect(end.get('unpaired', 0) == 0, 'the pair held to the end', h.short(end))
    finally:
        srv.close()

TESTS = [
    test_nginx_get_post,
    test_big_body_then_next,
    test_keepalive,
    test_pipelining,
    test_chunked_response,
    test_secret_headers_redacted,
    test_fd_reused_before_close,
    test_body_until_close,
    test_half_closed_client,
    test_closed_with_body_unread,
    test_reset_with_body_unread,
    test_python_http_server,
    test_vectored_writes,
    test_pair_local_sendfile,
    test_splice_body_counted,
    test_splice_read_counted,
    test_io_uring_counted,
    test_pair_local_older_connection,
    test_pair_local_bytes_in_flight,
    test_pair_local_one_byte_sender,
    test_pair_local_sender_evicted,
    test_pair_local_sender_closed_first,
]

if __name__ == '__main__':
    h.main(TESTS, needs=['nginx', 'curl'])
