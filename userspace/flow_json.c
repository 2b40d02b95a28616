// SPDX-License-Identifier: MIT
/* flow_json.c — flow events as JSON lines and as a text table. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "flow_json.h"

#define LABEL_MAX 40    /* columns wider than this are cut */
#define SUBJECT_MAX 60

static void set_str(json_t *o, const char *key, const char *v)
{
	if (v && *v)
		json_object_set_new(o, key, json_string(v));
}

static void set_u64(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

json_t *flow_endpoint_json(const struct endpoint_info *ep, bool with_host)
{
	json_t *o;

	if (!ep)
		return json_null();
	o = json_object();
	if (!o)
		return NULL;
	if (ep->pid)
		set_u64(o, "pid", ep->pid);
	set_str(o, "comm", ep->comm);
	set_str(o, "name", ep->name);
	set_str(o, "addr", ep->addr);
	if (with_host) {
		set_str(o, "exe", ep->exe);
		set_str(o, "cgroup", ep->cgroup);
	}
	return o;
}

json_t *flow_counters_json(const struct corr_counters *k)
{
	json_t *o = json_object();

	set_u64(o, "publications", k->publications);
	set_u64(o, "deliveries", k->deliveries);
	set_u64(o, "exchanges", k->exchanges);
	set_u64(o, "timeouts", k->timeouts);
	set_u64(o, "orphan_deliveries", k->orphan_deliveries);
	set_u64(o, "learned_subs", k->learned_subs);
	set_u64(o, "settled", k->settled);
	set_u64(o, "late", k->late);
	set_u64(o, "evicted", k->evicted_pubs + k->evicted_requests +
		k->evicted_http + k->evicted_conns + k->overflow_reorder);
	return o;
}

json_t *flow_component_json(const struct corr_component *k)
{
	json_t *o;

	if (!k)
		return json_null();
	o = flow_endpoint_json(&k->info, true);
	if (o)
		set_str(o, "key", k->key);
	return o;
}

/* ---- exchange and delivery lines: one per message, so written straight
 * into the line buffer (jansson's objects cost a malloc per key) ---- */

/* Like set_str: absent when empty, and when not UTF-8 (jansson refuses it). */
/* q, qn: the member name, as JW_KEY gives it. */
static void put_str(struct jw *w, const char *q, size_t qn, const char *v)
{
	size_t n = v ? strlen(v) : 0;

	if (n && utf8_valid(v, n)) {
		jw_key_quoted(w, q, qn);
		jw_string_n(w, v, n);
	}
}

static void put_u64(struct jw *w, const char *q, size_t qn, uint64_t v)
{
	jw_key_quoted(w, q, qn);
	jw_uint(w, v);
}

/* The fields of flow_endpoint_json(ep, false), inside an open object. */
static void endpoint_fields(struct jw *w, const struct endpoint_info *ep)
{
	if (ep->pid)
		put_u64(w, JW_KEY("pid"), ep->pid);
	put_str(w, JW_KEY("comm"), ep->comm);
	put_str(w, JW_KEY("name"), ep->name);
	put_str(w, JW_KEY("addr"), ep->addr);
}

/* Equal as rendered: the strings up to their NUL. What follows a NUL is
 * left over (the correlator clears only first bytes), so equal structs
 * are the same endpoint but the same endpoint need not be equal structs. */
static bool same_endpoint(struct endpoint_info *cached, const struct endpoint_info *ep)
{
	if (ep->key && cached->key == ep->key)
		return true; /* the correlator says so */
	if (!memcmp(cached, ep, sizeof(*ep)))
		return true;
	if (cached->pid != ep->pid || strcmp(cached->addr, ep->addr) ||
	    strcmp(cached->comm, ep->comm) || strcmp(cached->name, ep->name) ||
	    strcmp(cached->lang, ep->lang) || strcmp(cached->version, ep->version) ||
	    strcmp(cached->exe, ep->exe) || strcmp(cached->cgroup, ep->cgroup))
		return false;
	*cached = *ep; /* the next one with these leftovers is a memcmp */
	return true;
}

/* The slot of an endpoint: by its key, given out in sequence (the ends
 * of one line were built together: they do not collide), else by its pid
 * and the last 8 bytes of its address, where the port is (loopback
 * addresses share their first bytes). */
static size_t endpoint_slot(const struct endpoint_info *ep)
{
	size_t len;
	uint64_t tail = 0;

	if (ep->key)
		return ep->key % FLOW_JSON_CACHE_SLOTS;
	len = strnlen(ep->addr, sizeof(ep->addr));
	if (len >= 8)
		memcpy(&tail, ep->addr + len - 8, 8);
	else
		memcpy(&tail, ep->addr, len);
	return (size_t)(((ep->pid * 0x100000001b3ULL) ^ tail) * 0x9E3779B97F4A7C15ULL >> 59) %
	       FLOW_JSON_CACHE_SLOTS;
}

/* endpoint_fields() from the cache: rendered into a scratch object once,
 * its text after the '{' kept (it starts with the first member, no comma). */
static void endpoint_fields_cached(struct jw *w, const struct endpoint_info *ep,
				   struct flow_json_cache *cache)
{
	struct flow_json_endpoint *s;
	struct jw tmp;

	if (!cache) {
		endpoint_fields(w, ep);
		return;
	}
	s = &cache->slot[endpoint_slot(ep)];
	if (!s->valid || !same_endpoint(&s->ep, ep)) {
		jw_init(&tmp);
		jw_object_begin(&tmp);
		endpoint_fields(&tmp, ep);
		s->valid = !tmp.oom && tmp.len - 1 <= sizeof(s->json);
		if (s->valid) {
			s->ep = *ep;
			s->len = tmp.len - 1;
			memcpy(s->json, tmp.buf + 1, s->len);
		}
		jw_free(&tmp);
		if (!s->valid) {
			endpoint_fields(w, ep);
			return;
		}
	}
	if (s->len) {
		jw_put(w, s->json, s->len);
		w->first[w->depth] = false;
	}
}

static void put_endpoint(struct jw *w, const char *q, size_t qn,
			 const struct endpoint_info *ep,
			 struct flow_json_cache *cache)
{
	jw_key_quoted(w, q, qn);
	if (!ep) {
		jw_null(w);
		return;
	}
	jw_object_begin(w);
	endpoint_fields_cached(w, ep, cache);
	jw_object_end(w);
}

static void exchange_write(struct jw *w, const struct flow_exchange *x,
			   struct flow_json_cache *cache)
{
	jw_key_lit(w, "proto");
	jw_string(w, corr_proto_name(x->proto));
	if (x->proto == PROTO_NATS) {
		put_str(w, JW_KEY("subject"), x->subject);
		put_str(w, JW_KEY("reply"), x->reply);
	} else {
		put_str(w, JW_KEY("method"), x->method);
		put_str(w, JW_KEY("path"), x->path);
		put_str(w, JW_KEY("endpoint"), x->endpoint);
	}
	if (x->status) {
		jw_key_lit(w, "status");
		jw_int(w, x->status);
	}
	jw_key_lit(w, "answered");
	jw_bool(w, x->answered);
	if (x->answered)
		put_u64(w, JW_KEY("latency_ns"), x->latency_ns);
	if (x->error) {
		const char *why = x->error_reason ? x->error_reason : "error";

		put_str(w, JW_KEY("error"), utf8_valid(why, strlen(why)) ? why : "error");
	}
	put_u64(w, JW_KEY("request_size"), x->request_bytes);
	if (x->answered)
		put_u64(w, JW_KEY("response_size"), x->response_bytes);
	put_endpoint(w, JW_KEY("client"), x->client, cache);
	put_endpoint(w, JW_KEY("server"), x->server, cache);
}

static void delivery_write(struct jw *w, uint64_t ts, const struct flow_delivery *d,
			   struct flow_json_cache *cache)
{
	jw_key_lit(w, "proto");
	jw_string_lit(w, "nats");
	put_str(w, JW_KEY("subject"), d->subject);
	put_str(w, JW_KEY("reply"), d->reply);
	put_u64(w, JW_KEY("size"), d->size);
	if (d->header_size)
		put_u64(w, JW_KEY("header_size"), d->header_size);
	put_endpoint(w, JW_KEY("from"), d->from, cache);
	if (d->server)
		put_endpoint(w, JW_KEY("server"), d->server, cache);
	jw_key_lit(w, "to");
	jw_array_begin(w);
	for (size_t i = 0; i < d->n_to; i++) {
		const struct flow_receiver *r = &d->to[i];

		jw_object_begin(w);
		endpoint_fields_cached(w, r->ep, cache);
		put_str(w, JW_KEY("sid"), r->sid);
		put_str(w, JW_KEY("queue"), r->queue);
		if (d->from)
			put_u64(w, JW_KEY("latency_ns"), r->ts_ns > ts ? r->ts_ns - ts : 0);
		jw_object_end(w);
	}
	jw_array_end(w);
	jw_key_lit(w, "complete");
	jw_bool(w, d->complete);
}

static json_t *summary_json(json_t *o, const struct flow_summary *f)
{
	const struct corr_edge *e = f->edge;
	const struct corr_stats *s = &f->stats;

	json_object_set_new(o, "final", json_boolean(f->final));
	set_u64(o, "start", f->start_ns);
	if (!f->final)
		set_u64(o, "interval_ns", f->interval_ns);
	json_object_set_new(o, "proto", json_string(corr_proto_name(e->proto)));
	json_object_set_new(o, "kind", json_string(corr_kind_name(e->kind)));
	json_object_set_new(o, "from", flow_component_json(e->from));
	json_object_set_new(o, "to", flow_component_json(e->to));
	if (e->kind == FLOW_KIND_ERR) {
		set_str(o, "error", e->subject);
	} else if (e->proto == PROTO_HTTP) {
		set_str(o, "method", e->method);
		set_str(o, "endpoint", e->subject);
	} else {
		set_str(o, "subject", e->subject);
	}
	set_u64(o, "count", s->count);
	set_u64(o, "bytes", s->bytes);
	set_u64(o, "errors", s->errors);
	json_object_set_new(o, "rate", json_real(s->rate));
	if (s->samples) {
		set_u64(o, "p50_ns", s->p50_ns);
		set_u64(o, "p90_ns", s->p90_ns);
		set_u64(o, "p99_ns", s->p99_ns);
		set_u64(o, "max_ns", s->max_ns);
	}
	set_u64(o, "first_ts", e->first_ts);
	set_u64(o, "last_ts", e->last_ts);
	return o;
}

static const char *const event_types[] = {
	[FLOW_EV_EXCHANGE] = "exchange",
	[FLOW_EV_DELIVERY] = "delivery",
	[FLOW_EV_FLOW] = "flow",
};

json_t *flow_event_json(const struct flow_event *ev)
{
	struct jw w;
	json_t *o = NULL;

	if (ev->type == FLOW_EV_FLOW) {
		o = json_object();
		if (!o)
			return NULL;
		json_object_set_new(o, "type", json_string(event_types[ev->type]));
		set_u64(o, "ts", ev->ts_ns);
		return summary_json(o, &ev->flow);
	}
	jw_init(&w);
	if (flow_event_write(&w, ev) && !w.oom)
		o = json_loadb(w.buf, w.len, 0, NULL);
	jw_free(&w);
	return o;
}

bool flow_event_write(struct jw *w, const struct flow_event *ev)
{
	return flow_event_write_cached(w, ev, NULL);
}

bool flow_event_write_cached(struct jw *w, const struct flow_event *ev,
			     struct flow_json_cache *cache)
{
	if (ev->type < FLOW_EV_EXCHANGE || ev->type > FLOW_EV_FLOW)
		return false;
	if (ev->type == FLOW_EV_FLOW) {
		json_t *o = flow_event_json(ev);
		char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

		json_decref(o);
		if (!text)
			return false;
		jw_raw(w, text, strlen(text));
		free(text);
		return true;
	}
	jw_object_begin(w);
	jw_key_lit(w, "type");
	jw_string(w, event_types[ev->type]);
	put_u64(w, JW_KEY("ts"), ev->ts_ns);
	if (ev->type == FLOW_EV_EXCHANGE)
		exchange_write(w, &ev->exchange, cache);
	else
		delivery_write(w, ev->ts_ns, &ev->delivery, cache);
	jw_object_end(w);
	return true;
}

/* ---- text table ---- */

const char *flow_format_ns(char *buf, size_t n, uint64_t ns, bool none)
{
	static const struct { uint64_t div; const char *unit; } units[] = {
		{ 1000000000ULL, "s" }, { 1000000ULL, "ms" }, { 1000ULL, "us" },
	};

	if (none) {
		snprintf(buf, n, "-");
		return buf;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		double v = (double)ns / (double)units[i].div;

		if (ns < units[i].div)
			continue;
		/* three significant digits */
		snprintf(buf, n, v >= 100 ? "%.0f%s" : v >= 10 ? "%.1f%s" : "%.2f%s",
			 v, units[i].unit);
		return buf;
	}
	snprintf(buf, n, "%" PRIu64 "ns", ns);
	return buf;
}

enum col { C_PROTO, C_KIND, C_FROM, C_TO, C_SUBJ, C_COUNT, C_BYTES, C_ERR,
	   C_P50, C_P90, C_P99, C_MAX, C__N };

static const char *const headers[C__N] = {
	"PROTO", "KIND", "FROM", "TO", "SUBJECT/ENDPOINT", "COUNT", "BYTES",
	"ERRORS", "P50", "P90", "P99", "MAX",
};

#define CELL 128

struct row {
	char cell[C__N][CELL];
};

/* Cut s to max display columns, marking the cut with "~" (ASCII on
 * purpose: widths stay byte counts). */
static void put_cell(char *dst, const char *s, size_t max)
{
	size_t n = strlen(s);

	if (max >= CELL)
		max = CELL - 1;
	if (n <= max) {
		memcpy(dst, s, n + 1);
		return;
	}
	memcpy(dst, s, max - 1);
	dst[max - 1] = '~';
	dst[max] = '\0';
}

static void fill_row(const struct correlator *c, const struct corr_edge *e,
		     struct row *r)
{
	char buf[256];
	struct corr_stats s;
	bool none;

	corr_edge_stats(c, e, CORR_TOTAL, &s);
	none = s.samples == 0;
	put_cell(r->cell[C_PROTO], corr_proto_name(e->proto), 8);
	put_cell(r->cell[C_KIND], corr_kind_name(e->kind), 8);
	corr_component_label(e->from, buf, sizeof(buf));
	put_cell(r->cell[C_FROM], buf, LABEL_MAX);
	if (e->to || e->kind != FLOW_KIND_MSG)
		corr_component_label(e->to, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "(none)");
	put_cell(r->cell[C_TO], buf, LABEL_MAX);
	if (e->method)
		snprintf(buf, sizeof(buf), "%s %s", e->method, e->subject);
	else
		snprintf(buf, sizeof(buf), "%s", e->subject);
	put_cell(r->cell[C_SUBJ], buf, SUBJECT_MAX);
	snprintf(r->cell[C_COUNT], CELL, "%" PRIu64, s.count);
	snprintf(r->cell[C_BYTES], CELL, "%" PRIu64, s.bytes);
	snprintf(r->cell[C_ERR], CELL, "%" PRIu64, s.errors);
	flow_format_ns(r->cell[C_P50], CELL, s.p50_ns, none);
	flow_format_ns(r->cell[C_P90], CELL, s.p90_ns, none);
	flow_format_ns(r->cell[C_P99], CELL, s.p99_ns, none);
	flow_format_ns(r->cell[C_MAX], CELL, s.max_ns, none);
}

static bool right_aligned(int col)
{
	return col >= C_COUNT;
}

static void print_row(FILE *out, char cells[C__N][CELL], const size_t *w)
{
	for (int i = 0; i < C__N; i++) {
		const char *sep = i + 1 < C__N ? "  " : "\n";

		if (i + 1 == C__N && !right_aligned(i))
			fprintf(out, "%s%s", cells[i], sep);
		else if (right_aligned(i))
			fprintf(out, "%*s%s", (int)w[i], cells[i], sep);
		else
			fprintf(out, "%-*s%s", (int)w[i], cells[i], sep);
	}
}

int flow_table_print(FILE *out, const struct correlator *c)
{
	const struct corr_edge **edges = NULL;
	struct row *rows = NULL, head;
	size_t n, w[C__N];
	int rc = -1;

	n = corr_sorted_edges(c, NULL, 0);
	if (n) {
		edges = calloc(n, sizeof(*edges));
		rows = calloc(n, sizeof(*rows));
		if (!edges || !rows)
			goto cleanup;
		n = corr_sorted_edges(c, edges, n);
	}
	for (int i = 0; i < C__N; i++) {
		snprintf(head.cell[i], CELL, "%s", headers[i]);
		w[i] = strlen(headers[i]);
	}
	for (size_t r = 0; r < n; r++) {
		fill_row(c, edges[r], &rows[r]);
		for (int i = 0; i < C__N; i++)
			if (strlen(rows[r].cell[i]) > w[i])
				w[i] = strlen(rows[r].cell[i]);
	}
	print_row(out, head.cell, w);
	for (size_t r = 0; r < n; r++)
		print_row(out, rows[r].cell, w);
	rc = ferror(out) ? -1 : 0;
cleanup:
	free(edges);
	free(rows);
	return rc;
}
