/* SPDX-License-Identifier: MIT */
/*
 * http_rate — a fixed-rate (open-loop) HTTP/1.1 keep-alive load generator
 * for msgscope's benchmark. Debian 12's wrk has no -R, and a closed loop
 * (wrk) measures how fast the server answers, not what happens at a given
 * offered load.
 *
 *   http_rate -r RATE [-c CONNS] [-d SEC] [-w] http://127.0.0.1:PORT/PATH
 *
 * Request k is due at t0 + k/RATE; every 1 ms the due requests go out on
 * idle keep-alive connections. When every connection is busy, due requests
 * wait (counted as "backlogged") and go out as soon as one frees up.
 * Latency is measured from the request's due time (so queueing caused by a
 * slow server is not hidden: no coordinated omission) and, separately, from
 * the moment it was written.
 *
 * -w: connect, print "READY <pid>", wait for SIGUSR1 before sending.
 * Last stdout line: one JSON object. IPv4 literal addresses only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUFSZ 65536

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("http_rate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Log-linear histogram, as in nats_bench.c (error < 1/64). */
#define SUB_BITS 6
#define SUB (1u << SUB_BITS)
#define MAX_EXP 44
#define NBUCKETS ((MAX_EXP - SUB_BITS + 1) * SUB + SUB)

struct hist {
	uint64_t n, max;
	double sum;
	uint64_t b[NBUCKETS];
};

static unsigned hist_index(uint64_t v)
{
	unsigned e;

	if (v < SUB)
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v);
	if (e > MAX_EXP)
		return NBUCKETS - 1;
	return (e - SUB_BITS + 1) * SUB + (unsigned)((v >> (e - SUB_BITS)) & (SUB - 1));
}

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

static void hist_json(const char *p, const struct hist *h)
{
	printf("\"%s_p50_us\":%.1f,\"%s_p90_us\":%.1f,\"%s_p99_us\":%.1f,"
	       "\"%s_p999_us\":%.1f,\"%s_max_us\":%.1f",
	       p, hist_pct_us(h, 50), p, hist_pct_us(h, 90), p, hist_pct_us(h, 99),
	       p, hist_pct_us(h, 99.9), p, (double)h->max / 1000.0);
}

struct conn {
	int fd;
	bool busy;
	uint64_t due, sent_at;   /* of the request in flight */
	size_t len;              /* bytes in buf */
	char buf[BUFSZ];
};

static struct conn *conns;
static int nconns = 16;
static int *idle, nidle;
static char req[512];
static size_t req_len;
static struct hist lat_due, lat_sent;
static long long n_sent, n_done, n_err, max_backlog, n_closed;

static void send_req(struct conn *c, uint64_t due, uint64_t now)
{
	ssize_t w = write(c->fd, req, req_len);

	if (w != (ssize_t)req_len)
		die("write: %s", w < 0 ? strerror(errno) : "short write");
	c->busy = true;
	c->due = due;
	c->sent_at = now;
	n_sent++;
}

/* Bytes of a complete response at the head of c->buf, 0 if incomplete. */
static size_t response_len(struct conn *c, int *status)
{
	char *end, *p;
	size_t hdr, clen = 0;

	c->buf[c->len] = 0;
	end = memmem(c->buf, c->len, "\r\n\r\n", 4);
	if (!end)
		return 0;
	hdr = (size_t)(end - c->buf) + 4;
	*status = (c->len > 12 && !strncmp(c->buf, "HTTP/1.", 7)) ? atoi(c->buf + 9) : 0;
	for (p = c->buf; p && p < end; p = memchr(p, '\n', (size_t)(end - p))) {
		if (*p == '\n')
			p++;
		if (!strncasecmp(p, "Content-Length:", 15)) {
			clen = strtoul(p + 15, NULL, 10);
			break;
		}
	}
	if (c->len < hdr + clen)
		return 0;
	return hdr + clen;
}

