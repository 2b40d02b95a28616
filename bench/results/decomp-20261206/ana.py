# ana.py FILE: per traced mode, the median of each round's ratio to its U run,
# a bootstrap 95% interval, msgscope's CPU ticks; per mode the median rate and
# the load's CPU time per message.
import sys, statistics as st, random
rows=[l.split() for l in open(sys.argv[1]) if len(l) > 2 and l[0].isupper() and l[1] == ' ']
modes=[]; 
for r in rows:
    if r[0] not in modes: modes.append(r[0])
k=len(modes); rounds=[rows[i:i+k] for i in range(0,len(rows)-k+1,k)]
for m in modes[1:]:
    rat=[]
    for rd in rounds:
        d={x[0]:float(x[1]) for x in rd}
        # against the untraced run of the same round
        rat.append(d[m]/d['U'])
    med=st.median(rat)
    bs=sorted(st.median(random.choices(rat,k=len(rat))) for _ in range(2000))
    ticks = st.median(int(x[3].split('=')[1].rstrip('ticks')) for rd in rounds for x in rd if x[0] == m)
    print(m, 'median ratio %.3f  95%% CI %.3f-%.3f  n=%d  msgscope cpu ticks med %s' % (med, bs[50], bs[1949], len(rat), ticks))
for m in modes:
    print(m, 'median rate', st.median(float(x[1]) for x in rows if x[0] == m),
          'load us/msg', st.median(float(x[2].split('=')[1]) for x in rows if x[0] == m))
