/* SPDX-License-Identifier: MIT */
/*
 * http_parser.c — incremental HTTP/1.x parser for one connection; see
 * http_parser.h for the contract.
 *
 * Each direction runs its own state machine:
 *
 *   SEEK --start line--> HEAD --blank line--> BODY | CHUNK_* | UNTIL_CLOSE
 *    ^                    |                      |
 *    +-- gap or error ----+--------- emit -------+--> HEAD (next message)
 *
 * The header block is copied into a per-direction buffer (at most
 * HTTP_HEAD_MAX) so a record can point into it however the bytes were split;
 * body bytes are copied up to body_keep. The parsed head waits in the
 * direction's msg_record until the body ends. Both buffers grow on demand
 * and big ones are freed between messages, so an idle parser stays small.
 */
#include "http_parser.h"

#include <stdlib.h>
#include <string.h>

#include "swar.h"

#define CHUNK_LINE_MAX 4096	/* chunk-size line, extensions included */
#define PENDING_MAX 64		/* unanswered (pipelined) requests remembered */
#define BUF_MIN 256
#define BUF_SHRINK (16 * 1024)	/* buffers above this are freed when idle */
#define AGAIN_MAX 1024		/* longest head kept for head_again() */
#define LEN_MAX (UINT64_C(1) << 62) /* larger lengths are taken as garbage */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum dstate {
	S_SEEK,		/* out of sync: scanning for a start line */
	S_HEAD,		/* reading a header block, or idle between messages */
	S_BODY,		/* Content-Length body, `left` bytes to go */
	S_CHUNK_SIZE,	/* chunk-size line */
	S_CHUNK_DATA,	/* chunk data, `left` bytes to go */
	S_CHUNK_END,	/* CRLF after chunk data */
	S_TRAILER,	/* trailer section after the last chunk */
	S_UNTIL_CLOSE,	/* response body delimited by connection close */
	S_CLOSED,	/* connection closed or turned into a tunnel */
};

/* What a response must know about the request it answers. */
enum mclass { M_OTHER = 0, M_HEAD = 1, M_CONNECT = 2 };

/* How the body of a message whose head was just read is delimited. */
enum framing { F_NONE, F_LEN, F_CHUNKED, F_CLOSE, F_TUNNEL, F_ERROR };

/* Chunk-size line phases: digits, whitespace after them, extensions. */
enum { CS_DIGITS, CS_SPACE, CS_EXT };

/* What a head's headers say of how its body is framed. */
struct frame_info {
	bool te;	/* Transfer-Encoding present */
	bool chunked;	/* ... and its final coding is chunked */
	bool has_len;
	bool bad_len;	/* Content-Length unusable or conflicting */
	uint64_t len;
};

struct http_dir {
	enum direction dir;
	bool peer_read;		/* stamped on its records */
	enum dstate st;
	int kind;		/* kind of messages on this direction, -1 unknown */
	int cur;		/* kind of the message in HEAD, -1 until known */
	bool tentative;		/* HEAD entered from SEEK: failure is no error */
	bool line_start;	/* SEEK: the next byte begins a line */
	uint64_t ts;		/* ts of the feed with the message's first byte */

	uint8_t *hbuf;		/* header block as received */
	size_t hlen, hcap;
	size_t line_off;	/* where the line being read starts in hbuf */
	unsigned line_crs;	/* CRs in it so far: line_done() needs no rescan */
	unsigned lines;		/* complete lines in hbuf */
	size_t first_len;	/* start line length without its line end */
	size_t first_end;	/* offset just past the start line */
	bool folded;		/* an obs-fold was joined in hbuf */

	/* The last head read whole and not folded, for head_again() */
	uint8_t *again;
	size_t again_len, again_cap;	/* again_len 0: none */
	int again_cur;
	size_t again_first_len, again_first_end;
	struct frame_info again_f;	/* what its headers said of framing */
	unsigned again_dropped;		/* its headers past HTTP_MAX_HEADERS */
	const uint8_t *again_hbuf;	/* where it was split (rec's slices) */
	bool again_split;	/* hbuf holds it where it was split */

	uint8_t *bbuf;		/* kept body bytes, de-chunked */
	size_t blen, bcap;
	bool hole;		/* body bytes were lost: keep no more */
	bool truncated;
	uint64_t left;		/* bytes left of the body or of the chunk */
	uint64_t body_size;

	uint64_t csize;		/* chunk-size line being read */
	unsigned cdigits;
	int cphase;
	bool cr;		/* CR seen, LF expected */
	size_t clen;
	size_t tline;		/* trailer: current line and total length */
	size_t ttotal;

	struct msg_record rec;	/* head of the message being read */
};

struct http_parser {
	size_t body_keep;
	const struct conn_meta *conn; /* stamped on every record */
	struct http_dir d[2];
	uint8_t pending[PENDING_MAX];	/* enum mclass of unanswered requests */
	unsigned pend_head, pend_count;
	struct http_parser_stats st;
};

/* ---- character classes and small helpers ---- */

