/* SPDX-License-Identifier: MIT */
/*
 * nats_bench — the NATS load generator of msgscope's benchmark (bench/run.sh).
 * Built on libnats; one process per role, so that `msgscope trace -p` can be
 * pointed at the clients only.
 *
 *   nats_bench pub   [OPTIONS]   publish --size byte messages at --rate
 *   nats_bench sub   [OPTIONS]   receive them, measure one-way latency
 *   nats_bench reply [OPTIONS]   answer requests with --size byte replies
 *   nats_bench req   [OPTIONS]   send requests one after the other, measure
 *                                round trips
 *
 * Options:
 *   -s, --url URL        server (default nats://127.0.0.1:4222)
 *   -S, --subject SUBJ   subject (default bench.msgs)
 *   -n, --size BYTES     payload size, >= 16 (default 256)
 *   -r, --rate R         messages (requests) per second; 0 = as fast as
 *                        possible (default 0). Paced in batches every 1 ms.
 *   -c, --count N        stop after N messages (requests)
 *   -d, --duration SEC   stop after SEC seconds (default 5 unless --count)
 *   -w, --wait           after connecting, print "READY <pid>" and wait for
 *                        SIGUSR1 before sending (pub, req)
 *   -t, --timeout SEC    sub/reply: give up when nothing arrives for SEC
 *                        seconds (default 60)
 *
 * Every process prints "READY <pid>" on stdout once connected (and
 * subscribed), and one JSON object on its last stdout line when done.
 *
 * Payload: 16 lowercase hex digits of the send time (CLOCK_MONOTONIC, ns),
 * then (size >= 32) 16 hex digits of the sequence number, then 'x'. The
 * receiver on the same host subtracts the send time from its own clock.
 * The run ends with one marker message on the same subject, "E" and the
 * number of data messages sent, so that the subscriber knows how many to
 * expect and when everything before it has arrived (NATS keeps one
 * publisher's order).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

/* ---- options ------------------------------------------------------------ */

struct opts {
	const char *mode;
	const char *url;
	const char *subject;
	long size;
	double rate;
	long long count;
	double duration;
	double timeout;
	bool wait;
};

static struct opts o = {
	.url = "nats://127.0.0.1:4222",
	.subject = "bench.msgs",
	.size = 256,
	.rate = 0,
	.count = -1,
	.duration = -1,
	.timeout = 60,
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("nats_bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void check(natsStatus s, const char *what)
{
	if (s != NATS_OK)
		die("%s: %s (%s)", what, natsStatus_GetText(s), nats_GetLastError(NULL));
}

static void usage(FILE *f)
{
	fputs("usage: nats_bench pub|sub|req|reply [-s URL] [-S SUBJECT] [-n SIZE] [-r RATE]\n"
	      "                  [-c COUNT | -d SECONDS] [-w] [-t TIMEOUT]\n", f);
}

static double parse_num(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0)
		die("invalid %s: '%s'", what, s);
	return v;
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "url", required_argument, NULL, 's' },
		{ "subject", required_argument, NULL, 'S' },
		{ "size", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "wait", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	if (argc < 2) {
		usage(stderr);
		exit(2);
	}
	o.mode = argv[1];
	if (!strcmp(o.mode, "-h") || !strcmp(o.mode, "--help")) {
		usage(stdout);
		exit(0);
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "s:S:n:r:c:d:t:wh", lo, NULL)) != -1) {
		switch (c) {
		case 's': o.url = optarg; break;
		case 'S': o.subject = optarg; break;
		case 'n': o.size = (long)parse_num(optarg, "size"); break;
		case 'r': o.rate = parse_num(optarg, "rate"); break;
		case 'c': o.count = (long long)parse_num(optarg, "count"); break;
		case 'd': o.duration = parse_num(optarg, "duration"); break;
		case 't': o.timeout = parse_num(optarg, "timeout"); break;
		case 'w': o.wait = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc)
		die("unexpected argument '%s'", argv[optind]);
	if (o.size < 16 || o.size > (1 << 20))
		die("--size must be 16..1048576");
	if (o.count < 0 && o.duration < 0)
		o.duration = 5;
}

/* ---- time and latency histogram ---------------------------------------- */

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Log-linear histogram of nanoseconds: values below 2^SUB_BITS are exact,
 * above that each power of two is split in 2^SUB_BITS buckets (relative
 * error < 1/64). Fixed size, no allocation on the hot path.
 */
