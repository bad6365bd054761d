/*
 * DMA protection, the vendor-neutral part: finding the IOMMUs, the identity map every device
 * gets, trapping their registers, hiding their ACPI tables, fault reporting.  See iommu.h.
 */
#include "arch/x86/iommu.h"
#include "arch/x86/acpi.h"
#include "arch/x86/iommu_internal.h"
#include "arch/x86/paging.h"
#include "core/guest.h"
#include "lib/log.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "mm/guest_mem.h"
#include "mmio/devices.h"
#include "mmio/region.h"

#define ERR_TEXT_MAX	   160
#define FAULT_LOG_MAX	   32 /* lines; later faults are counted only */
#define MAX_GUARDS	   (DMAR_MAX_UNITS > IVRS_MAX_UNITS ? DMAR_MAX_UNITS : IVRS_MAX_UNITS)
#define CANARY_SIZE	   4096
#define CANARY_MULT	   0x9E3779B97F4A7C15ull
#define FNV_OFFSET	   0xcbf29ce484222325ull
#define FNV_PRIME	   0x100000001b3ull
#define ACPI_TABLE_MAX_LEN (1u << 20)

static unsigned kind = IOMMU_KIND_NONE, nr_units;
static struct dmar_info dmar;
static struct ivrs_info ivrs;
static uint64_t faults, faults_logged;

/* A page of mhv's data for the DMA test to aim at: its checksum must never change. */
static uint8_t canary[CANARY_SIZE] __attribute__((aligned(CANARY_SIZE)));

struct guard {
	uint64_t base, size;
	struct mmio_deny_dev dev;
};
static struct guard guards[MAX_GUARDS];
static unsigned nr_guards;

uint32_t iommu_rd32(uint64_t base, unsigned off)
{
	uint32_t v = ~0u;

	hv_device_read(base + off, &v, sizeof(v));
	return v;
}

uint64_t iommu_rd64(uint64_t base, unsigned off)
{
	uint64_t v = ~0ull;

	hv_device_read(base + off, &v, sizeof(v));
	return v;
}

void iommu_wr32(uint64_t base, unsigned off, uint32_t v)
{
	hv_device_write(base + off, &v, sizeof(v));
}

void iommu_wr64(uint64_t base, unsigned off, uint64_t v)
{
	hv_device_write(base + off, &v, sizeof(v));
}

void iommu_add_guard(uint64_t base, uint64_t size)
{
	if (nr_guards < MAX_GUARDS)
		guards[nr_guards++] = (struct guard){.base = base, .size = size};
}

void iommu_report_fault(const char *unit, const struct iommu_fault *f)
{
	const char *more;

	if (f->dma)
		faults++;
	if (faults_logged == FAULT_LOG_MAX)
		return;
	faults_logged++;
	more = faults_logged == FAULT_LOG_MAX ? "; further faults are counted, not logged" : "";
	if (f->interrupt)
		pr_warn("mhv: iommu: %s blocked an interrupt message by %02x:%02x.%x at 0x%lx "
			"(%s 0x%x: a message the remapping table refuses)%s\n",
			unit, f->sid >> 8, (f->sid >> 3) & 0x1f, f->sid & 7, f->addr, f->name,
			f->code, more);
	else if (f->dma)
		pr_warn("mhv: iommu: %s blocked a DMA %s by %02x:%02x.%x at 0x%lx (%s 0x%x)%s\n",
			unit, f->write ? "write" : "read", f->sid >> 8, (f->sid >> 3) & 0x1f,
			f->sid & 7, f->addr, f->name, f->code, more);
	else
		pr_err("mhv: iommu: %s reports %s (event 0x%x, device %02x:%02x.%x, address "
		       "0x%lx)%s\n",
		       unit, f->name, f->code, f->sid >> 8, (f->sid >> 3) & 0x1f, f->sid & 7, f->addr,
		       more);
}

static bool overlaps_hv(uint64_t start, uint64_t end)
{
	return start < hv_image_phys_end() && end > hv_image_phys_start();
}

