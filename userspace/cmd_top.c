/* SPDX-License-Identifier: MIT */
/*
 * cmd_top.c — `msgscope top` (and plain `msgscope`): the live view.
 *
 * Glue only: options in, a session whose records feed the TUI model (and a
 * trace file with -o), a tick that samples the host and redraws, keys to
 * tui_input. Batch mode (-b) prints the same frames as plain text.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cli_common.h"
#include "commands.h"
#include "host_metrics.h"
#include "record_json.h"
#include "session.h"
#include "session_lines.h"
#include "sock_resolver.h"
#include "trace_writer.h"
#include "tui_draw.h"
#include "tui_input.h"
#include "tui_model.h"
#include "mono_clock.h"

#define TRACE_SCHEMA 1
/* The session ticks this often; the screen refreshes every -d. A fixed
 * fine tick lets `d` change the interval without a new timer. */
#define TICK_NS 100000000ull
#define DEFAULT_DELAY_NS 2000000000ull
/* stdin readable but no key, this many times in a row: the terminal is gone */
#define MAX_IDLE_WAKEUPS 64

static const char hints[] =
	"q quit  h help  1-4/Tab views  Enter details  / filter  s sort  p pause  d delay";

struct top {
	struct live_args args;
	const char *out_path;
	struct trace_writer *out;
	struct record_json_cache jcache;
	int write_err;
	struct tui_model m;
	struct sock_resolver *resolver;  /* sockets of this host -> processes */
	struct tui_screen scr;
	struct session *s;
	struct view_args ui;        /* -d -b -n -w -V --no-color */
	bool json;
	long frames_done;
	uint64_t last_refresh;      /* session time */
	int idle_wakeups;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: msgscope [top] [OPTIONS]\n"
"\n"
"Watch the NATS and HTTP flows between the processes of this host, live,\n"
"under sar-like host metrics, the way top shows processes. Needs root.\n"
"\n"
"Options:\n"
"  -d, --delay SEC         refresh every SEC seconds (default 2, at least 0.1)\n"
"  -b, --batch             print plain-text frames to stdout, no screen\n"
"  -n, --frames N          stop after N refreshes\n"
"  -o, --output FILE       also record a trace (JSON Lines, mode 0600), with\n"
"                          host metrics as \"metrics\" lines every interval\n"
"  -V, --view VIEW         start in flows, messages, components or subjects\n"
"                          (or 1-4); in batch mode, the view printed\n"
"  -w, --width COLS        batch line width (default: terminal, else %d)\n"
"      --json              batch: one JSON object per frame instead of text\n"
"      --no-color          no colours (thresholds show as bold/underline)\n"
"  -p, --pid PID[,PID...]  only these processes and their children\n"
"  -c, --comm NAME         only processes whose command name is NAME\n"
"  -P, --port PORT:PROTO   treat traffic on PORT as PROTO (nats or http);\n"
"                          repeatable\n"
SNAPLEN_HELP
"      --max-payload BYTES keep at most BYTES of each payload (default %d)\n"
"      --buffer-size MIB   ring buffers' total, a power of two (default 32)\n"
RINGS_HELP
"      --max-conns N       connections tracked at once (default 16384)\n"
"      --show-secrets      do not redact passwords, tokens, cookies\n"
"      --no-tls            no TLS probes: plaintext sockets only, and after\n"
"                          start no capability beyond reading /proc\n"
PAIR_LOCAL_HELP
NICE_HELP
"  -v, --verbose           show libbpf's messages\n"
"  -h, --help              show this help\n"
"\n"
"Keys: q quit, h help, 1-4/Tab views, Enter details, / filter, s </> sort,\n"
"r reverse, p pause, d delay, c per-CPU, arrows/PgUp/PgDn/Home/End, Esc back.\n"
"\n"
"Examples:\n"
"  sudo msgscope                              watch everything\n"
"  sudo msgscope top -b -n 5 -d 1             five text frames, one per second\n"
"  sudo msgscope top -o trace.jsonl           watch and record; msgscope replay\n"
"                                             shows it again later\n",
		VIEW_BATCH_WIDTH, MS_MAX_SYSCALL_SNAPLEN, DEFAULT_MAX_PAYLOAD);
}

