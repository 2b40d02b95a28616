/* SPDX-License-Identifier: MIT */
#include "session.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel_features.h"
#include "priority.h"
#include "prio_watch.h"
#include "proc.h"
#include "privdrop.h"
#include "redact.h"
#include "mono_clock.h"

#define MAX_FOLLOWED 8192
#define DRAIN_MS 50
#define FINAL_DRAIN_NS 2000000000ull
#define WAKEUP_FRACTION 16 /* wake the reader when 1/16 of the ring is used */
#define DROPS_READ_NS 25000000ull /* while boosted, read the drop counters this often */
#define BYTES_READ_NS 250000000ull /* otherwise, the byte counters this often */

enum { SRC_RING = 1, SRC_SIGNAL, SRC_TICK, SRC_DEADLINE, SRC_STDIN, SRC_CHILD };

struct session {
	struct session_opts opts;
	struct session_hooks hooks;
	struct capture *cap;
	struct conntrack *ct;
	struct redactor *redactor;
	int epfd, sigfd, tickfd, deadlinefd, pidfd;
	pid_t child;
	int child_status;
	bool child_done;
	uint64_t mono_to_epoch;   /* add to CLOCK_MONOTONIC to get epoch */
	uint64_t started;
	uint64_t events_seen;
	struct session_counters last;
	struct prio_gov gov;      /* priority.h */
	struct prio_watch *watch; /* lifts the reader when it starves: prio_watch.h */
	uint64_t gov_drops, gov_drops_read;
	bool shedding;
	uint64_t sheds, shed_since, shed_ns; /* CLOCK_MONOTONIC */
	enum stop_reason stop;
	sigset_t old_mask;
	bool mask_set;
};

uint64_t session_now(const struct session *s)
{
	return clock_ns(CLOCK_MONOTONIC) + s->mono_to_epoch;
}

uint64_t session_started(const struct session *s)
{
	return s->started;
}

/* ---- from kernel events to records to sinks ---------------------------- */

static void on_record(const struct msg_record *rec, void *ctx)
{
	struct session *s = ctx;
	struct msg_record r;

	if (!s->hooks.record)
		return;
	/* A record is 2 KiB (its HTTP member holds 64 headers): copied only
	 * when redaction may rewrite it. */
	if (s->opts.show_secrets || !redact_applies(rec)) {
		s->hooks.record(rec, s->hooks.ctx);
		return;
	}
	r = *rec;
	redact_record(s->redactor, &r);
	s->hooks.record(&r, s->hooks.ctx);
}

static void on_event(const void *data, size_t size, void *ctx)
{
	const struct ms_event_header *h = data;
	struct session *s = ctx;
	uint64_t ts = h->ts_ns + s->mono_to_epoch;

	s->events_seen++;
	switch (h->type) {
	case MS_EV_DATA: {
		const struct ms_data_event *e = data;

		if (size >= sizeof(*e) && size >= sizeof(*e) + e->cap_len)
			conntrack_data(s->ct, e, ts);
		break;
	}
	case MS_EV_CLOSE:
		if (size >= sizeof(struct ms_close_event))
			conntrack_close(s->ct, data, ts);
		break;
	case MS_EV_PROC_EXIT:
		conntrack_proc_exit(s->ct, h->tgid, ts);
		break;
	}
}

/* ---- set-up ------------------------------------------------------------- */

