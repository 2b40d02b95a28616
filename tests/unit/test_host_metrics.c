// SPDX-License-Identifier: MIT
/*
 * test_host_metrics.c — host_metrics sampling and math.
 *
 * Usage: test_host_metrics DATA_DIR   (tests/data/proc)
 *
 * DATA_DIR/<case>/proc and DATA_DIR/<case>/sys are snapshots:
 *   live_t0, live_t1   this machine, 1 s apart, under dd + a busy loop
 *   hand_t0, hand_t1   hand-made, 2 s apart, round numbers (see below)
 *   wrap_t1            hand_t1 with counters that went backwards
 *   cpuoff_t1          hand_t1 without its cpu1 line
 *   hotplug_t1         hand_t1 with lo and sda gone, docker0 and sdc new
 *   nopsi_t1           hand_t1 without /proc/pressure
 * Every expected number for the hand-made cases is worked out by hand in
 * the comments next to the check.
 */
#define _GNU_SOURCE /* nftw */
#include "check.h"
#include "host_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __SANITIZE_ADDRESS__
/* from <sanitizer/allocator_interface.h>, which gcc 12 does not install */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#define CHECK_NEAR(a, b) \
	CHECK_MSG(fabs((double)(a) - (double)(b)) < 1e-6, "%.9g != %.9g", \
		  (double)(a), (double)(b))

#define SEC 1000000000ull
#define T0_NS (1000 * SEC)
#define T1_NS (1002 * SEC)

struct fixture {
	const char *data;
	struct host_sample a, b;
	struct host_metrics m;
};

/* Read DATA/<name>; pin clock tick and page size, which the hand-made
 * numbers assume, so the test gives the same result on any machine. */
static int load(struct fixture *f, const char *name, struct host_sample *s,
		uint64_t ts)
{
	char proc[512], sys[512];
	int rc;

	snprintf(proc, sizeof(proc), "%s/%s/proc", f->data, name);
	snprintf(sys, sizeof(sys), "%s/%s/sys", f->data, name);
	rc = host_sample_read(s, proc, sys);
	CHECK_MSG(rc == 0, "reading %s: %d", name, rc);
	s->mono_ns = ts;
	s->clk_tck = 100;
	s->page_size = 4096;
	return rc;
}

/* hand_t0 at T0 and case t1 at ts1 into f->a, f->b */
static int load2(struct fixture *f, const char *t1, uint64_t ts1)
{
	int rc = load(f, "hand_t0", &f->a, T0_NS);

	return rc ? rc : load(f, t1, &f->b, ts1);
}

