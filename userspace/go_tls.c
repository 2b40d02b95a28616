/* SPDX-License-Identifier: MIT */
#include "go_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf_syms.h"

const char *const go_tls_fn_names[GO_TLS__COUNT] = {
	"crypto/tls.(*Conn).Write",
	"crypto/tls.(*Conn).Read",
	"crypto/tls.(*Conn).clientHandshake",
	"crypto/tls.(*Conn).serverHandshake",
};

/* Methods of *net.TCPConn at fixed places of its net.Conn itab: net.Conn's
 * methods sorted by name are Close, LocalAddr, Read, RemoteAddr,
 * SetDeadline, SetReadDeadline, SetWriteDeadline, Write. */
static const char *const tcpconn_methods[3] = {
	"net.(*TCPConn).Close", "net.(*TCPConn).Read", "net.(*TCPConn).Write",
};
static const int tcpconn_slots[3] = { 0, 2, 7 };

/* ---- x86-64 instruction lengths ----------------------------------------- */
/*
 * A length decoder, not a disassembler: enough to walk a function from its
 * entry instruction by instruction and so tell a RET opcode (0xC3) from a
 * 0xC3 byte inside a displacement or an immediate. A linear sweep is exact
 * for Go: its compiler never puts data (jump tables, literals) in .text and
 * pads between functions with INT3. Anything unknown fails the whole
 * function, so we never place a breakpoint mid-instruction.
 */

/* One-byte map: bit 0 ModRM; bits 1-3 immediate kind. */
enum { M = 1, I8 = 2, I16 = 4, IZ = 6, I64Z = 8, IMOFF = 10, I16_8 = 12, BAD = 16 };

static const uint8_t map1[256] = {
	/* 00 */ M, M, M, M, I8, IZ, BAD, BAD, M, M, M, M, I8, IZ, BAD, 0,
	/* 10 */ M, M, M, M, I8, IZ, BAD, BAD, M, M, M, M, I8, IZ, BAD, BAD,
	/* 20 */ M, M, M, M, I8, IZ, 0, BAD, M, M, M, M, I8, IZ, 0, BAD,
	/* 30 */ M, M, M, M, I8, IZ, 0, BAD, M, M, M, M, I8, IZ, 0, BAD,
	/* 40 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 50 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 60 */ BAD, BAD, BAD, M, 0, 0, 0, 0, IZ, M | IZ, I8, M | I8, 0, 0, 0, 0,
	/* 70 */ I8, I8, I8, I8, I8, I8, I8, I8, I8, I8, I8, I8, I8, I8, I8, I8,
	/* 80 */ M | I8, M | IZ, BAD, M | I8, M, M, M, M, M, M, M, M, M, M, M, M,
	/* 90 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, BAD, 0, 0, 0, 0, 0,
	/* A0 */ IMOFF, IMOFF, IMOFF, IMOFF, 0, 0, 0, 0, I8, IZ, 0, 0, 0, 0, 0, 0,
	/* B0 */ I8, I8, I8, I8, I8, I8, I8, I8, I64Z, I64Z, I64Z, I64Z, I64Z, I64Z, I64Z, I64Z,
	/* C0 */ M | I8, M | I8, I16, 0, BAD, BAD, M | I8, M | IZ, I16_8, 0, I16, 0, 0, I8, BAD, 0,
	/* D0 */ M, M, M, M, BAD, BAD, BAD, 0, M, M, M, M, M, M, M, M,
	/* E0 */ I8, I8, I8, I8, I8, I8, I8, I8, IZ, IZ, BAD, I8, 0, 0, 0, 0,
	/* F0 */ 0, 0, 0, 0, 0, 0, M, M, 0, 0, 0, 0, 0, 0, M, M,
};