static int epoll_add(int epfd, int fd, int src)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = src };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int timer_new(uint64_t first_ns, uint64_t period_ns)
{
	struct itimerspec its = {
		.it_value = { first_ns / 1000000000ull, first_ns % 1000000000ull },
		.it_interval = { period_ns / 1000000000ull, period_ns % 1000000000ull },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* -p: every pid must exist now; their existing children come along. */
static int expand_pids(const struct capture_opts *in, uint32_t **out, size_t *n)
{
	uint32_t *pids = calloc(MAX_FOLLOWED, sizeof(*pids));

	if (!pids)
		return -ENOMEM;
	*n = 0;
	for (size_t i = 0; i < in->n_pids; i++) {
		if (!proc_exists(in->pids[i])) {
			fprintf(stderr, "msgscope: no such process: %u\n", in->pids[i]);
			free(pids);
			return -ESRCH;
		}
		if (*n < MAX_FOLLOWED)
			pids[(*n)++] = in->pids[i];
		proc_descendants(in->pids[i], pids, n, MAX_FOLLOWED);
	}
	*out = pids;
	return 0;
}

static int check_kernel(void)
{
	struct features f = {};
	bool mounted;
	int err;

	if (geteuid() != 0) {
		features_probe(&f);
		if (!f.root) {
			fprintf(stderr, "msgscope: need root (or CAP_BPF and CAP_PERFMON) to load BPF probes\n");
			return -EPERM;
		}
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "msgscope: kernel has no BTF (/sys/kernel/btf/vmlinux); CONFIG_DEBUG_INFO_BTF=y is required\n");
		return -ENOTSUP;
	}
	err = features_ensure_tracefs(f.tracefs_path, sizeof(f.tracefs_path), &mounted);
	if (err) {
		fprintf(stderr, "msgscope: tracefs is not mounted and mounting it failed: %s\n",
			strerror(-err));
		return err;
	}
	return 0;
}

static int open_capture(struct session *s)
{
	struct capture_opts cap = s->opts.cap;
	uint32_t *pids = NULL;
	size_t n = 0;
	int err;

	cap.wakeup_bytes = cap.ringbuf_bytes / WAKEUP_FRACTION;
	if (cap.filter_pids || s->opts.cmd) {
		err = expand_pids(&s->opts.cap, &pids, &n);
		if (err)
			return err;
	}
	if (s->opts.cmd) {
		int gate;

		err = proc_spawn_paused(s->opts.cmd, &s->child, &gate);
		if (err)
			goto out;
		if (n < MAX_FOLLOWED)
			pids[n++] = s->child;
		cap.filter_pids = true;
		cap.pids = pids;
		cap.n_pids = n;
		err = capture_open(&s->cap, &cap, on_event, s);
		s->pidfd = syscall(SYS_pidfd_open, s->child, 0);
		/* Release it even on failure: its own exit is cleaner than a
		 * stuck child; with no probes we kill it right after. */
		proc_release(gate);
		if (err) {
			kill(s->child, SIGKILL);
			waitpid(s->child, NULL, 0);
			s->child = 0;
		}
		goto out;
	}
	cap.pids = pids;
	cap.n_pids = n;
	err = capture_open(&s->cap, &cap, on_event, s);
out:
	free(pids);
	return err;
}

static int open_loop(struct session *s)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &mask, &s->old_mask))
		return -errno;
	s->mask_set = true;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	s->tickfd = timer_new(s->opts.interval_ns, s->opts.interval_ns);
	if (s->epfd < 0 || s->sigfd < 0 || s->tickfd < 0)
		return -errno;
	if (s->opts.duration_ns) {
		s->deadlinefd = timer_new(s->opts.duration_ns, 0);
		if (s->deadlinefd < 0)
			return -errno;
	}
	if (epoll_add(s->epfd, capture_epoll_fd(s->cap), SRC_RING) ||
	    epoll_add(s->epfd, s->sigfd, SRC_SIGNAL) ||
	    epoll_add(s->epfd, s->tickfd, SRC_TICK) ||
	    (s->deadlinefd >= 0 && epoll_add(s->epfd, s->deadlinefd, SRC_DEADLINE)) ||
	    (s->pidfd >= 0 && epoll_add(s->epfd, s->pidfd, SRC_CHILD)) ||
	    (s->opts.watch_stdin && epoll_add(s->epfd, STDIN_FILENO, SRC_STDIN)))
		return -errno;
	return 0;
}

/* msgscope's priority while it keeps up: --nice, and SCHED_IDLE on top
 * unless a niceness was asked for (priority.h says why). */
static int rest_priority(const struct session_opts *o)
{
	if (setpriority(PRIO_PROCESS, 0, o->nice))
		return -errno;
	if (o->sched_idle &&
	    sched_setscheduler(0, SCHED_IDLE, &(struct sched_param){ 0 }))
		return -errno;
	return 0;
}

/* ... and while it catches up: an ordinary process at nice 0. Leaving
 * SCHED_IDLE is allowed within RLIMIT_NICE, like raising the niceness. */
static int catch_up_priority(const struct session_opts *o)
{
	return prio_catch_up(o->sched_idle, 0);
}

