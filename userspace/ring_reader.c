/* SPDX-License-Identifier: MIT */
#include "ring_reader.h"
#include "mono_clock.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>

/* Stores of the consumer position per ring: one each 1/32 of the ring
 * (1 MiB of the default 32 MiB, thousands of small records) keeps the
 * producers' misses rare and the space they wait for near. */
#define PUBLISH_PARTS 32

/*
 * How long after its timestamp a record may be committed: the two are a
 * few instructions apart in one program run (bpf_ktime_get_ns(), then the
 * submit). A ring seen empty at time T will only show records stamped
 * after T minus this, so records stamped before that need not wait for
 * another look at it. (A uprobe program can be preempted in between; a
 * record of it that late may come out of order, as the correlator's
 * reorder window allows for.)
 */
#define MAX_COMMIT_LAG_NS 1000000ull

/* Where a drain stands in one ring, and the record found at cons. */
struct cursor {
	struct ring_view *v;
	unsigned long cons, published, prod;
	const uint8_t *rec;
	uint32_t len;
	bool shown;              /* had a record ready at the last scan */
	uint64_t empty_since;    /* if not, the clock before that look */
};

struct ring_pages {
	void *cons_map, *prod_map;
};

struct ring_reader {
	struct ring_view *views;
	struct ring_pages *pages;
	struct cursor *cursors;
	size_t n;
	size_t order_off;
	ring_record_fn fn;
	void *ctx;
	int epoll_fd;
	size_t page;
};

/* A record's header and bytes, rounded up as the kernel lays them out. */
static size_t record_span(uint32_t len)
{
	len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
	return ((size_t)len + BPF_RINGBUF_HDR_SZ + 7) & ~(size_t)7;
}

static const uint32_t *header_at(const struct ring_view *v, unsigned long pos)
{
	return (const void *)(v->data + (pos & (v->size - 1)));
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
static bool ready_after_publish(struct cursor *c)
{
	/* (storing the same value again would still take the line from
	 * the producers) */
	if (c->published != c->cons)
		publish(c->v, c->published = c->cons);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	c->prod = __atomic_load_n(c->v->producer_pos, __ATOMIC_ACQUIRE);
	return c->prod > c->cons &&
	       !(__atomic_load_n(header_at(c->v, c->cons), __ATOMIC_ACQUIRE) &
		 BPF_RINGBUF_BUSY_BIT);
}

/* Past the record at the cursor; the position is stored each
 * publish_every bytes, not per record. */
static void advance(struct cursor *c, uint32_t len)
{
	c->cons += record_span(len);
	if (c->cons - c->published >= c->v->publish_every) {
		publish(c->v, c->cons);
		c->published = c->cons;
	}
}

/* The bytes of the record at pos, of len bytes: in place, or copied into
 * the bounce buffer when they wrap past the end of the data area. (Its
 * header, 8-byte aligned, never wraps.) */
static const uint8_t *record_bytes(const struct ring_view *v, unsigned long pos,
				   uint32_t len)
{
	size_t at = (pos & (v->size - 1)) + BPF_RINGBUF_HDR_SZ;
	size_t first;

	if (at + len <= v->size)
		return v->data + at;
	first = at < v->size ? v->size - at : 0;
	memcpy(v->bounce, v->data + (at & (v->size - 1)), first);
	memcpy(v->bounce + first, v->data + (at + first) - v->size, len - first);
	return v->bounce;
}

/* The committed record at the cursor (discarded ones passed over) in
 * c->rec: false when the ring is empty, or its next record is still being
 * written (a record behind it waits: a ring's order is kept). */
static bool head(struct cursor *c)
{
	for (;;) {
		uint32_t len;

		if (c->cons >= c->prod) {
			c->prod = __atomic_load_n(c->v->producer_pos, __ATOMIC_ACQUIRE);
			if (c->cons >= c->prod)
				return false;
		}
		len = __atomic_load_n(header_at(c->v, c->cons), __ATOMIC_ACQUIRE);
		if (len & BPF_RINGBUF_BUSY_BIT)
			return false;
		if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
			c->rec = record_bytes(c->v, c->cons, len);
			c->len = len;
			return true;
		}
		advance(c, len);
	}
}

