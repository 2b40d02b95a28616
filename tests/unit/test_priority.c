/* SPDX-License-Identifier: MIT */
/* The priority governor (userspace/priority.c): when msgscope boosts itself
 * to nice 0, when it returns to its --nice level, and when it gives up. */
#include "check.h"
#include "priority.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define MIB (1024ull * 1024)
#define WINDOW PRIO_SHARE_WINDOW_NS

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
	CHECK_EQ_INT(prio_gov_step(&g, 1.0, 40, 1 * SEC + PRIO_GRACE_NS / 2), PRIO_KEEP);
	CHECK_EQ_INT(prio_gov_step(&g, 0.7, 40, 1 * SEC + PRIO_GRACE_NS * 3 / 2), PRIO_KEEP);
	CHECK(g.boosted);
	CHECK_EQ_INT(prio_gov_step(&g, 0.05, 40, 1 * SEC + PRIO_GRACE_NS * 2), PRIO_RELAX);
	CHECK_EQ_INT(g.futile, 0);
}

/* Saturation: drops go on at nice 0 too. Boosting only slows the load, so
 * it stops and is not tried again for PRIO_BACKOFF_MIN_NS. */
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
	CHECK_EQ_INT(prio_gov_step(&g, 1.0, 0, t + 500 * MS), PRIO_KEEP);
	CHECK_EQ_INT(prio_gov_step(&g, 1.0, 0, t + PRIO_BACKOFF_MIN_NS - 1), PRIO_KEEP);
	CHECK_EQ_INT(prio_gov_step(&g, 1.0, 300, t + PRIO_BACKOFF_MIN_NS), PRIO_BOOST);
	CHECK_EQ_INT(g.boosts, 2);
}

/* Each futile boost in a row doubles the wait before the next, up to the
 * maximum; a boost that catches up starts over from the minimum. */
static void test_backoff_doubles_then_resets(void)
{
	struct prio_gov g;
	uint64_t t = 1 * SEC, drops = 0, wait = PRIO_BACKOFF_MIN_NS;

	prio_gov_init(&g, 19);
	for (int i = 0; i < 8; i++) {
		CHECK_EQ_INT(prio_gov_step(&g, 1.0, drops, t), PRIO_BOOST);
		drops += 50;
		t += PRIO_GRACE_NS;
		CHECK_EQ_INT(prio_gov_step(&g, 1.0, drops, t), PRIO_RELAX);
		CHECK_EQ_INT(prio_gov_step(&g, 1.0, 0, t + wait - 1), PRIO_KEEP);
		t += wait;
		if (wait < PRIO_BACKOFF_MAX_NS)
			wait *= 2;
	}
	CHECK_EQ_INT(g.futile, 8);
	CHECK_EQ_INT(wait, PRIO_BACKOFF_MAX_NS);
	/* a boost that helps */
	CHECK_EQ_INT(prio_gov_step(&g, 0.5, drops, t), PRIO_BOOST);
	CHECK_EQ_INT(prio_gov_step(&g, 0.1, drops, t + PRIO_GRACE_NS), PRIO_RELAX);
	t += PRIO_GRACE_NS;
	/* then a futile one waits the minimum again */
	CHECK_EQ_INT(prio_gov_step(&g, 1.0, drops, t), PRIO_BOOST);
	CHECK_EQ_INT(prio_gov_step(&g, 1.0, drops + 1, t + PRIO_GRACE_NS), PRIO_RELAX);
	t += PRIO_GRACE_NS;
	CHECK_EQ_INT(prio_gov_step(&g, 1.0, 0, t + PRIO_BACKOFF_MIN_NS - 1), PRIO_KEEP);
	CHECK_EQ_INT(prio_gov_step(&g, 1.0, drops, t + PRIO_BACKOFF_MIN_NS), PRIO_BOOST);
}

/* The load outruns msgscope (shedding, session.c) from a futile boost to
 * the end of its backoff, when most of the bytes offered were dropped; not
 * during a boost, nor after one that helped. */
