/*
 * The guest: its memory map (the machine's, with mhv's range reserved), its nested page
 * tables (one builder for EPT and NPT: the formats differ only in bits), and loading the
 * kernel GRUB passed as the first module.
 */
#include "core/guest.h"
#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "arch/x86/pci_high_mmio.h"
#include "arch/x86/virt_caps.h"
#include "boot/multiboot2.h"
#include "core/mmio_setup.h"
#include "core/virt_backend.h"
#include "lib/compiler.h"
#include "lib/guest_boot.h"
#include "lib/linux_boot.h"
#include "lib/errno.h"
#include "lib/log.h"
#include "mm/frame.h"
#include "mm/guest_mem.h"
#include "mm/pagetable.h"

#define GUEST_MAP_MAX	  (BOOT_MMAP_MAX + 2)
#define ERR_TEXT_MAX	  160
#define CPUID_1_ECX_XSAVE (1u << 26)
#define CPUID_LEAF_7	  7
#define CPUID_7_ECX_PKU	  (1u << 3)

static struct mem_region guest_map[GUEST_MAP_MAX];
static unsigned nr_guest_map;
static uint64_t hv_start, hv_end;
static struct guest_physmap physmap;

static bool overlaps_hv(uint64_t start, uint64_t end)
{
	return start < hv_end && end > hv_start;
}

/* The machine's map with [hv_start, hv_end) cut out of every region and reported reserved. */
static void build_guest_map(const struct boot_info *bi)
{
	nr_guest_map = 0;
	for (unsigned i = 0; i < bi->nr_mmap && nr_guest_map + 2 < GUEST_MAP_MAX; i++) {
		struct mem_region m = bi->mmap[i];
		uint64_t end = m.base + m.len;

		if (!overlaps_hv(m.base, end)) {
			guest_map[nr_guest_map++] = m;
			continue;
		}
		if (m.base < hv_start)
			guest_map[nr_guest_map++] =
				(struct mem_region){m.base, hv_start - m.base, m.type};
		if (end > hv_end)
			guest_map[nr_guest_map++] =
				(struct mem_region){hv_end, end - hv_end, m.type};
	}
	guest_map[nr_guest_map++] = (struct mem_region){hv_start, hv_end - hv_start, MEM_RESERVED};
}

static void *direct_map_ptr(void *ctx, uint64_t gpa)
{
	(void)ctx;
	return phys_to_virt(gpa);
}

static int device_read(void *ctx, uint64_t gpa, void *buf, unsigned len)
{
	(void)ctx;
	return hv_device_read(gpa, buf, len);
}

static int device_write(void *ctx, uint64_t gpa, const void *buf, unsigned len)
{
	(void)ctx;
	return hv_device_write(gpa, buf, len);
}

/* The one gate to guest memory (mm/guest_mem.h); its map is also the EPT/NPT's. */
static struct guest_mem_gate gate = {
	.map = &physmap,
	.ram_ptr = direct_map_ptr,
	.device_read = device_read,
	.device_write = device_write,
};

const struct guest_mem_gate *guest_gate(void)
{
	return &gate;
}

/* The loader writes the kernel, its modules and boot information into guest RAM only. */
static void *guest_ram(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	return guest_mem_ram_ptr(&gate, gpa, len);
}

/* Module contents: where GRUB put them (the machine's memory, outside mhv's image). */
static const void *host_mem(void *ctx, uint64_t pa, uint64_t len)
{
	(void)ctx;
	if (pa + len < pa || pa + len > hv_direct_map_top() || overlaps_hv(pa, pa + len))
		return NULL;
	return phys_to_virt(pa);
}

static const struct guest_mem guest_mem_ops = {
	.map = guest_ram,
	.src = host_mem,
};

static bool is_linux_kernel(const struct boot_module *k)
{
	uint64_t len = MIN(k->end - k->start, (uint64_t)LX_HEADER_END_MAX);
	const void *head = host_mem(NULL, k->start, len);

	return k->end > k->start && head && linux_is_bzimage(head, (size_t)len);
}

