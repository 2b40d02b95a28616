// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * capture.bpf.c — the kernel half of msgscope.
 *
 * Follows the data syscalls of the processes we are asked about, decides per
 * socket (in the kernel, on its first payload bytes) whether it carries NATS
 * or HTTP, and ships only those bytes to userspace through one ring buffer.
 *
 * Built on syscall tracepoints, because they exist on every kernel with
 * CONFIG_FTRACE_SYSCALLS, kprobes or not. The exit hook knows how many bytes
 * moved and copies them; it finds the arguments (fd, buffer) in the task's
 * saved user registers (bpf_task_pt_regs, Linux >= 5.15). There one raw
 * sys_exit program (tp_btf) takes the place of the exit tracepoints. Older
 * kernels lack that helper: there an enter hook remembers the arguments for
 * the exit, when the fd is a TCP socket worth following. Every event that
 * does not fit in the ring buffer is counted.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "msgscope.h"
#include "maps.bpf.h"
#include "filter.bpf.h"
#include "classify.bpf.h"
#include "tls_state.bpf.h"

#define EINPROGRESS 115
#define EBADF 9
#define MSG_PEEK 2

char LICENSE[] SEC("license") = "Dual MIT/GPL";


/* Arguments of a syscall in progress, from its enter to its exit hook. */
struct call_args {
	__u64 buf;           /* buffer, iovec[], msghdr or mmsghdr[] */
	__u32 fd;
	__u32 count;         /* iovcnt or vlen */
	__u16 sc;            /* enum ms_syscall, or SC_CONNECT/SC_ACCEPT */
	__u8 hello_check;    /* check the copied bytes for a TLS hello */
	__u8 one_msg;        /* sendmmsg/recvmmsg, one message of it (the
			      * socket hooks): counted, not copied */
	__u8 _pad[4];
};

#define SC_CONNECT 100
#define SC_ACCEPT 101

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct call_args);
} inflight SEC(".maps");

/*
 * Set by userspace when bpf_task_pt_regs() exists: the data syscalls are
 * then followed from their exit alone. That halves the programs run per
 * syscall (the enter hooks are not loaded; under wrk they were a third of
 * the BPF time), drops the inflight map's insert and delete, and sees a
 * call that was already blocked when msgscope attached.
 */
const volatile bool args_at_exit = false;

/*
 * Set by userspace when args_at_exit and TLS capture is on: the exit hooks
 * then do what tls.bpf.c's sys_enter hooks did (tls_syscall()), and those
 * are not loaded. Under wrk the TLS enter hooks cost a quarter of the time
 * the probes added to each request and response.
 */
const volatile bool tls_at_exit = false;

/* ---- which sockets ------------------------------------------------------ */

static __always_inline void read_tuple(struct sock *sk, struct ms_tuple *t)
{
	t->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	t->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (t->family == AF_INET) {
		bpf_core_read(t->laddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(t->raddr, 4, &sk->__sk_common.skc_daddr);
	} else {
		bpf_core_read(t->laddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(t->raddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
}

/*
 * Sockets that became ESTABLISHED while we watched, by struct sock, with the
 * side that opened them: on the socket hooks their first data makes a
 * fresh entry (offsets from byte 0). The accepting side's state change runs
 * in softirq, where no process or fd is known, hence a map by socket.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} fresh_socks SEC(".maps");

/*
 * Set by userspace with the socket hooks: a connection is closed when its
 * socket reaches TCP_CLOSE (on_sock_state), not at close(2)'s exit, so that
 * no syscall tracepoint is left to slow every syscall on the host. Its
 * entry is found from the socket through sock_conns.
 */
const volatile bool close_on_state = false;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);                /* struct sock * */
	__type(value, struct ms_conn_key);
} sock_conns SEC(".maps");

/*
 * --pair-local: a message between two traced processes on this host is
 * shipped once, at its send. Both ends of such a connection get an entry
 * in conns; the first one made waits here for the second, which finds it
 * and pairs the two (pair_ends). From then on each end's sends are
 * flagged MS_F_PEER_READ and its reads of the other's flagged sends are
 * not shipped. The two ends' offsets of one direction start wherever each
 * was first seen; TCP sequence numbers (seq0) put them on one scale.
 *
 * By a hash of the two endpoints, the same from either end, not by the
 * tuple: a reversed copy of the tuple on the stack passed the 512 bytes
 * the verifier allows a chain of calls. What a key finds is checked
 * against the tuple; an entry whose end was closed is pushed out (LRU)
 * or overwritten.
 */
const volatile bool pair_local = false;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct ms_conn_key);
} lone_ends SEC(".maps");

static __always_inline __u64 end_hash(const __u8 *addr, __u16 port)
{
	const __u64 *a = (const __u64 *)addr;
	__u64 h = (a[0] ^ (a[1] * 0x9E3779B97F4A7C15ULL) ^ port) *
		  0xff51afd7ed558ccdULL;

	return h ^ (h >> 29);
}

/* The same for (local, remote) as for (remote, local). */
static __always_inline __u64 ends_hash(const struct ms_tuple *t)
{
	return (end_hash(t->laddr, t->lport) + end_hash(t->raddr, t->rport)) ^
	       t->family;
}

/* p is t seen from the other end. */
static __always_inline bool tuple_reversed(const struct ms_tuple *p,
					   const struct ms_tuple *t)
{
	const __u64 *pl = (const __u64 *)p->laddr, *pr = (const __u64 *)p->raddr;
	const __u64 *tl = (const __u64 *)t->laddr, *tr = (const __u64 *)t->raddr;

	return p->family == t->family && p->lport == t->rport &&
	       p->rport == t->lport && pl[0] == tr[0] && pl[1] == tr[1] &&
	       pr[0] == tl[0] && pr[1] == tl[1];
}

/* The offset, in the frame of an end whose offset 0 is sequence number
 * base, of sequence number seq: near ref, one of its offsets (a connection
 * moves less than 2 GiB between the two ends' views of it). */
static __always_inline __u64 offset_of_seq(__u64 ref, __u32 base, __u32 seq)
{
	return ref + (__s64)(__s32)(seq - (base + (__u32)ref));
}

/*
 * The end `key` (st) moves its first bytes. If the other end of its
 * connection is traced and waiting in lone_ends, pair the two; else wait
 * there for it. Each end's send offset gets OFF_PAIRED by a fetch-and-or:
 * a send that added to the offset before it is not flagged, one after it
 * is, and the old offset it returns is where the other end's reads start
 * being left out. So every byte is shipped by one of the two.
 */
static __always_inline struct conn_state *
lone_end(__u64 h, const struct conn_state *st, struct ms_conn_key **pk)
{
	struct conn_state *ps;

	*pk = bpf_map_lookup_elem(&lone_ends, &h);
	ps = *pk ? bpf_map_lookup_elem(&conns, *pk) : NULL;
	if (!ps || ps == st || !tuple_reversed(&ps->tuple, &st->tuple))
		return NULL;
	return ps;
}

static __noinline void pair_ends(struct ms_conn_key *key, struct conn_state *st)
{
	__u64 h = ends_hash(&st->tuple), mine, theirs;
	struct ms_conn_key *pk;
	struct conn_state *ps = lone_end(h, st, &pk);

	if (!ps) {
		/* Wait here, unless the other end got here since the lookup:
		 * both ends' first data can come at once on two CPUs (a
		 * client reads the server's INFO while the server's send hook
		 * still runs), and each one's entry overwrote the other's, so
		 * neither was ever paired. An entry in the way that is not
		 * the other end's is one whose end is gone: taken over. */
		if (!bpf_map_update_elem(&lone_ends, &h, key, BPF_NOEXIST))
			return;
		ps = lone_end(h, st, &pk);
		if (!ps) {
			bpf_map_update_elem(&lone_ends, &h, key, BPF_ANY);
			return;
		}
	}
	if (!pk) /* (found with ps: for the verifier) */
		return;
	st->peer = *pk;
	ps->peer = *key;
	bpf_map_delete_elem(&lone_ends, &h);
	if (!ps->seq_known || !st->seq_known || ps->tls || st->tls)
		return;
	/* Another thread of either process moving bytes on the socket
	 * between an or and the store after it can have them shipped by
	 * both ends (never by neither): the correlator merges the sights. */
	theirs = __sync_fetch_and_or(&ps->off[MS_DIR_SEND], OFF_PAIRED);
	mine = __sync_fetch_and_or(&st->off[MS_DIR_SEND], OFF_PAIRED);
	st->elide_from = offset_of_seq(st->off[MS_DIR_RECV], st->seq0[MS_DIR_RECV],
				       ps->seq0[MS_DIR_SEND] + (__u32)theirs);
	ps->elide_from = offset_of_seq(ps->off[MS_DIR_RECV], ps->seq0[MS_DIR_RECV],
				       st->seq0[MS_DIR_SEND] + (__u32)mine);
	stat_add(MS_STAT_PAIRED, 1);
}

