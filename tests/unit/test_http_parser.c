/* SPDX-License-Identifier: MIT */
/*
 * test_http_parser.c — unit tests for userspace/http_parser.c.
 *
 * Usage: test_http_parser [DATA_DIR]   (default tests/data/http)
 *
 * DATA_DIR holds real byte streams recorded by a TCP proxy between curl (or
 * a raw python socket) and nginx or a small python http.server, one file
 * per direction: NAME.req.bin (client to server), NAME.resp.bin (server to
 * client). nginx_big.resp.* keep only the head and the first 4 KiB of a
 * 1 MiB body (prefix) and what followed the body (tail).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "http_parser.h"

static const char *data_dir = "tests/data/http";

/* ---- collecting records ---- */

/* A deep copy of a record (its slices point into store) and its text. */
struct got {
	struct msg_record r;
	char *store;
	char *text;
};

struct coll {
	struct got *v;
	size_t n, cap;
};

struct sbuf {
	char *s;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = 0;
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_slice(struct sbuf *b, struct slice s)
{
	char hex[8];

	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			sb_add(b, (const char *)&c, 1);
		} else {
			snprintf(hex, sizeof(hex), "\\x%02x", c);
			sb_str(b, hex);
		}
	}
}

static void sb_num(struct sbuf *b, const char *fmt, unsigned long long v)
{
	char tmp[64];

	snprintf(tmp, sizeof(tmp), fmt, v);
	sb_str(b, tmp);
}

/* Everything a record says but its ts, one line. */
static char *rec_text(const struct msg_record *r)
{
	const struct http_msg *m = &r->http;
	struct sbuf b = { 0 };

	sb_str(&b, r->dir == DIR_SEND ? "send " : "recv ");
	sb_str(&b, r->proto == PROTO_HTTP ? "" : "NOT-HTTP ");
	sb_str(&b, r->conn ? "CONN " : "");
	if (m->kind == HTTP_REQUEST) {
		sb_slice(&b, m->method);
		sb_str(&b, " ");
		sb_slice(&b, m->path);
		sb_str(&b, " ");
		sb_slice(&b, m->version);
	} else {
		sb_slice(&b, m->version);
		sb_num(&b, " %llu ", (unsigned long long)m->status);
		sb_slice(&b, m->reason);
	}
	for (int i = 0; i < m->n_headers; i++) {
		sb_str(&b, " | ");
		sb_slice(&b, m->headers[i].name);
		sb_str(&b, "=");
		sb_slice(&b, m->headers[i].value);
	}
	sb_num(&b, " || size=%llu", (unsigned long long)m->body_size);
	sb_num(&b, " chunked=%llu", m->chunked);
	sb_num(&b, " trunc=%llu body=", m->truncated);
	sb_slice(&b, m->body);
	return b.s;
}

static size_t slice_room(const struct msg_record *r)
{
	const struct http_msg *m = &r->http;
	size_t n = m->method.len + m->path.len + m->version.len +
		   m->reason.len + m->body.len + 1;

	for (int i = 0; i < m->n_headers; i++)
		n += m->headers[i].name.len + m->headers[i].value.len;
	return n;
}

static struct slice keep(char **at, struct slice s)
{
	struct slice out = { *at, s.len };

	if (s.len)
		memcpy(*at, s.ptr, s.len);
	*at += s.len;
	return s.ptr ? out : SLICE_NULL;
}

static bool within(struct slice s, struct slice head)
{
	return !s.len || (s.ptr >= head.ptr && s.ptr + s.len <= head.ptr + head.len);
}

/* http_msg.head is the head every member was split from: each lies in
 * it, and it ends with the empty line. */
static void check_head(const struct http_msg *m)
{
	struct slice h = m->head;
	bool in = within(m->method, h) && within(m->path, h) &&
		  within(m->version, h) && within(m->reason, h);

	for (int i = 0; i < m->n_headers; i++)
		in = in && within(m->headers[i].name, h) &&
		     within(m->headers[i].value, h);
	CHECK_MSG(h.len >= 2 && h.ptr[h.len - 1] == '\n' && in &&
		  (h.ptr[h.len - 2] == '\n' ||
		   (h.len >= 3 && !memcmp(h.ptr + h.len - 3, "\n\r\n", 3))),
		  "head %.*s", (int)h.len, h.ptr);
}

static void on_rec(const struct msg_record *r, void *ctx)
{
	struct coll *c = ctx;
	struct got *g;
	struct http_msg *m;
	char *at;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->v = realloc(c->v, c->cap * sizeof(*c->v));
		if (!c->v)
			abort();
	}
	g = &c->v[c->n++];
	g->r = *r;
	g->text = rec_text(r);
	check_head(&r->http);
	g->store = malloc(slice_room(r));
	if (!g->store)
		abort();
	at = g->store;
	m = &g->r.http;
	m->method = keep(&at, m->method);
	m->path = keep(&at, m->path);
	m->version = keep(&at, m->version);
	m->reason = keep(&at, m->reason);
	m->body = keep(&at, m->body);
	m->head = SLICE_NULL; /* (in its text) */
	for (int i = 0; i < m->n_headers; i++) {
		m->headers[i].name = keep(&at, m->headers[i].name);
		m->headers[i].value = keep(&at, m->headers[i].value);
	}
}

static void coll_free(struct coll *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].store);
		free(c->v[i].text);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static const struct http_msg *msg(const struct coll *c, size_t i)
{
	static const struct msg_record none;

	return i < c->n ? &c->v[i].r.http : &none.http;
}

/* The value of the first header called name (any case), or "(none)". */
static struct slice hdr(const struct http_msg *m, const char *name)
{
	for (int i = 0; i < m->n_headers; i++) {
		struct slice n = m->headers[i].name;

		if (n.len == strlen(name) && !strncasecmp(n.ptr, name, n.len))
			return m->headers[i].value;
	}
	return SLICE_LIT("(none)");
}

static bool same_texts(const struct coll *a, const struct coll *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].text, b->v[i].text))
			return false;
	return true;
}

/* ---- streams ---- */

struct buf {
	uint8_t *p;
	size_t len;
};

static struct buf load(const char *name)
{
	char path[512];
	struct buf b = { 0 };
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	f = fopen(path, "rb");
	CHECK_MSG(f != NULL, "cannot open %s", path);
	if (!f)
		return b;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b.p = malloc(n > 0 ? (size_t)n : 1);
	if (!b.p)
		abort();
	b.len = fread(b.p, 1, (size_t)n, f);
	fclose(f);
	return b;
}

/* Both directions of one recorded connection. */
struct conv {
	const char *name;
	struct buf req, resp;
};

static struct conv conv_load(const char *name)
{
	char fn[256];
	struct conv c = { .name = name };

	snprintf(fn, sizeof(fn), "%s.req.bin", name);
	c.req = load(fn);
	snprintf(fn, sizeof(fn), "%s.resp.bin", name);
	c.resp = load(fn);
	return c;
}

static void conv_free(struct conv *c)
{
	free(c->req.p);
	free(c->resp.p);
}

enum view { CLIENT, SERVER };

static enum direction req_dir(enum view v)
{
	return v == CLIENT ? DIR_SEND : DIR_RECV;
}

static enum direction resp_dir(enum view v)
{
	return v == CLIENT ? DIR_RECV : DIR_SEND;
}

/*
 * Feed buf in pieces: piece == 0 means two feeds split at `split`,
 * otherwise feeds of `piece` bytes. ts of a feed = base + its offset.
 */
static void feed_split(struct http_parser *p, enum direction d,
		       const struct buf *b, size_t split, size_t piece,
		       uint64_t base, struct coll *c)
{
	if (!piece) {
		if (split > b->len)
			split = b->len;
		http_parser_feed(p, d, base, b->p, split, on_rec, c);
		http_parser_feed(p, d, base + split, b->p + split,
				 b->len - split, on_rec, c);
		return;
	}
	for (size_t off = 0; off < b->len; off += piece) {
		size_t n = b->len - off < piece ? b->len - off : piece;

		http_parser_feed(p, d, base + off, b->p + off, n, on_rec, c);
	}
}

