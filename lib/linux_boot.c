/*
 * Linux x86 boot protocol loader (see lib/linux_boot.h for the decisions).  Order of work:
 *   1. read and check the setup header where GRUB left the file;
 *   2. read every module (the initrd parts) and check the command line;
 *   3. place the kernel, the initrd and the boot data, each clear of every source;
 *   4. only then write guest memory: initrd, kernel, zero page, command line, RSDP copy.
 */

#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/fmt.h"
#include "lib/linux_boot.h"
#include "lib/loader_util.h"
#include "lib/string.h"

#define LX_BUSY_MAX    (BOOT_MODULES_MAX + 8)
#define LX_PAGE_ALIGN  PAGE_SIZE
#define BOOT_IMAGE_KEY "BOOT_IMAGE="

struct lx_loader {
	const struct guest_boot_params *p;
	char *err;
	size_t errlen;
	const uint8_t *file;
	uint64_t file_size;
	struct linux_header h;
	struct phys_range busy[LX_BUSY_MAX];
	unsigned nr_busy;
	uint64_t initrd_size;
	const uint8_t *mod_src[BOOT_MODULES_MAX];
};


#define fail(l, code, ...) ld_fail((l)->err, (l)->errlen, code, __VA_ARGS__)

static void wr8(uint8_t *p, uint8_t v)
{
	*p = v;
}

/* ---- the setup header ------------------------------------------------------------------ */

bool linux_is_bzimage(const void *file, size_t size)
{
	const uint8_t *f = file;

	return size >= LX_HEADER + 4 && ld_rd32(f + LX_HEADER) == LX_HDRS_MAGIC;
}

int linux_parse_header(const void *file, size_t size, struct linux_header *h, char *err,
		       size_t errlen)
{
	const uint8_t *f = file;
	uint32_t sects, syssize;

	memset(h, 0, sizeof(*h));
	if (!linux_is_bzimage(file, size))
		return ld_fail(err, errlen, -E_NOENT, "linux: no boot protocol header ('HdrS')");
	if (size < LX_INIT_SIZE + 4)
		return ld_fail(err, errlen, -E_INVAL,
				"linux: truncated image: 0x%zx bytes, the setup header alone needs "
				"0x%x",
				size, LX_INIT_SIZE + 4);
	h->version = ld_rd16(f + LX_VERSION);
	if (h->version < LX_MIN_VERSION)
		return ld_fail(err, errlen, -E_NOTSUP,
				"linux: boot protocol %u.%02u is too old (2.10 or later needed: "
				"kernels since 2.6.31)",
				h->version >> 8, h->version & 0xFF);
	h->header_end = LX_HEADER + f[LX_JUMP + 1];
	if (h->header_end < LX_INIT_SIZE + 4 || h->header_end > size)
		return ld_fail(err, errlen, -E_INVAL,
				"linux: setup header ends at 0x%x, outside [0x%x, file size 0x%zx]",
				h->header_end, LX_INIT_SIZE + 4, size);
	/* Fields past the zero page's setup_header are not ours to copy. */
	h->header_len = MIN(h->header_end, (uint32_t)LX_HEADER_END_MAX) - LX_SETUP_SECTS;
	if (ld_rd16(f + LX_BOOT_FLAG) != LX_BOOT_FLAG_MAGIC)
		return ld_fail(err, errlen, -E_INVAL, "linux: boot flag is not 0xAA55");
	h->loadflags = f[LX_LOADFLAGS];
	if (!(h->loadflags & LX_LOADED_HIGH))
		return ld_fail(err, errlen, -E_NOTSUP,
				"linux: a zImage (loaded low) is not supported, only a bzImage");
	sects = f[LX_SETUP_SECTS] ? f[LX_SETUP_SECTS] : LX_DEFAULT_SETUP_SECTS;
	h->setup_size = (sects + 1) * LX_SECTOR;
	syssize = ld_rd32(f + LX_SYSSIZE);
	h->pm_size = (uint32_t)(size > h->setup_size ? MIN(size - h->setup_size, UINT32_MAX) : 0);
	if (h->setup_size >= size || (uint64_t)syssize * 16 > h->pm_size || syssize == 0)
		return ld_fail(err, errlen, -E_INVAL,
				"linux: truncated image: 0x%zx bytes, setup 0x%x + kernel 0x%llx "
				"expected",
				size, h->setup_size, (unsigned long long)syssize * 16);
	h->pm_size = syssize * 16;
	h->xloadflags = ld_rd16(f + LX_XLOADFLAGS);
	h->initrd_addr_max = ld_rd32(f + LX_INITRD_ADDR_MAX);
	h->kernel_alignment = ld_rd32(f + LX_KERNEL_ALIGNMENT);
	h->relocatable = f[LX_RELOCATABLE] != 0;
	h->cmdline_size = ld_rd32(f + LX_CMDLINE_SIZE);
	h->pref_address = ld_rd64(f + LX_PREF_ADDRESS);
	h->init_size = ld_rd32(f + LX_INIT_SIZE);
	if (h->init_size < h->pm_size)
		return ld_fail(err, errlen, -E_INVAL,
				"linux: init_size 0x%x is smaller than the kernel (0x%x)",
				h->init_size, h->pm_size);
	if (h->relocatable && (h->kernel_alignment < LX_PAGE_ALIGN ||
			       (h->kernel_alignment & (h->kernel_alignment - 1))))
		return ld_fail(err, errlen, -E_INVAL,
				"linux: kernel_alignment 0x%x is not a power of two >= 4 KiB",
				h->kernel_alignment);
	if (h->pref_address < GUEST_LOW_LIMIT || h->pref_address >= GUEST_4G ||
	    !IS_ALIGNED(h->pref_address, LX_PAGE_ALIGN))
		return ld_fail(err, errlen, -E_INVAL,
				"linux: pref_address 0x%llx is not a page in [1 MiB, 4 GiB)",
				(unsigned long long)h->pref_address);
	return 0;
}

