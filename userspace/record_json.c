/* SPDX-License-Identifier: MIT */
#include "record_json.h"

#include <stdlib.h>
#include <string.h>

static const char *const nats_op_names[NATS_OP__COUNT] = {
	[NATS_INFO] = "INFO", [NATS_CONNECT] = "CONNECT", [NATS_PUB] = "PUB",
	[NATS_HPUB] = "HPUB", [NATS_SUB] = "SUB", [NATS_UNSUB] = "UNSUB",
	[NATS_MSG] = "MSG", [NATS_HMSG] = "HMSG", [NATS_PING] = "PING",
	[NATS_PONG] = "PONG", [NATS_OK] = "+OK", [NATS_ERR] = "-ERR",
};

const char *nats_op_name(enum nats_op op)
{
	return (unsigned)op < NATS_OP__COUNT ? nats_op_names[op] : "?";
}

const char *role_name(enum role role)
{
	switch (role) {
	case ROLE_CLIENT: return "client";
	case ROLE_SERVER: return "server";
	default: return "unknown";
	}
}

/* Under the member name q (JW_KEY): text if UTF-8, else base64 plus
 * <name>_encoding. Empty: nothing. */
static void write_bytes(struct jw *w, const char *q, size_t qn, struct slice b)
{
	char enc_key[64];

	if (!b.len)
		return;
	jw_key_quoted(w, q, qn);
	if (jw_string_utf8(w, b.ptr, b.len))
		return;
	jw_base64(w, b.ptr, b.len);
	snprintf(enc_key, sizeof(enc_key), "%.*s_encoding", (int)(qn - 3), q + 1);
	jw_key(w, enc_key);
	jw_string_lit(w, "base64");
}

/* Protocol strings (subjects, methods) are text; anything else is shown
 * as base64 rather than dropped. */
static void write_text(struct jw *w, const char *q, size_t qn, struct slice s)
{
	write_bytes(w, q, qn, s);
}

/* ---- headers: name -> value, repeated names -> array ------------------- */

struct header_view {
	struct slice name, value;
};

static bool same_name(struct slice a, struct slice b)
{
	return a.len == b.len && !memcmp(a.ptr, b.ptr, a.len);
}

/* Whether a name comes twice: most heads have none, and then each header
 * is its own member, found without looking for its other values. */
static bool names_repeat(const struct header_view *h, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = 0; j < i; j++)
			if (same_name(h[j].name, h[i].name))
				return true;
	return false;
}

/* A name as a key: cut at a NUL, false if it is not UTF-8. Nearly all are
 * short plain ASCII, which needs neither look. */
static bool header_name_len(const char *name, size_t *kn)
{
	const char *nul;

	if (jw_plain(name, *kn))
		return true;
	nul = *kn ? memchr(name, '\0', *kn) : NULL;
	if (nul)
		*kn = (size_t)(nul - name);
	return utf8_valid(name, *kn);
}

/* A value that is not UTF-8 is written empty rather than misreported. */
static void put_header_value(struct jw *w, struct slice v)
{
	if (!jw_string_utf8(w, v.ptr, v.len))
		jw_string(w, "");
}

/*
 * Write headers as one object. A name given several times becomes an array
 * of its values, at the place of its first occurrence. Names that are not
 * UTF-8 are skipped rather than misreported.
 */
static void write_headers(struct jw *w, const struct header_view *h, int n)
{
	bool repeats = names_repeat(h, n);

	jw_key_lit(w, "headers");
	jw_object_begin(w);
	for (int i = 0; i < n; i++) {
		int count = 0;
		bool seen = false;
		/* names are cut at 255 bytes, and at a NUL (JSON allows one in
		 * a key, jansson and so replay do not) */
		size_t kn = h[i].name.len < 255 ? h[i].name.len : 255;

		for (int j = 0; repeats && j < i && !seen; j++)
			seen = same_name(h[j].name, h[i].name);
		if (seen || !header_name_len(h[i].name.ptr, &kn))
			continue;
		if (!repeats) {
			jw_key_n(w, h[i].name.ptr, kn);
			put_header_value(w, h[i].value);
			continue;
		}
		for (int j = i; j < n; j++)
			count += same_name(h[j].name, h[i].name);
		jw_key_n(w, h[i].name.ptr, kn);
		if (count > 1)
			jw_array_begin(w);
		for (int j = i; j < n; j++) {
			if (same_name(h[j].name, h[i].name))
				put_header_value(w, h[j].value);
		}
		if (count > 1)
			jw_array_end(w);
	}
	jw_object_end(w);
}

