/* SPDX-License-Identifier: MIT */
/*
 * correlator.h — from per-message records to the picture: components, the
 * edges between them, NATS fan-outs and request-reply exchanges, HTTP
 * exchanges, with latency. Pure: records in, flow events out, no I/O (the
 * only outside knowledge comes through the optional callbacks in
 * corr_config, e.g. sock_resolver.h).
 *
 * Model
 * -----
 * Every record is an observation, by one process, of one message on one TCP
 * connection. Both ends of a connection (client socket, server socket) map to
 * one "logical connection" keyed by (client address, server address): the
 * protocol says which end sent a message (PUB, SUB, CONNECT and HTTP requests
 * come from the client; INFO, MSG, -ERR and responses from the server), so the
 * end a record was taken at is known without relying on `role`.
 *
 * The same message seen at several points (publisher's write, server's read,
 * server's write, subscriber's read) is one flow event: an observation merges
 * into the oldest pending unit of the same logical connection and content
 * that has not yet been seen from that end (first-in first-out per end, which
 * is exact as long as no end lost a message). A sent record marked
 * peer_read (trace --pair-local) is also the other end's sight, at the
 * same time: that end's own record was left out. Each end queues what it has
 * yet to see, so the usual match is the front of its queue; the content
 * hash tables find the rest (an end that lost a record, a capture cut
 * short, a publication inferred from its deliveries).
 *
 * Records may arrive out of time order by up to cfg.skew_ns (several CPUs,
 * messages split across reads and stamped with their first byte):
 * they are held in a reorder buffer and processed in timestamp order once
 * the newest record seen is skew_ns ahead of them. Time is record time:
 * nothing here reads a clock; corr_advance() moves time on when no records
 * come (live use: call it from the refresh timer with the current time).
 *
 * A NATS publication waits until it is complete — every end that is observed
 * has seen it and every known subscription that should get it (wildcards,
 * one member per queue group, no echo) has a delivery — or until timeout_ns;
 * then one FLOW_EV_DELIVERY is emitted. Completeness needs a complete
 * subscription registry, which exists only for connections whose CONNECT was
 * seen. While a NATS connection that predates the trace is alive, its
 * subscriptions are learned from the MSGs it gets (a sid and the subject it
 * received stand in for the unknown filter), and a publication goes out,
 * marked incomplete, settle_ns after it was seen once everything it is
 * known to need has happened (else at timeout_ns). A delivery later than
 * that to a subscription not yet learned stands alone, its publication
 * unseen. Counts and edges are updated at once either way; only the
 * delivery event waits.
 *
 * A publication with a reply subject is a request; a publication on a
 * pending request's reply subject is a reply and forms a FLOW_EV_EXCHANGE
 * (latency: first sight of the reply − first sight of the request; every
 * reply within timeout_ns forms one, so scatter-gather gives several). No
 * reply within timeout_ns: an exchange with answered = false, an error.
 * A header-only reply "NATS/1.0 503" (no responders) is an error exchange.
 * HTTP requests and responses pair per logical connection in order
 * (pipelining); 1xx other than 101 are skipped.
 *
 * Components: a process on this host (pid known from a record on its own
 * socket, or from cfg.resolve_addr for the other end of a local connection),
 * else a remote endpoint: a server end as "ip:port"; a client end as its IP
 * (plus "/name" for a NATS client that sent one) because its port is
 * ephemeral and would make one component per connection.
 *
 * Edges (the flow table): (proto, kind, from, to, subject or endpoint):
 *  - FLOW_KIND_MSG: NATS deliveries of publications that are neither
 *    requests nor replies, publisher → subscriber, subject template (tokens
 *    that look like ids become "*"); to = NULL counts publications that no
 *    observed subscriber received. Latency: delivery − publication.
 *  - FLOW_KIND_REQ: NATS request-reply (requester → responder, request
 *    subject template) and HTTP (client → server, method + endpoint
 *    template) exchanges, bytes of request + response, latency, errors
 *    (HTTP >= 500, NATS status >= 500, no reply before timeout_ns).
 *    Requests still open at corr_finish count too, without error. The
 *    deliveries of requests and replies appear in FLOW_EV_DELIVERY events
 *    but not as FLOW_KIND_MSG edges (the exchange is their edge).
 *  - FLOW_KIND_ERR: NATS -ERR, client → server, subject = the error text.
 *
 * Memory is bounded by the max_* caps; what is pushed out is counted in
 * struct corr_counters (a publication pushed out is emitted early, a
 * connection pushed out forgets its subscriptions).
 *
 * Lifetimes: pointers handed to callbacks or returned by the query functions
 * are valid until the next corr_record/corr_advance/corr_finish call, except
 * components, which live until corr_free. Single-threaded.
 */
