// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * classify.bpf.h — which protocol a connection speaks, from its bytes, so
 * that only NATS and HTTP ever leave the kernel. Shared by capture.bpf.c
 * (syscall buffers) and tls.bpf.c (plaintext inside the TLS libraries).
 *
 * A connection seen from its start is decided by its first bytes. One
 * that was open before msgscope (the usual case on a production host)
 * is joined in the middle of a stream: a read may start anywhere in a
 * message, so the start of a chunk is tried a few times and the inside of
 * a chunk is searched for a line that starts a strong NATS operation or
 * an HTTP response. Without that, a busy subscriber's connection, read in
 * buffer-sized pieces, was never recognised.
 */
#ifndef MSGSCOPE_CLASSIFY_BPF_H
#define MSGSCOPE_CLASSIFY_BPF_H

#include "msgscope.h"

/* Bytes of a chunk searched for a message boundary. */
#define MS_GUESS_SCAN 256

/*
 * The first size bytes (a power of two) of a chunk of len bytes at ubuf
 * into dst. A constant size keeps the verifier simple; bytes past len are
 * read but never looked at. A chunk shorter than size that ends just
 * before an unmapped page fails that read; it is read again, len bytes
 * only. Without that, a writer whose buffer sits at the end of a mapping
 * was never recognised.
 */
static __always_inline long read_chunk_head(void *dst, __u32 size, __u64 ubuf,
					    __u32 len)
{
	long err = bpf_probe_read_user(dst, size, (void *)ubuf);

	if (err && len < size) {
		/* The mask changes nothing (len < size, a power of two); it
		 * shows the verifier a bound clang's register copies hide
		 * from it, and barrier_var() keeps clang from dropping it. */
		barrier_var(len);
		err = bpf_probe_read_user(dst, len & (size - 1), (void *)ubuf);
	}
	return err;
}

struct guess_buf {
	char b[MS_GUESS_SCAN];
};

/* Too big for the BPF stack next to the syscall handlers' own state. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct guess_buf);
} guess_scratch SEC(".maps");

static __always_inline bool has_prefix(const char *buf, const char *pfx, int n)
{
	for (int i = 0; i < n; i++) {
		char c = buf[i];

		if (c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		if (c != pfx[i])
			return false;
	}
	return true;
}

/*
 * The first bytes of a chunk. Strong NATS ops name the protocol on their
 * own. PING/PONG/+OK/-ERR are also spoken by e.g. Redis, so they only
 * decide on a connection seen from its start (where the server's INFO
 * comes first anyway). "CONNECT {" is NATS, "CONNECT host:port HTTP/1.1"
 * an HTTP proxy tunnel.
 */
static __always_inline __u8 guess_start(const char b[16], __u32 len, bool fresh)
{
	if (len >= 9 && has_prefix(b, "CONNECT ", 8))
		return b[8] == '{' ? MS_PROTO_NATS : MS_PROTO_HTTP;
	if (len >= 5 && (has_prefix(b, "INFO ", 5) || has_prefix(b, "PUB ", 4) ||
			 has_prefix(b, "SUB ", 4) || has_prefix(b, "MSG ", 4) ||
			 has_prefix(b, "HPUB ", 5) || has_prefix(b, "HMSG ", 5) ||
			 has_prefix(b, "UNSUB ", 6)))
		return MS_PROTO_NATS;
	if (len >= 5 && (has_prefix(b, "GET ", 4) || has_prefix(b, "PUT ", 4) ||
			 has_prefix(b, "POST ", 5) || has_prefix(b, "HEAD ", 5) ||
			 has_prefix(b, "HTTP/1.", 7) || has_prefix(b, "PATCH ", 6) ||
			 has_prefix(b, "TRACE ", 6) || has_prefix(b, "DELETE ", 7) ||
			 has_prefix(b, "OPTIONS ", 8)))
		return MS_PROTO_HTTP;
	if (fresh && len >= 4 && (has_prefix(b, "PING", 4) ||
				  has_prefix(b, "PONG", 4) ||
				  has_prefix(b, "+OK", 3) ||
				  has_prefix(b, "-ERR", 4)))
		return MS_PROTO_NATS;
	return MS_PROTO_UNKNOWN;
}

/*
 * guess_start() of the chunk of len bytes at ubuf. Global (not inlined),
 * with scalar arguments only (a pointer argument to a global function
 * needs Linux 5.12): the verifier checks its reads once; inlined, the
 * fallback read of a short chunk added a fifth to what it walks for
 * on_sock_send (429k -> 512k instructions).
 */
__noinline int guess_chunk_start(__u64 ubuf, __u32 len, int fresh)
{
	char b[16] = {};

	read_chunk_head(b, sizeof(b), ubuf, len);
	return guess_start(b, len, fresh);
}

/* Byte patterns, most recent byte lowest, of what may follow a '\n'. */
#define W5(a, b, c, d, e) ((__u64)(a) << 32 | (__u64)(b) << 24 | (__u64)(c) << 16 | \
			   (__u64)(d) << 8 | (__u64)(e))

/* Bytes of a chunk joined mid-stream searched for a message boundary. A
 * read that starts inside a payload has its next boundary up to a message
 * away: with only the first 256 bytes searched, a subscriber of 4 KiB
 * messages (read in 32 KiB pieces) went unrecognised in a third of the
 * bench runs, and with it every message it received. */
#define MS_GUESS_DEEP (64 * 1024)

/* guess_block()'s answer rides in the top byte of the rolling window; the
 * low 7 bytes carry the window into the next block. */
#define GUESS_WINDOW  0x00ffffffffffffffULL
#define GUESS_NATS    (1ULL << 63)
#define GUESS_HTTP    (1ULL << 62)
#define GUESS_FAILED  (1ULL << 61)   /* a block could not be read */

