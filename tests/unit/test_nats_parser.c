// SPDX-License-Identifier: MIT
/*
 * test_nats_parser.c — unit tests of the incremental NATS parser.
 *
 * Records are rendered to one canonical text line each ("PUB subj=foo
 * pay=hello size=5"), so whole sequences compare with strcmp and expected
 * values read like the protocol. Captured libnats <-> nats-server streams
 * are read from the directory given as argv[1] (default tests/data/nats).
 */
#include "nats_parser.h"
#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- text builder ----------------------------------------------------- */

struct str {
	char *s;
	size_t len, cap;
};

static void str_addn(struct str *o, const char *p, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 64;

		while (cap < o->len + n + 1)
			cap *= 2;
		o->s = realloc(o->s, cap);
		if (!o->s)
			abort();
		o->cap = cap;
	}
	memcpy(o->s + o->len, p, n);
	o->len += n;
	o->s[o->len] = '\0';
}

static void str_printf(struct str *o, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	str_addn(o, buf, (size_t)n);
}

/* Escaped so that CR/LF/binary stay visible in expectations. */
static void str_escaped(struct str *o, struct slice sl)
{
	for (size_t i = 0; i < sl.len; i++) {
		unsigned char c = (unsigned char)sl.ptr[i];

		if (c == '\r')
			str_addn(o, "\\r", 2);
		else if (c == '\n')
			str_addn(o, "\\n", 2);
		else if (c == '\t')
			str_addn(o, "\\t", 2);
		else if (c == '\\')
			str_addn(o, "\\\\", 2);
		else if (c < 0x20 || c >= 0x7f)
			str_printf(o, "\\x%02x", c);
		else
			str_addn(o, (const char *)&c, 1);
	}
}

static void field(struct str *o, const char *name, struct slice sl)
{
	if (!sl.len)
		return;
	str_printf(o, " %s=", name);
	str_escaped(o, sl);
}

static bool body_op(enum nats_op op)
{
	return op == NATS_PUB || op == NATS_HPUB || op == NATS_MSG ||
	       op == NATS_HMSG;
}

static bool hdr_op(enum nats_op op)
{
	return op == NATS_HPUB || op == NATS_HMSG;
}

static char *render(const struct nats_msg *m)
{
	struct str o = { 0 };

	str_printf(&o, "%s", nats_parser_op_name(m->op));
	field(&o, "subj", m->subject);
	field(&o, "reply", m->reply);
	field(&o, "sid", m->sid);
	field(&o, "q", m->queue);
	field(&o, "json", m->json);
	field(&o, "hdr", m->headers);
	field(&o, "pay", m->payload);
	if (body_op(m->op))
		str_printf(&o, " size=%llu", (unsigned long long)m->size);
	if (hdr_op(m->op))
		str_printf(&o, " hsize=%llu",
			   (unsigned long long)m->header_size);
	if (m->op == NATS_UNSUB && m->max_msgs >= 0)
		str_printf(&o, " max=%lld", (long long)m->max_msgs);
	if (m->truncated)
		str_printf(&o, " trunc");
	return o.s;
}

/* ---- record sink ------------------------------------------------------ */

struct rec {
	char *text;
	uint64_t ts;
	uint64_t size;
	size_t pay_len, hdr_len;
	bool truncated;
	char pay_head[16]; /* first payload bytes, for big-payload checks */
};

struct sink {
	struct rec *r;
	size_t n, cap;
	enum direction dir;
	size_t keep;
	int bad; /* records breaking an invariant */
};

static bool slice_ok(struct slice s)
{
	return s.len == 0 || s.ptr != NULL;
}

/* What must hold for any record, whatever the input was. */
static bool record_sane(const struct msg_record *r, const struct sink *s)
{
	const struct nats_msg *m = &r->nats;

	return r->proto == PROTO_NATS && r->conn == NULL && r->dir == s->dir &&
	       m->op < NATS_OP__COUNT && slice_ok(m->subject) &&
	       slice_ok(m->reply) && slice_ok(m->sid) && slice_ok(m->queue) &&
	       slice_ok(m->json) && slice_ok(m->headers) &&
	       slice_ok(m->payload) && m->payload.len <= s->keep &&
	       m->payload.len <= m->size &&
	       m->headers.len <= m->header_size &&
	       m->headers.len <= NATS_LINE_MAX &&
	       (body_op(m->op) || (!m->size && !m->truncated)) &&
	       (hdr_op(m->op) || !m->header_size) &&
	       (m->op == NATS_UNSUB || m->max_msgs == -1);
}

static void sink_cb(const struct msg_record *r, void *ctx)
{
	struct sink *s = ctx;
	struct rec *x;

	if (!record_sane(r, s))
		s->bad++;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->r = realloc(s->r, s->cap * sizeof(*s->r));
		if (!s->r)
			abort();
	}
	x = &s->r[s->n++];
	memset(x, 0, sizeof(*x));
	x->text = render(&r->nats);
	x->ts = r->ts_ns;
	x->size = r->nats.size;
	x->pay_len = r->nats.payload.len;
	x->hdr_len = r->nats.headers.len;
	x->truncated = r->nats.truncated;
	memcpy(x->pay_head, r->nats.payload.ptr ? r->nats.payload.ptr : "",
	       x->pay_len < sizeof(x->pay_head) ? x->pay_len :
						    sizeof(x->pay_head));
}

static void sink_init(struct sink *s, enum direction dir, size_t keep)
{
	memset(s, 0, sizeof(*s));
	s->dir = dir;
	s->keep = keep;
}

static void sink_free(struct sink *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->r[i].text);
	free(s->r);
	memset(s, 0, sizeof(*s));
}

static const char *rec_text(const struct sink *s, size_t i)
{
	return i < s->n ? s->r[i].text : "(none)";
}

static bool sink_eq(const struct sink *a, const struct sink *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->r[i].text, b->r[i].text) ||
		    a->r[i].ts != b->r[i].ts)
			return false;
	return true;
}

