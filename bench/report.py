#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Aggregate bench/run.sh's raw results into markdown.

  report.py OUTDIR           summary.md on stdout (all cases)
  report.py --one RUNDIR     one line about one run (for the log)
  report.py --bpf DIR        BPF program run time from bpf_before/after.json
  report.py --soak DIR       RSS at minute 2 vs the end of the soak
"""
import json
import os
import random
import re
import statistics
import sys

TARGETS = {
    "nats-256-max": "traced msgs/s >= 0.95 x untraced",
    "nats-256-100k": "100% accounted, 0 drops, CPU <= 25%, RSS <= 64 MiB",
    "http-wrk": "traced req/s >= 0.90 x untraced",
}


def last_json(path):
    try:
        with open(path) as f:
            lines = [l for l in f if l.startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def wrk_out(path):
    """Requests/sec, p99 (us), completed requests from wrk's text output."""
    try:
        text = open(path).read()
    except OSError:
        return None
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    n = re.search(r"(\d+) requests in", text)
    if not m:
        return None
    mult = {"us": 1, "ms": 1e3, "s": 1e6}
    return {"tput": float(m.group(1)),
            "p99_us": float(p.group(1)) * mult[p.group(2)] if p else None,
            "p50_us": None,
            "completed": int(n.group(1)) if n else None}


def run_metrics(d):
    """Throughput, latency and client-side facts of one run directory."""
    r = {"dir": d, "failed": os.path.exists(os.path.join(d, "FAILED"))}
    if os.path.exists(os.path.join(d, "sub.out")):
        pub, sub = last_json(os.path.join(d, "pub.out")), last_json(os.path.join(d, "sub.out"))
        if pub and sub:
            r.update(kind="pubsub", tput=sub["msgs_per_s"], pub_rate=pub["msgs_per_s"],
                     p50_us=sub["lat_p50_us"], p99_us=sub["lat_p99_us"],
                     sent=pub["sent"], received=sub["received"], lost=sub["lost"],
                     lib_dropped=sub["lib_dropped"], markers=pub.get("markers", 1),
                     msg_size=pub.get("size"))
    elif os.path.exists(os.path.join(d, "req.out")):
        req, rep = last_json(os.path.join(d, "req.out")), last_json(os.path.join(d, "reply.out"))
        if req:
            r.update(kind="reqrep", tput=req["req_per_s"], p50_us=req["rtt_p50_us"],
                     p99_us=req["rtt_p99_us"], requests=req["requests"], ok=req["ok"],
                     errors=req["errors"], answered=(rep or {}).get("answered"))
    elif os.path.exists(os.path.join(d, "wrk.out")):
        w = wrk_out(os.path.join(d, "wrk.out"))
        if w:
            r.update(kind="wrk", **w)
    elif os.path.exists(os.path.join(d, "http_rate.out")):
        h = last_json(os.path.join(d, "http_rate.out"))
        if h:
            r.update(kind="http_rate", tput=h["req_per_s"], p50_us=h["lat_p50_us"],
                     p99_us=h["lat_p99_us"], svc_p99_us=h["svc_p99_us"], sent=h["sent"],
                     completed=h["completed"], errors=h["errors"])
    t = load_json(os.path.join(d, "tracer.json")) or {}
    r["tracer"] = t
    dist = os.path.join(d, "DISTURBED")
    r["contaminated"] = open(dist).read().strip() if os.path.exists(dist) else ""
    return r


