/*
 * Intel VT-d (VT-d spec 3.x, legacy translation mode): one root table whose 256 entries all
 * point to one context table whose 256 entries all name domain IOMMU_DOMAIN_ID with the same
 * second-level table, so every requester behind every unit sees guest RAM identity-mapped and
 * nothing else.  Invalidation by the invalidation queue when ECAP.QI says it exists, by the
 * context-command and IOTLB registers otherwise; write-buffer flush when CAP.RWBF asks for it.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/iommu_internal.h"
#include "arch/x86/paging.h"
#include "lib/fmt.h"
#include "iommu/vtd_intremap.h"
#include "lib/log.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "mm/frame.h"

/* Registers (VT-d spec 10.4) */
#define VTD_VER	    0x00
#define VTD_CAP	    0x08
#define VTD_ECAP    0x10
#define VTD_GCMD    0x18
#define VTD_GSTS    0x1c
#define VTD_RTADDR  0x20
#define VTD_CCMD    0x28
#define VTD_FSTS    0x34
#define VTD_FECTL   0x38
#define VTD_PMEN    0x64
#define VTD_IQT	    0x88
#define VTD_IQA	    0x90
#define VTD_IRTA    0xb8

#define CAP_RWBF	 (1ull << 4)
#define CAP_PLMR	 (1ull << 5)
#define CAP_PHMR	 (1ull << 6)
#define CAP_SAGAW_SHIFT	 8
#define CAP_SAGAW_39	 (1ull << (CAP_SAGAW_SHIFT + 1)) /* 3-level tables */
#define CAP_SAGAW_48	 (1ull << (CAP_SAGAW_SHIFT + 2)) /* 4-level tables */
#define CAP_FRO_SHIFT	 24
#define CAP_FRO_MASK	 0x3ffull
#define CAP_SLLPS_2M	 (1ull << 34)
#define CAP_SLLPS_1G	 (1ull << 35)
#define CAP_NFR_SHIFT	 40
#define CAP_NFR_MASK	 0xffull
#define ECAP_C		 (1ull << 0) /* page walks snoop the CPU caches */
#define ECAP_QI		 (1ull << 1)
#define ECAP_IR		 (1ull << 3) /* interrupt remapping */
#define ECAP_IRO_SHIFT	 8
#define ECAP_IRO_MASK	 0x3ffull
#define REG_UNIT	 16 /* FRO and IRO count 16-byte units */

#define GCMD_TE	  (1u << 31)
#define GCMD_SRTP (1u << 30)
#define GCMD_WBF  (1u << 27)
#define GCMD_QIE  (1u << 26)
#define GCMD_IRE  (1u << 25)
#define GCMD_SIRTP (1u << 24)
#define GCMD_CFI  (1u << 23)
#define GSTS_IRTPS GCMD_SIRTP
/* The persistent enables a GCMD write must repeat (one-shot bits excluded). */
#define GSTS_PERSISTENT (GCMD_TE | GCMD_QIE | GCMD_IRE | GCMD_CFI)
#define GSTS_WBFS	GCMD_WBF

#define CCMD_ICC	 (1ull << 63)
#define CCMD_GLOBAL	 (1ull << 61)
#define IOTLB_IVT	 (1ull << 63)
#define IOTLB_GLOBAL	 (1ull << 60)
#define IOTLB_DR	 (1ull << 49)
#define IOTLB_DW	 (1ull << 48)
#define IOTLB_REG	 8 /* the IOTLB register sits 8 bytes after IVA at ECAP.IRO */

#define FSTS_PFO	 (1u << 0)
#define FSTS_PPF	 (1u << 1)
#define FSTS_IQE	 (1u << 4)
#define FECTL_IM	 (1u << 31)
#define PMEN_EPM	 (1u << 31)
#define PMEN_PRS	 (1u << 0)
#define FRCD_F		 (1ull << 63)
#define FRCD_SIZE	 16

