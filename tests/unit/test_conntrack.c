/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the connection table: kernel-style events (built by hand,
 * exactly as the BPF side lays them out) in, records out. Checks the stream
 * offset logic: contiguous chunks, snaplen cuts, drops, overlaps, late joins,
 * close flushing and bounded eviction; TLS: plaintext events (MS_F_TLS)
 * restart a connection's streams and its socket bytes (ciphertext) are
 * never parsed.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "check.h"
#include "conntrack.h"

#define MAX_RECS 64

struct got {
	int n;
	enum nats_op op[MAX_RECS];
	char subject[MAX_RECS][64];
	uint64_t size[MAX_RECS];
	bool truncated[MAX_RECS];
	int status[MAX_RECS];
	char local[MAX_RECS][64];
	uint32_t pid[MAX_RECS];
	enum proto proto[MAX_RECS];
	bool tls[MAX_RECS];
	bool peer_read[MAX_RECS];
	int dir[MAX_RECS];
};

static void collect(const struct msg_record *r, void *ctx)
{
	struct got *g = ctx;

	if (g->n >= MAX_RECS)
		return;
	g->proto[g->n] = r->proto;
	g->tls[g->n] = r->conn && r->conn->tls;
	g->peer_read[g->n] = r->peer_read;
	g->dir[g->n] = r->dir;
	g->pid[g->n] = r->conn ? r->conn->pid : 0;
	snprintf(g->local[g->n], 64, "%s", r->conn ? r->conn->local : "");
	if (r->proto == PROTO_NATS) {
		g->op[g->n] = r->nats.op;
		snprintf(g->subject[g->n], 64, "%.*s", (int)r->nats.subject.len,
			 r->nats.subject.ptr ? r->nats.subject.ptr : "");
		g->size[g->n] = r->nats.size;
		g->truncated[g->n] = r->nats.truncated;
	} else {
		g->status[g->n] = r->http.status;
		g->size[g->n] = r->http.body_size;
		g->truncated[g->n] = r->http.truncated;
	}
	g->n++;
}

/* One event as the kernel would send it: cap bytes of data, len on the wire. */
static struct ms_data_event *event(uint64_t conn, uint8_t proto, uint8_t dir,
				   uint64_t off, const char *data, uint32_t cap,
				   uint32_t len, uint8_t flags)
{
	struct ms_data_event *e = calloc(1, sizeof(*e) + cap);

	e->h.type = MS_EV_DATA;
	e->h.tgid = 4242;
	e->h.conn_id = conn;
	snprintf(e->h.comm, sizeof(e->h.comm), "tester");
	e->tuple.family = AF_INET;
	e->tuple.lport = 5555;
	e->tuple.rport = 4222;
	inet_pton(AF_INET, "127.0.0.1", e->tuple.laddr);
	inet_pton(AF_INET, "127.0.0.1", e->tuple.raddr);
	e->stream_off = off;
	e->cap_len = cap;
	e->len = len;
	e->dir = dir;
	e->proto = proto;
	e->role = MS_ROLE_CLIENT;
	e->flags = flags;
	memcpy(e->data, data, cap);
	return e;
}

static void send_ev(struct conntrack *ct, uint64_t conn, uint8_t proto,
		    uint8_t dir, uint64_t off, const char *data, uint32_t cap,
		    uint32_t len, uint8_t flags)
{
	struct ms_data_event *e = event(conn, proto, dir, off, data, cap, len, flags);

	conntrack_data(ct, e, 1000 + off);
	free(e);
}

static struct conntrack *new_ct(struct got *g, size_t max_conns)
{
	struct conntrack_opts o = { .payload_keep = 4096, .max_conns = max_conns };

	memset(g, 0, sizeof(*g));
	return conntrack_new(&o, collect, g);
}

static void test_contiguous_chunks(void)
{
	struct got g;
	struct conntrack *ct = new_ct(&g, 16);
	const char *a = "PUB foo 5\r\nhel", *b = "lo\r\nPING\r\n";

	send_ev(ct, 1, MS_PROTO_NATS, MS_DIR_SEND, 0, a, strlen(a), strlen(a), MS_F_FRESH);
	CHECK_EQ_INT(g.n, 0);
	send_ev(ct, 1, MS_PROTO_NATS, MS_DIR_SEND, strlen(a), b, strlen(b), strlen(b), MS_F_FRESH);
	CHECK_EQ_INT(g.n, 2);
	CHECK_EQ_INT(g.op[0], NATS_PUB);
	CHECK(!strcmp(g.subject[0], "foo"));
	CHECK_EQ_INT(g.size[0], 5);
	CHECK_EQ_INT(g.op[1], NATS_PING);
	CHECK_EQ_INT(g.pid[0], 4242);
	CHECK(!strcmp(g.local[0], "127.0.0.1:5555"));
	CHECK_EQ_INT(conntrack_stats(ct).gap_bytes, 0);
	conntrack_free(ct);
}

