// SPDX-License-Identifier: MIT
/* trace_reader.c — JSON Lines trace → records (see trace_reader.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getline, open_memstream, strdup */
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "trace_reader.h"

/* ---- connection table: conn id → conn_meta ---- */

struct conn_ent {
	struct conn_ent *next;
	struct conn_meta meta;
};

struct conn_tab {
	struct conn_ent **b;
	size_t nb, n;
};

static struct conn_meta *conn_get(struct conn_tab *t, uint64_t id)
{
	struct conn_ent *e;
	size_t i;

	if (!t->b) {
		t->nb = 256;
		t->b = calloc(t->nb, sizeof(*t->b));
		if (!t->b)
			return NULL;
	}
	i = (id * 0x9e3779b97f4a7c15ULL) >> 32 & (t->nb - 1);
	for (e = t->b[i]; e; e = e->next)
		if (e->meta.id == id)
			return &e->meta;
	if (t->n >= t->nb * 2) { /* grow: rehash into twice the buckets */
		size_t nn = t->nb * 2;
		struct conn_ent **nb = calloc(nn, sizeof(*nb));

		if (nb) {
			for (size_t k = 0; k < t->nb; k++) {
				while (t->b[k]) {
					struct conn_ent *x = t->b[k];
					size_t j = (x->meta.id * 0x9e3779b97f4a7c15ULL) >> 32 & (nn - 1);

					t->b[k] = x->next;
					x->next = nb[j];
					nb[j] = x;
				}
			}
			free(t->b);
			t->b = nb;
			t->nb = nn;
			i = (id * 0x9e3779b97f4a7c15ULL) >> 32 & (nn - 1);
		}
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->meta.id = id;
	e->next = t->b[i];
	t->b[i] = e;
	t->n++;
	return &e->meta;
}

static void conn_tab_free(struct conn_tab *t)
{
	for (size_t i = 0; i < t->nb; i++) {
		while (t->b[i]) {
			struct conn_ent *e = t->b[i];

			t->b[i] = e->next;
			free(e);
		}
	}
	free(t->b);
}

/* ---- reader state ---- */

struct reader {
	const char *name;
	const struct trace_reader_ops *ops;
	void *ctx;
	struct trace_reader_stats st;
	struct conn_tab conns;
	uint64_t lineno;
	/* scratch owned by the line being converted */
	char *scratch[4];
	size_t nscratch;
};

/* Messages quote the input (jansson's "near '...'"): a newline there would
 * split the one-line message, an escape sequence would reach the terminal
 * (found by tests/fuzz/fuzz_trace_reader). Control characters become '?'. */
static void flatten(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void warn(struct reader *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	flatten(msg);
	if (r->ops->on_warning)
		r->ops->on_warning(msg, r->ctx);
	else
		fprintf(stderr, "msgscope: %s\n", msg);
}

static void malformed(struct reader *r, const char *why)
{
	r->st.malformed++;
	if (r->st.malformed <= TRACE_WARN_MAX)
		warn(r, "%s:%" PRIu64 ": malformed line skipped: %s", r->name,
		     r->lineno, why);
	if (r->st.malformed == TRACE_WARN_MAX)
		warn(r, "%s: further malformed lines are only counted", r->name);
}

static char *keep(struct reader *r, char *p)
{
	if (p && r->nscratch < sizeof(r->scratch) / sizeof(r->scratch[0]))
		r->scratch[r->nscratch++] = p;
	else if (p) { /* cannot happen: at most one of each per line */
		free(p);
		p = NULL;
	}
	return p;
}

static void scratch_free(struct reader *r)
{
	for (size_t i = 0; i < r->nscratch; i++)
		free(r->scratch[i]);
	r->nscratch = 0;
}

/* ---- field access; false = present with the wrong type ---- */

static bool get_str(json_t *o, const char *key, struct slice *out)
{
	json_t *v = json_object_get(o, key);

	*out = SLICE_NULL;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v))
		return false;
	*out = slice_from(json_string_value(v), json_string_length(v));
	return true;
}

