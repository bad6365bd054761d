/* The guest's physical map and the gate to guest memory: see guest_mem.h. */
#include "mm/guest_mem.h"

#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/string.h"
#include "mmio/region.h"

#define LOW_4GIB       (4ull << 30)
#define ONE_GIB	       (1ull << 30)
#define MAXPHYADDR_MIN 32
#define MAXPHYADDR_MAX 52
#define DEVICE_MAX_LEN 8 /* the widest single access a passthrough device gets */

bool mem_type_is_guest_ram(uint32_t type)
{
	return type == MEM_USABLE || type == MEM_ACPI_RECLAIM || type == MEM_ACPI_NVS;
}

/* Paint [start, end) with kind over the map, keeping it sorted, gap-free and merged. */
static int paint(struct guest_physmap *pm, uint64_t start, uint64_t end, enum gpa_kind kind)
{
	static struct gpa_range out[GUEST_PHYSMAP_MAX]; /* too big for mhv's stack; boot only */
	unsigned n = 0;
	bool placed = false;

	if (end > pm->top)
		end = pm->top;
	if (start >= end)
		return 0;
	for (unsigned i = 0; i < pm->n; i++) {
		struct gpa_range r = pm->r[i];
		struct gpa_range pieces[3];
		unsigned np = 0;

		if (r.end <= start || r.start >= end) {
			pieces[np++] = r;
		} else {
			if (r.start < start)
				pieces[np++] = (struct gpa_range){r.start, start, r.kind};
			if (!placed) {
				pieces[np++] = (struct gpa_range){start, end, kind};
				placed = true;
			}
			if (r.end > end)
				pieces[np++] = (struct gpa_range){end, r.end, r.kind};
		}
		for (unsigned j = 0; j < np; j++) {
			if (n && out[n - 1].kind == pieces[j].kind && out[n - 1].end == pieces[j].start) {
				out[n - 1].end = pieces[j].end;
				continue;
			}
			if (n == GUEST_PHYSMAP_MAX)
				return -E_NOMEM;
			out[n++] = pieces[j];
		}
	}
	memcpy(pm->r, out, n * sizeof(out[0]));
	pm->n = n;
	return 0;
}

int guest_physmap_build(struct guest_physmap *pm, const struct mem_region *mmap, unsigned n,
			struct phys_range hidden, uint64_t ram_limit, unsigned maxphyaddr)
{
	uint64_t top = LOW_4GIB, phys_limit;
	int err = 0;

	if (maxphyaddr < MAXPHYADDR_MIN || maxphyaddr > MAXPHYADDR_MAX ||
	    hidden.end <= hidden.start)
		return -E_INVAL;
	phys_limit = 1ull << maxphyaddr;
	for (unsigned i = 0; i < n; i++) {
		uint64_t end = mmap[i].base + mmap[i].len;

		if (mem_type_is_guest_ram(mmap[i].type) && end > mmap[i].base && end > top)
			top = end;
	}
	top = ALIGN_UP(top, ONE_GIB);
	pm->top = pm->built_top = MIN(top, phys_limit);
	pm->n = 1;
	pm->r[0] = (struct gpa_range){0, pm->top, GPA_DEVICE};

	for (unsigned i = 0; !err && i < n; i++) {
		const struct mem_region *m = &mmap[i];
		uint64_t start = ALIGN_UP(m->base, PAGE_SIZE);
		uint64_t end = m->base + m->len < m->base ? ~0ull : m->base + m->len;

		end = MIN(ALIGN_DOWN(end, PAGE_SIZE), ram_limit);
		if (mem_type_is_guest_ram(m->type) && start < end)
			err = paint(pm, start, end, GPA_RAM);
	}
	/* RAM the direct map does not reach stays out of the guest's map altogether. */
	if (!err && ram_limit < pm->top) {
		for (unsigned i = 0; !err && i < n; i++) {
			uint64_t end = mmap[i].base + mmap[i].len;

			if (mem_type_is_guest_ram(mmap[i].type) && end > ram_limit)
				err = paint(pm, MAX(ALIGN_DOWN(mmap[i].base, PAGE_SIZE), ram_limit),
					    ALIGN_UP(end, PAGE_SIZE), GPA_UNMAPPED);
		}
	}
	if (!err)
		err = paint(pm, ALIGN_DOWN(hidden.start, PAGE_SIZE), ALIGN_UP(hidden.end, PAGE_SIZE),
			    GPA_UNMAPPED);
	return err;
}

