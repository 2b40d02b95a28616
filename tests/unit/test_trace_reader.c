// SPDX-License-Identifier: MIT
/*
 * test_trace_reader.c — JSON Lines trace → records: the sample trace, field
 * decoding (base64, NATS header blocks, CONNECT objects, HTTP headers),
 * refusals, malformed lines, and a round trip through record_to_json (the
 * writer's encoding must read back as the same record).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "record_json.h"
#include "trace_reader.h"

#define SAMPLE "tests/data/traces/cf_small.jsonl"

struct got {
	size_t n;
	size_t nats, http, meta, drops, end, warnings;
	char last_warning[256];
	struct msg_record rec;      /* the last record, strings copied below */
	struct conn_meta conn;
	char subject[64], reply[64], sid[16], json[256], payload[256];
	char headers[256], method[16], path[128], body[64];
	char hname[8][32], hvalue[8][64];
	int nh;
	uint64_t first_ts;
};

static void copy(char *dst, size_t n, struct slice s)
{
	size_t l = s.len < n - 1 ? s.len : n - 1;

	if (s.ptr)
		memcpy(dst, s.ptr, l);
	else
		l = 0;
	dst[l] = '\0';
}

static void on_record(const struct msg_record *r, void *ctx)
{
	struct got *g = ctx;

	if (!g->n++)
		g->first_ts = r->ts_ns;
	g->rec = *r;
	g->conn = *r->conn;
	if (r->proto == PROTO_NATS) {
		g->nats++;
		copy(g->subject, sizeof(g->subject), r->nats.subject);
		copy(g->reply, sizeof(g->reply), r->nats.reply);
		copy(g->sid, sizeof(g->sid), r->nats.sid);
		copy(g->json, sizeof(g->json), r->nats.json);
		copy(g->payload, sizeof(g->payload), r->nats.payload);
		copy(g->headers, sizeof(g->headers), r->nats.headers);
	} else {
		g->http++;
		copy(g->method, sizeof(g->method), r->http.method);
		copy(g->path, sizeof(g->path), r->http.path);
		copy(g->body, sizeof(g->body), r->http.body);
		g->nh = r->http.n_headers < 8 ? r->http.n_headers : 8;
		for (int i = 0; i < g->nh; i++) {
			copy(g->hname[i], sizeof(g->hname[i]), r->http.headers[i].name);
			copy(g->hvalue[i], sizeof(g->hvalue[i]), r->http.headers[i].value);
		}
	}
}

static void on_other(json_t *line, const char *type, void *ctx)
{
	struct got *g = ctx;

	(void)line;
	if (!strcmp(type, "meta"))
		g->meta++;
	else if (!strcmp(type, "drops"))
		g->drops++;
	else if (!strcmp(type, "end"))
		g->end++;
}

static void on_warning(const char *msg, void *ctx)
{
	struct got *g = ctx;

	g->warnings++;
	snprintf(g->last_warning, sizeof(g->last_warning), "%s", msg);
}

static const struct trace_reader_ops ops = {
	.on_record = on_record, .on_other = on_other, .on_warning = on_warning,
};

static int read_str(const char *text, struct got *g,
		    struct trace_reader_stats *st, char *err, size_t errsz)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc;

	memset(g, 0, sizeof(*g));
	err[0] = '\0';
	rc = trace_read_stream(f, "t.jsonl", &ops, g, st, err, errsz);
	fclose(f);
	return rc;
}

#define META "{\"type\":\"meta\",\"schema\":1,\"tool\":\"msgscope\",\"version\":\"0.1.0\",\"ts\":1}\n"
#define CONN "\"ts\":10,\"pid\":7,\"comm\":\"app\",\"conn\":3,\"dir\":\"send\",\"local\":\"127.0.0.1:5000\",\"peer\":\"127.0.0.1:4222\",\"role\":\"client\""