#define SUB_BITS 6
#define SUB (1u << SUB_BITS)
#define MAX_EXP 44 /* ~4.8 hours in ns: anything above is clamped */
#define NBUCKETS ((MAX_EXP - SUB_BITS + 1) * SUB + SUB)

struct hist {
	uint64_t n;
	uint64_t max;
	double sum;
	uint64_t b[NBUCKETS];
};

static unsigned hist_index(uint64_t v)
{
	unsigned e;

	if (v < SUB)
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v); /* >= SUB_BITS */
	if (e > MAX_EXP)
		return NBUCKETS - 1;
	return (e - SUB_BITS + 1) * SUB + (unsigned)((v >> (e - SUB_BITS)) & (SUB - 1));
}

/* The upper bound of a bucket's values, what a percentile reports. */
static uint64_t hist_value(unsigned i)
{
	unsigned e;

	if (i < SUB)
		return i;
	e = i / SUB - 1 + SUB_BITS;
	return ((uint64_t)(SUB + i % SUB) << (e - SUB_BITS)) + ((1ull << (e - SUB_BITS)) - 1);
}

static void hist_add(struct hist *h, uint64_t v)
{
	h->b[hist_index(v)]++;
	h->n++;
	h->sum += (double)v;
	if (v > h->max)
		h->max = v;
}

static double hist_pct_us(const struct hist *h, double pct)
{
	uint64_t want, seen = 0;

	if (!h->n)
		return 0;
	want = (uint64_t)((pct / 100.0) * (double)h->n + 0.999999);
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < NBUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t v = hist_value(i);

			return (double)(v < h->max ? v : h->max) / 1000.0;
		}
	}
	return (double)h->max / 1000.0;
}

static void hist_json(const char *prefix, const struct hist *h)
{
	printf("\"%s_p50_us\":%.1f,\"%s_p90_us\":%.1f,\"%s_p99_us\":%.1f,"
	       "\"%s_p999_us\":%.1f,\"%s_max_us\":%.1f,\"%s_mean_us\":%.1f",
	       prefix, hist_pct_us(h, 50), prefix, hist_pct_us(h, 90),
	       prefix, hist_pct_us(h, 99), prefix, hist_pct_us(h, 99.9),
	       prefix, (double)h->max / 1000.0,
	       prefix, h->n ? h->sum / (double)h->n / 1000.0 : 0.0);
}

/* ---- payload ------------------------------------------------------------ */

static const char hexd[16] = "0123456789abcdef";

static inline void put_hex16(char *p, uint64_t v)
{
	for (int i = 15; i >= 0; i--, v >>= 4)
		p[i] = hexd[v & 15];
}

static inline bool get_hex16(const char *p, uint64_t *out)
{
	uint64_t v = 0;

	for (int i = 0; i < 16; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint64_t)(c - 'a' + 10);
		else
			return false;
	}
	*out = v;
	return true;
}

static char *payload_new(void)
{
	char *p = malloc((size_t)o.size);

	if (!p)
		die("out of memory");
	memset(p, 'x', (size_t)o.size);
	return p;
}

static void payload_mark_end(char *p, long long sent)
{
	char tmp[32];

	memset(p, 'x', (size_t)o.size);
	snprintf(tmp, sizeof(tmp), "E%015lld", sent);
	memcpy(p, tmp, 16);
}

/* ---- connection --------------------------------------------------------- */

static natsConnection *connect_to(const char *name, bool send_asap)
{
	natsOptions *opts;
	natsConnection *nc;

	check(natsOptions_Create(&opts), "options");
	check(natsOptions_SetURL(opts, o.url), "url");
	check(natsOptions_SetName(opts, name), "name");
	check(natsOptions_SetAllowReconnect(opts, false), "reconnect");
	check(natsOptions_SetTimeout(opts, 5000), "timeout");
	/* libnats otherwise hands each publish to its flusher thread, which
	 * waits ~1 ms to batch: what its docs advise for a responder. */
	check(natsOptions_SetSendAsap(opts, send_asap), "send asap");
	check(natsConnection_Connect(&nc, opts), "connect");
	natsOptions_Destroy(opts);
	return nc;
}

static void ready(void)
{
	printf("READY %d\n", (int)getpid());
	fflush(stdout);
}

