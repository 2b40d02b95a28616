# wrk_ana.py FILE: per mode, the median of each round's req/s ratio to its
# U run with a bootstrap 95% interval, and the median req/s and p99.
import random, statistics as st, sys
rows = [l.split() for l in open(sys.argv[1]) if len(l.split()) == 5]
def us(v):
    return float(v[:-2]) if v.endswith('us') else float(v[:-2]) * 1000 if v.endswith('ms') else float(v[:-1]) * 1e6
rounds = {}
for r, m, rps, p50, p99 in rows:
    rounds.setdefault(r, {})[m] = (float(rps), us(p99))
modes = []
for r in rows:
    if r[1] not in modes:
        modes.append(r[1])
random.seed(1)
for m in modes:
    rat = [d[m][0] / d['U'][0] for d in rounds.values() if m in d and 'U' in d]
    bs = sorted(st.median(random.choices(rat, k=len(rat))) for _ in range(2000))
    print(f"{m}: ratio {st.median(rat):.3f} (95% {bs[50]:.3f}-{bs[1949]:.3f}, n={len(rat)}), "
          f"req/s {st.median(d[m][0] for d in rounds.values() if m in d):.0f}, "
          f"p99 {st.median(d[m][1] for d in rounds.values() if m in d):.0f} us")