static void test_sample(void)
{
	struct trace_reader_stats st;
	struct got g;
	char err[256] = "";
	int rc;

	memset(&g, 0, sizeof(g));
	rc = trace_read_path(SAMPLE, &ops, &g, &st, err, sizeof(err));
	CHECK_MSG(rc == 0, "%s", err);
	CHECK_EQ_INT(st.schema, 1);
	CHECK_EQ_INT(st.lines, 49);
	CHECK_EQ_INT(st.records, 44);
	CHECK_EQ_INT(g.nats, 34);
	CHECK_EQ_INT(g.http, 10);
	CHECK_EQ_INT(st.other, 3);
	CHECK_EQ_INT(g.meta + g.drops + g.end, 3);
	CHECK_EQ_INT(st.ignored, 2); /* a derived exchange line, an unknown type */
	CHECK_EQ_INT(st.malformed, 0);
	CHECK_EQ_INT(g.warnings, 0);
	CHECK(g.first_ts == 1763762400001000000ULL);
	/* the last record: the cloud controller's 500 to a remote client */
	CHECK(g.rec.proto == PROTO_HTTP && g.rec.http.kind == HTTP_RESPONSE);
	CHECK_EQ_INT(g.rec.http.status, 500);
	CHECK(!strcmp(g.body, "oops"));
	CHECK(g.conn.pid == 310 && !strcmp(g.conn.comm, "ruby"));
	CHECK(!strcmp(g.conn.local, "127.0.0.1:9022") && !strcmp(g.conn.peer, "10.0.0.9:40000"));
	CHECK(g.conn.role == ROLE_SERVER && g.rec.dir == DIR_SEND);
}

static void test_nats_fields(void)
{
	struct trace_reader_stats st;
	struct got g;
	char err[256];

	/* base64 payload, reply, unknown fields */
	/* not a boolean: the line is refused, as a bad "tls" is */
	CHECK(read_str(META "{\"type\":\"nats\"," CONN ",\"op\":\"PUB\",\"subject\":\"a.b\",\"reply\":\"_INBOX.x\",\"size\":3,\"payload\":\"AAEC\",\"payload_encoding\":\"base64\",\"future\":{\"x\":1}}\n",
		       &g, &st, err, sizeof(err)) == 0);
	CHECK_EQ_INT(st.records, 1);
	CHECK(g.rec.nats.op == NATS_PUB);
	CHECK(!strcmp(g.subject, "a.b") && !strcmp(g.reply, "_INBOX.x"));
	CHECK_EQ_INT(g.rec.nats.payload.len, 3);
	CHECK(!memcmp(g.payload, "\x00\x01\x02", 3));
	CHECK_EQ_INT(g.rec.nats.size, 3);
	CHECK_EQ_INT(g.rec.nats.max_msgs, -1);
	CHECK(g.conn.id == 3 && g.conn.pid == 7 && g.conn.role == ROLE_CLIENT);
	CHECK(!g.conn.tls);

	/* HMSG headers (object, repeated values) and status → header block */
	/* not a boolean: the line is refused, as a bad "tls" is */
	CHECK(read_str(META "{\"type\":\"nats\"," CONN ",\"dir\":\"recv\",\"op\":\"HMSG\",\"subject\":\"_INBOX.x\",\"sid\":\"9\",\"status\":503,\"headers\":{\"A\":\"1\",\"B\":[\"2\",\"3\"]},\"header_size\":40,\"size\":0}\n",
		       &g, &st, err, sizeof(err)) == 0);
	CHECK(g.rec.nats.op == NATS_HMSG && g.rec.dir == DIR_RECV);
	CHECK_MSG(!strcmp(g.headers, "NATS/1.0 503\r\nA: 1\r\nB: 2\r\nB: 3\r\n\r\n"), "%s", g.headers);
	CHECK_EQ_INT(g.rec.nats.header_size, 40);
	CHECK(!strcmp(g.sid, "9"));

	/* CONNECT object → JSON text; UNSUB max; -ERR text; tls */
	CHECK(read_str(META
		       "{\"type\":\"nats\"," CONN ",\"op\":\"CONNECT\",\"connect\":{\"name\":\"svc\",\"echo\":false}}\n"
		       "{\"type\":\"nats\"," CONN ",\"op\":\"UNSUB\",\"sid\":\"4\",\"max\":1}\n"
		       "{\"type\":\"nats\"," CONN ",\"dir\":\"recv\",\"op\":\"-ERR\",\"error\":\"'Authorization Violation'\",\"tls\":true}\n",
		       &g, &st, err, sizeof(err)) == 0);
	CHECK_EQ_INT(g.nats, 3);
	CHECK(g.rec.nats.op == NATS_ERR);
	CHECK(!strcmp(g.json, "'Authorization Violation'"));
	CHECK(g.conn.tls);

	memset(&g, 0, sizeof(g));
	/* not a boolean: the line is refused, as a bad "tls" is */
	CHECK(read_str(META "{\"type\":\"nats\"," CONN ",\"op\":\"CONNECT\",\"connect\":{\"name\":\"svc\",\"echo\":false}}\n",
		       &g, &st, err, sizeof(err)) == 0);
	CHECK_MSG(!strcmp(g.json, "{\"name\":\"svc\",\"echo\":false}"), "%s", g.json);
	/* not a boolean: the line is refused, as a bad "tls" is */
	CHECK(read_str(META "{\"type\":\"nats\"," CONN ",\"op\":\"UNSUB\",\"sid\":\"4\",\"max\":1}\n",
		       &g, &st, err, sizeof(err)) == 0);
	CHECK_EQ_INT(g.rec.nats.max_msgs, 1);

	/* an op from the future is skipped quietly */
	/* not a boolean: the line is refused, as a bad "tls" is */
	CHECK(read_str(META "{\"type\":\"nats\"," CONN ",\"op\":\"LS+\"}\n", &g, &st, err, sizeof(err)) == 0);
	CHECK_EQ_INT(st.records, 0);
	CHECK_EQ_INT(st.ignored, 1);
	CHECK_EQ_INT(st.malformed, 0);
}

