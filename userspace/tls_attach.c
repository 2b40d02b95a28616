/* SPDX-License-Identifier: MIT */
#include "tls_attach.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture.h"
#include "elf_syms.h"
#include "go_tls.h"
#include "kernel_features.h"
#include "tls.skel.h"

/* Must match struct tls_notify in bpf/tls_state.bpf.h. */
struct tls_notify {
	uint32_t kind;
	uint32_t tgid;
	uint64_t ino;
	uint32_t dev;
	uint32_t _pad;
};

enum { NOTIFY_EXEC = 1, NOTIFY_LIBSSL = 2 };

/* What we concluded about one file (by device and inode). */
enum file_state { F_ATTACHED = 1, F_NOT_OURS, F_UNSUPPORTED, F_FAILED };

struct seen_file {
	uint64_t ino;
	uint32_t dev;            /* kernel encoding: major << 20 | minor */
	uint8_t state;
	uint8_t is_go;
};

/* A perf-event link (libbpf's), or the fd of a multi-uprobe link, which
 * libbpf 1.1 cannot make. */
struct tls_link {
	struct bpf_link *link;
	int fd;
};

struct tls_attach {
	struct tls_bpf *skel;
	struct tls_link *links;
	size_t n_links, cap_links;
	int multi_type;          /* BPF_TRACE_UPROBE_MULTI, or -1: one link per uprobe */
	struct seen_file *files;
	size_t n_files, cap_files;
	int n_ssl, n_go;
	struct ring_buffer *notify; /* our own consumer of tls_notify */
	bool verbose;
	char desc[160];
};

/* A path or a string read from a binary, fit for a terminal: anyone can
 * name an executable "\033]2;...", and these lines go to root's stderr. */
static const char *shown(const char *in, char *buf, size_t n)
{
	size_t i = 0;

	for (; in[i] && i + 1 < n; i++)
		buf[i] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? '?' : in[i];
	buf[i] = '\0';
	return buf;
}

static uint32_t kdev(dev_t d)
{
	return (uint32_t)major(d) << 20 | minor(d);
}

static struct seen_file *seen(struct tls_attach *t, uint32_t dev, uint64_t ino)
{
	for (size_t i = 0; i < t->n_files; i++)
		if (t->files[i].dev == dev && t->files[i].ino == ino)
			return &t->files[i];
	return NULL;
}

static struct seen_file *remember(struct tls_attach *t, uint32_t dev,
				  uint64_t ino, int state, bool is_go)
{
	if (t->n_files == t->cap_files) {
		size_t cap = t->cap_files ? t->cap_files * 2 : 64;
		struct seen_file *f = realloc(t->files, cap * sizeof(*f));

		if (!f)
			return NULL;
		t->files = f;
		t->cap_files = cap;
	}
	t->files[t->n_files] = (struct seen_file){ .ino = ino, .dev = dev,
						   .state = state, .is_go = is_go };
	return &t->files[t->n_files++];
}

/* Keeps l (NULL: fd), or closes it on failure. */
static int keep_link(struct tls_attach *t, struct bpf_link *l, int fd)
{
	if (t->n_links == t->cap_links) {
		size_t cap = t->cap_links ? t->cap_links * 2 : 64;
		struct tls_link *v = realloc(t->links, cap * sizeof(*v));

		if (!v) {
			if (l)
				bpf_link__destroy(l);
			else
				close(fd);
			return -ENOMEM;
		}
		t->links = v;
		t->cap_links = cap;
	}
	t->links[t->n_links++] = (struct tls_link){ .link = l, .fd = fd };
	return 0;
}

static void drop_links_since(struct tls_attach *t, size_t mark)
{
	while (t->n_links > mark) {
		struct tls_link *l = &t->links[--t->n_links];

		if (l->link)
			bpf_link__destroy(l->link);
		else
			close(l->fd);
	}
}

/* BPF_LINK_CREATE's attributes for a multi-uprobe link (Linux >= 6.6),
 * spelled out: the headers of libbpf 1.1 and Linux 6.1 predate it. */
struct uprobe_multi_attr {
	uint32_t prog_fd, target_fd, attach_type, flags;
	uint64_t path, offsets, ref_ctr_offsets, cookies;
	uint32_t cnt, multi_flags, pid;
};

#define UPROBE_MULTI_RETURN 1u /* BPF_F_UPROBE_MULTI_RETURN */

