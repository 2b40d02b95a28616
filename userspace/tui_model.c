/* SPDX-License-Identifier: MIT */
#include "tui_model.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "path_template.h"
#include "record_json.h"

#define DEFAULT_RING 2048
#define DEFAULT_PAYLOAD_CAP 2048
/* How far back a response looks for its request on the same connection. */
#define REQUEST_LOOKBACK 64

static void rt_free(struct rate_tab *t);

/* ---- set-up ------------------------------------------------------------- */

static int make_corr(struct tui_model *m, const struct tui_model_opts *o)
{
	struct corr_config cfg;

	corr_config_default(&cfg);
	if (o && o->interval_ns)
		cfg.interval_ns = o->interval_ns;
	if (o) {
		cfg.resolve_addr = o->resolve_addr;
		cfg.describe_pid = o->describe_pid;
		cfg.resolve_ctx = o->resolve_ctx;
	}
	m->corr_interval_ns = cfg.interval_ns;
	m->corr = corr_new(&cfg);
	m->own_corr = true;
	return m->corr ? 0 : -ENOMEM;
}

static void view_defaults(struct tui_model *m)
{
	for (int v = 0; v < TV__COUNT; v++) {
		int n, col;
		bool desc;

		tui_text_columns(v, &n, &col, &desc);
		m->vs[v].sort_col = col;
		m->vs[v].sort_desc = desc;
	}
}

int tui_model_init(struct tui_model *m, const struct tui_model_opts *o)
{
	memset(m, 0, sizeof(*m));
	m->ring_cap = o->ring_size ? o->ring_size : DEFAULT_RING;
	m->payload_cap = o->payload_cap ? o->payload_cap : DEFAULT_PAYLOAD_CAP;
	m->interval_ns = o->interval_ns ? o->interval_ns : 2000000000ull;
	m->replay = o->replay;
	m->no_messages = o->no_messages;
	m->speed = 1.0;
	m->next_seq = 1;
	m->body_rows = INT_MAX;
	m->self.live = !o->replay;
	m->resolve_addr = o->resolve_addr;
	m->describe_pid = o->describe_pid;
	m->resolve_ctx = o->resolve_ctx;
	if (o->source)
		snprintf(m->source, sizeof(m->source), "%s", o->source);
	if (gethostname(m->host, sizeof(m->host) - 1))
		strcpy(m->host, "?");
	m->ring = calloc(m->ring_cap, sizeof(*m->ring));
	m->samples = calloc(2, sizeof(*m->samples));
	m->hm = calloc(1, sizeof(*m->hm));
	if (!m->ring || !m->samples || !m->hm)
		goto fail;
	if (o->corr) {
		m->corr = o->corr;
		m->corr_interval_ns = m->interval_ns;
	} else if (make_corr(m, o)) {
		goto fail;
	}
	view_defaults(m);
	tui_table_reset(&m->table, TV_FLOWS, NULL, 0);
	return 0;
fail:
	tui_model_free(m);
	return -ENOMEM;
}

/* ---- connections kept by the ring ---------------------------------------- */

/*
 * A message's connection (168 bytes) is the same for every message of it,
 * and a slot is out of the cache by the time the ring comes round to it:
 * slots share one copy per connection state, counted, freed with the last
 * slot that holds it.
 *
 * Addresses are fixed for a connection id; what can change in its
 * lifetime (exec, a TLS probe attaching) is compared.
 */
static bool same_conn(const struct conn_meta *a, const struct conn_meta *b)
{
	return a->id == b->id && a->pid == b->pid && a->role == b->role &&
	       a->tls == b->tls && !strcmp(a->comm, b->comm);
}

static struct tui_conn *conn_get(struct tui_model *m, const struct conn_meta *meta)
{
	struct tui_conn **b = &m->conns[meta->id % TUI_CONN_BUCKETS], *c;

	if (m->last_conn && same_conn(&m->last_conn->meta, meta)) {
		m->last_conn->refs++;
		return m->last_conn;
	}
	for (c = *b; c && !same_conn(&c->meta, meta); c = c->next)
		;
	if (!c) {
		c = malloc(sizeof(*c));
		if (!c)
			return NULL;
		c->meta = *meta;
		c->refs = 0;
		c->next = *b;
		*b = c;
	}
	c->refs++;
	m->last_conn = c;
	return c;
}

static void conn_put(struct tui_model *m, struct tui_conn *c)
{
	struct tui_conn **p;

	if (!c || --c->refs)
		return;
	for (p = &m->conns[c->meta.id % TUI_CONN_BUCKETS]; *p != c; p = &(*p)->next)
		;
	*p = c->next;
	if (m->last_conn == c)
		m->last_conn = NULL;
	free(c);
}

static void ring_clear(struct tui_model *m)
{
	for (size_t i = 0; i < m->ring_cap; i++) {
		conn_put(m, m->ring[i].kept.conn);
		m->ring[i].kept.conn = NULL;
		free(m->ring[i].json);
		free(m->ring[i].data);
		m->ring[i].json = NULL;
		m->ring[i].data = NULL;
		m->ring[i].data_cap = 0;
	}
	m->ring_head = m->ring_count = 0;
}

void tui_model_free(struct tui_model *m)
{
	if (m->ring)
		ring_clear(m);
	free(m->ring);
	free(m->samples);
	free(m->hm);
	rt_free(&m->rates);
	free(m->table.rows);
	free(m->table.text);
	free(m->table.order);
	free(m->details.lines);
	if (m->own_corr)
		corr_free(m->corr);
	memset(m, 0, sizeof(*m));
}

