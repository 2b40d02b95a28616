// SPDX-License-Identifier: MIT
/* latency_hist.c — log-linear latency histogram (see latency_hist.h). */
#include <math.h>
#include <string.h>

#include "latency_hist.h"

#define SUB_COUNT (1u << LH_SUB_BITS)

void lh_reset(struct latency_hist *h)
{
	memset(h, 0, sizeof(*h));
}

unsigned lh_bucket(uint64_t v)
{
	unsigned e, idx;

	if (v < SUB_COUNT)
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v); /* floor(log2 v) >= SUB_BITS */
	if (e > LH_MAX_EXP)
		return LH_NBUCKETS - 1;
	/* the top SUB_BITS+1 bits of v select the bucket inside its octave */
	idx = ((e - LH_SUB_BITS + 1) << LH_SUB_BITS) +
	      (unsigned)((v >> (e - LH_SUB_BITS)) - SUB_COUNT);
	return idx;
}

uint64_t lh_bucket_low(unsigned idx)
{
	unsigned block = idx >> LH_SUB_BITS, sub = idx & (SUB_COUNT - 1);

	if (block == 0)
		return idx;
	return (uint64_t)(SUB_COUNT + sub) << (block - 1);
}

static uint64_t bucket_width(unsigned idx)
{
	unsigned block = idx >> LH_SUB_BITS;

	return block == 0 ? 1 : (uint64_t)1 << (block - 1);
}

void lh_record(struct latency_hist *h, uint64_t ns)
{
	unsigned b = lh_bucket(ns);

	if (h->buckets[b] != UINT32_MAX)
		h->buckets[b]++;
	if (h->count == 0 || ns < h->min)
		h->min = ns;
	if (ns > h->max)
		h->max = ns;
	h->count++;
	h->sum += ns;
}

void lh_merge(struct latency_hist *dst, const struct latency_hist *src)
{
	if (!src->count)
		return;
	for (unsigned i = 0; i < LH_NBUCKETS; i++) {
		uint64_t s = (uint64_t)dst->buckets[i] + src->buckets[i];

		dst->buckets[i] = s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
	}
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
}

uint64_t lh_percentile(const struct latency_hist *h, double p)
{
	uint64_t rank, seen = 0, v;

	if (!h->count)
		return 0;
	if (p >= 100.0)
		return h->max;
	if (p <= 0.0)
		return h->min;
	rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < LH_NBUCKETS; i++) {
		seen += h->buckets[i];
		if (seen < rank)
			continue;
		v = lh_bucket_low(i) + bucket_width(i) / 2;
		if (v < h->min)
			v = h->min;
		if (v > h->max)
			v = h->max;
		return v;
	}
	return h->max; /* saturated buckets undercount: fall back to max */
}
