// SPDX-License-Identifier: MIT
/*
 * test_trace_writer.c — lines written in place or copied in, far bigger
 * than the buffer or left uncommitted: the file holds the committed ones,
 * whole and in order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "json_writer.h"
#include "trace_writer.h"

#define LINES 20000
#define GIANT (3 * 256 * 1024)

/* Line i as the test writes it: in place, copied, or giant. */
static void expect_line(char *buf, size_t n, int i)
{
	if (i % 1000 == 999)
		snprintf(buf, n, "{\"i\":%d,\"giant\":%d}", i, GIANT);
	else
		snprintf(buf, n, "{\"i\":%d,\"how\":\"%s\"}", i, i % 3 ? "line" : "raw");
}

static void write_all(struct trace_writer *w, char *giant)
{
	char line[128];

	for (int i = 0; i < LINES; i++) {
		struct jw *j;

		if (i % 1000 == 999) {
			j = trace_writer_line(w);
			jw_object_begin(j);
			jw_key(j, "i");
			jw_int(j, i);
			jw_key(j, "pad");
			jw_string(j, giant);
			/* not committed: the next line takes its place */
			j = trace_writer_line(w);
			jw_object_begin(j);
			jw_key(j, "i");
			jw_int(j, i);
			jw_key(j, "giant");
			jw_int(j, GIANT);
			jw_object_end(j);
			CHECK(trace_writer_commit(w) == 0);
			/* and a giant line, copied in, between two lines */
			memset(giant, 'x', GIANT);
			giant[GIANT] = '\0';
			CHECK(trace_writer_put_raw(w, giant, GIANT) == 0);
			continue;
		}
		if (i % 3) {
			j = trace_writer_line(w);
			jw_object_begin(j);
			jw_key(j, "i");
			jw_int(j, i);
			jw_key(j, "how");
			jw_string(j, "line");
			jw_object_end(j);
			CHECK(trace_writer_commit(w) == 0);
		} else {
			expect_line(line, sizeof(line), i);
			CHECK(trace_writer_put_raw(w, line, strlen(line)) == 0);
		}
	}
}

static void read_back(const char *path)
{
	FILE *f = fopen(path, "r");
	char want[128], *got = NULL;
	size_t cap = 0;
	ssize_t n;
	int i = 0, giants = 0;

	CHECK(f != NULL);
	if (!f)
		return;
	while ((n = getline(&got, &cap, f)) > 0) {
		CHECK_MSG(got[n - 1] == '\n', "line %d not terminated", i);
		got[n - 1] = '\0';
		if (got[0] == 'x') {
			CHECK_EQ_INT(n - 1, GIANT);
			giants++;
			continue;
		}
		expect_line(want, sizeof(want), i);
		CHECK_MSG(!strcmp(got, want), "line %d: %.80s, want %s", i, got, want);
		i++;
	}
	CHECK_EQ_INT(i, LINES);
	CHECK_EQ_INT(giants, LINES / 1000);
	free(got);
	fclose(f);
}

int main(void)
{
	char path[] = "/tmp/msgscope-test-writer-XXXXXX";
	char *giant = malloc(GIANT + 1);
	struct trace_writer *w;
	int fd = mkstemp(path);

	CHECK(fd >= 0 && giant);
	if (fd < 0 || !giant)
		return check_summary("trace_writer");
	close(fd);
	memset(giant, 'y', GIANT);
	giant[GIANT] = '\0';
	CHECK(trace_writer_open(&w, path) == 0);
	CHECK(trace_writer_begin(w) == 0);
	write_all(w, giant);
	CHECK_EQ_INT(trace_writer_lines(w), LINES + LINES / 1000);
	CHECK(trace_writer_close(w) == 0);
	read_back(path);
	unlink(path);
	free(giant);
	return check_summary("trace_writer");
}