/* What the call being hooked moved: bytes sent (> 0) or read (< 0), 0
 * for none yet, MOVED_UNKNOWN for a sendmmsg/recvmmsg (ret counts
 * messages). The hooks run after the call, when the socket's sequence
 * numbers have moved past its bytes already. */
#define MOVED_UNKNOWN ((__s64)1 << 62)

static __always_inline struct conn_state *
conn_new(struct ms_conn_key *key, struct file *file, struct sock *sk, __u8 role,
	 __s64 moved)
{
	struct conn_state init = {};
	__u64 skey = (__u64)sk;

	init.file = (__u64)file;
	init.sk = skey;
	init.conn_id = __sync_fetch_and_add(&next_conn_id, 1);
	init.role = role;
	init.fresh = role != MS_ROLE_UNKNOWN;
	init.elide_from = ~0ULL;
	if (moved != MOVED_UNKNOWN) {
		const struct tcp_sock *tp = (const void *)sk;

		init.seq0[MS_DIR_SEND] = BPF_CORE_READ(tp, write_seq) -
					 (moved > 0 ? moved : 0);
		init.seq0[MS_DIR_RECV] = BPF_CORE_READ(tp, copied_seq) +
					 (moved < 0 ? moved : 0);
		init.seq_known = 1;
	}
	read_tuple(sk, &init.tuple);
	init.proto = port_override(&init.tuple);
	leader_comm(init.comm);
	if (bpf_map_update_elem(&conns, key, &init, BPF_ANY)) {
		stat_add(MS_STAT_CONN_FULL, 1);
		return NULL;
	}
	if (close_on_state)
		bpf_map_update_elem(&sock_conns, &skey, key, BPF_ANY);
	return bpf_map_lookup_elem(&conns, key);
}

/* --pair-local: an end still flagging its sends is closed. Its reader
 * may not have read them all yet (a sender that closes first reaches
 * TCP_CLOSE as soon as its FIN is acknowledged): if this end shipped what
 * it sent, tell the reader that the entry's going is an end, not an
 * eviction, so it goes on leaving out reads its sends stood for. One that
 * shipped nothing tells nothing: the reader finds no entry and reads for
 * itself, as peer_ships() would have had it do. */
static __noinline void tell_peer_closed(struct conn_state *st)
{
	struct conn_state *ps;

	if (!proto_shipped(st) || st->tls)
		return;
	ps = bpf_map_lookup_elem(&conns, &st->peer);
	if (ps && tuple_reversed(&ps->tuple, &st->tuple))
		ps->peer_closed = 1;
}

static __noinline void count_unseen(struct conn_state *st, __u32 tgid,
				    __u32 fd, __u8 dir, __u64 n);
static __noinline __u32 unseen_before(struct conn_state *st, __u8 dir,
				      __u32 moved);

/*
 * A tracked connection was closed: tell userspace so it can flush, and
 * forget the entry. tid: the closing thread, 0 when not known. own_close:
 * closed by its process (close(2), or a read that found the end), so no
 * call of its on the socket is under way and the sequence numbers past
 * the offsets are bytes no hook saw (unseen_before()). Not so at a
 * TCP_CLOSE the kernel reaches by itself: a reset is often processed as
 * a send or read releases the socket, before that call's own hook has
 * counted its bytes (nginx answering requests wrk had reset counted 22
 * answers so). Nor for an fd found holding another socket: the old one's
 * memory may be another's by then.
 */
static __always_inline void conn_closed(struct ms_conn_key *key,
					struct conn_state *st, __u32 tid,
					bool own_close)
{
	struct ms_close_event *e = NULL;
	void *ring;

	if (pair_local && (st->off[MS_DIR_SEND] & OFF_PAIRED))
		tell_peer_closed(st);
	if (!proto_shipped(st))
		goto forget;
	/* bytes no hook saw at the end of either stream (a last spliced
	 * body), before the offsets go out as the streams' ends */
	for (__u8 d = 0; d < 2 && own_close && !st->tls; d++) {
		__u32 n = unseen_before(st, d, 0);

		if (n)
			count_unseen(st, key->tgid, key->fd, d, n);
	}
	ring = ring_for(sizeof(*e));
	if (ring)
		e = bpf_ringbuf_reserve(ring, sizeof(*e), 0);
	if (!e) {
		stat_add(MS_STAT_DROP_CONTROL, 1);
		goto forget;
	}
	e->h.type = MS_EV_CLOSE;
	e->h.tgid = key->tgid;
	e->h.tid = tid;
	e->h.fd = key->fd;
	e->h.ts_ns = bpf_ktime_get_ns();
	e->h.conn_id = st->conn_id;
	__builtin_memcpy(e->h.comm, st->comm, MS_COMM_LEN);
	__builtin_memcpy(&e->tuple, &st->tuple, sizeof(e->tuple));
	e->stream_end[0] = st->off[0] & OFF_MASK;
	/* reads left out to the peer's records are not a gap at the end */
	e->stream_end[1] = st->off[1] < st->elide_from ? st->off[1] :
			   st->elide_from;
	e->proto = st->proto;
	e->role = st->role;
	bpf_ringbuf_submit(e, 0);
forget:
	bpf_map_delete_elem(&conns, key);
}

/*
 * The state of (tgid, fd), built on first sight. An entry is trusted only
 * while the fd still holds the same struct file: fds are reused, and dup2()
 * replaces one without a close(2) we could see.
 */
static __noinline struct conn_state *conn_get(__u32 tgid, __u32 fd, __u8 role,
					      __s64 moved)
{
	struct ms_conn_key key = { .tgid = tgid, .fd = fd };
	struct file *file = fd_to_file(fd);
	struct conn_state *st;
	struct sock *sk;

	if (!file)
		return NULL;
	st = bpf_map_lookup_elem(&conns, &key);
	if (st && st->file == (__u64)file && role == MS_ROLE_UNKNOWN)
		return st;
	sk = file_tcp_sock(file);
	if (!sk) {
		if (st)
			bpf_map_delete_elem(&conns, &key);
		return NULL;
	}
	return conn_new(&key, file, sk, role, moved);
}

/*
 * The same from the socket hooks, which know the socket: whether it is TCP
 * and its file are plain loads, so a known entry, or a UNIX socket's
 * traffic, costs no walk of the fd table. A new entry is made only once the
 * fd is seen to hold that file: inside a syscall on one fd the kernel may
 * move bytes on another socket (an NFS write).
 */
static __noinline struct conn_state *conn_get_sock(__u32 tgid, __u32 fd,
						   struct sock *sk, __s64 moved)
{
	struct ms_conn_key key = { .tgid = tgid, .fd = fd };
	__u16 family = sk->__sk_common.skc_family;
	__u64 skey = (__u64)sk;
	struct conn_state *st;
	struct socket *sock;
	struct file *file;
	__u8 role = MS_ROLE_UNKNOWN, *fresh;

	if ((family != AF_INET && family != AF_INET6) ||
	    sk->sk_type != SOCK_STREAM || sk->sk_protocol != IPPROTO_TCP)
		return NULL;
	sock = sk->sk_socket;
	file = sock ? sock->file : NULL;
	if (!file)
		return NULL;
	st = bpf_map_lookup_elem(&conns, &key);
	if (st && st->sk == skey)
		return st;
	if (fd_to_file(fd) != file)
		return NULL;
	/* The fd holds another socket now: the one this entry describes was
	 * closed (its TCP_CLOSE may come much later, or was missed). By the
	 * socket, not the file: a closed file's memory is soon another's. */
	if (st)
		conn_closed(&key, st, bpf_get_current_pid_tgid(), false);
	fresh = bpf_map_lookup_elem(&fresh_socks, &skey);
	if (fresh) {
		role = *fresh;
		bpf_map_delete_elem(&fresh_socks, &skey);
	}
	return conn_new(&key, file, sk, role, moved);
}

/* ---- shipping bytes ----------------------------------------------------- */

struct emit_req {
	struct conn_state *st;
	__u64 ubuf;          /* user address of the chunk */
	__u64 off;           /* its stream offset */
	__u32 len;           /* its true length */
	__u32 cap;           /* bytes to copy, <= len, <= MS_MAX_SNAPLEN */
	__u32 fd;
	__u32 tgid;          /* the process the record is for; 0: current */
	__u16 sc;
	__u8 dir;
	__u8 flags;
	__u8 hello_check;    /* see call_args */
};