/* Root and context entries (VT-d 9.1, 9.3): 128 bits each, 256 per table. */
#define ENTRY_PRESENT	 1ull
#define CTX_AW_39	 1ull
#define CTX_AW_48	 2ull
#define CTX_DID_SHIFT	 8
#define TABLE_ENTRIES	 256

/* Invalidation queue descriptors (VT-d 6.5.2), 128-bit form */
#define QI_CC		 0x1ull
#define QI_IOTLB	 0x2ull
#define QI_IEC		 0x4ull /* interrupt entry cache */
#define QI_WAIT		 0x5ull
#define QI_IEC_INDEXED	 (1ull << 4)
#define QI_IEC_INDEX_SHIFT 32
#define QI_GRAN_GLOBAL	 (1ull << 4)
#define QI_IOTLB_DR	 (1ull << 7)
#define QI_IOTLB_DW	 (1ull << 6)
#define QI_WAIT_SW	 (1ull << 5)
#define QI_WAIT_DATA_SHIFT 32
#define QI_DESC_SIZE	 16
#define QI_ENTRIES	 256 /* one 4 KiB page: IQA.QS = 0 */
#define QI_DONE		 0x600dull

#define LEVELS_3 3
#define LEVELS_4 4

struct vtd_unit {
	uint64_t base, cap, ecap;
	uint64_t iq_pa; /* invalidation queue, 0 if register-based */
	unsigned iq_tail;
	char name[16];
};

static struct vtd_unit units[DMAR_MAX_UNITS];
static unsigned nr_units;
static volatile uint32_t qi_status __attribute__((aligned(8)));

/* Interrupt remapping: one table for every unit, entries handed out once (never freed). */
static struct vtd_irte *irt;
static unsigned irt_used;
static bool ir_on;
static struct spinlock ir_lock = SPINLOCK_INIT;
/* The IOAPICs' source IDs from the DMAR's IOAPIC device scopes (for vtd_ioapic_sid). */
#define IOAPIC_SIDS_MAX 8
#define SID_BUS_SHIFT	8
#define SID_DEV_SHIFT	3
static struct {
	uint8_t id;
	uint16_t sid;
} ioapic_sids[IOAPIC_SIDS_MAX];
static unsigned nr_ioapic_sids;

static bool wait_gsts(const struct vtd_unit *u, uint32_t bit, bool set)
{
	for (unsigned i = 0; i < IOMMU_POLL_SPINS; i++) {
		if (((iommu_rd32(u->base, VTD_GSTS) & bit) != 0) == set)
			return true;
		cpu_relax();
	}
	pr_err("mhv: iommu: %s: GSTS bit 0x%x never became %d\n", u->name, bit, set);
	return false;
}

/* Set (or clear) one GCMD command, repeating the enables already on. */
static bool gcmd(const struct vtd_unit *u, uint32_t cmd, bool on, uint32_t status_bit)
{
	uint32_t v = iommu_rd32(u->base, VTD_GSTS) & GSTS_PERSISTENT;

	iommu_wr32(u->base, VTD_GCMD, on ? v | cmd : v & ~cmd);
	return wait_gsts(u, status_bit, on);
}

static bool flush_write_buffer(const struct vtd_unit *u)
{
	if (!(u->cap & CAP_RWBF))
		return true;
	iommu_wr32(u->base, VTD_GCMD, (iommu_rd32(u->base, VTD_GSTS) & GSTS_PERSISTENT) | GCMD_WBF);
	return wait_gsts(u, GSTS_WBFS, false);
}

static bool wait_reg64_clear(const struct vtd_unit *u, unsigned off, uint64_t bit)
{
	for (unsigned i = 0; i < IOMMU_POLL_SPINS; i++) {
		if (!(iommu_rd64(u->base, off) & bit))
			return true;
		cpu_relax();
	}
	pr_err("mhv: iommu: %s: register 0x%x bit never cleared\n", u->name, off);
	return false;
}

static void qi_push(struct vtd_unit *u, uint64_t lo, uint64_t hi)
{
	uint64_t *q = phys_to_virt(u->iq_pa);

	q[u->iq_tail * 2] = lo;
	q[u->iq_tail * 2 + 1] = hi;
	u->iq_tail = (u->iq_tail + 1) % QI_ENTRIES;
}