def completeness(d, r):
    """Per observation point: expected vs recorded, and the drop accounting."""
    c = load_json(os.path.join(d, "counts.json"))
    pids = load_json(os.path.join(d, "pids.json"))
    if not c or not pids or "kind" not in r:
        return None
    counts, mode = c["counts"], r["tracer"].get("mode")
    sysw = mode in ("sys", "pair")

    def count(pid, direction, op, subj):
        return counts.get("%s|%s|%s|%s|%s" % (
            "http" if r["kind"] in ("wrk", "http_rate") else "nats", pid, direction, op, subj), 0)

    def rec(pid, direction, op, subj, sender=None):
        # A recv is also seen in its sender's peer_read sends (--pair-local,
        # trace_count's dir "peer"), which stand for the reader's record.
        n = count(pid, direction, op, subj)
        if direction == "recv" and sender is not None:
            n += count(sender, "peer", op, subj)
        return n

    pts = []  # (label, expected, recorded)
    if r["kind"] == "pubsub":
        s, n_pub, n_msg = pids["subject"], r["sent"] + 1, r["received"] + 1
        pts.append(("pub PUB send", n_pub, rec(pids["pub"], "send", "PUB", s)))
        if sysw:
            pts.append(("server PUB recv", n_pub, rec(pids["server"], "recv", "PUB", s, pids["pub"])))
            pts.append(("server MSG send", n_msg, rec(pids["server"], "send", "MSG", s)))
        pts.append(("sub MSG recv", n_msg, rec(pids["sub"], "recv", "MSG", s, pids["server"])))
    elif r["kind"] == "reqrep":
        s, nreq, nans, nok = pids["subject"], r["requests"] + 1, r.get("answered") or 0, r["ok"]
        pts.append(("req PUB send", nreq, rec(pids["req"], "send", "PUB", s)))
        if sysw:
            pts.append(("server PUB recv", nreq, rec(pids["server"], "recv", "PUB", s, pids["req"])))
            pts.append(("server MSG send", nreq, rec(pids["server"], "send", "MSG", s)))
        pts.append(("reply MSG recv", nreq, rec(pids["reply"], "recv", "MSG", s, pids["server"])))
        pts.append(("reply PUB send", nans, rec(pids["reply"], "send", "PUB", "_INBOX.*")))
        if sysw:
            pts.append(("server PUB recv (reply)", nans, rec(pids["server"], "recv", "PUB", "_INBOX.*", pids["reply"])))
            pts.append(("server MSG send (reply)", nok, rec(pids["server"], "send", "MSG", "_INBOX.*")))
        pts.append(("req MSG recv (reply)", nok, rec(pids["req"], "recv", "MSG", "_INBOX.*", pids["server"])))
    else:
        n = r["completed"]
        pts.append(("client request send", n, rec(pids["client"], "send", "request", "/small")))
        if sysw:
            pts.append(("server request recv", n, rec(pids["server"], "recv", "request", "/small", pids["client"])))
            pts.append(("server response send", n, rec(pids["server"], "send", "response", "")))
        pts.append(("client response recv", n, rec(pids["client"], "recv", "response", "", pids["server"])))
    end = c.get("end") or {}
    drops = c.get("drops") or {}
    drop_events = end.get("drops", drops.get("total_events", 0)) or 0
    drop_bytes = drops.get("total_bytes", 0) or 0
    # The bytes a lost message took on the wire. Pub/sub: known, the mean
    # of its PUB and MSG (sid 1) lines with the payload. Else the captured
    # bytes per record, which runs long when many records are cut off (a
    # message's captured start both in `bytes` and, as its record, in the
    # count): in a shedding run that left 1.8% of the messages unaccounted.
    if r["kind"] == "pubsub" and r.get("msg_size") is not None:
        body = r["msg_size"] + 2
        per_msg = (len("PUB %s %d\r\n" % (pids["subject"], r["msg_size"])) +
                   len("MSG %s 1 %d\r\n" % (pids["subject"], r["msg_size"]))) / 2 + body
    else:
        per_msg = (end.get("bytes", 0) / end["records"]) if end.get("records") else 0
    # gap_bytes (end line): stream bytes the parsers never saw, from drops
    # and from snaplen cuts (which cost no drop event). Dropped bytes at the
    # very end of a stream become a gap only if the connection's close event
    # got through; drop_bytes counts them either way, and cut_bytes (traces
    # since 2026-12-06) the cuts, so their sum is every byte not captured.
    drop_bytes = max(drop_bytes, end.get("drop_bytes", 0) or 0)
    lost_bytes = max(drop_bytes + (end.get("cut_bytes", 0) or 0), end.get("gap_bytes", 0) or 0)
    # skipped_bytes (end line): captured bytes thrown away while resyncing
    # after a gap, the rest of messages that started inside it.
    lost_bytes += end.get("skipped_bytes", 0) or 0
    # peer_lost_bytes (--pair-local): of those, bytes of sends whose readers
    # left their reads out: lost to the reader's observation point too.
    lost_bytes += end.get("peer_lost_bytes", 0) or 0
    est_dropped = lost_bytes / per_msg if per_msg and lost_bytes else 0.0
    expected = sum(p[1] for p in pts)
    recorded = sum(min(p[1], p[2]) for p in pts)
    extra = sum(max(0, p[2] - p[1]) for p in pts)
    unacc = max(0.0, expected - recorded - est_dropped)
    return {"points": pts, "expected": expected, "recorded": recorded, "extra": extra,
            "drop_events": drop_events, "drop_bytes": drop_bytes, "est_dropped": est_dropped,
            "accounted_pct": 100.0 * min(expected, recorded + est_dropped) / expected if expected else 0,
            "recorded_pct": 100.0 * recorded / expected if expected else 0,
            "unaccounted": unacc, "end": end, "untracked": drops.get("untracked", 0),
            "resyncs": end.get("resyncs"), "parse_errors": end.get("parse_errors")}