/* --pair-local: a record says peer_read when the event that completed it
 * did, per direction, on both protocols' parsers. */
static void test_peer_read(void)
{
	struct got g;
	struct conntrack *ct = new_ct(&g, 16);
	const char *a = "PUB a 1\r\nx\r\nPUB b 2\r\n", *b = "yy\r\nPUB c 0\r\n\r\n";
	const char *req = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
	const char *resp = "HTTP/1.1 204 No Content\r\n\r\n";

	send_ev(ct, 1, MS_PROTO_NATS, MS_DIR_SEND, 0, a, strlen(a), strlen(a), MS_F_FRESH);
	send_ev(ct, 1, MS_PROTO_NATS, MS_DIR_SEND, strlen(a), b, strlen(b), strlen(b),
		MS_F_FRESH | MS_F_PEER_READ);
	CHECK_EQ_INT(g.n, 3);
	CHECK(!g.peer_read[0] && g.peer_read[1] && g.peer_read[2]);
	send_ev(ct, 2, MS_PROTO_HTTP, MS_DIR_RECV, 0, req, strlen(req), strlen(req), MS_F_FRESH);
	send_ev(ct, 2, MS_PROTO_HTTP, MS_DIR_SEND, 0, resp, strlen(resp), strlen(resp),
		MS_F_FRESH | MS_F_PEER_READ);
	CHECK_EQ_INT(g.n, 5);
	CHECK(!g.peer_read[3] && g.dir[3] == DIR_RECV);
	CHECK(g.peer_read[4] && g.dir[4] == DIR_SEND && g.status[4] == 204);
	conntrack_free(ct);
}

/* A large payload cut by the snaplen: the rest is a gap inside the payload,
 * the message is reported truncated and the next one still parses. */
static void test_snaplen_cut(void)
{
	struct got g;
	struct conntrack *ct = new_ct(&g, 16);
	char big[200];
	const char *next = "PUB bar 2\r\nok\r\n";
	uint32_t wire = 14 + 1000 + 2; /* "PUB foo 1000\r\n" payload "\r\n" */

	memcpy(big, "PUB foo 1000\r\n", 14);
	memset(big + 14, 'x', sizeof(big) - 14);
	send_ev(ct, 1, MS_PROTO_NATS, MS_DIR_SEND, 0, big, sizeof(big), wire, MS_F_FRESH);
	send_ev(ct, 1, MS_PROTO_NATS, MS_DIR_SEND, wire, next, strlen(next), strlen(next), MS_F_FRESH);
	CHECK_EQ_INT(g.n, 2);
	CHECK_EQ_INT(g.size[0], 1000);
	CHECK(g.truncated[0]);
	CHECK(!strcmp(g.subject[1], "bar"));
	CHECK(!g.truncated[1]);
	conntrack_free(ct);
}

/* Events lost in the ring buffer show as an offset jump: the parser
 * resynchronises and never reports the half message as a whole one. */
static void test_drop_gap_resync(void)
{
	struct got g;
	struct conntrack *ct = new_ct(&g, 16);
	const char *a = "PUB a 3\r\nabc\r\nPUB b 10\r\n01234";
	const char *c = "PUB c 1\r\nz\r\n";

	send_ev(ct, 1, MS_PROTO_NATS, MS_DIR_SEND, 0, a, strlen(a), strlen(a), MS_F_FRESH);
	/* The next 500 bytes were dropped; c starts a new message. */
	send_ev(ct, 1, MS_PROTO_NATS, MS_DIR_SEND, strlen(a) + 500, c, strlen(c), strlen(c), MS_F_FRESH);
	CHECK(g.n >= 2);
	CHECK(!strcmp(g.subject[0], "a"));
	CHECK(!strcmp(g.subject[g.n - 1], "c"));
	for (int i = 0; i < g.n; i++)
		CHECK(strcmp(g.subject[i], "b") || g.truncated[i]);
	CHECK(conntrack_stats(ct).gap_bytes >= 500);
	conntrack_free(ct);
}

/* Captured bytes after a gap that belong to no record (the end of a
 * payload whose start was dropped) are counted as skipped. */