int guest_physmap_add_device(struct guest_physmap *pm, uint64_t start, uint64_t end,
			     unsigned maxphyaddr)
{
	uint64_t limit = 1ull << maxphyaddr;

	if (maxphyaddr < MAXPHYADDR_MIN || maxphyaddr > MAXPHYADDR_MAX || !pm->n || start >= end)
		return -E_INVAL;
	/* Below the top the map already says what everything is (RAM and mhv's range
	 * included): a BAR there changes nothing. */
	start = MAX(ALIGN_DOWN(start, PAGE_SIZE), pm->built_top);
	end = MIN(end > ~0ull - PAGE_SIZE ? limit : ALIGN_UP(end, PAGE_SIZE), limit);
	if (start >= end)
		return 0;
	if (end > pm->top) {
		if (pm->r[pm->n - 1].kind == GPA_UNMAPPED) {
			pm->r[pm->n - 1].end = end;
		} else {
			if (pm->n == GUEST_PHYSMAP_MAX)
				return -E_NOMEM;
			pm->r[pm->n++] = (struct gpa_range){pm->top, end, GPA_UNMAPPED};
		}
		pm->top = end;
	}
	return paint(pm, start, end, GPA_DEVICE);
}

struct gpa_range guest_physmap_lookup(const struct guest_physmap *pm, uint64_t gpa)
{
	unsigned lo = 0, hi = pm->n;

	if (gpa >= pm->top)
		return (struct gpa_range){pm->top, ~0ull, GPA_UNMAPPED};
	/* The ranges cover [0, top) without gaps: find the last one starting at or below gpa. */
	while (hi - lo > 1) {
		unsigned mid = lo + (hi - lo) / 2;

		if (pm->r[mid].start <= gpa)
			lo = mid;
		else
			hi = mid;
	}
	return pm->r[lo];
}

enum gpa_kind guest_mem_kind(const struct guest_mem_gate *gm, uint64_t gpa)
{
	if (gm->regions && mmio_region_find(gm->regions, gpa))
		return GPA_TRAPPED;
	return guest_physmap_lookup(gm->map, gpa).kind;
}

