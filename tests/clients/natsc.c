/* SPDX-License-Identifier: MIT */
/*
 * natsc — a small NATS client for msgscope's end-to-end tests, built on the
 * NATS C client library (libnats).
 *
 *   natsc [OPTIONS] CMD ARGS...
 *
 * Options may appear anywhere on the command line ("--" ends them):
 *   -s URL            server URL (default nats://127.0.0.1:4222, or $NATS_URL)
 *   --name NAME       connection name sent in CONNECT
 *   --user U --pass P user/password authentication
 *   --token T         token authentication
 *   --tls-ca FILE     TLS: trust the CA (or self-signed certificate) in FILE;
 *                     implies a secure connection (a tls:// URL does too)
 *   --queue Q         queue group (sub, reply)
 *   --count N         number of messages (sub, request, reply)
 *   --timeout SEC     how long to wait (sub, request: per reply, reply)
 *   --rate N          pub: N messages a second (default: as fast as it goes)
 *   --quiet           sub: no line per message, only READY and DONE
 *   --then-pub S P    after the command, publish payload P on subject S
 *                     over the same connection (pub, hpub, pubsize, idle)
 *   --wait            before connecting, print WAITING and wait for a line
 *                     (or EOF) on stdin
 *
 * Commands:
 *   pub SUBJECT PAYLOAD [COUNT]       publish COUNT (default 1) messages
 *   hpub SUBJECT PAYLOAD K=V...       publish one message with headers
 *   pubsize SUBJECT BYTES             publish BYTES printable bytes
 *   sub SUBJECT                       print "MSG subject size" per message
 *   request SUBJECT PAYLOAD           print "REPLY subject size payload"
 *   reply SUBJECT RESPONSE            answer requests with RESPONSE
 *   idle SECONDS                      stay connected SECONDS (or until a
 *                                     line arrives on stdin)
 *
 * sub, reply and idle print READY once subscribed (or connected) and flushed.
 * Publishing commands print "PUBLISHED n" once the messages are flushed.
 * sub and reply print "DONE n" before exiting. Errors are one line on stderr
 * and a non-zero exit status (2 when sub/request/reply timed out before
 * reaching --count).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#define MAX_POS 64

static volatile sig_atomic_t g_stop;

struct opts {
	const char *url;
	const char *name;
	const char *user;
	const char *pass;
	const char *token;
	const char *tls_ca;      /* --tls-ca: CA file, secure connection */
	const char *queue;
	long count;          /* -1: not given */
	double timeout;      /* seconds, < 0: not given */
	long rate;           /* --rate: pub messages a second, 0: unpaced */
	bool quiet;          /* --quiet: sub prints no MSG lines */
	const char *then_subj;
	const char *then_payload;
	bool wait_stdin;
	const char *pos[MAX_POS];
	int npos;
};

static natsConnection *g_nc;

static void cleanup(void)
{
	if (g_nc) {
		natsConnection_Destroy(g_nc);
		g_nc = NULL;
	}
	nats_Close();
}

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("natsc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void die_status(const char *what, natsStatus s)
{
	const char *last = nats_GetLastError(NULL);

	if (last && *last)
		die("%s: %s (%s)", what, natsStatus_GetText(s), last);
	die("%s: %s", what, natsStatus_GetText(s));
}

static void usage(void)
{
	fputs("usage: natsc [-s URL] [--name N] [--user U --pass P] [--token T] [--tls-ca FILE] "
	      "[--queue Q] [--count N] [--timeout SEC] [--rate N] [--quiet] [--then-pub SUBJ PAYLOAD] "
	      "[--wait] CMD ARGS...\n"
	      "  CMD: pub SUBJ PAYLOAD [COUNT] | hpub SUBJ PAYLOAD K=V... | "
	      "pubsize SUBJ BYTES | sub SUBJ | request SUBJ PAYLOAD | "
	      "reply SUBJ RESPONSE | idle SECONDS\n",
	      stderr);
}

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static long parse_long(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		die("invalid %s: '%s'", what, s);
	return v;
}

static double parse_secs(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0)
		die("invalid %s: '%s'", what, s);
	return v;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	bool opts_done = false;
	const char *env = getenv("NATS_URL");

	memset(o, 0, sizeof(*o));
	o->url = env && *env ? env : "nats://127.0.0.1:4222";
	o->count = -1;
	o->timeout = -1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

#define NEED(n)                                                  \
	do {                                                     \
		if (i + (n) >= argc)                             \
			die("option %s needs an argument", a);   \
	} while (0)

		if (!opts_done && a[0] == '-' && a[1]) {
			if (!strcmp(a, "--")) {
				opts_done = true;
			} else if (!strcmp(a, "-s") || !strcmp(a, "--server")) {
				NEED(1);
				o->url = argv[++i];
			} else if (!strcmp(a, "--name")) {
				NEED(1);
				o->name = argv[++i];
			} else if (!strcmp(a, "--user")) {
				NEED(1);
				o->user = argv[++i];
			} else if (!strcmp(a, "--pass")) {
				NEED(1);
				o->pass = argv[++i];
			} else if (!strcmp(a, "--token")) {
				NEED(1);
				o->token = argv[++i];
			} else if (!strcmp(a, "--tls-ca")) {
				NEED(1);
				o->tls_ca = argv[++i];
			} else if (!strcmp(a, "--queue")) {
				NEED(1);
				o->queue = argv[++i];
			} else if (!strcmp(a, "--count")) {
				NEED(1);
				o->count = parse_long(argv[++i], "--count");
			} else if (!strcmp(a, "--timeout")) {
				NEED(1);
				o->timeout = parse_secs(argv[++i], "--timeout");
			} else if (!strcmp(a, "--rate")) {
				NEED(1);
				o->rate = parse_long(argv[++i], "--rate");
			} else if (!strcmp(a, "--quiet")) {
				o->quiet = true;
			} else if (!strcmp(a, "--then-pub")) {
				NEED(2);
				o->then_subj = argv[++i];
				o->then_payload = argv[++i];
			} else if (!strcmp(a, "--wait")) {
				o->wait_stdin = true;
			} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
				usage();
				exit(0);
			} else {
				usage();
				die("unknown option '%s'", a);
			}
			continue;
		}