static void test_gap_skipped_bytes(void)
{
	struct got g;
	struct conntrack *ct = new_ct(&g, 16);
	const char *a = "PUB a 3\r\nabc\r\n";
	const char *tail = "of a dropped payload\r\n";
	char c[64];

	snprintf(c, sizeof(c), "%sPUB c 1\r\nz\r\n", tail);
	send_ev(ct, 1, MS_PROTO_NATS, MS_DIR_SEND, 0, a, strlen(a), strlen(a), MS_F_FRESH);
	send_ev(ct, 1, MS_PROTO_NATS, MS_DIR_SEND, strlen(a) + 500, c, strlen(c), strlen(c), MS_F_FRESH);
	CHECK_EQ_INT(g.n, 2);
	CHECK(!strcmp(g.subject[g.n - 1], "c"));
	CHECK_EQ_INT(conntrack_stats(ct).gap_bytes, 500);
	CHECK_EQ_INT(conntrack_stats(ct).skipped_bytes, strlen(tail));
	conntrack_free(ct);
}

/* An event shipped with fewer bytes than its call moved (a snaplen or
 * ring cut) is a gap of its own kind: cut_bytes tells it from the offset
 * jumps that dropped events leave, which drop_bytes already counts. The
 * cut of a send marked peer_read (--pair-local) was lost to its reader
 * too, which left its read out: peer_cut_bytes counts it again. */
static void test_cut_bytes(void)
{
	struct got g;
	struct conntrack *ct = new_ct(&g, 16);
	const char *a = "PUB a 3\r\nabc\r\nPUB b 80\r\n0123";
	const char *c = "PUB c 1\r\nz\r\n";
	uint32_t a_len = strlen(a) + 78;

	send_ev(ct, 1, MS_PROTO_NATS, MS_DIR_SEND, 0, a, strlen(a), a_len, MS_F_FRESH);
	send_ev(ct, 1, MS_PROTO_NATS, MS_DIR_SEND, a_len + 500, c, strlen(c), strlen(c), MS_F_FRESH);
	CHECK(!strcmp(g.subject[g.n - 1], "c"));
	CHECK_EQ_INT(conntrack_stats(ct).cut_bytes, 78);
	CHECK_EQ_INT(conntrack_stats(ct).gap_bytes, 78 + 500);
	CHECK_EQ_INT(conntrack_stats(ct).peer_cut_bytes, 0);
	send_ev(ct, 2, MS_PROTO_NATS, MS_DIR_SEND, 0, a, strlen(a), a_len,
		MS_F_FRESH | MS_F_PEER_READ);
	CHECK_EQ_INT(conntrack_stats(ct).cut_bytes, 78 + 78);
	CHECK_EQ_INT(conntrack_stats(ct).peer_cut_bytes, 78);
	conntrack_free(ct);
}

/* Two threads racing on one socket can deliver overlapping chunks. */
static void test_overlap_skipped(void)
{
	struct got g;
	struct conntrack *ct = new_ct(&g, 16);
	const char *a = "PING\r\nPO";

	send_ev(ct, 1, MS_PROTO_NATS, MS_DIR_RECV, 0, a, strlen(a), strlen(a), MS_F_FRESH);
	/* b claims offset 4: its first 4 bytes ("\r\nPO") repeat what we had. */
	send_ev(ct, 1, MS_PROTO_NATS, MS_DIR_RECV, 4, "\r\nPONG\r\n", 8, 8, MS_F_FRESH);
	CHECK_EQ_INT(g.n, 2);
	CHECK_EQ_INT(g.op[0], NATS_PING);
	CHECK_EQ_INT(g.op[1], NATS_PONG);
	conntrack_free(ct);
}

/* A connection joined late starts at whatever offset we first see. */
static void test_late_join(void)
{
	struct got g;
	struct conntrack *ct = new_ct(&g, 16);
	const char *a = "PUB late 2\r\nhi\r\n";

	send_ev(ct, 9, MS_PROTO_NATS, MS_DIR_SEND, 123456, a, strlen(a), strlen(a), 0);
	CHECK_EQ_INT(g.n, 1);
	CHECK(!strcmp(g.subject[0], "late"));
	CHECK_EQ_INT(conntrack_stats(ct).gap_bytes, 0);
	conntrack_free(ct);
}

/* HTTP body sent with sendfile: a zero-capture event the size of the body.
 * The response completes right away, truncated, with its true size. */
