// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * tls.bpf.c — plaintext at the TLS library boundary.
 *
 * A separate object from capture.bpf.c. Userspace loads capture first and
 * hands this object capture's events/conns/stats/pids/ports maps
 * (bpf_map__reuse_fd), so TLS plaintext goes through the same ring buffer,
 * is counted in the same stats and belongs to the same struct conn_state —
 * same conn id, tuple, role, comm — as the socket it travels on.
 *
 * Connection state is never created here and conn ids are never allocated
 * here: the syscall side creates a conn_state for every TCP socket of a
 * followed process on connect/accept or its first data syscall, and this
 * object only looks it up. (Every TLS byte crosses a syscall on its socket,
 * so the entry exists by the time plaintext needs it.)
 *
 * Binding a connection to TLS ("st->tls"):
 *  - OpenSSL: SSL_set_fd/rfd/wfd give the fd directly; otherwise the fd is
 *    learned from the data syscalls the thread makes while inside an SSL
 *    call (handshake, read, write) — which covers custom BIOs (curl) too.
 *  - Go crypto/tls: the fd is read from the *tls.Conn (conn.(*net.TCPConn)
 *    .fd.pfd.Sysfd) when the handshake starts and on every Read/Write.
 *  - Any TLS stack: a ClientHello/ServerHello written by a followed process
 *    on a tracked socket marks it, so even a TLS library we do not hook
 *    stops having its ciphertext shipped.
 * The first and last of these look at the data syscalls (tls_syscall() in
 * tls_state.bpf.h), before capture's exit hook on the same syscall decides
 * whether to ship: the handshake ciphertext never leaves the kernel. On
 * Linux >= 5.15 capture's exit hook calls it first thing; before, the
 * enter hooks here do. (Where capture has enter hooks too, they run
 * first, in attach order.) A socket older than the trace is not tracked
 * before its first syscall's exit: inside an SSL call its fd is remembered
 * all the same, and it is bound when the call returns its plaintext.
 *
 * On binding, the stream offsets restart at 0: from then on they count
 * plaintext (capture.bpf.c no longer advances them on a TLS socket).
 * Events carry MS_F_TLS; MS_F_FRESH when the binding happened before any
 * plaintext moved (handshake seen), so userspace parses from byte 0.
 *
 * Go is probed without uretprobes (they corrupt Go's stack unwinding when
 * goroutine stacks are copied): userspace places one uprobe on the entry of
 * (*Conn).Read/Write and one on each RET instruction of them, found by
 * decoding the function's machine code. Entry state is keyed by goroutine
 * (the g pointer in R14, Go's register ABI on amd64), not by thread: a
 * goroutine parked in Read may resume on another thread.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "msgscope.h"
#include "maps.bpf.h"
#include "filter.bpf.h"
#include "classify.bpf.h"
#include "tls_state.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* ---- maps of this object (the shared ones: tls_state.bpf.h) ------------- */

/* A goroutine inside (*tls.Conn).Read or Write, entry to RET. */
struct go_key {
	__u32 tgid;
	__u32 op;
	__u64 g;
};

struct go_call {
	__u64 buf;
	__u64 stack_hi;      /* goroutine stack top at entry */
	__s32 fd;
	__u32 on_stack;      /* buf lies in the goroutine stack: follow moves */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct go_key);
	__type(value, struct go_call);
} go_calls SEC(".maps");

/* mmap(PROT_EXEC) of a libssl in flight: reported once it succeeded. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct tls_notify);
} mmap_pending SEC(".maps");

/* ---- shipping plaintext ------------------------------------------------- */

struct emit_req {
	struct conn_state *st;
	__u64 ubuf;
	__u64 off;
	__u32 len;
	__u32 cap;
	__u32 fd;
	__u8 dir;
};