static bool get_int(json_t *o, const char *key, int64_t *out, bool *present)
{
	json_t *v = json_object_get(o, key);

	if (present)
		*present = v && !json_is_null(v);
	if (!v || json_is_null(v))
		return true;
	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

static bool get_bool(json_t *o, const char *key, bool *out)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return true;
	if (!json_is_boolean(v))
		return false;
	*out = json_is_true(v);
	return true;
}

static void copy_slice(char *dst, size_t n, struct slice s)
{
	size_t l = s.len < n - 1 ? s.len : n - 1;

	if (s.ptr)
		memcpy(dst, s.ptr, l);
	else
		l = 0;
	dst[l] = '\0';
}

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decode base64 (padding optional). NULL on bad input. */
static char *b64_decode(struct slice in, size_t *outlen)
{
	char *out = malloc(in.len / 4 * 3 + 3 + 1);
	uint32_t acc = 0;
	size_t n = 0, bits = 0, i;

	if (!out)
		return NULL;
	for (i = 0; i < in.len; i++) {
		unsigned char c = (unsigned char)in.ptr[i];
		int v;

		if (c == '=')
			break;
		v = b64_val(c);
		if (v < 0)
			goto bad;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)(acc >> bits & 0xff);
		}
	}
	for (; i < in.len; i++) /* only padding may follow */
		if (in.ptr[i] != '=')
			goto bad;
	out[n] = '\0';
	*outlen = n;
	return out;
bad:
	free(out);
	return NULL;
}

/* payload/body: text, or base64 when <key>_encoding says so. */
static bool get_bytes(struct reader *r, json_t *o, const char *key,
		      struct slice *out)
{
	char enc_key[32];
	struct slice enc;
	size_t n = 0;
	char *dec;

	if (!get_str(o, key, out))
		return false;
	snprintf(enc_key, sizeof(enc_key), "%s_encoding", key);
	if (!get_str(o, enc_key, &enc))
		return false;
	if (!enc.ptr || !out->ptr)
		return true;
	if (enc.len != 6 || memcmp(enc.ptr, "base64", 6) != 0)
		return false;
	dec = keep(r, b64_decode(*out, &n));
	if (!dec)
		return false;
	*out = slice_from(dec, n);
	return true;
}

/* ---- connection fields ---- */

static bool conn_fields(struct reader *r, json_t *o, struct msg_record *rec)
{
	int64_t id = 0, ts = 0, pid = 0;
	bool has_id, has_ts, tls = false, peer_read = false;
	struct slice dir, comm, local, peer, role;
	struct conn_meta *m;

	/* ids are the kernel's counter: a negative one would come back out
	 * as a uint64 no JSON reader of ours takes (fuzz_trace_reader) */
	if (!get_int(o, "conn", &id, &has_id) || !has_id || id < 0)
		return false;
	if (!get_int(o, "ts", &ts, &has_ts) || !has_ts || ts < 0)
		return false;
	if (!get_str(o, "dir", &dir) || !dir.ptr)
		return false;
	if (dir.len == 4 && !memcmp(dir.ptr, "send", 4))
		rec->dir = DIR_SEND;
	else if (dir.len == 4 && !memcmp(dir.ptr, "recv", 4))
		rec->dir = DIR_RECV;
	else
		return false;
	if (!get_int(o, "pid", &pid, NULL) || !get_str(o, "comm", &comm) ||
	    !get_str(o, "local", &local) || !get_str(o, "peer", &peer) ||
	    !get_str(o, "role", &role) || !get_bool(o, "tls", &tls) ||
	    !get_bool(o, "peer_read", &peer_read))
		return false;
	m = conn_get(&r->conns, (uint64_t)id);
	if (!m)
		return false;
	/* the latest line wins: a conn id never changes hands in one trace */
	if (pid)
		m->pid = (uint32_t)pid;
	if (comm.ptr)
		copy_slice(m->comm, sizeof(m->comm), comm);
	if (local.ptr)
		copy_slice(m->local, sizeof(m->local), local);
	if (peer.ptr)
		copy_slice(m->peer, sizeof(m->peer), peer);
	if (role.ptr) {
		if (role.len == 6 && !memcmp(role.ptr, "client", 6))
			m->role = ROLE_CLIENT;
		else if (role.len == 6 && !memcmp(role.ptr, "server", 6))
			m->role = ROLE_SERVER;
		else
			m->role = ROLE_UNKNOWN;
	}
	m->tls = tls;
	rec->conn = m;
	rec->ts_ns = (uint64_t)ts;
	rec->peer_read = peer_read;
	return true;
}

