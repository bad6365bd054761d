/*
 * AMD-Vi (AMD IOMMU spec 3.x): one device table whose entries for every device ID the IVRS
 * names all point to one I/O page table (domain IOMMU_DOMAIN_ID), so every device sees guest
 * RAM identity-mapped and nothing else; a command buffer (invalidation, COMPLETION_WAIT) and an
 * event log that is drained for blocked accesses.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/cpuid_msr.h"
#include "arch/x86/iommu_internal.h"
#include "arch/x86/paging.h"
#include "iommu/amd_intremap.h"
#include "lib/fmt.h"
#include "lib/log.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "mm/frame.h"

/* Registers (AMD IOMMU spec 3.4) */
#define AMD_DEVTAB_BASE	 0x0000
#define AMD_CMDBUF_BASE	 0x0008
#define AMD_EVTLOG_BASE	 0x0010
#define AMD_CONTROL	 0x0018
#define AMD_EXCL_BASE	 0x0020
#define AMD_EXCL_LIMIT	 0x0028
#define AMD_EFR		 0x0030
#define AMD_CMD_HEAD	 0x2000
#define AMD_CMD_TAIL	 0x2008
#define AMD_EVT_HEAD	 0x2010
#define AMD_EVT_TAIL	 0x2018
#define AMD_STATUS	 0x2020
#define AMD_REG_SIZE	 0x4000 /* the base register set (16 KiB) */

#define CTRL_IOMMU_EN	 (1ull << 0)
#define CTRL_EVTLOG_EN	 (1ull << 2)
#define CTRL_CMDBUF_EN	 (1ull << 12)
#define EFR_IA_SUP	 (1ull << 6) /* INVALIDATE_IOMMU_ALL */
#define STATUS_EVT_OVERFLOW (1ull << 0)
#define RING_LEN_SHIFT	 56
#define RING_LEN_256	 8ull /* 2^8 entries of 16 bytes: one page */
#define RING_ENTRIES	 256
#define RING_ENTRY	 16
#define RING_PTR_MASK	 0x7fff0ull

/* Device table entries (3.2.2.1): 256 bits */
#define DTE_QWORDS	 4
#define DTE_SIZE	 32
#define DTE_V		 (1ull << 0)
#define DTE_TV		 (1ull << 1)
#define DTE_MODE_SHIFT	 9
#define DTE_IR		 (1ull << 61)
#define DTE_IW		 (1ull << 62)
#define DEVID_COUNT	 0x10000u
#define DEVTAB_SIZE_MASK 0x1ffull /* Size: pages - 1 */
#define DTE_INT_QWORD	 2 /* the interrupt remapping fields */
#define CPUID_1_EBX_APIC_ID_SHIFT 24 /* initial APIC ID of this (the guest's) CPU */
#define CPUID_LEAF_X2APIC	  0xB /* EDX: this CPU's x2APIC ID */

/* Commands (3.3): opcode in bits 63:60 of the first quadword */
#define CMD_OPCODE_SHIFT     60
#define CMD_COMPLETION_WAIT  0x1ull
#define CMD_INV_DEVTAB_ENTRY 0x2ull
#define CMD_INV_IOMMU_PAGES  0x3ull
#define CMD_INV_INT_TABLE    0x5ull
#define CMD_INV_IOMMU_ALL    0x8ull
#define CMD_WAIT_STORE	     (1ull << 0)
#define CMD_PAGES_DOMAIN_SHIFT 32
#define CMD_PAGES_ALL	     0x7ffffffffffff000ull
#define CMD_PAGES_S	     (1ull << 0)
#define CMD_PAGES_PDE	     (1ull << 1)
#define WAIT_DONE	     0x600d600dull

#define LEVELS	4 /* 48-bit device addresses */
#define LEAF	2 /* up to 2 MiB pages */

struct amd_unit {
	uint64_t base, efr;
	uint64_t cmd_pa, evt_pa;
	unsigned cmd_tail;
	char name[16];
};

static struct amd_unit units[IVRS_MAX_UNITS];
static unsigned nr_units;
static volatile uint64_t wait_word __attribute__((aligned(8)));

