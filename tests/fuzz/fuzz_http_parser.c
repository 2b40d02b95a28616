/* SPDX-License-Identifier: MIT */
/*
 * fuzz_http_parser — one HTTP/1.x connection, both directions, as strangers
 * may write it, interleaved and cut into arbitrary pieces with holes.
 *
 * Input: [flags][flags2][split seed][req len lo][req len hi][A...][B...]
 *   A: the first `req len` bytes after the header, B: the rest.
 *   flags bit 0      synced (connection seen from its first byte)
 *   flags bits 1-2   body_keep: 0, 16, 1024 or 65536 bytes
 *   flags bit 3      A is what the process sent (client view) or received
 *                    (server view); B goes the other way
 *   flags bits 4-7   how often a hole replaces stream bytes (0: never)
 *   flags2 bit 0     close the connection at the end
 *   flags2 bit 1     after the close, feed once more (must be ignored)
 * A seed from a capture is 0,1,0, the request length (little endian), the
 * request bytes, the response bytes.
 *
 * Records are checked as in fuzz_nats_parser: slices read byte by byte,
 * redaction of Authorization/Proxy-Authorization/Cookie/Set-Cookie (any
 * case), JSON round trip, body within body_keep and within the true size,
 * parser memory within its bound.
 */
#include <jansson.h>

#include "fuzz_common.h"
#include "http_parser.h"
#include "record_json.h"
#include "redact.h"

static const size_t keeps[4] = { 0, 16, 1024, 65536 };
static const char *const secret[] = {
	"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie",
};

struct run {
	size_t keep;
	struct redactor *red;
	uint64_t records;
	bool closed;
};

static bool is_secret(struct slice name)
{
	for (size_t i = 0; i < sizeof(secret) / sizeof(*secret); i++)
		if (name.len == strlen(secret[i]) &&
		    !strncasecmp(name.ptr, secret[i], name.len))
			return true;
	return false;
}

static void on_record(const struct msg_record *rec, void *ctx)
{
	struct run *run = ctx;
	struct msg_record r = *rec;
	const struct http_msg *m = &rec->http;
	json_t *o, *h;
	const char *k;
	json_t *v;

	run->records++;
	FZ_CHECK(rec->proto == PROTO_HTTP, "proto %d", rec->proto);
	FZ_CHECK(rec->conn == NULL, "parser invented a connection");
	FZ_CHECK(m->kind == HTTP_REQUEST || m->kind == HTTP_RESPONSE, "kind %d", m->kind);
	fz_touch_record(rec);
	FZ_CHECK(m->body.len <= run->keep, "body %zu > keep %zu", m->body.len, run->keep);
	FZ_CHECK(m->body.len <= m->body_size, "body %zu > size %llu", m->body.len,
		 (unsigned long long)m->body_size);
	if (m->kind == HTTP_RESPONSE)
		FZ_CHECK(m->status >= 100 && m->status <= 999, "status %d", m->status);

	redact_record(run->red, &r);
	fz_touch_record(&r);
	for (int i = 0; i < r.http.n_headers; i++)
		if (is_secret(r.http.headers[i].name))
			FZ_CHECK(r.http.headers[i].value.len == strlen(REDACTED) &&
				 !memcmp(r.http.headers[i].value.ptr, REDACTED, strlen(REDACTED)),
				 "header %.*s not redacted", (int)r.http.headers[i].name.len,
				 r.http.headers[i].name.ptr);
	/* What reaches the trace: the same, once serialised. */
	o = fz_record_json(&r);
	h = json_object_get(o, "headers");
	json_object_foreach(h, k, v) {
		if (!is_secret(slice_from(k, strlen(k))))
			continue;
		if (json_is_array(v)) {
			size_t i;
			json_t *e;

			json_array_foreach(v, i, e)
				FZ_CHECK(!strcmp(json_string_value(e) ?: "", REDACTED),
					 "%s[%zu] not redacted in JSON", k, i);
		} else {
			FZ_CHECK(!strcmp(json_string_value(v) ?: "", REDACTED),
				 "%s not redacted in JSON", k);
		}
	}
	json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = fz_init(data, size);
	uint8_t flags = fz_u8(&in), flags2 = fz_u8(&in), seed = fz_u8(&in);
	size_t alen = fz_u16(&in), blen;
	struct fz_rng rng = fz_rng_init((uint64_t)flags << 16 | flags2 << 8 | seed);
	unsigned hole_rate = flags >> 4;
	struct run run = { .keep = keeps[(flags >> 1) & 3], .red = redactor_new() };
	struct http_parser *p = http_parser_new(run.keep, flags & 1);
	struct fz s[2];
	enum direction sdir[2];
	uint64_t ts = 1;

	FZ_CHECK(p && run.red, "out of memory");
	if (alen > in.left)
		alen = in.left;
	s[0] = fz_init(in.p, alen);
	blen = in.left - alen;
	s[1] = fz_init(in.p + alen, blen);
	sdir[0] = (flags & 8) ? DIR_RECV : DIR_SEND;
	sdir[1] = sdir[0] == DIR_SEND ? DIR_RECV : DIR_SEND;

	while (s[0].left || s[1].left) {
		uint32_t r = fz_rand(&rng);
		int which = !s[0].left ? 1 : !s[1].left ? 0 : (int)(r & 1);
		size_t want, n;
		const uint8_t *piece;

		r >>= 1;
		want = (r & 3) ? 1 + (r >> 2) % 24 : 1 + (r >> 2) % 8192;
		piece = fz_bytes(&s[which], want, &n);
		if (hole_rate && fz_rand(&rng) % 32 < hole_rate) {
			uint32_t h = fz_rand(&rng);
			uint64_t missing = (h & 7) == 0 ? (uint64_t)h << 20 | n : n;

			if (missing)
				http_parser_gap(p, sdir[which], ts, missing, on_record, &run);
		} else {
			http_parser_feed(p, sdir[which], ts, piece, n, on_record, &run);
		}
		FZ_CHECK(http_parser_memory(p) <= 4 * HTTP_HEAD_MAX + 2 * run.keep + 64 * 1024,
			 "parser holds %zu bytes (keep %zu)", http_parser_memory(p), run.keep);
		ts += 1000;
	}
	if (flags2 & 1) {
		uint64_t before;

		http_parser_close(p, ts, on_record, &run);
		before = run.records;
		if (flags2 & 2) {
			http_parser_feed(p, DIR_SEND, ts, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n",
					 18, on_record, &run);
			http_parser_feed(p, DIR_RECV, ts, (const uint8_t *)"HTTP/1.1 200 OK\r\n\r\n",
					 19, on_record, &run);
			FZ_CHECK(run.records == before, "records after close");
		}
	}
	FZ_CHECK(http_parser_stats(p)->messages == run.records,
		 "stats say %llu records, %llu seen",
		 (unsigned long long)http_parser_stats(p)->messages,
		 (unsigned long long)run.records);
	if (fz_debug())
		fprintf(stderr, "http: %llu records, %llu errors, %llu resyncs\n",
			(unsigned long long)run.records,
			(unsigned long long)http_parser_stats(p)->errors,
			(unsigned long long)http_parser_stats(p)->resyncs);
	http_parser_free(p);
	redactor_free(run.red);
	return 0;
}