/* ---- placement -------------------------------------------------------------------------- */

static int busy_add(struct lx_loader *l, uint64_t start, uint64_t end)
{
	if (start >= end)
		return 0;
	if (l->nr_busy >= LX_BUSY_MAX)
		return fail(l, -E_NOMEM, "linux: too many busy ranges");
	l->busy[l->nr_busy++] = (struct phys_range){start, end};
	return 0;
}

/* True when [a, b) lies in one usable map region and collides with nothing busy. */
static bool is_free(const struct lx_loader *l, uint64_t a, uint64_t b)
{
	const struct guest_boot_params *p = l->p;
	bool in_ram = false;
	unsigned i;

	if (a >= b)
		return false;
	for (i = 0; i < p->nr_map; i++) {
		const struct mem_region *m = &p->map[i];
		uint64_t end = m->base + m->len;

		if (m->type != MEM_USABLE) {
			if (m->len && ld_overlaps(a, b, m->base, end))
				return false;
		} else if (m->base <= a && b <= end) {
			in_ram = true;
		}
	}
	for (i = 0; i < l->nr_busy; i++)
		if (ld_overlaps(a, b, l->busy[i].start, l->busy[i].end))
			return false;
	for (i = 0; i < p->nr_reserved; i++)
		if (ld_overlaps(a, b, p->reserved[i].start, p->reserved[i].end))
			return false;
	return in_ram && p->mem->map(p->mem->ctx, a, b - a) != NULL;
}

/*
 * Candidate addresses for an aligned block of size bytes in [lo, hi): the edges of usable
 * regions and of everything busy, aligned; the best free one wins (highest or lowest).
 */
static bool consider(const struct lx_loader *l, uint64_t x, uint64_t size, uint64_t lo, uint64_t hi,
		     bool highest, bool *found, uint64_t *best)
{
	if (x < lo || x + size < x || x + size > hi || !is_free(l, x, x + size))
		return false;
	if (!*found || (highest ? x > *best : x < *best))
		*best = x;
	*found = true;
	return true;
}