static void test_http_fields(void)
{
	struct trace_reader_stats st;
	struct got g;
	char err[256];

	/* not a boolean: the line is refused, as a bad "tls" is */
	CHECK(read_str(META "{\"type\":\"http\"," CONN ",\"kind\":\"request\",\"method\":\"POST\",\"path\":\"/v2/apps?q=1\",\"version\":\"HTTP/1.1\",\"headers\":{\"Host\":\"x\",\"Accept\":[\"a\",\"b\"]},\"body\":\"aGk=\",\"body_encoding\":\"base64\",\"size\":2,\"chunked\":true}\n",
		       &g, &st, err, sizeof(err)) == 0);
	CHECK(g.rec.proto == PROTO_HTTP && g.rec.http.kind == HTTP_REQUEST);
	CHECK(!strcmp(g.method, "POST") && !strcmp(g.path, "/v2/apps?q=1"));
	CHECK(!strcmp(g.body, "hi"));
	CHECK_EQ_INT(g.rec.http.body_size, 2);
	CHECK(g.rec.http.chunked);
	CHECK_EQ_INT(g.nh, 3);
	CHECK(!strcmp(g.hname[0], "Host") && !strcmp(g.hvalue[0], "x"));
	CHECK(!strcmp(g.hname[2], "Accept") && !strcmp(g.hvalue[2], "b"));

	/* not a boolean: the line is refused, as a bad "tls" is */
	CHECK(read_str(META "{\"type\":\"http\"," CONN ",\"kind\":\"response\",\"status\":404,\"reason\":\"Not Found\",\"headers\":{},\"size\":0}\n",
		       &g, &st, err, sizeof(err)) == 0);
	CHECK(g.rec.http.kind == HTTP_RESPONSE && g.rec.http.status == 404);
}