static uint64_t order_key(const struct cursor *c, size_t off)
{
	uint64_t k = 0;

	if (c->len >= off + sizeof(k))
		memcpy(&k, c->rec + off, sizeof(k));
	return k;
}

/* The ring whose head comes first (n when none has one ready), and in
 * *next the key it may run up to before another's head comes first. */
static size_t first_head(struct cursor *cur, size_t n, size_t off, uint64_t *next)
{
	uint64_t best_k = 0, now = 0;
	size_t best = n;

	*next = UINT64_MAX;
	for (size_t i = 0; i < n; i++) {
		uint64_t k;

		/* The clock before looking at a ring that was empty; one that
		 * empties now gets 0: looked at again before each record. */
		if (!cur[i].shown && !now)
			now = mono_ns();
		cur[i].shown = head(&cur[i]);
		if (!cur[i].shown) {
			cur[i].empty_since = now;
			continue;
		}
		k = order_key(&cur[i], off);
		if (best == n || k < best_k) {
			if (best != n && best_k < *next)
				*next = best_k;
			best = i;
			best_k = k;
		} else if (k < *next) {
			*next = k;
		}
	}
	return best;
}

/*
 * Whether a ring that had nothing ready at the last scan may now have a
 * record stamped before `key`, the key of the record about to go out.
 * Asked once that record was seen committed: whatever came before it in
 * cause (the same connection's previous write, made by a thread on
 * another CPU) was committed before it, so it shows here. The heads then
 * have to be compared again. A ring seen empty long enough after `key`
 * cannot show such a record: no look at it, no load of the producer
 * position its CPU keeps writing.
 */
static bool another_showed_up(struct cursor *cur, size_t n, uint64_t key)
{
	uint64_t now = 0;

	for (size_t i = 0; i < n; i++) {
		if (cur[i].shown || key + MAX_COMMIT_LAG_NS <= cur[i].empty_since)
			continue;
		if (!now)
			now = mono_ns();
		if (head(&cur[i]))
			return true;
		cur[i].empty_since = now;
	}
	return false;
}

static bool any_ready_after_publish(struct cursor *cur, size_t n)
{
	bool any = false;

	for (size_t i = 0; i < n; i++)
		any |= ready_after_publish(&cur[i]);
	return any;
}

/*
 * Merge by key: take from the ring whose head comes first, as long as it
 * stays first and no other ring has come to life (a run), then look at
 * the heads again. Within one ring the records keep the order they were
 * reserved in.
 */
static long drain_cursors(struct cursor *cur, size_t n, size_t off,
			  ring_record_fn fn, void *ctx, int *stopped)
{
	long count = 0;

	*stopped = 0;
	for (;;) {
		uint64_t next;
		size_t best = first_head(cur, n, off, &next);
		struct cursor *c = &cur[best];

		if (best == n) {
			if (!any_ready_after_publish(cur, n))
				break;
			continue;
		}
		while (!another_showed_up(cur, n, order_key(c, off))) {
			int rc = fn(ctx, c->rec, c->len);

			/* past it only now: the kernel may reuse its bytes */
			advance(c, c->len);
			count++;
			if (rc < 0) {
				*stopped = 1;
				goto out;
			}
			if (!head(c) || order_key(c, off) > next)
				break;
		}
	}
out:
	for (size_t i = 0; i < n; i++)
		if (cur[i].published != cur[i].cons)
			publish(cur[i].v, cur[i].cons);
	return count;
}

static void cursors_start(struct cursor *cur, struct ring_view *views, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cur[i] = (struct cursor){ .v = &views[i] };
		cur[i].cons = __atomic_load_n(views[i].consumer_pos, __ATOMIC_RELAXED);
		cur[i].published = cur[i].cons;
	}
}

long ring_views_drain(struct ring_view *views, size_t n, size_t order_off,
		      ring_record_fn fn, void *ctx, int *stopped)
{
	struct cursor *cur = calloc(n ? n : 1, sizeof(*cur));
	long count;

	*stopped = 0;
	if (!cur)
		return -ENOMEM;
	cursors_start(cur, views, n);
	count = drain_cursors(cur, n, order_off, fn, ctx, stopped);
	free(cur);
	return count;
}