/* ---- the trace file (-o) ------------------------------------------------ */

static void put(struct top *t, json_t *obj)
{
	if (obj && t->out && !t->write_err) {
		t->write_err = trace_writer_put(t->out, obj);
		if (t->write_err && t->s)
			session_stop(t->s, STOP_ERROR);
	}
	json_decref(obj);
}

static json_t *options_json(const struct top *t)
{
	const struct live_args *a = &t->args;
	json_t *o = json_object(), *pids = json_array(), *ports = json_object();

	for (size_t i = 0; i < a->s.cap.n_pids; i++)
		json_array_append_new(pids, json_integer(a->pids[i]));
	for (size_t i = 0; i < a->s.cap.n_ports; i++) {
		char key[8];

		snprintf(key, sizeof(key), "%u", a->s.cap.ports[i].port);
		json_object_set_new(ports, key, json_string(
			a->s.cap.ports[i].proto == MS_PROTO_NATS ? "nats" : "http"));
	}
	json_object_set_new(o, "snaplen", json_integer(session_snaplen(t->s)));
	json_object_set_new(o, "max_payload", json_integer(a->s.max_payload));
	json_object_set_new(o, "pids", pids);
	json_object_set_new(o, "comm", a->comm[0] ? json_string(a->comm) : json_null());
	json_object_set_new(o, "ports", ports);
	json_object_set_new(o, "command", json_false());
	json_object_set_new(o, "show_secrets", json_boolean(a->s.show_secrets));
	json_object_set_new(o, "interval_s", json_real(t->ui.delay_ns / 1e9));
	return o;
}

static void write_meta(struct top *t)
{
	json_t *m = json_object();
	struct utsname u;

	uname(&u);
	json_object_set_new(m, "type", json_string("meta"));
	json_object_set_new(m, "schema", json_integer(TRACE_SCHEMA));
	json_object_set_new(m, "tool", json_string("msgscope"));
	json_object_set_new(m, "version", json_string(MSGSCOPE_VERSION));
	json_object_set_new(m, "ts", json_integer(session_started(t->s)));
	json_object_set_new(m, "host", json_string(u.nodename));
	json_object_set_new(m, "kernel", json_string(u.release));
	json_object_set_new(m, "capture", json_string(session_capture_desc(t->s)));
	json_object_set_new(m, "tls", json_string(session_tls_desc(t->s)));
	json_object_set_new(m, "command", json_string("top"));
	json_object_set_new(m, "options", options_json(t));
	put(t, m);
	if (t->out && !t->write_err)
		t->write_err = trace_writer_flush(t->out);
}

/* {"type":"metrics","ts":..., <host_metrics_to_json>, "msgscope":{...}} */
static json_t *metrics_json(const struct top *t, uint64_t now)
{
	json_t *line = json_object(), *hm = NULL, *self = json_object();
	const struct tui_self *s = &t->m.self;

	json_object_set_new(line, "type", json_string("metrics"));
	json_object_set_new(line, "ts", json_integer(now));
	if (!host_metrics_to_json(t->m.hm, &hm))
		json_object_update(line, hm);
	json_decref(hm);
	json_object_set_new(self, "events_s", json_real(s->events_s));
	json_object_set_new(self, "records_s", json_real(s->records_s));
	json_object_set_new(self, "drops", json_integer(s->drops_total));
	json_object_set_new(self, "parse_errors", json_integer(s->parse_errors));
	json_object_set_new(self, "shed_bytes", json_integer(s->shed_bytes));
	json_object_set_new(line, "msgscope", self);
	return line;
}

/* Reals as host_metrics rounds them: 15 digits print 0.1 as 0.1. */
static void put_precise(struct top *t, json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));

	if (s && t->out && !t->write_err) {
		t->write_err = trace_writer_put_raw(t->out, s, strlen(s));
		if (t->write_err)
			session_stop(t->s, STOP_ERROR);
	}
	free(s);
	json_decref(obj);
}

static void write_end(struct top *t)
{
	put(t, session_end_json(t->s));
}

/* ---- session hooks -------------------------------------------------------- */

