/* SPDX-License-Identifier: MIT */
/*
 * cmd_replay.c — `msgscope replay TRACE.jsonl`: the top view driven by a
 * recorded trace instead of the kernel. No root, no BPF.
 *
 * The trace is checked once with trace_reader (errors and malformed lines
 * are reported before the screen starts), then kept in memory as an index
 * of lines with their timestamps. Playing means feeding the lines due by
 * the play position to trace_reader again, a slice at a time: the parser
 * stays the one `flows` uses, and a jump backwards is a reset and a refeed
 * from memory.
 *
 * Time: the play position moves at real time x speed; the screen shows a
 * frame every -d of real time (at most 10 per second: at high speeds a
 * frame covers more trace time). Batch mode prints one frame per -d of
 * trace time without waiting.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "cli_common.h"
#include "commands.h"
#include "trace_reader.h"
#include "tui_draw.h"
#include "tui_input.h"
#include "tui_model.h"
#include "mono_clock.h"

#define DEFAULT_DELAY_NS 2000000000ull
#define MIN_FRAME_NS 100000000ull   /* at most 10 frames a second */
#define NS 1000000000ull

static const char hints[] =
	"q quit  h help  space pause  +/- speed  n step  g jump  1-4 views  Enter details  / filter";

struct rline {
	size_t off, len;
	uint64_t ts;
};

struct replay {
	const char *path;
	char *buf;                  /* the whole trace */
	size_t size;
	struct rline *lines;        /* lines[0] is the meta line */
	size_t nlines, next;        /* next: first line not fed yet */
	uint64_t start, end;        /* trace time span */
	uint64_t pos;               /* play position, ns from start */
	struct tui_model m;
	struct tui_screen scr;
	struct view_args ui;    /* -d -b -n -w -V --no-color */
	uint64_t next_frame;        /* monotonic ns */
	int sigfd;
	bool quit;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: msgscope replay [OPTIONS] TRACE.jsonl\n"
"\n"
"Show a recorded trace (from msgscope trace or top -o) in the top view, as\n"
"if live: flows, messages, components, subjects and the recorded host\n"
"metrics, at real time or faster. Needs no root.\n"
"\n"
"Options:\n"
"  -d, --delay SEC     one frame every SEC (default 2): real seconds on the\n"
"                      screen, trace seconds in batch mode\n"
"      --speed X       play X times faster than real time (default 1)\n"
"  -b, --batch         print plain-text frames to stdout, without waiting\n"
"  -n, --frames N      stop after N frames\n"
"  -V, --view VIEW     flows, messages, components or subjects (or 1-4)\n"
"  -w, --width COLS    batch line width (default: terminal, else %d)\n"
"      --no-color      no colours\n"
"  -h, --help          show this help\n"
"\n"
"Keys: space/p pause, + - speed, n or . step one interval, g jump to a time,\n"
"q quit, and the keys of msgscope top (h shows them).\n",
		VIEW_BATCH_WIDTH);
}

/* ---- loading ---------------------------------------------------------------- */

static void on_warning_silent(const char *msg, void *ctx)
{
	(void)msg;
	(void)ctx;
}

/* The first pass: trace_reader's verdict on the whole file, with its
 * messages, before any screen exists. */
static int check_trace(struct replay *r)
{
	struct trace_reader_ops ops = { 0 };
	struct trace_reader_stats st;
	char err[512];

	if (trace_read_path(r->path, &ops, NULL, &st, err, sizeof(err))) {
		fprintf(stderr, "msgscope: %s\n", err);
		return 1;
	}
	if (st.malformed)
		fprintf(stderr, "msgscope: %s: %llu malformed line%s skipped\n", r->path,
			(unsigned long long)st.malformed, st.malformed == 1 ? "" : "s");
	return 0;
}

static int load_file(struct replay *r)
{
	FILE *f = fopen(r->path, "re");
	size_t cap = 1 << 20;

	if (!f) {
		fprintf(stderr, "msgscope: %s: %s\n", r->path, strerror(errno));
		return 1;
	}
	r->buf = malloc(cap);
	while (r->buf) {
		size_t n = fread(r->buf + r->size, 1, cap - r->size, f);
		char *p;

		r->size += n;
		if (r->size < cap)
			break;
		cap *= 2;
		p = realloc(r->buf, cap);
		if (!p)
			free(r->buf);
		r->buf = p;
	}
	if (!r->buf || ferror(f)) {
		fprintf(stderr, "msgscope: %s: %s\n", r->path,
			r->buf ? strerror(errno) : "out of memory");
		fclose(f);
		return 1;
	}
	fclose(f);
	return 0;
}