int tui_model_reset_data(struct tui_model *m)
{
	struct tui_model_opts o = {
		.interval_ns = m->corr_interval_ns,
		.resolve_addr = m->resolve_addr,
		.describe_pid = m->describe_pid,
		.resolve_ctx = m->resolve_ctx,
	};

	ring_clear(m);
	rt_free(&m->rates);
	if (m->own_corr) {
		corr_free(m->corr);
		m->corr = NULL;
		if (make_corr(m, &o))
			return -ENOMEM;
	}
	memset(&m->self, 0, sizeof(m->self));
	m->self.live = !m->replay;
	m->hm_valid = m->have_sample = false;
	m->now_ns = m->first_ns = 0;
	m->trace_done = false;
	return 0;
}

/* ---- records ------------------------------------------------------------ */

/* Bounded, always terminated. */
static void copy_str(char *dst, size_t n, const char *src)
{
	size_t len = strnlen(src, n - 1);

	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Bounded, terminated, printable: a NUL inside the slice becomes '.' too,
 * so the rest of it stays visible. */
static void copy_slice(char *dst, size_t n, struct slice s)
{
	size_t len = s.len < n - 1 ? s.len : n - 1;

	copy_printable(dst, len ? (const char *)s.ptr : "", len);
}

/* A kept record as compact JSON for the details pane (its payload was cut
 * to payload_cap when kept, and marked "truncated"). */
static char *record_text(struct jw *jw, const struct msg_record *rec)
{
	char *text;

	jw_reset(jw);
	record_write_json(jw, rec);
	if (jw->oom)
		return NULL;
	/* The writer's buffer has no NUL: copy by length, not strndup(),
	 * which may look one byte past it (ASan, tests/sanitize.sh). */
	text = malloc(jw->len + 1);
	if (text) {
		memcpy(text, jw->buf, jw->len);
		text[jw->len] = '\0';
	}
	return text;
}

/* ---- keeping a record: its slices copied into the slot's buffer --------- */

static size_t need(struct slice s)
{
	return s.ptr ? s.len : 0;
}

static void keep_slice(char **w, struct slice *s)
{
	if (!s->ptr || !s->len) {
		*s = SLICE_NULL;
		return;
	}
	memcpy(*w, s->ptr, s->len);
	s->ptr = *w;
	*w += s->len;
}

/* The slices of a kept record, for sizing and copying alike. */
static size_t kept_slices(struct tui_kept *k, struct http_header *hdr,
			  struct slice **out)
{
	size_t n = 0;

	if (k->proto == PROTO_NATS) {
		struct nats_msg *x = &k->nats;

		out[n++] = &x->subject;
		out[n++] = &x->reply;
		out[n++] = &x->sid;
		out[n++] = &x->queue;
		out[n++] = &x->json;
		out[n++] = &x->headers;
		out[n++] = &x->payload;
		return n;
	}
	out[n++] = &k->http.method;
	out[n++] = &k->http.path;
	out[n++] = &k->http.version;
	out[n++] = &k->http.reason;
	out[n++] = &k->http.body;
	for (int i = 0; i < k->http.n_headers; i++) {
		out[n++] = &hdr[i].name;
		out[n++] = &hdr[i].value;
	}
	return n;
}

/*
 * Copy rec into t: the fixed fields and the member of its protocol (not
 * the 2 KiB struct), then the bytes its slices point to, the payload or
 * body cut to payload_cap; an HTTP record's headers go first in data.
 * Out of memory: the slot keeps no record and renders from its own fields.
 */
static void keep_record(struct tui_model *m, struct tui_msg *t,
			const struct msg_record *rec)
{
	struct slice *sl[5 + 2 * HTTP_MAX_HEADERS];
	struct http_header hdr[HTTP_MAX_HEADERS];
	struct tui_kept *k = &t->kept;
	size_t n, total = 0, hbytes = 0;
	struct slice *body;
	char *w;

	k->proto = rec->proto;
	conn_put(m, k->conn);
	k->conn = rec->conn ? conn_get(m, rec->conn) : NULL;
	if (rec->proto == PROTO_NATS) {
		k->nats = rec->nats;
		body = &k->nats.payload;
	} else {
		const struct http_msg *h = &rec->http;

		k->http.kind = h->kind;
		k->http.method = h->method;
		k->http.path = h->path;
		k->http.version = h->version;
		k->http.reason = h->reason;
		k->http.body = h->body;
		k->http.status = h->status;
		k->http.n_headers = h->n_headers < HTTP_MAX_HEADERS ? h->n_headers :
								   HTTP_MAX_HEADERS;
		k->http.body_size = h->body_size;
		k->http.chunked = h->chunked;
		k->http.truncated = h->truncated;
		hbytes = k->http.n_headers * sizeof(hdr[0]);
		memcpy(hdr, h->headers, hbytes);
		body = &k->http.body;
	}
	if (body->len > m->payload_cap) {
		body->len = m->payload_cap;
		if (rec->proto == PROTO_NATS)
			k->nats.truncated = true;
		else
			k->http.truncated = true;
	}
	n = kept_slices(k, hdr, sl);
	for (size_t i = 0; i < n; i++)
		total += need(*sl[i]);
	if (hbytes + total > t->data_cap) {
		char *d = realloc(t->data, hbytes + total);

		if (!d) {
			k->proto = PROTO_UNKNOWN; /* nothing kept */
			return;
		}
		t->data = d;
		t->data_cap = hbytes + total;
	}
	w = t->data + hbytes;
	for (size_t i = 0; i < n; i++)
		keep_slice(&w, sl[i]);
	if (hbytes) {
		memcpy(t->data, hdr, hbytes); /* realloc'd memory: suitably aligned */
		k->http.headers = (const struct http_header *)(void *)t->data;
	}
}

/* The kept record as a msg_record again, for the renderers. false: none. */
static bool kept_record(const struct tui_msg *t, struct msg_record *r)
{
	const struct tui_kept *k = &t->kept;

	if (k->proto != PROTO_NATS && k->proto != PROTO_HTTP)
		return false;
	r->ts_ns = t->ts_ns;
	r->dir = t->dir;
	r->proto = k->proto;
	r->conn = k->conn ? &k->conn->meta : NULL;
	if (k->proto == PROTO_NATS) {
		r->nats = k->nats;
		return true;
	}
	r->http.kind = k->http.kind;
	r->http.method = k->http.method;
	r->http.path = k->http.path;
	r->http.version = k->http.version;
	r->http.reason = k->http.reason;
	r->http.head = SLICE_NULL;
	r->http.body = k->http.body;
	r->http.status = k->http.status;
	r->http.n_headers = k->http.n_headers;
	r->http.body_size = k->http.body_size;
	r->http.chunked = k->http.chunked;
	r->http.truncated = k->http.truncated;
	if (k->http.n_headers)
		memcpy(r->http.headers, k->http.headers,
		       k->http.n_headers * sizeof(r->http.headers[0]));
	return true;
}

static void nats_fields(struct tui_msg *t, const struct nats_msg *n)
{
	copy_str(t->op, sizeof(t->op), nats_op_name(n->op));
	copy_slice(t->key, sizeof(t->key), n->subject);
	copy_slice(t->reply, sizeof(t->reply), n->reply);
	t->size = n->size;
	t->error = n->op == NATS_ERR;
	t->request = (n->op == NATS_PUB || n->op == NATS_HPUB) && n->reply.len;
}

/* A response carries no path: take the endpoint of the latest request on
 * the same connection end. */
static void response_key(const struct tui_model *m, struct tui_msg *t)
{
	for (size_t i = 0; i < m->ring_count && i < REQUEST_LOOKBACK; i++) {
		const struct tui_msg *r = tui_model_msg(m, i);

		if (r->conn == t->conn && r->proto == PROTO_HTTP && r->request) {
			snprintf(t->key, sizeof(t->key), "%s", r->key);
			return;
		}
	}
}

static void http_fields(const struct tui_model *m, struct tui_msg *t,
			const struct http_msg *h)
{
	t->size = h->body_size;
	if (h->kind == HTTP_REQUEST) {
		char path[TUI_KEY_MAX];

		copy_slice(t->op, sizeof(t->op), h->method);
		copy_slice(path, sizeof(path), h->path);
		path_template(path, strlen(path), t->key, sizeof(t->key));
		make_printable(t->key);
		t->request = true;
		return;
	}
	snprintf(t->op, sizeof(t->op), "%d", h->status);
	t->error = h->status >= 500;
	t->warn = h->status >= 400 && h->status < 500;
	response_key(m, t);
}

/* Only what lists, filters and the request lookback need is filled here;
 * the rest waits in the kept record until someone looks. */
static void ring_push(struct tui_model *m, const struct msg_record *rec)
{
	struct tui_msg *t = &m->ring[m->ring_head];
	char *data = t->data;
	size_t data_cap = t->data_cap;

	free(t->json);
	t->json = NULL;
	t->have_summary = false;
	t->seq = m->next_seq++;
	t->ts_ns = rec->ts_ns;
	t->dir = rec->dir;
	t->proto = rec->proto;
	t->conn = 0;
	t->pid = 0;
	t->error = t->warn = t->request = false;
	t->size = 0;
	t->op[0] = t->key[0] = t->reply[0] = '\0';
	if (rec->conn) {
		t->conn = rec->conn->id;
		t->pid = rec->conn->pid;
	}
	if (rec->proto == PROTO_NATS)
		nats_fields(t, &rec->nats);
	else if (rec->proto == PROTO_HTTP)
		http_fields(m, t, &rec->http);
	t->data = data;
	t->data_cap = data_cap;
	keep_record(m, t, rec);
	/* the slot is filled before it counts, so response_key never sees it */
	m->ring_head = (m->ring_head + 1) % m->ring_cap;
	if (m->ring_count < m->ring_cap)
		m->ring_count++;
}

void tui_model_add_record(struct tui_model *m, const struct msg_record *rec)
{
	corr_record(m->corr, rec);
	m->self.records_total++;
	if (!m->first_ns || rec->ts_ns < m->first_ns)
		m->first_ns = rec->ts_ns;
	/* Live and paused: the screen is frozen to be read, so the ring keeps
	 * what is on it; the correlator still counts everything. */
	if (m->paused && !m->replay) {
		m->self.held_back++;
		return;
	}
	/* the copy is most of what the ring costs: a fifth of `top -b`'s
	 * time at 100k msgs/s, for a view it never prints */
	if (!m->no_messages)
		ring_push(m, rec);
}

/* Read from the kept connection, not copied into the slot's own fields:
 * slots are rewritten a whole turn of the ring after their last use, and
 * every cache line less to fetch for each message counts at 100k msgs/s. */
void tui_msg_comm(const struct tui_msg *g, char *out)
{
	const char *c = g->kept.conn ? g->kept.conn->meta.comm : "";

	copy_printable(out, c, strnlen(c, COMM_LEN - 1));
}

const char *tui_msg_local(const struct tui_msg *g)
{
	return g->kept.conn ? g->kept.conn->meta.local : "";
}

const char *tui_msg_peer(const struct tui_msg *g)
{
	return g->kept.conn ? g->kept.conn->meta.peer : "";
}

/* The ring's slots are a cache of renderings under a const model: the
 * model's own fields do not change, only the slot behind its pointer. */
const struct tui_msg *tui_model_msg(const struct tui_model *m, size_t i)
{
	struct tui_msg *t;

	if (i >= m->ring_count)
		return NULL;
	t = &m->ring[(m->ring_head + m->ring_cap - 1 - i) % m->ring_cap];
	if (!t->have_summary) {
		struct msg_record r;

		if (kept_record(t, &r))
			tui_text_summary(&r, t->summary, sizeof(t->summary));
		else
			t->summary[0] = '\0';
		t->have_summary = true;
	}
	return t;
}

const char *tui_model_msg_json(const struct tui_model *m, const struct tui_msg *g)
{
	struct tui_msg *t = &m->ring[g - m->ring];
	struct msg_record r;
	struct jw jw;

	if (!t->json && kept_record(t, &r)) {
		jw_init(&jw);
		t->json = record_text(&jw, &r);
		jw_free(&jw);
	}
	return t->json;
}

const struct tui_msg *tui_model_msg_by_seq(const struct tui_model *m, uint64_t seq)
{
	const struct tui_msg *newest = tui_model_msg(m, 0);
	uint64_t back;

	if (!newest || seq > newest->seq)
		return NULL;
	back = newest->seq - seq;
	return back < m->ring_count ? tui_model_msg(m, back) : NULL;
}

/* ---- time, counters, metrics --------------------------------------------- */

void tui_model_advance(struct tui_model *m, uint64_t now_ns)
{
	if (now_ns > m->now_ns)
		m->now_ns = now_ns;
	if (!m->first_ns)
		m->first_ns = now_ns;
	corr_advance(m->corr, m->now_ns);
}

/* ---- rates between ticks ---------------------------------------------- */
/*
 * The correlator's own "last interval" starts at its first record, not at
 * our refresh, so its rates lag the screen by up to an interval. Like top
 * computing %CPU, rates here are the growth of totals between two ticks,
 * per row identity. The table is rebuilt every tick from the items that
 * still exist: no deletion, bounded by the correlator's own caps.
 */

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The slot holding key, or the empty slot where it would go. */
static struct rate_ent *rt_slot(const struct rate_tab *t, const char *key)
{
	size_t i;

	if (!t->cap)
		return NULL;
	for (i = fnv1a(key) & (t->cap - 1); t->slots[i].key; i = (i + 1) & (t->cap - 1))
		if (!strcmp(t->slots[i].key, key))
			return &t->slots[i];
	return &t->slots[i];
}

static const struct rate_ent *rt_find(const struct rate_tab *t, const char *key)
{
	const struct rate_ent *e = rt_slot(t, key);

	return e && e->key ? e : NULL;
}

static void rt_free(struct rate_tab *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->slots[i].key);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static int rt_grow(struct rate_tab *t)
{
	struct rate_tab bigger = { .cap = t->cap ? 2 * t->cap : 256 };

	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		if (t->slots[i].key) {
			*rt_slot(&bigger, t->slots[i].key) = t->slots[i];
			bigger.n++;
		}
	}
	free(t->slots);
	*t = bigger;
	return 0;
}

