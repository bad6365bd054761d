/*
 * Guest kernel loader (multiboot v1 / multiboot2 ELF).  Order of work, chosen so that no copy
 * ever reads memory an earlier copy has overwritten:
 *   1. read and check the header and ELF from the kernel file where GRUB left it;
 *   2. check every segment lies in usable guest RAM;
 *   3. mark busy: segments, page 0, the kernel file, every module as GRUB placed it;
 *   4. move the kernel file away when it overlaps a segment (its copy is busy too);
 *   5. move each module that cannot stay (outside guest RAM, over a segment, ...);
 *   6. copy the segments and zero their BSS;
 *   7. build the boot information in a block placed like the moved modules.
 * Every placement avoids all busy ranges, so sources stay intact until read.
 */

#include "lib/compiler.h"
#include "lib/elf.h"
#include "lib/errno.h"
#include "lib/fmt.h"
#include "lib/guest_boot.h"
#include "lib/loader_util.h"
#include "lib/string.h"

#define BUSY_MAX   (ELF_MAX_SEGMENTS + 2 * BOOT_MODULES_MAX + 8)
#define INFO_ALIGN 8 /* multiboot2 requires it; v1 needs 4 */
#define KIB_SHIFT  10

/* Multiboot2 boot-information tag layouts. */
#define MB2_MOD_HDR	   16 /* type, size, mod_start, mod_end */
#define MB2_BASIC_MEM_SIZE 16
#define MB2_MMAP_HDR	   16 /* type, size, entry_size, entry_version */
#define MB2_MMAP_ENTRY	   24
#define MB2_MMAP_VERSION   0
#define MB2_END_SIZE	   8

struct loader {
	const struct guest_boot_params *p;
	struct guest_boot_result *r;
	char *err;
	size_t errlen;
	struct guest_header hdr;
	struct elf_image img;
	const uint8_t *file;
	uint64_t file_size;
	struct phys_range busy[BUSY_MAX];
	unsigned nr_busy;
};

/* ---- small helpers --------------------------------------------------------------------- */


#define fail(l, code, ...) ld_fail((l)->err, (l)->errlen, code, __VA_ARGS__)

static uint64_t region_end(const struct mem_region *m)
{
	return m->len > UINT64_MAX - m->base ? UINT64_MAX : m->base + m->len;
}

/* ---- multiboot header search --------------------------------------------------------------- */

static bool can_provide(uint32_t type, unsigned rsdp_len)
{
	switch (type) {
	case MB2_TAG_CMDLINE:
	case MB2_TAG_LOADER_NAME:
	case MB2_TAG_MODULE:
	case MB2_TAG_BASIC_MEM:
	case MB2_TAG_MMAP:
		return true;
	case MB2_TAG_ACPI_OLD:
		return rsdp_len != 0;
	case MB2_TAG_ACPI_NEW:
		return rsdp_len == ACPI_RSDP_V2_LEN;
	default:
		return false;
	}
}

static const char *mb2_tag_name(uint32_t type)
{
	switch (type) {
	case MB2H_TAG_FRAMEBUFFER:
		return "framebuffer";
	case MB2H_TAG_EFI_BS:
		return "EFI boot services";
	case MB2H_TAG_ENTRY_EFI32:
		return "EFI i386 entry";
	case MB2H_TAG_ENTRY_EFI64:
		return "EFI amd64 entry";
	default:
		return "unknown";
	}
}

/* Minimum size of each header tag mhv interprets (multiboot2 specification, 3.1). */
static uint32_t mb2_tag_min(uint32_t type)
{
	switch (type) {
	case MB2H_TAG_ADDRESS:
		return 24;
	case MB2H_TAG_ENTRY:
	case MB2H_TAG_CONSOLE:
		return 12;
	case MB2H_TAG_RELOCATABLE:
		return 24;
	default:
		return MB2H_TAG_HDR;
	}
}

static int mb2_tags(const uint8_t *h, uint32_t hoff, uint32_t len, unsigned rsdp_len,
		    struct guest_header *gh, char *err, size_t errlen)
{
	uint32_t off = MB2H_HEADER_SIZE;