static double ring_fill(void *ctx)
{
	return capture_ring_fill(ctx);
}

/* A reader at its rest priority may not run for a second on a busy host,
 * and then cannot boost itself in time (prio_watch.h). Started once root
 * is dropped: capabilities are per thread, and a thread made before would
 * keep them. */
static void watch_priority(struct session *s)
{
	int err;

	if (!s->gov.nice)
		return;
	err = prio_watch_start(&s->watch, (pid_t)syscall(SYS_gettid), s->opts.sched_idle,
			       ring_fill, s->cap);
	if (err)
		fprintf(stderr, "msgscope: warning: cannot watch the ring buffer at nice 0 (%s); "
			"on a busy host events may be dropped before msgscope catches up "
			"(--nice 0 avoids it)\n", strerror(-err));
}

int session_open(struct session **out, const struct session_opts *opts,
		 const struct session_hooks *hooks)
{
	struct session *s = calloc(1, sizeof(*s));
	struct conntrack_opts cto;
	unsigned drop_needs = 0;
	int err;

	if (!s)
		return -ENOMEM;
	s->opts = *opts;
	s->hooks = *hooks;
	s->epfd = s->sigfd = s->tickfd = s->deadlinefd = s->pidfd = -1;
	s->child_status = -1;
	s->mono_to_epoch = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
	s->started = session_now(s);
	cto.payload_keep = opts->max_payload;
	cto.max_conns = opts->max_conns;
	s->ct = conntrack_new(&cto, on_record, s);
	s->redactor = redactor_new();
	err = -ENOMEM;
	if (!s->ct || !s->redactor)
		goto fail;
	err = check_kernel();
	if (err)
		goto fail;
	err = open_capture(s);
	if (err)
		goto fail;
	err = open_loop(s);
	if (err) {
		fprintf(stderr, "msgscope: event loop set-up failed: %s\n", strerror(-err));
		goto fail;
	}
	/* The observed processes come first (priority.h). A -- CMD child was
	 * forked before and keeps its own priority. */
	err = opts->nice ? rest_priority(opts) : 0;
	if (err)
		fprintf(stderr, "msgscope: warning: cannot lower priority (%s): %s\n",
			opts->sched_idle ? "SCHED_IDLE" : "nice", strerror(-err));
	else if (opts->nice)
		prio_gov_init(&s->gov, opts->nice);
	/* ... except while the ring fills up (priority.h): nice 0, which the
	 * unprivileged user it is about to become may go back to with this
	 * limit (20 - 20: nice 0 at best, never below), or else only with
	 * CAP_SYS_NICE kept. */
	if (s->gov.nice &&
	    setrlimit(RLIMIT_NICE, &(struct rlimit){ .rlim_cur = 20, .rlim_max = 20 }))
		drop_needs |= PRIVDROP_NICE;
	/* Probes attached, files open: root is no longer needed. Become
	 * nobody with only what the rest of the run uses (privdrop.h,
	 * docs/security.md). A failed step is a warning, not an error. */
	privdrop_after_attach(drop_needs | (s->child ? PRIVDROP_KILL : 0) |
			      (strcmp(capture_tls_desc(s->cap), "TLS: off") ? PRIVDROP_ATTACH : 0),
			      opts->cap.verbose);
	watch_priority(s);
	*out = s;
	return 0;
fail:
	session_close(s);
	return err;
}

/* ---- the loop ----------------------------------------------------------- */

void session_counters(struct session *s, struct session_counters *out)
{
	memset(out, 0, sizeof(*out));
	capture_stats(s->cap, out->kernel);
	out->ct = conntrack_stats(s->ct);
	out->events_seen = s->events_seen;
	out->boosts = s->gov.boosts;
	out->futile_boosts = s->gov.futile;
	out->lifts = prio_watch_lifts(s->watch);
	out->sheds = s->sheds;
	out->shed_ns = s->shed_ns +
		       (s->shedding ? clock_ns(CLOCK_MONOTONIC) - s->shed_since : 0);
}

