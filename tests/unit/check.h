/* SPDX-License-Identifier: MIT */
/*
 * check.h — the smallest test harness that reports well: CHECK() records a
 * failure with file:line and goes on, so one run shows every broken case.
 * A test binary ends with `return check_summary("name");`, which prints
 * "name: N checks, N failed" and makes the exit code non-zero on failure.
 */
#ifndef MSGSCOPE_CHECK_H
#define MSGSCOPE_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_total;
static int check_failed;

#define CHECK(cond) \
	do { \
		check_total++; \
		if (!(cond)) { \
			check_failed++; \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond); \
		} \
	} while (0)

#define CHECK_MSG(cond, ...) \
	do { \
		check_total++; \
		if (!(cond)) { \
			check_failed++; \
			fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, \
				__LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
		} \
	} while (0)

#define CHECK_EQ_INT(a, b) \
	CHECK_MSG((long long)(a) == (long long)(b), "%lld != %lld", \
		  (long long)(a), (long long)(b))

/* Compare a (ptr,len) slice with a C string. */
#define CHECK_SLICE(sl, str) \
	CHECK_MSG((sl).len == strlen(str) && \
		  ((sl).len == 0 || memcmp((sl).ptr, (str), (sl).len) == 0), \
		  "got \"%.*s\", want \"%s\"", (int)(sl).len, \
		  (sl).ptr ? (sl).ptr : "", (str))

static inline int check_summary(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_total, check_failed);
	return check_failed ? 1 : 0;
}

#endif /* MSGSCOPE_CHECK_H */