/* SIGUSR1 starts, SIGINT/SIGTERM stop: both are blocked in every thread
 * (set before libnats starts its threads) and taken synchronously. */
static sigset_t sigs;
static volatile int g_stop;

static void block_signals(void)
{
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &sigs, NULL))
		die("sigmask");
}

/* Non-blocking: has a stop signal arrived? */
static bool stop_requested(void)
{
	struct timespec zero = { 0, 0 };
	siginfo_t si;

	if (g_stop)
		return true;
	while (sigtimedwait(&sigs, &si, &zero) > 0)
		if (si.si_signo != SIGUSR1)
			g_stop = 1;
	return g_stop;
}

static void wait_go(void)
{
	int sig;

	if (!o.wait)
		return;
	for (;;) {
		if (sigwait(&sigs, &sig))
			die("sigwait");
		if (sig == SIGUSR1)
			return;
		g_stop = 1;
		return;
	}
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { (time_t)(t / 1000000000ull), (long)(t % 1000000000ull) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Pacing: how many messages should be out by `now` since `t0`. */
static inline long long due(uint64_t t0, uint64_t now)
{
	return (long long)((double)(now - t0) * o.rate / 1e9);
}

/* ---- pub ---------------------------------------------------------------- */

static int run_pub(void)
{
	natsConnection *nc = connect_to("bench-pub", false);
	char *buf = payload_new();
	uint64_t t0, t_end, deadline, t1, t2;
	long long sent = 0, limit = o.count >= 0 ? o.count : LLONG_MAX;
	natsStatus s = NATS_OK;

	ready();
	wait_go();
	t0 = now_ns();
	deadline = o.duration >= 0 ? t0 + (uint64_t)(o.duration * 1e9) : UINT64_MAX;
	if (o.rate <= 0) {
		while (sent < limit && !g_stop) {
			uint64_t t = now_ns();

			if (t >= deadline)
				break;
			put_hex16(buf, t);
			if (o.size >= 32)
				put_hex16(buf + 16, (uint64_t)sent);
			s = natsConnection_Publish(nc, o.subject, buf, (int)o.size);
			if (s != NATS_OK)
				break;
			sent++;
			if ((sent & 4095) == 0 && stop_requested())
				break;
		}
	} else {
		uint64_t tick = t0;

		while (sent < limit && !g_stop && s == NATS_OK) {
			uint64_t t = now_ns();
			long long want;

			if (t >= deadline)
				break;
			want = due(t0, t);
			if (want > limit)
				want = limit;
			while (sent < want) {
				put_hex16(buf, now_ns());
				if (o.size >= 32)
					put_hex16(buf + 16, (uint64_t)sent);
				s = natsConnection_Publish(nc, o.subject, buf, (int)o.size);
				if (s != NATS_OK)
					break;
				sent++;
			}
			stop_requested();
			tick += 1000000; /* next batch in 1 ms */
			if (tick < t)
				tick = t + 1000000 - (t - t0) % 1000000;
			sleep_until(tick);
		}
	}
	t_end = now_ns();
	if (s != NATS_OK)
		die("publish: %s (%s)", natsStatus_GetText(s), nats_GetLastError(NULL));
	payload_mark_end(buf, sent);
	check(natsConnection_Publish(nc, o.subject, buf, (int)o.size), "publish end marker");
	t1 = now_ns();
	check(natsConnection_FlushTimeout(nc, 60000), "flush");
	t2 = now_ns();
	printf("{\"role\":\"pub\",\"pid\":%d,\"subject\":\"%s\",\"size\":%ld,\"rate_target\":%.0f,"
	       "\"sent\":%lld,\"markers\":1,\"send_s\":%.6f,\"elapsed_s\":%.6f,"
	       "\"msgs_per_s\":%.1f,\"flush_s\":%.6f}\n",
	       (int)getpid(), o.subject, o.size, o.rate, sent,
	       (double)(t_end - t0) / 1e9, (double)(t2 - t0) / 1e9,
	       sent / ((double)(t2 - t0) / 1e9), (double)(t2 - t1) / 1e9);
	fflush(stdout);
	natsConnection_Destroy(nc);
	free(buf);
	return 0;
}

/* ---- sub ---------------------------------------------------------------- */

struct sub_state {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	long long expected;
	long long received;
	long long bad;
	uint64_t first, last, last_any;
	struct hist lat;
};

static struct sub_state S = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.expected = -1,
};

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	const char *d = natsMsg_GetData(msg);
	int len = natsMsg_GetDataLength(msg);
	uint64_t t = now_ns(), ts;

	(void)nc; (void)sub; (void)closure;
	/* Only this (delivery) thread writes the counters; the main thread
	 * reads them under the lock once `done` is set. */
	__atomic_store_n(&S.last_any, t, __ATOMIC_RELAXED);
	if (len >= 16 && d[0] == 'E') {
		pthread_mutex_lock(&S.lock);
		S.expected = strtoll(d + 1, NULL, 10);
		S.done = true;
		pthread_cond_signal(&S.cond);
		pthread_mutex_unlock(&S.lock);
	} else if (len >= 16 && get_hex16(d, &ts)) {
		if (!S.received)
			S.first = t;
		S.last = t;
		S.received++;
		hist_add(&S.lat, t >= ts ? t - ts : 0);
	} else {
		S.bad++;
	}
	natsMsg_Destroy(msg);
}