#define REQ_TS 1000000
#define RESP_TS 2000000

/* Requests first (they precede their answers), then responses, close. */
static struct coll run_conv(const struct conv *cv, enum view v, size_t split,
			    size_t piece, size_t body_keep, bool close)
{
	struct coll c = { 0 };
	struct http_parser *p = http_parser_new(body_keep, true);

	feed_split(p, req_dir(v), &cv->req, split, piece, REQ_TS, &c);
	feed_split(p, resp_dir(v), &cv->resp, split, piece, RESP_TS, &c);
	if (close)
		http_parser_close(p, 3000000, on_rec, &c);
	CHECK_EQ_INT(http_parser_stats(p)->errors, 0);
	CHECK_EQ_INT(http_parser_stats(p)->resyncs, 0);
	CHECK_EQ_INT(http_parser_stats(p)->bytes_skipped, 0);
	http_parser_free(p);
	return c;
}

/*
 * (a) whole, (b) split at every position into two feeds, (c) byte by
 * byte, and the server's view of the same: all give the same records.
 * Byte by byte, each record's ts must be the offset of its first byte.
 */
static void check_all_splits(const struct conv *cv, size_t body_keep,
			     bool close, const struct coll *whole)
{
	size_t max = cv->req.len > cv->resp.len ? cv->req.len : cv->resp.len;
	struct coll c;
	size_t bad = 0;

	for (size_t k = 0; k <= max; k++) {
		c = run_conv(cv, CLIENT, k, 0, body_keep, close);
		if (!same_texts(&c, whole) && !bad++)
			CHECK_MSG(0, "%s: split at %zu differs", cv->name, k);
		coll_free(&c);
	}
	CHECK_MSG(bad == 0, "%s: %zu splits differ", cv->name, bad);

	c = run_conv(cv, CLIENT, 0, 1, body_keep, close);
	CHECK_MSG(same_texts(&c, whole), "%s: byte by byte differs", cv->name);
	for (size_t i = 0; i < c.n; i++) {
		const struct msg_record *r = &c.v[i].r;
		bool req = r->http.kind == HTTP_REQUEST;
		const struct buf *b = req ? &cv->req : &cv->resp;
		uint64_t off = r->ts_ns - (req ? REQ_TS : RESP_TS);
		const char *w = req ? r->http.method.ptr : "HTTP/1.";
		size_t wl = req ? r->http.method.len : 7;

		CHECK_MSG(off + wl <= b->len && !memcmp(b->p + off, w, wl),
			  "%s: record %zu ts %llu", cv->name, i,
			  (unsigned long long)r->ts_ns);
	}
	coll_free(&c);

	/* The server's view: same records, directions swapped. */
	c = run_conv(cv, SERVER, 0, 7, body_keep, close);
	CHECK_EQ_INT(c.n, whole->n);
	for (size_t i = 0; i < c.n && i < whole->n; i++) {
		CHECK(c.v[i].r.dir != whole->v[i].r.dir);
		CHECK(!strcmp(c.v[i].text + 5, whole->v[i].text + 5));
	}
	coll_free(&c);
}

/* ---- feeding helpers for synthetic input ---- */

static void feed_str(struct http_parser *p, enum direction d, uint64_t ts,
		     const char *s, struct coll *c)
{
	http_parser_feed(p, d, ts, (const uint8_t *)s, strlen(s), on_rec, c);
}

/* ---- tests ---- */

static void test_looks_like_start(void)
{
	const struct {
		const char *s;
		bool yes;
	} t[] = {
		{ "GET / HTTP/1.1\r\n", true },
		{ "POST ", true },
		{ "OPTIONS * HTTP/1.1", true },
		{ "HTTP/1.1 200 OK", true },
		{ "HTTP/1.", true },
		{ "HTTP/2 200", false },
		{ "GET", false },
		{ "get / HTTP/1.1", false },
		{ "GETX / HTTP/1.1", false },
		{ "PUB foo 5\r\n", false },
		{ "", false },
	};

	/* every method the parser knows, whole and byte by byte (the start
	 * word lookup goes by first byte) */
	static const char *const methods[] = {
		"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
		"TRACE", "PATCH", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE",
		"LOCK", "UNLOCK", "REPORT", "SEARCH", "PURGE", "MKCALENDAR",
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK_MSG(http_looks_like_start((const uint8_t *)t[i].s,
						strlen(t[i].s)) == t[i].yes,
			  "\"%s\"", t[i].s);
	CHECK(!http_looks_like_start(NULL, 0));
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		char req[64];
		struct coll c = { 0 };
		struct http_parser *p = http_parser_new(64, true);
		struct slice m;

		snprintf(req, sizeof(req), "%s /x HTTP/1.1\r\nHost: a\r\n\r\n", methods[i]);
		CHECK_MSG(http_looks_like_start((const uint8_t *)req, strlen(req)),
			  "%s", methods[i]);
		for (size_t k = 0; req[k]; k++)
			http_parser_feed(p, DIR_SEND, 1, (const uint8_t *)req + k, 1, on_rec, &c);
		m = msg(&c, 0)->method;
		CHECK_MSG(c.n == 1 && msg(&c, 0)->kind == HTTP_REQUEST &&
			  m.len == strlen(methods[i]) && !memcmp(m.ptr, methods[i], m.len),
			  "%s parsed byte by byte", methods[i]);
		http_parser_free(p);
		coll_free(&c);
	}
}

static void test_get_post_bodies(void)
{
	struct http_parser *p = http_parser_new(1024, true);
	struct coll c = { 0 };
	const struct http_msg *m;

	feed_str(p, DIR_SEND, 10,
		 "GET /index.html?q=1 HTTP/1.1\r\nHost: example.test\r\n"
		 "X-Spaced:   padded value \t\r\nx-lower: v\r\n"
		 "Empty:\r\n\r\n", &c);
	feed_str(p, DIR_RECV, 20,
		 "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", &c);
	feed_str(p, DIR_SEND, 30,
		 "POST /api/items HTTP/1.1\r\nHost: example.test\r\n"
		 "content-length:  11 \r\nContent-Type: application/json\r\n"
		 "\r\n{\"id\": 42}\n", &c);
	feed_str(p, DIR_RECV, 40,
		 "HTTP/1.0 201 Created Just Now\r\nContent-Length: 0\r\n\r\n",
		 &c);
	CHECK_EQ_INT(c.n, 4);

	m = msg(&c, 0);
	CHECK_EQ_INT(m->kind, HTTP_REQUEST);
	CHECK_EQ_INT(c.v[0].r.dir, DIR_SEND);
	CHECK_EQ_INT(c.v[0].r.proto, PROTO_HTTP);
	CHECK(c.v[0].r.conn == NULL);
	CHECK_EQ_INT(c.v[0].r.ts_ns, 10);
	CHECK_SLICE(m->method, "GET");
	CHECK_SLICE(m->path, "/index.html?q=1");
	CHECK_SLICE(m->version, "HTTP/1.1");
	CHECK_EQ_INT(m->n_headers, 4);
	CHECK_SLICE(m->headers[0].name, "Host");
	CHECK_SLICE(m->headers[0].value, "example.test");
	CHECK_SLICE(m->headers[1].name, "X-Spaced");
	CHECK_SLICE(m->headers[1].value, "padded value");
	CHECK_SLICE(m->headers[2].name, "x-lower");
	CHECK_SLICE(m->headers[3].value, "");
	CHECK_EQ_INT(m->body_size, 0);
	CHECK_EQ_INT(m->body.len, 0);
	CHECK(!m->truncated && !m->chunked);

	m = msg(&c, 1);
	CHECK_EQ_INT(m->kind, HTTP_RESPONSE);
	CHECK_EQ_INT(c.v[1].r.dir, DIR_RECV);
	CHECK_EQ_INT(c.v[1].r.ts_ns, 20);
	CHECK_EQ_INT(m->status, 200);
	CHECK_SLICE(m->reason, "OK");
	CHECK_SLICE(m->body, "hello");
	CHECK_EQ_INT(m->body_size, 5);

	m = msg(&c, 2);
	CHECK_SLICE(m->method, "POST");
	CHECK_SLICE(hdr(m, "Content-Length"), "11");
	CHECK_SLICE(m->headers[1].name, "content-length");
	CHECK_SLICE(m->body, "{\"id\": 42}\n");
	CHECK_EQ_INT(m->body_size, 11);
	CHECK(!m->truncated);

	m = msg(&c, 3);
	CHECK_SLICE(m->version, "HTTP/1.0");
	CHECK_EQ_INT(m->status, 201);
	CHECK_SLICE(m->reason, "Created Just Now");
	CHECK_EQ_INT(m->body_size, 0);

	CHECK_EQ_INT(http_parser_stats(p)->messages, 4);
	CHECK_EQ_INT(http_parser_stats(p)->errors, 0);
	coll_free(&c);
	http_parser_free(p);
}