#ifndef MSGSCOPE_CORRELATOR_H
#define MSGSCOPE_CORRELATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define CORR_NAME_LEN 64
#define CORR_LANG_LEN 16
#define CORR_VERSION_LEN 32
#define CORR_EXE_LEN 256
#define CORR_CGROUP_LEN 128

/* What is known of one end of a connection, or of a component. Empty
 * strings and pid 0 mean unknown. */
struct endpoint_info {
	uint32_t pid;                    /* local process (tgid) */
	char comm[COMM_LEN];
	char name[CORR_NAME_LEN];        /* NATS CONNECT name (server end: INFO server_name) */
	char lang[CORR_LANG_LEN];        /* NATS CONNECT lang */
	char version[CORR_VERSION_LEN];  /* NATS CONNECT version */
	char addr[ADDR_STRLEN];          /* "ip:port" of this end */
	char exe[CORR_EXE_LEN];          /* /proc/PID/exe */
	char cgroup[CORR_CGROUP_LEN];    /* container id when one is found, else cgroup path */
	/* Nonzero: the correlator's name for exactly this content, so that
	 * what renders endpoints can cache by it; 0: compare the strings. */
	uint64_t key;
};

/*
 * Who owns the local socket bound to addr ("ip:port")? Fill out->pid and
 * out->comm (and exe/cgroup if cheap) and return true, or false when addr is
 * not a socket of this host. Called at most once per second per unresolved
 * connection end.
 */
typedef bool (*corr_resolve_fn)(const char *addr, struct endpoint_info *out,
				void *ctx);
/* Fill exe and cgroup (comm if empty) of a local pid; called once per
 * component. */
typedef bool (*corr_describe_fn)(uint32_t pid, struct endpoint_info *out,
				 void *ctx);

enum flow_kind {
	FLOW_KIND_MSG = 1,   /* NATS pub/sub delivery */
	FLOW_KIND_REQ = 2,   /* request-reply (NATS) or HTTP exchange */
	FLOW_KIND_ERR = 3,   /* NATS -ERR */
};

/* A component. Read-only for users; lives until corr_free. */
struct corr_component {
	const char *key;          /* "pid:1234:comm", "addr:ip:port", "ip:ip[/name]", "(other)" */
	struct endpoint_info info;
	bool local;               /* a process on this host */
	uint64_t msgs_in, msgs_out;   /* NATS deliveries in / publications out; HTTP messages */
	uint64_t bytes_in, bytes_out; /* payload and body bytes */
	uint64_t errors;              /* exchanges in error it took part in, -ERR received */
	uint64_t last_msgs_in, last_msgs_out; /* in the last complete interval */
	uint64_t first_ts, last_ts;
};

/* An edge of the flow table. */
struct corr_edge {
	enum proto proto;
	enum flow_kind kind;
	const struct corr_component *from;  /* NULL: sender not seen */
	const struct corr_component *to;    /* NULL: no observed receiver/responder */
	const char *subject;  /* NATS subject template, HTTP endpoint template, -ERR text */
	const char *method;   /* HTTP method, else NULL */
	uint64_t first_ts, last_ts;
};

enum corr_window {
	CORR_TOTAL = 0,          /* since the start */
	CORR_LAST_INTERVAL = 1,  /* the last complete interval */
	CORR_CURRENT = 2,        /* the interval in progress */
};

struct corr_stats {
	uint64_t count, bytes, errors;
	uint64_t samples;        /* latency samples; percentiles are 0 without */
	uint64_t p50_ns, p90_ns, p99_ns, max_ns;
	double rate;             /* count per second over the last complete
				  * interval (in FLOW_EV_FLOW: over the window
				  * reported, the whole trace for final ones) */
};

#define CORR_SUBJECT_PEERS 8

/* A NATS subject (template), as the TUI's subject view shows it. */
struct corr_subject {
	const char *subject;          /* template: id-like tokens are "*" */
	const char *last_subject;     /* literal subject of the last publication */
	uint64_t msgs, deliveries, bytes;
	uint64_t last_msgs;           /* publications in the last complete interval */
	uint64_t first_ts, last_ts;
	const unsigned char *last_payload; /* first payload_keep bytes */
	size_t last_payload_len;
	uint64_t last_size;           /* declared size of the last payload */
	bool last_truncated;          /* last_payload_len < last_size */
	const struct corr_component *publishers[CORR_SUBJECT_PEERS];
	size_t n_publishers;
	const struct corr_component *subscribers[CORR_SUBJECT_PEERS];
	size_t n_subscribers;
	bool more_publishers, more_subscribers; /* caps reached */
};

