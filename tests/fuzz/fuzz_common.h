/* SPDX-License-Identifier: MIT */
/*
 * fuzz_common.h — small helpers shared by msgscope's libFuzzer targets.
 *
 * A target turns libFuzzer's flat byte string into structured calls (chunk
 * sizes, gaps, events, records) with a bounded reader that never fails: once
 * the input is used up every read returns zeros, so any input is a valid
 * program. Nothing here allocates or keeps state between runs.
 */
#ifndef MSGSCOPE_FUZZ_COMMON_H
#define MSGSCOPE_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "record.h"
#include "record_json.h"

struct fz {
	const uint8_t *p;
	size_t left;
};

static inline struct fz fz_init(const uint8_t *data, size_t size)
{
	return (struct fz){ data, size };
}

static inline uint8_t fz_u8(struct fz *f)
{
	if (!f->left)
		return 0;
	f->left--;
	return *f->p++;
}

static inline uint16_t fz_u16(struct fz *f)
{
	return (uint16_t)(fz_u8(f) | fz_u8(f) << 8);
}

static inline uint32_t fz_u32(struct fz *f)
{
	return (uint32_t)fz_u16(f) | (uint32_t)fz_u16(f) << 16;
}

static inline uint64_t fz_u64(struct fz *f)
{
	return (uint64_t)fz_u32(f) | (uint64_t)fz_u32(f) << 32;
}

/* Up to max bytes, taken in place (no copy); *n gets how many. */
static inline const uint8_t *fz_bytes(struct fz *f, size_t max, size_t *n)
{
	const uint8_t *p = f->p;

	*n = max < f->left ? max : f->left;
	f->p += *n;
	f->left -= *n;
	return p;
}

/* A deterministic generator for split points: the same input must always
 * produce the same calls, or libFuzzer cannot reproduce what it found. */
struct fz_rng {
	uint64_t s;
};

static inline uint32_t fz_rand(struct fz_rng *r)
{
	/* xorshift64* */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return (uint32_t)((r->s * 0x2545F4914F6CDD1Dull) >> 32);
}

static inline struct fz_rng fz_rng_init(uint64_t seed)
{
	struct fz_rng r = { seed * 0x9E3779B97F4A7C15ull + 0x1234567ull };

	if (!r.s)
		r.s = 1;
	fz_rand(&r);
	return r;
}

/* Fail loudly: libFuzzer reports abort() as a crash and keeps the input. */
#define FZ_CHECK(cond, ...)                                                    \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz invariant failed: %s (%s:%d): ",  \
				#cond, __FILE__, __LINE__);                    \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			abort();                                               \
		}                                                              \
	} while (0)

/* Read every byte of a slice, so ASan sees a slice that points outside
 * what its emitter owns. The sum goes to a volatile so it is not elided. */
static volatile uint8_t fz_sink;

static inline void fz_touch(struct slice s)
{
	uint8_t x = 0;

	FZ_CHECK(s.len == 0 || s.ptr != NULL, "slice of %zu bytes with NULL ptr", s.len);
	for (size_t i = 0; i < s.len; i++)
		x ^= (uint8_t)s.ptr[i];
	fz_sink ^= x;
}

static inline void fz_touch_str(const char *s)
{
	if (s)
		fz_touch(slice_from(s, strlen(s)));
}

/* Every slice a record can carry. */
static inline void fz_touch_record(const struct msg_record *r)
{
	if (r->conn) {
		fz_touch_str(r->conn->comm);
		fz_touch_str(r->conn->local);
		fz_touch_str(r->conn->peer);
	}
	if (r->proto == PROTO_NATS) {
		const struct nats_msg *m = &r->nats;

		FZ_CHECK((unsigned)m->op < NATS_OP__COUNT, "op %d", (int)m->op);
		fz_touch(m->subject);
		fz_touch(m->reply);
		fz_touch(m->sid);
		fz_touch(m->queue);
		fz_touch(m->json);
		fz_touch(m->headers);
		fz_touch(m->payload);
	} else if (r->proto == PROTO_HTTP) {
		const struct http_msg *m = &r->http;

		FZ_CHECK(m->n_headers >= 0 && m->n_headers <= HTTP_MAX_HEADERS,
			 "n_headers %d", m->n_headers);
		fz_touch(m->method);
		fz_touch(m->path);
		fz_touch(m->version);
		fz_touch(m->reason);
		for (int i = 0; i < m->n_headers; i++) {
			fz_touch(m->headers[i].name);
			fz_touch(m->headers[i].value);
		}
		fz_touch(m->body);
	}
}

/* A record as the trace writes it: it must be one valid JSON object. The
 * parsed object is returned (caller decrefs). */
static inline json_t *fz_record_json(const struct msg_record *r)
{
	struct jw w;
	json_error_t err;
	json_t *o;

	jw_init(&w);
	record_write_json(&w, r);
	FZ_CHECK(!w.oom, "json writer out of memory");
	o = json_loadb(w.buf, w.len, JSON_ALLOW_NUL, &err);
	FZ_CHECK(o && json_is_object(o), "record JSON does not parse (%s at %d): %.*s",
		 err.text, err.position, (int)(w.len < 4000 ? w.len : 4000), w.buf);
	jw_free(&w);
	return o;
}

/* FUZZ_DEBUG=1 in the environment: targets print what one input did
 * (records, events), to check that a seed exercises what it should. */
static inline int fz_debug(void)
{
	static int on = -1;

	if (on < 0)
		on = getenv("FUZZ_DEBUG") != NULL;
	return on;
}

#endif