/* A Linux bzImage: entered at its 32-bit entry, ESI = the zero page, EBX/EBP/EDI zero. */
static bool linux_load(const struct guest_boot_params *p, struct guest_start *gs)
{
	struct linux_boot_result r;
	char err[ERR_TEXT_MAX];

	if (linux_boot_load(p, &r, err, sizeof(err))) {
		pr_err("mhv: cannot load the Linux kernel '%s': %s\n", p->kernel->string, err);
		return false;
	}
	pr_info("mhv: guest: Linux bzImage, boot protocol %u.%02u, kernel [0x%lx-0x%lx), "
		"entry 0x%x, zero page 0x%x, initrd [0x%lx-0x%lx)\n",
		r.hdr.version >> 8, r.hdr.version & 0xFF, r.kernel.start, r.kernel.end, r.entry,
		r.zero_page, r.initrd.start, r.initrd.end);
	pr_info("mhv: guest: RAM [0-0x%lx) and above; mhv's [0x%lx-0x%lx) is hidden\n", hv_start,
		hv_start, hv_end);
	gs->entry = r.entry;
	gs->eax = 0;
	gs->ebx = 0;
	gs->esi = r.zero_page;
	gs->hv_start = hv_start;
	gs->hv_end = hv_end;
	return true;
}

bool guest_load(const struct boot_info *bi, struct guest_start *gs)
{
	struct guest_boot_params p = {0};
	struct guest_boot_result r;
	char err[ERR_TEXT_MAX];
	int err_code;

	hv_start = hv_image_phys_start();
	hv_end = hv_image_phys_end();
	if (bi->nr_modules == 0) {
		pr_err("mhv: no guest: GRUB passed no module (module2 /path/kernel.elf ...; "
		       "guest=none for a self-check run)\n");
		return false;
	}
	build_guest_map(bi);
	err_code = guest_physmap_build(&physmap, guest_map, nr_guest_map,
				       (struct phys_range){hv_start, hv_end}, hv_direct_map_top(),
				       hv_maxphyaddr());
	/* 64-bit PCI BARs above the end of RAM are the guest's devices too. */
	if (!err_code) {
		int added = pci_high_mmio_add(&physmap, hv_maxphyaddr());

		err_code = added < 0 ? added : 0;
	}
	if (err_code) {
		pr_err("mhv: cannot build the guest's physical map (error %d)\n", err_code);
		return false;
	}
	p.kernel = &bi->modules[0];
	p.modules = &bi->modules[1];
	p.nr_modules = bi->nr_modules - 1;
	p.map = guest_map;
	p.nr_map = nr_guest_map;
	p.rsdp = bi->rsdp;
	p.rsdp_len = bi->rsdp_len;
	p.mem = &guest_mem_ops;
	if (is_linux_kernel(&bi->modules[0]))
		return linux_load(&p, gs);
	if (guest_boot_load(&p, &r, err, sizeof(err))) {
		pr_err("mhv: cannot load the guest kernel '%s': %s\n", bi->modules[0].string, err);
		return false;
	}
	pr_info("mhv: guest: multiboot%s kernel [0x%lx-0x%lx), entry 0x%x, boot info at 0x%x, "
		"%u module(s)\n",
		r.kind == GUEST_MULTIBOOT2 ? "2" : " v1", r.lowest, r.highest, r.entry, r.ebx,
		r.nr_modules);
	pr_info("mhv: guest: RAM [0-0x%lx) and above; mhv's [0x%lx-0x%lx) is hidden\n", hv_start,
		hv_start, hv_end);
	gs->entry = r.entry;
	gs->eax = r.eax;
	gs->ebx = r.ebx;
	gs->hv_start = hv_start;
	gs->hv_end = hv_end;
	return true;
}

/* Regions mmio= adds after the map was built: the gate sends their pages to their devices. */
void guest_gate_attach_regions(const struct mmio_regions *regions)
{
	gate.regions = regions;
}

/* The nested tables built, for regions the monitor adds at run time. */
static struct pt_format nested_fmt;
static uint64_t nested_root = FRAME_NONE;

static uint64_t nested_ram_flags, nested_exec_only_flags;

void guest_nested_offer_exec_only(uint64_t leaf_flags)
{
	nested_exec_only_flags = leaf_flags;
}

