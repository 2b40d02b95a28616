/* SPDX-License-Identifier: MIT */
/* Unit tests for record → JSON and for redaction, the last steps before a
 * record reaches the trace file or the screen. */
#include <stdlib.h>

#include "check.h"
#include "http_parser.h"
#include "record_json.h"
#include "redact.h"

static char *dump(const struct msg_record *r)
{
	json_t *o = record_to_json(r);
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(o);
	return s;
}

static void test_nats_pub(void)
{
	struct conn_meta c = { .id = 7, .pid = 42, .comm = "router",
			       .local = "127.0.0.1:5000", .peer = "127.0.0.1:4222",
			       .role = ROLE_CLIENT };
	struct msg_record r = { .ts_ns = 123, .dir = DIR_SEND, .proto = PROTO_NATS, .conn = &c };
	json_t *o;

	r.nats.op = NATS_PUB;
	r.nats.subject = SLICE_LIT("router.register");
	r.nats.reply = SLICE_LIT("_INBOX.x.1");
	r.nats.payload = SLICE_LIT("{\"host\":\"10.0.0.1\"}");
	r.nats.size = 19;
	o = record_to_json(&r);
	CHECK(!strcmp(json_string_value(json_object_get(o, "type")), "nats"));
	CHECK(!strcmp(json_string_value(json_object_get(o, "op")), "PUB"));
	CHECK(!strcmp(json_string_value(json_object_get(o, "dir")), "send"));
	CHECK(!strcmp(json_string_value(json_object_get(o, "reply")), "_INBOX.x.1"));
	CHECK(!strcmp(json_string_value(json_object_get(o, "payload")), "{\"host\":\"10.0.0.1\"}"));
	CHECK_EQ_INT(json_integer_value(json_object_get(o, "size")), 19);
	CHECK_EQ_INT(json_integer_value(json_object_get(o, "pid")), 42);
	CHECK_EQ_INT(json_integer_value(json_object_get(o, "conn")), 7);
	CHECK(!strcmp(json_string_value(json_object_get(o, "role")), "client"));
	CHECK(!json_object_get(o, "truncated"));
	CHECK(!json_object_get(o, "payload_encoding"));
	json_decref(o);
}

static void test_binary_payload_is_base64(void)
{
	struct msg_record r = { .proto = PROTO_NATS };
	json_t *o;

	r.nats.op = NATS_MSG;
	r.nats.subject = SLICE_LIT("bin");
	r.nats.payload = slice_from("\xff\x00\x01", 3);
	r.nats.size = 3;
	r.nats.truncated = true;
	o = record_to_json(&r);
	CHECK(!strcmp(json_string_value(json_object_get(o, "payload")), "/wAB"));
	CHECK(!strcmp(json_string_value(json_object_get(o, "payload_encoding")), "base64"));
	CHECK(json_is_true(json_object_get(o, "truncated")));
	json_decref(o);
}

static void test_hmsg_headers(void)
{
	struct msg_record r = { .proto = PROTO_NATS };
	json_t *o, *h;

	r.nats.op = NATS_HMSG;
	r.nats.subject = SLICE_LIT("s");
	r.nats.headers = SLICE_LIT("NATS/1.0\r\nTrace: abc\r\nX: 1\r\nX: 2\r\n\r\n");
	r.nats.header_size = r.nats.headers.len;
	o = record_to_json(&r);
	h = json_object_get(o, "headers");
	CHECK(!strcmp(json_string_value(json_object_get(h, "Trace")), "abc"));
	CHECK_EQ_INT(json_array_size(json_object_get(h, "X")), 2);
	CHECK_EQ_INT(json_integer_value(json_object_get(o, "header_size")), r.nats.headers.len);
	json_decref(o);

	/* No-responders status line */
	r.nats.headers = SLICE_LIT("NATS/1.0 503\r\n\r\n");
	o = record_to_json(&r);
	CHECK_EQ_INT(json_integer_value(json_object_get(o, "status")), 503);
	json_decref(o);
}

