# paired.py FILE A B: per round, A's req/s over B's (two traced modes of the
# same round); the median with a bootstrap 95% interval, and in how many
# rounds A was the faster.
import random, statistics as st, sys
path, a, b = sys.argv[1:4]
rounds = {}
for line in open(path):
    f = line.split()
    if len(f) == 5:
        rounds.setdefault(f[0], {})[f[1]] = float(f[2])
rat = [d[a] / d[b] for d in rounds.values() if a in d and b in d]
random.seed(1)
bs = sorted(st.median(random.choices(rat, k=len(rat))) for _ in range(2000))
print(f"{a}/{b}: {st.median(rat):.3f} (95% {bs[50]:.3f}-{bs[1949]:.3f}), "
      f"{a} faster in {sum(r > 1 for r in rat)} of {len(rat)} rounds")
