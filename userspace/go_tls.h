/* SPDX-License-Identifier: MIT */
/*
 * go_tls.h — where to probe crypto/tls in a Go executable.
 *
 * Reads a binary's Go build info (the "\xff Go buildinf:" blob), finds
 * crypto/tls.(*Conn).Read, Write, clientHandshake and serverHandshake in
 * .symtab, or in .gopclntab when the binary is stripped, decodes their
 * machine code to list every RET instruction (uretprobes are unsafe on Go
 * code: a goroutine stack copy carries the hijacked return address along),
 * and finds the itab of (*net.TCPConn, net.Conn) so the BPF side can check
 * what a *tls.Conn wraps before following it to its socket.
 *
 * Supported: linux/amd64 executables built by Go >= 1.17 (the register
 * ABI: receiver in RAX, slice in RBX/RCX, results in RAX/RBX/RCX), with
 * .symtab or a Go 1.16+ .gopclntab. Pure file parsing: no BPF here.
 */
#ifndef MSGSCOPE_GO_TLS_H
#define MSGSCOPE_GO_TLS_H

#include <stddef.h>
#include <stdint.h>

#define GO_TLS_MAX_RETS 32

struct go_func {
	uint64_t vaddr;          /* entry, as linked */
	uint64_t size;
	uint64_t off;            /* entry's file offset (what uprobes take) */
	uint64_t ret_off[GO_TLS_MAX_RETS]; /* file offsets of RET instructions */
	int n_rets;
	int64_t cookie;          /* itab vaddr - entry vaddr; 0: unknown */
	int found;
};

enum go_tls_fn { GO_TLS_WRITE = 0, GO_TLS_READ, GO_TLS_CLIENT_HS,
		 GO_TLS_SERVER_HS, GO_TLS__COUNT };

struct go_tls_info {
	char version[32];        /* "go1.19.8" */
	int major, minor;        /* 1, 19 */
	int stripped;            /* no .symtab: names came from .gopclntab */
	int itab_known;          /* (*net.TCPConn, net.Conn) itab found */
	struct go_func fn[GO_TLS__COUNT];
};

/*
 * Inspect the executable at path.
 *   0        a supported Go binary with crypto/tls; *out filled
 *  -ENOENT   not a Go binary, or one without crypto/tls
 *  -ENOTSUP  Go with crypto/tls but not supported: why says so
 *  other     -errno reading the file
 */
int go_tls_inspect(const char *path, struct go_tls_info *out, char *why,
		   size_t whylen);

/* Length of the x86-64 instruction at p (at most n bytes available), or
 * -1 if it is not one this decoder knows. Exposed for tests. */
int x86_insn_len(const uint8_t *p, size_t n);

extern const char *const go_tls_fn_names[GO_TLS__COUNT];

#endif
