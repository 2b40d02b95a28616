/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * tls_state.bpf.h — which sockets carry TLS, shared by both BPF objects.
 *
 * tls.bpf.c's uprobes say when a thread is inside an SSL call (ssl_calls)
 * and ship the plaintext; the data syscalls that thread makes meanwhile
 * tell which socket the SSL object speaks over, and a TLS hello written on
 * a tracked socket marks it even for a TLS stack we do not hook. Either
 * way st->tls must be set before capture.bpf.c decides, at the same
 * syscall's exit, whether to ship the bytes: ciphertext never leaves the
 * kernel. Where the exit can read the syscall's arguments (Linux >= 5.15),
 * capture.bpf.c calls tls_syscall() itself at the top of its exit hook
 * (and looks for the hello in the copy of a send it ships, rather than
 * reading it twice); older kernels run it from tls.bpf.c's sys_enter
 * hooks. The maps are created by capture.bpf.c and handed to tls.bpf.c
 * (bpf_map__reuse_fd).
 */
#ifndef MSGSCOPE_TLS_STATE_BPF_H
#define MSGSCOPE_TLS_STATE_BPF_H

#include "msgscope.h"
#include "maps.bpf.h"
#include "filter.bpf.h"

/* conn_state.tls bits. Any non-zero value stops capture.bpf.c shipping. */
#define TLS_ON 1          /* plaintext comes from tls.bpf.c */
#define TLS_FROM_START 2  /* bound before any plaintext moved */

/* Counters of the TLS side (userspace reports them with -v). */
enum tls_stat {
	TLS_STAT_EVENTS = 0,     /* plaintext chunks shipped */
	TLS_STAT_UNBOUND,        /* plaintext of an SSL* whose fd is unknown */
	TLS_STAT_NO_CONN,        /* bound fd without a tracked connection */
	TLS_STAT_GO_BADCONN,     /* *tls.Conn not over a *net.TCPConn */
	TLS_STAT_SNIFFED,        /* sockets marked TLS by a hello we saw */
	TLS_STAT__COUNT,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TLS_STAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} tls_stats SEC(".maps");

static __always_inline void tstat(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&tls_stats, &idx);

	if (c)
		*c += 1;
}

enum { TOP_NONE = 0, TOP_READ = 1, TOP_WRITE = 2 };

/* A thread inside an SSL function, from its entry to its return. */
struct ssl_call {
	__u64 ssl;
	__u64 buf;           /* SSL_read/SSL_write buffer */
	__u64 nptr;          /* SSL_*_ex: size_t *readbytes / *written */
	__s32 fd;            /* socket the library used during the call */
	__u8 op;             /* TOP_* of the read/write in progress */
	__u8 depth;          /* nested SSL calls (SSL_connect→SSL_do_handshake) */
	__u8 handshake;      /* a handshake function is on the stack */
	__u8 _pad;
};

/* LRU, and cleared at thread exit: a thread that died inside an SSL call
 * must not leave a stale "inside SSL" mark for the next thread that gets
 * its id (it would bind that thread's plaintext sockets as TLS). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);  /* pid_tgid */
	__type(value, struct ssl_call);
} ssl_calls SEC(".maps");

struct ssl_key {
	__u32 tgid;
	__u32 _pad;
	__u64 ssl;
};

struct ssl_bind {
	__s32 fd;
	__u32 from_start;
};

/* SSL* -> the socket fd it speaks over. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ssl_key);
	__type(value, struct ssl_bind);
} ssl_fds SEC(".maps");

/* The tracked connection (tgid, fd), if the entry still describes the
 * struct file that fd holds now. */
static __always_inline struct conn_state *conn_find(__u32 tgid, __s32 fd)
{
	struct ms_conn_key key = { .tgid = tgid, .fd = fd };
	struct conn_state *st;

	if (fd < 0)
		return NULL;
	st = bpf_map_lookup_elem(&conns, &key);
	if (!st || st->file != (__u64)fd_to_file(fd))
		return NULL;
	return st;
}

/*
 * From now on this connection's bytes are TLS plaintext from this object.
 * First binding: offsets restart at 0 (they count plaintext now) and a
 * protocol guessed from nothing or from ciphertext is guessed again. A
 * NATS connection keeps NATS: its INFO came in the clear before the
 * handshake.
 */
static __noinline int tls_bind_state(struct conn_state *st, __u32 from_start)
{
	if (!st)
		return -1;
	if (st->tls & TLS_ON)
		return 0;
	/* and --pair-local's pairing ends: plaintext is shipped from both
	 * ends' TLS probes, never flagged, never left out */
	st->off[MS_DIR_SEND] = 0;
	st->off[MS_DIR_RECV] = 0;
	st->elide_from = ~0ULL;
	if (!proto_shipped(st)) {
		st->proto = port_override(&st->tuple);
		st->guesses = 0;
	}
	st->tls = TLS_ON | (from_start ? TLS_FROM_START : 0);
	return 0;
}