static void test_keepalive(void)
{
	struct conv cv = conv_load("nginx_keepalive");
	struct coll c = run_conv(&cv, CLIENT, 0, 1u << 30, 4096, false);
	const struct http_msg *m;

	CHECK_EQ_INT(c.n, 6);
	CHECK_SLICE(msg(&c, 0)->path, "/a.txt");
	CHECK_SLICE(hdr(msg(&c, 0), "user-agent"), "curl/7.88.1");
	CHECK_SLICE(msg(&c, 1)->path, "/b.txt");
	m = msg(&c, 2);
	CHECK_SLICE(m->method, "POST");
	CHECK_SLICE(m->body, "name=msgscope&x=1");
	CHECK_EQ_INT(m->body_size, 17);
	m = msg(&c, 3);
	CHECK_EQ_INT(m->kind, HTTP_RESPONSE);
	CHECK_EQ_INT(m->status, 200);
	CHECK_SLICE(m->body, "alpha file\n");
	CHECK_SLICE(hdr(m, "etag"), "\"6b021d09-b\"");
	CHECK_SLICE(msg(&c, 4)->body, "bravo file, a bit longer\n");
	CHECK_SLICE(msg(&c, 5)->body, "ok\n");
	CHECK_EQ_INT(msg(&c, 5)->n_headers, 5);
	for (size_t i = 0; i < c.n; i++)
		CHECK(!c.v[i].r.http.truncated && !c.v[i].r.http.chunked);
	check_all_splits(&cv, 4096, false, &c);
	coll_free(&c);
	conv_free(&cv);
}

static void test_pipelined(void)
{
	struct conv cv = conv_load("nginx_pipelined");
	struct coll c = { 0 };
	struct http_parser *p = http_parser_new(4096, true);

	/* Exactly as captured: three requests in one write, then three
	 * responses in one read; the HEAD answer carries a length only. */
	http_parser_feed(p, DIR_SEND, 1, cv.req.p, cv.req.len, on_rec, &c);
	CHECK_EQ_INT(c.n, 3);
	http_parser_feed(p, DIR_RECV, 2, cv.resp.p, cv.resp.len, on_rec, &c);
	CHECK_EQ_INT(c.n, 6);
	CHECK_SLICE(msg(&c, 0)->method, "GET");
	CHECK_SLICE(msg(&c, 1)->method, "HEAD");
	CHECK_SLICE(msg(&c, 2)->path, "/c.txt");
	CHECK_SLICE(msg(&c, 3)->body, "alpha file\n");
	CHECK_SLICE(hdr(msg(&c, 4), "Content-Length"), "25");
	CHECK_EQ_INT(msg(&c, 4)->body_size, 0);
	CHECK_EQ_INT(msg(&c, 4)->body.len, 0);
	CHECK(!msg(&c, 4)->truncated);
	CHECK_SLICE(msg(&c, 5)->body, "charlie\n");
	CHECK_SLICE(hdr(msg(&c, 5), "Connection"), "close");
	CHECK_EQ_INT(http_parser_stats(p)->errors, 0);
	http_parser_free(p);
	check_all_splits(&cv, 4096, true, &c);
	coll_free(&c);
	conv_free(&cv);
}

static struct buf buf_of(const char *s)
{
	struct buf b = { (uint8_t *)strdup(s), strlen(s) };

	if (!b.p)
		abort();
	return b;
}

/*
 * Heads that repeat the one before on their direction are taken whole
 * (head_again()); byte by byte they never are. Either way the same
 * records: a repeated request; the same response head answering HEAD
 * (no body) and then GET (a body); a folded head twice (never kept, its
 * lines were joined in place); a head that repeats the last one up to a
 * line more; a chunked response head again, answering HEAD (no body, not
 * chunked).
 */