/* RFC 9110 5.6.2 token characters: what a header name is made of. */
static const bool tchar[256] = {
	['0' ... '9'] = true, ['a' ... 'z'] = true, ['A' ... 'Z'] = true,
	['!'] = true, ['#'] = true, ['$'] = true, ['%'] = true, ['&'] = true,
	['\''] = true, ['*'] = true, ['+'] = true, ['-'] = true, ['.'] = true,
	['^'] = true, ['_'] = true, ['`'] = true, ['|'] = true, ['~'] = true,
};

static bool is_tchar(uint8_t c)
{
	return tchar[c];
}

/* Bytes that never appear in a header line: CTLs other than HTAB and CR. */
static bool is_bad_ctl(uint8_t c)
{
	return (c < 0x20 && c != '\t' && c != '\r') || c == 0x7f;
}

/*
 * The length of the run of plain text at s: up to the first CTL (CR, LF,
 * HTAB and the bad ones alike) or DEL. Eight bytes at a time: every byte
 * of a head passes through here (swar.h: the lowest flag is exact).
 */
static size_t text_run(const uint8_t *s, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x = swar_load(s + i);
		uint64_t hit = swar_below(x, 0x20) | swar_eq(x, 0x7f);

		if (hit)
			return i + swar_first(hit);
	}
	while (i < n && s[i] >= 0x20 && s[i] != 0x7f)
		i++;
	return i;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static int hex_val(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static struct slice trim(const char *s, size_t n)
{
	while (n && is_ws(*s)) {
		s++;
		n--;
	}
	while (n && is_ws(s[n - 1]))
		n--;
	return slice_from(s, n);
}

/* Compared with string literals only: their length is known at compile
 * time, and most slices differ from them in length, so that is checked
 * first (every header name passes through note_header()). */
#define slice_ieq(s, lit) slice_ieq_n((s), (lit), sizeof(lit) - 1)
#define slice_eq(s, lit) slice_eq_n((s), (lit), sizeof(lit) - 1)

static bool slice_ieq_n(struct slice s, const char *lit, size_t n)
{
	if (s.len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char a = s.ptr[i], b = lit[i];

		if (a >= 'A' && a <= 'Z')
			a += 'a' - 'A';
		if (b >= 'A' && b <= 'Z')
			b += 'a' - 'A';
		if (a != b)
			return false;
	}
	return true;
}

static bool slice_eq_n(struct slice s, const char *lit, size_t n)
{
	return s.len == n && memcmp(s.ptr, lit, n) == 0;
}

/* Grow *buf to hold need bytes, doubling, never past max (need <= max). */
static bool buf_reserve(uint8_t **buf, size_t *cap, size_t need, size_t max)
{
	size_t n = *cap ? *cap : BUF_MIN;
	uint8_t *b;

	if (need <= *cap)
		return true;
	while (n < need) {
		if (n > max / 2) {
			n = max;
			break;
		}
		n *= 2;
	}
	if (n > max)
		n = max;
	b = realloc(*buf, n);
	if (!b)
		return false;
	*buf = b;
	*cap = n;
	return true;
}

/* ---- start lines ---- */

/* Index 0 is the status line prefix; the rest are request methods. Their
 * lengths are kept: start_prefix() runs for each byte of a start line. */
#define WORD(s) { s, sizeof(s) - 1 }
static const struct {
	const char *w;
	size_t len;
} start_words[] = {
	WORD("HTTP/1."),
	WORD("GET "), WORD("HEAD "), WORD("POST "), WORD("PUT "), WORD("DELETE "),
	WORD("CONNECT "), WORD("OPTIONS "), WORD("TRACE "), WORD("PATCH "),
	WORD("PROPFIND "), WORD("PROPPATCH "), WORD("MKCOL "), WORD("COPY "),
	WORD("MOVE "), WORD("LOCK "), WORD("UNLOCK "), WORD("REPORT "),
	WORD("SEARCH "), WORD("PURGE "), WORD("MKCALENDAR "),
};
#undef WORD
/* The longest word ("MKCALENDAR "). Only a threshold: with fewer bytes
 * head_prefix() goes a byte at a time, as it must for a split word. */
#define START_WORD_MAX 11

/* Bit i set in by_first[c]: start_words[i] begins with c (a byte at a
 * time, a start line is matched against two words, not twenty-one).
 * test_http_parser checks every word is found through it. */
static const uint32_t by_first[256] = {
	['H'] = 1u << 0 | 1u << 2,
	['G'] = 1u << 1,
	['P'] = 1u << 3 | 1u << 4 | 1u << 9 | 1u << 10 | 1u << 11 | 1u << 19,
	['D'] = 1u << 5,
	['C'] = 1u << 6 | 1u << 13,
	['O'] = 1u << 7,
	['T'] = 1u << 8,
	['M'] = 1u << 12 | 1u << 14 | 1u << 20,
	['L'] = 1u << 15,
	['U'] = 1u << 16,
	['R'] = 1u << 17,
	['S'] = 1u << 18,
};

enum { PFX_NO = -2, PFX_MORE = -1 };

/*
 * Match the first n bytes of a message against the known start words:
 * the kind when one matched whole, PFX_MORE while they are still a prefix
 * of one, PFX_NO otherwise. want (a kind, or -1) restricts the choice.
 */
static int start_prefix(const uint8_t *s, size_t n, int want)
{
	bool more = false;

	if (!n)
		return PFX_MORE; /* a prefix of every word */
	for (uint32_t cand = by_first[s[0]]; cand; cand &= cand - 1) {
		size_t i = (size_t)__builtin_ctz(cand);
		int kind = i == 0 ? HTTP_RESPONSE : HTTP_REQUEST;
		size_t wl = start_words[i].len;

		if (want >= 0 && kind != want)
			continue;
		if (n >= wl && memcmp(s, start_words[i].w, wl) == 0)
			return kind;
		if (n < wl && memcmp(s, start_words[i].w, n) == 0)
			more = true;
	}
	return more ? PFX_MORE : PFX_NO;
}

bool http_looks_like_start(const uint8_t *data, size_t len)
{
	return data && start_prefix(data, len, -1) >= 0;
}

static bool version_ok(const uint8_t *v, size_t n)
{
	return n == 8 && memcmp(v, "HTTP/1.", 7) == 0 && v[7] >= '0' &&
	       v[7] <= '9';
}

/* "METHOD SP target SP HTTP/1.x": the target holds no space. */
static bool request_line_ok(const uint8_t *l, size_t n)
{
	const uint8_t *sp1 = memchr(l, ' ', n);
	size_t last = n;

	while (last && l[last - 1] != ' ')
		last--;
	if (!sp1 || !last)
		return false;
	last--; /* index of the last space */
	for (const uint8_t *c = l; c < sp1; c++)
		if (!is_tchar(*c))
			return false;
	if (last <= (size_t)(sp1 - l) + 1)
		return false; /* empty target */
	if (memchr(sp1 + 1, ' ', last - (size_t)(sp1 - l) - 1))
		return false;
	return version_ok(l + last + 1, n - last - 1);
}

/* "HTTP/1.x SP 3DIGIT [SP reason]"; classes beyond 5xx are not used and
 * would only let garbage through. */
static bool status_line_ok(const uint8_t *l, size_t n)
{
	if (n < 12 || !version_ok(l, 8) || l[8] != ' ')
		return false;
	for (int i = 9; i < 12; i++)
		if (l[i] < '0' || l[i] > '9')
			return false;
	if (l[9] < '1' || l[9] > '5')
		return false;
	return n == 12 || l[12] == ' ';
}

static bool header_line_ok(const uint8_t *l, size_t n)
{
	size_t i = 0;

	while (i < n && is_tchar(l[i]))
		i++;
	return i > 0 && i < n && l[i] == ':';
}

/* ---- requests awaiting a response ---- */

static void pending_push(struct http_parser *p, enum mclass c)
{
	if (p->pend_count == PENDING_MAX) {
		/* Deeper pipelining than this is absurd: forget the oldest. */
		p->pend_head = (p->pend_head + 1) % PENDING_MAX;
		p->pend_count--;
	}
	p->pending[(p->pend_head + p->pend_count) % PENDING_MAX] = c;
	p->pend_count++;
}

/* A response whose request went unseen is assumed not to answer HEAD. */
static enum mclass pending_pop(struct http_parser *p)
{
	enum mclass c;

	if (!p->pend_count)
		return M_OTHER;
	c = p->pending[p->pend_head];
	p->pend_head = (p->pend_head + 1) % PENDING_MAX;
	p->pend_count--;
	return c;
}

/* ---- direction state changes ---- */

static int want_kind(const struct http_parser *p, const struct http_dir *d)
{
	const struct http_dir *o = &p->d[!d->dir];

	if (d->kind >= 0)
		return d->kind;
	if (o->kind >= 0)
		return o->kind == HTTP_REQUEST ? HTTP_RESPONSE : HTTP_REQUEST;
	return -1;
}

static void head_reset(struct http_dir *d)
{
	d->hlen = 0;
	d->line_off = 0;
	d->line_crs = 0;
	d->lines = 0;
	d->cur = -1;
	d->tentative = false;
	d->folded = false;
	if (d->hcap > BUF_SHRINK) {
		free(d->hbuf);
		d->hbuf = NULL;
		d->hcap = 0;
	}
}

static void msg_reset(struct http_dir *d)
{
	head_reset(d);
	d->st = S_HEAD;
	d->blen = 0;
	d->body_size = 0;
	d->left = 0;
	d->hole = false;
	d->truncated = false;
	if (d->bcap > BUF_SHRINK) {
		free(d->bbuf);
		d->bbuf = NULL;
		d->bcap = 0;
	}
}

static void enter_seek(struct http_dir *d, bool line_start)
{
	msg_reset(d);
	d->st = S_SEEK;
	d->line_start = line_start;
}

static void emit(struct http_parser *p, struct http_dir *d, record_cb cb,
		 void *ctx)
{
	struct msg_record *r = &d->rec;
	struct http_msg *m = &r->http;

	r->ts_ns = d->ts;
	r->dir = d->dir;
	r->proto = PROTO_HTTP;
	r->conn = p->conn;
	r->peer_read = d->peer_read;
	m->body = d->blen ? slice_from((const char *)d->bbuf, d->blen)
			  : SLICE_NULL;
	m->body_size = d->body_size;
	m->truncated = d->truncated || d->body_size > d->blen;
	p->st.messages++;
	if (cb)
		cb(r, ctx);
	msg_reset(d);
}

/*
 * The header block being read is not HTTP after all. Bytes taken from the
 * input but not stored (extra) are counted as skipped too. A candidate
 * found while scanning fails silently; in sync it is an error.
 */
static void head_fail(struct http_parser *p, struct http_dir *d,
		      size_t extra, bool line_start)
{
	p->st.bytes_skipped += d->hlen + extra;
	d->again_len = 0; /* (its framing may be what failed) */
	if (!d->tentative) {
		p->st.errors++;
		p->st.resyncs++;
	}
	enter_seek(d, line_start);
}

/* Framing broke after the head was read: report what we have, rescan. */
static void body_fail(struct http_parser *p, struct http_dir *d,
		      bool line_start, record_cb cb, void *ctx)
{
	p->st.errors++;
	p->st.resyncs++;
	d->truncated = true;
	emit(p, d, cb, ctx);
	enter_seek(d, line_start);
}

/* Bytes of a direction were lost where their meaning is unknown. */
static void lose_sync(struct http_parser *p, struct http_dir *d,
		      record_cb cb, void *ctx)
{
	if (d->st == S_SEEK) {
		/* Whatever follows a gap may start a message. */
		d->line_start = true;
		return;
	}
	if (d->st == S_HEAD) {
		p->st.bytes_skipped += d->hlen;
		if (!d->tentative)
			p->st.resyncs++;
	} else {
		d->truncated = true;
		emit(p, d, cb, ctx);
		p->st.resyncs++;
	}
	enter_seek(d, true);
}

static void start_tunnel(struct http_parser *p)
{
	p->st.upgrades++;
	p->d[0].st = S_CLOSED;
	p->d[1].st = S_CLOSED;
}

/* ---- body bytes ---- */

static void body_data(struct http_parser *p, struct http_dir *d,
		      const uint8_t *s, size_t n)
{
	size_t k;

	d->body_size += n;
	if (d->hole || d->blen >= p->body_keep)
		return;
	k = p->body_keep - d->blen;
	if (k > n)
		k = n;
	if (!buf_reserve(&d->bbuf, &d->bcap, d->blen + k, p->body_keep)) {
		d->hole = true; /* out of memory: report less, stay in sync */
		return;
	}
	memcpy(d->bbuf + d->blen, s, k);
	d->blen += k;
}

/* Lost body bytes: later ones would not follow the kept ones, so stop. */
static void body_hole(struct http_dir *d, uint64_t n)
{
	d->body_size += n;
	d->hole = true;
	d->truncated = true;
}

/* ---- the head is complete ---- */

/* A Content-Length value: one number, or a list of copies of one number. */
static bool parse_length(struct slice v, uint64_t *out)
{
	size_t i = 0;
	bool have = false;
	uint64_t first = 0;

	while (i <= v.len) {
		size_t j = i;
		struct slice item;
		uint64_t x = 0;

		while (j < v.len && v.ptr[j] != ',')
			j++;
		item = trim(v.ptr + i, j - i);
		if (!item.len)
			return false;
		for (size_t k = 0; k < item.len; k++) {
			if (item.ptr[k] < '0' || item.ptr[k] > '9')
				return false;
			x = x * 10 + (uint64_t)(item.ptr[k] - '0');
			if (x > LEN_MAX)
				return false;
		}
		if (have && x != first)
			return false;
		first = x;
		have = true;
		i = j + 1;
	}
	*out = first;
	return have;
}

/* Only the last transfer coding says how the body ends. */
static bool last_coding_chunked(struct slice v)
{
	size_t i = v.len;

	while (i && v.ptr[i - 1] != ',')
		i--;
	return slice_ieq(trim(v.ptr + i, v.len - i), "chunked");
}

static void note_header(struct frame_info *f, struct slice name,
			struct slice value)
{
	uint64_t len = 0;

	if (slice_ieq(name, "Content-Length")) {
		if (!parse_length(value, &len) || (f->has_len && f->len != len))
			f->bad_len = true;
		f->has_len = true;
		f->len = len;
	} else if (slice_ieq(name, "Transfer-Encoding")) {
		f->te = true;
		f->chunked = last_coding_chunked(value);
	}
}

static void fill_start(struct http_dir *d, struct http_msg *m)
{
	const char *l = (const char *)d->hbuf;
	size_t n = d->first_len;

	if (m->kind == HTTP_REQUEST) {
		const char *sp1 = memchr(l, ' ', n);
		size_t last = n;

		while (l[last - 1] != ' ')
			last--;
		m->method = slice_from(l, (size_t)(sp1 - l));
		m->path = slice_from(sp1 + 1, last - 1 - (size_t)(sp1 - l) - 1);
		m->version = slice_from(l + last, n - last);
		return;
	}
	m->version = slice_from(l, 8);
	m->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	m->reason = n > 13 ? slice_from(l + 13, n - 13) : SLICE_NULL;
}

/* Header lines were checked as they arrived; split them into the record. */
static void fill_headers(struct http_parser *p, struct http_dir *d,
			 struct http_msg *m, struct frame_info *f)
{
	const char *b = (const char *)d->hbuf;
	size_t pos = d->first_end;

	while (pos < d->hlen) {
		const char *l = b + pos;
		const char *nl = memchr(l, '\n', d->hlen - pos);
		size_t n = (size_t)(nl - l);
		const char *colon;
		struct slice name, value;

		pos += n + 1;
		if (n && l[n - 1] == '\r')
			n--;
		if (!n)
			break;
		colon = memchr(l, ':', n);
		name = slice_from(l, (size_t)(colon - l));
		value = trim(colon + 1, n - (size_t)(colon - l) - 1);
		note_header(f, name, value);
		if (m->n_headers < HTTP_MAX_HEADERS) {
			m->headers[m->n_headers].name = name;
			m->headers[m->n_headers].value = value;
			m->n_headers++;
		} else {
			p->st.headers_dropped++;
		}
	}
}

static enum mclass method_class(struct slice method)
{
	if (slice_eq(method, "HEAD"))
		return M_HEAD;
	if (slice_eq(method, "CONNECT"))
		return M_CONNECT;
	return M_OTHER;
}

static enum framing request_framing(struct http_parser *p,
				    const struct http_msg *m,
				    const struct frame_info *f)
{
	pending_push(p, method_class(m->method));
	if (f->te) /* a request body must have a length it can tell */
		return f->chunked ? F_CHUNKED : F_ERROR;
	if (f->bad_len)
		return F_ERROR;
	return f->has_len ? F_LEN : F_NONE;
}

static enum framing response_framing(struct http_parser *p,
				     const struct http_msg *m,
				     const struct frame_info *f)
{
	enum mclass req;

	if (m->status == 101) {
		pending_pop(p);
		return F_TUNNEL;
	}
	if (m->status < 200)
		return F_NONE; /* interim: the final response is still due */
	req = pending_pop(p);
	if (req == M_CONNECT && m->status < 300)
		return F_TUNNEL;
	if (req == M_HEAD || m->status == 204 || m->status == 304)
		return F_NONE;
	if (f->te)
		return f->chunked ? F_CHUNKED : F_CLOSE;
	if (f->bad_len)
		return F_ERROR;
	return f->has_len ? F_LEN : F_CLOSE;
}

static void chunk_line_reset(struct http_dir *d)
{
	d->csize = 0;
	d->cdigits = 0;
	d->cphase = CS_DIGITS;
	d->cr = false;
	d->clen = 0;
}

/*
 * Keep a copy of the head just read whole, checked line by line and split
 * into d->rec, for head_again(). Not a folded one: joining its lines
 * rewrote hbuf, so the bytes kept would not be the bytes received.
 */
static void keep_head(struct http_dir *d, const struct frame_info *f,
		      unsigned dropped)
{
	if (d->folded || d->hlen > AGAIN_MAX) {
		d->again_len = 0;
		return;
	}
	if (!buf_reserve(&d->again, &d->again_cap, d->hlen, AGAIN_MAX)) {
		d->again_len = 0;
		return;
	}
	memcpy(d->again, d->hbuf, d->hlen);
	d->again_len = d->hlen;
	d->again_cur = d->cur;
	d->again_first_len = d->first_len;
	d->again_first_end = d->first_end;
	d->again_f = *f;
	d->again_dropped = dropped;
	d->again_hbuf = d->hbuf;
}

/* The members of d->rec that follow from its head, split from hbuf. */
static void split_head(struct http_parser *p, struct http_dir *d,
		       struct frame_info *f)
{
	struct http_msg *m = &d->rec.http;
	unsigned dropped = p->st.headers_dropped;

	/* not the 64 header slots (2 KiB): fill_headers() sets those it uses */
	memset(m, 0, offsetof(struct http_msg, headers));
	memset(&m->n_headers, 0, sizeof(*m) - offsetof(struct http_msg, n_headers));
	m->kind = (enum http_kind)d->cur;
	m->head = slice_from((const char *)d->hbuf, d->hlen);
	fill_start(d, m);
	fill_headers(p, d, m, f);
	keep_head(d, f, (unsigned)(p->st.headers_dropped - dropped));
}

/*
 * head_again() put the kept head back where it was split, and d->rec's
 * members still point into it (only head_done() writes them, and only
 * emit() writes the rest): those are reset, the split taken as it was.
 */
static void split_again(struct http_parser *p, struct http_dir *d,
			struct frame_info *f)
{
	struct http_msg *m = &d->rec.http;

	d->again_split = false;
	*f = d->again_f;
	p->st.headers_dropped += d->again_dropped;
	m->body = SLICE_NULL;
	m->body_size = 0;
	m->chunked = false;
	m->truncated = false;
}

static void head_done(struct http_parser *p, struct http_dir *d,
		      record_cb cb, void *ctx)
{
	struct http_msg *m = &d->rec.http;
	struct frame_info f = { 0 };
	enum framing fr;

	if (d->again_split)
		split_again(p, d, &f);
	else
		split_head(p, d, &f);
	d->tentative = false;
	fr = m->kind == HTTP_REQUEST ? request_framing(p, m, &f)
				     : response_framing(p, m, &f);
	switch (fr) {
	case F_ERROR:
		head_fail(p, d, 0, true);
		return;
	case F_NONE:
		break;
	case F_LEN:
		if (!f.len)
			break;
		d->st = S_BODY;
		d->left = f.len;
		d->kind = d->cur;
		return;
	case F_CHUNKED:
		m->chunked = true;
		d->st = S_CHUNK_SIZE;
		chunk_line_reset(d);
		d->kind = d->cur;
		return;
	case F_CLOSE:
		d->st = S_UNTIL_CLOSE;
		d->kind = d->cur;
		return;
	case F_TUNNEL:
		d->kind = d->cur;
		emit(p, d, cb, ctx);
		start_tunnel(p);
		return;
	}
	d->kind = d->cur;
	emit(p, d, cb, ctx);
}

/* ---- per-state input handlers: each returns the bytes it consumed ---- */

static size_t do_seek(struct http_parser *p, struct http_dir *d,
		      const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const uint8_t *nl;
		size_t end;

		if (d->line_start) {
			if (start_prefix(s + i, 1, want_kind(p, d)) != PFX_NO) {
				d->st = S_HEAD;
				d->tentative = true;
				return i;
			}
			d->line_start = false;
		}
		nl = memchr(s + i, '\n', n - i);
		end = nl ? (size_t)(nl - s) + 1 : n;
		p->st.bytes_skipped += end - i;
		i = end;
		d->line_start = nl != NULL;
	}
	return i;
}