/* ---- nats ---- */

static const char *const nats_ops[NATS_OP__COUNT] = {
	[NATS_INFO] = "INFO", [NATS_CONNECT] = "CONNECT", [NATS_PUB] = "PUB",
	[NATS_HPUB] = "HPUB", [NATS_SUB] = "SUB", [NATS_UNSUB] = "UNSUB",
	[NATS_MSG] = "MSG", [NATS_HMSG] = "HMSG", [NATS_PING] = "PING",
	[NATS_PONG] = "PONG", [NATS_OK] = "+OK", [NATS_ERR] = "-ERR",
};

static int nats_op_parse(struct slice s)
{
	for (int i = 0; i < NATS_OP__COUNT; i++)
		if (strlen(nats_ops[i]) == s.len && !memcmp(nats_ops[i], s.ptr, s.len))
			return i;
	return -1;
}

/* The header block as the parser saw it: "NATS/1.0[ status]\r\n" then
 * "Name: value\r\n" per value, then "\r\n". */
static bool nats_header_block(struct reader *r, json_t *o, struct slice *out)
{
	json_t *h = json_object_get(o, "headers"), *v;
	int64_t status = 0;
	const char *key;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	*out = SLICE_NULL;
	if (!get_int(o, "status", &status, NULL))
		return false;
	if ((!h || json_is_null(h)) && !status)
		return true;
	if (h && !json_is_null(h) && !json_is_object(h))
		return false;
	f = open_memstream(&buf, &len);
	if (!f)
		return false;
	fprintf(f, status ? "NATS/1.0 %lld\r\n" : "NATS/1.0\r\n", (long long)status);
	json_object_foreach(h, key, v) {
		size_t i;
		json_t *e;

		if (json_is_string(v)) {
			fprintf(f, "%s: %s\r\n", key, json_string_value(v));
			continue;
		}
		if (!json_is_array(v))
			continue;
		json_array_foreach(v, i, e)
			if (json_is_string(e))
				fprintf(f, "%s: %s\r\n", key, json_string_value(e));
	}
	fputs("\r\n", f);
	fclose(f);
	if (!keep(r, buf))
		return false;
	*out = slice_from(buf, len);
	return true;
}

/* INFO/CONNECT: the object as compact JSON text; a string as is. */
static bool nats_json_arg(struct reader *r, json_t *o, const char *key,
			  struct slice *out)
{
	json_t *v = json_object_get(o, key);
	char *s;

	*out = SLICE_NULL;
	if (!v || json_is_null(v))
		return true;
	if (json_is_string(v))
		return get_str(o, key, out);
	if (!json_is_object(v))
		return false;
	s = keep(r, json_dumps(v, JSON_COMPACT));
	if (!s)
		return false;
	*out = slice_from(s, strlen(s));
	return true;
}