static void test_head_again(void)
{
	struct conv cv = {
		.name = "head_again",
		.req = buf_of("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
			      "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
			      "HEAD /a HTTP/1.1\r\nHost: h\r\n\r\n"
			      "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
			      "GET /f HTTP/1.1\r\nX: a\r\n b\r\n\r\n"
			      "GET /f HTTP/1.1\r\nX: a\r\n b\r\n\r\n"
			      "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
			      "GET /a HTTP/1.1\r\nHost: h\r\nY: 1\r\n\r\n"
			      "GET /c HTTP/1.1\r\n\r\n"
			      "HEAD /c HTTP/1.1\r\n\r\n"),
		.resp = buf_of("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
			       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
			       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
			       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
			       "HTTP/1.1 204 No Content\r\n\r\n"
			       "HTTP/1.1 204 No Content\r\n\r\n"
			       "HTTP/1.1 204 No Content\r\n\r\n"
			       "HTTP/1.1 204 No Content\r\n\r\n"
			       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			       "2\r\nok\r\n0\r\n\r\n"
			       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
	};
	struct coll c = run_conv(&cv, CLIENT, 0, 1u << 30, 4096, false);

	CHECK_EQ_INT(c.n, 20);
	CHECK_SLICE(msg(&c, 2)->method, "HEAD");
	CHECK_EQ_INT(msg(&c, 12)->body_size, 0); /* the answer to HEAD */
	CHECK_SLICE(msg(&c, 13)->body, "ok");
	CHECK_SLICE(hdr(msg(&c, 4), "X"), "a   b");
	CHECK_SLICE(hdr(msg(&c, 5), "X"), "a   b");
	CHECK_SLICE(hdr(msg(&c, 7), "Y"), "1");
	CHECK_EQ_INT(msg(&c, 7)->n_headers, 2);
	CHECK(msg(&c, 18)->chunked && !msg(&c, 19)->chunked);
	CHECK_SLICE(msg(&c, 18)->body, "ok");
	CHECK_EQ_INT(msg(&c, 19)->body_size, 0);
	check_all_splits(&cv, 4096, false, &c);
	coll_free(&c);
	conv_free(&cv);
}

/* `requests` sent, then s twice on dir, at times 1 and 2: the
 * records of the two s, and the parser's counters in *st. */
static struct coll fed_twice(const char *requests, enum direction dir,
			     const char *s, struct http_parser_stats *st)
{
	struct http_parser *p = http_parser_new(4096, true);
	struct coll all = { 0 }, c = { 0 };

	if (requests)
		feed_str(p, DIR_SEND, 0, requests, &all);
	feed_str(p, dir, 1, s, &c);
	feed_str(p, dir, 2, s, &c);
	*st = *http_parser_stats(p);
	http_parser_free(p);
	coll_free(&all);
	return c;
}

/* A repeated head is stamped with its own feed's time; its headers past
 * the record's slots are counted each time; one whose framing failed is
 * not taken again (the same bytes fail the same way, after a rescan). */
static void test_head_again_counted(void)
{
	const char *bad = "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n";
	char many[1024] = "GET /m HTTP/1.1\r\n";
	struct http_parser_stats st;
	struct coll c;

	c = fed_twice(NULL, DIR_SEND, "GET / HTTP/1.1\r\n\r\n", &st);
	CHECK(c.n == 2 && c.v[0].r.ts_ns == 1 && c.v[1].r.ts_ns == 2);
	coll_free(&c);
	for (int i = 0; i <= HTTP_MAX_HEADERS; i++)
		strcat(many, "A: b\r\n");
	strcat(many, "\r\n");
	c = fed_twice(NULL, DIR_SEND, many, &st);
	CHECK_EQ_INT(c.n, 2);
	CHECK_EQ_INT(st.headers_dropped, 2);
	coll_free(&c);
	c = fed_twice("GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n", DIR_RECV, bad, &st);
	CHECK_EQ_INT(c.n, 0);
	CHECK_EQ_INT(st.errors, 2);
	coll_free(&c);
}

static void test_head_304_204(void)
{
	struct conv cv = conv_load("nginx_head_304_204");
	struct coll c = run_conv(&cv, CLIENT, 0, 1u << 30, 4096, false);

	CHECK_EQ_INT(c.n, 6);
	CHECK_SLICE(msg(&c, 0)->method, "HEAD");
	CHECK_SLICE(hdr(msg(&c, 1), "If-Modified-Since"),
		    "Sat, 21 Nov 2099 00:00:00 GMT");
	CHECK_EQ_INT(msg(&c, 3)->status, 200);
	CHECK_SLICE(hdr(msg(&c, 3), "Content-Length"), "11");
	CHECK_EQ_INT(msg(&c, 3)->body_size, 0);
	/* nginx ignores a future If-Modified-Since: a full 200 */
	CHECK_EQ_INT(msg(&c, 4)->status, 200);
	CHECK_SLICE(msg(&c, 4)->body, "alpha file\n");
	CHECK_EQ_INT(msg(&c, 5)->status, 204);
	CHECK_SLICE(msg(&c, 5)->reason, "No Content");
	CHECK_EQ_INT(msg(&c, 5)->body_size, 0);
	check_all_splits(&cv, 4096, false, &c);
	coll_free(&c);
	conv_free(&cv);
}

static void test_no_body_statuses(void)
{
	struct http_parser *p = http_parser_new(4096, true);
	struct coll c = { 0 };

	/* 304 and 204 carry no body whatever their headers say; 1xx are
	 * interim and do not use up the request they answer. */
	feed_str(p, DIR_SEND, 1, "GET /x HTTP/1.1\r\n\r\n"
		 "HEAD /y HTTP/1.1\r\n\r\n"
		 "PUT /z HTTP/1.1\r\nExpect: 100-continue\r\n"
		 "Content-Length: 3\r\n\r\nabc", &c);
	feed_str(p, DIR_RECV, 2,
		 "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"
		 "HTTP/1.1 100 Continue\r\n\r\n"
		 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		 "HTTP/1.1 100 Continue\r\n\r\n"
		 "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n"
		 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", &c);
	CHECK_EQ_INT(c.n, 9);
	CHECK_EQ_INT(msg(&c, 3)->status, 304);
	CHECK_EQ_INT(msg(&c, 3)->body_size, 0);
	CHECK_EQ_INT(msg(&c, 4)->status, 100);
	/* the HEAD answer: chunked announced, no body follows */
	CHECK_EQ_INT(msg(&c, 5)->status, 200);
	CHECK_EQ_INT(msg(&c, 5)->body_size, 0);
	CHECK(!msg(&c, 5)->chunked);
	CHECK_EQ_INT(msg(&c, 7)->status, 204);
	CHECK_EQ_INT(msg(&c, 7)->body_size, 0);
	/* a response with no request left: not HEAD, so it has a body */
	CHECK_SLICE(msg(&c, 8)->body, "hi");
	CHECK_EQ_INT(http_parser_stats(p)->errors, 0);
	coll_free(&c);
	http_parser_free(p);
}

static void test_chunked_and_close(void)
{
	struct conv cv = conv_load("python_chunked_close");
	struct coll c = { 0 };
	struct http_parser *p = http_parser_new(4096, true);
	const struct http_msg *m;

	http_parser_feed(p, DIR_SEND, 1, cv.req.p, cv.req.len, on_rec, &c);
	http_parser_feed(p, DIR_RECV, 2, cv.resp.p, cv.resp.len, on_rec, &c);
	/* the last response is delimited by the close alone */
	CHECK_EQ_INT(c.n, 5);
	http_parser_close(p, 3, on_rec, &c);
	CHECK_EQ_INT(c.n, 6);
	http_parser_feed(p, DIR_RECV, 4, cv.resp.p, cv.resp.len, on_rec, &c);
	CHECK_EQ_INT(c.n, 6); /* closed: nothing more */
	http_parser_free(p);

	m = msg(&c, 1);
	CHECK_SLICE(m->method, "POST");
	CHECK(m->chunked);
	CHECK_SLICE(m->body, "upload body line one\nupload body line two\n");
	CHECK_EQ_INT(m->body_size, 42);
	m = msg(&c, 3);
	CHECK_EQ_INT(m->status, 200);
	CHECK(m->chunked && !m->truncated);
	CHECK_SLICE(m->body, "Hello, chunked world!\n");
	CHECK_EQ_INT(m->body_size, 22);
	CHECK_SLICE(hdr(m, "Trailer"), "X-Checksum");
	CHECK_SLICE(hdr(m, "X-Checksum"), "(none)"); /* trailers skipped */
	CHECK_EQ_INT(msg(&c, 4)->status, 201);
	CHECK_SLICE(msg(&c, 4)->body, "got 42 bytes\n");
	m = msg(&c, 5);
	CHECK_SLICE(m->body, "until the connection closes\n");
	CHECK_EQ_INT(m->body_size, 28);
	CHECK(!m->truncated && !m->chunked);
	check_all_splits(&cv, 4096, true, &c);
	coll_free(&c);

	/* body_keep smaller than the de-chunked body */
	c = run_conv(&cv, CLIENT, 0, 5, 9, true);
	CHECK_EQ_INT(c.n, 6);
	CHECK_SLICE(msg(&c, 3)->body, "Hello, ch");
	CHECK_EQ_INT(msg(&c, 3)->body_size, 22);
	CHECK(msg(&c, 3)->truncated);
	CHECK_SLICE(msg(&c, 4)->body, "got 42 by");
	coll_free(&c);
	conv_free(&cv);
}

static void test_gzip_chunked(void)
{
	struct conv cv = conv_load("nginx_gzip_chunked");
	struct coll c = run_conv(&cv, CLIENT, 0, 1u << 30, 65536, false);
	const struct http_msg *m = msg(&c, 2);

	CHECK_EQ_INT(c.n, 4);
	CHECK(m->chunked && !m->truncated);
	CHECK_SLICE(hdr(m, "Content-Encoding"), "gzip");
	CHECK_EQ_INT(m->body_size, m->body.len);
	CHECK(m->body.len > 100 && m->body.len < cv.resp.len);
	CHECK(m->body.len >= 2 && !memcmp(m->body.ptr, "\x1f\x8b", 2));
	CHECK_SLICE(msg(&c, 3)->body, "charlie\n");
	check_all_splits(&cv, 65536, false, &c);
	coll_free(&c);
	conv_free(&cv);
}

static struct coll feed_steps(const char *s, size_t n, size_t step)
{
	struct http_parser *p = http_parser_new(4096, true);
	struct coll c = { 0 };

	for (size_t off = 0; off < n; off += step) {
		size_t k = n - off < step ? n - off : step;

		http_parser_feed(p, DIR_RECV, 5, (const uint8_t *)s + off, k,
				 on_rec, &c);
	}
	CHECK_EQ_INT(http_parser_stats(p)->errors, 0);
	http_parser_free(p);
	return c;
}

static void test_chunk_details(void)
{
	static const char resp[] =
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
		"4 ; name=\"quoted;value\"\r\nWiki\r\n"
		"5;a;b=c\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
		"0;last\r\nExpires: never\r\nX-Sum: 1\r\n\r\n"
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nZ";
	size_t n = sizeof(resp) - 1;
	struct coll whole = feed_steps(resp, n, n);
	size_t bad = 0;

	CHECK_EQ_INT(whole.n, 2);
	CHECK_SLICE(msg(&whole, 0)->body, "Wikipedia in\r\n\r\nchunks.");
	CHECK_EQ_INT(msg(&whole, 0)->body_size, 23);
	CHECK(msg(&whole, 0)->chunked && !msg(&whole, 0)->truncated);
	CHECK_SLICE(msg(&whole, 1)->body, "Z");
	for (size_t step = 1; step < n; step++) {
		struct coll c = feed_steps(resp, n, step);

		if (!same_texts(&c, &whole) && !bad++)
			CHECK_MSG(0, "chunk details: step %zu differs", step);
		coll_free(&c);
	}
	CHECK_EQ_INT(bad, 0);
	coll_free(&whole);
}

static void test_big_body_gap(void)
{
	struct buf req = load("nginx_big.req.bin");
	struct buf pre = load("nginx_big.resp.prefix.bin");
	struct buf tail = load("nginx_big.resp.tail.bin");
	const uint64_t big = 1u << 20;
	size_t head = pre.len - 4096;

	if (pre.len < 4096 || !req.p || !tail.p)
		goto out;

	for (int mode = 0; mode < 3; mode++) {
		struct http_parser *p = http_parser_new(4096, true);
		struct coll c = { 0 };
		const struct http_msg *m;

		http_parser_feed(p, DIR_SEND, 1, req.p, req.len, on_rec, &c);
		if (mode == 0) {
			/* the kernel kept a 4 KiB prefix of the body */
			http_parser_feed(p, DIR_RECV, 2, pre.p, pre.len, on_rec,
					 &c);
			http_parser_gap(p, DIR_RECV, 3, big - 4096, on_rec, &c);
		} else if (mode == 1) {
			/* headers by write, the body by sendfile: nothing */
			http_parser_feed(p, DIR_RECV, 2, pre.p, head, on_rec,
					 &c);
			http_parser_gap(p, DIR_RECV, 3, big, on_rec, &c);
		} else {
			/* prefix, then the gap in two parts */
			http_parser_feed(p, DIR_RECV, 2, pre.p, pre.len, on_rec,
					 &c);
			http_parser_gap(p, DIR_RECV, 3, 1000, on_rec, &c);
			CHECK_EQ_INT(c.n, 2);
			http_parser_gap(p, DIR_RECV, 3, big - 5096, on_rec, &c);
		}
		CHECK_EQ_INT(c.n, 3);
		http_parser_feed(p, DIR_RECV, 4, tail.p, tail.len, on_rec, &c);
		CHECK_EQ_INT(c.n, 4);
		m = msg(&c, 2);
		CHECK_EQ_INT(m->status, 200);
		CHECK_EQ_INT(m->body_size, big);
		CHECK(m->truncated);
		CHECK_EQ_INT(c.v[2].r.ts_ns, 2);
		if (mode != 1) {
			CHECK_EQ_INT(m->body.len, 4096);
			CHECK(m->body.len == 4096 &&
			      !memcmp(m->body.ptr, pre.p + head, 4096));
		} else {
			CHECK_EQ_INT(m->body.len, 0);
		}
		m = msg(&c, 3);
		CHECK_EQ_INT(m->status, 200);
		CHECK_SLICE(m->body, "alpha file\n");
		CHECK(!m->truncated);
		CHECK_EQ_INT(c.v[3].r.ts_ns, 4);
		CHECK_EQ_INT(http_parser_stats(p)->errors, 0);
		CHECK_EQ_INT(http_parser_stats(p)->resyncs, 0);
		CHECK_EQ_INT(http_parser_stats(p)->gap_bytes,
			     mode == 1 ? big : big - 4096);
		CHECK(http_parser_memory(p) < 2 * (HTTP_HEAD_MAX + 4096) +
						      16 * 1024);
		http_parser_free(p);
		coll_free(&c);
	}
out:
	free(req.p);
	free(pre.p);
	free(tail.p);
}

/* Offset of the n-th (0-based) "HTTP/1." at a line start in b. */
static size_t nth_status(const struct buf *b, int n)
{
	for (size_t i = 0; i + 7 <= b->len; i++)
		if ((i == 0 || b->p[i - 1] == '\n') &&
		    !memcmp(b->p + i, "HTTP/1.", 7) && n-- == 0)
			return i;
	return b->len;
}

static void test_gap_in_headers(void)
{
	struct conv cv = conv_load("nginx_keepalive");
	size_t r2 = nth_status(&cv.resp, 1), r3 = nth_status(&cv.resp, 2);

	/* (a) the gap ends where the second response starts */
	for (int mode = 0; mode < 2; mode++) {
		struct http_parser *p = http_parser_new(4096, true);
		struct coll c = { 0 };
		size_t resume = mode == 0 ? r2 : r2 + 10;
		const struct http_parser_stats *st = http_parser_stats(p);

		http_parser_feed(p, DIR_SEND, 1, cv.req.p, cv.req.len, on_rec,
				 &c);
		http_parser_feed(p, DIR_RECV, 2, cv.resp.p, 50, on_rec, &c);
		http_parser_gap(p, DIR_RECV, 3, resume - 50, on_rec, &c);
		http_parser_feed(p, DIR_RECV, 4, cv.resp.p + resume,
				 cv.resp.len - resume, on_rec, &c);
		CHECK_EQ_INT(c.n, mode == 0 ? 5 : 4);
		CHECK_EQ_INT(st->resyncs, 1);
		CHECK_EQ_INT(st->errors, 0);
		CHECK_EQ_INT(st->gap_bytes, resume - 50);
		if (mode == 0) {
			CHECK_SLICE(msg(&c, 3)->body,
				    "bravo file, a bit longer\n");
			CHECK_SLICE(msg(&c, 4)->body, "ok\n");
			CHECK_EQ_INT(st->bytes_skipped, 50);
		} else {
			/* the rest of response 2 is scanned past */
			CHECK_SLICE(msg(&c, 3)->body, "ok\n");
			CHECK_EQ_INT(st->bytes_skipped, 50 + r3 - resume);
		}
		http_parser_free(p);
		coll_free(&c);
	}

	/* (b) a gap between messages also loses sync */
	{
		struct http_parser *p = http_parser_new(4096, true);
		struct coll c = { 0 };

		http_parser_feed(p, DIR_RECV, 2, cv.resp.p, r2, on_rec, &c);
		http_parser_gap(p, DIR_RECV, 3, 20, on_rec, &c);
		http_parser_feed(p, DIR_RECV, 4, cv.resp.p + r2 + 20,
				 cv.resp.len - r2 - 20, on_rec, &c);
		CHECK_EQ_INT(c.n, 2);
		CHECK_SLICE(msg(&c, 1)->body, "ok\n");
		CHECK_EQ_INT(http_parser_stats(p)->resyncs, 1);
		http_parser_free(p);
		coll_free(&c);
	}
	conv_free(&cv);
}

static void test_chunk_gaps(void)
{
	const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	const char *next = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	struct http_parser *p = http_parser_new(4096, true);
	struct coll c = { 0 };

	/* a gap inside chunk data: body, truncated, in sync */
	feed_str(p, DIR_RECV, 1, head, &c);
	feed_str(p, DIR_RECV, 1, "a\r\n0123", &c);
	http_parser_gap(p, DIR_RECV, 1, 3, on_rec, &c);
	feed_str(p, DIR_RECV, 1, "789\r\n3\r\nabc\r\n0\r\n\r\n", &c);
	feed_str(p, DIR_RECV, 2, next, &c);
	CHECK_EQ_INT(c.n, 2);
	CHECK_SLICE(msg(&c, 0)->body, "0123");
	CHECK_EQ_INT(msg(&c, 0)->body_size, 13);
	CHECK(msg(&c, 0)->truncated && msg(&c, 0)->chunked);
	CHECK_SLICE(msg(&c, 1)->body, "ok");
	CHECK_EQ_INT(http_parser_stats(p)->resyncs, 0);

	/* a gap covering the rest of a chunk and its CRLF: still in sync */
	feed_str(p, DIR_RECV, 3, head, &c);
	feed_str(p, DIR_RECV, 3, "4\r\nab", &c);
	http_parser_gap(p, DIR_RECV, 3, 4, on_rec, &c);
	feed_str(p, DIR_RECV, 3, "0\r\n\r\n", &c);
	CHECK_EQ_INT(c.n, 3);
	CHECK_EQ_INT(msg(&c, 2)->body_size, 4);
	CHECK_EQ_INT(http_parser_stats(p)->resyncs, 0);

	/* a gap in a chunk-size line: what we have, truncated; resync */
	feed_str(p, DIR_RECV, 4, head, &c);
	feed_str(p, DIR_RECV, 4, "5\r\nhello\r\n1", &c);
	http_parser_gap(p, DIR_RECV, 4, 7, on_rec, &c);
	CHECK_EQ_INT(c.n, 4);
	CHECK_SLICE(msg(&c, 3)->body, "hello");
	CHECK(msg(&c, 3)->truncated);
	feed_str(p, DIR_RECV, 5, "x\r\n0\r\n\r\n", &c);
	feed_str(p, DIR_RECV, 6, next, &c);
	CHECK_EQ_INT(c.n, 5);
	CHECK_SLICE(msg(&c, 4)->body, "ok");
	CHECK_EQ_INT(c.v[4].r.ts_ns, 6);
	CHECK_EQ_INT(http_parser_stats(p)->resyncs, 1);
	CHECK_EQ_INT(http_parser_stats(p)->errors, 0);

	/* a gap in a close-delimited body */
	feed_str(p, DIR_RECV, 7, "HTTP/1.0 200 OK\r\n\r\nabc", &c);
	http_parser_gap(p, DIR_RECV, 8, 100, on_rec, &c);
	feed_str(p, DIR_RECV, 9, "xyz", &c);
	http_parser_close(p, 10, on_rec, &c);
	CHECK_EQ_INT(c.n, 6);
	CHECK_SLICE(msg(&c, 5)->body, "abc");
	CHECK_EQ_INT(msg(&c, 5)->body_size, 106);
	CHECK(msg(&c, 5)->truncated);
	coll_free(&c);
	http_parser_free(p);
}

/* xorshift: deterministic garbage without global state */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void test_garbage(void)
{
	static const char *const pieces[] = {
		"GET ", "HTTP/1.", "\r\n", "\n", ": ", "Content-Length: ",
		"\0", "\x01\x02", "GET / HTTP/1.1\r\nHost: \x7f\r\n",
		"HTTP/1.1 999", "HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
		"GET /\r\n\r\n", "GET  HTTP/1.1\r\n\r\n",
	};
	const size_t n_pieces = sizeof(pieces) / sizeof(pieces[0]);
	uint32_t seed = 12345;
	size_t total = 0;

	for (int round = 0; round < 200; round++) {
		uint8_t buf[4096];
		size_t n = 0;
		struct coll c = { 0 };
		struct http_parser *p = http_parser_new(64, round & 1);

		while (n < sizeof(buf) - 64) {
			uint32_t r = rnd(&seed);

			if (r % 4) {
				buf[n++] = (uint8_t)(r >> 8);
			} else {
				const char *s = pieces[(r >> 8) % n_pieces];
				size_t k = *s ? strlen(s) : 1;

				memcpy(buf + n, s, k);
				n += k;
			}
		}
		for (size_t off = 0; off < n;) {
			size_t k = 1 + rnd(&seed) % 300;

			if (k > n - off)
				k = n - off;
			http_parser_feed(p, round & 2 ? DIR_SEND : DIR_RECV, 1,
					 buf + off, k, on_rec, &c);
			off += k;
		}
		http_parser_close(p, 2, on_rec, &c);
		total += c.n;
		if (round & 1) /* synced: the garbage is an error */
			CHECK(http_parser_stats(p)->errors > 0);
		coll_free(&c);
		http_parser_free(p);
	}
	CHECK_EQ_INT(total, 0);

	/* pure binary, synced: errors, not a single record */
	{
		struct http_parser *p = http_parser_new(64, true);
		struct coll c = { 0 };
		uint8_t bin[1024];

		for (size_t i = 0; i < sizeof(bin); i++)
			bin[i] = (uint8_t)rnd(&seed);
		http_parser_feed(p, DIR_SEND, 1, bin, sizeof(bin), on_rec, &c);
		http_parser_feed(p, DIR_RECV, 1, bin, sizeof(bin), on_rec, &c);
		http_parser_gap(p, DIR_RECV, 1, 77, on_rec, &c);
		http_parser_close(p, 1, on_rec, &c);
		CHECK_EQ_INT(c.n, 0);
		CHECK_EQ_INT(http_parser_stats(p)->errors, 2);
		CHECK(http_parser_stats(p)->bytes_skipped >= sizeof(bin));
		coll_free(&c);
		http_parser_free(p);
	}
}

/* Real streams with random damage: no crash, only well-formed records. */
static void test_mutated_streams(void)
{
	static const char *const names[] = {
		"nginx_keepalive", "nginx_pipelined", "nginx_gzip_chunked",
		"python_chunked_close", "nginx_head_304_204",
	};
	uint32_t seed = 99;

	for (size_t ni = 0; ni < sizeof(names) / sizeof(names[0]); ni++) {
		struct conv cv = conv_load(names[ni]);

		for (int round = 0; round < 150; round++) {
			struct http_parser *p = http_parser_new(256, round & 1);
			struct coll c = { 0 };
			struct buf *b[2] = { &cv.req, &cv.resp };

			for (int d = 0; d < 2; d++) {
				uint8_t *m = malloc(b[d]->len + 1);
				size_t off = 0;

				if (!m)
					abort();
				memcpy(m, b[d]->p, b[d]->len);
				for (int k = 0; k < 1 + round % 5; k++)
					m[rnd(&seed) % b[d]->len] =
						(uint8_t)rnd(&seed);
				while (off < b[d]->len) {
					size_t k = 1 + rnd(&seed) % 64;

					if (k > b[d]->len - off)
						k = b[d]->len - off;
					if (rnd(&seed) % 16 == 0)
						http_parser_gap(p, d, 1, k,
								on_rec, &c);
					else
						http_parser_feed(p, d, 1,
								 m + off, k,
								 on_rec, &c);
					off += k;
				}
				free(m);
			}
			http_parser_close(p, 2, on_rec, &c);
			for (size_t i = 0; i < c.n; i++) {
				const struct http_msg *m = &c.v[i].r.http;

				CHECK(c.v[i].r.proto == PROTO_HTTP);
				CHECK(m->kind == HTTP_REQUEST ||
				      m->kind == HTTP_RESPONSE);
				CHECK(m->body.len <= 256);
				CHECK(m->body.len <= m->body_size);
				CHECK(m->n_headers >= 0 &&
				      m->n_headers <= HTTP_MAX_HEADERS);
				CHECK(m->version.len == 8);
			}
			CHECK(http_parser_memory(p) <=
			      2 * (HTTP_HEAD_MAX + 256) + 16 * 1024);
			coll_free(&c);
			http_parser_free(p);
		}
		conv_free(&cv);
	}
}

static void test_unsynced(void)
{
	struct conv cv = conv_load("nginx_keepalive");
	size_t r2 = nth_status(&cv.resp, 1);
	size_t body1 = r2 - strlen("alpha file\n");
	const size_t starts[] = { 0, body1 + 3, 7, r2 };
	const size_t want[] = { 3, 2, 2, 2 };

	for (size_t i = 0; i < 4; i++) {
		/* split the joined stream at every position too */
		for (size_t k = starts[i]; k <= cv.resp.len; k += 13) {
			struct http_parser *p = http_parser_new(4096, false);
			struct coll c = { 0 };

			http_parser_feed(p, DIR_RECV, 1, cv.resp.p + starts[i],
					 k - starts[i], on_rec, &c);
			http_parser_feed(p, DIR_RECV, 2, cv.resp.p + k,
					 cv.resp.len - k, on_rec, &c);
			CHECK_MSG(c.n == want[i], "start %zu split %zu: %zu",
				  starts[i], k, c.n);
			CHECK_SLICE(msg(&c, c.n - 1)->body, "ok\n");
			CHECK_EQ_INT(http_parser_stats(p)->errors, 0);
			http_parser_free(p);
			coll_free(&c);
		}
	}

	/* joined mid-body of a request; the request direction tells the
	 * response direction which kind to look for */
	{
		struct http_parser *p = http_parser_new(4096, false);
		struct coll c = { 0 };

		feed_str(p, DIR_RECV, 1, "ody of something\r\nGET /not a "
			 "request\r\nGET /real HTTP/1.1\r\nHost: h\r\n\r\n",
			 &c);
		feed_str(p, DIR_SEND, 2, "more body\nGET /fake HTTP/1.1\r\n"
			 "\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &c);
		CHECK_EQ_INT(c.n, 2);
		CHECK_SLICE(msg(&c, 0)->path, "/real");
		CHECK_EQ_INT(msg(&c, 1)->status, 200);
		CHECK_EQ_INT(c.v[1].r.dir, DIR_SEND);
		http_parser_free(p);
		coll_free(&c);
	}

	/* what follows a gap may start a message, even while scanning */
	{
		struct http_parser *p = http_parser_new(4096, false);
		struct coll c = { 0 };

		feed_str(p, DIR_RECV, 1, "tail of a body, no newline", &c);
		http_parser_gap(p, DIR_RECV, 2, 1000, on_rec, &c);
		feed_str(p, DIR_RECV, 3, "HTTP/1.1 204 No Content\r\n\r\n", &c);
		CHECK_EQ_INT(c.n, 1);
		CHECK_EQ_INT(msg(&c, 0)->status, 204);
		CHECK_EQ_INT(c.v[0].r.ts_ns, 3);
		CHECK_EQ_INT(http_parser_stats(p)->bytes_skipped, 26);
		CHECK_EQ_INT(http_parser_stats(p)->resyncs, 0);
		http_parser_free(p);
		coll_free(&c);
	}
	conv_free(&cv);
}

static void test_tunnels(void)
{
	struct http_parser *p = http_parser_new(4096, true);
	struct coll c = { 0 };

	feed_str(p, DIR_SEND, 1, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n"
		 "Connection: Upgrade\r\n\r\n", &c);
	feed_str(p, DIR_RECV, 2, "HTTP/1.1 101 Switching Protocols\r\n"
		 "Upgrade: websocket\r\n\r\n\x81\x05hello", &c);
	feed_str(p, DIR_SEND, 3, "\x81\x85XXXXGET / HTTP/1.1\r\n\r\n", &c);
	feed_str(p, DIR_RECV, 3, "HTTP/1.1 200 OK\r\n\r\n", &c);
	CHECK_EQ_INT(c.n, 2);
	CHECK_EQ_INT(msg(&c, 1)->status, 101);
	CHECK_EQ_INT(http_parser_stats(p)->upgrades, 1);
	CHECK_EQ_INT(http_parser_stats(p)->errors, 0);
	http_parser_free(p);
	coll_free(&c);

	/* CONNECT: a 2xx makes a tunnel; a refusal does not */
	p = http_parser_new(4096, true);
	feed_str(p, DIR_RECV, 1, "CONNECT a.test:443 HTTP/1.1\r\n"
		 "Host: a.test:443\r\n\r\n", &c);
	feed_str(p, DIR_SEND, 2, "HTTP/1.1 407 Proxy Auth\r\n"
		 "Content-Length: 2\r\n\r\nno", &c);
	feed_str(p, DIR_RECV, 3, "CONNECT a.test:443 HTTP/1.1\r\n\r\n", &c);
	feed_str(p, DIR_SEND, 4, "HTTP/1.1 200 Connection established\r\n"
		 "Content-Length: 2\r\n\r\n\x16\x03\x01", &c);
	feed_str(p, DIR_RECV, 5, "\x16\x03\x01\x02\x00", &c);
	CHECK_EQ_INT(c.n, 4);
	CHECK_SLICE(msg(&c, 0)->path, "a.test:443");
	CHECK_SLICE(msg(&c, 1)->body, "no");
	CHECK_EQ_INT(msg(&c, 3)->body_size, 0);
	CHECK_EQ_INT(http_parser_stats(p)->upgrades, 1);
	CHECK_EQ_INT(http_parser_stats(p)->errors, 0);
	http_parser_free(p);
	coll_free(&c);
}

static void test_headers(void)
{
	struct http_parser *p = http_parser_new(4096, true);
	struct coll c = { 0 };
	struct sbuf b = { 0 };
	const struct http_msg *m;

	/* more than HTTP_MAX_HEADERS: extra ones dropped but still obeyed */
	sb_str(&b, "POST /many HTTP/1.1\r\n");
	for (int i = 0; i < HTTP_MAX_HEADERS + 6; i++)
		sb_num(&b, "X-H%llu: v\r\n", (unsigned long long)i);
	sb_str(&b, "CONTENT-LENGTH: 4\r\n\r\nbodyGET /next HTTP/1.1\r\n\r\n");
	feed_str(p, DIR_SEND, 1, b.s, &c);
	CHECK_EQ_INT(c.n, 2);
	m = msg(&c, 0);
	CHECK_EQ_INT(m->n_headers, HTTP_MAX_HEADERS);
	CHECK_SLICE(m->body, "body");
	CHECK_EQ_INT(http_parser_stats(p)->headers_dropped, 7);
	CHECK_SLICE(msg(&c, 1)->path, "/next");
	coll_free(&c);
	free(b.s);

	/* obs-fold joins lines; bare LF line ends are accepted */
	feed_str(p, DIR_SEND, 2, "GET /fold HTTP/1.1\nX-Long: part one\n"
		 "\t part two\r\nHost:h\n\n", &c);
	CHECK_EQ_INT(c.n, 1);
	CHECK_SLICE(msg(&c, 0)->headers[0].value, "part one \t part two");
	CHECK_SLICE(msg(&c, 0)->headers[1].value, "h");
	CHECK_EQ_INT(http_parser_stats(p)->errors, 0);
	coll_free(&c);
	http_parser_free(p);
}

/* Each case is followed by a good message that must come through. */
static void test_malformed(void)
{
#define S(x) { x, sizeof(x) - 1 }
	static const struct {
		const char *s;
		size_t len;
	} bad_resp[] = {
		S("HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
		  "Content-Length: 4\r\n\r\n"),
		S("HTTP/1.1 2000 OK\r\n\r\n"),
		S("HTTP/1.1 099 Low\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\n  folded first\r\n\r\n"),
		S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "zz\r\n"),
		S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "3\r\nabcXY"),
		S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "fffffffffffffffffffff\r\n"),
		S("HTTP/2 200\r\n\r\n"),
		S("GET / HTTP/1.1\r\n\r\n"), /* a request where responses flow */
	};
	static const char *const bad_req[] = {
		"GET /\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
		"GET /a b HTTP/1.1\r\n\r\n",
		"GET  HTTP/1.1\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"get / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nX: \x01\r\n\r\n",
	};
	const char *good_resp =
		"\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	const char *good_req = "GET /good HTTP/1.1\r\n\r\n";
#undef S

	for (size_t i = 0; i < sizeof(bad_resp) / sizeof(bad_resp[0]); i++) {
		struct http_parser *p = http_parser_new(4096, true);
		struct coll c = { 0 };

		feed_str(p, DIR_SEND, 1, good_req, &c);
		http_parser_feed(p, DIR_RECV, 2,
				 (const uint8_t *)bad_resp[i].s, bad_resp[i].len,
				 on_rec, &c);
		/* resync needs a line start: the blank line gives one */
		feed_str(p, DIR_RECV, 3, good_resp, &c);
		CHECK_MSG(http_parser_stats(p)->errors >= 1, "resp case %zu", i);
		/* a body framing error still reports the head (truncated) */
		CHECK_MSG(c.n >= 2 && c.v[c.n - 1].r.ts_ns == 3 &&
			  !strcmp(c.v[c.n - 1].text + 5,
				  "HTTP/1.1 200 OK | Content-Length=2 || "
				  "size=2 chunked=0 trunc=0 body=ok"),
			  "resp case %zu: %zu records", i, c.n);
		for (size_t k = 1; k + 1 < c.n; k++)
			CHECK_MSG(c.v[k].r.http.truncated, "resp case %zu", i);
		http_parser_free(p);
		coll_free(&c);
	}
	for (size_t i = 0; i < sizeof(bad_req) / sizeof(bad_req[0]); i++) {
		struct http_parser *p = http_parser_new(4096, true);
		struct coll c = { 0 };

		feed_str(p, DIR_RECV, 1, bad_req[i], &c);
		feed_str(p, DIR_RECV, 2, good_req, &c);
		CHECK_MSG(http_parser_stats(p)->errors == 1, "req case %zu", i);
		CHECK_MSG(c.n == 1 && c.v[0].r.ts_ns == 2, "req case %zu", i);
		CHECK_SLICE(msg(&c, 0)->path, "/good");
		http_parser_free(p);
		coll_free(&c);
	}
}