/* NATS header block: "NATS/1.0[ status[ text]]\r\n(Name: value\r\n)*\r\n". */
static void write_nats_headers(struct jw *w, struct slice block)
{
	struct header_view h[HTTP_MAX_HEADERS];
	/* An HPUB/HMSG whose header block was not captured has ptr NULL:
	 * NULL + 0 is undefined behaviour (UBSan, fuzz_nats_parser). */
	const char *p = block.ptr ? block.ptr : "", *end = p + (block.ptr ? block.len : 0);
	long status = -1;
	int n = 0;
	bool first = true;

	while (p < end) {
		const char *eol = memchr(p, '\n', end - p);
		const char *le = eol ? eol : end, *colon;

		if (le > p && le[-1] == '\r')
			le--;
		if (first) {
			/* le >= p: said here, since gcc cannot see it */
			const char *sp = le > p ? memchr(p, ' ', (size_t)(le - p)) : NULL;

			first = false;
			if (sp && le - sp > 1)
				status = strtol(sp + 1, NULL, 10);
		} else if (n < HTTP_MAX_HEADERS && le > p && (colon = memchr(p, ':', le - p))) {
			const char *v = colon + 1;

			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			h[n].name = slice_from(p, colon - p);
			h[n].value = slice_from(v, le - v);
			n++;
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	if (status >= 0) {
		jw_key_lit(w, "status");
		jw_int(w, status);
	}
	write_headers(w, h, n);
}

/* INFO/CONNECT arguments: the object itself when it is valid JSON, else
 * (cut by the snaplen) the text. Rare ops, so jansson's check is fine. */
static void write_json_arg(struct jw *w, const char *q, size_t qn, struct slice s)
{
	json_t *j = json_loadb(s.ptr, s.len, 0, NULL);
	char *dumped = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	if (dumped) {
		jw_key_quoted(w, q, qn);
		jw_raw(w, dumped, strlen(dumped));
	} else {
		write_text(w, q, qn, s);
	}
	free(dumped);
	json_decref(j);
}

static void write_nats(struct jw *w, const struct nats_msg *m)
{
	jw_key_lit(w, "op");
	jw_string(w, nats_op_name(m->op));
	write_text(w, JW_KEY("subject"), m->subject);
	write_text(w, JW_KEY("reply"), m->reply);
	write_text(w, JW_KEY("sid"), m->sid);
	write_text(w, JW_KEY("queue"), m->queue);
	switch (m->op) {
	case NATS_UNSUB:
		if (m->max_msgs >= 0) {
			jw_key_lit(w, "max");
			jw_int(w, m->max_msgs);
		}
		break;
	case NATS_HPUB: case NATS_HMSG:
		jw_key_lit(w, "header_size");
		jw_uint(w, m->header_size);
		write_nats_headers(w, m->headers);
		/* fall through */
	case NATS_PUB: case NATS_MSG:
		jw_key_lit(w, "size");
		jw_uint(w, m->size);
		write_bytes(w, JW_KEY("payload"), m->payload);
		break;
	case NATS_INFO:
		write_json_arg(w, JW_KEY("info"), m->json);
		break;
	case NATS_CONNECT:
		write_json_arg(w, JW_KEY("connect"), m->json);
		break;
	case NATS_ERR:
		write_text(w, JW_KEY("error"), m->json);
		break;
	default:
		break;
	}
	if (m->truncated) {
		jw_key_lit(w, "truncated");
		jw_bool(w, true);
	}
}

/* The members that follow from the head: "kind" to "headers". */
static void write_http_head(struct jw *w, const struct http_msg *m)
{
	struct header_view h[HTTP_MAX_HEADERS];
	int n = m->n_headers < HTTP_MAX_HEADERS ? m->n_headers : HTTP_MAX_HEADERS;

	jw_key_lit(w, "kind");
	if (m->kind == HTTP_REQUEST) {
		jw_string_lit(w, "request");
		write_text(w, JW_KEY("method"), m->method);
		write_text(w, JW_KEY("path"), m->path);
	} else {
		jw_string_lit(w, "response");
		jw_key_lit(w, "status");
		jw_int(w, m->status);
		write_text(w, JW_KEY("reason"), m->reason);
	}
	write_text(w, JW_KEY("version"), m->version);
	for (int i = 0; i < n; i++) {
		h[i].name = m->headers[i].name;
		h[i].value = m->headers[i].value;
	}
	write_headers(w, h, n);
}

/* A cheap spread of the head's bytes over the slots; the slot's own copy
 * of the head decides. */
static size_t head_slot(const char *p, size_t n)
{
	uint64_t h = n, x;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&x, p + i, 8);
		h = ((h << 7) | (h >> 57)) ^ x;
	}
	x = 0;
	memcpy(&x, p + i, n - i);
	h = (h ^ x) * 0x9E3779B97F4A7C15ULL;
	return (size_t)(h >> 59) % RECORD_JSON_HEAD_SLOTS;
}

/* write_http_head(), from the cache when this head was seen. Rendered
 * into w itself at a miss, and the text copied from there. */