	while (len - off >= MB2H_TAG_HDR) {
		uint32_t type = ld_rd16(h + off), flags = ld_rd16(h + off + 2), size = ld_rd32(h + off + 4);
		bool optional = flags & MB2H_TAG_FLAG_OPTIONAL;
		uint32_t i;

		if (size < MB2H_TAG_HDR || size > len - off)
			return ld_fail(err, errlen, -E_INVAL,
				     "multiboot2: header tag %u at 0x%x: size %u outside [8, %u]",
				     type, hoff + off, size, len - off);
		if (size < mb2_tag_min(type))
			return ld_fail(err, errlen, -E_INVAL,
				     "multiboot2: header tag %u at 0x%x: size %u smaller than %u",
				     type, hoff + off, size, mb2_tag_min(type));
		switch (type) {
		case MB2H_TAG_END:
			return 0;
		case MB2H_TAG_INFO_REQUEST:
			for (i = MB2H_TAG_HDR; size - i >= sizeof(uint32_t);
			     i += sizeof(uint32_t)) {
				uint32_t want = ld_rd32(h + off + i);

				if (!optional && !can_provide(want, rsdp_len))
					return ld_fail(err, errlen, -E_NOTSUP,
						     "multiboot2: required information tag type %u "
						     "cannot be provided",
						     want);
			}
			break;
		case MB2H_TAG_ADDRESS:
			if (!optional)
				return ld_fail(
					err, errlen, -E_NOTSUP,
					"multiboot2: address tag (a.out kludge) not supported");
			break;
		case MB2H_TAG_ENTRY:
			gh->has_entry = true;
			gh->entry = ld_rd32(h + off + MB2H_TAG_HDR);
			break;
		case MB2H_TAG_MODULE_ALIGN:
			gh->page_align_modules = true;
			break;
		case MB2H_TAG_CONSOLE:	   /* no console information to give: nothing to do */
		case MB2H_TAG_RELOCATABLE: /* loading at the link address is always allowed */
			break;
		default:
			if (!optional)
				return ld_fail(err, errlen, -E_NOTSUP,
					     "multiboot2: required header tag type %u (%s) not "
					     "supported",
					     type, mb2_tag_name(type));
			break;
		}
		off += ALIGN_UP(size, (uint32_t)MB2H_TAG_HDR);
		if (off > len)
			break;
	}
	return ld_fail(err, errlen, -E_INVAL, "multiboot2: header at 0x%x has no end tag", hoff);
}

static int mb2_check(const uint8_t *file, size_t limit, uint32_t off, unsigned rsdp_len,
		     struct guest_header *h, char *err, size_t errlen)
{
	uint32_t arch = ld_rd32(file + off + 4), len = ld_rd32(file + off + 8);

	if (arch != MB2_ARCH_I386)
		return ld_fail(err, errlen, -E_INVAL,
			     "multiboot2: header at 0x%x: architecture %u is not i386 (0)", off,
			     arch);
	if (len < MB2H_HEADER_SIZE + MB2H_TAG_HDR || len > limit - off)
		return ld_fail(err, errlen, -E_INVAL,
			     "multiboot2: header at 0x%x: length %u outside [%u, %zu]", off, len,
			     MB2H_HEADER_SIZE + MB2H_TAG_HDR, limit - off);
	memset(h, 0, sizeof(*h));
	h->kind = GUEST_MULTIBOOT2;
	h->offset = off;
	return mb2_tags(file + off, off, len, rsdp_len, h, err, errlen);
}

static int mb1_check(const uint8_t *file, uint32_t off, struct guest_header *h, char *err,
		     size_t errlen)
{
	uint32_t flags = ld_rd32(file + off + 4);
	uint32_t unknown = flags & MB1_HF_REQUIRED &
			   ~(MB1_HF_PAGE_ALIGN | MB1_HF_MEMORY_INFO | MB1_HF_VIDEO_MODE);

	if (flags & MB1_HF_AOUT_KLUDGE)
		return ld_fail(err, errlen, -E_NOTSUP,
			     "multiboot: header at 0x%x: a.out kludge (flag bit 16) not supported",
			     off);
	if (unknown)
		return ld_fail(err, errlen, -E_NOTSUP,
			     "multiboot: header at 0x%x: unknown required flags 0x%x", off,
			     unknown);
	memset(h, 0, sizeof(*h));
	h->kind = GUEST_MULTIBOOT1;
	h->offset = off;
	h->mb1_flags = flags;
	h->page_align_modules = flags & MB1_HF_PAGE_ALIGN;
	return 0;
}