static __always_inline int tls_bind(__u32 tgid, __s32 fd, __u32 from_start)
{
	return tls_bind_state(conn_find(tgid, fd), from_start);
}

/* A TLS handshake record carrying a ClientHello or ServerHello: what every
 * TLS stack writes first. */
static __always_inline bool is_tls_hello(const __u8 h[6])
{
	__u16 rec_len = (__u16)h[3] << 8 | h[4];

	return h[0] == 0x16 && h[1] == 0x03 && h[2] <= 0x04 &&
	       rec_len >= 4 && rec_len <= 18432 && (h[5] == 1 || h[5] == 2);
}

/* Whether the bytes at user address buf start with a TLS hello. */
static __always_inline bool starts_hello(__u64 buf)
{
	__u8 h[6] = {};

	return !bpf_probe_read_user(h, sizeof(h), (void *)buf) && is_tls_hello(h);
}

/* A TLS hello was sent on st: a handshake starts now, and whatever
 * plaintext comes is from byte 0. */
static __always_inline void tls_hello_sent(struct conn_state *st)
{
	if (!tls_bind_state(st, 1))
		tstat(TLS_STAT_SNIFFED);
}

/*
 * The current thread (id) makes a data syscall on fd with buffer buf; send:
 * buf is the payload (write, sendto: what TLS stacks use, OpenSSL's socket
 * BIO and Go's netFD). st: the socket's state when the caller has it, NULL
 * to look it up.
 */
static __always_inline void tls_syscall(struct conn_state *st, __u64 id,
					__s32 fd, __u64 buf, bool send)
{
	__u32 tgid = id >> 32;
	struct ssl_call *c = bpf_map_lookup_elem(&ssl_calls, &id);
	struct ssl_key key = { .tgid = tgid };
	struct ssl_bind b = {}, *old;

	if (fd < 0)
		return;
	if (c) {
		/* Only a TCP socket counts: a keylog write to a file or a log
		 * line on stderr inside an SSL call does not. One not tracked
		 * yet (older than the trace, this is its first syscall since)
		 * is tracked by capture's exit hook, and bound when the SSL call
		 * returns its plaintext (tls_data). */
		if (!st)
			st = conn_find(tgid, fd);
		if (!st && !file_tcp_sock(fd_to_file(fd)))
			return;
		c->fd = fd;
		key.ssl = c->ssl;
		old = bpf_map_lookup_elem(&ssl_fds, &key);
		b.fd = fd;
		b.from_start = c->handshake || (old && old->fd == fd && old->from_start);
		if (!old || old->fd != fd || old->from_start != b.from_start)
			bpf_map_update_elem(&ssl_fds, &key, &b, BPF_ANY);
		tls_bind_state(st, b.from_start);
		return;
	}
	if (!send || !buf)
		return;
	if (!st)
		st = conn_find(tgid, fd);
	if (!st || st->tls || st->proto == MS_PROTO_OTHER)
		return;
	if (starts_hello(buf))
		tls_hello_sent(st);
}

/* ---- new TLS users: executables and libssl mappings --------------------- */

/* New executables and libssl mappings, for userspace to attach to. Must
 * match struct tls_notify in userspace/tls_attach.c. */
enum { NOTIFY_EXEC = 1, NOTIFY_LIBSSL = 2 };

struct tls_notify {
	__u32 kind;
	__u32 tgid;
	__u64 ino;
	__u32 dev;           /* kernel dev_t: major << 20 | minor */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 10);
} tls_notify SEC(".maps");

#define PROT_EXEC 4

/* mmap(2) returns an address, or -errno (-4095..-1) when it failed. */
static __always_inline bool mmap_failed(long ret)
{
	return ret < 0 && ret >= -4095;
}

static __always_inline void tls_notify_user(struct tls_notify *n)
{
	struct tls_notify *e = bpf_ringbuf_reserve(&tls_notify, sizeof(*e), 0);

	if (!e)
		return;
	*e = *n;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void file_id(struct file *f, struct tls_notify *n)
{
	n->ino = BPF_CORE_READ(f, f_inode, i_ino);
	n->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
}

/* mmap(2) with these prot and fd maps a file named libssl* executable, for
 * a process we follow: fills n's file. */
static __always_inline bool libssl_mapping(__u64 prot, __s32 fd, struct tls_notify *n)
{
	const unsigned char *name;
	char pfx[8] = {};
	struct file *f;

	if (!(prot & PROT_EXEC) || fd < 0 || !tgid_wanted(n->tgid))
		return false;
	f = fd_to_file(fd);
	if (!f)
		return false;
	name = BPF_CORE_READ(f, f_path.dentry, d_name.name);
	if (bpf_probe_read_kernel(pfx, 6, name) ||
	    pfx[0] != 'l' || pfx[1] != 'i' || pfx[2] != 'b' || pfx[3] != 's' ||
	    pfx[4] != 's' || pfx[5] != 'l')
		return false;
	file_id(f, n);
	return true;
}

#endif /* MSGSCOPE_TLS_STATE_BPF_H */
