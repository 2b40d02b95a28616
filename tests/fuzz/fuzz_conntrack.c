/* SPDX-License-Identifier: MIT */
/*
 * fuzz_conntrack — arbitrary sequences of kernel-style events into the
 * connection table: the real attack surface, since every byte a process on
 * the host sends or receives on a NATS/HTTP-looking socket arrives this way,
 * and the BPF side's offsets, lengths and flags are only as sane as the
 * races between threads, drops and a full ring buffer let them be.
 *
 * Input: [config] then events until the input ends.
 *   config  bits 0-1  max_conns: 1, 2, 4 or 16384
 *           bits 2-3  payload_keep: 0, 16, 4096 or 65536
 *   event   [op] ...
 *     op & 3 == 0 or 1: data event
 *       [sel]    bits 0-3 connection (0-7: ids 1-8; 8-15: ids with high
 *                bits set), bit 4 direction, bits 5-6 proto (NATS, HTTP,
 *                OTHER, raw byte from op), bit 7 unused
 *       [flags]  the event's flags byte, unfiltered
 *       [meta]   bits 0-1 role (raw), bits 2-3 tgid (100, 101, 102, raw),
 *                bits 4-5 family (AF_INET, AF_INET6, 0, 0xffff)
 *       [offm]   bits 0-1 offset: contiguous, forward gap (u16), overlap
 *                back (u16), raw u64; bits 2-3 length: = cap, cap + u16,
 *                raw u32, cap / 2 (a lying kernel); bits 4-7 unused
 *       [u16 cap] [offset operand] [length operand] [u32 tgid if raw]
 *       [u16 local port] [cap bytes]
 *     op & 3 == 2: close  [sel: bits 0-3 conn, 4-5 tgid, 6-7 family]
 *       [mode: bits 0-1 0 clean, 1 tail gap, 2-3 raw; the rest proto/role]
 *       [u32 tgid if raw] [u16 local port] [u16 x2 or u64 x2 as the mode says]
 *     op & 3 == 3: bit 2 clear: process exit [tgid sel]; set: flush
 * Contiguous offsets follow what the "kernel" (this harness) last shipped on
 * that connection and direction, so seeds from captures parse for real.
 *
 * Invariants: the table never holds more than max_conns connections, every
 * record carries its connection's metadata, stats.records counts exactly the
 * records delivered, and all of a record's slices are readable.
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include "conntrack.h"
#include "fuzz_common.h"

#define NCONN 16

static const size_t max_conns_v[4] = { 1, 2, 4, 16384 };
static const size_t keep_v[4] = { 0, 16, 4096, 65536 };

struct run {
	size_t max_conns;
	uint64_t records;
};

static uint64_t conn_id(unsigned idx)
{
	idx &= NCONN - 1;
	return idx < 8 ? idx + 1 : (uint64_t)idx << 60 | idx;
}

static void on_record(const struct msg_record *rec, void *ctx)
{
	struct run *run = ctx;

	run->records++;
	FZ_CHECK(rec->conn != NULL, "record without connection");
	FZ_CHECK(rec->proto == PROTO_NATS || rec->proto == PROTO_HTTP, "proto %d", rec->proto);
	FZ_CHECK(memchr(rec->conn->comm, 0, COMM_LEN) != NULL, "comm not terminated");
	FZ_CHECK(memchr(rec->conn->local, 0, ADDR_STRLEN) != NULL, "local not terminated");
	FZ_CHECK(memchr(rec->conn->peer, 0, ADDR_STRLEN) != NULL, "peer not terminated");
	fz_touch_record(rec);
}

static uint32_t tgid_of(struct fz *in, unsigned sel)
{
	static const uint32_t t[3] = { 100, 101, 102 };

	return sel < 3 ? t[sel] : fz_u32(in);
}

static void fill_header(struct ms_event_header *h, uint32_t type, uint64_t id,
			uint32_t tgid, uint64_t ts)
{
	h->type = type;
	h->tgid = tgid;
	h->tid = tgid;
	h->fd = 3;
	h->ts_ns = ts;
	h->conn_id = id;
	/* A comm filling all 16 bytes, no NUL: the kernel's may. */
	memcpy(h->comm, "fuzzfuzzfuzzfuzz", MS_COMM_LEN);
}