static void on_record(const struct msg_record *rec, void *ctx)
{
	struct top *t = ctx;

	tui_model_add_record(&t->m, rec);
	if (!t->out || t->write_err)
		return;
	record_write_json_cached(trace_writer_line(t->out), rec, &t->jcache);
	t->write_err = trace_writer_commit(t->out);
}

static void on_drops(const struct session_counters *prev,
		     const struct session_counters *cur, uint64_t now, void *ctx)
{
	struct top *t = ctx;
	uint64_t ev = cur->kernel[MS_STAT_DROP_DATA] - prev->kernel[MS_STAT_DROP_DATA];

	if (ev && !t->ui.batch)
		tui_model_set_status(&t->m, "%llu events dropped: ring buffer full; "
				     "try --buffer-size or a narrower filter",
				     (unsigned long long)ev);
	if (!t->out)
		return;
	put(t, session_drops_json(prev, cur, now));
}

static void on_shed(bool on, uint32_t bytes, uint64_t until_ns, void *ctx)
{
	struct top *t = ctx;

	t->m.self.shed_bytes = on ? bytes : 0;
	if (on && !t->ui.batch)
		tui_model_set_status(&t->m, "load outruns msgscope: copying %u bytes of each call "
				     "for %.0f s (--overload-snaplen)", bytes, until_ns / 1e9);
}

