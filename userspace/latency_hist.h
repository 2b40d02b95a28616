/* SPDX-License-Identifier: MIT */
/*
 * latency_hist.h — bounded-memory latency histogram (log-linear, HDR-style).
 * Pure.
 *
 * Values below 2^LH_SUB_BITS ns have one bucket each; above, every power of
 * two is cut into 2^LH_SUB_BITS equal buckets, so a reported percentile is
 * within 1/2^(LH_SUB_BITS+1) (3.1 %) of a recorded value. Values beyond
 * 2^(LH_MAX_EXP+1) ns (~9.8 hours) share the last bucket. max and min are exact.
 */
#ifndef MSGSCOPE_LATENCY_HIST_H
#define MSGSCOPE_LATENCY_HIST_H

#include <stdint.h>

#define LH_SUB_BITS 4
#define LH_MAX_EXP 44
#define LH_NBUCKETS ((LH_MAX_EXP - LH_SUB_BITS + 2) << LH_SUB_BITS)

struct latency_hist {
	uint64_t count;
	uint64_t min;
	uint64_t max;
	uint64_t sum;
	uint32_t buckets[LH_NBUCKETS]; /* saturate at UINT32_MAX */
};

void lh_reset(struct latency_hist *h);
void lh_record(struct latency_hist *h, uint64_t ns);
void lh_merge(struct latency_hist *dst, const struct latency_hist *src);

/* The value at percentile p (0 < p <= 100): the middle of the bucket holding
 * the ceil(p% * count)-th smallest value, clamped to [min, max]; 0 when
 * empty. p >= 100 gives max exactly. */
uint64_t lh_percentile(const struct latency_hist *h, double p);

/* Bucket of a value and a bucket's lower bound: exposed for tests. */
unsigned lh_bucket(uint64_t ns);
uint64_t lh_bucket_low(unsigned idx);

#endif /* MSGSCOPE_LATENCY_HIST_H */
