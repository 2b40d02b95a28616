// SPDX-License-Identifier: MIT
/*
 * test_correlator.c — the correlator on hand-built record sequences that
 * mirror what capture gives: every logical message is rendered as the
 * records of the ends that are traced (client's write/read, server's
 * read/write), so the same traffic can be fed as seen from the clients only,
 * the server only, or every process, and the results compared.
 * Also: latency_hist.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "correlator.h"
#include "latency_hist.h"

#define MS 1000000ULL
#define US 1000ULL
#define T0 1763762400000000000ULL

/* ---- the simulated host ---- */

/* VIEW_PAIRED: both ends traced with --pair-local, the reader's record
 * left out and the sender's marked peer_read (from the message numbered
 * sim.pair_from on; the kernel pairs a connection's ends at the second
 * one's first sight). */
enum view { VIEW_CLIENTS = 1, VIEW_SERVER = 2, VIEW_ALL = 3, VIEW_PAIRED = 7 };
#define VIEW_PAIRED_BIT 4

struct proc {
	uint32_t pid;
	const char *comm;
	const char *addr;
	const char *name; /* NATS CONNECT name */
};

static const struct proc SRV = { 100, "nats-server", "127.0.0.1:4222", NULL };
static const struct proc PA = { 101, "publisher", "127.0.0.1:50001", "A" };
static const struct proc PB = { 102, "sub-b", "127.0.0.1:50002", "B" };
static const struct proc PC = { 103, "sub-c", "127.0.0.1:50003", "C" };
static const struct proc HC = { 201, "curl", "127.0.0.1:40001", NULL };
static const struct proc HS = { 202, "api", "127.0.0.1:8080", NULL };

static const struct proc *const HOST[] = { &SRV, &PA, &PB, &PC, &HC, &HS };

/* What sock_resolver would say for loopback peers. */
static bool test_resolve(const char *addr, struct endpoint_info *out, void *ctx)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof(HOST) / sizeof(HOST[0]); i++) {
		if (strcmp(HOST[i]->addr, addr) == 0) {
			out->pid = HOST[i]->pid;
			snprintf(out->comm, sizeof(out->comm), "%s", HOST[i]->comm);
			return true;
		}
	}
	return false;
}

/* ---- collected events, as canonical strings ---- */

#define MAX_EV 256

struct sink {
	char *ev[MAX_EV];
	size_t n;
	size_t exchanges, deliveries, flows;
};

static void ep_str(char *b, size_t n, const struct endpoint_info *e)
{
	if (!e)
		snprintf(b, n, "-");
	else
		snprintf(b, n, "%u/%s/%s/%s", e->pid, e->comm, e->name, e->addr);
}

static void sink_cb(const struct flow_event *ev, void *ctx)
{
	struct sink *s = ctx;
	char buf[1024], a[160], b[160];
	size_t w;

	switch (ev->type) {
	case FLOW_EV_EXCHANGE:
		s->exchanges++;
		ep_str(a, sizeof(a), ev->exchange.client);
		ep_str(b, sizeof(b), ev->exchange.server);
		if (ev->exchange.proto == PROTO_NATS)
			snprintf(buf, sizeof(buf), "X nats %s reply=%s %s -> %s ans=%d err=%d st=%d lat=%" PRIu64 " req=%" PRIu64 " resp=%" PRIu64,
				 ev->exchange.subject, ev->exchange.reply, a, b,
				 ev->exchange.answered, ev->exchange.error,
				 ev->exchange.status, ev->exchange.latency_ns,
				 ev->exchange.request_bytes, ev->exchange.response_bytes);
		else
			snprintf(buf, sizeof(buf), "X http %s %s [%s] %s -> %s ans=%d err=%d st=%d lat=%" PRIu64,
				 ev->exchange.method, ev->exchange.path,
				 ev->exchange.endpoint, a, b, ev->exchange.answered,
				 ev->exchange.error, ev->exchange.status,
				 ev->exchange.latency_ns);
		break;
	case FLOW_EV_DELIVERY:
		s->deliveries++;
		ep_str(a, sizeof(a), ev->delivery.from);
		w = (size_t)snprintf(buf, sizeof(buf), "D %s reply=%s size=%" PRIu64 " %s ->",
				     ev->delivery.subject, ev->delivery.reply,
				     ev->delivery.size, a);
		for (size_t i = 0; i < ev->delivery.n_to && w < sizeof(buf); i++) {
			ep_str(b, sizeof(b), ev->delivery.to[i].ep);
			w += (size_t)snprintf(buf + w, sizeof(buf) - w, " %s#%s%s%s", b,
					      ev->delivery.to[i].sid,
					      ev->delivery.to[i].queue ? "@" : "",
					      ev->delivery.to[i].queue ? ev->delivery.to[i].queue : "");
		}
		if (w < sizeof(buf))
			snprintf(buf + w, sizeof(buf) - w, " complete=%d",
				 ev->delivery.complete);
		break;
	case FLOW_EV_FLOW:
		s->flows++;
		snprintf(buf, sizeof(buf), "F %s %s %s -> %s %s%s%s n=%" PRIu64 " b=%" PRIu64 " e=%" PRIu64 "%s",
			 corr_proto_name(ev->flow.edge->proto),
			 corr_kind_name(ev->flow.edge->kind),
			 ev->flow.edge->from ? ev->flow.edge->from->key : "-",
			 ev->flow.edge->to ? ev->flow.edge->to->key : "-",
			 ev->flow.edge->method ? ev->flow.edge->method : "",
			 ev->flow.edge->method ? " " : "",
			 ev->flow.edge->subject, ev->flow.stats.count,
			 ev->flow.stats.bytes, ev->flow.stats.errors,
			 ev->flow.final ? " final" : "");
		break;
	}
	if (s->n < MAX_EV)
		s->ev[s->n++] = strdup(buf);
}

static void sink_clear(struct sink *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->ev[i]);
	memset(s, 0, sizeof(*s));
}

static bool sink_has(const struct sink *s, const char *want)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->ev[i], want) == 0)
			return true;
	return false;
}

static size_t sink_count_prefix(const struct sink *s, const char *prefix)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += strncmp(s->ev[i], prefix, strlen(prefix)) == 0;
	return n;
}

static void sink_dump(const struct sink *s, const char *title)
{
	fprintf(stderr, "--- %s (%zu events)\n", title, s->n);
	for (size_t i = 0; i < s->n; i++)
		fprintf(stderr, "  %s\n", s->ev[i]);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Same events regardless of order? */
static bool sink_same(struct sink *x, struct sink *y)
{
	if (x->n != y->n)
		return false;
	qsort(x->ev, x->n, sizeof(char *), str_cmp);
	qsort(y->ev, y->n, sizeof(char *), str_cmp);
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->ev[i], y->ev[i]) != 0)
			return false;
	return true;
}

/* ---- the simulator: logical messages → records of the traced ends ---- */

#define MAX_REC 512

struct pending_rec {
	struct msg_record rec;
	struct conn_meta *conn;
};

struct sim {
	enum view view;
	uint64_t t;          /* logical clock */
	uint64_t hop;        /* network+scheduling delay between the two ends */
	bool shuffle;        /* feed pairs of records in reverse order */
	unsigned nmsg, pair_from; /* VIEW_PAIRED */
	struct correlator *c;
	struct conn_meta metas[32];
	size_t nmeta;
	/* records buffered so that shuffle can reorder them */
	struct msg_record recs[MAX_REC];
	size_t nrec;
	char *strs[64];      /* strings the buffered records point to */
	size_t nstrs;
};

static struct conn_meta *sim_conn(struct sim *s, const struct proc *self,
				  const struct proc *other, enum role role)
{
	for (size_t i = 0; i < s->nmeta; i++) {
		struct conn_meta *m = &s->metas[i];

		if (m->pid == self->pid && !strcmp(m->local, self->addr) &&
		    !strcmp(m->peer, other->addr))
			return m;
	}
	struct conn_meta *m = &s->metas[s->nmeta++];

	memset(m, 0, sizeof(*m));
	m->id = s->nmeta;
	m->pid = self->pid;
	snprintf(m->comm, sizeof(m->comm), "%s", self->comm);
	snprintf(m->local, sizeof(m->local), "%s", self->addr);
	snprintf(m->peer, sizeof(m->peer), "%s", other->addr);
	m->role = role;
	return m;
}