/* b's records from b_from on are a suffix of a's. */
static bool sink_tail_of(const struct sink *a, const struct sink *b,
			 size_t b_from)
{
	size_t nb = b->n > b_from ? b->n - b_from : 0;

	if (nb > a->n)
		return false;
	for (size_t i = 0; i < nb; i++)
		if (strcmp(a->r[a->n - nb + i].text, b->r[b_from + i].text))
			return false;
	return true;
}

#define CHECK_REC(s, i, want) \
	CHECK_MSG((i) < (s)->n && strcmp((s)->r[i].text, (want)) == 0, \
		  "record %d: got \"%s\", want \"%s\"", (int)(i), \
		  rec_text((s), (i)), (want))

/* ---- feeding helpers -------------------------------------------------- */

struct run {
	struct nats_parser *p;
	struct sink s;
};

static void run_init(struct run *r, enum direction dir, size_t keep,
		     bool synced)
{
	r->p = nats_parser_new(dir, keep, synced);
	CHECK(r->p != NULL);
	sink_init(&r->s, dir, keep);
}

static void run_done(struct run *r)
{
	CHECK_EQ_INT(r->s.bad, 0);
	nats_parser_free(r->p);
	sink_free(&r->s);
}

static void feed(struct run *r, uint64_t ts, const void *d, size_t n)
{
	nats_parser_feed(r->p, ts, d, n, sink_cb, &r->s);
}

static void feed_str(struct run *r, uint64_t ts, const char *str)
{
	feed(r, ts, str, strlen(str));
}

static void gap(struct run *r, uint64_t missing)
{
	nats_parser_gap(r->p, 0, missing, sink_cb, &r->s);
}

static const struct nats_parser_stats *stats(const struct run *r)
{
	return nats_parser_stats(r->p);
}

/* Feed d in pieces of `chunk` bytes (all with the same ts). */
static void feed_chunked(struct run *r, const uint8_t *d, size_t n,
			 size_t chunk)
{
	for (size_t i = 0; i < n; i += chunk)
		feed(r, 1, d + i, n - i < chunk ? n - i : chunk);
}

/* Deterministic pseudo-random numbers: tests must be reproducible. */
static uint32_t rnd(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*state >> 33);
}

/* ---- every op --------------------------------------------------------- */

static void test_each_op(void)
{
	struct run r;

	run_init(&r, DIR_SEND, 4096, true);
	feed_str(&r, 1,
		 "INFO {\"server_id\":\"x\",\"headers\":true} \r\n"
		 "CONNECT {\"verbose\":false}\r\n"
		 "PUB foo 5\r\nhello\r\n"
		 "PUB foo reply.x 5\r\nhel\r\n\r\n"
		 "PUB foo 0\r\n\r\n"
		 "HPUB foo 20 25\r\nNATS/1.0\r\nX-A: 1\r\n\r\nhello\r\n"
		 "HPUB foo _INBOX.1 12 12\r\nNATS/1.0\r\n\r\n\r\n"
		 "SUB foo 1\r\n"
		 "SUB foo.* workers 2\r\n"
		 "UNSUB 1\r\n"
		 "UNSUB 2 10\r\n"
		 "MSG foo 1 5\r\nhello\r\n"
		 "MSG foo 1 reply.y 5\r\nhello\r\n"
		 "HMSG foo 2 20 25\r\nNATS/1.0\r\nX-A: 1\r\n\r\nhello\r\n"
		 "HMSG foo 2 reply.z 20 22\r\nNATS/1.0\r\nX-A: 1\r\n\r\nhi\r\n"
		 "PING\r\nPONG\r\n+OK\r\n"
		 "-ERR 'Unknown Protocol Operation'\r\n"
		 "-ERR unquoted\r\n");
	CHECK_EQ_INT(r.s.n, 20);
	CHECK_REC(&r.s, 0, "INFO json={\"server_id\":\"x\",\"headers\":true}");
	CHECK_REC(&r.s, 1, "CONNECT json={\"verbose\":false}");
	CHECK_REC(&r.s, 2, "PUB subj=foo pay=hello size=5");
	CHECK_REC(&r.s, 3, "PUB subj=foo reply=reply.x pay=hel\\r\\n size=5");
	CHECK_REC(&r.s, 4, "PUB subj=foo size=0");
	CHECK_REC(&r.s, 5, "HPUB subj=foo hdr=NATS/1.0\\r\\nX-A: 1\\r\\n\\r\\n"
			   " pay=hello size=5 hsize=20");
	CHECK_REC(&r.s, 6, "HPUB subj=foo reply=_INBOX.1 "
			   "hdr=NATS/1.0\\r\\n\\r\\n size=0 hsize=12");
	CHECK_REC(&r.s, 7, "SUB subj=foo sid=1");
	CHECK_REC(&r.s, 8, "SUB subj=foo.* sid=2 q=workers");
	CHECK_REC(&r.s, 9, "UNSUB sid=1");
	CHECK_REC(&r.s, 10, "UNSUB sid=2 max=10");
	CHECK_REC(&r.s, 11, "MSG subj=foo sid=1 pay=hello size=5");
	CHECK_REC(&r.s, 12,
		  "MSG subj=foo reply=reply.y sid=1 pay=hello size=5");
	CHECK_REC(&r.s, 13, "HMSG subj=foo sid=2 hdr=NATS/1.0\\r\\nX-A: 1\\r\\n"
			    "\\r\\n pay=hello size=5 hsize=20");
	CHECK_REC(&r.s, 14, "HMSG subj=foo reply=reply.z sid=2 hdr=NATS/1.0"
			    "\\r\\nX-A: 1\\r\\n\\r\\n pay=hi size=2 hsize=20");
	CHECK_REC(&r.s, 15, "PING");
	CHECK_REC(&r.s, 16, "PONG");
	CHECK_REC(&r.s, 17, "+OK");
	CHECK_REC(&r.s, 18, "-ERR json=Unknown Protocol Operation");
	CHECK_REC(&r.s, 19, "-ERR json=unquoted");
	CHECK_EQ_INT(stats(&r)->messages, 20);
	CHECK_EQ_INT(stats(&r)->errors, 0);
	CHECK_EQ_INT(stats(&r)->bytes_skipped, 0);
	CHECK_EQ_INT(stats(&r)->resyncs, 0);
	run_done(&r);
}