def fmt(v, nd=0):
    if v is None:
        return "–"
    if isinstance(v, float):
        return ("{:,.%df}" % nd).format(v)
    return "{:,}".format(v)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# From this many rounds on, a ratio cell also gives the median of the
# rounds' own ratios with a bootstrap 95% interval: 3 rounds' range says
# little on a host whose speed drifts by more than the targets' margins.
ROUNDS_FOR_INTERVAL = 6


def median_ci(xs, draws=2000, seed=1):
    """Median of xs and a bootstrap 95% interval of it (fixed seed, so the
    same raw data gives the same summary)."""
    rng = random.Random(seed)
    bs = sorted(statistics.median(rng.choices(xs, k=len(xs))) for _ in range(draws))
    return statistics.median(xs), bs[int(draws * 0.025)], bs[int(draws * 0.975) - 1]


def ratio_cell(ratio, paired):
    """The ratio of the medians, the range of each round's ratio, and from
    ROUNDS_FOR_INTERVAL rounds the rounds' median, its interval and how
    many rounds the traced run was the faster."""
    cell = fmt(ratio, 3) if ratio is not None else "–"
    if len(paired) > 1:
        cell += " (%.2f-%.2f)" % (min(paired), max(paired))
    if len(paired) >= ROUNDS_FOR_INTERVAL:
        m, lo, hi = median_ci(paired)
        cell += "; rounds %.3f, 95%% %.3f-%.3f, faster in %d of %d" % (
            m, lo, hi, sum(1 for x in paired if x > 1), len(paired))
    return cell


def one(d):
    r = run_metrics(d)
    t = r["tracer"]
    s = "tput=%s p99=%sus" % (fmt(r.get("tput")), fmt(r.get("p99_us")))
    if r.get("lost"):
        s += " LOST=%s" % r["lost"]
    if t.get("mspid"):
        s += " cpu=%.1f%% hwm=%.1fMiB drops=%s drain=%.2fs" % (
            t["cpu_pct"], t["hwm_kb"] / 1024, t["drops_stderr"], t["drain_s"])
        if t.get("sheds_stderr"):
            s += " sheds=%d" % t["sheds_stderr"]
    if t.get("exit"):
        s += " msgscope-exit=%s" % t["exit"]
    if t.get("stop_s") is not None:
        s += " stop=%.1fs" % t["stop_s"]
    if t.get("foreign_cpu_pct") is not None:
        s += " others=%.0f%%" % t["foreign_cpu_pct"]
    if r["contaminated"]:
        s += " [disturbed: %s]" % r["contaminated"]
    cp = completeness(d, r)
    if cp:
        s += " recorded=%.2f%% accounted=%.2f%% unaccounted=%d" % (
            cp["recorded_pct"], cp["accounted_pct"], cp["unaccounted"])
    return s


