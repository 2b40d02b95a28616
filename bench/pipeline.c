/* SPDX-License-Identifier: MIT */
/*
 * pipeline — msgscope's userspace cost per message, without the kernel.
 *
 * Kernel events are built here exactly as bpf/capture.bpf.c lays them out
 * and go through the same stages as `msgscope trace -o /dev/null`:
 * conntrack (stream reassembly, parsers) -> redaction -> JSON record ->
 * trace writer, and the correlator with its delivery/exchange/flow lines.
 * No BPF and no load generator, so the numbers are repeatable: run it under
 * `valgrind --tool=callgrind` to compare two builds by instructions, or
 * plainly for ns per message. Not a test; see bench/README.md.
 *
 *   pipeline [-w nats|http|wrk] [-n MESSAGES] [-b PER_SYSCALL] [-s SIZE]
 *            [-f] [-o FILE] [-t]
 *
 * nats: one publisher and one subscriber through a server, all three on
 * this host, so every message is seen four times (PUB sent, PUB read, MSG
 * sent, MSG read), as in bench/run.sh's system-wide runs. -b messages are
 * written (and read) per syscall. -f: the connections are seen from their
 * first byte (CONNECT, SUB); by default they are joined mid-stream, as when
 * msgscope starts after the clients.
 * http: a keep-alive client and server, GET and a 100-byte response, each
 * seen at both ends.
 * wrk: as bench/run.sh's http-wrk case: 32 keep-alive connections taken in
 * turn, the response head nginx sends there (its Date moves on each
 * second of the simulated 100k requests/s).
 * -d N: every Nth kernel event is lost, as when the ring buffer is full;
 * -c BYTES: each event copies at most BYTES, as under --snaplen (the rest
 * of the syscall is a gap). Both put the correlator in the state it is in
 * at saturation: publications with views missing or cut short, pending.
 * -t: the records go where `msgscope top` puts them (the live view's
 * model: its correlator and its ring of recent messages) instead of the
 * JSON trace; under `valgrind --tool=callgrind --cache-sim=yes` this
 * counts the cache misses of keeping messages, which live A/B runs cannot
 * resolve.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include "conntrack.h"
#include "correlator.h"
#include "flow_json.h"
#include "json_writer.h"
#include "record_json.h"
#include "redact.h"
#include "trace_writer.h"
#include "tui_model.h"

struct sink {
	struct redactor *redactor;
	struct trace_writer *out;
	struct correlator *corr;
	struct record_json_cache jcache;
	struct flow_json_cache fcache;
	struct tui_model *model;   /* -t */
	uint64_t records, flow_lines;
};

static void on_flow_event(const struct flow_event *ev, void *ctx)
{
	struct sink *s = ctx;

	if (flow_event_write_cached(trace_writer_line(s->out), ev, &s->fcache))
		trace_writer_commit(s->out);
	s->flow_lines++;
}

/* What session.c and cmd_trace.c do with each record. */
static void on_record(const struct msg_record *rec, void *ctx)
{
	struct sink *s = ctx;
	struct msg_record r;

	if (redact_applies(rec)) {
		r = *rec;
		redact_record(s->redactor, &r);
		rec = &r;
	}
	if (s->model) {
		tui_model_add_record(s->model, rec);
		s->records++;
		return;
	}
	record_write_json_cached(trace_writer_line(s->out), rec, &s->jcache);
	trace_writer_commit(s->out);
	corr_record(s->corr, rec);
	s->records++;
}

/* ---- events as the kernel sends them ------------------------------------ */

struct end {
	uint64_t conn_id;
	uint32_t pid;
	const char *comm;
	uint16_t lport, rport;
	uint8_t role;
	uint64_t off[2];
};

static struct ms_data_event *ev;
static size_t ev_cap;
static long drop_every;     /* -d */
static size_t snap_cap;     /* -c, 0: none */
static unsigned long long nevents, ndropped;