static void test_fields_raw(void)
{
	struct nats_parser *p = nats_parser_new(DIR_RECV, 16, true);
	const char *in = "UNSUB 7 3\r\nPING\r\n";
	struct sink s;

	/* Works without a callback too: records are only counted. */
	sink_init(&s, DIR_RECV, 16);
	nats_parser_feed(p, 42, (const uint8_t *)in, strlen(in), NULL, NULL);
	CHECK_EQ_INT(nats_parser_stats(p)->messages, 2);
	nats_parser_feed(p, 43, (const uint8_t *)in, strlen(in), sink_cb, &s);
	CHECK_EQ_INT(s.n, 2);
	CHECK_REC(&s, 0, "UNSUB sid=7 max=3");
	CHECK_EQ_INT(s.n ? s.r[0].ts : 0, 43);
	CHECK_EQ_INT(s.bad, 0);
	sink_free(&s);
	nats_parser_free(p);
}

/* ---- split equivalence ------------------------------------------------ */

static const char session[] =
	"INFO {\"server_id\":\"S1\",\"version\":\"2.9.10\",\"headers\":true,"
	"\"max_payload\":1048576} \r\n"
	"CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"t\","
	"\"headers\":true}\r\n"
	"PING\r\n"
	"PONG\r\n"
	"SUB orders.*  1\r\n"
	"SUB work grp 2\r\n"
	"PUB orders.new 5\r\nhello\r\n"
	"PUB orders.new _INBOX.abc 12\r\nhello\r\nworld\r\n"
	"PUB orders.empty 0\r\n\r\n"
	"HPUB orders.h 20 25\r\nNATS/1.0\r\nX-A: 1\r\n\r\nhello\r\n"
	"MSG orders.new 1 5\r\nhello\r\n"
	"MSG orders.new 1 _INBOX.abc 12\r\nhello\r\nworld\r\n"
	"HMSG orders.h 1 _INBOX.h 20 25\r\nNATS/1.0\r\nX-A: 1\r\n\r\nhello\r\n"
	"UNSUB 1\r\nUNSUB 2 10\r\n+OK\r\n-ERR 'Stale Connection'\r\n"
	"PING\r\nPONG\r\n";

/*
 * Whole, two pieces split at every position, one byte at a time and random
 * chunkings must all give the same records and the same stats.
 */
static void check_splits(const char *name, const uint8_t *d, size_t n,
			 size_t keep)
{
	struct run whole, r;
	long bad_split = -1, bad_rand = -1;
	uint64_t seed = 12345;

	run_init(&whole, DIR_SEND, keep, true);
	feed(&whole, 1, d, n);
	CHECK_MSG(whole.s.n > 0, "%s: no records", name);
	CHECK_MSG(stats(&whole)->errors == 0, "%s: %llu errors", name,
		  (unsigned long long)stats(&whole)->errors);

	run_init(&r, DIR_SEND, keep, true);
	feed_chunked(&r, d, n, 1);
	CHECK_MSG(sink_eq(&whole.s, &r.s), "%s: bytewise differs", name);
	CHECK_EQ_INT(stats(&r)->bytes_skipped, stats(&whole)->bytes_skipped);
	run_done(&r);

	for (size_t k = 1; k < n && bad_split < 0; k++) {
		run_init(&r, DIR_SEND, keep, true);
		feed(&r, 1, d, k);
		feed(&r, 1, d + k, n - k);
		if (!sink_eq(&whole.s, &r.s) ||
		    stats(&r)->errors != stats(&whole)->errors ||
		    stats(&r)->messages != stats(&whole)->messages || r.s.bad)
			bad_split = (long)k;
		run_done(&r);
	}
	CHECK_MSG(bad_split < 0, "%s: split at %ld differs", name, bad_split);

	for (int it = 0; it < 300 && bad_rand < 0; it++) {
		run_init(&r, DIR_SEND, keep, true);
		for (size_t i = 0; i < n;) {
			size_t c = 1 + rnd(&seed) % 40;

			c = c < n - i ? c : n - i;
			feed(&r, 1, d + i, c);
			i += c;
		}
		if (!sink_eq(&whole.s, &r.s))
			bad_rand = it;
		run_done(&r);
	}
	CHECK_MSG(bad_rand < 0, "%s: random chunking %ld differs", name,
		  bad_rand);
	run_done(&whole);
}

static void test_session(void)
{
	struct run r;

	run_init(&r, DIR_SEND, 4096, true);
	feed_str(&r, 1, session);
	CHECK_EQ_INT(r.s.n, 19);
	CHECK_REC(&r.s, 4, "SUB subj=orders.* sid=1");
	CHECK_REC(&r.s, 7, "PUB subj=orders.new reply=_INBOX.abc "
			   "pay=hello\\r\\nworld size=12");
	CHECK_REC(&r.s, 12, "HMSG subj=orders.h reply=_INBOX.h sid=1 "
			    "hdr=NATS/1.0\\r\\nX-A: 1\\r\\n\\r\\n pay=hello "
			    "size=5 hsize=20");
	CHECK_REC(&r.s, 16, "-ERR json=Stale Connection");
	run_done(&r);

	check_splits("session", (const uint8_t *)session, sizeof(session) - 1,
		     4096);
	/* Same with payloads cut by payload_keep, and with none kept. */
	check_splits("session keep=3", (const uint8_t *)session,
		     sizeof(session) - 1, 3);
	check_splits("session keep=0", (const uint8_t *)session,
		     sizeof(session) - 1, 0);
}