struct rate_ctx {
	struct tui_model *m;
	struct rate_tab fresh;
	double secs;
	uint64_t since;       /* the previous tick */
};

/* Record totals v[] of the item `key` created at first_ts; its rates are
 * the growth since the previous tick. */
static void rate_update(struct rate_ctx *x, const char *key, uint64_t first_ts,
			const uint64_t *v, int nv)
{
	const struct rate_ent *old = rt_find(&x->m->rates, key);
	struct rate_ent *e;

	if ((x->fresh.n + 1) * 2 > x->fresh.cap && rt_grow(&x->fresh))
		return;
	e = rt_slot(&x->fresh, key);
	if (e->key || !(e->key = strdup(key)))
		return;   /* the same key twice: the first one wins */
	x->fresh.n++;
	for (int i = 0; i < nv && i < TUI_RATE_VALUES; i++) {
		e->v[i] = v[i];
		if (x->secs <= 0)
			continue;
		if (old && v[i] >= old->v[i])
			e->r[i] = (v[i] - old->v[i]) / x->secs;
		else if (!old && first_ts >= x->since)
			e->r[i] = v[i] / x->secs;   /* born in this interval */
	}
}

static int edge_rate(const struct corr_edge *e, void *arg)
{
	struct rate_ctx *x = arg;
	struct corr_stats st;
	char key[TUI_IDENT_MAX];
	uint64_t v[2];

	corr_edge_stats(x->m->corr, e, CORR_TOTAL, &st);
	tui_model_edge_ident(e, key, sizeof(key));
	v[0] = st.count;
	v[1] = st.bytes;
	rate_update(x, key, e->first_ts, v, 2);
	return 0;
}