static __always_inline void fill_data_header(struct ms_data_event *e,
					     const struct emit_req *r)
{
	struct conn_state *st = r->st;
	__u64 id = bpf_get_current_pid_tgid();

	e->h.type = MS_EV_DATA;
	e->h.tgid = r->tgid ?: id >> 32;
	e->h.tid = (__u32)id;
	e->h.fd = r->fd;
	e->h.ts_ns = bpf_ktime_get_ns();
	e->h.conn_id = st->conn_id;
	__builtin_memcpy(e->h.comm, st->comm, MS_COMM_LEN);
	__builtin_memcpy(&e->tuple, &st->tuple, sizeof(e->tuple));
	e->stream_off = r->off;
	e->len = r->len;
	e->dir = r->dir;
	e->proto = st->proto;
	e->role = st->role;
	e->flags = r->flags | (st->fresh ? MS_F_FRESH : 0);
	e->syscall = r->sc;
	e->_pad = 0;
}

/* is_tls_hello() of a chunk's first 8 bytes (bytes 6 and 7 unused), and
 * starts_hello() for a chunk whose copy is shorter or was dropped. Global,
 * so the verifier checks their branches once, not once in every path
 * through emit_chunk(). */
__noinline int is_hello_word(__u64 w)
{
	__u8 h[6] = { w, w >> 8, w >> 16, w >> 24, w >> 32, w >> 40 };

	return is_tls_hello(h);
}

__noinline int user_hello(__u64 ubuf)
{
	return starts_hello(ubuf);
}

/*
 * Clamp v to max in the very register later passed to a helper. A plain C
 * comparison lets clang test a copy, and the verifier then sees the
 * unbounded original.
 */
static __always_inline __u32 clamp_reg(__u32 v, const __u32 max)
{
	asm volatile("if %[v] <= %[max] goto +1\n\t"
		     "%[v] = %[max]"
		     : [v] "+r"(v)
		     : [max] "i"(max));
	return v;
}

/* A data record the ring had no room for. A peer_read send's bytes were
 * lost to its reader too, which left them out: counted apart, so that
 * what the trace misses still adds up with --pair-local. */
static __always_inline void emit_dropped(const struct emit_req *r)
{
	stat_data_drop(r->len);
	if (r->flags & MS_F_PEER_READ)
		stat_add(MS_STAT_PEER_DROP_BYTES, r->len);
}

/*
 * bpf_ringbuf_reserve() wants a constant size, yet most messages are far
 * smaller than the snaplen: reserve from a few size classes so a 20-byte
 * PUB does not cost 16 KiB of ring.
 */
#define EMIT_CLASS(SZ)                                                         \
	if (cap <= (SZ)) {                                                     \
		e = bpf_ringbuf_reserve(ring, sizeof(*e) + (SZ), 0);           \
		if (!e)                                                        \
			goto drop;                                             \
		cap = clamp_reg(cap, (SZ));                                    \
		if (bpf_probe_read_user(e->data, cap, (void *)r->ubuf))        \
			cap = 0;                                               \
		goto fill;                                                     \
	}

static __noinline int emit_chunk(struct emit_req *r)
{
	struct ms_data_event *e;
	__u32 cap = r->cap;
	void *ring;

	if (cap > MS_MAX_SNAPLEN)
		cap = MS_MAX_SNAPLEN;
	ring = ring_for_copy(cap);
	if (!ring)
		goto drop;
	MS_RING_SIZE_CLASSES(EMIT_CLASS)
	return 0;
fill:
	/* The copy holds the hello if there is one; under a snaplen shorter
	 * than a hello, or when the copy failed, it is read on its own. */
	if (r->hello_check && (cap >= 6 ? is_hello_word(*(__u64 *)e->data)
					 : user_hello(r->ubuf))) {
		/* A handshake starts now: this connection's bytes from here
		 * on are TLS, its plaintext comes from tls.bpf.c. */
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		tls_hello_sent(r->st);
		return 0;
	}
	fill_data_header(e, r);
	e->cap_len = cap;
	bpf_ringbuf_submit(e, submit_flags(ring, sizeof(*e) + cap));
	stat_add(MS_STAT_EVENTS, 1);
	stat_add(MS_STAT_BYTES, cap);
	return 0;
drop:
	/* A hello is never shipped, so it is not lost either: with the ring
	 * full it still marks the socket, or the ciphertext after it would
	 * be shipped. */
	if (r->hello_check && user_hello(r->ubuf)) {
		tls_hello_sent(r->st);
		return 0;
	}
	emit_dropped(r);
	return 0;
}

/*
 * A record of r->len stream bytes with none of them copied: the rest of a
 * call past its iovecs or its snaplen, or a sendfile. Only a header: the
 * verifier walks no size class for it, and it takes no size class's room
 * in the ring.
 */
static __noinline int emit_uncopied(struct emit_req *r)
{
	struct ms_data_event *e;
	void *ring = ring_for(sizeof(*e));

	if (!ring)
		goto drop;
	e = bpf_ringbuf_reserve(ring, sizeof(*e), 0);
	if (!e)
		goto drop;
	fill_data_header(e, r);
	e->cap_len = 0;
	bpf_ringbuf_submit(e, submit_flags(ring, sizeof(*e)));
	stat_add(MS_STAT_EVENTS, 1);
	return 0;
drop:
	emit_dropped(r);
	return 0;
}

static __always_inline __u32 min_u32(__u32 a, __u32 b)
{
	return a < b ? a : b;
}

/* An iovec array as emit_iov() and emit_long() read it, and where
 * next_piece() leaves the address of the piece it found: the stack has no
 * room for them beside the callers' frames. */
struct iov_buf {
	struct iovec v[MS_MAX_LONG_IOV];
	__u64 piece_ubuf;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct iov_buf);
} iov_scratch SEC(".maps");

/* The first `max` entries of an iovec array of iovcnt into iov->v, how
 * many in *cnt; false if they cannot be read. The array in one read: a
 * user read costs ~90 ns here (hook_cost, probes with four extra 8-byte
 * reads), as much as a small copy. */
static __always_inline bool read_iovecs(struct iov_buf *iov, __u64 iov_ptr,
					__u32 iovcnt, __u32 *cnt,
					const __u32 max)
{
	*cnt = clamp_reg(min_u32(iovcnt, max), max);
	return !bpf_probe_read_user(iov->v, *cnt * sizeof(iov->v[0]),
				    (void *)iov_ptr);
}

/*
 * Ship up to `total` bytes spread over an iovec array; `budget` is what is
 * left of the snaplen for this syscall. Returns the budget left. A record
 * per iovec while the budget lasts; what comes after (the iovecs past
 * MS_MAX_IOV, or past the budget) goes as one uncopied record, so that its
 * bytes count as cut (or dropped), never as an unexplained gap. It is the
 * path of a long call cut while the reader is behind: nats-server writing
 * a slow subscriber's backlog, 1.3 MB in 20 iovecs, went out as 8
 * records, 7 of them empty, and 768 KB that no counter saw; in a 4 s
 * saturated run, 328 MB of its 502 MB of sends.
 */
static __noinline __u32 emit_iov(struct emit_req *r, __u64 iov_ptr,
				 __u32 iovcnt, __u32 total, __u32 budget)
{
	struct iov_buf *iov = bpf_map_lookup_elem(&iov_scratch, &(__u32){ 0 });
	__u64 base = r->off;
	__u32 done = 0, cnt = 0;

	if (!iov)
		return budget;
	if (!read_iovecs(iov, iov_ptr, iovcnt, &cnt, MS_MAX_IOV))
		cnt = 0;
	for (int i = 0; i < MS_MAX_IOV; i++) {
		__u32 n;

		if (i >= cnt || done >= total || !budget)
			break;
		n = min_u32(iov->v[i].iov_len, total - done);
		if (!n)
			continue;
		r->ubuf = (__u64)iov->v[i].iov_base;
		r->off = base + done;
		r->len = n;
		r->cap = min_u32(n, budget);
		emit_chunk(r);
		budget -= r->cap;
		done += n;
	}
	if (done < total) {
		r->off = base + done;
		r->len = total - done;
		emit_uncopied(r);
	}
	return budget;
}

/*
 * The piece of a long copy (emit_long) that starts at byte `at` of the
 * call's bytes, in the first cnt iovecs of iov_scratch: its length, at
 * most a record and at most copy - at, and its user address in
 * iov_scratch's piece_ubuf; 0 past the iovecs. Global (not inlined): the
 * length it returns is a fresh number to the verifier. Inline, the walk's
 * branches and the piece's exact bounds gave it a state for every path
 * through every piece, and it gave up.
 */
__noinline __u32 next_piece(__u32 cnt, __u64 at, __u32 copy)
{
	struct iov_buf *iov = bpf_map_lookup_elem(&iov_scratch, &(__u32){ 0 });
	__u64 start = 0, end;

	if (!iov || at >= copy)
		return 0;
	for (int j = 0; j < MS_MAX_LONG_IOV; j++) {
		if (j >= cnt)
			break;
		end = start + iov->v[j].iov_len;
		if (at < end) {
			iov->piece_ubuf = (__u64)iov->v[j].iov_base + (at - start);
			if (end > copy)
				end = copy;
			return end - at < MS_MAX_SNAPLEN ? end - at : MS_MAX_SNAPLEN;
		}
		start = end;
	}
	return 0;
}