/* Does any mmio= region intersect [gpa, gpa + len)?  Regions are sorted by base. */
static bool range_has_region(const struct mmio_regions *rs, uint64_t gpa, uint64_t len)
{
	unsigned lo = 0, hi;

	if (!rs)
		return false;
	hi = rs->n;
	while (lo < hi) { /* the first region that ends at or after gpa */
		unsigned mid = lo + (hi - lo) / 2;

		if (rs->r[mid].last < gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rs->n && rs->r[lo].base <= gpa + len - 1;
}

void *guest_mem_ram_ptr(const struct guest_mem_gate *gm, uint64_t gpa, uint64_t len)
{
	struct gpa_range r;

	if (len == 0 || gpa + len < gpa)
		return NULL;
	r = guest_physmap_lookup(gm->map, gpa);
	if (r.kind != GPA_RAM || gpa + len > r.end || range_has_region(gm->regions, gpa, len))
		return NULL;
	return gm->ram_ptr(gm->ctx, gpa);
}

uint8_t *guest_mem_ram_page(const struct guest_mem_gate *gm, struct guest_ram_hint *h, uint64_t gpa)
{
	uint64_t page = gpa & ~(uint64_t)(PAGE_SIZE - 1);
	unsigned gen = gm->regions ? gm->regions->gen : 0;

	if (h->host && h->gpa_page == page && h->gen == gen)
		return h->host;
	h->host = guest_mem_ram_ptr(gm, page, PAGE_SIZE);
	h->gpa_page = page;
	h->gen = gen;
	return h->host;
}

/* Device accesses in naturally aligned pieces of at most max bytes. */
static int device_pieces(const struct guest_mem_gate *gm, const struct mmio_region *region,
			 uint64_t gpa, uint8_t *buf, unsigned len, bool write, uint64_t rip,
			 unsigned max)
{
	while (len) {
		unsigned piece = max;
		int err;

		while (piece > len || (gpa & (piece - 1)))
			piece >>= 1;
		if (region)
			err = mmio_region_access(region, gpa, rip, buf, piece, write);
		else if (write)
			err = gm->device_write(gm->ctx, gpa, buf, piece);
		else
			err = gm->device_read(gm->ctx, gpa, buf, piece);
		if (err)
			return err;
		gpa += piece;
		buf += piece;
		len -= piece;
	}
	return 0;
}

/* One access within one page whose kind is known. */
static int page_access(const struct guest_mem_gate *gm, const struct mmio_region *region,
		       enum gpa_kind kind, uint64_t gpa, uint8_t *buf, unsigned len, bool write,
		       uint64_t rip)
{
	uint8_t *p;

	switch (kind) {
	case GPA_RAM:
		p = gm->ram_ptr(gm->ctx, gpa);
		if (write)
			memcpy(p, buf, len);
		else
			memcpy(buf, p, len);
		return 0;
	case GPA_DEVICE:
		return device_pieces(gm, NULL, gpa, buf, len, write, rip, DEVICE_MAX_LEN);
	case GPA_TRAPPED:
		return device_pieces(gm, region, gpa, buf, len, write, rip, MMIO_ACCESS_MAX);
	default:
		return -E_FAULT;
	}
}

static enum gpa_kind page_kind(const struct guest_mem_gate *gm, uint64_t gpa,
			       const struct mmio_region **region, unsigned flags)
{
	if (flags & GMEM_RAM_BENEATH) {
		*region = NULL;
		return guest_physmap_lookup(gm->map, gpa).kind == GPA_RAM ? GPA_RAM : GPA_UNMAPPED;
	}
	*region = gm->regions ? mmio_region_find(gm->regions, gpa) : NULL;
	if (*region)
		return GPA_TRAPPED;
	return guest_physmap_lookup(gm->map, gpa).kind;
}

int guest_mem_access(const struct guest_mem_gate *gm, uint64_t gpa, void *buf, unsigned len,
		     unsigned flags, uint64_t rip)
{
	const struct mmio_region *region[2];
	enum gpa_kind kind[2];
	unsigned first = len, nr_pages = 1;
	bool write = flags & GMEM_WRITE;
	int err;

	if (len == 0 || len > PAGE_SIZE || gpa + len - 1 < gpa)
		return -E_INVAL;
	/* Resolve every page first: an access that is partly unmapped touches nothing. */
	kind[0] = page_kind(gm, gpa, &region[0], flags);
	if ((gpa & (PAGE_SIZE - 1)) + len > PAGE_SIZE) {
		first = (unsigned)(PAGE_SIZE - (gpa & (PAGE_SIZE - 1)));
		kind[1] = page_kind(gm, gpa + first, &region[1], flags);
		nr_pages = 2;
	}
	for (unsigned i = 0; i < nr_pages; i++)
		if (kind[i] == GPA_UNMAPPED)
			return -E_FAULT;
	err = page_access(gm, region[0], kind[0], gpa, buf, first, write, rip);
	if (!err && nr_pages == 2)
		err = page_access(gm, region[1], kind[1], gpa + first, (uint8_t *)buf + first,
				  len - first, write, rip);
	return err ? err : (int)kind[0];
}