/* Before the start line is recognised: one byte at a time, unless the
 * message starts here with a whole start word in hand, which head_span()
 * then takes with the rest of its line. */
static size_t head_prefix(struct http_parser *p, struct http_dir *d,
			  uint64_t ts, const uint8_t *s, size_t n)
{
	size_t i = 0;

	if (!d->hlen && n >= START_WORD_MAX && s[0] != '\r' && s[0] != '\n') {
		int k = start_prefix(s, n, want_kind(p, d));

		if (k >= 0) {
			d->ts = ts;
			d->cur = k;
			return 0;
		}
	}

	while (i < n && d->cur < 0) {
		uint8_t c = s[i++];
		int k;

		/* Empty lines between messages are tolerated (RFC 9112 2.2). */
		if (!d->hlen && !d->tentative && (c == '\r' || c == '\n'))
			continue;
		if (!d->hlen)
			d->ts = ts;
		if (!buf_reserve(&d->hbuf, &d->hcap, d->hlen + 1,
				 HTTP_HEAD_MAX)) {
			head_fail(p, d, 1, false);
			return i;
		}
		d->hbuf[d->hlen++] = c;
		d->line_crs += c == '\r'; /* (start_prefix refuses it next) */
		k = start_prefix(d->hbuf, d->hlen, want_kind(p, d));
		if (k == PFX_NO) {
			head_fail(p, d, 0, c == '\n');
			return i;
		}
		if (k >= 0)
			d->cur = k;
	}
	return i;
}