static int run_sub(void)
{
	natsConnection *nc = connect_to("bench-sub", false);
	natsSubscription *sub;
	int64_t dropped = 0;
	uint64_t start = now_ns();
	bool timed_out = false;
	double span;

	check(natsConnection_Subscribe(&sub, nc, o.subject, on_msg, NULL), "subscribe");
	/* No client-side limit: a slow subscriber must show up as latency,
	 * not as messages the library silently discards. */
	check(natsSubscription_SetPendingLimits(sub, -1, -1), "pending limits");
	check(natsConnection_FlushTimeout(nc, 10000), "flush");
	ready();
	pthread_mutex_lock(&S.lock);
	while (!S.done) {
		struct timespec ts;
		uint64_t la = __atomic_load_n(&S.last_any, __ATOMIC_RELAXED), last = la ? la : start;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&S.cond, &S.lock, &ts);
		if (S.done)
			break;
		pthread_mutex_unlock(&S.lock);
		if (stop_requested() || (double)(now_ns() - last) / 1e9 > o.timeout) {
			timed_out = true;
			pthread_mutex_lock(&S.lock);
			break;
		}
		pthread_mutex_lock(&S.lock);
	}
	pthread_mutex_unlock(&S.lock);
	natsSubscription_GetDropped(sub, &dropped);
	/* After a timeout the delivery thread may still run: unsubscribe
	 * first so that the numbers below are stable. */
	natsSubscription_Unsubscribe(sub);
	natsSubscription_Destroy(sub);
	span = S.received > 1 ? (double)(S.last - S.first) / 1e9 : 0;
	printf("{\"role\":\"sub\",\"pid\":%d,\"subject\":\"%s\",\"size\":%ld,"
	       "\"received\":%lld,\"expected\":%lld,\"lost\":%lld,\"lib_dropped\":%" PRId64 ","
	       "\"bad\":%lld,\"timed_out\":%s,\"span_s\":%.6f,\"msgs_per_s\":%.1f,",
	       (int)getpid(), o.subject, o.size, S.received, S.expected,
	       S.expected >= 0 ? S.expected - S.received : -1, dropped, S.bad,
	       timed_out ? "true" : "false", span,
	       span > 0 ? (double)(S.received - 1) / span : 0.0);
	hist_json("lat", &S.lat);
	printf("}\n");
	fflush(stdout);
	natsConnection_Destroy(nc);
	return timed_out ? 3 : 0;
}

/* ---- reply -------------------------------------------------------------- */

static char *g_reply_buf;
static long long g_answered;

static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	const char *reply = natsMsg_GetReply(msg);
	const char *d = natsMsg_GetData(msg);

	(void)sub; (void)closure;
	if (reply) {
		/* Echo the request's timestamp, pad to --size. */
		if (natsMsg_GetDataLength(msg) >= 16)
			memcpy(g_reply_buf, d, 16);
		if (natsConnection_Publish(nc, reply, g_reply_buf, (int)o.size) == NATS_OK)
			g_answered++;
	} else if (natsMsg_GetDataLength(msg) >= 1 && d[0] == 'E') {
		pthread_mutex_lock(&S.lock);
		S.done = true;
		pthread_cond_signal(&S.cond);
		pthread_mutex_unlock(&S.lock);
	}
	natsMsg_Destroy(msg);
}

