/* SPDX-License-Identifier: MIT */
#include "priority.h"

#include <string.h>

void prio_gov_init(struct prio_gov *g, int nice)
{
	memset(g, 0, sizeof(*g));
	g->nice = nice;
	g->backoff = PRIO_BACKOFF_MIN_NS;
}

static enum prio_action relax(struct prio_gov *g)
{
	g->boosted = false;
	return PRIO_RELAX;
}

bool prio_gov_outrun(const struct prio_gov *g, uint64_t now)
{
	return now < g->outrun_until;
}

void prio_gov_bytes(struct prio_gov *g, uint64_t kept, uint64_t lost,
		    uint64_t now)
{
	struct prio_bytes b = { .set = true, .t = now, .kept = kept, .lost = lost };
	bool shed_ended = g->last.set && g->last.t < g->outrun_until &&
			  now >= g->outrun_until;

	g->last = b;
	/* While it shed, little was dropped: the next judgment looks at the
	 * bytes since it ended. */
	if (!g->mark[0].set || shed_ended) {
		g->mark[0] = b;
		g->mark[1].set = false;
	} else if (now - g->mark[0].t >= PRIO_SHARE_WINDOW_NS) {
		g->mark[1] = g->mark[0];
		g->mark[0] = b;
	}
}

/* Of the bytes offered since the window's start, the share dropped. */
static double lost_share(const struct prio_gov *g)
{
	const struct prio_bytes *from = g->mark[1].set ? &g->mark[1] : &g->mark[0];
	double kept, lost;

	if (!g->last.set || !from->set)
		return 0;
	/* read = captured - backlog, which may dip where the backlog grew by
	 * more than the payload (record headers) */
	kept = (double)(int64_t)(g->last.kept - from->kept);
	lost = (double)(g->last.lost - from->lost);
	if (kept < 0)
		kept = 0;
	return kept + lost > 0 ? lost / (kept + lost) : 0;
}

/* The load outruns msgscope until the backoff in hand ends. */
static void outrun(struct prio_gov *g)
{
	g->outrunning = true;
	g->outruns++;
	g->outrun_until = g->backoff_until;
}

enum prio_action prio_gov_step(struct prio_gov *g, double fill, uint64_t drops,
			       uint64_t now)
{
	if (g->nice <= 0)
		return PRIO_KEEP;
	if (!g->boosted) {
		/* A futile boost judged on too few bytes: the share is looked
		 * at again as they come in, for the rest of its backoff (the
		 * only time rejudge is read: the next futile boost sets it). */
		if (g->rejudge && now < g->backoff_until &&
		    lost_share(g) >= PRIO_OUTRUN_SHARE) {
			g->rejudge = false;
			outrun(g);
		}
		if (fill < PRIO_BOOST_FILL || now < g->backoff_until)
			return PRIO_KEEP;
		g->boosted = true;
		g->boost_start = now;
		g->boost_drops = drops;
		g->boosts++;
		return PRIO_BOOST;
	}
	if (now < g->boost_start + PRIO_GRACE_NS) {
		g->boost_drops = drops; /* lost before the boost could help */
		return PRIO_KEEP;
	}
	if (drops > g->boost_drops) {
		g->futile++;
		g->backoff_until = now + g->backoff;
		if (lost_share(g) >= (g->outrunning ? PRIO_OUTRUN_SHARE_AGAIN :
				      PRIO_OUTRUN_SHARE))
			outrun(g);
		else
			g->outrunning = false;
		g->rejudge = !g->outrunning;
		if (g->backoff < PRIO_BACKOFF_MAX_NS)
			g->backoff *= 2;
		return relax(g);
	}
	if (fill <= PRIO_RELAX_FILL) {
		g->backoff = PRIO_BACKOFF_MIN_NS; /* this one helped */
		g->outrunning = false;
		return relax(g);
	}
	return PRIO_KEEP;
}