static void line_done(struct http_parser *p, struct http_dir *d,
		      record_cb cb, void *ctx)
{
	size_t off = d->line_off;
	uint8_t *l = d->hbuf + off;
	size_t n = d->hlen - off - 1;
	bool crlf = n && l[n - 1] == '\r', ok;

	n -= crlf;
	if (d->line_crs > (unsigned)crlf) {
		ok = false; /* a CR inside the line */
	} else if (!d->lines) {
		ok = d->cur == HTTP_REQUEST ? request_line_ok(l, n)
					    : status_line_ok(l, n);
		d->first_len = n;
		d->first_end = d->hlen;
	} else if (!n) {
		head_done(p, d, cb, ctx);
		return;
	} else if (is_ws((char)l[0])) {
		/* obs-fold: join to the previous line so its value stays
		 * one slice (RFC 9112 5.2 allows replacing CRLF with SP) */
		ok = d->lines > 1;
		if (ok) {
			d->folded = true;
			d->hbuf[off - 1] = ' ';
			if (d->hbuf[off - 2] == '\r')
				d->hbuf[off - 2] = ' ';
		}
	} else {
		ok = header_line_ok(l, n);
	}
	if (!ok) {
		head_fail(p, d, 0, true);
		return;
	}
	d->lines++;
	d->line_off = d->hlen;
	d->line_crs = 0;
}