static void check_drops(struct session *s, uint64_t now)
{
	struct session_counters cur;

	session_counters(s, &cur);
	if (s->hooks.drops &&
	    (cur.kernel[MS_STAT_DROP_DATA] != s->last.kernel[MS_STAT_DROP_DATA] ||
	     cur.kernel[MS_STAT_DROP_CONTROL] != s->last.kernel[MS_STAT_DROP_CONTROL] ||
	     cur.kernel[MS_STAT_INFLIGHT_FULL] != s->last.kernel[MS_STAT_INFLIGHT_FULL] ||
	     cur.kernel[MS_STAT_CONN_FULL] != s->last.kernel[MS_STAT_CONN_FULL]))
		s->hooks.drops(&s->last, &cur, now, s->hooks.ctx);
	s->last = cur;
}

/* Without -- CMD, a pid-filtered trace ends when every followed pid is gone. */
static void check_targets(struct session *s)
{
	uint32_t pids[64];
	size_t n;

	if (!s->opts.cap.filter_pids || s->opts.cmd)
		return;
	n = capture_pids(s->cap, pids, 64);
	for (size_t i = 0; i < n; i++)
		if (proc_exists(pids[i]))
			return;
	session_stop(s, STOP_TARGETS);
}

/* The kernel's drop counter for the governor, and its byte counters for
 * the share dropped (priority.h): often while boosted, now and then
 * otherwise. */
static uint64_t kernel_drops(struct session *s, uint64_t now)
{
	uint64_t k[MS_STAT__COUNT];
	uint64_t every = s->gov.boosted ? DROPS_READ_NS : BYTES_READ_NS;

	if (now - s->gov_drops_read >= every && !capture_stats(s->cap, k)) {
		/* every ring's, not the fullest one's share times all of
		 * --buffer-size: a ring may be full while the other is empty.
		 * The rings also hold record headers: the backlog may exceed
		 * the payload captured so far. */
		uint64_t backlog = capture_ring_backlog(s->cap);
		uint64_t read = k[MS_STAT_BYTES] > backlog ? k[MS_STAT_BYTES] - backlog : 0;

		s->gov_drops = k[MS_STAT_DROP_DATA] + k[MS_STAT_DROP_CONTROL];
		s->gov_drops_read = now;
		prio_gov_bytes(&s->gov, read, k[MS_STAT_DROP_BYTES], now);
	}
	return s->gov_drops;
}

/* While the load outruns msgscope, the kernel copies only the first
 * --overload-snaplen bytes of each call (priority.h). */
static void govern_shedding(struct session *s, uint64_t now)
{
	bool shed = s->opts.cap.overload_snaplen && prio_gov_outrun(&s->gov, now);

	if (shed == s->shedding)
		return;
	capture_shed(s->cap, shed);
	s->shedding = shed;
	if (shed) {
		s->sheds++;
		s->shed_since = now;
	} else {
		s->shed_ns += now - s->shed_since;
	}
	if (s->hooks.shed) {
		uint32_t bytes = s->opts.cap.overload_snaplen;

		if (bytes > capture_snaplen(s->cap))
			bytes = capture_snaplen(s->cap); /* --snaplen was smaller */
		s->hooks.shed(shed, bytes, shed ? s->gov.outrun_until - now : 0,
			      s->hooks.ctx);
	}
}

/* Before each read of the ring, whose backlog then shows how far behind
 * msgscope fell while it waited for the CPU: boost to nice 0 while it
 * fills, back to --nice once caught up (priority.h). A refused boost turns
 * this off. */
static void govern_priority(struct session *s)
{
	uint64_t now, drops;
	double fill;
	int err;

	if (!s->gov.nice)
		return;
	now = clock_ns(CLOCK_MONOTONIC);
	fill = capture_ring_fill(s->cap);
	drops = kernel_drops(s, now);
	switch (prio_gov_step(&s->gov, fill, s->gov.boosted ? drops : 0, now)) {
	case PRIO_BOOST:
		s->gov_drops_read = 0;
		err = catch_up_priority(&s->opts);
		if (err) {
			fprintf(stderr, "msgscope: warning: cannot raise priority to catch up: %s; "
				"staying low, events it cannot keep up with are dropped and counted\n",
				strerror(-err));
			rest_priority(&s->opts);
			s->gov.nice = 0;
			prio_watch_stop(s->watch);
			s->watch = NULL;
		}
		break;
	case PRIO_RELAX:
		rest_priority(&s->opts);
		break;
	case PRIO_KEEP:
		break;
	}
	/* Lifted by the watcher, only so that this step could run: the
	 * governor's verdict stands. */
	if (prio_watch_sync(s->watch, s->gov.boosted ? UINT64_MAX : s->gov.backoff_until) &&
	    !s->gov.boosted)
		rest_priority(&s->opts);
	govern_shedding(s, now);
}

