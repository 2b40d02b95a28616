import re,collections,sys
f=sys.argv[1]; pid=sys.argv[2]
cur={}  # cpu -> ship record
out=[]
pend={}
for l in open(f):
    m=re.search(r'\[(\d+)\].*: (SHIP|EMIT|DROP|PIECE|IOV)(OFF)? (.*)',l)
    if not m: continue
    cpu,kind,off,rest=m[1],m[2],m[3],m[4].split()
    if kind in('PIECE','IOV'): continue
    if not off: pend[(cpu,kind)]=rest; continue
    a=pend.pop((cpu,kind)); 
    if a[0]!=pid or a[1]!='0': continue
    if kind=='SHIP':
        cur[cpu]={'len':int(a[2]),'off':int(rest[0]),'sc':rest[1],'cnt':rest[2],'ch':[]}; out.append(cur[cpu])
    elif cpu in cur:
        cur[cpu]['ch'].append((kind,int(a[2]),int(rest[0]),int(rest[1]) if len(rest)>1 else None))
bad=0
for s in out:
    acc=sum(c[1] for c in s['ch'])
    if acc!=s['len']:
        bad+=1
        if bad<=8: print(s['len'],s['sc'],s['cnt'],'acc',acc,[(c[0],c[1],c[3]) for c in s['ch']])
print('ships',len(out),'bad',bad, 'missing bytes', sum(s['len']-sum(c[1] for c in s['ch']) for s in out))
