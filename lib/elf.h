/*
 * A strict parser for the ELF executables mhv boots as guests: ELF32 (EM_386) or ELF64
 * (EM_X86_64), little-endian, ET_EXEC.  The image comes from outside mhv (a GRUB module), so
 * every field is checked against the file size before use and nothing is trusted.
 */
#ifndef MHV_LIB_ELF_H
#define MHV_LIB_ELF_H

#include <stddef.h>
#include <stdint.h>

#define ELF_MAX_SEGMENTS 16

/* Segment permission bits (p_flags). */
#define ELF_PF_X 0x1
#define ELF_PF_W 0x2
#define ELF_PF_R 0x4

/* One PT_LOAD program header with a non-zero memsz. */
struct elf_segment {
	unsigned phdr;	 /* index in the program header table, for messages */
	uint64_t paddr;	 /* load address (p_paddr): guest-physical */
	uint64_t vaddr;	 /* p_vaddr: only used to translate e_entry */
	uint64_t offset; /* file offset of the filesz initialised bytes */
	uint64_t filesz; /* <= memsz; the rest is zero-filled (BSS) */
	uint64_t memsz;	 /* > 0 */
	uint32_t flags;	 /* ELF_PF_* */
};

struct elf_image {
	unsigned bits;	    /* 32 or 64 */
	uint16_t machine;   /* EM_386 (3) or EM_X86_64 (62) */
	uint64_t e_entry;   /* as written in the header (a virtual address) */
	uint64_t entry;	    /* e_entry translated to its physical (load) address */
	unsigned entry_seg; /* index in seg[] of the segment holding the entry point */
	unsigned nr_segs;
	struct elf_segment seg[ELF_MAX_SEGMENTS]; /* in program-header order */
	uint64_t lowest, highest;		  /* [lowest, highest): hull of all segments */
};

/*
 * Parse the ELF file [file, file+size).  Accepts ELF32/EM_386 and ELF64/EM_X86_64 ET_EXEC
 * images.  Only PT_LOAD headers are loaded (PT_INTERP and PT_DYNAMIC are refused: such a file
 * needs a dynamic loader; all other types are ignored).  Checks: program header table inside
 * the file; per PT_LOAD: filesz <= memsz, [offset, offset+filesz) inside the file,
 * paddr + memsz and vaddr + memsz do not wrap; at most ELF_MAX_SEGMENTS non-empty segments,
 * at least one; no two overlap (by physical address); e_entry inside one (by virtual address,
 * then translated to physical as GRUB does).  Returns 0 or -E_INVAL with a message in err
 * ("elf: program header 2: ...") when errlen > 0.
 */
int elf_parse(const void *file, size_t size, struct elf_image *img, char *err, size_t errlen);

#endif
