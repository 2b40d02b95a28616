// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * maps.bpf.h — the maps every msgscope BPF object shares.
 *
 * capture.bpf.c (syscalls) and tls.bpf.c (TLS library uprobes) are separate
 * objects; userspace loads capture first and hands these maps' fds to the
 * others (bpf_map__reuse_fd), so all events go through the same ring
 * buffers and all objects agree on what a connection is.
 */
#ifndef MSGSCOPE_MAPS_BPF_H
#define MSGSCOPE_MAPS_BPF_H

#include "msgscope.h"

/* Connection ids start at 1; 0 means "none". */
__u64 next_conn_id = 1;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by userspace */
} events SEC(".maps");

/*
 * The rings userspace shares --buffer-size out in, where it sets n_rings
 * (two by default, or one per CPU): CPU c writes to ring c mod n_rings.
 * A reservation takes its ring's lock and moves its producer position:
 * with one ring for all CPUs, those cache lines went back and forth
 * between the CPUs of a client and its server on every record, and a
 * reservation under wrk cost ~500 ns against ~160 ns with the two taking
 * turns (bench/RESULTS.md, 2026-12-06). Userspace creates the rings (the
 * entries here), sizes them, and merges them by timestamp
 * (userspace/ring_reader.c). `events` is the one ring otherwise.
 */
struct ring_template {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* a template: the rings are userspace's */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1); /* the rings, set by userspace */
	__type(key, __u32);
	__array(values, struct ring_template);
} rings SEC(".maps");

const volatile __u32 n_rings = 0; /* 0: one ring, `events` */

/* The ring this CPU's records go to; NULL only if userspace left a ring
 * out (its records are then counted as dropped). */
static __always_inline void *event_ring(void)
{
	__u32 i;

	if (!n_rings)
		return &events;
	i = bpf_get_smp_processor_id() % n_rings;
	return bpf_map_lookup_elem(&rings, &i);
}

/*
 * The ring for a record of about `bytes`: this CPU's, or, when that one
 * has no room for it, the next one. A burst from one CPU (a server
 * writing a subscriber's backlog) then has two rings' room before
 * anything is dropped, not one: with two rings all of --buffer-size, as
 * with one ring. The reader merges the rings by timestamp, so the ring a
 * record is in does not decide its place (as for a thread that moved to
 * another CPU). Chosen before the reservation and without a branch: a
 * second reservation per size class, or a ring from one of two lookups
 * (the verifier tells their results apart), had the verifier walk every
 * size class twice, past its limit in the raw sys_exit program.
 */
static __always_inline void *ring_for(__u64 bytes)
{
	__u64 room, full;
	void *ring;
	__u32 i;

	if (n_rings < 2)
		return event_ring();
	i = bpf_get_smp_processor_id() % n_rings;
	ring = bpf_map_lookup_elem(&rings, &i);
	if (!ring)
		return NULL;
	room = bpf_ringbuf_query(ring, BPF_RB_RING_SIZE) -
	       bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA);
	/* 1 when there is no room, without a branch: one path on to the
	 * lookup below, so the verifier walks the size classes once */
	full = (room - bytes - BPF_RINGBUF_HDR_SZ) >> 63;
	i = (i + (__u32)full) % n_rings;
	return bpf_map_lookup_elem(&rings, &i);
}