/*
 * prog on each of offs[0..n) in the file at path (cookies: NULL or one per
 * offset). One multi-uprobe link where the kernel has them, else a link per
 * offset. Each link costs an RCU grace period to detach when msgscope exits
 * (~110 ms per perf-event uprobe here, one after the other): libssl took 17
 * links, and takes 2 (attach_libssl_multi()).
 */
static int attach_group(struct tls_attach *t, struct bpf_program *prog, const char *path,
			const uint64_t *offs, const uint64_t *cookies, size_t n, bool ret)
{
	struct uprobe_multi_attr a;
	int fd;

	if (t->multi_type < 0) {
		for (size_t i = 0; i < n; i++) {
			LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = ret,
				    .bpf_cookie = cookies ? cookies[i] : 0);
			struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, -1, path,
									     offs[i], &o);
			int err = l ? keep_link(t, l, -1) : -errno;

			if (err)
				return err;
		}
		return 0;
	}
	memset(&a, 0, sizeof(a));
	a.prog_fd = bpf_program__fd(prog);
	a.attach_type = t->multi_type;
	a.path = (uintptr_t)path;
	a.offsets = (uintptr_t)offs;
	a.cookies = (uintptr_t)cookies;
	a.cnt = n;
	a.multi_flags = ret ? UPROBE_MULTI_RETURN : 0;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
	if (fd < 0)
		return -errno;
	return keep_link(t, NULL, fd);
}

/* The file's own path when it names the same file from here (it outlives
 * the process, which may exit while we attach), else the /proc one. */
static const char *stable_path(const char *real, const char *via_proc,
			       uint32_t dev, uint64_t ino)
{
	struct stat sb;

	if (real[0] == '/' && !stat(real, &sb) && kdev(sb.st_dev) == dev &&
	    sb.st_ino == ino)
		return real;
	return via_proc;
}

/* ---- OpenSSL ------------------------------------------------------------ */

struct ssl_probe {
	const char *func;
	enum ms_ssl_fn fn;
	bool required;
};

static const struct ssl_probe ssl_probes[] = {
	{ "SSL_write", MS_SSL_WRITE, true },
	{ "SSL_read", MS_SSL_READ, true },
	{ "SSL_write_ex", MS_SSL_WRITE_EX, false },   /* OpenSSL >= 1.1.1 */
	{ "SSL_read_ex", MS_SSL_READ_EX, false },
	{ "SSL_do_handshake", MS_SSL_HANDSHAKE, false },
	{ "SSL_connect", MS_SSL_HANDSHAKE, false },
	{ "SSL_accept", MS_SSL_HANDSHAKE, false },
	{ "SSL_set_fd", MS_SSL_SET_FD, false },
	{ "SSL_set_rfd", MS_SSL_SET_FD, false },
	{ "SSL_set_wfd", MS_SSL_SET_FD, false },
};

#define N_SSL_PROBES (sizeof(ssl_probes) / sizeof(ssl_probes[0]))

/* The programs of one function, where each has its own (out: NULL when
 * it is not followed to its return). */
static void ssl_progs(struct tls_bpf *s, enum ms_ssl_fn fn, struct bpf_program **in,
		      struct bpf_program **out)
{
	switch (fn) {
	case MS_SSL_WRITE:
		*in = s->progs.ssl_write_enter;
		*out = s->progs.ssl_write_exit;
		return;
	case MS_SSL_READ:
		*in = s->progs.ssl_read_enter;
		*out = s->progs.ssl_read_exit;
		return;
	case MS_SSL_WRITE_EX:
		*in = s->progs.ssl_write_ex_enter;
		*out = s->progs.ssl_write_ex_exit;
		return;
	case MS_SSL_READ_EX:
		*in = s->progs.ssl_read_ex_enter;
		*out = s->progs.ssl_read_ex_exit;
		return;
	case MS_SSL_SET_FD:
		*in = s->progs.ssl_set_fd;
		*out = NULL;
		return;
	case MS_SSL_HANDSHAKE:
		break;
	}
	*in = s->progs.ssl_hs_enter;
	*out = s->progs.ssl_hs_exit;
}

/* Multi-uprobe links: every function on one entry and one return link,
 * each offset's cookie naming its function. */