static void put_event(struct conntrack *ct, struct end *e, uint8_t dir,
		      uint8_t proto, bool fresh, uint64_t ts,
		      const char *data, size_t len)
{
	if (sizeof(*ev) + len > ev_cap) {
		ev_cap = sizeof(*ev) + len;
		ev = realloc(ev, ev_cap);
		if (!ev) {
			perror("pipeline");
			exit(1);
		}
	}
	if (drop_every && ++nevents % (unsigned long long)drop_every == 0) {
		e->off[dir] += len; /* the next event shows the gap */
		ndropped++;
		return;
	}
	memset(ev, 0, sizeof(*ev));
	ev->h.type = MS_EV_DATA;
	ev->h.tgid = ev->h.tid = e->pid;
	ev->h.fd = 7;
	ev->h.ts_ns = ts;
	ev->h.conn_id = e->conn_id;
	strncpy(ev->h.comm, e->comm, sizeof(ev->h.comm) - 1);
	ev->tuple.family = AF_INET;
	ev->tuple.lport = e->lport;
	ev->tuple.rport = e->rport;
	memcpy(ev->tuple.laddr, "\x7f\0\0\1", 4);
	memcpy(ev->tuple.raddr, "\x7f\0\0\1", 4);
	ev->stream_off = e->off[dir];
	ev->len = ev->cap_len = len;
	if (snap_cap && len > snap_cap)
		ev->cap_len = snap_cap;
	ev->dir = dir;
	ev->proto = proto;
	ev->role = e->role;
	ev->flags = fresh ? MS_F_FRESH : 0;
	ev->syscall = dir == MS_DIR_SEND ? MS_SC_WRITE : MS_SC_READ;
	memcpy(ev->data, data, len);
	e->off[dir] += len;
	conntrack_data(ct, ev, ts);
}

/* The same bytes written at one end and read at the other. */
static void put_both(struct conntrack *ct, struct end *from, struct end *to,
		     uint8_t proto, bool fresh, uint64_t ts, const char *data,
		     size_t len)
{
	put_event(ct, from, MS_DIR_SEND, proto, fresh, ts, data, len);
	put_event(ct, to, MS_DIR_RECV, proto, fresh, ts + 15000, data, len);
}

struct opts {
	const char *workload, *out;
	long n, batch, size;
	bool fresh, top;
};

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p) {
			perror("pipeline");
			exit(1);
		}
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void put_hex16(char *p, uint64_t v)
{
	for (int i = 15; i >= 0; i--, v >>= 4)
		p[i] = "0123456789abcdef"[v & 15];
}

static void run_nats(struct conntrack *ct, const struct opts *o, uint64_t t0)
{
	struct end pub = { 1, 100, "publisher", 40001, 4222, MS_ROLE_CLIENT };
	struct end srv_pub = { 2, 200, "nats-server", 4222, 40001, MS_ROLE_SERVER };
	struct end srv_sub = { 3, 200, "nats-server", 4222, 40002, MS_ROLE_SERVER };
	struct end sub = { 4, 300, "subscriber", 40002, 4222, MS_ROLE_CLIENT };
	struct buf pubs = { 0 }, msgs = { 0 };
	char *payload = malloc(o->size + 1), pub_line[64], msg_line[64];
	int pub_n = snprintf(pub_line, sizeof(pub_line), "PUB bench.msgs %ld\r\n", o->size);
	int msg_n = snprintf(msg_line, sizeof(msg_line), "MSG bench.msgs 1 %ld\r\n", o->size);
	uint64_t ts = t0;

	if (!payload)
		exit(1);
	memset(payload, 'x', o->size);
	if (o->fresh) {
		static const char c[] = "CONNECT {\"verbose\":false,\"name\":\"bench\"}\r\n";
		static const char s[] = "SUB bench.msgs 1\r\n";

		put_both(ct, &pub, &srv_pub, MS_PROTO_NATS, true, ts, c, sizeof(c) - 1);
		put_both(ct, &sub, &srv_sub, MS_PROTO_NATS, true, ts, c, sizeof(c) - 1);
		put_both(ct, &sub, &srv_sub, MS_PROTO_NATS, true, ts, s, sizeof(s) - 1);
	}
	for (long i = 0; i < o->n; i += o->batch) {
		pubs.len = msgs.len = 0;
		for (long k = i; k < i + o->batch && k < o->n; k++) {
			/* like nats_bench: send time and sequence in hex */
			put_hex16(payload, ts + (uint64_t)(k - i) * 10000);
			put_hex16(payload + 16, (uint64_t)k);
			buf_add(&pubs, pub_line, pub_n);
			buf_add(&pubs, payload, o->size);
			buf_add(&pubs, "\r\n", 2);
			buf_add(&msgs, msg_line, msg_n);
			buf_add(&msgs, payload, o->size);
			buf_add(&msgs, "\r\n", 2);
		}
		put_both(ct, &pub, &srv_pub, MS_PROTO_NATS, o->fresh, ts, pubs.p, pubs.len);
		put_both(ct, &srv_sub, &sub, MS_PROTO_NATS, o->fresh, ts + 30000,
			 msgs.p, msgs.len);
		ts += 1000000; /* one batch per millisecond */
	}
	free(pubs.p);
	free(msgs.p);
	free(payload);
}