/* Followed processes (tgids), when filter_pids is set. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} pids SEC(".maps");

/* --port overrides: local or remote port -> enum ms_proto. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u16);
	__type(value, __u8);
} ports SEC(".maps");

struct conn_state {
	__u64 file;          /* struct file * this entry describes */
	__u64 sk;            /* and its struct sock (the socket hooks) */
	__u64 conn_id;
	__u64 off[2];        /* stream offsets by enum ms_dir */
	struct ms_tuple tuple;
	char comm[MS_COMM_LEN];
	__u8 proto;          /* enum ms_proto */
	__u8 role;           /* enum ms_role */
	__u8 fresh;          /* seen from connect/accept: offsets start at 0 */
	__u8 guesses;        /* data events looked at while proto unknown */
	__u8 tls;            /* plaintext comes from TLS uprobes: the syscall
			      * hooks must not ship this socket's ciphertext */
	__u8 retry_log;      /* given up on mid-stream: guessed again after */
	__u16 retry_in;      /* this many more data calls (2^retry_log) */
	__u8 closing;        /* reached TCP_CLOSE with bytes still to read:
			      * ends at the read that finds the end */
	__u8 peer_ships;     /* --pair-local: the other end shipped its
			      * sends at the last read left out (what
			      * recvmmsg, which cannot look, goes by) */
	__u8 seq_known;      /* seq0 holds (unseen_before, pair_ends) */
	__u8 pair_tried;     /* --pair-local: pair_ends() has looked */
	__u8 peer_closed;    /* --pair-local: the paired other end closed
			      * while still flagging: every byte it sent
			      * was shipped, its entry is gone */
	__u64 guess_tail;    /* while guessing: the last chunk's last bytes
			      * (classify.bpf.h guess_keep_tail) */
	__u64 elide_from;    /* --pair-local: this end's reads from this
			      * offset on are not shipped, the peer's
			      * flagged sends stand for them; ~0: none */
	struct ms_conn_key peer; /* --pair-local: the other end's entry */
	__u32 seq0[2];       /* the TCP sequence number of
			      * offset 0, by enum ms_dir (seq_known) */
};

/*
 * --pair-local: set in off[MS_DIR_SEND] once both ends of a connection are
 * traced. A send's fetch-and-add sees it or not, and the pairing's
 * fetch-and-or returns the offset it happened at: which sends the peer's
 * reads are left out for is decided by the one word, with no window in
 * between (capture.bpf.c pair_ends).
 */
#define OFF_PAIRED (1ULL << 63)
#define OFF_MASK (OFF_PAIRED - 1)

/* A connection whose bytes leave the kernel: its protocol is one msgscope
 * ships. (Unknown: still guessing; other: never shipped.) */
static __always_inline bool proto_shipped(const struct conn_state *st)
{
	return st->proto == MS_PROTO_NATS || st->proto == MS_PROTO_HTTP;
}

/* TCP sockets of interest, per process and fd. LRU so it never fills up:
 * sockets closed by process exit never see a close(2). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ms_conn_key);
	__type(value, struct conn_state);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_STAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_add(__u32 idx, __u64 v)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &idx);

	if (c)
		*c += v;
}

/* A data event the ring had no room for, and the len stream bytes it
 * carried: with the cut records, what makes every byte not captured
 * counted (the end line's drop_bytes + cut_bytes). */
static __always_inline void stat_data_drop(__u64 len)
{
	stat_add(MS_STAT_DROP_DATA, 1);
	stat_add(MS_STAT_DROP_BYTES, len);
}

/*
 * Ring reservations come in size classes because bpf_ringbuf_reserve()
 * wants a constant size. Steps of at most 1.5x: a reservation wastes at
 * most a third of itself (with powers of 4, libnats' 32 KiB batches took
 * 64 KiB of ring each and the ring filled twice as fast). X(SZ) must
 * reserve SZ data bytes when the copy fits.
 */
#define MS_RING_SIZE_CLASSES(X)                                                \
	X(128) X(256) X(512) X(1024) X(1536) X(2048) X(3072) X(4096)           \
	X(6144) X(8192) X(12288) X(16384) X(24576) X(32768) X(49152)           \
	X(MS_MAX_SNAPLEN)

/* The ring for a data record copying cap bytes: its size class is at
 * most 1.5 times the copy. */
static __always_inline void *ring_for_copy(__u32 cap)
{
	return ring_for(sizeof(struct ms_data_event) + cap + cap / 2);
}

#endif /* MSGSCOPE_MAPS_BPF_H */
