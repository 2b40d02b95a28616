/* SPDX-License-Identifier: MIT */
#include "redact.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Headers whose values are redacted, by the length of their name. */
static const char *secret_header_of_len(size_t len)
{
	switch (len) {
	case 6: return "Cookie";
	case 10: return "Set-Cookie";
	case 13: return "Authorization";
	case 19: return "Proxy-Authorization";
	}
	return NULL;
}

static const char *const secret_connect_fields[] = {
	"pass", "auth_token", "jwt", "sig",
};

struct redactor {
	char *connect_json; /* rewritten CONNECT argument */
};

struct redactor *redactor_new(void)
{
	return calloc(1, sizeof(struct redactor));
}

void redactor_free(struct redactor *r)
{
	if (!r)
		return;
	free(r->connect_json);
	free(r);
}

bool redact_is_secret_header(struct slice name)
{
	/* Every header of every record comes here: most differ from these
	 * in length or first letter (Server, Connection, Last-Modified have
	 * their lengths), which is checked before the libc call. */
	const char *secret = secret_header_of_len(name.len);

	return secret && (name.ptr[0] | 0x20) == (secret[0] | 0x20) &&
	       !strncasecmp(name.ptr, secret, name.len);
}

static bool http_has_secret(const struct http_msg *m)
{
	for (int i = 0; i < m->n_headers; i++)
		if (redact_is_secret_header(m->headers[i].name))
			return true;
	return false;
}

static bool redact_http(struct http_msg *m)
{
	bool any = false;

	for (int i = 0; i < m->n_headers; i++) {
		if (!redact_is_secret_header(m->headers[i].name))
			continue;
		m->headers[i].value = SLICE_LIT(REDACTED);
		any = true;
	}
	if (any)
		m->head = SLICE_NULL; /* its bytes hold what was redacted */
	return any;
}

/*
 * nats-server reads CONNECT with Go's encoding/json, which matches keys
 * case-insensitively with Unicode simple folding: "PASS", "Pass" and
 * "pa\u017fs" (long s) all log in. Fold keys the same way before comparing:
 * ASCII letters, U+017F (long s) -> s, U+212A (Kelvin sign) -> k; any other
 * non-ASCII byte cannot match. (tests/e2e/test_secrets.py, fuzz_nats_parser)
 */
static bool connect_key_is_secret(const char *key)
{
	const unsigned char *p = (const unsigned char *)key;
	char folded[16];
	size_t n = 0;

	while (*p) {
		char c;

		if (p[0] == 0xc5 && p[1] == 0xbf) {
			c = 's';
			p += 2;
		} else if (p[0] == 0xe2 && p[1] == 0x84 && p[2] == 0xaa) {
			c = 'k';
			p += 3;
		} else {
			c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : (char)*p;
			p++;
		}
		if (n + 1 >= sizeof(folded))
			return false;
		folded[n++] = c;
	}
	folded[n] = '\0';
	for (size_t i = 0; i < sizeof(secret_connect_fields) / sizeof(*secret_connect_fields); i++)
		if (!strcmp(folded, secret_connect_fields[i]))
			return true;
	return false;
}

/*
 * A CONNECT argument that is not valid JSON cannot be rewritten field by
 * field, and might still hold a password: hide it whole.
 */
static bool redact_connect(struct redactor *r, struct nats_msg *m)
{
	json_t *obj = json_loadb(m->json.ptr, m->json.len, 0, NULL);
	bool any = false;

	if (!obj || !json_is_object(obj)) {
		json_decref(obj);
		if (!m->json.len)
			return false;
		m->json = SLICE_LIT("\"" REDACTED "\"");
		return true;
	}
	const char *k;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(obj, tmp, k, v) {
		if (!connect_key_is_secret(k))
			continue;
		json_object_set_new(obj, k, json_string(REDACTED));
		any = true;
	}
	if (any) {
		free(r->connect_json);
		r->connect_json = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (r->connect_json)
			m->json = slice_from(r->connect_json, strlen(r->connect_json));
		else
			m->json = SLICE_LIT("\"" REDACTED "\"");
	}
	json_decref(obj);
	return any;
}

bool redact_applies(const struct msg_record *rec)
{
	if (rec->proto == PROTO_HTTP)
		return http_has_secret(&rec->http);
	return rec->proto == PROTO_NATS && rec->nats.op == NATS_CONNECT;
}

bool redact_record(struct redactor *r, struct msg_record *rec)
{
	if (rec->proto == PROTO_HTTP)
		return redact_http(&rec->http);
	if (rec->proto == PROTO_NATS && rec->nats.op == NATS_CONNECT)
		return redact_connect(r, &rec->nats);
	return false;
}
