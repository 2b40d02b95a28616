/* SPDX-License-Identifier: MIT */
#include "conntrack.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "http_parser.h"
#include "nats_parser.h"

#define BUCKETS 4096 /* power of two */

struct conn {
	struct conn_meta meta;
	enum proto proto;
	bool started[2];        /* first event per direction seen */
	uint64_t next_off[2];   /* stream offset we expect next, per direction */
	struct nats_parser *nats[2];
	struct http_parser *http;
	struct conn *hnext;     /* hash chain */
	struct conn *lru_prev, *lru_next; /* most recently active first */
	/* parser counters already added to the table's totals */
	uint64_t seen_errors, seen_resyncs, seen_skipped;
	/* A TLS handshake went by in the socket's bytes: what follows is
	 * ciphertext, never parsed; only TLS plaintext events count now. */
	bool ciphertext;
};

struct conntrack {
	struct conntrack_opts opts;
	record_cb cb;
	void *ctx;
	struct conn *buckets[BUCKETS];
	struct conn *lru_head, *lru_tail;
	struct conntrack_stats st;
};

/* The parsers stamp records with their connection (parsers_new); this
 * counts them on the way out. */
struct emit_ctx {
	struct conntrack *ct;
	struct conn *c;
};

static void emit(const struct msg_record *rec, void *arg)
{
	struct emit_ctx *ec = arg;

	ec->ct->st.records++;
	ec->ct->cb(rec, ec->ct->ctx);
}

struct conntrack *conntrack_new(const struct conntrack_opts *opts,
				record_cb cb, void *ctx)
{
	struct conntrack *ct = calloc(1, sizeof(*ct));

	if (!ct)
		return NULL;
	ct->opts = *opts;
	if (!ct->opts.max_conns)
		ct->opts.max_conns = 16384;
	ct->cb = cb;
	ct->ctx = ctx;
	return ct;
}

static struct conn **bucket(struct conntrack *ct, uint64_t id)
{
	return &ct->buckets[(id * 0x9E3779B97F4A7C15ull) >> 52 & (BUCKETS - 1)];
}

static struct conn *lookup(struct conntrack *ct, uint64_t id)
{
	for (struct conn *c = *bucket(ct, id); c; c = c->hnext)
		if (c->meta.id == id)
			return c;
	return NULL;
}

static void lru_unlink(struct conntrack *ct, struct conn *c)
{
	if (c->lru_prev)
		c->lru_prev->lru_next = c->lru_next;
	else
		ct->lru_head = c->lru_next;
	if (c->lru_next)
		c->lru_next->lru_prev = c->lru_prev;
	else
		ct->lru_tail = c->lru_prev;
	c->lru_prev = c->lru_next = NULL;
}

static void lru_push_front(struct conntrack *ct, struct conn *c)
{
	c->lru_next = ct->lru_head;
	if (ct->lru_head)
		ct->lru_head->lru_prev = c;
	ct->lru_head = c;
	if (!ct->lru_tail)
		ct->lru_tail = c;
}

static void fold_parser_stats(struct conntrack *ct, struct conn *c)
{
	uint64_t errors = 0, resyncs = 0, skipped = 0;

	for (int d = 0; d < 2; d++) {
		if (c->nats[d]) {
			const struct nats_parser_stats *s = nats_parser_stats(c->nats[d]);

			errors += s->errors;
			resyncs += s->resyncs;
			skipped += s->bytes_skipped;
		}
	}
	if (c->http) {
		const struct http_parser_stats *s = http_parser_stats(c->http);

		errors += s->errors;
		resyncs += s->resyncs;
		skipped += s->bytes_skipped;
	}
	ct->st.parse_errors += errors - c->seen_errors;
	ct->st.resyncs += resyncs - c->seen_resyncs;
	ct->st.skipped_bytes += skipped - c->seen_skipped;
	c->seen_errors = errors;
	c->seen_resyncs = resyncs;
	c->seen_skipped = skipped;
}

/* Remove c; complete close-delimited messages first when closing cleanly. */
static void conn_drop(struct conntrack *ct, struct conn *c, bool closed,
		      uint64_t ts)
{
	struct emit_ctx ec = { ct, c };
	struct conn **pp = bucket(ct, c->meta.id);

	if (closed && c->http)
		http_parser_close(c->http, ts, emit, &ec);
	fold_parser_stats(ct, c);
	while (*pp != c)
		pp = &(*pp)->hnext;
	*pp = c->hnext;
	lru_unlink(ct, c);
	nats_parser_free(c->nats[0]);
	nats_parser_free(c->nats[1]);
	http_parser_free(c->http);
	free(c);
	ct->st.conns_open--;
}

