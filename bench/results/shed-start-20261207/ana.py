import sys, random, statistics, re
rows=[l.split() for l in open(sys.argv[1]) if l.strip()]
modes=sys.argv[2].split()
rounds=[]; cur={}
for r in rows:
    m=r[0]
    if m in cur: rounds.append(cur); cur={}
    cpu=int(re.search(r'cpu=(\d+)',' '.join(r)).group(1))
    cur[m]=(int(r[1]),cpu)
if len(cur)==len(modes): rounds.append(cur)
def boot(v):
    random.seed(1); ms=sorted(statistics.median(random.choices(v,k=len(v))) for _ in range(2000))
    return statistics.median(v), ms[50], ms[1949]
for a,b in [(m,'U') for m in modes if m!='U']+[('T','N')]:
    v=[r[a][0]/r[b][0] for r in rounds if a in r and b in r]
    med,lo,hi=boot(v)
    print(f"{a}/{b}: {med:.3f} (95% {lo:.3f}-{hi:.3f}), {a} faster in {sum(x>1 for x in v)} of {len(v)}")
for m in modes:
    if m!='U': print(m,'cpu ticks median',statistics.median(r[m][1] for r in rounds if m in r))
