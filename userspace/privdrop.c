/* SPDX-License-Identifier: MIT */
/*
 * privdrop.c — see privdrop.h. Raw capget/capset/prctl: libcap is not a
 * dependency and the few calls needed do not justify one.
 */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <linux/securebits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef SECBIT_NO_CAP_AMBIENT_RAISE
#define SECBIT_NO_CAP_AMBIENT_RAISE (1 << 6)
#define SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED (1 << 7)
#endif

#define NOBODY_ID 65534

static unsigned wanted = PRIVDROP_PROC_READ;
static char summary[256] = "privileges not dropped";

void privdrop_set_needs(unsigned needs)
{
	wanted = needs;
}

const char *privdrop_summary(void)
{
	return summary;
}

/* ---- capability sets as two 32-bit words (capability version 3) ------- */

struct caps {
	uint64_t eff, perm, inh;
};

#define BIT(c) (UINT64_C(1) << (c))

static int caps_get(struct caps *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d))
		return -errno;
	c->eff = d[0].effective | (uint64_t)d[1].effective << 32;
	c->perm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	c->inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static int caps_set(const struct caps *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)c->eff, (uint32_t)c->perm, (uint32_t)c->inh },
		{ (uint32_t)(c->eff >> 32), (uint32_t)(c->perm >> 32),
		  (uint32_t)(c->inh >> 32) },
	};

	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

/* Raise (or lower) the effective set to exactly eff & permitted. */
static int caps_effective(struct caps *c, uint64_t eff)
{
	c->eff = eff & c->perm;
	return caps_set(c);
}

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &last) != 1 || last < 0 || last > 63)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last;
}

/*
 * Does this kernel let a process without CAP_BPF use bpf() on map fds it
 * holds? Up to Linux 6.4, kernel.unprivileged_bpf_disabled (on by default
 * in Debian) made every bpf() command need CAP_BPF or CAP_SYS_ADMIN; since
 * 6.5 only loading programs and creating maps do. Asked, with those two
 * capabilities lowered, by a lookup on fd -1: EPERM means the global check
 * is there, EBADF that the command got as far as the fd.
 */
static bool bpf_needs_cap(void)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (uint32_t)-1;
	return syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, &attr, sizeof(attr)) < 0 &&
	       errno == EPERM;
}

/*
 * Can a uprobe perf event be created with CAP_PERFMON alone? Upstream
 * kernels say yes since 5.8; some builds still demand CAP_SYS_ADMIN. Asked
 * with CAP_SYS_ADMIN lowered, on offset 0 of our own executable (not code:
 * nothing fires, and the probe goes away with the fd). Any answer other
 * than success or a refusal keeps CAP_SYS_ADMIN: TLS capture must go on.
 */
