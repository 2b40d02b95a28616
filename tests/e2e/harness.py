# SPDX-License-Identifier: MIT
"""harness.py — shared plumbing for msgscope's end-to-end tests (stdlib only).

A test file is a standalone script:

    import harness as h

    def test_something():
        with h.NatsServer() as ns, h.Trace(['--port', ns.port_arg]) as t:
            ...
        h.expect(t.nats(op='PUB'), 'PUB captured')

    if __name__ == '__main__':
        h.main([test_something], needs=['nats-server'])

main() exits 0 when every test passed, 1 when one failed, and 77 (meson's
"skipped") when msgscope cannot run here (not root, no binary, or `msgscope
check` fails) - unless CI=true, where that is a failure.

Every process started through this module runs in its own session and is
killed (its whole process group) when its test ends, when the script exits,
or on SIGTERM/SIGINT. Set E2E_KEEP=1 to keep temporary directories (trace
files, server logs) for inspection; their paths are printed.

Environment:
  MSGSCOPE_BUILD  meson build directory (default: <repo>/build)
  MSGSCOPE        path of the msgscope binary (default: $MSGSCOPE_BUILD/msgscope)
  NATSC           path of the natsc test client (default: built by meson if
                  found in the build dir, else compiled from tests/clients/natsc.c)
  CI              "true": missing prerequisites fail instead of skip
  E2E_KEEP        "1": keep temporary directories
  E2E_SCOPE       "all": capture tests trace every process instead of only
                  the test process, its later children and its servers
"""

import atexit
import contextlib
import json
import os
import random
import re
import shutil
import signal
import stat
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP_CODE = 77
READY_MARK = 'msgscope: tracing'
REDACTED = '[REDACTED]'


def in_ci():
    return os.environ.get('CI', '').strip().lower() == 'true'


def build_dir():
    return os.environ.get('MSGSCOPE_BUILD') or os.path.join(REPO, 'build')


def msgscope_path():
    return os.environ.get('MSGSCOPE') or os.path.join(build_dir(), 'msgscope')


def log(msg):
    print(msg, flush=True)


def expect(cond, what, detail=''):
    """assert cond; on success print what was checked."""
    assert cond, f'{what}: {detail}' if detail else what
    log(f'  ok: {what}')


class Unavailable(Exception):
    """A prerequisite is missing: the test is skipped (or fails in CI)."""


# ---------------------------------------------------------------------------
# process and temp-dir bookkeeping

_procs = []          # Proc objects, in start order
_tmpdirs = []        # temp dirs to remove at exit
_lock = threading.Lock()


def keep_tmp():
    return os.environ.get('E2E_KEEP', '') not in ('', '0')


def mkdtemp(prefix='msgscope-e2e-'):
    d = tempfile.mkdtemp(prefix=prefix)
    with _lock:
        _tmpdirs.append(d)
    return d


def _kill_group(proc, grace):
    """Terminate one process we started and everything in its group."""
    p = proc.popen
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    # The leader may be gone while group members (nginx workers, a
    # command run by msgscope) linger: always finish the group off.
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    proc._join()


def kill_since(mark, grace=3.0):
    """Kill every process registered after position mark (newest first)."""
    with _lock:
        victims = _procs[mark:]
        del _procs[mark:]
    for proc in reversed(victims):
        _kill_group(proc, grace)


def proc_mark():
    with _lock:
        return len(_procs)


def cleanup_all():
    kill_since(0, grace=2.0)
    with _lock:
        dirs = list(_tmpdirs)
        _tmpdirs.clear()
    for d in dirs:
        if keep_tmp():
            log(f'kept {d}')
        else:
            shutil.rmtree(d, ignore_errors=True)


atexit.register(cleanup_all)


def _on_term(signum, frame):
    # Turn SIGTERM (meson's timeout) into a normal exit so atexit runs.
    raise SystemExit(128 + signum)