/* ---- captured streams ------------------------------------------------- */

static uint8_t *load(const char *dir, const char *name, size_t *len)
{
	char path[1024];
	uint8_t *buf = NULL;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	CHECK_MSG(f != NULL, "cannot open %s", path);
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	CHECK_MSG(buf != NULL, "cannot read %s", path);
	return buf;
}

static bool sink_has(const struct sink *s, const char *text)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->r[i].text, text))
			return true;
	return false;
}

#define CHECK_HAS(s, text) \
	CHECK_MSG(sink_has((s), (text)), "no record \"%s\"", (text))

/*
 * Joining the stream at any byte: no protocol errors, and after the first
 * record (which may be a plausible false start such as "SUB 4 1" inside
 * "UNSUB 4 1") the records are exactly the tail of the full sequence.
 */
static void check_every_join(const char *name, const uint8_t *d, size_t n,
			     const struct sink *full)
{
	long bad = -1;

	for (size_t o = 0; o < n && bad < 0; o++) {
		struct run r;

		run_init(&r, DIR_SEND, 4096, false);
		feed(&r, 1, d + o, n - o);
		if (stats(&r)->errors || !sink_tail_of(full, &r.s, 1) ||
		    (o == 0 && !sink_eq(full, &r.s)) || r.s.bad)
			bad = (long)o;
		run_done(&r);
	}
	CHECK_MSG(bad < 0, "%s: joining at %ld goes wrong", name, bad);
}

/*
 * A gap of g bytes at any position: never a protocol error, and the last
 * message (when the gap is before it) still comes out right.
 */
static void check_every_gap(const char *name, const uint8_t *d, size_t n,
			    const struct sink *full, size_t last_start)
{
	static const size_t gaps[] = { 1, 2, 7, 50 };
	long bad = -1;

	for (size_t gi = 0; gi < sizeof(gaps) / sizeof(gaps[0]); gi++) {
		size_t g = gaps[gi];

		for (size_t o = 0; o + g <= n && bad < 0; o++) {
			struct run r;

			run_init(&r, DIR_SEND, 4096, true);
			feed(&r, 1, d, o);
			gap(&r, g);
			feed(&r, 1, d + o + g, n - o - g);
			if (stats(&r)->errors || r.s.bad ||
			    (o + g <= last_start &&
			     (!r.s.n || strcmp(r.s.r[r.s.n - 1].text,
					       full->r[full->n - 1].text))))
				bad = (long)(o * 100 + g);
			run_done(&r);
		}
	}
	CHECK_MSG(bad < 0, "%s: gap (offset*100+len) %ld goes wrong", name,
		  bad);
}

static void check_capture(const char *dir, const char *file, size_t want_n,
			  const char *const *want, struct sink *out)
{
	size_t n = 0, last_start;
	uint8_t *d = load(dir, file, &n);
	struct run r;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!d)
		return;
	run_init(&r, DIR_SEND, 4096, true);
	feed(&r, 1, d, n);
	CHECK_MSG(r.s.n == want_n, "%s: %zu records, want %zu", file, r.s.n,
		  want_n);
	CHECK_EQ_INT(stats(&r)->errors, 0);
	CHECK_EQ_INT(stats(&r)->bytes_skipped, 0);
	for (size_t i = 0; want[i]; i++)
		CHECK_HAS(&r.s, want[i]);
	check_splits(file, d, n, 4096);
	check_splits(file, d, n, 2);
	check_every_join(file, d, n, &r.s);
	/* Every capture ends with a "PING\r\n" or "PONG\r\n". */
	last_start = n - 6;
	check_every_gap(file, d, n, &r.s, last_start);
	if (out) {
		*out = r.s;
		memset(&r.s, 0, sizeof(r.s));
	}
	run_done(&r);
	free(d);
}

static void test_captures(const char *dir)
{
	static const char *const c2s[] = {
		"PING",
		"SUB subj=demo.> sid=1",
		"SUB subj=work.q sid=2 q=workers",
		"UNSUB sid=4 max=1",
		"UNSUB sid=2",
		"PUB subj=demo.a pay=hello 4 size=7",
		"PUB subj=work.q pay=job\\r\\nwith crlf inside size=21",
		"PUB subj=demo.b reply=demo.reply size=0",
		"HPUB subj=demo.h reply=demo.hreply hdr=NATS/1.0\\r\\n"
		"X-Trace: abc123\\r\\nX-Multi: v1\\r\\nX-Multi: v2\\r\\n\\r\\n "
		"pay=with headers size=12 hsize=55",
		NULL
	};
	static const char *const s2c[] = {
		"PONG",
		"MSG subj=demo.a sid=1 pay=hello 0 size=7",
		"MSG subj=demo.b reply=demo.reply sid=1 size=0",
		"MSG subj=once sid=4 pay=only once size=9",
		"HMSG subj=demo.h reply=demo.hreply sid=1 hdr=NATS/1.0\\r\\n"
		"X-Trace: abc123\\r\\nX-Multi: v1\\r\\nX-Multi: v2\\r\\n\\r\\n "
		"pay=with headers size=12 hsize=55",
		"MSG subj=_INBOX.NR3WGGMANGZDLMHM1PI2SB.0 sid=5 pay=pong-reply "
		"size=10",
		NULL
	};
	static const char *const vc2s[] = {
		"PUB subj=v.one pay=verbose size=7",
		"PUB subj=bad..subject pay=x size=1",
		NULL
	};
	static const char *const vs2c[] = {
		"+OK",
		"MSG subj=v.one sid=1 pay=verbose size=7",
		"-ERR json=Invalid Publish Subject",
		NULL
	};
	struct sink s;

	check_capture(dir, "client_to_server.bin", 27, c2s, &s);
	CHECK(s.n > 0 && !strncmp(s.r[0].text, "CONNECT json={\"verbose\":"
				  "false,", 30));
	sink_free(&s);
	check_capture(dir, "server_to_client.bin", 17, s2c, &s);
	CHECK(s.n > 0 &&
	      !strncmp(s.r[0].text, "INFO json={\"server_id\":", 23));
	sink_free(&s);
	check_capture(dir, "verbose_client_to_server.bin", 7, vc2s, NULL);
	check_capture(dir, "verbose_server_to_client.bin", 10, vs2c, NULL);
}

