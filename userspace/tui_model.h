/* SPDX-License-Identifier: MIT */
/*
 * tui_model.h — the data behind the top view, and the view's state.
 *
 * Collection and presentation are kept apart the way htop keeps them: this
 * module takes records, host metrics and counters in, keeps what the screen
 * needs (the flow correlator, a bounded ring of recent messages as small
 * copies, the last two host samples, msgscope's own counters), and holds the
 * presentation state (view, sort column, filter, selection, pause, details,
 * prompt). It never draws and never reads a clock: time comes in with the
 * data (live: the session's clock; replay: the trace's), so it is unit
 * tested without a terminal.
 *
 * The struct is public so that tui_text and tui_draw can read it; change it
 * only through the functions below.
 *
 * Tables are snapshots: tui_model_refresh() rebuilds the current view's rows
 * from the data (unless paused), then filter and sort produce `order`, an
 * index into the rows. Sorting, filtering and moving the selection work on
 * the snapshot, so a paused screen can be browsed without it changing.
 */
#ifndef MSGSCOPE_TUI_MODEL_H
#define MSGSCOPE_TUI_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "correlator.h"
#include "host_metrics.h"
#include "json_writer.h"
#include "record.h"
#include "tui_text.h"

enum tui_view { TV_FLOWS, TV_MESSAGES, TV_COMPONENTS, TV_SUBJECTS, TV__COUNT };

#define TUI_SUMMARY_MAX 200
#define TUI_KEY_MAX 160
#define TUI_FILTER_MAX 64
#define TUI_MAX_COLS 12
#define TUI_IDENT_MAX 256

/* A connection as the ring keeps it: once for all its messages there. */
struct tui_conn {
	struct conn_meta meta;
	unsigned refs;               /* slots holding it */
	struct tui_conn *next;       /* same hash bucket */
};

#define TUI_CONN_BUCKETS 256

/* A record as the ring keeps it: NATS whole, HTTP without the 64 header
 * slots of struct http_msg (the ones it has go in the slot's data). */
struct tui_kept {
	enum proto proto;            /* PROTO_UNKNOWN: nothing kept */
	struct tui_conn *conn;       /* referenced; NULL: none, or no memory */
	union {
		struct nats_msg nats;
		struct {
			enum http_kind kind;
			struct slice method, path, version, reason, body;
			int status, n_headers;
			uint64_t body_size;
			bool chunked, truncated;
			const struct http_header *headers;   /* in data */
		} http;
	};
};

/* One recent message, copied out of its record. */
struct tui_msg {
	/* The record itself, its slices pointing into data (payload or body
	 * cut to payload_cap): summary and json are rendered from it when
	 * first looked at (tui_model_msg, tui_model_msg_json), not for each
	 * of the hundred thousand records a second that pass through the
	 * ring unseen. */
	struct tui_kept kept;
	char *data;
	size_t data_cap;
	bool have_summary;
	uint64_t seq;                /* 1, 2, ...: identity in the ring */
	uint64_t ts_ns;
	uint64_t conn;
	uint32_t pid;                /* comm, local, peer: in kept.conn */
	enum direction dir;
	enum proto proto;
	bool error;                  /* NATS -ERR, HTTP status >= 500 */
	bool warn;                   /* HTTP status 4xx */
	bool request;                /* HTTP request, NATS PUB/HPUB with reply */
	uint64_t size;               /* payload or body bytes */
	char op[12];                 /* PUB, MSG, ..., GET, "200" */
	char key[TUI_KEY_MAX];       /* NATS subject; HTTP endpoint template */
	char reply[TUI_KEY_MAX];     /* NATS reply subject */
	char summary[TUI_SUMMARY_MAX];
	char *json;                  /* compact JSON, payload capped; may be NULL
				      * (tui_model_msg_json) */
};

/* msgscope's own numbers for the last line of the header. */
struct tui_self {
	bool live;                   /* kernel counters known (not replay) */
	double events_s, records_s;
	uint64_t events_total, records_total;
	uint64_t drops_total, drops_new;   /* new: in the last interval */
	uint64_t parse_errors;
	uint64_t conns_open;
	uint64_t held_back;          /* messages not kept while paused */
	uint32_t shed_bytes;         /* shedding: bytes copied per call; 0 not */
	/* where the last interval started */
	uint64_t tick_ns, tick_records, tick_drops, tick_events;
};

/* A table snapshot for one view. Cells are offsets into text. */
struct tui_row {
	uint32_t cell[TUI_MAX_COLS];
	double key[TUI_MAX_COLS];    /* numeric sort keys */
	unsigned char hl[TUI_MAX_COLS];
	uint32_t ident;              /* offset of the row's identity text */
};

