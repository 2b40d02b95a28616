/* SPDX-License-Identifier: MIT */
/*
 * elf_syms.h — file offsets of functions in an ELF file, which is what a
 * uprobe takes. libbpf resolves a name per uprobe it attaches; a multi-uprobe
 * link (several functions, one link) needs the offsets up front.
 */
#ifndef MSGSCOPE_ELF_SYMS_H
#define MSGSCOPE_ELF_SYMS_H

#include <gelf.h>
#include <stddef.h>
#include <stdint.h>

/* The file offset of virtual address va, from the loadable segments:
 * 0 or -1 (in no segment's file bytes). */
int elf_va_to_off(Elf *elf, uint64_t va, uint64_t *off);

/*
 * The entry offsets of the functions names[0..n) in the file at path, from
 * .dynsym and then .symtab, at their default version ("SSL_write" also
 * matches "SSL_write@@OPENSSL_3.0.0", not an older "SSL_write@VER").
 * offs[i] is 0 for a name not defined there. Returns how many were found,
 * or -errno when the file cannot be read as ELF.
 */
int elf_func_offsets(const char *path, const char *const *names, size_t n,
		     uint64_t *offs);

#endif