/* Per-device interrupt remapping tables (amd_intremap.h), handed out once. */
#define OWN_TABLES_MAX 80
struct own_table {
	uint16_t devid;
	uint32_t *table;
};
static struct own_table own[OWN_TABLES_MAX];
static unsigned nr_own;
static uint64_t *devtab_va;
static unsigned devtab_ids;
static uint64_t chunk_pa; /* the page the next table comes from (two per page) */
static unsigned chunk_used;
static const struct ivrs_info *ivrs_cfg;
static struct spinlock ir_lock = SPINLOCK_INIT;

static void cmd_push(struct amd_unit *u, uint64_t lo, uint64_t hi)
{
	uint64_t *ring = phys_to_virt(u->cmd_pa);
	unsigned next = (u->cmd_tail + 1) % RING_ENTRIES;

	/* Full ring: wait for the IOMMU to consume an entry. */
	for (unsigned i = 0; i < IOMMU_POLL_SPINS; i++) {
		if ((iommu_rd64(u->base, AMD_CMD_HEAD) & RING_PTR_MASK) / RING_ENTRY != next)
			break;
		cpu_relax();
	}
	ring[u->cmd_tail * 2] = lo;
	ring[u->cmd_tail * 2 + 1] = hi;
	u->cmd_tail = next;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	iommu_wr64(u->base, AMD_CMD_TAIL, (uint64_t)u->cmd_tail * RING_ENTRY);
}

/* COMPLETION_WAIT: every command before it has finished when the store lands. */
static bool cmd_wait(struct amd_unit *u)
{
	uint64_t pa = image_virt_to_phys((const void *)&wait_word);

	wait_word = 0;
	cmd_push(u, pa | CMD_WAIT_STORE | CMD_COMPLETION_WAIT << CMD_OPCODE_SHIFT, WAIT_DONE);
	for (unsigned i = 0; i < IOMMU_POLL_SPINS; i++) {
		if (wait_word == WAIT_DONE)
			return true;
		cpu_relax();
	}
	pr_err("mhv: iommu: %s: COMPLETION_WAIT never completed (status 0x%lx)\n", u->name,
	       iommu_rd64(u->base, AMD_STATUS));
	return false;
}

static bool invalidate_all(struct amd_unit *u, const struct ivrs_unit *iu)
{
	if (u->efr & EFR_IA_SUP) {
		cmd_push(u, CMD_INV_IOMMU_ALL << CMD_OPCODE_SHIFT, 0);
	} else {
		for (unsigned i = 0; i < iu->nr_devs; i++)
			for (uint32_t id = iu->devs[i].first; id <= iu->devs[i].last; id++) {
				cmd_push(u, id | CMD_INV_DEVTAB_ENTRY << CMD_OPCODE_SHIFT, 0);
				cmd_push(u, id | CMD_INV_INT_TABLE << CMD_OPCODE_SHIFT, 0);
			}
		for (unsigned i = 0; i < iu->nr_specials; i++) {
			uint32_t id = iu->specials[i].devid;

			cmd_push(u, id | CMD_INV_DEVTAB_ENTRY << CMD_OPCODE_SHIFT, 0);
			cmd_push(u, id | CMD_INV_INT_TABLE << CMD_OPCODE_SHIFT, 0);
		}
		cmd_push(u,
			 (uint64_t)IOMMU_DOMAIN_ID << CMD_PAGES_DOMAIN_SHIFT |
				 CMD_INV_IOMMU_PAGES << CMD_OPCODE_SHIFT,
			 CMD_PAGES_ALL | CMD_PAGES_S | CMD_PAGES_PDE);
	}
	return cmd_wait(u);
}

