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
	return g->futile && now < g->backoff_until;
}

enum prio_action prio_gov_step(struct prio_gov *g, double fill, uint64_t drops,
			       uint64_t now)
{
	if (g->nice <= 0)
		return PRIO_KEEP;
	if (!g->boosted) {
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
		if (g->backoff < PRIO_BACKOFF_MAX_NS)
			g->backoff *= 2;
		return relax(g);
	}
	if (fill <= PRIO_RELAX_FILL) {
		g->backoff = PRIO_BACKOFF_MIN_NS; /* this one helped */
		return relax(g);
	}
	return PRIO_KEEP;
}
