/* SPDX-License-Identifier: MIT */
#include "cli_common.h"

#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tui_input.h"
#include "tui_model.h"
#include "tui_text.h"

void live_args_init(struct live_args *a)
{
	memset(a, 0, sizeof(*a));
	a->s.cap.snaplen = MS_DEFAULT_SNAPLEN;
	/* 32 MiB: mapped once, its pages count once in our RSS, as much as
	 * 16 MiB did mapped twice (bench/RESULTS.md, 2026-12-06) */
	a->s.cap.ringbuf_bytes = 32u << 20;
	a->s.cap.pids = a->pids;
	a->s.max_payload = DEFAULT_MAX_PAYLOAD;
	a->s.max_conns = 16384;
	a->s.interval_ns = 10ull * 1000000000ull;
	a->s.nice = DEFAULT_NICE;
	a->s.sched_idle = true;
	a->s.cap.overload_snaplen = DEFAULT_OVERLOAD_SNAPLEN;
	a->s.cap.rings = CAPTURE_RINGS_DEFAULT;
}

int parse_uint(const char *opt, const char *arg, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < min || v > max) {
		fprintf(stderr, "msgscope: %s: expected a whole number from %llu to %llu, got '%s'\n",
			opt, (unsigned long long)min, (unsigned long long)max, arg);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* A count of MiB, the unit written or not: "32", "32M", "32MiB" (perf's -m
 * and most tools take a suffix, and a size without one is easy to doubt). */
static int parse_mib(const char *arg, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || arg[0] == '-')
		return -EINVAL;
	if (*end && strcasecmp(end, "M") && strcasecmp(end, "MiB"))
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_seconds(const char *opt, const char *arg, uint64_t *ns)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v > 0) || v > 1e7) {
		fprintf(stderr, "msgscope: %s: expected a positive number of seconds, got '%s'\n",
			opt, arg);
		return -EINVAL;
	}
	*ns = (uint64_t)(v * 1e9);
	return 0;
}

int parse_pid_list(struct live_args *a, const char *arg)
{
	const char *p = arg;

	if (!*p)
		goto bad;
	while (*p) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || end == p || *p == '-' || v == 0 || v > 0x7fffffff ||
		    (*end && *end != ','))
			goto bad;
		if (a->s.cap.n_pids >= MAX_PID_ARGS) {
			fprintf(stderr, "msgscope: -p: at most %d pids\n", MAX_PID_ARGS);
			return -EINVAL;
		}
		a->pids[a->s.cap.n_pids++] = v;
		p = *end ? end + 1 : end;
		if (*end && !*p)
			goto bad;
	}
	a->s.cap.filter_pids = true;
	return 0;
bad:
	fprintf(stderr, "msgscope: -p: expected PID[,PID...], got '%s'\n", arg);
	return -EINVAL;
}

int parse_port_override(struct live_args *a, const char *arg)
{
	const char *colon = strchr(arg, ':');
	struct port_override *po;
	uint64_t port;
	char num[16];

	if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof(num))
		goto bad;
	memcpy(num, arg, colon - arg);
	num[colon - arg] = '\0';
	if (parse_uint("--port", num, 1, 65535, &port))
		return -EINVAL;
	if (a->s.cap.n_ports >= CAPTURE_MAX_PORTS) {
		fprintf(stderr, "msgscope: --port: at most %d ports\n", CAPTURE_MAX_PORTS);
		return -EINVAL;
	}
	po = &a->s.cap.ports[a->s.cap.n_ports];
	if (!strcmp(colon + 1, "nats"))
		po->proto = MS_PROTO_NATS;
	else if (!strcmp(colon + 1, "http"))
		po->proto = MS_PROTO_HTTP;
	else
		goto bad;
	po->port = port;
	a->s.cap.n_ports++;
	return 0;
bad:
	fprintf(stderr, "msgscope: --port: expected PORT:nats or PORT:http, got '%s'\n", arg);
	return -EINVAL;
}

void report_bad_option(const char *cmd, int argc, char **argv, int opt)
{
	const char *arg = optind - 1 < argc ? argv[optind - 1] : "?";

	if (opt == ':')
		fprintf(stderr, "msgscope: %s: option '%s' needs a value\n", cmd, arg);
	else
		fprintf(stderr, "msgscope: %s: unknown option '%s'\n", cmd, arg);
	fprintf(stderr, "Try 'msgscope %s --help'.\n", cmd);
}