/* After the start line is recognised: a line at a time. */
static size_t head_span(struct http_parser *p, struct http_dir *d,
			const uint8_t *s, size_t n, record_cb cb, void *ctx)
{
	size_t i = text_run(s, n), take;
	bool nl;

	while (i < n && s[i] != '\n') {
		if (is_bad_ctl(s[i])) {
			head_fail(p, d, i + 1, false);
			return i + 1;
		}
		if (s[i] == '\r') {
			d->line_crs++;
			if (i + 1 < n && s[i + 1] == '\n') {
				i++; /* the usual line end: no run to scan */
				break;
			}
		}
		i++;
		i += text_run(s + i, n - i);
	}
	nl = i < n;
	take = nl ? i + 1 : n;
	if (d->hlen + take > HTTP_HEAD_MAX ||
	    !buf_reserve(&d->hbuf, &d->hcap, d->hlen + take, HTTP_HEAD_MAX)) {
		head_fail(p, d, take, nl);
		return take;
	}
	memcpy(d->hbuf + d->hlen, s, take);
	d->hlen += take;
	if (nl)
		line_done(p, d, cb, ctx);
	return take;
}

static size_t do_body(struct http_parser *p, struct http_dir *d,
		      const uint8_t *s, size_t n, record_cb cb, void *ctx)
{
	size_t take = n < d->left ? n : (size_t)d->left;

	body_data(p, d, s, take);
	d->left -= take;
	if (d->left)
		return take;
	if (d->st == S_BODY) {
		emit(p, d, cb, ctx);
	} else {
		d->st = S_CHUNK_END;
		d->cr = false;
	}
	return take;
}

