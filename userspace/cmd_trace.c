/* SPDX-License-Identifier: MIT */
/*
 * cmd_trace.c — `msgscope trace`: capture, parse and write JSON Lines.
 *
 * Glue only: options in, a session whose records go to the trace writer.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli_common.h"
#include "commands.h"
#include "correlator.h"
#include "flow_json.h"
#include "record_json.h"
#include "session.h"
#include "session_lines.h"
#include "sock_resolver.h"
#include "trace_writer.h"

#define TRACE_SCHEMA 1

struct trace_ctx {
	struct live_args *args;
	struct trace_writer *out;
	struct record_json_cache *jcache; /* (a quarter MiB together: */
	struct flow_json_cache *fcache;   /* not on the stack) */
	struct correlator *corr; /* exchange/delivery/flow lines */
	struct sock_resolver *resolver;
	int write_err;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: msgscope trace [OPTIONS] [-- CMD [ARGS...]]\n"
"\n"
"Capture the NATS and HTTP/1.x messages that processes on this host send and\n"
"receive over TCP, and write them as JSON Lines (docs/trace-format.md).\n"
"Runs until Ctrl-C, --duration, or the end of CMD. Needs root.\n"
"\n"
"Options:\n"
"  -o, --output FILE       write the trace to FILE (mode 0600) instead of stdout\n"
"  -D, --duration SEC      stop after SEC seconds\n"
"  -p, --pid PID[,PID...]  only these processes and their children\n"
"  -c, --comm NAME         only processes whose command name is NAME\n"
"  -P, --port PORT:PROTO   treat traffic on PORT as PROTO (nats or http);\n"
"                          repeatable\n"
SNAPLEN_HELP
"                          true sizes are always kept\n"
"      --max-payload BYTES keep at most BYTES of each message's payload or\n"
"                          body in the trace (default %d)\n"
"  -i, --interval SEC      how often flow summaries are written and drop\n"
"                          counts checked (default 10)\n"
"  -b, --buffer-size MIB   ring buffers' total, a power of two (default 32)\n"
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
"Examples:\n"
"  msgscope trace -o trace.jsonl                    everything, to a file\n"
"  msgscope trace -p $(pidof nats-server) -D 60     one server, one minute\n"
"  msgscope trace -- curl -s http://localhost:8080/ trace a command\n",
		MS_MAX_SYSCALL_SNAPLEN, DEFAULT_MAX_PAYLOAD);
}

static json_t *options_json(const struct live_args *a, struct session *s)
{
	json_t *o = json_object(), *pids = json_array(), *ports = json_object();

	for (size_t i = 0; i < a->s.cap.n_pids; i++)
		json_array_append_new(pids, json_integer(a->pids[i]));
	for (size_t i = 0; i < a->s.cap.n_ports; i++) {
		char key[8];

		snprintf(key, sizeof(key), "%u", a->s.cap.ports[i].port);
		json_object_set_new(ports, key, json_string(
			a->s.cap.ports[i].proto == MS_PROTO_NATS ? "nats" : "http"));
	}
	json_object_set_new(o, "snaplen", json_integer(session_snaplen(s)));
	json_object_set_new(o, "max_payload", json_integer(a->s.max_payload));
	json_object_set_new(o, "pids", pids);
	json_object_set_new(o, "comm", a->comm[0] ? json_string(a->comm) : json_null());
	json_object_set_new(o, "ports", ports);
	json_object_set_new(o, "command", json_boolean(a->s.cmd != NULL));
	json_object_set_new(o, "show_secrets", json_boolean(a->s.show_secrets));
	json_object_set_new(o, "nice", json_integer(a->s.nice));
	json_object_set_new(o, "sched", json_string(a->s.sched_idle ? "idle" : "other"));
	json_object_set_new(o, "overload_snaplen", json_integer(a->s.cap.overload_snaplen));
	json_object_set_new(o, "pair_local", json_boolean(a->s.cap.pair_local));
	return o;
}

static void put(struct trace_ctx *t, json_t *obj, struct session *s)
{
	if (obj && !t->write_err) {
		t->write_err = trace_writer_put(t->out, obj);
		if (t->write_err && s)
			session_stop(s, STOP_ERROR);
	}
	json_decref(obj);
}