def summary(out):
    raw = os.path.join(out, "raw")
    lines = []
    env = os.path.join(out, "env.txt")
    if os.path.exists(env):
        lines += ["```", open(env).read().rstrip(), "```", ""]
    if not os.path.isdir(raw):
        return "\n".join(lines)
    cases = [c for c in sorted(os.listdir(raw))]
    order = ["nats-16-max", "nats-256-max", "nats-4k-max", "nats-16-10k", "nats-256-10k",
             "nats-4k-10k", "nats-16-100k", "nats-256-100k", "nats-4k-100k",
             "nats-reqrep-256", "http-wrk", "http-rate-10k"]
    cases.sort(key=lambda c: order.index(c) if c in order else 99)
    mode_names = {"untraced": "untraced", "sys": "trace, system-wide",
                  "sys0": "trace, system-wide, --nice 0", "sys19": "trace, system-wide, --nice 19",
                  "pid": "trace -p clients", "tui": "top -b (TUI batch)",
                  "pair": "trace, system-wide, --pair-local"}
    lines += ["## Overhead (medians of the timed runs, trace written to /dev/null)", "",
              "| case | mode | runs | throughput /s | ratio (range of each round's) | p50 us | p99 us | p99 ratio "
              "| msgscope CPU % of 1 core | peak RSS MiB | drops (events) | lost by NATS |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    comp_lines = ["## Completeness (one extra run per traced mode, trace piped to trace_count)", "",
                  "| case | mode | observation points | expected | recorded | recorded % "
                  "| drop events | sheds (s) | est. lost msgs (drops + gaps) | accounted % | unaccounted | msgscope CPU % |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    detail = ["## Completeness per observation point", ""]
    for case in cases:
        base, base_runs = None, {}
        for mode in ["untraced", "sys", "sys19", "sys0", "pair", "pid", "tui"]:
            md = os.path.join(raw, case, mode)
            if not os.path.isdir(md):
                continue
            names = [i for i in sorted(os.listdir(md)) if i != "complete"]
            runs = [dict(run_metrics(os.path.join(md, i)), run_name=i) for i in names]
            ok = [r for r in runs if "tput" in r and not r["failed"]]
            clean = [r for r in ok if not r["contaminated"]]
            use = clean if clean else ok
            note = "" if len(clean) == len(ok) else (
                " (%d disturbed excluded)" % (len(ok) - len(clean)) if clean else " (all disturbed)")
            tput = med([r["tput"] for r in use])
            p50 = med([r.get("p50_us") for r in use])
            p99 = med([r.get("p99_us") for r in use])
            cpu = med([r["tracer"].get("cpu_pct") for r in use])
            hwm = max([r["tracer"].get("hwm_kb", 0) for r in use] or [0])
            stuck = sum(1 for r in use if r["tracer"].get("exit") not in (None, 0))
            drain = max([r["tracer"].get("drain_s", 0) for r in use] or [0])
            drops = [r["tracer"]["drops_stderr"] for r in use if r["tracer"].get("drops_stderr") is not None]
            shed_runs = sum(1 for r in use if r["tracer"].get("sheds_stderr"))
            lost = [r.get("lost") for r in use if r.get("lost") is not None]
            if mode == "untraced":
                base = (tput, p99)
                base_runs = {r["run_name"]: r["tput"] for r in use if r["tput"]}
            ratio = tput / base[0] if base and base[0] and tput is not None else None
            # Each run against the untraced run of its round: the host's
            # speed drifts, so the spread says how far the median can be trusted.
            paired = [r["tput"] / base_runs[r["run_name"]] for r in use
                      if base and r["run_name"] in base_runs and r["tput"] is not None]
            cell = ratio_cell(ratio, paired)
            p99r = p99 / base[1] if base and base[1] and p99 is not None else None
            lines.append("| %s | %s | %d%s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                case, mode_names[mode], len(use), note, fmt(tput), cell if mode != "untraced" else "1",
                fmt(p50), fmt(p99), fmt(p99r, 2) if mode != "untraced" else "1",
                (fmt(cpu, 1) + (" (drain %.0f s%s)" % (drain, ", %d killed" % stuck if stuck else "")
                                if drain > 2 or stuck else "")) if mode != "untraced" else "–",
                fmt(hwm / 1024, 1) if mode != "untraced" else "–",
                ("%s (max %s)%s" % (fmt(med(drops)), fmt(max(drops)),
                                    "; shed in %d of %d runs" % (shed_runs, len(use)) if shed_runs else ""))
                if drops else ("n/a" if mode == "tui" else "–"),
                ("max %s" % fmt(max(lost))) if lost else "–"))
            cd = os.path.join(md, "complete")
            if os.path.isdir(cd):
                r = run_metrics(cd)
                cp = completeness(cd, r)
                if cp:
                    comp_lines.append("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                        case, mode_names[mode], len(cp["points"]), fmt(cp["expected"]),
                        fmt(cp["recorded"]), fmt(cp["recorded_pct"], 2), fmt(cp["drop_events"]),
                        "%s (%.1f)" % (fmt(cp["end"].get("sheds", 0)), (cp["end"].get("shed_ms", 0) or 0) / 1000),
                        fmt(cp["est_dropped"], 0), fmt(cp["accounted_pct"], 2),
                        fmt(round(cp["unaccounted"])), fmt(r["tracer"].get("cpu_pct"), 1)))
                    detail.append("- %s / %s: " % (case, mode) + "; ".join(
                        "%s %s/%s" % (p[0], fmt(p[2]), fmt(p[1])) for p in cp["points"]) +
                        "; end line: %s" % json.dumps({k: cp["end"].get(k) for k in (
                            "events", "records", "drops", "drop_bytes", "gap_bytes", "cut_bytes", "parse_errors", "resyncs")}))
        lines.append("|  |  |  |  |  |  |  |  |  |  |  |  |")
    lines.pop()
    return "\n".join(lines + [""] + comp_lines + [""] + detail) + "\n"