/* 1: record built, 0: skip quietly (unknown op), -1: malformed */
static int nats_record(struct reader *r, json_t *o, struct msg_record *rec,
		       const char **why)
{
	struct nats_msg *m = &rec->nats;
	struct slice op;
	int64_t size = 0, hsize = 0, max = -1;
	bool has_max = false;
	int k;

	rec->proto = PROTO_NATS;
	m->max_msgs = -1;
	if (!get_str(o, "op", &op) || !op.ptr) {
		*why = "nats line without op";
		return -1;
	}
	k = nats_op_parse(op);
	if (k < 0)
		return 0;
	m->op = (enum nats_op)k;
	*why = "nats field of the wrong type";
	if (!get_str(o, "subject", &m->subject) || !get_str(o, "reply", &m->reply) ||
	    !get_str(o, "sid", &m->sid) || !get_str(o, "queue", &m->queue) ||
	    !get_int(o, "size", &size, NULL) ||
	    !get_int(o, "header_size", &hsize, NULL) ||
	    !get_int(o, "max", &max, &has_max) ||
	    !get_bool(o, "truncated", &m->truncated) || size < 0 || hsize < 0)
		return -1;
	m->size = (uint64_t)size;
	m->header_size = (uint64_t)hsize;
	m->max_msgs = has_max ? max : -1;
	*why = "bad nats payload, headers or argument";
	if (!get_bytes(r, o, "payload", &m->payload))
		return -1;
	if ((m->op == NATS_HPUB || m->op == NATS_HMSG) &&
	    !nats_header_block(r, o, &m->headers))
		return -1;
	if (m->op == NATS_INFO && !nats_json_arg(r, o, "info", &m->json))
		return -1;
	if (m->op == NATS_CONNECT && !nats_json_arg(r, o, "connect", &m->json))
		return -1;
	if (m->op == NATS_ERR && !get_str(o, "error", &m->json))
		return -1;
	return 1;
}

/* ---- http ---- */

static bool http_headers(json_t *o, struct http_msg *m)
{
	json_t *h = json_object_get(o, "headers"), *v, *e;
	const char *key;
	size_t i;

	if (!h || json_is_null(h))
		return true;
	if (!json_is_object(h))
		return false;
	json_object_foreach(h, key, v) {
		struct slice name = slice_from(key, strlen(key));

		if (json_is_string(v) && m->n_headers < HTTP_MAX_HEADERS) {
			m->headers[m->n_headers].name = name;
			m->headers[m->n_headers++].value =
				slice_from(json_string_value(v), json_string_length(v));
		} else if (json_is_array(v)) {
			json_array_foreach(v, i, e) {
				if (!json_is_string(e) || m->n_headers >= HTTP_MAX_HEADERS)
					continue;
				m->headers[m->n_headers].name = name;
				m->headers[m->n_headers++].value =
					slice_from(json_string_value(e), json_string_length(e));
			}
		}
	}
	return true;
}

static int http_record(struct reader *r, json_t *o, struct msg_record *rec,
		       const char **why)
{
	struct http_msg *m = &rec->http;
	struct slice kind;
	int64_t status = 0, size = 0;

	rec->proto = PROTO_HTTP;
	if (!get_str(o, "kind", &kind) || !kind.ptr) {
		*why = "http line without kind";
		return -1;
	}
	if (kind.len == 7 && !memcmp(kind.ptr, "request", 7))
		m->kind = HTTP_REQUEST;
	else if (kind.len == 8 && !memcmp(kind.ptr, "response", 8))
		m->kind = HTTP_RESPONSE;
	else
		return 0;
	*why = "http field of the wrong type";
	if (!get_str(o, "method", &m->method) || !get_str(o, "path", &m->path) ||
	    !get_str(o, "version", &m->version) ||
	    !get_str(o, "reason", &m->reason) ||
	    !get_int(o, "status", &status, NULL) ||
	    !get_int(o, "size", &size, NULL) || size < 0 ||
	    !get_bool(o, "chunked", &m->chunked) ||
	    !get_bool(o, "truncated", &m->truncated) || !http_headers(o, m))
		return -1;
	m->status = (int)status;
	m->body_size = (uint64_t)size;
	*why = "bad http body";
	if (!get_bytes(r, o, "body", &m->body))
		return -1;
	return 1;
}

/* ---- lines ---- */

static void message_line(struct reader *r, json_t *o, bool nats)
{
	struct msg_record rec;
	const char *why = "connection fields missing or of the wrong type";
	int rc;

	memset(&rec, 0, sizeof(rec));
	if (!conn_fields(r, o, &rec)) {
		malformed(r, why);
		return;
	}
	rc = nats ? nats_record(r, o, &rec, &why) : http_record(r, o, &rec, &why);
	if (rc < 0)
		malformed(r, why);
	else if (rc == 0)
		r->st.ignored++;
	else {
		r->st.records++;
		if (r->ops->on_record)
			r->ops->on_record(&rec, r->ctx);
	}
	scratch_free(r);
}