static void sim_flush(struct sim *s)
{
	for (size_t i = 0; i < s->nrec; i++) {
		size_t j = i;

		/* shuffle: swap neighbours, as different CPUs would */
		if (s->shuffle)
			j = (i % 2 == 0) ? (i + 1 < s->nrec ? i + 1 : i) : i - 1;
		corr_record(s->c, &s->recs[j]);
	}
	s->nrec = 0;
}

static void sim_push(struct sim *s, const struct msg_record *r)
{
	if (s->nrec == MAX_REC)
		sim_flush(s);
	s->recs[s->nrec++] = *r;
}

/* VIEW_PAIRED, from message pair_from on: this one is recorded once. */
static bool sim_paired(struct sim *s)
{
	return (s->view & VIEW_PAIRED_BIT) && ++s->nmsg > s->pair_from;
}

/* One NATS message sent by `from` to `to` over their connection: the
 * sender's write at t, the receiver's read at t + hop. client is the NATS
 * client of the connection. */
static void sim_nats(struct sim *s, const struct proc *client, bool client_sends,
		     struct nats_msg m)
{
	struct msg_record r;
	const struct proc *from = client_sends ? client : &SRV;
	const struct proc *to = client_sends ? &SRV : client;
	bool from_traced = client_sends ? (s->view & VIEW_CLIENTS) : (s->view & VIEW_SERVER);
	bool to_traced = client_sends ? (s->view & VIEW_SERVER) : (s->view & VIEW_CLIENTS);

	s->t += MS;
	memset(&r, 0, sizeof(r));
	r.proto = PROTO_NATS;
	r.nats = m;
	if (from_traced) {
		r.ts_ns = s->t;
		r.dir = DIR_SEND;
		r.conn = sim_conn(s, from, to, client_sends ? ROLE_CLIENT : ROLE_SERVER);
		r.peer_read = sim_paired(s);
		sim_push(s, &r);
	}
	if (to_traced && !r.peer_read) {
		r.ts_ns = s->t + s->hop;
		r.dir = DIR_RECV;
		r.conn = sim_conn(s, to, from, client_sends ? ROLE_SERVER : ROLE_CLIENT);
		sim_push(s, &r);
	}
}

static struct slice S(const char *s)
{
	return s ? slice_from(s, strlen(s)) : SLICE_NULL;
}

static void n_connect(struct sim *s, const struct proc *cl)
{
	char *json = malloc(128);
	struct nats_msg m = { .op = NATS_CONNECT, .max_msgs = -1 };

	s->strs[s->nstrs++] = json;
	snprintf(json, 128,
		 "{\"verbose\":false,\"name\":\"%s\",\"lang\":\"go\",\"version\":\"1.31.0\"}",
		 cl->name);
	m.json = S(json);
	sim_nats(s, cl, false, (struct nats_msg){ .op = NATS_INFO, .max_msgs = -1,
		 .json = S("{\"server_id\":\"NABC\",\"server_name\":\"hub\"}") });
	sim_nats(s, cl, true, m);
}

static void n_sub(struct sim *s, const struct proc *cl, const char *subject,
		  const char *queue, const char *sid)
{
	sim_nats(s, cl, true, (struct nats_msg){ .op = NATS_SUB, .subject = S(subject),
		 .queue = S(queue), .sid = S(sid), .max_msgs = -1 });
}

static void n_unsub(struct sim *s, const struct proc *cl, const char *sid,
		    int64_t max)
{
	sim_nats(s, cl, true, (struct nats_msg){ .op = NATS_UNSUB, .sid = S(sid),
		 .max_msgs = max });
}

static void n_pub(struct sim *s, const struct proc *cl, const char *subject,
		  const char *reply, const char *payload)
{
	sim_nats(s, cl, true, (struct nats_msg){ .op = NATS_PUB, .subject = S(subject),
		 .reply = S(reply), .payload = S(payload), .size = strlen(payload),
		 .max_msgs = -1 });
}

static void n_msg(struct sim *s, const struct proc *cl, const char *subject,
		  const char *sid, const char *reply, const char *payload)
{
	sim_nats(s, cl, false, (struct nats_msg){ .op = NATS_MSG, .subject = S(subject),
		 .sid = S(sid), .reply = S(reply), .payload = S(payload),
		 .size = strlen(payload), .max_msgs = -1 });
}

static void n_hmsg(struct sim *s, const struct proc *cl, const char *subject,
		   const char *sid, const char *headers)
{
	sim_nats(s, cl, false, (struct nats_msg){ .op = NATS_HMSG, .subject = S(subject),
		 .sid = S(sid), .headers = S(headers),
		 .header_size = strlen(headers), .max_msgs = -1 });
}

static void n_err(struct sim *s, const struct proc *cl, const char *text)
{
	sim_nats(s, cl, false, (struct nats_msg){ .op = NATS_ERR, .json = S(text),
		 .max_msgs = -1 });
}

static void sim_init(struct sim *s, enum view view, struct sink *sink,
		     struct corr_config *cfg)
{
	struct corr_config def;

	memset(s, 0, sizeof(*s));
	s->view = view;
	s->t = T0;
	s->hop = 100 * US;
	if (!cfg) {
		corr_config_default(&def);
		cfg = &def;
	}
	cfg->resolve_addr = test_resolve;
	cfg->emit = sink_cb;
	cfg->emit_ctx = sink;
	s->c = corr_new(cfg);
}

static void sim_done(struct sim *s)
{
	sim_flush(s);
	corr_finish(s->c);
	for (size_t i = 0; i < s->nstrs; i++)
		free(s->strs[i]);
	s->nstrs = 0;
}

/* ---- the NATS scenarios ---- */

/* Everything the issue lists, in one session: fan-out to two subscribers,
 * a queue group, per-request and muxed inbox request-reply, wildcards,
 * a publication nobody listens to. */
static void nats_scenario(struct sim *s)
{
	n_connect(s, &PA);
	n_connect(s, &PB);
	n_connect(s, &PC);
	/* pub/sub, two subscribers */
	n_sub(s, &PB, "foo", NULL, "1");
	n_sub(s, &PC, "foo", NULL, "7");
	n_pub(s, &PA, "foo", NULL, "hello");
	n_msg(s, &PB, "foo", "1", NULL, "hello");
	n_msg(s, &PC, "foo", "7", NULL, "hello");
	/* queue group of two: one receives each message */
	n_sub(s, &PB, "work", "workers", "2");
	n_sub(s, &PC, "work", "workers", "8");
	n_pub(s, &PA, "work", NULL, "job1");
	n_msg(s, &PB, "work", "2", NULL, "job1");
	n_pub(s, &PA, "work", NULL, "job2");
	n_msg(s, &PC, "work", "8", NULL, "job2");
	/* the same job four times in one batch; the server flushes each
	 * member's MSGs together (B gets #1 and #3, then C #2 and #4): one
	 * member per publication, never two on one and none on another
	 * (identical content cannot tell which is which, the group can) */
	for (int i = 0; i < 4; i++)
		n_pub(s, &PA, "work", NULL, "same");
	s->hop = 5 * MS; /* all four server writes before any read completes */
	n_msg(s, &PB, "work", "2", NULL, "same");
	n_msg(s, &PB, "work", "2", NULL, "same");
	n_msg(s, &PC, "work", "8", NULL, "same");
	n_msg(s, &PC, "work", "8", NULL, "same");
	s->t += 5 * MS;
	s->hop = 100 * US;
	/* request-reply, per-request inbox with auto-unsubscribe */
	n_sub(s, &PB, "svc.echo", NULL, "4");
	n_sub(s, &PA, "_INBOX.aaa.1", NULL, "3");
	n_unsub(s, &PA, "3", 1);
	n_pub(s, &PA, "svc.echo", "_INBOX.aaa.1", "ping");
	n_msg(s, &PB, "svc.echo", "4", "_INBOX.aaa.1", "ping");
	n_pub(s, &PB, "_INBOX.aaa.1", NULL, "pong");
	n_msg(s, &PA, "_INBOX.aaa.1", "3", NULL, "pong");
	/* request-reply, muxed inbox */
	n_sub(s, &PA, "_INBOX.abc.*", NULL, "5");
	n_sub(s, &PC, "svc.time", NULL, "9");
	n_pub(s, &PA, "svc.time", "_INBOX.abc.7", "now?");
	n_msg(s, &PC, "svc.time", "9", "_INBOX.abc.7", "now?");
	n_pub(s, &PC, "_INBOX.abc.7", NULL, "12:00");
	n_msg(s, &PA, "_INBOX.abc.7", "5", NULL, "12:00");
	/* wildcards */
	n_sub(s, &PB, "orders.>", NULL, "6");
	n_sub(s, &PC, "orders.*.created", NULL, "10");
	n_pub(s, &PA, "orders.eu.created", NULL, "o1");
	n_msg(s, &PB, "orders.eu.created", "6", NULL, "o1");
	n_msg(s, &PC, "orders.eu.created", "10", NULL, "o1");
	n_pub(s, &PA, "orders.eu.shipped", NULL, "o2");
	n_msg(s, &PB, "orders.eu.shipped", "6", NULL, "o2");
	/* nobody listens */
	n_pub(s, &PA, "void", NULL, "x");
	/* the same payload twice in a row: two messages, not one */
	n_pub(s, &PA, "foo", NULL, "hello");
	n_msg(s, &PB, "foo", "1", NULL, "hello");
	n_msg(s, &PC, "foo", "7", NULL, "hello");
	n_pub(s, &PA, "foo", NULL, "hello");
	n_msg(s, &PB, "foo", "1", NULL, "hello");
	n_msg(s, &PC, "foo", "7", NULL, "hello");
}