/* Keep the bound in the register the helper receives (see capture.bpf.c). */
static __always_inline __u32 bound_reg(__u32 v, const __u32 max)
{
	asm volatile("if %[v] <= %[max] goto +1\n\t"
		     "%[v] = %[max]"
		     : [v] "+r"(v)
		     : [max] "i"(max));
	return v;
}

/* Reserve from a few size classes: a 30-byte PUB must not cost 64 KiB. */
#define TLS_CLASS(SZ)                                                          \
	if (cap <= (SZ)) {                                                     \
		e = bpf_ringbuf_reserve(ring, sizeof(*e) + (SZ), 0);           \
		if (!e)                                                        \
			goto lost;                                             \
		cap = bound_reg(cap, (SZ));                                    \
		if (bpf_probe_read_user(e->data, cap, (void *)r->ubuf))        \
			cap = 0;                                               \
		goto fill;                                                     \
	}

static __noinline int tls_emit(struct emit_req *r)
{
	struct conn_state *st = r->st;
	struct ms_data_event *e;
	__u32 cap = r->cap;
	void *ring;
	__u64 id;

	if (cap > MS_MAX_SNAPLEN)
		cap = MS_MAX_SNAPLEN;
	ring = ring_for_copy(cap);
	if (!ring)
		goto lost;
	MS_RING_SIZE_CLASSES(TLS_CLASS)
	return 0;
fill:
	id = bpf_get_current_pid_tgid();
	e->h.type = MS_EV_DATA;
	e->h.tgid = id >> 32;
	e->h.tid = (__u32)id;
	e->h.fd = r->fd;
	e->h.ts_ns = bpf_ktime_get_ns();
	e->h.conn_id = st->conn_id;
	__builtin_memcpy(e->h.comm, st->comm, MS_COMM_LEN);
	__builtin_memcpy(&e->tuple, &st->tuple, sizeof(e->tuple));
	e->stream_off = r->off;
	e->len = r->len;
	e->cap_len = cap;
	e->dir = r->dir;
	e->proto = st->proto;
	e->role = st->role;
	e->flags = MS_F_TLS | ((st->tls & TLS_FROM_START) ? MS_F_FRESH : 0);
	e->syscall = 0;
	e->_pad = 0;
	bpf_ringbuf_submit(e, submit_flags(ring, sizeof(*e) + cap));
	stat_add(MS_STAT_EVENTS, 1);
	stat_add(MS_STAT_BYTES, cap);
	tstat(TLS_STAT_EVENTS);
	return 0;
lost:
	stat_data_drop(r->len);
	return 0;
}

/* n plaintext bytes at ubuf moved in direction dir on (tgid, fd). */
static __noinline int tls_data(__u32 tgid, __s32 fd, __u32 dir, __u64 ubuf,
			       __u32 n)
{
	struct conn_state *st = conn_find(tgid, fd);
	struct emit_req r = {};

	if (!st) {
		tstat(TLS_STAT_NO_CONN);
		return 0;
	}
	if (!(st->tls & TLS_ON) && tls_bind(tgid, fd, 0))
		return 0;
	r.dir = dir == MS_DIR_SEND ? MS_DIR_SEND : MS_DIR_RECV;
	if (!classify_skip(st) && st->proto == MS_PROTO_UNKNOWN)
		classify_chunk(st, ubuf, n, st->tls & TLS_FROM_START, 1 + r.dir);
	r.st = st;
	r.ubuf = ubuf;
	r.len = n;
	r.cap = call_snaplen(); /* read once: userspace may flip it */
	if (r.cap > n)
		r.cap = n;
	r.fd = fd;
	/* (a plaintext offset never has OFF_PAIRED: tls_bind_state) */
	if (r.dir == MS_DIR_SEND)
		r.off = __sync_fetch_and_add(&st->off[MS_DIR_SEND], n) & OFF_MASK;
	else
		r.off = __sync_fetch_and_add(&st->off[MS_DIR_RECV], n);
	if (!proto_shipped(st))
		return 0; /* offsets kept true while guessing; OTHER: silent */
	tls_emit(&r);
	return 0;
}