static int comp_rate(const struct corr_component *c, void *arg)
{
	struct rate_ctx *x = arg;
	char key[TUI_IDENT_MAX];
	uint64_t v[4] = { c->msgs_in, c->msgs_out, c->bytes_in, c->bytes_out };

	snprintf(key, sizeof(key), "c|%s", c->key);
	rate_update(x, key, c->first_ts, v, 4);
	return 0;
}

static int subject_rate(const struct corr_subject *sj, void *arg)
{
	struct rate_ctx *x = arg;
	char key[TUI_IDENT_MAX];
	uint64_t v[3] = { sj->msgs, sj->bytes, sj->deliveries };

	snprintf(key, sizeof(key), "s|%s", sj->subject);
	rate_update(x, key, sj->first_ts, v, 3);
	return 0;
}

void tui_model_tick(struct tui_model *m, uint64_t now_ns)
{
	struct tui_self *s = &m->self;
	struct rate_ctx x = { .m = m, .since = s->tick_ns };

	tui_model_advance(m, now_ns);
	if (s->tick_ns && m->now_ns > s->tick_ns) {
		x.secs = (m->now_ns - s->tick_ns) / 1e9;
		s->records_s = (s->records_total - s->tick_records) / x.secs;
	}
	s->drops_new = s->drops_total - s->tick_drops;
	corr_foreach_edge(m->corr, edge_rate, &x);
	corr_foreach_component(m->corr, comp_rate, &x);
	corr_foreach_subject(m->corr, subject_rate, &x);
	rt_free(&m->rates);
	m->rates = x.fresh;
	m->rate_secs = x.secs;
	s->tick_ns = m->now_ns;
	s->tick_records = s->records_total;
	s->tick_drops = s->drops_total;
}