bool guest_nested_has_exec_only(void)
{
	return nested_exec_only_flags != 0;
}

int guest_nested_view(uint64_t gpa, enum nested_view view)
{
	gpa &= ~(uint64_t)(PAGE_SIZE - 1);
	if (nested_root == FRAME_NONE || guest_physmap_lookup(&physmap, gpa).kind != GPA_RAM)
		return -E_NOENT;
	switch (view) {
	case NESTED_RAM:
		return pt_map(&nested_fmt, &hv_pool_pt_mem, nested_root, gpa, gpa, PAGE_SIZE,
			      nested_ram_flags);
	case NESTED_EXEC_ONLY:
		if (!nested_exec_only_flags)
			return -E_INVAL;
		return pt_map(&nested_fmt, &hv_pool_pt_mem, nested_root, gpa, gpa, PAGE_SIZE,
			      nested_exec_only_flags);
	default:
		return pt_unmap(&nested_fmt, &hv_pool_pt_mem, nested_root, gpa, PAGE_SIZE);
	}
}

int guest_nested_unmap(uint64_t base, uint64_t size)
{
	if (nested_root == FRAME_NONE)
		return -E_NOENT;
	return pt_unmap(&nested_fmt, &hv_pool_pt_mem, nested_root, base, size);
}

uint64_t guest_nested_tables_build(const struct pt_format *fmt, uint64_t ram_flags,
				   uint64_t device_flags)
{
	uint64_t root = hv_alloc_page();
	int err = 0;

	if (root == FRAME_NONE)
		return FRAME_NONE;
	nested_fmt = *fmt;
	nested_root = root;
	nested_ram_flags = ram_flags;
	/* Exactly the gate's map: RAM cacheable, devices uncached, unmapped ranges absent. */
	for (unsigned i = 0; !err && i < physmap.n; i++) {
		const struct gpa_range *r = &physmap.r[i];

		if (r->kind == GPA_RAM || r->kind == GPA_DEVICE)
			err = pt_map(fmt, &hv_pool_pt_mem, root, r->start, r->start,
				     r->end - r->start,
				     r->kind == GPA_RAM ? ram_flags : device_flags);
	}
	/* Device pages are absent too: every guest access to them exits to mhv. */
	for (unsigned i = 0; !err && i < mmio_regions()->n; i++) {
		const struct mmio_region *r = &mmio_regions()->r[i];
		err = pt_unmap(fmt, &hv_pool_pt_mem, root, r->base, mmio_region_size(r));
	}
	if (err) {
		pr_err("mhv: cannot build the guest's nested page tables (error %d)\n", err);
		return FRAME_NONE;
	}
	return root;
}

void guest_host_cr4(void)
{
	/* XSETBV exits are emulated by executing XSETBV in mhv, which needs CR4.OSXSAVE.  mhv
	 * itself uses no extended state, so the hardware XCR0 can simply be the guest's. */
	if (cpuid(CPUID_FEATURES).ecx & CPUID_1_ECX_XSAVE)
		write_cr4(read_cr4() | CR4_OSXSAVE);
	/* The MMIO emulator reaches the guest's XMM registers with FXSAVE/FXRSTOR when XCR0 has
	 * no SSE state (a guest that never set XCR0): those skip XMM0-15 unless OSFXSR is set. */
	write_cr4(read_cr4() | CR4_OSFXSR);
	/* The guest's PKRU stays in the register across exits; CR4.PKE lets mhv read it
	 * (RDPKRU) to judge emulated accesses to the guest's user pages.  mhv maps no user
	 * pages, so the keys never restrict mhv itself. */
	if (cpuid_count(CPUID_LEAF_7, 0).ecx & CPUID_7_ECX_PKU)
		write_cr4(read_cr4() | CR4_PKE);
}

void guest_run(const struct virt_backend *backend, const struct virt_caps *caps,
	       const struct guest_start *gs)
{
	if (!backend) {
		pr_err("mhv: cannot run the guest: no hardware virtualization\n");
		return;
	}
	guest_host_cr4();
	backend->run_guest(caps, gs);
}