/* ---- OpenSSL (and libssl-compatible) ------------------------------------ */

static __always_inline int ssl_enter(__u64 ssl, __u8 op, __u64 buf, __u64 nptr,
				     __u8 handshake)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ssl_call *c, init = {};

	if (!tgid_wanted(id >> 32))
		return 0;
	c = bpf_map_lookup_elem(&ssl_calls, &id);
	if (c && c->ssl == ssl && c->depth && c->depth < 8) {
		/* nested: SSL_connect calling SSL_do_handshake */
		c->depth++;
		if (handshake)
			c->handshake = 1;
		if (op != TOP_NONE) {
			c->op = op;
			c->buf = buf;
			c->nptr = nptr;
		}
		return 0;
	}
	init.ssl = ssl;
	init.buf = buf;
	init.nptr = nptr;
	init.fd = -1;
	init.op = op;
	init.depth = 1;
	init.handshake = handshake;
	bpf_map_update_elem(&ssl_calls, &id, &init, BPF_ANY);
	return 0;
}

/* Return of an SSL function; for reads and writes, n plaintext bytes. */
static __always_inline int ssl_exit(__u8 op, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct ssl_call *c = bpf_map_lookup_elem(&ssl_calls, &id);
	struct ssl_key key = { .tgid = tgid };
	struct ssl_bind *b;
	__u64 n = 0, buf;
	__s32 fd;

	if (!c)
		return 0;
	if (op != TOP_NONE && c->op == op) {
		buf = c->buf;
		if (c->nptr) {
			/* SSL_*_ex: 1 on success, the count behind a pointer */
			if (ret == 1)
				bpf_probe_read_user(&n, sizeof(n), (void *)c->nptr);
		} else if (ret > 0) {
			n = ret;
		}
		c->op = TOP_NONE;
		fd = c->fd;
		key.ssl = c->ssl;
		if (fd < 0) {
			b = bpf_map_lookup_elem(&ssl_fds, &key);
			fd = b ? b->fd : -1;
		}
		if (n) {
			if (fd < 0)
				tstat(TLS_STAT_UNBOUND);
			else
				tls_data(tgid, fd, op == TOP_WRITE ? MS_DIR_SEND :
				       MS_DIR_RECV, buf, n > 0xffffffff ? 0xffffffff : n);
		}
	}
	c = bpf_map_lookup_elem(&ssl_calls, &id);
	if (!c)
		return 0;
	if (c->depth > 1)
		c->depth--;
	else
		bpf_map_delete_elem(&ssl_calls, &id);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_enter, void *ssl, const void *buf, int num)
{
	return ssl_enter((__u64)ssl, TOP_WRITE, (__u64)buf, 0, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_exit, int ret)
{
	return ssl_exit(TOP_WRITE, ret);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_enter, void *ssl, void *buf, int num)
{
	return ssl_enter((__u64)ssl, TOP_READ, (__u64)buf, 0, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_exit, int ret)
{
	return ssl_exit(TOP_READ, ret);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_ex_enter, void *ssl, const void *buf, size_t num,
	       size_t *written)
{
	return ssl_enter((__u64)ssl, TOP_WRITE, (__u64)buf, (__u64)written, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_ex_exit, int ret)
{
	return ssl_exit(TOP_WRITE, ret);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_ex_enter, void *ssl, void *buf, size_t num,
	       size_t *readbytes)
{
	return ssl_enter((__u64)ssl, TOP_READ, (__u64)buf, (__u64)readbytes, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_ex_exit, int ret)
{
	return ssl_exit(TOP_READ, ret);
}

/* SSL_do_handshake, SSL_connect, SSL_accept: the handshake's syscalls tell
 * us the fd before a byte of plaintext moved. */
SEC("uprobe")
int BPF_KPROBE(ssl_hs_enter, void *ssl)
{
	return ssl_enter((__u64)ssl, TOP_NONE, 0, 0, 1);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_hs_exit, int ret)
{
	return ssl_exit(TOP_NONE, ret);
}

/* SSL_set_fd, SSL_set_rfd, SSL_set_wfd: the binding, given outright. */
static __always_inline int ssl_bind_fd(__u64 ssl, int fd)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ssl_key key = { .tgid = id >> 32, .ssl = ssl };
	struct ssl_bind b = { .fd = fd, .from_start = 1 };

	if (!tgid_wanted(id >> 32) || fd < 0)
		return 0;
	bpf_map_update_elem(&ssl_fds, &key, &b, BPF_ANY);
	tls_bind(id >> 32, fd, 1);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_set_fd, void *ssl, int fd)
{
	return ssl_bind_fd((__u64)ssl, fd);
}

/*
 * With multi-uprobe links (Linux >= 6.6), the two programs below stand in
 * for all of the above: the link's cookie (enum ms_ssl_fn) says which
 * function an offset is, so that a libssl takes one entry and one return
 * link. Each link costs an RCU grace period to detach when msgscope exits.
 */
SEC("uprobe")
int BPF_KPROBE(ssl_any_enter, void *ssl, void *buf, __u64 num, __u64 nptr)
{
	__u8 op = TOP_NONE, handshake = 0;
	__u64 count_ptr = 0;

	switch (bpf_get_attach_cookie(ctx)) {
	case MS_SSL_WRITE_EX:
		count_ptr = nptr;
		/* fall through */
	case MS_SSL_WRITE:
		op = TOP_WRITE;
		break;
	case MS_SSL_READ_EX:
		count_ptr = nptr;
		/* fall through */
	case MS_SSL_READ:
		op = TOP_READ;
		break;
	case MS_SSL_HANDSHAKE:
		handshake = 1;
		buf = NULL;
		break;
	case MS_SSL_SET_FD:
		return ssl_bind_fd((__u64)ssl, (int)(__u64)buf);
	default:
		return 0;
	}
	return ssl_enter((__u64)ssl, op, (__u64)buf, count_ptr, handshake);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_any_exit, int ret)
{
	switch (bpf_get_attach_cookie(ctx)) {
	case MS_SSL_WRITE: case MS_SSL_WRITE_EX:
		return ssl_exit(TOP_WRITE, ret);
	case MS_SSL_READ: case MS_SSL_READ_EX:
		return ssl_exit(TOP_READ, ret);
	case MS_SSL_HANDSHAKE:
		return ssl_exit(TOP_NONE, ret);
	}
	return 0;
}

/* ---- syscalls made inside SSL calls; TLS hellos on any socket ----------- */

/* tls_state.bpf.h says what these do. They are loaded only on kernels
 * where capture.bpf.c's exit hooks cannot read a syscall's arguments and so
 * cannot call tls_syscall() themselves (userspace turns their autoload off
 * otherwise). */
#define SSL_SYSCALL(name, SEND)                                                \
	SEC("tracepoint/syscalls/sys_enter_" #name)                            \
	int tls_enter_##name(struct trace_event_raw_sys_enter *ctx)            \
	{                                                                      \
		tls_syscall(NULL, bpf_get_current_pid_tgid(), ctx->args[0],    \
			    ctx->args[1], SEND);                               \
		return 0;                                                      \
	}

SSL_SYSCALL(read, false)
SSL_SYSCALL(write, true)
SSL_SYSCALL(recvfrom, false)
SSL_SYSCALL(sendto, true)
SSL_SYSCALL(readv, false)
SSL_SYSCALL(writev, false)
SSL_SYSCALL(recvmsg, false)
SSL_SYSCALL(sendmsg, false)

/* ---- Go crypto/tls ------------------------------------------------------ */

/*
 * The socket under a *tls.Conn: c.conn is a net.Conn interface {itab, data};
 * for a *net.TCPConn, data -> net.conn{fd *netFD} -> netFD{pfd poll.FD} and
 * poll.FD{fdmu fdMutex (16 bytes), Sysfd int}. These layouts have not
 * changed from Go 1.17 through 1.23. The cookie is the distance from the
 * probed function to the itab of (*net.TCPConn, net.Conn), found by
 * userspace: a conn of another type is not read (0: not known, not checked).
 */
static __always_inline __s32 go_conn_fd(__u64 tls_conn, __u64 ip, __s64 delta)
{
	__u64 iface[2] = {}, netfd = 0;
	__s64 sysfd = -1;

	if (bpf_probe_read_user(iface, sizeof(iface), (void *)tls_conn))
		return -1;
	if (delta && iface[0] != ip + delta) {
		tstat(TLS_STAT_GO_BADCONN);
		return -1;
	}
	if (!iface[1] || bpf_probe_read_user(&netfd, sizeof(netfd), (void *)iface[1]) ||
	    !netfd || bpf_probe_read_user(&sysfd, sizeof(sysfd), (void *)(netfd + 16)))
		return -1;
	if (sysfd < 0 || sysfd > 0x7fffffff)
		return -1;
	return sysfd;
}

/* (*Conn).clientHandshake / serverHandshake entry: bind before the first
 * handshake byte crosses the socket. Receiver in RAX (Go >= 1.17). */
static __always_inline int go_handshake(struct pt_regs *ctx, __s64 delta)
{
	__u64 id = bpf_get_current_pid_tgid();
	__s32 fd;

	if (!tgid_wanted(id >> 32))
		return 0;
	fd = go_conn_fd(ctx->ax, ctx->ip, delta);
	if (fd >= 0)
		tls_bind(id >> 32, fd, 1);
	return 0;
}

/* (*Conn).Read / (*Conn).Write entry: RAX receiver, RBX b.ptr, RCX b.len,
 * R14 the current goroutine. */
static __always_inline int go_enter(struct pt_regs *ctx, __u32 op, __s64 delta)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct go_key key = { .tgid = id >> 32, .op = op, .g = ctx->r14 };
	struct go_call c = {};
	__u64 stack[2] = {};   /* g.stack {lo, hi}: the first field of g */

	if (!tgid_wanted(key.tgid) || !key.g)
		return 0;
	c.fd = go_conn_fd(ctx->ax, ctx->ip, delta);
	if (c.fd < 0)
		return 0;
	c.buf = ctx->bx;
	if (!bpf_probe_read_user(stack, sizeof(stack), (void *)key.g) &&
	    c.buf >= stack[0] && c.buf < stack[1]) {
		c.on_stack = 1;
		c.stack_hi = stack[1];
	}
	/* Mark now, before Write's syscalls ship ciphertext. */
	tls_bind(key.tgid, c.fd, 0);
	bpf_map_update_elem(&go_calls, &key, &c, BPF_ANY);
	return 0;
}

/* A RET of (*Conn).Read / Write: RAX = n. Still the same goroutine in R14. */
static __always_inline int go_ret(struct pt_regs *ctx, __u32 op)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct go_key key = { .tgid = id >> 32, .op = op, .g = ctx->r14 };
	struct go_call *c = bpf_map_lookup_elem(&go_calls, &key);
	__s64 n = ctx->ax;
	__u64 stack[2] = {}, buf;

	if (!c)
		return 0;
	buf = c->buf;
	/* A stack buffer moved with its goroutine's stack: same distance
	 * from the top. */
	if (c->on_stack && !bpf_probe_read_user(stack, sizeof(stack), (void *)key.g) &&
	    stack[1] != c->stack_hi)
		buf = stack[1] - (c->stack_hi - buf);
	if (n > 0)
		tls_data(key.tgid, c->fd, op == TOP_WRITE ? MS_DIR_SEND : MS_DIR_RECV,
			 buf, n > 0x7fffffff ? 0x7fffffff : n);
	bpf_map_delete_elem(&go_calls, &key);
	return 0;
}

/* Without multi-uprobe links: a program per probe, the cookie the itab
 * distance alone. */
SEC("uprobe")
int go_tls_handshake(struct pt_regs *ctx)
{
	return go_handshake(ctx, (__s64)bpf_get_attach_cookie(ctx));
}

SEC("uprobe")
int go_tls_write(struct pt_regs *ctx)
{
	return go_enter(ctx, TOP_WRITE, (__s64)bpf_get_attach_cookie(ctx));
}

SEC("uprobe")
int go_tls_write_ret(struct pt_regs *ctx)
{
	return go_ret(ctx, TOP_WRITE);
}

SEC("uprobe")
int go_tls_read(struct pt_regs *ctx)
{
	return go_enter(ctx, TOP_READ, (__s64)bpf_get_attach_cookie(ctx));
}

SEC("uprobe")
int go_tls_read_ret(struct pt_regs *ctx)
{
	return go_ret(ctx, TOP_READ);
}

/* With multi-uprobe links: one program, one link per binary, every probe
 * named by its cookie (MS_GO_COOKIE). */
SEC("uprobe")
int go_any(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__s64 delta = MS_GO_COOKIE_DELTA(cookie);

	switch (MS_GO_COOKIE_PROBE(cookie)) {
	case MS_GO_WRITE: return go_enter(ctx, TOP_WRITE, delta);
	case MS_GO_READ: return go_enter(ctx, TOP_READ, delta);
	case MS_GO_HANDSHAKE: return go_handshake(ctx, delta);
	case MS_GO_WRITE_RET: return go_ret(ctx, TOP_WRITE);
	case MS_GO_READ_RET: return go_ret(ctx, TOP_READ);
	}
	return 0;
}

/* Every thread's exit (this tracepoint fires per thread). Each of these
 * process hooks comes twice: as a raw tracepoint (tp_btf), loaded where that
 * works because it detaches without an RCU grace period, and as a perf-event
 * tracepoint for the other kernels. */
static __always_inline int thread_exit(void)
{
	__u64 id = bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&ssl_calls, &id);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tls_thread_exit_btf)
{
	return thread_exit();
}

SEC("tracepoint/sched/sched_process_exit")
int tls_on_thread_exit(void *ctx)
{
	return thread_exit();
}

/* ---- new TLS users: executables and libssl mappings --------------------- */

/* A process exec'd: userspace checks whether it is a Go binary with
 * crypto/tls it has not attached to yet (cached by dev/inode). */
static __always_inline int process_exec(void)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	struct tls_notify n = { .kind = NOTIFY_EXEC, .tgid = id >> 32 };
	struct file *exe;

	if (!tgid_wanted(n.tgid))
		return 0;
	exe = BPF_CORE_READ(task, mm, exe_file);
	if (!exe)
		return 0;
	file_id(exe, &n);
	tls_notify_user(&n);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tls_exec_btf)
{
	return process_exec();
}

SEC("tracepoint/sched/sched_process_exec")
int tls_on_exec(void *ctx)
{
	return process_exec();
}

/* An executable mapping of a file named libssl*: a library loaded at exec
 * or by dlopen(). Reported on success, so userspace finds it in maps. Where
 * capture.bpf.c's raw sys_exit hook runs, it does this at mmap's exit and
 * these two hooks are not loaded. */
SEC("tracepoint/syscalls/sys_enter_mmap")
int tls_enter_mmap(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tls_notify n = { .kind = NOTIFY_LIBSSL, .tgid = id >> 32 };

	if (!libssl_mapping(ctx->args[2], ctx->args[4], &n))
		return 0;
	bpf_map_update_elem(&mmap_pending, &id, &n, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int tls_exit_mmap(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tls_notify *n = bpf_map_lookup_elem(&mmap_pending, &id);

	if (!n)
		return 0;
	if (!mmap_failed(ctx->ret))
		tls_notify_user(n);
	bpf_map_delete_elem(&mmap_pending, &id);
	return 0;
}
