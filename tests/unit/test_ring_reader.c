/* SPDX-License-Identifier: MIT */
/*
 * ring_reader.c's drain over a ring laid out as the kernel lays out a BPF
 * ring buffer (8-byte headers with busy and discard bits, records rounded
 * to 8 bytes, the data area mapped twice in a row), built in a memfd.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "check.h"
#include "mono_clock.h"
#include "ring_reader.h"

struct fake_ring {
	unsigned long cons, prod;
	uint8_t *data;
	size_t size;
	struct ring_view view;
};

/* The producer writes through a double mapping, as the kernel does; the
 * reader sees the data once, with nothing readable after it, as
 * ring_reader maps it: a wrapping record read in place would fault. */
static int ring_init(struct fake_ring *r, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int fd = memfd_create("ring", 0);
	uint8_t *area, *view;

	memset(r, 0, sizeof(*r));
	if (fd < 0 || ftruncate(fd, (off_t)size))
		return -1;
	area = mmap(NULL, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	view = mmap(NULL, size + page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED || view == MAP_FAILED ||
	    mmap(area, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED ||
	    mmap(area + size, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED ||
	    mmap(view, size, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
		return -1;
	close(fd);
	r->data = area;
	r->size = size;
	r->view = (struct ring_view){ .consumer_pos = &r->cons, .producer_pos = &r->prod,
				      .data = view, .bounce = malloc(size), .size = size,
				      .publish_every = size };
	return r->view.bounce ? 0 : -1;
}

static void ring_fini(struct fake_ring *r)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	munmap(r->data, 2 * r->size);
	munmap((void *)r->view.data, r->size + page);
	free(r->view.bounce);
}

/* A record of len bytes of `fill`, with header flags; returns its position. */
static unsigned long produce(struct fake_ring *r, uint32_t len, uint32_t flags,
			     uint8_t fill)
{
	unsigned long at = r->prod;
	uint8_t *hdr = r->data + (at & (r->size - 1));
	uint32_t word = len | flags;

	memcpy(hdr, &word, sizeof(word));
	memset(hdr + BPF_RINGBUF_HDR_SZ, fill, len);
	r->prod += (len + BPF_RINGBUF_HDR_SZ + 7) & ~7u;
	return at;
}

static void set_flags(struct fake_ring *r, unsigned long at, uint32_t flags)
{
	uint32_t *hdr = (uint32_t *)(r->data + (at & (r->size - 1)));

	*hdr = (*hdr & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) | flags;
}

struct seen {
	int n;
	size_t sizes[16];
	uint8_t first[16], last[16];
	unsigned long cons_seen[16];   /* the published position at each call */
	int stop_at;                   /* stop after this call (1-based), 0 never */
	struct fake_ring *ring;
	int bad_bytes;
};

static int on_record(void *ctx, const void *data, size_t size)
{
	struct seen *s = ctx;
	const uint8_t *b = data;

	for (size_t i = 1; i < size; i++)
		s->bad_bytes += b[i] != b[0];
	if (s->n < 16) {
		s->sizes[s->n] = size;
		s->first[s->n] = b[0];
		s->last[s->n] = b[size - 1];
		s->cons_seen[s->n] = s->ring->cons;
	}
	s->n++;
	return s->stop_at && s->n == s->stop_at ? -1 : 0;
}

static void test_records_in_order_discards_skipped(void)
{
	struct fake_ring r;
	struct seen s = { .ring = &r };
	int stopped;
	long n;

	CHECK(ring_init(&r, 4096) == 0);
	produce(&r, 5, 0, 0xa1);
	produce(&r, 16, BPF_RINGBUF_DISCARD_BIT, 0xee);
	produce(&r, 100, 0, 0xa2);
	n = ring_view_drain(&r.view, on_record, &s, &stopped);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(stopped, 0);
	CHECK_EQ_INT(s.sizes[0], 5);
	CHECK_EQ_INT(s.first[0], 0xa1);
	CHECK_EQ_INT(s.sizes[1], 100);
	CHECK_EQ_INT(s.first[1], 0xa2);
	CHECK_EQ_INT(s.bad_bytes, 0);
	CHECK_EQ_INT(r.cons, r.prod);
	CHECK_EQ_INT(ring_view_pending(&r.view), 0);
	ring_fini(&r);
}

/* A record still being written holds back the ones behind it. */
static void test_busy_record_stops_the_drain(void)
{
	struct fake_ring r;
	struct seen s = { .ring = &r };
	unsigned long busy;
	int stopped;

	CHECK(ring_init(&r, 4096) == 0);
	produce(&r, 8, 0, 1);
	busy = produce(&r, 8, BPF_RINGBUF_BUSY_BIT, 2);
	produce(&r, 8, 0, 3);
	CHECK_EQ_INT(ring_view_drain(&r.view, on_record, &s, &stopped), 1);
	CHECK_EQ_INT(r.cons, busy);
	CHECK_EQ_INT(ring_view_pending(&r.view), 32);
	set_flags(&r, busy, 0);
	CHECK_EQ_INT(ring_view_drain(&r.view, on_record, &s, &stopped), 2);
	CHECK_EQ_INT(s.first[1], 2);
	CHECK_EQ_INT(s.first[2], 3);
	CHECK_EQ_INT(r.cons, r.prod);
	ring_fini(&r);
}

/* A record across the end of the data area reads as one piece. */
static void test_record_across_the_wrap(void)
{
	struct fake_ring r;
	struct seen s = { .ring = &r };
	int stopped;

	CHECK(ring_init(&r, 4096) == 0);
	r.cons = r.prod = 4096 - 40; /* as if 4056 bytes had gone before */
	produce(&r, 200, 0, 0x5a);
	CHECK_EQ_INT(ring_view_drain(&r.view, on_record, &s, &stopped), 1);
	CHECK_EQ_INT(s.sizes[0], 200);
	CHECK_EQ_INT(s.last[0], 0x5a);
	CHECK_EQ_INT(s.bad_bytes, 0);
	CHECK_EQ_INT(r.cons, 4096 - 40 + 208);

	/* a header that ends the data area: the bytes all come from its start */
	memset(&s, 0, sizeof(s));
	s.ring = &r;
	r.cons = r.prod = 2 * 4096 - 8;
	produce(&r, 50, 0, 0x6b);
	CHECK_EQ_INT(ring_view_drain(&r.view, on_record, &s, &stopped), 1);
	CHECK_EQ_INT(s.sizes[0], 50);
	CHECK_EQ_INT(s.first[0], 0x6b);
	CHECK_EQ_INT(s.last[0], 0x6b);
	CHECK_EQ_INT(s.bad_bytes, 0);
	ring_fini(&r);
}

/* The callback stops the drain; the record it stopped at is consumed. */
static void test_stop_keeps_the_rest(void)
{
	struct fake_ring r;
	struct seen s = { .ring = &r, .stop_at = 2 };
	unsigned long third;
	int stopped;

	CHECK(ring_init(&r, 4096) == 0);
	produce(&r, 8, 0, 1);
	produce(&r, 8, 0, 2);
	third = produce(&r, 8, 0, 3);
	CHECK_EQ_INT(ring_view_drain(&r.view, on_record, &s, &stopped), 2);
	CHECK_EQ_INT(stopped, 1);
	CHECK_EQ_INT(r.cons, third);
	s.stop_at = 0;
	CHECK_EQ_INT(ring_view_drain(&r.view, on_record, &s, &stopped), 1);
	CHECK_EQ_INT(s.first[2], 3);
	ring_fini(&r);
}

/* The position is stored once per publish_every bytes, not per record:
 * the point of this reader. */
static void test_position_published_per_stretch(void)
{
	struct fake_ring r;
	struct seen s = { .ring = &r };
	unsigned long start;
	int stopped;

	CHECK(ring_init(&r, 4096) == 0);
	start = r.prod;
	for (int i = 0; i < 8; i++)
		produce(&r, 24, 0, (uint8_t)i); /* 32 bytes each */
	r.view.publish_every = 64;
	CHECK_EQ_INT(ring_view_drain(&r.view, on_record, &s, &stopped), 8);
	/* records 1 and 2 see the start; record 3 sees 64 bytes published */
	CHECK_EQ_INT(s.cons_seen[0], start);
	CHECK_EQ_INT(s.cons_seen[1], start);
	CHECK_EQ_INT(s.cons_seen[2], start + 64);
	CHECK_EQ_INT(s.cons_seen[3], start + 64);
	CHECK_EQ_INT(s.cons_seen[4], start + 128);
	CHECK_EQ_INT(r.cons, start + 256);
	ring_fini(&r);
}

/* A record of len >= 24 bytes whose key (at offset 16, as ts_ns in
 * struct ms_event_header) is ts, its first byte tag. */
static void produce_keyed(struct fake_ring *r, uint64_t ts, uint8_t tag)
{
	unsigned long at = produce(r, 24, 0, tag);

	memcpy(r->data + (at & (r->size - 1)) + BPF_RINGBUF_HDR_SZ + 16, &ts, sizeof(ts));
}

static int on_keyed(void *ctx, const void *data, size_t size)
{
	struct seen *s = ctx;

	if (s->n < 16)
		s->first[s->n] = *(const uint8_t *)data;
	s->n++;
	(void)size;
	return s->stop_at && s->n == s->stop_at ? -1 : 0;
}

/* Two rings (two CPUs) come out merged by key; a ring whose head is still
 * being written holds back only its own records. */
static void test_rings_merged_by_key(void)
{
	struct fake_ring r[2];
	struct ring_view v[2];
	struct seen s = { .ring = &r[0] };
	unsigned long busy;
	int stopped;

	CHECK(ring_init(&r[0], 4096) == 0);
	CHECK(ring_init(&r[1], 4096) == 0);
	produce_keyed(&r[0], 10, 1);
	produce_keyed(&r[0], 30, 3);
	produce_keyed(&r[0], 31, 4);
	produce_keyed(&r[1], 20, 2);
	produce_keyed(&r[1], 40, 5);
	v[0] = r[0].view;
	v[1] = r[1].view;
	CHECK_EQ_INT(ring_views_drain(v, 2, 16, on_keyed, &s, &stopped), 5);
	for (int i = 0; i < 5; i++)
		CHECK_MSG(s.first[i] == i + 1, "record %d is %d", i, s.first[i]);
	CHECK_EQ_INT(r[0].cons, r[0].prod);
	CHECK_EQ_INT(r[1].cons, r[1].prod);

	memset(&s, 0, sizeof(s));
	busy = r[0].prod;
	produce_keyed(&r[0], 50, 7);
	set_flags(&r[0], busy, BPF_RINGBUF_BUSY_BIT);
	produce_keyed(&r[0], 51, 8);
	produce_keyed(&r[1], 60, 9);
	CHECK_EQ_INT(ring_views_drain(v, 2, 16, on_keyed, &s, &stopped), 1);
	CHECK_EQ_INT(s.first[0], 9);
	CHECK_EQ_INT(r[0].cons, busy);
	set_flags(&r[0], busy, 0);
	CHECK_EQ_INT(ring_views_drain(v, 2, 16, on_keyed, &s, &stopped), 2);
	CHECK_EQ_INT(s.first[1], 7);
	CHECK_EQ_INT(s.first[2], 8);

	/* a stop keeps the rest of both rings for the next drain */
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	produce_keyed(&r[0], 70, 10);
	produce_keyed(&r[1], 65, 11);
	CHECK_EQ_INT(ring_views_drain(v, 2, 16, on_keyed, &s, &stopped), 1);
	CHECK_EQ_INT(stopped, 1);
	CHECK_EQ_INT(s.first[0], 11);
	s.stop_at = 0;
	CHECK_EQ_INT(ring_views_drain(v, 2, 16, on_keyed, &s, &stopped), 1);
	CHECK_EQ_INT(s.first[1], 10);
	ring_fini(&r[0]);
	ring_fini(&r[1]);
}

/* What a record committed on another CPU while the drain runs looks like:
 * on_keyed's first call produces it into the ring given. */
struct late {
	struct seen s;
	struct fake_ring *ring;
	uint64_t ts;
	uint8_t tag;
};

static int on_keyed_then_produce(void *ctx, const void *data, size_t size)
{
	struct late *l = ctx;

	if (l->ring) {
		produce_keyed(l->ring, l->ts, l->tag);
		l->ring = NULL;
	}
	return on_keyed(&l->s, data, size);
}

/* A ring empty when the heads were compared, that gets a record before a
 * later one of the ring being read is handed over (a connection's writes
 * by threads on two CPUs): the heads are compared again, and the earlier
 * record goes first. */
static void test_ring_that_comes_to_life_is_merged(void)
{
	struct fake_ring r[2];
	struct ring_view v[2];
	struct late l;
	int stopped;
	/* stamped now, as the kernel's CLOCK_MONOTONIC stamps them */
	uint64_t t = mono_ns();

	memset(&l, 0, sizeof(l));
	CHECK(ring_init(&r[0], 4096) == 0);
	CHECK(ring_init(&r[1], 4096) == 0);
	produce_keyed(&r[1], t + 10, 1);
	produce_keyed(&r[1], t + 30, 3);
	l.ring = &r[0];
	l.ts = t + 20;
	l.tag = 2;
	v[0] = r[0].view;
	v[1] = r[1].view;
	CHECK_EQ_INT(ring_views_drain(v, 2, 16, on_keyed_then_produce, &l, &stopped), 3);
	for (int i = 0; i < 3; i++)
		CHECK_MSG(l.s.first[i] == i + 1, "record %d is %d", i, l.s.first[i]);
	ring_fini(&r[0]);
	ring_fini(&r[1]);
}

int main(void)
{
	test_records_in_order_discards_skipped();
	test_busy_record_stops_the_drain();
	test_record_across_the_wrap();
	test_stop_keeps_the_rest();
	test_position_published_per_stretch();
	test_rings_merged_by_key();
	test_ring_that_comes_to_life_is_merged();
	return check_summary("ring_reader");
}