def bpf(d):
    ids = set(open(os.path.join(d, "prog_ids")).read().split())
    before = {str(p["id"]): p for p in load_json(os.path.join(d, "bpf_before.json")) or []}
    after = {str(p["id"]): p for p in load_json(os.path.join(d, "bpf_after.json")) or []}
    tr = load_json(os.path.join(d, "tracer.json")) or {}
    wall = tr.get("wall_s") or 1
    rows = []
    for i in ids:
        a, b = after.get(i, {}), before.get(i, {})
        ns = a.get("run_time_ns", 0) - b.get("run_time_ns", 0)
        cnt = a.get("run_cnt", 0) - b.get("run_cnt", 0)
        rows.append((ns, cnt, a.get("name", i)))
    rows.sort(reverse=True)
    tot = sum(r[0] for r in rows)
    print("BPF programs of msgscope during the run (%.1f s): total %.3f s of CPU = %.1f%% of one core"
          % (wall, tot / 1e9, 100 * tot / 1e9 / wall))
    print("%-20s %12s %12s %10s" % ("program", "run_cnt", "run_time_ms", "ns/run"))
    for ns, cnt, name in rows:
        if cnt:
            print("%-20s %12d %12.1f %10.0f" % (name, cnt, ns / 1e6, ns / cnt))


def soak(d):
    rows = []
    for l in open(os.path.join(d, "rss.txt")).read().split("\n")[1:]:
        f = l.split()
        if len(f) >= 3 and f[1].isdigit():
            rows.append((int(f[0]), int(f[1]), int(f[2]), int(f[3]) if len(f) > 3 and f[3].isdigit() else 0))
    if not rows:
        print("soak: no samples")
        return
    m2 = min(rows, key=lambda r: abs(r[0] - 120))
    last = rows[-1]
    print("soak: %d samples; RSS at %ds: %.1f MiB (anon %.1f); at %ds: %.1f MiB (anon %.1f); "
          "ratio %.3f; peak (VmHWM) %.1f MiB" % (
              len(rows), m2[0], m2[1] / 1024, m2[3] / 1024, last[0], last[1] / 1024,
              last[3] / 1024, last[1] / m2[1] if m2[1] else 0, last[2] / 1024))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(one(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--bpf":
        bpf(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--soak":
        soak(sys.argv[2])
    elif len(sys.argv) == 2:
        sys.stdout.write(summary(sys.argv[1]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
