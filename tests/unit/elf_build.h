/* Building ELF executables field by field for the loader tests (test_elf.c, test_guest_boot.c). */
#ifndef MHV_TESTS_UNIT_ELF_BUILD_H
#define MHV_TESTS_UNIT_ELF_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ELF_IMG_CAP   0x4000
#define ELF_EM_386    3
#define ELF_EM_AMD64  62
#define ELF_PT_LOAD   1
#define ELF_SEG_ALIGN 0x1000

struct elf_img {
	uint8_t b[ELF_IMG_CAP];
	size_t size;
};

/* One program header. */
struct elf_seg {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
	uint32_t flags;
};

/* v's low width bytes at p, little-endian. */
static inline void put_le(uint8_t *p, uint64_t v, int width)
{
	for (int i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The ELF header's and program header's field offsets (System V ABI), 64-bit / 32-bit. */
#define EH_IDENT_CLASS	  4
#define EH_IDENT_DATA	  5
#define EH_IDENT_VERSION  6
#define EH_TYPE		  16
#define EH_MACHINE	  18
#define EH_VERSION	  20
#define EH_ENTRY	  24
#define EH_PHOFF(b64)	  ((b64) ? 32 : 28)
#define EH_EHSIZE(b64)	  ((b64) ? 52 : 40)
#define EH_PHENTSIZE(b64) ((b64) ? 54 : 42)
#define EH_PHNUM(b64)	  ((b64) ? 56 : 44)
#define EH_SIZE(b64)	  ((b64) ? 64 : 52)
#define PH_TYPE		  0
#define PH_FLAGS(b64)	  ((b64) ? 4 : 24)
#define PH_OFFSET(b64)	  ((b64) ? 8 : 4)
#define PH_VADDR(b64)	  ((b64) ? 16 : 8)
#define PH_PADDR(b64)	  ((b64) ? 24 : 12)
#define PH_FILESZ(b64)	  ((b64) ? 32 : 16)
#define PH_MEMSZ(b64)	  ((b64) ? 40 : 20)
#define PH_ALIGN(b64)	  ((b64) ? 48 : 28)
#define PH_SIZE(b64)	  ((b64) ? 56 : 32)
#define ELF_CLASS_32	  1
#define ELF_CLASS_64	  2
#define ELF_DATA_LSB	  1
#define ELF_VERSION_CUR	  1
#define ELF_ET_EXEC	  2

/*
 * An ELF header (32- or 64-bit by bits) and n program headers from s at the start of m, the
 * rest filled with a position pattern (the segments' data); the file is size bytes long.
 */
static inline void elf_build(struct elf_img *m, int bits, uint64_t entry, const struct elf_seg *s,
			     unsigned n, size_t size)
{
	bool b64 = bits == 64;
	size_t eh = EH_SIZE(b64), ph = PH_SIZE(b64), i;
	int w = b64 ? 8 : 4;

	for (i = 0; i < sizeof(m->b); i++)
		m->b[i] = (uint8_t)(i * 7 + 3);
	memset(m->b, 0, eh + n * ph);
	memcpy(m->b,
	       "\x7f"
	       "ELF",
	       4);
	m->b[EH_IDENT_CLASS] = b64 ? ELF_CLASS_64 : ELF_CLASS_32;
	m->b[EH_IDENT_DATA] = ELF_DATA_LSB;
	m->b[EH_IDENT_VERSION] = ELF_VERSION_CUR;
	put_le(m->b + EH_TYPE, ELF_ET_EXEC, 2);
	put_le(m->b + EH_MACHINE, b64 ? ELF_EM_AMD64 : ELF_EM_386, 2);
	put_le(m->b + EH_VERSION, ELF_VERSION_CUR, 4);
	put_le(m->b + EH_ENTRY, entry, w);
	put_le(m->b + EH_PHOFF(b64), eh, w);
	put_le(m->b + EH_EHSIZE(b64), eh, 2);
	put_le(m->b + EH_PHENTSIZE(b64), ph, 2);
	put_le(m->b + EH_PHNUM(b64), n, 2);
	for (i = 0; i < n; i++) {
		uint8_t *p = m->b + eh + i * ph;

		put_le(p + PH_TYPE, s[i].type, 4);
		put_le(p + PH_FLAGS(b64), s[i].flags, 4);
		put_le(p + PH_OFFSET(b64), s[i].offset, w);
		put_le(p + PH_VADDR(b64), s[i].vaddr, w);
		put_le(p + PH_PADDR(b64), s[i].paddr, w);
		put_le(p + PH_FILESZ(b64), s[i].filesz, w);
		put_le(p + PH_MEMSZ(b64), s[i].memsz, w);
		put_le(p + PH_ALIGN(b64), ELF_SEG_ALIGN, w);
	}
	m->size = size;
}

#endif
