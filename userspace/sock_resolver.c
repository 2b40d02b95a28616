// SPDX-License-Identifier: MIT
/* sock_resolver.c — local socket address → owning process, from /proc. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sock_resolver.h"
#include "mono_clock.h"

#define NS_PER_SEC 1000000000ULL
#define MAX_SOCKETS 65536  /* sockets kept per refresh; more are ignored */

/* One local TCP socket of the last refresh. */
struct sock {
	uint64_t inode;
	char addr[ADDR_STRLEN];  /* "ip:port", v4-mapped v6 as v4 */
	uint16_t port;
	bool wildcard;           /* bound to 0.0.0.0 or :: (a listener) */
	uint32_t pid;            /* 0 until an fd pointing at it is found */
};

struct sock_resolver {
	char root[PATH_MAX];
	struct sock *socks;      /* sorted by inode after parsing */
	size_t n, cap;
	char (*local_ips)[ADDR_STRLEN]; /* every IP a local socket is bound to */
	size_t n_ips, cap_ips;
	uint64_t refreshed_ns;   /* monotonic; 0: never */
	uint64_t refreshes;
};

struct sock_resolver *sock_resolver_new(const char *proc_root)
{
	struct sock_resolver *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	snprintf(r->root, sizeof(r->root), "%s", proc_root ? proc_root : "/proc");
	return r;
}

void sock_resolver_free(struct sock_resolver *r)
{
	if (!r)
		return;
	free(r->socks);
	free(r->local_ips);
	free(r);
}

uint64_t sock_resolver_refreshes(const struct sock_resolver *r)
{
	return r->refreshes;
}

/* ---- /proc/net/tcp{,6} ---- */

/* The kernel prints each 32-bit word of the address in host byte order. */
static bool hex_addr(const char *hex, size_t nwords, uint8_t *out)
{
	for (size_t w = 0; w < nwords; w++) {
		char word[9];
		uint32_t v;
		char *end;

		memcpy(word, hex + 8 * w, 8);
		word[8] = '\0';
		v = (uint32_t)strtoul(word, &end, 16);
		if (*end)
			return false;
		memcpy(out + 4 * w, &v, 4);
	}
	return true;
}

/* "0100007F:1F90" or 32 hex digits ":" port → "127.0.0.1:8080" */
static bool parse_local(const char *field, struct sock *s)
{
	const char *colon = strchr(field, ':');
	uint8_t a[16];
	char ip[INET6_ADDRSTRLEN];
	size_t hexlen;
	unsigned long port;

	if (!colon)
		return false;
	hexlen = (size_t)(colon - field);
	port = strtoul(colon + 1, NULL, 16);
	if ((hexlen != 8 && hexlen != 32) || port > 65535 ||
	    !hex_addr(field, hexlen / 8, a))
		return false;
	s->port = (uint16_t)port;
	if (hexlen == 32) {
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		static const uint8_t any6[16];

		if (memcmp(a, mapped, 12) == 0) {
			inet_ntop(AF_INET, a + 12, ip, sizeof(ip));
			snprintf(s->addr, sizeof(s->addr), "%s:%lu", ip, port);
			s->wildcard = !memcmp(a + 12, any6, 4);
			return true;
		}
		inet_ntop(AF_INET6, a, ip, sizeof(ip));
		snprintf(s->addr, sizeof(s->addr), "[%s]:%lu", ip, port);
		s->wildcard = !memcmp(a, any6, 16);
		return true;
	}
	inet_ntop(AF_INET, a, ip, sizeof(ip));
	snprintf(s->addr, sizeof(s->addr), "%s:%lu", ip, port);
	s->wildcard = a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0;
	return true;
}