static void test_outrun_spans_the_backoff(void)
{
	struct prio_gov g;
	uint64_t t = 2 * WINDOW;

	prio_gov_init(&g, 19);
	prio_gov_bytes(&g, 0, 0, 0);
	prio_gov_bytes(&g, 32 * MIB, 0, WINDOW);
	CHECK(!prio_gov_outrun(&g, t));
	CHECK_EQ_INT(prio_gov_step(&g, 0.9, 10, t), PRIO_BOOST);
	CHECK(!prio_gov_outrun(&g, t + PRIO_GRACE_NS));
	t += PRIO_GRACE_NS;
	/* 8 MiB kept and 600 dropped since the window's start */
	prio_gov_bytes(&g, 40 * MIB, 600 * MIB, t);
	CHECK_EQ_INT(prio_gov_step(&g, 1.0, 90, t), PRIO_RELAX);
	CHECK(prio_gov_outrun(&g, t));
	CHECK(prio_gov_outrun(&g, t + PRIO_BACKOFF_MIN_NS - 1));
	CHECK(!prio_gov_outrun(&g, t + PRIO_BACKOFF_MIN_NS));
	CHECK_EQ_INT((int)g.outruns, 1);
	/* the next boost after the backoff helps: not outrun, then or later */
	t += PRIO_BACKOFF_MIN_NS;
	CHECK_EQ_INT(prio_gov_step(&g, 0.5, 90, t), PRIO_BOOST);
	CHECK(!prio_gov_outrun(&g, t));
	CHECK_EQ_INT(prio_gov_step(&g, 0.1, 90, t + PRIO_GRACE_NS), PRIO_RELAX);
	CHECK(!prio_gov_outrun(&g, t + PRIO_GRACE_NS));
	CHECK(!prio_gov_outrun(&g, t + 60 * SEC));
}

/* A reader that stalls a moment (a slow pipe) makes a boost futile, but
 * with a few bursts dropped among many bytes kept: it backs off, and the
 * load does not count as outrunning msgscope. */
static void test_stall_is_not_outrun(void)
{
	struct prio_gov g;
	uint64_t t = 5 * WINDOW;

	prio_gov_init(&g, 19);
	for (uint64_t s = 0; s <= 4; s++)
		prio_gov_bytes(&g, s * 100 * MIB, 0, s * WINDOW);
	CHECK_EQ_INT(prio_gov_step(&g, 0.9, 0, t), PRIO_BOOST);
	t += PRIO_GRACE_NS;
	prio_gov_bytes(&g, 500 * MIB, 4 * MIB, t);
	CHECK_EQ_INT(prio_gov_step(&g, 1.0, 30, t), PRIO_RELAX);
	CHECK_EQ_INT((int)g.futile, 1);
	CHECK_EQ_INT((int)g.outruns, 0);
	CHECK(!prio_gov_outrun(&g, t));
	/* backed off all the same */
	CHECK_EQ_INT(prio_gov_step(&g, 0.9, 0, t + SEC), PRIO_KEEP);
	/* judged again in its backoff, on a share that stayed low */
	prio_gov_bytes(&g, 600 * MIB, 6 * MIB, t + SEC);
	CHECK_EQ_INT(prio_gov_step(&g, 0.9, 0, t + SEC + MS), PRIO_KEEP);
	CHECK_EQ_INT((int)g.outruns, 0);
	CHECK(!prio_gov_outrun(&g, t + SEC + MS));
}

/* A boost at *t that is futile once its grace has passed, the byte
 * counters then at kept and lost. */
static void futile_boost(struct prio_gov *g, uint64_t *t, uint64_t kept,
			 uint64_t lost)
{
	CHECK_EQ_INT(prio_gov_step(g, 0.9, 0, *t), PRIO_BOOST);
	*t += PRIO_GRACE_NS;
	prio_gov_bytes(g, kept, lost, *t);
	CHECK_EQ_INT(prio_gov_step(g, 1.0, 1, *t), PRIO_RELAX);
}

/* A first futile boost with lost of lost + kept bytes dropped, judged an
 * outrun; then its shed ends at *t, the counters at end_kept, end_lost. */
static void shed_then_end(struct prio_gov *g, uint64_t *t, uint64_t kept,
			  uint64_t lost, uint64_t end_kept, uint64_t end_lost)
{
	*t = WINDOW / 2;
	prio_gov_init(g, 19);
	prio_gov_bytes(g, 0, 0, 0);
	futile_boost(g, t, kept, lost);
	CHECK(prio_gov_outrun(g, *t));
	*t += PRIO_BACKOFF_MIN_NS;
	prio_gov_bytes(g, end_kept, end_lost, *t);
	CHECK(!prio_gov_outrun(g, *t));
}

