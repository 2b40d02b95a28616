/* SPDX-License-Identifier: MIT */
/*
 * msgscope.h — the ABI shared by the BPF programs (bpf/) and userspace.
 *
 * Only types, constants and map keys live here: no logic. Any change to a
 * layout below bumps MSGSCOPE_ABI_VERSION so that a stale object is refused.
 * Integer types are the kernel's __u8.. so the header compiles on both sides.
 */
#ifndef MSGSCOPE_ABI_H
#define MSGSCOPE_ABI_H

#define MSGSCOPE_ABI_VERSION 1

#define MS_COMM_LEN 16
/* Largest payload slice one event (record) can carry; must be a power of
 * two. A syscall's longer copy goes out as several records. */
#define MS_MAX_SNAPLEN 65536
/* iovecs of a readv/writev/sendmsg/recvmsg shipped one record each; the
 * bytes beyond go out uncopied (one record, counted as cut_bytes). */
#define MS_MAX_IOV 8
/* iovecs a copy longer than one record is walked over, in pieces: Go
 * servers write a backlog as many buffers (nats-server: 15, 512, 1024 ...
 * 32768 bytes, then 64 KiB each), so the first 8 held 64 KB of a 360 KB
 * call. */
#define MS_MAX_LONG_IOV 32
/* Records a syscall's copy longer than MS_MAX_SNAPLEN may go out as: its
 * buffer's, or its first MS_MAX_LONG_IOV iovecs', pieces of at most
 * MS_MAX_SNAPLEN. */
#define MS_MAX_PIECES 16
/* The largest --snaplen: what MS_MAX_PIECES records carry. */
#define MS_MAX_SYSCALL_SNAPLEN (MS_MAX_PIECES * MS_MAX_SNAPLEN)
/* Per syscall. Large enough for a whole client write buffer (libnats
 * flushes up to 32 KiB of batched PUBs at once), a whole nats-server read
 * (its buffer grows to 64 KiB under load) and a whole backlog write
 * (nats-server, behind, writes a slow subscriber's in one call of up to
 * 422 KB): every message in it gets parsed and counted. A copy longer
 * than one record goes whole only while the reader keeps up (ring_room_for
 * in bpf/filter.bpf.h). 100k msg/s piped to a reader, 11 alternated runs:
 * 99.75% recorded (median) against 98.39% at 64 KiB. (It was 64 KiB for a
 * day while an e2e test failed with 1 MiB: the longer load made the trace
 * start after nats-server's first PING, which split every message boundary
 * of that test's subscriber between two reads; classify.bpf.h now carries
 * a guess across reads.) What a record keeps of each payload is a
 * separate, userspace limit. */
#define MS_DEFAULT_SNAPLEN MS_MAX_SYSCALL_SNAPLEN
/* messages walked per sendmmsg/recvmmsg. */
#define MS_MAX_MMSG 4
/* data events a connection of unknown protocol may show before we give up. */
#define MS_GUESS_ATTEMPTS 16
/* The reader is behind once the ring buffer is more than 1/MS_RING_BEHIND_DIV
 * full: userspace boosts itself (userspace/priority.h), and the kernel stops
 * copying a call longer than one record whole (bpf/filter.bpf.h). */
#define MS_RING_BEHIND_DIV 4

enum ms_event_type {
	MS_EV_DATA = 1,       /* payload bytes on a NATS/HTTP connection */
	MS_EV_CLOSE = 2,      /* close(2) of a tracked connection */
	MS_EV_PROC_EXIT = 3,  /* a followed process exited */
};

enum ms_dir {
	MS_DIR_SEND = 0,      /* the process wrote these bytes */
	MS_DIR_RECV = 1,      /* the process read these bytes */
};

enum ms_proto {
	MS_PROTO_UNKNOWN = 0, /* no payload seen yet */
	MS_PROTO_NATS = 1,
	MS_PROTO_HTTP = 2,
	MS_PROTO_OTHER = 3,   /* looked, not ours: never shipped */
};

enum ms_role {
	MS_ROLE_UNKNOWN = 0,  /* socket was open before msgscope started */
	MS_ROLE_CLIENT = 1,   /* this side called connect() */
	MS_ROLE_SERVER = 2,   /* this side got it from accept() */
};

enum ms_data_flags {
	MS_F_FRESH = 1 << 0,    /* connection seen from its first byte */
	MS_F_UNCOPIED = 1 << 1, /* counted, not captured: sendfile, splice or
				 * io_uring, or one message of a
				 * sendmmsg/recvmmsg */
	MS_F_TLS = 1 << 2,      /* plaintext from a TLS library, not the socket */
	MS_F_PEER_READ = 1 << 3, /* --pair-local: the other end, traced too,
				  * read these bytes; its reads are not shipped */
};

enum ms_syscall {
	MS_SC_READ = 1, MS_SC_WRITE, MS_SC_READV, MS_SC_WRITEV,
	MS_SC_RECVFROM, MS_SC_SENDTO, MS_SC_RECVMSG, MS_SC_SENDMSG,
	MS_SC_RECVMMSG, MS_SC_SENDMMSG, MS_SC_SENDFILE,
	MS_SC_UNSEEN, /* bytes moved on a traced socket by no syscall msgscope
		       * reads the buffers of (splice, io_uring): counted only */
};

