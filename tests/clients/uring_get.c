/* SPDX-License-Identifier: MIT */
/*
 * uring_get — HTTP/1.1 GETs on one keep-alive connection, each request sent
 * and each response read either by a plain syscall or through io_uring, for
 * the end-to-end tests of bytes that no syscall hook sees.
 *
 *   uring_get PORT HOWPATH...
 *
 * HOWPATH is two letters and a path: how the request goes (w: write(2),
 * u: IORING_OP_SEND, a: the same forced to an io_uring worker thread by
 * IOSQE_ASYNC), how its response is read (r: read(2), u: IORING_OP_RECV,
 * a: from a worker), e.g. "wr/one" "ur/two" "wu/three". The responses'
 * bodies go to stdout, one after the other.
 */
#include <arpa/inet.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct io_uring ring;

/* One send or receive through the ring, waited for; async: in one of
 * io_uring's worker threads rather than inline. */
static int ring_io(int fd, void *buf, size_t n, bool send, bool async)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	struct io_uring_cqe *cqe;
	int res;

	if (!sqe)
		return -1;
	if (send)
		io_uring_prep_send(sqe, fd, buf, n, 0);
	else
		io_uring_prep_recv(sqe, fd, buf, n, 0);
	if (async)
		io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
	if (io_uring_submit(&ring) != 1 || io_uring_wait_cqe(&ring, &cqe))
		return -1;
	res = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	return res;
}

static int send_all(int fd, const char *buf, size_t n, char how)
{
	while (n) {
		int k = how == 'w' ? (int)write(fd, buf, n) :
				     ring_io(fd, (void *)buf, n, true, how == 'a');
		if (k <= 0)
			return -1;
		buf += k;
		n -= (size_t)k;
	}
	return 0;
}

/* A whole response (head and Content-Length body) into buf; the body's
 * offset in *body. */
static int read_response(int fd, char *buf, size_t cap, char how, size_t *body)
{
	size_t have = 0, want = 0;
	char *end = NULL;

	while (!end || have < want) {
		int k = how == 'r' ? (int)read(fd, buf + have, cap - 1 - have) :
				     ring_io(fd, buf + have, cap - 1 - have, false,
					     how == 'a');
		if (k <= 0)
			return -1;
		have += (size_t)k;
		buf[have] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			const char *cl = strstr(buf, "Content-Length: ");

			*body = (size_t)(end + 4 - buf);
			want = *body + (cl ? strtoul(cl + 16, NULL, 10) : 0);
			if (want >= cap)
				return -1;
		}
	}
	return (int)want;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char req[512], resp[4096];
	int fd, rc = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: uring_get PORT HOWPATH...\n");
		return 2;
	}
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("uring_get: connect");
		return 1;
	}
	if (io_uring_queue_init(4, &ring, 0)) {
		fprintf(stderr, "uring_get: io_uring_queue_init failed\n");
		goto out;
	}
	for (int i = 2; i < argc; i++) {
		const char *how = argv[i];
		size_t body = 0;
		int n = snprintf(req, sizeof(req),
				 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", how + 2);

		if (strlen(how) < 3 || send_all(fd, req, (size_t)n, how[0])) {
			fprintf(stderr, "uring_get: sending %s failed\n", how);
			goto out_ring;
		}
		n = read_response(fd, resp, sizeof(resp), how[1], &body);
		if (n < 0) {
			fprintf(stderr, "uring_get: reading the answer to %s failed\n", how);
			goto out_ring;
		}
		fwrite(resp + body, 1, (size_t)n - body, stdout);
	}
	rc = 0;
out_ring:
	io_uring_queue_exit(&ring);
out:
	close(fd);
	return rc;
}