/* A live subscription from the registry. */
struct corr_subscription {
	const struct corr_component *comp;  /* NULL until the client end was resolved */
	const char *addr;                   /* client end "ip:port" */
	const char *client_name;            /* CONNECT name, "" if none */
	const char *subject;                /* filter, may have wildcards */
	const char *queue;                  /* NULL: not a queue subscription */
	const char *sid;
	int64_t max;                        /* auto-unsubscribe after; -1: none */
	uint64_t delivered;
};

/* ---- flow events ---- */

enum flow_event_type {
	FLOW_EV_EXCHANGE = 1,
	FLOW_EV_DELIVERY = 2,
	FLOW_EV_FLOW = 3,
};

struct flow_exchange {
	enum proto proto;
	bool answered;           /* false: timed out */
	bool error;              /* timeout, HTTP >= 500, NATS status >= 500 */
	const char *error_reason;/* "timeout", "status", or NULL */
	uint64_t latency_ns;     /* answered only */
	const char *subject;     /* NATS request subject */
	const char *reply;       /* NATS reply subject */
	const char *method;      /* HTTP */
	const char *path;        /* HTTP request target as sent */
	const char *endpoint;    /* HTTP path template */
	int status;              /* HTTP status; NATS header status; 0: none */
	uint64_t request_bytes, response_bytes;
	const struct endpoint_info *client;  /* NULL: not seen */
	const struct endpoint_info *server;  /* NULL: not seen / nobody answered */
};

struct flow_receiver {
	const struct endpoint_info *ep;
	const char *sid;
	const char *queue;       /* NULL: not a queue subscription */
	uint64_t ts_ns;          /* first sight of the delivery */
};

struct flow_delivery {
	const char *subject;
	const char *reply;       /* "" when none */
	uint64_t size;           /* payload bytes */
	uint64_t header_size;
	const struct endpoint_info *from;    /* NULL: the publication was not seen */
	const struct endpoint_info *server;  /* NATS server end of the publisher's
						 (else first receiver's) connection */
	const struct flow_receiver *to;
	size_t n_to;
	bool complete;           /* every expected subscriber got it */
};

struct flow_summary {
	const struct corr_edge *edge;
	struct corr_stats stats;
	bool final;              /* whole trace, else one interval */
	uint64_t start_ns;       /* interval start, or edge first_ts when final */
	uint64_t interval_ns;    /* 0 when final */
};

struct flow_event {
	enum flow_event_type type;
	uint64_t ts_ns;   /* exchange: request; delivery: publication; flow: end of window */
	union {
		struct flow_exchange exchange;
		struct flow_delivery delivery;
		struct flow_summary flow;
	};
};

typedef void (*flow_event_cb)(const struct flow_event *ev, void *ctx);

struct corr_config {
	uint64_t timeout_ns;     /* pending request/publication lifetime (5 s) */
	uint64_t skew_ns;        /* reorder window (1 ms) */
	uint64_t settle_ns;      /* grace for a publication that cannot be
				  * known complete (100 ms), see pub_check() */
	uint64_t interval_ns;    /* rate window, periodic flows (1 s) */
	bool periodic_flows;     /* emit FLOW_EV_FLOW per interval (false) */
	uint64_t conn_idle_ns;   /* forget a connection idle this long (10 min; 0 never) */
	size_t max_conns;        /* logical connections (16384) */
	size_t max_pubs;         /* pending publications (16384: ~10 MiB) */
	size_t max_requests;     /* pending NATS requests (65536) */
	size_t max_http;         /* pending HTTP exchanges (65536) */
	size_t max_http_per_conn;/* pipelined on one connection (64) */
	size_t max_subs;         /* subscriptions, all connections (65536) */
	size_t max_edges;        /* (2048) */
	size_t max_components;   /* (4096), then "(other)" */
	size_t max_subjects;     /* (4096) */
	size_t max_reorder;      /* records held for reordering (16384) */
	size_t payload_keep;     /* last payload bytes kept per subject (1024;
				  * 0 when nothing shows them) */
	corr_resolve_fn resolve_addr;
	corr_describe_fn describe_pid;
	void *resolve_ctx;
	flow_event_cb emit;
	void *emit_ctx;
};

