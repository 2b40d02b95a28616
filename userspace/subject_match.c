// SPDX-License-Identifier: MIT
/* subject_match.c — NATS subject wildcard matching (see subject_match.h). */
#include "subject_match.h"

/* One token of s starting at *pos; advances *pos past the following '.'.
 * Returns false at the end. An empty token is returned as len 0. */
struct tok_iter {
	const char *s;
	size_t len;
	size_t pos;
	bool done;
};

static bool tok_next(struct tok_iter *it, const char **tok, size_t *tlen)
{
	size_t start = it->pos;

	if (it->done)
		return false;
	while (it->pos < it->len && it->s[it->pos] != '.')
		it->pos++;
	*tok = it->s + start;
	*tlen = it->pos - start;
	if (it->pos < it->len)
		it->pos++; /* skip '.', a token (maybe empty) follows */
	else
		it->done = true;
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	       c == '\v';
}

static bool tok_is(const char *t, size_t n, char c)
{
	return n == 1 && t[0] == c;
}

bool subject_valid(const char *s, size_t len, bool wildcards_ok)
{
	struct tok_iter it = { s, len, 0, false };
	const char *t;
	size_t n;

	if (!s || len == 0)
		return false;
	while (tok_next(&it, &t, &n)) {
		if (n == 0)
			return false;
		for (size_t i = 0; i < n; i++)
			if (is_space(t[i]) || t[i] == '\0')
				return false;
		if (tok_is(t, n, '*') && !wildcards_ok)
			return false;
		if (tok_is(t, n, '>') && (!wildcards_ok || !it.done))
			return false;
	}
	return true;
}

bool subject_has_wildcard(const char *s, size_t len)
{
	struct tok_iter it = { s, len, 0, false };
	const char *t;
	size_t n;

	if (!s)
		return false;
	while (tok_next(&it, &t, &n))
		if (tok_is(t, n, '*') || tok_is(t, n, '>'))
			return true;
	return false;
}

bool subject_match(const char *filter, size_t flen, const char *subject,
		   size_t slen)
{
	struct tok_iter fi = { filter, flen, 0, false };
	struct tok_iter si = { subject, slen, 0, false };
	const char *ft, *st;
	size_t fn, sn;

	/* Validating up front keeps the walk below simple: every token is
	 * non-empty and ">" can only be last. */
	if (!subject_valid(filter, flen, true) ||
	    !subject_valid(subject, slen, false))
		return false;
	for (;;) {
		bool have_f = tok_next(&fi, &ft, &fn);
		bool have_s;

		if (have_f && tok_is(ft, fn, '>'))
			return tok_next(&si, &st, &sn); /* one or more left */
		have_s = tok_next(&si, &st, &sn);
		if (!have_f || !have_s)
			return have_f == have_s;
		if (tok_is(ft, fn, '*'))
			continue;
		if (fn != sn)
			return false;
		for (size_t i = 0; i < fn; i++)
			if (ft[i] != st[i])
				return false;
	}
}