static void test_refusals(void)
{
	struct trace_reader_stats st;
	struct got g;
	char err[256];

	CHECK(read_str("hello\n" META, &g, &st, err, sizeof(err)) == -1);
	CHECK_MSG(strstr(err, "not a JSON Lines trace") != NULL, "%s", err);
	CHECK(read_str("{\"type\":\"nats\"}\n" META, &g, &st, err, sizeof(err)) == -1);
	CHECK_MSG(strstr(err, "first line is not a meta record") != NULL, "%s", err);
	CHECK(read_str("{\"type\":\"meta\",\"schema\":2}\n", &g, &st, err, sizeof(err)) == -1);
	CHECK_MSG(strstr(err, "schema 2 is newer") != NULL, "%s", err);
	CHECK(read_str("{\"type\":\"meta\"}\n", &g, &st, err, sizeof(err)) == -1);
	CHECK(read_str("", &g, &st, err, sizeof(err)) == -1);
	CHECK_MSG(strstr(err, "empty trace") != NULL, "%s", err);
	CHECK(read_str("\n\n", &g, &st, err, sizeof(err)) == -1);
	CHECK(trace_read_path("tests/data/traces/does-not-exist.jsonl", &ops, &g,
			      &st, err, sizeof(err)) == -1);
	/* blank lines before the meta line are fine, so is CRLF */
	CHECK(read_str("\n" "{\"type\":\"meta\",\"schema\":1}\r\n", &g, &st, err, sizeof(err)) == 0);
	CHECK_EQ_INT(g.meta, 1);
}

static void test_malformed(void)
{
	struct trace_reader_stats st;
	struct got g;
	char err[256];
	char *big;
	size_t off = 0;

	CHECK(read_str(META
		       "{\"type\":\"nats\"," CONN ",\"op\":\"PUB\",\"subject\":\"a\",\"size\":1,\"payload\":\"x\"}\n"
		       "{\"type\":\"nats\",\n"                                       /* line 3: cut */
		       "{\"type\":\"nats\",\"ts\":1,\"op\":\"PUB\"}\n"                /* 4: no conn */
		       "{\"type\":\"nats\"," CONN ",\"op\":\"PUB\",\"size\":\"x\"}\n" /* 5: type */
		       "{\"type\":\"nats\"," CONN ",\"op\":\"PUB\",\"payload\":\"!!\",\"payload_encoding\":\"base64\"}\n" /* 6 */
		       "{\"type\":\"http\"," CONN ",\"dir\":\"up\",\"kind\":\"request\"}\n" /* 7: dir */
		       "42\n"                                                          /* 8 */
		       "{\"no\":\"type\"}\n"                                           /* 9 */
		       "{\"type\":\"http\"," CONN ",\"kind\":\"response\",\"status\":200,\"size\":0}\n",
		       &g, &st, err, sizeof(err)) == 0);
	CHECK_EQ_INT(st.records, 2);
	CHECK_EQ_INT(st.malformed, 7);
	CHECK_EQ_INT(g.warnings, 7);
	CHECK_MSG(strstr(g.last_warning, "t.jsonl:9:") != NULL, "%s", g.last_warning);

	/* many bad lines: reported up to a limit, all counted */
	big = malloc(100 * 8 + sizeof(META));
	off = (size_t)sprintf(big, "%s", META);
	for (int i = 0; i < 100; i++)
		off += (size_t)sprintf(big + off, "garbage\n");
	CHECK(read_str(big, &g, &st, err, sizeof(err)) == 0);
	CHECK_EQ_INT(st.malformed, 100);
	CHECK_EQ_INT(g.warnings, TRACE_WARN_MAX + 1);
	free(big);
}

/* r as record_to_json writes it (as a `type` line), read back into g:
 * 0, or -1 when it could not be written. */
static int read_back(const struct msg_record *r, const char *type, struct got *g,
		     struct trace_reader_stats *st, json_t **written)
{
	char err[256], *line, text[2048];
	json_t *j = record_to_json(r);

	if (!j)
		return -1;
	json_object_set_new(j, "type", json_string(type));
	line = json_dumps(j, JSON_COMPACT);
	snprintf(text, sizeof(text), "%s%s\n", META, line);
	free(line);
	if (written)
		*written = j;
	else
		json_decref(j);
	return read_str(text, g, st, err, sizeof(err));
}