#define EP_A "101/publisher/A/127.0.0.1:50001"
#define EP_B "102/sub-b/B/127.0.0.1:50002"
#define EP_C "103/sub-c/C/127.0.0.1:50003"

static void check_nats_events(struct sink *k, const char *view)
{
	CHECK_MSG(k->deliveries == 16, "%s: %zu deliveries", view, k->deliveries);
	CHECK_MSG(k->exchanges == 2, "%s: %zu exchanges", view, k->exchanges);
	CHECK(sink_has(k, "D foo reply= size=5 " EP_A " -> " EP_B "#1 " EP_C "#7 complete=1"));
	CHECK_EQ_INT(sink_count_prefix(k, "D foo reply= size=5 " EP_A " -> " EP_B "#1 " EP_C "#7 complete=1"), 3);
	CHECK_EQ_INT(sink_count_prefix(k, "D work reply= size=4 " EP_A " -> " EP_B "#2@workers complete=1"), 3);
	CHECK_EQ_INT(sink_count_prefix(k, "D work reply= size=4 " EP_A " -> " EP_C "#8@workers complete=1"), 3);
	CHECK(sink_has(k, "D svc.echo reply=_INBOX.aaa.1 size=4 " EP_A " -> " EP_B "#4 complete=1"));
	CHECK(sink_has(k, "D _INBOX.aaa.1 reply= size=4 " EP_B " -> " EP_A "#3 complete=1"));
	CHECK(sink_has(k, "D _INBOX.abc.7 reply= size=5 " EP_C " -> " EP_A "#5 complete=1"));
	CHECK(sink_has(k, "D orders.eu.created reply= size=2 " EP_A " -> " EP_B "#6 " EP_C "#10 complete=1"));
	CHECK(sink_has(k, "D orders.eu.shipped reply= size=2 " EP_A " -> " EP_B "#6 complete=1"));
	CHECK(sink_has(k, "D void reply= size=1 " EP_A " -> complete=1"));
	/* request sent at step s, the reply 2 steps later: 2 ms either way */
	CHECK(sink_has(k, "X nats svc.echo reply=_INBOX.aaa.1 " EP_A " -> " EP_B " ans=1 err=0 st=0 lat=2000000 req=4 resp=4"));
	CHECK(sink_has(k, "X nats svc.time reply=_INBOX.abc.7 " EP_A " -> " EP_C " ans=1 err=0 st=0 lat=2000000 req=4 resp=5"));
	/* final flows: one per edge */
	CHECK(sink_has(k, "F nats msg pid:101:publisher -> pid:102:sub-b foo n=3 b=15 e=0 final"));
	CHECK(sink_has(k, "F nats msg pid:101:publisher -> pid:103:sub-c foo n=3 b=15 e=0 final"));
	CHECK(sink_has(k, "F nats msg pid:101:publisher -> pid:102:sub-b work n=3 b=12 e=0 final"));
	CHECK(sink_has(k, "F nats msg pid:101:publisher -> pid:103:sub-c work n=3 b=12 e=0 final"));
	CHECK(sink_has(k, "F nats req pid:101:publisher -> pid:102:sub-b svc.echo n=1 b=8 e=0 final"));
	CHECK(sink_has(k, "F nats req pid:101:publisher -> pid:103:sub-c svc.time n=1 b=9 e=0 final"));
	CHECK(sink_has(k, "F nats msg pid:101:publisher -> - void n=1 b=1 e=0 final"));
	CHECK(sink_has(k, "F nats msg pid:101:publisher -> pid:102:sub-b orders.eu.shipped n=1 b=2 e=0 final"));
	CHECK_MSG(k->flows == 10, "%s: %zu flows", view, k->flows);
}

static void run_nats_view(enum view view, bool shuffle, struct sink *k)
{
	struct sim s;

	sim_init(&s, view, k, NULL);
	s.shuffle = shuffle;
	s.pair_from = shuffle ? 5 : 0;
	nats_scenario(&s);
	sim_done(&s);
	/* every subscription with max 1 is gone, the others stay */
	CHECK_EQ_INT(corr_counters(s.c)->unknown_sids, 0);
	CHECK_EQ_INT(corr_counters(s.c)->timeouts, 0);
	CHECK_EQ_INT(corr_counters(s.c)->orphan_deliveries, 0);
	corr_free(s.c);
}

static void test_nats_three_views(void)
{
	struct sink cl = { 0 }, sv = { 0 }, all = { 0 }, mixed = { 0 };
	struct sink paired = { 0 }, paired_late = { 0 };

	run_nats_view(VIEW_PAIRED, false, &paired);
	run_nats_view(VIEW_PAIRED, true, &paired_late);
	check_nats_events(&paired, "paired");
	check_nats_events(&paired_late, "paired from the 5th message, out of order");
	CHECK(sink_same(&paired, &paired_late));
	run_nats_view(VIEW_CLIENTS, false, &cl);
	run_nats_view(VIEW_SERVER, false, &sv);
	run_nats_view(VIEW_ALL, false, &all);
	run_nats_view(VIEW_ALL, true, &mixed);
	check_nats_events(&cl, "clients");
	check_nats_events(&sv, "server");
	check_nats_events(&all, "all");
	check_nats_events(&mixed, "all, out of order");
	CHECK(sink_same(&cl, &sv));
	CHECK(sink_same(&cl, &all));
	CHECK(sink_same(&all, &mixed));
	CHECK(sink_same(&all, &paired));
	if (check_failed) {
		sink_dump(&paired, "paired");
		sink_dump(&cl, "clients");
		sink_dump(&sv, "server");
		sink_dump(&all, "all");
	}
	sink_clear(&cl);
	sink_clear(&sv);
	sink_clear(&all);
	sink_clear(&mixed);
	sink_clear(&paired);
	sink_clear(&paired_late);
}

/* Pre-existing connections (no CONNECT seen): a publication cannot be
 * known complete, so it waits settle_ns (someone else may get it), then
 * comes out once, incomplete — not at the timeout. */
static void test_nats_preexisting(void)
{
	struct sink k = { 0 };
	struct sim s;

	sim_init(&s, VIEW_ALL, &k, NULL);
	n_sub(&s, &PB, "foo", NULL, "1"); /* no CONNECT: registry incomplete */
	n_pub(&s, &PA, "foo", NULL, "hi");
	n_msg(&s, &PB, "foo", "1", NULL, "hi");
	sim_flush(&s);
	CHECK_EQ_INT(k.deliveries, 0); /* waiting: someone else may get it */
	corr_advance(s.c, s.t + 50 * MS);
	CHECK_EQ_INT(k.deliveries, 0);
	corr_advance(s.c, s.t + 150 * MS);
	CHECK_EQ_INT(k.deliveries, 1);
	CHECK(sink_has(&k, "D foo reply= size=2 101/publisher//127.0.0.1:50001 -> 102/sub-b//127.0.0.1:50002#1 complete=0"));
	CHECK_EQ_INT(corr_counters(s.c)->settled, 1);
	sim_done(&s);
	CHECK_EQ_INT(k.deliveries, 1);
	CHECK_EQ_INT(corr_counters(s.c)->timeouts, 0);
	corr_free(s.c);
	sink_clear(&k);
}