static int attach_libssl_multi(struct tls_attach *t, const char *path,
			       const uint64_t *offs)
{
	uint64_t in[N_SSL_PROBES], in_fn[N_SSL_PROBES];
	uint64_t out[N_SSL_PROBES], out_fn[N_SSL_PROBES];
	size_t n_in = 0, n_out = 0, mark = t->n_links;
	int err;

	for (size_t i = 0; i < N_SSL_PROBES; i++) {
		if (!offs[i])
			continue;
		in[n_in] = offs[i];
		in_fn[n_in++] = ssl_probes[i].fn;
		if (ssl_probes[i].fn == MS_SSL_SET_FD)
			continue;
		out[n_out] = offs[i];
		out_fn[n_out++] = ssl_probes[i].fn;
	}
	err = attach_group(t, t->skel->progs.ssl_any_enter, path, in, in_fn, n_in, false);
	if (!err)
		err = attach_group(t, t->skel->progs.ssl_any_exit, path, out, out_fn, n_out,
				   true);
	if (err)
		drop_links_since(t, mark);
	return err;
}

/* Attach to one libssl file. -ENOENT: it has no SSL_write (not OpenSSL's
 * API, e.g. NSS's libssl3.so). */
static int attach_libssl(struct tls_attach *t, const char *path)
{
	const char *names[N_SSL_PROBES];
	uint64_t offs[N_SSL_PROBES];
	size_t mark = t->n_links;
	int err;

	for (size_t i = 0; i < N_SSL_PROBES; i++)
		names[i] = ssl_probes[i].func;
	err = elf_func_offsets(path, names, N_SSL_PROBES, offs);
	if (err < 0)
		return err;
	for (size_t i = 0; i < N_SSL_PROBES; i++)
		if (ssl_probes[i].required && !offs[i])
			return -ENOENT;
	if (t->multi_type >= 0)
		return attach_libssl_multi(t, path, offs);
	for (size_t i = 0; i < N_SSL_PROBES; i++) {
		struct bpf_program *in, *out;

		if (!offs[i])
			continue;
		ssl_progs(t->skel, ssl_probes[i].fn, &in, &out);
		err = attach_group(t, in, path, &offs[i], NULL, 1, false);
		if (!err && out)
			err = attach_group(t, out, path, &offs[i], NULL, 1, true);
		if (err && ssl_probes[i].required) {
			drop_links_since(t, mark);
			return err;
		}
	}
	return 0;
}

/* path: how to open the file from here (e.g. /proc/PID/root/usr/lib/...). */
static void consider_libssl(struct tls_attach *t, const char *path)
{
	char shown_buf[PATH_MAX];
	struct stat sb;
	uint32_t dev;
	int err;

	if (stat(path, &sb) || !S_ISREG(sb.st_mode))
		return;
	dev = kdev(sb.st_dev);
	if (seen(t, dev, sb.st_ino))
		return;
	err = attach_libssl(t, path);
	if (!err) {
		t->n_ssl++;
		if (t->verbose)
			fprintf(stderr, "msgscope: TLS: OpenSSL probes on %s\n",
				shown(path, shown_buf, sizeof(shown_buf)));
	} else if (t->verbose || (err != -ENOENT && err != -ESRCH)) {
		fprintf(stderr, "msgscope: warning: TLS: cannot probe %s: %s\n",
			shown(path, shown_buf, sizeof(shown_buf)), strerror(-err));
	}
	remember(t, dev, sb.st_ino, err ? (err == -ENOENT ? F_NOT_OURS : F_FAILED) :
		 F_ATTACHED, false);
}

static bool is_libssl_name(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "libssl", 6) && strstr(base, ".so");
}

/*
 * libssl files mapped by pid, from /proc/PID/maps. With want_dev/want_ino
 * set, only that file (a notification names it). Paths are opened through
 * /proc/PID/root so a process in another mount namespace works too.
 */
static void scan_maps(struct tls_attach *t, uint32_t pid, uint32_t want_dev,
		      uint64_t want_ino)
{
	char fn[64], line[4096], path[4200];
	FILE *f;

	snprintf(fn, sizeof(fn), "/proc/%u/maps", pid);
	f = fopen(fn, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned int maj, min;
		unsigned long long ino;
		int pos = 0;
		char *p;

		if (sscanf(line, "%*x-%*x %*4s %*x %x:%x %llu %n", &maj, &min, &ino, &pos) < 3 ||
		    !pos)
			continue;
		p = line + pos;
		p[strcspn(p, "\n")] = '\0';
		if (*p != '/' || strstr(p, " (deleted)") || !is_libssl_name(p))
			continue;
		if (want_ino && (ino != want_ino || (maj << 20 | min) != want_dev))
			continue;
		if (seen(t, maj << 20 | min, ino))
			continue;
		snprintf(path, sizeof(path), "/proc/%u/root%s", pid, p);
		consider_libssl(t, stable_path(p, path, maj << 20 | min, ino));
	}
	fclose(f);
}