/* A CR inside a header line is an error wherever the feeds split it, and
 * a CR LF line end is not, even split between two feeds: head_span()
 * counts the CRs of a line as it copies it, line_done() does not rescan. */
static void test_cr_across_feeds(void)
{
	static const char bad[] = "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n";
	static const char bad_end[] = "HTTP/1.1 200 OK\r\nX: ab\r\r\n\r\n";
	static const char good[] = "HTTP/1.1 200 OK\r\nX: ab\r\nContent-Length: 0\r\n\r\n";
	const char *const cases[] = { bad, bad_end, good };
	const size_t lens[] = { sizeof(bad) - 1, sizeof(bad_end) - 1,
				sizeof(good) - 1 };

	for (size_t k = 0; k < 3; k++) {
		for (size_t split = 1; split < lens[k]; split++) {
			struct http_parser *p = http_parser_new(4096, true);
			struct coll c = { 0 };
			bool ok = cases[k] == good;

			feed_str(p, DIR_SEND, 1, "GET / HTTP/1.1\r\n\r\n", &c);
			http_parser_feed(p, DIR_RECV, 2, (const uint8_t *)cases[k],
					 split, on_rec, &c);
			http_parser_feed(p, DIR_RECV, 3,
					 (const uint8_t *)cases[k] + split,
					 lens[k] - split, on_rec, &c);
			CHECK_MSG(http_parser_stats(p)->errors == !ok,
				  "case %zu split %zu", k, split);
			CHECK_MSG(c.n == (ok ? 2u : 1u), "case %zu split %zu: %zu records",
				  k, split, c.n);
			if (ok && c.n == 2)
				CHECK_MSG(msg(&c, 1)->n_headers == 2, "split %zu", split);
			http_parser_free(p);
			coll_free(&c);
		}
	}
}

