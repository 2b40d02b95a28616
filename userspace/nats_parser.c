// SPDX-License-Identifier: MIT
/*
 * nats_parser.c — incremental NATS client protocol parser, one direction.
 *
 * The stream is a sequence of control lines, some followed by a body
 * (header block + payload of a known length) and a "\r\n" trailer:
 *
 *   ST_LINE --(line without body)--> emit, ST_LINE
 *      `--(PUB/HPUB/MSG/HMSG)--> ST_BODY --> ST_TRAILER --> emit, ST_LINE
 *
 * ST_SYNC is where we hunt for a message boundary when we do not know where
 * we are: at start on a stream joined mid-way, after a gap that swallowed
 * part of a control line, or after a body that did not end where its
 * declared length said. A message found while hunting is "tentative": its
 * failure is not a protocol error (we probably started in the middle of
 * something) and only its successful end counts as a resync.
 */
#include "nats_parser.h"

#include <stdlib.h>
#include <string.h>

#include "swar.h"

enum pstate {
	ST_SYNC,    /* hunting for an op at a line start */
	ST_LINE,    /* collecting a control line */
	ST_BODY,    /* header block + payload of (H)PUB / (H)MSG */
	ST_TRAILER, /* the "\r\n" closing a body */
};

/* Part of the line buffer; offsets survive its reallocation. */
struct span {
	uint32_t off, len;
};

/* What the current control line said. */
struct pending {
	enum nats_op op;
	struct span subject, reply, sid, queue, json;
	uint64_t hdr_size; /* declared header block size */
	uint64_t size;     /* declared payload size, headers excluded */
	int64_t max_msgs;
};

struct nats_parser {
	enum direction dir;
	const struct conn_meta *conn; /* stamped on every record */
	bool peer_read;               /* and this */
	size_t keep;        /* payload bytes kept per message */
	enum pstate state;
	bool line_start;    /* ST_SYNC: the next byte begins a line */
	bool tentative;     /* current message was found while hunting */
	bool op_seen;       /* tentative line: keyword already recognised */
	uint64_t ts;        /* ts of the current message's first byte */
	uint64_t msg_bytes; /* captured bytes of the current message so far */

	/* Control line, then (HPUB/HMSG) the kept part of the header block. */
	uint8_t *line;
	size_t line_len, line_cap;

	struct pending m;
	uint64_t body_pos;  /* body bytes consumed, gaps included */
	size_t hdr_room;    /* header bytes we will keep */
	size_t pay_room;    /* payload bytes we will keep */
	bool cut;           /* a gap hit the body: keep nothing after it */
	bool got_cr;        /* ST_TRAILER: '\r' already seen */

	uint8_t *body;
	size_t body_cap;

	struct nats_parser_stats st;
};

/* ---- op keywords ------------------------------------------------------ */

struct op_def {
	const char *kw;
	uint8_t len;
	enum nats_op op;
	bool args; /* takes arguments: keyword must be followed by SP/TAB */
};

static const struct op_def op_defs[] = {
	{ "PUB", 3, NATS_PUB, true },     { "HPUB", 4, NATS_HPUB, true },
	{ "MSG", 3, NATS_MSG, true },     { "HMSG", 4, NATS_HMSG, true },
	{ "SUB", 3, NATS_SUB, true },     { "UNSUB", 5, NATS_UNSUB, true },
	{ "PING", 4, NATS_PING, false },  { "PONG", 4, NATS_PONG, false },
	{ "INFO", 4, NATS_INFO, true },   { "CONNECT", 7, NATS_CONNECT, true },
	{ "+OK", 3, NATS_OK, false },     { "-ERR", 4, NATS_ERR, true },
};

#define N_OPS (sizeof(op_defs) / sizeof(op_defs[0]))
/* Longest keyword plus its separator: enough bytes to judge a line. */
#define OP_PROBE 8

const char *nats_parser_op_name(enum nats_op op)
{
	for (size_t i = 0; i < N_OPS; i++)
		if (op_defs[i].op == op)
			return op_defs[i].kw;
	return "?";
}

