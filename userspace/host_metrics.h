/* SPDX-License-Identifier: MIT */
/*
 * host_metrics.h — sar/topas-like host metrics for the TUI header and the
 * `metrics` trace record.
 *
 * Two halves, so that the arithmetic can be tested without a live system:
 *
 *   host_sample_read()     reads raw counters at one instant from a procfs
 *                          root and a sysfs root into struct host_sample;
 *   host_metrics_compute() turns two samples into rates and percentages.
 *
 * Typical use (no heap: both structs are allocated once by the caller and
 * reused for the life of the process):
 *
 *	static struct host_sample s[2];   // or part of a context struct
 *	struct host_metrics m;
 *	int i = 0;
 *	for (;;) {
 *		s[i].mono_ns = now_monotonic_ns();
 *		host_sample_read(&s[i], "/proc", "/sys");
 *		host_metrics_compute(&s[i ^ 1], &s[i], &m);  // prev, cur
 *		...
 *		i ^= 1;
 *	}
 *
 * (The first call may pass prev = NULL: levels are filled, rates are not.)
 *
 * Rules that hold for every number compute() produces:
 *
 *  - No NaN, no infinity, no negative value.
 *  - A counter that went backwards between two samples (32- or 64-bit wrap,
 *    a re-created interface, a driver reload, the aggregate idle count that
 *    steps back when a CPU goes offline) is taken as a RESET: its delta for
 *    that interval is 0, and the next interval measures from the new value.
 *    A wrap cannot be told from a reset by looking at two values, and a
 *    wrong "post-wrap" guess shows as a spike of up to 4 GiB/s; a missed
 *    interval is harmless.
 *  - Elapsed time <= 0 (equal or backwards timestamps): every per-second
 *    rate is 0 and flagged unavailable. CPU percentages come from jiffy
 *    deltas and do not need the elapsed time.
 *  - Per-CPU data is matched by CPU number. A CPU missing from either
 *    sample is HM_CPU_OFFLINE (gone now) or HM_CPU_NEW (just came online):
 *    neither has percentages for that interval.
 *  - Interfaces and disks are matched by name. One absent from the previous
 *    sample is marked new and has no rate until the next interval; one that
 *    vanished is simply not reported.
 *  - Sizes are bounded (HM_MAX_*); entries beyond them are ignored and
 *    counted in *_over.
 *
 * Source choices worth knowing:
 *  - tasks.total is the 4th field of /proc/loadavg ("1/81" -> 81): the
 *    number of threads, as sar -q plist-sz shows. It costs no readdir().
 *  - tasks.running / sys.runq are /proc/stat procs_running (it counts the
 *    sampler itself); tasks.blocked is procs_blocked.
 *  - CPU "user" includes guest time and "nice" includes guest_nice, as in
 *    /proc/stat itself; the total is the sum of the 8 states, so the eight
 *    percentages add up to 100.
 *  - Disks: whole devices only (a device is whole when <sysfs>/block/<name>
 *    exists, '/' in a name mapped to '!' as the kernel does). Devices that
 *    never completed an I/O (idle loop, ram, zram...) are skipped, as sar
 *    does; one that does its first I/O shows up as new.
 *  - /proc/net/dev is per network namespace: the sampler's namespace.
 *  - PSI files that are absent or refuse reads (kernel without PSI, or
 *    psi=0) make those values unavailable, not an error.
 *  - The "self" values come from <procfs>/self/stat: the calling process.
 *
 * JSON produced by host_metrics_to_json() (shape is stable; every key is
 * always present; numbers are rounded to 2 decimals; `null` means "not
 * measurable this interval": source missing, first sample, zero elapsed
 * time, CPU offline/new, interface/disk new):
 *
 * {"interval_s":1.0,"uptime_s":2074.45,
 *  "cpu":{"user":..,"nice":..,"system":..,"iowait":..,"irq":..,
 *         "softirq":..,"steal":..,"idle":..},                       // %
 *  "cpus":[{"cpu":0,"online":true,"user":..,"nice":..,"system":..,
 *           "iowait":..,"irq":..,"softirq":..,"steal":..,"idle":..},..],
 *                  // index = CPU number, holes included. "online" is
 *                  // false for a CPU gone offline; the 8 values are null
 *                  // when offline, just online (no previous sample) or
 *                  // no jiffy elapsed
 *  "load":[1.0,5.0,15.0],
 *  "tasks":{"running":..,"blocked":..,"total":..},                  // ints
 *  "mem":{"total_kb":..,"used_kb":..,"free_kb":..,"buffers_kb":..,
 *         "cached_kb":..,"available_kb":..,"swap_used_kb":..,
 *         "swap_total_kb":..,"used_pct":..},      // *_kb ints, KiB
 *  "paging":{"pgpgin_kbs":..,"pgpgout_kbs":..,"majflt_s":..,
 *            "pswpin_s":..,"pswpout_s":..},
 *  "net":{"eth0":{"rxkb_s":..,"txkb_s":..,"rxpck_s":..,"txpck_s":..,
 *                 "rxerr_s":..,"txerr_s":..,"rxdrop_s":..,"txdrop_s":..,
 *                 "new":false},..},
 *  "disk":{"vda":{"tps":..,"rd_s":..,"wr_s":..,"rkb_s":..,"wkb_s":..,
 *                 "busy_pct":..,"await_ms":..,"aqu_sz":..,"new":false},..},
 *  "sys":{"cswch_s":..,"intr_s":..,"forks_s":..,"runq":..},   // runq int
 *  "psi":{"cpu_some_avg10":..,"cpu_some_pct":..,"cpu_full_avg10":..,
 *         "cpu_full_pct":..,"memory_some_avg10":..,"memory_some_pct":..,
 *         "memory_full_avg10":..,"memory_full_pct":..,"io_some_avg10":..,
 *         "io_some_pct":..,"io_full_avg10":..,"io_full_pct":..},
 *  "self":{"cpu_pct":..,"rss_kb":..},                         // rss int
 *  "overflow":{"cpus":0,"net":0,"disk":0}}                    // ints
 *
 * Units: kB = KiB (1024 bytes) everywhere, like sar. *_avg10 is the
 * kernel's own 10 s average; *_pct is the share of this interval stalled,
 * from the `total=` microsecond counter. self.cpu_pct is % of one CPU (can
 * exceed 100 for a multi-threaded caller). busy_pct is capped at 100.
 *
 * Reals are rounded to 2 decimals with round(), but a double such as 0.1
 * has no exact binary form: dump with JSON_REAL_PRECISION(15) or lower so
 * it prints as 0.1 and not 0.10000000000000001.
 */
