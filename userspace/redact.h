/* SPDX-License-Identifier: MIT */
/*
 * redact.h — hide secrets seen on the wire before any sink sees a record.
 *
 * Redaction happens once, right after parsing, so the trace, the TUI and
 * stderr can only ever show what passed through here.
 */
#ifndef MSGSCOPE_REDACT_H
#define MSGSCOPE_REDACT_H

#include <stdbool.h>

#include "record.h"

#define REDACTED "[REDACTED]"

struct redactor;

struct redactor *redactor_new(void);
void redactor_free(struct redactor *r);

/*
 * Rewrite rec in place: NATS CONNECT pass/auth_token/jwt/sig values and HTTP
 * Authorization/Proxy-Authorization/Cookie/Set-Cookie header values become
 * REDACTED. Replaced slices point into the redactor's memory, valid until
 * the next call. Returns true if anything was redacted.
 */
bool redact_record(struct redactor *r, struct msg_record *rec);

/* False when redact_record() would leave rec as it is (NATS messages other
 * than CONNECT, HTTP messages without a secret header): no copy of the
 * record (2 KiB) is needed to call it. */
bool redact_applies(const struct msg_record *rec);

/* True for HTTP header names whose values are secret. */
bool redact_is_secret_header(struct slice name);

#endif