/* A wait descriptor after what was pushed; true once the unit has done all of it. */
static bool qi_run(struct vtd_unit *u)
{
	qi_status = 0;
	qi_push(u, QI_WAIT | QI_WAIT_SW | (QI_DONE << QI_WAIT_DATA_SHIFT),
		image_virt_to_phys((const void *)&qi_status));
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	iommu_wr64(u->base, VTD_IQT, (uint64_t)u->iq_tail * QI_DESC_SIZE);
	for (unsigned i = 0; i < IOMMU_POLL_SPINS; i++) {
		if (qi_status == QI_DONE)
			return true;
		if (iommu_rd32(u->base, VTD_FSTS) & FSTS_IQE)
			break;
		cpu_relax();
	}
	pr_err("mhv: iommu: %s: the invalidation queue did not complete (FSTS 0x%x)\n", u->name,
	       iommu_rd32(u->base, VTD_FSTS));
	return false;
}

/* Global context-cache and IOTLB invalidation, waited for. */
static bool invalidate_all(struct vtd_unit *u)
{
	unsigned iro = (unsigned)((u->ecap >> ECAP_IRO_SHIFT) & ECAP_IRO_MASK) * REG_UNIT;

	if (!u->iq_pa) {
		iommu_wr64(u->base, VTD_CCMD, CCMD_ICC | CCMD_GLOBAL);
		if (!wait_reg64_clear(u, VTD_CCMD, CCMD_ICC))
			return false;
		iommu_wr64(u->base, iro + IOTLB_REG, IOTLB_IVT | IOTLB_GLOBAL | IOTLB_DR | IOTLB_DW);
		return wait_reg64_clear(u, iro + IOTLB_REG, IOTLB_IVT);
	}
	qi_push(u, QI_CC | QI_GRAN_GLOBAL, 0);
	qi_push(u, QI_IOTLB | QI_GRAN_GLOBAL | QI_IOTLB_DR | QI_IOTLB_DW, 0);
	return qi_run(u);
}

static bool enable_qi(struct vtd_unit *u)
{
	if (!(u->ecap & ECAP_QI))
		return true;
	u->iq_pa = hv_alloc_page();
	if (u->iq_pa == FRAME_NONE) {
		pr_err("mhv: iommu: %s: no page for the invalidation queue\n", u->name);
		return false;
	}
	u->iq_tail = 0;
	iommu_wr64(u->base, VTD_IQT, 0);
	iommu_wr64(u->base, VTD_IQA, u->iq_pa); /* QS = 0: 256 entries, 128-bit descriptors */
	return gcmd(u, GCMD_QIE, true, GCMD_QIE);
}

/* The levels both the unit and the tables' span allow: 4 if offered, else 3. */
static unsigned pick_levels(uint64_t cap)
{
	if (cap & CAP_SAGAW_48)
		return LEVELS_4;
	if (cap & CAP_SAGAW_39)
		return LEVELS_3;
	return 0;
}

static bool setup_unit(struct vtd_unit *u, uint64_t root_pa)
{
	/* Start from a known state: translation off, our root table. */
	if ((iommu_rd32(u->base, VTD_GSTS) & GCMD_TE) && !gcmd(u, GCMD_TE, false, GCMD_TE))
		return false;
	iommu_wr32(u->base, VTD_FECTL, FECTL_IM); /* faults are polled, not interrupts */
	iommu_wr64(u->base, VTD_RTADDR, root_pa);
	if (!gcmd(u, GCMD_SRTP, true, GCMD_SRTP) || !flush_write_buffer(u) || !enable_qi(u) ||
	    !invalidate_all(u))
		return false;
	vtd_drain_faults(); /* anything recorded before mhv owned the unit */
	if (!gcmd(u, GCMD_TE, true, GCMD_TE))
		return false;
	/* Protected memory regions firmware may have set (e.g. a measured launch) would also
	 * block the guest's DMA to RAM: with translation on they are redundant. */
	if ((u->cap & (CAP_PLMR | CAP_PHMR)) && (iommu_rd32(u->base, VTD_PMEN) & PMEN_EPM)) {
		iommu_wr32(u->base, VTD_PMEN, 0);
		for (unsigned i = 0; i < IOMMU_POLL_SPINS; i++) {
			if (!(iommu_rd32(u->base, VTD_PMEN) & PMEN_PRS))
				return true;
			cpu_relax();
		}
		pr_err("mhv: iommu: %s: protected memory regions stay enabled\n", u->name);
		return false;
	}
	return true;
}