/*
 * A call whose copy is longer than a record (MS_MAX_SNAPLEN): its buffer,
 * or each of its first MS_MAX_LONG_IOV iovecs, in pieces of at most a record,
 * one record each, up to the snaplen and MS_MAX_PIECES pieces; the rest,
 * one uncopied record. nats-server, behind, writes a subscriber's backlog
 * in one call (a writev of one iovec) of up to 422 KB; cut at 64 KiB, the
 * rest of its messages were a gap. iov_ptr: the call's iovec array (iovcnt
 * of them), else 0 and buf the buffer. Only here, one call site of
 * emit_chunk() in one loop: every step costs the verifier a walk of it.
 */
static __noinline void emit_long(struct emit_req *r, __u64 iov_ptr,
				 __u32 iovcnt, __u64 buf, __u32 total)
{
	struct iov_buf *iov = bpf_map_lookup_elem(&iov_scratch, &(__u32){ 0 });
	__u32 copy = min_u32(total, snaplen), cnt = 1, done = 0;
	__u64 base = r->off;

	if (!iov)
		return;
	if (iov_ptr) {
		if (!read_iovecs(iov, iov_ptr, iovcnt, &cnt, MS_MAX_LONG_IOV)) {
			r->len = total;
			emit_uncopied(r);
			return;
		}
	} else {
		iov->v[0].iov_base = (void *)buf;
		iov->v[0].iov_len = total;
	}
	/* A TLS hello is its connection's first write, alone, and far
	 * shorter than a record; the constant spares the verifier that
	 * branch of emit_chunk() in every step. */
	r->hello_check = 0;
	for (int k = 0; k < MS_MAX_PIECES; k++) {
		__u32 n = next_piece(cnt, done, copy);

		if (!n)
			break;
		r->ubuf = iov->piece_ubuf;
		r->off = base + done;
		r->len = r->cap = n;
		emit_chunk(r);
		done += n;
	}
	if (done < total) {
		r->off = base + done;
		r->len = total - done;
		emit_uncopied(r);
	}
}

/* The offset of n bytes moved in direction dir, those counted. A send
 * after the ends were paired (OFF_PAIRED) adds MS_F_PEER_READ to *flags. */
static __always_inline __u64 stream_advance(struct conn_state *st, __u8 dir,
					    __u64 n, __u8 *flags)
{
	__u64 off;

	if (dir != MS_DIR_SEND)
		return __sync_fetch_and_add(&st->off[MS_DIR_RECV], n);
	off = __sync_fetch_and_add(&st->off[MS_DIR_SEND], n);
	if (off & OFF_PAIRED)
		*flags |= MS_F_PEER_READ;
	return off & OFF_MASK;
}

/*
 * --pair-local: whether the other end ships what it sends, asked at each
 * read that would be left out. Each end guesses its protocol from its own
 * chunks; one that guessed "other", is guessing still or went TLS ships
 * nothing: this end reads for itself from now on, and the other end's
 * sends stop being flagged. An other end whose entry is gone, or is not
 * the one paired (evicted from the LRU map and made again, unflagged),
 * flags nothing: this end's own sends stop being flagged too, since its
 * reader now ships what it reads. One that closed (tell_peer_closed())
 * shipped everything it sent: its reads are still left out.
 */
static __noinline bool peer_ships(struct conn_state *st)
{
	struct conn_state *ps;

	if (st->peer_closed) /* it shipped all it sent, flagged */
		return true;
	ps = bpf_map_lookup_elem(&conns, &st->peer);
	if (!ps || !(ps->off[MS_DIR_SEND] & OFF_PAIRED) ||
	    !tuple_reversed(&ps->tuple, &st->tuple)) {
		__sync_fetch_and_and(&st->off[MS_DIR_SEND], OFF_MASK);
		goto unpair;
	}
	if (proto_shipped(ps) && !ps->tls) {
		st->peer_ships = 1;
		return true;
	}
	__sync_fetch_and_and(&ps->off[MS_DIR_SEND], OFF_MASK);
unpair:
	st->peer_ships = 0;
	st->elide_from = ~0ULL;
	stat_add(MS_STAT_UNPAIRED, 1);
	return false;
}

/*
 * --pair-local, a read of [off, off + n): how much of it to ship. The
 * peer's sends from st->elide_from on were flagged and stand for these
 * bytes; a read across that point ships the part before it.
 */
static __always_inline __u64 unpaired_part(struct conn_state *st,
					   __u64 off, __u64 n)
{
	if (off + n <= st->elide_from)
		return n;
	if (!peer_ships(st))
		return n;
	if (off >= st->elide_from) {
		stat_add(MS_STAT_PEER_READS, 1);
		return 0;
	}
	return st->elide_from - off;
}

/*
 * n bytes moved on st (key) in direction dir by calls msgscope read no
 * buffer of (splice, io_uring), before the call in hand if any: counted
 * where they fall in the stream, as a record with nothing copied, so that
 * the parsers resynchronise after them. Missing from the offsets, they
 * had the parser take the bytes after them for theirs: a spliced HTTP
 * body became the next response's head. In cut_bytes (and
 * peer_lost_bytes for a paired send).
 */
static __noinline void count_unseen(struct conn_state *st, __u32 tgid,
				    __u32 fd, __u8 dir, __u64 n)
{
	struct emit_req r = { .st = st, .fd = fd, .tgid = tgid, .dir = dir,
			      .sc = MS_SC_UNSEEN };

	if (st->proto == MS_PROTO_OTHER)
		return; /* not counted while skipped (classify_skip) */
	r.off = stream_advance(st, dir, n, &r.flags);
	if (st->proto == MS_PROTO_UNKNOWN) {
		st->guess_tail = 0; /* bytes not looked at came between */
		return;
	}
	if (pair_local && dir == MS_DIR_RECV) {
		n = unpaired_part(st, r.off, n);
		if (!n)
			return;
	}
	r.len = n;
	r.flags |= MS_F_UNCOPIED;
	stat_add(MS_STAT_UNSEEN_BYTES, n);
	emit_uncopied(&r);
}

/*
 * The socket's sequence numbers against the offsets, after a call that
 * moved `moved` bytes in direction dir (0 at the close): the bytes before
 * those end at write_seq (copied_seq) - moved. Further on than the offsets
 * count, calls no hook saw moved the difference: on the syscall hooks
 * splice(2) and io_uring either way, on the socket hooks splice(2) out of
 * the socket (tcp_read_sock(), no sock_recvmsg()). Returns how many, for
 * count_unseen() (not called from here: one call deeper took the socket
 * hooks' deepest chain past the verifier's 512 bytes of stack).
 *
 * One read of the socket when they agree, as on nearly every call. Else
 * not on a socket with an upper layer (kTLS, MPTCP), whose sequence
 * numbers count its own bytes, and not for a FIN: it takes a number of
 * its own, in write_seq once sent, in copied_seq once a read reached it.
 * A closed socket is taken to have sent its FIN (a close(2) on loopback
 * often finds the FIN sent and acknowledged already); one ended by a
 * reset then counts one byte short, as does a read past a reset.
 */
static __noinline __u32 unseen_before(struct conn_state *st, __u8 dir,
				      __u32 moved)
{
	const struct tcp_sock *tp = (const void *)st->sk;
	__u32 end;
	__s32 ahead;
	__u8 state;

	if (!st->seq_known)
		return 0;
	end = dir == MS_DIR_SEND ? BPF_CORE_READ(tp, write_seq) :
				   BPF_CORE_READ(tp, copied_seq);
	ahead = end - moved - (st->seq0[dir] + (__u32)(st->off[dir] & OFF_MASK));
	if (ahead <= 0 || ahead >= (1 << 30) ||
	    BPF_CORE_READ(tp, inet_conn.icsk_ulp_ops))
		return 0;
	state = BPF_CORE_READ(tp, inet_conn.icsk_inet.sk.__sk_common.skc_state);
	if (dir == MS_DIR_SEND) {
		switch (state) {
		case TCP_ESTABLISHED: case TCP_CLOSE_WAIT:
			return ahead;
		case TCP_FIN_WAIT1: case TCP_FIN_WAIT2: case TCP_CLOSING:
		case TCP_LAST_ACK: case TCP_TIME_WAIT: case TCP_CLOSE:
			return ahead - 1;
		}
		return 0;
	}
	if (state != TCP_ESTABLISHED && state != TCP_FIN_WAIT1 &&
	    state != TCP_FIN_WAIT2 && end == BPF_CORE_READ(tp, rcv_nxt))
		return ahead - 1;
	return ahead;
}

static __always_inline __u8 sc_dir(__u16 sc)
{
	bool send = sc == MS_SC_WRITE || sc == MS_SC_WRITEV ||
		    sc == MS_SC_SENDTO || sc == MS_SC_SENDMSG ||
		    sc == MS_SC_SENDMMSG || sc == MS_SC_SENDFILE;

	return send ? MS_DIR_SEND : MS_DIR_RECV;
}

