#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end: secrets seen on the wire never leave msgscope unless
--show-secrets is given, and msgscope gives up root once attached.

Real logins on real servers: nats-server with user/password, with a token,
with an nkey user (Ed25519 signature of the server's nonce, made with the
openssl command) and in operator mode with a user JWT (operator, account
and user JWTs signed the same way); the same CONNECT keys in the spellings
nats-server also accepts ("PASS", "pa\\u017fs"); curl sending Authorization
(Bearer, Basic via -u, lower case), Proxy-Authorization and Cookie to nginx;
a backend answering with Set-Cookie through nginx.

For each secret: by default it appears nowhere in the trace, in msgscope's
stderr, or in what `msgscope top -b` prints (and the trace it records with
-o), while the records that carried it are there with "[REDACTED]"; with
--show-secrets it is in the trace.

Exit 0 = pass, 1 = fail, 77 = skipped (no root/BPF/binary; fails when CI=true).
Run one test: test_secrets.py test_redacted_by_default
"""
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import expect, dump  # noqa: E402

REDACTED = h.REDACTED


# ---------------------------------------------------------------------------
# NATS nkeys and JWTs with the openssl command (Ed25519 is not in python's
# standard library). An nkey is base32(prefix byte, 32-byte public key,
# CRC-16/XMODEM little endian); a JWT is header.claims.signature, base64url
# without padding, signed with the issuer's key.

NKEY_PREFIX = {'O': 14 << 3, 'A': 0, 'U': 20 << 3}


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xffff
    return crc


def b64url(b):
    return base64.urlsafe_b64encode(b).decode().rstrip('=')


class NKey:
    def __init__(self, kind, d):
        self.pem = os.path.join(d, f'{kind}-{os.urandom(4).hex()}.pem')
        subprocess.run(['openssl', 'genpkey', '-algorithm', 'ed25519', '-out', self.pem], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        der = subprocess.run(['openssl', 'pkey', '-in', self.pem, '-pubout', '-outform', 'DER'],
                             check=True, stdout=subprocess.PIPE).stdout
        raw = bytes([NKEY_PREFIX[kind]]) + der[-32:]
        raw += crc16(raw).to_bytes(2, 'little')
        self.public = base64.b32encode(raw).decode().rstrip('=')

    def sign(self, data):
        # OpenSSL 3.0 signs Ed25519 in one shot, from a file of known size.
        with tempfile.NamedTemporaryFile(dir=os.path.dirname(self.pem)) as f:
            f.write(data)
            f.flush()
            return subprocess.run(['openssl', 'pkeyutl', '-sign', '-rawin', '-inkey', self.pem,
                                   '-in', f.name], check=True, stdout=subprocess.PIPE).stdout


def make_jwt(issuer, sub, nats, name):
    head = b64url(json.dumps({'typ': 'JWT', 'alg': 'ed25519-nkey'}).encode())
    claims = {'jti': b64url(os.urandom(16)), 'iat': int(time.time()), 'iss': issuer.public,
              'name': name, 'sub': sub, 'nats': nats}
    body = b64url(json.dumps(claims).encode())
    return f'{head}.{body}.' + b64url(issuer.sign(f'{head}.{body}'.encode()))


class ConfNatsServer(h.NatsServer):
    """nats-server with a configuration file (nkey users, operator mode)."""

    def __init__(self, conf_text):
        super().__init__()
        self.conf = os.path.join(self.dir, 'server.conf')
        with open(self.conf, 'w') as f:
            f.write(conf_text)

    def start(self):
        self.proc = h.spawn([h.tool('nats-server'), '-a', '127.0.0.1', '-p', str(self.port), '-c', self.conf,
                             '-l', os.path.join(self.dir, 'nats.log')], stdout=False)
        h.wait_port(self.port, self.proc)


def raw_login(port, connect):
    """CONNECT (connect: dict, or a function of the INFO dict) on a raw
    socket, then PING: returns the server's answer line and the CONNECT
    bytes sent."""
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    f = s.makefile('rb')
    info = json.loads(f.readline()[5:])
    body = connect(info) if callable(connect) else connect
    line = b'CONNECT ' + (body if isinstance(body, bytes) else json.dumps(body).encode()) + b'\r\n'
    s.sendall(line + b'PING\r\n')
    answer = f.readline().strip().decode()
    if answer == '+OK':
        answer = f.readline().strip().decode()
    s.sendall(b'PUB secrets.raw 2\r\nhi\r\nPING\r\n')
    f.readline()
    s.close()
    return answer


# ---------------------------------------------------------------------------
# the scene: servers, secrets, traffic

class Scene:
    def __init__(self):
        tag = os.urandom(4).hex()
        self.s = {
            'nats pass': f'NatsPass-{tag}',
            'nats PASS key': f'NatsUpperPass-{tag}',
            'nats long-s key': f'NatsLongSPass-{tag}',
            'nats auth_token': f'NatsToken-{tag}',
            'http Authorization': f'BearerTok-{tag}',
            'http authorization (lower case)': f'LowerBearer-{tag}',
            'http Basic (curl -u)': base64.b64encode(f'alice:BasicPw-{tag}'.encode()).decode(),
            'http Proxy-Authorization': f'ProxyTok-{tag}',
            'http Cookie': f'CookieVal-{tag}',
            'http Set-Cookie': h.SET_COOKIE_SECRET,
        }
        self.dir = h.mkdtemp('msgscope-secrets-')
        self.user_key = NKey('U', self.dir)
        op, acc, self.jwt_user = NKey('O', self.dir), NKey('A', self.dir), NKey('U', self.dir)
        self.op_jwt = make_jwt(op, op.public, {'type': 'operator', 'version': 2}, 'op')
        self.acc_jwt = make_jwt(op, acc.public, {
            'type': 'account', 'version': 2,
            'limits': {'subs': -1, 'data': -1, 'payload': -1, 'imports': -1, 'exports': -1,
                       'wildcards': True, 'conn': -1, 'leaf': -1}}, 'acc')
        self.user_jwt = make_jwt(acc, self.jwt_user.public, {
            'type': 'user', 'version': 2, 'pub': {}, 'sub': {}, 'subs': -1, 'data': -1, 'payload': -1}, 'usr')
        self.s['nats jwt'] = self.user_jwt
        self.acc_public = acc.public
        self.sigs = []

    def servers(self):
        self.up = h.NatsServer(user='alice', password=self.s['nats pass'])
        # The same login spelt the other ways nats-server accepts, each on a
        # server with its own password so each secret is told apart.
        self.up_upper = h.NatsServer(user='alice', password=self.s['nats PASS key'])
        self.up_long_s = h.NatsServer(user='alice', password=self.s['nats long-s key'])
        self.tok = h.NatsServer(token=self.s['nats auth_token'])
        self.nk = ConfNatsServer('authorization { users = [ { nkey: %s } ] }\n' % self.user_key.public)
        self.jw = ConfNatsServer(f'operator: {self.op_jwt}\nresolver: MEMORY\n'
                                 f'resolver_preload: {{ {self.acc_public}: {self.acc_jwt} }}\n')
        self.ng = h.Nginx()
        return [self.up, self.up_upper, self.up_long_s, self.tok, self.nk, self.jw, self.ng]

    def pids(self):
        p = [self.up.pid, self.up_upper.pid, self.up_long_s.pid, self.tok.pid, self.nk.pid, self.jw.pid,
             self.ng.backend.pid, os.getpid()]
        return p + self.ng.all_pids()

    def traffic(self):
        """Every kind of secret, on real connections; returns the logins'
        outcomes for the record."""
        s = self.s
        h.natsc(self.up.url, '--user', 'alice', '--pass', s['nats pass'], 'pub', 'secrets.up', 'x').wait_ok()
        h.natsc(self.tok.url, '--token', s['nats auth_token'], 'pub', 'secrets.tok', 'x').wait_ok()
        out = {}
        # nats-server reads CONNECT with Go's encoding/json: these log in too.
        out['PASS'] = raw_login(self.up_upper.port, b'{"user":"alice","PASS":"%s"}' % s['nats PASS key'].encode())
        out['long s'] = raw_login(self.up_long_s.port, ('{"user":"alice","pa\u017fs":"%s"}'
                                                 % s['nats long-s key']).encode())

        def nkey_connect(info):
            sig = b64url(self.user_key.sign(info['nonce'].encode()))
            self.sigs.append(sig)
            return {'nkey': self.user_key.public, 'sig': sig, 'verbose': False, 'protocol': 1}

        def jwt_connect(info):
            sig = b64url(self.jwt_user.sign(info['nonce'].encode()))
            self.sigs.append(sig)
            return {'jwt': self.user_jwt, 'sig': sig, 'verbose': False, 'protocol': 1}

        out['nkey'] = raw_login(self.nk.port, nkey_connect)
        out['jwt'] = raw_login(self.jw.port, jwt_connect)
        url = self.ng.url + '/hello.txt'
        curl = ['curl', '-sS', '-o', '/dev/null']
        h.run(curl + ['-H', f'Authorization: Bearer {s["http Authorization"]}', url])
        h.run(curl + ['-H', f'authorization: Bearer {s["http authorization (lower case)"]}', url])
        h.run(curl + ['-u', f'alice:{base64.b64decode(s["http Basic (curl -u)"]).decode().split(":", 1)[1]}', url])
        h.run(curl + ['-H', f'Proxy-Authorization: Basic {s["http Proxy-Authorization"]}', url])
        h.run(curl + ['-H', f'Cookie: session={s["http Cookie"]}', url])
        h.run(curl + [self.ng.url + '/setcookie'])
        return out

    def all_secrets(self):
        d = dict(self.s)
        for i, sig in enumerate(self.sigs):
            d[f'nats sig #{i + 1}'] = sig
        return d


def check_logins(out):
    expect(all(v == 'PONG' for v in out.values()),
           'real logins: nkey (signed nonce), user JWT (operator mode), "PASS" and "pa\\u017fs" keys', str(out))


def check_redacted_records(t, scene):
    """The records that carried each secret are in the trace, redacted."""
    def connects(port):
        return [r for r in t.nats(op='CONNECT') if r.get('peer', '').endswith(f':{port}') or
                r.get('local', '').endswith(f':{port}')]

    for port, key, what in ((scene.up.port, 'pass', 'user/password'), (scene.tok.port, 'auth_token', 'token'),
                            (scene.nk.port, 'sig', 'nkey signature'), (scene.jw.port, 'jwt', 'user JWT'),
                            (scene.jw.port, 'sig', 'JWT nonce signature')):
        recs = [r for r in connects(port) if key in (r.get('connect') or {})]
        expect(recs and all(r['connect'][key] == REDACTED for r in recs),
               f'NATS {what}: {len(recs)} CONNECT records, "{key}": "[REDACTED]"', dump(connects(port)))
    for key, port in (('PASS', scene.up_upper.port), ('pa\u017fs', scene.up_long_s.port)):
        recs = [r for r in connects(port) if key in (r.get('connect') or {})]
        expect(recs and all(r['connect'][key] == REDACTED for r in recs),
               f'NATS CONNECT key {key!r} (nats-server takes it for "pass"): redacted', dump(connects(port)))
    for name in ('Authorization', 'Proxy-Authorization', 'Cookie'):
        recs = [r for r in t.http(kind='request') if h.header(r, name) is not None]
        expect(recs and all(h.header(r, name) == REDACTED for r in recs),
               f'HTTP {name}: {len(recs)} request records, value "[REDACTED]"')
    recs = [r for r in t.http(kind='response') if h.header(r, 'Set-Cookie') is not None]
    expect(recs and all(h.header(r, 'Set-Cookie') == REDACTED for r in recs),
           f'HTTP Set-Cookie: {len(recs)} response records, value "[REDACTED]"')


def absent(where, text, secrets):
    leaked = [name for name, value in secrets.items() if value in text]
    expect(not leaked, f'{where}: none of the {len(secrets)} secrets appears', ', '.join(leaked))


def test_redacted_by_default():
    h.require_tools(['openssl', 'nginx'])
    scene = Scene()
    servers = scene.servers()
    for srv in servers:
        srv.__enter__()
    try:
        pids = ','.join(str(p) for p in scene.pids())
        args = ['-p', pids, '--buffer-size', 64]
        top_trace = os.path.join(h.mkdtemp('msgscope-top-'), 'top.jsonl')
        with h.Trace(args + ['-i', 1], settle=1.0) as t:
            tops = [h.spawn([h.msgscope_path(), 'top', '-b', '-d', 0.5, '-V', view, '-w', 400] + args)
                    for view in ('messages', 'flows')]
            topj = h.spawn([h.msgscope_path(), 'top', '-b', '--json', '-d', 0.5, '-V', 'messages',
                            '-o', top_trace] + args)
            for p in tops + [topj]:
                p.wait_for('', timeout=60)  # a first frame: attached
            time.sleep(1.0)
            out = scene.traffic()
            time.sleep(2.0)  # a few frames
            for p in tops + [topj]:
                p.signal(signal.SIGINT)
            rcs = [p.wait(timeout=60) for p in tops + [topj]]
        check_logins(out)
        expect(all(rc == 0 for rc in rcs), 'top -b: exit 0 on SIGINT', str(rcs))
        check_redacted_records(t, scene)
        secrets = scene.all_secrets()
        absent('the trace file', t.raw, secrets)
        absent('msgscope trace stderr', t.stderr, secrets)
        for p in tops + [topj]:
            expect(len(p.stdout) > 1000, f'top {" ".join(p.argv[2:8])}: printed its frames',
                   f'{len(p.stdout)} bytes')
            absent(f'top {" ".join(p.argv[2:8])} stdout', p.stdout, secrets)
            absent(f'top {" ".join(p.argv[2:8])} stderr', p.stderr, secrets)
        with open(top_trace) as f:
            absent('the trace recorded by top -o', f.read(), secrets)
    finally:
        for srv in reversed(servers):
            srv.__exit__(None, None, None)


def test_shown_with_show_secrets():
    h.require_tools(['openssl', 'nginx'])
    scene = Scene()
    servers = scene.servers()
    for srv in servers:
        srv.__enter__()
    try:
        pids = ','.join(str(p) for p in scene.pids())
        with h.Trace(['-p', pids, '-i', 1, '--buffer-size', 64, '--show-secrets'], settle=1.0) as t:
            out = scene.traffic()
        check_logins(out)
        expect(t.meta.get('options', {}).get('show_secrets') is True, 'meta line says show_secrets: true')
        for name, value in scene.all_secrets().items():
            expect(value in t.raw, f'--show-secrets: {name} is in the trace')
    finally:
        for srv in reversed(servers):
            srv.__exit__(None, None, None)


# ---------------------------------------------------------------------------
# privileges

CAP_NAMES = {0: 'CAP_CHOWN', 1: 'CAP_DAC_OVERRIDE', 2: 'CAP_DAC_READ_SEARCH', 3: 'CAP_FOWNER',
             5: 'CAP_KILL', 6: 'CAP_SETGID', 7: 'CAP_SETUID', 8: 'CAP_SETPCAP', 12: 'CAP_NET_ADMIN',
             13: 'CAP_NET_RAW', 16: 'CAP_SYS_MODULE', 17: 'CAP_SYS_RAWIO', 19: 'CAP_SYS_PTRACE',
             21: 'CAP_SYS_ADMIN', 23: 'CAP_SYS_NICE', 38: 'CAP_PERFMON', 39: 'CAP_BPF'}
# What docs/security.md allows to remain after attach, at most: with TLS
# capture on (probes attached to programs that start later), and without.
# CAP_SYS_NICE: at --nice above 0, to get back to nice 0 while the ring buffer
# fills, where RLIMIT_NICE cannot be raised instead (no CAP_SYS_RESOURCE).
ALLOWED_TLS = {'CAP_KILL', 'CAP_SYS_PTRACE', 'CAP_DAC_READ_SEARCH', 'CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_ADMIN',
               'CAP_SYS_NICE'}
ALLOWED_NO_TLS = {'CAP_KILL', 'CAP_SYS_PTRACE', 'CAP_DAC_READ_SEARCH', 'CAP_BPF'}
NEVER = {'CAP_DAC_OVERRIDE', 'CAP_SETUID', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_CHOWN', 'CAP_FOWNER',
         'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO'}


def status(pid):
    d = {}
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            k, _, v = line.partition(':')
            d[k] = v.strip()
    return d


def caps(hexmask):
    m = int(hexmask, 16)
    return {CAP_NAMES.get(i, f'cap{i}') for i in range(64) if m >> i & 1}


def niceness(pid):
    """Field 19 of /proc/PID/stat (after the parenthesised comm)."""
    return int(open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[16])


def max_nice(pid):
    """The soft RLIMIT_NICE of pid, from /proc/PID/limits."""
    for line in open(f'/proc/{pid}/limits'):
        if line.startswith('Max nice priority'):
            return int(line.split()[3])
    return 0


POLICY_NAMES = {os.SCHED_OTHER: 'SCHED_OTHER', os.SCHED_IDLE: 'SCHED_IDLE'}


def policy(pid):
    p = os.sched_getscheduler(pid)
    return POLICY_NAMES.get(p, str(p))


def check_dropped(ns, allowed, label, extra=(), nice=19, sched='SCHED_IDLE'):
    with h.Trace(['-p', ns.pid, '-v', *extra]) as t:
        st = status(t.proc.pid)
        expect(niceness(t.proc.pid) == nice and policy(t.proc.pid) == sched,
               f'{label}: runs as {sched} at nice {nice} once attached',
               f'{policy(t.proc.pid)}, nice {niceness(t.proc.pid)}')
        uid = st['Uid'].split()
        eff, prm, bnd = caps(st['CapEff']), caps(st['CapPrm']), caps(st['CapBnd'])
        h.log(f'    {label}: Uid {st["Uid"]}, CapEff {sorted(eff)}, NoNewPrivs {st["NoNewPrivs"]}')
        expect(all(u != '0' for u in uid), f'{label}: a non-root uid after attach (real, effective, saved, fs)',
               st['Uid'])
        expect(eff <= allowed and prm <= allowed, f'{label}: only documented capabilities remain '
               f'(at most {sorted(allowed)})', f'eff {sorted(eff)} prm {sorted(prm)}')
        expect(not (eff | prm) & NEVER, f'{label}: none of {sorted(NEVER)}')
        expect(bnd <= allowed and st.get('CapAmb', '0').strip('0') == '' and st.get('CapInh', '0').strip('0') == '',
               f'{label}: bounding set cut to what is kept, ambient and inheritable sets empty')
        expect(st['NoNewPrivs'] == '1', f'{label}: no_new_privs set')
        # Credentials are per thread: the priority watcher (userspace/
        # prio_watch.h), started after the drop, has no more than the rest.
        tids = [int(x) for x in os.listdir(f'/proc/{t.proc.pid}/task')]
        tasks = {tid: status(f'{t.proc.pid}/task/{tid}') for tid in tids}
        expect(all(all(u != '0' for u in ts['Uid'].split()) and caps(ts['CapEff']) <= eff and
                   caps(ts['CapPrm']) <= prm and caps(ts['CapBnd']) <= bnd for ts in tasks.values()),
               f'{label}: every thread ({len(tids)}) as unprivileged as the main one',
               str({tid: (ts['Uid'], sorted(caps(ts['CapEff']))) for tid, ts in tasks.items()}))
        watchers = [tid for tid in tids if tid != t.proc.pid]
        expect(len(watchers) == (1 if nice else 0) and
               all(niceness(f'{t.proc.pid}/task/{w}') == 0 and policy(w) == 'SCHED_OTHER' for w in watchers),
               f'{label}: {"one watcher thread at nice 0" if nice else "no watcher thread at --nice 0"}',
               str([(w, niceness(f'{t.proc.pid}/task/{w}'), policy(w)) for w in watchers]))
        if nice:
            expect('CAP_SYS_NICE' in eff or max_nice(t.proc.pid) >= 20,
                   f'{label}: may go back to nice 0 while its ring buffer fills (CAP_SYS_NICE or RLIMIT_NICE 20)',
                   f'eff {sorted(eff)}, RLIMIT_NICE {max_nice(t.proc.pid)}')
        # Still capturing after the drop.
        h.natsc(ns.url, 'pub', 'priv.after', label, 3).wait_ok()
        time.sleep(1.0)
    expect(len(t.nats(op='PUB', subject='priv.after', pid=ns.pid, payload=label)) == 3,
           f'{label}: capture works after the privilege drop (ring buffer, maps)')
    expect(t.end.get('reason') == 'signal', f'{label}: stops cleanly on SIGINT after the drop')
    expect('privileges dropped' in t.stderr, f'{label}: -v says what was kept', t.stderr)


def test_privileges_dropped():
    with h.NatsServer() as ns:
        check_dropped(ns, ALLOWED_TLS, 'TLS capture on')
        check_dropped(ns, ALLOWED_NO_TLS, 'with no-tls and --nice 0', ['--no-tls', '--nice', '0'], nice=0,
                      sched='SCHED_OTHER')


def test_catches_up_after_privdrop():
    """Stopped while a burst fills more than a quarter of its ring buffer,
    msgscope, unprivileged by then, leaves SCHED_IDLE for nice 0 until it has
    caught up, then goes back (userspace/priority.h)."""
    with h.NatsServer() as ns:
        with h.Trace(['-p', ns.pid, '-b', '1']) as t:
            expect(policy(t.proc.pid) == 'SCHED_IDLE', 'runs as SCHED_IDLE by default', policy(t.proc.pid))
            os.kill(t.proc.pid, signal.SIGSTOP)
            try:
                h.natsc(ns.url, 'pubsize', 'boost.burst', 600000).wait_ok()
            finally:
                os.kill(t.proc.pid, signal.SIGCONT)
            deadline = time.time() + 10
            while policy(t.proc.pid) != 'SCHED_IDLE' and time.time() < deadline:
                time.sleep(0.05)
            expect(policy(t.proc.pid) == 'SCHED_IDLE', 'back to SCHED_IDLE once caught up', policy(t.proc.pid))
    expect(t.end.get('boosts', 0) >= 1 and t.end.get('futile_boosts') == 0,
           'the burst made it run at nice 0 (the end line counts the boost), and nothing was dropped',
           h.short(t.end))
    expect('cannot raise priority' not in t.stderr, 'the boost was allowed after the privilege drop', t.stderr)
    expect(len(t.nats(op='PUB', subject='boost.burst')) == 1, 'the burst was recorded',
           str(len(t.nats(op='PUB', subject='boost.burst'))))


def test_command_child_still_stopped():
    """-- CMD: a command that changes its own uid is still stopped at the
    end (CAP_KILL is kept for it)."""
    h.require_tools(['setpriv'])
    with h.Trace(['-D', 2], cmd=['setpriv', '--reuid', '65533', '--regid', '65533', '--clear-groups',
                                 'sleep', '600']) as t:
        time.sleep(0.5)
        kids = [int(x) for x in open(f'/proc/{t.proc.pid}/task/{t.proc.pid}/children').read().split()]
        expect(kids and all(niceness(k) == 0 and policy(k) == 'SCHED_OTHER' for k in kids),
               'the command keeps its own priority (msgscope lowers only its own)',
               str([(niceness(k), policy(k)) for k in kids]))
        rc = t.wait_exit(timeout=60)
    expect(rc == 0 and t.end.get('reason') == 'duration', '--duration with a command: exit 0', h.short(t.end))
    time.sleep(0.5)
    expect(kids and not any(os.path.exists(f'/proc/{k}') and
                            open(f'/proc/{k}/stat').read().split()[2] != 'Z' for k in kids),
           'the command (running as uid 65533) was stopped by msgscope running as nobody', str(kids))


if __name__ == '__main__':
    h.main([test_redacted_by_default, test_shown_with_show_secrets, test_privileges_dropped,
            test_catches_up_after_privdrop, test_command_child_still_stopped],
           needs=['nats-server', 'nginx', 'curl', 'openssl'])