static int meta_line(struct reader *r, json_t *o, char *err, size_t errsz)
{
	int64_t schema = 0;
	bool has = false;

	if (!get_int(o, "schema", &schema, &has) || !has || schema < 1) {
		snprintf(err, errsz, "%s:%" PRIu64 ": meta line without a valid schema",
			 r->name, r->lineno);
		return -1;
	}
	if (schema > TRACE_SCHEMA) {
		snprintf(err, errsz,
			 "%s: trace schema %lld is newer than this msgscope reads (%d)",
			 r->name, (long long)schema, TRACE_SCHEMA);
		return -1;
	}
	r->st.schema = schema;
	return 0;
}

static bool type_is(const char *t, const char *want)
{
	return strcmp(t, want) == 0;
}

/* 0 ok (line handled or skipped), -1 fatal */
static int one_line(struct reader *r, const char *line, size_t len, char *err,
		    size_t errsz)
{
	bool first = r->st.lines++ == 0;
	json_error_t jerr;
	/* Payloads are text when valid UTF-8, and U+0000 is: accept "\u0000"
	 * (jansson refuses it by default), or such lines would be lost. */
	json_t *o = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
	const char *type;
	int rc = 0;

	if (!o && first) {
		snprintf(err, errsz, "%s: not a JSON Lines trace (line %" PRIu64 ": %s)",
			 r->name, r->lineno, jerr.text);
		return -1;
	}
	if (!o) {
		malformed(r, jerr.text);
		return 0;
	}
	type = json_string_value(json_object_get(o, "type"));
	if (first && (!type || !type_is(type, "meta"))) {
		snprintf(err, errsz, "%s: first line is not a meta record", r->name);
		rc = -1;
		goto out;
	}
	if (!type) {
		malformed(r, json_is_object(o) ? "no type" : "not a JSON object");
	} else if (type_is(type, "nats") || type_is(type, "http")) {
		message_line(r, o, type_is(type, "nats"));
	} else if (type_is(type, "meta") || type_is(type, "drops") ||
		   type_is(type, "end") || type_is(type, "metrics")) {
		if (type_is(type, "meta") && meta_line(r, o, err, errsz)) {
			rc = -1;
			goto out;
		}
		r->st.other++;
		if (r->ops->on_other)
			r->ops->on_other(o, type, r->ctx);
	} else {
		r->st.ignored++; /* exchange/delivery/flow are recomputed */
	}
out:
	json_decref(o);
	return rc;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

int trace_read_stream(FILE *f, const char *name,
		      const struct trace_reader_ops *ops, void *ctx,
		      struct trace_reader_stats *st, char *err, size_t errsz)
{
	static const struct trace_reader_ops none;
	struct reader r;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	r.name = name ? name : "trace";
	r.ops = ops ? ops : &none;
	r.ctx = ctx;
	while ((n = getline(&line, &cap, f)) >= 0) {
		r.lineno++;
		if (blank(line, (size_t)n))
			continue;
		rc = one_line(&r, line, (size_t)n, err, errsz);
		if (rc)
			break;
	}
	if (!rc && ferror(f)) {
		snprintf(err, errsz, "%s: read error: %s", r.name, strerror(errno));
		rc = -1;
	}
	if (!rc && r.st.lines == 0) {
		snprintf(err, errsz, "%s: empty trace (no meta line)", r.name);
		rc = -1;
	}
	free(line);
	conn_tab_free(&r.conns);
	if (st)
		*st = r.st;
	if (rc && errsz)
		flatten(err);
	return rc;
}

int trace_read_path(const char *path, const struct trace_reader_ops *ops,
		    void *ctx, struct trace_reader_stats *st, char *err,
		    size_t errsz)
{
	FILE *f;
	int rc;

	if (strcmp(path, "-") == 0)
		return trace_read_stream(stdin, "-", ops, ctx, st, err, errsz);
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = trace_read_stream(f, path, ops, ctx, st, err, errsz);
	fclose(f);
	return rc;
}
