/* SPDX-License-Identifier: MIT */
/*
 * fuzz_correlator — arbitrary sequences of parsed records into the
 * correlator: any op with any fields on any connection, in any time order,
 * so the pairing of requests and replies, publications and deliveries,
 * HTTP exchanges, the reorder buffer, expiry and every eviction path run on
 * input no parser would produce but a replayed (hand-edited, corrupt) trace
 * or a future parser might.
 *
 * Input: [config] then items until the input ends.
 *   config  bit 0  small caps (every max_* at 2..4, so eviction runs all the
 *                  time), else the defaults
 *           bit 1  periodic flows on
 *           bit 2  no address resolver
 *           bits 3-4  timeout: 5 s, 1 ms, 0, 1 ns
 *           bits 5-6  skew: 5 ms, 0, 1 s, 1 ns
 *   item    [kind]  bits 0-1: 0, 1 NATS record, 2 HTTP record, 3 advance
 *                   (bit 2: finish early, further records must be ignored)
 *     record: [conn] bits 0-2 connection from a fixed pool (7: none),
 *                    bit 3 direction, bits 4-5 time step (µs u8 forward,
 *                    back by u16 µs, same time, forward u32 ms), bit 6 tls
 *             [time operand]
 *       NATS: [op] [subject] [reply] [sid] [queue] [json] [headers]
 *             [payload] [size mode][size u32 if raw] [header_size u16]
 *             [max i8] [truncated]
 *       HTTP: [bits: kind, chunked, truncated] [method] [path] [version]
 *             [status u16] [reason] [n headers] n x ([name] [value])
 *             [body] [size mode][size u32 if raw]
 *       strings: [len u8][bytes]
 *     advance: [u16 ms forward]
 *
 * Checked: every string and array handed out in flow events and by the
 * query functions is readable and NUL-terminated, the counters account for
 * every record fed, and the tables stay within their caps.
 */
#include "correlator.h"
#include "fuzz_common.h"

#define NPOOL 7

/* Both ends of two NATS connections through one server, an HTTP exchange
 * seen from both ends, and a client that predates the trace. */
static const struct conn_meta pool[NPOOL] = {
	{ 1, 100, "pub", "127.0.0.1:40000", "127.0.0.1:4222", ROLE_CLIENT, false },
	{ 2, 200, "nats-server", "127.0.0.1:4222", "127.0.0.1:40000", ROLE_SERVER, false },
	{ 3, 101, "sub", "127.0.0.1:40001", "127.0.0.1:4222", ROLE_CLIENT, false },
	{ 4, 200, "nats-server", "127.0.0.1:4222", "127.0.0.1:40001", ROLE_SERVER, false },
	{ 5, 300, "curlcurlcurlcurl", "[::1]:50000", "[::1]:8080", ROLE_CLIENT, false },
	{ 6, 301, "nginx", "[::1]:8080", "[::1]:50000", ROLE_SERVER, false },
	{ 7, 102, "old", "10.0.0.5:33333", "127.0.0.1:4222", ROLE_UNKNOWN, false },
};

struct run {
	uint64_t fed;
	uint64_t events;
	bool finished;
	size_t max_edges, max_components, max_subjects, max_subs;
};

static void touch_endpoint(const struct endpoint_info *e)
{
	if (!e)
		return;
	FZ_CHECK(memchr(e->comm, 0, sizeof(e->comm)), "comm not terminated");
	FZ_CHECK(memchr(e->name, 0, sizeof(e->name)), "name not terminated");
	FZ_CHECK(memchr(e->lang, 0, sizeof(e->lang)), "lang not terminated");
	FZ_CHECK(memchr(e->version, 0, sizeof(e->version)), "version not terminated");
	FZ_CHECK(memchr(e->addr, 0, sizeof(e->addr)), "addr not terminated");
	FZ_CHECK(memchr(e->exe, 0, sizeof(e->exe)), "exe not terminated");
	FZ_CHECK(memchr(e->cgroup, 0, sizeof(e->cgroup)), "cgroup not terminated");
}