static void meta_from_event(struct conn_meta *m, const struct ms_event_header *h,
			    const struct ms_tuple *t, uint8_t role)
{
	m->id = h->conn_id;
	m->pid = h->tgid;
	memcpy(m->comm, h->comm, COMM_LEN);
	m->comm[COMM_LEN - 1] = '\0';
	addr_format(m->local, sizeof(m->local), t->family, t->laddr, t->lport);
	addr_format(m->peer, sizeof(m->peer), t->family, t->raddr, t->rport);
	m->role = role == MS_ROLE_CLIENT ? ROLE_CLIENT :
		  role == MS_ROLE_SERVER ? ROLE_SERVER : ROLE_UNKNOWN;
}

/* Parsers for the protocol of e, synced when e's stream is seen from its
 * first byte. false: out of memory. */
static bool parsers_new(struct conntrack *ct, struct conn *c,
			const struct ms_data_event *e)
{
	bool synced = e->flags & MS_F_FRESH;

	c->proto = e->proto == MS_PROTO_NATS ? PROTO_NATS : PROTO_HTTP;
	if (c->proto == PROTO_NATS) {
		c->nats[0] = nats_parser_new(DIR_SEND, ct->opts.payload_keep, synced);
		c->nats[1] = nats_parser_new(DIR_RECV, ct->opts.payload_keep, synced);
	} else {
		c->http = http_parser_new(ct->opts.payload_keep, synced);
	}
	if ((c->proto == PROTO_NATS && (!c->nats[0] || !c->nats[1])) ||
	    (c->proto == PROTO_HTTP && !c->http)) {
		nats_parser_free(c->nats[0]);
		nats_parser_free(c->nats[1]);
		c->nats[0] = c->nats[1] = NULL;
		return false;
	}
	nats_parser_set_conn(c->nats[0], &c->meta);
	nats_parser_set_conn(c->nats[1], &c->meta);
	http_parser_set_conn(c->http, &c->meta);
	return true;
}

static struct conn *conn_create(struct conntrack *ct, const struct ms_data_event *e,
				uint64_t ts)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct conn **b;

	if (!c)
		return NULL;
	meta_from_event(&c->meta, &e->h, &e->tuple, e->role);
	c->meta.tls = e->flags & MS_F_TLS;
	if (!parsers_new(ct, c, e)) {
		free(c);
		return NULL;
	}
	b = bucket(ct, c->meta.id);
	c->hnext = *b;
	*b = c;
	lru_push_front(ct, c);
	ct->st.conns_open++;
	ct->st.conns_total++;
	/* Bounded table: the connection idle the longest goes first. */
	while (ct->st.conns_open > ct->opts.max_conns && ct->lru_tail != c) {
		conn_drop(ct, ct->lru_tail, false, ts);
		ct->st.conns_evicted++;
	}
	return c;
}

static void feed(struct conntrack *ct, struct conn *c, int dir, uint64_t ts,
		 const uint8_t *data, size_t len, bool peer_read)
{
	struct emit_ctx ec = { ct, c };

	if (!len)
		return;
	/* A message is stamped as its last bytes' event was: the pairing
	 * starts at a send, all of whose bytes are then flagged. */
	if (c->proto == PROTO_NATS) {
		nats_parser_set_peer_read(c->nats[dir], peer_read);
		nats_parser_feed(c->nats[dir], ts, data, len, emit, &ec);
	} else {
		http_parser_set_peer_read(c->http, dir, peer_read);
		http_parser_feed(c->http, dir, ts, data, len, emit, &ec);
	}
}

static void gap(struct conntrack *ct, struct conn *c, int dir, uint64_t ts,
		uint64_t missing)
{
	struct emit_ctx ec = { ct, c };

	if (!missing)
		return;
	ct->st.gap_bytes += missing;
	if (c->proto == PROTO_NATS)
		nats_parser_gap(c->nats[dir], ts, missing, emit, &ec);
	else
		http_parser_gap(c->http, dir, ts, missing, emit, &ec);
}

/*
 * A TLS record carrying a ClientHello or ServerHello: the first thing any
 * TLS stack writes. NATS and HTTP/1 text never start a chunk with 0x16, and
 * only the start of a stream is checked, so payload bytes do not trip it.
 * It is how ciphertext shipped before the TLS probes bound the socket (the
 * ClientHello a Go server reads before any of its TLS calls we probe) is
 * kept from the parsers.
 */
static bool tls_hello(const struct ms_data_event *e)
{
	const uint8_t *h = e->data;

	return e->cap_len >= 6 && e->stream_off < 65536 && h[0] == 0x16 &&
	       h[1] == 0x03 && h[2] <= 0x04 && (h[3] << 8 | h[4]) >= 4 &&
	       (h[3] << 8 | h[4]) <= 18432 && (h[5] == 1 || h[5] == 2);
}