#define D_FOO_TO_B(payload_size) \
	"D foo reply= size=" #payload_size " 101/publisher//127.0.0.1:50001 -> " \
	"102/sub-b//127.0.0.1:50002#1 complete=0"

/* No SUB seen at all: the sid a MSG arrives on is learned, with the subject
 * it got standing in for its filter. A later publication on that subject
 * waits for it past settle_ns (a slow subscriber is not split off), one on
 * another subject does not; once the sid gets a second subject (a wildcard
 * filter) nothing waits for it any more. */
static void test_nats_learned_subscriptions(void)
{
	struct sink k = { 0 };
	struct sim s;

	sim_init(&s, VIEW_ALL, &k, NULL);
	n_pub(&s, &PA, "foo", NULL, "m1");
	n_msg(&s, &PB, "foo", "1", NULL, "m1");
	sim_flush(&s);
	corr_advance(s.c, s.t + 150 * MS);
	CHECK_EQ_INT(k.deliveries, 1);
	CHECK(sink_has(&k, D_FOO_TO_B(2)));
	CHECK_EQ_INT(corr_counters(s.c)->learned_subs, 1);

	/* PB reads m22 300 ms late: its publication waits for it */
	s.t += 200 * MS;
	n_pub(&s, &PA, "foo", NULL, "m22");
	sim_flush(&s);
	corr_advance(s.c, s.t + 300 * MS);
	CHECK_EQ_INT(k.deliveries, 1);
	s.t += 300 * MS;
	n_msg(&s, &PB, "foo", "1", NULL, "m22");
	sim_flush(&s);
	corr_advance(s.c, s.t + 10 * MS);
	CHECK_EQ_INT(k.deliveries, 2);
	CHECK(sink_has(&k, D_FOO_TO_B(3)));
	CHECK_EQ_INT(corr_counters(s.c)->orphan_deliveries, 0);

	/* sid 1 gets another subject: a wildcard, no longer waited for */
	s.t += 200 * MS;
	n_pub(&s, &PA, "foo.x", NULL, "x");
	n_msg(&s, &PB, "foo.x", "1", NULL, "x");
	n_pub(&s, &PA, "foo", NULL, "m4444");
	sim_flush(&s);
	corr_advance(s.c, s.t + 150 * MS);
	CHECK_EQ_INT(k.deliveries, 4);
	CHECK(sink_has(&k, "D foo reply= size=5 101/publisher//127.0.0.1:50001 -> complete=0"));
	CHECK_EQ_INT(corr_counters(s.c)->learned_subs, 1);
	CHECK_EQ_INT(corr_counters(s.c)->timeouts, 0);
	if (check_failed)
		sink_dump(&k, "learned subscriptions");
	sim_done(&s);
	corr_free(s.c);
	sink_clear(&k);
}

/* One message whose two captures were cut at different lengths by the
 * snaplen: the receiving end's copy is cut at `cut` bytes (payload only;
 * the control line and size are whole). */
static void n_cut(struct sim *s, const struct proc *cl, bool client_sends,
		  const char *subject, const char *sid, const char *payload, size_t cut)
{
	struct nats_msg m = { .op = client_sends ? NATS_PUB : NATS_MSG,
			      .subject = S(subject), .sid = S(client_sends ? NULL : sid),
			      .payload = S(payload), .size = strlen(payload),
			      .max_msgs = -1 };
	struct msg_record r = { .proto = PROTO_NATS, .nats = m };
	const struct proc *from = client_sends ? cl : &SRV;
	const struct proc *to = client_sends ? &SRV : cl;

	s->t += MS;
	r.ts_ns = s->t;
	r.dir = DIR_SEND;
	r.conn = sim_conn(s, from, to, client_sends ? ROLE_CLIENT : ROLE_SERVER);
	sim_push(s, &r);
	r.nats.payload.len = cut;
	r.nats.truncated = true;
	r.ts_ns = s->t + s->hop;
	r.dir = DIR_RECV;
	r.conn = sim_conn(s, to, from, client_sends ? ROLE_SERVER : ROLE_CLIENT);
	sim_push(s, &r);
}

/* Every end traced; publisher A and subscriber B connected (CONNECT seen). */
static void sim_a_and_b(struct sim *s, struct sink *k)
{
	sim_init(s, VIEW_ALL, k, NULL);
	n_connect(s, &PA);
	n_connect(s, &PB);
}

/* Captures of one message are one message however they were cut, also when
 * the cut falls inside the payload bytes of its hash key; messages that
 * differ only after the cut are still told apart by their order. */
static void test_nats_cut_captures(void)
{
	static const char *const pay[] = {
		"0001-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "0002-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"0003-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "0003-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
	};
	static const size_t cut[] = { 0, 3, 20, 4 };
	struct sink k = { 0 };
	struct sim s;

	sim_a_and_b(&s, &k);
	n_sub(&s, &PB, "foo", NULL, "1");
	for (size_t i = 0; i < 4; i++) {
		n_cut(&s, &PA, true, "foo", NULL, pay[i], cut[i]);
		n_cut(&s, &PB, false, "foo", "1", pay[i], cut[(i + 1) % 4]);
	}
	sim_done(&s);
	CHECK_EQ_INT(k.deliveries, 4);
	CHECK_EQ_INT(sink_count_prefix(&k, "D foo reply= size=38 " EP_A " -> " EP_B "#1 complete=1"), 4);
	CHECK_EQ_INT(corr_counters(s.c)->publications, 4);
	CHECK_EQ_INT(corr_counters(s.c)->orphan_deliveries, 0);
	CHECK_EQ_INT(corr_counters(s.c)->timeouts, 0);
	if (check_failed)
		sink_dump(&k, "cut captures");
	corr_free(s.c);
	sink_clear(&k);
}

/* One end's record of a message only, as when the other's was dropped. */
static void n_one_end(struct sim *s, const struct proc *cl, bool client_sends,
		      bool at_sender, struct nats_msg m)
{
	struct msg_record r = { .proto = PROTO_NATS, .nats = m };
	const struct proc *from = client_sends ? cl : &SRV;
	const struct proc *to = client_sends ? &SRV : cl;
	bool client_end = at_sender == client_sends;

	s->t += MS;
	r.ts_ns = at_sender ? s->t : s->t + s->hop;
	r.dir = at_sender ? DIR_SEND : DIR_RECV;
	r.conn = sim_conn(s, at_sender ? from : to, at_sender ? to : from,
			  client_end ? ROLE_CLIENT : ROLE_SERVER);
	sim_push(s, &r);
}

/* Each end's next sight of a message is matched at the front of its wait
 * queue; one end missing a record (dropped) must not shift what the other
 * messages are matched to, and identical messages stay two. */
static void test_nats_lost_sights(void)
{
	static const char *const pay[] = { "m0", "m1", "m2", "m3", "m4", "mm", "mm" };
	struct sink k = { 0 };
	struct sim s;

	sim_a_and_b(&s, &k);
	n_sub(&s, &PB, "foo", NULL, "1");
	for (size_t i = 0; i < 7; i++) {
		struct nats_msg pub = { .op = NATS_PUB, .subject = S("foo"),
					.payload = S(pay[i]), .size = 2, .max_msgs = -1 };
		struct nats_msg msg = { .op = NATS_MSG, .subject = S("foo"), .sid = S("1"),
					.payload = S(pay[i]), .size = 2, .max_msgs = -1 };

		if (i == 1) /* the server's read of the PUB lost */
			n_one_end(&s, &PA, true, true, pub);
		else
			sim_nats(&s, &PA, true, pub);
		if (i == 3) /* the subscriber's read of the MSG lost */
			n_one_end(&s, &PB, false, true, msg);
		else
			sim_nats(&s, &PB, false, msg);
	}
	sim_done(&s);
	CHECK_EQ_INT(k.deliveries, 7);
	CHECK_EQ_INT(corr_counters(s.c)->publications, 7);
	CHECK_EQ_INT(corr_counters(s.c)->merged, 12);
	CHECK_EQ_INT(corr_counters(s.c)->orphan_deliveries, 0);
	CHECK_EQ_INT(sink_count_prefix(&k, "D foo reply= size=2 " EP_A " -> " EP_B "#1 complete=1"), 5);
	CHECK_EQ_INT(sink_count_prefix(&k, "D foo reply= size=2 " EP_A " -> " EP_B "#1 complete=0"), 2);
	if (check_failed)
		sink_dump(&k, "lost sights");
	corr_free(s.c);
	sink_clear(&k);
}