/* ---- big payloads and gaps -------------------------------------------- */

static uint8_t *pattern(size_t n)
{
	uint8_t *b = malloc(n);

	if (!b)
		abort();
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)('a' + i % 26);
	return b;
}

/* 100 KB payload, keep 4096, only a 4 KiB prefix of the payload captured. */
static void test_big_payload_gap(void)
{
	const char *line = "PUB big 100000\r\n";
	uint8_t *pay = pattern(100000);
	struct run r;

	run_init(&r, DIR_SEND, 4096, true);
	feed_str(&r, 7, line);
	feed(&r, 8, pay, 4096);
	CHECK_EQ_INT(r.s.n, 0);
	gap(&r, 100000 - 4096 + 2); /* rest of the payload and its "\r\n" */
	CHECK_EQ_INT(r.s.n, 1);
	feed_str(&r, 9, "PUB next 2\r\nok\r\n");
	CHECK_EQ_INT(r.s.n, 2);
	if (r.s.n == 2) {
		CHECK_EQ_INT(r.s.r[0].size, 100000);
		CHECK(r.s.r[0].truncated);
		CHECK_EQ_INT(r.s.r[0].pay_len, 4096);
		CHECK(!memcmp(r.s.r[0].pay_head, pay, 16));
		CHECK_EQ_INT(r.s.r[0].ts, 7);
		CHECK(!strncmp(r.s.r[0].text, "PUB subj=big pay=abcdef", 23));
		CHECK_REC(&r.s, 1, "PUB subj=next pay=ok size=2");
		CHECK_EQ_INT(r.s.r[1].ts, 9);
	}
	CHECK_EQ_INT(stats(&r)->gap_bytes, 100000 - 4096 + 2);
	CHECK_EQ_INT(stats(&r)->errors, 0);
	CHECK_EQ_INT(stats(&r)->messages, 2);
	CHECK(nats_parser_memory(r.p) <= 1024 + NATS_LINE_MAX + 4096);
	run_done(&r);

	/* The kernel's view: one write, first 4096 bytes captured. */
	run_init(&r, DIR_SEND, 4096, true);
	{
		size_t ll = strlen(line);
		uint8_t *w = malloc(ll + 100000 + 2);

		memcpy(w, line, ll);
		memcpy(w + ll, pay, 100000);
		memcpy(w + ll + 100000, "\r\n", 2);
		feed(&r, 1, w, 4096);
		gap(&r, ll + 100000 + 2 - 4096);
		free(w);
	}
	feed_str(&r, 2, "PING\r\n");
	CHECK_EQ_INT(r.s.n, 2);
	if (r.s.n == 2) {
		CHECK_EQ_INT(r.s.r[0].pay_len, 4096 - strlen(line));
		CHECK(r.s.r[0].truncated);
		CHECK_REC(&r.s, 1, "PING");
	}
	run_done(&r);

	/* Everything captured: still only payload_keep bytes held. */
	run_init(&r, DIR_SEND, 4096, true);
	feed_str(&r, 1, line);
	feed_chunked(&r, pay, 100000, 3000);
	feed_str(&r, 1, "\r\nPONG\r\n");
	CHECK_EQ_INT(r.s.n, 2);
	if (r.s.n == 2) {
		CHECK_EQ_INT(r.s.r[0].pay_len, 4096);
		CHECK_EQ_INT(r.s.r[0].size, 100000);
		CHECK(r.s.r[0].truncated);
		CHECK_REC(&r.s, 1, "PONG");
	}
	CHECK_EQ_INT(stats(&r)->body_dropped, 100000 - 4096);
	CHECK_EQ_INT(stats(&r)->gap_bytes, 0);
	CHECK(nats_parser_memory(r.p) <= 1024 + NATS_LINE_MAX + 4096);
	run_done(&r);
	free(pay);
}