/* The user address of the first payload byte, for the protocol guess. */
static __always_inline __u64 first_byte(const struct call_args *a)
{
	struct user_msghdr msg;
	struct iovec iov;
	__u64 iov_ptr = a->buf;

	switch (a->sc) {
	case MS_SC_READ: case MS_SC_WRITE: case MS_SC_RECVFROM: case MS_SC_SENDTO:
		return a->buf;
	case MS_SC_RECVMSG: case MS_SC_SENDMSG:
	case MS_SC_RECVMMSG: case MS_SC_SENDMMSG:
		if (bpf_probe_read_user(&msg, sizeof(msg), (void *)a->buf))
			return 0;
		iov_ptr = (__u64)msg.msg_iov;
		break;
	}
	if (bpf_probe_read_user(&iov, sizeof(iov), (void *)iov_ptr))
		return 0;
	return (__u64)iov.iov_base;
}

static __noinline int emit_mmsg(struct emit_req *r, __u64 vec, __u32 vlen)
{
	__u32 budget = call_snaplen();

	for (int i = 0; i < MS_MAX_MMSG; i++) {
		struct mmsghdr m;

		if (i >= vlen)
			break;
		if (bpf_probe_read_user(&m, sizeof(m),
					(void *)(vec + i * sizeof(m))))
			break;
		if (!m.msg_len)
			continue;
		r->off = stream_advance(r->st, r->dir, m.msg_len, &r->flags);
		/* Left out only while the last read through unpaired_part()
		 * saw the sender ship (peer_ships): a lookup of its own here
		 * took this chain of calls past the verifier's 512 bytes of
		 * stack. Until a read has looked, shipped (a sight twice,
		 * never none); a sender evicted since that look is not seen
		 * here, only at the next such read. */
		if (pair_local && r->dir == MS_DIR_RECV && r->st->peer_ships &&
		    r->off >= r->st->elide_from)
			continue; /* the peer's flagged sends stand for it */
		budget = emit_iov(r, (__u64)m.msg_hdr.msg_iov,
				  m.msg_hdr.msg_iovlen, m.msg_len, budget);
	}
	return 0;
}

/* For classify_chunk(): 1 + the direction when the call's bytes are one
 * buffer, so that the next call's bytes follow the guessed ones; 0 for the
 * vectors, where first_byte() is only the first piece's. */
static __always_inline __u8 guess_stream(const struct call_args *a)
{
	switch (a->sc) {
	case MS_SC_READ: case MS_SC_WRITE: case MS_SC_RECVFROM: case MS_SC_SENDTO:
		return 1 + sc_dir(a->sc);
	}
	return 0;
}

/* Bytes counted, not copied: sendfile's (no user buffer), and one message
 * of a vector on the socket hooks (which one, they cannot tell). */
static __always_inline bool uncopied(const struct call_args *a)
{
	return a->one_msg || a->sc == MS_SC_SENDFILE;
}

/* A whole sendmmsg/recvmmsg vector at the syscall's exit: ret counts its
 * messages, not bytes. */
static __always_inline bool whole_vector(const struct call_args *a)
{
	return !a->one_msg &&
	       (a->sc == MS_SC_RECVMMSG || a->sc == MS_SC_SENDMMSG);
}

static __always_inline void ship(struct conn_state *st, struct call_args *a,
				 long ret)
{
	struct emit_req r = {
		.st = st, .fd = a->fd, .sc = a->sc,
		.dir = sc_dir(a->sc), .hello_check = a->hello_check,
	};
	struct user_msghdr msg;
	__u64 iov_ptr = 0;
	__u32 budget = call_snaplen(), iovcnt = 0;
	bool long_copy, many_iov;

	if (whole_vector(a)) {
		/* each message carries its own byte count */
		emit_mmsg(&r, a->buf, min_u32(ret, a->count));
		return;
	}
	r.off = stream_advance(st, r.dir, ret, &r.flags);
	if (pair_local && r.dir == MS_DIR_RECV) {
		ret = unpaired_part(st, r.off, ret);
		if (!ret)
			return;
	}
	if (uncopied(a)) {
		/* the offsets stay true */
		r.len = ret;
		r.flags |= MS_F_UNCOPIED;
		emit_uncopied(&r);
		return;
	}
	/* a call shedding cut, not one that copies nothing anyway */
	if (ret > budget && budget < snaplen)
		stat_add(MS_STAT_SHED_CUTS, 1);
	/* A copy longer than one record, while the ring has room for it: one
	 * buffer of it goes in pieces, several up to one record each. */
	if (ret > MS_MAX_SNAPLEN && budget > MS_MAX_SNAPLEN &&
	    !ring_room_for(min_u32(ret, budget))) {
		budget = MS_MAX_SNAPLEN;
		stat_add(MS_STAT_RING_CUTS, 1);
	}
	/* Tested again rather than set false in the branch above: that form
	 * costs on_sys_exit 77k more verifier instructions (850k, not 773k). */
	long_copy = ret > MS_MAX_SNAPLEN && budget > MS_MAX_SNAPLEN;
	/* More iovecs than emit_iov() takes, the whole call within the
	 * budget: emit_long()'s pieces take up to MS_MAX_PIECES of them
	 * (nats-server writes a subscriber's pending messages so). Only where
	 * the snaplen already puts emit_long() in the programs: a load that
	 * falls back to one record per copy must not gain it. */
	many_iov = snaplen > MS_MAX_SNAPLEN && budget >= ret;
	switch (a->sc) {
	case MS_SC_READV: case MS_SC_WRITEV:
		if (!long_copy && !(many_iov && a->count > MS_MAX_IOV)) {
			emit_iov(&r, a->buf, a->count, ret, budget);
			return;
		}
		iov_ptr = a->buf;
		iovcnt = a->count;
		break;
	case MS_SC_RECVMSG: case MS_SC_SENDMSG:
		if (bpf_probe_read_user(&msg, sizeof(msg), (void *)a->buf)) {
			r.len = ret;
			emit_uncopied(&r);
			return;
		}
		if (!long_copy &&
		    !(many_iov && msg.msg_iovlen > MS_MAX_IOV)) {
			emit_iov(&r, (__u64)msg.msg_iov, msg.msg_iovlen, ret,
				 budget);
			return;
		}
		iov_ptr = (__u64)msg.msg_iov;
		iovcnt = msg.msg_iovlen;
		break;
	default:
		if (!long_copy) {
			r.ubuf = a->buf;
			r.len = ret;
			r.cap = min_u32(ret, budget);
			emit_chunk(&r);
			return;
		}
	}
	emit_long(&r, iov_ptr, iovcnt, a->buf, ret);
}

/* ---- syscall hooks ------------------------------------------------------ */

static __always_inline int data_enter(__u32 fd, __u64 buf, __u32 count,
				      __u16 sc)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call_args a = { .buf = buf, .fd = fd, .count = count, .sc = sc };
	struct conn_state *st;

	if (!tgid_wanted(id >> 32))
		return 0;
	st = conn_get(id >> 32, fd, MS_ROLE_UNKNOWN, 0);
	/* st->tls: tls.bpf.c ships this socket's plaintext; nothing to do. */
	if (!st || st->tls || classify_skip(st))
		return 0;
	if (bpf_map_update_elem(&inflight, &id, &a, BPF_ANY))
		stat_add(MS_STAT_INFLIGHT_FULL, 1);
	return 0;
}

/* A data syscall moved ret > 0 bytes on st: guess the protocol, ship them. */
static __always_inline int data_done(struct conn_state *st, struct call_args *a,
				     long ret)
{
	/* On a TLS socket the offsets count plaintext, moved by tls.bpf.c.
	 * Checked before classify_chunk(): ciphertext must not decide the proto
	 * (tls.bpf.c guesses it from the plaintext). */
	if (st->tls)
		return 0;
	/* --pair-local: at an end's first data, before its bytes are counted.
	 * Here, not where the entry is made: under conn_get() the chain of
	 * calls passed the verifier's 512 bytes of stack. */
	if (pair_local && !st->pair_tried) {
		struct ms_conn_key key = {
			.tgid = bpf_get_current_pid_tgid() >> 32, .fd = a->fd,
		};

		st->pair_tried = 1;
		pair_ends(&key, st);
	}
	/* bytes no hook saw before these */
	if (!whole_vector(a) && !a->one_msg) {
		__u32 n = unseen_before(st, sc_dir(a->sc), ret);

		if (n)
			count_unseen(st, 0, a->fd, sc_dir(a->sc), n);
	}
	if (st->proto == MS_PROTO_UNKNOWN && !uncopied(a))
		classify_chunk(st, first_byte(a), ret, st->fresh, guess_stream(a));
	else if (st->proto == MS_PROTO_UNKNOWN)
		st->guess_tail = 0;    /* bytes not looked at came between */
	if (!proto_shipped(st)) {
		__u8 unshipped = 0; /* flags of a record never made */

		/* Keep offsets true while we are still guessing. */
		if (!whole_vector(a))
			stream_advance(st, sc_dir(a->sc), ret, &unshipped);
		return 0;
	}
	ship(st, a, ret);
	return 0;
}

