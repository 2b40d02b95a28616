/* SPDX-License-Identifier: MIT */
/*
 * json_writer.h — append JSON text to a growable buffer, with no allocation
 * per value: the record hot path writes tens of thousands of lines a second
 * and building a jansson tree for each one cost more than parsing.
 *
 * The caller keeps the structure well formed (keys inside objects, commas
 * are handled here). Strings are escaped; jw_string_utf8() refuses bytes
 * that are not valid UTF-8 so the caller can fall back to base64.
 */
#ifndef MSGSCOPE_JSON_WRITER_H
#define MSGSCOPE_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define JW_MAX_DEPTH 16

struct jw {
	char *buf;
	size_t len, cap;
	bool oom;                    /* an allocation failed: output incomplete */
	int depth;
	bool after_key;              /* a key was written, its value is next */
	bool first[JW_MAX_DEPTH];    /* no member written yet at this depth */
};

void jw_init(struct jw *w);
void jw_free(struct jw *w);
void jw_reset(struct jw *w);         /* empty, keep the buffer */

void jw_object_begin(struct jw *w);
void jw_object_end(struct jw *w);
void jw_array_begin(struct jw *w);
void jw_array_end(struct jw *w);
/* ---- the hot path, inline: a trace line has a dozen members ---------- */

bool jw_grow(struct jw *w, size_t more); /* false (and oom) on failure */

static inline bool jw_reserve(struct jw *w, size_t more)
{
	return w->len + more <= w->cap || jw_grow(w, more);
}

/* A comma before every value but the first at this depth. After a key the
 * value follows directly: the key already placed the comma. */
static inline void jw_sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->first[w->depth] && jw_reserve(w, 1))
		w->buf[w->len++] = ',';
	w->first[w->depth] = false;
}

static inline void jw_put(struct jw *w, const char *s, size_t n)
{
	if (jw_reserve(w, n)) {
		memcpy(w->buf + w->len, s, n);
		w->len += n;
	}
}

/* A member name or string value that is a C string literal needing no
 * escaping (no '"', '\\', control or non-ASCII bytes): copied as is, its
 * length known at compile time. */
#define jw_key_lit(w, lit) jw_key_quoted((w), "\"" lit "\":", sizeof(lit) + 2)
#define jw_string_lit(w, lit) jw_value_quoted((w), "\"" lit "\"", sizeof(lit) + 1)

/* The same as two arguments (quoted name, length), for helpers that take
 * a member name: put_str(w, JW_KEY("comm"), v). */
#define JW_KEY(lit) "\"" lit "\":", sizeof(lit) + 2

static inline void jw_key_quoted(struct jw *w, const char *q, size_t n)
{
	jw_sep(w);
	jw_put(w, q, n);
	w->after_key = true;
}

static inline void jw_value_quoted(struct jw *w, const char *q, size_t n)
{
	jw_sep(w);
	jw_put(w, q, n);
}

/* A key or string of n bytes; the NUL-terminated forms below are inline
 * so that a literal's length is known at compile time. */
void jw_key_n(struct jw *w, const char *key, size_t n);
void jw_string_n(struct jw *w, const char *s, size_t n);

static inline void jw_key(struct jw *w, const char *key)
{
	jw_key_n(w, key, __builtin_strlen(key));
}

static inline void jw_string(struct jw *w, const char *s) /* NUL-terminated */
{
	jw_string_n(w, s, __builtin_strlen(s));
}

/* false, and nothing written, if s is not valid UTF-8 */
bool jw_string_utf8(struct jw *w, const char *s, size_t n);
void jw_base64(struct jw *w, const void *data, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* Already-serialised JSON, inserted as one value. */
void jw_raw(struct jw *w, const char *json, size_t n);
/* Already-serialised members of the open object, each preceded by its
 * comma (",\"k\":v,\"k2\":v2"), after at least one member. */
void jw_raw_members(struct jw *w, const char *json, size_t n);

bool utf8_valid(const char *s, size_t n);
/* Whether s goes into a JSON string as it is: at most 32 bytes of
 * printable ASCII without '"' or '\\'. */
bool jw_plain(const char *s, size_t n);

#endif