static void write_meta(struct trace_ctx *t, struct session *s)
{
	json_t *m = json_object();
	struct utsname u;

	uname(&u);
	json_object_set_new(m, "type", json_string("meta"));
	json_object_set_new(m, "schema", json_integer(TRACE_SCHEMA));
	json_object_set_new(m, "tool", json_string("msgscope"));
	json_object_set_new(m, "version", json_string(MSGSCOPE_VERSION));
	json_object_set_new(m, "ts", json_integer(session_started(s)));
	json_object_set_new(m, "host", json_string(u.nodename));
	json_object_set_new(m, "kernel", json_string(u.release));
	json_object_set_new(m, "capture", json_string(session_capture_desc(s)));
	json_object_set_new(m, "tls", json_string(session_tls_desc(s)));
	json_object_set_new(m, "options", options_json(t->args, s));
	put(t, m, s);
	/* The meta line reaches the file at once: tests and tail -f wait on it. */
	if (!t->write_err)
		t->write_err = trace_writer_flush(t->out);
}

static void on_record(const struct msg_record *rec, void *ctx)
{
	struct trace_ctx *t = ctx;

	if (t->write_err)
		return;
	record_write_json_cached(trace_writer_line(t->out), rec, t->jcache);
	t->write_err = trace_writer_commit(t->out);
	corr_record(t->corr, rec);
}

static void on_flow_event(const struct flow_event *ev, void *ctx)
{
	struct trace_ctx *t = ctx;

	if (t->write_err)
		return;
	if (flow_event_write_cached(trace_writer_line(t->out), ev, t->fcache))
		t->write_err = trace_writer_commit(t->out);
}

static void close_correlator(struct trace_ctx *t)
{
	corr_free(t->corr);
	sock_resolver_free(t->resolver);
	free(t->jcache);
	free(t->fcache);
}

static int open_correlator(struct trace_ctx *t)
{
	struct corr_config cfg;

	corr_config_default(&cfg);
	cfg.interval_ns = t->args->s.interval_ns;
	cfg.payload_keep = 0; /* the subject table's last payloads: only top shows them */
	cfg.periodic_flows = true;
	/* Name the process at the far end of a loopback connection. */
	t->resolver = sock_resolver_new("/proc");
	if (t->resolver) {
		cfg.resolve_addr = sock_resolver_resolve;
		cfg.describe_pid = sock_resolver_describe;
		cfg.resolve_ctx = t->resolver;
	}
	cfg.emit = on_flow_event;
	cfg.emit_ctx = t;
	t->corr = corr_new(&cfg);
	t->jcache = calloc(1, sizeof(*t->jcache));
	t->fcache = calloc(1, sizeof(*t->fcache));
	return t->corr && t->jcache && t->fcache ? 0 : -ENOMEM;
}

static void on_drops(const struct session_counters *prev,
		     const struct session_counters *cur, uint64_t now, void *ctx)
{
	struct trace_ctx *t = ctx;
	uint64_t ev = cur->kernel[MS_STAT_DROP_DATA] - prev->kernel[MS_STAT_DROP_DATA];
	uint64_t by = cur->kernel[MS_STAT_DROP_BYTES] - prev->kernel[MS_STAT_DROP_BYTES];

	put(t, session_drops_json(prev, cur, now), NULL);
	fprintf(stderr, "msgscope: %llu events (%llu bytes) dropped: ring buffer full (total %llu); "
		"try a larger --buffer-size or a narrower filter%s\n",
		(unsigned long long)ev, (unsigned long long)by,
		(unsigned long long)cur->kernel[MS_STAT_DROP_DATA],
		t->args->s.nice ? ", or --nice 0 if the host is short of CPU" : "");
}

static void on_shed(bool on, uint32_t bytes, uint64_t until_ns, void *ctx)
{
	(void)ctx;
	if (on)
		fprintf(stderr, "msgscope: the load outruns msgscope at any priority: for %.0f s, "
			"only the first %u bytes of each call are copied, the rest counted in "
			"cut_bytes (--overload-snaplen)\n", until_ns / 1e9, bytes);
}

static void on_tick(struct session *s, uint64_t now, void *ctx)
{
	struct trace_ctx *t = ctx;

	corr_advance(t->corr, now);
	if (!t->write_err)
		t->write_err = trace_writer_flush(t->out);
	/* A write error met while writing a record (buffer full, disk full)
	 * has no session at hand: stop here, or the run goes on writing
	 * nothing (found by tests/e2e/test_faults.py test_disk_full). */
	if (t->write_err)
		session_stop(s, STOP_ERROR);
}