long ring_view_drain(struct ring_view *v, ring_record_fn fn, void *ctx,
		     int *stopped)
{
	struct cursor cur;

	cursors_start(&cur, v, 1);
	return drain_cursors(&cur, 1, 0, fn, ctx, stopped);
}

size_t ring_view_pending(const struct ring_view *v)
{
	unsigned long cons = __atomic_load_n(v->consumer_pos, __ATOMIC_ACQUIRE);
	unsigned long prod = __atomic_load_n(v->producer_pos, __ATOMIC_ACQUIRE);

	return prod > cons ? prod - cons : 0;
}

static int map_ring(struct ring_view *v, struct ring_pages *pg, int map_fd,
		    size_t page)
{
	void *p;

	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	pg->cons_map = p;
	/* the producer page, then the data pages once (see struct ring_view);
	 * the bounce buffer's pages are touched only by a record that wraps */
	p = mmap(NULL, page + v->size, PROT_READ, MAP_SHARED, map_fd, (off_t)page);
	if (p == MAP_FAILED)
		return -errno;
	pg->prod_map = p;
	v->bounce = malloc(v->size);
	if (!v->bounce)
		return -ENOMEM;
	v->consumer_pos = pg->cons_map;
	v->producer_pos = pg->prod_map;
	v->data = (const uint8_t *)pg->prod_map + page;
	return 0;
}

static int watch_rings(struct ring_reader *r, const int *map_fds)
{
	r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epoll_fd < 0)
		return -errno;
	for (size_t i = 0; i < r->n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = i };

		if (epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, map_fds[i], &ev))
			return -errno;
	}
	return 0;
}

int ring_reader_open(struct ring_reader **out, const int *map_fds, size_t n,
		     size_t size, size_t order_off, ring_record_fn fn, void *ctx)
{
	struct ring_reader *r = calloc(1, sizeof(*r));
	int err = -ENOMEM;

	if (!r)
		return -ENOMEM;
	r->epoll_fd = -1;
	r->views = calloc(n, sizeof(*r->views));
	r->pages = calloc(n, sizeof(*r->pages));
	r->cursors = calloc(n, sizeof(*r->cursors));
	if (!r->views || !r->pages || !r->cursors)
		goto fail;
	err = -EINVAL;
	if (!n || !size || (size & (size - 1)))
		goto fail;
	r->fn = fn;
	r->ctx = ctx;
	r->order_off = order_off;
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	for (; r->n < n; r->n++) {
		struct ring_view *v = &r->views[r->n];

		v->size = size;
		v->publish_every = size / PUBLISH_PARTS ? size / PUBLISH_PARTS : 1;
		err = map_ring(v, &r->pages[r->n], map_fds[r->n], r->page);
		if (err) {
			r->n++; /* its pages, if one was mapped */
			goto fail;
		}
	}
	err = watch_rings(r, map_fds);
	if (err)
		goto fail;
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
	for (size_t i = 0; i < r->n; i++) {
		if (r->pages[i].prod_map)
			munmap(r->pages[i].prod_map, r->page + r->views[i].size);
		free(r->views[i].bounce);
		if (r->pages[i].cons_map)
			munmap(r->pages[i].cons_map, r->page);
	}
	if (r->epoll_fd >= 0)
		close(r->epoll_fd);
	free(r->cursors);
	free(r->pages);
	free(r->views);
	free(r);
}

long ring_reader_consume(struct ring_reader *r)
{
	int stopped;
	long n;

	cursors_start(r->cursors, r->views, r->n);
	n = drain_cursors(r->cursors, r->n, r->order_off, r->fn, r->ctx, &stopped);
	return stopped ? -EAGAIN : n;
}

int ring_reader_epoll_fd(const struct ring_reader *r)
{
	return r->epoll_fd;
}

size_t ring_reader_backlog(const struct ring_reader *r)
{
	size_t sum = 0;

	for (size_t i = 0; i < r->n; i++)
		sum += ring_view_pending(&r->views[i]);
	return sum;
}

double ring_reader_fill(const struct ring_reader *r)
{
	size_t most = 0;

	for (size_t i = 0; i < r->n; i++) {
		size_t p = ring_view_pending(&r->views[i]);

		if (p > most)
			most = p;
	}
	return r->n ? (double)most / (double)r->views[0].size : 0;
}