/* The line's "ts": writers put it near the front; an escaped "ts" inside a
 * payload reads \"ts\" and cannot match. */
static bool line_ts(const char *s, size_t len, uint64_t *ts)
{
	const char *p = memmem(s, len, "\"ts\":", 5);
	char *end;

	if (!p)
		return false;
	*ts = strtoull(p + 5, &end, 10);
	return end != p + 5;
}

static int index_lines(struct replay *r)
{
	size_t cap = 1024;
	uint64_t last = 0;

	r->lines = malloc(cap * sizeof(*r->lines));
	for (size_t off = 0; r->lines && off < r->size;) {
		const char *nl = memchr(r->buf + off, '\n', r->size - off);
		size_t len = (nl ? (size_t)(nl - r->buf) : r->size) - off;
		struct rline *l;

		if (len && r->buf[off] == '{') {
			if (r->nlines == cap) {
				struct rline *v = realloc(r->lines, 2 * cap * sizeof(*v));

				if (!v)
					break;
				r->lines = v;
				cap *= 2;
			}
			l = &r->lines[r->nlines++];
			l->off = off;
			l->len = len;
			/* lines without a time keep their place */
			if (!line_ts(r->buf + off, len, &l->ts) || !l->ts)
				l->ts = last;
			last = l->ts > last ? l->ts : last;
			/* The clock starts at the first line after meta: meta's
			 * time is taken before the probes load, which can take
			 * seconds of nothing. */
			if (r->nlines == 2 || (r->nlines > 2 && l->ts < r->start))
				r->start = l->ts;
			r->end = last;
		}
		off += len + 1;
	}
	if (!r->lines) {
		fprintf(stderr, "msgscope: out of memory\n");
		return 1;
	}
	if (r->nlines == 1)   /* a trace with nothing but its meta line */
		r->start = r->end = r->lines[0].ts;
	return 0;
}

/* meta.host: the header shows whose trace it is. */
static void meta_host(struct replay *r)
{
	json_t *meta = json_loadb(r->buf + r->lines[0].off, r->lines[0].len, 0, NULL);
	const char *host = json_string_value(json_object_get(meta, "host"));

	if (host)
		snprintf(r->m.host, sizeof(r->m.host), "%s", host);
	json_decref(meta);
}

/* ---- feeding ------------------------------------------------------------------ */

/* A FILE over the meta line and a run of following lines, without a copy. */
struct slice_stream {
	const char *part[3];
	size_t len[3], i, pos;
};

static ssize_t slice_read(void *cookie, char *out, size_t size)
{
	struct slice_stream *s = cookie;
	size_t done = 0;

	while (done < size && s->i < 3) {
		size_t n = s->len[s->i] - s->pos;

		if (n > size - done)
			n = size - done;
		memcpy(out + done, s->part[s->i] + s->pos, n);
		done += n;
		s->pos += n;
		if (s->pos == s->len[s->i]) {
			s->i++;
			s->pos = 0;
		}
	}
	return done;
}

static void on_record(const struct msg_record *rec, void *ctx)
{
	struct replay *r = ctx;

	tui_model_add_record(&r->m, rec);
}

static void on_other(json_t *line, const char *type, void *ctx)
{
	struct replay *r = ctx;

	if (!strcmp(type, "metrics"))
		tui_model_set_metrics_json(&r->m, line);
	else if (!strcmp(type, "drops"))
		tui_model_add_drops(&r->m, json_integer_value(json_object_get(line, "events")));
}

/* Feed the lines due by trace time `until`. */
static void feed_until(struct replay *r, uint64_t until)
{
	static const cookie_io_functions_t io = { .read = slice_read };
	struct trace_reader_ops ops = {
		.on_record = on_record, .on_other = on_other, .on_warning = on_warning_silent,
	};
	struct slice_stream s = { 0 };
	size_t first = r->next;
	char err[256];
	FILE *f;

	while (r->next < r->nlines && r->lines[r->next].ts <= until)
		r->next++;
	if (r->next == first)
		return;
	s.part[0] = r->buf + r->lines[0].off;
	s.len[0] = r->lines[0].len;
	s.part[1] = "\n";
	s.len[1] = 1;
	s.part[2] = r->buf + r->lines[first].off;
	s.len[2] = r->lines[r->next - 1].off + r->lines[r->next - 1].len - r->lines[first].off;
	f = fopencookie(&s, "r", io);
	if (!f)
		return;
	/* checked in full before: nothing new can be wrong here */
	trace_read_stream(f, r->path, &ops, r, NULL, err, sizeof(err));
	fclose(f);
}

static bool at_end(const struct replay *r)
{
	return r->next >= r->nlines;
}