static void on_tick(struct session *s)
{
	uint64_t expirations, now = session_now(s);

	if (read(s->tickfd, &expirations, sizeof(expirations)) < 0 && errno == EAGAIN)
		return;
	capture_consume(s->cap);
	check_drops(s, now);
	if (s->hooks.tick)
		s->hooks.tick(s, now, s->hooks.ctx);
	check_targets(s);
}

static void on_signal(struct session *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGWINCH) {
			if (s->hooks.resize)
				s->hooks.resize(s, s->hooks.ctx);
		} else {
			session_stop(s, STOP_SIGNAL);
		}
	}
}

static void on_child(struct session *s)
{
	int status;

	if (waitpid(s->child, &status, WNOHANG) != s->child)
		return;
	s->child_done = true;
	s->child_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	session_stop(s, STOP_COMMAND);
}

/* What the kernel already handed over still belongs in the trace; but a
 * flood that never stops must not keep us from exiting. */
static void drain(struct session *s)
{
	uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + FINAL_DRAIN_NS;

	while (capture_consume_more(s->cap, capture_consume(s->cap)) &&
	       clock_ns(CLOCK_MONOTONIC) < deadline)
		;
}

int session_run(struct session *s)
{
	struct epoll_event evs[8];

	while (s->stop == STOP_NONE) {
		/* Data events wake us only in batches: drain at least this often. */
		int n = epoll_wait(s->epfd, evs, 8, DRAIN_MS);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			session_stop(s, STOP_ERROR);
			return -errno;
		}
		if (n == 0) {
			govern_priority(s);
			capture_consume(s->cap);
		}
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case SRC_RING:
				govern_priority(s);
				capture_consume(s->cap);
				break;
			case SRC_SIGNAL: on_signal(s); break;
			case SRC_TICK: on_tick(s); break;
			case SRC_DEADLINE: session_stop(s, STOP_DURATION); break;
			case SRC_CHILD: on_child(s); break;
			case SRC_STDIN:
				if (s->hooks.key)
					s->hooks.key(s, s->hooks.ctx);
				break;
			}
		}
	}
	drain(s);
	check_drops(s, session_now(s));
	return 0;
}

void session_stop(struct session *s, enum stop_reason why)
{
	if (s->stop == STOP_NONE)
		s->stop = why;
}

enum stop_reason session_stop_reason(const struct session *s)
{
	return s->stop;
}

const char *stop_reason_name(enum stop_reason why)
{
	static const char *const names[] = {
		[STOP_NONE] = "none", [STOP_SIGNAL] = "signal",
		[STOP_DURATION] = "duration", [STOP_COMMAND] = "command-exited",
		[STOP_TARGETS] = "targets-exited", [STOP_ERROR] = "error",
		[STOP_USER] = "user",
	};

	return why <= STOP_USER ? names[why] : "?";
}

int session_child_exit_code(const struct session *s)
{
	return s->child_done ? s->child_status : -1;
}

const char *session_capture_desc(const struct session *s)
{
	return capture_path_desc(s->cap);
}

/* The meta line's: what the kernel took, not only what was asked. */
uint32_t session_snaplen(const struct session *s)
{
	return capture_snaplen(s->cap);
}

const char *session_tls_desc(const struct session *s)
{
	return capture_tls_desc(s->cap);
}

void session_close(struct session *s)
{
	if (!s)
		return;
	if (s->ct)
		conntrack_flush(s->ct, session_now(s));
	/* The watcher reads the rings. */
	prio_watch_stop(s->watch);
	/* Probes go first, before anything they could write into is freed. */
	capture_close(s->cap);
	if (s->child && !s->child_done) {
		kill(s->child, SIGTERM);
		waitpid(s->child, NULL, 0);
	}
	int fds[] = { s->epfd, s->sigfd, s->tickfd, s->deadlinefd, s->pidfd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(*fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (s->mask_set)
		sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
	conntrack_free(s->ct);
	redactor_free(s->redactor);
	free(s);
}