static int find_net(const struct host_metrics *m, const char *name)
{
	uint32_t i;

	for (i = 0; i < m->nnet; i++)
		if (strcmp(m->net[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int find_disk(const struct host_metrics *m, const char *name)
{
	uint32_t i;

	for (i = 0; i < m->ndisk; i++)
		if (strcmp(m->disk[i].name, name) == 0)
			return (int)i;
	return -1;
}

static bool sane(double v)
{
	return isfinite(v) && v >= 0;
}

/* Every double compute() can produce: finite and non-negative. */
static void check_all_sane(const struct host_metrics *m)
{
	uint32_t i;
	int k, r;

	CHECK(sane(m->interval_s) && sane(m->uptime_s));
	for (k = 0; k < HM_CPU_NFIELDS; k++)
		CHECK(sane(m->cpu[k]) && m->cpu[k] <= 100);
	for (i = 0; i < m->ncpus; i++)
		for (k = 0; k < HM_CPU_NFIELDS; k++)
			CHECK(sane(m->cpus[i].pct[k]) &&
			      m->cpus[i].pct[k] <= 100);
	for (k = 0; k < 3; k++)
		CHECK(sane(m->load[k]));
	CHECK(sane(m->mem_used_pct) && m->mem_used_pct <= 100);
	CHECK(m->mem_used_kb <= m->mem_total_kb);
	CHECK(m->swap_used_kb <= m->swap_total_kb);
	CHECK(sane(m->pgpgin_kbs) && sane(m->pgpgout_kbs) &&
	      sane(m->majflt_s) && sane(m->pswpin_s) && sane(m->pswpout_s));
	for (i = 0; i < m->nnet; i++) {
		const struct hm_net_rates *n = &m->net[i];

		CHECK(sane(n->rx_kbs) && sane(n->tx_kbs) && sane(n->rx_pps) &&
		      sane(n->tx_pps) && sane(n->rx_errs) &&
		      sane(n->tx_errs) && sane(n->rx_drops) &&
		      sane(n->tx_drops));
	}
	for (i = 0; i < m->ndisk; i++) {
		const struct hm_disk_rates *d = &m->disk[i];

		CHECK(sane(d->tps) && sane(d->rd_s) && sane(d->wr_s) &&
		      sane(d->rkb_s) && sane(d->wkb_s) && sane(d->await_ms) &&
		      sane(d->aqu_sz));
		CHECK(sane(d->busy_pct) && d->busy_pct <= 100);
	}
	CHECK(sane(m->cswch_s) && sane(m->intr_s) && sane(m->forks_s));
	for (r = 0; r < HM_PSI_NRES; r++)
		for (k = 0; k < HM_PSI_NKINDS; k++)
			CHECK(sane(m->psi[r][k].avg10) &&
			      sane(m->psi[r][k].pct) &&
			      m->psi[r][k].pct <= 100);
	CHECK(sane(m->self_cpu_pct));
}

static double sum_pct(const double *pct)
{
	double s = 0;
	int k;

	for (k = 0; k < HM_CPU_NFIELDS; k++)
		s += pct[k];
	return s;
}

static void check_cpu(const double *pct, double us, double ni, double sy,
		      double id, double io, double irq, double si, double st)
{
	CHECK_NEAR(pct[HM_USER], us);
	CHECK_NEAR(pct[HM_NICE], ni);
	CHECK_NEAR(pct[HM_SYSTEM], sy);
	CHECK_NEAR(pct[HM_IDLE], id);
	CHECK_NEAR(pct[HM_IOWAIT], io);
	CHECK_NEAR(pct[HM_IRQ], irq);
	CHECK_NEAR(pct[HM_SOFTIRQ], si);
	CHECK_NEAR(pct[HM_STEAL], st);
}

/* ---- the raw sample, before any math */
static void test_sample_hand(struct fixture *f)
{
	struct host_sample *s = &f->a;

	if (load(f, "hand_t0", s, T0_NS))
		return;
	CHECK_EQ_INT(s->have, HM_SRC_UPTIME | HM_SRC_LOADAVG | HM_SRC_STAT |
		     HM_SRC_MEMINFO | HM_SRC_VMSTAT | HM_SRC_NETDEV |
		     HM_SRC_DISKSTATS | HM_SRC_SELF);
	CHECK_NEAR(s->uptime_s, 1000.0);
	CHECK_NEAR(s->load[0], 0.5);
	CHECK_NEAR(s->load[2], 0.1);
	CHECK_EQ_INT(s->threads_total, 150);
	CHECK_EQ_INT(s->cpu_total.t[HM_USER], 1000);
	CHECK_EQ_INT(s->cpu_total.t[HM_STEAL], 100);
	CHECK_EQ_INT(s->ncpu_slots, 2);
	CHECK(s->cpu_online[0] && s->cpu_online[1] && !s->cpu_online[2]);
	CHECK_EQ_INT(s->intr, 50000);
	CHECK_EQ_INT(s->ctxt, 100000);
	CHECK_EQ_INT(s->forks, 5000);
	CHECK_EQ_INT(s->procs_running, 3);
	CHECK_EQ_INT(s->procs_blocked, 1);
	/* "Cached" must not pick up "SwapCached: 9999" */
	CHECK_EQ_INT(s->cached_kb, 290000);
	CHECK_EQ_INT(s->sreclaimable_kb, 20000);
	CHECK_EQ_INT(s->pgmajfault, 300);
	CHECK_EQ_INT(s->nnet, 2);
	CHECK(strcmp(s->net[1].name, "eth0") == 0);
	CHECK_EQ_INT(s->net[1].tx_drop, 2);
	/* loop0 never did I/O, vda1 is a partition: vda sda sdb cciss */
	CHECK_EQ_INT(s->ndisk, 4);
	CHECK(strcmp(s->disk[0].name, "vda") == 0);
	CHECK(strcmp(s->disk[3].name, "cciss/c0d0") == 0);
	CHECK_EQ_INT(s->disk[0].io_ms, 3000);
	CHECK(s->psi[HM_PSI_IO][HM_PSI_SOME].valid);
	CHECK_NEAR(s->psi[HM_PSI_IO][HM_PSI_SOME].avg10, 12.34);
	CHECK_EQ_INT(s->psi[HM_PSI_IO][HM_PSI_FULL].total_us, 1500000);
	/* comm "x) y" holds a ')': fields counted from the last one */
	CHECK_EQ_INT(s->self_ticks, 200);
	CHECK_EQ_INT(s->self_rss_pages, 2500);
}

/* ---- hand_t0 -> hand_t1, 2 s apart */
static void test_hand(struct fixture *f)
{
	struct host_metrics *m = &f->m;
	int i;

	if (load2(f, "hand_t1", T1_NS))
		return;
	CHECK_EQ_INT(host_metrics_compute(&f->a, &f->b, m), 0);
	check_all_sane(m);
	CHECK_NEAR(m->interval_s, 2.0);
	CHECK(m->rates_ok && m->cpu_ok);
	/* total deltas 120 0 60 180 20 4 8 8 = 400 jiffies */
	check_cpu(m->cpu, 30, 0, 15, 45, 5, 1, 2, 2);
	CHECK_EQ_INT(m->ncpus, 2);
	/* cpu0: 100 0 40 40 10 2 4 4 = 200 */
	CHECK_EQ_INT(m->cpus[0].status, HM_CPU_ONLINE);
	check_cpu(m->cpus[0].pct, 50, 0, 20, 20, 5, 1, 2, 2);
	/* cpu1: 20 0 20 140 10 2 4 4 = 200 */
	check_cpu(m->cpus[1].pct, 10, 0, 10, 70, 5, 1, 2, 2);
	CHECK_NEAR(m->load[0], 1.5);
	CHECK_EQ_INT(m->tasks_running, 4);
	CHECK_EQ_INT(m->tasks_blocked, 2);
	CHECK_EQ_INT(m->tasks_total, 160);
	/* used = 1000000 - 200000 - 50000 - (300000 + 25000) */
	CHECK_EQ_INT(m->mem_used_kb, 425000);
	CHECK_EQ_INT(m->cached_kb, 325000);
	CHECK_EQ_INT(m->avail_kb, 600000);
	CHECK_NEAR(m->mem_used_pct, 42.5);
	CHECK_EQ_INT(m->swap_used_kb, 100000);
	/* pgpgin +2048 KiB, pgpgout +512, majflt +10, pswpin +4 over 2 s */
	CHECK_NEAR(m->pgpgin_kbs, 1024);
	CHECK_NEAR(m->pgpgout_kbs, 256);
	CHECK_NEAR(m->majflt_s, 5);
	CHECK_NEAR(m->pswpin_s, 2);
	CHECK_NEAR(m->pswpout_s, 0);
	/* ctxt +6000, intr +1000, processes +10 */
	CHECK_NEAR(m->cswch_s, 3000);
	CHECK_NEAR(m->intr_s, 500);
	CHECK_NEAR(m->forks_s, 5);
	CHECK_EQ_INT(m->runq, 4);

	i = find_net(m, "eth0");
	CHECK(i >= 0);
	if (i >= 0) {
		const struct hm_net_rates *n = &m->net[i];

		CHECK(!n->is_new);
		/* rx +2097152 B = 2048 KiB over 2 s; tx +204800 B */
		CHECK_NEAR(n->rx_kbs, 1024);
		CHECK_NEAR(n->tx_kbs, 100);
		CHECK_NEAR(n->rx_pps, 1000);
		CHECK_NEAR(n->tx_pps, 100);
		CHECK_NEAR(n->rx_errs, 2);
		CHECK_NEAR(n->tx_errs, 0);
		CHECK_NEAR(n->rx_drops, 1);
		CHECK_NEAR(n->tx_drops, 2);
	}
	i = find_net(m, "lo");
	CHECK(i >= 0 && m->net[i].rx_kbs == 1.0 && m->net[i].tx_pps == 10.0);

	CHECK_EQ_INT(m->ndisk, 4);
	CHECK(find_disk(m, "vda1") < 0 && find_disk(m, "loop0") < 0);
	i = find_disk(m, "vda");
	CHECK(i >= 0);
	if (i >= 0) {
		const struct hm_disk_rates *d = &m->disk[i];

		/* +200 reads, +100 writes, +8192/+2048 sectors, +1000 io_ms,
		 * +600/+300 ms service, +3000 weighted ms, over 2000 ms */
		CHECK_NEAR(d->rd_s, 100);
		CHECK_NEAR(d->wr_s, 50);
		CHECK_NEAR(d->tps, 150);
		CHECK_NEAR(d->rkb_s, 2048);
		CHECK_NEAR(d->wkb_s, 512);
		CHECK_NEAR(d->busy_pct, 50);
		CHECK_NEAR(d->await_ms, 3);
		CHECK_NEAR(d->aqu_sz, 1.5);
	}
	i = find_disk(m, "sdb");
	CHECK(i >= 0);
	if (i >= 0) {
		/* io_ms +2100 in 2000 ms: 105 % capped; await 10 ms / 20 */
		CHECK_NEAR(m->disk[i].busy_pct, 100);
		CHECK_NEAR(m->disk[i].await_ms, 0.5);
		CHECK_NEAR(m->disk[i].rkb_s, 20);
	}
	i = find_disk(m, "sda");
	/* idle disk: no I/O, so await is 0 and not 0/0 */
	CHECK(i >= 0 && m->disk[i].await_ms == 0 && m->disk[i].busy_pct == 0);

	/* PSI: total deltas over 2 000 000 µs */
	CHECK(m->psi[HM_PSI_CPU][HM_PSI_SOME].pct_ok);
	CHECK_NEAR(m->psi[HM_PSI_CPU][HM_PSI_SOME].avg10, 2.75);
	CHECK_NEAR(m->psi[HM_PSI_CPU][HM_PSI_SOME].pct, 5);
	CHECK_NEAR(m->psi[HM_PSI_CPU][HM_PSI_FULL].pct, 0);
	CHECK_NEAR(m->psi[HM_PSI_MEMORY][HM_PSI_SOME].pct, 1);
	CHECK_NEAR(m->psi[HM_PSI_MEMORY][HM_PSI_FULL].pct, 0.1);
	CHECK_NEAR(m->psi[HM_PSI_IO][HM_PSI_SOME].pct, 50);
	CHECK_NEAR(m->psi[HM_PSI_IO][HM_PSI_FULL].pct, 25);
	CHECK_NEAR(m->psi[HM_PSI_IO][HM_PSI_FULL].avg10, 20.01);
	/* self: +120 ticks = 1.2 s of CPU in 2 s; rss 3000 pages */
	CHECK_NEAR(m->self_cpu_pct, 60);
	CHECK_EQ_INT(m->self_rss_kb, 12000);
	CHECK_EQ_INT(m->cpus_over + m->net_over + m->disk_over, 0);
}

/* ---- counters that went backwards count as a reset: delta 0 */
static void test_wrap(struct fixture *f)
{
	struct host_metrics *m = &f->m;
	int i;

	if (load2(f, "wrap_t1", T1_NS))
		return;
	host_metrics_compute(&f->a, &f->b, m);
	check_all_sane(m);
	/* aggregate idle 8000 -> 7900: idle delta 0, the rest 220 jiffies:
	 * 120/220, 60/220, 20/220, 4/220, 8/220, 8/220 */
	check_cpu(m->cpu, 1200.0 / 22, 0, 600.0 / 22, 0, 200.0 / 22,
		  40.0 / 22, 80.0 / 22, 80.0 / 22);
	CHECK_NEAR(sum_pct(m->cpu), 100);
	CHECK_NEAR(m->cswch_s, 0);          /* ctxt 100000 -> 500 */
	CHECK_NEAR(m->intr_s, 500);         /* untouched neighbour */
	CHECK_NEAR(m->pgpgin_kbs, 0);       /* 10000 -> 5 */
	CHECK_NEAR(m->pgpgout_kbs, 256);
	i = find_net(m, "eth0");
	CHECK(i >= 0);
	if (i >= 0) {
		CHECK_NEAR(m->net[i].rx_kbs, 0);    /* 1000000 -> 4000 */
		CHECK_NEAR(m->net[i].rx_pps, 1000);
	}
	i = find_disk(m, "vda");
	CHECK(i >= 0);
	if (i >= 0) {
		/* reads 1000 -> 100 and read_ms 2000 -> 100 reset; writes
		 * +100 with +300 ms: await = 300 / 100 */
		CHECK_NEAR(m->disk[i].rd_s, 0);
		CHECK_NEAR(m->disk[i].wr_s, 50);
		CHECK_NEAR(m->disk[i].tps, 50);
		CHECK_NEAR(m->disk[i].await_ms, 3);
		CHECK_NEAR(m->disk[i].rkb_s, 2048);
	}
	CHECK_NEAR(m->psi[HM_PSI_IO][HM_PSI_SOME].pct, 0);
	CHECK(m->psi[HM_PSI_IO][HM_PSI_SOME].pct_ok);
	CHECK_NEAR(m->self_cpu_pct, 0);     /* 200 -> 2 ticks */
}

/* 64-bit and 32-bit wraps in memory: no 2^64 or 2^32 spikes. */
static void test_wrap_synthetic(struct fixture *f)
{
	struct host_metrics *m = &f->m;

	if (load(f, "hand_t0", &f->a, T0_NS))
		return;
	f->b = f->a;
	f->b.mono_ns = T0_NS + SEC;
	f->a.net[1].rx_bytes = UINT64_MAX - 10;
	f->b.net[1].rx_bytes = 5;
	f->a.net[1].tx_bytes = 0xffffff00u;
	f->b.net[1].tx_bytes = 0x100;
	f->a.ctxt = UINT64_MAX;
	f->b.ctxt = 0;
	f->a.disk[0].io_ms = UINT64_MAX;
	f->b.disk[0].io_ms = 1;
	host_metrics_compute(&f->a, &f->b, m);
	check_all_sane(m);
	CHECK_NEAR(m->net[1].rx_kbs, 0);
	CHECK_NEAR(m->net[1].tx_kbs, 0);
	CHECK_NEAR(m->cswch_s, 0);
	CHECK_NEAR(m->disk[0].busy_pct, 0);
}

/* ---- CPU hotplug */
static void test_cpu_offline(struct fixture *f)
{
	struct host_metrics *m = &f->m;

	if (load2(f, "cpuoff_t1", T1_NS))
		return;
	host_metrics_compute(&f->a, &f->b, m);
	check_all_sane(m);
	CHECK_EQ_INT(m->ncpus, 2);
	CHECK_EQ_INT(m->cpus[0].status, HM_CPU_ONLINE);
	CHECK(m->cpus[0].ok);
	check_cpu(m->cpus[0].pct, 50, 0, 20, 20, 5, 1, 2, 2);
	CHECK_EQ_INT(m->cpus[1].status, HM_CPU_OFFLINE);
	CHECK(!m->cpus[1].ok);
	CHECK_NEAR(sum_pct(m->cpus[1].pct), 0);
	/* the aggregate line still counts every possible CPU */
	check_cpu(m->cpu, 30, 0, 15, 45, 5, 1, 2, 2);
}

static void test_cpu_online(struct fixture *f)
{
	struct host_metrics *m = &f->m;

	if (load2(f, "hand_t1", T1_NS))
		return;
	/* cpu1 absent at t0, present at t1: new, no percentages yet */
	f->a.cpu_online[1] = false;
	f->a.cpu[1] = (struct hm_cpu_ticks){ { 0 } };
	f->a.ncpu_slots = 1;
	host_metrics_compute(&f->a, &f->b, m);
	CHECK_EQ_INT(m->ncpus, 2);
	CHECK_EQ_INT(m->cpus[0].status, HM_CPU_ONLINE);
	CHECK_EQ_INT(m->cpus[1].status, HM_CPU_NEW);
	CHECK(!m->cpus[1].ok && sum_pct(m->cpus[1].pct) == 0);

	/* a hole: cpu0 offline, cpu1 online in both */
	if (load(f, "hand_t0", &f->a, T0_NS))
		return;
	f->a.cpu_online[0] = false;
	f->b.cpu_online[0] = false;
	host_metrics_compute(&f->a, &f->b, m);
	CHECK_EQ_INT(m->ncpus, 2);
	CHECK_EQ_INT(m->cpus[0].status, HM_CPU_OFFLINE);
	CHECK_EQ_INT(m->cpus[1].status, HM_CPU_ONLINE);
	check_cpu(m->cpus[1].pct, 10, 0, 10, 70, 5, 1, 2, 2);
}

/* ---- interfaces and disks that come and go */
static void test_hotplug(struct fixture *f)
{
	struct host_metrics *m = &f->m;
	int i;

	if (load2(f, "hotplug_t1", T1_NS))
		return;
	host_metrics_compute(&f->a, &f->b, m);
	check_all_sane(m);
	CHECK_EQ_INT(m->nnet, 2);
	CHECK(find_net(m, "lo") < 0);
	/* eth0 moved from slot 1 to slot 0: still matched by name */
	i = find_net(m, "eth0");
	CHECK(i == 0 && !m->net[0].is_new);
	CHECK_NEAR(m->net[0].rx_kbs, 1024);
	i = find_net(m, "docker0");
	CHECK(i >= 0 && m->net[i].is_new && m->net[i].rx_kbs == 0 &&
	      m->net[i].tx_pps == 0);
	CHECK_EQ_INT(m->ndisk, 4);
	CHECK(find_disk(m, "sda") < 0);
	i = find_disk(m, "sdc");
	CHECK(i >= 0 && m->disk[i].is_new && m->disk[i].tps == 0);
	i = find_disk(m, "sdb");
	CHECK(i >= 0 && !m->disk[i].is_new);
	CHECK_NEAR(m->disk[i >= 0 ? i : 0].rd_s, 5);
}

/* ---- PSI missing: not available, not an error */
static void test_nopsi(struct fixture *f)
{
	struct host_metrics *m = &f->m;
	int r, k;

	if (load2(f, "nopsi_t1", T1_NS))
		return;
	for (r = 0; r < HM_PSI_NRES; r++)
		CHECK(!f->b.psi[r][HM_PSI_SOME].valid);
	host_metrics_compute(&f->a, &f->b, m);
	for (r = 0; r < HM_PSI_NRES; r++)
		for (k = 0; k < HM_PSI_NKINDS; k++)
			CHECK(!m->psi[r][k].avg_ok && !m->psi[r][k].pct_ok &&
			      m->psi[r][k].pct == 0);
	CHECK_NEAR(m->cpu[HM_USER], 30);    /* the rest is unaffected */
}

/* ---- time that did not move, a first sample */
static void test_degenerate(struct fixture *f)
{
	struct host_metrics *m = &f->m;
	int i;

	if (load2(f, "hand_t1", T0_NS))
		return;
	host_metrics_compute(&f->a, &f->b, m);
	check_all_sane(m);
	CHECK(!m->rates_ok);
	CHECK_NEAR(m->interval_s, 0);
	CHECK_NEAR(m->cswch_s + m->intr_s + m->pgpgin_kbs + m->self_cpu_pct, 0);
	CHECK_NEAR(m->disk[0].busy_pct + m->net[1].rx_kbs, 0);
	CHECK(!m->net[1].is_new);           /* known, just no rate */
	/* CPU shares need jiffies, not wall time */
	CHECK(m->cpu_ok);
	CHECK_NEAR(m->cpu[HM_IDLE], 45);

	/* time went backwards */
	f->b.mono_ns = T0_NS - SEC;
	host_metrics_compute(&f->a, &f->b, m);
	check_all_sane(m);
	CHECK(!m->rates_ok);

	/* same sample twice: no jiffy elapsed, no made-up percentages */
	host_metrics_compute(&f->a, &f->a, m);
	check_all_sane(m);
	CHECK(!m->cpu_ok && sum_pct(m->cpu) == 0);
	CHECK(!m->cpus[0].ok);

	/* first sample: levels only */
	host_metrics_compute(NULL, &f->b, m);
	check_all_sane(m);
	CHECK(!m->rates_ok && !m->cpu_ok);
	CHECK_EQ_INT(m->mem_used_kb, 425000);
	CHECK_EQ_INT(m->cpus[0].status, HM_CPU_NEW);
	for (i = 0; i < (int)m->nnet; i++)
		CHECK(m->net[i].is_new);
	CHECK_EQ_INT(m->self_rss_kb, 12000);

	CHECK_EQ_INT(host_metrics_compute(&f->a, NULL, m), -EINVAL);
	CHECK_EQ_INT(host_metrics_compute(&f->a, &f->b, NULL), -EINVAL);
}

static void test_bad_roots(struct fixture *f)
{
	char proc[512];

	CHECK_EQ_INT(host_sample_read(&f->a, "/nonexistent/proc", "/sys"),
		     -ENOENT);
	/* a directory without a "stat" file is not a procfs */
	snprintf(proc, sizeof(proc), "%s/hand_t0/sys", f->data);
	CHECK_EQ_INT(host_sample_read(&f->a, proc, "/sys"), -ENOENT);
	/* no sysfs: no disk can be proven whole, the rest still works */
	snprintf(proc, sizeof(proc), "%s/hand_t0/proc", f->data);
	CHECK_EQ_INT(host_sample_read(&f->a, proc, "/nonexistent/sys"), 0);
	CHECK_EQ_INT(f->a.ndisk, 0);
	CHECK_EQ_INT(f->a.nnet, 2);
}

/* ---- limits: made at run time in a temporary directory */
static int write_file(const char *dir, const char *rel, const char *text)
{
	char path[512];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static size_t __attribute__((format(printf, 4, 5)))
append(char *buf, size_t off, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + off, cap - off, fmt, ap);
	va_end(ap);
	return n > 0 && (size_t)n < cap - off ? off + (size_t)n : off;
}

static int make_limits(char *dir, char *buf, size_t cap)
{
	char path[512];
	size_t off = 0;
	unsigned int i;

	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/proc", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/proc/net", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/sys", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/sys/block", dir);
	mkdir(path, 0700);

	/* 300 CPUs; an "intr" line far longer than the reader's buffer,
	 * followed by a line that must still be parsed; an overflowing
	 * ctxt that must saturate, not wrap */
	off = append(buf, off, cap, "cpu  300 0 0 300 0 0 0 0 0 0\n");
	for (i = 0; i < 300; i++)
		off = append(buf, off, cap, "cpu%u 1 0 0 1 0 0 0 0 0 0\n",
			     i);
	off = append(buf, off, cap, "intr 123456");
	for (i = 0; i < 3000; i++)
		off = append(buf, off, cap, " %u", i % 10);
	off = append(buf, off, cap, "\nctxt 99999999999999999999999\n");
	off = append(buf, off, cap, "procs_running 7\n");
	if (write_file(dir, "proc/stat", buf))
		return -1;

	/* a name too long to be an interface, then 70 interfaces */
	off = append(buf, 0, cap, "h1\nh2\n");
	off = append(buf, off, cap, "a_name_that_is_far_too_long_for_a_slot:"
		     " 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1\n");
	for (i = 0; i < 70; i++)
		off = append(buf, off, cap,
			     "if%u: %u 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n", i, 9);
	if (write_file(dir, "proc/net/dev", buf))
		return -1;

	/* 70 whole disks with I/O, each with a partition */
	off = 0;
	for (i = 0; i < 70; i++) {
		off = append(buf, off, cap, "8 %u d%u 1 0 2 1 1 0 2 1 0 1 1\n",
			     i * 16, i);
		off = append(buf, off, cap, "8 1 d%up1 1 0 2 1 1 0 2 1 0 1 1\n",
			     i);
		snprintf(path, sizeof(path), "%s/sys/block/d%u", dir, i);
		mkdir(path, 0700);
	}
	return write_file(dir, "proc/diskstats", buf);
}

static void test_limits(struct fixture *f)
{
	char dir[] = "/tmp/test_host_metrics.XXXXXX";
	char proc[512], sys[512];
	size_t cap = 64 * 1024;
	char *buf = malloc(cap);
	struct host_sample *s = &f->a;

	CHECK(buf != NULL);
	if (!buf)
		return;
	if (make_limits(dir, buf, cap)) {
		CHECK_MSG(0, "cannot build %s", dir);
		goto cleanup;
	}
	snprintf(proc, sizeof(proc), "%s/proc", dir);
	snprintf(sys, sizeof(sys), "%s/sys", dir);
	CHECK_EQ_INT(host_sample_read(s, proc, sys), 0);
	/* only stat, net/dev and diskstats exist */
	CHECK_EQ_INT(s->have, HM_SRC_STAT | HM_SRC_NETDEV | HM_SRC_DISKSTATS);
	CHECK_EQ_INT(s->ncpu_slots, HM_MAX_CPUS);
	CHECK_EQ_INT(s->cpus_over, 300 - HM_MAX_CPUS);
	CHECK_EQ_INT(s->intr, 123456);
	CHECK(s->ctxt == UINT64_MAX);
	CHECK_EQ_INT(s->procs_running, 7);
	CHECK_EQ_INT(s->nnet, HM_MAX_IFACES);
	CHECK_EQ_INT(s->net_over, 70 - HM_MAX_IFACES);
	CHECK(strcmp(s->net[0].name, "if0") == 0);
	CHECK_EQ_INT(s->ndisk, HM_MAX_DISKS);
	CHECK_EQ_INT(s->disk_over, 70 - HM_MAX_DISKS);

	/* everything not read is unavailable in JSON, not zero */
	s->mono_ns = SEC;
	f->b = *s;
	f->b.mono_ns = 2 * SEC;
	host_metrics_compute(s, &f->b, &f->m);
	check_all_sane(&f->m);
	CHECK_EQ_INT(f->m.ncpus, HM_MAX_CPUS);
	CHECK_EQ_INT(f->m.cpus_over, 44);
	{
		json_t *j = NULL;

		CHECK_EQ_INT(host_metrics_to_json(&f->m, &j), 0);
		CHECK(json_is_null(json_object_get(
			json_object_get(j, "mem"), "total_kb")));
		CHECK(json_is_null(json_object_get(
			json_object_get(j, "self"), "cpu_pct")));
		CHECK(json_is_null(json_array_get(json_object_get(j, "load"),
						  0)));
		CHECK_EQ_INT(json_integer_value(json_object_get(
			json_object_get(j, "overflow"), "cpus")), 44);
		CHECK_EQ_INT(json_array_size(json_object_get(j, "cpus")), 256);
		CHECK_EQ_INT(json_object_size(json_object_get(j, "net")), 64);
		json_decref(j);
	}
cleanup:
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(buf);
}

/* ---- JSON: the exact documented shape, key order included */
static void test_json_hand(struct fixture *f)
{
	static const char want[] =
		"{\"interval_s\":2.0,\"uptime_s\":1002.0,"
		"\"cpu\":{\"user\":30.0,\"nice\":0.0,\"system\":15.0,"
		"\"iowait\":5.0,\"irq\":1.0,\"softirq\":2.0,\"steal\":2.0,"
		"\"idle\":45.0},"
		"\"cpus\":[{\"cpu\":0,\"online\":true,\"user\":50.0,"
		"\"nice\":0.0,\"system\":20.0,\"iowait\":5.0,\"irq\":1.0,"
		"\"softirq\":2.0,\"steal\":2.0,\"idle\":20.0},"
		"{\"cpu\":1,\"online\":false,\"user\":null,\"nice\":null,"
		"\"system\":null,\"iowait\":null,\"irq\":null,"
		"\"softirq\":null,\"steal\":null,\"idle\":null}],"
		"\"load\":[1.5,0.75,0.3],"
		"\"tasks\":{\"running\":4,\"blocked\":2,\"total\":160},"
		"\"mem\":{\"total_kb\":1000000,\"used_kb\":425000,"
		"\"free_kb\":200000,\"buffers_kb\":50000,"
		"\"cached_kb\":325000,\"available_kb\":600000,"
		"\"swap_used_kb\":100000,\"swap_total_kb\":500000,"
		"\"used_pct\":42.5},"
		"\"paging\":{\"pgpgin_kbs\":1024.0,\"pgpgout_kbs\":256.0,"
		"\"majflt_s\":5.0,\"pswpin_s\":2.0,\"pswpout_s\":0.0},"
		"\"net\":{\"lo\":{\"rxkb_s\":1.0,\"txkb_s\":1.0,"
		"\"rxpck_s\":10.0,\"txpck_s\":10.0,\"rxerr_s\":0.0,"
		"\"txerr_s\":0.0,\"rxdrop_s\":0.0,\"txdrop_s\":0.0,"
		"\"new\":false},"
		"\"eth0\":{\"rxkb_s\":1024.0,\"txkb_s\":100.0,"
		"\"rxpck_s\":1000.0,\"txpck_s\":100.0,\"rxerr_s\":2.0,"
		"\"txerr_s\":0.0,\"rxdrop_s\":1.0,\"txdrop_s\":2.0,"
		"\"new\":false}},"
		"\"disk\":{\"vda\":{\"tps\":150.0,\"rd_s\":100.0,"
		"\"wr_s\":50.0,\"rkb_s\":2048.0,\"wkb_s\":512.0,"
		"\"busy_pct\":50.0,\"await_ms\":3.0,\"aqu_sz\":1.5,"
		"\"new\":false},"
		"\"sda\":{\"tps\":0.0,\"rd_s\":0.0,\"wr_s\":0.0,"
		"\"rkb_s\":0.0,\"wkb_s\":0.0,\"busy_pct\":0.0,"
		"\"await_ms\":0.0,\"aqu_sz\":0.0,\"new\":false},"
		"\"sdb\":{\"tps\":10.0,\"rd_s\":5.0,\"wr_s\":5.0,"
		"\"rkb_s\":20.0,\"wkb_s\":20.0,\"busy_pct\":100.0,"
		"\"await_ms\":0.5,\"aqu_sz\":0.01,\"new\":false},"
		"\"cciss/c0d0\":{\"tps\":0.0,\"rd_s\":0.0,\"wr_s\":0.0,"
		"\"rkb_s\":0.0,\"wkb_s\":0.0,\"busy_pct\":0.0,"
		"\"await_ms\":0.0,\"aqu_sz\":0.0,\"new\":false}},"
		"\"sys\":{\"cswch_s\":3000.0,\"intr_s\":500.0,"
		"\"forks_s\":5.0,\"runq\":4},"
		"\"psi\":{\"cpu_some_avg10\":2.75,\"cpu_some_pct\":5.0,"
		"\"cpu_full_avg10\":0.0,\"cpu_full_pct\":0.0,"
		"\"memory_some_avg10\":0.3,\"memory_some_pct\":1.0,"
		"\"memory_full_avg10\":0.11,\"memory_full_pct\":0.1,"
		"\"io_some_avg10\":45.67,\"io_some_pct\":50.0,"
		"\"io_full_avg10\":20.01,\"io_full_pct\":25.0},"
		"\"self\":{\"cpu_pct\":60.0,\"rss_kb\":12000},"
		"\"overflow\":{\"cpus\":0,\"net\":0,\"disk\":0}}";
	json_t *j = NULL;
	char *got;

	/* the cpu1 element doubles as the offline case */
	if (load2(f, "cpuoff_t1", T1_NS))
		return;
	host_metrics_compute(&f->a, &f->b, &f->m);
	CHECK_EQ_INT(host_metrics_to_json(&f->m, &j), 0);
	if (!j)
		return;
	got = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
	CHECK_MSG(got && strcmp(got, want) == 0, "\n got %s\nwant %s", got,
		  want);
	free(got);
	json_decref(j);

	/* new interface: rates null, "new":true */
	if (load(f, "hotplug_t1", &f->b, T1_NS))
		return;
	host_metrics_compute(&f->a, &f->b, &f->m);
	CHECK_EQ_INT(host_metrics_to_json(&f->m, &j), 0);
	{
		json_t *d = json_object_get(json_object_get(j, "net"),
					    "docker0");

		CHECK(json_is_true(json_object_get(d, "new")));
		CHECK(json_is_null(json_object_get(d, "rxkb_s")));
		CHECK(json_is_null(json_object_get(json_object_get(
			json_object_get(j, "disk"), "sdc"), "tps")));
	}
	json_decref(j);

	CHECK_EQ_INT(host_metrics_to_json(NULL, &j), -EINVAL);
	CHECK(j == NULL);
	CHECK_EQ_INT(host_metrics_to_json(&f->m, NULL), -EINVAL);
}

/* ---- live: this machine under load */
static void test_live(struct fixture *f)
{
	struct host_metrics *m = &f->m;
	json_t *j = NULL;
	char *txt;
	uint32_t i;
	int k;

	if (load(f, "live_t0", &f->a, 0) || load(f, "live_t1", &f->b, 0))
		return;
	/* no monotonic stamp was captured: /proc/uptime stands in */
	f->a.mono_ns = (uint64_t)(f->a.uptime_s * 1e9);
	f->b.mono_ns = (uint64_t)(f->b.uptime_s * 1e9);
	CHECK_EQ_INT(host_metrics_compute(&f->a, &f->b, m), 0);
	check_all_sane(m);
	CHECK(m->rates_ok && m->cpu_ok);
	CHECK(m->interval_s > 0.5 && m->interval_s < 5);
	CHECK_MSG(fabs(sum_pct(m->cpu) - 100) < 0.01, "sum %f",
		  sum_pct(m->cpu));
	CHECK(m->ncpus >= 1);
	for (i = 0; i < m->ncpus; i++) {
		if (!m->cpus[i].ok)
			continue;
		CHECK(fabs(sum_pct(m->cpus[i].pct) - 100) < 0.01);
	}
	/* a busy loop and dd ran: the machine was not idle */
	CHECK(m->cpu[HM_IDLE] < 90);
	CHECK(m->mem_total_kb > 0 && m->mem_used_kb > 0);
	CHECK(m->mem_used_kb + m->mem_free_kb <= m->mem_total_kb);
	CHECK(m->tasks_total > 0 && m->runq > 0);
	CHECK(m->intr_s > 0 && m->cswch_s > 0);
	CHECK(m->ndisk >= 1);
	for (i = 0; i < m->ndisk; i++)
		CHECK(strncmp(m->disk[i].name, "loop", 4) != 0);
	CHECK(m->nnet >= 1 && find_net(m, "lo") >= 0);
	/* "self" is the busy loop: about one CPU */
	CHECK_MSG(m->self_cpu_pct > 80 && m->self_cpu_pct < 120, "self %f",
		  m->self_cpu_pct);
	CHECK(m->self_rss_kb > 0);
	for (k = 0; k < HM_PSI_NRES; k++)
		CHECK(m->psi[k][HM_PSI_SOME].avg_ok);

	CHECK_EQ_INT(host_metrics_to_json(m, &j), 0);
	txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
	CHECK(txt && !strstr(txt, "nan") && !strstr(txt, "inf") &&
	      !strstr(txt, ":-"));
	free(txt);
	json_decref(j);
}

/* ---- the sampler must not grow: repeated reads allocate nothing */
static size_t heap_in_use(void)
{
#ifdef __SANITIZE_ADDRESS__
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

static void test_no_heap(struct fixture *f)
{
	char proc[512], sys[512];
	size_t before;
	int i;

	snprintf(proc, sizeof(proc), "%s/live_t1/proc", f->data);
	snprintf(sys, sizeof(sys), "%s/live_t1/sys", f->data);
	host_sample_read(&f->a, proc, sys);     /* warm up */
	before = heap_in_use();
	for (i = 0; i < 200; i++) {
		f->b.mono_ns = f->a.mono_ns + SEC;
		host_sample_read(&f->b, proc, sys);
		host_metrics_compute(&f->a, &f->b, &f->m);
		/* the real machine too, when the test runs on Linux */
		host_sample_read(&f->a, "/proc", "/sys");
	}
	CHECK_MSG(heap_in_use() == before, "heap %zu -> %zu", before,
		  heap_in_use());
}

int main(int argc, char **argv)
{
	struct fixture *f;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
		return 2;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return 2;
	f->data = argv[1];
	test_sample_hand(f);
	test_hand(f);
	test_wrap(f);
	test_wrap_synthetic(f);
	test_cpu_offline(f);
	test_cpu_online(f);
	test_hotplug(f);
	test_nopsi(f);
	test_degenerate(f);
	test_bad_roots(f);
	test_limits(f);
	test_json_hand(f);
	test_live(f);
	test_no_heap(f);
	free(f);
	return check_summary("host_metrics");
}