/* One connection subscribed ten times gets one publication ten times
 * (more than a publication looks through without hashing), and its reads
 * come in another order than the server's writes: every one is still
 * the other sight of its delivery. */
static void test_nats_many_sids_reordered(void)
{
	static const char *const sids[] = { "1", "2", "3", "4", "5", "6", "7", "8", "9", "10" };
	struct sink k = { 0 };
	struct sim s;

	sim_a_and_b(&s, &k);
	for (size_t i = 0; i < 10; i++)
		n_sub(&s, &PB, "foo", NULL, sids[i]);
	n_pub(&s, &PA, "foo", NULL, "hello");
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < 10; i++) {
			size_t j = pass ? 9 - i : i;
			struct nats_msg msg = { .op = NATS_MSG, .subject = S("foo"),
						.sid = S(sids[j]), .payload = S("hello"),
						.size = 5, .max_msgs = -1 };

			n_one_end(&s, &PB, false, !pass, msg);
		}
	}
	sim_done(&s);
	CHECK_EQ_INT(k.deliveries, 1);
	CHECK_EQ_INT(corr_counters(s.c)->deliveries, 10);
	CHECK_EQ_INT(corr_counters(s.c)->merged, 11);
	CHECK_EQ_INT(corr_counters(s.c)->orphan_deliveries, 0);
	CHECK_EQ_INT(sink_count_prefix(&k, "D foo reply= size=5 " EP_A " -> "), 1);
	if (check_failed)
		sink_dump(&k, "many sids");
	corr_free(s.c);
	sink_clear(&k);
}

static void test_nats_timeout_and_errors(void)
{
	struct sink k = { 0 };
	struct corr_config cfg;
	struct sim s;
	const struct corr_edge *e[8];
	struct corr_stats st;
	size_t n;

	corr_config_default(&cfg);
	cfg.timeout_ns = 2000 * MS;
	sim_init(&s, VIEW_SERVER, &k, &cfg);
	n_connect(&s, &PA);
	n_connect(&s, &PB);
	n_sub(&s, &PB, "svc.slow", "q", "1");
	n_sub(&s, &PA, "_INBOX.z.*", NULL, "2");
	n_pub(&s, &PA, "svc.slow", "_INBOX.z.1", "?");
	n_msg(&s, &PB, "svc.slow", "1", "_INBOX.z.1", "?");
	sim_flush(&s);
	corr_advance(s.c, s.t + 1000 * MS);
	CHECK_EQ_INT(k.exchanges, 0);
	corr_advance(s.c, s.t + 2100 * MS);
	CHECK_EQ_INT(k.exchanges, 1);
	/* exactly one receiver: the timeout is charged to it */
	CHECK(sink_has(&k, "X nats svc.slow reply=_INBOX.z.1 " EP_A " -> " EP_B " ans=0 err=1 st=0 lat=0 req=1 resp=0") &&
	      sink_count_prefix(&k, "X nats svc.slow reply=_INBOX.z.1 " EP_A " -> 102/sub-b") == 1);
	/* the reply comes after all: an ordinary publication now */
	s.t += 3000 * MS;
	n_pub(&s, &PB, "_INBOX.z.1", NULL, "late");
	/* no responders: the server answers with a 503 status, no PUB */
	n_pub(&s, &PA, "svc.none", "_INBOX.z.2", "?");
	n_hmsg(&s, &PA, "_INBOX.z.2", "2", "NATS/1.0 503\r\n\r\n");
	/* -ERR seen by both ends counts once */
	n_err(&s, &PA, "'Permissions Violation for Publish to \"secret\"'");
	sim_done(&s);
	CHECK(sink_count_prefix(&k, "X nats svc.none reply=_INBOX.z.2 " EP_A " -> - ans=1 err=1 st=503") == 1);
	CHECK_EQ_INT(corr_counters(s.c)->timeouts, 1);
	CHECK_EQ_INT(corr_counters(s.c)->nats_errors, 1);
	n = corr_sorted_edges(s.c, e, 8);
	CHECK(n >= 3);
	for (size_t i = 0; i < n && i < 8; i++) {
		corr_edge_stats(s.c, e[i], CORR_TOTAL, &st);
		if (e[i]->kind == FLOW_KIND_ERR) {
			CHECK(strcmp(e[i]->subject, "Permissions Violation for Publish to \"secret\"") == 0);
			CHECK_EQ_INT(st.count, 1);
			CHECK_EQ_INT(st.errors, 1);
			CHECK(e[i]->to && e[i]->to->local && e[i]->to->info.pid == 100);
		}
		if (e[i]->kind == FLOW_KIND_REQ && !strcmp(e[i]->subject, "svc.slow")) {
			CHECK_EQ_INT(st.count, 1);
			CHECK_EQ_INT(st.errors, 1);
			CHECK_EQ_INT(st.samples, 0);
		}
	}
	corr_free(s.c);
	sink_clear(&k);
}

/* A subscriber's read may be stamped before the publisher's write shows up
 * (another CPU): the delivery is adopted by its publication. */
static void test_nats_orphan_adoption(void)
{
	struct sink k = { 0 };
	struct corr_config cfg;
	struct conn_meta a = { .id = 1, .pid = 101, .comm = "publisher",
			       .local = "127.0.0.1:50001", .peer = "127.0.0.1:4222",
			       .role = ROLE_CLIENT };
	struct conn_meta b = { .id = 2, .pid = 102, .comm = "sub-b",
			       .local = "127.0.0.1:50002", .peer = "127.0.0.1:4222",
			       .role = ROLE_CLIENT };
	struct msg_record r;
	struct correlator *c;

	corr_config_default(&cfg);
	cfg.skew_ns = 0; /* no reorder buffer: see the raw order */
	cfg.emit = sink_cb;
	cfg.emit_ctx = &k;
	c = corr_new(&cfg);
	memset(&r, 0, sizeof(r));
	r.proto = PROTO_NATS;
	r.conn = &b;
	r.dir = DIR_RECV;
	r.ts_ns = T0 + 2000;
	r.nats = (struct nats_msg){ .op = NATS_MSG, .subject = S("foo"), .sid = S("1"),
				    .payload = S("x"), .size = 1, .max_msgs = -1 };
	corr_record(c, &r);
	r.conn = &a;
	r.dir = DIR_SEND;
	r.ts_ns = T0 + 1000;
	r.nats = (struct nats_msg){ .op = NATS_PUB, .subject = S("foo"),
				    .payload = S("x"), .size = 1, .max_msgs = -1 };
	corr_record(c, &r);
	corr_finish(c);
	CHECK_EQ_INT(k.deliveries, 1);
	CHECK(sink_count_prefix(&k, "D foo reply= size=1 101/publisher//127.0.0.1:50001 -> 102/sub-b//127.0.0.1:50002#1") == 1);
	CHECK_EQ_INT(corr_counters(c)->late, 1);
	CHECK_EQ_INT(corr_counters(c)->publications, 1);
	corr_free(c);
	sink_clear(&k);
}

/* A wide fan-out, every end traced: 300 subscribers (100 of them one
 * queue group) get one delivery event with 201 receivers. */
#define WIDE 300

static void wide_rec(struct correlator *c, struct conn_meta *m, uint64_t ts,
		     enum direction dir, struct nats_msg n)
{
	struct msg_record r;

	memset(&r, 0, sizeof(r));
	r.proto = PROTO_NATS;
	r.conn = m;
	r.dir = dir;
	r.ts_ns = ts;
	r.nats = n;
	corr_record(c, &r);
}

struct wide_sink {
	size_t deliveries, receivers;
	bool complete;
	size_t wrong_ends;  /* receivers whose endpoint is not their own */
};