static int modrm_len(const uint8_t *p, size_t n, bool addr32)
{
	uint8_t modrm, mod, rm;
	int len = 1;

	(void)addr32; /* 64- and 32-bit addressing share the ModRM/SIB forms */
	if (n < 1)
		return -1;
	modrm = p[0];
	mod = modrm >> 6;
	rm = modrm & 7;
	if (mod == 3)
		return 1;
	if (rm == 4) {
		if (n < 2)
			return -1;
		len++;
		if (mod == 0 && (p[1] & 7) == 5)
			len += 4;
	} else if (mod == 0 && rm == 5) {
		len += 4; /* RIP-relative */
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2)
		len += 4;
	return len;
}

/* Immediate size of 0F-map opcodes (ModRM is present for most). */
static int map0f(uint8_t op, bool *modrm, int *imm)
{
	*imm = 0;
	*modrm = true;
	switch (op) {
	case 0x05: case 0x06: case 0x07: case 0x08: case 0x09: case 0x0B:
	case 0x0E: case 0x30: case 0x31: case 0x32: case 0x33: case 0x34:
	case 0x35: case 0x37: case 0x77: case 0xA0: case 0xA1: case 0xA2:
	case 0xA8: case 0xA9: case 0xAA:
		*modrm = false;
		return 0;
	case 0x0F: case 0x70: case 0x71: case 0x72: case 0x73: case 0xA4:
	case 0xAC: case 0xBA: case 0xC2: case 0xC4: case 0xC5: case 0xC6:
		*imm = 1;
		return 0;
	case 0x04: case 0x0A: case 0x0C: case 0x24: case 0x25: case 0x26:
	case 0x27: case 0x36: case 0x39: case 0x3B: case 0x3C: case 0x3D:
	case 0x3E: case 0x3F: case 0x7A: case 0x7B: case 0xFF:
		return -1;
	}
	if (op >= 0x80 && op <= 0x8F) {
		*modrm = false;
		*imm = 4; /* Jcc rel32 */
	} else if (op >= 0xC8 && op <= 0xCF) {
		*modrm = false; /* BSWAP */
	}
	return 0;
}

/* VEX/EVEX: opcode map m (1: 0F, 2: 0F38, 3: 0F3A), opcode op. */
static int vex_imm(int m, uint8_t op)
{
	if (m == 3)
		return 1;
	if (m == 1 && ((op >= 0x70 && op <= 0x73) || op == 0xC2 ||
		       (op >= 0xC4 && op <= 0xC6)))
		return 1;
	return 0;
}

