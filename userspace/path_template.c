// SPDX-License-Identifier: MIT
/* path_template.c — HTTP path → endpoint template (see path_template.h). */
#include <string.h>
#include <strings.h>

#include "path_template.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_uuid(const char *t, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? t[i] != '-' : !is_hex(t[i]))
			return false;
	}
	return true;
}

/* "123", "2024-01-31", "1.2.3", "12:30:00" */
static bool is_numeric(const char *t, size_t n)
{
	if (!is_digit(t[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_digit(t[i]) && !strchr("-._:", t[i]))
			return false;
	return true;
}

static bool is_hex_token(const char *t, size_t n)
{
	bool digit = false;

	if (n < 8)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_hex(t[i]))
			return false;
		digit |= is_digit(t[i]);
	}
	/* "deadbeef"/"facade12"? a digit is what tells ids from words */
	return digit;
}

static bool is_random_token(const char *t, size_t n)
{
	size_t digits = 0, alphas = 0, seps = 0;

	if (n < 16)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (is_digit(t[i]))
			digits++;
		else if (is_alpha(t[i]))
			alphas++;
		else if (t[i] == '-' || t[i] == '_')
			seps++;
		else
			return false;
	}
	if (!digits || !alphas)
		return false;
	/* "my-long-service-name-2" is a name; "a8Kd_3nq-Z0pQ7x..." is not */
	return seps == 0 || digits * 4 >= n;
}

bool pt_token_is_id(const char *tok, size_t len)
{
	if (!tok || len == 0)
		return false;
	if (memchr(tok, '@', len))
		return true;
	return is_numeric(tok, len) || is_uuid(tok, len) ||
	       is_hex_token(tok, len) || is_random_token(tok, len);
}

struct out_buf {
	char *p;
	size_t size;
	size_t len; /* full length, may exceed size */
};

static void out_put(struct out_buf *o, const char *s, size_t n)
{
	if (o->len < o->size) {
		size_t room = o->size - 1 - o->len;

		memcpy(o->p + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

static void out_end(struct out_buf *o)
{
	if (o->size)
		o->p[o->len < o->size ? o->len : o->size - 1] = '\0';
}

/* Skip "http://host:port" of an absolute-form target (proxies see those). */
static size_t skip_authority(const char *p, size_t n)
{
	static const char *const schemes[] = { "http://", "https://" };

	for (size_t i = 0; i < 2; i++) {
		size_t sl = strlen(schemes[i]);
		const char *slash;

		if (n < sl || strncasecmp(p, schemes[i], sl) != 0)
			continue;
		slash = memchr(p + sl, '/', n - sl);
		return slash ? (size_t)(slash - p) : n;
	}
	return 0;
}

size_t path_template(const char *path, size_t len, char *out, size_t outsz)
{
	struct out_buf o = { out, outsz, 0 };
	size_t start = 0, end;

	if (!path)
		len = 0;
	start = skip_authority(path, len);
	end = start;
	while (end < len && path[end] != '?' && path[end] != '#')
		end++;
	if (end == start) {
		out_put(&o, "/", 1);
	} else if (path[start] != '/') {
		/* "*" (OPTIONS) or an authority (CONNECT): not a path */
		out_put(&o, path + start, end - start);
	} else {
		size_t i = start;

		while (i < end) {
			size_t seg = ++i, seg_end, keep;

			out_put(&o, "/", 1);
			while (i < end && path[i] != '/')
				i++;
			seg_end = i;
			for (keep = seg; keep < seg_end && path[keep] != ';'; keep++)
				;
			if (pt_token_is_id(path + seg, keep - seg))
				out_put(&o, PT_PLACEHOLDER, strlen(PT_PLACEHOLDER));
			else
				out_put(&o, path + seg, keep - seg);
		}
	}
	out_end(&o);
	return o.len;
}