bool iommu_build_identity(const struct io_pt_format *f, uint64_t root,
			  const struct iommu_range *extra, unsigned nr_extra)
{
	const struct guest_physmap *pm = guest_gate()->map;
	uint64_t span = io_pt_span(f);
	int err;

	/* Guest RAM: the map never holds mhv's range, so neither do the tables (which live in
	 * mhv's pool: the IOMMUs' own tables are out of every device's reach). */
	for (unsigned i = 0; i < pm->n; i++) {
		const struct gpa_range *r = &pm->r[i];
		uint64_t end = r->end < span ? r->end : span;

		if (r->kind != GPA_RAM)
			continue;
		if (r->end > span)
			pr_warn("mhv: iommu: RAM [0x%lx-0x%lx) lies beyond the %lu GiB the I/O page "
				"tables reach: devices cannot DMA there\n",
				r->start > span ? r->start : span, r->end, span >> 30);
		if (r->start >= end)
			continue;
		err = io_pt_map_identity(f, &hv_pool_pt_mem, root, r->start, end);
		if (err) {
			pr_err("mhv: iommu: cannot map RAM [0x%lx-0x%lx) (error %d)\n", r->start,
			       end, err);
			return false;
		}
	}
	/* Firmware's ranges (RMRR, IVMD): honoured unless they reach into mhv. */
	for (unsigned i = 0; i < nr_extra; i++) {
		const struct iommu_range *r = &extra[i];

		if (overlaps_hv(r->start, r->end) || r->end > span) {
			pr_warn("mhv: iommu: firmware range [0x%lx-0x%lx) overlaps mhv or lies beyond "
				"the tables: not mapped\n",
				r->start, r->end);
			continue;
		}
		err = io_pt_map_identity(f, &hv_pool_pt_mem, root, r->start, r->end);
		if (err) {
			pr_err("mhv: iommu: cannot map firmware range [0x%lx-0x%lx) (error %d)\n",
			       r->start, r->end, err);
			return false;
		}
		pr_info("mhv: iommu: firmware range [0x%lx-0x%lx) identity-mapped for devices\n",
			r->start, r->end);
	}
	return true;
}

static void fill_canary(void)
{
	uint64_t x = CANARY_MULT;

	for (unsigned i = 0; i < CANARY_SIZE; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		canary[i] = (uint8_t)x;
	}
}

uint64_t iommu_canary_pa(void)
{
	return image_virt_to_phys(canary);
}

uint64_t iommu_canary_sum(void)
{
	uint64_t h = FNV_OFFSET;

	for (unsigned i = 0; i < CANARY_SIZE; i++)
		h = (h ^ canary[i]) * FNV_PRIME;
	return h;
}

bool iommu_intremap, iommu_compat_passed;

uint64_t iommu_status(void)
{
	return kind | (uint64_t)nr_units << 8 | (iommu_intremap ? IOMMU_STATUS_INTREMAP : 0) |
	       (iommu_compat_passed ? IOMMU_STATUS_COMPAT_PASSED : 0);
}

/* SMP: several vCPUs may halt (and drain) at once; the fault logs have one reader at a time. */
static struct spinlock drain_lock = SPINLOCK_INIT;

uint64_t iommu_drain_faults(void)
{
	spin_lock(&drain_lock);
	if (kind == IOMMU_KIND_VTD)
		vtd_drain_faults();
	else if (kind == IOMMU_KIND_AMDVI)
		amdvi_drain_faults();
	spin_unlock(&drain_lock);
	return faults;
}

static void guard_log(void *ctx, const struct mmio_log_rec *r)
{
	(void)ctx;
	pr_warn("mhv: iommu registers: guest %s %u bytes at 0x%lx (RIP 0x%lx) %s #%lu%s\n",
		r->write ? "write" : "read", r->len, r->gpa, r->rip,
		r->write ? "dropped" : "read as all ones", r->seq,
		r->skipped ? " (earlier accesses not logged)" : "");
}