/* Move the play position by delta and bring the model there. */
static void advance(struct replay *r, uint64_t delta)
{
	uint64_t span = r->end - r->start;

	r->pos = r->pos + delta > span ? span : r->pos + delta;
	feed_until(r, r->start + r->pos);
	tui_model_tick(&r->m, r->start + r->pos);
	if (at_end(r) && !r->m.trace_done)
		tui_model_finish(&r->m);
	tui_model_refresh(&r->m, true);
}

static void restart(struct replay *r)
{
	tui_model_reset_data(&r->m);
	r->next = 1;
	r->pos = 0;
	tui_model_tick(&r->m, r->start);
}

static void jump(struct replay *r, uint64_t to)
{
	if (to < r->pos)
		restart(r);
	advance(r, to - r->pos);
	tui_model_set_status(&r->m, "at t+%.1fs", r->pos / 1e9);
}

/* ---- batch -------------------------------------------------------------------- */

static int run_batch(struct replay *r)
{
	long n = 0;

	do {
		advance(r, r->ui.delay_ns);
		tui_text_print_frame(stdout, &r->m, r->ui.width);
		n++;
	} while (!at_end(r) && (!r->ui.frames || n < r->ui.frames));
	return ferror(stdout) ? 1 : 0;
}

/* ---- interactive -------------------------------------------------------------- */

/* Real time between frames: -d at speed 1, shorter when faster, but not
 * more than 10 frames a second. */
static uint64_t frame_period(const struct replay *r)
{
	double p = r->m.interval_ns / r->m.speed;

	return p < MIN_FRAME_NS ? MIN_FRAME_NS : (uint64_t)p;
}

static void frame(struct replay *r)
{
	uint64_t period = frame_period(r);

	advance(r, (uint64_t)(period * r->m.speed));
	r->next_frame += period;
	if (r->next_frame < mono_ns())   /* fell behind: do not race to catch up */
		r->next_frame = mono_ns() + period;
	if (at_end(r) && !r->m.paused) {
		tui_model_set_paused(&r->m, true);
		tui_model_set_status(&r->m, "end of the trace: g jumps back, q quits");
	}
	if (r->ui.frames && --r->ui.frames == 0)
		r->quit = true;
}

static void act(struct replay *r, enum tui_action a, uint64_t arg)
{
	switch (a) {
	case ACT_QUIT:
		r->quit = true;
		break;
	case ACT_PAUSE:
		tui_model_set_status(&r->m, r->m.paused ? "paused (space resumes, n steps)" : "playing");
		r->next_frame = mono_ns() + frame_period(r);
		break;
	case ACT_SPEED:
		tui_model_set_status(&r->m, "speed x%g", r->m.speed);
		r->next_frame = mono_ns() + frame_period(r);
		break;
	case ACT_STEP:
		if (!r->m.paused)
			tui_model_set_paused(&r->m, true);
		advance(r, r->m.interval_ns);
		tui_model_set_status(&r->m, "stepped to t+%.1fs", r->pos / 1e9);
		break;
	case ACT_JUMP:
		jump(r, arg);
		break;
	case ACT_DELAY:
		tui_model_set_status(&r->m, "a frame every %gs", r->m.interval_ns / 1e9);
		break;
	case ACT_REFRESH:
		tui_screen_invalidate(&r->scr);
		break;
	default:
		break;
	}
}

static void read_keys(struct replay *r)
{
	int key;

	while (!r->quit && (key = tui_screen_key(&r->scr)) >= 0) {
		uint64_t arg = 0;
		enum tui_action a = tui_input_key(&r->m, key, &arg);

		act(r, a, arg);
	}
}

static void read_signals(struct replay *r)
{
	struct signalfd_siginfo si;

	while (read(r->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGWINCH)
			tui_screen_resize(&r->scr);
		else
			r->quit = true;
	}
}

static int open_signals(struct replay *r, sigset_t *old)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &mask, old))
		return -errno;
	r->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return r->sigfd < 0 ? -errno : 0;
}

static int loop(struct replay *r)
{
	struct pollfd pfd[2] = {
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = r->sigfd, .events = POLLIN },
	};

	r->next_frame = mono_ns() + frame_period(r);
	while (!r->quit) {
		uint64_t now = mono_ns();
		int timeout = -1;

		if (!r->m.paused)
			timeout = r->next_frame > now ? (int)((r->next_frame - now) / 1000000) + 1 : 0;
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
			return -errno;
		if (pfd[0].revents & (POLLHUP | POLLERR))
			break;                   /* the terminal is gone */
		if (pfd[1].revents)
			read_signals(r);
		if (pfd[0].revents & POLLIN)
			read_keys(r);
		if (!r->quit && !r->m.paused && mono_ns() >= r->next_frame)
			frame(r);
		if (!r->quit)
			tui_screen_draw(&r->scr, &r->m);
	}
	return 0;
}