/* The distribution's libssl, mapped by anyone or not yet: a program
 * started later gets it without any race. */
static void scan_system_libssl(struct tls_attach *t)
{
	static const char *const dirs[] = {
		"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
		"/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib",
	};
	char path[512];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *de;

		if (!d)
			continue;
		while ((de = readdir(d))) {
			if (strncmp(de->d_name, "libssl.so.", 10))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[i], de->d_name);
			consider_libssl(t, path);
		}
		closedir(d);
	}
}

/* ---- Go ----------------------------------------------------------------- */

/* One function's entry (with its itab cookie) and its RET instructions. */
static int attach_go_func(struct tls_attach *t, const char *path, const struct go_func *f,
			  struct bpf_program *entry, struct bpf_program *rets)
{
	uint64_t cookie = f->cookie;
	int err = attach_group(t, entry, path, &f->off, &cookie, 1, false);

	if (!err && f->n_rets)
		err = attach_group(t, rets, path, f->ret_off, NULL, f->n_rets, false);
	return err;
}

/* Multi-uprobe link: every probe of the binary on one link (go_any), each
 * offset's cookie naming its probe. */
static int attach_go_multi(struct tls_attach *t, const char *path,
			   const struct go_tls_info *gi)
{
	enum { MAX = 4 + 2 * GO_TLS_MAX_RETS };
	static const struct { int fn; uint64_t entry, ret; } kinds[] = {
		{ GO_TLS_WRITE, MS_GO_WRITE, MS_GO_WRITE_RET },
		{ GO_TLS_READ, MS_GO_READ, MS_GO_READ_RET },
		{ GO_TLS_CLIENT_HS, MS_GO_HANDSHAKE, 0 },
		{ GO_TLS_SERVER_HS, MS_GO_HANDSHAKE, 0 },
	};
	uint64_t offs[MAX], cookies[MAX];
	size_t n = 0;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const struct go_func *f = &gi->fn[kinds[k].fn];

		if (!f->found)
			continue;
		offs[n] = f->off;
		cookies[n++] = MS_GO_COOKIE(kinds[k].entry, f->cookie);
		for (int r = 0; kinds[k].ret && r < f->n_rets; r++) {
			offs[n] = f->ret_off[r];
			cookies[n++] = MS_GO_COOKIE(kinds[k].ret, 0);
		}
	}
	return attach_group(t, t->skel->progs.go_any, path, offs, cookies, n, false);
}

static int attach_go(struct tls_attach *t, const char *path,
		     const struct go_tls_info *gi)
{
	struct tls_bpf *s = t->skel;
	uint64_t hs_offs[2], hs_cookies[2];
	size_t mark = t->n_links, n_hs = 0;
	int err;

	if (t->multi_type >= 0)
		return attach_go_multi(t, path, gi);
	err = attach_go_func(t, path, &gi->fn[GO_TLS_WRITE], s->progs.go_tls_write,
			     s->progs.go_tls_write_ret);
	if (!err)
		err = attach_go_func(t, path, &gi->fn[GO_TLS_READ], s->progs.go_tls_read,
				     s->progs.go_tls_read_ret);
	for (int k = GO_TLS_CLIENT_HS; k <= GO_TLS_SERVER_HS; k++) {
		if (!gi->fn[k].found)
			continue;
		hs_offs[n_hs] = gi->fn[k].off;
		hs_cookies[n_hs++] = gi->fn[k].cookie;
	}
	if (!err && n_hs)
		err = attach_group(t, s->progs.go_tls_handshake, path, hs_offs, hs_cookies,
				   n_hs, false);
	if (err)
		drop_links_since(t, mark);
	return err;
}