static bool place(const struct lx_loader *l, uint64_t size, uint64_t align, uint64_t lo,
		  uint64_t hi, bool highest, uint64_t *out)
{
	const struct guest_boot_params *p = l->p;
	bool found = false;
	unsigned i;

	/* A free block can always slide until it touches an edge: below one (highest-first) or
	 * above one (lowest-first), so the edges are the only candidates needed. */
	for (i = 0; i < p->nr_map + l->nr_busy + p->nr_reserved; i++) {
		uint64_t s, e;

		if (i < p->nr_map) {
			s = p->map[i].base;
			e = p->map[i].base + p->map[i].len;
		} else if (i < p->nr_map + l->nr_busy) {
			s = l->busy[i - p->nr_map].start;
			e = l->busy[i - p->nr_map].end;
		} else {
			s = p->reserved[i - p->nr_map - l->nr_busy].start;
			e = p->reserved[i - p->nr_map - l->nr_busy].end;
		}
		if (highest) {
			if (s >= size)
				consider(l, ALIGN_DOWN(s - size, align), size, lo, hi, true, &found,
					 out);
			if (e >= size)
				consider(l, ALIGN_DOWN(e - size, align), size, lo, hi, true, &found,
					 out);
			if (hi >= size)
				consider(l, ALIGN_DOWN(hi - size, align), size, lo, hi, true,
					 &found, out);
		} else {
			consider(l, ALIGN_UP(s, align), size, lo, hi, false, &found, out);
			consider(l, ALIGN_UP(e, align), size, lo, hi, false, &found, out);
			consider(l, ALIGN_UP(lo, align), size, lo, hi, false, &found, out);
		}
	}
	return found;
}

/* ---- sources ------------------------------------------------------------------------------ */

static int read_sources(struct lx_loader *l)
{
	const struct guest_boot_params *p = l->p;
	const struct guest_mem *g = p->mem;
	unsigned i;
	int ret;

	if (!p->kernel || !g || !g->map || !g->src || p->nr_modules > BOOT_MODULES_MAX ||
	    (p->nr_modules && !p->modules))
		return fail(l, -E_INVAL, "linux: bad loader parameters");
	if (p->kernel->end <= p->kernel->start)
		return fail(l, -E_INVAL, "linux: empty kernel file");
	l->file_size = p->kernel->end - p->kernel->start;
	l->file = g->src(g->ctx, p->kernel->start, l->file_size);
	if (!l->file || l->file_size > SIZE_MAX)
		return fail(l, -E_FAULT, "linux: kernel file [0x%llx,0x%llx) cannot be read",
			    (unsigned long long)p->kernel->start,
			    (unsigned long long)p->kernel->end);
	ret = linux_parse_header(l->file, (size_t)l->file_size, &l->h, l->err, l->errlen);
	if (ret)
		return ret;
	ret = busy_add(l, 0, PAGE_SIZE);
	if (!ret)
		ret = busy_add(l, p->kernel->start, p->kernel->end);
	for (i = 0; !ret && i < p->nr_modules; i++) {
		const struct boot_module *m = &p->modules[i];
		uint64_t len = m->end - m->start;

		if (m->end < m->start || l->initrd_size + len < l->initrd_size)
			return fail(l, -E_INVAL, "linux: module %u has a bad range", i + 1);
		l->mod_src[i] = len ? g->src(g->ctx, m->start, len) : NULL;
		if (len && !l->mod_src[i])
			return fail(l, -E_FAULT, "linux: module %u [0x%llx,0x%llx) cannot be read",
				    i + 1, (unsigned long long)m->start,
				    (unsigned long long)m->end);
		l->initrd_size += len;
		ret = busy_add(l, m->start, m->end);
	}
	return ret;
}

/* ---- placement of kernel, initrd, boot data -------------------------------------------- */