#undef NEED
		if (o->npos >= MAX_POS)
			die("too many arguments");
		o->pos[o->npos++] = a;
	}
	if (o->npos < 1) {
		usage();
		die("missing command");
	}
}

static void need_pos(const struct opts *o, int min, int max)
{
	int n = o->npos - 1;

	if (n < min || (max >= 0 && n > max)) {
		usage();
		die("%s: wrong number of arguments", o->pos[0]);
	}
}

/* Wait for a line (or EOF) on stdin; give up after timeout_ms (< 0: never)
 * or on SIGINT/SIGTERM. Returns true when a line or EOF arrived. */
static bool wait_stdin_line(int64_t timeout_ms, bool eof_counts)
{
	int64_t deadline = timeout_ms >= 0 ? nats_Now() + timeout_ms : -1;
	bool eof = false;

	while (!g_stop) {
		int64_t left = 200;
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		int r;

		if (deadline >= 0) {
			left = deadline - nats_Now();
			if (left <= 0)
				return false;
			if (left > 200)
				left = 200;
		}
		if (eof) {
			/* stdin is at EOF and EOF does not count: just wait. */
			nats_Sleep(left);
			continue;
		}
		r = poll(&pfd, 1, (int)left);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("poll stdin: %s", strerror(errno));
		}
		if (r == 0)
			continue;
		if (pfd.revents & POLLIN) {
			char buf[512];
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

			if (n > 0) {
				if (memchr(buf, '\n', (size_t)n))
					return true;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			/* EOF or error */
			if (eof_counts)
				return true;
			eof = true;
			continue;
		}
		if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
			if (eof_counts)
				return true;
			eof = true;
		}
	}
	return false;
}

static natsConnection *connect_nats(const struct opts *o)
{
	natsOptions *nopts = NULL;
	natsConnection *nc = NULL;
	natsStatus s;

	s = natsOptions_Create(&nopts);
	if (s != NATS_OK)
		die_status("options", s);
	s = natsOptions_SetURL(nopts, o->url);
	if (s == NATS_OK && o->name)
		s = natsOptions_SetName(nopts, o->name);
	if (s == NATS_OK && (o->user || o->pass))
		s = natsOptions_SetUserInfo(nopts, o->user ? o->user : "",
					    o->pass ? o->pass : "");
	if (s == NATS_OK && o->token)
		s = natsOptions_SetToken(nopts, o->token);
	if (s == NATS_OK && o->tls_ca)
		s = natsOptions_SetSecure(nopts, true);
	if (s == NATS_OK && o->tls_ca)
		s = natsOptions_LoadCATrustedCertificates(nopts, o->tls_ca);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(nopts, 5000);
	if (s == NATS_OK)
		s = natsOptions_SetAllowReconnect(nopts, false);
	if (s != NATS_OK)
		die_status("options", s);

	s = natsConnection_Connect(&nc, nopts);
	natsOptions_Destroy(nopts);
	if (s != NATS_OK)
		die_status("connect", s);
	return nc;
}

static void flush(natsConnection *nc)
{
	natsStatus s = natsConnection_FlushTimeout(nc, 10000);

	if (s != NATS_OK)
		die_status("flush", s);
}