/* An executable (opened as /proc/PID/exe): attach if Go with crypto/tls. */
static void consider_exe(struct tls_attach *t, uint32_t pid, uint32_t dev, uint64_t ino)
{
	struct go_tls_info gi;
	char proc[64], real[512], why[200] = "";
	char shown_buf[sizeof(real)], why_buf[sizeof(why)];
	const char *path;
	ssize_t n;
	int err;

	if (seen(t, dev, ino))
		return;
	snprintf(proc, sizeof(proc), "/proc/%u/exe", pid);
	n = readlink(proc, real, sizeof(real) - 1);
	real[n > 0 ? n : 0] = '\0';
	path = stable_path(real, proc, dev, ino);
	err = go_tls_inspect(path, &gi, why, sizeof(why));
	if (err == -ENOENT) {
		remember(t, dev, ino, F_NOT_OURS, false);
		return;
	}
	if (err == -ENOTSUP) {
		fprintf(stderr, "msgscope: warning: TLS: %s (pid %u): %s; its TLS traffic is not captured\n",
			shown(real, shown_buf, sizeof(shown_buf)), pid,
			shown(why, why_buf, sizeof(why_buf)));
		remember(t, dev, ino, F_UNSUPPORTED, true);
		return;
	}
	if (err) {
		/* gone already, or unreadable: try again on its next exec */
		return;
	}
	err = attach_go(t, path, &gi);
	if (err) {
		fprintf(stderr, "msgscope: warning: TLS: cannot probe %s (pid %u): %s\n",
			shown(real, shown_buf, sizeof(shown_buf)), pid, strerror(-err));
		remember(t, dev, ino, F_FAILED, true);
		return;
	}
	t->n_go++;
	if (t->verbose)
		fprintf(stderr, "msgscope: TLS: Go crypto/tls probes on %s (%s%s, %d+%d RETs%s)\n",
			shown(real, shown_buf, sizeof(shown_buf)),
			shown(gi.version, why_buf, sizeof(why_buf)), gi.stripped ? ", stripped: names from .gopclntab" : "",
			gi.fn[GO_TLS_WRITE].n_rets, gi.fn[GO_TLS_READ].n_rets,
			gi.itab_known ? "" : ", conn type unchecked");
	remember(t, dev, ino, F_ATTACHED, true);
}

static void scan_pid(struct tls_attach *t, uint32_t pid)
{
	char path[64];
	struct stat sb;

	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	if (!stat(path, &sb))
		consider_exe(t, pid, kdev(sb.st_dev), sb.st_ino);
	scan_maps(t, pid, 0, 0);
}

static void scan_all(struct tls_attach *t)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (*end || !pid || pid == (unsigned long)getpid())
			continue;
		scan_pid(t, pid);
	}
	closedir(d);
}

/* ---- notifications ------------------------------------------------------ */

static int on_notify(void *ctx, void *data, size_t size)
{
	struct tls_attach *t = ctx;
	const struct tls_notify *n = data;

	if (size < sizeof(*n) || seen(t, n->dev, n->ino))
		return 0;
	if (n->kind == NOTIFY_EXEC)
		consider_exe(t, n->tgid, n->dev, n->ino);
	else if (n->kind == NOTIFY_LIBSSL)
		scan_maps(t, n->tgid, n->dev, n->ino);
	return 0;
}

/* ---- life cycle --------------------------------------------------------- */

/* The TLS object's copies of the capture object's maps take the capture's
 * (the ring buffer sized like it first). */
static int share_maps(struct tls_bpf *s, const struct tls_shared_maps *m)
{
	struct { struct bpf_map *ours, *theirs; } pairs[] = {
		{ s->maps.events, m->events }, { s->maps.rings, m->rings },
		{ s->maps.conns, m->conns },
		{ s->maps.stats, m->stats }, { s->maps.pids, m->pids },
		{ s->maps.ports, m->ports }, { s->maps.ssl_calls, m->ssl_calls },
		{ s->maps.ssl_fds, m->ssl_fds }, { s->maps.tls_stats, m->tls_stats },
		{ s->maps.tls_notify, m->tls_notify },
	};
	int err = bpf_map__set_max_entries(s->maps.events, bpf_map__max_entries(m->events));

	for (size_t i = 0; !err && i < sizeof(pairs) / sizeof(pairs[0]); i++)
		err = bpf_map__reuse_fd(pairs[i].ours, bpf_map__fd(pairs[i].theirs));
	return err;
}

bool tls_attach_wanted(const struct capture_opts *o)
{
	const char *off = getenv("MSGSCOPE_NO_TLS");

	return !o->no_tls && !(off && *off && strcmp(off, "0"));
}

