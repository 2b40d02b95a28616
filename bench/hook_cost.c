/* SPDX-License-Identifier: MIT */
/*
 * hook_cost — what msgscope's probes add to each data syscall, measured
 * where the traced process pays for it: its own CPU time.
 *
 *   hook_cost [EXCHANGES]      (default 100000)
 *
 * One process, one TCP connection over loopback, both ends: per exchange
 * the client writes an HTTP request (write), the server reads it (recv),
 * answers with headers and body (writev of two iovecs), and the client
 * reads that (read) — the four syscalls of a keep-alive exchange, without
 * a scheduler, a second process or network waits in between, so the time
 * is the syscalls' and the BPF programs' that run inside them. Prints the
 * CPU time per exchange in ns; bench/hook_cost.sh runs it untraced and
 * traced, interleaved.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static const char request[] = "GET /small HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
static const char head[] = "HTTP/1.1 200 OK\r\nServer: nginx\r\n"
			   "Content-Type: text/plain\r\nContent-Length: 10\r\n"
			   "Connection: keep-alive\r\n\r\n";
static const char body[] = "0123456789";

static double cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

/* A connected pair of TCP sockets on 127.0.0.1: *client, *server. */
static int connect_pair(int *client, int *server)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);

	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(ls, 1) || getsockname(ls, (struct sockaddr *)&a, &alen))
		goto fail;
	*client = socket(AF_INET, SOCK_STREAM, 0);
	if (*client < 0 || connect(*client, (struct sockaddr *)&a, sizeof(a)))
		goto fail;
	*server = accept(ls, NULL, NULL);
	if (*server < 0)
		goto fail;
	setsockopt(*client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(*server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(ls);
	return 0;
fail:
	perror("hook_cost: loopback connection");
	return -1;
}

static int exchange(int client, int server, char *buf, size_t cap)
{
	struct iovec resp[2] = {
		{ (void *)head, sizeof(head) - 1 }, { (void *)body, sizeof(body) - 1 },
	};

	if (write(client, request, sizeof(request) - 1) < 0 ||
	    recv(server, buf, cap, 0) <= 0 || writev(server, resp, 2) < 0 ||
	    read(client, buf, cap) <= 0) {
		perror("hook_cost: exchange");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	int client, server;
	char buf[4096];
	double t0;

	if (n <= 0 || argc > 2) {
		fprintf(stderr, "usage: hook_cost [EXCHANGES]\n");
		return 2;
	}
	if (connect_pair(&client, &server))
		return 1;
	t0 = cpu_ns();
	for (long i = 0; i < n; i++)
		if (exchange(client, server, buf, sizeof(buf)))
			return 1;
	printf("%.0f\n", (cpu_ns() - t0) / n);
	return 0;
}