static void test_connect_redacted(void)
{
	struct redactor *red = redactor_new();
	struct msg_record r = { .proto = PROTO_NATS };
	char *s;

	r.nats.op = NATS_CONNECT;
	r.nats.json = SLICE_LIT("{\"user\":\"u\",\"pass\":\"hunter2\",\"auth_token\":\"tok\","
				"\"jwt\":\"eyJ\",\"sig\":\"c2ln\",\"name\":\"router\"}");
	CHECK(redact_record(red, &r));
	s = dump(&r);
	CHECK(!strstr(s, "hunter2"));
	CHECK(!strstr(s, "\"tok\""));
	CHECK(!strstr(s, "eyJ"));
	CHECK(!strstr(s, "c2ln"));
	CHECK(strstr(s, "\"name\":\"router\""));
	CHECK(strstr(s, "\"pass\":\"[REDACTED]\""));
	free(s);

	/* Cut by the snaplen, the JSON cannot be rewritten: hide all of it. */
	r.nats.json = SLICE_LIT("{\"pass\":\"hunter2\",\"na");
	CHECK(redact_record(red, &r));
	s = dump(&r);
	CHECK(!strstr(s, "hunter2"));
	free(s);
	redactor_free(red);
}

static void test_http_redacted(void)
{
	struct redactor *red = redactor_new();
	struct msg_record r = { .proto = PROTO_HTTP };
	char *s;

	r.http.kind = HTTP_REQUEST;
	r.http.method = SLICE_LIT("GET");
	r.http.path = SLICE_LIT("/v2/info");
	r.http.version = SLICE_LIT("HTTP/1.1");
	r.http.headers[0] = (struct http_header){ SLICE_LIT("authorization"), SLICE_LIT("Bearer abc.def") };
	r.http.headers[1] = (struct http_header){ SLICE_LIT("Cookie"), SLICE_LIT("sid=s3cr3t") };
	r.http.headers[2] = (struct http_header){ SLICE_LIT("Proxy-Authorization"), SLICE_LIT("Basic Zm9v") };
	r.http.headers[3] = (struct http_header){ SLICE_LIT("Host"), SLICE_LIT("api") };
	r.http.n_headers = 4;
	/* The caller copies the record only when this says so. */
	CHECK(redact_applies(&r));
	CHECK(redact_record(red, &r));
	s = dump(&r);
	CHECK(!strstr(s, "abc.def"));
	CHECK(!strstr(s, "s3cr3t"));
	CHECK(!strstr(s, "Zm9v"));
	CHECK(strstr(s, "\"Host\":\"api\""));
	CHECK(strstr(s, "\"kind\":\"request\""));
	free(s);

	r.http.kind = HTTP_RESPONSE;
	r.http.status = 200;
	r.http.headers[0] = (struct http_header){ SLICE_LIT("Set-Cookie"), SLICE_LIT("sid=zzz") };
	r.http.n_headers = 1;
	CHECK(redact_applies(&r));
	CHECK(redact_record(red, &r));
	s = dump(&r);
	CHECK(!strstr(s, "zzz"));
	CHECK(strstr(s, "\"status\":200"));
	free(s);

	/* Nothing secret (a name only as long as one, a value that looks
	 * like one): nothing to copy, nothing rewritten. */
	r.http.headers[0] = (struct http_header){ SLICE_LIT("Server"), SLICE_LIT("nginx") };
	r.http.headers[1] = (struct http_header){ SLICE_LIT("X-Note"), SLICE_LIT("Cookie: a=b") };
	r.http.n_headers = 2;
	CHECK(!redact_applies(&r));
	CHECK(!redact_record(red, &r));
	r.http.headers[2] = (struct http_header){ SLICE_LIT("COOKIE"), SLICE_LIT("a=b") };
	r.http.n_headers = 3;
	CHECK(redact_applies(&r));
	redactor_free(red);
}

/* The cached connection members: the same bytes as the plain writer,
 * for every connection in turn and after a connection's meta changes
 * under the same id (and slot). */
static void expect_same_line(struct record_json_cache *cache,
			     const struct msg_record *r)
{
	struct jw a, b;

	jw_init(&a);
	jw_init(&b);
	record_write_json(&a, r);
	record_write_json_cached(&b, r, cache);
	CHECK_MSG(a.len == b.len && !memcmp(a.buf, b.buf, a.len),
		  "cached %.*s\n  plain %.*s", (int)b.len, b.buf, (int)a.len, a.buf);
	jw_free(&a);
	jw_free(&b);
}

