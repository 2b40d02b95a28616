import sys
stage = sys.argv[1]
p = '/tmp/sx/wt/bpf/capture.bpf.c'
s = open('/tmp/sx/wt_orig_capture.bpf.c').read()
def rep(old, new):
    global s
    assert s.count(old) == 1, old
    s = s.replace(old, new, 1)
if stage == 'S0':   # program entry only
    rep('''	if (ret <= 0)
		return 0;
	regs = syscall_regs(bpf_get_current_task_btf());''', '''	if (ret <= 0 || 1)
		return 0;
	regs = syscall_regs(bpf_get_current_task_btf());''')
elif stage == 'S1':  # + saved registers, syscall decode, filter
    rep('''	return data_sock_args(ret, sc, (__u32)regs->di | count << 32, regs->si,
			      sk);''', '''	if (sc == 0xffff) /* never: keeps the call compiled in */
		return data_sock_args(ret, sc, (__u32)regs->di | count << 32,
				      regs->si, sk);
	return 0;''')
elif stage == 'S2':  # + connection lookup
    rep('''	st = by_sock ? conn_get_sock(id >> 32, a.fd, sk) :
		       conn_get(id >> 32, a.fd, MS_ROLE_UNKNOWN);''', '''	st = by_sock ? conn_get_sock(id >> 32, a.fd, sk) :
		       conn_get(id >> 32, a.fd, MS_ROLE_UNKNOWN);
	if (by_sock && st)
		return 0;''')
elif stage == 'S3':  # + TLS check, class check
    rep('''	if (!st || st->tls || classify_skip(st))
		return 0;
	return data_done(st, &a, ret);''', '''	if (!st || st->tls || classify_skip(st) || by_sock)
		return 0;
	return data_done(st, &a, ret);''')
open(p, 'w').write(s)
if stage == 'F1':  # no ring query at submit
    rep('''	bpf_ringbuf_submit(e, submit_flags(sizeof(*e) + cap));
	stat_add(MS_STAT_EVENTS, 1);''', '''	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	stat_add(MS_STAT_EVENTS, 1);''')
    open(p, 'w').write(s)
elif stage == 'F2':  # no counters on the shipped path
    rep('''	bpf_ringbuf_submit(e, submit_flags(sizeof(*e) + cap));
	stat_add(MS_STAT_EVENTS, 1);
	stat_add(MS_STAT_BYTES, cap);''', '''	bpf_ringbuf_submit(e, submit_flags(sizeof(*e) + cap));''')
    open(p, 'w').write(s)
elif stage == 'F3':  # no timestamp
    rep('''	e->h.ts_ns = bpf_ktime_get_ns();''', '''	e->h.ts_ns = 0;''')
    open(p, 'w').write(s)