struct tui_table {
	enum tui_view view;
	const struct tui_col *cols;
	int ncols;
	struct tui_row *rows;
	size_t nrows, cap;
	char *text;
	size_t tlen, tcap;
	size_t *order;               /* filtered and sorted row indexes */
	size_t norder;
};

struct tui_viewstate {
	int sort_col;
	bool sort_desc;
	size_t sel;                  /* index into order */
	size_t top;                  /* first row on screen */
	char sel_ident[TUI_IDENT_MAX];
};

enum tui_prompt { PROMPT_NONE, PROMPT_FILTER, PROMPT_DELAY, PROMPT_JUMP };

struct tui_details {
	bool open;
	enum tui_view view;
	char ident[TUI_IDENT_MAX];
	struct tui_line *lines;
	int n, cap;
	int scroll;
};

struct tui_model_opts {
	size_t ring_size;            /* messages kept (default 2048) */
	bool no_messages;            /* keep none: nothing will show them (a
				      * batch run printing another view) */
	size_t payload_cap;          /* payload/body bytes kept per message (2048) */
	uint64_t interval_ns;        /* refresh interval */
	bool replay;                 /* records come from a trace */
	const char *source;          /* replay: trace file name */
	struct correlator *corr;     /* borrowed; NULL: the model makes its own */
	corr_resolve_fn resolve_addr;/* for its own correlator; may be NULL */
	corr_describe_fn describe_pid;
	void *resolve_ctx;
};

#define TUI_RATE_VALUES 4

/* Totals of one row at the last tick and their growth per second. */
struct rate_ent {
	char *key;
	uint64_t v[TUI_RATE_VALUES];
	double r[TUI_RATE_VALUES];
};

struct rate_tab {
	struct rate_ent *slots;      /* open addressing, cap a power of two */
	size_t cap, n;
};

struct tui_model {
	/* ---- data ---- */
	struct correlator *corr;
	bool own_corr;               /* else borrowed: reset_data cannot renew it */
	uint64_t corr_interval_ns;
	corr_resolve_fn resolve_addr;/* for a renewed correlator */
	corr_describe_fn describe_pid;
	void *resolve_ctx;
	struct tui_msg *ring;
	size_t ring_cap, ring_head, ring_count;   /* head: next slot */
	struct tui_conn *conns[TUI_CONN_BUCKETS]; /* the ring's, by id */
	struct tui_conn *last_conn;  /* the latest kept: most messages' */
	bool no_messages;            /* the ring stays empty */
	uint64_t next_seq;
	size_t payload_cap;
	struct host_sample *samples; /* [2], ~30 KiB each */
	int sample_cur;
	bool have_sample;
	struct host_metrics *hm;
	bool hm_valid;
	struct tui_self self;
	uint64_t now_ns;             /* data time (epoch ns) */
	uint64_t first_ns;           /* first data time seen */
	struct rate_tab rates;       /* per row: totals at the last tick, rates */
	double rate_secs;            /* the interval those rates cover */
	char host[64];

	/* ---- presentation ---- */
	bool replay;
	char source[256];
	double speed;                /* replay */
	uint64_t trace_start_ns, trace_end_ns;  /* replay, when known */
	bool trace_done;             /* replay: reached the end */
	uint64_t interval_ns;
	enum tui_view view;
	struct tui_viewstate vs[TV__COUNT];
	struct tui_table table;
	char filter[TUI_FILTER_MAX];
	bool paused;
	bool per_cpu;
	bool help;
	struct tui_details details;
	enum tui_prompt prompt;
	char prompt_buf[TUI_FILTER_MAX];
	char prompt_prev[TUI_FILTER_MAX];  /* the filter before '/', for Esc */
	char status[160];            /* one-shot message for the status line */
	int body_rows;               /* rows the table gets on screen (set by the drawer) */
	int body_cols;               /* its width: details wrap there (0: TUI_LINE_MAX) */
};

int tui_model_init(struct tui_model *m, const struct tui_model_opts *o);
void tui_model_free(struct tui_model *m);

/* ---- data in ---- */

/* A redacted record: to the correlator, and to the ring unless paused
 * (live). */
void tui_model_add_record(struct tui_model *m, const struct msg_record *rec);
/* Data time moves on (replay: as trace time passes between records). */
void tui_model_advance(struct tui_model *m, uint64_t now_ns);
/* One refresh interval ended at now_ns: advance, then the per-interval
 * numbers (records/s, component bytes/s, new drops). */
void tui_model_tick(struct tui_model *m, uint64_t now_ns);
/* Live: read the host now (procfs/sysfs roots), mono_ns from the caller. */
int tui_model_sample_host(struct tui_model *m, uint64_t mono_ns,
			  const char *procfs, const char *sysfs);