static void publish(natsConnection *nc, const char *subj, const char *data,
		    size_t len)
{
	natsStatus s = natsConnection_Publish(nc, subj, data, (int)len);

	if (s != NATS_OK)
		die_status("publish", s);
}

static void then_pub(natsConnection *nc, const struct opts *o)
{
	if (!o->then_subj)
		return;
	publish(nc, o->then_subj, o->then_payload, strlen(o->then_payload));
	flush(nc);
	printf("PUBLISHED 1 %s\n", o->then_subj);
}

/* --rate: message i waits for its time, i / rate seconds after the first;
 * one that is late (the host is busy) goes at once, and so catches up. */
static void pace(long rate, long i)
{
	static struct timespec start;
	struct timespec at;
	uint64_t ns;

	if (rate <= 0)
		return;
	if (i == 0)
		clock_gettime(CLOCK_MONOTONIC, &start);
	ns = (uint64_t)start.tv_nsec + (uint64_t)i * 1000000000ull / (uint64_t)rate;
	at.tv_sec = start.tv_sec + (time_t)(ns / 1000000000ull);
	at.tv_nsec = (long)(ns % 1000000000ull);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
		;
}

static int cmd_pub(natsConnection *nc, const struct opts *o)
{
	const char *subj, *payload;
	long count = 1;

	need_pos(o, 2, 3);
	subj = o->pos[1];
	payload = o->pos[2];
	if (o->npos == 4)
		count = parse_long(o->pos[3], "COUNT");
	for (long i = 0; i < count; i++) {
		pace(o->rate, i);
		publish(nc, subj, payload, strlen(payload));
	}
	flush(nc);
	printf("PUBLISHED %ld %s\n", count, subj);
	then_pub(nc, o);
	return 0;
}

static int cmd_hpub(natsConnection *nc, const struct opts *o)
{
	natsMsg *m = NULL;
	natsStatus s;
	const char *subj, *payload;

	need_pos(o, 2, -1);
	subj = o->pos[1];
	payload = o->pos[2];
	s = natsMsg_Create(&m, subj, NULL, payload, (int)strlen(payload));
	if (s != NATS_OK)
		die_status("message", s);
	for (int i = 3; i < o->npos; i++) {
		char *kv = strdup(o->pos[i]);
		char *eq;

		if (!kv)
			die("out of memory");
		eq = strchr(kv, '=');
		if (!eq || eq == kv)
			die("hpub: header '%s' is not NAME=VALUE", o->pos[i]);
		*eq = '\0';
		s = natsMsgHeader_Add(m, kv, eq + 1);
		free(kv);
		if (s != NATS_OK)
			die_status("header", s);
	}
	s = natsConnection_PublishMsg(nc, m);
	natsMsg_Destroy(m);
	if (s != NATS_OK)
		die_status("publish", s);
	flush(nc);
	printf("PUBLISHED 1 %s\n", subj);
	then_pub(nc, o);
	return 0;
}

static int cmd_pubsize(natsConnection *nc, const struct opts *o)
{
	const char *subj;
	long size;
	char *buf;

	need_pos(o, 2, 2);
	subj = o->pos[1];
	size = parse_long(o->pos[2], "BYTES");
	buf = malloc(size > 0 ? (size_t)size : 1);
	if (!buf)
		die("out of memory");
	/* Printable and position-dependent, so a misplaced slice shows. */
	for (long i = 0; i < size; i++)
		buf[i] = (char)('a' + i % 26);
	if (size > 0)
		buf[size - 1] = 'Z';
	publish(nc, subj, buf, (size_t)size);
	free(buf);
	flush(nc);
	printf("PUBLISHED 1 %s\n", subj);
	then_pub(nc, o);
	return 0;
}

/* Next message from sub, waiting at most until deadline (ms since epoch,
 * < 0 = forever) and stopping on a signal. NULL on timeout/stop. */
static natsMsg *next_msg(natsSubscription *sub, int64_t deadline)
{
	while (!g_stop) {
		natsMsg *m = NULL;
		int64_t wait = 200;
		natsStatus s;

		if (deadline >= 0) {
			int64_t left = deadline - nats_Now();

			if (left <= 0)
				return NULL;
			if (left < wait)
				wait = left;
		}
		s = natsSubscription_NextMsg(&m, sub, wait);
		if (s == NATS_OK)
			return m;
		if (s != NATS_TIMEOUT)
			die_status("next message", s);
	}
	return NULL;
}

static natsSubscription *subscribe(natsConnection *nc, const char *subj,
				   const char *queue)
{
	natsSubscription *sub = NULL;
	natsStatus s;

	if (queue)
		s = natsConnection_QueueSubscribeSync(&sub, nc, subj, queue);
	else
		s = natsConnection_SubscribeSync(&sub, nc, subj);
	if (s != NATS_OK)
		die_status("subscribe", s);
	flush(nc);
	printf("READY\n");
	return sub;
}