int guest_find_header(const void *file, size_t size, unsigned rsdp_len, struct guest_header *h,
		      char *err, size_t errlen)
{
	const uint8_t *f = file;
	size_t lim2 = MIN(size, (size_t)MB2_SEARCH_LIMIT),
	       lim1 = MIN(size, (size_t)MB1_SEARCH_LIMIT);
	const char *bad = NULL;
	uint32_t bad_off = 0, off;

	if (err && errlen)
		err[0] = '\0';
	memset(h, 0, sizeof(*h));
	/* multiboot2 first: an image carrying both headers is booted the newer way. */
	for (off = 0; lim2 >= MB2H_HEADER_SIZE && off <= lim2 - MB2H_HEADER_SIZE;
	     off += MB2_HEADER_ALIGN) {
		if (ld_rd32(f + off) != MB2_HEADER_MAGIC)
			continue;
		if ((uint32_t)(ld_rd32(f + off) + ld_rd32(f + off + 4) + ld_rd32(f + off + 8) +
			       ld_rd32(f + off + 12)) != 0) {
			if (!bad) {
				bad = "multiboot2";
				bad_off = off;
			}
			continue;
		}
		return mb2_check(f, lim2, off, rsdp_len, h, err, errlen);
	}
	for (off = 0; lim1 >= 3 * sizeof(uint32_t) && off <= lim1 - 3 * sizeof(uint32_t);
	     off += MB1_HEADER_ALIGN) {
		if (ld_rd32(f + off) != MB1_HEADER_MAGIC)
			continue;
		if ((uint32_t)(ld_rd32(f + off) + ld_rd32(f + off + 4) + ld_rd32(f + off + 8)) != 0) {
			if (!bad) {
				bad = "multiboot";
				bad_off = off;
			}
			continue;
		}
		return mb1_check(f, off, h, err, errlen);
	}
	if (bad)
		return ld_fail(err, errlen, -E_INVAL, "%s: header at 0x%x has a bad checksum", bad,
			     bad_off);
	return ld_fail(err, errlen, -E_NOENT,
		     "no multiboot2 header in the first %d bytes nor multiboot header in the "
		     "first %d",
		     MB2_SEARCH_LIMIT, MB1_SEARCH_LIMIT);
}

/* ---- memory map queries -------------------------------------------------------------------- */

/* End of the usable RAM contiguous from addr (addr itself when addr is not usable). */
static uint64_t usable_end(const struct guest_boot_params *p, uint64_t addr)
{
	uint64_t cur = addr;
	bool grew = true;
	unsigned i;

	while (grew) {
		grew = false;
		for (i = 0; i < p->nr_map; i++) {
			const struct mem_region *m = &p->map[i];

			if (m->type == MEM_USABLE && m->base <= cur && cur < region_end(m)) {
				cur = region_end(m);
				grew = true;
			}
		}
	}
	/* A non-usable entry overlapping a usable one wins. */
	for (i = 0; i < p->nr_map; i++) {
		const struct mem_region *m = &p->map[i];

		if (m->type != MEM_USABLE && m->len && ld_overlaps(addr, cur, m->base, region_end(m)))
			cur = MAX(addr, MIN(cur, m->base));
	}
	return cur;
}

static bool is_guest_ram(struct loader *l, uint64_t start, uint64_t end)
{
	const struct guest_mem *g = l->p->mem;

	return start < end && usable_end(l->p, start) >= end &&
	       g->map(g->ctx, start, end - start) != NULL;
}

/* ---- placement --------------------------------------------------------------------------- */

static int busy_add(struct loader *l, uint64_t start, uint64_t end)
{
	if (start >= end)
		return 0;
	if (l->nr_busy >= BUSY_MAX)
		return fail(l, -E_NOMEM, "guest: too many busy ranges"); /* cannot happen */
	l->busy[l->nr_busy].start = start;
	l->busy[l->nr_busy].end = end;
	l->nr_busy++;
	return 0;
}