/* Feed one byte of a chunk-size line; false if it cannot be one. */
static bool chunk_size_byte(struct http_dir *d, uint8_t c)
{
	int h = hex_val(c);

	if (d->cr)
		return false; /* CR not followed by LF */
	if (c == '\r') {
		d->cr = true;
		return d->cdigits > 0;
	}
	if (d->cphase == CS_EXT)
		return !is_bad_ctl(c);
	if (h >= 0 && d->cphase == CS_DIGITS) {
		if (d->csize >= LEN_MAX >> 4)
			return false;
		d->csize = d->csize * 16 + (uint64_t)h;
		d->cdigits++;
		return true;
	}
	if (!d->cdigits)
		return false;
	if (c == ';') {
		d->cphase = CS_EXT;
		return true;
	}
	if (is_ws((char)c)) { /* BWS before an extension */
		d->cphase = CS_SPACE;
		return true;
	}
	return false;
}

static size_t do_chunk_size(struct http_parser *p, struct http_dir *d,
			    const uint8_t *s, size_t n, record_cb cb,
			    void *ctx)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i++];

		if (c == '\n' && d->cdigits) {
			if (d->csize) {
				d->st = S_CHUNK_DATA;
				d->left = d->csize;
			} else {
				d->st = S_TRAILER;
				d->tline = 0;
				d->ttotal = 0;
			}
			return i;
		}
		if (++d->clen > CHUNK_LINE_MAX || !chunk_size_byte(d, c)) {
			body_fail(p, d, c == '\n', cb, ctx);
			return i;
		}
	}
	return i;
}