bool tui_model_rates(const struct tui_model *m, const char *key, double *r)
{
	const struct rate_ent *e = rt_find(&m->rates, key);

	for (int i = 0; i < TUI_RATE_VALUES; i++)
		r[i] = e ? e->r[i] : 0;
	return e != NULL;
}

void tui_model_edge_ident(const struct corr_edge *e, char *buf, size_t n)
{
	snprintf(buf, n, "e|%d|%d|%s|%s|%s|%s", e->proto, e->kind,
		 e->from ? e->from->key : "", e->to ? e->to->key : "",
		 e->method ? e->method : "", e->subject ? e->subject : "");
}

double tui_model_rate_interval(const struct tui_model *m)
{
	return m->rate_secs;
}

void tui_model_set_counters(struct tui_model *m, uint64_t now_ns,
			    uint64_t events_total, uint64_t drops_total,
			    uint64_t parse_errors, uint64_t conns_open)
{
	struct tui_self *s = &m->self;

	if (s->tick_ns && now_ns > s->tick_ns)
		s->events_s = (events_total - s->tick_events) / ((now_ns - s->tick_ns) / 1e9);
	s->tick_events = events_total;
	s->events_total = events_total;
	s->drops_total = drops_total;
	s->parse_errors = parse_errors;
	s->conns_open = conns_open;
}

void tui_model_finish(struct tui_model *m)
{
	corr_finish(m->corr);
	m->trace_done = true;
}

void tui_model_add_drops(struct tui_model *m, uint64_t events)
{
	m->self.drops_total += events;
}

int tui_model_sample_host(struct tui_model *m, uint64_t mono_ns,
			  const char *procfs, const char *sysfs)
{
	struct host_sample *cur = &m->samples[m->sample_cur];
	struct host_sample *prev = &m->samples[m->sample_cur ^ 1];
	int err;

	cur->mono_ns = mono_ns;
	err = host_sample_read(cur, procfs, sysfs);
	if (err)
		return err;
	host_metrics_compute(m->have_sample ? prev : NULL, cur, m->hm);
	m->have_sample = true;
	m->hm_valid = true;
	m->sample_cur ^= 1;
	return 0;
}

/* ---- metrics from a trace line (replay) ----------------------------------- */