static bool setup_unit(struct amd_unit *u, const struct ivrs_unit *iu, uint64_t devtab_pa,
		       unsigned devtab_pages)
{
	u->cmd_pa = hv_alloc_page();
	u->evt_pa = hv_alloc_page();
	if (u->cmd_pa == FRAME_NONE || u->evt_pa == FRAME_NONE) {
		pr_err("mhv: iommu: %s: no pages for the command buffer and event log\n", u->name);
		return false;
	}
	/* Known state: off, then our tables; no exclusion range (it bypasses translation). */
	iommu_wr64(u->base, AMD_CONTROL, 0);
	iommu_wr64(u->base, AMD_EXCL_BASE, 0);
	iommu_wr64(u->base, AMD_EXCL_LIMIT, 0);
	iommu_wr64(u->base, AMD_DEVTAB_BASE, devtab_pa | ((devtab_pages - 1) & DEVTAB_SIZE_MASK));
	iommu_wr64(u->base, AMD_CMDBUF_BASE, u->cmd_pa | RING_LEN_256 << RING_LEN_SHIFT);
	iommu_wr64(u->base, AMD_EVTLOG_BASE, u->evt_pa | RING_LEN_256 << RING_LEN_SHIFT);
	iommu_wr64(u->base, AMD_CMD_HEAD, 0);
	iommu_wr64(u->base, AMD_CMD_TAIL, 0);
	iommu_wr64(u->base, AMD_EVT_HEAD, 0);
	iommu_wr64(u->base, AMD_EVT_TAIL, 0);
	u->cmd_tail = 0;
	iommu_wr64(u->base, AMD_CONTROL, CTRL_CMDBUF_EN | CTRL_EVTLOG_EN);
	iommu_wr64(u->base, AMD_CONTROL, CTRL_CMDBUF_EN | CTRL_EVTLOG_EN | CTRL_IOMMU_EN);
	return invalidate_all(u, iu);
}

/* The device table must cover every ID the IVRS names. */
static unsigned devtab_pages_for(const struct ivrs_info *iv)
{
	uint32_t max = 0;

	for (unsigned n = 0; n < iv->nr_units; n++) {
		const struct ivrs_unit *u = &iv->units[n];

		for (unsigned i = 0; i < u->nr_devs; i++) {
			if (u->devs[i].last > max)
				max = u->devs[i].last;
			if (u->devs[i].alias > max)
				max = u->devs[i].alias;
		}
		for (unsigned i = 0; i < u->nr_specials; i++)
			if (u->specials[i].devid > max)
				max = u->specials[i].devid;
	}
	return (unsigned)(((uint64_t)(max + 1) * DTE_SIZE + PAGE_SIZE - 1) / PAGE_SIZE);
}

/* The guest's CPU (this one) by its APIC ID: the x2APIC ID where CPUID has it. */
static uint32_t guest_apic_id(void)
{
	if (cpuid(0).eax >= CPUID_LEAF_X2APIC && cpuid_count(CPUID_LEAF_X2APIC, 0).ebx)
		return cpuid_count(CPUID_LEAF_X2APIC, 0).edx;
	return cpuid(1).ebx >> CPUID_1_EBX_APIC_ID_SHIFT;
}

/* The DTE's interrupt quadword: remapped to the guest's CPU, or everything aborted when a
 * legacy entry cannot name that CPU (no guest-mode/x2APIC entries yet). */
static uint64_t interrupt_fields(uint64_t irt_pa, uint32_t guest_apic)
{
	if (guest_apic > AMD_IRTE_MAX_DEST) {
		pr_warn("mhv: iommu: AMD-Vi: the guest's CPU has APIC ID %u, beyond what a legacy "
			"remapping entry names: every device interrupt is blocked\n",
			guest_apic);
		return amd_dte_intabort();
	}
	amd_irt_fill(phys_to_virt(irt_pa), (uint8_t)guest_apic);
	return amd_dte_intremap(irt_pa);
}

