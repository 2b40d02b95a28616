/* SPDX-License-Identifier: MIT */
/* The priority governor (userspace/priority.c): when msgscope boosts itself
 * to nice 0, when it returns to its --nice level, and when it gives up. */
#include "check.h"
#include "priority.h"

#define MS 1000000ull
#define SEC 1000000000ull

static void test_nice_zero_never_boosts(void)
{
	struct prio_gov g;

	prio_gov_init(&g, 0);
	CHECK_EQ_INT(prio_gov_step(&g, 0.9, 0, 1 * SEC), PRIO_KEEP);
	CHECK_EQ_INT(prio_gov_step(&g, 1.0, 5, 2 * SEC), PRIO_KEEP);
	CHECK_EQ_INT(g.boosts, 0);
}

/* A burst: the ring fills past a quarter, msgscope boosts, catches up, relaxes. */
static void test_burst_caught_up(void)
{
	struct prio_gov g;

	prio_gov_init(&g, 19);
	CHECK_EQ_INT(prio_gov_step(&g, 0.1, 0, 1 * SEC), PRIO_KEEP);
	CHECK_EQ_INT(prio_gov_step(&g, 0.24, 0, 1 * SEC + 10 * MS), PRIO_KEEP);
	CHECK_EQ_INT(prio_gov_step(&g, 0.25, 0, 1 * SEC + 20 * MS), PRIO_BOOST);
	CHECK(g.boosted);
	CHECK_EQ_INT(prio_gov_step(&g, 0.2, 0, 1 * SEC + 300 * MS), PRIO_KEEP);
	CHECK_EQ_INT(prio_gov_step(&g, 0.125, 0, 1 * SEC + 400 * MS), PRIO_RELAX);
	CHECK(!g.boosted);
	/* the next burst boosts again at once: the last boost worked */
	CHECK_EQ_INT(prio_gov_step(&g, 0.6, 0, 1 * SEC + 500 * MS), PRIO_BOOST);
	CHECK_EQ_INT(g.boosts, 2);
	CHECK_EQ_INT(g.futile, 0);
}

/* Drops that happened before the boost took effect do not count. */
static void test_drops_in_grace_ignored(void)
{
	struct prio_gov g;

	prio_gov_init(&g, 19);
	CHECK_EQ_INT(prio_gov_step(&g, 0.9, 0, 1 * SEC), PRIO_BOOST);
	CHECK_EQ_INT(prio_gov_step(&g, 1.0, 40, 1 * SEC + 100 * MS), PRIO_KEEP);
	CHECK_EQ_INT(prio_gov_step(&g, 0.7, 40, 1 * SEC + 300 * MS), PRIO_KEEP);
	CHECK(g.boosted);
	CHECK_EQ_INT(prio_gov_step(&g, 0.05, 40, 1 * SEC + 400 * MS), PRIO_RELAX);
	CHECK_EQ_INT(g.futile, 0);
}

/* Saturation: drops go on at nice 0 too. Boosting only slows the load, so
 * it stops and is not tried again for PRIO_BACKOFF_NS. */
static void test_futile_boost_backs_off(void)
{
	struct prio_gov g;
	uint64_t t = 5 * SEC;

	prio_gov_init(&g, 19);
	CHECK_EQ_INT(prio_gov_step(&g, 0.8, 100, t), PRIO_BOOST);
	CHECK_EQ_INT(prio_gov_step(&g, 0.9, 100, t + 300 * MS), PRIO_KEEP);
	CHECK_EQ_INT(prio_gov_step(&g, 1.0, 180, t + 400 * MS), PRIO_RELAX);
	CHECK(!g.boosted);
	CHECK_EQ_INT(g.futile, 1);
	t += 400 * MS;
	CHECK_EQ_INT(prio_gov_step(&g, 1.0, 0, t + 1 * SEC), PRIO_KEEP);
	CHECK_EQ_INT(prio_gov_step(&g, 1.0, 0, t + PRIO_BACKOFF_NS - 1), PRIO_KEEP);
	CHECK_EQ_INT(prio_gov_step(&g, 1.0, 300, t + PRIO_BACKOFF_NS), PRIO_BOOST);
	CHECK_EQ_INT(g.boosts, 2);
}

int main(void)
{
	test_nice_zero_never_boosts();
	test_burst_caught_up();
	test_drops_in_grace_ignored();
	test_futile_boost_backs_off();
	return check_summary("priority");
}