static int place_kernel(struct lx_loader *l, struct linux_boot_result *r)
{
	const struct linux_header *h = &l->h;
	uint64_t at = h->pref_address;

	if (!is_free(l, at, at + h->init_size)) {
		if (!h->relocatable)
			return fail(l, -E_NOMEM,
				    "linux: [0x%llx, +0x%x) for a non-relocatable kernel is not "
				    "free usable RAM",
				    (unsigned long long)at, h->init_size);
		if (!place(l, h->init_size, h->kernel_alignment, h->pref_address, GUEST_4G, false,
			   &at))
			return fail(l, -E_NOMEM,
				    "linux: no free RAM for the kernel (0x%x bytes, aligned 0x%x, "
				    "above 0x%llx, below 4 GiB)",
				    h->init_size, h->kernel_alignment,
				    (unsigned long long)h->pref_address);
	}
	r->kernel = (struct phys_range){at, at + h->init_size};
	r->entry = (uint32_t)at;
	return busy_add(l, r->kernel.start, r->kernel.end);
}

static int place_initrd(struct lx_loader *l, struct linux_boot_result *r)
{
	uint64_t top = MIN((uint64_t)l->h.initrd_addr_max + 1, GUEST_4G), at;

	if (!l->initrd_size)
		return 0;
	if (!place(l, l->initrd_size, LX_PAGE_ALIGN, GUEST_LOW_LIMIT, top, true, &at))
		return fail(l, -E_NOMEM,
			    "linux: no free RAM below 0x%llx for the initrd (0x%llx bytes)",
			    (unsigned long long)top, (unsigned long long)l->initrd_size);
	r->initrd = (struct phys_range){at, at + l->initrd_size};
	return busy_add(l, r->initrd.start, r->initrd.end);
}

static int place_boot_data(struct lx_loader *l, struct linux_boot_result *r)
{
	uint64_t size = LINUX_BOOT_DATA_PAGES * PAGE_SIZE, at;

	if (!place(l, size, LX_PAGE_ALIGN, GUEST_LOW_LIMIT, GUEST_4G, true, &at) &&
	    !place(l, size, LX_PAGE_ALIGN, PAGE_SIZE, GUEST_LOW_LIMIT, true, &at))
		return fail(l, -E_NOMEM, "linux: no free RAM below 4 GiB for the zero page");
	r->boot_data = (struct phys_range){at, at + size};
	r->zero_page = (uint32_t)at;
	return busy_add(l, r->boot_data.start, r->boot_data.end);
}

/* ---- writing ---------------------------------------------------------------------------- */

/* "name args" -> "BOOT_IMAGE=name args", cut to the kernel's limit.  Returns the length. */
static size_t build_cmdline(const struct lx_loader *l, char *out, size_t max)
{
	const char *s = l->p->kernel->string;
	size_t n = 0, limit = MIN(max, (size_t)l->h.cmdline_size);

	while (*s == ' ')
		s++;
	if (*s) {
		for (const char *k = BOOT_IMAGE_KEY; *k && n < limit; k++)
			out[n++] = *k;
	}
	for (; *s && n < limit; s++)
		out[n++] = *s;
	out[n] = '\0';
	return n;
}

static void copy_initrd(const struct lx_loader *l, const struct linux_boot_result *r)
{
	const struct guest_boot_params *p = l->p;
	uint64_t at = r->initrd.start;

	for (unsigned i = 0; i < p->nr_modules; i++) {
		uint64_t len = p->modules[i].end - p->modules[i].start;

		if (len)
			memcpy(p->mem->map(p->mem->ctx, at, len), l->mod_src[i], (size_t)len);
		at += len;
	}
}