/*
 * Interrupt remapping on one unit (VT-d 5.1, 10.4.29): the table's address (xAPIC entries,
 * EIME clear), SIRTP, a global interrupt-entry-cache invalidation (only the invalidation
 * queue has one: a unit with IR has QI), then IRE with CFI clear, so compatibility-format
 * messages are blocked, not passed through.
 */
static bool setup_unit_intremap(struct vtd_unit *u, uint64_t irt_pa)
{
	iommu_wr64(u->base, VTD_IRTA, irt_pa | VTD_IRT_SIZE_FIELD);
	if (!gcmd(u, GCMD_SIRTP, true, GSTS_IRTPS))
		return false;
	qi_push(u, QI_IEC, 0);
	if (!qi_run(u))
		return false;
	if ((iommu_rd32(u->base, VTD_GSTS) & GCMD_CFI) && !gcmd(u, GCMD_CFI, false, GCMD_CFI))
		return false;
	return gcmd(u, GCMD_IRE, true, GCMD_IRE) &&
	       !(iommu_rd32(u->base, VTD_GSTS) & GCMD_CFI);
}

static void setup_intremap(uint64_t common_ecap)
{
	uint64_t irt_pa;

	if (!(common_ecap & ECAP_IR)) {
		pr_warn("mhv: iommu: VT-d: no interrupt remapping (ECAP.IR clear): a device the "
			"guest programs can send any interrupt message, INIT and NMI included\n");
		return;
	}
	for (unsigned i = 0; i < nr_units; i++)
		if (!units[i].iq_pa) {
			pr_warn("mhv: iommu: %s offers interrupt remapping without an invalidation "
				"queue: not used\n",
				units[i].name);
			return;
		}
	irt_pa = hv_alloc_pages(VTD_IRT_ENTRIES * VTD_IRTE_SIZE / PAGE_SIZE);
	if (irt_pa == FRAME_NONE) {
		pr_warn("mhv: iommu: VT-d: no memory for an interrupt remapping table\n");
		return;
	}
	irt = phys_to_virt(irt_pa); /* zeroed: no entry present */
	if (!(common_ecap & ECAP_C)) /* the unit reads the table from memory: the zeros too */
		asm volatile("wbinvd" ::: "memory");
	for (unsigned i = 0; i < nr_units; i++) {
		if (!setup_unit_intremap(&units[i], irt_pa)) {
			pr_err("mhv: iommu: %s: interrupt remapping could not be enabled\n",
			       units[i].name);
			return;
		}
		pr_info("mhv: iommu: %s: interrupt remapping on: %u entries, compatibility format "
			"blocked (GSTS 0x%x); entries only for the guest's fixed/lowest-priority "
			"messages to its own CPUs\n",
			units[i].name, VTD_IRT_ENTRIES, iommu_rd32(units[i].base, VTD_GSTS));
	}
	ir_on = true;
	iommu_intremap = true;
}

bool vtd_intremap_on(void)
{
	return ir_on;
}

/*
 * Compatibility-format messages passed through (GCMD.CFI) on every unit: for devices whose
 * messages mhv cannot rewrite (MSI-X), which would otherwise lose every interrupt.  Such a
 * message bypasses the table: its sender reaches any CPU with any delivery mode.
 */
bool vtd_intremap_pass_compat(void)
{
	bool ok = ir_on;

	for (unsigned i = 0; ok && i < nr_units; i++)
		ok = gcmd(&units[i], GCMD_CFI, true, GCMD_CFI);
	iommu_compat_passed = ok;
	return ok;
}

