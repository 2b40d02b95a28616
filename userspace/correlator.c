// SPDX-License-Identifier: MIT
/*
 * correlator.c — records in, flow events out (see correlator.h for the
 * model). Sections: containers; observations and the reorder buffer;
 * components; logical connections; subscription registry; edges and
 * subjects; NATS publications, deliveries and requests; HTTP exchanges;
 * time (expiry, intervals); public API.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getline, open_memstream, strdup */
#endif
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "correlator.h"
#include "latency_hist.h"
#include "path_template.h"
#include "subject_match.h"

#define NS_PER_SEC 1000000000ULL
#define COMP_KEY_LEN 160
#define SUBJECT_TPL_LEN 512
#define ERR_TEXT_LEN 96
/* Payload bytes a pending publication keeps to tell identical-looking
 * messages apart; the subject table keeps cfg.payload_keep of the last. */
#define PUB_MATCH_BYTES 64
/* Leading payload bytes that go into a publication's hash key: most
 * streams of messages on one subject differ early (ids, timestamps), and
 * without them every publication on a busy subject shared one hash chain,
 * which each match walked (O(pending) per message, the bench's hot spot). */
#define PUB_KEY_BYTES 16

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* ------------------------------------------------------------------ */
/* Pools: fixed-size blocks for what comes and goes once per message   */
/* ------------------------------------------------------------------ */

/*
 * Observations, publications and deliveries are made and freed by the
 * hundred thousand a second; malloc and free of each were a tenth of the
 * correlator's time. Most fit one block of their pool's size and go back
 * on its free list (at most max_free kept, 4096: a few MiB at most, what
 * a busy second reuses); bigger ones are malloc'd, and the object says
 * which it was.
 */
struct pool_block {
	struct pool_block *next;
};

struct pool {
	size_t size;             /* block bytes */
	size_t max_free;
	size_t nfree;
	struct pool_block *free;
};

static void pool_init(struct pool *p, size_t size, size_t max_free)
{
	p->size = size;
	p->max_free = max_free;
	p->nfree = 0;
	p->free = NULL;
}

/* need bytes, of which the first `zero` zeroed (the rest the caller
 * writes); *pooled says whether pool_put() may keep it. */
static void *pool_get(struct pool *p, size_t need, size_t zero, bool *pooled)
{
	void *b;

	*pooled = need <= p->size;
	if (!*pooled)
		return calloc(1, need);
	if (!p->free)
		return calloc(1, p->size);
	b = p->free;
	p->free = p->free->next;
	p->nfree--;
	memset(b, 0, zero);
	return b;
}

static void pool_put(struct pool *p, void *b, bool pooled)
{
	struct pool_block *blk = b;

	if (!b)
		return;
	if (!pooled || p->nfree >= p->max_free) {
		free(b);
		return;
	}
	blk->next = p->free;
	p->free = blk;
	p->nfree++;
}

static void pool_fini(struct pool *p)
{
	while (p->free) {
		struct pool_block *b = p->free;

		p->free = b->next;
		free(b);
	}
	p->nfree = 0;
}

/* ------------------------------------------------------------------ */
/* Containers: intrusive circular list, chained hash table             */
/* ------------------------------------------------------------------ */

struct list {
	struct list *prev, *next;
};

static void list_init(struct list *l)
{
	l->prev = l->next = l;
}

static bool list_empty(const struct list *l)
{
	return l->next == l;
}

static void list_del(struct list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_init(n);
}

static void list_add_tail(struct list *head, struct list *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static void list_move_tail(struct list *head, struct list *n)
{
	list_del(n);
	list_add_tail(head, n);
}

struct hnode {
	struct hnode *next;
	struct hnode **pprev; /* what points at us: O(1) removal from long
			       * chains of identical content */
	uint64_t hash;
};

/*
 * Same-content pending publications a match looks at, newest first. Only a
 * flood of identical messages that stay pending (a receiver not traced, or
 * events dropped) has more: walking them all made every message cost
 * O(pending). Beyond the window the oldest identical ones are not matched
 * (they time out as incomplete), counted in match_window.
 */
#define MATCH_WINDOW 256
#define SHORT_VISIT 64

struct htab {
	struct hnode **slots;
	size_t nslots; /* power of two */
	size_t n;
};

static int htab_init(struct htab *t)
{
	t->nslots = 16;
	t->n = 0;
	t->slots = calloc(t->nslots, sizeof(*t->slots));
	return t->slots ? 0 : -1;
}

static void htab_fini(struct htab *t)
{
	free(t->slots);
	t->slots = NULL;
	t->nslots = t->n = 0;
}

static struct hnode *htab_chain(const struct htab *t, uint64_t hash)
{
	return t->slots[hash & (t->nslots - 1)];
}

static void htab_grow(struct htab *t)
{
	size_t nn = t->nslots * 2;
	struct hnode **ns = calloc(nn, sizeof(*ns));

	if (!ns)
		return; /* longer chains are slower, not wrong */
	for (size_t i = 0; i < t->nslots; i++) {
		struct hnode *n = t->slots[i], *next;

		for (; n; n = next) {
			struct hnode **slot = &ns[n->hash & (nn - 1)];

			next = n->next;
			n->next = *slot;
			if (*slot)
				(*slot)->pprev = &n->next;
			n->pprev = slot;
			*slot = n;
		}
	}
	free(t->slots);
	t->slots = ns;
	t->nslots = nn;
}

static void htab_add(struct htab *t, struct hnode *n, uint64_t hash)
{
	struct hnode **slot;

	/* half empty: every node a lookup walks past is a pending publication
	 * or delivery that has mostly left the cache, so chains stay short
	 * (the compare of n->hash was most of the matching time at 100k
	 * msgs/s) for 8 bytes a slot */
	if (t->n >= t->nslots / 2)
		htab_grow(t);
	n->hash = hash;
	slot = &t->slots[hash & (t->nslots - 1)];
	n->next = *slot;
	if (*slot)
		(*slot)->pprev = &n->next;
	n->pprev = slot;
	*slot = n;
	t->n++;
}

static void htab_del(struct htab *t, struct hnode *n)
{
	if (!n->pprev)
		return; /* not in a table */
	*n->pprev = n->next;
	if (n->next)
		n->next->pprev = n->pprev;
	n->next = NULL;
	n->pprev = NULL;
	t->n--;
}

#define HASH_INIT 0xcbf29ce484222325ULL

/*
 * Eight bytes per step: a byte-wise FNV-1a over every subject, address and
 * payload key was a tenth of the correlator's time. Each word is folded in
 * with a multiply and an xorshift, so the low bits the tables index by
 * depend on every input bit; the tail carries its length in its top byte,
 * so inputs that differ only in length differ. Equality is always checked
 * after the hash.
 */
static uint64_t mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9E3779B97F4A7C15ULL;
	return h ^ (h >> 32);
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t v = 0;

	for (; n >= 8; n -= 8, s += 8) {
		memcpy(&v, s, 8);
		h = mix(h, v);
	}
	v = 0;
	memcpy(&v, s, n);
	return mix(h, v ^ (uint64_t)n << 56);
}

