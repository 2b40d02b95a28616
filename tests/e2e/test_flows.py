#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end: flow reconstruction on a multi-component scenario.

A miniature Cloud Foundry: differently named processes (copies of the
libnats test client, so each has its own comm) talk through a real
nats-server, and curl talks to a python backend through an nginx proxy.

    cc_ng   --router.register-->  router, hm9000 (wildcard router.>)
    cc_ng   --dea.stage------->   dea_a | dea_b  (queue group: one each)
    cc_ng   --uaa.token (request-reply)--> uaa
    curl    --POST /echo/app/<uuid>--> nginx --> python3 backend

The flow lines must name exactly these edges with exact counts and
plausible latencies, first with everything traced, then seen through
`-p <nats-server>` alone, which must give the same NATS edges.
"""

import os
import shutil
import uuid

import harness as h

TIMEOUT_S = 5  # the scenario's (and the correlator's default) timeout

ROUTER_MSGS = 3
STAGE_MSGS = 4
TOKEN_REQS = 2
HTTP_CALLS = 3


def component_clients(tmp):
    """Copies of natsc under component names: comm is the file name."""
    paths = {}
    for name in ('cc_ng', 'router', 'hm9000', 'dea_a', 'dea_b', 'uaa'):
        p = os.path.join(tmp, name)
        shutil.copy(h.natsc_path(), p)
        os.chmod(p, 0o755)
        paths[name] = p
    return paths


def run_scenario(ns, ng, bins):
    url = ns.url
    subs = [
        h.spawn([bins['router'], '-s', url, '--name', 'router', 'sub', 'router.register',
                 '--count', str(ROUTER_MSGS), '--timeout', '15']),
        h.spawn([bins['hm9000'], '-s', url, '--name', 'hm9000', 'sub', 'router.>',
                 '--count', str(ROUTER_MSGS), '--timeout', '15']),
        h.spawn([bins['dea_a'], '-s', url, '--name', 'dea_a', 'sub', 'dea.stage',
                 '--queue', 'dea', '--timeout', '4']),
        h.spawn([bins['dea_b'], '-s', url, '--name', 'dea_b', 'sub', 'dea.stage',
                 '--queue', 'dea', '--timeout', '4']),
        h.spawn([bins['uaa'], '-s', url, '--name', 'uaa', 'reply', 'uaa.token', 'tok',
                 '--count', str(TOKEN_REQS)]),
    ]
    for p in subs:
        p.wait_for('READY', timeout=10)
    h.run([bins['cc_ng'], '-s', url, '--name', 'cc_ng', 'pub', 'router.register',
           '{"host":"10.0.0.5","port":61001}', str(ROUTER_MSGS)])
    h.run([bins['cc_ng'], '-s', url, '--name', 'cc_ng', 'pub', 'dea.stage',
           '{"app":"web"}', str(STAGE_MSGS)])
    h.run([bins['cc_ng'], '-s', url, '--name', 'cc_ng', 'request', 'uaa.token', 'creds',
           '--count', str(TOKEN_REQS), '--timeout', str(TIMEOUT_S)])
    for _ in range(HTTP_CALLS):
        h.run(['curl', '-sS', '-o', '/dev/null', '-d', '{"state":"STARTED"}',
               f'{ng.url}/echo/app/{uuid.uuid4()}'])
    for p in subs:
        p.wait(timeout=20)


def comm(ep):
    return (ep or {}).get('comm')


def who(ep):
    """A NATS component by its CONNECT name: seen from the server alone, a
    short-lived client may be gone before /proc can name its process."""
    ep = ep or {}
    return ep.get('name') or ep.get('comm')


def final_flows(t, proto=None):
    return [r for r in t.records if r.get('type') == 'flow' and r.get('final')
            and (proto is None or r.get('proto') == proto)]


def edge_counts(flows, names):
    """{(from comm, to comm, subject or endpoint): count} among our components."""
    out = {}
    for f in flows:
        a, b = who(f.get('from')), who(f.get('to'))
        if a in names or b in names:
            key = (a, b, f.get('subject') or f.get('endpoint'))
            out[key] = out.get(key, 0) + f['count']
    return out


def check_nats_edges(t, label):
    names = {'cc_ng', 'router', 'hm9000', 'dea_a', 'dea_b', 'uaa'}
    flows = final_flows(t, 'nats')
    got = edge_counts(flows, names)
    h.log(f'  {label}: NATS edges {sorted(got.items(), key=str)}')
    h.expect(got.get(('cc_ng', 'router', 'router.register')) == ROUTER_MSGS,
             f'{label}: cc_ng -> router on router.register x{ROUTER_MSGS}', h.dump(flows))
    h.expect(got.get(('cc_ng', 'hm9000', 'router.register')) == ROUTER_MSGS,
             f'{label}: cc_ng -> hm9000 (wildcard router.>) x{ROUTER_MSGS}', h.dump(flows))
    a = got.get(('cc_ng', 'dea_a', 'dea.stage'), 0)
    b = got.get(('cc_ng', 'dea_b', 'dea.stage'), 0)
    h.expect(a + b == STAGE_MSGS, f'{label}: queue group dea got {STAGE_MSGS} in all ({a}+{b})',
             h.dump(flows))
    h.expect(got.get(('cc_ng', 'uaa', 'uaa.token')) == TOKEN_REQS,
             f'{label}: cc_ng -> uaa request-reply x{TOKEN_REQS}', h.dump(flows))
    stray = {k: v for k, v in got.items() if k[0] != 'cc_ng'}
    h.expect(not stray, f'{label}: no other edges among the components', str(stray))

    req = [f for f in flows if who(f.get('from')) == 'cc_ng' and f.get('subject') == 'uaa.token']
    for f in req:
        h.expect(f.get('kind') == 'req', f'{label}: uaa.token edge is request-reply')
        p50, mx = f.get('p50_ns') or 0, f.get('max_ns') or 0
        h.expect(0 < p50 <= mx < TIMEOUT_S * 1e9,
                 f'{label}: request latency plausible (0 < p50 {p50} <= max {mx} < {TIMEOUT_S}s)')
        h.expect(f.get('errors') == 0, f'{label}: no request errors')

    dels = [r for r in t.records if r.get('type') == 'delivery' and r.get('subject') == 'dea.stage'
            and who(r.get('from')) == 'cc_ng']
    h.expect(len(dels) == STAGE_MSGS, f'{label}: {STAGE_MSGS} dea.stage deliveries', h.dump(dels))
    h.expect(all(len(d['to']) == 1 and who(d['to'][0]) in ('dea_a', 'dea_b') for d in dels),
             f'{label}: each queue-group message reached exactly one member', h.dump(dels))
    fan = [r for r in t.records if r.get('type') == 'delivery' and r.get('subject') == 'router.register'
           and who(r.get('from')) == 'cc_ng']
    h.expect(len(fan) == ROUTER_MSGS and all(sorted(who(x) for x in d['to']) == ['hm9000', 'router']
                                             for d in fan),
             f'{label}: each router.register fanned out to router and hm9000 (one event each)',
             h.dump(fan))
    exch = [r for r in t.records if r.get('type') == 'exchange' and r.get('subject') == 'uaa.token']
    h.expect(len(exch) == TOKEN_REQS and all(r.get('answered') and who(r.get('client')) == 'cc_ng'
                                             and who(r.get('server')) == 'uaa' for r in exch),
             f'{label}: {TOKEN_REQS} answered uaa.token exchanges cc_ng -> uaa', h.dump(exch))


def everything_traced(extra, label):
    """The scenario traced system-wide; its NATS and HTTP flows checked.
    Returns the trace and nginx's port."""
    tmp = h.mkdtemp()
    bins = component_clients(tmp)
    with h.NatsServer() as ns, h.Nginx() as ng:
        with h.Trace(['--port', ns.port_arg, '--port', ng.port_arg, '-i', '1'] + extra,
                     settle=1.0) as t:
            run_scenario(ns, ng, bins)
    check_nats_edges(t, label)
    check_http_flows(t, ng.port)
    return t, ng.port