int main(int argc, char **argv)
{
	double rate = 0, duration = 10;
	bool wait_go = false;
	const char *url;
	char host[64], path[256] = "/";
	int port = 80, opt, epfd;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sigset_t sigs;
	uint64_t t0, deadline, tick;
	long long issued = 0;

	while ((opt = getopt(argc, argv, "r:c:d:w")) != -1) {
		switch (opt) {
		case 'r': rate = atof(optarg); break;
		case 'c': nconns = atoi(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'w': wait_go = true; break;
		default:
			fprintf(stderr, "usage: http_rate -r RATE [-c CONNS] [-d SEC] [-w] http://IP:PORT/PATH\n");
			return 2;
		}
	}
	if (optind != argc - 1 || rate <= 0 || nconns < 1)
		die("usage: http_rate -r RATE [-c CONNS] [-d SEC] [-w] http://IP:PORT/PATH");
	url = argv[optind];
	if (sscanf(url, "http://%63[^:/]:%d%255s", host, &port, path) < 2)
		die("bad url '%s' (http://IP:PORT/PATH)", url);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		die("not an IPv4 address: %s", host);
	sa.sin_port = htons((uint16_t)port);
	req_len = (size_t)snprintf(req, sizeof(req),
				   "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: http_rate\r\n\r\n",
				   path, host, port);

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);

	conns = calloc((size_t)nconns, sizeof(*conns));
	idle = calloc((size_t)nconns, sizeof(*idle));
	epfd = epoll_create1(0);
	if (!conns || !idle || epfd < 0)
		die("set-up failed");
	for (int i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		int one = 1;

		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)))
			die("connect %s: %s", url, strerror(errno));
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
		idle[nidle++] = i;
	}
	if (wait_go) {
		int sig;

		printf("READY %d\n", (int)getpid());
		fflush(stdout);
		if (sigwait(&sigs, &sig) || sig != SIGUSR1)
			return 1;
	}

	t0 = now_ns();
	deadline = t0 + (uint64_t)(duration * 1e9);
	tick = t0;
	for (;;) {
		struct epoll_event evs[64];
		uint64_t now = now_ns();
		struct timespec zero = { 0, 0 };
		int n, timeout_ms;

		if (now < deadline) {
			long long want = (long long)((double)(now - t0) * rate / 1e9) + 1;

			while (issued < want && nidle > 0) {
				struct conn *c = &conns[idle[--nidle]];

				send_req(c, t0 + (uint64_t)((double)issued * 1e9 / rate), now);
				issued++;
			}
			if (want - issued > max_backlog)
				max_backlog = want - issued;
		} else if (nidle == nconns || now > deadline + 2000000000ull) {
			break; /* all answered, or 2 s of grace are over */
		}
		if (sigtimedwait(&sigs, NULL, &zero) > 0)
			break;
		while (tick <= now)
			tick += 1000000;
		timeout_ms = (int)((tick - now + 999999) / 1000000);
		n = epoll_wait(epfd, evs, 64, timeout_ms);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct conn *c = &conns[evs[i].data.u32];
			ssize_t r = read(c->fd, c->buf + c->len, BUFSZ - 1 - c->len);
			size_t rl;
			int status = 0;

			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				/* Server closed a keep-alive connection. */
				n_closed++;
				epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				if (c->busy)
					n_err++;
				die("connection closed by server after %lld responses", n_done);
			}
			c->len += (size_t)r;
			while ((rl = response_len(c, &status)) > 0) {
				uint64_t t = now_ns();

				memmove(c->buf, c->buf + rl, c->len - rl);
				c->len -= rl;
				if (!c->busy) {
					n_err++;
					continue;
				}
				if (status != 200)
					n_err++;
				hist_add(&lat_due, t - c->due);
				hist_add(&lat_sent, t - c->sent_at);
				n_done++;
				c->busy = false;
				/* Reuse it at once for a request already due. */
				if (t < deadline &&
				    issued < (long long)((double)(t - t0) * rate / 1e9) + 1) {
					send_req(c, t0 + (uint64_t)((double)issued * 1e9 / rate), t);
					issued++;
				} else {
					idle[nidle++] = (int)(c - conns);
				}
			}
			if (c->len >= BUFSZ - 1)
				die("response larger than %d bytes", BUFSZ);
		}
	}
	{
		double el = (double)(deadline - t0) / 1e9;

		printf("{\"role\":\"http_rate\",\"pid\":%d,\"rate_target\":%.0f,\"conns\":%d,"
		       "\"sent\":%lld,\"completed\":%lld,\"errors\":%lld,\"max_backlog\":%lld,"
		       "\"duration_s\":%.3f,\"req_per_s\":%.1f,",
		       (int)getpid(), rate, nconns, n_sent, n_done, n_err, max_backlog,
		       el, (double)n_done / el);
		hist_json("lat", &lat_due);
		printf(",");
		hist_json("svc", &lat_sent);
		printf("}\n");
	}
	return 0;
}