static void write_http_head_cached(struct jw *w, const struct http_msg *m,
				   struct record_json_cache *cache)
{
	struct record_json_head *s;
	size_t start = w->len, n;

	if (!cache || !m->head.len || m->head.len > RECORD_JSON_HEAD_MAX) {
		write_http_head(w, m);
		return;
	}
	s = &cache->head[head_slot(m->head.ptr, m->head.len)];
	if (s->head_len == m->head.len &&
	    !memcmp(s->head, m->head.ptr, m->head.len)) {
		jw_raw_members(w, s->json, s->json_len);
		return;
	}
	write_http_head(w, m);
	n = w->len - start;
	s->head_len = 0;
	if (w->oom || n > sizeof(s->json))
		return;
	memcpy(s->head, m->head.ptr, m->head.len);
	memcpy(s->json, w->buf + start, n);
	s->json_len = n;
	s->head_len = m->head.len;
}

static void write_http(struct jw *w, const struct http_msg *m,
		       struct record_json_cache *cache)
{
	write_http_head_cached(w, m, cache);
	write_bytes(w, JW_KEY("body"), m->body);
	jw_key_lit(w, "size");
	jw_uint(w, m->body_size);
	if (m->chunked) {
		jw_key_lit(w, "chunked");
		jw_bool(w, true);
	}
	if (m->truncated) {
		jw_key_lit(w, "truncated");
		jw_bool(w, true);
	}
}

static void write_conn(struct jw *w, const struct conn_meta *c)
{
	jw_key_lit(w, "pid");
	jw_uint(w, c->pid);
	jw_key_lit(w, "comm");
	if (!jw_string_utf8(w, c->comm, strnlen(c->comm, COMM_LEN)))
		jw_string(w, "?");
	jw_key_lit(w, "conn");
	jw_uint(w, c->id);
	jw_key_lit(w, "local");
	jw_string(w, c->local);
	jw_key_lit(w, "peer");
	jw_string(w, c->peer);
	jw_key_lit(w, "role");
	jw_string(w, role_name(c->role));
	if (c->tls) {
		jw_key_lit(w, "tls");
		jw_bool(w, true);
	}
}

/* The connection's members, from the cache when this meta was seen. Its
 * members are written into a scratch writer at depth 1, so the cached text
 * starts with the comma that follows "ts". */
static void write_conn_cached(struct jw *w, const struct conn_meta *c,
			      struct record_json_cache *cache)
{
	struct record_json_conn *s = &cache->slot[c->id % RECORD_JSON_CACHE_SLOTS];
	struct jw tmp;

	if (!s->valid || memcmp(&s->meta, c, sizeof(*c))) {
		jw_init(&tmp);
		jw_object_begin(&tmp);
		tmp.first[tmp.depth] = false; /* "type" and "ts" come first */
		write_conn(&tmp, c);
		s->valid = !tmp.oom && tmp.len - 1 <= sizeof(s->json);
		if (s->valid) {
			memcpy(&s->meta, c, sizeof(*c));
			s->len = tmp.len - 1; /* without the '{' */
			memcpy(s->json, tmp.buf + 1, s->len);
		}
		jw_free(&tmp);
		if (!s->valid) {
			write_conn(w, c);
			return;
		}
	}
	jw_raw_members(w, s->json, s->len);
}

void record_write_json_cached(struct jw *w, const struct msg_record *rec,
			      struct record_json_cache *cache)
{
	jw_object_begin(w);
	jw_key_lit(w, "type");
	if (rec->proto == PROTO_NATS)
		jw_string_lit(w, "nats");
	else
		jw_string_lit(w, "http");
	jw_key_lit(w, "ts");
	jw_uint(w, rec->ts_ns);
	if (rec->conn && cache)
		write_conn_cached(w, rec->conn, cache);
	else if (rec->conn)
		write_conn(w, rec->conn);
	jw_key_lit(w, "dir");
	if (rec->dir == DIR_SEND)
		jw_string_lit(w, "send");
	else
		jw_string_lit(w, "recv");
	if (rec->peer_read) {
		jw_key_lit(w, "peer_read");
		jw_bool(w, true);
	}
	if (rec->proto == PROTO_NATS)
		write_nats(w, &rec->nats);
	else
		write_http(w, &rec->http, cache);
	jw_object_end(w);
}

void record_write_json(struct jw *w, const struct msg_record *rec)
{
	record_write_json_cached(w, rec, NULL);
}

json_t *record_to_json(const struct msg_record *rec)
{
	struct jw w;
	json_t *o = NULL;

	jw_init(&w);
	record_write_json(&w, rec);
	if (!w.oom)
		o = json_loadb(w.buf, w.len, JSON_ALLOW_NUL, NULL);
	jw_free(&w);
	return o;
}
