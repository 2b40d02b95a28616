/* SPDX-License-Identifier: MIT */
#include "ring_reader.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/bpf.h>

/* Stores of the consumer position per ring: one each 1/32 of the ring
 * (512 KiB of the default 16 MiB, thousands of small records) keeps the
 * producers' misses rare and the space they wait for near. */
#define PUBLISH_PARTS 32

struct ring_reader {
	struct ring_view view;
	ring_record_fn fn;
	void *ctx;
	int epoll_fd;
	size_t page;
	void *cons_map, *prod_map;
};

/* A record's header and bytes, rounded up as the kernel lays them out. */
static size_t record_span(uint32_t len)
{
	len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
	return ((size_t)len + BPF_RINGBUF_HDR_SZ + 7) & ~(size_t)7;
}

static void publish(struct ring_view *v, unsigned long cons)
{
	__atomic_store_n(v->consumer_pos, cons, __ATOMIC_RELEASE);
}

/*
 * Whether a record is ready past cons, looked at after publishing cons.
 * The kernel wakes a reader only for a record committed at the consumer
 * position, which it reads after its commit's full barrier; with ours
 * between our store and this look, one of the two sees the other: a
 * record still busy here will wake us when committed.
 */
static bool ready_after_publish(struct ring_view *v, unsigned long cons)
{
	const uint32_t *hdr = (const void *)(v->data + (cons & (v->size - 1)));

	publish(v, cons);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(v->producer_pos, __ATOMIC_ACQUIRE) <= cons)
		return false;
	return !(__atomic_load_n(hdr, __ATOMIC_ACQUIRE) & BPF_RINGBUF_BUSY_BIT);
}

/* Records from *cons up to the producer position seen on entry; false
 * when fn said stop. The position is published each publish_every bytes. */
static bool drain_stretch(struct ring_view *v, unsigned long *cons,
			  unsigned long *published, ring_record_fn fn,
			  void *ctx, long *n)
{
	unsigned long prod = __atomic_load_n(v->producer_pos, __ATOMIC_ACQUIRE);

	while (*cons < prod) {
		const uint32_t *hdr = (const void *)(v->data + (*cons & (v->size - 1)));
		uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		bool go_on = true;

		if (len & BPF_RINGBUF_BUSY_BIT)
			break; /* still being written: the rest waits behind it */
		*cons += record_span(len);
		if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
			(*n)++;
			go_on = fn(ctx, (const uint8_t *)hdr + BPF_RINGBUF_HDR_SZ, len) >= 0;
		}
		if (*cons - *published >= v->publish_every) {
			publish(v, *cons);
			*published = *cons;
		}
		if (!go_on)
			return false;
	}
	return true;
}

long ring_view_drain(struct ring_view *v, ring_record_fn fn, void *ctx,
		     int *stopped)
{
	unsigned long cons = __atomic_load_n(v->consumer_pos, __ATOMIC_RELAXED);
	unsigned long published = cons;
	long n = 0;

	*stopped = 0;
	do {
		if (!drain_stretch(v, &cons, &published, fn, ctx, &n)) {
			*stopped = 1;
			break;
		}
		published = cons;
	} while (ready_after_publish(v, cons));
	if (published != cons)
		publish(v, cons);
	return n;
}

size_t ring_view_pending(const struct ring_view *v)
{
	unsigned long cons = __atomic_load_n(v->consumer_pos, __ATOMIC_ACQUIRE);
	unsigned long prod = __atomic_load_n(v->producer_pos, __ATOMIC_ACQUIRE);

	return prod > cons ? prod - cons : 0;
}

static int map_pages(struct ring_reader *r, int map_fd)
{
	void *p;

	p = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	r->cons_map = p;
	/* the producer page, then the data pages twice */
	p = mmap(NULL, r->page + 2 * r->view.size, PROT_READ, MAP_SHARED, map_fd,
		 (off_t)r->page);
	if (p == MAP_FAILED)
		return -errno;
	r->prod_map = p;
	r->view.consumer_pos = r->cons_map;
	r->view.producer_pos = r->prod_map;
	r->view.data = (const uint8_t *)r->prod_map + r->page;
	return 0;
}

int ring_reader_open(struct ring_reader **out, int map_fd, size_t size,
		     ring_record_fn fn, void *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct ring_reader *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	r->epoll_fd = -1;
	if (!size || (size & (size - 1))) {
		err = -EINVAL;
		goto fail;
	}
	r->fn = fn;
	r->ctx = ctx;
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	r->view.size = size;
	r->view.publish_every = size / PUBLISH_PARTS ? size / PUBLISH_PARTS : 1;
	err = map_pages(r, map_fd);
	if (err)
		goto fail;
	r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epoll_fd < 0 || epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, map_fd, &ev)) {
		err = -errno;
		goto fail;
	}
	*out = r;
	return 0;
fail:
	ring_reader_close(r);
	return err;
}

void ring_reader_close(struct ring_reader *r)
{
	if (!r)
		return;
	if (r->prod_map)
		munmap(r->prod_map, r->page + 2 * r->view.size);
	if (r->cons_map)
		munmap(r->cons_map, r->page);
	if (r->epoll_fd >= 0)
		close(r->epoll_fd);
	free(r);
}

long ring_reader_consume(struct ring_reader *r)
{
	int stopped;
	long n = ring_view_drain(&r->view, r->fn, r->ctx, &stopped);

	return stopped ? -EAGAIN : n;
}

int ring_reader_epoll_fd(const struct ring_reader *r)
{
	return r->epoll_fd;
}

double ring_reader_fill(const struct ring_reader *r)
{
	return (double)ring_view_pending(&r->view) / (double)r->view.size;
}