/*
 * The first TLS plaintext event on a connection seen in the clear so far
 * (NATS sends INFO before the handshake): the plaintext streams start
 * afresh at the kernel's new offsets, whatever the parsers held is dropped.
 */
static bool tls_restart(struct conntrack *ct, struct conn *c,
			const struct ms_data_event *e)
{
	fold_parser_stats(ct, c);
	nats_parser_free(c->nats[0]);
	nats_parser_free(c->nats[1]);
	http_parser_free(c->http);
	c->nats[0] = c->nats[1] = NULL;
	c->http = NULL;
	c->seen_errors = c->seen_resyncs = c->seen_skipped = 0;
	c->started[0] = c->started[1] = false;
	c->next_off[0] = c->next_off[1] = 0;
	c->ciphertext = false;
	c->meta.tls = true;
	return parsers_new(ct, c, e);
}

void conntrack_data(struct conntrack *ct, const struct ms_data_event *e,
		    uint64_t ts)
{
	struct conn *c = lookup(ct, e->h.conn_id);
	int dir = e->dir == MS_DIR_SEND ? DIR_SEND : DIR_RECV;
	const uint8_t *data = e->data;
	uint64_t off = e->stream_off, cap = e->cap_len, len = e->len;
	bool tls = e->flags & MS_F_TLS;

	if (e->proto != MS_PROTO_NATS && e->proto != MS_PROTO_HTTP)
		return;
	if (cap > len)
		cap = len;
	if (!c && !(c = conn_create(ct, e, ts)))
		return;
	if (!tls) {
		/* Socket bytes of a TLS connection are ciphertext. */
		if (c->meta.tls || c->ciphertext)
			return;
		if (tls_hello(e)) {
			c->ciphertext = true;
			return;
		}
	} else if (!c->meta.tls && !tls_restart(ct, c, e)) {
		conn_drop(ct, c, false, ts);
		return;
	}
	lru_unlink(ct, c);
	lru_push_front(ct, c);
	if (!c->started[dir]) {
		c->started[dir] = true;
		/* A connection seen from connect/accept starts at 0; one we
		 * joined late starts wherever we joined it. */
		c->next_off[dir] = (e->flags & MS_F_FRESH) ? 0 : off;
	}
	if (off > c->next_off[dir]) {
		gap(ct, c, dir, ts, off - c->next_off[dir]);
	} else if (off < c->next_off[dir]) {
		/* Overlap: two threads raced on one socket. Skip what we have. */
		uint64_t dup = c->next_off[dir] - off;

		if (dup >= len)
			return;
		off += dup;
		len -= dup;
		data += dup < cap ? dup : cap;
		cap = dup < cap ? cap - dup : 0;
	}
	feed(ct, c, dir, ts, data, cap, e->flags & MS_F_PEER_READ);
	if (len > cap) {
		ct->st.cut_bytes += len - cap;
		if (e->flags & MS_F_PEER_READ)
			ct->st.peer_cut_bytes += len - cap;
		gap(ct, c, dir, ts, len - cap);
	}
	c->next_off[dir] = off + len;
	fold_parser_stats(ct, c);
}

void conntrack_close(struct conntrack *ct, const struct ms_close_event *e,
		     uint64_t ts)
{
	struct conn *c = lookup(ct, e->h.conn_id);

	if (!c)
		return;
	/* Bytes at the tail we never got (e.g. a final sendfile) are a gap.
	 * Not after a handshake we have no plaintext for: those offsets
	 * count ciphertext. */
	for (int d = 0; d < 2 && !c->ciphertext; d++)
		if (c->started[d] && e->stream_end[d] > c->next_off[d]) {
			gap(ct, c, d, ts, e->stream_end[d] - c->next_off[d]);
			c->next_off[d] = e->stream_end[d];
		}
	conn_drop(ct, c, true, ts);
}

void conntrack_proc_exit(struct conntrack *ct, uint32_t tgid, uint64_t ts)
{
	struct conn *c = ct->lru_head, *next;

	for (; c; c = next) {
		next = c->lru_next;
		if (c->meta.pid == tgid)
			conn_drop(ct, c, true, ts);
	}
}

void conntrack_flush(struct conntrack *ct, uint64_t ts)
{
	/* The connections are still open: a body that runs until close is
	 * not complete, so it is not reported as if it were. */
	while (ct->lru_head)
		conn_drop(ct, ct->lru_head, false, ts);
}

void conntrack_free(struct conntrack *ct)
{
	if (!ct)
		return;
	while (ct->lru_head)
		conn_drop(ct, ct->lru_head, false, 0);
	free(ct);
}

struct conntrack_stats conntrack_stats(const struct conntrack *ct)
{
	return ct->st;
}
