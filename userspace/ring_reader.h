/* SPDX-License-Identifier: MIT */
/*
 * ring_reader.h — the consumer side of a BPF ring buffer (or of one per
 * CPU, merged by timestamp), read straight from its mapped pages.
 *
 * libbpf's ring_buffer__consume() stores the consumer position after every
 * record. That position shares a cache line the kernel reads in every
 * bpf_ringbuf_reserve() and wakeup check, so each store pulls the line
 * away from the CPUs producing records: one cache miss per record in the
 * hooks of the traced processes. This reader publishes the position once
 * per stretch of records (and at the end of each drain), which frees ring
 * space a little later and costs the producers one miss per stretch.
 */
#ifndef MSGSCOPE_RING_READER_H
#define MSGSCOPE_RING_READER_H

#include <stddef.h>
#include <stdint.h>

/* One record's bytes. Return < 0 to stop after it (it stays consumed). */
typedef int (*ring_record_fn)(void *ctx, const void *data, size_t size);

/*
 * A ring's mapped pages: the consumer position (ours to write), the
 * producer position, and the data area. The kernel offers the data area
 * twice in a row, so that a record that wraps reads as one piece; mapped
 * so, every page counts twice in our RSS. It is mapped once here, and
 * the rare record that wraps is copied whole into `bounce` (size bytes).
 */
struct ring_view {
	unsigned long *consumer_pos;
	const unsigned long *producer_pos;
	const uint8_t *data;
	uint8_t *bounce;
	size_t size;             /* power of two */
	size_t publish_every;    /* bytes consumed between position stores */
};

/*
 * Hand every committed record to fn, in order, skipping discarded ones,
 * until the ring is empty, a record is still being written, or fn says
 * stop. Returns the records handed over; *stopped tells whether fn
 * stopped it.
 */
long ring_view_drain(struct ring_view *v, ring_record_fn fn, void *ctx,
		     int *stopped);

/*
 * The same over n rings (one per CPU), merged by the 64-bit key at
 * order_off in each record (a timestamp): records come in key order as far
 * as the rings' heads show it; a ring whose next record is still being
 * written waits, the others go on. -ENOMEM, or the records handed over.
 */
long ring_views_drain(struct ring_view *views, size_t n, size_t order_off,
		      ring_record_fn fn, void *ctx, int *stopped);

/* Bytes written and not yet consumed, as the kernel sees it. */
size_t ring_view_pending(const struct ring_view *v);

struct ring_reader;

/* Map n ring buffer maps (map_fds, each of max_entries size) and watch
 * them with an epoll fd of its own. Records are merged as by
 * ring_views_drain(). Returns 0 or -errno. */
int ring_reader_open(struct ring_reader **out, const int *map_fds, size_t n,
		     size_t size, size_t order_off, ring_record_fn fn, void *ctx);
void ring_reader_close(struct ring_reader *r);
/* Drain as ring_views_drain(); -EAGAIN when fn stopped it. */
long ring_reader_consume(struct ring_reader *r);
/* Readable when records wait; other fds may be added to it. */
int ring_reader_epoll_fd(const struct ring_reader *r);
/* How full the fullest ring is: 0 (empty) to 1 (full). */
double ring_reader_fill(const struct ring_reader *r);
/* Bytes written and not yet consumed, in all the rings together. */
size_t ring_reader_backlog(const struct ring_reader *r);

#endif