static int run_screen(struct replay *r)
{
	sigset_t old;
	int err;

	r->sigfd = -1;
	err = open_signals(r, &old);
	if (!err) {
		tui_screen_restore_at_exit();
		if (tui_screen_open(&r->scr, r->ui.color, hints)) {
			close(r->sigfd);
			sigprocmask(SIG_SETMASK, &old, NULL);
			return 1;
		}
		advance(r, 0);    /* what is at t+0 */
		tui_screen_draw(&r->scr, &r->m);
		err = loop(r);
	}
	tui_screen_close(&r->scr);
	if (r->sigfd >= 0)
		close(r->sigfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (err) {
		fprintf(stderr, "msgscope: replay: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}

/* ---- options and main ----------------------------------------------------------- */

enum { OPT_SPEED = LOPT__NEXT };

static int parse_speed(const char *arg, double *out)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end || !isfinite(v) || v < TUI_MIN_SPEED || v > TUI_MAX_SPEED) {
		fprintf(stderr, "msgscope: --speed: expected a factor from %g to %g, got '%s'\n",
			TUI_MIN_SPEED, TUI_MAX_SPEED, arg);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_opt(struct replay *r, int opt, double *speed)
{
	if (opt == OPT_SPEED)
		return parse_speed(optarg, speed) ? 2 : 0;
	return parse_view_opt(&r->ui, opt, optarg);
}

static int parse_args(int argc, char **argv, struct replay *r, double *speed)
{
	static const struct option longopts[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "speed", required_argument, NULL, OPT_SPEED },
		{ "batch", no_argument, NULL, 'b' },
		{ "frames", required_argument, NULL, 'n' },
		{ "width", required_argument, NULL, 'w' },
		{ "view", required_argument, NULL, 'V' },
		{ "no-color", no_argument, NULL, LOPT_NO_COLOR },
		{ "no-colour", no_argument, NULL, LOPT_NO_COLOR },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt, rc;

	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":d:bn:w:V:h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return -1;
		}
		rc = parse_opt(r, opt, speed);
		if (rc < 0) {
			report_bad_option("replay", argc, argv, opt);
			return 2;
		}
		if (rc)
			return rc;
	}
	if (optind >= argc) {
		fprintf(stderr, "msgscope: replay: missing TRACE.jsonl\nTry 'msgscope replay --help'.\n");
		return 2;
	}
	if (optind + 1 < argc) {
		fprintf(stderr, "msgscope: replay: unexpected argument '%s'\n", argv[optind + 1]);
		return 2;
	}
	r->path = argv[optind];
	return 0;
}

static int prepare(struct replay *r, double speed)
{
	const char *base = strrchr(r->path, '/');
	struct tui_model_opts mo = {
		.interval_ns = r->ui.delay_ns, .replay = true, .source = base ? base + 1 : r->path,
		.no_messages = !view_shows_messages(&r->ui),
	};

	if (!strcmp(r->path, "-")) {
		fprintf(stderr, "msgscope: replay: needs a file (the keyboard is on stdin)\n");
		return 2;
	}
	if (check_trace(r) || load_file(r) || index_lines(r))
		return 1;
	if (tui_model_init(&r->m, &mo)) {
		fprintf(stderr, "msgscope: out of memory\n");
		return 1;
	}
	meta_host(r);
	r->m.speed = speed;
	r->m.trace_start_ns = r->start;
	r->m.trace_end_ns = r->end;
	if (!r->ui.width)
		r->ui.width = view_batch_width();
	r->m.body_cols = r->ui.batch ? r->ui.width : 0;
	restart(r);
	tui_model_set_view(&r->m, r->ui.view);
	return 0;
}

int cmd_replay(int argc, char **argv)
{
	struct replay *r = calloc(1, sizeof(*r));
	double speed = 1.0;
	int rc;

	if (!r) {
		fprintf(stderr, "msgscope: out of memory\n");
		return 1;
	}
	r->ui.delay_ns = DEFAULT_DELAY_NS;
	r->ui.color = true;
	rc = parse_args(argc, argv, r, &speed);
	if (rc) {
		rc = rc < 0 ? 0 : rc;
		goto cleanup;
	}
	if (!r->ui.batch && tui_screen_check()) {
		rc = 1;
		goto cleanup;
	}
	rc = prepare(r, speed);
	if (!rc)
		rc = r->ui.batch ? run_batch(r) : run_screen(r);
cleanup:
	if (r->m.ring)
		tui_model_free(&r->m);
	free(r->lines);
	free(r->buf);
	free(r);
	return rc;
}
