/*
 * ELF executable parser.  The two classes differ only in field offsets and widths, so one
 * table per class describes the layout and one code path reads both; every read goes through
 * rd() at an offset already checked against the file size (memcpy: the file need not be
 * aligned).
 */
#include <stdarg.h>
#include <stdbool.h>

#include "lib/compiler.h"
#include "lib/elf.h"
#include "lib/errno.h"
#include "lib/fmt.h"
#include "lib/string.h"

/* e_ident */
#define EI_NIDENT   16
#define EI_CLASS    4
#define EI_DATA	    5
#define EI_VERSION  6
#define ELFCLASS32  1
#define ELFCLASS64  2
#define ELFDATA2LSB 1
#define EV_CURRENT  1
#define ET_EXEC	    2
#define EM_386	    3
#define EM_X86_64   62
#define PN_XNUM	    0xffff /* real count in section 0: never used by executables we take */
#define ELF_BITS_32 32
#define ELF_BITS_64 64

static const uint8_t elf_magic[] = {0x7f, 'E', 'L', 'F'};

/* Program header types. */
#define PT_LOAD	   1
#define PT_DYNAMIC 2
#define PT_INTERP  3

/* Where each field sits (offset, width in bytes) for one ELF class. */
struct field {
	uint8_t off, width;
};

struct elf_layout {
	unsigned bits;
	uint16_t machine;
	uint16_t ehdr_size, phdr_size;
	struct field e_type, e_machine, e_version, e_entry, e_phoff, e_phentsize, e_phnum;
	struct field p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz;
};

static const struct elf_layout layout32 = {
	.bits = ELF_BITS_32,
	.machine = EM_386,
	.ehdr_size = 52,
	.phdr_size = 32,
	.e_type = {16, 2},
	.e_machine = {18, 2},
	.e_version = {20, 4},
	.e_entry = {24, 4},
	.e_phoff = {28, 4},
	.e_phentsize = {42, 2},
	.e_phnum = {44, 2},
	.p_type = {0, 4},
	.p_offset = {4, 4},
	.p_vaddr = {8, 4},
	.p_paddr = {12, 4},
	.p_filesz = {16, 4},
	.p_memsz = {20, 4},
	.p_flags = {24, 4},
};

static const struct elf_layout layout64 = {
	.bits = ELF_BITS_64,
	.machine = EM_X86_64,
	.ehdr_size = 64,
	.phdr_size = 56,
	.e_type = {16, 2},
	.e_machine = {18, 2},
	.e_version = {20, 4},
	.e_entry = {24, 8},
	.e_phoff = {32, 8},
	.e_phentsize = {54, 2},
	.e_phnum = {56, 2},
	.p_type = {0, 4},
	.p_flags = {4, 4},
	.p_offset = {8, 8},
	.p_vaddr = {16, 8},
	.p_paddr = {24, 8},
	.p_filesz = {32, 8},
	.p_memsz = {40, 8},
};

struct elf_ctx {
	const uint8_t *file;
	size_t size;
	char *err;
	size_t errlen;
};