/* The length goes in too, so that ("ab","c") and ("a","bc") differ. */
static uint64_t hash_str(uint64_t h, const char *s)
{
	return hash_bytes(h, s ? s : "", strlen(s ? s : ""));
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

/* Bounded copy, always terminated (snprintf was the hot spot here). */
static void copy_str(char *dst, size_t n, const char *src)
{
	size_t l = src ? strnlen(src, n - 1) : 0;

	memcpy(dst, nz(src), l);
	dst[l] = '\0';
}

static char *dup_str(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* ------------------------------------------------------------------ */
/* Types                                                               */
/* ------------------------------------------------------------------ */

enum side { SIDE_CLIENT = 0, SIDE_SERVER = 1 };
#define SBIT(s) ((uint8_t)(1u << (s)))

struct lconn;

/*
 * What the records of one socket share: its process and normalised
 * addresses, and the logical connection it belongs to, by end. Every
 * observation points at one (referenced) instead of normalising and copying
 * two addresses, and finding its logical connection is not a hash of two
 * address strings per record.
 */
struct sock_view {
	struct hnode h;             /* c->socks, by conn id */
	struct list lru;            /* c->sock_lru, least recently used first */
	unsigned refs;              /* the table's own + observations */
	bool in_table;
	struct conn_meta meta;      /* as received: another meta, another view */
	char comm[COMM_LEN];        /* terminated */
	char local[ADDR_STRLEN], peer[ADDR_STRLEN]; /* normalised */
	struct lconn *lc[2];        /* by end, referenced; NULL: look it up */
};

/* One record, copied: the unit of the reorder buffer. */
struct obs {
	uint64_t ts, seq;
	enum proto proto;
	enum direction dir;
	bool peer_read;             /* record.h: the other end read it too */
	struct sock_view *sv;       /* referenced */
	bool pooled;                /* a block of c->obs_pool */
	/* NATS */
	enum nats_op op;
	const char *subject, *reply, *sid, *queue, *text;
	uint64_t subj_h;            /* hash_str(HASH_INIT, subject), once */
	int64_t max_msgs;
	uint64_t size, hdr_size;
	const unsigned char *payload;
	size_t payload_len;
	/* HTTP */
	enum http_kind kind;
	const char *method, *path;
	uint64_t body_size;
	int status; /* HTTP status, NATS header status */
	char data[];
};

struct comp {
	struct hnode h;
	struct list all;
	struct corr_component pub;
	uint64_t cur_in, cur_out;
	uint64_t gen;           /* pub.info changed: ends rebuild their info */
	char key[COMP_KEY_LEN];
};

struct end {
	uint32_t pid;
	char comm[COMM_LEN];
	bool tried;         /* resolver asked ... */
	uint64_t tried_ts;  /* ... at this time */
	struct comp *comp;  /* cache; NULL: recompute */
	/* What events show of this end, built once (end_info): each delivery
	 * line names three ends, and building and comparing 580-byte structs
	 * per line was a twentieth of msgscope's time at 100k msgs/s. Only
	 * the ENDPOINT_CACHE ends used last keep one (10000 connections with
	 * one each were 12 MiB); the others give theirs up. */
	struct endpoint_info *info;
	struct list info_lru;  /* c->info_lru while info is set */
	uint64_t info_epoch;   /* c->epoch when last handed out */
	bool info_ok;          /* until end_forget() */
	uint64_t info_gen;     /* comp->gen it was built at */
};

struct lconn {
	struct hnode h;
	struct correlator *corr; /* for its ends' endpoint objects */
	struct list lru;        /* least recently seen first */
	uint64_t id;
	unsigned refs;          /* the table's own + pending units */
	bool dead;
	enum proto proto;
	char addr[2][ADDR_STRLEN];
	uint8_t observed;       /* ends records were taken at */
	struct end end[2];
	uint64_t last_ts;
	/* NATS */
	char name[CORR_NAME_LEN];
	char lang[CORR_LANG_LEN];
	char version[CORR_VERSION_LEN];
	char server_name[CORR_NAME_LEN];
	bool registry_known;    /* CONNECT seen and every SUB since kept */
	bool no_echo;
	uint64_t connect_ts;
	uint8_t connect_sides;
	struct htab subs;       /* sid -> struct sub */
	struct sub *last_sub;   /* the one sub_find() found last: a MSG's
				 * sid is looked up at each of its sights */
	uint64_t err_hash, err_ts;
	uint8_t err_sides;
	/* Publications and deliveries on this connection seen from one end
	 * only, oldest first, queued by the end yet to see them: both ends
	 * read one byte stream, so an end's next sight is nearly always the
	 * front of its queue, found without hashing (pub_wait_front). */
	struct list pub_wait[2], dlv_wait[2];
	/* HTTP */
	struct list http_q;     /* struct hx, oldest first */
	size_t http_n;
};

struct sub {
	struct hnode by_sid;
	struct hnode by_subject; /* literal filters, in c->lit_subs */
	struct list wild;        /* wildcard filters, in c->wild_subs */
	struct lconn *lc;
	bool wildcard;
	/* Learned from a MSG on a connection whose SUBs predate the trace:
	 * its filter is unknown, the subject it got stands in for it until
	 * the sid gets another one (vague: it expects nothing any more). */
	bool learned, vague;
	int64_t max;
	uint64_t delivered;
	char *sid, *subject, *queue;
	char data[];
};

struct pub;

struct delivery {
	struct hnode h;     /* c->dlvs, by (publication, connection, sid) */
	struct list wait;   /* lc->dlv_wait[the end yet to see it] */
	struct pub *pub;
	struct lconn *lc;   /* referenced */
	struct comp *to;
	char *queue;
	uint8_t sides;
	bool full;          /* seen from every observed end of lc */
	bool pooled;
	uint64_t first_ts;
	char sid[];
};

/* A subscription that should receive a publication: (conn, sid), or one
 * member of a queue group. */
struct expect {
	uint64_t lc_id;
	char *sid;    /* NULL for a queue group; sid_buf when it fits */
	char *queue;
	bool met;     /* a delivery satisfies it */
	bool sid_inline; /* sid is sid_buf: repoint after the entry moves */
	char sid_buf[14];
};

/* Most publications have a subscriber or two: their arrays start inline. */
#define PUB_INLINE 2

struct request;

struct pub {
	struct hnode h;       /* c->pubs by content key, or c->short_pubs by
			       * class when its payload is shorter than the
			       * key bytes (cut by the snaplen) */
	struct hnode hc;      /* c->pub_class: every pub, by class, once a
			       * short capture needed it (class_index) */
	struct list age;      /* c->pub_age */
	struct list settle;   /* c->pub_settle until settle_ns after first_ts */
	struct list wait;     /* lc->pub_wait[the end yet to see it] */
	bool settle_due;      /* past that: may go out incomplete */
	uint64_t seq, first_ts;
	struct lconn *lc;     /* publisher's connection, referenced; NULL: not seen */
	struct comp *from;
	uint8_t sides;
	bool is_request, is_reply, exp_known;
	int status;
	uint64_t size, hdr_size;
	char *subject, *reply;
	uint64_t subj_h;      /* hash_str(HASH_INIT, subject) */
	char *tpl;            /* subject template, computed once */
	uint64_t tpl_h;       /* hash_str(HASH_INIT, tpl): subject and edge
			       * tables are looked up by it at each delivery */
	unsigned char *payload;
	size_t payload_len;
	struct request *req;
	/* counters make the completeness test O(1) however wide the fan-out */
	struct delivery **dlv;  /* dlv_inline, or malloc'd when it grew */
	size_t n_dlv, cap_dlv, n_full;
	struct expect *exp;   /* sorted: (conn, sid) entries, then queue groups */
	size_t n_exp, cap_exp, n_met, n_exp_sid;
	struct delivery *dlv_inline[PUB_INLINE];
	struct expect exp_inline[PUB_INLINE];
	bool pooled;
	/* a PUB could still be another sight of it that no wait queue front
	 * will show: its publisher not seen yet, or left its queue unseen */
	bool off_queue;
	char data[];
};

struct request {
	struct hnode h;       /* c->reqs, by reply subject */
	struct list age;
	uint64_t first_ts;
	uint64_t size;
	struct lconn *lc;     /* requester, referenced; NULL: not seen */
	struct pub *pub;      /* while pending */
	struct comp *receiver;/* the receiver, when there was exactly one */
	struct lconn *receiver_lc; /* its connection, referenced */
	unsigned n_receivers;
	unsigned replies;
	char *subject, *reply;
	char data[];
};

struct hx {
	struct list q;        /* lc->http_q */
	struct list age;      /* c->hx_age while not expired */
	bool in_age;
	struct lconn *lc;     /* hx never outlives its connection */
	uint64_t req_ts, resp_ts;
	uint8_t req_sides, resp_sides;
	bool answered, timed_out;
	int status;
	uint64_t req_size, resp_size;
	char *method, *path;
	char data[];
};

struct edge_stats {
	uint64_t count, bytes, errors;
	struct latency_hist *lat; /* allocated on the first sample */
};

struct edge {
	struct hnode h;
	struct list lru;
	struct corr_edge pub;
	struct edge_stats total, cur, last;
	char data[];
};

struct subj {
	struct hnode h;
	struct list lru;
	struct corr_subject pub;
	uint64_t cur_msgs;
	char *last_subject;
	unsigned char *payload;   /* payload_keep bytes */
	char data[];
};

struct reorder_ent;

struct reorder {
	struct reorder_ent *ring;
	size_t cap, head, n; /* cap: a power of two */
};

struct correlator {
	struct corr_config cfg;
	size_t obs_keep;          /* payload bytes an observation carries */
	struct corr_counters ctr;
	uint64_t obs_seq, pub_seq, conn_seq, endpoint_seq;
	struct list info_lru;     /* ends holding an endpoint, least recent first */
	size_t ninfos;
	uint64_t epoch;           /* events emitted: what the current one holds */
	uint64_t latest;          /* newest timestamp fed */
	uint64_t clock;           /* processed up to */
	uint64_t interval_start;
	uint64_t start_ts;        /* first record processed */
	bool started, finished;
	struct reorder reorder;
	struct htab conns;
	struct list conn_lru;
	size_t nconns;
	size_t unknown_registry;  /* NATS conns without a complete registry */
	struct htab comps;
	struct list comp_list;
	size_t ncomps;
	struct comp *other;
	struct htab lit_subs;
	struct list wild_subs;
	size_t nsubs;
	struct htab socks;
	struct list sock_lru;
	size_t nsocks;
	struct pool obs_pool, pub_pool, dlv_pool;
	struct htab pubs, short_pubs, pub_class;
	bool class_indexed;       /* pub_class holds every pending pub */
	struct list pub_age, pub_settle;
	size_t npubs;
	size_t npubs_off_queue;   /* pubs with off_queue */
	struct htab dlvs;
	struct htab reqs;
	struct list req_age;
	size_t nreqs;
	struct list hx_age;
	size_t nhx;
	struct htab edges;
	struct list edge_lru;
	size_t nedges;
	struct htab subjs;
	struct list subj_lru;
	size_t nsubjs;
};

static void emit(struct correlator *c, const struct flow_event *ev)
{
	if (c->cfg.emit)
		c->cfg.emit(ev, c->cfg.emit_ctx);
	c->epoch++; /* its endpoints may be given to other ends now */
}

/* ------------------------------------------------------------------ */
/* Observations and the reorder buffer                                 */
/* ------------------------------------------------------------------ */

static size_t slice_need(struct slice s)
{
	return (s.ptr ? s.len : 0) + 1;
}

static const char *put_slice(char **w, struct slice s)
{
	char *p = *w;
	size_t n = s.ptr ? s.len : 0;

	if (n)
		memcpy(p, s.ptr, n);
	p[n] = '\0';
	*w += n + 1;
	return p;
}

/* "[::ffff:1.2.3.4]:80" -> "1.2.3.4:80": one spelling per address, whichever
 * socket family each end used. Empty -> a per-connection placeholder so that
 * unrelated connections without addresses never merge. */
static void addr_norm(char *dst, const char *src, uint64_t conn, char tag)
{
	static const char mapped[] = "[::ffff:";
	size_t ml = sizeof(mapped) - 1;

	if (!src || !*src) {
		snprintf(dst, ADDR_STRLEN, "#%" PRIu64 "%c", conn, tag);
		return;
	}
	if (src[0] == '[' && strncasecmp(src, mapped, ml) == 0 &&
	    strchr(src + ml, '.')) {
		const char *close = strchr(src + ml, ']');

		if (close && close[1] == ':') {
			snprintf(dst, ADDR_STRLEN, "%.*s%s", (int)(close - src - ml),
				 src + ml, close + 1);
			return;
		}
	}
	copy_str(dst, ADDR_STRLEN, src);
}

/* "NATS/1.0 503 No Responders\r\n..." -> 503 */
static int nats_header_status(struct slice h)
{
	/* NULL + 0 is undefined behaviour (UBSan, fuzz_trace_reader) */
	const char *p = h.ptr, *end = h.ptr ? h.ptr + h.len : NULL;
	int v = 0;

	if (!p || h.len < 9 || memcmp(p, "NATS/", 5) != 0)
		return 0;
	while (p < end && *p != ' ' && *p != '\r' && *p != '\n')
		p++;
	while (p < end && *p == ' ')
		p++;
	while (p < end && *p >= '0' && *p <= '9' && v < 1000)
		v = v * 10 + (*p++ - '0');
	return v;
}

static bool nats_has_text(enum nats_op op)
{
	return op == NATS_INFO || op == NATS_CONNECT || op == NATS_ERR;
}

static bool nats_has_payload(enum nats_op op)
{
	return op == NATS_PUB || op == NATS_HPUB || op == NATS_MSG ||
	       op == NATS_HMSG;
}

static struct sock_view *sock_view_get(struct correlator *c,
				       const struct conn_meta *m);
static void sock_view_unref(struct sock_view *v);

static struct obs *obs_alloc(struct correlator *c, size_t size)
{
	bool pooled;
	struct obs *o = pool_get(&c->obs_pool, size, sizeof(*o), &pooled);

	if (o)
		o->pooled = pooled;
	return o;
}

static void obs_release(struct correlator *c, struct obs *o)
{
	sock_view_unref(o->sv);
	pool_put(&c->obs_pool, o, o->pooled);
}

static struct obs *obs_new(struct correlator *c, const struct msg_record *r)
{
	const struct nats_msg *n = &r->nats;
	const struct http_msg *hm = &r->http;
	size_t need = 0, keep = 0;
	struct sock_view *sv;
	struct obs *o;
	char *w;

	if (r->proto == PROTO_NATS) {
		need = slice_need(n->subject) + slice_need(n->reply) +
		       slice_need(n->sid) + slice_need(n->queue) +
		       (nats_has_text(n->op) ? slice_need(n->json) : 1);
		/* a MSG needs its payload only to be matched, unless it turns
		 * out to be the first sight of a publication (the subject
		 * table then shows less of it) */
		if (nats_has_payload(n->op) && n->payload.ptr) {
			keep = n->op == NATS_PUB || n->op == NATS_HPUB ?
			       c->obs_keep : PUB_MATCH_BYTES;
			if (n->payload.len < keep)
				keep = n->payload.len;
		}
	} else {
		need = slice_need(hm->method) + slice_need(hm->path);
	}
	sv = sock_view_get(c, r->conn);
	if (!sv)
		return NULL;
	o = obs_alloc(c, sizeof(*o) + need + keep);
	if (!o) {
		sock_view_unref(sv);
		return NULL;
	}
	o->ts = r->ts_ns;
	o->seq = ++c->obs_seq;
	o->proto = r->proto;
	o->dir = r->dir;
	o->peer_read = r->peer_read;
	o->sv = sv;
	w = o->data;
	if (r->proto == PROTO_NATS) {
		o->op = n->op;
		o->subject = put_slice(&w, n->subject);
		/* printable_line() lets no NUL into a control line: the
		 * slice's length is the string's */
		o->subj_h = hash_bytes(HASH_INIT, o->subject,
				       n->subject.ptr ? n->subject.len : 0);
		o->reply = put_slice(&w, n->reply);
		o->sid = put_slice(&w, n->sid);
		o->queue = put_slice(&w, n->queue);
		o->text = put_slice(&w, nats_has_text(n->op) ? n->json : SLICE_NULL);
		o->max_msgs = n->max_msgs;
		o->size = n->size;
		o->hdr_size = n->header_size;
		if (n->op == NATS_HPUB || n->op == NATS_HMSG)
			o->status = nats_header_status(n->headers);
		if (keep)
			memcpy(w, n->payload.ptr, keep);
		o->payload = (const unsigned char *)w;
		o->payload_len = keep;
	} else {
		o->kind = hm->kind;
		o->method = put_slice(&w, hm->method);
		o->path = put_slice(&w, hm->path);
		o->status = hm->status;
		o->body_size = hm->body_size;
	}
	return o;
}

/*
 * The reorder buffer: observations by (ts, seq), oldest first, in a ring.
 * Records arrive almost in order (one ring buffer, per-CPU stragglers a few
 * microseconds late), so an insert looks back a step or two from the newest
 * and a pop takes the front: O(1) where a binary heap paid log n cache
 * misses each way. The sort key sits next to the pointer.
 */
struct reorder_ent {
	uint64_t ts, seq;
	struct obs *o;
};

static bool ent_before(const struct reorder_ent *a, const struct reorder_ent *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

static struct reorder_ent *reorder_at(const struct reorder *r, size_t i)
{
	return &r->ring[(r->head + i) & (r->cap - 1)];
}

static int reorder_grow(struct reorder *r)
{
	size_t nc = r->cap ? r->cap * 2 : 64;
	struct reorder_ent *nr = malloc(nc * sizeof(*nr));

	if (!nr)
		return -1;
	for (size_t i = 0; i < r->n; i++)
		nr[i] = *reorder_at(r, i);
	free(r->ring);
	r->ring = nr;
	r->cap = nc;
	r->head = 0;
	return 0;
}

static int reorder_push(struct reorder *r, struct obs *o)
{
	struct reorder_ent e = { o->ts, o->seq, o };
	size_t i;

	if (r->n == r->cap && reorder_grow(r))
		return -1;
	for (i = r->n; i && ent_before(&e, reorder_at(r, i - 1)); i--)
		*reorder_at(r, i) = *reorder_at(r, i - 1);
	*reorder_at(r, i) = e;
	r->n++;
	return 0;
}

static const struct reorder_ent *reorder_front(const struct reorder *r)
{
	return r->n ? reorder_at(r, 0) : NULL;
}

static struct obs *reorder_pop(struct reorder *r)
{
	struct obs *o = reorder_at(r, 0)->o;

	r->head = (r->head + 1) & (r->cap - 1);
	r->n--;
	return o;
}

/* Which end of the connection was the record taken at? The protocol says
 * who sent each message; the record says whether this process sent it. */
static int obs_side(const struct obs *o)
{
	int sender = -1;

	if (o->proto == PROTO_HTTP) {
		sender = o->kind == HTTP_REQUEST ? SIDE_CLIENT : SIDE_SERVER;
	} else {
		switch (o->op) {
		case NATS_CONNECT: case NATS_PUB: case NATS_HPUB:
		case NATS_SUB: case NATS_UNSUB:
			sender = SIDE_CLIENT;
			break;
		case NATS_INFO: case NATS_MSG: case NATS_HMSG:
		case NATS_OK: case NATS_ERR:
			sender = SIDE_SERVER;
			break;
		default:
			break;
		}
	}
	if (sender < 0) {
		if (o->sv->meta.role == ROLE_CLIENT)
			return SIDE_CLIENT;
		if (o->sv->meta.role == ROLE_SERVER)
			return SIDE_SERVER;
		return -1;
	}
	return o->dir == DIR_SEND ? sender : !sender;
}

/* ------------------------------------------------------------------ */
/* Components                                                          */
/* ------------------------------------------------------------------ */

static void info_merge(struct endpoint_info *dst, const struct endpoint_info *src)
{
	if (src->name[0])
		memcpy(dst->name, src->name, sizeof(dst->name));
	if (src->lang[0])
		memcpy(dst->lang, src->lang, sizeof(dst->lang));
	if (src->version[0])
		memcpy(dst->version, src->version, sizeof(dst->version));
	if (!dst->addr[0] && src->addr[0])
		memcpy(dst->addr, src->addr, sizeof(dst->addr));
	if (!dst->exe[0] && src->exe[0])
		memcpy(dst->exe, src->exe, sizeof(dst->exe));
	if (!dst->cgroup[0] && src->cgroup[0])
		memcpy(dst->cgroup, src->cgroup, sizeof(dst->cgroup));
}

static struct comp *comp_alloc(struct correlator *c, const char *key,
			       const struct endpoint_info *info, bool local)
{
	struct comp *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	copy_str(k->key, sizeof(k->key), key);
	k->pub.key = k->key;
	k->pub.info = *info;
	k->pub.local = local;
	k->pub.first_ts = k->pub.last_ts = c->clock;
	list_add_tail(&c->comp_list, &k->all);
	return k;
}

static struct comp *comp_other(struct correlator *c)
{
	struct endpoint_info none;

	if (!c->other) {
		memset(&none, 0, sizeof(none));
		c->other = comp_alloc(c, "(other)", &none, false);
	}
	return c->other;
}

static struct comp *comp_get(struct correlator *c, const char *key,
			     const struct endpoint_info *info, bool local)
{
	uint64_t h = hash_str(HASH_INIT, key);
	struct comp *k;

	for (struct hnode *n = htab_chain(&c->comps, h); n; n = n->next) {
		k = container_of(n, struct comp, h);
		if (n->hash == h && strcmp(k->key, key) == 0) {
			info_merge(&k->pub.info, info);
			k->gen++;
			return k;
		}
	}
	if (c->ncomps >= c->cfg.max_components) {
		c->ctr.overflow_components++;
		return comp_other(c);
	}
	k = comp_alloc(c, key, info, local);
	if (!k)
		return comp_other(c);
	if (local && c->cfg.describe_pid) {
		struct endpoint_info d;

		memset(&d, 0, sizeof(d));
		if (c->cfg.describe_pid(info->pid, &d, c->cfg.resolve_ctx)) {
			if (!k->pub.info.comm[0])
				memcpy(k->pub.info.comm, d.comm, sizeof(d.comm));
			info_merge(&k->pub.info, &d);
		}
	}
	htab_add(&c->comps, &k->h, h);
	c->ncomps++;
	return k;
}

static void comp_touch(struct correlator *c, struct comp *k)
{
	if (k && c->clock > k->pub.last_ts)
		k->pub.last_ts = c->clock;
}

static void comp_out(struct correlator *c, struct comp *k, uint64_t bytes)
{
	if (!k)
		return;
	k->pub.msgs_out++;
	k->pub.bytes_out += bytes;
	k->cur_out++;
	comp_touch(c, k);
}

static void comp_in(struct correlator *c, struct comp *k, uint64_t bytes)
{
	if (!k)
		return;
	k->pub.msgs_in++;
	k->pub.bytes_in += bytes;
	k->cur_in++;
	comp_touch(c, k);
}

static void comp_error(struct comp *k)
{
	if (k)
		k->pub.errors++;
}

/* "10.0.0.7:4222" -> "10.0.0.7", "[fe80::1]:80" -> "[fe80::1]" */
static void addr_ip(const char *addr, char *out, size_t n)
{
	const char *colon = strrchr(addr, ':');

	if (colon && colon != addr && (addr[0] != '[' || colon[-1] == ']'))
		snprintf(out, n, "%.*s", (int)(colon - addr), addr);
	else
		copy_str(out, n, addr);
}

static struct comp *comp_for_end(struct correlator *c, struct lconn *lc,
				 int side)
{
	const struct end *e = &lc->end[side];
	struct endpoint_info info;
	char key[COMP_KEY_LEN], ip[ADDR_STRLEN];

	memset(&info, 0, sizeof(info));
	if (e->pid) {
		info.pid = e->pid;
		memcpy(info.comm, e->comm, sizeof(info.comm));
		snprintf(key, sizeof(key), "pid:%u:%s", e->pid, e->comm);
		/* a process is best named by the address it serves on */
		if (side == SIDE_SERVER)
			copy_str(info.addr, sizeof(info.addr), lc->addr[side]);
	} else if (side == SIDE_SERVER) {
		snprintf(key, sizeof(key), "addr:%s", lc->addr[side]);
		copy_str(info.addr, sizeof(info.addr), lc->addr[side]);
	} else {
		addr_ip(lc->addr[side], ip, sizeof(ip));
		if (lc->name[0])
			snprintf(key, sizeof(key), "ip:%s/%s", ip, lc->name);
		else
			snprintf(key, sizeof(key), "ip:%s", ip);
		copy_str(info.addr, sizeof(info.addr), ip);
	}
	if (side == SIDE_CLIENT) {
		memcpy(info.name, lc->name, sizeof(info.name));
		memcpy(info.lang, lc->lang, sizeof(info.lang));
		memcpy(info.version, lc->version, sizeof(info.version));
	} else {
		memcpy(info.name, lc->server_name, sizeof(info.name));
	}
	return comp_get(c, key, &info, e->pid != 0);
}

/* The end's process or names changed: its component and info are to be
 * found again. */
static void end_forget(struct end *e)
{
	e->comp = NULL;
	e->info_ok = false;
}

static bool end_may_resolve(const struct correlator *c, const struct end *e)
{
	return !e->pid && c->cfg.resolve_addr &&
	       (!e->tried || c->clock >= e->tried_ts + NS_PER_SEC);
}

/* The component at one end of a connection: the process when it is known
 * (own record, or the resolver for a local peer), else the remote address. */
static struct comp *end_comp(struct correlator *c, struct lconn *lc, int side)
{
	struct end *e = &lc->end[side];

	if (end_may_resolve(c, e)) {
		struct endpoint_info info;

		memset(&info, 0, sizeof(info));
		e->tried = true;
		e->tried_ts = c->clock;
		if (c->cfg.resolve_addr(lc->addr[side], &info,
					c->cfg.resolve_ctx) && info.pid) {
			e->pid = info.pid;
			memcpy(e->comm, info.comm, sizeof(e->comm));
			end_forget(e);
		}
	}
	if (!e->comp)
		e->comp = comp_for_end(c, lc, side);
	return e->comp;
}

#define ENDPOINT_CACHE 512

/* Give end e an endpoint object: the one of the end used least recently
 * when ENDPOINT_CACHE ends have one, unless that one is in the event
 * being built (it was handed out since the last emit()). */
static bool end_take_info(struct correlator *c, struct end *e)
{
	struct end *old = list_empty(&c->info_lru) ? NULL :
			  container_of(c->info_lru.next, struct end, info_lru);

	if (c->ninfos >= ENDPOINT_CACHE && old && old->info_epoch != c->epoch) {
		e->info = old->info;
		old->info = NULL;
		old->info_ok = false;
		list_del(&old->info_lru);
	} else {
		e->info = malloc(sizeof(*e->info));
		if (!e->info)
			return false;
		c->ninfos++;
	}
	list_add_tail(&c->info_lru, &e->info_lru);
	e->info_epoch = c->epoch;
	e->info_ok = false;
	return true;
}

/* The connection is going: its ends' endpoint objects go back. */
static void lconn_drop_info(struct correlator *c, struct lconn *lc)
{
	for (int side = 0; side < 2; side++) {
		struct end *e = &lc->end[side];

		if (!e->info)
			continue;
		list_del(&e->info_lru);
		free(e->info);
		e->info = NULL;
		e->info_ok = false;
		c->ninfos--;
	}
}

/* The endpoint object of one connection end, for events: built when the
 * end or its component changed, else the one built before. Its key tells
 * writers that cache rendered endpoints (flow_json) that it is the same. */
static const struct endpoint_info *end_info(struct correlator *c,
					    struct lconn *lc, int side)
{
	struct comp *k = end_comp(c, lc, side);
	struct end *e = &lc->end[side];
	static const struct endpoint_info none; /* out of memory */
	struct endpoint_info *out;

	if (!c->cfg.emit)
		return &none; /* no event is read (top): the component was the point */
	if (e->info) {
		list_move_tail(&c->info_lru, &e->info_lru);
		e->info_epoch = c->epoch;
		if (e->info_ok && e->info_gen == (k ? k->gen : 0))
			return e->info;
	} else if (!end_take_info(c, e)) {
		return &none;
	}
	out = e->info;
	memset(out, 0, sizeof(*out));
	if (k && k != c->other) {
		const struct endpoint_info *i = &k->pub.info;

		out->pid = i->pid;
		copy_str(out->comm, sizeof(out->comm), i->comm);
		copy_str(out->name, sizeof(out->name), i->name);
		copy_str(out->lang, sizeof(out->lang), i->lang);
		copy_str(out->version, sizeof(out->version), i->version);
		copy_str(out->exe, sizeof(out->exe), i->exe);
		copy_str(out->cgroup, sizeof(out->cgroup), i->cgroup);
	}
	copy_str(out->addr, sizeof(out->addr), lc->addr[side]);
	if (side == SIDE_CLIENT && lc->name[0]) {
		memcpy(out->name, lc->name, sizeof(out->name));
		memcpy(out->lang, lc->lang, sizeof(out->lang));
		memcpy(out->version, lc->version, sizeof(out->version));
	} else if (side == SIDE_SERVER && lc->server_name[0]) {
		memcpy(out->name, lc->server_name, sizeof(out->name));
	}
	out->key = ++c->endpoint_seq;
	e->info_ok = true;
	e->info_gen = k ? k->gen : 0;
	return out;
}

/* ------------------------------------------------------------------ */
/* Logical connections                                                 */
/* ------------------------------------------------------------------ */

static uint64_t lconn_hash(const char *client, const char *server)
{
	return hash_str(hash_str(HASH_INIT, client), server);
}

static struct lconn *lconn_find(const struct correlator *c, const char *client,
				const char *server)
{
	uint64_t h = lconn_hash(client, server);

	for (struct hnode *n = htab_chain(&c->conns, h); n; n = n->next) {
		struct lconn *lc = container_of(n, struct lconn, h);

		if (n->hash == h && !strcmp(lc->addr[SIDE_CLIENT], client) &&
		    !strcmp(lc->addr[SIDE_SERVER], server))
			return lc;
	}
	return NULL;
}

static struct lconn *lconn_ref(struct lconn *lc)
{
	if (lc)
		lc->refs++;
	return lc;
}

static void lconn_drop_info(struct correlator *c, struct lconn *lc);

static void lconn_unref(struct lconn *lc)
{
	if (!lc || --lc->refs)
		return;
	htab_fini(&lc->subs);
	lconn_drop_info(lc->corr, lc); /* taken again after lconn_kill */
	free(lc);
}

static void sub_remove(struct correlator *c, struct sub *s);
static void hx_free(struct correlator *c, struct hx *hx);

static void registry_clear(struct correlator *c, struct lconn *lc)
{
	for (size_t i = 0; i < lc->subs.nslots; i++)
		while (lc->subs.slots[i])
			sub_remove(c, container_of(lc->subs.slots[i],
						   struct sub, by_sid));
}

static void registry_lost(struct correlator *c, struct lconn *lc)
{
	if (lc->proto == PROTO_NATS && lc->registry_known) {
		lc->registry_known = false;
		c->unknown_registry++;
	}
}

/* Forget a connection: its subscriptions and HTTP queue go now, the memory
 * when the last pending unit that refers to it is done. */
static void lconn_kill(struct correlator *c, struct lconn *lc)
{
	htab_del(&c->conns, &lc->h);
	list_del(&lc->lru);
	c->nconns--;
	registry_clear(c, lc);
	if (lc->proto == PROTO_NATS && !lc->registry_known)
		c->unknown_registry--;
	lc->registry_known = true; /* counted out */
	while (!list_empty(&lc->http_q)) {
		struct hx *hx = container_of(lc->http_q.next, struct hx, q);

		if (!hx->answered)
			c->ctr.evicted_http++;
		hx_free(c, hx);
	}
	lc->dead = true;
	lconn_drop_info(c, lc);
	lconn_unref(lc);
}

static struct lconn *lconn_new(struct correlator *c, const char *client,
			       const char *server, enum proto proto)
{
	struct lconn *lc;

	if (c->nconns >= c->cfg.max_conns && !list_empty(&c->conn_lru)) {
		lconn_kill(c, container_of(c->conn_lru.next, struct lconn, lru));
		c->ctr.evicted_conns++;
	}
	lc = calloc(1, sizeof(*lc));
	if (!lc)
		return NULL;
	if (htab_init(&lc->subs)) {
		free(lc);
		return NULL;
	}
	lc->id = ++c->conn_seq;
	lc->corr = c;
	lc->refs = 1;
	lc->proto = proto;
	copy_str(lc->addr[SIDE_CLIENT], ADDR_STRLEN, client);
	copy_str(lc->addr[SIDE_SERVER], ADDR_STRLEN, server);
	list_init(&lc->http_q);
	for (int side = 0; side < 2; side++) {
		list_init(&lc->pub_wait[side]);
		list_init(&lc->dlv_wait[side]);
	}
	list_add_tail(&c->conn_lru, &lc->lru);
	htab_add(&c->conns, &lc->h, lconn_hash(client, server));
	c->nconns++;
	if (proto == PROTO_NATS)
		c->unknown_registry++; /* until its CONNECT is seen */
	else
		lc->registry_known = true;
	return lc;
}

static void lconn_touch(struct correlator *c, struct lconn *lc, uint64_t ts)
{
	if (ts > lc->last_ts)
		lc->last_ts = ts;
	list_move_tail(&c->conn_lru, &lc->lru);
}

/* The logical connection of an observation taken at `side`: the one its
 * socket was last found in, unless that one has been forgotten since. */
static struct lconn *lconn_get(struct correlator *c, const struct obs *o,
			       int side)
{
	struct sock_view *sv = o->sv;
	struct lconn *lc = sv->lc[side];
	struct end *e;

	if (!lc || lc->dead) {
		const char *client = side == SIDE_CLIENT ? sv->local : sv->peer;
		const char *server = side == SIDE_CLIENT ? sv->peer : sv->local;

		lconn_unref(lc);
		sv->lc[side] = NULL;
		lc = lconn_find(c, client, server);
		if (!lc)
			lc = lconn_new(c, client, server, o->proto);
		if (!lc)
			return NULL;
		sv->lc[side] = lconn_ref(lc);
	}
	lc->observed |= SBIT(side);
	e = &lc->end[side];
	/* both zero-padded (a calloc'd view, copied whole): a fixed-size
	 * compare the compiler inlines */
	if (e->pid != sv->meta.pid || memcmp(e->comm, sv->comm, COMM_LEN)) {
		e->pid = sv->meta.pid;
		memcpy(e->comm, sv->comm, sizeof(e->comm));
		end_forget(e);
	}
	lconn_touch(c, lc, o->ts);
	return lc;
}

/* ------------------------------------------------------------------ */
/* Socket views                                                        */
/* ------------------------------------------------------------------ */

static void sock_view_unref(struct sock_view *v)
{
	if (!v || --v->refs)
		return;
	lconn_unref(v->lc[0]);
	lconn_unref(v->lc[1]);
	free(v);
}

/* Out of the table; observations that hold it keep it alive. */
static void sock_view_drop(struct correlator *c, struct sock_view *v)
{
	htab_del(&c->socks, &v->h);
	list_del(&v->lru);
	v->in_table = false;
	c->nsocks--;
	sock_view_unref(v);
}

/* The view of m, referenced for the caller; NULL when out of memory. A
 * socket whose meta changed (a replayed trace updates pid or comm) gets a
 * new view: the old one lives on in the observations that have it. */
static struct sock_view *sock_view_get(struct correlator *c,
				       const struct conn_meta *m)
{
	uint64_t h = hash_bytes(HASH_INIT, &m->id, sizeof(m->id));
	struct sock_view *v;

	for (struct hnode *n = htab_chain(&c->socks, h); n; n = n->next) {
		v = container_of(n, struct sock_view, h);
		if (v->meta.id != m->id)
			continue;
		if (!memcmp(&v->meta, m, sizeof(*m))) {
			list_move_tail(&c->sock_lru, &v->lru);
			v->refs++;
			return v;
		}
		sock_view_drop(c, v);
		break;
	}
	if (c->nsocks >= 2 * c->cfg.max_conns)
		sock_view_drop(c, container_of(c->sock_lru.next, struct sock_view, lru));
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->meta = *m;
	copy_str(v->comm, sizeof(v->comm), m->comm);
	addr_norm(v->local, m->local, m->id, 'L');
	addr_norm(v->peer, m->peer, m->id, 'P');
	v->refs = 2;
	v->in_table = true;
	htab_add(&c->socks, &v->h, h);
	list_add_tail(&c->sock_lru, &v->lru);
	c->nsocks++;
	return v;
}

/* ------------------------------------------------------------------ */
/* Subscription registry                                               */
/* ------------------------------------------------------------------ */

static struct sub *sub_find(struct lconn *lc, const char *sid)
{
	uint64_t h;

	if (lc->last_sub && strcmp(lc->last_sub->sid, sid) == 0)
		return lc->last_sub;
	h = hash_str(HASH_INIT, sid);
	for (struct hnode *n = htab_chain(&lc->subs, h); n; n = n->next) {
		struct sub *s = container_of(n, struct sub, by_sid);

		if (n->hash == h && strcmp(s->sid, sid) == 0)
			return lc->last_sub = s;
	}
	return NULL;
}

static void sub_remove(struct correlator *c, struct sub *s)
{
	if (s->lc->last_sub == s)
		s->lc->last_sub = NULL;
	htab_del(&s->lc->subs, &s->by_sid);
	if (s->wildcard)
		list_del(&s->wild);
	else if (!s->vague)
		htab_del(&c->lit_subs, &s->by_subject);
	c->nsubs--;
	free(s);
}

static struct sub *sub_insert(struct correlator *c, struct lconn *lc,
			      const char *sid, const char *subject,
			      const char *queue)
{
	size_t ls = strlen(sid), lj = strlen(subject), lq = strlen(queue);
	struct sub *s = calloc(1, sizeof(*s) + ls + lj + lq + 3);

	if (!s)
		return NULL;
	s->lc = lc;
	s->max = -1;
	s->sid = memcpy(s->data, sid, ls + 1);
	s->subject = memcpy(s->data + ls + 1, subject, lj + 1);
	if (lq)
		s->queue = memcpy(s->data + ls + lj + 2, queue, lq + 1);
	s->wildcard = subject_has_wildcard(s->subject, lj);
	htab_add(&lc->subs, &s->by_sid, hash_str(HASH_INIT, s->sid));
	if (s->wildcard)
		list_add_tail(&c->wild_subs, &s->wild);
	else
		htab_add(&c->lit_subs, &s->by_subject,
			 hash_str(HASH_INIT, s->subject));
	c->nsubs++;
	return s;
}

static void sub_add(struct correlator *c, struct lconn *lc, const struct obs *o)
{
	struct sub *s;

	if (!o->sid[0] || !o->subject[0])
		return;
	s = sub_find(lc, o->sid);
	if (s) {
		/* the other end's view of the same SUB: nothing new */
		if (!s->learned && !strcmp(s->subject, o->subject) &&
		    !strcmp(nz(s->queue), o->queue))
			return;
		sub_remove(c, s);
	}
	if (c->nsubs >= c->cfg.max_subs) {
		c->ctr.overflow_subs++;
		registry_lost(c, lc);
		return;
	}
	if (!sub_insert(c, lc, o->sid, o->subject, o->queue)) {
		registry_lost(c, lc);
		return;
	}
	/* so that corr_foreach_subscription finds it under its component
	 * before anything is delivered */
	end_comp(c, lc, SIDE_CLIENT);
}

/*
 * A MSG for a sid we have no SUB for, on a connection whose registry is
 * unknown (it predates the trace): the subscription exists, and the
 * subject it just got is the best guess of its filter, so publications on
 * that subject wait for it as for a known one. Once the sid gets a second
 * subject the filter is a wildcard we cannot write down: it stays vague,
 * expecting nothing. Returns the sid's subscription, if any.
 */
static struct sub *sub_learn(struct correlator *c, struct lconn *lc,
			     struct sub *s, const struct obs *o)
{
	if (!s) {
		if (c->nsubs >= c->cfg.max_subs)
			return NULL;
		s = sub_insert(c, lc, o->sid, o->subject, "");
		if (s) {
			s->learned = true;
			c->ctr.learned_subs++;
		}
		return s;
	}
	if (s->learned && !s->vague && strcmp(s->subject, o->subject)) {
		htab_del(&c->lit_subs, &s->by_subject);
		s->vague = true;
	}
	return s;
}

static void sub_unsub(struct correlator *c, struct lconn *lc,
		      const struct obs *o)
{
	struct sub *s = sub_find(lc, o->sid);

	if (!s)
		return; /* already gone: the other end's view of it */
	if (o->max_msgs < 0) {
		sub_remove(c, s);
		return;
	}
	s->max = o->max_msgs;
	if (s->delivered >= (uint64_t)s->max)
		sub_remove(c, s);
}

/* A new CONNECT starts a session with no subscriptions; the other end's
 * view of the same CONNECT changes nothing. */
static void connect_obs(struct correlator *c, struct lconn *lc, int side,
			const struct obs *o)
{
	json_t *j, *v;

	if (lc->connect_sides && !(lc->connect_sides & SBIT(side)) &&
	    o->ts <= lc->connect_ts + c->cfg.timeout_ns) {
		lc->connect_sides |= SBIT(side);
		return;
	}
	registry_clear(c, lc);
	if (lc->proto == PROTO_NATS && !lc->registry_known) {
		lc->registry_known = true;
		c->unknown_registry--;
	}
	lc->connect_ts = o->ts;
	lc->connect_sides = SBIT(side);
	lc->no_echo = false;
	j = json_loads(o->text, 0, NULL);
	if (j) {
		copy_str(lc->name, sizeof(lc->name),
			 json_string_value(json_object_get(j, "name")));
		copy_str(lc->lang, sizeof(lc->lang),
			 json_string_value(json_object_get(j, "lang")));
		copy_str(lc->version, sizeof(lc->version),
			 json_string_value(json_object_get(j, "version")));
		v = json_object_get(j, "echo");
		lc->no_echo = json_is_false(v);
		json_decref(j);
	}
	end_forget(&lc->end[SIDE_CLIENT]); /* the name may change its key */
}

static void info_obs(struct lconn *lc, const struct obs *o)
{
	json_t *j = json_loads(o->text, 0, NULL);
	const char *name;

	if (!j)
		return;
	name = json_string_value(json_object_get(j, "server_name"));
	if (!name)
		name = json_string_value(json_object_get(j, "server_id"));
	if (name && strcmp(name, lc->server_name) != 0) {
		copy_str(lc->server_name, sizeof(lc->server_name), name);
		end_forget(&lc->end[SIDE_SERVER]);
	}
	json_decref(j);
}

/* ------------------------------------------------------------------ */
/* Edges and subjects                                                  */
/* ------------------------------------------------------------------ */

/* NATS subject -> template for aggregation: id-like tokens become "*", so
 * that _INBOX.<nuid>.<n> or $JS.ACK.<...>.<seq> do not make one edge each. */
static const char *subject_tpl(const char *s, char *buf, size_t n)
{
	size_t w = 0;
	const char *t = s;

	for (;;) {
		const char *dot = strchr(t, '.');
		size_t len = dot ? (size_t)(dot - t) : strlen(t);
		const char *src = t;

		if (pt_token_is_id(t, len)) {
			src = "*";
			len = 1;
		}
		if (w + len + 2 > n)
			break;
		memcpy(buf + w, src, len);
		w += len;
		if (!dot)
			break;
		buf[w++] = '.';
		t = dot + 1;
	}
	buf[w] = '\0';
	return buf;
}

/* subject_h: hash_str(HASH_INIT, subject), which callers often have */
static uint64_t edge_hash(enum proto p, enum flow_kind k, const void *from,
			  const void *to, uint64_t subject_h, const char *method)
{
	uintptr_t key[3] = { (uintptr_t)from, (uintptr_t)to,
			     (uintptr_t)p << 8 | (uintptr_t)k };
	uint64_t h = hash_bytes(subject_h, key, sizeof(key));

	/* NULL and "" are one method (edge_get compares with nz) */
	return method && *method ? hash_str(h, method) : h;
}

static void stats_free(struct edge_stats *s)
{
	free(s->lat);
	s->lat = NULL;
}

static void edge_free(struct correlator *c, struct edge *e)
{
	htab_del(&c->edges, &e->h);
	list_del(&e->lru);
	stats_free(&e->total);
	stats_free(&e->cur);
	stats_free(&e->last);
	c->nedges--;
	free(e);
}

static struct edge *edge_get(struct correlator *c, enum proto p,
			     enum flow_kind k, struct comp *from,
			     struct comp *to, const char *subject,
			     uint64_t subject_h, const char *method)
{
	const struct corr_component *fp = from ? &from->pub : NULL;
	const struct corr_component *tp = to ? &to->pub : NULL;
	uint64_t h = edge_hash(p, k, fp, tp, subject_h, method);
	size_t ls, lm;
	struct edge *e;

	for (struct hnode *n = htab_chain(&c->edges, h); n; n = n->next) {
		e = container_of(n, struct edge, h);
		if (n->hash == h && e->pub.proto == p && e->pub.kind == k &&
		    e->pub.from == fp && e->pub.to == tp &&
		    !strcmp(nz(e->pub.subject), nz(subject)) &&
		    !strcmp(nz(e->pub.method), nz(method)))
			return e;
	}
	if (c->nedges >= c->cfg.max_edges && !list_empty(&c->edge_lru)) {
		edge_free(c, container_of(c->edge_lru.next, struct edge, lru));
		c->ctr.evicted_edges++;
	}
	ls = strlen(nz(subject));
	lm = strlen(nz(method));
	e = calloc(1, sizeof(*e) + ls + lm + 2);
	if (!e)
		return NULL;
	e->pub.proto = p;
	e->pub.kind = k;
	e->pub.from = fp;
	e->pub.to = tp;
	e->pub.subject = memcpy(e->data, nz(subject), ls + 1);
	if (method)
		e->pub.method = memcpy(e->data + ls + 1, method, lm + 1);
	e->pub.first_ts = c->clock;
	list_add_tail(&c->edge_lru, &e->lru);
	htab_add(&c->edges, &e->h, h);
	c->nedges++;
	return e;
}

static void stats_add(struct edge_stats *s, uint64_t bytes, bool error,
		      const uint64_t *lat)
{
	s->count++;
	s->bytes += bytes;
	if (error)
		s->errors++;
	if (!lat)
		return;
	if (!s->lat)
		s->lat = calloc(1, sizeof(*s->lat));
	if (s->lat)
		lh_record(s->lat, *lat);
}

/* One message/exchange on an edge. lat NULL: no latency sample. */
static void edge_count(struct correlator *c, struct edge *e, uint64_t bytes,
		       bool error, const uint64_t *lat)
{
	if (!e)
		return;
	stats_add(&e->total, bytes, error, lat);
	stats_add(&e->cur, bytes, error, lat);
	if (c->clock > e->pub.last_ts)
		e->pub.last_ts = c->clock;
	list_move_tail(&c->edge_lru, &e->lru);
}

static void edge_account(struct correlator *c, enum proto p, enum flow_kind k,
			 struct comp *from, struct comp *to,
			 const char *subject, const char *method,
			 uint64_t bytes, bool error, const uint64_t *lat)
{
	edge_count(c, edge_get(c, p, k, from, to, subject,
			       hash_str(HASH_INIT, subject), method),
		   bytes, error, lat);
}

static void subj_free(struct correlator *c, struct subj *s)
{
	htab_del(&c->subjs, &s->h);
	list_del(&s->lru);
	free(s->last_subject);
	c->nsubjs--;
	free(s);
}

/* h: hash_str(HASH_INIT, tpl), kept in the pub */
static struct subj *subj_get(struct correlator *c, const char *tpl, uint64_t h)
{
	size_t lt;
	struct subj *s;

	for (struct hnode *n = htab_chain(&c->subjs, h); n; n = n->next) {
		s = container_of(n, struct subj, h);
		if (n->hash == h && strcmp(s->pub.subject, tpl) == 0) {
			list_move_tail(&c->subj_lru, &s->lru);
			return s;
		}
	}
	if (c->nsubjs >= c->cfg.max_subjects && !list_empty(&c->subj_lru)) {
		subj_free(c, container_of(c->subj_lru.next, struct subj, lru));
		c->ctr.evicted_subjects++;
	}
	lt = strlen(tpl);
	s = calloc(1, sizeof(*s) + lt + 1 + c->cfg.payload_keep);
	if (!s)
		return NULL;
	s->pub.subject = memcpy(s->data, tpl, lt + 1);
	s->payload = (unsigned char *)s->data + lt + 1;
	s->pub.last_payload = s->payload;
	s->pub.first_ts = c->clock;
	list_add_tail(&c->subj_lru, &s->lru);
	htab_add(&c->subjs, &s->h, h);
	c->nsubjs++;
	return s;
}

static void peer_add(const struct corr_component **arr, size_t *n, bool *more,
		     const struct comp *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < *n; i++)
		if (arr[i] == &k->pub)
			return;
	if (*n < CORR_SUBJECT_PEERS)
		arr[(*n)++] = &k->pub;
	else
		*more = true;
}

static void subject_publish(struct correlator *c, const struct pub *p,
			    const struct obs *o)
{
	struct subj *s = subj_get(c, p->tpl, p->tpl_h);
	size_t keep;
	char *ls;

	if (!s)
		return;
	s->pub.msgs++;
	s->cur_msgs++;
	s->pub.bytes += p->size + p->hdr_size;
	s->pub.last_ts = c->clock;
	keep = o->payload_len < c->cfg.payload_keep ? o->payload_len :
						     c->cfg.payload_keep;
	memcpy(s->payload, o->payload, keep);
	s->pub.last_payload_len = keep;
	s->pub.last_size = p->size;
	s->pub.last_truncated = keep < p->size;
	/* most publications on a template repeat the last subject */
	if (s->last_subject && !strcmp(s->last_subject, p->subject))
		ls = NULL;
	else if ((ls = strdup(p->subject))) {
		free(s->last_subject);
		s->last_subject = ls;
		s->pub.last_subject = ls;
	}
	peer_add(s->pub.publishers, &s->pub.n_publishers,
		 &s->pub.more_publishers, p->from);
}

static void subject_deliver(struct correlator *c, const struct pub *p,
			    const struct comp *to)
{
	struct subj *s = subj_get(c, p->tpl, p->tpl_h);

	if (!s)
		return;
	s->pub.deliveries++;
	peer_add(s->pub.subscribers, &s->pub.n_subscribers,
		 &s->pub.more_subscribers, to);
}

/* ------------------------------------------------------------------ */
/* NATS: requests                                                      */
/* ------------------------------------------------------------------ */

/* h: hash_str(HASH_INIT, reply), when the caller has it */
static struct request *request_find_h(const struct correlator *c,
				      const char *reply, uint64_t h)
{
	for (struct hnode *n = htab_chain(&c->reqs, h); n; n = n->next) {
		struct request *r = container_of(n, struct request, h);

		if (n->hash == h && strcmp(r->reply, reply) == 0)
			return r;
	}
	return NULL;
}

static struct request *request_find(const struct correlator *c,
				    const char *reply)
{
	return request_find_h(c, reply, hash_str(HASH_INIT, reply));
}

static void request_free(struct correlator *c, struct request *r)
{
	htab_del(&c->reqs, &r->h);
	list_del(&r->age);
	if (r->pub)
		r->pub->req = NULL;
	lconn_unref(r->lc);
	lconn_unref(r->receiver_lc);
	c->nreqs--;
	free(r);
}

static struct comp *request_client(struct correlator *c, struct request *r,
				   const struct endpoint_info **ep)
{
	if (!r->lc)
		return NULL;
	*ep = end_info(c, r->lc, SIDE_CLIENT);
	return end_comp(c, r->lc, SIDE_CLIENT);
}

/* No reply in time: an exchange in error, attributed to the one receiver
 * when there was exactly one (a queue group, a single service). */
static void request_timeout(struct correlator *c, struct request *r)
{
	const struct endpoint_info *cl = NULL;
	struct flow_event ev;
	struct comp *client = request_client(c, r, &cl);
	struct comp *server = r->n_receivers == 1 ? r->receiver : NULL;
	char tpl[SUBJECT_TPL_LEN];

	memset(&ev, 0, sizeof(ev));
	ev.type = FLOW_EV_EXCHANGE;
	ev.ts_ns = r->first_ts;
	ev.exchange.proto = PROTO_NATS;
	ev.exchange.error = true;
	ev.exchange.error_reason = "timeout";
	ev.exchange.subject = r->subject;
	ev.exchange.reply = r->reply;
	ev.exchange.request_bytes = r->size;
	ev.exchange.client = client ? cl : NULL;
	if (server && r->receiver_lc)
		ev.exchange.server = end_info(c, r->receiver_lc, SIDE_CLIENT);
	c->ctr.timeouts++;
	emit(c, &ev);
	edge_account(c, PROTO_NATS, FLOW_KIND_REQ, client, server,
		     subject_tpl(r->subject, tpl, sizeof(tpl)), NULL, r->size,
		     true, NULL);
	comp_error(client);
	comp_error(server);
}

/* The input ended before the reply or the timeout: the request still
 * counts on its edge, as neither answered nor failed. */
static void request_unfinished(struct correlator *c, struct request *r)
{
	const struct endpoint_info *cl;
	struct comp *client = request_client(c, r, &cl);
	char tpl[SUBJECT_TPL_LEN];

	c->ctr.unfinished++;
	edge_account(c, PROTO_NATS, FLOW_KIND_REQ, client,
		     r->n_receivers == 1 ? r->receiver : NULL,
		     subject_tpl(r->subject, tpl, sizeof(tpl)), NULL, r->size,
		     false, NULL);
}

static void request_expire(struct correlator *c, struct request *r)
{
	if (!r->replies)
		request_timeout(c, r);
	request_free(c, r);
}

static void request_register(struct correlator *c, struct pub *p)
{
	struct request *old = request_find(c, p->reply);
	size_t ls = strlen(p->subject), lr = strlen(p->reply);
	struct request *r;

	if (old) /* the inbox is reused: the earlier request is over */
		request_expire(c, old);
	if (c->nreqs >= c->cfg.max_requests && !list_empty(&c->req_age)) {
		request_free(c, container_of(c->req_age.next, struct request, age));
		c->ctr.evicted_requests++;
	}
	r = calloc(1, sizeof(*r) + ls + lr + 2);
	if (!r)
		return;
	r->subject = memcpy(r->data, p->subject, ls + 1);
	r->reply = memcpy(r->data + ls + 1, p->reply, lr + 1);
	r->first_ts = p->first_ts;
	r->size = p->size + p->hdr_size;
	r->lc = lconn_ref(p->lc);
	r->pub = p;
	p->req = r;
	htab_add(&c->reqs, &r->h, hash_str(HASH_INIT, r->reply));
	list_add_tail(&c->req_age, &r->age);
	c->nreqs++;
}

/* p answers r. */
static void exchange_reply(struct correlator *c, struct request *r,
			   const struct pub *p)
{
	const struct endpoint_info *cl = NULL, *sv = NULL;
	struct flow_event ev;
	struct comp *client = request_client(c, r, &cl), *server = NULL;
	uint64_t lat = p->first_ts > r->first_ts ? p->first_ts - r->first_ts : 0;
	uint64_t resp = p->size + p->hdr_size;
	bool error = p->status >= 500;
	char tpl[SUBJECT_TPL_LEN];

	if (p->lc) {
		server = end_comp(c, p->lc, SIDE_CLIENT);
		sv = end_info(c, p->lc, SIDE_CLIENT);
	}
	r->replies++;
	memset(&ev, 0, sizeof(ev));
	ev.type = FLOW_EV_EXCHANGE;
	ev.ts_ns = r->first_ts;
	ev.exchange.proto = PROTO_NATS;
	ev.exchange.answered = true;
	ev.exchange.error = error;
	ev.exchange.error_reason = error ? "status" : NULL;
	ev.exchange.latency_ns = lat;
	ev.exchange.subject = r->subject;
	ev.exchange.reply = r->reply;
	ev.exchange.status = p->status;
	ev.exchange.request_bytes = r->size;
	ev.exchange.response_bytes = resp;
	ev.exchange.client = client ? cl : NULL;
	ev.exchange.server = server ? sv : NULL;
	c->ctr.exchanges++;
	emit(c, &ev);
	edge_account(c, PROTO_NATS, FLOW_KIND_REQ, client, server,
		     subject_tpl(r->subject, tpl, sizeof(tpl)), NULL,
		     r->size + resp, error, &lat);
	if (error) {
		comp_error(client);
		comp_error(server);
	}
}

/* ------------------------------------------------------------------ */
/* NATS: publications and deliveries                                   */
/* ------------------------------------------------------------------ */

/*
 * A publication's class is (subject, reply, size); its key adds the first
 * PUB_KEY_BYTES of payload (all of it when shorter). Captures of one
 * message agree on both, unless one was cut inside the key bytes: such a
 * "short" capture is indexed by class only, and a short observation looks
 * at its whole class (rare: a cut must land in the first bytes).
 */
static uint64_t class_hash(uint64_t subj_h, const char *reply, uint64_t size)
{
	uint64_t h = hash_str(subj_h, reply);

	return hash_bytes(h, &size, sizeof(size));
}

static size_t key_bytes(uint64_t size)
{
	return size < PUB_KEY_BYTES ? (size_t)size : PUB_KEY_BYTES;
}

static bool is_short(size_t payload_len, uint64_t size)
{
	return payload_len < key_bytes(size);
}

static uint64_t key_hash(uint64_t class_h, const unsigned char *payload,
			 uint64_t size)
{
	return hash_bytes(class_h, payload, key_bytes(size));
}

/* Captures of one message can be cut at different lengths: compare what
 * both have. */
static bool pub_same_content(const struct pub *p, const struct obs *o)
{
	size_t n = p->payload_len < o->payload_len ? p->payload_len :
						     o->payload_len;

	return p->size == o->size && !strcmp(p->subject, o->subject) &&
	       !strcmp(p->reply, o->reply) &&
	       (n == 0 || memcmp(p->payload, o->payload, n) == 0);
}

/*
 * The wait queues (lconn.pub_wait, lconn.dlv_wait). What is queued there
 * is still pending and hashed as always: a queue only saves the lookup.
 */

static void pub_off_queue(struct correlator *c, struct pub *p, bool off)
{
	if (p->off_queue != off) {
		p->off_queue = off;
		if (off)
			c->npubs_off_queue++;
		else
			c->npubs_off_queue--;
	}
}

static void pub_skipped(struct correlator *c, struct list *n)
{
	pub_off_queue(c, container_of(n, struct pub, wait), true);
}

/* n was seen from the end whose queue q is. Found by hashing rather than
 * at the front, what is ahead of it was missed by that end (its records
 * dropped, or cut too short to match): it leaves the queue (told to
 * `skipped`, when given), and is still found by hashing should it turn up
 * after all. */
static void wait_done(struct correlator *c, struct list *q, struct list *n,
		      void (*skipped)(struct correlator *c, struct list *n))
{
	if (list_empty(n))
		return; /* not queued */
	while (q->next != n && q->next != q) {
		if (skipped)
			skipped(c, q->next);
		list_del(q->next);
	}
	list_del(n);
}

/* The publication on lc an observation from `side` is most likely another
 * sight of: the oldest one that end has yet to see, if o is its content. */
static struct pub *pub_wait_front(struct lconn *lc, int side,
				  const struct obs *o)
{
	const struct list *q = &lc->pub_wait[side];
	struct pub *p;

	if (list_empty(q))
		return NULL;
	p = container_of(q->next, struct pub, wait);
	return pub_same_content(p, o) ? p : NULL;
}

/* The same for a delivery on lc: the sid must be the observation's too. */
static struct delivery *dlv_wait_front(struct lconn *lc, int side,
				       const struct obs *o)
{
	const struct list *q = &lc->dlv_wait[side];
	struct delivery *d;

	if (list_empty(q))
		return NULL;
	d = container_of(q->next, struct delivery, wait);
	return !strcmp(d->sid, o->sid) && pub_same_content(d->pub, o) ? d : NULL;
}

static void pub_free(struct correlator *c, struct pub *p)
{
	htab_del(is_short(p->payload_len, p->size) ? &c->short_pubs : &c->pubs, &p->h);
	htab_del(&c->pub_class, &p->hc);
	list_del(&p->age);
	list_del(&p->settle);
	list_del(&p->wait);
	pub_off_queue(c, p, false);
	c->npubs--;
	if (p->req)
		p->req->pub = NULL;
	for (size_t i = 0; i < p->n_dlv; i++) {
		struct delivery *d = p->dlv[i];

		htab_del(&c->dlvs, &d->h);
		list_del(&d->wait);
		lconn_unref(d->lc);
		free(d->queue);
		pool_put(&c->dlv_pool, d, d->pooled);
	}
	for (size_t i = 0; i < p->n_exp; i++) {
		if (!p->exp[i].sid_inline)
			free(p->exp[i].sid);
		free(p->exp[i].queue);
	}
	if (p->dlv != p->dlv_inline)
		free(p->dlv);
	if (p->exp != p->exp_inline)
		free(p->exp);
	lconn_unref(p->lc);
	pool_put(&c->pub_pool, p, p->pooled);
}

static uint64_t dlv_hash(const struct pub *p, const struct lconn *lc,
			 const char *sid)
{
	uintptr_t k[2] = { (uintptr_t)p, (uintptr_t)lc };

	return hash_str(hash_bytes(HASH_INIT, k, sizeof(k)), sid);
}

/* Deliveries of a publication are looked through in its array while
 * there are this few; beyond, they go into c->dlvs too (a wide fan-out).
 * Hashing every delivery was an insert and a delete on a cold slot for
 * one or two entries that the array holds inline. */
#define DLV_SCAN 8

static struct delivery *pub_delivery(const struct correlator *c,
				     const struct pub *p,
				     const struct lconn *lc, const char *sid)
{
	uint64_t h;

	if (p->n_dlv <= DLV_SCAN) {
		for (size_t i = 0; i < p->n_dlv; i++) {
			struct delivery *d = p->dlv[i];

			if (d->lc == lc && !strcmp(d->sid, sid))
				return d;
		}
		return NULL;
	}
	h = dlv_hash(p, lc, sid);

	for (struct hnode *n = htab_chain(&c->dlvs, h); n; n = n->next) {
		struct delivery *d = container_of(n, struct delivery, h);

		if (n->hash == h && d->pub == p && d->lc == lc && !strcmp(d->sid, sid))
			return d;
	}
	return NULL;
}

/* Keep p->n_full in step with whether d has been seen from every end of
 * its connection that is traced (which may grow). */
static bool delivery_refresh(struct pub *p, struct delivery *d)
{
	bool full = (d->sides & d->lc->observed) == d->lc->observed;

	if (full != d->full) {
		d->full = full;
		if (full)
			p->n_full++;
		else
			p->n_full--;
	}
	return full;
}

/* Its sid wherever the entry is now (qsort compares moved copies). */
static const char *expect_sid(const struct expect *x)
{
	return x->sid_inline ? x->sid_buf : x->sid;
}

static int expect_cmp(const void *a, const void *b)
{
	const struct expect *x = a, *y = b;

	if (!x->sid != !y->sid)
		return x->sid ? -1 : 1; /* queue groups last */
	if (!x->sid)
		return strcmp(x->queue, y->queue);
	if (x->lc_id != y->lc_id)
		return x->lc_id < y->lc_id ? -1 : 1;
	return strcmp(expect_sid(x), expect_sid(y));
}

static void expect_hit(struct pub *p, struct expect *x)
{
	if (x && !x->met) {
		x->met = true;
		p->n_met++;
	}
}

/* The expectation this delivery satisfies, if any: its own subscription,
 * or one member of its queue group. */
static void expect_mark(struct pub *p, const struct delivery *d)
{
	if (d->queue) {
		for (size_t i = p->n_exp_sid; i < p->n_exp; i++)
			if (!strcmp(p->exp[i].queue, d->queue))
				expect_hit(p, &p->exp[i]);
	} else if (p->n_exp_sid) {
		struct expect key = { .lc_id = d->lc->id, .sid = (char *)d->sid };

		expect_hit(p, bsearch(&key, p->exp, p->n_exp_sid, sizeof(key),
				      expect_cmp));
	}
}

/*
 * Everything we know of says p is done: its publisher's observed ends have
 * seen it (when the publisher is known), every subscription we know of
 * that should get it has, and every delivery has been seen from each
 * observed end of its connection.
 */
static bool pub_settled(struct pub *p)
{
	bool all = true;

	if (p->lc && (!p->exp_known || (p->sides & p->lc->observed) != p->lc->observed ||
		      p->n_met < p->n_exp))
		return false;
	if (p->n_full < p->n_dlv)
		return false;
	/* the counters say yes: confirm, an end may have become traced */
	for (size_t i = 0; i < p->n_dlv; i++)
		all &= delivery_refresh(p, p->dlv[i]);
	return all;
}

/* ... and what we know of is all there is: every NATS connection's
 * subscriptions are known (CONNECT seen) and so is the publisher. */
static bool pub_complete(const struct correlator *c, struct pub *p)
{
	return p->lc && !c->unknown_registry && pub_settled(p);
}

/* The publication is done: one delivery event, and a to-nobody edge when
 * no observed subscriber got it. */
static void pub_finalize(struct correlator *c, struct pub *p, bool complete)
{
	struct flow_receiver few[PUB_INLINE], *to = NULL;
	struct flow_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = FLOW_EV_DELIVERY;
	ev.ts_ns = p->first_ts;
	ev.delivery.subject = p->subject;
	ev.delivery.reply = p->reply;
	ev.delivery.size = p->size;
	ev.delivery.header_size = p->hdr_size;
	ev.delivery.complete = complete;
	if (p->lc) {
		ev.delivery.from = end_info(c, p->lc, SIDE_CLIENT);
		ev.delivery.server = end_info(c, p->lc, SIDE_SERVER);
	} else if (p->n_dlv) {
		ev.delivery.server = end_info(c, p->dlv[0]->lc, SIDE_SERVER);
	}
	if (p->n_dlv)
		to = p->n_dlv <= PUB_INLINE ? few : calloc(p->n_dlv, sizeof(*to));
	if (to) {
		for (size_t i = 0; i < p->n_dlv; i++) {
			const struct delivery *d = p->dlv[i];

			to[i].ep = end_info(c, d->lc, SIDE_CLIENT);
			to[i].sid = d->sid;
			to[i].queue = d->queue;
			to[i].ts_ns = d->first_ts;
		}
		ev.delivery.to = to;
		ev.delivery.n_to = p->n_dlv;
	}
	emit(c, &ev);
	if (to != few)
		free(to);
	if (!p->n_dlv && !p->is_request && !p->is_reply)
		edge_count(c, edge_get(c, PROTO_NATS, FLOW_KIND_MSG, p->from,
				       NULL, p->tpl, p->tpl_h, NULL),
			   p->size + p->hdr_size, false, NULL);
	pub_free(c, p);
}

/*
 * Complete: out at once. Settled only (some registry unknown, or the
 * publisher not seen): out once settle_ns have passed, incomplete — a
 * subscription we could not know of may still get it, and if it does later
 * than that, its delivery stands alone. Waiting for the timeout instead
 * kept every publication of a busy subject pending for 5 s (the bench's
 * clients predate the trace: the whole table pending, a third of msgscope's time).
 */
static void pub_check(struct correlator *c, struct pub *p)
{
	if (pub_complete(c, p)) {
		pub_finalize(c, p, true);
	} else if (p->settle_due && pub_settled(p)) {
		c->ctr.settled++;
		pub_finalize(c, p, false);
	}
}

/* After expectations moved (array grown, sorted): short sids live in
 * their entry. */
static void expect_repoint(struct pub *p)
{
	for (size_t i = 0; i < p->n_exp; i++)
		if (p->exp[i].sid_inline)
			p->exp[i].sid = p->exp[i].sid_buf;
}

static int expect_add(struct pub *p, uint64_t lc_id, const char *sid,
		      const char *queue)
{
	struct expect *x;

	if (!sid) { /* one per queue group */
		for (size_t i = 0; i < p->n_exp; i++)
			if (!p->exp[i].sid && !strcmp(p->exp[i].queue, queue))
				return 0;
	}
	if (p->n_exp == p->cap_exp) {
		size_t nc = p->cap_exp * 2;
		struct expect *ne = malloc(nc * sizeof(*ne));

		if (!ne)
			return -1;
		memcpy(ne, p->exp, p->n_exp * sizeof(*ne));
		if (p->exp != p->exp_inline)
			free(p->exp);
		p->exp = ne;
		p->cap_exp = nc;
		expect_repoint(p);
	}
	x = &p->exp[p->n_exp];
	x->met = false;
	x->lc_id = lc_id;
	x->sid_inline = sid && strlen(sid) < sizeof(x->sid_buf);
	if (x->sid_inline)
		x->sid = strcpy(x->sid_buf, sid);
	else
		x->sid = dup_str(sid);
	x->queue = dup_str(queue);
	if ((sid && !x->sid) || (queue && !x->queue)) {
		if (!x->sid_inline)
			free(x->sid);
		free(x->queue);
		return -1;
	}
	p->n_exp++;
	return 0;
}

static void expect_sub(struct pub *p, const struct sub *s, bool *ok)
{
	if (s->lc == p->lc && p->lc->no_echo)
		return;
	if (expect_add(p, s->lc->id, s->queue ? NULL : s->sid, s->queue))
		*ok = false;
}

/* Which known subscriptions should receive p: the server's interest graph
 * replayed from the SUBs we saw. */
static void pub_expect(struct correlator *c, struct pub *p)
{
	uint64_t h = p->subj_h;
	size_t lj = strlen(p->subject);
	bool ok = true;

	for (struct hnode *n = htab_chain(&c->lit_subs, h); n; n = n->next) {
		struct sub *s = container_of(n, struct sub, by_subject);

		if (n->hash == h && !strcmp(s->subject, p->subject))
			expect_sub(p, s, &ok);
	}
	for (struct list *it = c->wild_subs.next; it != &c->wild_subs;
	     it = it->next) {
		struct sub *s = container_of(it, struct sub, wild);

		if (subject_match(s->subject, strlen(s->subject), p->subject, lj))
			expect_sub(p, s, &ok);
	}
	p->exp_known = ok; /* if memory ran out, let the timeout decide */
	if (p->n_exp > 1) {
		qsort(p->exp, p->n_exp, sizeof(*p->exp), expect_cmp);
		expect_repoint(p);
	}
	while (p->n_exp_sid < p->n_exp && p->exp[p->n_exp_sid].sid)
		p->n_exp_sid++;
	for (size_t i = 0; i < p->n_dlv; i++) /* inferred before it was seen */
		expect_mark(p, p->dlv[i]);
}

static struct pub *pub_new(struct correlator *c, const struct obs *o,
			   struct lconn *lc, int side)
{
	size_t lj = strlen(o->subject), lr = strlen(o->reply);
	size_t lp = o->payload_len < PUB_MATCH_BYTES ? o->payload_len :
						      PUB_MATCH_BYTES;
	struct pub *p;
	bool pooled;
	uint64_t h;

	if (c->npubs >= c->cfg.max_pubs && !list_empty(&c->pub_age)) {
		c->ctr.evicted_pubs++;
		pub_finalize(c, container_of(c->pub_age.next, struct pub, age),
			     false);
	}
	p = pool_get(&c->pub_pool, sizeof(*p) + lj + lr + 2 + lp + lj + 2,
		     sizeof(*p), &pooled);
	if (!p)
		return NULL;
	p->pooled = pooled;
	p->dlv = p->dlv_inline;
	p->cap_dlv = PUB_INLINE;
	p->exp = p->exp_inline;
	p->cap_exp = PUB_INLINE;
	p->seq = ++c->pub_seq;
	p->first_ts = o->ts;
	p->subject = memcpy(p->data, o->subject, lj + 1);
	p->subj_h = o->subj_h;
	p->reply = memcpy(p->data + lj + 1, o->reply, lr + 1);
	p->payload = (unsigned char *)p->data + lj + lr + 2;
	memcpy(p->payload, o->payload, lp);
	p->payload_len = lp;
	/* a template is never longer than its subject */
	p->tpl = (char *)p->payload + lp;
	subject_tpl(p->subject, p->tpl, lj + 2);
	p->tpl_h = strcmp(p->tpl, p->subject) ? hash_str(HASH_INIT, p->tpl) :
						p->subj_h;
	p->size = o->size;
	p->hdr_size = o->hdr_size;
	p->status = o->status;
	p->is_request = lr > 0;
	list_init(&p->wait);
	if (lc) {
		p->lc = lconn_ref(lc);
		p->sides = SBIT(side);
		list_add_tail(&lc->pub_wait[!side], &p->wait);
	} else {
		pub_off_queue(c, p, true);
	}
	h = class_hash(p->subj_h, p->reply, p->size);
	if (c->class_indexed)
		htab_add(&c->pub_class, &p->hc, h);
	if (is_short(p->payload_len, p->size))
		htab_add(&c->short_pubs, &p->h, h);
	else
		htab_add(&c->pubs, &p->h, key_hash(h, p->payload, p->size));
	list_add_tail(&c->pub_age, &p->age);
	list_add_tail(&c->pub_settle, &p->settle);
	c->npubs++;
	return p;
}

/* What the publisher's connection being known adds to a publication. */
static void pub_set_publisher(struct correlator *c, struct pub *p)
{
	p->from = end_comp(c, p->lc, SIDE_CLIENT);
	comp_out(c, p->from, p->size + p->hdr_size);
	pub_expect(c, p);
	if (p->req && !p->req->lc)
		p->req->lc = lconn_ref(p->lc);
}

/* A new publication (seen on the wire, or inferred from a delivery). */
static void pub_publish(struct correlator *c, struct pub *p,
			const struct obs *o)
{
	struct request *r = request_find_h(c, p->subject, p->subj_h);

	c->ctr.publications++;
	if (r) {
		p->is_reply = true;
		p->is_request = false;
	}
	if (p->lc)
		pub_set_publisher(c, p);
	if (r)
		exchange_reply(c, r, p);
	if (p->reply[0])
		request_register(c, p);
	if (!p->is_reply)
		subject_publish(c, p, o);
}

/* Add the pubs of one chain with o's content to cand[], up to the window;
 * look at no more than max_visit nodes (newest first). */
static size_t collect_chain(struct correlator *c, struct hnode *n, size_t off,
			    uint64_t h, const struct obs *o, struct pub **cand,
			    size_t k, size_t max_visit)
{
	for (size_t visited = 0; n; n = n->next) {
		struct pub *p = (struct pub *)(void *)((char *)n - off);

		if (++visited > max_visit) {
			c->ctr.match_window++;
			break;
		}
		if (n->hash != h || !pub_same_content(p, o))
			continue;
		if (k == MATCH_WINDOW) {
			c->ctr.match_window++;
			break;
		}
		cand[k++] = p;
	}
	return k;
}

/*
 * Publications by class (subject, reply, size) serve only captures cut
 * short within their key bytes, which are rare: a table kept for every
 * message was an insert and a delete on a cold slot each. It is filled
 * with every pending publication when the first short capture comes, and
 * kept from then on.
 */
static void class_index(struct correlator *c)
{
	struct list *n;

	if (c->class_indexed)
		return;
	c->class_indexed = true;
	for (n = c->pub_age.next; n != &c->pub_age; n = n->next) {
		struct pub *p = container_of(n, struct pub, age);

		htab_add(&c->pub_class, &p->hc,
			 class_hash(p->subj_h, p->reply, p->size));
	}
}

/* The pending publications o could be another capture of. */
static size_t pub_candidates(struct correlator *c, const struct obs *o,
			     struct pub **cand)
{
	uint64_t ch = class_hash(o->subj_h, o->reply, o->size);
	uint64_t kh;
	size_t k;

	/* Short captures come with gaps, and under overload (events dropped,
	 * publications left pending until they time out) their chains grow
	 * to thousands, walked by every message of the class. The capture
	 * a message matches is recent, so only the newest are looked at:
	 * MATCH_WINDOW nodes of the class chain for a short capture,
	 * SHORT_VISIT of the short captures' chain for a whole one (the rest
	 * counted in match_window). */
	if (is_short(o->payload_len, o->size)) {
		class_index(c);
		return collect_chain(c, htab_chain(&c->pub_class, ch),
				     offsetof(struct pub, hc), ch, o, cand, 0,
				     MATCH_WINDOW);
	}
	kh = key_hash(ch, (const unsigned char *)o->payload, o->size);
	k = collect_chain(c, htab_chain(&c->pubs, kh), offsetof(struct pub, h),
			  kh, o, cand, 0, SIZE_MAX);
	return collect_chain(c, htab_chain(&c->short_pubs, ch),
			     offsetof(struct pub, h), ch, o, cand, k, SHORT_VISIT);
}

/* The oldest pending publication this PUB observation is another view of:
 * same connection and content, not yet seen from this end — or one only
 * inferred from its deliveries (whose PUB shows up a little late). */
static struct pub *pub_match(struct correlator *c, struct lconn *lc, int side,
			     const struct obs *o)
{
	struct pub *cand[MATCH_WINDOW], *best = NULL;
	size_t k = pub_candidates(c, o, cand);

	for (size_t i = 0; i < k; i++) {
		struct pub *p = cand[i];
		bool ok;

		if (p->lc)
			ok = p->lc == lc && !(p->sides & SBIT(side));
		else
			ok = o->ts <= p->first_ts + c->cfg.skew_ns;
		if (ok && (!best || p->seq < best->seq))
			best = p;
	}
	return best;
}

static void pub_obs(struct correlator *c, struct lconn *lc, int side,
		    const struct obs *o)
{
	struct pub *p = pub_wait_front(lc, side, o);

	if (p)
		list_del(&p->wait);
	else if (list_empty(&lc->pub_wait[side]) && !c->npubs_off_queue)
		p = NULL; /* a first sight: nothing pending could be it */
	else if ((p = pub_match(c, lc, side, o)) && p->lc)
		wait_done(c, &lc->pub_wait[side], &p->wait, pub_skipped);
	if (p) {
		if (!p->lc) { /* the deliveries came first */
			p->lc = lconn_ref(lc);
			pub_off_queue(c, p, false);
			list_add_tail(&lc->pub_wait[!side], &p->wait);
			pub_set_publisher(c, p);
		} else {
			c->ctr.merged++;
		}
		p->sides |= SBIT(side);
		if (o->ts < p->first_ts)
			p->first_ts = o->ts;
		pub_check(c, p);
		return;
	}
	p = pub_new(c, o, lc, side);
	if (!p)
		return;
	pub_publish(c, p, o);
	pub_check(c, p);
}

static struct delivery *delivery_add(struct correlator *c, struct pub *p,
				     struct lconn *lc, int side,
				     const struct obs *o)
{
	size_t ls = strlen(o->sid);
	struct delivery *d;
	bool pooled;

	if (p->n_dlv == p->cap_dlv) {
		size_t nc = p->cap_dlv * 2;
		struct delivery **nd = malloc(nc * sizeof(*nd));

		if (!nd)
			return NULL;
		memcpy(nd, p->dlv, p->n_dlv * sizeof(*nd));
		if (p->dlv != p->dlv_inline)
			free(p->dlv);
		p->dlv = nd;
		p->cap_dlv = nc;
	}
	d = pool_get(&c->dlv_pool, sizeof(*d) + ls + 1, sizeof(*d), &pooled);
	if (!d)
		return NULL;
	d->pooled = pooled;
	memcpy(d->sid, o->sid, ls + 1);
	d->pub = p;
	d->lc = lconn_ref(lc);
	d->sides = SBIT(side);
	list_add_tail(&lc->dlv_wait[!side], &d->wait);
	d->first_ts = o->ts;
	p->dlv[p->n_dlv++] = d;
	if (p->n_dlv > DLV_SCAN) {
		/* by hash from now on: this one, and the first time all before it */
		size_t i = p->n_dlv == DLV_SCAN + 1 ? 0 : p->n_dlv - 1;

		for (; i < p->n_dlv; i++)
			htab_add(&c->dlvs, &p->dlv[i]->h,
				 dlv_hash(p, p->dlv[i]->lc, p->dlv[i]->sid));
	}
	delivery_refresh(p, d);
	return d;
}

/* A message reached a subscriber: registry, components, edges. */
static void delivery_account(struct correlator *c, struct pub *p,
			     struct delivery *d)
{
	struct sub *s = sub_find(d->lc, d->sid);
	uint64_t bytes = p->size + p->hdr_size, lat;

	if (s) {
		d->queue = dup_str(s->queue);
		s->delivered++;
		if (s->max >= 0 && s->delivered >= (uint64_t)s->max)
			sub_remove(c, s);
	} else if (d->lc->registry_known) {
		c->ctr.unknown_sids++;
	}
	expect_mark(p, d);
	d->to = end_comp(c, d->lc, SIDE_CLIENT);
	comp_in(c, d->to, bytes);
	c->ctr.deliveries++;
	if (p->req && p->req->n_receivers++ == 0) {
		p->req->receiver = d->to;
		p->req->receiver_lc = lconn_ref(d->lc);
	}
	if (p->is_reply)
		return; /* accounted in its exchange */
	subject_deliver(c, p, d->to);
	if (p->is_request)
		return;
	lat = d->first_ts >= p->first_ts ? d->first_ts - p->first_ts : 0;
	edge_count(c, edge_get(c, PROTO_NATS, FLOW_KIND_MSG, p->from, d->to,
			       p->tpl, p->tpl_h, NULL),
		   bytes, false, p->lc ? &lat : NULL);
}

/* A queue group delivers each message to one member only: a publication
 * that another member already received cannot be this delivery's, even when
 * its content is identical (a publisher sending the same message twice). */
static bool queue_taken(const struct pub *p, const char *queue)
{
	for (size_t i = 0; i < p->n_dlv; i++)
		if (p->dlv[i]->queue && !strcmp(p->dlv[i]->queue, queue))
			return true;
	return false;
}

/* The other end of d's connection saw it too. */
static void delivery_merge(struct correlator *c, struct delivery *d, int side,
			   const struct obs *o)
{
	d->sides |= SBIT(side);
	delivery_refresh(d->pub, d);
	if (o->ts < d->first_ts)
		d->first_ts = o->ts;
	c->ctr.merged++;
	pub_check(c, d->pub);
}

/*
 * A MSG observation: another view of a delivery we have (same connection
 * and sid, not yet seen from this end: first the front of that end's
 * queue, then by hashing), or a new delivery of the oldest
 * matching publication that has none on this subscription yet, or — when
 * the publication was not seen — the first delivery of an inferred one.
 */
static void msg_obs(struct correlator *c, struct lconn *lc, int side,
		    const struct obs *o)
{
	struct delivery *best_d = dlv_wait_front(lc, side, o), *d;
	struct pub *cand[MATCH_WINDOW], *best = NULL;
	const char *queue;
	struct sub *s;
	size_t k;

	if (best_d) {
		/* its first sight learned the subscription, if that was new */
		list_del(&best_d->wait);
		delivery_merge(c, best_d, side, o);
		return;
	}
	s = sub_find(lc, o->sid);
	if (!lc->registry_known)
		s = sub_learn(c, lc, s, o);
	queue = s ? s->queue : NULL;
	k = pub_candidates(c, o, cand);

	for (size_t i = 0; i < k; i++) {
		struct pub *p = cand[i];
		bool ok;

		d = pub_delivery(c, p, lc, o->sid);
		if (d)
			ok = !(d->sides & SBIT(side));
		else
			ok = p->first_ts <= o->ts + c->cfg.skew_ns &&
			     !(queue && queue_taken(p, queue));
		if (ok && (!best || p->seq < best->seq)) {
			best = p;
			best_d = d;
		}
	}
	if (best_d) {
		wait_done(c, &lc->dlv_wait[side], &best_d->wait, NULL);
		delivery_merge(c, best_d, side, o);
		return;
	}
	if (!best) {
		best = pub_new(c, o, NULL, side);
		if (!best)
			return;
		c->ctr.orphan_deliveries++;
		pub_publish(c, best, o);
	}
	d = delivery_add(c, best, lc, side, o);
	if (d)
		delivery_account(c, best, d);
	pub_check(c, best);
}

/* -ERR: one error on the client → server "err" edge, whichever ends saw it. */
static void err_obs(struct correlator *c, struct lconn *lc, int side,
		    const struct obs *o)
{
	char text[ERR_TEXT_LEN];
	const char *t = o->text;
	uint64_t h = hash_str(HASH_INIT, t);
	struct comp *client, *server;
	size_t n;

	if (lc->err_sides && !(lc->err_sides & SBIT(side)) &&
	    lc->err_hash == h && o->ts <= lc->err_ts + c->cfg.timeout_ns) {
		lc->err_sides |= SBIT(side);
		c->ctr.merged++;
		return;
	}
	lc->err_hash = h;
	lc->err_ts = o->ts;
	lc->err_sides = SBIT(side);
	while (*t == ' ' || *t == '\'')
		t++;
	n = strlen(t);
	while (n && (t[n - 1] == ' ' || t[n - 1] == '\'' || t[n - 1] == '\r'))
		n--;
	snprintf(text, sizeof(text), "%.*s", (int)n, t);
	client = end_comp(c, lc, SIDE_CLIENT);
	server = end_comp(c, lc, SIDE_SERVER);
	c->ctr.nats_errors++;
	edge_account(c, PROTO_NATS, FLOW_KIND_ERR, client, server, text, NULL,
		     0, true, NULL);
	comp_error(client);
}

/*
 * --pair-local: a sent message whose reader is traced too comes as one
 * record, the sender's, marked peer_read. It is then also the reader's
 * sight, at the same time (the reader's own would have been a little
 * later): processed once more for the other end, as its record would
 * have been, and that end counts as observed as its record would have
 * made it.
 */
static bool peer_read_too(struct lconn *lc, int side, const struct obs *o)
{
	if (!o->peer_read || o->dir != DIR_SEND)
		return false;
	lc->observed |= SBIT(!side);
	return true;
}

static void nats_sight(struct correlator *c, struct lconn *lc, int side,
		       const struct obs *o);

static void nats_obs(struct correlator *c, const struct obs *o)
{
	int side = obs_side(o);
	struct lconn *lc;

	if (side < 0) {
		/* PING/PONG of unknown direction: keep the connection alive */
		lc = lconn_find(c, o->sv->local, o->sv->peer);
		if (!lc)
			lc = lconn_find(c, o->sv->peer, o->sv->local);
		if (lc)
			lconn_touch(c, lc, o->ts);
		else
			c->ctr.ignored++;
		return;
	}
	lc = lconn_get(c, o, side);
	if (!lc)
		return;
	nats_sight(c, lc, side, o);
	if (peer_read_too(lc, side, o))
		nats_sight(c, lc, !side, o);
}

/* One end's sight of a NATS message: its own record's, or the reader's
 * that the sender's record stands for (peer_read_too). */
static void nats_sight(struct correlator *c, struct lconn *lc, int side,
		       const struct obs *o)
{
	switch (o->op) {
	case NATS_INFO:
		info_obs(lc, o);
		break;
	case NATS_CONNECT:
		connect_obs(c, lc, side, o);
		break;
	case NATS_SUB:
		sub_add(c, lc, o);
		break;
	case NATS_UNSUB:
		sub_unsub(c, lc, o);
		break;
	case NATS_PUB: case NATS_HPUB:
		if (o->subject[0])
			pub_obs(c, lc, side, o);
		break;
	case NATS_MSG: case NATS_HMSG:
		if (o->subject[0] && o->sid[0])
			msg_obs(c, lc, side, o);
		break;
	case NATS_ERR:
		err_obs(c, lc, side, o);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* HTTP exchanges                                                      */
/* ------------------------------------------------------------------ */

static void hx_free(struct correlator *c, struct hx *hx)
{
	list_del(&hx->q);
	hx->lc->http_n--;
	if (hx->in_age) {
		list_del(&hx->age);
		c->nhx--;
	}
	free(hx);
}

static void http_event(struct correlator *c, const struct hx *hx,
		       const char *endpoint, struct comp **client,
		       struct comp **server, struct flow_event *ev,
		       const struct endpoint_info **cl,
		       const struct endpoint_info **sv)
{
	*client = end_comp(c, hx->lc, SIDE_CLIENT);
	*server = end_comp(c, hx->lc, SIDE_SERVER);
	*cl = end_info(c, hx->lc, SIDE_CLIENT);
	*sv = end_info(c, hx->lc, SIDE_SERVER);
	memset(ev, 0, sizeof(*ev));
	ev->type = FLOW_EV_EXCHANGE;
	ev->ts_ns = hx->req_ts;
	ev->exchange.proto = PROTO_HTTP;
	ev->exchange.method = hx->method;
	ev->exchange.path = hx->path;
	ev->exchange.endpoint = endpoint;
	ev->exchange.request_bytes = hx->req_size;
	ev->exchange.client = *cl;
	ev->exchange.server = *sv;
}

static void http_exchange(struct correlator *c, const struct hx *hx)
{
	const struct endpoint_info *cl = NULL, *sv = NULL;
	struct comp *client, *server;
	struct flow_event ev;
	char tpl[PATH_TEMPLATE_MAX];
	uint64_t lat = hx->resp_ts > hx->req_ts ? hx->resp_ts - hx->req_ts : 0;
	bool error = hx->status >= 500;

	path_template(hx->path, strlen(hx->path), tpl, sizeof(tpl));
	http_event(c, hx, tpl, &client, &server, &ev, &cl, &sv);
	ev.exchange.answered = true;
	ev.exchange.error = error;
	ev.exchange.error_reason = error ? "status" : NULL;
	ev.exchange.latency_ns = lat;
	ev.exchange.status = hx->status;
	ev.exchange.response_bytes = hx->resp_size;
	c->ctr.exchanges++;
	emit(c, &ev);
	edge_account(c, PROTO_HTTP, FLOW_KIND_REQ, client, server, tpl,
		     hx->method, hx->req_size + hx->resp_size, error, &lat);
	comp_out(c, client, hx->req_size);
	comp_in(c, server, hx->req_size);
	comp_out(c, server, hx->resp_size);
	comp_in(c, client, hx->resp_size);
	if (error) {
		comp_error(client);
		comp_error(server);
	}
}

static void http_unfinished(struct correlator *c, const struct hx *hx)
{
	struct comp *client = end_comp(c, hx->lc, SIDE_CLIENT);
	struct comp *server = end_comp(c, hx->lc, SIDE_SERVER);
	char tpl[PATH_TEMPLATE_MAX];

	path_template(hx->path, strlen(hx->path), tpl, sizeof(tpl));
	c->ctr.unfinished++;
	edge_account(c, PROTO_HTTP, FLOW_KIND_REQ, client, server, tpl,
		     hx->method, hx->req_size, false, NULL);
	comp_out(c, client, hx->req_size);
	comp_in(c, server, hx->req_size);
}

static void http_timeout(struct correlator *c, const struct hx *hx)
{
	const struct endpoint_info *cl = NULL, *sv = NULL;
	struct comp *client, *server;
	struct flow_event ev;
	char tpl[PATH_TEMPLATE_MAX];

	path_template(hx->path, strlen(hx->path), tpl, sizeof(tpl));
	http_event(c, hx, tpl, &client, &server, &ev, &cl, &sv);
	ev.exchange.error = true;
	ev.exchange.error_reason = "timeout";
	c->ctr.timeouts++;
	emit(c, &ev);
	edge_account(c, PROTO_HTTP, FLOW_KIND_REQ, client, server, tpl,
		     hx->method, hx->req_size, true, NULL);
	comp_out(c, client, hx->req_size);
	comp_in(c, server, hx->req_size);
	comp_error(client);
	comp_error(server);
}

/* Past its deadline: unanswered → a timeout, kept in the connection's queue
 * (so that a late response still pairs with it, not with the next
 * request); answered → gone. */
static void hx_expire(struct correlator *c, struct hx *hx)
{
	if (hx->answered) {
		hx_free(c, hx);
		return;
	}
	list_del(&hx->age);
	hx->in_age = false;
	c->nhx--;
	hx->answered = hx->timed_out = true;
	http_timeout(c, hx);
}

static void http_request(struct correlator *c, struct lconn *lc, int side,
			 const struct obs *o)
{
	size_t lm = strlen(o->method), lp = strlen(o->path);
	struct hx *hx;

	for (struct list *it = lc->http_q.next; it != &lc->http_q; it = it->next) {
		hx = container_of(it, struct hx, q);
		if (hx->req_sides & SBIT(side))
			continue;
		if (!strcmp(hx->method, o->method) && !strcmp(hx->path, o->path)) {
			hx->req_sides |= SBIT(side);
			if (o->ts < hx->req_ts)
				hx->req_ts = o->ts;
			c->ctr.merged++;
			return;
		}
		break; /* this end lost one: start afresh */
	}
	if (lc->http_n >= c->cfg.max_http_per_conn && !list_empty(&lc->http_q)) {
		hx = container_of(lc->http_q.next, struct hx, q);
		if (!hx->answered)
			c->ctr.evicted_http++;
		hx_free(c, hx);
	}
	if (c->nhx >= c->cfg.max_http && !list_empty(&c->hx_age)) {
		c->ctr.evicted_http++;
		hx_free(c, container_of(c->hx_age.next, struct hx, age));
	}
	hx = calloc(1, sizeof(*hx) + lm + lp + 2);
	if (!hx)
		return;
	hx->method = memcpy(hx->data, o->method, lm + 1);
	hx->path = memcpy(hx->data + lm + 1, o->path, lp + 1);
	hx->lc = lc;
	hx->req_ts = o->ts;
	hx->req_sides = SBIT(side);
	hx->req_size = o->body_size;
	hx->in_age = true;
	list_add_tail(&lc->http_q, &hx->q);
	lc->http_n++;
	list_add_tail(&c->hx_age, &hx->age);
	c->nhx++;
}

static void http_response(struct correlator *c, struct lconn *lc, int side,
			  const struct obs *o)
{
	struct hx *hx = NULL;

	if (o->status >= 100 && o->status < 200 && o->status != 101)
		return; /* interim: the final response follows */
	for (struct list *it = lc->http_q.next; it != &lc->http_q; it = it->next) {
		struct hx *h = container_of(it, struct hx, q);

		if (!(h->resp_sides & SBIT(side))) {
			hx = h;
			break;
		}
	}
	if (!hx) {
		c->ctr.unmatched_responses++;
		return;
	}
	hx->resp_sides |= SBIT(side);
	if (!hx->answered) {
		hx->answered = true;
		hx->status = o->status;
		hx->resp_ts = o->ts;
		hx->resp_size = o->body_size;
		http_exchange(c, hx);
	} else {
		c->ctr.merged++;
	}
	if ((hx->resp_sides & lc->observed) == lc->observed)
		hx_free(c, hx);
}

static void http_sight(struct correlator *c, struct lconn *lc, int side,
		       const struct obs *o)
{
	if (o->kind == HTTP_REQUEST)
		http_request(c, lc, side, o);
	else
		http_response(c, lc, side, o);
}

static void http_obs(struct correlator *c, const struct obs *o)
{
	int side = obs_side(o);
	struct lconn *lc = side < 0 ? NULL : lconn_get(c, o, side);

	if (!lc)
		return;
	http_sight(c, lc, side, o);
	if (peer_read_too(lc, side, o))
		http_sight(c, lc, !side, o);
}

/* ------------------------------------------------------------------ */
/* Time: expiry, intervals, flows                                      */
/* ------------------------------------------------------------------ */

static void fill_stats(const struct correlator *c, const struct edge *e,
		       const struct edge_stats *s, struct corr_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->count = s->count;
	out->bytes = s->bytes;
	out->errors = s->errors;
	if (s->lat && s->lat->count) {
		out->samples = s->lat->count;
		out->p50_ns = lh_percentile(s->lat, 50);
		out->p90_ns = lh_percentile(s->lat, 90);
		out->p99_ns = lh_percentile(s->lat, 99);
		out->max_ns = s->lat->max;
	}
	if (c->cfg.interval_ns)
		out->rate = (double)e->last.count * 1e9 /
			    (double)c->cfg.interval_ns;
}

static const char *comp_key(const struct corr_component *k)
{
	return k ? k->key : "";
}

static int edge_cmp(const void *a, const void *b)
{
	const struct corr_edge *x = *(const struct corr_edge *const *)a;
	const struct corr_edge *y = *(const struct corr_edge *const *)b;
	const struct edge *ex = container_of(x, struct edge, pub);
	const struct edge *ey = container_of(y, struct edge, pub);
	int r;

	if (ex->total.count != ey->total.count)
		return ex->total.count > ey->total.count ? -1 : 1;
	if (ex->total.errors != ey->total.errors)
		return ex->total.errors > ey->total.errors ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if ((r = strcmp(comp_key(x->from), comp_key(y->from))))
		return r;
	if ((r = strcmp(comp_key(x->to), comp_key(y->to))))
		return r;
	if ((r = strcmp(nz(x->subject), nz(y->subject))))
		return r;
	return strcmp(nz(x->method), nz(y->method));
}

static void emit_flows(struct correlator *c, bool final, uint64_t start,
		       uint64_t ts)
{
	const struct corr_edge **v;
	size_t n = c->nedges;

	if (!c->cfg.emit || !n)
		return;
	v = calloc(n, sizeof(*v));
	if (!v)
		return;
	n = corr_sorted_edges(c, v, n);
	for (size_t i = 0; i < n; i++) {
		const struct edge *e = container_of(v[i], struct edge, pub);
		const struct edge_stats *s = final ? &e->total : &e->cur;
		struct flow_event ev;

		if (!final && !s->count && !s->errors)
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.type = FLOW_EV_FLOW;
		ev.ts_ns = ts;
		ev.flow.edge = v[i];
		ev.flow.final = final;
		ev.flow.start_ns = final ? v[i]->first_ts : start;
		ev.flow.interval_ns = final ? 0 : ts - start;
		fill_stats(c, e, s, &ev.flow.stats);
		/* the rate over the window being reported */
		if (final)
			start = c->start_ts;
		ev.flow.stats.rate = ts > start ?
			(double)s->count * 1e9 / (double)(ts - start) : 0;
		emit(c, &ev);
	}
	free(v);
}

/* The interval in progress becomes the last one. */
static void roll_once(struct correlator *c)
{
	for (struct list *it = c->edge_lru.next; it != &c->edge_lru; it = it->next) {
		struct edge *e = container_of(it, struct edge, lru);
		struct latency_hist *h = e->last.lat;

		e->last = e->cur;
		memset(&e->cur, 0, sizeof(e->cur));
		if (h) { /* reuse the memory */
			lh_reset(h);
			e->cur.lat = h;
		}
	}
	for (struct list *it = c->comp_list.next; it != &c->comp_list; it = it->next) {
		struct comp *k = container_of(it, struct comp, all);

		k->pub.last_msgs_in = k->cur_in;
		k->pub.last_msgs_out = k->cur_out;
		k->cur_in = k->cur_out = 0;
	}
	for (struct list *it = c->subj_lru.next; it != &c->subj_lru; it = it->next) {
		struct subj *s = container_of(it, struct subj, lru);

		s->pub.last_msgs = s->cur_msgs;
		s->cur_msgs = 0;
	}
}

static void roll(struct correlator *c)
{
	uint64_t iv = c->cfg.interval_ns, end;

	if (!iv || c->clock < c->interval_start + iv)
		return;
	end = c->interval_start + iv;
	if (c->cfg.periodic_flows)
		emit_flows(c, false, c->interval_start, end);
	roll_once(c);
	c->interval_start = end;
	if (c->clock >= end + iv) { /* a quiet gap: the last interval was empty */
		roll_once(c);
		c->interval_start = end + (c->clock - end) / iv * iv;
	}
}

/*
 * The publication next to settle was seen settle_ns ago (10000 of them
 * back at 100k msgs/s): it, its deliveries and its hash neighbours have
 * left the cache, and finalizing and freeing it was a string of misses.
 * expire() runs at every step of the clock, microseconds apart, so the
 * head is read ahead in two steps: its struct when it becomes the head,
 * what it points to at the next look, once those pointers are in.
 */
static void prefetch_lines(const void *p, size_t n)
{
	for (size_t off = 0; off < n; off += 64)
		__builtin_prefetch((const char *)p + off);
}

static void prefetch_settle_head(const struct correlator *c, bool deep)
{
	const struct pub *p;

	if (list_empty(&c->pub_settle))
		return;
	p = container_of(c->pub_settle.next, struct pub, settle);
	if (!deep) {
		prefetch_lines(p, sizeof(*p) + 64); /* and its subject */
		return;
	}
	__builtin_prefetch(p->h.next);
	__builtin_prefetch(p->h.pprev);
	__builtin_prefetch(p->age.next);
	if (p->dlv == p->dlv_inline) /* a grown array would be a load to wait for */
		for (size_t i = 0; i < p->n_dlv && i < PUB_INLINE; i++)
			prefetch_lines(p->dlv[i], sizeof(*p->dlv[i]));
}

static void expire(struct correlator *c)
{
	uint64_t t = c->clock, to = c->cfg.timeout_ns;
	bool settled_one = false;

	/* publications first, so that a request's receivers are known when it
	 * times out */
	while (!list_empty(&c->pub_age)) {
		struct pub *p = container_of(c->pub_age.next, struct pub, age);

		if (p->first_ts + to > t)
			break;
		pub_finalize(c, p, pub_complete(c, p));
	}
	while (!list_empty(&c->pub_settle)) {
		struct pub *p = container_of(c->pub_settle.next, struct pub, settle);

		if (p->first_ts + c->cfg.settle_ns > t)
			break;
		list_del(&p->settle);
		p->settle_due = true;
		pub_check(c, p);
		settled_one = true;
	}
	prefetch_settle_head(c, !settled_one);
	while (!list_empty(&c->req_age)) {
		struct request *r = container_of(c->req_age.next, struct request, age);

		if (r->first_ts + to > t)
			break;
		request_expire(c, r);
	}
	while (!list_empty(&c->hx_age)) {
		struct hx *hx = container_of(c->hx_age.next, struct hx, age);

		if (hx->req_ts + to > t)
			break;
		hx_expire(c, hx);
	}
	while (c->cfg.conn_idle_ns && !list_empty(&c->conn_lru)) {
		struct lconn *lc = container_of(c->conn_lru.next, struct lconn, lru);

		if (lc->last_ts + c->cfg.conn_idle_ns > t)
			break;
		lconn_kill(c, lc);
		c->ctr.expired_conns++;
	}
}

static void clock_to(struct correlator *c, uint64_t t)
{
	if (!c->started || t <= c->clock)
		return;
	c->clock = t;
	expire(c);
	roll(c);
}

static void process(struct correlator *c, const struct obs *o)
{
	if (!c->started) {
		c->started = true;
		c->clock = o->ts;
		c->interval_start = o->ts;
		c->start_ts = o->ts;
	} else if (o->ts > c->clock) {
		clock_to(c, o->ts);
	} else if (o->ts < c->clock) {
		c->ctr.late++;
	}
	if (o->proto == PROTO_NATS)
		nats_obs(c, o);
	else
		http_obs(c, o);
}

/* An observation waited skew_ns among hundreds of others: by the time it
 * is processed it may have left the cache. Ask for the next ones early. */
#define PREFETCH_AHEAD 4

static void prefetch_obs(const struct reorder *r, size_t i)
{
	if (i < r->n) {
		prefetch_lines(reorder_at(r, i)->o, 256);
	}
}

static void drain(struct correlator *c, uint64_t upto)
{
	for (size_t i = 0; i < PREFETCH_AHEAD; i++)
		prefetch_obs(&c->reorder, i);
	while (c->reorder.n && reorder_front(&c->reorder)->ts <= upto) {
		struct obs *o = reorder_pop(&c->reorder);

		prefetch_obs(&c->reorder, PREFETCH_AHEAD - 1);
		process(c, o);
		obs_release(c, o);
	}
	clock_to(c, upto);
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */
/* ------------------------------------------------------------------ */

void corr_config_default(struct corr_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->timeout_ns = 5 * NS_PER_SEC;
	/* Records come from one ring buffer in reservation order. Out of order
	 * are CPUs racing to it (microseconds) and messages split across reads,
	 * stamped with their first byte (at 100k msgs/s system-wide 2 in 3.8M
	 * were over 1 ms late, none over 4 ms). A 5 ms window held 2000
	 * observations at 400k records/s, which left the cache before they were
	 * processed: 1 ms took msgscope from 31.8% to 28.8% of a core there
	 * (medians of 6 interleaved runs), 9 of 4M records then late; a late
	 * one is still matched, and counted. */
	cfg->skew_ns = 1000000;
	cfg->settle_ns = 100000000;
	cfg->interval_ns = NS_PER_SEC;
	cfg->conn_idle_ns = 600 * NS_PER_SEC;
	cfg->max_conns = 16384;
	cfg->max_pubs = 16384;
	cfg->max_requests = 65536;
	cfg->max_http = 65536;
	cfg->max_http_per_conn = 64;
	cfg->max_subs = 65536;
	cfg->max_edges = 2048;
	cfg->max_components = 4096;
	cfg->max_subjects = 4096;
	cfg->max_reorder = 16384;
	cfg->payload_keep = 1024;
}

static size_t at_least_one(size_t v)
{
	return v ? v : 1;
}

struct correlator *corr_new(const struct corr_config *cfg)
{
	struct correlator *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (cfg)
		c->cfg = *cfg;
	else
		corr_config_default(&c->cfg);
	c->cfg.max_conns = at_least_one(c->cfg.max_conns);
	c->cfg.max_pubs = at_least_one(c->cfg.max_pubs);
	c->cfg.max_requests = at_least_one(c->cfg.max_requests);
	c->cfg.max_http = at_least_one(c->cfg.max_http);
	c->cfg.max_http_per_conn = at_least_one(c->cfg.max_http_per_conn);
	c->cfg.max_edges = at_least_one(c->cfg.max_edges);
	c->cfg.max_components = at_least_one(c->cfg.max_components);
	c->cfg.max_subjects = at_least_one(c->cfg.max_subjects);
	c->cfg.max_reorder = at_least_one(c->cfg.max_reorder);
	/* what matching needs, and what the subject table keeps */
	c->obs_keep = c->cfg.payload_keep > PUB_MATCH_BYTES ? c->cfg.payload_keep :
							      PUB_MATCH_BYTES;
	/* an observation block: the struct, room for its strings, the payload
	 * bytes it carries (320 bytes for trace); the 1 ms window holds 400 of
	 * them at 400k records a second */
	pool_init(&c->obs_pool, (sizeof(struct obs) + 96 + c->obs_keep + 63) & ~(size_t)63,
		  4096);
	/* a publication: the struct, its payload key bytes, room for subject,
	 * reply and template (576 bytes) */
	pool_init(&c->pub_pool, (sizeof(struct pub) + PUB_MATCH_BYTES + 128 + 63) & ~(size_t)63,
		  4096);
	pool_init(&c->dlv_pool, 128, 4096);
	list_init(&c->conn_lru);
	list_init(&c->sock_lru);
	list_init(&c->comp_list);
	list_init(&c->wild_subs);
	list_init(&c->pub_age);
	list_init(&c->info_lru);
	list_init(&c->pub_settle);
	list_init(&c->req_age);
	list_init(&c->hx_age);
	list_init(&c->edge_lru);
	list_init(&c->subj_lru);
	if (htab_init(&c->socks) || htab_init(&c->conns) || htab_init(&c->comps) ||
	    htab_init(&c->lit_subs) || htab_init(&c->pubs) ||
	    htab_init(&c->short_pubs) || htab_init(&c->pub_class) ||
	    htab_init(&c->dlvs) ||
	    htab_init(&c->reqs) || htab_init(&c->edges) ||
	    htab_init(&c->subjs)) {
		corr_free(c);
		return NULL;
	}
	return c;
}

void corr_free(struct correlator *c)
{
	if (!c)
		return;
	while (c->reorder.n)
		obs_release(c, reorder_pop(&c->reorder));
	free(c->reorder.ring);
	while (!list_empty(&c->sock_lru))
		sock_view_drop(c, container_of(c->sock_lru.next, struct sock_view, lru));
	while (!list_empty(&c->pub_age))
		pub_free(c, container_of(c->pub_age.next, struct pub, age));
	while (!list_empty(&c->req_age))
		request_free(c, container_of(c->req_age.next, struct request, age));
	while (!list_empty(&c->conn_lru))
		lconn_kill(c, container_of(c->conn_lru.next, struct lconn, lru));
	while (!list_empty(&c->edge_lru))
		edge_free(c, container_of(c->edge_lru.next, struct edge, lru));
	while (!list_empty(&c->subj_lru))
		subj_free(c, container_of(c->subj_lru.next, struct subj, lru));
	while (!list_empty(&c->comp_list)) {
		struct comp *k = container_of(c->comp_list.next, struct comp, all);

		list_del(&k->all);
		free(k);
	}
	htab_fini(&c->socks);
	htab_fini(&c->conns);
	htab_fini(&c->comps);
	htab_fini(&c->lit_subs);
	htab_fini(&c->pubs);
	htab_fini(&c->short_pubs);
	htab_fini(&c->pub_class);
	htab_fini(&c->dlvs);
	htab_fini(&c->reqs);
	htab_fini(&c->edges);
	htab_fini(&c->subjs);
	pool_fini(&c->obs_pool);
	pool_fini(&c->pub_pool);
	pool_fini(&c->dlv_pool);
	free(c);
}

void corr_record(struct correlator *c, const struct msg_record *rec)
{
	struct obs *o;

	if (!c || !rec || c->finished)
		return;
	c->ctr.records++;
	if (!rec->conn || (rec->proto != PROTO_NATS && rec->proto != PROTO_HTTP)) {
		c->ctr.ignored++;
		return;
	}
	o = obs_new(c, rec);
	if (!o) {
		c->ctr.ignored++;
		return;
	}
	if (o->ts > c->latest)
		c->latest = o->ts;
	if (c->reorder.n >= c->cfg.max_reorder) {
		struct obs *top = reorder_pop(&c->reorder);

		c->ctr.overflow_reorder++;
		process(c, top);
		obs_release(c, top);
	}
	if (reorder_push(&c->reorder, o)) { /* no memory to wait: handle it now */
		process(c, o);
		obs_release(c, o);
	}
	drain(c, c->latest > c->cfg.skew_ns ? c->latest - c->cfg.skew_ns : 0);
}

void corr_record_cb(const struct msg_record *rec, void *ctx)
{
	corr_record(ctx, rec);
}

void corr_advance(struct correlator *c, uint64_t now_ns)
{
	if (!c || c->finished)
		return;
	if (now_ns > c->latest)
		c->latest = now_ns;
	drain(c, c->latest > c->cfg.skew_ns ? c->latest - c->cfg.skew_ns : 0);
}

void corr_finish(struct correlator *c)
{
	if (!c || c->finished)
		return;
	while (c->reorder.n) {
		struct obs *o = reorder_pop(&c->reorder);

		process(c, o);
		obs_release(c, o);
	}
	/* nothing more can arrive: what is pending is as complete as it gets */
	while (!list_empty(&c->pub_age)) {
		struct pub *p = container_of(c->pub_age.next, struct pub, age);

		pub_finalize(c, p, pub_complete(c, p));
	}
	while (!list_empty(&c->req_age)) {
		struct request *r = container_of(c->req_age.next, struct request, age);

		if (!r->replies)
			request_unfinished(c, r);
		request_free(c, r);
	}
	while (!list_empty(&c->hx_age)) {
		struct hx *hx = container_of(c->hx_age.next, struct hx, age);

		if (!hx->answered)
			http_unfinished(c, hx);
		hx_free(c, hx);
	}
	if (c->started) {
		if (c->cfg.periodic_flows && c->clock > c->interval_start)
			emit_flows(c, false, c->interval_start, c->clock);
		emit_flows(c, true, 0, c->clock);
	}
	c->finished = true;
}

uint64_t corr_now(const struct correlator *c)
{
	return c->clock;
}

const struct corr_counters *corr_counters(const struct correlator *c)
{
	return &c->ctr;
}

size_t corr_foreach_edge(const struct correlator *c, corr_edge_fn fn, void *ctx)
{
	size_t n = 0;

	for (struct list *it = c->edge_lru.next; it != &c->edge_lru; it = it->next) {
		n++;
		if (fn(&container_of(it, struct edge, lru)->pub, ctx))
			break;
	}
	return n;
}

void corr_edge_stats(const struct correlator *c, const struct corr_edge *pe,
		     enum corr_window w, struct corr_stats *out)
{
	const struct edge *e = container_of(pe, struct edge, pub);
	const struct edge_stats *s = w == CORR_TOTAL ? &e->total :
				     w == CORR_LAST_INTERVAL ? &e->last : &e->cur;

	fill_stats(c, e, s, out);
}

size_t corr_sorted_edges(const struct correlator *c,
			 const struct corr_edge **out, size_t max)
{
	const struct corr_edge **v;
	size_t n = 0;

	if (!c->nedges || !out || !max)
		return c->nedges;
	v = calloc(c->nedges, sizeof(*v));
	if (!v)
		return 0;
	for (struct list *it = c->edge_lru.next; it != &c->edge_lru; it = it->next)
		v[n++] = &container_of(it, struct edge, lru)->pub;
	qsort(v, n, sizeof(*v), edge_cmp);
	memcpy(out, v, (n < max ? n : max) * sizeof(*v));
	free(v);
	return n;
}

size_t corr_foreach_component(const struct correlator *c, corr_component_fn fn,
			      void *ctx)
{
	size_t n = 0;

	for (struct list *it = c->comp_list.next; it != &c->comp_list; it = it->next) {
		n++;
		if (fn(&container_of(it, struct comp, all)->pub, ctx))
			break;
	}
	return n;
}

size_t corr_foreach_subject(const struct correlator *c, corr_subject_fn fn,
			    void *ctx)
{
	size_t n = 0;

	for (struct list *it = c->subj_lru.next; it != &c->subj_lru; it = it->next) {
		n++;
		if (fn(&container_of(it, struct subj, lru)->pub, ctx))
			break;
	}
	return n;
}

size_t corr_foreach_subscription(const struct correlator *c,
				 const struct corr_component *comp,
				 corr_subscription_fn fn, void *ctx)
{
	size_t n = 0;

	for (struct list *it = c->conn_lru.next; it != &c->conn_lru; it = it->next) {
		const struct lconn *lc = container_of(it, struct lconn, lru);
		const struct comp *k = lc->end[SIDE_CLIENT].comp;

		if (comp && (!k || &k->pub != comp))
			continue;
		for (size_t i = 0; i < lc->subs.nslots; i++) {
			for (struct hnode *h = lc->subs.slots[i]; h; h = h->next) {
				const struct sub *s = container_of(h, struct sub, by_sid);
				struct corr_subscription v;

				if (s->learned) /* a guess, not what a SUB said */
					continue;
				v = (struct corr_subscription){
					.comp = k ? &k->pub : NULL,
					.addr = lc->addr[SIDE_CLIENT],
					.client_name = lc->name,
					.subject = s->subject,
					.queue = s->queue,
					.sid = s->sid,
					.max = s->max,
					.delivered = s->delivered,
				};

				n++;
				if (fn(&v, ctx))
					return n;
			}
		}
	}
	return n;
}

size_t corr_component_label(const struct corr_component *k, char *buf, size_t n)
{
	const struct endpoint_info *i = k ? &k->info : NULL;
	int r;

	if (!k)
		r = snprintf(buf, n, "?");
	else if (k->local && i->name[0])
		r = snprintf(buf, n, "%s[%u]:%s", i->comm, i->pid, i->name);
	else if (k->local)
		r = snprintf(buf, n, "%s[%u]", i->comm, i->pid);
	else if (!strncmp(k->key, "ip:", 3) && i->name[0])
		r = snprintf(buf, n, "%s@%s", i->name, i->addr);
	else if (i->addr[0])
		r = snprintf(buf, n, "%s", i->addr);
	else
		r = snprintf(buf, n, "%s", k->key);
	return r < 0 ? 0 : (size_t)r;
}

const char *corr_proto_name(enum proto p)
{
	return p == PROTO_NATS ? "nats" : p == PROTO_HTTP ? "http" : "unknown";
}

const char *corr_kind_name(enum flow_kind k)
{
	return k == FLOW_KIND_MSG ? "msg" : k == FLOW_KIND_REQ ? "req" :
	       k == FLOW_KIND_ERR ? "err" : "?";
}