int x86_insn_len(const uint8_t *p, size_t n)
{
	size_t i = 0;
	bool opsize = false, addr32 = false, rexw = false;
	uint8_t op;
	int kind, ml, imm;

	/* legacy prefixes */
	for (;; i++) {
		if (i >= n || i >= 14)
			return -1;
		switch (p[i]) {
		case 0x66: opsize = true; continue;
		case 0x67: addr32 = true; continue;
		case 0xF0: case 0xF2: case 0xF3: case 0x2E: case 0x36:
		case 0x3E: case 0x26: case 0x64: case 0x65:
			continue;
		}
		break;
	}
	if ((p[i] & 0xF0) == 0x40) { /* REX */
		rexw = p[i] & 8;
		if (++i >= n)
			return -1;
	}
	op = p[i++];
	if (op == 0xC4 || op == 0xC5 || op == 0x62) {
		/* VEX (3- and 2-byte) and EVEX: always so in 64-bit mode */
		int m;

		if (op == 0xC5) {
			if (i + 1 > n)
				return -1;
			m = 1;
			i += 1;
		} else if (op == 0xC4) {
			if (i + 2 > n)
				return -1;
			m = p[i] & 0x1F;
			i += 2;
		} else {
			if (i + 3 > n)
				return -1;
			m = p[i] & 0x07;
			i += 3;
		}
		if (m < 1 || m > 3 || i >= n)
			return -1;
		op = p[i++];
		if (m == 1 && op == 0x77) /* VZEROUPPER/VZEROALL: no ModRM */
			return i <= n ? (int)i : -1;
		ml = modrm_len(p + i, n - i, addr32);
		if (ml < 0)
			return -1;
		i += ml + vex_imm(m, op);
		return i <= n ? (int)i : -1;
	}
	if (op == 0x0F) {
		bool has_modrm;

		if (i >= n)
			return -1;
		op = p[i++];
		if (op == 0x38 || op == 0x3A) {
			imm = op == 0x3A ? 1 : 0;
			if (i >= n)
				return -1;
			i++; /* the third opcode byte */
			ml = modrm_len(p + i, n - i, addr32);
			if (ml < 0)
				return -1;
			i += ml + imm;
			return i <= n ? (int)i : -1;
		}
		if (map0f(op, &has_modrm, &imm))
			return -1;
		if (has_modrm) {
			ml = modrm_len(p + i, n - i, addr32);
			if (ml < 0)
				return -1;
			i += ml;
		}
		i += imm;
		return i <= n ? (int)i : -1;
	}
	kind = map1[op];
	if (kind & BAD)
		return -1;
	if (kind & M) {
		ml = modrm_len(p + i, n - i, addr32);
		if (ml < 0)
			return -1;
		/* TEST r/m, imm (F6 /0 /1, F7 /0 /1) */
		if ((op == 0xF6 || op == 0xF7) && ((p[i] >> 3) & 7) < 2)
			kind |= op == 0xF6 ? I8 : IZ;
		i += ml;
	}
	switch (kind & ~M) {
	case 0: break;
	case I8: i += 1; break;
	case I16: i += 2; break;
	case IZ: i += opsize ? 2 : 4; break;
	case I64Z: i += rexw ? 8 : (opsize ? 2 : 4); break;
	case IMOFF: i += addr32 ? 4 : 8; break;
	case I16_8: i += 3; break;
	default: return -1;
	}
	return i <= n ? (int)i : -1;
}

/* ---- ELF access --------------------------------------------------------- */

struct bin {
	int fd;
	Elf *elf;
	size_t shstrndx;
};

static Elf_Scn *section(struct bin *b, const char *name, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(b->elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, sh))
			continue;
		n = elf_strptr(b->elf, b->shstrndx, sh->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

/* Copy len bytes at virtual address va from whichever section holds them. */
static int read_va(struct bin *b, uint64_t va, void *dst, size_t len)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(b->elf, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) ||
		    sh.sh_type == SHT_NOBITS || va < sh.sh_addr ||
		    va + len > sh.sh_addr + sh.sh_size)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || va - sh.sh_addr + len > d->d_size)
			return -1;
		memcpy(dst, (char *)d->d_buf + (va - sh.sh_addr), len);
		return 0;
	}
	return -1;
}

/* ---- build info --------------------------------------------------------- */

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* -ENOENT: no build info (not Go, or Go before 1.13). */
static int go_version(struct bin *b, char *ver, size_t len)
{
	static const char magic[] = "\xff Go buildinf:";
	GElf_Shdr sh;
	Elf_Scn *scn = section(b, ".go.buildinfo", &sh);
	Elf_Data *d;
	const uint8_t *p;
	uint64_t slen = 0;
	size_t i = 32;
	int shift = 0;

	if (!scn || !(d = elf_getdata(scn, NULL)) || d->d_size < 48)
		return -ENOENT;
	p = d->d_buf;
	if (memcmp(p, magic, 14))
		return -ENOENT;
	if (p[14] != 8 || (p[15] & 1))
		return -ENOTSUP; /* not a 64-bit little-endian binary */
	if (p[15] & 2) {
		/* Go >= 1.18: length-prefixed strings inline */
		for (; i < d->d_size && shift < 63; shift += 7) {
			slen |= (uint64_t)(p[i] & 0x7F) << shift;
			if (!(p[i++] & 0x80))
				break;
		}
		if (i + slen > d->d_size)
			return -ENOENT;
		snprintf(ver, len, "%.*s", (int)slen, (const char *)p + i);
		return 0;
	}
	/* Go 1.13-1.17: a pointer to a string header {ptr, len} */
	{
		uint8_t hdr[16];
		char tmp[64] = "";

		if (read_va(b, rd64(p + 16), hdr, 16))
			return -ENOENT;
		slen = rd64(hdr + 8);
		if (slen >= sizeof(tmp) || read_va(b, rd64(hdr), tmp, slen))
			return -ENOENT;
		snprintf(ver, len, "%.*s", (int)slen, tmp);
	}
	return 0;
}