bool amdvi_setup(const struct ivrs_info *iv)
{
	struct iommu_range unity[IVRS_MAX_MEMS];
	struct io_pt_format fmt = io_pt_format_amd(LEVELS, LEAF);
	unsigned nr_unity = 0, pages = devtab_pages_for(iv);
	uint64_t devtab_pa, pt_root, irt_pa, dte0, dte2;
	uint64_t *devtab;
	uint32_t guest_apic = guest_apic_id();

	for (unsigned i = 0; i < iv->nr_mems; i++) {
		/* Unity and exclusion ranges: memory firmware's devices keep using. */
		if (iv->mems[i].flags & (IVMD_UNITY | IVMD_EXCLUSION))
			unity[nr_unity++] = (struct iommu_range){iv->mems[i].start, iv->mems[i].end};
	}
	devtab_pa = hv_alloc_pages(pages);
	pt_root = hv_alloc_page();
	irt_pa = hv_alloc_page(); /* page-aligned: more than AMD_IRT_ALIGN */
	if (devtab_pa == FRAME_NONE || pt_root == FRAME_NONE || irt_pa == FRAME_NONE) {
		pr_err("mhv: iommu: no memory for a %u KiB AMD-Vi device table\n", pages * 4);
		return false;
	}
	if (!iommu_build_identity(&fmt, pt_root, unity, nr_unity))
		return false;
	/* Interrupts: every device's fixed/arbitrated MSIs go to the guest's CPU, nothing else
	 * passes (amd_intremap.h).  The IOAPIC's and HPET's IDs are in the table too. */
	dte2 = interrupt_fields(irt_pa, guest_apic);
	devtab = phys_to_virt(devtab_pa);
	dte0 = DTE_V | DTE_TV | (uint64_t)LEVELS << DTE_MODE_SHIFT | pt_root | DTE_IR | DTE_IW;
	for (unsigned id = 0; id < pages * (PAGE_SIZE / DTE_SIZE); id++) {
		devtab[id * DTE_QWORDS] = dte0;
		devtab[id * DTE_QWORDS + 1] = IOMMU_DOMAIN_ID;
		devtab[id * DTE_QWORDS + DTE_INT_QWORD] = dte2;
	}
	nr_units = 0;
	for (unsigned n = 0; n < iv->nr_units; n++) {
		struct amd_unit *u = &units[n];
		const struct ivrs_unit *iu = &iv->units[n];

		if (iu->segment) {
			pr_err("mhv: iommu: AMD-Vi unit at 0x%lx is on PCI segment %u (only segment 0 "
			       "is supported)\n",
			       iu->base, iu->segment);
			return false;
		}
		u->base = iu->base;
		fmt_snprintf(u->name, sizeof(u->name), "AMD-Vi %u", n);
		iommu_add_guard(u->base, AMD_REG_SIZE);
		u->efr = iommu_rd64(u->base, AMD_EFR);
		pr_info("mhv: iommu: %s at 0x%lx (IVHD type 0x%x, device %02x:%02x.%x): EFR 0x%lx\n",
			u->name, u->base, iu->type, iu->devid >> 8, (iu->devid >> 3) & 0x1f,
			iu->devid & 7, u->efr);
		nr_units++;
		if (!setup_unit(u, iu, devtab_pa, pages)) {
			pr_err("mhv: iommu: %s could not be enabled\n", u->name);
			return false;
		}
		pr_info("mhv: iommu: %s: translation on: %u-level tables, 2M/4K pages, device table "
			"for %u IDs, COMPLETION_WAIT done, guest RAM identity-mapped, mhv's "
			"[0x%lx-0x%lx) absent\n",
			u->name, LEVELS, pages * (unsigned)(PAGE_SIZE / DTE_SIZE),
			hv_image_phys_start(), hv_image_phys_end());
		if (guest_apic <= AMD_IRTE_MAX_DEST)
			pr_info("mhv: iommu: %s: interrupt remapping on: devices whose MSI the guest "
				"programs through mhv get tables of their own, the others' fixed/"
				"arbitrated MSIs keep their vector and go to APIC ID %u (the boot "
				"vCPU); NMI, INIT, SMI, ExtINT, LINT0/1 from devices blocked\n",
				u->name, guest_apic);
	}
	iommu_intremap = guest_apic <= AMD_IRTE_MAX_DEST;
	devtab_va = devtab;
	devtab_ids = pages * (unsigned)(PAGE_SIZE / DTE_SIZE);
	ivrs_cfg = iv;
	return true;
}

bool amdvi_intremap_on(void)
{
	return nr_units && devtab_va && iommu_intremap;
}

/* Requests from devid arrive under another ID (IVRS alias): its own DTE is never used. */
static bool aliased(uint16_t devid)
{
	for (unsigned n = 0; n < ivrs_cfg->nr_units; n++) {
		const struct ivrs_unit *u = &ivrs_cfg->units[n];

		for (unsigned i = 0; i < u->nr_devs; i++)
			if (devid >= u->devs[i].first && devid <= u->devs[i].last &&
			    u->devs[i].alias != u->devs[i].first)
				return true;
	}
	return false;
}

static struct own_table *find_own(uint16_t devid)
{
	for (unsigned i = 0; i < nr_own; i++)
		if (own[i].devid == devid)
			return &own[i];
	return NULL;
}

/* Every unit drops what it cached of devid's DTE and interrupt table, waited for. */
static void invalidate_device(uint16_t devid, bool dte)
{
	for (unsigned i = 0; i < nr_units; i++) {
		if (dte)
			cmd_push(&units[i], devid | CMD_INV_DEVTAB_ENTRY << CMD_OPCODE_SHIFT, 0);
		cmd_push(&units[i], devid | CMD_INV_INT_TABLE << CMD_OPCODE_SHIFT, 0);
		cmd_wait(&units[i]);
	}
}

