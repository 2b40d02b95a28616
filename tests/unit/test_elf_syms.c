/* SPDX-License-Identifier: MIT */
/*
 * elf_syms.c against the kernel's own view: the file offset this process
 * runs a function from (its address in /proc/self/maps, plus the mapping's
 * file offset) is what elf_func_offsets() must find in the file.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "elf_syms.h"

__attribute__((noinline, used)) int elf_syms_test_target(int x)
{
	return x * 3 + 1;
}

/* The file offset the code at addr was mapped from, and that file. */
static int mapped_from(const void *addr, uint64_t *off, char *path, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4200];
	int rc = -1;

	while (f && rc && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, pgoff;
		int pos = 0;

		if (sscanf(line, "%lx-%lx %*4s %lx %*x:%*x %*u %n", &lo, &hi, &pgoff, &pos) < 3 ||
		    (uintptr_t)addr < lo || (uintptr_t)addr >= hi || !pos)
			continue;
		*off = (uintptr_t)addr - lo + pgoff;
		snprintf(path, len, "%s", line + pos);
		path[strcspn(path, "\n")] = '\0';
		rc = 0;
	}
	if (f)
		fclose(f);
	return rc;
}

static void same_as_mapped(const char *name, const void *addr)
{
	const char *names[] = { name, "no_such_function_anywhere" };
	uint64_t want = 0, got[2];
	char path[4096];
	int n;

	CHECK_MSG(!mapped_from(addr, &want, path, sizeof(path)), "%s not mapped", name);
	n = elf_func_offsets(path, names, 2, got);
	CHECK_MSG(n == 1, "%s in %s: %d found", name, path, n);
	CHECK_MSG(got[0] == want, "%s in %s: %#" PRIx64 " != %#" PRIx64, name, path,
		  got[0], want);
	CHECK_EQ_INT(got[1], 0);
}

int main(void)
{
	uint64_t off = 1;
	const char *name = "getpid";
	char tmp[] = "/tmp/elf_syms_test.XXXXXX";
	int fd;

	/* Ours, from .symtab; libc's, from .dynsym (a shared object). */
	same_as_mapped("elf_syms_test_target", (void *)elf_syms_test_target);
	same_as_mapped("getpid", dlsym(RTLD_DEFAULT, "getpid"));
	/* Two versions in glibc; the old one comes first in .dynsym and is not
	 * the one a program calls. */
	same_as_mapped("sched_getaffinity", dlsym(RTLD_DEFAULT, "sched_getaffinity"));
	CHECK(elf_syms_test_target(1) == 4);

	CHECK_EQ_INT(elf_func_offsets("/nonexistent/libssl.so.3", &name, 1, &off), -ENOENT);
	CHECK_EQ_INT(off, 0);
	fd = mkstemp(tmp);
	CHECK(fd >= 0 && write(fd, "not an ELF file\n", 16) == 16);
	CHECK_EQ_INT(elf_func_offsets(tmp, &name, 1, &off), -ENOEXEC);
	close(fd);
	unlink(tmp);
	return check_summary("elf_syms");
}