static void parse_version(const char *v, int *major, int *minor)
{
	const char *p = strstr(v, "go1.");

	*major = *minor = 0;
	if (!p)
		return;
	*major = 1;
	*minor = atoi(p + 4);
}

/* ---- symbols ------------------------------------------------------------ */

/* Looks names up, from .symtab or .gopclntab; fills vaddr/size. */
struct want {
	const char *name;
	uint64_t vaddr, size;
	bool found;
};

static int lookup_symtab(struct bin *b, struct want *w, size_t nw)
{
	GElf_Shdr sh;
	Elf_Scn *scn = section(b, ".symtab", &sh);
	Elf_Data *d;
	size_t n;

	if (!scn || sh.sh_type != SHT_SYMTAB || !(d = elf_getdata(scn, NULL)))
		return -ENOENT;
	n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym s;
		const char *name;

		if (!gelf_getsym(d, i, &s) || !s.st_name)
			continue;
		name = elf_strptr(b->elf, sh.sh_link, s.st_name);
		if (!name)
			continue;
		for (size_t k = 0; k < nw; k++)
			if (!w[k].found && !strcmp(name, w[k].name)) {
				w[k].vaddr = s.st_value;
				w[k].size = s.st_size;
				w[k].found = true;
			}
	}
	return 0;
}

/*
 * .gopclntab, Go 1.16+ layouts (magic 0xfffffffa: 1.16-1.17; 0xfffffff0:
 * 1.18-1.19; 0xfffffff1: 1.20+). Its function table lists every function's
 * entry and name; a function ends where the next begins.
 */
static int lookup_pclntab(struct bin *b, struct want *w, size_t nw)
{
	GElf_Shdr sh, tsh;
	Elf_Scn *scn = section(b, ".gopclntab", &sh);
	Elf_Data *d;
	const uint8_t *p;
	uint64_t nfunc, text = 0, nameoff, pcln;
	size_t size;
	uint32_t magic;
	bool v116;

	if (!scn || !(d = elf_getdata(scn, NULL)) || d->d_size < 72)
		return -ENOENT;
	p = d->d_buf;
	size = d->d_size;
	magic = rd32(p);
	if (magic != 0xfffffffa && magic != 0xfffffff0 && magic != 0xfffffff1)
		return -ENOTSUP;
	if (p[7] != 8)
		return -ENOTSUP;
	v116 = magic == 0xfffffffa;
	nfunc = rd64(p + 8);
	if (v116) {
		nameoff = rd64(p + 24);
		pcln = rd64(p + 56);
	} else {
		text = rd64(p + 24);
		nameoff = rd64(p + 32);
		pcln = rd64(p + 64);
		if (!text && section(b, ".text", &tsh))
			text = tsh.sh_addr; /* PIE: relocated at run time */
	}
	for (uint64_t i = 0; i < nfunc; i++) {
		uint64_t ent, next, fo, fpos, noff;
		const char *name;

		if (v116) {
			if (pcln + (i + 2) * 16 > size)
				return -EINVAL;
			ent = rd64(p + pcln + i * 16);
			fo = rd64(p + pcln + i * 16 + 8);
			next = rd64(p + pcln + (i + 1) * 16);
			fpos = pcln + fo;
			if (fpos + 12 > size)
				return -EINVAL;
			noff = rd32(p + fpos + 8);
		} else {
			if (pcln + (i + 2) * 8 > size)
				return -EINVAL;
			ent = text + rd32(p + pcln + i * 8);
			fo = rd32(p + pcln + i * 8 + 4);
			next = text + rd32(p + pcln + (i + 1) * 8);
			fpos = pcln + fo;
			if (fpos + 8 > size)
				return -EINVAL;
			noff = rd32(p + fpos + 4);
		}
		if (nameoff + noff >= size)
			continue;
		name = (const char *)p + nameoff + noff;
		for (size_t k = 0; k < nw; k++) {
			size_t nl = strlen(w[k].name) + 1;

			if (w[k].found || nameoff + noff + nl > size ||
			    memcmp(name, w[k].name, nl))
				continue;
			w[k].vaddr = ent;
			w[k].size = next > ent ? next - ent : 0;
			w[k].found = true;
		}
	}
	return 0;
}