static void test_http_sendfile(void)
{
	struct got g;
	struct conntrack *ct = new_ct(&g, 16);
	const char *hdr = "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n";
	struct ms_data_event *e;

	send_ev(ct, 3, MS_PROTO_HTTP, MS_DIR_SEND, 0, hdr, strlen(hdr), strlen(hdr), MS_F_FRESH);
	e = event(3, MS_PROTO_HTTP, MS_DIR_SEND, strlen(hdr), "", 0, 5000,
		  MS_F_FRESH | MS_F_UNCOPIED);
	conntrack_data(ct, e, 2000);
	free(e);
	CHECK_EQ_INT(g.n, 1);
	CHECK_EQ_INT(g.proto[0], PROTO_HTTP);
	CHECK_EQ_INT(g.status[0], 200);
	CHECK_EQ_INT(g.size[0], 5000);
	CHECK(g.truncated[0]);
	conntrack_free(ct);
}

/* Close completes a body delimited by the end of the connection. */
static void test_close_flushes(void)
{
	struct got g;
	struct conntrack *ct = new_ct(&g, 16);
	const char *req = "GET / HTTP/1.0\r\n\r\n";
	const char *rsp = "HTTP/1.0 200 OK\r\n\r\nbody until close";
	struct ms_close_event c = { .h = { .type = MS_EV_CLOSE, .conn_id = 4 } };

	send_ev(ct, 4, MS_PROTO_HTTP, MS_DIR_SEND, 0, req, strlen(req), strlen(req), MS_F_FRESH);
	send_ev(ct, 4, MS_PROTO_HTTP, MS_DIR_RECV, 0, rsp, strlen(rsp), strlen(rsp), MS_F_FRESH);
	CHECK_EQ_INT(g.n, 1);
	c.stream_end[MS_DIR_SEND] = strlen(req);
	c.stream_end[MS_DIR_RECV] = strlen(rsp);
	conntrack_close(ct, &c, 3000);
	CHECK_EQ_INT(g.n, 2);
	CHECK_EQ_INT(g.status[1], 200);
	CHECK_EQ_INT(g.size[1], strlen("body until close"));
	CHECK_EQ_INT(conntrack_stats(ct).conns_open, 0);
	conntrack_free(ct);
}

/* The table never holds more than max_conns: the idlest goes. */
static void test_eviction_bound(void)
{
	struct got g;
	struct conntrack *ct = new_ct(&g, 16);

	for (uint64_t id = 1; id <= 1000; id++)
		send_ev(ct, id, MS_PROTO_NATS, MS_DIR_SEND, 0, "PING\r\n", 6, 6, MS_F_FRESH);
	CHECK_EQ_INT(g.n, MAX_RECS);
	CHECK_EQ_INT(conntrack_stats(ct).conns_open, 16);
	CHECK_EQ_INT(conntrack_stats(ct).conns_evicted, 1000 - 16);
	CHECK_EQ_INT(conntrack_stats(ct).conns_total, 1000);
	conntrack_proc_exit(ct, 4242, 5000);
	CHECK_EQ_INT(conntrack_stats(ct).conns_open, 0);
	conntrack_free(ct);
}

/* A ClientHello / ServerHello record header and the first handshake bytes. */
static const char client_hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
				   "PUB fake 1\r\nX\r\n";
static const char server_hello[] = "\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03"
				   "MSG fake 1 1\r\nX\r\n";

/*
 * NATS over TLS as the kernel reports it: INFO in the clear, handshake
 * ciphertext shipped before the TLS probes bound the socket, then TLS
 * plaintext whose offsets start again at 0. Only INFO and the plaintext
 * make records; the plaintext ones say tls.
 */