/* Exit after an enter hook (kernels without bpf_task_pt_regs). */
static __always_inline int data_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call_args *ap = bpf_map_lookup_elem(&inflight, &id);
	struct ms_conn_key key;
	struct conn_state *st;
	struct call_args a;

	if (!ap)
		return 0;
	a = *ap;
	/* Only the exit-only path looks at copies for a hello; a constant
	 * spares the verifier that branch of emit_chunk() here. */
	a.hello_check = 0;
	bpf_map_delete_elem(&inflight, &id);
	if (ret <= 0)
		return 0;
	key.tgid = id >> 32;
	key.fd = a.fd;
	st = bpf_map_lookup_elem(&conns, &key);
	if (!st)
		return 0;
	return data_done(st, &a, ret);
}

/* Syscall argument i (-1: none) as the task entered the kernel with it: the
 * x86-64 syscall convention, which the exit leaves in place (only ax, the
 * return value, changes). */
static __always_inline __u64 syscall_arg(struct pt_regs *regs, int i)
{
	switch (i) {
	case 0: return regs->di;
	case 1: return regs->si;
	case 2: return regs->dx;
	case 3: return regs->r10;
	case 4: return regs->r8;
	case 5: return regs->r9;
	}
	return 0;
}

/*
 * A data syscall moved ret > 0 bytes; its arguments were read at its exit
 * (sk NULL) or inside it, on the socket hooks (sk the socket). fd and count
 * come packed, fd in the low half: BPF calls take five arguments. by_sock
 * is a constant, so that each caller's copy is verified without the other
 * lookup: a test of sk there doubled the paths past the verifier's limit.
 */
static __always_inline int data_args(long ret, __u16 sc, __u64 fd_count,
				     __u64 buf, struct sock *sk, bool by_sock)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call_args a = {
		.buf = buf, .fd = (__u32)fd_count, .count = fd_count >> 32,
		.sc = sc,
		.one_msg = by_sock && (sc == MS_SC_RECVMMSG || sc == MS_SC_SENDMMSG),
	};
	bool send = sc == MS_SC_WRITE || sc == MS_SC_SENDTO;
	__s64 moved = sc == MS_SC_RECVMMSG || sc == MS_SC_SENDMMSG ? MOVED_UNKNOWN :
		      sc_dir(sc) == MS_DIR_SEND ? ret : -ret;
	struct conn_state *st;

	st = by_sock ? conn_get_sock(id >> 32, a.fd, sk, moved) :
		       conn_get(id >> 32, a.fd, MS_ROLE_UNKNOWN, moved);
	/* First, as tls.bpf.c's enter hooks would have: whether these bytes
	 * are TLS, so that ciphertext is not shipped. The same syscalls. A
	 * send that will be shipped is looked at for a hello in its copy
	 * (emit_chunk) instead: each user read costs ~90 ns here, and this
	 * one was a send's second. */
	if (st && tls_at_exit && sc != MS_SC_RECVMMSG && sc != MS_SC_SENDMMSG &&
	    sc != MS_SC_SENDFILE) {
		a.hello_check = send && !st->tls && proto_shipped(st);
		tls_syscall(st, id, a.fd, a.buf, send && !a.hello_check);
	}
	if (!st || st->tls || classify_skip(st))
		return 0;
	return data_done(st, &a, ret);
}

/* One copy of this body serves every syscall hook and on_sys_exit. */
static __noinline int data_exit_args(long ret, __u16 sc, __u64 fd, __u64 buf,
				     __u64 count)
{
	return data_args(ret, sc, (__u32)fd | count << 32, buf, NULL, false);
}

/* And this one both socket hooks. */
static __noinline int data_sock_args(long ret, __u16 sc, __u64 fd_count,
				     __u64 buf, struct sock *sk)
{
	return data_args(ret, sc, fd_count, buf, sk, true);
}

/* Exit alone, one tracepoint per syscall: the arguments from the saved user
 * registers. */
static __always_inline int data_exit_regs(long ret, __u16 sc, int fd_i,
					  int buf_i, int count_i, int flags_i)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pt_regs *regs;

	if (ret <= 0 || !tgid_wanted(id >> 32))
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	if (syscall_arg(regs, flags_i) & MSG_PEEK)
		return 0; /* the bytes will be read again */
	return data_exit_args(ret, sc, syscall_arg(regs, fd_i),
			      syscall_arg(regs, buf_i), syscall_arg(regs, count_i));
}

/* Constant offsets only: the verifier refuses a context pointer moved first
 * and dereferenced after, which ctx->args[i] can compile to. */
static __always_inline __u64 enter_arg(struct trace_event_raw_sys_enter *ctx,
				       int i)
{
	switch (i) {
	case 0: return ctx->args[0];
	case 1: return ctx->args[1];
	case 2: return ctx->args[2];
	case 3: return ctx->args[3];
	}
	return 0;
}

/* Argument positions, -1 for none. The enter hooks are loaded only when
 * args_at_exit is false (userspace turns their autoload off). */
#define DATA_HOOKS(name, SC, FD, BUF, COUNT, FLAGS)                            \
	SEC("tracepoint/syscalls/sys_enter_" #name)                            \
	int enter_##name(struct trace_event_raw_sys_enter *ctx)                \
	{                                                                      \
		if (enter_arg(ctx, FLAGS) & MSG_PEEK)                          \
			return 0; /* the bytes will be read again */           \
		return data_enter(enter_arg(ctx, FD), enter_arg(ctx, BUF),     \
				  enter_arg(ctx, COUNT), SC);                  \
	}                                                                      \
	SEC("tracepoint/syscalls/sys_exit_" #name)                             \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)                  \
	{                                                                      \
		if (args_at_exit)                                              \
			return data_exit_regs(ctx->ret, SC, FD, BUF, COUNT,    \
					      FLAGS);                          \
		return data_exit(ctx->ret);                                    \
	}

DATA_HOOKS(read, MS_SC_READ, 0, 1, -1, -1)
DATA_HOOKS(write, MS_SC_WRITE, 0, 1, -1, -1)
DATA_HOOKS(readv, MS_SC_READV, 0, 1, 2, -1)
DATA_HOOKS(writev, MS_SC_WRITEV, 0, 1, 2, -1)
DATA_HOOKS(recvfrom, MS_SC_RECVFROM, 0, 1, -1, 3)
DATA_HOOKS(sendto, MS_SC_SENDTO, 0, 1, -1, -1)
DATA_HOOKS(recvmsg, MS_SC_RECVMSG, 0, 1, -1, 2)
DATA_HOOKS(sendmsg, MS_SC_SENDMSG, 0, 1, -1, -1)
DATA_HOOKS(recvmmsg, MS_SC_RECVMMSG, 0, 1, 2, 3)
DATA_HOOKS(sendmmsg, MS_SC_SENDMMSG, 0, 1, 2, -1)
DATA_HOOKS(sendfile64, MS_SC_SENDFILE, 0, -1, -1, -1)

/* connect/accept mark a connection as fresh: we see it from byte 0. */
static __always_inline int remember_call(__u32 fd, __u16 sc)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call_args a = { .fd = fd, .sc = sc };

	if (!tgid_wanted(id >> 32))
		return 0;
	if (bpf_map_update_elem(&inflight, &id, &a, BPF_ANY))
		stat_add(MS_STAT_INFLIGHT_FULL, 1);
	return 0;
}

/* The socket connect(2) (on fd_arg) or accept(2) made, by its return: -1
 * for none. A non-blocking connect returns -EINPROGRESS on its way. */
static __always_inline __s64 made_fd(bool connect, __u64 fd_arg, long ret)
{
	if (connect)
		return ret == 0 || ret == -EINPROGRESS ? (__s64)fd_arg : -1;
	return ret >= 0 ? ret : -1;
}

static __always_inline int new_conn_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call_args *ap = bpf_map_lookup_elem(&inflight, &id);
	bool connect;
	__s64 fd;

	if (!ap)
		return 0;
	connect = ap->sc == SC_CONNECT;
	fd = made_fd(connect, ap->fd, ret);
	if (fd >= 0)
		conn_get(id >> 32, fd, connect ? MS_ROLE_CLIENT : MS_ROLE_SERVER, 0);
	bpf_map_delete_elem(&inflight, &id);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	return remember_call(ctx->args[0], SC_CONNECT);
}