int32_t vtd_irte_alloc(unsigned count)
{
	int32_t first = -1;

	spin_lock(&ir_lock);
	if (ir_on && count && irt_used + count <= VTD_IRT_ENTRIES) {
		first = (int32_t)irt_used;
		irt_used += count;
	}
	spin_unlock(&ir_lock);
	return first;
}

void vtd_irte_write(unsigned handle, const struct vtd_irte *e)
{
	volatile uint64_t *slot;

	if (!ir_on || handle >= irt_used)
		return;
	spin_lock(&ir_lock);
	slot = (volatile uint64_t *)&irt[handle];
	/* Not present while the source check changes; the low quadword (present bit, vector,
	 * destination) goes in one store. */
	slot[0] = 0;
	slot[1] = e->hi;
	slot[0] = e->lo;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < nr_units; i++) {
		struct vtd_unit *u = &units[i];

		if (!(u->ecap & ECAP_C))
			asm volatile("clflush %0" ::"m"(irt[handle]) : "memory");
		qi_push(u, QI_IEC | QI_IEC_INDEXED | (uint64_t)handle << QI_IEC_INDEX_SHIFT, 0);
		qi_run(u);
	}
	spin_unlock(&ir_lock);
}

/* A one-hop IOAPIC scope's source ID: bus, device and function of its only path entry. */
static void note_ioapic_sids(const struct dmar_scopes *sc)
{
	for (unsigned i = 0; i < sc->n; i++) {
		const struct dmar_scope *s = &sc->s[i];

		if (s->type != DMAR_SCOPE_IOAPIC || s->path_len != 1 ||
		    nr_ioapic_sids == IOAPIC_SIDS_MAX)
			continue;
		ioapic_sids[nr_ioapic_sids].id = s->enum_id;
		ioapic_sids[nr_ioapic_sids++].sid =
			(uint16_t)(s->bus << SID_BUS_SHIFT | s->dev[0] << SID_DEV_SHIFT | s->fn[0]);
	}
}

bool vtd_ioapic_sid(uint8_t ioapic_id, uint16_t *sid)
{
	for (unsigned i = 0; i < nr_ioapic_sids; i++)
		if (ioapic_sids[i].id == ioapic_id) {
			*sid = ioapic_sids[i].sid;
			return true;
		}
	return false;
}

