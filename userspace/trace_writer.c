/* SPDX-License-Identifier: MIT */
#include "trace_writer.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Buffered lines are written once they reach this many bytes. */
#define FLUSH_AT (256 * 1024)

struct trace_writer {
	int fd;
	bool is_file;        /* regular file: can be cut back to whole lines */
	bool created;        /* by us: abandoning it may remove it */
	char *path;
	/* The buffer. Hot lines are written straight into it (trace_writer_line):
	 * serialising into a line of their own and copying that here moved
	 * 250 MB/s at 100k msgs/s. len: its bytes that are whole lines; a line
	 * being written follows them, up to buf.len. */
	struct jw buf;
	size_t len;
	off_t committed;     /* file size holding only whole lines */
	uint64_t lines;      /* accepted, buffered or written */
	uint64_t buffered;   /* of those, still in buf */
	int err;
};

/*
 * Open path for writing without truncating it: the trace may still fail to
 * start, and a file that was there must then be left as it was. O_EXCL first
 * tells whether the file is ours to remove again.
 */
static int open_output(struct trace_writer *w, const char *path)
{
	const int flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC;
	int tries;

	for (tries = 0; tries < 3; tries++) {
		w->fd = open(path, flags | O_CREAT | O_EXCL, 0600);
		if (w->fd >= 0) {
			w->created = true;
			return 0;
		}
		if (errno != EEXIST)
			break;
		w->fd = open(path, flags);
		if (w->fd >= 0 || errno != ENOENT)
			break;
		/* removed between the two opens: create it after all */
	}
	return w->fd < 0 ? -errno : 0;
}

int trace_writer_open(struct trace_writer **out, const char *path)
{
	struct trace_writer *w = calloc(1, sizeof(*w));
	struct stat st;
	int err;

	if (!w) {
		err = -ENOMEM;
		goto fail;
	}
	jw_init(&w->buf);
	if (!jw_reserve(&w->buf, FLUSH_AT + 4096)) {
		err = -ENOMEM;
		goto fail;
	}
	if (!path || !strcmp(path, "-")) {
		w->fd = STDOUT_FILENO;
		w->path = strdup("<stdout>");
	} else {
		err = open_output(w, path);
		if (err) {
			fprintf(stderr, "msgscope: cannot write %s: %s\n", path,
				err == -ELOOP ? "is a symlink (refusing to follow it)" :
				strerror(-err));
			goto fail;
		}
		w->path = strdup(path);
	}
	w->is_file = fstat(w->fd, &st) == 0 && S_ISREG(st.st_mode);
	/* An existing file keeps its mode: tighten it now, while msgscope still
	 * owns it (privileges are dropped before the trace begins). Only a
	 * regular file: `-o /dev/null` must not make /dev/null root-only. */
	if (w->is_file && !w->created && fchmod(w->fd, 0600)) {
		err = -errno;
		fprintf(stderr, "msgscope: cannot chmod %s: %s\n", path, strerror(-err));
		close(w->fd);
		free(w->path);
		goto fail;
	}
	*out = w;
	return 0;
fail:
	if (w)
		jw_free(&w->buf);
	free(w);
	return err;
}

int trace_writer_begin(struct trace_writer *w)
{
	int err;

	if (!w->is_file)
		return 0;
	if (ftruncate(w->fd, 0)) {
		err = -errno;
		fprintf(stderr, "msgscope: cannot write %s: %s\n", w->path, strerror(-err));
		return err;
	}
	return 0;
}

/* Close the descriptor (never stdout) and free the writer: 0 or -errno. */
static int writer_release(struct trace_writer *w)
{
	int err = 0;

	if (w->fd != STDOUT_FILENO && close(w->fd))
		err = -errno;
	jw_free(&w->buf);
	free(w->path);
	free(w);
	return err;
}

void trace_writer_abandon(struct trace_writer *w)
{
	if (!w)
		return;
	/* Only a regular file this writer created: never a device such as
	 * /dev/null, never a file that was there before. */
	if (w->created && w->is_file)
		unlink(w->path);
	writer_release(w);
}

/* Write the buffer, which holds whole lines only. A short write leaves a
 * partial line in the file: cut the file back to the last whole line. */
int trace_writer_flush(struct trace_writer *w)
{
	size_t done = 0;

	if (w->err)
		return w->err;
	while (done < w->len) {
		ssize_t n = write(w->fd, w->buf.buf + done, w->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->err = n < 0 ? -errno : -ENOSPC;
			if (w->is_file && ftruncate(w->fd, w->committed) == 0)
				lseek(w->fd, w->committed, SEEK_SET);
			fprintf(stderr, "msgscope: writing %s failed: %s; %llu whole lines kept\n",
				w->path, strerror(-w->err),
				(unsigned long long)(w->lines - w->buffered));
			return w->err;
		}
		done += n;
	}
	w->committed += w->len;
	w->len = w->buf.len = 0;
	w->buffered = 0;
	return 0;
}

struct jw *trace_writer_line(struct trace_writer *w)
{
	struct jw *j = &w->buf;

	jw_reset(j);
	j->len = w->len;
	return j;
}

int trace_writer_commit(struct trace_writer *w)
{
	if (!w->err)
		jw_put(&w->buf, "\n", 1);
	if (w->err || w->buf.oom) {
		w->buf.len = w->len; /* out of memory: the line is lost, not cut */
		return w->err;
	}
	w->len = w->buf.len;
	w->lines++;
	w->buffered++;
	return w->len >= FLUSH_AT ? trace_writer_flush(w) : 0;
}

static int put_line(struct trace_writer *w, const char *s, size_t n)
{
	jw_put(trace_writer_line(w), s, n);
	return trace_writer_commit(w);
}

int trace_writer_put_raw(struct trace_writer *w, const char *line, size_t n)
{
	return w->err ? w->err : put_line(w, line, n);
}

int trace_writer_put(struct trace_writer *w, const json_t *obj)
{
	char *s;
	int err;

	if (w->err)
		return w->err;
	s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s)
		return -ENOMEM;
	err = put_line(w, s, strlen(s));
	free(s);
	return err;
}

int trace_writer_close(struct trace_writer *w)
{
	int err, closed;

	if (!w)
		return 0;
	err = trace_writer_flush(w);
	if (!err && w->is_file && fsync(w->fd) && errno != EINVAL)
		err = -errno;
	closed = writer_release(w);
	return err ?: closed;   /* the first error seen */
}

uint64_t trace_writer_lines(const struct trace_writer *w)
{
	return w->lines;
}

const char *trace_writer_path(const struct trace_writer *w)
{
	return w->path;
}