/* What record_to_json writes, trace_reader reads back. */
static void test_round_trip(void)
{
	struct conn_meta cm = { .id = 11, .pid = 42, .comm = "svc", .local = "[::1]:5000",
				.peer = "[::1]:4222", .role = ROLE_CLIENT, .tls = true };
	struct msg_record r;
	struct trace_reader_stats st;
	struct got g;

	memset(&r, 0, sizeof(r));
	r.ts_ns = 123456789;
	r.dir = DIR_RECV;
	r.proto = PROTO_NATS;
	r.conn = &cm;
	r.nats.op = NATS_HMSG;
	r.nats.subject = SLICE_LIT("orders.eu");
	r.nats.sid = SLICE_LIT("5");
	r.nats.reply = SLICE_LIT("_INBOX.q.1");
	r.nats.headers = SLICE_LIT("NATS/1.0\r\nX: y\r\n\r\n");
	r.nats.header_size = 18;
	r.nats.payload = slice_from("\xff\x00\x01", 3);
	r.nats.size = 3;
	r.nats.max_msgs = -1;
	CHECK(read_back(&r, "nats", &g, &st, NULL) == 0);
	CHECK_EQ_INT(st.records, 1);
	CHECK(g.rec.ts_ns == 123456789 && g.rec.dir == DIR_RECV);
	CHECK(g.rec.nats.op == NATS_HMSG);
	CHECK(!strcmp(g.subject, "orders.eu") && !strcmp(g.sid, "5") &&
	      !strcmp(g.reply, "_INBOX.q.1"));
	CHECK_EQ_INT(g.rec.nats.payload.len, 3);
	CHECK(!memcmp(g.payload, "\xff\x00\x01", 3));
	CHECK_MSG(!strcmp(g.headers, "NATS/1.0\r\nX: y\r\n\r\n"), "%s", g.headers);
	CHECK(g.conn.id == 11 && g.conn.pid == 42 && !strcmp(g.conn.comm, "svc"));
	CHECK(!strcmp(g.conn.local, "[::1]:5000") && !strcmp(g.conn.peer, "[::1]:4222"));
	CHECK(g.conn.role == ROLE_CLIENT && g.conn.tls);
}

/* --pair-local's peer_read: written only when true, read back either way. */
static void test_peer_read(void)
{
	struct conn_meta cm = { .id = 3, .pid = 7, .comm = "pub", .local = "127.0.0.1:5000",
				.peer = "127.0.0.1:4222", .role = ROLE_CLIENT };
	struct trace_reader_stats st;
	char err[256];
	struct msg_record r;
	struct got g;

	for (int marked = 0; marked < 2; marked++) {
		json_t *j = NULL;

		memset(&r, 0, sizeof(r));
		r.ts_ns = 1000;
		r.dir = DIR_SEND;
		r.proto = PROTO_NATS;
		r.conn = &cm;
		r.peer_read = marked;
		r.nats.op = NATS_PUB;
		r.nats.subject = SLICE_LIT("a");
		r.nats.max_msgs = -1;
		CHECK(read_back(&r, "nats", &g, &st, &j) == 0);
		CHECK(j && !!json_object_get(j, "peer_read") == marked);
		json_decref(j);
		CHECK_EQ_INT(st.records, 1);
		CHECK(g.rec.peer_read == marked);
	}
	/* not a boolean: the line is refused, as a bad "tls" is */
	CHECK(read_str(META "{\"type\":\"nats\"," CONN ",\"op\":\"PING\",\"peer_read\":1}\n",
		       &g, &st, err, sizeof(err)) != 0 || st.records == 0);
}

int main(void)
{
	test_peer_read();
	test_sample();
	test_nats_fields();
	test_http_fields();
	test_refusals();
	test_malformed();
	test_round_trip();
	return check_summary("trace_reader");
}