static bool is_sp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static uint8_t upper(uint8_t c)
{
	return c >= 'a' && c <= 'z' ? (uint8_t)(c - 'a' + 'A') : c;
}

/*
 * Does d[0..n) start with keyword `o`? -1 no, 0 cannot tell yet (d is a
 * prefix of keyword + separator), 1 yes. `whole` means nothing follows d,
 * so an argument-less keyword may end exactly at n.
 */
static int match_kw(const struct op_def *o, const uint8_t *d, size_t n,
		    bool whole)
{
	size_t k = n < o->len ? n : o->len;

	for (size_t i = 0; i < k; i++)
		if (upper(d[i]) != (uint8_t)o->kw[i])
			return -1;
	if (n < o->len)
		return whole ? -1 : 0;
	if (n == o->len)
		return whole ? (o->args ? -1 : 1) : 0;
	if (is_sp(d[o->len]))
		return 1;
	if (!o->args && (d[o->len] == '\r' || d[o->len] == '\n'))
		return 1;
	return -1;
}

/* Best verdict over all keywords; *out gets the matching op on 1. */
static int match_op(const uint8_t *d, size_t n, bool whole,
		    const struct op_def **out)
{
	int best = -1;

	for (size_t i = 0; i < N_OPS; i++) {
		int r = match_kw(&op_defs[i], d, n, whole);

		if (r > best)
			best = r;
		if (r == 1) {
			if (out)
				*out = &op_defs[i];
			return 1;
		}
	}
	return best;
}

bool nats_looks_like_op(const uint8_t *data, size_t len)
{
	return data && match_op(data, len, true, NULL) == 1;
}

/* ---- control line parsing --------------------------------------------- */

#define MAX_ARGS 5

/* Split s[off..n) on runs of SP/TAB; MAX_ARGS + 1 means "too many". */
static int split_args(const uint8_t *s, size_t n, size_t off, struct span *a)
{
	int c = 0;
	size_t i = off;

	for (;;) {
		size_t start;

		while (i < n && is_sp(s[i]))
			i++;
		if (i == n)
			return c;
		if (c == MAX_ARGS)
			return MAX_ARGS + 1;
		start = i;
		while (i < n && !is_sp(s[i]))
			i++;
		a[c].off = (uint32_t)start;
		a[c++].len = (uint32_t)(i - start);
	}
}