static void wide_cb(const struct flow_event *ev, void *ctx)
{
	struct wide_sink *w = ctx;
	char want[COMM_LEN];

	if (ev->type != FLOW_EV_DELIVERY)
		return;
	w->deliveries++;
	w->receivers = ev->delivery.n_to;
	w->complete = ev->delivery.complete;
	for (size_t i = 0; i < ev->delivery.n_to; i++) {
		snprintf(want, sizeof(want), "c%s", ev->delivery.to[i].sid);
		w->wrong_ends += strcmp(ev->delivery.to[i].ep->comm, want) != 0;
	}
	if (ev->delivery.from)
		w->wrong_ends += strcmp(ev->delivery.from->comm, "c0") != 0;
}

/* Client 0 and n subscribers of "wide.>" (those after queue_from in
 * queue group "grp") connected to one server, every end traced. */
static uint64_t wide_connect(struct correlator *c, struct conn_meta *cl,
			     struct conn_meta *sv, char (*sid)[12], int n,
			     int queue_from, uint64_t t)
{
	struct nats_msg connect = { .op = NATS_CONNECT, .json = S("{}"), .max_msgs = -1 };

	for (int i = 0; i <= n; i++) { /* 0 publishes, 1..n subscribe */
		cl[i].id = 2 * i + 1;
		cl[i].pid = 1000 + i;
		snprintf(cl[i].comm, sizeof(cl[i].comm), "c%d", i);
		snprintf(cl[i].local, sizeof(cl[i].local), "127.0.0.1:%d", 20000 + i);
		snprintf(cl[i].peer, sizeof(cl[i].peer), "127.0.0.1:4222");
		sv[i] = cl[i];
		sv[i].id = 2 * i + 2;
		sv[i].pid = 100;
		memcpy(sv[i].local, cl[i].peer, sizeof(sv[i].local));
		memcpy(sv[i].peer, cl[i].local, sizeof(sv[i].peer));
		snprintf(sid[i], sizeof(sid[i]), "%d", i);
		wide_rec(c, &cl[i], t += 1000, DIR_SEND, connect);
		wide_rec(c, &sv[i], t += 1000, DIR_RECV, connect);
		if (!i)
			continue;
		struct nats_msg sub = { .op = NATS_SUB, .subject = S("wide.>"), .sid = S(sid[i]),
					.queue = i > queue_from ? S("grp") : SLICE_NULL,
					.max_msgs = -1 };
		wide_rec(c, &cl[i], t += 1000, DIR_SEND, sub);
		wide_rec(c, &sv[i], t += 1000, DIR_RECV, sub);
	}
	return t;
}

/* One publication by client 0, delivered to subscribers 1..n. */
static uint64_t wide_publish(struct correlator *c, struct conn_meta *cl,
			     struct conn_meta *sv, char (*sid)[12], int n,
			     const char *payload, uint64_t t)
{
	struct nats_msg pub = { .op = NATS_PUB, .subject = S("wide.x"), .payload = S(payload),
				.size = strlen(payload), .max_msgs = -1 };

	wide_rec(c, &cl[0], t += 1000, DIR_SEND, pub);
	wide_rec(c, &sv[0], t += 1000, DIR_RECV, pub);
	for (int i = 1; i <= n; i++) {
		struct nats_msg msg = { .op = NATS_MSG, .subject = S("wide.x"), .sid = S(sid[i]),
					.payload = S(payload), .size = strlen(payload),
					.max_msgs = -1 };

		wide_rec(c, &sv[i], t += 1000, DIR_SEND, msg);
		wide_rec(c, &cl[i], t += 1000, DIR_RECV, msg);
	}
	return t;
}

static void test_wide_fanout(void)
{
	struct conn_meta *cl = calloc(WIDE + 1, sizeof(*cl));
	struct conn_meta *sv = calloc(WIDE + 1, sizeof(*sv));
	struct wide_sink w = { 0 };
	struct corr_config cfg;
	struct correlator *c;
	uint64_t t = T0;
	char sid[WIDE + 1][12];

	corr_config_default(&cfg);
	cfg.emit = wide_cb;
	cfg.emit_ctx = &w;
	c = corr_new(&cfg);
	t = wide_connect(c, cl, sv, sid, WIDE, 200, t);
	/* 200 plain + one member of "grp" */
	t = wide_publish(c, cl, sv, sid, 201, "p", t);
	corr_advance(c, t + 10 * MS);
	CHECK_EQ_INT(w.deliveries, 1); /* complete before the timeout */
	CHECK_EQ_INT(w.receivers, 201);
	CHECK(w.complete);
	corr_finish(c);
	CHECK_EQ_INT(w.deliveries, 1);
	CHECK_EQ_INT(corr_counters(c)->deliveries, 201);
	CHECK_EQ_INT(corr_counters(c)->merged, 202); /* the PUB and each MSG, seen twice */
	CHECK_EQ_INT(w.wrong_ends, 0);
	corr_free(c);
	free(cl);
	free(sv);
}

/* More receivers in one event than ends keep an endpoint object: none may
 * be handed on while the event holds it, and later events still name
 * every end right. */
#define WIDER 700

static void test_endpoint_objects_shared(void)
{
	struct conn_meta *cl = calloc(WIDER + 1, sizeof(*cl));
	struct conn_meta *sv = calloc(WIDER + 1, sizeof(*sv));
	char (*sid)[12] = calloc(WIDER + 1, sizeof(*sid));
	struct wide_sink w = { 0 };
	struct corr_config cfg;
	struct correlator *c;
	uint64_t t = T0;

	corr_config_default(&cfg);
	cfg.emit = wide_cb;
	cfg.emit_ctx = &w;
	c = corr_new(&cfg);
	t = wide_connect(c, cl, sv, sid, WIDER, WIDER, t);
	t = wide_publish(c, cl, sv, sid, WIDER, "one", t);
	t = wide_publish(c, cl, sv, sid, WIDER, "two", t);
	/* and a few at a time, each taking objects others had */
	for (int i = 0; i < 3; i++)
		t = wide_publish(c, cl, sv, sid, 40, "few", t);
	corr_advance(c, t + 10 * MS);
	corr_finish(c);
	CHECK_EQ_INT(w.deliveries, 5);
	CHECK_EQ_INT(corr_counters(c)->deliveries, 2 * WIDER + 3 * 40);
	CHECK_EQ_INT(w.wrong_ends, 0);
	corr_free(c);
	free(cl);
	free(sv);
	free(sid);
}

/* ---- HTTP ---- */

static void sim_http(struct sim *s, bool request, const char *method,
		     const char *path, int status, uint64_t size)
{
	struct msg_record r;
	const struct proc *from = request ? &HC : &HS, *to = request ? &HS : &HC;
	bool from_traced = request ? (s->view & VIEW_CLIENTS) : (s->view & VIEW_SERVER);
	bool to_traced = request ? (s->view & VIEW_SERVER) : (s->view & VIEW_CLIENTS);

	s->t += MS;
	memset(&r, 0, sizeof(r));
	r.proto = PROTO_HTTP;
	r.http.kind = request ? HTTP_REQUEST : HTTP_RESPONSE;
	r.http.method = S(method);
	r.http.path = S(path);
	r.http.version = S("HTTP/1.1");
	r.http.status = status;
	r.http.body_size = size;
	if (from_traced) {
		r.ts_ns = s->t;
		r.dir = DIR_SEND;
		r.conn = sim_conn(s, from, to, request ? ROLE_CLIENT : ROLE_SERVER);
		r.peer_read = sim_paired(s);
		sim_push(s, &r);
	}
	if (to_traced && !r.peer_read) {
		r.ts_ns = s->t + s->hop;
		r.dir = DIR_RECV;
		r.conn = sim_conn(s, to, from, request ? ROLE_SERVER : ROLE_CLIENT);
		sim_push(s, &r);
	}
}

#define EP_HC "201/curl//127.0.0.1:40001"
#define EP_HS "202/api//127.0.0.1:8080"

