/* SPDX-License-Identifier: MIT */
#include "redact.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const secret_headers[] = {
	"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie",
};

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
	for (size_t i = 0; i < sizeof(secret_headers) / sizeof(*secret_headers); i++) {
		const char *h = secret_headers[i];

		if (name.len == strlen(h) && !strncasecmp(name.ptr, h, name.len))
			return true;
	}
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
	return any;
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
	for (size_t i = 0; i < sizeof(secret_connect_fields) / sizeof(*secret_connect_fields); i++) {
		const char *k = secret_connect_fields[i];

		if (!json_object_get(obj, k))
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

bool redact_record(struct redactor *r, struct msg_record *rec)
{
	if (rec->proto == PROTO_HTTP)
		return redact_http(&rec->http);
	if (rec->proto == PROTO_NATS && rec->nats.op == NATS_CONNECT)
		return redact_connect(r, &rec->nats);
	return false;
}