bool amdvi_irt_own(uint16_t devid)
{
	struct own_table *t;
	uint64_t pa;

	if (!amdvi_intremap_on() || devid >= devtab_ids || aliased(devid))
		return false;
	spin_lock(&ir_lock);
	if (find_own(devid)) {
		spin_unlock(&ir_lock);
		return true;
	}
	if (nr_own == OWN_TABLES_MAX)
		goto none;
	if (!chunk_pa || chunk_used + AMD_IRT_BYTES > PAGE_SIZE) {
		chunk_pa = hv_alloc_page();
		chunk_used = 0;
		if (chunk_pa == FRAME_NONE) {
			chunk_pa = 0;
			goto none;
		}
	}
	pa = chunk_pa + chunk_used; /* zeroed: every entry target-aborts */
	chunk_used += AMD_IRT_BYTES;
	t = &own[nr_own++];
	t->devid = devid;
	t->table = phys_to_virt(pa);
	devtab_va[devid * DTE_QWORDS + DTE_INT_QWORD] = amd_dte_intremap(pa);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	invalidate_device(devid, true);
	spin_unlock(&ir_lock);
	return true;
none:
	spin_unlock(&ir_lock);
	return false;
}

void amdvi_irte_write(uint16_t devid, unsigned index, uint32_t irte)
{
	struct own_table *t;

	if (index >= AMD_IRT_ENTRIES)
		return;
	spin_lock(&ir_lock);
	t = find_own(devid);
	if (t) {
		__atomic_store_n(&t->table[index], irte, __ATOMIC_SEQ_CST);
		invalidate_device(devid, false);
	}
	spin_unlock(&ir_lock);
}

bool amdvi_dte_nmi_pass(uint16_t devid)
{
	bool ok;

	spin_lock(&ir_lock);
	ok = amdvi_intremap_on() && find_own(devid);
	if (ok) {
		/* One 64-bit store: the unit never sees the quadword half-written. */
		__atomic_store_n(&devtab_va[devid * DTE_QWORDS + DTE_INT_QWORD],
				 devtab_va[devid * DTE_QWORDS + DTE_INT_QWORD] | AMD_DTE_NMI_PASS,
				 __ATOMIC_SEQ_CST);
		invalidate_device(devid, true); /* INVALIDATE_DEVTAB_ENTRY, COMPLETION_WAIT */
	}
	spin_unlock(&ir_lock);
	return ok;
}

bool amdvi_ioapic_devid(uint8_t ioapic_id, uint16_t *devid)
{
	for (unsigned n = 0; ivrs_cfg && n < ivrs_cfg->nr_units; n++) {
		const struct ivrs_unit *u = &ivrs_cfg->units[n];

		for (unsigned i = 0; i < u->nr_specials; i++)
			if (u->specials[i].variety == IVRS_SPECIAL_IOAPIC &&
			    u->specials[i].handle == ioapic_id) {
				*devid = u->specials[i].devid;
				return true;
			}
	}
	return false;
}

void amdvi_drain_faults(void)
{
	for (unsigned n = 0; n < nr_units; n++) {
		const struct amd_unit *u = &units[n];
		const uint64_t *log = phys_to_virt(u->evt_pa);
		uint64_t head = iommu_rd64(u->base, AMD_EVT_HEAD) & RING_PTR_MASK;
		uint64_t tail = iommu_rd64(u->base, AMD_EVT_TAIL) & RING_PTR_MASK;

		while (head != tail && tail < RING_ENTRIES * RING_ENTRY) {
			struct iommu_fault f;

			amdvi_event_decode(log[head / 8], log[head / 8 + 1], &f);
			iommu_report_fault(u->name, &f);
			head = (head + RING_ENTRY) % (RING_ENTRIES * RING_ENTRY);
		}
		iommu_wr64(u->base, AMD_EVT_HEAD, head);
		if (iommu_rd64(u->base, AMD_STATUS) & STATUS_EVT_OVERFLOW) {
			pr_warn("mhv: iommu: %s: the event log overflowed: some faults were lost\n",
				u->name);
			iommu_wr64(u->base, AMD_STATUS, STATUS_EVT_OVERFLOW);
		}
	}
}
