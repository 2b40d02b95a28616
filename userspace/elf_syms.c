/* SPDX-License-Identifier: MIT */
#include "elf_syms.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int elf_va_to_off(Elf *elf, uint64_t va, uint64_t *off)
{
	size_t n;

	if (elf_getphdrnum(elf, &n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (va >= ph.p_vaddr && va < ph.p_vaddr + ph.p_filesz) {
			*off = va - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -1;
}

/* name is want, unversioned or its default version ("want@@VER"; the
 * "want@VER" of an older one is not what programs call). */
static int same_name(const char *name, const char *want)
{
	size_t len = strlen(want);

	return !strncmp(name, want, len) &&
	       (name[len] == '\0' || (name[len] == '@' && name[len + 1] == '@'));
}

#define VERSYM_HIDDEN 0x8000 /* not the default version of its name */

/* .gnu.version: one entry per .dynsym symbol, or NULL. */
static Elf_Data *versions(Elf *elf)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_GNU_versym)
			return elf_getdata(scn, NULL);
	return NULL;
}

static int hidden_version(Elf_Data *vers, size_t i)
{
	GElf_Versym v;

	return vers && gelf_getversym(vers, (int)i, &v) && (v & VERSYM_HIDDEN);
}

/* Fill offs[] from one symbol table; returns how many it newly found. */
static int scan_table(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh,
		      const char *const *names, size_t n, uint64_t *offs)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	Elf_Data *vers = sh->sh_type == SHT_DYNSYM ? versions(elf) : NULL;
	size_t count = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;
	int found = 0;

	for (size_t i = 0; d && i < count; i++) {
		GElf_Sym sym;
		const char *name;
		int type;

		if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
		    !sym.st_value || hidden_version(vers, i))
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC)
			continue;
		name = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (!name)
			continue;
		for (size_t k = 0; k < n; k++)
			if (!offs[k] && same_name(name, names[k]) &&
			    !elf_va_to_off(elf, sym.st_value, &offs[k]))
				found++;
	}
	return found;
}

int elf_func_offsets(const char *path, const char *const *names, size_t n,
		     uint64_t *offs)
{
	static const Elf64_Word tables[] = { SHT_DYNSYM, SHT_SYMTAB };
	int fd, found = 0;
	Elf *elf;

	memset(offs, 0, n * sizeof(*offs));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		found = -ENOEXEC;
		goto cleanup;
	}
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		Elf_Scn *scn = NULL;
		GElf_Shdr sh;

		while ((scn = elf_nextscn(elf, scn)))
			if (gelf_getshdr(scn, &sh) && sh.sh_type == tables[t])
				found += scan_table(elf, scn, &sh, names, n, offs);
	}
cleanup:
	if (elf)
		elf_end(elf);
	close(fd);
	return found;
}