static bool uprobe_needs_sys_admin(void)
{
	struct perf_event_attr a;
	char path[] = "/proc/self/exe";
	FILE *f = fopen("/sys/bus/event_source/devices/uprobe/type", "re");
	int type = -1, fd;

	if (f) {
		if (fscanf(f, "%d", &type) != 1)
			type = -1;
		fclose(f);
	}
	if (type < 0)
		return true;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = (uint32_t)type;
	a.config1 = (uint64_t)(uintptr_t)path;
	a.config2 = 0;
	fd = (int)syscall(SYS_perf_event_open, &a, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	return true;
}

static void names(uint64_t set, char *buf, size_t n)
{
	static const struct { int cap; const char *name; } known[] = {
		{ CAP_KILL, "CAP_KILL" }, { CAP_SYS_PTRACE, "CAP_SYS_PTRACE" },
		{ CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH" }, { CAP_BPF, "CAP_BPF" },
		{ CAP_PERFMON, "CAP_PERFMON" }, { CAP_SYS_ADMIN, "CAP_SYS_ADMIN" },
		{ CAP_SYS_NICE, "CAP_SYS_NICE" },
	};
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++) {
		if (!(set & BIT(known[i].cap)))
			continue;
		set &= ~BIT(known[i].cap);
		len += snprintf(buf + len, len < n ? n - len : 0, "%s%s",
				len ? "," : "", known[i].name);
	}
	if (set)
		len += snprintf(buf + len, len < n ? n - len : 0, "%s0x%llx",
				len ? "," : "", (unsigned long long)set);
	if (!len)
		snprintf(buf, n, "none");
}

/* The first step that failed; later steps still run, so a failure (say,
 * no uid change inside a user namespace) never leaves more than it must. */
struct outcome {
	const char *step;
	int err;
};

static void note(struct outcome *o, const char *step, int err)
{
	if (!o->step) {
		o->step = step;
		o->err = err;
	}
}

int privdrop_after_attach(unsigned needs, bool verbose)
{
	struct outcome o = { NULL, 0 };
	struct caps c;
	uint64_t keep = 0, all;
	uid_t uid = NOBODY_ID;
	gid_t gid = NOBODY_ID;
	bool change_uid, uid_changed = false;
	int err, last = last_cap();
	char kept[128];

	needs |= wanted;
	err = caps_get(&c);
	if (err) {
		fprintf(stderr, "msgscope: warning: dropping privileges: capget failed: %s\n",
			strerror(-err));
		snprintf(summary, sizeof(summary), "privileges not dropped (capget: %s)",
			 strerror(-err));
		return err;
	}
	all = last >= 63 ? ~UINT64_C(0) : BIT(last + 1) - 1;
	if (needs & PRIVDROP_KILL)
		keep |= BIT(CAP_KILL);
	if (needs & (PRIVDROP_PROC_READ | PRIVDROP_ATTACH))
		keep |= BIT(CAP_SYS_PTRACE) | BIT(CAP_DAC_READ_SEARCH);
	if (needs & PRIVDROP_ATTACH)
		keep |= BIT(CAP_PERFMON) | BIT(CAP_BPF);
	if (needs & PRIVDROP_NICE)
		keep |= BIT(CAP_SYS_NICE);
	/* CAP_BPF only if map lookups would fail without it; CAP_SYS_ADMIN
	 * only if probes attached later need it (uprobe perf events on some
	 * kernels). Both asked of the kernel with the capability lowered. */
	if (c.perm & (BIT(CAP_BPF) | BIT(CAP_SYS_ADMIN))) {
		if (caps_effective(&c, c.perm & ~(BIT(CAP_BPF) | BIT(CAP_SYS_ADMIN))) == 0) {
			if (bpf_needs_cap())
				keep |= BIT(CAP_BPF);
			if ((needs & PRIVDROP_ATTACH) && uprobe_needs_sys_admin())
				keep |= BIT(CAP_SYS_ADMIN);
			if ((err = caps_effective(&c, c.perm)))
				note(&o, "capset", err);
		} else {
			/* cannot tell: keep working */
			keep |= BIT(CAP_BPF);
			if (needs & PRIVDROP_ATTACH)
				keep |= BIT(CAP_SYS_ADMIN);
		}
	}
	keep &= c.perm;

	/* Nothing regained through exec: bounding set, ambient set,
	 * securebits (root is not special; a uid change keeps the
	 * capabilities we choose to keep; all of it locked). These need
	 * CAP_SETPCAP, which root has; without it they are skipped. */
	if (c.eff & BIT(CAP_SETPCAP)) {
		for (int cap = 0; cap <= last; cap++)
			if (!(keep & BIT(cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) &&
			    errno != EINVAL) {
				note(&o, "PR_CAPBSET_DROP", -errno);
				break;
			}
		if (prctl(PR_SET_SECUREBITS,
			  SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
			  SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
			  SECBIT_KEEP_CAPS_LOCKED |
			  SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
			  0, 0, 0))
			note(&o, "PR_SET_SECUREBITS", -errno);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		note(&o, "PR_CAP_AMBIENT_CLEAR_ALL", -errno);

	/* Root's uid still owns most of the system's files; nobody does
	 * not. The trace file, the ring buffer and the maps are open fds
	 * and stay usable. With SECBIT_NO_SETUID_FIXUP the uid change does
	 * not clear the capability sets: the capset below chooses them. */
	change_uid = geteuid() == 0 && (c.eff & BIT(CAP_SETUID)) && (c.eff & BIT(CAP_SETGID));
	if (change_uid) {
		struct passwd *pw = getpwnam("nobody");

		/* Without the securebits above, keep the permitted set
		 * across the uid change the classic way. */
		if (!(c.eff & BIT(CAP_SETPCAP)))
			prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);

		if (pw && pw->pw_uid != 0 && pw->pw_gid != 0) {
			uid = pw->pw_uid;
			gid = pw->pw_gid;
		}
		if (setgroups(0, NULL))
			note(&o, "setgroups", -errno);
		else if (setresgid(gid, gid, gid))
			note(&o, "setresgid", -errno);
		else if (setresuid(uid, uid, uid))
			note(&o, "setresuid", -errno);
		else
			uid_changed = true;
	}

	/* The capabilities kept, and nothing else, anywhere. */
	c.eff = c.perm = keep;
	c.inh = 0;
	if ((err = caps_set(&c)))
		note(&o, "capset", err);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		note(&o, "PR_SET_NO_NEW_PRIVS", -errno);
	/* Secrets live in this memory: no core dump, no ptrace or
	 * /proc/PID/mem by other processes of the same uid. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		note(&o, "PR_SET_DUMPABLE", -errno);

	/* Check, rather than trust, the result. */
	if ((err = caps_get(&c)))
		note(&o, "capget", err);
	else if ((c.perm | c.eff) & ~keep & all)
		note(&o, "verifying the capability sets", -EPERM);
	if (uid_changed && (getuid() != uid || geteuid() != uid || getegid() != gid))
		note(&o, "verifying the uid", -EPERM);

	names(keep, kept, sizeof(kept));
	if (o.step) {
		fprintf(stderr, "msgscope: warning: dropping privileges: %s failed: %s; "
			"going on as uid %u with capabilities %s\n", o.step, strerror(-o.err),
			(unsigned)geteuid(), kept);
		snprintf(summary, sizeof(summary), "privilege drop incomplete (%s: %s)",
			 o.step, strerror(-o.err));
		return o.err;
	}
	snprintf(summary, sizeof(summary), "running as uid %u gid %u, capabilities kept: %s",
		 (unsigned)geteuid(), (unsigned)getegid(), kept);
	if (verbose)
		fprintf(stderr, "msgscope: privileges dropped: %s\n", summary);
	return 0;
}