static void test_http_views(void)
{
	struct sink k[6];
	static const enum view views[] = { VIEW_CLIENTS, VIEW_SERVER, VIEW_ALL, VIEW_ALL,
					   VIEW_PAIRED, VIEW_PAIRED };

	memset(k, 0, sizeof(k));
	for (int v = 0; v < 6; v++) {
		struct sim s;

		sim_init(&s, views[v], &k[v], NULL);
		/* an HTTP latency is taken where the exchange is seen (the
		 * client's view includes the network both ways): with no
		 * delay between the ends, all views agree */
		s.hop = 0;
		s.shuffle = v == 3;
		s.pair_from = v == 5 ? 1 : 0; /* the first request seen twice */
		/* pipelined: two requests, then two responses, in order */
		sim_http(&s, true, "GET", "/v2/apps/1b2c3d4e-5f60-4a1b-8c9d-0e1f2a3b4c5d/instances", 0, 0);
		sim_http(&s, true, "GET", "/v2/apps/9f8e7d6c-5b4a-4321-8fed-cba987654321/instances?inline=1", 0, 0);
		sim_http(&s, false, NULL, NULL, 100, 0); /* interim: skipped */
		sim_http(&s, false, NULL, NULL, 200, 120);
		sim_http(&s, false, NULL, NULL, 503, 20);
		sim_http(&s, true, "PUT", "/v2/apps/17", 0, 50);
		sim_http(&s, false, NULL, NULL, 201, 0);
		sim_done(&s);
		CHECK_EQ_INT(k[v].exchanges, 3);
		CHECK(sink_has(&k[v], "X http GET /v2/apps/1b2c3d4e-5f60-4a1b-8c9d-0e1f2a3b4c5d/instances [/v2/apps/{id}/instances] " EP_HC " -> " EP_HS " ans=1 err=0 st=200 lat=3000000"));
		CHECK(sink_has(&k[v], "X http GET /v2/apps/9f8e7d6c-5b4a-4321-8fed-cba987654321/instances?inline=1 [/v2/apps/{id}/instances] " EP_HC " -> " EP_HS " ans=1 err=1 st=503 lat=3000000"));
		CHECK(sink_has(&k[v], "X http PUT /v2/apps/17 [/v2/apps/{id}] " EP_HC " -> " EP_HS " ans=1 err=0 st=201 lat=1000000"));
		CHECK(sink_has(&k[v], "F http req pid:201:curl -> pid:202:api GET /v2/apps/{id}/instances n=2 b=140 e=1 final"));
		CHECK_EQ_INT(corr_counters(s.c)->unmatched_responses, 0);
		corr_free(s.c);
	}
	CHECK(sink_same(&k[0], &k[1]));
	CHECK(sink_same(&k[0], &k[2]));
	CHECK(sink_same(&k[0], &k[3]));
	CHECK(sink_same(&k[0], &k[4]));
	CHECK(sink_same(&k[0], &k[5]));
	if (check_failed)
		sink_dump(&k[2], "http all");
	for (int v = 0; v < 6; v++)
		sink_clear(&k[v]);
}

/* Without a resolver the far end of a client-only trace is an address. */
static void test_http_unresolved(void)
{
	struct sink k = { 0 };
	struct corr_config cfg;
	struct sim s;

	corr_config_default(&cfg);
	sim_init(&s, VIEW_CLIENTS, &k, &cfg);
	corr_free(s.c);
	cfg.resolve_addr = NULL;
	s.c = corr_new(&cfg);
	sim_http(&s, true, "GET", "/health", 0, 0);
	sim_http(&s, false, NULL, NULL, 204, 0);
	sim_done(&s);
	CHECK(sink_has(&k, "X http GET /health [/health] " EP_HC " -> 0///127.0.0.1:8080 ans=1 err=0 st=204 lat=1100000"));
	CHECK(sink_has(&k, "F http req pid:201:curl -> addr:127.0.0.1:8080 GET /health n=1 b=0 e=0 final"));
	corr_free(s.c);
	sink_clear(&k);
}

static void test_http_timeout(void)
{
	struct sink k = { 0 };
	struct corr_config cfg;
	struct sim s;

	corr_config_default(&cfg);
	cfg.timeout_ns = 1000 * MS;
	sim_init(&s, VIEW_ALL, &k, &cfg);
	sim_http(&s, true, "GET", "/slow", 0, 0);
	sim_flush(&s);
	corr_advance(s.c, s.t + 1500 * MS);
	CHECK_EQ_INT(k.exchanges, 1);
	CHECK(sink_has(&k, "X http GET /slow [/slow] " EP_HC " -> " EP_HS " ans=0 err=1 st=0 lat=0"));
	s.t += 2000 * MS;
	/* the late response belongs to /slow, not to /next */
	sim_http(&s, false, NULL, NULL, 504, 0);
	sim_http(&s, true, "GET", "/next", 0, 0);
	sim_http(&s, false, NULL, NULL, 200, 2);
	sim_done(&s);
	CHECK_EQ_INT(k.exchanges, 2);
	CHECK(sink_has(&k, "X http GET /next [/next] " EP_HC " -> " EP_HS " ans=1 err=0 st=200 lat=1000000"));
	CHECK_EQ_INT(corr_counters(s.c)->timeouts, 1);
	corr_free(s.c);
	sink_clear(&k);
}

/* The input ends with a request open: it counts on its edge, no error,
 * no exchange event. */
static void test_unfinished(void)
{
	struct sink k = { 0 };
	struct sim s;

	sim_a_and_b(&s, &k);
	n_sub(&s, &PB, "svc.x", NULL, "1");
	n_pub(&s, &PA, "svc.x", "_INBOX.q.1", "?");
	n_msg(&s, &PB, "svc.x", "1", "_INBOX.q.1", "?");
	sim_http(&s, true, "GET", "/pending", 0, 0);
	sim_done(&s);
	CHECK_EQ_INT(k.exchanges, 0);
	CHECK_EQ_INT(corr_counters(s.c)->unfinished, 2);
	CHECK_EQ_INT(corr_counters(s.c)->timeouts, 0);
	CHECK(sink_has(&k, "F nats req pid:101:publisher -> pid:102:sub-b svc.x n=1 b=1 e=0 final"));
	CHECK(sink_has(&k, "F http req pid:201:curl -> pid:202:api GET /pending n=1 b=0 e=0 final"));
	corr_free(s.c);
	sink_clear(&k);
}

/* ---- bounds ---- */

static void test_eviction(void)
{
	struct sink k = { 0 };
	struct corr_config cfg;
	struct sim s;
	char subj[32];

	corr_config_default(&cfg);
	cfg.max_pubs = 4;
	cfg.max_edges = 2;
	cfg.max_subjects = 3;
	sim_init(&s, VIEW_CLIENTS, &k, &cfg);
	/* no CONNECT: publications stay pending until pushed out */
	for (int i = 0; i < 10; i++) {
		snprintf(subj, sizeof(subj), "s%d", i);
		s.strs[s.nstrs++] = strdup(subj); /* records are buffered */
		n_pub(&s, &PA, s.strs[s.nstrs - 1], NULL, "x");
	}
	sim_flush(&s);
	corr_advance(s.c, s.t + 10 * MS);
	CHECK_EQ_INT(corr_counters(s.c)->evicted_pubs, 6);
	CHECK_EQ_INT(k.deliveries, 6);
	sim_done(&s);
	CHECK_EQ_INT(k.deliveries, 10);
	CHECK_EQ_INT(corr_counters(s.c)->evicted_edges, 8);
	CHECK_EQ_INT(corr_counters(s.c)->evicted_subjects, 7);
	CHECK_EQ_INT(k.flows, 2);
	corr_free(s.c);
	sink_clear(&k);

	/* connections */
	corr_config_default(&cfg);
	cfg.max_conns = 2;
	sim_init(&s, VIEW_ALL, &k, &cfg);
	n_connect(&s, &PA);
	n_connect(&s, &PB);
	n_connect(&s, &PC);
	sim_done(&s);
	CHECK_EQ_INT(corr_counters(s.c)->evicted_conns, 1);
	corr_free(s.c);
	sink_clear(&k);

	/* subscriptions: past the cap the registry is incomplete, publications
	 * wait for the timeout instead of completing early */
	corr_config_default(&cfg);
	cfg.max_subs = 1;
	sim_init(&s, VIEW_ALL, &k, &cfg);
	n_connect(&s, &PA);
	n_connect(&s, &PB);
	n_sub(&s, &PB, "a", NULL, "1");
	n_sub(&s, &PB, "b", NULL, "2");
	n_pub(&s, &PA, "a", NULL, "x");
	n_msg(&s, &PB, "a", "1", NULL, "x");
	sim_flush(&s);
	corr_advance(s.c, s.t + 10 * MS);
	CHECK(corr_counters(s.c)->overflow_subs >= 1);
	CHECK_EQ_INT(k.deliveries, 0);
	sim_done(&s);
	CHECK_EQ_INT(k.deliveries, 1);
	corr_free(s.c);
	sink_clear(&k);

	/* components: past the cap, "(other)" */
	corr_config_default(&cfg);
	cfg.max_components = 1;
	sim_init(&s, VIEW_CLIENTS, &k, &cfg);
	n_connect(&s, &PA);
	n_connect(&s, &PB);
	n_sub(&s, &PB, "a", NULL, "1");
	n_pub(&s, &PA, "a", NULL, "x");
	n_msg(&s, &PB, "a", "1", NULL, "x");
	sim_done(&s);
	CHECK(corr_counters(s.c)->overflow_components >= 1);
	/* the subscriber was seen first (its SUB): the publisher is the overflow */
	CHECK(sink_has(&k, "F nats msg (other) -> pid:102:sub-b a n=1 b=1 e=0 final"));
	corr_free(s.c);
	sink_clear(&k);
}

