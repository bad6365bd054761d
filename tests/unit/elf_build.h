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

/*
 * An ELF header (32- or 64-bit by bits) and n program headers from s at the start of m, the
 * rest filled with a position pattern (the segments' data); the file is size bytes long.
 */
static inline void elf_build(struct elf_img *m, int bits, uint64_t entry, const struct elf_seg *s,
			     unsigned n, size_t size)
{
	bool b64 = bits == 64;
	size_t eh = b64 ? 64 : 52, ph = b64 ? 56 : 32, i;
	int w = b64 ? 8 : 4;

	for (i = 0; i < sizeof(m->b); i++)
		m->b[i] = (uint8_t)(i * 7 + 3);
	memset(m->b, 0, eh + n * ph);
	memcpy(m->b,
	       "\x7f"
	       "ELF",
	       4);
	m->b[4] = b64 ? 2 : 1;
	m->b[5] = 1;
	m->b[6] = 1;
	put_le(m->b + 16, 2, 2); /* ET_EXEC */
	put_le(m->b + 18, b64 ? ELF_EM_AMD64 : ELF_EM_386, 2);
	put_le(m->b + 20, 1, 4);
	put_le(m->b + 24, entry, w);
	put_le(m->b + (b64 ? 32 : 28), eh, w);
	put_le(m->b + (b64 ? 52 : 40), eh, 2);
	put_le(m->b + (b64 ? 54 : 42), ph, 2);
	put_le(m->b + (b64 ? 56 : 44), n, 2);
	for (i = 0; i < n; i++) {
		uint8_t *p = m->b + eh + i * ph;

		put_le(p, s[i].type, 4);
		put_le(p + (b64 ? 4 : 24), s[i].flags, 4);
		put_le(p + (b64 ? 8 : 4), s[i].offset, w);
		put_le(p + (b64 ? 16 : 8), s[i].vaddr, w);
		put_le(p + (b64 ? 24 : 12), s[i].paddr, w);
		put_le(p + (b64 ? 32 : 16), s[i].filesz, w);
		put_le(p + (b64 ? 40 : 20), s[i].memsz, w);
		put_le(p + (b64 ? 48 : 28), ELF_SEG_ALIGN, w);
	}
	m->size = size;
}

#endif