/* The sys_enter hooks, which capture's exit hooks may stand in for. */
static void no_syscall_hooks(struct tls_bpf *s)
{
	struct bpf_program *enters[] = {
		s->progs.tls_enter_read, s->progs.tls_enter_write,
		s->progs.tls_enter_recvfrom, s->progs.tls_enter_sendto,
		s->progs.tls_enter_readv, s->progs.tls_enter_writev,
		s->progs.tls_enter_recvmsg, s->progs.tls_enter_sendmsg,
	};

	for (size_t i = 0; i < sizeof(enters) / sizeof(enters[0]); i++)
		bpf_program__set_autoload(enters[i], false);
}

/* Multi-uprobe links where the kernel has them, unless
 * MSGSCOPE_NO_UPROBE_MULTI=1 (for the tests of the other path). A program
 * is loaded for one kind of link or the other: with multi-uprobe links,
 * OpenSSL's functions share two programs and Go's probes one; without,
 * each has its own. */
static void use_uprobe_multi(struct tls_attach *t)
{
	const char *off = getenv("MSGSCOPE_NO_UPROBE_MULTI");
	struct tls_bpf *s = t->skel;
	struct bpf_program *go_own[] = {
		s->progs.go_tls_write, s->progs.go_tls_write_ret, s->progs.go_tls_read,
		s->progs.go_tls_read_ret, s->progs.go_tls_handshake,
	};
	struct bpf_program *prog;

	t->multi_type = off && *off && strcmp(off, "0") ? -1 : features_uprobe_multi();
	if (t->multi_type < 0) {
		bpf_program__set_autoload(s->progs.ssl_any_enter, false);
		bpf_program__set_autoload(s->progs.ssl_any_exit, false);
		bpf_program__set_autoload(s->progs.go_any, false);
		return;
	}
	for (int fn = MS_SSL_WRITE; fn <= MS_SSL_SET_FD; fn++) {
		struct bpf_program *in, *out;

		ssl_progs(s, fn, &in, &out);
		bpf_program__set_autoload(in, false);
		if (out)
			bpf_program__set_autoload(out, false);
	}
	for (size_t i = 0; i < sizeof(go_own) / sizeof(go_own[0]); i++)
		bpf_program__set_autoload(go_own[i], false);
	bpf_object__for_each_program(prog, s->obj)
		if (!strncmp(bpf_program__section_name(prog), "uprobe", 6) ||
		    !strncmp(bpf_program__section_name(prog), "uretprobe", 9))
			bpf_program__set_expected_attach_type(prog, t->multi_type);
}

int tls_attach_open(struct tls_attach **out, const struct tls_shared_maps *m,
		    const struct capture_opts *o)
{
	struct tls_attach *t;
	struct tls_bpf *s;
	struct bpf_program *prog;
	int err;

	*out = NULL;
	if (!tls_attach_wanted(o))
		return 0;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->verbose = o->verbose;
	s = t->skel = tls_bpf__open();
	if (!s) {
		err = -errno;
		fprintf(stderr, "msgscope: warning: TLS capture off: cannot open its BPF object: %s\n",
			strerror(-err));
		goto fail;
	}
	s->rodata->snaplen = o->snaplen;
	s->rodata->overload_snaplen = o->overload_snaplen;
	s->rodata->wakeup_bytes = m->wakeup_bytes;
	s->rodata->n_rings = m->n_rings;
	s->rodata->self_tgid = getpid();
	s->rodata->filter_pids = o->filter_pids;
	s->rodata->task_btf = m->task_btf;
	if (o->comm && *o->comm) {
		s->rodata->filter_comm = true;
		strncpy((char *)s->rodata->target_comm, o->comm, MS_COMM_LEN - 1);
	}
	err = share_maps(s, m);
	if (err) {
		fprintf(stderr, "msgscope: warning: TLS capture off: cannot share maps: %s\n",
			strerror(-err));
		goto fail;
	}
	if (m->syscalls_seen_at_exit)
		no_syscall_hooks(s);
	if (m->mmaps_seen_at_exit) {
		bpf_program__set_autoload(s->progs.tls_enter_mmap, false);
		bpf_program__set_autoload(s->progs.tls_exit_mmap, false);
	}
	use_uprobe_multi(t);
	if (m->tp_btf) {
		bpf_program__set_autoload(s->progs.tls_on_thread_exit, false);
		bpf_program__set_autoload(s->progs.tls_on_exec, false);
	} else {
		bpf_program__set_autoload(s->progs.tls_thread_exit_btf, false);
		bpf_program__set_autoload(s->progs.tls_exec_btf, false);
	}
	err = tls_bpf__load(s);
	if (err) {
		fprintf(stderr, "msgscope: warning: TLS capture off: cannot load its BPF programs: %s\n",
			strerror(-err));
		goto fail;
	}
	/* Tracepoints (raw ones too) now, uprobes per file below. These
	 * syscall hooks run after capture's (attached earlier) on the same
	 * tracepoints. */
	bpf_object__for_each_program(prog, s->obj) {
		const char *sec = bpf_program__section_name(prog);
		struct bpf_link *l;

		if ((strncmp(sec, "tracepoint/", 11) && strncmp(sec, "tp_btf/", 7)) ||
		    !bpf_program__autoload(prog))
			continue;
		l = bpf_program__attach(prog);
		if (!l) {
			err = -errno;
			fprintf(stderr, "msgscope: warning: TLS capture off: cannot attach %s: %s\n",
				sec, strerror(-err));
			goto fail;
		}
		if ((err = keep_link(t, l, -1)))
			goto fail;
	}
	scan_system_libssl(t);
	if (o->filter_pids && !(o->comm && *o->comm)) {
		for (size_t i = 0; i < o->n_pids; i++)
			scan_pid(t, o->pids[i]);
	} else {
		scan_all(t);
	}
	*out = t;
	return 0;
fail:
	tls_attach_close(t);
	return err;
}