SEC("tracepoint/syscalls/sys_exit_connect")
int exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	return new_conn_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_accept")
int enter_accept(struct trace_event_raw_sys_enter *ctx)
{
	return remember_call(ctx->args[0], SC_ACCEPT);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	return new_conn_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_accept4")
int enter_accept4(struct trace_event_raw_sys_enter *ctx)
{
	return remember_call(ctx->args[0], SC_ACCEPT);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return new_conn_exit(ctx->ret);
}

/* ---- close(2) --------------------------------------------------------- */

/* close(2)'s enter, on the path of a tracepoint per syscall: the fd still
 * holds the file, so an entry left from an earlier file there is forgotten
 * unsaid. */
SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ms_conn_key key = { .tgid = id >> 32, .fd = ctx->args[0] };
	struct conn_state *st = bpf_map_lookup_elem(&conns, &key);

	if (!st)
		return 0;
	if (st->file != (__u64)fd_to_file(key.fd)) {
		bpf_map_delete_elem(&conns, &key);
		return 0;
	}
	conn_closed(&key, st, id, true);
	return 0;
}

/* close(2)'s exit, for on_sys_exit, which reads its argument from the
 * saved registers: no syscall needs an enter hook then. The fd is free by
 * now (even when close fails, unless EBADF). If it holds a file again,
 * another thread reopened it between the close and here: an entry for
 * that file is the new connection's, kept. */
static __always_inline int close_exit(__u32 fd)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ms_conn_key key = { .tgid = id >> 32, .fd = fd };
	struct conn_state *st = bpf_map_lookup_elem(&conns, &key);

	if (!st || st->file == (__u64)fd_to_file(fd))
		return 0;
	conn_closed(&key, st, id, true);
	return 0;
}

/* ---- one raw sys_exit hook ---------------------------------------------- */

/*
 * Where tp_btf works (and args_at_exit), the programs above are not loaded:
 * this one program sees every syscall's exit and picks ours by number
 * (unless the socket hooks below stand in for it). It costs less per data
 * syscall than a syscall tracepoint (30-60 ns) and more on every other
 * syscall (~45 ns), and detaching it takes no RCU grace period: each
 * syscall tracepoint took ~75 ms to detach on Ctrl-C, one after the other
 * (the kernel waits for readers per event).
 * Numbers and registers are x86-64's (arch/x86/entry/syscalls/syscall_64.tbl);
 * so is vmlinux.h.
 */
enum {
	NR_READ = 0, NR_WRITE = 1, NR_CLOSE = 3, NR_MMAP = 9, NR_READV = 19,
	NR_WRITEV = 20,
	NR_SENDFILE = 40, NR_CONNECT = 42, NR_ACCEPT = 43, NR_SENDTO = 44,
	NR_RECVFROM = 45, NR_SENDMSG = 46, NR_RECVMSG = 47, NR_ACCEPT4 = 288,
	NR_RECVMMSG = 299, NR_SENDMMSG = 307, NR_CLOSE_RANGE = 436,
};

#define TS_COMPAT 0x0002

/* A 32-bit task's syscall numbers mean other calls (20 is getpid there);
 * the syscall tracepoints skip those tasks, and so do we. */
static __always_inline bool compat_syscall(void)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (!bpf_core_field_exists(task->thread_info.status))
		return false;
	return task->thread_info.status & TS_COMPAT;
}

/* connect(2) or accept(2) made a socket we see from byte 0. */
static __always_inline int conn_made(__u64 fd, __u8 role)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (!tgid_wanted(id >> 32) || compat_syscall())
		return 0;
	conn_get(id >> 32, fd, role, 0);
	return 0;
}

/* mmap(2) made an executable mapping of a libssl: tell tls_attach.c. (Where
 * this hook does not run, tls.bpf.c's own mmap hooks do.) */
static __always_inline int libssl_mapped(struct pt_regs *regs, long ret)
{
	struct tls_notify n = {
		.kind = NOTIFY_LIBSSL,
		.tgid = bpf_get_current_pid_tgid() >> 32,
	};

	if (mmap_failed(ret) || compat_syscall())
		return 0;
	if (libssl_mapping(regs->dx, regs->r8, &n))
		tls_notify_user(&n);
	return 0;
}

/* Which of our data syscalls regs is in, with its count and flags
 * arguments; false for any other syscall. */
static __always_inline bool data_syscall(struct pt_regs *regs, __u16 *sc,
					 __u64 *count, __u64 *flags)
{
	*count = *flags = 0;
	switch (regs->orig_ax) {
	case NR_READ: *sc = MS_SC_READ; break;
	case NR_WRITE: *sc = MS_SC_WRITE; break;
	case NR_READV: *sc = MS_SC_READV; *count = regs->dx; break;
	case NR_WRITEV: *sc = MS_SC_WRITEV; *count = regs->dx; break;
	case NR_SENDFILE: *sc = MS_SC_SENDFILE; break;
	case NR_SENDTO: *sc = MS_SC_SENDTO; break;
	case NR_RECVFROM: *sc = MS_SC_RECVFROM; *flags = regs->r10; break;
	case NR_SENDMSG: *sc = MS_SC_SENDMSG; break;
	case NR_RECVMSG: *sc = MS_SC_RECVMSG; *flags = regs->dx; break;
	case NR_SENDMMSG: *sc = MS_SC_SENDMMSG; *count = regs->dx; break;
	case NR_RECVMMSG:
		*sc = MS_SC_RECVMMSG;
		*count = regs->dx;
		*flags = regs->r10;
		break;
	default:
		return false;
	}
	return true;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	__u64 count, flags;
	__s64 fd;
	__u16 sc;

	switch (regs->orig_ax) {
	case NR_CONNECT:
		fd = made_fd(true, regs->di, ret);
		return fd < 0 ? 0 : conn_made(fd, MS_ROLE_CLIENT);
	case NR_ACCEPT: case NR_ACCEPT4:
		fd = made_fd(false, regs->di, ret);
		return fd < 0 ? 0 : conn_made(fd, MS_ROLE_SERVER);
	case NR_MMAP:
		return tls_at_exit ? libssl_mapped(regs, ret) : 0;
	case NR_CLOSE:
		return ret == -EBADF ? 0 : close_exit(regs->di);
	}
	if (!data_syscall(regs, &sc, &count, &flags))
		return 0;
	if (ret <= 0 || (flags & MSG_PEEK)) /* peeked bytes are read again */
		return 0;
	if (!tgid_wanted(bpf_get_current_pid_tgid() >> 32) || compat_syscall())
		return 0;
	return data_exit_args(ret, sc, regs->di, regs->si, count);
}

/* ---- socket hooks ------------------------------------------------------- */

/*
 * Where the kernel has the sock_send_length and sock_recv_length
 * tracepoints, they stand in for on_sys_exit: they run inside each socket
 * send and receive, and nowhere else. on_sys_exit runs on every syscall of
 * every process on the host, a file read as much as a socket's: dd's
 * 64-byte reads and writes took 2.25 times their CPU time under it, 1.19
 * times with these and close(2)'s and mmap(2)'s exit tracepoints
 * (bench/bystander_cost.sh): any syscall tracepoint sends every syscall
 * through the kernel's slow path. So close is taken from the socket's
 * TCP_CLOSE (on_sock_state), and mmap from the mm's unlock where the kernel
 * has that tracepoint: no syscall tracepoint is left.
 */
#define PF_EXITING 0x00000004
#define PF_IO_WORKER 0x00000010
#define PF_KTHREAD 0x00200000

/* The current task's saved user registers, for the syscall it is in; NULL
 * for kernel threads and io_uring workers, which have no syscall of theirs
 * to read. */
static __always_inline struct pt_regs *syscall_regs(struct task_struct *task)
{
	if (task->flags & (PF_KTHREAD | PF_IO_WORKER))
		return NULL;
	return (struct pt_regs *)bpf_task_pt_regs(task);
}

/*
 * The connection sock_conns names for sk, its key in *key: false when sk
 * has no entry. *st is its state while that is still this socket's (the
 * fd may hold another since), else NULL.
 */
static __always_inline bool sock_conn(const struct sock *sk,
				      struct ms_conn_key *key,
				      struct conn_state **st)
{
	__u64 skey = (__u64)sk;
	struct ms_conn_key *kp = bpf_map_lookup_elem(&sock_conns, &skey);

	if (!kp)
		return false;
	*key = *kp;
	*st = bpf_map_lookup_elem(&conns, key);
	if (*st && (*st)->sk != skey)
		*st = NULL;
	return true;
}

/*
 * ret bytes moved on sk by a call that is no data syscall: splice(2) into
 * the socket, io_uring's sends and receives (inline in io_uring_enter or
 * from its workers), a kernel thread. Counted against the connection
 * sock_conns names (count_unseen()). (splice(2) out of a socket reads by
 * tcp_read_sock(), no hook of these: unseen_before() finds those.)
 */
static __noinline int sock_moved_unseen(struct sock *sk, int ret, __u8 dir)
{
	struct ms_conn_key key;
	struct conn_state *st;

	if (!sock_conn(sk, &key, &st) || !st || st->tls)
		return 0;
	count_unseen(st, key.tgid, key.fd, dir, ret);
	return 0;
}