static void test_head_too_big(void)
{
	struct http_parser *p = http_parser_new(16, true);
	struct coll c = { 0 };
	char line[1024];
	size_t peak;

	memset(line, 'a', sizeof(line));
	memcpy(line, "X-Fill: ", 8);
	line[sizeof(line) - 2] = '\r';
	line[sizeof(line) - 1] = '\n';
	feed_str(p, DIR_SEND, 1, "GET /big HTTP/1.1\r\n", &c);
	for (int i = 0; i < 70; i++)
		http_parser_feed(p, DIR_SEND, 1, (const uint8_t *)line,
				 sizeof(line), on_rec, &c);
	peak = http_parser_memory(p);
	feed_str(p, DIR_SEND, 1, "\r\nGET /after HTTP/1.1\r\n\r\n", &c);
	CHECK_EQ_INT(c.n, 1);
	CHECK_SLICE(msg(&c, 0)->path, "/after");
	CHECK_EQ_INT(http_parser_stats(p)->errors, 1);
	CHECK_EQ_INT(http_parser_stats(p)->resyncs, 1);
	CHECK(peak <= HTTP_HEAD_MAX + 16 * 1024);
	CHECK(http_parser_memory(p) < 16 * 1024); /* freed once idle */
	coll_free(&c);
	http_parser_free(p);
}

