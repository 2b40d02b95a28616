// SPDX-License-Identifier: MIT
/*
 * host_metrics.c — sample /proc and /sys, turn two samples into rates.
 *
 * The sampler runs every second or two for hours inside a process that must
 * not grow, so nothing here touches the heap: files are read with open() and
 * read() into a fixed buffer on the stack (stdio would malloc a FILE and its
 * buffer per file), and every table has a fixed size.
 *
 * See host_metrics.h for the rules on wrap-around, hotplug and units.
 */
#include "host_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h> /* isfinite(): a builtin, no -lm needed */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------------
 * Line reader: fixed buffer, lines longer than it are cut (the tail is
 * dropped). Only /proc/stat's "intr" line gets that long, and we only
 * want its first number.
 */
#define LR_BUFSZ 4096

struct line_reader {
	int fd;
	int err;              /* errno of a failed read(), 0 if none */
	bool eof;
	bool skip;            /* dropping the tail of an over-long line */
	size_t len;           /* bytes held in buf */
	size_t pos;           /* start of the next line in buf */
	char buf[LR_BUFSZ + 1];
};

static void lr_init(struct line_reader *lr, int fd)
{
	lr->fd = fd;
	lr->err = 0;
	lr->eof = false;
	lr->skip = false;
	lr->len = 0;
	lr->pos = 0;
}