bool vtd_setup(const struct dmar_info *d)
{
	struct iommu_range rmrr[DMAR_MAX_RMRRS];
	uint64_t common_cap = ~0ull, common_ecap = ~0ull;
	uint64_t root_pa, ctx_pa, sl_root;
	struct io_pt_format fmt;
	unsigned levels, leaf;
	uint64_t *root, *ctx;

	nr_units = 0;
	for (unsigned i = 0; i < d->nr_units; i++) {
		struct vtd_unit *u = &units[nr_units];

		if (d->units[i].segment) {
			pr_err("mhv: iommu: VT-d unit at 0x%lx is on PCI segment %u (only segment 0 "
			       "is supported)\n",
			       d->units[i].base, d->units[i].segment);
			return false;
		}
		u->base = d->units[i].base;
		u->cap = iommu_rd64(u->base, VTD_CAP);
		u->ecap = iommu_rd64(u->base, VTD_ECAP);
		u->iq_pa = 0;
		fmt_snprintf(u->name, sizeof(u->name), "VT-d %u", i);
		pr_info("mhv: iommu: %s at 0x%lx: version 0x%x, CAP 0x%lx, ECAP 0x%lx\n", u->name,
			u->base, iommu_rd32(u->base, VTD_VER), u->cap, u->ecap);
		if (u->cap == ~0ull || !pick_levels(u->cap)) {
			pr_err("mhv: iommu: %s: no 3- or 4-level second-level tables (CAP 0x%lx)\n",
			       u->name, u->cap);
			return false;
		}
		common_cap &= u->cap;
		common_ecap &= u->ecap;
		note_ioapic_sids(&d->units[i].scopes);
		nr_units++;
	}
	/* One table for every unit: the levels and page sizes all of them support. */
	levels = pick_levels(common_cap);
	if (!levels) {
		pr_err("mhv: iommu: the VT-d units share no table depth\n");
		return false;
	}
	leaf = (common_cap & CAP_SLLPS_1G) && (common_cap & CAP_SLLPS_2M) ? 3
	       : (common_cap & CAP_SLLPS_2M)				    ? 2
									    : 1;
	fmt = io_pt_format_vtd(levels, leaf);
	root_pa = hv_alloc_page();
	ctx_pa = hv_alloc_page();
	sl_root = hv_alloc_page();
	if (root_pa == FRAME_NONE || ctx_pa == FRAME_NONE || sl_root == FRAME_NONE) {
		pr_err("mhv: iommu: no pages for the VT-d tables\n");
		return false;
	}
	for (unsigned i = 0; i < d->nr_rmrrs; i++)
		rmrr[i] = (struct iommu_range){d->rmrrs[i].base, d->rmrrs[i].end};
	if (!iommu_build_identity(&fmt, sl_root, rmrr, d->nr_rmrrs))
		return false;
	root = phys_to_virt(root_pa);
	ctx = phys_to_virt(ctx_pa);
	for (unsigned i = 0; i < TABLE_ENTRIES; i++) {
		root[2 * i] = ctx_pa | ENTRY_PRESENT;
		/* TT = 00: untranslated requests through the second-level table. */
		ctx[2 * i] = sl_root | ENTRY_PRESENT;
		ctx[2 * i + 1] = (levels == LEVELS_4 ? CTX_AW_48 : CTX_AW_39) |
				 (uint64_t)IOMMU_DOMAIN_ID << CTX_DID_SHIFT;
	}
	/* A unit whose walks do not snoop reads the tables from memory. */
	if (!(common_ecap & ECAP_C))
		asm volatile("wbinvd" ::: "memory");
	for (unsigned i = 0; i < nr_units; i++) {
		if (!setup_unit(&units[i], root_pa)) {
			pr_err("mhv: iommu: %s could not be enabled\n", units[i].name);
			return false;
		}
		pr_info("mhv: iommu: %s: translation on: %u-level tables, %s pages, %s invalidation%s, "
			"guest RAM identity-mapped, mhv's [0x%lx-0x%lx) absent\n",
			units[i].name, levels, leaf == 3 ? "1G/2M/4K" : leaf == 2 ? "2M/4K" : "4K",
			units[i].iq_pa ? "queued" : "register", units[i].cap & CAP_RWBF ? ", RWBF" : "",
			hv_image_phys_start(), hv_image_phys_end());
	}
	setup_intremap(common_ecap);
	return true;
}

void vtd_drain_faults(void)
{
	for (unsigned n = 0; n < nr_units; n++) {
		const struct vtd_unit *u = &units[n];
		unsigned fro = (unsigned)((u->cap >> CAP_FRO_SHIFT) & CAP_FRO_MASK) * REG_UNIT;
		unsigned nfr = (unsigned)((u->cap >> CAP_NFR_SHIFT) & CAP_NFR_MASK) + 1;
		uint32_t fsts = iommu_rd32(u->base, VTD_FSTS);

		if (!(fsts & (FSTS_PPF | FSTS_PFO)))
			continue;
		for (unsigned i = 0; i < nfr; i++) {
			unsigned off = fro + i * FRCD_SIZE;
			uint64_t hi = iommu_rd64(u->base, off + 8);
			struct iommu_fault f;

			if (!vtd_fault_decode(iommu_rd64(u->base, off), hi, &f))
				continue;
			iommu_report_fault(u->name, &f);
			iommu_wr64(u->base, off + 8, FRCD_F); /* RW1C: the record is free again */
		}
		if (fsts & FSTS_PFO) {
			pr_warn("mhv: iommu: %s: fault records overflowed: some faults were lost\n",
				u->name);
			iommu_wr32(u->base, VTD_FSTS, FSTS_PFO);
		}
	}
}