/* A number, or false when null/absent (not measurable that interval). */
static bool jnum(const json_t *o, const char *key, double *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

static uint64_t ju64(const json_t *o, const char *key)
{
	double d = 0;

	return jnum(o, key, &d) && d > 0 ? (uint64_t)d : 0;
}

static double jdbl(const json_t *o, const char *key)
{
	double d = 0;

	jnum(o, key, &d);
	return d;
}

/* JSON key order of the 8 CPU states, by enum hm_cpu_field. */
static const char *const cpu_keys[HM_CPU_NFIELDS] = {
	[HM_USER] = "user", [HM_NICE] = "nice", [HM_SYSTEM] = "system",
	[HM_IDLE] = "idle", [HM_IOWAIT] = "iowait", [HM_IRQ] = "irq",
	[HM_SOFTIRQ] = "softirq", [HM_STEAL] = "steal",
};

static bool cpu_from_json(const json_t *o, double *pct)
{
	for (int f = 0; f < HM_CPU_NFIELDS; f++)
		if (!jnum(o, cpu_keys[f], &pct[f]))
			return false;
	return true;
}

static void cpus_from_json(const json_t *arr, struct host_metrics *hm)
{
	size_t i;
	json_t *c;

	json_array_foreach(arr, i, c) {
		struct hm_cpu_pct *p;

		if (i >= HM_MAX_CPUS)
			break;
		p = &hm->cpus[i];
		p->ok = cpu_from_json(c, p->pct);
		if (json_is_false(json_object_get(c, "online")))
			p->status = HM_CPU_OFFLINE;
		else
			p->status = p->ok ? HM_CPU_ONLINE : HM_CPU_NEW;
		hm->ncpus = i + 1;
	}
}

static void mem_from_json(const json_t *o, struct host_metrics *hm)
{
	hm->mem_total_kb = ju64(o, "total_kb");
	hm->mem_used_kb = ju64(o, "used_kb");
	hm->mem_free_kb = ju64(o, "free_kb");
	hm->buffers_kb = ju64(o, "buffers_kb");
	hm->cached_kb = ju64(o, "cached_kb");
	hm->avail_kb = ju64(o, "available_kb");
	hm->swap_used_kb = ju64(o, "swap_used_kb");
	hm->swap_total_kb = ju64(o, "swap_total_kb");
	hm->mem_used_pct = jdbl(o, "used_pct");
	if (json_is_object(o))
		hm->have_level |= HM_SRC_MEMINFO;
}

static void net_from_json(const json_t *o, struct host_metrics *hm)
{
	const char *name;
	json_t *v;

	json_object_foreach((json_t *)o, name, v) {
		struct hm_net_rates *n;

		if (hm->nnet >= HM_MAX_IFACES)
			break;
		n = &hm->net[hm->nnet++];
		snprintf(n->name, sizeof(n->name), "%s", name);
		n->is_new = json_is_true(json_object_get(v, "new"));
		n->rx_kbs = jdbl(v, "rxkb_s");
		n->tx_kbs = jdbl(v, "txkb_s");
		n->rx_pps = jdbl(v, "rxpck_s");
		n->tx_pps = jdbl(v, "txpck_s");
		n->rx_errs = jdbl(v, "rxerr_s");
		n->tx_errs = jdbl(v, "txerr_s");
		n->rx_drops = jdbl(v, "rxdrop_s");
		n->tx_drops = jdbl(v, "txdrop_s");
	}
}

static void disk_from_json(const json_t *o, struct host_metrics *hm)
{
	const char *name;
	json_t *v;

	json_object_foreach((json_t *)o, name, v) {
		struct hm_disk_rates *d;

		if (hm->ndisk >= HM_MAX_DISKS)
			break;
		d = &hm->disk[hm->ndisk++];
		snprintf(d->name, sizeof(d->name), "%s", name);
		d->is_new = json_is_true(json_object_get(v, "new"));
		d->tps = jdbl(v, "tps");
		d->rd_s = jdbl(v, "rd_s");
		d->wr_s = jdbl(v, "wr_s");
		d->rkb_s = jdbl(v, "rkb_s");
		d->wkb_s = jdbl(v, "wkb_s");
		d->busy_pct = jdbl(v, "busy_pct");
		d->await_ms = jdbl(v, "await_ms");
		d->aqu_sz = jdbl(v, "aqu_sz");
	}
}

static void psi_from_json(const json_t *o, struct host_metrics *hm)
{
	static const char *const res[HM_PSI_NRES] = { "cpu", "memory", "io" };
	static const char *const kind[HM_PSI_NKINDS] = { "some", "full" };
	char key[32];

	for (int r = 0; r < HM_PSI_NRES; r++) {
		for (int k = 0; k < HM_PSI_NKINDS; k++) {
			struct hm_psi_val *p = &hm->psi[r][k];

			snprintf(key, sizeof(key), "%s_%s_avg10", res[r], kind[k]);
			p->avg_ok = jnum(o, key, &p->avg10);
			snprintf(key, sizeof(key), "%s_%s_pct", res[r], kind[k]);
			p->pct_ok = jnum(o, key, &p->pct);
		}
	}
}

static void misc_from_json(const json_t *obj, struct host_metrics *hm)
{
	json_t *load = json_object_get(obj, "load");
	json_t *tasks = json_object_get(obj, "tasks");
	json_t *pg = json_object_get(obj, "paging");
	json_t *sys = json_object_get(obj, "sys");
	json_t *self = json_object_get(obj, "self");

	for (int i = 0; i < 3; i++)
		hm->load[i] = json_is_number(json_array_get(load, i)) ?
			json_number_value(json_array_get(load, i)) : 0;
	if (json_is_array(load))
		hm->have_level |= HM_SRC_LOADAVG;
	hm->tasks_running = ju64(tasks, "running");
	hm->tasks_blocked = ju64(tasks, "blocked");
	hm->tasks_total = ju64(tasks, "total");
	hm->pgpgin_kbs = jdbl(pg, "pgpgin_kbs");
	hm->pgpgout_kbs = jdbl(pg, "pgpgout_kbs");
	hm->majflt_s = jdbl(pg, "majflt_s");
	hm->pswpin_s = jdbl(pg, "pswpin_s");
	hm->pswpout_s = jdbl(pg, "pswpout_s");
	hm->cswch_s = jdbl(sys, "cswch_s");
	hm->intr_s = jdbl(sys, "intr_s");
	hm->forks_s = jdbl(sys, "forks_s");
	hm->runq = ju64(sys, "runq");
	hm->self_cpu_pct = jdbl(self, "cpu_pct");
	hm->self_rss_kb = ju64(self, "rss_kb");
}

int tui_model_set_metrics_json(struct tui_model *m, const json_t *obj)
{
	struct host_metrics *hm = m->hm;
	json_t *cpu = json_object_get(obj, "cpu");

	if (!json_is_object(obj) || !json_is_object(cpu))
		return -EINVAL;
	memset(hm, 0, sizeof(*hm));
	hm->interval_s = jdbl(obj, "interval_s");
	hm->rates_ok = hm->interval_s > 0;
	hm->uptime_s = jdbl(obj, "uptime_s");
	hm->cpu_ok = cpu_from_json(cpu, hm->cpu);
	hm->have_level = HM_SRC_STAT | HM_SRC_UPTIME;
	cpus_from_json(json_object_get(obj, "cpus"), hm);
	mem_from_json(json_object_get(obj, "mem"), hm);
	net_from_json(json_object_get(obj, "net"), hm);
	disk_from_json(json_object_get(obj, "disk"), hm);
	psi_from_json(json_object_get(obj, "psi"), hm);
	misc_from_json(obj, hm);
	if (hm->rates_ok)
		hm->have_rate = hm->have_level | HM_SRC_VMSTAT | HM_SRC_NETDEV |
				HM_SRC_DISKSTATS | HM_SRC_SELF;
	m->hm_valid = true;
	return 0;
}

/* ---- tables ------------------------------------------------------------- */

void tui_table_reset(struct tui_table *t, enum tui_view v,
		     const struct tui_col *cols, int ncols)
{
	t->view = v;
	t->cols = cols;
	t->ncols = ncols < TUI_MAX_COLS ? ncols : TUI_MAX_COLS;
	t->nrows = 0;
	t->tlen = 0;
	t->norder = 0;
}

/* Offset of a copy of s in the table's text, or 0 (the empty string every
 * table text starts with) when out of memory. */
static uint32_t table_text(struct tui_table *t, const char *s)
{
	size_t len = strlen(s) + 1;
	uint32_t off;

	if (t->tlen == 0) {
		if (!t->tcap) {
			t->text = malloc(4096);
			if (!t->text)
				return 0;
			t->tcap = 4096;
		}
		t->text[0] = '\0';
		t->tlen = 1;
	}
	if (!*s)
		return 0;
	if (t->tlen + len > t->tcap) {
		size_t cap = t->tcap * 2;
		char *p;

		while (cap < t->tlen + len)
			cap *= 2;
		if (cap > UINT32_MAX || !(p = realloc(t->text, cap)))
			return 0;
		t->text = p;
		t->tcap = cap;
	}
	off = t->tlen;
	memcpy(t->text + off, s, len);
	t->tlen += len;
	return off;
}

struct tui_row *tui_table_add_row(struct tui_table *t, const char *ident)
{
	struct tui_row *r;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 256;
		struct tui_row *rows = realloc(t->rows, cap * sizeof(*rows));
		size_t *order = realloc(t->order, cap * sizeof(*order));

		if (rows)
			t->rows = rows;
		if (order)
			t->order = order;
		if (!rows || !order)
			return NULL;
		t->cap = cap;
	}
	r = &t->rows[t->nrows++];
	memset(r, 0, sizeof(*r));
	r->ident = table_text(t, ident);
	return r;
}