/* The lowest start of anything [a, b) must not cover, or UINT64_MAX when it is free. */
static uint64_t conflict(const struct loader *l, uint64_t a, uint64_t b)
{
	const struct guest_boot_params *p = l->p;
	uint64_t low = UINT64_MAX;
	unsigned i;

	for (i = 0; i < l->nr_busy; i++)
		if (ld_overlaps(a, b, l->busy[i].start, l->busy[i].end))
			low = MIN(low, l->busy[i].start);
	for (i = 0; i < p->nr_reserved; i++)
		if (ld_overlaps(a, b, p->reserved[i].start, p->reserved[i].end))
			low = MIN(low, p->reserved[i].start);
	for (i = 0; i < p->nr_map; i++)
		if (p->map[i].type != MEM_USABLE &&
		    ld_overlaps(a, b, p->map[i].base, region_end(&p->map[i])))
			low = MIN(low, p->map[i].base);
	return low;
}

/* Highest aligned [x, x+size) inside one usable region clipped to [lo, hi), free of conflicts. */
static bool fit_top(const struct loader *l, uint64_t start, uint64_t end, uint64_t size,
		    uint64_t align, uint64_t *out)
{
	const struct guest_mem *g = l->p->mem;

	while (end > start && end - start >= size) {
		uint64_t x = ALIGN_DOWN(end - size, align), c;

		if (x < start)
			return false;
		c = conflict(l, x, x + size);
		if (c == UINT64_MAX) {
			/* The map says usable; map() must agree or this region is skipped. */
			if (!g->map(g->ctx, x, size))
				return false;
			*out = x;
			return true;
		}
		end = c; /* c < x + size <= old end: strictly decreasing */
	}
	return false;
}

static bool place_in(const struct loader *l, uint64_t size, uint64_t align, uint64_t lo,
		     uint64_t hi, uint64_t *out)
{
	const struct guest_boot_params *p = l->p;
	bool found = false;
	unsigned i;

	for (i = 0; i < p->nr_map; i++) {
		const struct mem_region *m = &p->map[i];
		uint64_t s = MAX(m->base, lo), e = MIN(region_end(m), hi), x;

		if (m->type != MEM_USABLE || s >= e)
			continue;
		if (fit_top(l, s, e, size, align, &x) && (!found || x > *out)) {
			*out = x;
			found = true;
		}
	}
	return found;
}

/* Find room for size bytes (see the placement rule in guest_boot.h) and mark it busy. */
static int place(struct loader *l, uint64_t size, uint64_t align, const char *what, uint64_t *out)
{
	if (size == 0)
		size = 1; /* an empty block still needs a distinct address */
	if (!place_in(l, size, align, GUEST_LOW_LIMIT, GUEST_4G - 1, out) &&
	    !place_in(l, size, align, PAGE_SIZE, GUEST_LOW_LIMIT, out))
		return fail(l, -E_NOMEM,
			    "guest: no free guest RAM below 4 GiB for %s (0x%llx bytes)", what,
			    (unsigned long long)size);
	return busy_add(l, *out, *out + size);
}

/* ---- loading ------------------------------------------------------------------------------ */

static int check_params(struct loader *l)
{
	const struct guest_boot_params *p = l->p;
	unsigned i;

	if (!p->kernel || !p->mem || !p->mem->map || !p->mem->src || (p->nr_map && !p->map) ||
	    (p->nr_modules && !p->modules) || (p->nr_reserved && !p->reserved) ||
	    (p->rsdp_len && !p->rsdp))
		return fail(l, -E_INVAL, "guest: missing parameter");
	if (p->nr_modules > BOOT_MODULES_MAX)
		return fail(l, -E_INVAL, "guest: %u modules (max %d)", p->nr_modules,
			    BOOT_MODULES_MAX);
	if (p->rsdp_len != 0 && p->rsdp_len != ACPI_RSDP_V1_LEN && p->rsdp_len != ACPI_RSDP_V2_LEN)
		return fail(l, -E_INVAL, "guest: RSDP length %u is neither %d nor %d", p->rsdp_len,
			    ACPI_RSDP_V1_LEN, ACPI_RSDP_V2_LEN);
	for (i = 0; i <= p->nr_modules; i++) {
		const struct boot_module *m = i ? &p->modules[i - 1] : p->kernel;

		if (m->end < m->start)
			return fail(l, -E_INVAL, "guest: module %u ends (0x%llx) before it starts",
				    i, (unsigned long long)m->end);
		if (strnlen(m->string, sizeof(m->string)) == sizeof(m->string))
			return fail(l, -E_INVAL, "guest: module %u string not NUL-terminated", i);
	}
	for (i = 0; i < p->nr_reserved; i++)
		if (p->reserved[i].end < p->reserved[i].start)
			return fail(l, -E_INVAL, "guest: reserved range %u ends before it starts",
				    i);
	return 0;
}