static void touch_component(const struct corr_component *k)
{
	char small[8], big[256];
	size_t n;

	if (!k)
		return;
	fz_touch_str(k->key);
	touch_endpoint(&k->info);
	n = corr_component_label(k, small, sizeof(small));
	FZ_CHECK(strlen(small) < sizeof(small), "label overflow");
	FZ_CHECK(corr_component_label(k, big, sizeof(big)) == n, "label length differs");
	fz_touch_str(big);
}

static void on_event(const struct flow_event *ev, void *ctx)
{
	struct run *run = ctx;

	run->events++;
	switch (ev->type) {
	case FLOW_EV_EXCHANGE: {
		const struct flow_exchange *x = &ev->exchange;

		FZ_CHECK(x->proto == PROTO_NATS || x->proto == PROTO_HTTP, "proto %d", x->proto);
		fz_touch_str(x->error_reason);
		fz_touch_str(x->subject);
		fz_touch_str(x->reply);
		fz_touch_str(x->method);
		fz_touch_str(x->path);
		fz_touch_str(x->endpoint);
		touch_endpoint(x->client);
		touch_endpoint(x->server);
		break;
	}
	case FLOW_EV_DELIVERY: {
		const struct flow_delivery *d = &ev->delivery;

		fz_touch_str(d->subject);
		fz_touch_str(d->reply);
		touch_endpoint(d->from);
		touch_endpoint(d->server);
		FZ_CHECK(d->n_to == 0 || d->to, "receivers missing");
		for (size_t i = 0; i < d->n_to; i++) {
			touch_endpoint(d->to[i].ep);
			fz_touch_str(d->to[i].sid);
			fz_touch_str(d->to[i].queue);
		}
		break;
	}
	case FLOW_EV_FLOW: {
		const struct corr_edge *e = ev->flow.edge;

		FZ_CHECK(e, "flow without edge");
		fz_touch_str(e->subject);
		fz_touch_str(e->method);
		touch_component(e->from);
		touch_component(e->to);
		FZ_CHECK(ev->flow.stats.p50_ns <= ev->flow.stats.p90_ns &&
			 ev->flow.stats.p90_ns <= ev->flow.stats.p99_ns &&
			 ev->flow.stats.p99_ns <= ev->flow.stats.max_ns,
			 "percentiles out of order");
		break;
	}
	default:
		FZ_CHECK(0, "event type %d", ev->type);
	}
}

/* What sock_resolver would say for the local ends of the pool. */
static bool resolve(const char *addr, struct endpoint_info *out, void *ctx)
{
	(void)ctx;
	for (int i = 0; i < NPOOL; i++) {
		if (strcmp(pool[i].local, addr) || pool[i].role == ROLE_UNKNOWN)
			continue;
		out->pid = pool[i].pid;
		snprintf(out->comm, sizeof(out->comm), "%s", pool[i].comm);
		return true;
	}
	return false;
}

static bool describe(uint32_t pid, struct endpoint_info *out, void *ctx)
{
	(void)ctx;
	/* Longest strings the fields take. */
	memset(out->exe, 'e', sizeof(out->exe) - 1);
	out->exe[sizeof(out->exe) - 1] = 0;
	memset(out->cgroup, 'c', sizeof(out->cgroup) - 1);
	out->cgroup[sizeof(out->cgroup) - 1] = 0;
	if (!out->comm[0])
		snprintf(out->comm, sizeof(out->comm), "p%u", pid);
	return true;
}

static struct slice str(struct fz *in)
{
	size_t n;
	const uint8_t *p = fz_bytes(in, fz_u8(in), &n);

	/* Parsers and the trace reader hand out empty slices as NULL. */
	return n ? slice_from((const char *)p, n) : SLICE_NULL;
}

static uint64_t size_of(struct fz *in, size_t have)
{
	uint8_t mode = fz_u8(in);

	return mode == 0 ? have : mode == 1 ? fz_u32(in) : have + mode;
}

static int count_cb(const void *x, void *ctx)
{
	(void)x;
	++*(size_t *)ctx;
	return 0;
}