/* ---- RET discovery ------------------------------------------------------ */

static int find_rets(struct bin *b, struct go_func *f, char *why, size_t wl,
		     const char *name)
{
	uint8_t *code;
	uint64_t pos = 0, off;

	if (!f->size || f->size > (1 << 20)) {
		snprintf(why, wl, "%s has no usable size", name);
		return -ENOTSUP;
	}
	code = malloc(f->size);
	if (!code)
		return -ENOMEM;
	/*
	 * pread(), not libelf's mapping of the file: uprobes already on this
	 * file (another msgscope, or ours from an earlier exec) have their
	 * INT3s written into every private executable-capable mapping of it,
	 * ours included, and these are the very bytes they patch.
	 */
	if (elf_va_to_off(b->elf, f->vaddr, &off) ||
	    pread(b->fd, code, f->size, off) != (ssize_t)f->size) {
		free(code);
		snprintf(why, wl, "cannot read the code of %s", name);
		return -ENOTSUP;
	}
	while (pos < f->size) {
		int len = x86_insn_len(code + pos, f->size - pos);

		if (len <= 0) {
			snprintf(why, wl, "unknown instruction at %s+%#llx (byte %02x)", name,
				 (unsigned long long)pos, code[pos]);
			free(code);
			return -ENOTSUP;
		}
		if (len == 1 && code[pos] == 0xC3) {
			if (f->n_rets == GO_TLS_MAX_RETS) {
				snprintf(why, wl, "%s has more than %d RETs", name, GO_TLS_MAX_RETS);
				free(code);
				return -ENOTSUP;
			}
			if (elf_va_to_off(b->elf, f->vaddr + pos, &off)) {
				free(code);
				return -ENOTSUP;
			}
			f->ret_off[f->n_rets++] = off;
		}
		pos += len;
	}
	free(code);
	if (!f->n_rets) {
		snprintf(why, wl, "no RET found in %s", name);
		return -ENOTSUP;
	}
	return 0;
}

/* The itab of (*net.TCPConn, net.Conn): by name in .symtab, else the one
 * whose method slots hold *TCPConn's Close, Read and Write. */
static uint64_t find_itab(struct bin *b, const struct want *m)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	for (int k = 0; k < 3; k++)
		if (!m[k].found)
			return 0;
	while ((scn = elf_nextscn(b->elf, scn))) {
		Elf_Data *d;
		const uint8_t *p;

		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) ||
		    (sh.sh_flags & SHF_EXECINSTR) || sh.sh_type != SHT_PROGBITS)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			continue;
		p = d->d_buf;
		/* itab: inter, _type, hash+pad, fun[...] at +24 */
		for (size_t o = 0; o + 24 + 8 * 8 <= d->d_size; o += 8) {
			if (rd64(p + o + 24 + 8 * tcpconn_slots[0]) != m[0].vaddr)
				continue;
			if (rd64(p + o + 24 + 8 * tcpconn_slots[1]) == m[1].vaddr &&
			    rd64(p + o + 24 + 8 * tcpconn_slots[2]) == m[2].vaddr)
				return sh.sh_addr + o;
		}
	}
	return 0;
}