/* Replay: the metrics of a "metrics" trace line. 0, or -EINVAL when the
 * object does not look like one. */
int tui_model_set_metrics_json(struct tui_model *m, const json_t *obj);
/* Live: session counters at now_ns (epoch): rates over the time since the
 * previous call. */
void tui_model_set_counters(struct tui_model *m, uint64_t now_ns,
			    uint64_t events_total, uint64_t drops_total,
			    uint64_t parse_errors, uint64_t conns_open);
/* Replay reached the end of the trace: let the correlator finish what is
 * pending (deliveries waiting for a timeout). Records after this are
 * counted but not correlated until tui_model_reset_data. */
void tui_model_finish(struct tui_model *m);
/* Replay: a "drops" line. */
void tui_model_add_drops(struct tui_model *m, uint64_t events);
/* Replay restarts from the beginning (jump backwards): forget the data. */
int tui_model_reset_data(struct tui_model *m);

/* ---- presentation ---- */

/* Rebuild the current table from the data (not when paused, unless
 * force), re-apply filter and sort, keep the selection on the same row,
 * refresh an open details pane. */
void tui_model_refresh(struct tui_model *m, bool force);
void tui_model_set_view(struct tui_model *m, enum tui_view v);
void tui_model_set_filter(struct tui_model *m, const char *text);
/* Sort by column col (clamped); same column again reverses the order. */
void tui_model_sort_by(struct tui_model *m, int col);
/* Move the sort column by delta (wraps), keeping the order's direction
 * default for that column. */
void tui_model_sort_step(struct tui_model *m, int delta);
void tui_model_sort_reverse(struct tui_model *m);
/* Move the selection by delta rows (clamped); LONG_MIN/LONG_MAX: first/last. */
void tui_model_move(struct tui_model *m, long delta);
void tui_model_set_paused(struct tui_model *m, bool paused);
void tui_model_open_details(struct tui_model *m);
void tui_model_close_details(struct tui_model *m);
void tui_model_scroll_details(struct tui_model *m, long delta);
void tui_model_set_status(struct tui_model *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- queries for text and draw ---- */

const char *tui_view_name(enum tui_view v);
/* A view by name or number ("flows", "2"); -1 when unknown. */
int tui_view_parse(const char *s);
const struct tui_row *tui_model_row(const struct tui_model *m, size_t i); /* i in order */
const char *tui_table_cell(const struct tui_table *t, const struct tui_row *r, int col);
const char *tui_table_ident(const struct tui_table *t, const struct tui_row *r);
/* The ring, newest first: i = 0 is the newest; NULL past the end. */
const struct tui_msg *tui_model_msg(const struct tui_model *m, size_t i);
/* g's record as compact JSON (payload capped), rendered on first use;
 * NULL when out of memory. */
const char *tui_model_msg_json(const struct tui_model *m, const struct tui_msg *g);
const struct tui_msg *tui_model_msg_by_seq(const struct tui_model *m, uint64_t seq);
/* A message's process name, made printable, into out[COMM_LEN]; and its
 * connection's addresses ("" when it had no connection). */
void tui_msg_comm(const struct tui_msg *g, char *out);
const char *tui_msg_local(const struct tui_msg *g);
const char *tui_msg_peer(const struct tui_msg *g);
/*
 * Per-second growth, over the last tick interval, of a row's totals:
 *   edges      "e|..." (tui_model_edge_ident): messages, bytes
 *   components "c|KEY": msgs in, msgs out, bytes in, bytes out
 *   subjects   "s|SUBJECT": publications, bytes, deliveries
 * r[] gets TUI_RATE_VALUES values (0 when unknown); false when the row
 * was not there at the last tick.
 */
bool tui_model_rates(const struct tui_model *m, const char *key, double *r);
/* An edge's identity across refreshes (its pointer is not stable). */
void tui_model_edge_ident(const struct corr_edge *e, char *buf, size_t n);
/* The interval the latest rates cover, in seconds (0 before two ticks). */
double tui_model_rate_interval(const struct tui_model *m);

/* ---- building tables (used by tui_text) ---- */

void tui_table_reset(struct tui_table *t, enum tui_view v,
		     const struct tui_col *cols, int ncols);
/* Append a row; returns it (its cells empty) or NULL when out of memory. */
struct tui_row *tui_table_add_row(struct tui_table *t, const char *ident);
void tui_table_set(struct tui_table *t, struct tui_row *r, int col,
		   const char *text, double key, enum tui_hl hl);

#endif /* MSGSCOPE_TUI_MODEL_H */