static void add_local_ip(struct sock_resolver *r, const char *addr)
{
	const char *colon = strrchr(addr, ':');
	char ip[ADDR_STRLEN];

	if (!colon)
		return;
	snprintf(ip, sizeof(ip), "%.*s", (int)(colon - addr), addr);
	for (size_t i = 0; i < r->n_ips; i++)
		if (!strcmp(r->local_ips[i], ip))
			return;
	if (r->n_ips == r->cap_ips) {
		size_t nc = r->cap_ips ? r->cap_ips * 2 : 16;
		void *p = realloc(r->local_ips, nc * sizeof(*r->local_ips));

		if (!p)
			return;
		r->local_ips = p;
		r->cap_ips = nc;
	}
	snprintf(r->local_ips[r->n_ips++], ADDR_STRLEN, "%s", ip);
}

static void add_sock(struct sock_resolver *r, const struct sock *s)
{
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 256;
		void *p;

		if (nc > MAX_SOCKETS)
			return;
		p = realloc(r->socks, nc * sizeof(*r->socks));
		if (!p)
			return;
		r->socks = p;
		r->cap = nc;
	}
	r->socks[r->n++] = *s;
	if (!s->wildcard)
		add_local_ip(r, s->addr);
}

static void read_tcp_table(struct sock_resolver *r, const char *file)
{
	char path[PATH_MAX + 16], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/net/%s", r->root, file);
	f = fopen(path, "re");
	if (!f)
		return; /* no IPv6, or no such proc: nothing to learn */
	if (!fgets(line, sizeof(line), f)) { /* header */
		fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char local[64], remote[64];
		unsigned long long inode;
		unsigned st;
		struct sock s;

		memset(&s, 0, sizeof(s));
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, " %*s %63s %63s %x %*s %*s %*s %*s %*s %llu",
			   local, remote, &st, &inode) != 4 || !inode)
			continue;
		s.inode = inode;
		if (parse_local(local, &s))
			add_sock(r, &s);
	}
	fclose(f);
}

static int sock_cmp(const void *a, const void *b)
{
	const struct sock *x = a, *y = b;

	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

/* ---- /proc/PID/fd ---- */

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static void scan_fds(struct sock_resolver *r, uint32_t pid)
{
	char dir[PATH_MAX + 32], link[PATH_MAX + 300], target[64];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%u/fd", r->root, pid);
	d = opendir(dir);
	if (!d)
		return; /* gone, or not ours to read */
	while ((de = readdir(d))) {
		struct sock key, *s;
		ssize_t n;

		if (!all_digits(de->d_name))
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, "socket:[", 8) != 0)
			continue;
		key.inode = strtoull(target + 8, NULL, 10);
		s = bsearch(&key, r->socks, r->n, sizeof(*s), sock_cmp);
		if (s && !s->pid)
			s->pid = pid;
	}
	closedir(d);
}

static void refresh(struct sock_resolver *r)
{
	struct dirent *de;
	DIR *d;

	r->n = 0;
	r->n_ips = 0;
	r->refreshed_ns = mono_ns();
	r->refreshes++;
	read_tcp_table(r, "tcp");
	read_tcp_table(r, "tcp6");
	add_local_ip(r, "127.0.0.1:0");
	add_local_ip(r, "[::1]:0");
	qsort(r->socks, r->n, sizeof(*r->socks), sock_cmp);
	d = opendir(r->root);
	if (!d)
		return;
	while ((de = readdir(d)))
		if (all_digits(de->d_name))
			scan_fds(r, (uint32_t)strtoul(de->d_name, NULL, 10));
	closedir(d);
}

/* ---- lookups ---- */

static bool ip_is_local(const struct sock_resolver *r, const char *addr)
{
	const char *colon = strrchr(addr, ':');
	size_t n = colon ? (size_t)(colon - addr) : strlen(addr);

	if (n >= 4 && !strncmp(addr, "127.", 4))
		return true;
	for (size_t i = 0; i < r->n_ips; i++)
		if (strlen(r->local_ips[i]) == n && !strncmp(r->local_ips[i], addr, n))
			return true;
	return false;
}

/* The owner of the socket bound to addr: exact first (a connected or
 * specifically bound socket), else a wildcard listener on its port. */