int go_tls_inspect(const char *path, struct go_tls_info *out, char *why,
		   size_t whylen)
{
	struct want w[GO_TLS__COUNT + 5];
	struct bin b = { .fd = -1 };
	GElf_Ehdr eh;
	GElf_Shdr sh;
	uint64_t itab = 0;
	int err;

	memset(out, 0, sizeof(*out));
	if (why && whylen)
		*why = '\0';
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	b.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (b.fd < 0)
		return -errno;
	b.elf = elf_begin(b.fd, ELF_C_READ_MMAP, NULL);
	if (!b.elf || elf_kind(b.elf) != ELF_K_ELF || !gelf_getehdr(b.elf, &eh) ||
	    elf_getshdrstrndx(b.elf, &b.shstrndx)) {
		err = -ENOENT;
		goto out;
	}
	err = go_version(&b, out->version, sizeof(out->version));
	if (err == -ENOENT) {
		if (section(&b, ".gopclntab", &sh)) {
			snprintf(why, whylen, "Go binary without build info (Go < 1.13): too old");
			err = -ENOTSUP;
		}
		goto out;
	}
	/* A Go binary: does it contain crypto/tls at all? */
	for (int k = 0; k < GO_TLS__COUNT; k++)
		w[k] = (struct want){ .name = go_tls_fn_names[k] };
	for (int k = 0; k < 3; k++)
		w[GO_TLS__COUNT + k] = (struct want){ .name = tcpconn_methods[k] };
	w[GO_TLS__COUNT + 3] = (struct want){ .name = "go:itab.*net.TCPConn,net.Conn" };
	w[GO_TLS__COUNT + 4] = (struct want){ .name = "go.itab.*net.TCPConn,net.Conn" };
	if (lookup_symtab(&b, w, GO_TLS__COUNT + 5) == -ENOENT) {
		out->stripped = 1;
		err = lookup_pclntab(&b, w, GO_TLS__COUNT + 3);
		if (err == -ENOENT || err == -ENOTSUP) {
			if (err == -ENOTSUP || err == -ENOENT)
				snprintf(why, whylen, "%s binary stripped of .symtab and its .gopclntab "
					 "is missing or of an unknown format", out->version);
			err = -ENOTSUP;
			goto out;
		}
		if (err)
			goto out;
	}
	if (!w[GO_TLS_WRITE].found || !w[GO_TLS_READ].found) {
		err = -ENOENT; /* no crypto/tls linked in */
		goto out;
	}
	parse_version(out->version, &out->major, &out->minor);
	if (err || eh.e_machine != EM_X86_64 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
		snprintf(why, whylen, "%s binary for another architecture (amd64 only)", out->version);
		err = -ENOTSUP;
		goto out;
	}
	if (out->major != 1 || out->minor < 17) {
		snprintf(why, whylen, "%s is too old: Go >= 1.17 (register ABI) needed",
			 out->version[0] ? out->version : "Go");
		err = -ENOTSUP;
		goto out;
	}
	if (w[GO_TLS__COUNT + 3].found)
		itab = w[GO_TLS__COUNT + 3].vaddr;
	else if (w[GO_TLS__COUNT + 4].found)
		itab = w[GO_TLS__COUNT + 4].vaddr;
	else
		itab = find_itab(&b, &w[GO_TLS__COUNT]);
	out->itab_known = itab != 0;
	for (int k = 0; k < GO_TLS__COUNT; k++) {
		struct go_func *f = &out->fn[k];

		if (!w[k].found)
			continue;
		f->vaddr = w[k].vaddr;
		f->size = w[k].size;
		if (elf_va_to_off(b.elf, f->vaddr, &f->off)) {
			snprintf(why, whylen, "%s is outside the loadable segments", w[k].name);
			err = -ENOTSUP;
			goto out;
		}
		f->cookie = itab ? (int64_t)(itab - f->vaddr) : 0;
		f->found = 1;
		if (k == GO_TLS_WRITE || k == GO_TLS_READ) {
			err = find_rets(&b, f, why, whylen, w[k].name);
			if (err)
				goto out;
		}
	}
	err = 0;
out:
	if (b.elf)
		elf_end(b.elf);
	close(b.fd);
	return err;
}