bool iommu_guard_setup(struct mmio_regions *regions)
{
	for (unsigned i = 0; i < nr_guards; i++) {
		struct guard *g = &guards[i];
		int err;

		mmio_deny_init(&g->dev, guard_log, NULL);
		err = mmio_region_add(regions, g->base, g->size, &mmio_deny_ops, &g->dev);
		if (err) {
			pr_err("mhv: iommu: cannot trap the registers at [0x%lx-0x%lx) (error %d)\n",
			       g->base, g->base + g->size, err);
			return false;
		}
		pr_info("mhv: iommu: registers [0x%lx-0x%lx) trapped: reads all ones, writes "
			"dropped\n",
			g->base, g->base + g->size);
	}
	return true;
}

/* The table's own length, bounded: acpi_find_table checked length and checksum. */
static unsigned table_len(const struct acpi_header *h)
{
	return h->length < ACPI_TABLE_MAX_LEN ? h->length : ACPI_TABLE_MAX_LEN;
}

static bool try_vtd(const struct acpi_header *h)
{
	char err[ERR_TEXT_MAX];

	if (dmar_parse(h, table_len(h), &dmar, err, sizeof(err))) {
		pr_err("mhv: iommu: the DMAR table is refused: %s\n", err);
		return false;
	}
	pr_info("mhv: iommu: DMAR: %u VT-d unit(s), %u RMRR(s), %u ATSR(s), host address width "
		"%u, interrupt remapping %s\n",
		dmar.nr_units, dmar.nr_rmrrs, dmar.nr_atsrs, dmar.haw,
		dmar.flags & DMAR_INTR_REMAP ? "offered" : "not offered");
	for (unsigned i = 0; i < dmar.nr_units; i++)
		iommu_add_guard(dmar.units[i].base, dmar.units[i].size);
	if (!vtd_setup(&dmar))
		return false;
	kind = IOMMU_KIND_VTD;
	nr_units = dmar.nr_units;
	return true;
}

static bool try_amdvi(const struct acpi_header *h)
{
	char err[ERR_TEXT_MAX];

	if (ivrs_parse(h, table_len(h), &ivrs, err, sizeof(err))) {
		pr_err("mhv: iommu: the IVRS table is refused: %s\n", err);
		return false;
	}
	pr_info("mhv: iommu: IVRS: %u AMD-Vi unit(s), %u IVMD range(s)\n", ivrs.nr_units,
		ivrs.nr_mems);
	if (!amdvi_setup(&ivrs))
		return false;
	kind = IOMMU_KIND_AMDVI;
	nr_units = ivrs.nr_units;
	return true;
}

bool iommu_setup(enum iommu_mode mode)
{
	const struct acpi_header *dmar_tbl, *ivrs_tbl;
	bool ok = false;

	fill_canary();
	if (mode == IOMMU_OFF) {
		pr_warn("mhv: iommu=off: IOMMUs left alone; devices the guest programs can DMA "
			"into mhv's memory\n");
		return true;
	}
	dmar_tbl = acpi_find_table("DMAR");
	ivrs_tbl = acpi_find_table("IVRS");
	if (dmar_tbl)
		ok = try_vtd(dmar_tbl);
	if (!ok && ivrs_tbl)
		ok = try_amdvi(ivrs_tbl);
	/* The guest must not drive an IOMMU mhv owns (nor one mhv refused to trust). */
	if (dmar_tbl && acpi_hide_table("DMAR"))
		pr_info("mhv: iommu: DMAR hidden from the guest's ACPI tables\n");
	if (ivrs_tbl && acpi_hide_table("IVRS"))
		pr_info("mhv: iommu: IVRS hidden from the guest's ACPI tables\n");
	if (ok)
		return true;
	if (dmar_tbl || ivrs_tbl)
		pr_err("mhv: iommu: the IOMMU is not in use\n");
	if (mode == IOMMU_REQUIRED) {
		pr_err("mhv: iommu=required and no IOMMU protects mhv: the guest does not start\n");
		return false;
	}
	pr_warn("mhv: no IOMMU: devices the guest programs can DMA into mhv's memory\n");
	return true;
}