static int64_t deadline_of(const struct opts *o, double dflt)
{
	double t = o->timeout >= 0 ? o->timeout : dflt;

	return nats_Now() + (int64_t)(t * 1000.0);
}

static int cmd_sub(natsConnection *nc, const struct opts *o)
{
	natsSubscription *sub;
	int64_t deadline;
	long n = 0;

	need_pos(o, 1, 1);
	sub = subscribe(nc, o->pos[1], o->queue);
	deadline = deadline_of(o, 30);
	while (o->count < 0 || n < o->count) {
		natsMsg *m = next_msg(sub, deadline);

		if (!m)
			break;
		n++;
		if (!o->quiet)
			printf("MSG %s %d\n", natsMsg_GetSubject(m),
			       natsMsg_GetDataLength(m));
		natsMsg_Destroy(m);
	}
	natsSubscription_Destroy(sub);
	printf("DONE %ld\n", n);
	if (o->count >= 0 && n < o->count && !g_stop) {
		fprintf(stderr, "natsc: sub: timeout after %ld of %ld messages\n",
			n, o->count);
		return 2;
	}
	return 0;
}

static int cmd_request(natsConnection *nc, const struct opts *o)
{
	const char *subj, *payload;
	long count = o->count >= 0 ? o->count : 1;
	int64_t timeout_ms = (int64_t)((o->timeout >= 0 ? o->timeout : 5) * 1000.0);

	need_pos(o, 2, 2);
	subj = o->pos[1];
	payload = o->pos[2];
	for (long i = 0; i < count && !g_stop; i++) {
		natsMsg *reply = NULL;
		natsStatus s = natsConnection_Request(&reply, nc, subj, payload,
						      (int)strlen(payload),
						      timeout_ms);

		if (s == NATS_TIMEOUT) {
			fprintf(stderr, "natsc: request: no reply within %" PRId64
				" ms (%ld of %ld answered)\n", timeout_ms, i, count);
			return 2;
		}
		if (s != NATS_OK)
			die_status("request", s);
		printf("REPLY %s %d %.*s\n", natsMsg_GetSubject(reply),
		       natsMsg_GetDataLength(reply),
		       natsMsg_GetDataLength(reply), natsMsg_GetData(reply));
		natsMsg_Destroy(reply);
	}
	return 0;
}

static int cmd_reply(natsConnection *nc, const struct opts *o)
{
	natsSubscription *sub;
	const char *response;
	int64_t deadline;
	long n = 0;

	need_pos(o, 2, 2);
	response = o->pos[2];
	sub = subscribe(nc, o->pos[1], o->queue);
	deadline = deadline_of(o, 30);
	while (o->count < 0 || n < o->count) {
		natsMsg *m = next_msg(sub, deadline);
		const char *reply;

		if (!m)
			break;
		reply = natsMsg_GetReply(m);
		printf("REQUEST %s %s %d\n", natsMsg_GetSubject(m),
		       reply ? reply : "-", natsMsg_GetDataLength(m));
		if (reply && *reply) {
			publish(nc, reply, response, strlen(response));
			flush(nc);
		}
		natsMsg_Destroy(m);
		n++;
	}
	natsSubscription_Destroy(sub);
	printf("DONE %ld\n", n);
	if (o->count >= 0 && n < o->count && !g_stop) {
		fprintf(stderr, "natsc: reply: timeout after %ld of %ld requests\n",
			n, o->count);
		return 2;
	}
	return 0;
}

static int cmd_idle(natsConnection *nc, const struct opts *o)
{
	double secs;

	need_pos(o, 1, 1);
	secs = parse_secs(o->pos[1], "SECONDS");
	flush(nc);
	printf("READY\n");
	wait_stdin_line((int64_t)(secs * 1000.0), false);
	then_pub(nc, o);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(natsConnection *, const struct opts *);
	} cmds[] = {
		{ "pub", cmd_pub },         { "hpub", cmd_hpub },
		{ "pubsize", cmd_pubsize }, { "sub", cmd_sub },
		{ "request", cmd_request }, { "reply", cmd_reply },
		{ "idle", cmd_idle },
	};
	struct sigaction sa;
	struct opts o;
	int (*fn)(natsConnection *, const struct opts *) = NULL;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv, &o);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(o.pos[0], cmds[i].name))
			fn = cmds[i].fn;
	if (!fn) {
		usage();
		die("unknown command '%s'", o.pos[0]);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (o.wait_stdin) {
		printf("WAITING\n");
		wait_stdin_line(-1, true);
		if (g_stop)
			return 1;
	}

	atexit(cleanup);
	g_nc = connect_nats(&o);
	rc = fn(g_nc, &o);
	natsConnection_Close(g_nc);
	fflush(stdout);
	return rc;
}