void tui_table_set(struct tui_table *t, struct tui_row *r, int col,
		   const char *text, double key, enum tui_hl hl)
{
	if (col < 0 || col >= t->ncols)
		return;
	r->cell[col] = table_text(t, text ? text : "");
	r->key[col] = key;
	r->hl[col] = hl;
}

const char *tui_table_cell(const struct tui_table *t, const struct tui_row *r, int col)
{
	return t->text && col >= 0 && col < t->ncols ? t->text + r->cell[col] : "";
}

const char *tui_table_ident(const struct tui_table *t, const struct tui_row *r)
{
	return t->text ? t->text + r->ident : "";
}

const struct tui_row *tui_model_row(const struct tui_model *m, size_t i)
{
	return i < m->table.norder ? &m->table.rows[m->table.order[i]] : NULL;
}

/* ---- filter and sort ------------------------------------------------------ */

static bool row_matches(const struct tui_table *t, const struct tui_row *r,
			const char *filter)
{
	if (!*filter)
		return true;
	for (int c = 0; c < t->ncols; c++)
		if (strcasestr(tui_table_cell(t, r, c), filter))
			return true;
	return false;
}

struct sort_ctx {
	const struct tui_table *t;
	int col;
	bool desc;
	bool numeric;
};

static int cmp_rows(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *s = arg;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	const struct tui_row *ra = &s->t->rows[ia], *rb = &s->t->rows[ib];
	int c;

	if (s->numeric)
		c = ra->key[s->col] < rb->key[s->col] ? -1 : ra->key[s->col] > rb->key[s->col];
	else
		c = strcasecmp(tui_table_cell(s->t, ra, s->col),
			       tui_table_cell(s->t, rb, s->col));
	if (s->desc)
		c = -c;
	/* Ties keep the order the rows were built in, reversed when sorting
	 * down: the correlator lists least recently active first, and among
	 * equals the latest belongs on top. */
	if (c)
		return c;
	return s->desc ? (ia < ib) - (ia > ib) : (ia > ib) - (ia < ib);
}

static void reorder(struct tui_model *m)
{
	struct tui_table *t = &m->table;
	struct tui_viewstate *vs = &m->vs[m->view];
	struct sort_ctx s = { t, vs->sort_col, vs->sort_desc, false };

	t->norder = 0;
	for (size_t i = 0; i < t->nrows; i++)
		if (row_matches(t, &t->rows[i], m->filter))
			t->order[t->norder++] = i;
	if (s.col < 0 || s.col >= t->ncols || t->norder < 2)
		return;
	s.numeric = t->cols[s.col].numeric;
	qsort_r(t->order, t->norder, sizeof(*t->order), cmp_rows, &s);
}

/* ---- selection ----------------------------------------------------------- */

static void remember_selection(struct tui_model *m)
{
	struct tui_viewstate *vs = &m->vs[m->view];
	const struct tui_row *r = tui_model_row(m, vs->sel);

	snprintf(vs->sel_ident, sizeof(vs->sel_ident), "%s",
		 r ? tui_table_ident(&m->table, r) : "");
}

static void clamp_scroll(struct tui_model *m)
{
	struct tui_viewstate *vs = &m->vs[m->view];
	size_t rows = m->body_rows > 0 ? (size_t)m->body_rows : 1;

	if (vs->sel >= m->table.norder)
		vs->sel = m->table.norder ? m->table.norder - 1 : 0;
	if (vs->sel < vs->top)
		vs->top = vs->sel;
	if (vs->sel >= vs->top + rows)
		vs->top = vs->sel - rows + 1;
	if (m->table.norder <= rows)
		vs->top = 0;
	else if (vs->top > m->table.norder - rows)
		vs->top = m->table.norder - rows;
}

/* After the rows changed, find the selected row again by identity. The
 * first row of the message tail stays first, so the tail keeps following
 * the newest message. */
