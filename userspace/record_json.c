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

static char *base64_encode(const unsigned char *in, size_t n)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = in[i] << 16;

		if (i + 1 < n)
			v |= in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		*o++ = tbl[(v >> 18) & 63];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? tbl[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

void json_set_bytes(json_t *obj, const char *key, struct slice bytes)
{
	json_t *s;
	char *b64, enc_key[64];

	if (!bytes.len)
		return;
	/* jansson refuses invalid UTF-8, which is exactly our text test. */
	s = json_stringn(bytes.ptr, bytes.len);
	if (s) {
		json_object_set_new(obj, key, s);
		return;
	}
	b64 = base64_encode((const unsigned char *)bytes.ptr, bytes.len);
	if (!b64)
		return;
	json_object_set_new(obj, key, json_string(b64));
	free(b64);
	snprintf(enc_key, sizeof(enc_key), "%s_encoding", key);
	json_object_set_new(obj, enc_key, json_string("base64"));
}

static void set_slice(json_t *obj, const char *key, struct slice s)
{
	if (s.len)
		json_set_bytes(obj, key, s);
}

/* Add name: value, turning a repeated name into an array of values. */
static void header_add(json_t *hdrs, struct slice name, struct slice value)
{
	char key[256];
	size_t n = name.len < sizeof(key) - 1 ? name.len : sizeof(key) - 1;
	json_t *old, *val = json_stringn(value.ptr, value.len);

	if (!val)
		val = json_string("");
	memcpy(key, name.ptr, n);
	key[n] = '\0';
	old = json_object_get(hdrs, key);
	if (!old) {
		/* Fails (and frees val) for a key that is not UTF-8: such a
		 * header is skipped rather than misreported. */
		json_object_set_new(hdrs, key, val);
	} else if (json_is_array(old)) {
		json_array_append_new(old, val);
	} else {
		json_t *arr = json_array();

		json_array_append(arr, old);
		json_array_append_new(arr, val);
		json_object_set_new(hdrs, key, arr);
	}
}

/* NATS header block: "NATS/1.0[ status[ text]]\r\n(Name: value\r\n)*\r\n". */
static void nats_headers(json_t *obj, struct slice block)
{
	json_t *hdrs = json_object();
	const char *p = block.ptr, *end = block.ptr + block.len;
	bool first = true;

	while (p < end) {
		const char *eol = memchr(p, '\n', end - p);
		const char *le = eol ? eol : end, *colon;

		if (le > p && le[-1] == '\r')
			le--;
		if (first) {
			const char *sp = memchr(p, ' ', le - p);

			first = false;
			if (sp && le - sp > 1)
				json_object_set_new(obj, "status",
					json_integer(strtol(sp + 1, NULL, 10)));
		} else if (le > p && (colon = memchr(p, ':', le - p))) {
			const char *v = colon + 1;

			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			header_add(hdrs, slice_from(p, colon - p),
				   slice_from(v, le - v));
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	json_object_set_new(obj, "headers", hdrs);
}

static void nats_fields(json_t *o, const struct nats_msg *m)
{
	json_t *j;

	json_object_set_new(o, "op", json_string(nats_op_name(m->op)));
	set_slice(o, "subject", m->subject);
	set_slice(o, "reply", m->reply);
	set_slice(o, "sid", m->sid);
	set_slice(o, "queue", m->queue);
	switch (m->op) {
	case NATS_UNSUB:
		if (m->max_msgs >= 0)
			json_object_set_new(o, "max", json_integer(m->max_msgs));
		break;
	case NATS_HPUB: case NATS_HMSG:
		json_object_set_new(o, "header_size", json_integer(m->header_size));
		nats_headers(o, m->headers);
		/* fall through */
	case NATS_PUB: case NATS_MSG:
		json_object_set_new(o, "size", json_integer(m->size));
		set_slice(o, "payload", m->payload);
		break;
	case NATS_INFO: case NATS_CONNECT:
		j = json_loadb(m->json.ptr, m->json.len, 0, NULL);
		if (!j) /* cut by the snaplen, or not JSON: keep it as text */
			j = json_stringn(m->json.ptr, m->json.len);
		if (j)
			json_object_set_new(o, m->op == NATS_INFO ? "info" : "connect", j);
		break;
	case NATS_ERR:
		set_slice(o, "error", m->json);
		break;
	default:
		break;
	}
	if (m->truncated)
		json_object_set_new(o, "truncated", json_true());
}

static void http_fields(json_t *o, const struct http_msg *m)
{
	json_t *hdrs = json_object();

	if (m->kind == HTTP_REQUEST) {
		json_object_set_new(o, "kind", json_string("request"));
		set_slice(o, "method", m->method);
		set_slice(o, "path", m->path);
	} else {
		json_object_set_new(o, "kind", json_string("response"));
		json_object_set_new(o, "status", json_integer(m->status));
		set_slice(o, "reason", m->reason);
	}
	set_slice(o, "version", m->version);
	for (int i = 0; i < m->n_headers && i < HTTP_MAX_HEADERS; i++)
		header_add(hdrs, m->headers[i].name, m->headers[i].value);
	json_object_set_new(o, "headers", hdrs);
	json_set_bytes(o, "body", m->body);
	json_object_set_new(o, "size", json_integer(m->body_size));
	if (m->chunked)
		json_object_set_new(o, "chunked", json_true());
	if (m->truncated)
		json_object_set_new(o, "truncated", json_true());
}

static void conn_fields(json_t *o, const struct conn_meta *c)
{
	json_object_set_new(o, "pid", json_integer(c->pid));
	json_object_set_new(o, "comm", json_stringn(c->comm, strnlen(c->comm, COMM_LEN)) ?: json_string("?"));
	json_object_set_new(o, "conn", json_integer(c->id));
	json_object_set_new(o, "local", json_string(c->local));
	json_object_set_new(o, "peer", json_string(c->peer));
	json_object_set_new(o, "role", json_string(role_name(c->role)));
	if (c->tls)
		json_object_set_new(o, "tls", json_true());
}

json_t *record_to_json(const struct msg_record *rec)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "type", json_string(rec->proto == PROTO_NATS ? "nats" : "http"));
	json_object_set_new(o, "ts", json_integer(rec->ts_ns));
	if (rec->conn)
		conn_fields(o, rec->conn);
	json_object_set_new(o, "dir", json_string(rec->dir == DIR_SEND ? "send" : "recv"));
	if (rec->proto == PROTO_NATS)
		nats_fields(o, &rec->nats);
	else
		http_fields(o, &rec->http);
	return o;
}