static void fill_tuple(struct ms_tuple *t, unsigned fam_sel, struct fz *in)
{
	static const uint16_t fam[4] = { AF_INET, AF_INET6, 0, 0xffff };

	memset(t, 0, sizeof(*t));
	t->family = fam[fam_sel & 3];
	t->lport = fz_u16(in);
	t->rport = 4222;
	memset(t->laddr, 0xff, sizeof(t->laddr));
	memset(t->raddr, 0x7f, sizeof(t->raddr));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = fz_init(data, size);
	uint8_t config = fz_u8(&in);
	struct run run = { .max_conns = max_conns_v[config & 3] };
	struct conntrack_opts opts = {
		.payload_keep = keep_v[(config >> 2) & 3],
		.max_conns = run.max_conns,
	};
	struct conntrack *ct = conntrack_new(&opts, on_record, &run);
	uint64_t next[NCONN][2] = { { 0 } }; /* what the kernel shipped so far */
	uint64_t ts = 1000;
	struct conntrack_stats st;

	FZ_CHECK(ct, "out of memory");
	while (in.left) {
		uint8_t op = fz_u8(&in);

		ts += 1000;
		switch (op & 3) {
		case 0: case 1: {
			uint8_t sel = fz_u8(&in), flags = fz_u8(&in), meta = fz_u8(&in);
			uint8_t offm = fz_u8(&in);
			unsigned idx = sel & (NCONN - 1), dir = (sel >> 4) & 1;
			static const uint8_t protos[3] = { MS_PROTO_NATS, MS_PROTO_HTTP, MS_PROTO_OTHER };
			unsigned psel = (sel >> 5) & 3;
			size_t want = fz_u16(&in), cap;
			uint64_t off, len;
			struct ms_data_event *e;
			struct ms_tuple tuple;
			const uint8_t *bytes;
			uint32_t tgid;

			switch (offm & 3) {
			case 0: off = next[idx][dir]; break;
			case 1: off = next[idx][dir] + fz_u16(&in); break;
			case 2: off = next[idx][dir] - fz_u16(&in); break;
			default: off = fz_u64(&in); break;
			}
			switch ((offm >> 2) & 3) {
			case 0: len = UINT64_MAX; break; /* = cap, below */
			case 1: len = fz_u16(&in); break; /* added to cap below */
			case 2: len = fz_u32(&in); break;
			default: len = 0; break;
			}
			/* Every fixed field comes before the payload bytes. */
			tgid = tgid_of(&in, (meta >> 2) & 3);
			fill_tuple(&tuple, meta >> 4, &in);
			bytes = fz_bytes(&in, want, &cap);
			switch ((offm >> 2) & 3) {
			case 0: len = cap; break;
			case 1: len = cap + len; if (len > UINT32_MAX) len = UINT32_MAX; break;
			case 3: len = cap / 2; break;
			}
			/* Exactly the bytes the header promises, on the heap,
			 * so a read past cap_len is an ASan report. */
			e = malloc(sizeof(*e) + cap);
			FZ_CHECK(e, "out of memory");
			memset(e, 0, sizeof(*e));
			fill_header(&e->h, MS_EV_DATA, conn_id(idx), tgid, ts);
			e->tuple = tuple;
			e->stream_off = off;
			e->len = (uint32_t)len;
			e->cap_len = (uint32_t)cap;
			e->dir = dir;
			e->proto = psel < 3 ? protos[psel] : op;
			e->role = meta & 3;
			e->flags = flags;
			e->syscall = MS_SC_WRITE;
			memcpy(e->data, bytes, cap);
			conntrack_data(ct, e, ts);
			next[idx][dir] = off + (uint32_t)len;
			free(e);
			break;
		}
		case 2: {
			uint8_t sel = fz_u8(&in), mode = fz_u8(&in);
			unsigned idx = sel & (NCONN - 1);
			struct ms_close_event e;

			memset(&e, 0, sizeof(e));
			fill_header(&e.h, MS_EV_CLOSE, conn_id(idx), tgid_of(&in, (sel >> 4) & 3), ts);
			fill_tuple(&e.tuple, sel >> 6, &in);
			switch (mode & 3) {
			case 0:
				e.stream_end[0] = next[idx][0];
				e.stream_end[1] = next[idx][1];
				break;
			case 1:
				e.stream_end[0] = next[idx][0] + fz_u16(&in);
				e.stream_end[1] = next[idx][1] + fz_u16(&in);
				break;
			default:
				e.stream_end[0] = fz_u64(&in);
				e.stream_end[1] = fz_u64(&in);
				break;
			}
			e.proto = mode >> 2;
			e.role = mode >> 5;
			conntrack_close(ct, &e, ts);
			/* A new connection may reuse the id from offset 0. */
			next[idx][0] = next[idx][1] = 0;
			break;
		}
		default:
			if (op & 4)
				conntrack_flush(ct, ts);
			else
				conntrack_proc_exit(ct, tgid_of(&in, (op >> 3) & 3), ts);
			break;
		}
		st = conntrack_stats(ct);
		FZ_CHECK(st.conns_open <= run.max_conns, "%llu open > max %zu",
			 (unsigned long long)st.conns_open, run.max_conns);
		FZ_CHECK(st.records == run.records, "stats %llu records, %llu delivered",
			 (unsigned long long)st.records, (unsigned long long)run.records);
	}
	conntrack_flush(ct, ts);
	st = conntrack_stats(ct);
	if (fz_debug())
		fprintf(stderr, "conntrack: %llu records, %llu conns, %llu evicted, %llu errors, %llu resyncs, %llu gap bytes\n",
			(unsigned long long)st.records, (unsigned long long)st.conns_total,
			(unsigned long long)st.conns_evicted, (unsigned long long)st.parse_errors,
			(unsigned long long)st.resyncs, (unsigned long long)st.gap_bytes);
	FZ_CHECK(st.conns_open == 0, "%llu open after flush", (unsigned long long)st.conns_open);
	FZ_CHECK(st.conns_total >= st.conns_evicted, "evicted more than seen");
	conntrack_free(ct);
	return 0;
}