/* Once a shed ends, the share is judged on the bytes since: what was
 * dropped before it does not make the next futile boost an outrun. */
static void test_window_restarts_after_shed(void)
{
	struct prio_gov g;
	uint64_t t;

	shed_then_end(&g, &t, 40 * MIB, 900 * MIB, 60 * MIB, 900 * MIB);
	/* since then 300 MiB read, 2 dropped */
	futile_boost(&g, &t, 360 * MIB, 902 * MIB);
	CHECK_EQ_INT((int)g.futile, 2);
	CHECK_EQ_INT((int)g.outruns, 1);
	CHECK(!prio_gov_outrun(&g, t));
}

/* At saturation a shed ends with the ring refilling at once: the next
 * futile boost, in a run, is judged against the lower share. */
static void test_outrun_again_after_shed(void)
{
	struct prio_gov g;
	uint64_t t;

	shed_then_end(&g, &t, 20 * MIB, 80 * MIB, 60 * MIB, 90 * MIB);
	/* since the shed: 70 MiB read, 30 dropped */
	futile_boost(&g, &t, 130 * MIB, 120 * MIB);
	CHECK_EQ_INT((int)g.outruns, 2);
	CHECK(prio_gov_outrun(&g, t + 2 * PRIO_BACKOFF_MIN_NS - 1));
	CHECK(!prio_gov_outrun(&g, t + 2 * PRIO_BACKOFF_MIN_NS));
}

/* A saturation's first futile boost at *t, judged on a window that holds
 * mostly what msgscope read before it (a ring's worth included): a sixth
 * of the bytes dropped, no outrun yet. */
static void early_futile_boost(struct prio_gov *g, uint64_t *t)
{
	*t = SEC;
	prio_gov_init(g, 19);
	prio_gov_bytes(g, 0, 0, 0);
	prio_gov_bytes(g, 40 * MIB, 0, *t);
	futile_boost(g, t, 50 * MIB, 10 * MIB);
	CHECK_EQ_INT((int)g->outruns, 0);
	CHECK(!prio_gov_outrun(g, *t));
}

/* As the dropped bytes come in, the share is judged again, and the load
 * outruns msgscope from then to the end of that boost's backoff. */
static void test_outrun_found_in_backoff(void)
{
	struct prio_gov g;
	uint64_t t, futile_at;

	early_futile_boost(&g, &t);
	futile_at = t;
	/* a quarter of a second later: 70 MiB more dropped, 5 read */
	t += 250 * MS;
	prio_gov_bytes(&g, 55 * MIB, 80 * MIB, t);
	CHECK_EQ_INT(prio_gov_step(&g, 1.0, 0, t), PRIO_KEEP);
	CHECK_EQ_INT((int)g.outruns, 1);
	CHECK(prio_gov_outrun(&g, t));
	CHECK(prio_gov_outrun(&g, futile_at + PRIO_BACKOFF_MIN_NS - 1));
	CHECK(!prio_gov_outrun(&g, futile_at + PRIO_BACKOFF_MIN_NS));
	/* once is enough: no second outrun from the same boost */
	prio_gov_bytes(&g, 56 * MIB, 90 * MIB, t + 250 * MS);
	prio_gov_step(&g, 1.0, 0, t + 250 * MS);
	CHECK_EQ_INT((int)g.outruns, 1);
}

/* A share that gets there only after the backoff: the next boost judges
 * it, not the old one. */
static void test_no_rejudge_past_backoff(void)
{
	struct prio_gov g;
	uint64_t t;

	early_futile_boost(&g, &t);
	t += PRIO_BACKOFF_MIN_NS;
	prio_gov_bytes(&g, 55 * MIB, 200 * MIB, t);
	CHECK_EQ_INT(prio_gov_step(&g, 0.1, 0, t), PRIO_KEEP);
	CHECK_EQ_INT((int)g.outruns, 0);
	CHECK(!prio_gov_outrun(&g, t));
}

int main(void)
{
	test_nice_zero_never_boosts();
	test_burst_caught_up();
	test_drops_in_grace_ignored();
	test_futile_boost_backs_off();
	test_backoff_doubles_then_resets();
	test_outrun_spans_the_backoff();
	test_stall_is_not_outrun();
	test_outrun_found_in_backoff();
	test_no_rejudge_past_backoff();
	test_window_restarts_after_shed();
	test_outrun_again_after_shed();
	return check_summary("priority");
}
