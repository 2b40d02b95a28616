/* SPDX-License-Identifier: MIT */
/*
 * subject_match.h — NATS subject syntax and wildcard matching. Pure.
 *
 * A subject is a non-empty list of non-empty tokens separated by '.', with no
 * whitespace. In a subscription filter a token that is exactly "*" matches
 * one token and a last token that is exactly ">" matches one or more trailing
 * tokens; anywhere else '*' and '>' are ordinary characters ("a*" is literal).
 * A published subject may not contain wildcard tokens.
 */
#ifndef MSGSCOPE_SUBJECT_MATCH_H
#define MSGSCOPE_SUBJECT_MATCH_H

#include <stdbool.h>
#include <stddef.h>

/* Well-formed subject; wildcard tokens allowed only when wildcards_ok
 * (and ">" only as the last token). */
bool subject_valid(const char *s, size_t len, bool wildcards_ok);

/* Whether the (valid) filter has a "*" or ">" token. */
bool subject_has_wildcard(const char *s, size_t len);

/*
 * Does a message published on `subject` reach a subscription on `filter`?
 * False when either is malformed or the subject itself has wildcard tokens.
 */
bool subject_match(const char *filter, size_t flen, const char *subject,
		   size_t slen);

#endif /* MSGSCOPE_SUBJECT_MATCH_H */