/* ret bytes moved on sk, inside the syscall that asked for them: its
 * arguments are in the saved user registers, as at its exit. */
static __always_inline int sock_moved(struct sock *sk, int ret, __u8 dir)
{
	struct pt_regs *regs;
	__u64 count, flags;
	__u16 sc;

	if (ret <= 0)
		return 0;
	regs = syscall_regs(bpf_get_current_task_btf());
	/* (MSG_PEEK: on_sock_recv has the flags the socket was given) */
	if (!regs || !data_syscall(regs, &sc, &count, &flags))
		return sock_moved_unseen(sk, ret, dir);
	if (!tgid_wanted(bpf_get_current_pid_tgid() >> 32) || compat_syscall())
		return 0;
	return data_sock_args(ret, sc, (__u32)regs->di | count << 32, regs->si,
			      sk);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(on_sock_send, struct sock *sk, int ret, int flags)
{
	return sock_moved(sk, ret, MS_DIR_SEND);
}

/* A read on a closed socket found its end (0, or the reset's error): a
 * connection left closing by sock_closed() ends here. */
static __always_inline int sock_read_end(struct sock *sk)
{
	struct pt_regs *regs = syscall_regs(bpf_get_current_task_btf());
	__u64 id = bpf_get_current_pid_tgid(), count, flags;
	struct ms_conn_key key = { .tgid = id >> 32 };
	struct conn_state *st;
	__u16 sc;

	if (!regs || !data_syscall(regs, &sc, &count, &flags))
		return 0;
	key.fd = regs->di;
	st = bpf_map_lookup_elem(&conns, &key);
	if (st && st->sk == (__u64)sk && st->closing)
		conn_closed(&key, st, id, true);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(on_sock_recv, struct sock *sk, int ret, int flags)
{
	if (flags & MSG_PEEK)
		return 0;
	if (ret <= 0)
		return close_on_state && sk->__sk_common.skc_state == TCP_CLOSE ?
		       sock_read_end(sk) : 0;
	return sock_moved(sk, ret, MS_DIR_RECV);
}

/* Bytes that arrived on sk and wait to be read: tcp_inq(), the FIN (one
 * sequence number, after SOCK_DONE) not counted. */
static __always_inline __u32 unread_bytes(const struct sock *sk)
{
	const struct tcp_sock *tp = (const void *)sk;
	__u32 n = BPF_CORE_READ(tp, rcv_nxt) - BPF_CORE_READ(tp, copied_seq);

	if (n && (sk->__sk_common.skc_flags & (1UL << SOCK_DONE)))
		n--;
	return n;
}

/*
 * Whether the current task is the process of key letting go of its fd: its
 * close(2) or close_range(2) of it, or its exit. Closed with bytes unread,
 * a socket is reset and reaches TCP_CLOSE right there, in the closing
 * task; those bytes will never be read.
 */
static __always_inline bool letting_go(const struct ms_conn_key *key)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs;

	if (bpf_get_current_pid_tgid() >> 32 != key->tgid)
		return false;
	if (task->flags & PF_EXITING)
		return true;
	regs = syscall_regs(task);
	if (!regs)
		return false;
	if (regs->orig_ax == NR_CLOSE)
		return (__u32)regs->di == key->fd;
	return regs->orig_ax == NR_CLOSE_RANGE && key->fd >= (__u32)regs->di &&
	       key->fd <= (__u32)regs->si;
}

/*
 * A socket reached TCP_CLOSE: the connection is over, whichever end closed
 * first. Often not in the closing process's context (softirq, when the
 * peer's FIN or ACK arrives), hence sock_conns. An entry the fd has been
 * reused for since (conn_get_sock closed it then) is not this socket's.
 * A socket its process still holds may have bytes left to read (it shut
 * down its side and the peer's last bytes and FIN came before its read,
 * or a reset came): it ends at the read that finds the end instead, so
 * those bytes stay on their connection. Unless the process is closing it:
 * then nothing will read them (an HTTP server that answers and closes
 * without reading a request's body).
 */
static __always_inline void sock_closed(const struct sock *sk)
{
	__u64 skey = (__u64)sk;
	struct ms_conn_key key;
	struct conn_state *st;

	if (!sock_conn(sk, &key, &st))
		return;
	if (st && sk->sk_socket && unread_bytes(sk) && !letting_go(&key)) {
		/* its sock_conns entry stays, for on_sock_destroy */
		st->closing = 1;
		return;
	}
	bpf_map_delete_elem(&sock_conns, &skey);
	if (st)
		conn_closed(&key, st, 0, false);
}

/* Connections opened while we watch, for their first data (fresh_socks),
 * and, with close_on_state, their end. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(on_sock_state, const struct sock *sk, const int oldstate,
	     const int newstate)
{
	__u64 key = (__u64)sk;
	__u8 role;

	if (newstate == TCP_CLOSE) {
		bpf_map_delete_elem(&fresh_socks, &key);
		if (close_on_state)
			sock_closed(sk);
		return 0;
	}
	if (newstate != TCP_ESTABLISHED || sk->sk_protocol != IPPROTO_TCP)
		return 0;
	if (oldstate == TCP_SYN_SENT)
		role = MS_ROLE_CLIENT;
	else if (oldstate == TCP_SYN_RECV)
		role = MS_ROLE_SERVER;
	else
		return 0;
	bpf_map_update_elem(&fresh_socks, &key, &role, BPF_ANY);
	return 0;
}

/*
 * The socket is freed: its process closed it (or exited), or, orphaned, it
 * finished closing. A connection left closing by sock_closed() whose
 * process closes it without reading the rest (the peer reset it with a
 * request's body unread, and the server gave up on it) ends here: no read
 * will find its end, and the fd may never be reused.
 */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(on_sock_destroy, struct sock *sk)
{
	__u64 skey = (__u64)sk;
	struct ms_conn_key key;
	struct conn_state *st;

	if (!sock_conn(sk, &key, &st))
		return 0;
	bpf_map_delete_elem(&sock_conns, &skey);
	if (st && st->closing)
		conn_closed(&key, st, 0, false);
	return 0;
}

/* mmap(2), its exit alone, for the TLS libraries' watch (libssl_mapped),
 * where the kernel lacks the tracepoint below. */
SEC("tracepoint/syscalls/sys_exit_mmap")
int exit_mmap(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs;

	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	return libssl_mapped(regs, ctx->ret);
}

/*
 * The same watch without a syscall tracepoint, where the kernel has the
 * mmap_lock tracepoints: mmap(2) releases the mm's write lock once the
 * mapping is in place, and only calls that change mappings (or fault
 * outside the per-VMA locks) take that lock. The call's return value is
 * not known yet; a failed mmap only costs userspace a look at the maps.
 */
SEC("tp_btf/mmap_lock_released")
int BPF_PROG(on_mmap_unlock, struct mm_struct *mm, bool write)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs;

	if (!write || task->mm != mm)
		return 0;
	regs = syscall_regs(task);
	if (!regs || regs->orig_ax != NR_MMAP)
		return 0;
	return libssl_mapped(regs, 0);
}

/* ---- process lifetime --------------------------------------------------- */

/* A process forked by a followed one is followed too (threads share the
 * tgid and need nothing). */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u8 one = 1;

	if (!filter_pids || ptgid == ctgid)
		return 0;
	if (bpf_map_lookup_elem(&pids, &ptgid))
		bpf_map_update_elem(&pids, &ctgid, &one, BPF_ANY);
	return 0;
}

/* The last thread of a followed process is gone: its sockets closed without
 * close(2), so userspace must flush them. */
static __always_inline int process_exit(void)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct ms_proc_event *e = NULL;
	void *ring;

	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (!tgid_wanted(tgid))
		return 0;
	ring = ring_for(sizeof(*e));
	if (ring)
		e = bpf_ringbuf_reserve(ring, sizeof(*e), 0);
	if (!e) {
		stat_add(MS_STAT_DROP_CONTROL, 1);
		goto out;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->h.type = MS_EV_PROC_EXIT;
	e->h.tgid = tgid;
	e->h.tid = (__u32)id;
	e->h.ts_ns = bpf_ktime_get_ns();
	leader_comm(e->h.comm);
	e->exit_code = BPF_CORE_READ(task, exit_code);
	bpf_ringbuf_submit(e, 0);
out:
	if (filter_pids)
		bpf_map_delete_elem(&pids, &tgid);
	return 0;
}

/* Where tp_btf works, the raw tracepoint: it detaches without waiting for an
 * RCU grace period (bpf/capture.bpf.c's on_sys_exit says why that matters). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit_btf)
{
	return process_exit();
}

SEC("tracepoint/sched/sched_process_exit")
int on_exit(void *ctx)
{
	return process_exit();
}
