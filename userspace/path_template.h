/* SPDX-License-Identifier: MIT */
/*
 * path_template.h — HTTP request target → endpoint template. Pure.
 *
 * "/v2/apps/1b2c3d4e-…/instances?inline=1" → "/v2/apps/{id}/instances":
 * the scheme and authority of an absolute-form target, the query string, the
 * fragment and ";params" of each segment are dropped, and every segment that
 * looks like an identifier becomes PT_PLACEHOLDER, so that calls differing
 * only by the object they address group into one endpoint.
 */
#ifndef MSGSCOPE_PATH_TEMPLATE_H
#define MSGSCOPE_PATH_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#define PT_PLACEHOLDER "{id}"
/* Enough for any template worth showing; longer ones are cut. */
#define PATH_TEMPLATE_MAX 256

/*
 * Is this path segment (or NATS subject token) an identifier rather than a
 * name? Yes for: numbers; digits with separators ("2024-01-31", "1.2.3");
 * UUIDs; hex strings of 8+ characters with a digit; tokens of 16+ characters
 * from [A-Za-z0-9_-] that mix letters and digits (NUIDs, base64url ids) —
 * unless they read like hyphenated words (few digits); anything with '@'.
 */
bool pt_token_is_id(const char *tok, size_t len);

/*
 * Write the template of path[0..len) to out (always NUL-terminated when
 * outsz > 0). Returns the template's full length, like snprintf: a result
 * >= outsz means it was cut.
 */
size_t path_template(const char *path, size_t len, char *out, size_t outsz);

#endif /* MSGSCOPE_PATH_TEMPLATE_H */