/*
 * The capture's epoll fd wakes the event loop for our notifications too:
 * our ring's own epoll fd goes in it. tls_attach_poll(), called after each
 * drain of the capture's ring, delivers them.
 */
int tls_attach_ring(struct tls_attach *t, int epoll_fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd, err = 0;

	if (!t)
		return 0;
	fd = bpf_map__fd(t->skel->maps.tls_notify);
	t->notify = ring_buffer__new(fd, on_notify, t, NULL);
	if (!t->notify || epoll_ctl(epoll_fd, EPOLL_CTL_ADD,
				    ring_buffer__epoll_fd(t->notify), &ev)) {
		err = -errno;
		fprintf(stderr, "msgscope: warning: TLS: programs started later will not be probed: %s\n",
			strerror(-err));
	}
	return err;
}

void tls_attach_poll(struct tls_attach *t)
{
	if (t && t->notify)
		ring_buffer__consume(t->notify);
}

static void print_stats(struct tls_attach *t)
{
	static const char *const names[] = {
		"plaintext events", "unbound SSL plaintext", "no tracked connection",
		"Go conn not TCP", "sockets marked TLS by their hello",
	};
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v;

	if (ncpu <= 0 || !(v = calloc(ncpu, sizeof(*v))))
		return;
	for (uint32_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint64_t sum = 0;

		if (bpf_map__lookup_elem(t->skel->maps.tls_stats, &i, sizeof(i), v,
					 ncpu * sizeof(*v), 0))
			continue;
		for (int c = 0; c < ncpu; c++)
			sum += v[c];
		fprintf(stderr, "msgscope: TLS: %s: %llu\n", names[i], (unsigned long long)sum);
	}
	free(v);
}

void tls_attach_shed(struct tls_attach *t, bool on)
{
	if (t)
		__atomic_store_n(&t->skel->bss->shedding, on, __ATOMIC_RELAXED);
}

void tls_attach_close(struct tls_attach *t)
{
	if (!t)
		return;
	if (t->verbose && t->skel && t->n_links)
		print_stats(t);
	ring_buffer__free(t->notify);
	drop_links_since(t, 0);
	free(t->links);
	free(t->files);
	tls_bpf__destroy(t->skel);
	free(t);
}

const char *tls_attach_desc(const struct tls_attach *t)
{
	struct tls_attach *m = (struct tls_attach *)t;

	if (!t)
		return "TLS: off";
	snprintf(m->desc, sizeof(m->desc),
		 "TLS: OpenSSL in %d libssl file%s, Go crypto/tls in %d binar%s",
		 t->n_ssl, t->n_ssl == 1 ? "" : "s", t->n_go, t->n_go == 1 ? "y" : "ies");
	return m->desc;
}