static void run_http(struct conntrack *ct, const struct opts *o, uint64_t t0)
{
	struct end cli = { 1, 100, "wrk", 40001, 8080, MS_ROLE_CLIENT };
	struct end srv = { 2, 200, "nginx", 8080, 40001, MS_ROLE_SERVER };
	static const char req[] = "GET /small HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
	char resp[512];
	int hl = snprintf(resp, sizeof(resp),
			  "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\n"
			  "Content-Length: 100\r\nConnection: keep-alive\r\n\r\n");
	uint64_t ts = t0;

	memset(resp + hl, 'a', 100);
	for (long i = 0; i < o->n; i++) {
		put_both(ct, &cli, &srv, MS_PROTO_HTTP, o->fresh, ts, req, sizeof(req) - 1);
		put_both(ct, &srv, &cli, MS_PROTO_HTTP, o->fresh, ts + 40000, resp, hl + 100);
		ts += 10000; /* 100k requests/s */
	}
}

#define WRK_CONNS 32

static void run_wrk(struct conntrack *ct, const struct opts *o, uint64_t t0)
{
	static struct end cli[WRK_CONNS], srv[WRK_CONNS];
	static const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
	char resp[512];
	uint64_t ts = t0;
	int hl = 0;

	for (int k = 0; k < WRK_CONNS; k++) {
		cli[k] = (struct end){ 1 + 2 * k, 100, "wrk", 40001 + k, 8080,
				       MS_ROLE_CLIENT };
		srv[k] = (struct end){ 2 + 2 * k, 200, "nginx", 8080, 40001 + k,
				       MS_ROLE_SERVER };
	}
	for (long i = 0; i < o->n; i++) {
		int k = (int)(i % WRK_CONNS);

		if (i % 100000 == 0) {
			hl = snprintf(resp, sizeof(resp),
				      "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
				      "Date: Mon, 07 Dec 2026 18:%02ld:%02ld GMT\r\n"
				      "Content-Type: application/octet-stream\r\n"
				      "Content-Length: 100\r\n"
				      "Last-Modified: Mon, 07 Dec 2026 08:49:00 GMT\r\n"
				      "Connection: keep-alive\r\nETag: \"6975d6bc-64\"\r\n"
				      "Accept-Ranges: bytes\r\n\r\n",
				      i / 6000000 % 60, i / 100000 % 60);
			memset(resp + hl, 'a', 100);
		}
		put_both(ct, &cli[k], &srv[k], MS_PROTO_HTTP, o->fresh, ts, req,
			 sizeof(req) - 1);
		put_both(ct, &srv[k], &cli[k], MS_PROTO_HTTP, o->fresh, ts + 40000,
			 resp, (size_t)hl + 100);
		ts += 10000; /* 100k requests/s */
	}
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pipeline [-w nats|http|wrk] [-n MESSAGES] [-b PER_SYSCALL] [-s SIZE]\n"
		   "                [-d LOSE_EVERY] [-c CAPTURE_BYTES] [-f] [-o FILE] [-t]\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
	int c;

	while ((c = getopt(argc, argv, "w:n:b:s:d:c:fo:th")) != -1) {
		switch (c) {
		case 'w': o->workload = optarg; break;
		case 'n': o->n = atol(optarg); break;
		case 'b': o->batch = atol(optarg); break;
		case 's': o->size = atol(optarg); break;
		case 'd': drop_every = atol(optarg); break;
		case 'c': snap_cap = (size_t)atol(optarg); break;
		case 'f': o->fresh = true; break;
		case 'o': o->out = optarg; break;
		case 't': o->top = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (o->n <= 0 || o->batch <= 0 || o->size < 32 || drop_every < 0 ||
	    drop_every == 1 ||
	    (strcmp(o->workload, "nats") && strcmp(o->workload, "http") &&
	     strcmp(o->workload, "wrk"))) {
		usage(stderr);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { "nats", "/dev/null", 200000, 100, 256, false, false };
	struct tui_model model;
	struct tui_model_opts mo = { .interval_ns = 1000000000ull, .payload_cap = 2048 };
	struct conntrack_opts cto = { .payload_keep = 1024 };
	struct corr_config cfg;
	struct sink s = { 0 };
	struct conntrack *ct;
	struct timespec a, b;
	uint64_t t0 = 1800000000ull * 1000000000ull;
	double c0, wall, cpu;
	bool nats;

	if (parse(argc, argv, &o))
		return 2;
	nats = !strcmp(o.workload, "nats");
	corr_config_default(&cfg);
	cfg.periodic_flows = true;
	cfg.payload_keep = 0; /* as cmd_trace.c */
	cfg.emit = on_flow_event;
	cfg.emit_ctx = &s;
	s.redactor = redactor_new();
	if (o.top) {
		if (tui_model_init(&model, &mo))
			return 1;
		s.model = &model;
		s.corr = model.corr;
	} else {
		s.corr = corr_new(&cfg);
	}
	ct = conntrack_new(&cto, on_record, &s);
	if (!s.redactor || !s.corr || !ct || trace_writer_open(&s.out, o.out))
		return 1;
	c0 = cpu_s();
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (nats)
		run_nats(ct, &o, t0);
	else if (!strcmp(o.workload, "wrk"))
		run_wrk(ct, &o, t0);
	else
		run_http(ct, &o, t0);
	conntrack_flush(ct, t0);
	corr_finish(s.corr);
	trace_writer_flush(s.out);
	clock_gettime(CLOCK_MONOTONIC, &b);
	cpu = cpu_s() - c0;
	wall = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("{\"workload\":\"%s\",\"messages\":%ld,\"records\":%llu,\"flow_lines\":%llu,"
	       "\"cpu_s\":%.3f,\"wall_s\":%.3f,\"ns_per_record\":%.0f,\"records_per_s\":%.0f,"
	       "\"events_lost\":%llu,\"corr_late\":%llu,\"corr_evicted_pubs\":%llu}\n",
	       o.workload, o.n, (unsigned long long)s.records,
	       (unsigned long long)s.flow_lines, cpu, wall,
	       s.records ? cpu * 1e9 / s.records : 0, cpu ? s.records / cpu : 0,
	       ndropped,
	       (unsigned long long)corr_counters(s.corr)->late,
	       (unsigned long long)corr_counters(s.corr)->evicted_pubs);
	conntrack_free(ct);
	trace_writer_close(s.out);
	if (s.model)
		tui_model_free(s.model);
	else
		corr_free(s.corr);
	redactor_free(s.redactor);
	free(ev);
	return 0;
}
