/* SPDX-License-Identifier: MIT */
/*
 * fuzz_nats_parser — one direction of a NATS stream, as strangers may write
 * it, cut into arbitrary pieces with arbitrary holes.
 *
 * Input: [flags][split seed][stream bytes...]
 *   flags bit 0      synced (stream seen from its first byte)
 *   flags bits 1-2   payload_keep: 0, 16, 1024 or 65536 bytes
 *   flags bit 3      direction (send/recv): copied into records
 *   flags bits 4-7   how often a hole replaces stream bytes (0: never)
 * The split seed drives a deterministic generator of piece sizes and holes,
 * so the same input always makes the same calls. A seed made from a capture
 * is two zero bytes followed by the capture.
 *
 * Every record goes through the rest of the record path too: its slices are
 * read byte by byte (ASan catches one that points outside its buffer), it is
 * redacted and serialised to JSON, and the JSON must parse back. Checked
 * invariants: payload never exceeds payload_keep, memory held by the parser
 * stays within the documented bound, a redacted CONNECT keeps none of its
 * secret fields.
 */
#include <jansson.h>

#include "fuzz_common.h"
#include "nats_parser.h"
#include "record_json.h"
#include "redact.h"

static const size_t keeps[4] = { 0, 16, 1024, 65536 };

struct run {
	size_t keep;
	enum direction dir;
	struct redactor *red;
	uint64_t records;
};

/* Would nats-server (Go encoding/json: Unicode simple case folding) read
 * this key as one of the secret fields? Decodes the key's code points:
 * ASCII letters fold, U+017F (long s) is s, U+212A (Kelvin sign) is k. */
static bool go_key_is_secret(const char *key)
{
	static const char *const secret[] = { "pass", "auth_token", "jwt", "sig" };
	const unsigned char *p = (const unsigned char *)key;
	char folded[64];
	size_t n = 0;

	while (*p && n + 1 < sizeof(folded)) {
		uint32_t cp;

		if (p[0] < 0x80) {
			cp = *p++;
		} else if ((p[0] & 0xe0) == 0xc0 && p[1]) {
			cp = (p[0] & 0x1fu) << 6 | (p[1] & 0x3fu);
			p += 2;
		} else if ((p[0] & 0xf0) == 0xe0 && p[1] && p[2]) {
			cp = (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
			p += 3;
		} else {
			return false;
		}
		if (cp >= 'A' && cp <= 'Z')
			cp += 'a' - 'A';
		else if (cp == 0x17f)
			cp = 's';
		else if (cp == 0x212a)
			cp = 'k';
		if (cp >= 0x80)
			return false;
		folded[n++] = (char)cp;
	}
	folded[n] = '\0';
	for (size_t i = 0; i < sizeof(secret) / sizeof(*secret); i++)
		if (!strcmp(folded, secret[i]))
			return true;
	return false;
}

/* A CONNECT that was redacted must not carry pass/auth_token/jwt/sig with
 * a value other than REDACTED, under any key nats-server would take for
 * one of them. */
static void check_connect_redacted(const struct msg_record *r)
{
	json_t *o = fz_record_json(r), *c;
	const char *k;
	json_t *v;

	c = json_object_get(o, "connect");
	if (json_is_object(c)) {
		json_object_foreach(c, k, v) {
			if (!go_key_is_secret(k))
				continue;
			FZ_CHECK(json_is_string(v) && !strcmp(json_string_value(v), REDACTED),
				 "CONNECT field %s not redacted", k);
		}
	}
	json_decref(o);
}

static void on_record(const struct msg_record *rec, void *ctx)
{
	struct run *run = ctx;
	struct msg_record r = *rec;
	json_t *o;

	run->records++;
	FZ_CHECK(rec->proto == PROTO_NATS, "proto %d", rec->proto);
	FZ_CHECK(rec->dir == run->dir, "dir %d", rec->dir);
	FZ_CHECK(rec->conn == NULL, "parser invented a connection");
	fz_touch_record(rec);
	FZ_CHECK(rec->nats.payload.len <= run->keep,
		 "payload %zu > keep %zu", rec->nats.payload.len, run->keep);
	if (rec->nats.op == NATS_PUB || rec->nats.op == NATS_MSG ||
	    rec->nats.op == NATS_HPUB || rec->nats.op == NATS_HMSG)
		FZ_CHECK(rec->nats.payload.len <= rec->nats.size,
			 "payload %zu > declared size %llu", rec->nats.payload.len,
			 (unsigned long long)rec->nats.size);
	/* The JSON of the record as parsed, then redacted. */
	o = fz_record_json(&r);
	json_decref(o);
	redact_record(run->red, &r);
	fz_touch_record(&r);
	if (r.nats.op == NATS_CONNECT)
		check_connect_redacted(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = fz_init(data, size);
	uint8_t flags = fz_u8(&in), seed = fz_u8(&in);
	struct fz_rng rng = fz_rng_init((uint64_t)flags << 8 | seed);
	unsigned hole_rate = flags >> 4;
	struct run run = {
		.keep = keeps[(flags >> 1) & 3],
		.dir = (flags & 8) ? DIR_RECV : DIR_SEND,
		.red = redactor_new(),
	};
	struct nats_parser *p = nats_parser_new(run.dir, run.keep, flags & 1);
	uint64_t ts = 1;

	FZ_CHECK(p && run.red, "out of memory");
	while (in.left) {
		uint32_t r = fz_rand(&rng);
		size_t want, n;
		const uint8_t *piece;

		/* Mostly small pieces (every boundary matters), some large. */
		want = (r & 3) ? 1 + (r >> 2) % 16 : 1 + (r >> 2) % 8192;
		piece = fz_bytes(&in, want, &n);
		if (hole_rate && fz_rand(&rng) % 32 < hole_rate) {
			uint32_t h = fz_rand(&rng);
			/* The piece is lost; sometimes much more than it. */
			uint64_t missing = (h & 7) == 0 ? (uint64_t)h << 20 | n : n;

			if (missing)
				nats_parser_gap(p, ts, missing, on_record, &run);
		} else {
			nats_parser_feed(p, ts, piece, n, on_record, &run);
		}
		/* NATS_LINE_MAX covers the control line and the kept headers,
		 * payload_keep the payload; allow for the struct and rounding. */
		FZ_CHECK(nats_parser_memory(p) <= 2 * NATS_LINE_MAX + run.keep + 64 * 1024,
			 "parser holds %zu bytes (keep %zu)", nats_parser_memory(p), run.keep);
		ts += 1000;
	}
	FZ_CHECK(nats_parser_stats(p)->messages == run.records,
		 "stats say %llu records, %llu seen",
		 (unsigned long long)nats_parser_stats(p)->messages,
		 (unsigned long long)run.records);
	if (fz_debug())
		fprintf(stderr, "nats: %llu records, %llu errors, %llu resyncs\n",
			(unsigned long long)run.records,
			(unsigned long long)nats_parser_stats(p)->errors,
			(unsigned long long)nats_parser_stats(p)->resyncs);
	nats_parser_free(p);
	redactor_free(run.red);
	return 0;
}