/*
 * One block of a chunk: a line starting with MSG, PUB, HMSG or HPUB (upper
 * case, as every client and nats-server write them) is NATS; one starting
 * with "HTTP/1." is an HTTP response. A rolling window: a few instructions
 * per byte, and only while a connection is still being guessed.
 *
 * Global (not inlined), so the verifier checks it once rather than once
 * per block per syscall hook. It takes the window so far and returns it
 * with GUESS_NATS or GUESS_HTTP set when a boundary was found.
 */
__noinline __u64 guess_block(__u64 ubuf, __u32 len, __u64 w)
{
	__u32 zero = 0, n = len < MS_GUESS_SCAN ? len : MS_GUESS_SCAN;
	struct guess_buf *g = bpf_map_lookup_elem(&guess_scratch, &zero);

	w &= GUESS_WINDOW;
	if (!g || read_chunk_head(g->b, MS_GUESS_SCAN, ubuf, n))
		return w | GUESS_FAILED;
	for (int i = 0; i < MS_GUESS_SCAN; i++) {
		__u64 w5;

		if (i >= n)
			break;
		w = w << 8 | (__u8)g->b[i];
		w5 = w & 0xffffffffffULL;
		if (w5 == W5('\n', 'M', 'S', 'G', ' ') || w5 == W5('\n', 'P', 'U', 'B', ' ') ||
		    w5 == W5('\n', 'H', 'M', 'S', 'G') || w5 == W5('\n', 'H', 'P', 'U', 'B'))
			return GUESS_NATS;
		if (w == 0x0a485454502f312eULL) /* "\nHTTP/1." */
			return GUESS_HTTP;
	}
	return w & GUESS_WINDOW;
}

/* Inside a chunk joined mid-stream, block by block up to MS_GUESS_DEEP
 * bytes, stopping at the first boundary. w: the window the previous chunk
 * of the stream left (0 if none). Returns the window, with GUESS_NATS or
 * GUESS_HTTP set when a boundary was found, GUESS_FAILED when a block
 * could not be read. */
static __always_inline __u64 guess_inside(__u64 ubuf, __u32 len, __u64 w)
{
	for (__u32 b = 0; b < MS_GUESS_DEEP / MS_GUESS_SCAN; b++) {
		__u32 off = b * MS_GUESS_SCAN;

		if (off >= len)
			break;
		w = guess_block(ubuf + off, len - off, w);
		if (w & (GUESS_NATS | GUESS_HTTP | GUESS_FAILED))
			break;
	}
	return w;
}

/*
 * The window a chunk left, kept for the next: a boundary may be split
 * between two reads ("...\r\nM" then "SG subj 1 8192\r\n..."). A subscriber
 * reading one message at a time, out of step by a byte, was never
 * recognised: nats-server's first PING, two seconds after a client
 * connects, shifts its stream by 6 bytes, and a subscriber read 7 bytes
 * into each message reads 1 byte into it from then on. Kept only when the
 * whole chunk was searched and the next call's bytes follow it (stream:
 * 1 + the direction; 0 for a vector, whose pieces may not).
 */
static __always_inline void guess_keep_tail(struct conn_state *st, __u64 w,
					    __u32 len, __u8 stream)
{
	st->guess_tail = 0;
	if (stream && len <= MS_GUESS_DEEP && !(w & GUESS_FAILED))
		st->guess_tail = (w & GUESS_WINDOW) | (__u64)stream << 56;
}

/*
 * Decide st->proto from a chunk (ubuf, len) if it can be decided: a fresh
 * connection by its first bytes (two tries), an old one by the start or
 * the inside of up to MS_GUESS_ATTEMPTS chunks; then MS_PROTO_OTHER, and
 * its bytes never leave the kernel. stream: as for guess_keep_tail().
 */
static __always_inline void classify_chunk(struct conn_state *st, __u64 ubuf,
					   __u32 len, bool fresh, __u8 stream)
{
	__u64 w = 0;
	__u8 proto;

	proto = guess_chunk_start(ubuf, len, fresh);
	if (proto == MS_PROTO_UNKNOWN && !fresh) {
		if (stream && st->guess_tail >> 56 == stream)
			w = st->guess_tail;
		w = guess_inside(ubuf, len, w);
		if (w & GUESS_NATS)
			proto = MS_PROTO_NATS;
		else if (w & GUESS_HTTP)
			proto = MS_PROTO_HTTP;
		else
			guess_keep_tail(st, w, len, stream);
	}
	if (proto != MS_PROTO_UNKNOWN) {
		st->proto = proto;
		return;
	}
	if (++st->guesses < (fresh ? 2 : MS_GUESS_ATTEMPTS))
		return;
	st->proto = MS_PROTO_OTHER;
	/* Joined mid-stream, a NATS connection whose messages are larger
	 * than MS_GUESS_DEEP can fail every attempt. Rather than never see
	 * it, try again after 2, 4, ... 32768 more data calls: an unknown
	 * protocol costs one search per that many calls. */
	if (!fresh) {
		st->retry_in = 2 << st->retry_log;
		if (st->retry_log < 14)
			st->retry_log++;
	}
}

/*
 * A connection given up on: count down to its next guess. True when the
 * connection is to be skipped, false when it is being guessed again (the
 * one more attempt classify_chunk() then makes).
 */
static __always_inline bool classify_skip(struct conn_state *st)
{
	if (st->proto != MS_PROTO_OTHER)
		return false;
	if (!st->retry_in || --st->retry_in)
		return true;
	st->proto = MS_PROTO_UNKNOWN;
	st->guesses = MS_GUESS_ATTEMPTS - 1;
	st->guess_tail = 0;    /* the skipped calls' bytes were not seen */
	return false;
}

#endif