static int __printf(3, 4) fail(struct elf_ctx *c, int code, const char *fmt, ...)
{
	int n;

	if (!c->errlen)
		return code;
	n = fmt_snprintf(c->err, c->errlen, "elf: ");
	if (n >= 0 && (size_t)n < c->errlen) {
		va_list ap;

		va_start(ap, fmt);
		fmt_vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Little-endian read of a field at base + f.off; the caller checked it is inside the file. */
static uint64_t rd(const struct elf_ctx *c, size_t base, struct field f)
{
	uint8_t b[sizeof(uint64_t)];
	uint64_t v = 0;
	int i;

	memcpy(b, c->file + base + f.off, f.width);
	for (i = f.width - 1; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	/* Both ends are known not to wrap. */
	return a < b + blen && b < a + alen;
}

static int check_ident(struct elf_ctx *c, const struct elf_layout **lay)
{
	const uint8_t *id = c->file;

	if (c->size < EI_NIDENT)
		return fail(c, -E_INVAL, "file of %zu bytes is shorter than the %d-byte ELF ident",
			    c->size, EI_NIDENT);
	if (memcmp(id, elf_magic, sizeof(elf_magic)) != 0)
		return fail(c, -E_INVAL, "bad magic %02x %02x %02x %02x (not an ELF file)", id[0],
			    id[1], id[2], id[3]);
	if (id[EI_CLASS] == ELFCLASS32)
		*lay = &layout32;
	else if (id[EI_CLASS] == ELFCLASS64)
		*lay = &layout64;
	else
		return fail(c, -E_INVAL, "bad class %u (expected 1 = ELF32 or 2 = ELF64)",
			    id[EI_CLASS]);
	if (id[EI_DATA] != ELFDATA2LSB)
		return fail(c, -E_INVAL, "data encoding %u is not little-endian (1)", id[EI_DATA]);
	if (id[EI_VERSION] != EV_CURRENT)
		return fail(c, -E_INVAL, "ident version %u is not %d", id[EI_VERSION], EV_CURRENT);
	return 0;
}

static int check_header(struct elf_ctx *c, const struct elf_layout *l, struct elf_image *img,
			uint64_t *phoff, unsigned *phnum, unsigned *phentsize)
{
	uint64_t type, machine, version, table;

	if (c->size < l->ehdr_size)
		return fail(c, -E_INVAL,
			    "file of %zu bytes is shorter than the %u-byte ELF%u header", c->size,
			    l->ehdr_size, l->bits);
	type = rd(c, 0, l->e_type);
	machine = rd(c, 0, l->e_machine);
	version = rd(c, 0, l->e_version);
	if (type != ET_EXEC)
		return fail(c, -E_INVAL, "type %llu is not ET_EXEC (%d)", (unsigned long long)type,
			    ET_EXEC);
	if (machine != l->machine)
		return fail(c, -E_INVAL, "machine %llu invalid for ELF%u (expected %u)",
			    (unsigned long long)machine, l->bits, l->machine);
	if (version != EV_CURRENT)
		return fail(c, -E_INVAL, "version %llu is not %d", (unsigned long long)version,
			    EV_CURRENT);
	img->bits = l->bits;
	img->machine = l->machine;
	img->e_entry = rd(c, 0, l->e_entry);
	*phoff = rd(c, 0, l->e_phoff);
	*phnum = (unsigned)rd(c, 0, l->e_phnum);
	*phentsize = (unsigned)rd(c, 0, l->e_phentsize);
	if (*phnum == 0)
		return fail(c, -E_INVAL, "no program headers");
	if (*phnum == PN_XNUM)
		return fail(c, -E_INVAL, "extended program header count (PN_XNUM) not supported");
	if (*phentsize < l->phdr_size)
		return fail(c, -E_INVAL, "program header size %u smaller than %u", *phentsize,
			    l->phdr_size);
	/* phnum < 2^16 and phentsize < 2^16: the product cannot overflow. */
	table = (uint64_t)*phnum * *phentsize;
	if (*phoff > c->size || table > c->size - *phoff)
		return fail(c, -E_INVAL,
			    "program header table [0x%llx,+0x%llx) outside the %zu-byte file",
			    (unsigned long long)*phoff, (unsigned long long)table, c->size);
	return 0;
}

static int read_phdr(struct elf_ctx *c, const struct elf_layout *l, struct elf_image *img,
		     unsigned i, size_t off)
{
	uint64_t type = rd(c, off, l->p_type);
	struct elf_segment s;
	unsigned j;

	if (type == PT_INTERP || type == PT_DYNAMIC)
		return fail(c, -E_INVAL,
			    "program header %u: type %llu needs a dynamic loader (not supported)",
			    i, (unsigned long long)type);
	if (type != PT_LOAD)
		return 0;
	s.phdr = i;
	s.offset = rd(c, off, l->p_offset);
	s.vaddr = rd(c, off, l->p_vaddr);
	s.paddr = rd(c, off, l->p_paddr);
	s.filesz = rd(c, off, l->p_filesz);
	s.memsz = rd(c, off, l->p_memsz);
	s.flags = (uint32_t)rd(c, off, l->p_flags);
	if (s.filesz > s.memsz)
		return fail(c, -E_INVAL, "program header %u: filesz 0x%llx exceeds memsz 0x%llx", i,
			    (unsigned long long)s.filesz, (unsigned long long)s.memsz);
	if (s.offset > c->size || s.filesz > c->size - s.offset)
		return fail(c, -E_INVAL,
			    "program header %u: file range [0x%llx,0x%llx) outside the %zu-byte "
			    "file",
			    i, (unsigned long long)s.offset,
			    (unsigned long long)(s.offset + MIN(s.filesz, UINT64_MAX - s.offset)),
			    c->size);
	if (s.memsz > UINT64_MAX - s.paddr || s.memsz > UINT64_MAX - s.vaddr)
		return fail(
			c, -E_INVAL,
			"program header %u: address 0x%llx + memsz 0x%llx wraps around", i,
			(unsigned long long)(s.memsz > UINT64_MAX - s.paddr ? s.paddr : s.vaddr),
			(unsigned long long)s.memsz);
	if (s.memsz == 0)
		return 0; /* occupies nothing: nothing to load */
	if (img->nr_segs >= ELF_MAX_SEGMENTS)
		return fail(c, -E_INVAL, "more than %d loadable segments", ELF_MAX_SEGMENTS);
	for (j = 0; j < img->nr_segs; j++) {
		const struct elf_segment *o = &img->seg[j];

		if (ranges_overlap(s.paddr, s.memsz, o->paddr, o->memsz))
			return fail(c, -E_INVAL,
				    "program header %u: [0x%llx,0x%llx) overlaps program header "
				    "%u [0x%llx,0x%llx)",
				    i, (unsigned long long)s.paddr,
				    (unsigned long long)(s.paddr + s.memsz), o->phdr,
				    (unsigned long long)o->paddr,
				    (unsigned long long)(o->paddr + o->memsz));
	}
	img->seg[img->nr_segs++] = s;
	return 0;
}

/* GRUB's rule: e_entry is virtual; the segment whose virtual range holds it translates it. */
static int find_entry(struct elf_ctx *c, struct elf_image *img)
{
	unsigned i;

	for (i = 0; i < img->nr_segs; i++) {
		const struct elf_segment *s = &img->seg[i];

		if (img->e_entry >= s->vaddr && img->e_entry - s->vaddr < s->memsz) {
			img->entry = img->e_entry - s->vaddr + s->paddr;
			img->entry_seg = i;
			return 0;
		}
	}
	return fail(c, -E_INVAL, "entry point 0x%llx is not inside any loadable segment",
		    (unsigned long long)img->e_entry);
}

int elf_parse(const void *file, size_t size, struct elf_image *img, char *err, size_t errlen)
{
	struct elf_ctx c = {.file = file, .size = size, .err = err, .errlen = err ? errlen : 0};
	const struct elf_layout *l = NULL;
	uint64_t phoff = 0;
	unsigned phnum = 0, phentsize = 0, i;
	int ret;

	memset(img, 0, sizeof(*img));
	if (c.errlen)
		err[0] = '\0';
	ret = check_ident(&c, &l);
	if (ret)
		return ret;
	ret = check_header(&c, l, img, &phoff, &phnum, &phentsize);
	if (ret)
		return ret;
	for (i = 0; i < phnum; i++) {
		ret = read_phdr(&c, l, img, i, (size_t)phoff + (size_t)i * phentsize);
		if (ret)
			return ret;
	}
	if (img->nr_segs == 0)
		return fail(&c, -E_INVAL, "no loadable (PT_LOAD) segment");
	img->lowest = UINT64_MAX;
	for (i = 0; i < img->nr_segs; i++) {
		img->lowest = MIN(img->lowest, img->seg[i].paddr);
		img->highest = MAX(img->highest, img->seg[i].paddr + img->seg[i].memsz);
	}
	return find_entry(&c, img);
}