int parse_capture_opt(struct live_args *a, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case 'p': return parse_pid_list(a, arg) ? 2 : 0;
	case 'P': return parse_port_override(a, arg) ? 2 : 0;
	case 'c':
		if (strlen(arg) >= sizeof(a->comm)) {
			fprintf(stderr, "msgscope: --comm: names are at most 15 characters (the kernel's comm)\n");
			return 2;
		}
		strcpy(a->comm, arg);
		a->s.cap.comm = a->comm;
		return 0;
	case 's':
		if (parse_uint("--snaplen", arg, 0, MS_MAX_SYSCALL_SNAPLEN, &v))
			return 2;
		a->s.cap.snaplen = v;
		a->snaplen_set = true;
		return 0;
	case LOPT_MAX_PAYLOAD:
		if (parse_uint("--max-payload", arg, 0, 64ull << 20, &v))
			return 2;
		a->s.max_payload = v;
		a->max_payload_set = true;
		return 0;
	case LOPT_BUFFER_SIZE:
		if (parse_mib(arg, &v) || v < 1 || v > 1024 || (v & (v - 1))) {
			fprintf(stderr, "msgscope: --buffer-size: expected a power of two MiB from 1 to 1024 "
				"(32 or 32M), got '%s'\n", arg);
			return 2;
		}
		a->s.cap.ringbuf_bytes = v << 20;
		return 0;
	case LOPT_MAX_CONNS:
		if (parse_uint("--max-conns", arg, 16, 1 << 22, &v))
			return 2;
		a->s.max_conns = v;
		return 0;
	case LOPT_NICE:
		a->s.sched_idle = !strcmp(arg, "idle");
		if (a->s.sched_idle) {
			a->s.nice = DEFAULT_NICE;
			return 0;
		}
		if (!*arg || arg[strspn(arg, "0123456789")] ||
		    (v = strtoull(arg, NULL, 10)) > 19) {
			fprintf(stderr, "msgscope: --nice: expected idle or a niceness from 0 to 19, got '%s'\n",
				arg);
			return 2;
		}
		a->s.nice = (int)v;
		return 0;
	case LOPT_OVERLOAD_SNAPLEN:
		if (parse_uint("--overload-snaplen", arg, 0, MS_MAX_SNAPLEN, &v))
			return 2;
		a->s.cap.overload_snaplen = v;
		return 0;
	case LOPT_SHOW_SECRETS: a->s.show_secrets = true; return 0;
	case LOPT_NO_TLS: a->s.cap.no_tls = true; return 0;
	case LOPT_PAIR_LOCAL: a->s.cap.pair_local = true; return 0;
	case LOPT_RINGS:
		if (!strcmp(arg, "cpu")) {
			a->s.cap.rings = CAPTURE_RINGS_PER_CPU;
			return 0;
		}
		if (!*arg || arg[strspn(arg, "0123456789")] ||
		    (v = strtoull(arg, NULL, 10)) < 1 || v > 4096) {
			fprintf(stderr, "msgscope: --rings: expected a number from 1 to 4096, or cpu, got '%s'\n",
				arg);
			return 2;
		}
		a->s.cap.rings = (uint32_t)v;
		return 0;
	case LOPT_RING_PER_CPU: a->s.cap.rings = CAPTURE_RINGS_PER_CPU; return 0;
	case 'v': a->s.cap.verbose = true; return 0;
	default: return -1;
	}
}

void live_args_finish(struct live_args *a)
{
	if (a->snaplen_set && !a->max_payload_set)
		a->s.max_payload = a->s.cap.snaplen;
}

int parse_view_opt(struct view_args *va, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case 'd':
		if (parse_seconds("--delay", arg, &va->delay_ns))
			return 2;
		if (va->delay_ns < TUI_MIN_DELAY_NS)
			va->delay_ns = TUI_MIN_DELAY_NS;
		return 0;
	case 'b': va->batch = true; return 0;
	case 'n':
		if (parse_uint("--frames", arg, 1, LONG_MAX, &v))
			return 2;
		va->frames = v;
		return 0;
	case 'w':
		if (parse_uint("--width", arg, 40, TUI_LINE_MAX, &v))
			return 2;
		va->width = v;
		return 0;
	case 'V':
		va->view = tui_view_parse(arg);
		if (va->view < 0) {
			fprintf(stderr, "msgscope: --view: expected flows, messages, components, subjects or 1-4, got '%s'\n",
				arg);
			return 2;
		}
		return 0;
	case LOPT_NO_COLOR: va->color = false; return 0;
	default: return -1;
	}
}

int view_batch_width(void)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS");

	if (env && atoi(env) >= 40)
		return atoi(env) < TUI_LINE_MAX ? atoi(env) : TUI_LINE_MAX;
	if (isatty(STDOUT_FILENO) && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col >= 40)
		return ws.ws_col;
	return VIEW_BATCH_WIDTH;
}

bool view_shows_messages(const struct view_args *v)
{
	return !v->batch || v->view == TV_MESSAGES;
}