class Proc:
    """A child process in its own session, with stdout/stderr collected
    line by line in the background."""

    def __init__(self, argv, stdin=False, env=None, cwd=None, stdout=True):
        self.argv = [str(a) for a in argv]
        self.out_lines = []
        self.err_lines = []
        self._cv = threading.Condition()
        full_env = None
        if env:
            full_env = dict(os.environ)
            full_env.update(env)
        self.popen = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=full_env, cwd=cwd, start_new_session=True)
        with _lock:
            _procs.append(self)
        self._threads = []
        if stdout:
            self._threads.append(self._reader(self.popen.stdout, self.out_lines))
        self._threads.append(self._reader(self.popen.stderr, self.err_lines))

    def _reader(self, stream, sink):
        def run():
            for raw in iter(stream.readline, b''):
                with self._cv:
                    sink.append(raw.decode('utf-8', 'replace').rstrip('\n'))
                    self._cv.notify_all()
            stream.close()
            with self._cv:
                self._cv.notify_all()
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    def _join(self):
        for t in self._threads:
            t.join(timeout=5)

    @property
    def pid(self):
        return self.popen.pid

    @property
    def stdout(self):
        with self._cv:
            return '\n'.join(self.out_lines)

    @property
    def stderr(self):
        with self._cv:
            return '\n'.join(self.err_lines)

    def describe(self):
        return (f'{" ".join(self.argv)} (pid {self.pid}, rc {self.popen.poll()})\n'
                f'--- stdout:\n{self.stdout}\n--- stderr:\n{self.stderr}')

    def wait_for(self, text, timeout=10.0, stream='stdout'):
        """Wait until a line containing text appears on stream; return it."""
        lines = self.out_lines if stream == 'stdout' else self.err_lines
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cv:
            while True:
                for line in lines[seen:]:
                    if text in line:
                        return line
                seen = len(lines)
                if self.popen.poll() is not None and all(not t.is_alive() for t in self._threads):
                    raise AssertionError(f'{text!r} never appeared on {stream}; process exited:\n'
                                         + self._describe_locked())
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f'{text!r} did not appear on {stream} within {timeout}s:\n'
                                         + self._describe_locked())
                self._cv.wait(min(left, 0.1))

    def _describe_locked(self):
        return (f'{" ".join(self.argv)} (pid {self.pid}, rc {self.popen.poll()})\n'
                f'--- stdout:\n' + '\n'.join(self.out_lines) +
                '\n--- stderr:\n' + '\n'.join(self.err_lines))

    def send(self, line):
        self.popen.stdin.write(line.encode() + b'\n')
        self.popen.stdin.flush()

    def close_stdin(self):
        if self.popen.stdin:
            self.popen.stdin.close()

    def wait(self, timeout=10.0):
        try:
            rc = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f'process did not exit within {timeout}s:\n' + self.describe())
        self._join()
        return rc

    def wait_ok(self, timeout=10.0):
        rc = self.wait(timeout)
        assert rc == 0, f'exit status {rc}:\n' + self.describe()
        return self

    def signal(self, sig):
        if self.popen.poll() is None:
            os.kill(self.pid, sig)

    def running(self):
        return self.popen.poll() is None


def spawn(argv, **kw):
    return Proc(argv, **kw)


def run(argv, timeout=20.0, check=True, **kw):
    """Run to completion; returns the Proc (with .stdout/.stderr/.rc)."""
    p = Proc(argv, **kw)
    p.rc = p.wait(timeout)
    if check:
        assert p.rc == 0, f'command failed (rc {p.rc}):\n' + p.describe()
    return p


def read_comm(pid):
    with open(f'/proc/{pid}/comm') as f:
        return f.read().strip()


# ---------------------------------------------------------------------------
# ports

_ports_given = set()


def _ephemeral_range():
    try:
        with open('/proc/sys/net/ipv4/ip_local_port_range') as f:
            lo, hi = (int(x) for x in f.read().split())
        return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def free_port():
    """A port for a server to listen on, free now, and never handed out
    twice by this process. Taken below the ephemeral range: a port the kernel
    gives a client's connect() in the moment between this check and the
    server's bind, or one handed to two servers in a row, once made nginx
    proxy to a nats-server (curl: "Received HTTP/0.9")."""
    lo, _ = _ephemeral_range()
    first, last = (20000 if lo > 21000 else 1024), lo - 1
    for _ in range(200):
        port = random.randint(first, last)
        if port in _ports_given:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(('127.0.0.1', port))
        except OSError:
            continue
        finally:
            s.close()
        _ports_given.add(port)
        return port
    raise AssertionError(f'no free port found in {first}-{last}')