static void test_conn_cache(void)
{
	static struct record_json_cache cache;
	struct conn_meta c[3] = {
		{ .id = 1, .pid = 10, .comm = "pub", .local = "127.0.0.1:5000",
		  .peer = "127.0.0.1:4222", .role = ROLE_CLIENT },
		{ .id = 1 + RECORD_JSON_CACHE_SLOTS, .pid = 20, .comm = "sub\"q",
		  .local = "[::1]:5001", .peer = "[::1]:4222", .role = ROLE_UNKNOWN },
		{ .id = 3, .pid = 30, .comm = "nats-server", .local = "127.0.0.1:4222",
		  .peer = "127.0.0.1:5000", .role = ROLE_SERVER, .tls = true },
	};
	struct msg_record r = { .ts_ns = 123, .proto = PROTO_NATS };

	r.nats.op = NATS_PUB;
	r.nats.subject = SLICE_LIT("a.b");
	r.nats.payload = SLICE_LIT("hi");
	r.nats.size = 2;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 3; i++) {
			r.conn = &c[i];
			expect_same_line(&cache, &r);
		}
	}
	c[2].tls = false; /* the same connection, restarted in the clear */
	c[2].pid = 31;
	r.conn = &c[2];
	expect_same_line(&cache, &r);
	r.conn = NULL;
	expect_same_line(&cache, &r);
}

/* The cached HTTP heads, fed by the parser as the trace is: each record
 * the same bytes as the plain writer, whether its head was seen before,
 * went to a slot another head had (more heads than slots, twice over), or
 * was redacted. Records that share a connection and a head otherwise
 * differ in their bodies, which follow the cached members. */
static void on_http_record(const struct msg_record *rec, void *ctx)
{
	struct record_json_cache *cache = ctx;
	struct redactor *red = redactor_new();
	struct msg_record r = *rec;

	CHECK(rec->http.head.len > 0);
	expect_same_line(cache, rec);
	if (redact_record(red, &r)) {
		CHECK(!r.http.head.len);
		expect_same_line(cache, &r);
	}
	redactor_free(red);
}

static void test_http_head_cache(void)
{
	static struct record_json_cache cache;
	struct conn_meta c = { .id = 5, .pid = 50, .comm = "nginx",
			       .local = "127.0.0.1:80", .peer = "127.0.0.1:40000",
			       .role = ROLE_SERVER };
	struct http_parser *p = http_parser_new(4096, true);
	char buf[512];
	int n;

	http_parser_set_conn(p, &c);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 2 * RECORD_JSON_HEAD_SLOTS; i++) {
			n = snprintf(buf, sizeof(buf),
				     "GET /item/%d?x=\"%s\" HTTP/1.1\r\nHost: a\r\n"
				     "Vary: A\r\nVary: B\r\n%s\r\n", i % 5,
				     i & 1 ? "\xff" : "q",
				     i % 7 ? "" : "Authorization: Bearer s3cret\r\n");
			http_parser_feed(p, DIR_RECV, 1, (const uint8_t *)buf, (size_t)n,
					 on_http_record, &cache);
			n = snprintf(buf, sizeof(buf),
				     "HTTP/1.1 200 OK\r\nDate: %d\r\n"
				     "Content-Length: 2\r\n\r\n%02d", i / 3, i);
			http_parser_feed(p, DIR_SEND, 2, (const uint8_t *)buf, (size_t)n,
					 on_http_record, &cache);
		}
	}
	http_parser_free(p);
}

/* A name given several times becomes an array of its values at its first
 * place; names given once stay plain members (dump() sorts the keys). */
static void test_http_repeated_headers(void)
{
	struct msg_record r = { .proto = PROTO_HTTP };
	char *s;

	r.http.kind = HTTP_RESPONSE;
	r.http.status = 200;
	r.http.version = SLICE_LIT("HTTP/1.1");
	r.http.headers[0] = (struct http_header){ SLICE_LIT("Server"), SLICE_LIT("nginx") };
	r.http.headers[1] = (struct http_header){ SLICE_LIT("Vary"), SLICE_LIT("Accept") };
	r.http.headers[2] = (struct http_header){ SLICE_LIT("Date"), SLICE_LIT("today") };
	r.http.headers[3] = (struct http_header){ SLICE_LIT("Vary"), SLICE_LIT("Origin") };
	r.http.n_headers = 4;
	s = dump(&r);
	CHECK_MSG(strstr(s, "\"headers\":{\"Date\":\"today\",\"Server\":\"nginx\","
			    "\"Vary\":[\"Accept\",\"Origin\"]}") != NULL, "%s", s);
	free(s);
	r.http.headers[3] = (struct http_header){ SLICE_LIT("Varx"), SLICE_LIT("Origin") };
	s = dump(&r);
	CHECK_MSG(strstr(s, "\"Varx\":\"Origin\",\"Vary\":\"Accept\"}") != NULL, "%s", s);
	free(s);
}

int main(void)
{
	test_http_repeated_headers();
	test_conn_cache();
	test_http_head_cache();
	test_nats_pub();
	test_binary_payload_is_base64();
	test_hmsg_headers();
	test_connect_redacted();
	test_http_redacted();
	return check_summary("record_json");
}