def test_everything_traced():
    t, _ = everything_traced([], 'all traced')
    h.expect(not any(r.get('peer_read') for r in t.records),
             'without --pair-local no record is marked peer_read')


def test_everything_paired():
    """--pair-local: the same flows from one record per local message."""
    t, port = everything_traced(['--pair-local'], 'paired')
    end = t.records[-1] if t.records else {}
    h.expect(end.get('type') == 'end' and end.get('paired', 0) >= 1 and end.get('peer_reads', 0) >= 1,
             'end line: connections paired, reads left out', h.short(end))
    ours = {'cc_ng', 'router', 'hm9000', 'dea_a', 'dea_b', 'uaa'}
    msgs = [r for r in t.records if r.get('type') == 'nats' and r.get('op') in ('PUB', 'MSG')
            and r.get('comm') in ours | {'nats-server'}]
    marked = [r for r in msgs if r.get('peer_read')]
    h.expect(all(r.get('dir') == 'send' for r in marked), 'only sends are marked peer_read',
             h.dump(marked))
    # every client end is paired at nats-server's first read of it, so the
    # clients read nothing the server sent them after its INFO
    late_reads = [r for r in msgs if r.get('dir') == 'recv' and r.get('comm') in ours]
    h.expect(marked and not late_reads,
             f'PUB/MSG once each: {len(marked)} marked sends, no client read of a MSG',
             h.dump(late_reads))
    # a delivery complete without the readers' records: the senders' stood in
    dels = [r for r in t.records if r.get('type') == 'delivery' and who(r.get('from')) == 'cc_ng']
    h.expect(len(dels) == ROUTER_MSGS + STAGE_MSGS + TOKEN_REQS and all(d.get('complete') for d in dels),
             'every delivery from cc_ng complete, none left to the timeout', h.dump(dels))
    curl = [r for r in t.records if r.get('type') == 'http' and r.get('comm') == 'curl'
            and r.get('peer', '').endswith(f':{port}')]
    h.expect(len([r for r in curl if r.get('dir') == 'send']) == HTTP_CALLS and
             not [r for r in curl if r.get('dir') == 'recv'],
             f'curl: {HTTP_CALLS} requests recorded, its reads of the responses left out',
             h.dump(curl))