static size_t do_chunk_end(struct http_parser *p, struct http_dir *d,
			   const uint8_t *s, record_cb cb, void *ctx)
{
	if (s[0] == '\r' && !d->cr) {
		d->cr = true;
	} else if (s[0] == '\n') {
		d->st = S_CHUNK_SIZE;
		chunk_line_reset(d);
	} else {
		body_fail(p, d, false, cb, ctx);
	}
	return 1;
}

/* Trailer fields are not reported: only their end matters. */
static size_t do_trailer(struct http_parser *p, struct http_dir *d,
			 const uint8_t *s, size_t n, record_cb cb, void *ctx)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i++];

		if (c == '\n') {
			if (!d->tline) {
				emit(p, d, cb, ctx);
				return i;
			}
			d->tline = 0;
			continue;
		}
		if (c == '\r')
			continue;
		if (is_bad_ctl(c) || ++d->ttotal > HTTP_HEAD_MAX) {
			body_fail(p, d, false, cb, ctx);
			return i;
		}
		d->tline++;
	}
	return i;
}

/*
 * A message that begins with the same head as the last one read whole on
 * this direction: a keep-alive client's next request, a server's next
 * response until its Date moves on. Those bytes passed every check of
 * head_prefix() and head_span() then, and would again: taken at once.
 */
static bool head_again_fits(const struct http_parser *p,
			    const struct http_dir *d, const uint8_t *s, size_t n)
{
	int want;

	if (!d->again_len || d->hlen || d->tentative || n < d->again_len)
		return false;
	want = want_kind(p, d);
	return (want < 0 || want == d->again_cur) &&
	       !memcmp(s, d->again, d->again_len);
}

static size_t head_again(struct http_parser *p, struct http_dir *d,
			 uint64_t ts, record_cb cb, void *ctx)
{
	size_t n = d->again_len;

	if (!buf_reserve(&d->hbuf, &d->hcap, n, HTTP_HEAD_MAX))
		return 0; /* the usual way then */
	memcpy(d->hbuf, d->again, n);
	d->ts = ts;
	d->cur = d->again_cur;
	d->hlen = n;
	d->line_off = n;
	d->line_crs = 0;
	d->first_len = d->again_first_len;
	d->first_end = d->again_first_end;
	d->again_split = d->hbuf == d->again_hbuf;
	head_done(p, d, cb, ctx);
	return n;
}