static int edge_cb(const struct corr_edge *e, void *ctx)
{
	const struct correlator *c = ctx;
	struct corr_stats st;

	fz_touch_str(e->subject);
	fz_touch_str(e->method);
	touch_component(e->from);
	touch_component(e->to);
	for (int w = CORR_TOTAL; w <= CORR_CURRENT; w++)
		corr_edge_stats(c, e, w, &st);
	return 0;
}

static int comp_cb(const struct corr_component *k, void *ctx)
{
	(void)ctx;
	touch_component(k);
	return 0;
}

static int subj_cb(const struct corr_subject *s, void *ctx)
{
	(void)ctx;
	fz_touch_str(s->subject);
	fz_touch_str(s->last_subject);
	fz_touch(slice_from((const char *)s->last_payload, s->last_payload_len));
	FZ_CHECK(s->n_publishers <= CORR_SUBJECT_PEERS && s->n_subscribers <= CORR_SUBJECT_PEERS,
		 "peer arrays overflow");
	for (size_t i = 0; i < s->n_publishers; i++)
		touch_component(s->publishers[i]);
	for (size_t i = 0; i < s->n_subscribers; i++)
		touch_component(s->subscribers[i]);
	return 0;
}

static int sub_cb(const struct corr_subscription *s, void *ctx)
{
	(void)ctx;
	touch_component(s->comp);
	fz_touch_str(s->addr);
	fz_touch_str(s->client_name);
	fz_touch_str(s->subject);
	fz_touch_str(s->queue);
	fz_touch_str(s->sid);
	return 0;
}