static void test_close_cases(void)
{
	struct http_parser *p = http_parser_new(4096, true);
	struct coll c = { 0 };

	/* a 1.1 response without length is delimited by the close; a body
	 * cut short by the close is reported truncated */
	feed_str(p, DIR_SEND, 1, "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\n"
		 "Content-Length: 10\r\n\r\n12345", &c);
	feed_str(p, DIR_RECV, 2, "HTTP/1.1 200 OK\r\nContent-Type: x\r\n\r\n"
		 "all of this\r\nHTTP/1.1 200 OK\r\n\r\nis body", &c);
	CHECK_EQ_INT(c.n, 1);
	http_parser_close(p, 3, on_rec, &c);
	CHECK_EQ_INT(c.n, 3);
	CHECK_SLICE(msg(&c, 1)->body, "12345");
	CHECK_EQ_INT(msg(&c, 1)->body_size, 5);
	CHECK(msg(&c, 1)->truncated);
	CHECK_SLICE(msg(&c, 2)->body,
		    "all of this\r\nHTTP/1.1 200 OK\r\n\r\nis body");
	CHECK(!msg(&c, 2)->truncated);
	CHECK_EQ_INT(c.v[2].r.ts_ns, 2);
	http_parser_close(p, 4, on_rec, &c);
	CHECK_EQ_INT(c.n, 3);
	coll_free(&c);
	http_parser_free(p);

	/* body_keep 0: nothing kept, sizes right */
	p = http_parser_new(0, true);
	feed_str(p, DIR_RECV, 1, "HTTP/1.0 200 OK\r\n\r\nabc", &c);
	http_parser_close(p, 2, on_rec, &c);
	CHECK_EQ_INT(c.n, 1);
	CHECK_EQ_INT(msg(&c, 0)->body.len, 0);
	CHECK_EQ_INT(msg(&c, 0)->body_size, 3);
	CHECK(msg(&c, 0)->truncated);
	coll_free(&c);
	http_parser_free(p);
}