static void test_gaps(void)
{
	struct run r;

	/* Inside a control line: resync, skip the rest of that line. */
	run_init(&r, DIR_SEND, 64, true);
	feed_str(&r, 1, "PUB foo 5\r\nhello\r\nSUB b");
	gap(&r, 10);
	feed_str(&r, 2, "ar 1\r\nPING\r\nPUB x 2\r\nhi\r\n");
	CHECK_EQ_INT(r.s.n, 3);
	CHECK_REC(&r.s, 0, "PUB subj=foo pay=hello size=5");
	CHECK_REC(&r.s, 1, "PING");
	CHECK_REC(&r.s, 2, "PUB subj=x pay=hi size=2");
	CHECK_EQ_INT(stats(&r)->errors, 0);
	CHECK_EQ_INT(stats(&r)->resyncs, 1);
	CHECK_EQ_INT(stats(&r)->gap_bytes, 10);
	CHECK_EQ_INT(stats(&r)->bytes_skipped, 5 + 6);
	run_done(&r);

	/* Exactly between messages: the next feed starts with an op. */
	run_init(&r, DIR_SEND, 64, true);
	feed_str(&r, 1, "PING\r\n");
	gap(&r, 6);
	feed_str(&r, 2, "PONG\r\n");
	CHECK_EQ_INT(r.s.n, 2);
	CHECK_REC(&r.s, 1, "PONG");
	CHECK_EQ_INT(stats(&r)->resyncs, 1);
	run_done(&r);

	/* Mid-payload, more payload after it: the captured prefix is kept. */
	run_init(&r, DIR_SEND, 64, true);
	feed_str(&r, 1, "PUB foo 10\r\nab");
	gap(&r, 3);
	feed_str(&r, 2, "fghij\r\nPING\r\n");
	CHECK_REC(&r.s, 0, "PUB subj=foo pay=ab size=10 trunc");
	CHECK_REC(&r.s, 1, "PING");
	CHECK_EQ_INT(stats(&r)->errors, 0);
	run_done(&r);

	/* Only the trailer's '\r' missing: the message is intact. */
	run_init(&r, DIR_SEND, 64, true);
	feed_str(&r, 1, "PUB foo 2\r\nhi");
	gap(&r, 1);
	feed_str(&r, 2, "\nPING\r\n");
	CHECK_REC(&r.s, 0, "PUB subj=foo pay=hi size=2");
	CHECK_REC(&r.s, 1, "PING");
	run_done(&r);

	/* Inside the header block. */
	run_init(&r, DIR_SEND, 64, true);
	feed_str(&r, 1, "HPUB foo 20 25\r\nNATS/1.");
	gap(&r, 12);
	feed_str(&r, 2, "\nhello\r\nPING\r\n");
	CHECK_REC(&r.s, 0, "HPUB subj=foo hdr=NATS/1. size=5 hsize=20 trunc");
	CHECK_REC(&r.s, 1, "PING");
	run_done(&r);

	/* Over the payload's end, its trailer and into the next line. */
	run_init(&r, DIR_SEND, 64, true);
	feed_str(&r, 1, "PUB a 3\r\nab");
	gap(&r, 1 + 2 + 3);
	CHECK_REC(&r.s, 0, "PUB subj=a pay=ab size=3 trunc");
	feed_str(&r, 2, "G\r\nPONG\r\n");
	CHECK_EQ_INT(r.s.n, 2);
	CHECK_REC(&r.s, 1, "PONG");
	CHECK_EQ_INT(stats(&r)->bytes_skipped, 3);
	CHECK_EQ_INT(stats(&r)->errors, 0);
	run_done(&r);

	/* While still hunting. */
	run_init(&r, DIR_SEND, 64, false);
	feed_str(&r, 1, "xx");
	gap(&r, 5);
	feed_str(&r, 2, "PING\r\n");
	CHECK_EQ_INT(r.s.n, 1);
	CHECK_REC(&r.s, 0, "PING");
	run_done(&r);
}

/* ---- resync, garbage, malformed --------------------------------------- */

static void test_unsynced(void)
{
	struct run r;

	/* Joined in the middle of a payload. */
	run_init(&r, DIR_RECV, 64, false);
	feed_str(&r, 1, "llo world\r\nMSG a 1 3\r\nabc\r\n");
	CHECK_EQ_INT(r.s.n, 1);
	CHECK_REC(&r.s, 0, "MSG subj=a sid=1 pay=abc size=3");
	CHECK_EQ_INT(stats(&r)->bytes_skipped, 11);
	CHECK_EQ_INT(stats(&r)->resyncs, 1);
	CHECK_EQ_INT(stats(&r)->errors, 0);
	run_done(&r);

	/* Mid control line, then a payload that is not an op either. */
	run_init(&r, DIR_SEND, 64, false);
	feed_str(&r, 1, "B foo 5\r\nhello\r\nPING\r\n");
	CHECK_EQ_INT(r.s.n, 1);
	CHECK_REC(&r.s, 0, "PING");
	CHECK_EQ_INT(stats(&r)->bytes_skipped, 9 + 7);
	run_done(&r);

	/* Payload pieces in separate feeds ("ping?" is not "PING"). */
	run_init(&r, DIR_SEND, 64, false);
	feed_str(&r, 1, "lo");
	feed_str(&r, 2, "ping?\r\n");
	feed_str(&r, 3, "PUB x 1\r\n");
	feed_str(&r, 4, "y\r\n");
	CHECK_EQ_INT(r.s.n, 1);
	CHECK_REC(&r.s, 0, "PUB subj=x pay=y size=1");
	CHECK_EQ_INT(r.s.n ? r.s.r[0].ts : 0, 3);
	run_done(&r);

	/* Starting right on an op: nothing skipped. */
	run_init(&r, DIR_SEND, 64, false);
	feed_str(&r, 1, "PING\r\nPONG\r\n");
	CHECK_EQ_INT(r.s.n, 2);
	CHECK_EQ_INT(stats(&r)->bytes_skipped, 0);
	CHECK_EQ_INT(stats(&r)->resyncs, 1);
	run_done(&r);

	/* A plausible op whose body does not end right is not taken. */
	run_init(&r, DIR_SEND, 64, false);
	feed_str(&r, 1, "PUB x 2\r\nabc\r\nPING\r\n");
	CHECK_EQ_INT(r.s.n, 1);
	CHECK_REC(&r.s, 0, "PING");
	CHECK_EQ_INT(stats(&r)->errors, 0);
	run_done(&r);
}

static void test_garbage(void)
{
	uint64_t seed = 99;
	size_t n = 256 * 1024;
	uint8_t *junk = malloc(n);
	struct run r;

	for (size_t i = 0; i < n; i++)
		junk[i] = (uint8_t)rnd(&seed);

	run_init(&r, DIR_SEND, 4096, true);
	feed_chunked(&r, junk, n, 1000);
	CHECK_EQ_INT(r.s.n, 0);
	CHECK(stats(&r)->errors > 0);
	CHECK(nats_parser_memory(r.p) <= 1024 + NATS_LINE_MAX + 4096);
	feed_str(&r, 2, "\r\nPING\r\n");
	CHECK_EQ_INT(r.s.n, 1);
	CHECK_REC(&r.s, 0, "PING");
	run_done(&r);

	run_init(&r, DIR_SEND, 4096, false);
	feed(&r, 1, junk, n);
	CHECK_EQ_INT(r.s.n, 0);
	CHECK_EQ_INT(stats(&r)->errors, 0);
	/* All skipped, but for a possible half-judged line at the end. */
	CHECK(stats(&r)->bytes_skipped <= n &&
	      stats(&r)->bytes_skipped + 1000 >= n);
	run_done(&r);

	/* Binary without a single newline: the line limit bounds memory. */
	memset(junk, 0x01, n);
	run_init(&r, DIR_SEND, 4096, true);
	feed_chunked(&r, junk, n, 7000);
	CHECK_EQ_INT(r.s.n, 0);
	CHECK_EQ_INT(stats(&r)->errors, 1);
	CHECK(nats_parser_memory(r.p) <= 1024 + NATS_LINE_MAX + 4096);
	feed_str(&r, 2, "\nPING\r\n");
	CHECK_REC(&r.s, 0, "PING");
	run_done(&r);
	free(junk);
}