/* The e820 table: the guest's map, with the boot data block cut out as reserved. */
static unsigned build_e820(const struct lx_loader *l, const struct linux_boot_result *r,
			   uint8_t *zp)
{
	const struct guest_boot_params *p = l->p;
	struct mem_region out[LX_E820_MAX];
	unsigned n = 0;

	for (unsigned i = 0; i < p->nr_map && n + 3 <= LX_E820_MAX; i++) {
		struct mem_region m = p->map[i];
		uint64_t end = m.base + m.len, bs = r->boot_data.start, be = r->boot_data.end;

		if (!m.len)
			continue;
		if (m.type != MEM_USABLE || !ld_overlaps(m.base, end, bs, be)) {
			out[n++] = m;
			continue;
		}
		if (m.base < bs)
			out[n++] = (struct mem_region){m.base, bs - m.base, MEM_USABLE};
		out[n++] = (struct mem_region){MAX(bs, m.base), MIN(be, end) - MAX(bs, m.base),
					       MEM_RESERVED};
		if (end > be)
			out[n++] = (struct mem_region){be, end - be, MEM_USABLE};
	}
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = zp + LX_ZP_E820_TABLE + i * LX_E820_ENTRY_SIZE;

		ld_wr64(e, out[i].base);
		ld_wr64(e + 8, out[i].len);
		ld_wr32(e + 16, out[i].type);
	}
	return n;
}

static void write_boot_data(const struct lx_loader *l, const struct linux_boot_result *r)
{
	const struct guest_boot_params *p = l->p;
	uint8_t *zp =
		p->mem->map(p->mem->ctx, r->boot_data.start, r->boot_data.end - r->boot_data.start);
	char *cmdline = (char *)zp + PAGE_SIZE;
	uint8_t *rsdp = zp + 2 * PAGE_SIZE;

	memset(zp, 0, LINUX_BOOT_DATA_PAGES * PAGE_SIZE);
	memcpy(zp + LX_SETUP_SECTS, l->file + LX_SETUP_SECTS, l->h.header_len);
	wr8(zp + LX_TYPE_OF_LOADER, LX_LOADER_UNDEFINED);
	/* No real-mode setup code runs: the heap and segment flags mean nothing here. */
	wr8(zp + LX_LOADFLAGS, l->h.loadflags & (uint8_t) ~(LX_CAN_USE_HEAP | LX_KEEP_SEGMENTS));
	ld_wr32(zp + LX_CODE32_START, r->entry);
	ld_wr32(zp + LX_RAMDISK_IMAGE, (uint32_t)r->initrd.start);
	ld_wr32(zp + LX_RAMDISK_SIZE, (uint32_t)(r->initrd.end - r->initrd.start));
	build_cmdline(l, cmdline, LX_CMDLINE_MAX);
	ld_wr32(zp + LX_CMD_LINE_PTR, (uint32_t)(r->boot_data.start + PAGE_SIZE));
	if (p->rsdp && p->rsdp_len) {
		memcpy(rsdp, p->rsdp, p->rsdp_len);
		ld_wr64(zp + LX_ZP_ACPI_RSDP, r->boot_data.start + 2 * PAGE_SIZE);
	}
	wr8(zp + LX_ZP_E820_ENTRIES, (uint8_t)build_e820(l, r, zp));
}

int linux_boot_load(const struct guest_boot_params *p, struct linux_boot_result *r, char *err,
		    size_t errlen)
{
	struct lx_loader l = {.p = p, .err = err, .errlen = err ? errlen : 0};
	int ret;

	memset(r, 0, sizeof(*r));
	if (l.errlen)
		err[0] = '\0';
	ret = read_sources(&l);
	if (!ret && p->rsdp_len > sizeof(((struct boot_info *)0)->rsdp))
		ret = fail(&l, -E_INVAL, "linux: bad RSDP length %u", p->rsdp_len);
	if (!ret && (l.initrd_size > UINT32_MAX))
		ret = fail(&l, -E_INVAL, "linux: initrd larger than 4 GiB");
	if (!ret)
		ret = place_kernel(&l, r);
	if (!ret)
		ret = place_initrd(&l, r);
	if (!ret)
		ret = place_boot_data(&l, r);
	if (ret)
		return ret;
	r->hdr = l.h;
	/* Everything placed clear of every source: the copies can go in any order. */
	copy_initrd(&l, r);
	memcpy(p->mem->map(p->mem->ctx, r->kernel.start, l.h.pm_size), l.file + l.h.setup_size,
	       l.h.pm_size);
	write_boot_data(&l, r);
	return 0;
}