static uint32_t lookup(const struct sock_resolver *r, const char *addr)
{
	const char *colon = strrchr(addr, ':');
	unsigned long port;

	for (size_t i = 0; i < r->n; i++)
		if (r->socks[i].pid && !strcmp(r->socks[i].addr, addr))
			return r->socks[i].pid;
	if (!colon || !ip_is_local(r, addr))
		return 0;
	port = strtoul(colon + 1, NULL, 10);
	for (size_t i = 0; i < r->n; i++)
		if (r->socks[i].pid && r->socks[i].wildcard && r->socks[i].port == port)
			return r->socks[i].pid;
	return 0;
}

static void read_small(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "re");
	size_t got = 0;

	buf[0] = '\0';
	if (!f)
		return;
	got = fread(buf, 1, n - 1, f);
	fclose(f);
	buf[got] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* A container id is a 64-hex-digit run in the cgroup path (docker,
 * containerd, cri-o, podman all name their scopes so). */
static bool container_id(const char *path, char *out, size_t n)
{
	for (const char *p = path; *p; p++) {
		size_t len = 0;

		while (isxdigit((unsigned char)p[len]) && !isupper((unsigned char)p[len]))
			len++;
		if (len == 64) {
			snprintf(out, n, "%.64s", p);
			return true;
		}
		if (len)
			p += len - 1;
	}
	return false;
}

static void read_cgroup(const struct sock_resolver *r, uint32_t pid,
			char *out, size_t n)
{
	char path[PATH_MAX + 32], line[1024], best[1024] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%u/cgroup", r->root, pid);
	f = fopen(path, "re");
	if (!f)
		return;
	/* "0::/path" (v2) wins; otherwise the first v1 line with a path */
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':');

		p = p ? strchr(p + 1, ':') : NULL;
		if (!p)
			continue;
		p[strcspn(p, "\n")] = '\0';
		if (!strncmp(line, "0::", 3) || !best[0])
			snprintf(best, sizeof(best), "%s", p + 1);
		if (!strncmp(line, "0::", 3))
			break;
	}
	fclose(f);
	if (!container_id(best, out, n)) {
		/* too long: the tail is the specific part of a cgroup path */
		size_t l = strlen(best), from = l >= n ? l - (n - 1) : 0;

		memcpy(out, best + from, l - from + 1);
	}
}

bool sock_resolver_describe(uint32_t pid, struct endpoint_info *out, void *ctx)
{
	struct sock_resolver *r = ctx;
	char path[PATH_MAX + 32], buf[CORR_EXE_LEN];
	ssize_t n;

	if (!r || !pid)
		return false;
	snprintf(path, sizeof(path), "%s/%u/comm", r->root, pid);
	if (!out->comm[0])
		read_small(path, out->comm, sizeof(out->comm));
	snprintf(path, sizeof(path), "%s/%u/exe", r->root, pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		snprintf(out->exe, sizeof(out->exe), "%s", buf);
	}
	read_cgroup(r, pid, out->cgroup, sizeof(out->cgroup));
	return out->comm[0] || out->exe[0];
}

bool sock_resolver_resolve(const char *addr, struct endpoint_info *out,
			   void *ctx)
{
	struct sock_resolver *r = ctx;
	uint64_t now;
	uint32_t pid;

	if (!r || !addr || !*addr)
		return false;
	now = mono_ns();
	pid = r->refreshed_ns ? lookup(r, addr) : 0;
	/* a miss, or an answer that may have gone stale: look again, but
	 * not more than once a second */
	if ((!pid || now - r->refreshed_ns > SOCK_RESOLVER_STALE_S * NS_PER_SEC) &&
	    (!r->refreshed_ns || now - r->refreshed_ns >= NS_PER_SEC)) {
		refresh(r);
		pid = lookup(r, addr);
	}
	if (!pid)
		return false;
	out->pid = pid;
	out->comm[0] = '\0';
	sock_resolver_describe(pid, out, r);
	return true;
}