static int run_reply(void)
{
	natsConnection *nc = connect_to("bench-reply", true);
	natsSubscription *sub;
	uint64_t start = now_ns();

	g_reply_buf = payload_new();
	check(natsConnection_Subscribe(&sub, nc, o.subject, on_request, NULL), "subscribe");
	check(natsSubscription_SetPendingLimits(sub, -1, -1), "pending limits");
	check(natsConnection_FlushTimeout(nc, 10000), "flush");
	ready();
	pthread_mutex_lock(&S.lock);
	while (!S.done) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 0;
		ts.tv_nsec += 100 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&S.cond, &S.lock, &ts);
		pthread_mutex_unlock(&S.lock);
		if (stop_requested() || (double)(now_ns() - start) / 1e9 > o.timeout) {
			pthread_mutex_lock(&S.lock);
			break;
		}
		pthread_mutex_lock(&S.lock);
	}
	pthread_mutex_unlock(&S.lock);
	natsSubscription_Unsubscribe(sub);
	natsSubscription_Destroy(sub);
	printf("{\"role\":\"reply\",\"pid\":%d,\"subject\":\"%s\",\"size\":%ld,\"answered\":%lld}\n",
	       (int)getpid(), o.subject, o.size, g_answered);
	fflush(stdout);
	natsConnection_Destroy(nc);
	free(g_reply_buf);
	return 0;
}

/* ---- req ---------------------------------------------------------------- */

static int run_req(void)
{
	natsConnection *nc = connect_to("bench-req", false);
	char *buf = payload_new();
	struct hist *rtt = calloc(1, sizeof(*rtt));
	long long n = 0, ok = 0, errors = 0, limit = o.count >= 0 ? o.count : LLONG_MAX;
	uint64_t t0, t1, deadline;

	if (!rtt)
		die("out of memory");
	ready();
	wait_go();
	t0 = now_ns();
	deadline = o.duration >= 0 ? t0 + (uint64_t)(o.duration * 1e9) : UINT64_MAX;
	while (n < limit && !g_stop) {
		natsMsg *rep = NULL;
		uint64_t a = now_ns(), b;
		natsStatus s;

		if (a >= deadline)
			break;
		if (o.rate > 0 && due(t0, a) < n) {
			/* Ahead of schedule: wait for this request's slot. */
			sleep_until(t0 + (uint64_t)((double)n * 1e9 / o.rate));
			continue;
		}
		put_hex16(buf, a);
		if (o.size >= 32)
			put_hex16(buf + 16, (uint64_t)n);
		s = natsConnection_Request(&rep, nc, o.subject, buf, (int)o.size, 2000);
		b = now_ns();
		n++;
		if (s == NATS_OK) {
			ok++;
			hist_add(rtt, b - a);
			natsMsg_Destroy(rep);
		} else {
			errors++;
		}
		if ((n & 1023) == 0)
			stop_requested();
	}
	t1 = now_ns();
	payload_mark_end(buf, n);
	check(natsConnection_Publish(nc, o.subject, buf, (int)o.size), "publish end marker");
	check(natsConnection_FlushTimeout(nc, 10000), "flush");
	printf("{\"role\":\"req\",\"pid\":%d,\"subject\":\"%s\",\"size\":%ld,\"rate_target\":%.0f,"
	       "\"requests\":%lld,\"ok\":%lld,\"errors\":%lld,\"markers\":1,\"elapsed_s\":%.6f,"
	       "\"req_per_s\":%.1f,",
	       (int)getpid(), o.subject, o.size, o.rate, n, ok, errors,
	       (double)(t1 - t0) / 1e9, ok / ((double)(t1 - t0) / 1e9));
	hist_json("rtt", rtt);
	printf("}\n");
	fflush(stdout);
	natsConnection_Destroy(nc);
	free(rtt);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int ret;

	parse_args(argc, argv);
	block_signals();
	check(nats_Open(-1), "nats_Open");
	if (!strcmp(o.mode, "pub"))
		ret = run_pub();
	else if (!strcmp(o.mode, "sub"))
		ret = run_sub();
	else if (!strcmp(o.mode, "reply"))
		ret = run_reply();
	else if (!strcmp(o.mode, "req"))
		ret = run_req();
	else {
		usage(stderr);
		ret = 2;
	}
	nats_Close();
	return ret;
}
