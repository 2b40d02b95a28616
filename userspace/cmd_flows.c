// SPDX-License-Identifier: MIT
/*
 * cmd_flows.c — `msgscope flows`: the flow table of a recorded trace, so a
 * trace taken on a cluster host can be studied elsewhere, without root.
 * Only the raw nats/http records are used; exchange/delivery/flow lines in
 * the input are recomputed, not trusted.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "correlator.h"
#include "flow_json.h"
#include "trace_reader.h"

struct flows_out {
	bool json;
	bool write_failed;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: msgscope flows [--json] [--interval SEC] [--timeout SEC] TRACE.jsonl\n"
		"Print the flow table of a recorded trace (\"-\" reads stdin): one row per\n"
		"edge (proto, kind, from, to, subject or endpoint), most messages first.\n"
		"\n"
		"  --json          flow records as JSON Lines instead of a table\n"
		"  --interval SEC  with --json, also one flow record per active edge every\n"
		"                  SEC of trace time (default: final records only)\n"
		"  --timeout SEC   how long a request waits for its reply before it counts\n"
		"                  as an error (default 5)\n"
		"  -h, --help      show this help\n");
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "msgscope: flows: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see msgscope flows --help)\n");
	return 2;
}

/* Seconds, fractions allowed, > 0 and sane. */
static int parse_sec(const char *opt, const char *arg, uint64_t *ns)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end || !isfinite(v) || v <= 0 || v > 86400.0 * 365) {
		fprintf(stderr, "msgscope: flows: %s: not a positive number of seconds: '%s'\n",
			opt, arg);
		return -1;
	}
	*ns = (uint64_t)(v * 1e9);
	if (!*ns)
		*ns = 1;
	return 0;
}

static void print_event(const struct flow_event *ev, void *ctx)
{
	struct flows_out *o = ctx;
	json_t *j;

	if (!o->json || ev->type != FLOW_EV_FLOW)
		return;
	j = flow_event_json(ev);
	if (!j || json_dumpf(j, stdout, JSON_COMPACT) || putchar('\n') == EOF)
		o->write_failed = true;
	json_decref(j);
}

static void report(const char *path, const struct trace_reader_stats *st,
		   const struct corr_counters *k)
{
	uint64_t evicted = k->evicted_conns + k->evicted_pubs +
			   k->evicted_requests + k->evicted_http +
			   k->evicted_edges + k->evicted_subjects +
			   k->overflow_components + k->overflow_subs +
			   k->overflow_reorder;

	if (st->malformed)
		fprintf(stderr, "msgscope: %s: %" PRIu64 " malformed line%s skipped\n",
			path, st->malformed, st->malformed == 1 ? "" : "s");
	if (evicted)
		fprintf(stderr, "msgscope: %s: tables were full, %" PRIu64
			" items pushed out: the flows are incomplete\n", path, evicted);
}

int cmd_flows(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "interval", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct flows_out out = { 0 };
	struct trace_reader_ops ops = { .on_record = corr_record_cb };
	struct trace_reader_stats st;
	struct corr_config cfg;
	struct correlator *c = NULL;
	char err[512];
	int opt, rc = 1;

	corr_config_default(&cfg);
	optind = 0; /* a fresh scan whatever parsed argv before */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hji:t:", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 'j':
			out.json = true;
			break;
		case 'i':
			if (parse_sec("--interval", optarg, &cfg.interval_ns))
				return 2;
			cfg.periodic_flows = true;
			break;
		case 't':
			if (parse_sec("--timeout", optarg, &cfg.timeout_ns))
				return 2;
			break;
		case ':':
			return usage_error("%s needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("missing TRACE.jsonl");
	if (optind + 1 < argc)
		return usage_error("unexpected argument '%s'", argv[optind + 1]);
	cfg.periodic_flows = cfg.periodic_flows && out.json;
	cfg.emit = print_event;
	cfg.emit_ctx = &out;
	c = corr_new(&cfg);
	if (!c) {
		fprintf(stderr, "msgscope: flows: out of memory\n");
		goto cleanup;
	}
	if (trace_read_path(argv[optind], &ops, c, &st, err, sizeof(err))) {
		fprintf(stderr, "msgscope: %s\n", err);
		goto cleanup;
	}
	corr_finish(c);
	if (!out.json && flow_table_print(stdout, c))
		out.write_failed = true;
	if (fflush(stdout) || out.write_failed) {
		fprintf(stderr, "msgscope: flows: cannot write the output\n");
		goto cleanup;
	}
	report(argv[optind], &st, corr_counters(c));
	rc = 0;
cleanup:
	corr_free(c);
	return rc;
}