static void write_end(struct trace_ctx *t, struct session *s)
{
	json_t *end = session_end_json(s);

	json_object_set_new(end, "correlator", flow_counters_json(corr_counters(t->corr)));
	put(t, end, NULL);
}

static const char *scope_desc(const struct live_args *a, char *buf, size_t len)
{
	if (a->s.cmd)
		snprintf(buf, len, "command %s", a->s.cmd[0]);
	else if (a->s.cap.filter_pids)
		snprintf(buf, len, "%zu pid(s) and their children", a->s.cap.n_pids);
	else if (a->comm[0])
		snprintf(buf, len, "processes named %s", a->comm);
	else
		snprintf(buf, len, "all processes");
	/* a command or comm name may hold control characters: not for stderr */
	for (char *c = buf; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return buf;
}

static int parse_args(int argc, char **argv, struct live_args *a, const char **out)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, 'D' },
		{ "pid", required_argument, NULL, 'p' },
		{ "comm", required_argument, NULL, 'c' },
		{ "port", required_argument, NULL, 'P' },
		{ "snaplen", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ "buffer-size", required_argument, NULL, 'b' },
		{ "max-conns", required_argument, NULL, LOPT_MAX_CONNS },
		{ "max-payload", required_argument, NULL, LOPT_MAX_PAYLOAD },
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

	/* '+': stop at the first non-option, so `-- CMD -x` keeps its -x;
	 * ':': report missing values ourselves. */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:o:D:p:c:P:s:i:b:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o': *out = optarg; break;
		case 'D': if (parse_seconds("--duration", optarg, &a->s.duration_ns)) return 2; break;
		case 'b':
			/* -b is --buffer-size here (top's -b is batch mode) */
			if (parse_capture_opt(a, LOPT_BUFFER_SIZE, optarg))
				return 2;
			break;
		case 'i': if (parse_seconds("--interval", optarg, &a->s.interval_ns)) return 2; break;
		case 'h': usage(stdout); return -1;
		default:
			rc = parse_capture_opt(a, opt, optarg);
			if (rc < 0) {
				report_bad_option("trace", argc, argv, opt);
				return 2;
			}
			if (rc)
				return rc;
		}
	}
	live_args_finish(a);
	if (optind < argc) {
		/* Everything after the options is the command, `--` or not. */
		a->s.cmd = &argv[optind];
		if (a->s.cap.filter_pids) {
			fprintf(stderr, "msgscope: -p and a command cannot be combined\n");
			return 2;
		}
	}
	return 0;
}

int cmd_trace(int argc, char **argv)
{
	struct live_args args;
	struct trace_ctx t = { 0 };
	struct session_hooks hooks = {
		.record = on_record, .tick = on_tick, .drops = on_drops, .shed = on_shed, .ctx = &t,
	};
	struct session *s = NULL;
	const char *path = NULL;
	char scope[96];
	int ret, err;

	live_args_init(&args);
	t.args = &args;
	optind = 1;
	ret = parse_args(argc, argv, &args, &path);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (open_correlator(&t)) {
		fprintf(stderr, "msgscope: out of memory\n");
		goto fail;
	}
	if (trace_writer_open(&t.out, path))
		goto fail;
	if (session_open(&s, &args.s, &hooks)) {
		trace_writer_abandon(t.out); /* nothing was traced: no empty file */
		goto fail;
	}
	if (trace_writer_begin(t.out)) {
		trace_writer_abandon(t.out);
		session_close(s);
		goto fail;
	}
	write_meta(&t, s);
	fprintf(stderr, "msgscope: tracing %s (NATS, HTTP) to %s; Ctrl-C to stop\n",
		scope_desc(&args, scope, sizeof(scope)), trace_writer_path(t.out));
	err = session_run(s);
	if (err)
		fprintf(stderr, "msgscope: event loop failed: %s\n", strerror(-err));
	/* Pending exchanges time out and the final flow lines go out before
	 * the end line, which stays last. */
	corr_finish(t.corr);
	write_end(&t, s);
	/* Detaching ~30 tracepoints takes seconds on a busy host: the trace
	 * is complete on disk before that starts. */
	if (!t.write_err)
		t.write_err = trace_writer_flush(t.out);
	session_close(s);
	err = trace_writer_close(t.out) ?: t.write_err ?: err;
	close_correlator(&t);
	return err ? 1 : 0;
fail:
	close_correlator(&t);
	return 1;
}