static void test_tls_switch(void)
{
	struct got g;
	struct conntrack *ct = new_ct(&g, 16);
	const char *info = "INFO {\"tls_required\":true}\r\n";
	const char *c1 = "CONNECT {\"verbose\":false}\r\nPUB orders.new 5\r\nhello\r\n";
	const char *c2 = "PING\r\n";

	send_ev(ct, 7, MS_PROTO_NATS, MS_DIR_RECV, 0, info, strlen(info), strlen(info), MS_F_FRESH);
	CHECK_EQ_INT(g.n, 1);
	CHECK_EQ_INT(g.op[0], NATS_INFO);
	CHECK(!g.tls[0]);
	/* ciphertext from the socket: never parsed, even when text follows */
	send_ev(ct, 7, MS_PROTO_NATS, MS_DIR_SEND, 0, client_hello, sizeof(client_hello) - 1,
		517, MS_F_FRESH);
	send_ev(ct, 7, MS_PROTO_NATS, MS_DIR_RECV, strlen(info), server_hello,
		sizeof(server_hello) - 1, 1400, MS_F_FRESH);
	send_ev(ct, 7, MS_PROTO_NATS, MS_DIR_SEND, 517, "PING\r\n", 6, 6, MS_F_FRESH);
	CHECK_EQ_INT(g.n, 1);
	/* TLS plaintext: streams start afresh at offset 0 */
	send_ev(ct, 7, MS_PROTO_NATS, MS_DIR_SEND, 0, c1, strlen(c1), strlen(c1),
		MS_F_FRESH | MS_F_TLS);
	CHECK_EQ_INT(g.n, 3);
	CHECK_EQ_INT(g.op[1], NATS_CONNECT);
	CHECK_EQ_INT(g.op[2], NATS_PUB);
	CHECK(!strcmp(g.subject[2], "orders.new"));
	CHECK(g.tls[1] && g.tls[2]);
	send_ev(ct, 7, MS_PROTO_NATS, MS_DIR_RECV, 0, "PONG\r\n", 6, 6, MS_F_FRESH | MS_F_TLS);
	CHECK_EQ_INT(g.n, 4);
	CHECK_EQ_INT(g.op[3], NATS_PONG);
	CHECK(g.tls[3]);
	/* a socket chunk raced in after the switch: ciphertext, ignored */
	send_ev(ct, 7, MS_PROTO_NATS, MS_DIR_SEND, 600, "\x17\x03\x03\x00\x20PUB x 1\r\nY\r\n",
		18, 37, MS_F_FRESH);
	send_ev(ct, 7, MS_PROTO_NATS, MS_DIR_SEND, strlen(c1), c2, strlen(c2), strlen(c2),
		MS_F_FRESH | MS_F_TLS);
	CHECK_EQ_INT(g.n, 5);
	CHECK_EQ_INT(g.op[4], NATS_PING);
	CHECK_EQ_INT(conntrack_stats(ct).parse_errors, 0);
	CHECK_EQ_INT(conntrack_stats(ct).gap_bytes, 0);
	conntrack_free(ct);
}

/* HTTPS seen only through the TLS probes: ordinary records, tls set. */
static void test_tls_from_start(void)
{
	struct got g;
	struct conntrack *ct = new_ct(&g, 16);
	const char *req = "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhi\n";

	send_ev(ct, 8, MS_PROTO_HTTP, MS_DIR_SEND, 0, req, strlen(req), strlen(req),
		MS_F_FRESH | MS_F_TLS);
	send_ev(ct, 8, MS_PROTO_HTTP, MS_DIR_RECV, 0, resp, strlen(resp), strlen(resp),
		MS_F_FRESH | MS_F_TLS);
	CHECK_EQ_INT(g.n, 2);
	CHECK(g.proto[0] == PROTO_HTTP && g.tls[0] && g.dir[0] == DIR_SEND);
	CHECK(g.proto[1] == PROTO_HTTP && g.tls[1] && g.status[1] == 200);
	conntrack_free(ct);
}

/*
 * A connection whose very first socket bytes are a ClientHello (a port
 * forced to NATS with -P, TLS-first, no TLS probes for this program): no
 * record at all, and the close does not report ciphertext offsets as gaps.
 */
static void test_tls_hello_first(void)
{
	struct got g;
	struct conntrack *ct = new_ct(&g, 16);
	struct ms_close_event ce = {};

	send_ev(ct, 9, MS_PROTO_NATS, MS_DIR_SEND, 0, client_hello, sizeof(client_hello) - 1,
		517, MS_F_FRESH);
	send_ev(ct, 9, MS_PROTO_NATS, MS_DIR_RECV, 0, server_hello, sizeof(server_hello) - 1,
		1400, MS_F_FRESH);
	send_ev(ct, 9, MS_PROTO_NATS, MS_DIR_SEND, 517, "PUB a 1\r\nZ\r\n", 12, 12, MS_F_FRESH);
	CHECK_EQ_INT(g.n, 0);
	ce.h.type = MS_EV_CLOSE;
	ce.h.conn_id = 9;
	ce.stream_end[0] = 5000;
	ce.stream_end[1] = 9000;
	conntrack_close(ct, &ce, 9999);
	CHECK_EQ_INT(g.n, 0);
	CHECK_EQ_INT(conntrack_stats(ct).parse_errors, 0);
	CHECK_EQ_INT(conntrack_stats(ct).gap_bytes, 0);
	conntrack_free(ct);
}

int main(void)
{
	test_peer_read();
	test_contiguous_chunks();
	test_snaplen_cut();
	test_drop_gap_resync();
	test_gap_skipped_bytes();
	test_cut_bytes();
	test_overlap_skipped();
	test_late_join();
	test_http_sendfile();
	test_close_flushes();
	test_eviction_bound();
	test_tls_switch();
	test_tls_from_start();
	test_tls_hello_first();
	return check_summary("conntrack");
}