static int check_segments(struct loader *l)
{
	const struct guest_boot_params *p = l->p;
	unsigned i, j;

	for (i = 0; i < l->img.nr_segs; i++) {
		const struct elf_segment *s = &l->img.seg[i];
		uint64_t end = s->paddr + s->memsz, ue = usable_end(p, s->paddr);

		if (ue < end)
			return fail(l, -E_INVAL,
				    "guest: segment %u [0x%llx,0x%llx): 0x%llx is not usable guest "
				    "RAM",
				    s->phdr, (unsigned long long)s->paddr, (unsigned long long)end,
				    (unsigned long long)ue);
		if (!p->mem->map(p->mem->ctx, s->paddr, s->memsz))
			return fail(l, -E_INVAL,
				    "guest: segment %u [0x%llx,0x%llx) is not guest RAM (hidden or "
				    "absent)",
				    s->phdr, (unsigned long long)s->paddr, (unsigned long long)end);
		for (j = 0; j < p->nr_reserved; j++)
			if (ld_overlaps(s->paddr, end, p->reserved[j].start, p->reserved[j].end))
				return fail(l, -E_INVAL,
					    "guest: segment %u [0x%llx,0x%llx) overlaps reserved "
					    "[0x%llx,0x%llx)",
					    s->phdr, (unsigned long long)s->paddr,
					    (unsigned long long)end,
					    (unsigned long long)p->reserved[j].start,
					    (unsigned long long)p->reserved[j].end);
	}
	return 0;
}

static int find_entry(struct loader *l)
{
	uint64_t entry = l->hdr.has_entry ? l->hdr.entry : l->img.entry;
	unsigned i;

	for (i = 0; i < l->img.nr_segs; i++) {
		const struct elf_segment *s = &l->img.seg[i];

		if (entry >= s->paddr && entry - s->paddr < s->memsz)
			break;
	}
	if (i == l->img.nr_segs)
		return fail(l, -E_INVAL, "guest: entry point 0x%llx is not inside a loaded segment",
			    (unsigned long long)entry);
	if (entry >= GUEST_4G)
		return fail(l, -E_INVAL, "guest: entry point 0x%llx is above 4 GiB",
			    (unsigned long long)entry);
	l->r->entry = (uint32_t)entry;
	return 0;
}

static bool over_segment(const struct loader *l, uint64_t start, uint64_t end)
{
	unsigned i;

	for (i = 0; i < l->img.nr_segs; i++)
		if (ld_overlaps(start, end, l->img.seg[i].paddr,
			     l->img.seg[i].paddr + l->img.seg[i].memsz))
			return true;
	return false;
}

static bool over_reserved(const struct loader *l, uint64_t start, uint64_t end)
{
	unsigned i;

	for (i = 0; i < l->p->nr_reserved; i++)
		if (ld_overlaps(start, end, l->p->reserved[i].start, l->p->reserved[i].end))
			return true;
	return false;
}

/* Copy [src, src+len) (host-physical, possibly outside guest RAM) to fresh guest RAM. */
static int move_block(struct loader *l, uint64_t src, uint64_t len, const char *what, uint64_t *to)
{
	const struct guest_mem *g = l->p->mem;
	const void *from = g->src(g->ctx, src, len);
	void *dst;
	int ret;

	if (!from)
		return fail(l, -E_FAULT, "guest: %s [0x%llx,0x%llx) cannot be read", what,
			    (unsigned long long)src, (unsigned long long)(src + len));
	ret = place(l, len, PAGE_SIZE, what, to);
	if (ret)
		return ret;
	dst = g->map(g->ctx, *to, len);
	memmove(dst, from, len); /* place() checked map() for this range */
	return 0;
}

