/* SPDX-License-Identifier: MIT */
/*
 * session.h — one live capture: the BPF probes, the connection table, the
 * redactor, and the single-threaded event loop that drives them (epoll over
 * the ring buffer, a signalfd, timerfds, and stdin or a child's pidfd).
 *
 * Sinks (the trace writer, the TUI) plug in through hooks and only ever see
 * records that went through redaction.
 */
#ifndef MSGSCOPE_SESSION_H
#define MSGSCOPE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "capture.h"
#include "conntrack.h"
#include "record.h"

enum stop_reason {
	STOP_NONE = 0, STOP_SIGNAL, STOP_DURATION, STOP_COMMAND,
	STOP_TARGETS, STOP_ERROR, STOP_USER,
};

struct session_opts {
	struct capture_opts cap;
	bool show_secrets;
	size_t max_payload;      /* payload/body bytes kept per message */
	size_t max_conns;
	char **cmd;              /* argv of `-- CMD`, or NULL */
	uint64_t duration_ns;    /* 0: until stopped */
	uint64_t interval_ns;    /* tick period */
	bool watch_stdin;        /* deliver keys to the key hook */
	int nice;                /* msgscope's own niceness once attached */
	bool sched_idle;         /* ... and SCHED_IDLE on top (priority.h) */
};

/* Counters at one instant; rates are the sinks' business. */
struct session_counters {
	uint64_t kernel[MS_STAT__COUNT];
	struct conntrack_stats ct;
	uint64_t events_seen;    /* ring buffer records read */
	uint64_t boosts;         /* times run at nice 0 to catch up (priority.h) */
	uint64_t futile_boosts;  /* ... of which events were dropped even so */
	uint64_t lifts;          /* times a starved reader was raised to look (prio_watch.h) */
	uint64_t sheds;          /* times it shed (--overload-snaplen) */
	uint64_t shed_ns;        /* ... for this long in all, up to now */
};

struct session;

struct session_hooks {
	void (*record)(const struct msg_record *rec, void *ctx);
	void (*tick)(struct session *s, uint64_t now_ns, void *ctx);
	/* Kernel drop counters grew: prev and cur snapshots. */
	void (*drops)(const struct session_counters *prev,
		      const struct session_counters *cur, uint64_t now_ns, void *ctx);
	/* Shedding started (for until_ns more, at most) or ended. */
	void (*shed)(bool on, uint32_t bytes, uint64_t until_ns, void *ctx);
	void (*key)(struct session *s, void *ctx);  /* stdin readable */
	void (*resize)(struct session *s, void *ctx);
	void *ctx;
};

/* Validates pids, starts CMD paused, loads and attaches the probes.
 * Returns 0 or -errno with one line already printed. */
int session_open(struct session **out, const struct session_opts *opts,
		 const struct session_hooks *hooks);
/* Runs until stopped; returns 0, or -errno on a loop failure. */
int session_run(struct session *s);
void session_stop(struct session *s, enum stop_reason why);
void session_close(struct session *s);

uint64_t session_now(const struct session *s);      /* epoch ns */
uint64_t session_started(const struct session *s);  /* epoch ns */
enum stop_reason session_stop_reason(const struct session *s);
const char *stop_reason_name(enum stop_reason why);
void session_counters(struct session *s, struct session_counters *out);
int session_child_exit_code(const struct session *s); /* -1 if none */
const char *session_capture_desc(const struct session *s);
uint32_t session_snaplen(const struct session *s);
/* "TLS: off" or what the TLS probes were attached to at start */
const char *session_tls_desc(const struct session *s);

#endif