def check_http_flows(t, port):
    flows = final_flows(t, 'http')
    got = {}
    for f in flows:
        key = (comm(f.get('from')), comm(f.get('to')), f.get('method'), f.get('endpoint'))
        got[key] = got.get(key, 0) + f['count']
    h.log(f'  HTTP edges {sorted(got.items(), key=str)}')
    h.expect(got.get(('curl', 'nginx', 'POST', '/echo/app/{id}')) == HTTP_CALLS,
             f'curl -> nginx POST /echo/app/{{id}} x{HTTP_CALLS} (uuids templated)', h.dump(flows))
    backend = [(k, v) for k, v in got.items() if k[0] == 'nginx' and k[3] == '/echo/app/{id}']
    h.expect(len(backend) == 1 and backend[0][1] == HTTP_CALLS and backend[0][0][1] == 'python3',
             f'nginx -> python3 backend x{HTTP_CALLS} (through the proxy)', h.dump(flows))
    ours = f':{port}'
    ex = [r for r in t.records if r.get('type') == 'exchange' and r.get('proto') == 'http'
          and comm(r.get('client')) == 'curl'
          and (r.get('server') or {}).get('addr', '').endswith(ours)]
    h.expect(len(ex) == HTTP_CALLS and all(r.get('status') == 200 and 0 < r.get('latency_ns', 0)
                                           < TIMEOUT_S * 1e9 for r in ex),
             f'{HTTP_CALLS} curl exchanges, status 200, plausible latency', h.dump(ex))


def test_server_side_only():
    tmp = h.mkdtemp()
    bins = component_clients(tmp)
    with h.NatsServer() as ns, h.Nginx() as ng:
        with h.Trace(['-p', ns.pid, '-i', '1'], settle=1.0) as t:
            run_scenario(ns, ng, bins)
    pids = {r.get('pid') for r in t.records if r.get('type') == 'nats'}
    h.expect(pids == {ns.pid}, 'only nats-server sockets were traced', str(pids))
    check_nats_edges(t, 'server only')


if __name__ == '__main__':
    h.main([test_everything_traced, test_everything_paired, test_server_side_only], needs=['nats-server', 'nginx', 'curl'])