static void test_long_line(void)
{
	size_t n = NATS_LINE_MAX + 100;
	char *line = malloc(n + 1);
	struct run r;

	memcpy(line, "SUB ", 4);
	memset(line + 4, 'a', n - 4);
	line[n] = '\0';
	run_init(&r, DIR_SEND, 64, true);
	feed_str(&r, 1, line);
	feed_str(&r, 1, " 1\r\nSUB b 2\r\n");
	CHECK_EQ_INT(r.s.n, 1);
	CHECK_REC(&r.s, 0, "SUB subj=b sid=2");
	CHECK_EQ_INT(stats(&r)->errors, 1);
	CHECK(nats_parser_memory(r.p) <= 1024 + NATS_LINE_MAX + 64);
	run_done(&r);

	/* The longest accepted line: "\r" included, NATS_LINE_MAX bytes. */
	line[NATS_LINE_MAX - 3] = '\0';
	run_init(&r, DIR_SEND, 64, true);
	feed_str(&r, 1, line);
	feed_str(&r, 1, " 1\r\n");
	CHECK_EQ_INT(r.s.n, 1);
	CHECK_EQ_INT(stats(&r)->errors, 0);
	run_done(&r);
	free(line);
}

static void test_big_headers(void)
{
	const char *line = "HPUB h 70000 70003\r\n";
	size_t hs = 70000;
	char *h = malloc(hs);
	struct run r;

	memset(h, 'x', hs);
	memcpy(h, "NATS/1.0\r\nX: ", 13);
	memcpy(h + hs - 4, "\r\n\r\n", 4);
	run_init(&r, DIR_SEND, 64, true);
	feed_str(&r, 1, line);
	feed(&r, 1, h, hs);
	feed_str(&r, 1, "abc\r\nPING\r\n");
	CHECK_EQ_INT(r.s.n, 2);
	if (r.s.n == 2) {
		CHECK_EQ_INT(r.s.r[0].hdr_len,
			     NATS_LINE_MAX - (strlen(line) - 1));
		CHECK(r.s.r[0].truncated);
		CHECK_EQ_INT(r.s.r[0].pay_len, 3);
		CHECK(!memcmp(r.s.r[0].pay_head, "abc", 3));
		CHECK_REC(&r.s, 1, "PING");
	}
	CHECK(nats_parser_memory(r.p) <= 1024 + NATS_LINE_MAX + 64);
	run_done(&r);
	free(h);
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"FOO bar\r\n", "PUB foo\r\n", "PUB a b c d\r\n",
		"PUB foo -1\r\n", "PUB foo 99999999999999999999\r\n",
		"PUB foo 67108865\r\n", "HPUB foo 10 5\r\n", "UNSUB\r\n",
		"UNSUB 1 x\r\n", "PING x\r\n", "INFO\r\n", "INFO notjson\r\n",
		"SUB foo\r\n", "SUB a b c d\r\n", "MSG foo 1\r\n",
		"HMSG foo 1 2\r\n", "-ERR\r\n", "PUBX foo 1\r\n", "PUB\r\n",
		"PUB foo\x01" "bar 1\r\n", " PING\r\n",
		"PUB foo 1 2 3 4 5 6\r\n",
		NULL
	};
	struct run r;
	int n = 0;

	run_init(&r, DIR_SEND, 64, true);
	for (; bad[n]; n++)
		feed_str(&r, 1, bad[n]);
	feed_str(&r, 1, "\r\nPING\r\n");
	CHECK_EQ_INT(r.s.n, 1);
	CHECK_REC(&r.s, 0, "PING");
	CHECK_EQ_INT(stats(&r)->errors, n);
	CHECK_EQ_INT(stats(&r)->resyncs, 0);
	run_done(&r);

	/* Body longer than declared: error, hunt, next op found. */
	run_init(&r, DIR_SEND, 64, true);
	feed_str(&r, 1, "PUB foo 3\r\nhello\r\nPING\r\n");
	CHECK_EQ_INT(r.s.n, 1);
	CHECK_REC(&r.s, 0, "PING");
	CHECK_EQ_INT(stats(&r)->errors, 1);
	run_done(&r);

	/* Header block that is not a NATS one. */
	run_init(&r, DIR_SEND, 64, true);
	feed_str(&r, 1, "HPUB foo 5 7\r\nXXXXXab\r\nPING\r\n");
	CHECK_EQ_INT(r.s.n, 1);
	CHECK_REC(&r.s, 0, "PING");
	CHECK_EQ_INT(stats(&r)->errors, 1);
	run_done(&r);

	/* The largest legal size is accepted (and its body then awaited). */
	run_init(&r, DIR_SEND, 64, true);
	feed_str(&r, 1, "PUB foo 67108864\r\n");
	gap(&r, 67108864 + 2);
	CHECK_EQ_INT(r.s.n, 1);
	CHECK_EQ_INT(stats(&r)->errors, 0);
	run_done(&r);
}