static void restore_selection(struct tui_model *m, bool follow_top)
{
	struct tui_viewstate *vs = &m->vs[m->view];

	if (!(follow_top && vs->sel == 0) && vs->sel_ident[0]) {
		for (size_t i = 0; i < m->table.norder; i++) {
			long top;

			if (strcmp(tui_table_ident(&m->table, tui_model_row(m, i)),
				   vs->sel_ident))
				continue;
			/* keep the row at the same place on screen */
			top = (long)vs->top + (long)i - (long)vs->sel;
			vs->top = top < 0 ? 0 : top;
			vs->sel = i;
			break;
		}
	}
	clamp_scroll(m);
	remember_selection(m);
}

static void rebuild(struct tui_model *m)
{
	int n, col;
	bool desc;
	const struct tui_col *cols = tui_text_columns(m->view, &n, &col, &desc);

	tui_table_reset(&m->table, m->view, cols, n);
	tui_text_build_rows(m, &m->table);
}

void tui_model_refresh(struct tui_model *m, bool force)
{
	if (m->paused && !force)
		return;
	rebuild(m);
	reorder(m);
	restore_selection(m, m->view == TV_MESSAGES);
	if (m->details.open)
		tui_text_build_details(m);
}

void tui_model_set_view(struct tui_model *m, enum tui_view v)
{
	if (v < 0 || v >= TV__COUNT)
		return;
	m->view = v;
	m->details.open = false;
	rebuild(m);
	reorder(m);
	/* A tail left while it followed the newest message follows it again:
	 * looking its old first row up would park it on a stale message. */
	restore_selection(m, v == TV_MESSAGES);
}

void tui_model_set_filter(struct tui_model *m, const char *text)
{
	snprintf(m->filter, sizeof(m->filter), "%s", text ? text : "");
	reorder(m);
	restore_selection(m, m->view == TV_MESSAGES);
}

void tui_model_sort_by(struct tui_model *m, int col)
{
	struct tui_viewstate *vs = &m->vs[m->view];

	if (m->table.ncols <= 0)
		return;
	if (col < 0)
		col = 0;
	if (col >= m->table.ncols)
		col = m->table.ncols - 1;
	if (col == vs->sort_col) {
		vs->sort_desc = !vs->sort_desc;
	} else {
		vs->sort_col = col;
		/* numbers: biggest first, the way top sorts; text: A to Z */
		vs->sort_desc = m->table.cols[col].numeric;
	}
	reorder(m);
	restore_selection(m, false);
}

void tui_model_sort_step(struct tui_model *m, int delta)
{
	int n = m->table.ncols;
	int col;

	if (n <= 0)
		return;
	col = ((m->vs[m->view].sort_col + delta) % n + n) % n;
	m->vs[m->view].sort_col = -1;  /* a new column, never a reversal */
	tui_model_sort_by(m, col);
}

void tui_model_sort_reverse(struct tui_model *m)
{
	tui_model_sort_by(m, m->vs[m->view].sort_col);
}

void tui_model_move(struct tui_model *m, long delta)
{
	struct tui_viewstate *vs = &m->vs[m->view];
	size_t n = m->table.norder;

	if (!n)
		return;
	if (delta == LONG_MIN)
		vs->sel = 0;
	else if (delta == LONG_MAX)
		vs->sel = n - 1;
	else if (delta < 0)
		vs->sel = (size_t)-delta > vs->sel ? 0 : vs->sel + delta;
	else
		vs->sel = vs->sel + delta >= n ? n - 1 : vs->sel + delta;
	clamp_scroll(m);
	remember_selection(m);
}

void tui_model_set_paused(struct tui_model *m, bool paused)
{
	m->paused = paused;
	if (!paused) {
		m->self.held_back = 0;
		tui_model_refresh(m, true);
	}
}

/* ---- details ------------------------------------------------------------ */

void tui_model_open_details(struct tui_model *m)
{
	const struct tui_row *r = tui_model_row(m, m->vs[m->view].sel);

	if (!r)
		return;
	m->details.open = true;
	m->details.view = m->view;
	m->details.scroll = 0;
	snprintf(m->details.ident, sizeof(m->details.ident), "%s",
		 tui_table_ident(&m->table, r));
	tui_text_build_details(m);
}

void tui_model_close_details(struct tui_model *m)
{
	m->details.open = false;
}

void tui_model_scroll_details(struct tui_model *m, long delta)
{
	struct tui_details *d = &m->details;
	long max = d->n - (m->body_rows > 0 ? m->body_rows : 1);
	long pos;

	if (max < 0)
		max = 0;
	if (delta == LONG_MIN)
		pos = 0;
	else if (delta == LONG_MAX)
		pos = max;
	else
		pos = (long)d->scroll + delta;
	d->scroll = pos < 0 ? 0 : pos > max ? max : pos;
}

void tui_model_set_status(struct tui_model *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->status, sizeof(m->status), fmt, ap);
	va_end(ap);
}

/* ---- names -------------------------------------------------------------- */

static const char *const view_names[TV__COUNT] = {
	[TV_FLOWS] = "Flows", [TV_MESSAGES] = "Messages",
	[TV_COMPONENTS] = "Components", [TV_SUBJECTS] = "Subjects",
};

const char *tui_view_name(enum tui_view v)
{
	return v >= 0 && v < TV__COUNT ? view_names[v] : "?";
}

int tui_view_parse(const char *s)
{
	for (int v = 0; v < TV__COUNT; v++) {
		char num[12];

		snprintf(num, sizeof(num), "%d", v + 1);
		if (!strcasecmp(s, view_names[v]) || !strcmp(s, num))
			return v;
	}
	return -1;
}