static int place_modules(struct loader *l)
{
	const struct guest_boot_params *p = l->p;
	unsigned i;
	int ret;

	for (i = 0; i < p->nr_modules; i++) {
		const struct boot_module *m = &p->modules[i];
		struct phys_range *to = &l->r->modules[i];
		uint64_t len = m->end - m->start;

		to->start = m->start;
		if (len == 0) {
			/* Nothing to copy; keep the address when the guest can express it. */
			to->start = to->end = m->start < GUEST_4G ? m->start : 0;
			continue;
		}
		if (m->end >= GUEST_4G || !is_guest_ram(l, m->start, m->end) ||
		    over_segment(l, m->start, m->end) || over_reserved(l, m->start, m->end) ||
		    (l->hdr.page_align_modules && !IS_ALIGNED(m->start, PAGE_SIZE))) {
			ret = move_block(l, m->start, len, "a module", &to->start);
			if (ret)
				return ret;
		}
		to->end = to->start + len;
		ret = busy_add(l, to->start, to->end);
		if (ret)
			return ret;
	}
	l->r->nr_modules = p->nr_modules;
	return 0;
}

static void load_segments(struct loader *l)
{
	const struct guest_mem *g = l->p->mem;
	unsigned i;

	for (i = 0; i < l->img.nr_segs; i++) {
		const struct elf_segment *s = &l->img.seg[i];
		uint8_t *dst = g->map(g->ctx, s->paddr, s->memsz); /* checked by check_segments */

		memmove(dst, l->file + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
}

/* ---- boot information ---------------------------------------------------------------------- */

/* Sequential writer; with buf == NULL it only measures. */
struct wbuf {
	uint8_t *buf;
	uint64_t base; /* guest-physical address of buf[0] */
	size_t len;
};

static size_t w_skip(struct wbuf *w, size_t n)
{
	size_t at = w->len;

	if (w->buf)
		memset(w->buf + at, 0, n);
	w->len += n;
	return at;
}

static void w32(struct wbuf *w, uint32_t v)
{
	size_t at = w_skip(w, sizeof(v));

	if (w->buf)
		ld_wr32(w->buf + at, v);
}

static void w64(struct wbuf *w, uint64_t v)
{
	size_t at = w_skip(w, sizeof(v));

	if (w->buf)
		ld_wr64(w->buf + at, v);
}

static void w_bytes(struct wbuf *w, const void *s, size_t n)
{
	size_t at = w_skip(w, n);

	if (w->buf)
		memcpy(w->buf + at, s, n);
}

static void w_align(struct wbuf *w, size_t a)
{
	w_skip(w, ALIGN_UP(w->len, a) - w->len);
}

/* Store a string; returns its guest-physical address. */
static uint32_t w_string(struct wbuf *w, const char *s)
{
	size_t at = w->len;

	w_bytes(w, s, strlen(s) + 1);
	return (uint32_t)(w->base + at);
}

static void mem_info(const struct guest_boot_params *p, uint32_t *lower, uint32_t *upper)
{
	uint64_t lo = MIN(usable_end(p, 0), (uint64_t)GUEST_LOWMEM_KIB << KIB_SHIFT);
	uint64_t up = usable_end(p, GUEST_LOW_LIMIT) - GUEST_LOW_LIMIT;

	*lower = (uint32_t)(lo >> KIB_SHIFT);
	*upper = (uint32_t)MIN(up >> KIB_SHIFT, (uint64_t)UINT32_MAX);
}

static uint32_t map_type(uint32_t t)
{
	return t >= MEM_USABLE && t <= MEM_BAD ? t : MEM_RESERVED;
}

static void build_mb1(struct loader *l, struct wbuf *w)
{
	const struct guest_boot_params *p = l->p;
	size_t info = w_skip(w, MB1_INFO_SIZE), mods, mmap, mmap_len;
	uint32_t lower, upper, cmdline, name;
	unsigned i;

	mods = w->len;
	w_skip(w, (size_t)p->nr_modules * MB1_MOD_SIZE);
	mmap = w->len;
	for (i = 0; i < p->nr_map; i++) {
		if (!p->map[i].len)
			continue;
		w32(w, MB1_MMAP_SIZE_FIELD);
		w64(w, p->map[i].base);
		w64(w, p->map[i].len);
		w32(w, map_type(p->map[i].type));
	}
	mmap_len = w->len - mmap;
	cmdline = w_string(w, p->kernel->string);
	name = w_string(w, GUEST_LOADER_NAME);
	for (i = 0; i < p->nr_modules; i++) {
		uint32_t s = w_string(w, p->modules[i].string);

		if (w->buf) {
			uint8_t *e = w->buf + mods + (size_t)i * MB1_MOD_SIZE;

			ld_wr32(e, (uint32_t)l->r->modules[i].start);
			ld_wr32(e + 4, (uint32_t)l->r->modules[i].end);
			ld_wr32(e + 8, s);
		}
	}
	if (!w->buf)
		return;
	mem_info(p, &lower, &upper);
	ld_wr32(w->buf + info + MB1_OFF_FLAGS, MB1_INFO_MEMORY | MB1_INFO_CMDLINE | MB1_INFO_MODS |
						    MB1_INFO_MMAP | MB1_INFO_BOOT_LOADER_NAME);
	ld_wr32(w->buf + info + MB1_OFF_MEM_LOWER, lower);
	ld_wr32(w->buf + info + MB1_OFF_MEM_UPPER, upper);
	ld_wr32(w->buf + info + MB1_OFF_CMDLINE, cmdline);
	ld_wr32(w->buf + info + MB1_OFF_MODS_COUNT, p->nr_modules);
	ld_wr32(w->buf + info + MB1_OFF_MODS_ADDR, (uint32_t)(w->base + mods));
	ld_wr32(w->buf + info + MB1_OFF_MMAP_LENGTH, (uint32_t)mmap_len);
	ld_wr32(w->buf + info + MB1_OFF_MMAP_ADDR, (uint32_t)(w->base + mmap));
	ld_wr32(w->buf + info + MB1_OFF_BOOT_LOADER_NAME, name);
}

/* Start a tag; returns its offset so mb2_end_tag() can fill in the size. */
static size_t mb2_tag(struct wbuf *w, uint32_t type)
{
	size_t at = w->len;

	w32(w, type);
	w32(w, 0);
	return at;
}

static void mb2_end_tag(struct wbuf *w, size_t at)
{
	if (w->buf)
		ld_wr32(w->buf + at + 4, (uint32_t)(w->len - at));
	w_align(w, MB2_TAG_ALIGN);
}

static void mb2_string_tag(struct wbuf *w, uint32_t type, const char *s)
{
	size_t t = mb2_tag(w, type);

	w_bytes(w, s, strlen(s) + 1);
	mb2_end_tag(w, t);
}

static void build_mb2(struct loader *l, struct wbuf *w)
{
	const struct guest_boot_params *p = l->p;
	uint32_t lower = 0, upper = 0;
	size_t t;
	unsigned i;

	w32(w, 0); /* total_size, filled in below */
	w32(w, 0);
	mb2_string_tag(w, MB2_TAG_CMDLINE, p->kernel->string);
	mb2_string_tag(w, MB2_TAG_LOADER_NAME, GUEST_LOADER_NAME);
	for (i = 0; i < p->nr_modules; i++) {
		t = mb2_tag(w, MB2_TAG_MODULE);
		w32(w, (uint32_t)l->r->modules[i].start);
		w32(w, (uint32_t)l->r->modules[i].end);
		w_bytes(w, p->modules[i].string, strlen(p->modules[i].string) + 1);
		mb2_end_tag(w, t);
	}
	mem_info(p, &lower, &upper);
	t = mb2_tag(w, MB2_TAG_BASIC_MEM);
	w32(w, lower);
	w32(w, upper);
	mb2_end_tag(w, t);
	t = mb2_tag(w, MB2_TAG_MMAP);
	w32(w, MB2_MMAP_ENTRY);
	w32(w, MB2_MMAP_VERSION);
	for (i = 0; i < p->nr_map; i++) {
		if (!p->map[i].len)
			continue;
		w64(w, p->map[i].base);
		w64(w, p->map[i].len);
		w32(w, map_type(p->map[i].type));
		w32(w, 0);
	}
	mb2_end_tag(w, t);
	if (p->rsdp_len) {
		/* Like GRUB: the ACPI 1.0 part always, the full 2.0 RSDP when there is one. */
		t = mb2_tag(w, MB2_TAG_ACPI_OLD);
		w_bytes(w, p->rsdp, ACPI_RSDP_V1_LEN);
		mb2_end_tag(w, t);
	}
	if (p->rsdp_len == ACPI_RSDP_V2_LEN) {
		t = mb2_tag(w, MB2_TAG_ACPI_NEW);
		w_bytes(w, p->rsdp, ACPI_RSDP_V2_LEN);
		mb2_end_tag(w, t);
	}
	t = mb2_tag(w, MB2_TAG_END);
	mb2_end_tag(w, t);
	if (w->buf)
		ld_wr32(w->buf, (uint32_t)w->len);
}

static int build_info(struct loader *l)
{
	const struct guest_mem *g = l->p->mem;
	bool v2 = l->hdr.kind == GUEST_MULTIBOOT2;
	struct wbuf w = {0};
	uint64_t at;
	int ret;

	if (v2)
		build_mb2(l, &w);
	else
		build_mb1(l, &w);
	ret = place(l, w.len, INFO_ALIGN, "the boot information", &at);
	if (ret)
		return ret;
	w.buf = g->map(g->ctx, at, w.len);
	w.base = at;
	w.len = 0;
	if (v2)
		build_mb2(l, &w);
	else
		build_mb1(l, &w);
	l->r->info.start = at;
	l->r->info.end = at + w.len;
	l->r->ebx = (uint32_t)at;
	l->r->eax = v2 ? MB2_BOOTLOADER_MAGIC : MB1_BOOTLOADER_MAGIC;
	l->r->kind = l->hdr.kind;
	return 0;
}

static int read_kernel(struct loader *l)
{
	const struct boot_module *k = l->p->kernel;
	const struct guest_mem *g = l->p->mem;
	int ret;

	l->file_size = k->end - k->start;
	if (l->file_size > SIZE_MAX)
		return fail(l, -E_INVAL, "guest: kernel file too large");
	l->file = g->src(g->ctx, k->start, l->file_size);
	if (!l->file || !l->file_size)
		return fail(l, -E_FAULT, "guest: kernel file [0x%llx,0x%llx) cannot be read",
			    (unsigned long long)k->start, (unsigned long long)k->end);
	ret = guest_find_header(l->file, (size_t)l->file_size, l->p->rsdp_len, &l->hdr, l->err,
				l->errlen);
	if (ret)
		return ret;
	return elf_parse(l->file, (size_t)l->file_size, &l->img, l->err, l->errlen);
}

static int mark_busy(struct loader *l)
{
	const struct guest_boot_params *p = l->p;
	unsigned i;
	int ret = busy_add(l, 0, PAGE_SIZE);

	for (i = 0; !ret && i < l->img.nr_segs; i++)
		ret = busy_add(l, l->img.seg[i].paddr, l->img.seg[i].paddr + l->img.seg[i].memsz);
	if (!ret)
		ret = busy_add(l, p->kernel->start, p->kernel->end);
	for (i = 0; !ret && i < p->nr_modules; i++)
		ret = busy_add(l, p->modules[i].start, p->modules[i].end);
	return ret;
}

int guest_boot_load(const struct guest_boot_params *p, struct guest_boot_result *r, char *err,
		    size_t errlen)
{
	struct loader l = {.p = p, .r = r, .err = err, .errlen = err ? errlen : 0};
	int ret;

	memset(r, 0, sizeof(*r));
	if (l.errlen)
		err[0] = '\0';
	ret = check_params(&l);
	if (!ret)
		ret = read_kernel(&l);
	if (!ret)
		ret = check_segments(&l);
	if (!ret)
		ret = find_entry(&l);
	if (!ret)
		ret = mark_busy(&l);
	/* The file must survive until the segments are copied: move it out of their way. */
	if (!ret && over_segment(&l, p->kernel->start, p->kernel->end)) {
		uint64_t to;

		ret = move_block(&l, p->kernel->start, l.file_size, "the kernel file", &to);
		if (!ret)
			l.file = p->mem->map(p->mem->ctx, to, l.file_size);
	}
	if (!ret)
		ret = place_modules(&l);
	if (ret)
		return ret;
	load_segments(&l);
	r->lowest = l.img.lowest;
	r->highest = l.img.highest;
	return build_info(&l);
}