def wait_port(port, proc=None, timeout=10.0, host='127.0.0.1'):
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and not proc.running():
            raise AssertionError(f'server exited before listening on {port}:\n' + proc.describe())
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f'nothing listening on {host}:{port} after {timeout}s'
                                 + ('\n' + proc.describe() if proc else ''))
        time.sleep(0.05)


# ---------------------------------------------------------------------------
# prerequisites

def require_tools(names):
    missing = [n for n in names if shutil.which(n) is None
               and not os.path.exists(os.path.join('/usr/sbin', n))]
    if missing:
        raise Unavailable('missing tools: ' + ', '.join(missing))


def tool(name):
    return shutil.which(name) or os.path.join('/usr/sbin', name)


@contextlib.contextmanager
def env(**changes):
    """Environment variables set for what starts inside the block (msgscope
    reads MSGSCOPE_* ones), restored after it."""
    old = {k: os.environ.get(k) for k in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def loaded_prog_names():
    """Names of the BPF programs loaded now (bpftool prog show)."""
    out = subprocess.run([tool('bpftool'), 'prog', 'show', '-j'], stdout=subprocess.PIPE,
                         check=True, text=True).stdout
    return {p.get('name') for p in json.loads(out)}


def bpf_objects(pid):
    """{'prog': ids, 'link': ids, 'map': ids} held by pid's fds (fdinfo)."""
    got = {'prog': set(), 'link': set(), 'map': set()}
    fd_dir = f'/proc/{pid}/fd'
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(f'{fd_dir}/{fd}')
            info = open(f'/proc/{pid}/fdinfo/{fd}').read()
        except OSError:
            continue
        for kind in ('prog', 'link', 'map'):
            if target == f'anon_inode:bpf-{kind}' or (kind == 'link' and target == 'anon_inode:bpf_link'):
                m = re.search(rf'^{kind}_id:\s*(\d+)', info, re.M)
                if m:
                    got[kind].add(int(m.group(1)))
        m = re.search(r'^prog_id:\s*(\d+)', info, re.M)  # links name their prog too
        if m and 'link' in target:
            got['prog'].add(int(m.group(1)))
    return got


def bpftool_ids(kind):
    """bpftool KIND show, by id."""
    out = subprocess.run([tool('bpftool'), kind, 'show', '-j'], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=30).stdout
    items = json.loads(out or b'[]')
    return {i['id']: i for i in items if isinstance(i, dict) and 'id' in i}


def feature_here(row):
    """Whether `msgscope check` says yes on its row named row (e.g. 'sock
    data tracepoints': the capture then uses them)."""
    out = subprocess.run([msgscope_path(), 'check'], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=60).stdout
    words = row.split() + ['yes']
    return any(line.split()[:len(words)] == words for line in out.splitlines())


def require_msgscope():
    if os.geteuid() != 0:
        raise Unavailable('msgscope needs root (running as uid %d)' % os.geteuid())
    exe = msgscope_path()
    if not os.access(exe, os.X_OK):
        raise Unavailable(f'msgscope binary not found at {exe} (set MSGSCOPE_BUILD or MSGSCOPE)')
    try:
        r = subprocess.run([exe, 'check'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
    except subprocess.TimeoutExpired:
        raise Unavailable('`msgscope check` did not finish within 60 s')
    if r.returncode != 0:
        out = r.stdout.decode('utf-8', 'replace').strip()
        raise Unavailable(f'`msgscope check` failed (rc {r.returncode}): BPF unavailable?\n{out}')


_clients = {}


def client_path(name, lib, header):
    """A test client of tests/clients/: $<NAME> (natsc: $NATSC), a
    meson-built one no older than its source, else compiled from source,
    with -l<lib>, into a temp dir (once per run)."""
    if name in _clients:
        return _clients[name]
    if os.environ.get(name.upper()):
        _clients[name] = os.environ[name.upper()]
        return _clients[name]
    src = os.path.join(REPO, 'tests', 'clients', name + '.c')
    for cand in (f'tests/clients/{name}', f'tests/{name}', name):
        p = os.path.join(build_dir(), cand)
        if os.access(p, os.X_OK) and os.path.isfile(p) and \
                (not os.path.exists(src) or os.path.getmtime(p) >= os.path.getmtime(src)):
            _clients[name] = p
            return p
    cc = shutil.which('cc') or shutil.which('gcc')
    if not cc or not os.path.exists(header):
        raise Unavailable(f'{name} not built and no compiler or {header} to build it')
    out = os.path.join(mkdtemp(f'msgscope-{name}-'), name)
    r = subprocess.run([cc, '-std=gnu11', '-Wall', '-Wextra', '-O2', src, '-l' + lib, '-o', out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise AssertionError(f'compiling {name} failed:\n' + r.stdout.decode('utf-8', 'replace'))
    _clients[name] = out
    return out


def natsc_path():
    """The natsc client (libnats)."""
    return client_path('natsc', 'nats', '/usr/include/nats/nats.h')


def uring_get_path():
    """The uring_get client (liburing): GETs through io_uring."""
    return client_path('uring_get', 'uring', '/usr/include/liburing.h')


def natsc(url, *args, stdin=False):
    """Start natsc with -s url and args (a Proc)."""
    return spawn([natsc_path(), '-s', url] + [str(a) for a in args], stdin=stdin)


# ---------------------------------------------------------------------------
# servers

class _Server:
    proc = None

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        if self.proc is not None:
            with _lock:
                if self.proc in _procs:
                    _procs.remove(self.proc)
            _kill_group(self.proc, 3.0)

    @property
    def pid(self):
        return self.proc.pid


class NatsServer(_Server):
    """nats-server on 127.0.0.1:<free port>, optionally with user/pass auth."""

    def __init__(self, user=None, password=None, token=None):
        self.user, self.password, self.token = user, password, token
        self.port = free_port()
        self.dir = mkdtemp('msgscope-nats-')

    @property
    def url(self):
        return f'nats://127.0.0.1:{self.port}'

    @property
    def port_arg(self):
        return f'{self.port}:nats'

    def start(self):
        argv = [tool('nats-server'), '-a', '127.0.0.1', '-p', str(self.port),
                '-l', os.path.join(self.dir, 'nats.log')]
        if self.user:
            argv += ['--user', self.user, '--pass', self.password]
        if self.token:
            argv += ['--auth', self.token]
        self.proc = spawn(argv, stdout=False)
        wait_port(self.port, self.proc)


_BACKEND_PY = r'''
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNKS = [("chunk-%d:" % i) + "x" * (10 * (i + 1)) + "\n" for i in range(5)]


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for c in CHUNKS:
                b = c.encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path.startswith("/setcookie"):
            body = b"cookie set\n"
            self.send_response(200)
            self.send_header("Set-Cookie", "sid=" + sys.argv[2] + "; Path=/")
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_error(404)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'''

CHUNKED_BODY = ''.join(('chunk-%d:' % i) + 'x' * (10 * (i + 1)) + '\n' for i in range(5))
SET_COOKIE_SECRET = 'SetCookieSecret-4f1d9a'
BIG_SIZE = 200 * 1024


def _write(path, data, mode=0o644):
    with open(path, 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(path, mode)


def make_docroot(d):
    """A docroot with a few files; returns {url path: bytes}."""
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    files = {
        '/index.html': b'<html><body>msgscope e2e</body></html>\n',
        '/hello.txt': b'hello, world\n',
        '/a.txt': b'A' * 11 + b'\n',
        '/b.txt': b'B' * 222 + b'\n',
        '/c.txt': b'C' * 3333 + b'\n',
        '/big.bin': bytes((0x61 + i % 26) for i in range(BIG_SIZE)),
    }
    for name, data in files.items():
        _write(os.path.join(d, name.lstrip('/')), data)
    return files


class Backend(_Server):
    """A python http.server-based origin behind nginx: /chunked answers with
    Transfer-Encoding: chunked, POST echoes the body, /setcookie sets a
    cookie."""

    def __init__(self):
        self.port = free_port()
        self.dir = mkdtemp('msgscope-backend-')

    def start(self):
        script = os.path.join(self.dir, 'backend.py')
        _write(script, _BACKEND_PY)
        self.proc = spawn([sys.executable, script, str(self.port), SET_COOKIE_SECRET], stdout=False)
        wait_port(self.port, self.proc)


_NGINX_CONF = '''
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
    sendfile off;
    keepalive_timeout 30s;
    keepalive_requests 1000;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
        location /sf/ {{ alias {root}/; sendfile on; }}
        location = /post {{ return 200 "posted\\n"; }}
        location ~ ^/(chunked|echo|setcookie) {{
            proxy_pass http://127.0.0.1:{backend};
            proxy_http_version 1.1;
            proxy_buffering off;
        }}
    }}
}}
'''


class Nginx(_Server):
    """nginx (master + 1 worker, foreground) on 127.0.0.1:<free port> serving
    make_docroot() files; /chunked, /echo and /setcookie go to a Backend."""

    def __init__(self):
        self.port = free_port()
        self.prefix = mkdtemp('msgscope-nginx-')
        os.chmod(self.prefix, 0o755)   # workers run as nobody
        self.root = os.path.join(self.prefix, 'html')
        self.files = make_docroot(self.root)
        self.backend = Backend()

    @property
    def url(self):
        return f'http://127.0.0.1:{self.port}'

    @property
    def port_arg(self):
        return f'{self.port}:http'

    def start(self):
        self.backend.__enter__()
        os.makedirs(os.path.join(self.prefix, 'tmp'), exist_ok=True)
        os.chmod(os.path.join(self.prefix, 'tmp'), 0o755)
        conf = os.path.join(self.prefix, 'nginx.conf')
        _write(conf, _NGINX_CONF.format(prefix=self.prefix, port=self.port, root=self.root,
                                        backend=self.backend.port))
        self.proc = spawn([tool('nginx'), '-p', self.prefix, '-c', conf,
                           '-e', os.path.join(self.prefix, 'error.log')], stdout=False)
        try:
            wait_port(self.port, self.proc)
        except AssertionError as e:
            raise AssertionError(f'{e}\nerror.log:\n{self.error_log()}')

    def stop(self):
        super().stop()
        self.backend.stop()

    def error_log(self):
        try:
            with open(os.path.join(self.prefix, 'error.log')) as f:
                return f.read()
        except OSError:
            return ''

    def worker_pids(self):
        """pids of nginx worker processes (children of the master)."""
        try:
            with open(f'/proc/{self.pid}/task/{self.pid}/children') as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []

    def all_pids(self):
        return [self.pid] + self.worker_pids()


class PyHttpServer(_Server):
    """python3 -m http.server on 127.0.0.1:<free port> serving make_docroot()."""

    def __init__(self):
        self.port = free_port()
        self.root = os.path.join(mkdtemp('msgscope-pyhttp-'), 'html')
        self.files = make_docroot(self.root)

    @property
    def url(self):
        return f'http://127.0.0.1:{self.port}'

    @property
    def port_arg(self):
        return f'{self.port}:http'

    def start(self):
        self.proc = spawn([sys.executable, '-m', 'http.server', '--bind', '127.0.0.1',
                           '--directory', self.root, str(self.port)], stdout=False)
        wait_port(self.port, self.proc)


def verify_chunked(url):
    """Check with curl -v that url really answers with chunked encoding."""
    p = run(['curl', '-sS', '-v', '-o', '/dev/null', url])
    hdrs = [l for l in p.stderr.splitlines() if l.startswith('< ')]
    ok = any(l.lower().startswith('< transfer-encoding:') and 'chunked' in l.lower() for l in hdrs)
    assert ok, f'{url} is not chunked; response headers:\n' + '\n'.join(hdrs)


# ---------------------------------------------------------------------------
# msgscope trace

def _match(rec, crit):
    for k, v in crit.items():
        got = rec.get(k)
        if callable(v):
            if not v(got):
                return False
        elif got != v:
            return False
    return True


def header(rec, name):
    """Value of header name (case-insensitive) in rec['headers'], or None."""
    for k, v in (rec.get('headers') or {}).items():
        if k.lower() == name.lower():
            return v
    return None


def short(rec):
    """A compact one-line rendering of a record for error messages."""
    r = dict(rec)
    for k in ('payload', 'body'):
        if isinstance(r.get(k), str) and len(r[k]) > 60:
            r[k] = r[k][:60] + f'...({len(rec[k])} chars)'
    r.pop('info', None)
    return json.dumps(r, sort_keys=True)


def dump(records, limit=40):
    lines = [short(r) for r in records[:limit]]
    if len(records) > limit:
        lines.append(f'... {len(records) - limit} more')
    return '\n'.join(lines) if lines else '(no records)'


def scope(*pids):
    """msgscope arguments that limit a capture test to this test process
    (and so the clients it forks later) plus the given server pids, so that
    other traffic on a busy host cannot crowd the ring buffer. E2E_SCOPE=all
    traces every process instead."""
    if os.environ.get('E2E_SCOPE', '') == 'all':
        return []
    ids = [os.getpid()] + [int(p) for p in pids]
    return ['-p', ','.join(str(i) for i in dict.fromkeys(ids))]


_traces = []   # Trace objects of the running test, for failure reports


def trace_report(traces):
    """What a failed test's traces said about losses: end and drops lines."""
    out = []
    for t in traces:
        if not t.records:
            out.append(f'trace {t.path}: not loaded (rc {t.rc})')
            continue
        drops = [r for r in t.records if r.get('type') == 'drops']
        n = sum(1 for r in t.records if r.get('type') in ('nats', 'http'))
        out.append(f'trace {" ".join(t.args)}: {n} message records; end: {short(t.end)}')
        for d in drops:
            out.append(f'  drops: {short(d)}')
    return '\n'.join(out)


class Trace:
    """`with Trace(args) as t:` runs `msgscope trace -o FILE ARGS [-- CMD]`,
    waits for its ready line on stderr, and on leaving the block stops it with
    SIGINT (unless it already exited), checks its exit status and parses FILE
    into t.records."""

    # Attaching and detaching the BPF programs takes ~1.5 s each on an idle
    # machine but can take 10 s and more on a loaded one: generous limits.
    def __init__(self, args=(), cmd=None, ready_timeout=60.0, stop_timeout=60.0,
                 expect_rc=0, settle=0.0):
        self.args = [str(a) for a in args]
        self.cmd = [str(a) for a in cmd] if cmd else None
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.expect_rc = expect_rc
        self.settle = settle
        self.dir = mkdtemp('msgscope-trace-')
        self.path = os.path.join(self.dir, 'trace.jsonl')
        self.records = []
        self.raw = ''
        self.rc = None
        self.proc = None
        self.ready_ns = None     # wall clock (epoch ns) when the ready line was seen
        _traces.append(self)

    def argv(self):
        a = [msgscope_path(), 'trace', '-o', self.path] + self.args
        if self.cmd:
            a += ['--'] + self.cmd
        return a

    def __enter__(self):
        self.proc = spawn(self.argv(), stdin=False)
        try:
            self.proc.wait_for(READY_MARK, timeout=self.ready_timeout, stream='stderr')
            self.ready_ns = time.time_ns()
        except BaseException:
            self._stop()
            raise
        return self

    def wait_exit(self, timeout=60.0):
        """For -- CMD / --duration: wait until msgscope exits by itself."""
        self.rc = self.proc.wait(timeout)
        return self.rc

    def _stop(self):
        if self.proc.running():
            if self.settle:
                time.sleep(self.settle)
            self.proc.signal(signal.SIGINT)
            try:
                self.rc = self.proc.popen.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.rc = None
        else:
            self.rc = self.proc.popen.returncode
        stuck = self.rc is None
        with _lock:
            if self.proc in _procs:
                _procs.remove(self.proc)
        _kill_group(self.proc, 1.0)
        return stuck

    def __exit__(self, exc_type, exc, tb):
        stuck = self._stop()
        if exc_type is not None:
            log('msgscope stderr (test failed inside the trace block):\n' + self.proc.stderr)
            try:
                self.load()      # for the failure report only
            except Exception:
                pass
            return False
        assert not stuck, (f'msgscope did not exit within {self.stop_timeout}s of SIGINT\n'
                           + self.proc.describe())
        assert self.rc == self.expect_rc, (f'msgscope exited with {self.rc}, expected {self.expect_rc}\n'
                                           + self.proc.describe())
        if not self.cmd:  # with -- CMD, stdout is the command's
            assert self.proc.stdout == '', f'msgscope wrote to stdout despite -o:\n{self.proc.stdout[:2000]}'
        self.load()
        return False

    def load(self):
        assert os.path.exists(self.path), f'trace file {self.path} was not created'
        with open(self.path, 'rb') as f:
            data = f.read()
        self.raw = data.decode('utf-8', 'replace')
        assert data, 'trace file is empty'
        assert data.endswith(b'\n'), 'trace file does not end with a newline'
        recs = []
        for i, line in enumerate(data.split(b'\n')[:-1], 1):
            try:
                recs.append(json.loads(line))
            except ValueError as e:
                raise AssertionError(f'trace line {i} is not JSON ({e}): {line[:300]!r}')
            assert isinstance(recs[-1], dict) and 'type' in recs[-1], f'trace line {i} has no type: {line[:300]!r}'
        assert recs[0]['type'] == 'meta', f'first line is not meta: {short(recs[0])}'
        assert recs[-1]['type'] == 'end', f'last line is not end: {short(recs[-1])}'
        self.records = recs

    @property
    def stderr(self):
        return self.proc.stderr

    @property
    def meta(self):
        return self.records[0]

    @property
    def end(self):
        return self.records[-1]

    def select(self, type_=None, **crit):
        return [r for r in self.records if (type_ is None or r.get('type') == type_) and _match(r, crit)]

    def nats(self, **crit):
        return self.select('nats', **crit)

    def http(self, **crit):
        return self.select('http', **crit)

    def messages(self, **crit):
        return [r for r in self.records if r.get('type') in ('nats', 'http') and _match(r, crit)]


# ---------------------------------------------------------------------------
# running a test file

def dev_null_is_device():
    try:
        return stat.S_ISCHR(os.stat('/dev/null').st_mode)
    except OSError:
        return False


def main(tests, needs=()):
    """Run test functions in order; exit 0 / 1 / 77."""
    signal.signal(signal.SIGTERM, _on_term)
    name = os.path.basename(sys.argv[0])
    only = sys.argv[1:]
    try:
        require_tools(list(needs))
        require_msgscope()
    except Unavailable as e:
        if in_ci():
            log(f'FAIL {name}: prerequisite missing and CI=true: {e}')
            sys.exit(1)
        log(f'SKIP {name}: {e}')
        sys.exit(SKIP_CODE)

    failed = []
    t0 = time.monotonic()
    for fn in tests:
        if only and fn.__name__ not in only:
            continue
        log(f'=== {fn.__name__}')
        mark = proc_mark()
        del _traces[:]
        start = time.monotonic()
        try:
            dev_null_was_ok = dev_null_is_device()
            fn()
            # Removing /dev/null breaks daemon(3) for every later test (tmux
            # refuses to start): the test during which it happened fails.
            assert dev_null_is_device() or not dev_null_was_ok, \
                '/dev/null is no longer a character device after this test'
        except Unavailable as e:
            if in_ci():
                log(f'FAIL {fn.__name__}: prerequisite missing and CI=true: {e}')
                failed.append(fn.__name__)
            else:
                log(f'SKIP {fn.__name__}: {e}')
        except Exception:
            failed.append(fn.__name__)
            log(f'FAIL {fn.__name__} ({time.monotonic() - start:.1f}s)')
            traceback.print_exc(file=sys.stdout)
            if _traces:
                log(trace_report(_traces))
            sys.stdout.flush()
        else:
            log(f'PASS {fn.__name__} ({time.monotonic() - start:.1f}s)')
        finally:
            kill_since(mark)
    log(f'{name}: {len(failed)} failed ({time.monotonic() - t0:.1f}s)'
        + (': ' + ', '.join(failed) if failed else ''))
    cleanup_all()
    sys.exit(1 if failed else 0)