static void check_tables(struct correlator *c, const struct run *run, bool deep)
{
	size_t edges = 0, comps = 0, subjects = 0, subs = 0;
	const struct corr_edge *top[8];

	corr_foreach_edge(c, (corr_edge_fn)count_cb, &edges);
	corr_foreach_component(c, (corr_component_fn)count_cb, &comps);
	corr_foreach_subject(c, (corr_subject_fn)count_cb, &subjects);
	corr_foreach_subscription(c, NULL, (corr_subscription_fn)count_cb, &subs);
	FZ_CHECK(edges <= run->max_edges, "%zu edges > %zu", edges, run->max_edges);
	/* "(other)" comes on top of the cap. */
	FZ_CHECK(comps <= run->max_components + 1, "%zu components > %zu", comps,
		 run->max_components);
	FZ_CHECK(subjects <= run->max_subjects, "%zu subjects > %zu", subjects, run->max_subjects);
	FZ_CHECK(subs <= run->max_subs, "%zu subscriptions > %zu", subs, run->max_subs);
	FZ_CHECK(corr_sorted_edges(c, top, 8) == edges, "sorted edge count differs");
	if (!deep)
		return;
	corr_foreach_edge(c, edge_cb, c);
	corr_foreach_component(c, comp_cb, NULL);
	corr_foreach_subject(c, subj_cb, NULL);
	corr_foreach_subscription(c, NULL, sub_cb, NULL);
	for (size_t i = 0; i < edges && i < 8; i++) {
		edge_cb(top[i], c);
		if (i)
			FZ_CHECK(corr_sorted_edges(c, top, 8) == edges, "unstable");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t timeouts[4] = { 5000000000ull, 1000000, 0, 1 };
	static const uint64_t skews[4] = { 5000000, 0, 1000000000ull, 1 };
	struct fz in = fz_init(data, size);
	uint8_t config = fz_u8(&in);
	struct run run = { 0 };
	struct corr_config cfg;
	struct correlator *c;
	uint64_t ts = 1700000000000000000ull;

	corr_config_default(&cfg);
	if (config & 1) {
		cfg.max_conns = 2;
		cfg.max_pubs = 3;
		cfg.max_requests = 2;
		cfg.max_http = 3;
		cfg.max_http_per_conn = 2;
		cfg.max_subs = 4;
		cfg.max_edges = 3;
		cfg.max_components = 3;
		cfg.max_subjects = 2;
		cfg.max_reorder = 4;
		cfg.payload_keep = 8;
	}
	cfg.periodic_flows = config & 2;
	cfg.timeout_ns = timeouts[(config >> 3) & 3];
	cfg.skew_ns = skews[(config >> 5) & 3];
	if (!(config & 4)) {
		cfg.resolve_addr = resolve;
		cfg.describe_pid = describe;
	}
	cfg.emit = on_event;
	cfg.emit_ctx = &run;
	run.max_edges = cfg.max_edges;
	run.max_components = cfg.max_components;
	run.max_subjects = cfg.max_subjects;
	run.max_subs = cfg.max_subs;
	c = corr_new(&cfg);
	FZ_CHECK(c, "out of memory");

	while (in.left) {
		uint8_t kind = fz_u8(&in);

		if ((kind & 3) == 3) {
			ts += (uint64_t)fz_u16(&in) * 1000000;
			corr_advance(c, ts);
			if (kind & 4) {
				corr_finish(c);
				run.finished = true;
			}
			check_tables(c, &run, false);
			continue;
		}

		uint8_t cs = fz_u8(&in);
		struct msg_record r;
		struct conn_meta *meta = NULL;

		memset(&r, 0, sizeof(r));
		switch ((cs >> 4) & 3) {
		case 0: ts += fz_u8(&in) * 1000ull; break;
		case 1: ts -= fz_u16(&in) * 1000ull; break;
		case 2: break;
		default: ts += fz_u32(&in) * 1000000ull; break;
		}
		r.ts_ns = ts;
		r.dir = (cs & 8) ? DIR_RECV : DIR_SEND;
		if ((cs & 7) < NPOOL) {
			/* On the heap and freed right after: a pointer kept
			 * past the call is a use-after-free ASan reports. */
			meta = malloc(sizeof(*meta));
			FZ_CHECK(meta, "out of memory");
			*meta = pool[cs & 7];
			meta->tls = cs & 0x40;
			r.conn = meta;
		}
		if ((kind & 3) < 2) {
			struct nats_msg *m = &r.nats;

			r.proto = PROTO_NATS;
			m->op = fz_u8(&in) % NATS_OP__COUNT;
			m->subject = str(&in);
			m->reply = str(&in);
			m->sid = str(&in);
			m->queue = str(&in);
			m->json = str(&in);
			m->headers = str(&in);
			m->payload = str(&in);
			m->size = size_of(&in, m->payload.len);
			m->header_size = fz_u16(&in);
			m->max_msgs = (int8_t)fz_u8(&in);
			m->truncated = fz_u8(&in) & 1;
		} else {
			struct http_msg *m = &r.http;
			uint8_t bits = fz_u8(&in);

			r.proto = PROTO_HTTP;
			m->kind = bits & 1 ? HTTP_RESPONSE : HTTP_REQUEST;
			m->chunked = bits & 2;
			m->truncated = bits & 4;
			m->method = str(&in);
			m->path = str(&in);
			m->version = str(&in);
			m->status = fz_u16(&in);
			m->reason = str(&in);
			m->n_headers = fz_u8(&in) % (HTTP_MAX_HEADERS + 1);
			for (int i = 0; i < m->n_headers; i++) {
				m->headers[i].name = str(&in);
				m->headers[i].value = str(&in);
			}
			m->body = str(&in);
			m->body_size = size_of(&in, m->body.len);
		}
		corr_record(c, &r);
		if (!run.finished)
			run.fed++;
		free(meta);
		if (config & 1)
			check_tables(c, &run, false);
	}
	FZ_CHECK(corr_counters(c)->records == run.fed, "counted %llu records, fed %llu",
		 (unsigned long long)corr_counters(c)->records, (unsigned long long)run.fed);
	if (!run.finished)
		corr_finish(c);
	check_tables(c, &run, true);
	if (fz_debug()) {
		const struct corr_counters *k = corr_counters(c);

		fprintf(stderr, "correlator: %llu records, %llu events, %llu publications, %llu deliveries, "
			"%llu exchanges, %llu ignored, %llu late\n",
			(unsigned long long)k->records, (unsigned long long)run.events,
			(unsigned long long)k->publications, (unsigned long long)k->deliveries,
			(unsigned long long)k->exchanges, (unsigned long long)k->ignored,
			(unsigned long long)k->late);
	}
	corr_free(c);
	return 0;
}