#ifndef MSGSCOPE_HOST_METRICS_H
#define MSGSCOPE_HOST_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#define HM_MAX_CPUS 256
#define HM_MAX_IFACES 64
#define HM_MAX_DISKS 64
#define HM_NAME_LEN 32 /* disk names are <= 31 (DISK_NAME_LEN), ifnames 15 */

/* CPU states, in /proc/stat column order. */
enum hm_cpu_field {
	HM_USER, HM_NICE, HM_SYSTEM, HM_IDLE, HM_IOWAIT, HM_IRQ, HM_SOFTIRQ,
	HM_STEAL, HM_CPU_NFIELDS
};

/* Which sources a sample holds (host_sample.have). */
enum hm_source {
	HM_SRC_UPTIME = 1u << 0,
	HM_SRC_LOADAVG = 1u << 1,
	HM_SRC_STAT = 1u << 2,
	HM_SRC_MEMINFO = 1u << 3,
	HM_SRC_VMSTAT = 1u << 4,
	HM_SRC_NETDEV = 1u << 5,
	HM_SRC_DISKSTATS = 1u << 6,
	HM_SRC_SELF = 1u << 7,
	/* PSI availability is per file: see hm_psi_raw.valid */
};

enum hm_psi_res { HM_PSI_CPU, HM_PSI_MEMORY, HM_PSI_IO, HM_PSI_NRES };
enum hm_psi_kind { HM_PSI_SOME, HM_PSI_FULL, HM_PSI_NKINDS };

struct hm_cpu_ticks {
	uint64_t t[HM_CPU_NFIELDS]; /* jiffies, index enum hm_cpu_field */
};

struct hm_net_raw {
	char name[HM_NAME_LEN];
	uint64_t rx_bytes, rx_packets, rx_errs, rx_drop;
	uint64_t tx_bytes, tx_packets, tx_errs, tx_drop;
};

struct hm_disk_raw {
	char name[HM_NAME_LEN];
	uint64_t reads, read_sectors, read_ms;    /* sectors are 512 B */
	uint64_t writes, write_sectors, write_ms;
	uint64_t io_ms;       /* time with I/O in flight */
	uint64_t queue_ms;    /* weighted: sum of in-flight time */
};

struct hm_psi_raw {
	bool valid;
	double avg10;         /* % */
	uint64_t total_us;    /* cumulative stall time */
};

/* Raw counters at one instant. ~30 KiB: allocate once, reuse. */
struct host_sample {
	uint64_t mono_ns;     /* CLOCK_MONOTONIC; set by the CALLER */
	unsigned int have;    /* enum hm_source bits */
	long clk_tck;         /* sysconf(_SC_CLK_TCK), set by read */
	long page_size;       /* sysconf(_SC_PAGESIZE), set by read */

	double uptime_s;
	double load[3];
	uint64_t threads_total;