struct corr_counters {
	uint64_t records;            /* fed */
	uint64_t ignored;            /* no connection, other protocol, side unknown */
	uint64_t late;               /* arrived after their time had been processed */
	uint64_t merged;             /* observations merged into an existing unit */
	uint64_t publications;
	uint64_t deliveries;
	uint64_t orphan_deliveries;  /* delivery whose publication was not seen */
	uint64_t exchanges;          /* answered */
	uint64_t timeouts;           /* requests without reply in timeout_ns */
	uint64_t unfinished;         /* requests still open at corr_finish:
				      * counted on their edge, no error */
	uint64_t unmatched_responses;
	uint64_t unknown_sids;       /* MSG for a sid not in a complete registry */
	uint64_t learned_subs;       /* sids learned from MSGs (registry unknown) */
	uint64_t settled;            /* publications out after settle_ns,
				      * incomplete (registry unknown) */
	uint64_t nats_errors;        /* -ERR */
	uint64_t expired_conns;      /* idle */
	uint64_t evicted_conns;
	uint64_t evicted_pubs;
	uint64_t evicted_requests;
	uint64_t evicted_http;
	uint64_t evicted_edges;
	uint64_t evicted_subjects;
	uint64_t overflow_components;
	uint64_t overflow_subs;
	uint64_t overflow_reorder;
	uint64_t match_window;       /* matches that stopped at MATCH_WINDOW
				      * identical pending publications */
};

struct correlator;

void corr_config_default(struct corr_config *cfg);

/* NULL on allocation failure. cfg is copied. */
struct correlator *corr_new(const struct corr_config *cfg);
void corr_free(struct correlator *c);

/* Feed one record (copied; rec may go away on return). */
void corr_record(struct correlator *c, const struct msg_record *rec);
/* record_cb adapter: ctx is the correlator. */
void corr_record_cb(const struct msg_record *rec, void *ctx);
/*
 * Time passes without records: process what is due at now_ns. Live use:
 * call it from the refresh timer after the ring buffer has been drained,
 * with the current CLOCK_REALTIME (records carry epoch timestamps); a record
 * older than what was already processed is still handled, but counted late
 * (it may then duplicate a unit that has already been emitted).
 */
void corr_advance(struct correlator *c, uint64_t now_ns);
/* End of input: process everything, flush pending publications, emit the
 * last periodic and the final flows (sorted by count, descending). Further
 * records are ignored; the query functions keep working. */
void corr_finish(struct correlator *c);

/* Processing time: the timestamp up to which records have been handled. */
uint64_t corr_now(const struct correlator *c);
const struct corr_counters *corr_counters(const struct correlator *c);

/* Iteration: the callback returns non-zero to stop. Returns how many items
 * were visited. Edges come least recently updated first. */
typedef int (*corr_edge_fn)(const struct corr_edge *e, void *ctx);
typedef int (*corr_component_fn)(const struct corr_component *comp, void *ctx);
typedef int (*corr_subject_fn)(const struct corr_subject *s, void *ctx);
typedef int (*corr_subscription_fn)(const struct corr_subscription *s, void *ctx);

size_t corr_foreach_edge(const struct correlator *c, corr_edge_fn fn, void *ctx);
void corr_edge_stats(const struct correlator *c, const struct corr_edge *e,
		     enum corr_window w, struct corr_stats *out);
/*
 * Edges sorted for display: count descending, then errors, then keys.
 * Fills out[0..max) and returns the number of edges (which may exceed max).
 */
size_t corr_sorted_edges(const struct correlator *c,
			 const struct corr_edge **out, size_t max);

/* Components in order of creation. What a component publishes, serves or
 * calls: the edges whose from/to it is; what it subscribes: its
 * subscriptions. */
size_t corr_foreach_component(const struct correlator *c, corr_component_fn fn,
			      void *ctx);
/* Subjects least recently published first. */
size_t corr_foreach_subject(const struct correlator *c, corr_subject_fn fn,
			    void *ctx);
/* Subscriptions held by comp's connections (all when comp is NULL). */
size_t corr_foreach_subscription(const struct correlator *c,
				 const struct corr_component *comp,
				 corr_subscription_fn fn, void *ctx);

/* "comm[pid]", "comm[pid]:name", "ip:port", "name@ip", "?" for NULL.
 * Returns the full length like snprintf. */
size_t corr_component_label(const struct corr_component *comp, char *buf,
			    size_t n);

const char *corr_proto_name(enum proto p);      /* "nats", "http", "unknown" */
const char *corr_kind_name(enum flow_kind k);   /* "msg", "req", "err" */

#endif /* MSGSCOPE_CORRELATOR_H */