static size_t step(struct http_parser *p, struct http_dir *d, uint64_t ts,
		   const uint8_t *s, size_t n, record_cb cb, void *ctx)
{
	switch (d->st) {
	case S_SEEK:
		return do_seek(p, d, s, n);
	case S_HEAD:
		if (d->cur < 0 && head_again_fits(p, d, s, n)) {
			size_t took = head_again(p, d, ts, cb, ctx);

			if (took)
				return took;
		}
		if (d->cur < 0)
			return head_prefix(p, d, ts, s, n);
		return head_span(p, d, s, n, cb, ctx);
	case S_BODY:
	case S_CHUNK_DATA:
		return do_body(p, d, s, n, cb, ctx);
	case S_CHUNK_SIZE:
		return do_chunk_size(p, d, s, n, cb, ctx);
	case S_CHUNK_END:
		return do_chunk_end(p, d, s, cb, ctx);
	case S_TRAILER:
		return do_trailer(p, d, s, n, cb, ctx);
	case S_UNTIL_CLOSE:
		body_data(p, d, s, n);
		return n;
	case S_CLOSED:
		break;
	}
	return n;
}

/* ---- public API ---- */

void http_parser_set_conn(struct http_parser *p, const struct conn_meta *conn)
{
	if (p)
		p->conn = conn;
}

void http_parser_set_peer_read(struct http_parser *p, enum direction dir,
			       bool peer_read)
{
	if (p)
		p->d[dir].peer_read = peer_read;
}

struct http_parser *http_parser_new(size_t body_keep, bool synced)
{
	struct http_parser *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->body_keep = body_keep;
	for (int i = 0; i < 2; i++) {
		struct http_dir *d = &p->d[i];

		d->dir = i ? DIR_RECV : DIR_SEND;
		d->kind = -1;
		msg_reset(d);
		if (!synced)
			enter_seek(d, true); /* a capture may begin at a write */
	}
	return p;
}

void http_parser_free(struct http_parser *p)
{
	if (!p)
		return;
	for (int i = 0; i < 2; i++) {
		free(p->d[i].hbuf);
		free(p->d[i].bbuf);
		free(p->d[i].again);
	}
	free(p);
}

void http_parser_feed(struct http_parser *p, enum direction dir,
		      uint64_t ts_ns, const uint8_t *data, size_t len,
		      record_cb cb, void *ctx)
{
	struct http_dir *d;
	size_t i = 0;

	if (!p || (dir != DIR_SEND && dir != DIR_RECV) || !data)
		return;
	d = &p->d[dir];
	while (i < len && d->st != S_CLOSED)
		i += step(p, d, ts_ns, data + i, len - i, cb, ctx);
}

/* Account for up to `missing` lost bytes; returns how many it took. */
static uint64_t gap_step(struct http_parser *p, struct http_dir *d,
			 uint64_t missing, record_cb cb, void *ctx)
{
	uint64_t n;

	switch (d->st) {
	case S_BODY:
	case S_CHUNK_DATA:
		n = missing < d->left ? missing : d->left;
		body_hole(d, n);
		d->left -= n;
		if (d->left)
			return n;
		if (d->st == S_BODY) {
			emit(p, d, cb, ctx);
		} else {
			d->st = S_CHUNK_END;
			d->cr = false;
		}
		return n;
	case S_CHUNK_END:
		/* The lost bytes are taken to be the CRLF that must be there;
		 * a wrong guess shows up at the next chunk-size line. */
		if (!d->cr && missing == 1) {
			d->cr = true;
			return 1;
		}
		n = d->cr ? 1 : 2;
		d->st = S_CHUNK_SIZE;
		chunk_line_reset(d);
		return n;
	case S_UNTIL_CLOSE:
		body_hole(d, missing);
		return missing;
	case S_CLOSED:
		return missing;
	default:
		lose_sync(p, d, cb, ctx);
		return missing;
	}
}

void http_parser_gap(struct http_parser *p, enum direction dir,
		     uint64_t ts_ns, uint64_t missing, record_cb cb, void *ctx)
{
	struct http_dir *d;

	(void)ts_ns; /* a gap never begins a message */
	if (!p || (dir != DIR_SEND && dir != DIR_RECV))
		return;
	d = &p->d[dir];
	p->st.gap_bytes += missing;
	while (missing)
		missing -= gap_step(p, d, missing, cb, ctx);
}

void http_parser_close(struct http_parser *p, uint64_t ts_ns, record_cb cb,
		       void *ctx)
{
	(void)ts_ns;
	if (!p)
		return;
	for (int i = 0; i < 2; i++) {
		struct http_dir *d = &p->d[i];

		switch (d->st) {
		case S_UNTIL_CLOSE:
			emit(p, d, cb, ctx);
			break;
		case S_BODY:
		case S_CHUNK_SIZE:
		case S_CHUNK_DATA:
		case S_CHUNK_END:
		case S_TRAILER:
			d->truncated = true; /* cut short by the close */
			emit(p, d, cb, ctx);
			break;
		case S_HEAD:
			p->st.bytes_skipped += d->hlen;
			break;
		case S_SEEK:
		case S_CLOSED:
			break;
		}
		msg_reset(d);
		d->st = S_CLOSED;
	}
}

const struct http_parser_stats *http_parser_stats(const struct http_parser *p)
{
	return &p->st;
}

size_t http_parser_memory(const struct http_parser *p)
{
	size_t n;

	if (!p)
		return 0;
	n = sizeof(*p);
	for (int i = 0; i < 2; i++)
		n += p->d[i].hcap + p->d[i].bcap + p->d[i].again_cap;
	return n;
}