static void print_json_frame(struct top *t, uint64_t now)
{
	json_t *frame = metrics_json(t, now), *rows = json_array();
	const struct tui_model *m = &t->m;
	char *s;

	/* the metrics line, plus the rows of the view as the screen has them */
	json_object_set_new(frame, "type", json_string("frame"));
	json_object_set_new(frame, "view", json_string(tui_view_name(m->view)));
	for (size_t i = 0; i < m->table.norder; i++) {
		const struct tui_row *r = tui_model_row(m, i);
		json_t *row = json_object();

		for (int c = 0; c < m->table.ncols; c++) {
			const struct tui_col *col = &m->table.cols[c];

			json_object_set_new(row, col->name, col->numeric ?
				json_real(r->key[c]) : json_string(tui_table_cell(&m->table, r, c)));
		}
		json_array_append_new(rows, row);
	}
	json_object_set_new(frame, "rows", rows);
	s = json_dumps(frame, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
	if (s)
		printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(frame);
}

static void show(struct top *t, uint64_t now)
{
	if (!t->ui.batch)
		tui_screen_draw(&t->scr, &t->m);
	else if (t->json)
		print_json_frame(t, now);
	else
		tui_text_print_frame(stdout, &t->m, t->ui.width);
}

/* One refresh interval is over: sample, count, rebuild, show, record. */
static void refresh_frame(struct top *t, uint64_t now)
{
	struct session_counters c;

	t->last_refresh = now;
	tui_model_sample_host(&t->m, mono_ns(), "/proc", "/sys");
	session_counters(t->s, &c);
	tui_model_set_counters(&t->m, now, c.kernel[MS_STAT_EVENTS],
			       c.kernel[MS_STAT_DROP_DATA], c.ct.parse_errors,
			       c.ct.conns_open);
	tui_model_tick(&t->m, now);
	tui_model_refresh(&t->m, false);
	if (t->out)
		put_precise(t, metrics_json(t, now));
	show(t, now);
	if (t->ui.frames && ++t->frames_done >= t->ui.frames)
		session_stop(t->s, STOP_USER);
}

static void on_tick(struct session *s, uint64_t now, void *ctx)
{
	struct top *t = ctx;

	if (t->out && !t->write_err && (t->write_err = trace_writer_flush(t->out)))
		session_stop(s, STOP_ERROR);
	/* half a tick of slack: timerfd ticks are exact, wake-ups are not */
	if (now - t->last_refresh + TICK_NS / 2 >= t->m.interval_ns)
		refresh_frame(t, now);
}

static void act(struct top *t, enum tui_action a)
{
	switch (a) {
	case ACT_QUIT:
		session_stop(t->s, STOP_USER);
		break;
	case ACT_REFRESH:
		tui_screen_invalidate(&t->scr);
		refresh_frame(t, session_now(t->s));
		break;
	case ACT_DELAY:
		tui_model_set_status(&t->m, "refresh every %gs", t->m.interval_ns / 1e9);
		break;
	case ACT_PAUSE:
		tui_model_set_status(&t->m, t->m.paused ?
			"paused: the screen is frozen, counting goes on (p resumes)" : "resumed");
		break;
	default:
		break;
	}
}

static void on_key(struct session *s, void *ctx)
{
	struct top *t = ctx;
	bool any = false;
	int key;

	while ((key = tui_screen_key(&t->scr)) >= 0) {
		uint64_t arg = 0;

		any = true;
		act(t, tui_input_key(&t->m, key, &arg));
		if (session_stop_reason(s) != STOP_NONE)
			return;
	}
	if (!any) {
		if (++t->idle_wakeups > MAX_IDLE_WAKEUPS)
			session_stop(s, STOP_SIGNAL);   /* hang-up: no terminal left */
		return;
	}
	t->idle_wakeups = 0;
	tui_screen_draw(&t->scr, &t->m);
}

static void on_resize(struct session *s, void *ctx)
{
	struct top *t = ctx;

	(void)s;
	if (t->ui.batch)
		return;
	tui_screen_resize(&t->scr);
	tui_screen_draw(&t->scr, &t->m);
}

/* ---- options --------------------------------------------------------------- */

enum {
	OPT_JSON = LOPT__NEXT,
};

static int parse_top_opt(struct top *t, int opt)
{
	switch (opt) {
	case 'o': t->out_path = optarg; return 0;
	case OPT_JSON: t->json = true; return 0;
	default: return parse_view_opt(&t->ui, opt, optarg);
	}
}

static int parse_args(int argc, char **argv, struct top *t)
{
	static const struct option longopts[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "batch", no_argument, NULL, 'b' },
		{ "frames", required_argument, NULL, 'n' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "width", required_argument, NULL, 'w' },
		{ "view", required_argument, NULL, 'V' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "no-color", no_argument, NULL, LOPT_NO_COLOR },
		{ "no-colour", no_argument, NULL, LOPT_NO_COLOR },
		{ "pid", required_argument, NULL, 'p' },
		{ "comm", required_argument, NULL, 'c' },
		{ "port", required_argument, NULL, 'P' },
		{ "snaplen", required_argument, NULL, 's' },
		{ "max-payload", required_argument, NULL, LOPT_MAX_PAYLOAD },
		{ "buffer-size", required_argument, NULL, LOPT_BUFFER_SIZE },
		{ "max-conns", required_argument, NULL, LOPT_MAX_CONNS },
		{ "show-secrets", no_argument, NULL, LOPT_SHOW_SECRETS },
		{ "no-tls", no_argument, NULL, LOPT_NO_TLS },
		{ "pair-local", no_argument, NULL, LOPT_PAIR_LOCAL },
		{ "rings", required_argument, NULL, LOPT_RINGS },
		{ "ring-per-cpu", no_argument, NULL, LOPT_RING_PER_CPU },
		{ "nice", required_argument, NULL, LOPT_NICE },
		{ "overload-snaplen", required_argument, NULL, LOPT_OVERLOAD_SNAPLEN },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt, rc;

	opterr = 0;
	optind = 0;   /* a fresh scan whatever parsed argv before */
	while ((opt = getopt_long(argc, argv, ":d:bn:o:w:V:p:c:P:s:vh", longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return -1;
		}
		rc = parse_top_opt(t, opt);
		if (rc < 0)
			rc = parse_capture_opt(&t->args, opt, optarg);
		if (rc < 0) {
			report_bad_option("top", argc, argv, opt);
			return 2;
		}
		if (rc)
			return rc;
	}
	if (optind < argc) {
		fprintf(stderr, "msgscope: top: unexpected argument '%s'\nTry 'msgscope top --help'.\n",
			argv[optind]);
		return 2;
	}
	if (t->json && !t->ui.batch) {
		fprintf(stderr, "msgscope: top: --json goes with -b (batch mode)\n");
		return 2;
	}
	live_args_finish(&t->args);
	return 0;
}

/* ---- main ------------------------------------------------------------------- */

static int start(struct top *t)
{
	struct tui_model_opts mo = {
		.interval_ns = t->ui.delay_ns,
		.payload_cap = t->args.s.max_payload < 2048 ? t->args.s.max_payload : 2048,
		.no_messages = !view_shows_messages(&t->ui),
		.resolve_addr = sock_resolver_resolve,
		.describe_pid = sock_resolver_describe,
	};

	/* The other end of a local connection that predates msgscope is
	 * still a process, not an address. */
	t->resolver = sock_resolver_new(NULL);
	mo.resolve_ctx = t->resolver;
	if (!t->resolver || tui_model_init(&t->m, &mo)) {
		fprintf(stderr, "msgscope: out of memory\n");
		return 1;
	}
	if (!t->ui.width)
		t->ui.width = view_batch_width();
	t->m.body_cols = t->ui.batch ? t->ui.width : 0;
	if (t->out_path && trace_writer_open(&t->out, t->out_path))
		return 1;
	return 0;
}

static int open_session(struct top *t)
{
	struct session_hooks hooks = {
		.record = on_record, .tick = on_tick, .drops = on_drops, .shed = on_shed,
		.key = on_key, .resize = on_resize, .ctx = t,
	};

	t->args.s.interval_ns = TICK_NS;
	t->args.s.watch_stdin = !t->ui.batch;
	if (session_open(&t->s, &t->args.s, &hooks) ||
	    (t->out && trace_writer_begin(t->out))) {
		trace_writer_abandon(t->out);   /* nothing was traced: no empty file */
		t->out = NULL;
		return 1;               /* the caller closes an opened session */
	}
	return 0;
}

/* The first sample: the first refresh then has rates for its interval. */
static void baseline(struct top *t)
{
	struct session_counters c;
	uint64_t now = session_now(t->s);

	tui_model_sample_host(&t->m, mono_ns(), "/proc", "/sys");
	session_counters(t->s, &c);
	tui_model_tick(&t->m, now);
	tui_model_set_counters(&t->m, now, c.kernel[MS_STAT_EVENTS],
			       c.kernel[MS_STAT_DROP_DATA], c.ct.parse_errors,
			       c.ct.conns_open);
	tui_model_set_view(&t->m, t->ui.view);
	t->last_refresh = now;
}

static int run(struct top *t)
{
	int err;

	if (t->out)
		write_meta(t);
	baseline(t);
	if (!t->ui.batch) {
		tui_screen_restore_at_exit();
		if (tui_screen_open(&t->scr, t->ui.color, hints))
			return 1;
		tui_screen_draw(&t->scr, &t->m);
	}
	err = session_run(t->s);
	tui_screen_close(&t->scr);
	if (err)
		fprintf(stderr, "msgscope: event loop failed: %s\n", strerror(-err));
	if (t->out) {
		write_end(t);
		/* Detaching the probes takes seconds on a busy host: the
		 * trace is complete on disk before that starts. */
		if (!t->write_err)
			t->write_err = trace_writer_flush(t->out);
		fprintf(stderr, "msgscope: trace written to %s (%llu lines)\n",
			trace_writer_path(t->out), (unsigned long long)trace_writer_lines(t->out));
	}
	return err || t->write_err || session_stop_reason(t->s) == STOP_ERROR ? 1 : 0;
}

int cmd_top(int argc, char **argv)
{
	struct top *t = calloc(1, sizeof(*t));
	int rc;

	if (!t) {
		fprintf(stderr, "msgscope: out of memory\n");
		return 1;
	}
	live_args_init(&t->args);
	t->ui.delay_ns = DEFAULT_DELAY_NS;
	t->ui.color = true;
	rc = parse_args(argc, argv, t);
	if (rc) {
		rc = rc < 0 ? 0 : rc;
		goto cleanup;
	}
	if (!t->ui.batch && tui_screen_check()) {
		rc = 1;
		goto cleanup;
	}
	rc = start(t);
	if (!rc)
		rc = open_session(t);
	if (!rc)
		rc = run(t);
cleanup:
	tui_screen_close(&t->scr);
	session_close(t->s);
	if (t->out && trace_writer_close(t->out) && !rc)
		rc = 1;
	if (t->m.ring)
		tui_model_free(&t->m);
	sock_resolver_free(t->resolver);   /* after the correlator that calls it */
	free(t);
	return rc;
}