/* Decimal digits only, value <= limit. */
static bool parse_num(const uint8_t *s, struct span a, uint64_t limit,
		      uint64_t *out)
{
	uint64_t v = 0;

	if (a.len == 0 || a.len > 19)
		return false;
	for (uint32_t i = 0; i < a.len; i++) {
		uint8_t c = s[a.off + i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (uint64_t)(c - '0');
	}
	if (v > limit)
		return false;
	*out = v;
	return true;
}

/* s[off..n) with surrounding blanks removed. */
static struct span rest_of_line(const uint8_t *s, size_t n, size_t off)
{
	while (off < n && is_sp(s[off]))
		off++;
	while (n > off && is_sp(s[n - 1]))
		n--;
	return (struct span){ (uint32_t)off, (uint32_t)(n - off) };
}

/* Raw control bytes never appear in a real control line: cheap garbage
 * test, 8 bytes at a time (a word with a byte below 0x20 or a DEL is looked
 * at byte by byte: a tab is allowed). */
static bool printable_bytes(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return false;
	return true;
}

static bool printable_line(const uint8_t *s, size_t n)
{
	size_t i = 0;

	for (; n - i >= 8; i += 8) {
		uint64_t x = swar_load(s + i);

		if ((swar_below(x, 0x20) | swar_eq(x, 0x7f)) && !printable_bytes(s + i, 8))
			return false;
	}
	return printable_bytes(s + i, n - i);
}

/* "<hdr> <total>" of HPUB/HMSG. */
static bool parse_hsizes(const uint8_t *s, struct span h, struct span t,
			 struct pending *m)
{
	uint64_t total;

	if (!parse_num(s, h, NATS_SIZE_MAX, &m->hdr_size) ||
	    !parse_num(s, t, NATS_SIZE_MAX, &total) || m->hdr_size > total)
		return false;
	m->size = total - m->hdr_size;
	return true;
}

static bool parse_pub(const uint8_t *s, const struct span *a, int c,
		      struct pending *m)
{
	if (c != 2 && c != 3)
		return false;
	m->subject = a[0];
	if (c == 3)
		m->reply = a[1];
	return parse_num(s, a[c - 1], NATS_SIZE_MAX, &m->size);
}

static bool parse_hpub(const uint8_t *s, const struct span *a, int c,
		       struct pending *m)
{
	if (c != 3 && c != 4)
		return false;
	m->subject = a[0];
	if (c == 4)
		m->reply = a[1];
	return parse_hsizes(s, a[c - 2], a[c - 1], m);
}

static bool parse_msg(const uint8_t *s, const struct span *a, int c,
		      struct pending *m)
{
	if (c != 3 && c != 4)
		return false;
	m->subject = a[0];
	m->sid = a[1];
	if (c == 4)
		m->reply = a[2];
	return parse_num(s, a[c - 1], NATS_SIZE_MAX, &m->size);
}

static bool parse_hmsg(const uint8_t *s, const struct span *a, int c,
		       struct pending *m)
{
	if (c != 4 && c != 5)
		return false;
	m->subject = a[0];
	m->sid = a[1];
	if (c == 5)
		m->reply = a[2];
	return parse_hsizes(s, a[c - 2], a[c - 1], m);
}

static bool parse_sub(const struct span *a, int c, struct pending *m)
{
	if (c != 2 && c != 3)
		return false;
	m->subject = a[0];
	if (c == 3)
		m->queue = a[1];
	m->sid = a[c - 1];
	return true;
}

static bool parse_unsub(const uint8_t *s, const struct span *a, int c,
			struct pending *m)
{
	uint64_t max;

	if (c != 1 && c != 2)
		return false;
	m->sid = a[0];
	if (c == 1)
		return true;
	if (!parse_num(s, a[1], INT64_MAX, &max))
		return false;
	m->max_msgs = (int64_t)max;
	return true;
}

/* INFO / CONNECT carry one JSON object. */
static bool parse_json(const uint8_t *s, size_t n, size_t off,
		       struct pending *m)
{
	struct span j = rest_of_line(s, n, off);

	if (j.len < 2 || s[j.off] != '{' || s[j.off + j.len - 1] != '}')
		return false;
	m->json = j;
	return true;
}

/* -ERR 'text': keep the text, without the quotes. */
static bool parse_err(const uint8_t *s, size_t n, size_t off,
		      struct pending *m)
{
	struct span t = rest_of_line(s, n, off);

	if (t.len == 0)
		return false;
	if (t.len >= 2 && s[t.off] == '\'' && s[t.off + t.len - 1] == '\'') {
		t.off++;
		t.len -= 2;
	}
	m->json = t;
	return true;
}

static bool parse_args(const uint8_t *s, size_t n, const struct op_def *o,
		       struct pending *m)
{
	struct span a[MAX_ARGS];
	int c;

	switch (o->op) {
	case NATS_INFO:
	case NATS_CONNECT:
		return parse_json(s, n, o->len, m);
	case NATS_ERR:
		return parse_err(s, n, o->len, m);
	default:
		break;
	}
	c = split_args(s, n, o->len, a);
	switch (o->op) {
	case NATS_PUB:
		return parse_pub(s, a, c, m);
	case NATS_HPUB:
		return parse_hpub(s, a, c, m);
	case NATS_MSG:
		return parse_msg(s, a, c, m);
	case NATS_HMSG:
		return parse_hmsg(s, a, c, m);
	case NATS_SUB:
		return parse_sub(a, c, m);
	case NATS_UNSUB:
		return parse_unsub(s, a, c, m);
	default:
		return c == 0; /* PING PONG +OK */
	}
}

/* Parse the control line s[0..n) (EOL stripped) into m. */
static bool parse_line(const uint8_t *s, size_t n, struct pending *m)
{
	const struct op_def *o = NULL;

	memset(m, 0, sizeof(*m));
	m->max_msgs = -1;
	if (!printable_line(s, n) || match_op(s, n, true, &o) != 1)
		return false;
	m->op = o->op;
	return parse_args(s, n, o, m);
}

static bool has_body(enum nats_op op)
{
	return op == NATS_PUB || op == NATS_HPUB || op == NATS_MSG ||
	       op == NATS_HMSG;
}

/* ---- buffers ---------------------------------------------------------- */

/* Make *cap >= need (need <= limit); false when out of memory. */
static bool grow(uint8_t **buf, size_t *cap, size_t need, size_t limit)
{
	size_t n = *cap ? *cap : 256;
	uint8_t *b;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	if (n > limit)
		n = limit;
	b = realloc(*buf, n);
	if (!b)
		return false;
	*buf = b;
	*cap = n;
	return true;
}

/* ---- state changes ---------------------------------------------------- */

static void begin_line(struct nats_parser *p, bool tentative)
{
	p->state = ST_LINE;
	p->line_len = 0;
	p->msg_bytes = 0;
	p->tentative = tentative;
	p->op_seen = false;
	p->hdr_room = 0;
	p->pay_room = 0;
}

/*
 * Give up on the current message and hunt for the next one. Its captured
 * bytes are skipped; it is an error only if we believed we were in sync.
 */
static void drop_message(struct nats_parser *p, bool error, bool line_start)
{
	p->st.bytes_skipped += p->msg_bytes;
	if (error && !p->tentative)
		p->st.errors++;
	p->msg_bytes = 0;
	p->line_len = 0;
	p->tentative = false;
	p->state = ST_SYNC;
	p->line_start = line_start;
}

static struct slice span_slice(const uint8_t *base, struct span s)
{
	if (!s.len)
		return SLICE_NULL;
	return slice_from((const char *)base + s.off, s.len);
}

/* One record for p->m: its line at `line`, what was kept of its header
 * block and payload at hdr and pay. */
static void emit_msg(struct nats_parser *p, const uint8_t *line,
		     struct slice hdr, struct slice pay, record_cb cb, void *ctx)
{
	struct msg_record r;
	struct nats_msg *n = &r.nats;

	/* Only the NATS member of the union: zeroing the whole record (its
	 * HTTP member holds 64 headers) cost 2 KiB of stores a message. */
	memset(n, 0, sizeof(*n));
	r.ts_ns = p->ts;
	r.dir = p->dir;
	r.proto = PROTO_NATS;
	r.conn = p->conn;
	r.peer_read = p->peer_read;
	n->op = p->m.op;
	n->subject = span_slice(line, p->m.subject);
	n->reply = span_slice(line, p->m.reply);
	n->sid = span_slice(line, p->m.sid);
	n->queue = span_slice(line, p->m.queue);
	n->json = span_slice(line, p->m.json);
	if (hdr.len)
		n->headers = hdr;
	if (pay.len)
		n->payload = pay;
	n->size = p->m.size;
	n->header_size = p->m.hdr_size;
	n->max_msgs = p->m.max_msgs;
	n->truncated = hdr.len < p->m.hdr_size || pay.len < p->m.size;

	p->st.messages++;
	if (cb)
		cb(&r, ctx);
}

static void emit(struct nats_parser *p, record_cb cb, void *ctx)
{
	/* The body is complete (or was cut, which shrank the rooms to what
	 * was captured), so the rooms are exactly what we hold. */
	emit_msg(p, p->line,
		 slice_from((const char *)p->line + p->line_len, p->hdr_room),
		 slice_from((const char *)p->body, p->pay_room), cb, ctx);
}

/* A whole message is in: confirm sync if we were hunting, emit, go on. */
static void complete(struct nats_parser *p, record_cb cb, void *ctx)
{
	if (p->tentative)
		p->st.resyncs++;
	p->tentative = false;
	emit(p, cb, ctx);
	begin_line(p, false);
}

/*
 * Reserve room for the kept header prefix (behind the line) and payload
 * prefix. Out of memory only means keeping less.
 */
static void start_body(struct nats_parser *p)
{
	size_t room = NATS_LINE_MAX - p->line_len;

	p->body_pos = 0;
	p->cut = false;
	p->got_cr = false;
	p->hdr_room = p->m.hdr_size < room ? (size_t)p->m.hdr_size : room;
	if (!grow(&p->line, &p->line_cap, p->line_len + p->hdr_room,
		  NATS_LINE_MAX))
		p->hdr_room = p->line_cap - p->line_len;
	p->pay_room = p->m.size < p->keep ? (size_t)p->m.size : p->keep;
	if (!grow(&p->body, &p->body_cap, p->pay_room, p->keep))
		p->pay_room = p->body_cap;
	p->state = p->m.hdr_size + p->m.size ? ST_BODY : ST_TRAILER;
}

/* A complete control line sits in p->line (without its '\n'). */
static void line_end(struct nats_parser *p, record_cb cb, void *ctx)
{
	size_t n = p->line_len;

	if (n && p->line[n - 1] == '\r')
		n--;
	if (n == 0) {
		/* Blank line: harmless on a synced stream, no op if hunting. */
		if (p->tentative) {
			drop_message(p, false, true);
		} else {
			p->st.bytes_skipped += p->msg_bytes;
			begin_line(p, false);
		}
		return;
	}
	if (!parse_line(p->line, n, &p->m)) {
		bool hunting = p->tentative;

		drop_message(p, true, true);
		if (!hunting)
			begin_line(p, false); /* next line is still in sync */
		return;
	}
	if (has_body(p->m.op))
		start_body(p);
	else
		complete(p, cb, ctx);
}

/* ---- per-state feeding ------------------------------------------------ */

static size_t sync_feed(struct nats_parser *p, const uint8_t *d, size_t n)
{
	const uint8_t *nl;
	size_t k;

	if (p->line_start) {
		begin_line(p, true);
		return 0;
	}
	nl = memchr(d, '\n', n);
	k = nl ? (size_t)(nl - d) + 1 : n;
	p->st.bytes_skipped += k;
	p->line_start = nl != NULL;
	return k;
}

static size_t line_feed(struct nats_parser *p, uint64_t ts, const uint8_t *d,
			size_t n, record_cb cb, void *ctx)
{
	const uint8_t *nl = memchr(d, '\n', n);
	size_t k = nl ? (size_t)(nl - d) : n;

	/* Hunting: judge the keyword from a small bite before copying more. */
	if (p->tentative && !p->op_seen && p->line_len + k > OP_PROBE) {
		k = p->line_len < OP_PROBE ? OP_PROBE - p->line_len : 0;
		nl = NULL;
	}
	if (p->line_len == 0)
		p->ts = ts;
	if (p->line_len + k > NATS_LINE_MAX ||
	    !grow(&p->line, &p->line_cap, p->line_len + k, NATS_LINE_MAX)) {
		p->msg_bytes += k;
		drop_message(p, true, false);
		return k;
	}
	if (k)
		memcpy(p->line + p->line_len, d, k);
	p->line_len += k;
	p->msg_bytes += k;
	if (p->tentative && !p->op_seen) {
		int r = match_op(p->line, p->line_len, false, NULL);

		if (r < 0) {
			drop_message(p, false, false);
			return k;
		}
		p->op_seen = r > 0;
	}
	if (!nl)
		return k;
	p->msg_bytes++;
	line_end(p, cb, ctx);
	return k + 1;
}

static void keep_body(struct nats_parser *p, const uint8_t *d, size_t k)
{
	uint64_t pos = p->body_pos;
	size_t kept = 0;

	if (!p->cut && pos < p->hdr_room) {
		size_t c = p->hdr_room - (size_t)pos < k ?
			   p->hdr_room - (size_t)pos : k;

		memcpy(p->line + p->line_len + pos, d, c);
		kept += c;
	}
	if (!p->cut && pos + k > p->m.hdr_size) {
		uint64_t skip = pos < p->m.hdr_size ? p->m.hdr_size - pos : 0;
		uint64_t at = pos + skip - p->m.hdr_size;

		if (at < p->pay_room) {
			size_t c = p->pay_room - (size_t)at < k - skip ?
				   p->pay_room - (size_t)at : k - (size_t)skip;

			memcpy(p->body + at, d + skip, c);
			kept += c;
		}
	}
	p->st.body_dropped += k - kept;
}

static size_t body_feed(struct nats_parser *p, const uint8_t *d, size_t n)
{
	uint64_t left = p->m.hdr_size + p->m.size - p->body_pos;
	size_t k = left < n ? (size_t)left : n;

	keep_body(p, d, k);
	p->body_pos += k;
	p->msg_bytes += k;
	if (k == left) {
		p->state = ST_TRAILER;
		p->got_cr = false;
	}
	return k;
}

/* The declared header block must be a NATS one, as far as we have it. */
static bool header_block_ok(const uint8_t *hdr, size_t have)
{
	static const char magic[] = "NATS/1.0";

	if (have > sizeof(magic) - 1)
		have = sizeof(magic) - 1;
	return memcmp(hdr, magic, have) == 0;
}

static bool headers_ok(const struct nats_parser *p)
{
	/* all we hold of it, the body being done */
	return header_block_ok(p->line + p->line_len, p->hdr_room);
}

static void body_end(struct nats_parser *p, record_cb cb, void *ctx)
{
	if (!headers_ok(p))
		drop_message(p, true, true);
	else
		complete(p, cb, ctx);
}

static size_t trailer_feed(struct nats_parser *p, const uint8_t *d,
			   record_cb cb, void *ctx)
{
	if (d[0] == '\r' && !p->got_cr) {
		p->got_cr = true;
		p->msg_bytes++;
		return 1;
	}
	if (d[0] == '\n') {
		p->msg_bytes++;
		body_end(p, cb, ctx);
		return 1;
	}
	/* The body did not end where its size said: we are lost. Leave this
	 * byte to the hunt, it may be a '\n'. */
	drop_message(p, true, false);
	return 0;
}

/*
 * The common case, a whole message inside the bytes at hand on a stream in
 * sync: parsed where it lies, its record pointing into d, with nothing
 * copied into the parser's buffers. Anything else (a message cut by the
 * chunk's end, a malformed line or body) returns 0 and goes through the
 * state machine below, which reaches the same records and counts.
 */
static size_t whole_message(struct nats_parser *p, uint64_t ts, const uint8_t *d,
			    size_t n, record_cb cb, void *ctx)
{
	const uint8_t *nl = memchr(d, '\n', n < NATS_LINE_MAX ? n : NATS_LINE_MAX);
	size_t line, end, hdr_kept, pay_kept;
	const uint8_t *body;

	if (!nl)
		return 0;
	line = (size_t)(nl - d); /* the line_len the state machine would hold */
	if (line == 0 || (line == 1 && d[0] == '\r') ||
	    !parse_line(d, d[line - 1] == '\r' ? line - 1 : line, &p->m))
		return 0;
	p->ts = ts;
	if (!has_body(p->m.op)) {
		emit_msg(p, d, SLICE_NULL, SLICE_NULL, cb, ctx);
		begin_line(p, false);
		return line + 1;
	}
	body = nl + 1;
	if (p->m.hdr_size + p->m.size > n - line - 1 ||
	    (end = line + 1 + (size_t)(p->m.hdr_size + p->m.size)) + 2 > n ||
	    d[end] != '\r' || d[end + 1] != '\n')
		return 0;
	/* what start_body() would keep: headers behind the line, within
	 * NATS_LINE_MAX; the payload up to keep */
	hdr_kept = p->m.hdr_size < NATS_LINE_MAX - line ?
		   (size_t)p->m.hdr_size : NATS_LINE_MAX - line;
	pay_kept = p->m.size < p->keep ? (size_t)p->m.size : p->keep;
	if (!header_block_ok(body, hdr_kept))
		return 0;
	p->st.body_dropped += p->m.hdr_size - hdr_kept + p->m.size - pay_kept;
	emit_msg(p, d, slice_from((const char *)body, hdr_kept),
		 slice_from((const char *)body + p->m.hdr_size, pay_kept), cb, ctx);
	begin_line(p, false);
	return end + 2;
}

void nats_parser_feed(struct nats_parser *p, uint64_t ts_ns,
		      const uint8_t *data, size_t len, record_cb cb, void *ctx)
{
	size_t i = 0, k;

	if (!p || !data)
		return;
	/* Writers usually hand whole messages to one syscall, so while
	 * hunting, a feed's first byte is as good a line start as any. */
	if (p->state == ST_SYNC)
		p->line_start = true;
	while (i < len) {
		if (p->state == ST_LINE && p->line_len == 0 && !p->tentative &&
		    (k = whole_message(p, ts_ns, data + i, len - i, cb, ctx))) {
			i += k;
			continue;
		}
		switch (p->state) {
		case ST_SYNC:
			i += sync_feed(p, data + i, len - i);
			break;
		case ST_LINE:
			i += line_feed(p, ts_ns, data + i, len - i, cb, ctx);
			break;
		case ST_BODY:
			i += body_feed(p, data + i, len - i);
			break;
		case ST_TRAILER:
			i += trailer_feed(p, data + i, cb, ctx);
			break;
		}
	}
}

/* ---- gaps ------------------------------------------------------------- */

/* The body length is known, so a gap inside it costs only the bytes. */
static uint64_t gap_body(struct nats_parser *p, uint64_t missing)
{
	uint64_t left = p->m.hdr_size + p->m.size - p->body_pos;
	uint64_t k = missing < left ? missing : left;

	if (!p->cut) {
		/* Freeze what we hold: from now on it is a prefix. */
		p->hdr_room = p->body_pos < p->hdr_room ? (size_t)p->body_pos :
							  p->hdr_room;
		if (p->body_pos <= p->m.hdr_size)
			p->pay_room = 0;
		else if (p->body_pos - p->m.hdr_size < p->pay_room)
			p->pay_room = (size_t)(p->body_pos - p->m.hdr_size);
		p->cut = true;
	}
	p->body_pos += k;
	if (k == left) {
		p->state = ST_TRAILER;
		p->got_cr = false;
	}
	return missing - k;
}

/* A gap over the trailer is accepted: the message is complete anyway. */
static uint64_t gap_trailer(struct nats_parser *p, uint64_t missing,
			    record_cb cb, void *ctx)
{
	uint64_t need = p->got_cr ? 1 : 2;

	if (missing < need) {
		p->got_cr = true;
		return 0;
	}
	body_end(p, cb, ctx);
	return missing - need;
}

void nats_parser_gap(struct nats_parser *p, uint64_t ts_ns, uint64_t missing,
		     record_cb cb, void *ctx)
{
	(void)ts_ns;
	if (!p || !missing)
		return;
	p->st.gap_bytes += missing;
	if (p->state == ST_BODY)
		missing = gap_body(p, missing);
	if (missing && p->state == ST_TRAILER)
		missing = gap_trailer(p, missing, cb, ctx);
	if (!missing)
		return;
	/* The gap reaches into a control line: whatever we had of it, and
	 * where the next one starts, is lost. */
	if (p->state == ST_LINE)
		drop_message(p, false, false);
	p->line_start = false;
}

/* ---- lifetime --------------------------------------------------------- */

struct nats_parser *nats_parser_new(enum direction dir, size_t payload_keep,
				    bool synced)
{
	struct nats_parser *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->dir = dir;
	p->keep = payload_keep;
	if (synced) {
		begin_line(p, false);
	} else {
		p->state = ST_SYNC;
		p->line_start = true;
	}
	return p;
}

void nats_parser_set_conn(struct nats_parser *p, const struct conn_meta *conn)
{
	if (p)
		p->conn = conn;
}

void nats_parser_set_peer_read(struct nats_parser *p, bool peer_read)
{
	if (p)
		p->peer_read = peer_read;
}

void nats_parser_free(struct nats_parser *p)
{
	if (!p)
		return;
	free(p->line);
	free(p->body);
	free(p);
}

const struct nats_parser_stats *nats_parser_stats(const struct nats_parser *p)
{
	return &p->st;
}

size_t nats_parser_memory(const struct nats_parser *p)
{
	return p ? sizeof(*p) + p->line_cap + p->body_cap : 0;
}