/* Which OpenSSL function a multi-uprobe link's offset is: its cookie, read by
 * tls.bpf.c's ssl_any_enter/ssl_any_exit. */
enum ms_ssl_fn {
	MS_SSL_WRITE = 1, MS_SSL_READ, MS_SSL_WRITE_EX, MS_SSL_READ_EX,
	MS_SSL_HANDSHAKE, MS_SSL_SET_FD,
};

/* The cookie of a Go crypto/tls probe on a multi-uprobe link, read by
 * tls.bpf.c's go_any: which probe (top 4 bits) and, at an entry, the
 * distance from the function to the itab of (*net.TCPConn, net.Conn)
 * (low 60 bits, signed; 0: not known). */
enum ms_go_probe {
	MS_GO_WRITE = 1, MS_GO_READ, MS_GO_HANDSHAKE, MS_GO_WRITE_RET, MS_GO_READ_RET,
};

#define MS_GO_COOKIE(probe, delta) \
	(((__u64)(probe) << 60) | ((__u64)(delta) & ((1ULL << 60) - 1)))
#define MS_GO_COOKIE_PROBE(c) ((__u64)(c) >> 60)
#define MS_GO_COOKIE_DELTA(c) ((__s64)((__u64)(c) << 4) >> 4)

/* Counters in the per-CPU "stats" array; index = enum value. */
enum ms_stat {
	MS_STAT_EVENTS = 0,       /* data events submitted */
	MS_STAT_BYTES,            /* payload bytes captured */
	MS_STAT_DROP_DATA,        /* data events lost: ring buffer full */
	MS_STAT_DROP_BYTES,       /* payload bytes in those lost events */
	MS_STAT_DROP_CONTROL,     /* close/exit events lost: ring buffer full */
	MS_STAT_INFLIGHT_FULL,    /* syscalls not followed: inflight map full */
	MS_STAT_CONN_FULL,        /* sockets not tracked: conn map update failed */
	MS_STAT_RING_CUTS,        /* copies over one record cut to one: ring
				   * over a quarter full (--snaplen > 64 KiB) */
	MS_STAT_SHED_CUTS,        /* calls cut to the shed snaplen: the load
				   * outran msgscope (userspace/priority.h);
				   * a sendmmsg/recvmmsg vector is not counted,
				   * its cut bytes are */
	MS_STAT_PAIRED,           /* --pair-local: connections with both ends
				   * traced, their messages shipped once */
	MS_STAT_PEER_READS,       /* --pair-local: reads not shipped, the
				   * peer's flagged sends standing for them */
	MS_STAT_UNPAIRED,         /* --pair-local: pairs undone at the first
				   * read to leave out: the sender ships
				   * nothing (TLS, another protocol) */
	MS_STAT_PEER_DROP_BYTES,  /* --pair-local: of DROP_BYTES, those of
				   * peer_read sends: their readers left
				   * them out, so each was lost twice */
	MS_STAT_UNSEEN_BYTES,     /* bytes moved by calls no hook reads the
				   * buffers of (splice, io_uring): shipped
				   * as records with nothing copied */
	MS_STAT__COUNT,
};

/* A TCP endpoint pair, ports in host order, addresses in network order. */
struct ms_tuple {
	__u16 family;            /* AF_INET or AF_INET6 */
	__u16 lport;
	__u16 rport;
	__u16 _pad;
	__u8 laddr[16];          /* IPv4 uses the first 4 bytes */
	__u8 raddr[16];
};

struct ms_event_header {
	__u32 type;              /* enum ms_event_type */
	__u32 tgid;
	__u32 tid;
	__u32 fd;
	__u64 ts_ns;             /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 conn_id;           /* unique per connection within one run */
	char comm[MS_COMM_LEN];  /* the process's (group leader's) comm */
};

struct ms_data_event {
	struct ms_event_header h;
	struct ms_tuple tuple;
	/* Offset of data[0] in this direction's byte stream. Consecutive
	 * events must abut; a jump is a gap (drop, snaplen cut, sendfile). */
	__u64 stream_off;
	__u32 len;               /* true length of this chunk */
	__u32 cap_len;           /* bytes present in data[], <= len */
	__u8 dir;                /* enum ms_dir */
	__u8 proto;              /* enum ms_proto */
	__u8 role;               /* enum ms_role */
	__u8 flags;              /* enum ms_data_flags */
	__u16 syscall;           /* enum ms_syscall */
	__u16 _pad;
	__u8 data[];
};

struct ms_close_event {
	struct ms_event_header h;
	struct ms_tuple tuple;
	__u64 stream_end[2];     /* final stream offsets, by enum ms_dir */
	__u8 proto;
	__u8 role;
	__u8 _pad[6];
};

struct ms_proc_event {
	struct ms_event_header h;
	__s32 exit_code;
	__u32 _pad;
};

/* Key of the "conns" map: one socket of one process. */
struct ms_conn_key {
	__u32 tgid;
	__u32 fd;
};

#endif /* MSGSCOPE_ABI_H */