/* Pull more bytes in, after moving the unread part to the front. */
static void lr_fill(struct line_reader *lr)
{
	ssize_t n;

	if (lr->pos > 0) {
		memmove(lr->buf, lr->buf + lr->pos, lr->len - lr->pos);
		lr->len -= lr->pos;
		lr->pos = 0;
	}
	do {
		n = read(lr->fd, lr->buf + lr->len, LR_BUFSZ - lr->len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		lr->err = errno;
	if (n <= 0)
		lr->eof = true;
	else
		lr->len += (size_t)n;
}

/* Next NUL-terminated line, valid until the next call; NULL at the end. */
static char *lr_next(struct line_reader *lr)
{
	for (;;) {
		char *start = lr->buf + lr->pos;
		char *nl = memchr(start, '\n', lr->len - lr->pos);

		if (nl) {
			*nl = '\0';
			lr->pos = (size_t)(nl - lr->buf) + 1;
			if (lr->skip) {
				lr->skip = false;
				continue;
			}
			return start;
		}
		if (lr->skip)
			lr->pos = lr->len;   /* still inside the dropped tail */
		if (lr->pos == 0 && lr->len == LR_BUFSZ) {
			/* Full buffer, no newline: hand out the head. */
			lr->buf[LR_BUFSZ] = '\0';
			lr->pos = lr->len;
			lr->skip = true;
			return lr->buf;
		}
		if (lr->eof) {
			if (lr->pos == lr->len)
				return NULL;
			lr->buf[lr->len] = '\0'; /* last line without '\n' */
			lr->pos = lr->len;
			return start;
		}
		lr_fill(lr);
	}
}

/* ---------------------------------------------------------------------
 * Tokens. Numbers are parsed by hand: strtod() obeys LC_NUMERIC, and a
 * curses program that called setlocale(LC_ALL, "") under de_DE would read
 * "0.49" from /proc as 0.
 */
static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Unsigned decimal after blanks; saturates instead of wrapping. */
static bool next_u64(const char **pp, uint64_t *v)
{
	const char *p = skip_blanks(*pp);
	uint64_t x = 0;

	if (!is_digit(*p))
		return false;
	for (; is_digit(*p); p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (x > (UINT64_MAX - d) / 10)
			x = UINT64_MAX;
		else
			x = x * 10 + d;
	}
	*v = x;
	*pp = p;
	return true;
}

/* Non-negative fixed-point "123.45" after blanks. */
static bool next_dec(const char **pp, double *v)
{
	const char *p;
	uint64_t ip;
	double frac = 0, scale = 1;

	if (!next_u64(pp, &ip))
		return false;
	p = *pp;
	if (*p == '.') {
		for (p++; is_digit(*p); p++) {
			scale /= 10;
			frac += (*p - '0') * scale;
		}
	}
	*v = (double)ip + frac;
	*pp = p;
	return true;
}

/* If line starts with key followed by a blank or ':', the text after it. */
static const char *after_key(const char *line, const char *key)
{
	size_t n = strlen(key);

	if (strncmp(line, key, n) != 0)
		return NULL;
	if (line[n] == ':')
		return line + n + 1;
	if (line[n] == ' ' || line[n] == '\t')
		return line + n;
	return NULL;
}

/* Copy a name token; false if it does not fit (we never truncate: two
 * long names cut to the same prefix would be matched as one device). */
static bool copy_name(char *dst, const char *src, size_t n)
{
	size_t i;

	if (n == 0 || n >= HM_NAME_LEN)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		/* JSON keys must be valid UTF-8: keep names plain ASCII. */
		dst[i] = (c > ' ' && c < 0x7f) ? (char)c : '?';
	}
	dst[n] = '\0';
	return true;
}

/* ---------------------------------------------------------------------
 * Per-file parsers. Each opens <root>/<rel> relative to a directory fd,
 * feeds every line to a callback and reports -errno if the file could not
 * be read.
 */
typedef void (*line_fn)(struct host_sample *s, char *line, void *ctx);

static int for_each_line(int dirfd, const char *rel, struct host_sample *s,
			 line_fn fn, void *ctx)
{
	struct line_reader lr;
	char *line;
	int fd, rc = 0;

	fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	lr_init(&lr, fd);
	while ((line = lr_next(&lr)))
		fn(s, line, ctx);
	if (lr.err)
		rc = -lr.err;
	close(fd);
	return rc;
}

/* /proc/uptime: "2074.45 4107.57" */
static void uptime_line(struct host_sample *s, char *line, void *ctx)
{
	const char *p = line;

	(void)ctx;
	next_dec(&p, &s->uptime_s);
}

/* /proc/loadavg: "0.00 0.02 0.00 1/81 3548" */
static void loadavg_line(struct host_sample *s, char *line, void *ctx)
{
	const char *p = line;
	uint64_t running;
	int i;

	(void)ctx;
	for (i = 0; i < 3; i++)
		if (!next_dec(&p, &s->load[i]))
			return;
	if (next_u64(&p, &running) && *p == '/') {
		p++;
		next_u64(&p, &s->threads_total);
	}
}

/* Fill up to HM_CPU_NFIELDS jiffy counters; absent trailing ones stay 0
 * (kernels before 2.6.11 had no steal column). */
static bool parse_ticks(const char *p, struct hm_cpu_ticks *t)
{
	int i;

	for (i = 0; i < HM_CPU_NFIELDS; i++)
		if (!next_u64(&p, &t->t[i]))
			break;
	return i >= 4;
}

/* "cpu  2500 0 ..." (aggregate) or "cpu7 ..." */
static void stat_cpu_line(struct host_sample *s, const char *p)
{
	uint64_t n;

	if (*p == ' ') {
		parse_ticks(p, &s->cpu_total);
		return;
	}
	if (!next_u64(&p, &n))
		return;
	if (n >= HM_MAX_CPUS) {
		s->cpus_over++;
		return;
	}
	if (!parse_ticks(p, &s->cpu[n]))
		return;
	s->cpu_online[n] = true;
	if (n + 1 > s->ncpu_slots)
		s->ncpu_slots = (uint32_t)n + 1;
}

struct kv_key {
	const char *key;
	size_t off;           /* uint64_t member of struct host_sample */
};

struct kv_table {
	const struct kv_key *keys;
	size_t n;
};

/* "Key: value [kB]" (meminfo), "key value ..." (vmstat, /proc/stat). */
static void kv_line(struct host_sample *s, char *line, void *ctx)
{
	const struct kv_table *tab = ctx;
	const char *p;
	size_t i;

	for (i = 0; i < tab->n; i++) {
		size_t off = tab->keys[i].off;

		p = after_key(line, tab->keys[i].key);
		if (p) {
			next_u64(&p, (uint64_t *)((char *)s + off));
			return;
		}
	}
}

#define KV(key, member) { key, offsetof(struct host_sample, member) }

#define KV_TABLE(arr) { arr, sizeof(arr) / sizeof(arr[0]) }

/* "intr": the first number is the total, the rest is per IRQ. */
static const struct kv_key stat_keys[] = {
	KV("ctxt", ctxt), KV("intr", intr), KV("processes", forks),
	KV("procs_running", procs_running), KV("procs_blocked", procs_blocked),
};

static void stat_line(struct host_sample *s, char *line, void *ctx)
{
	static const struct kv_table tab = KV_TABLE(stat_keys);

	(void)ctx;
	if (strncmp(line, "cpu", 3) == 0)
		stat_cpu_line(s, line + 3);
	else
		kv_line(s, line, (void *)&tab);
}

static const struct kv_key meminfo_keys[] = {
	KV("MemTotal", mem_total_kb), KV("MemFree", mem_free_kb),
	KV("MemAvailable", mem_avail_kb), KV("Buffers", buffers_kb),
	KV("Cached", cached_kb), KV("SReclaimable", sreclaimable_kb),
	KV("SwapTotal", swap_total_kb), KV("SwapFree", swap_free_kb),
};

static const struct kv_key vmstat_keys[] = {
	KV("pgpgin", pgpgin), KV("pgpgout", pgpgout),
	KV("pgmajfault", pgmajfault), KV("pswpin", pswpin),
	KV("pswpout", pswpout),
};

/*
 * /proc/net/dev: "  eth0: rxbytes rxpkts rxerrs rxdrop fifo frame comp
 * mcast txbytes txpkts txerrs txdrop ...". The two header lines have no ':'.
 */
static void netdev_line(struct host_sample *s, char *line, void *ctx)
{
	uint64_t v[12];
	const char *p = skip_blanks(line);
	const char *colon = strchr(p, ':');
	struct hm_net_raw *n;
	int i;

	(void)ctx;
	if (!colon)
		return;
	if (s->nnet >= HM_MAX_IFACES) {
		s->net_over++;
		return;
	}
	n = &s->net[s->nnet];
	if (!copy_name(n->name, p, (size_t)(colon - p)))
		return;
	p = colon + 1;
	for (i = 0; i < 12; i++)
		if (!next_u64(&p, &v[i]))
			return;
	n->rx_bytes = v[0];
	n->rx_packets = v[1];
	n->rx_errs = v[2];
	n->rx_drop = v[3];
	n->tx_bytes = v[8];
	n->tx_packets = v[9];
	n->tx_errs = v[10];
	n->tx_drop = v[11];
	s->nnet++;
}

/* A disk is whole when <sysfs>/block/<name> exists ('/' spelled '!'). */
static bool is_whole_disk(int sysfd, const char *name)
{
	char rel[sizeof("block/") + HM_NAME_LEN];
	struct stat st;
	char *c;

	if (sysfd < 0)
		return false;
	memcpy(rel, "block/", 6);
	strcpy(rel + 6, name);
	for (c = rel + 6; *c; c++)
		if (*c == '/')
			*c = '!';
	return fstatat(sysfd, rel, &st, 0) == 0;
}

/*
 * /proc/diskstats: "major minor name reads rmerged rsect rms writes
 * wmerged wsect wms inflight io_ms weighted_ms [discard.. flush..]".
 */
static void diskstats_line(struct host_sample *s, char *line, void *ctx)
{
	int sysfd = *(const int *)ctx;
	struct hm_disk_raw d;
	const char *p = line, *name;
	uint64_t v[11];
	int i;

	memset(&d, 0, sizeof(d));
	if (!next_u64(&p, &v[0]) || !next_u64(&p, &v[1]))
		return;
	name = skip_blanks(p);
	p = name + strcspn(name, " \t");
	if (!copy_name(d.name, name, (size_t)(p - name)))
		return;
	for (i = 0; i < 11; i++)
		if (!next_u64(&p, &v[i]))
			return;
	/* Never did an I/O (idle loop/ram/zram): skip, as sar does. */
	if (v[0] == 0 && v[4] == 0)
		return;
	if (!is_whole_disk(sysfd, d.name))
		return;
	if (s->ndisk >= HM_MAX_DISKS) {
		s->disk_over++;
		return;
	}
	d.reads = v[0];
	d.read_sectors = v[2];
	d.read_ms = v[3];
	d.writes = v[4];
	d.write_sectors = v[6];
	d.write_ms = v[7];
	d.io_ms = v[9];
	d.queue_ms = v[10];
	s->disk[s->ndisk++] = d;
}

/* "some avg10=0.49 avg60=0.28 avg300=0.06 total=1960101" */
static void psi_line(struct host_sample *s, char *line, void *ctx)
{
	struct hm_psi_raw *res = ctx, *r;
	const char *p;
	bool have_avg = false, have_total = false;

	(void)s;
	if ((p = after_key(line, "some")))
		r = &res[HM_PSI_SOME];
	else if ((p = after_key(line, "full")))
		r = &res[HM_PSI_FULL];
	else
		return;
	while (*(p = skip_blanks(p))) {
		if (strncmp(p, "avg10=", 6) == 0) {
			p += 6;
			have_avg = next_dec(&p, &r->avg10);
		} else if (strncmp(p, "total=", 6) == 0) {
			p += 6;
			have_total = next_u64(&p, &r->total_us);
		}
		p += strcspn(p, " \t");
	}
	r->valid = have_avg && have_total;
}

/*
 * /proc/self/stat: "pid (comm) state ..."; comm may hold spaces and ')',
 * so fields are counted from the LAST ')'. utime/stime are fields 14/15,
 * rss field 24 (1-based), i.e. 11, 12 and 21 tokens after the state.
 */
static void self_line(struct host_sample *s, char *line, void *ctx)
{
	const char *p = strrchr(line, ')');
	uint64_t utime = 0, stime = 0, v;
	int tok;
	bool *ok = ctx;

	if (!p)
		return;
	p = skip_blanks(p + 1);
	p += strcspn(p, " ");             /* state */
	for (tok = 1; tok <= 21; tok++) {
		p = skip_blanks(p);
		/* some fields may be negative (priority, nice) */
		if (*p == '-')
			p++;
		if (!next_u64(&p, &v))
			return;
		if (tok == 11)
			utime = v;
		else if (tok == 12)
			stime = v;
		else if (tok == 21)
			s->self_rss_pages = v;
	}
	s->self_ticks = utime + stime;
	*ok = true;
}

/* ---------------------------------------------------------------------
 * Sampling.
 */
static void read_psi(struct host_sample *s, int procfd)
{
	static const char *const files[HM_PSI_NRES] = {
		"pressure/cpu", "pressure/memory", "pressure/io",
	};
	int i, k;

	for (i = 0; i < HM_PSI_NRES; i++) {
		/* absent / EOPNOTSUPP (psi=0): just not available */
		int rc = for_each_line(procfd, files[i], s, psi_line,
				       s->psi[i]);

		if (rc == 0)
			continue;
		for (k = 0; k < HM_PSI_NKINDS; k++)
			s->psi[i][k].valid = false;
	}
}

static void read_optional(struct host_sample *s, int procfd, int sysfd)
{
	const struct kv_table mem = KV_TABLE(meminfo_keys);
	const struct kv_table vm = KV_TABLE(vmstat_keys);
	bool self_ok = false;

	if (for_each_line(procfd, "uptime", s, uptime_line, NULL) == 0)
		s->have |= HM_SRC_UPTIME;
	if (for_each_line(procfd, "loadavg", s, loadavg_line, NULL) == 0)
		s->have |= HM_SRC_LOADAVG;
	if (for_each_line(procfd, "meminfo", s, kv_line, (void *)&mem) == 0)
		s->have |= HM_SRC_MEMINFO;
	if (for_each_line(procfd, "vmstat", s, kv_line, (void *)&vm) == 0)
		s->have |= HM_SRC_VMSTAT;
	if (for_each_line(procfd, "net/dev", s, netdev_line, NULL) == 0)
		s->have |= HM_SRC_NETDEV;
	if (for_each_line(procfd, "diskstats", s, diskstats_line, &sysfd) == 0)
		s->have |= HM_SRC_DISKSTATS;
	if (for_each_line(procfd, "self/stat", s, self_line, &self_ok) == 0 &&
	    self_ok)
		s->have |= HM_SRC_SELF;
	read_psi(s, procfd);
}

int host_sample_read(struct host_sample *s, const char *procfs_root,
		     const char *sysfs_root)
{
	uint64_t mono_ns;
	int procfd = -1, sysfd = -1, rc;

	if (!s || !procfs_root || !sysfs_root)
		return -EINVAL;
	mono_ns = s->mono_ns;
	memset(s, 0, sizeof(*s));
	s->mono_ns = mono_ns;
	s->clk_tck = sysconf(_SC_CLK_TCK);
	s->page_size = sysconf(_SC_PAGESIZE);

	procfd = open(procfs_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0) {
		rc = -errno;
		goto cleanup;
	}
	/* No sysfs only means no disks: not fatal. */
	sysfd = open(sysfs_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	rc = for_each_line(procfd, "stat", s, stat_line, NULL);
	if (rc < 0)
		goto cleanup;
	s->have |= HM_SRC_STAT;
	read_optional(s, procfd, sysfd);
cleanup:
	if (sysfd >= 0)
		close(sysfd);
	if (procfd >= 0)
		close(procfd);
	return rc;
}

/* ---------------------------------------------------------------------
 * Math. Every division goes through per_s()/pct_of(), which return 0
 * rather than NaN or infinity, and every delta through cdelta(), which
 * never goes negative.
 */
static uint64_t cdelta(uint64_t prev, uint64_t cur)
{
	return cur >= prev ? cur - prev : 0;  /* backwards = reset */
}

static double per_s(uint64_t delta, double secs)
{
	return secs > 0 ? (double)delta / secs : 0;
}

static double pct_of(double part, double whole)
{
	double v;

	if (!(whole > 0))
		return 0;
	v = 100.0 * part / whole;
	return isfinite(v) && v > 0 ? v : 0;
}

static double cap100(double v)
{
	return v > 100 ? 100 : v;
}

/* Percentages of the 8 states; false (all 0) when no jiffy elapsed. */
static bool cpu_pct(const struct hm_cpu_ticks *a, const struct hm_cpu_ticks *b,
		    double *pct)
{
	uint64_t d[HM_CPU_NFIELDS], total = 0;
	int i;

	for (i = 0; i < HM_CPU_NFIELDS; i++) {
		d[i] = cdelta(a->t[i], b->t[i]);
		total += d[i];
	}
	for (i = 0; i < HM_CPU_NFIELDS; i++)
		pct[i] = pct_of((double)d[i], (double)total);
	return total > 0;
}

static void compute_cpus(const struct host_sample *prev,
			 const struct host_sample *cur, struct host_metrics *m)
{
	uint32_t i, n = cur->ncpu_slots;

	if (prev && prev->ncpu_slots > n)
		n = prev->ncpu_slots;
	m->ncpus = n;
	for (i = 0; i < n; i++) {
		struct hm_cpu_pct *c = &m->cpus[i];

		if (!cur->cpu_online[i])
			c->status = HM_CPU_OFFLINE;
		else if (!prev || !prev->cpu_online[i])
			c->status = HM_CPU_NEW;
		else
			c->status = HM_CPU_ONLINE;
		if (c->status == HM_CPU_ONLINE)
			c->ok = cpu_pct(&prev->cpu[i], &cur->cpu[i], c->pct);
	}
}

static void compute_cpu(const struct host_sample *prev,
			const struct host_sample *cur, struct host_metrics *m)
{
	/* no jiffy elapsed: no percentages, rather than a made-up idle */
	if (prev && (m->have_rate & HM_SRC_STAT))
		m->cpu_ok = cpu_pct(&prev->cpu_total, &cur->cpu_total, m->cpu);
	compute_cpus(prev, cur, m);
}

static void compute_mem(const struct host_sample *cur, struct host_metrics *m)
{
	uint64_t cache = cur->cached_kb + cur->sreclaimable_kb;
	uint64_t unused = cur->mem_free_kb + cur->buffers_kb + cache;

	m->mem_total_kb = cur->mem_total_kb;
	m->mem_free_kb = cur->mem_free_kb;
	m->buffers_kb = cur->buffers_kb;
	m->cached_kb = cache;
	m->avail_kb = cur->mem_avail_kb;
	/* like free(1); a racy read could make "unused" exceed total */
	m->mem_used_kb = cdelta(unused, cur->mem_total_kb);
	m->mem_used_pct = pct_of((double)m->mem_used_kb,
				 (double)cur->mem_total_kb);
	m->swap_total_kb = cur->swap_total_kb;
	m->swap_used_kb = cdelta(cur->swap_free_kb, cur->swap_total_kb);
}

static void compute_paging(const struct host_sample *prev,
			   const struct host_sample *cur,
			   struct host_metrics *m)
{
	double t = m->interval_s;

	/* pgpgin/pgpgout already count KiB, as sar -B reports them */
	m->pgpgin_kbs = per_s(cdelta(prev->pgpgin, cur->pgpgin), t);
	m->pgpgout_kbs = per_s(cdelta(prev->pgpgout, cur->pgpgout), t);
	m->majflt_s = per_s(cdelta(prev->pgmajfault, cur->pgmajfault), t);
	m->pswpin_s = per_s(cdelta(prev->pswpin, cur->pswpin), t);
	m->pswpout_s = per_s(cdelta(prev->pswpout, cur->pswpout), t);
}

static void compute_sys(const struct host_sample *prev,
			const struct host_sample *cur,
			struct host_metrics *m)
{
	double t = m->interval_s;

	m->cswch_s = per_s(cdelta(prev->ctxt, cur->ctxt), t);
	m->intr_s = per_s(cdelta(prev->intr, cur->intr), t);
	m->forks_s = per_s(cdelta(prev->forks, cur->forks), t);
}

/*
 * Index of name in a table of structs that start with char name[], trying
 * the same slot first (the kernel lists devices in a stable order); -1 if
 * absent. At most 64 x 64 strcmp() per call: no index needed.
 */
static int find_name(const void *base, size_t stride, uint32_t n,
		     uint32_t hint, const char *name)
{
	const char *p = base;
	uint32_t j;

	if (hint < n && strcmp(p + hint * stride, name) == 0)
		return (int)hint;
	for (j = 0; j < n; j++)
		if (strcmp(p + j * stride, name) == 0)
			return (int)j;
	return -1;
}

static void net_rates(const struct hm_net_raw *a, const struct hm_net_raw *b,
		      double t, struct hm_net_rates *r)
{
	r->rx_kbs = per_s(cdelta(a->rx_bytes, b->rx_bytes), t) / 1024;
	r->tx_kbs = per_s(cdelta(a->tx_bytes, b->tx_bytes), t) / 1024;
	r->rx_pps = per_s(cdelta(a->rx_packets, b->rx_packets), t);
	r->tx_pps = per_s(cdelta(a->tx_packets, b->tx_packets), t);
	r->rx_errs = per_s(cdelta(a->rx_errs, b->rx_errs), t);
	r->tx_errs = per_s(cdelta(a->tx_errs, b->tx_errs), t);
	r->rx_drops = per_s(cdelta(a->rx_drop, b->rx_drop), t);
	r->tx_drops = per_s(cdelta(a->tx_drop, b->tx_drop), t);
}

static void compute_net(const struct host_sample *prev,
			const struct host_sample *cur, struct host_metrics *m)
{
	bool known = prev && (m->have_rate & HM_SRC_NETDEV);
	uint32_t i;

	m->nnet = cur->nnet;
	for (i = 0; i < cur->nnet; i++) {
		struct hm_net_rates *r = &m->net[i];
		int k = -1;

		memcpy(r->name, cur->net[i].name, HM_NAME_LEN);
		if (known)
			k = find_name(prev->net, sizeof(prev->net[0]),
				      prev->nnet, i, r->name);
		r->is_new = k < 0;
		if (k >= 0 && m->rates_ok)
			net_rates(&prev->net[k], &cur->net[i], m->interval_s,
				  r);
	}
}

static void disk_rates(const struct hm_disk_raw *a, const struct hm_disk_raw *b,
		       double t, struct hm_disk_rates *r)
{
	uint64_t rd = cdelta(a->reads, b->reads);
	uint64_t wr = cdelta(a->writes, b->writes);
	uint64_t ticks = cdelta(a->read_ms, b->read_ms) +
			 cdelta(a->write_ms, b->write_ms);

	r->rd_s = per_s(rd, t);
	r->wr_s = per_s(wr, t);
	r->tps = per_s(rd + wr, t);
	/* sectors are always 512 bytes in diskstats: 2 per KiB */
	r->rkb_s = per_s(cdelta(a->read_sectors, b->read_sectors), t) / 2;
	r->wkb_s = per_s(cdelta(a->write_sectors, b->write_sectors), t) / 2;
	/* io_ms is sampled a few µs apart from our clock: can overshoot */
	r->busy_pct = cap100(pct_of((double)cdelta(a->io_ms, b->io_ms),
				    t * 1000));
	r->await_ms = rd + wr ? (double)ticks / (double)(rd + wr) : 0;
	r->aqu_sz = per_s(cdelta(a->queue_ms, b->queue_ms), t) / 1000;
}

static void compute_disk(const struct host_sample *prev,
			 const struct host_sample *cur, struct host_metrics *m)
{
	bool known = prev && (m->have_rate & HM_SRC_DISKSTATS);
	uint32_t i;

	m->ndisk = cur->ndisk;
	for (i = 0; i < cur->ndisk; i++) {
		struct hm_disk_rates *r = &m->disk[i];
		int k = -1;

		memcpy(r->name, cur->disk[i].name, HM_NAME_LEN);
		if (known)
			k = find_name(prev->disk, sizeof(prev->disk[0]),
				      prev->ndisk, i, r->name);
		r->is_new = k < 0;
		if (k >= 0 && m->rates_ok)
			disk_rates(&prev->disk[k], &cur->disk[i],
				   m->interval_s, r);
	}
}

static void compute_psi(const struct host_sample *prev,
			const struct host_sample *cur, struct host_metrics *m)
{
	int i, k;

	for (i = 0; i < HM_PSI_NRES; i++) {
		for (k = 0; k < HM_PSI_NKINDS; k++) {
			const struct hm_psi_raw *b = &cur->psi[i][k];
			struct hm_psi_val *v = &m->psi[i][k];

			v->avg_ok = b->valid;
			v->avg10 = b->valid && isfinite(b->avg10) ?
				   b->avg10 : 0;
			v->pct_ok = b->valid && m->rates_ok &&
				    prev->psi[i][k].valid;
			if (v->pct_ok)
				v->pct = cap100(pct_of(
					(double)cdelta(prev->psi[i][k].total_us,
						       b->total_us),
					m->interval_s * 1e6));
		}
	}
}

static void compute_self(const struct host_sample *prev,
			 const struct host_sample *cur, struct host_metrics *m)
{
	if (cur->page_size > 0)
		m->self_rss_kb = cur->self_rss_pages *
				 ((uint64_t)cur->page_size / 1024);
	if (m->rates_ok && (m->have_rate & HM_SRC_SELF) && cur->clk_tck > 0)
		m->self_cpu_pct = pct_of(
			(double)cdelta(prev->self_ticks, cur->self_ticks) /
				(double)cur->clk_tck,
			m->interval_s);
}

static void compute_levels(const struct host_sample *cur,
			   struct host_metrics *m)
{
	int i;

	m->uptime_s = cur->uptime_s;
	for (i = 0; i < 3; i++)
		m->load[i] = isfinite(cur->load[i]) ? cur->load[i] : 0;
	m->tasks_running = cur->procs_running;
	m->tasks_blocked = cur->procs_blocked;
	m->tasks_total = cur->threads_total;
	m->runq = cur->procs_running;
	compute_mem(cur, m);
	m->cpus_over = cur->cpus_over;
	m->net_over = cur->net_over;
	m->disk_over = cur->disk_over;
}

int host_metrics_compute(const struct host_sample *prev,
			 const struct host_sample *cur,
			 struct host_metrics *out)
{
	if (!cur || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->have_level = cur->have;
	if (prev) {
		out->have_rate = prev->have & cur->have;
		if (cur->mono_ns > prev->mono_ns)
			out->interval_s = (double)(cur->mono_ns -
						   prev->mono_ns) / 1e9;
	}
	out->rates_ok = out->interval_s > 0;
	compute_levels(cur, out);
	compute_cpu(prev, cur, out);
	if (out->rates_ok) {
		if (out->have_rate & HM_SRC_VMSTAT)
			compute_paging(prev, cur, out);
		if (out->have_rate & HM_SRC_STAT)
			compute_sys(prev, cur, out);
	}
	compute_net(prev, cur, out);
	compute_disk(prev, cur, out);
	compute_psi(prev, cur, out);
	compute_self(prev, cur, out);
	return 0;
}

/* ---------------------------------------------------------------------
 * JSON. Errors from building are OR-ed into one int: json_object_set_new()
 * returns -1 (and drops the value) when handed NULL from a failed json_*()
 * allocation, so one check at the end catches every failure.
 */
/*
 * Half-up to 2 decimals without libm (the unit test links none). Past
 * 1e15 a double has no hundredths left to round, and the cast to an
 * integer would overflow.
 */
static double round2(double v)
{
	if (!isfinite(v) || v < 0)
		return 0;
	if (v >= 1e15)
		return v;
	return (double)(uint64_t)(v * 100.0 + 0.5) / 100.0;
}

static int put_real(json_t *o, const char *key, double v, bool ok)
{
	return json_object_set_new(o, key, ok ? json_real(round2(v)) :
						json_null());
}

static int put_int(json_t *o, const char *key, uint64_t v, bool ok)
{
	if (v > INT64_MAX)
		v = INT64_MAX;
	return json_object_set_new(o, key, ok ? json_integer((json_int_t)v) :
						json_null());
}

/* Sets *obj to a new object that o owns; -1 on failure. */
static int put_obj(json_t *o, const char *key, json_t **obj)
{
	*obj = json_object();
	return json_object_set_new(o, key, *obj);
}

static const char *const cpu_keys[HM_CPU_NFIELDS] = {
	[HM_USER] = "user", [HM_NICE] = "nice", [HM_SYSTEM] = "system",
	[HM_IDLE] = "idle", [HM_IOWAIT] = "iowait", [HM_IRQ] = "irq",
	[HM_SOFTIRQ] = "softirq", [HM_STEAL] = "steal",
};

/* Order of keys in the JSON object (the documented one). */
static const enum hm_cpu_field cpu_order[HM_CPU_NFIELDS] = {
	HM_USER, HM_NICE, HM_SYSTEM, HM_IOWAIT, HM_IRQ, HM_SOFTIRQ,
	HM_STEAL, HM_IDLE,
};

static int cpu_fields(json_t *o, const double *pct, bool ok)
{
	int i, rc = 0;

	for (i = 0; i < HM_CPU_NFIELDS; i++)
		rc |= put_real(o, cpu_keys[cpu_order[i]], pct[cpu_order[i]],
			       ok);
	return rc;
}

static int json_cpu(json_t *root, const struct host_metrics *m)
{
	json_t *cpu, *cpus, *c;
	uint32_t i;
	int rc;

	rc = put_obj(root, "cpu", &cpu);
	if (rc == 0)
		rc |= cpu_fields(cpu, m->cpu, m->cpu_ok);
	cpus = json_array();
	rc |= json_object_set_new(root, "cpus", cpus);
	for (i = 0; rc == 0 && i < m->ncpus; i++) {
		const struct hm_cpu_pct *p = &m->cpus[i];
		bool on = p->status != HM_CPU_OFFLINE;

		c = json_object();
		rc |= json_array_append_new(cpus, c);
		if (rc)
			break;
		rc |= put_int(c, "cpu", i, true);
		rc |= json_object_set_new(c, "online", json_boolean(on));
		rc |= cpu_fields(c, p->pct, p->ok);
	}
	return rc;
}

static int json_load_tasks(json_t *root, const struct host_metrics *m)
{
	bool la = m->have_level & HM_SRC_LOADAVG;
	bool st = m->have_level & HM_SRC_STAT;
	json_t *load, *tasks;
	int i, rc;

	load = json_array();
	rc = json_object_set_new(root, "load", load);
	for (i = 0; rc == 0 && i < 3; i++)
		rc |= json_array_append_new(load, la ?
					    json_real(round2(m->load[i])) :
					    json_null());
	rc |= put_obj(root, "tasks", &tasks);
	if (rc)
		return rc;
	rc |= put_int(tasks, "running", m->tasks_running, st);
	rc |= put_int(tasks, "blocked", m->tasks_blocked, st);
	rc |= put_int(tasks, "total", m->tasks_total, la);
	return rc;
}

static int json_mem(json_t *root, const struct host_metrics *m)
{
	bool ok = m->have_level & HM_SRC_MEMINFO;
	json_t *mem;
	int rc;

	rc = put_obj(root, "mem", &mem);
	if (rc)
		return rc;
	rc |= put_int(mem, "total_kb", m->mem_total_kb, ok);
	rc |= put_int(mem, "used_kb", m->mem_used_kb, ok);
	rc |= put_int(mem, "free_kb", m->mem_free_kb, ok);
	rc |= put_int(mem, "buffers_kb", m->buffers_kb, ok);
	rc |= put_int(mem, "cached_kb", m->cached_kb, ok);
	rc |= put_int(mem, "available_kb", m->avail_kb, ok);
	rc |= put_int(mem, "swap_used_kb", m->swap_used_kb, ok);
	rc |= put_int(mem, "swap_total_kb", m->swap_total_kb, ok);
	rc |= put_real(mem, "used_pct", m->mem_used_pct, ok);
	return rc;
}

static int json_paging(json_t *root, const struct host_metrics *m)
{
	bool ok = m->rates_ok && (m->have_rate & HM_SRC_VMSTAT);
	json_t *pg;
	int rc;

	rc = put_obj(root, "paging", &pg);
	if (rc)
		return rc;
	rc |= put_real(pg, "pgpgin_kbs", m->pgpgin_kbs, ok);
	rc |= put_real(pg, "pgpgout_kbs", m->pgpgout_kbs, ok);
	rc |= put_real(pg, "majflt_s", m->majflt_s, ok);
	rc |= put_real(pg, "pswpin_s", m->pswpin_s, ok);
	rc |= put_real(pg, "pswpout_s", m->pswpout_s, ok);
	return rc;
}

static int json_net(json_t *root, const struct host_metrics *m)
{
	json_t *net, *o;
	uint32_t i;
	int rc;

	rc = put_obj(root, "net", &net);
	for (i = 0; rc == 0 && i < m->nnet; i++) {
		const struct hm_net_rates *r = &m->net[i];
		bool ok = !r->is_new && m->rates_ok;

		rc |= put_obj(net, r->name, &o);
		if (rc)
			break;
		rc |= put_real(o, "rxkb_s", r->rx_kbs, ok);
		rc |= put_real(o, "txkb_s", r->tx_kbs, ok);
		rc |= put_real(o, "rxpck_s", r->rx_pps, ok);
		rc |= put_real(o, "txpck_s", r->tx_pps, ok);
		rc |= put_real(o, "rxerr_s", r->rx_errs, ok);
		rc |= put_real(o, "txerr_s", r->tx_errs, ok);
		rc |= put_real(o, "rxdrop_s", r->rx_drops, ok);
		rc |= put_real(o, "txdrop_s", r->tx_drops, ok);
		rc |= json_object_set_new(o, "new", json_boolean(r->is_new));
	}
	return rc;
}

static int json_disk(json_t *root, const struct host_metrics *m)
{
	json_t *disk, *o;
	uint32_t i;
	int rc;

	rc = put_obj(root, "disk", &disk);
	for (i = 0; rc == 0 && i < m->ndisk; i++) {
		const struct hm_disk_rates *r = &m->disk[i];
		bool ok = !r->is_new && m->rates_ok;

		rc |= put_obj(disk, r->name, &o);
		if (rc)
			break;
		rc |= put_real(o, "tps", r->tps, ok);
		rc |= put_real(o, "rd_s", r->rd_s, ok);
		rc |= put_real(o, "wr_s", r->wr_s, ok);
		rc |= put_real(o, "rkb_s", r->rkb_s, ok);
		rc |= put_real(o, "wkb_s", r->wkb_s, ok);
		rc |= put_real(o, "busy_pct", r->busy_pct, ok);
		rc |= put_real(o, "await_ms", r->await_ms, ok);
		rc |= put_real(o, "aqu_sz", r->aqu_sz, ok);
		rc |= json_object_set_new(o, "new", json_boolean(r->is_new));
	}
	return rc;
}

static int json_sys(json_t *root, const struct host_metrics *m)
{
	bool ok = m->rates_ok && (m->have_rate & HM_SRC_STAT);
	json_t *sys;
	int rc;

	rc = put_obj(root, "sys", &sys);
	if (rc)
		return rc;
	rc |= put_real(sys, "cswch_s", m->cswch_s, ok);
	rc |= put_real(sys, "intr_s", m->intr_s, ok);
	rc |= put_real(sys, "forks_s", m->forks_s, ok);
	rc |= put_int(sys, "runq", m->runq, m->have_level & HM_SRC_STAT);
	return rc;
}

static int json_psi(json_t *root, const struct host_metrics *m)
{
	static const char *const res[HM_PSI_NRES] = { "cpu", "memory", "io" };
	static const char *const kind[HM_PSI_NKINDS] = { "some", "full" };
	char key[32];
	json_t *psi;
	int i, k, rc;

	rc = put_obj(root, "psi", &psi);
	for (i = 0; rc == 0 && i < HM_PSI_NRES; i++) {
		for (k = 0; k < HM_PSI_NKINDS; k++) {
			const struct hm_psi_val *v = &m->psi[i][k];

			snprintf(key, sizeof(key), "%s_%s_avg10", res[i],
				 kind[k]);
			rc |= put_real(psi, key, v->avg10, v->avg_ok);
			snprintf(key, sizeof(key), "%s_%s_pct", res[i],
				 kind[k]);
			rc |= put_real(psi, key, v->pct, v->pct_ok);
		}
	}
	return rc;
}

static int json_self_over(json_t *root, const struct host_metrics *m)
{
	bool rate = m->rates_ok && (m->have_rate & HM_SRC_SELF);
	bool lvl = m->have_level & HM_SRC_SELF;
	json_t *self, *over;
	int rc;

	rc = put_obj(root, "self", &self);
	if (rc == 0) {
		rc |= put_real(self, "cpu_pct", m->self_cpu_pct, rate);
		rc |= put_int(self, "rss_kb", m->self_rss_kb, lvl);
	}
	rc |= put_obj(root, "overflow", &over);
	if (rc)
		return rc;
	rc |= put_int(over, "cpus", m->cpus_over, true);
	rc |= put_int(over, "net", m->net_over, true);
	rc |= put_int(over, "disk", m->disk_over, true);
	return rc;
}

int host_metrics_to_json(const struct host_metrics *m, json_t **out)
{
	json_t *root = NULL;
	int rc = -EINVAL;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!m)
		goto cleanup;
	rc = -ENOMEM;
	root = json_object();
	if (!root)
		goto cleanup;
	/* one statement each: key order is insertion order, and the operands
	 * of | are evaluated in no fixed order */
	if (put_real(root, "interval_s", m->interval_s, m->rates_ok) ||
	    put_real(root, "uptime_s", m->uptime_s,
		     m->have_level & HM_SRC_UPTIME) ||
	    json_cpu(root, m) || json_load_tasks(root, m) ||
	    json_mem(root, m) || json_paging(root, m) || json_net(root, m) ||
	    json_disk(root, m) || json_sys(root, m) || json_psi(root, m) ||
	    json_self_over(root, m))
		goto cleanup;
	*out = root;
	root = NULL;
	rc = 0;
cleanup:
	json_decref(root);
	return rc;
}