/* ---- periodic flows and the query API ---- */

struct count_ctx {
	size_t n;
	const struct corr_component *found;
	uint32_t pid;
};

static int count_comp(const struct corr_component *k, void *ctx)
{
	struct count_ctx *x = ctx;

	x->n++;
	if (k->info.pid == x->pid)
		x->found = k;
	return 0;
}

static int count_sub(const struct corr_subscription *s, void *ctx)
{
	(void)s;
	((struct count_ctx *)ctx)->n++;
	return 0;
}

static int find_subject(const struct corr_subject *s, void *ctx)
{
	const struct corr_subject **out = ctx;

	if (!strcmp(s->subject, "_INBOX.*.*")) {
		*out = s;
		return 1;
	}
	return 0;
}

static void test_periodic_and_queries(void)
{
	struct sink k = { 0 };
	struct corr_config cfg;
	struct count_ctx cc = { 0 };
	const struct corr_subject *subj = NULL;
	const struct corr_edge *e[4];
	struct corr_stats st;
	char label[64];
	struct sim s;

	corr_config_default(&cfg);
	cfg.periodic_flows = true;
	cfg.interval_ns = 100 * MS;
	sim_init(&s, VIEW_SERVER, &k, &cfg);
	n_connect(&s, &PA);
	n_connect(&s, &PB);
	n_sub(&s, &PB, "_INBOX.Xk3j9f8sd7f6g5h4j3k2l1.*", NULL, "1");
	for (int i = 0; i < 30; i++) {
		n_pub(&s, &PA, "_INBOX.Xk3j9f8sd7f6g5h4j3k2l1.7", NULL, "tick");
		n_msg(&s, &PB, "_INBOX.Xk3j9f8sd7f6g5h4j3k2l1.7", "1", NULL, "tick");
		s.t += 8 * MS; /* 10 ms per message */
	}
	sim_flush(&s);
	corr_advance(s.c, s.t + 10 * MS);
	CHECK(k.flows >= 2);
	CHECK(sink_count_prefix(&k, "F nats msg pid:101:publisher -> pid:102:sub-b _INBOX.*.* n=10 b=40 e=0") >= 1);
	/* the query API */
	CHECK_EQ_INT(corr_sorted_edges(s.c, e, 4), 1);
	corr_edge_stats(s.c, e[0], CORR_TOTAL, &st);
	CHECK_EQ_INT(st.count, 30);
	CHECK_EQ_INT(st.samples, 30);
	/* the server's view: its read of the PUB to its write of the MSG */
	CHECK(st.p50_ns >= 900 * US * 31 / 32 && st.p50_ns <= 900 * US * 33 / 32);
	CHECK(st.rate > 90.0 && st.rate < 110.0);
	corr_edge_stats(s.c, e[0], CORR_LAST_INTERVAL, &st);
	CHECK_EQ_INT(st.count, 10);
	cc.pid = 102;
	corr_foreach_component(s.c, count_comp, &cc);
	CHECK_EQ_INT(cc.n, 3); /* A, B and the server */
	CHECK(cc.found && cc.found->msgs_in == 30 && cc.found->bytes_in == 120);
	CHECK(cc.found && !strcmp(cc.found->info.name, "B"));
	corr_component_label(cc.found, label, sizeof(label));
	CHECK(strcmp(label, "sub-b[102]:B") == 0);
	memset(&cc, 0, sizeof(cc));
	corr_foreach_subscription(s.c, NULL, count_sub, &cc);
	CHECK_EQ_INT(cc.n, 1);
	{
		const struct corr_component *b = NULL;

		cc.pid = 102;
		corr_foreach_component(s.c, count_comp, &cc);
		b = cc.found;
		memset(&cc, 0, sizeof(cc));
		corr_foreach_subscription(s.c, b, count_sub, &cc);
		CHECK_EQ_INT(cc.n, 1); /* B's, found under B */
	}
	corr_foreach_subject(s.c, find_subject, &subj);
	CHECK(subj && subj->msgs == 30 && subj->deliveries == 30);
	CHECK(subj && subj->last_payload_len == 4 &&
	      !memcmp(subj->last_payload, "tick", 4));
	CHECK(subj && subj->n_publishers == 1 && subj->n_subscribers == 1);
	CHECK(subj && !strcmp(subj->last_subject, "_INBOX.Xk3j9f8sd7f6g5h4j3k2l1.7"));
	sim_done(&s);
	CHECK(sink_has(&k, "F nats msg pid:101:publisher -> pid:102:sub-b _INBOX.*.* n=30 b=120 e=0 final"));
	corr_free(s.c);
	sink_clear(&k);
}

/* ---- latency_hist ---- */

static void test_latency_hist(void)
{
	struct latency_hist h, h2;

	lh_reset(&h);
	CHECK_EQ_INT(lh_percentile(&h, 50), 0);
	for (uint64_t v = 1; v <= 1000; v++)
		lh_record(&h, v * US);
	CHECK_EQ_INT(h.count, 1000);
	CHECK_EQ_INT(h.max, 1000 * US);
	CHECK_EQ_INT(h.min, 1 * US);
	/* within the bucket precision (1/32 either way) */
	CHECK(lh_percentile(&h, 50) >= 500 * US * 31 / 32 &&
	      lh_percentile(&h, 50) <= 500 * US * 33 / 32);
	CHECK(lh_percentile(&h, 90) >= 900 * US * 31 / 32 &&
	      lh_percentile(&h, 90) <= 900 * US * 33 / 32);
	CHECK(lh_percentile(&h, 99) >= 990 * US * 31 / 32 &&
	      lh_percentile(&h, 99) <= 1000 * US);
	CHECK_EQ_INT(lh_percentile(&h, 100), 1000 * US);
	/* small values are exact */
	lh_reset(&h2);
	lh_record(&h2, 3);
	lh_record(&h2, 7);
	CHECK_EQ_INT(lh_percentile(&h2, 50), 3);
	CHECK_EQ_INT(lh_percentile(&h2, 99), 7);
	/* huge values land in the last bucket, max stays exact */
	lh_record(&h2, UINT64_MAX / 2);
	CHECK_EQ_INT(h2.max, UINT64_MAX / 2);
	CHECK(lh_bucket(UINT64_MAX) == LH_NBUCKETS - 1);
	/* buckets are contiguous */
	for (unsigned i = 1; i < LH_NBUCKETS; i++)
		if (lh_bucket(lh_bucket_low(i)) != i || lh_bucket(lh_bucket_low(i) - 1) != i - 1) {
			CHECK_MSG(0, "bucket %u", i);
			break;
		}
	lh_merge(&h2, &h);
	CHECK_EQ_INT(h2.count, 1003);
	CHECK_EQ_INT(h2.min, 3);
}

int main(void)
{
	test_latency_hist();
	test_nats_three_views();
	test_nats_preexisting();
	test_nats_learned_subscriptions();
	test_nats_cut_captures();
	test_nats_lost_sights();
	test_nats_many_sids_reordered();
	test_nats_timeout_and_errors();
	test_nats_orphan_adoption();
	test_wide_fanout();
	test_endpoint_objects_shared();
	test_http_views();
	test_http_unresolved();
	test_http_timeout();
	test_unfinished();
	test_eviction();
	test_periodic_and_queries();
	return check_summary("correlator");
}