static void test_syntax_variants(void)
{
	struct run r;

	run_init(&r, DIR_SEND, 64, true);
	feed_str(&r, 1,
		 "pub\tfoo\t\t5\nhello\n"
		 "sub foo\tq 1\n"
		 "hpub  x 12 14 \nNATS/1.0\r\n\r\nhi\n"
		 "ping\nPoNg\r\n+ok\n-err 'x'\n"
		 "unsub 1\t5\n"
		 "Msg a b c 1\r\nz\r\n"
		 "info {}\n"
		 "connect\t{\"a\":1}\t\r\n");
	CHECK_EQ_INT(r.s.n, 11);
	CHECK_REC(&r.s, 0, "PUB subj=foo pay=hello size=5");
	CHECK_REC(&r.s, 1, "SUB subj=foo sid=1 q=q");
	CHECK_REC(&r.s, 2, "HPUB subj=x hdr=NATS/1.0\\r\\n\\r\\n pay=hi size=2 "
			   "hsize=12");
	CHECK_REC(&r.s, 3, "PING");
	CHECK_REC(&r.s, 4, "PONG");
	CHECK_REC(&r.s, 5, "+OK");
	CHECK_REC(&r.s, 6, "-ERR json=x");
	CHECK_REC(&r.s, 7, "UNSUB sid=1 max=5");
	CHECK_REC(&r.s, 8, "MSG subj=a reply=c sid=b pay=z size=1");
	CHECK_REC(&r.s, 9, "INFO json={}");
	CHECK_REC(&r.s, 10, "CONNECT json={\"a\":1}");
	CHECK_EQ_INT(stats(&r)->errors, 0);
	run_done(&r);
}

static void test_timestamps_and_keep(void)
{
	struct run r;

	run_init(&r, DIR_RECV, 2, true);
	feed_str(&r, 100, "PU");
	feed_str(&r, 200, "B a 3\r\nx");
	feed_str(&r, 300, "yz\r\n\r\nPING\r\n");
	feed_str(&r, 400, "PO");
	feed_str(&r, 500, "NG\r\n");
	CHECK_EQ_INT(r.s.n, 3);
	CHECK_REC(&r.s, 0, "PUB subj=a pay=xy size=3 trunc");
	CHECK_EQ_INT(r.s.n > 2 ? r.s.r[0].ts : 0, 100);
	CHECK_EQ_INT(r.s.n > 2 ? r.s.r[1].ts : 0, 300);
	CHECK_EQ_INT(r.s.n > 2 ? r.s.r[2].ts : 0, 400);
	CHECK_EQ_INT(stats(&r)->body_dropped, 1);
	run_done(&r);

	/* payload_keep = 0: sizes only. */
	run_init(&r, DIR_SEND, 0, true);
	feed_str(&r, 1, "PUB a 3\r\nxyz\r\nPUB b 0\r\n\r\n");
	CHECK_REC(&r.s, 0, "PUB subj=a size=3 trunc");
	CHECK_REC(&r.s, 1, "PUB subj=b size=0");
	run_done(&r);
}

static void test_looks_like_op(void)
{
	static const char *const yes[] = {
		"PUB foo 1\r\n", "pub ", "PING\r\n", "PING", "ping", "+OK\r\n",
		"-ERR 'x'", "INFO {}", "CONNECT {", "HMSG a", "Sub\tx",
		NULL
	};
	static const char *const no[] = {
		"PUBLISH", "GET / HTTP/1.1\r\n", "PIN", "", "PUB", "P",
		"\x16\x03\x01\x02", "INFOx", "PUT /x HTTP/1.1", "HTTP/1.1 200",
		NULL
	};

	for (int i = 0; yes[i]; i++)
		CHECK_MSG(nats_looks_like_op((const uint8_t *)yes[i],
					     strlen(yes[i])),
			  "\"%s\"", yes[i]);
	for (int i = 0; no[i]; i++)
		CHECK_MSG(!nats_looks_like_op((const uint8_t *)no[i],
					      strlen(no[i])),
			  "\"%s\"", no[i]);
	CHECK(!nats_looks_like_op(NULL, 0));
}

/*
 * Mutated sessions, random chunkings and gaps, random payload_keep: nothing
 * may crash (ASan/UBSan watch), every record stays sane, memory bounded.
 */
static void test_fuzz(void)
{
	static const size_t keeps[] = { 0, 1, 3, 4096 };
	size_t base = sizeof(session) - 1;
	uint8_t *buf = malloc(base * 2);
	uint64_t seed = 7;

	for (int it = 0; it < 3000; it++) {
		size_t n = base, keep = keeps[rnd(&seed) % 4];
		int muts = (int)(rnd(&seed) % 6);
		struct run r;

		memcpy(buf, session, base);
		for (int m = 0; m < muts; m++) {
			size_t at = rnd(&seed) % n;

			if (rnd(&seed) % 3 == 0 && n > 1) {
				memmove(buf + at, buf + at + 1, n - at - 1);
				n--;
			} else {
				buf[at] = (uint8_t)rnd(&seed);
			}
		}
		run_init(&r, DIR_SEND, keep, rnd(&seed) % 2);
		for (size_t i = 0; i < n;) {
			size_t c = 1 + rnd(&seed) % 64;

			c = c < n - i ? c : n - i;
			if (rnd(&seed) % 10 == 0) {
				gap(&r, c);
			} else {
				feed(&r, 1, buf + i, c);
			}
			i += c;
			if (nats_parser_memory(r.p) >
			    1024 + NATS_LINE_MAX + keep)
				r.s.bad++;
		}
		run_done(&r);
	}
	free(buf);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/data/nats";

	test_each_op();
	test_fields_raw();
	test_session();
	test_captures(dir);
	test_big_payload_gap();
	test_gaps();
	test_unsynced();
	test_garbage();
	test_long_line();
	test_big_headers();
	test_malformed();
	test_syntax_variants();
	test_timestamps_and_keep();
	test_looks_like_op();
	test_fuzz();
	return check_summary("nats_parser");
}