static void test_ts_and_memory(void)
{
	struct http_parser *p = http_parser_new(1 << 20, true);
	struct coll c = { 0 };
	static uint8_t big[300000];
	size_t idle;

	feed_str(p, DIR_SEND, 5, "\r\n\r\n", &c); /* blank lines: ignored */
	feed_str(p, DIR_SEND, 7, "PUT /f HTTP/1.1\r\nContent-Le", &c);
	feed_str(p, DIR_SEND, 8, "ngth: 300000\r\n\r\n", &c);
	idle = http_parser_memory(p);
	memset(big, 'b', sizeof(big));
	http_parser_feed(p, DIR_SEND, 9, big, sizeof(big), on_rec, &c);
	CHECK_EQ_INT(c.n, 1);
	CHECK_EQ_INT(c.v[0].r.ts_ns, 7);
	CHECK_EQ_INT(msg(&c, 0)->body.len, sizeof(big));
	CHECK(!msg(&c, 0)->truncated);
	CHECK(http_parser_memory(p) <= idle); /* big buffers let go */
	CHECK(http_parser_memory(p) < 16 * 1024);
	coll_free(&c);
	http_parser_free(p);
	http_parser_free(NULL);
}

int main(int argc, char **argv)
{
	struct buf probe;

	if (argc > 1)
		data_dir = argv[1];
	probe = load("nginx_keepalive.req.bin");
	if (probe.p) {
		test_keepalive();
		test_pipelined();
		test_head_304_204();
	test_head_again();
	test_head_again_counted();
		test_chunked_and_close();
		test_gzip_chunked();
		test_big_body_gap();
		test_gap_in_headers();
		test_mutated_streams();
		test_unsynced();
	} else {
		fprintf(stderr, "no data in %s: captured streams not tested\n",
			data_dir);
	}
	free(probe.p);
	test_looks_like_start();
	test_get_post_bodies();
	test_no_body_statuses();
	test_chunk_details();
	test_chunk_gaps();
	test_garbage();
	test_tunnels();
	test_headers();
	test_malformed();
	test_cr_across_feeds();
	test_head_too_big();
	test_close_cases();
	test_ts_and_memory();
	return check_summary("http_parser");
}