	struct hm_cpu_ticks cpu_total;
	struct hm_cpu_ticks cpu[HM_MAX_CPUS];
	bool cpu_online[HM_MAX_CPUS]; /* a cpuN line was present */
	uint32_t ncpu_slots;          /* highest N seen + 1 */
	uint32_t cpus_over;           /* cpuN lines with N >= HM_MAX_CPUS */
	uint64_t ctxt, intr, forks;
	uint64_t procs_running, procs_blocked;

	uint64_t mem_total_kb, mem_free_kb, mem_avail_kb, buffers_kb;
	uint64_t cached_kb, sreclaimable_kb, swap_total_kb, swap_free_kb;

	uint64_t pgpgin, pgpgout, pgmajfault, pswpin, pswpout;

	struct hm_net_raw net[HM_MAX_IFACES];
	uint32_t nnet, net_over;
	struct hm_disk_raw disk[HM_MAX_DISKS];
	uint32_t ndisk, disk_over;

	struct hm_psi_raw psi[HM_PSI_NRES][HM_PSI_NKINDS];

	uint64_t self_ticks;          /* utime + stime */
	uint64_t self_rss_pages;
};

enum hm_cpu_status {
	HM_CPU_OFFLINE = 0,   /* absent from the current sample */
	HM_CPU_ONLINE,        /* in both samples */
	HM_CPU_NEW,           /* came online since prev: no pct yet */
};

struct hm_cpu_pct {
	enum hm_cpu_status status;
	bool ok;              /* ONLINE and a jiffy elapsed: pct[] valid */
	double pct[HM_CPU_NFIELDS]; /* all 0 unless ok */
};

struct hm_net_rates {
	char name[HM_NAME_LEN];
	bool is_new;          /* absent from prev: rates 0 (null in JSON) */
	double rx_kbs, tx_kbs, rx_pps, tx_pps;
	double rx_errs, tx_errs, rx_drops, tx_drops;
};

struct hm_disk_rates {
	char name[HM_NAME_LEN];
	bool is_new;
	double tps, rd_s, wr_s, rkb_s, wkb_s;
	double busy_pct;      /* io_ms delta / elapsed, capped at 100 */
	double await_ms;      /* (read_ms+write_ms) delta / (reads+writes) */
	double aqu_sz;        /* queue_ms delta / elapsed */
};

struct hm_psi_val {
	bool avg_ok, pct_ok;
	double avg10;         /* kernel's 10 s average, % */
	double pct;           /* stalled share of this interval, % */
};

/* Rates and levels between two samples. */
struct host_metrics {
	double interval_s;    /* 0 when not measurable */
	bool rates_ok;        /* prev given and interval_s > 0 */
	unsigned int have_level; /* sources in cur */
	unsigned int have_rate;  /* sources in both */

	double uptime_s;
	double cpu[HM_CPU_NFIELDS];   /* %, valid when cpu_ok */
	bool cpu_ok;
	struct hm_cpu_pct cpus[HM_MAX_CPUS];
	uint32_t ncpus;       /* slots used in cpus[] */

	double load[3];
	uint64_t tasks_running, tasks_blocked, tasks_total;

	uint64_t mem_total_kb, mem_used_kb, mem_free_kb, buffers_kb;
	uint64_t cached_kb;   /* Cached + SReclaimable, like free(1) */
	uint64_t avail_kb, swap_used_kb, swap_total_kb;
	double mem_used_pct;

	double pgpgin_kbs, pgpgout_kbs, majflt_s, pswpin_s, pswpout_s;

	struct hm_net_rates net[HM_MAX_IFACES];
	uint32_t nnet;
	struct hm_disk_rates disk[HM_MAX_DISKS];
	uint32_t ndisk;

	double cswch_s, intr_s, forks_s;
	uint64_t runq;

	struct hm_psi_val psi[HM_PSI_NRES][HM_PSI_NKINDS];

	double self_cpu_pct;
	uint64_t self_rss_kb;

	uint32_t cpus_over, net_over, disk_over;
};

/*
 * Read one sample from procfs_root ("/proc") and sysfs_root ("/sys").
 * Clears *s except mono_ns, which the caller sets (before or after).
 * Returns 0 when <procfs>/stat was read; -errno otherwise (a wrong root).
 * Other sources are optional: see s->have. Never allocates.
 */
int host_sample_read(struct host_sample *s, const char *procfs_root,
		     const char *sysfs_root);

/*
 * Compute *out from two samples; prev may be NULL (first sample).
 * Returns 0, or -EINVAL when cur or out is NULL. Never allocates.
 */
int host_metrics_compute(const struct host_sample *prev,
			 const struct host_sample *cur,
			 struct host_metrics *out);

/*
 * Build the JSON object documented above. On success *out holds a new
 * reference and 0 is returned; -EINVAL / -ENOMEM otherwise (*out NULL).
 */
int host_metrics_to_json(const struct host_metrics *m, json_t **out);

#endif /* MSGSCOPE_HOST_METRICS_H */
