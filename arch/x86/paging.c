/*
 * mhv's final page tables.  The boot tables (boot/entry.S) map everything RWX with 2 MiB
 * pages; these replace them with per-section W^X permissions for the image and a
 * non-executable direct map of physical memory.  Table pages come from a pool inside the
 * image's .bss, so mhv's memory stays one range that is later hidden from the guest.
 */
#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"
#include "lib/spinlock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/image.h"
#include "boot/multiboot2.h"
#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/log.h"
#include "lib/string.h"
#include "mm/frame.h"
#include "mm/pagetable.h"

#define ONE_GIB		     (1ull << 30)
#define LOW_4GIB	     (4ull << 30)
#define CPUID_EXT_EDX_NX     (1u << 20)
#define CPUID_EXT_EDX_PAGE1G (1u << 26)
#define CPUID_ADDR_SIZES     0x80000008
#define ADDR_SIZES_PHYS_MASK 0xFFu
#define MAXPHYADDR_LEGACY    36 /* without leaf 0x80000008 (SDM: 36 with PAE) */
#define PAGE_OFFSET_MASK     (PAGE_SIZE - 1)
/* Device registers are reached one page at a time through this page of mhv's address space. */
#define DEVICE_WINDOW_VA     (HV_VIRT_BASE - PAGE_SIZE)
#define DEVICE_WINDOW_FLAGS  (PTE_P | PTE_RW | PTE_PCD | PTE_PWT) /* PAT entry 3: uncached */

static uint8_t hv_pool[HV_POOL_SIZE] __aligned(PAGE_SIZE);
static struct frame_allocator pool;
static uint64_t load_base;
static uint64_t phys_map_base; /* 0 = boot identity map */
static uint64_t direct_map_top;
unsigned hv_maxphyaddr_bits = MAXPHYADDR_LEGACY;
static uint64_t nx_bit;
static volatile uint64_t *device_window_pte;
/* What each CPU last mapped there: its TLB holds that page or nothing. */
static uint64_t device_window_page[HV_MAX_CPUS];
static struct spinlock device_window_lock = SPINLOCK_INIT;

uint64_t image_virt_to_phys(const void *va)
{
	return (uint64_t)va - HV_VIRT_BASE + load_base;
}

static void *image_phys_to_virt(uint64_t pa)
{
	return (void *)(pa - load_base + HV_VIRT_BASE);
}

void *phys_to_virt(uint64_t pa)
{
	return (void *)(pa + phys_map_base);
}

uint64_t hv_direct_map_top(void)
{
	return direct_map_top;
}

static void invlpg(uint64_t va)
{
	asm volatile("invlpg (%0)" ::"r"(va) : "memory");
}

/*
 * The direct map is write-back: right for RAM, wrong for device registers, which must see
 * every access exactly once at its own width.  Devices get an uncached window instead.
 * One window for every CPU, taken under device_window_lock: the PTE is shared, and a CPU
 * flushes its own TLB entry whenever the PTE or its last mapping differs from the page it
 * needs (another CPU may have moved the window meanwhile).
 */
static volatile void *device_window(uint64_t pa)
{
	uint64_t page = pa & ~PAGE_OFFSET_MASK, pte = page | DEVICE_WINDOW_FLAGS | nx_bit;
	unsigned cpu = hv_cpu_index();

	if (*device_window_pte != pte || device_window_page[cpu] != page + 1) {
		*device_window_pte = pte;
		invlpg(DEVICE_WINDOW_VA);
		device_window_page[cpu] = page + 1; /* + 1: 0 means nothing mapped yet */
	}
	return (volatile void *)(DEVICE_WINDOW_VA + (pa & PAGE_OFFSET_MASK));
}

/* One access of exactly this type's width, in either direction. */
#define DEVICE_COPY(type, dev, buf, write)                                                        \
	do {                                                                                       \
		if (write)                                                                         \
			*(volatile type *)(dev) = *(const type *)(buf);                            \
		else                                                                               \
			*(type *)(buf) = *(volatile const type *)(dev);                            \
	} while (0)

static void device_copy(volatile void *p, void *buf, unsigned len, bool write)
{
	switch (len) {
	case 1:
		DEVICE_COPY(uint8_t, p, buf, write);
		break;
	case 2:
		DEVICE_COPY(uint16_t, p, buf, write);
		break;
	case 4:
		DEVICE_COPY(uint32_t, p, buf, write);
		break;
	case 8:
		DEVICE_COPY(uint64_t, p, buf, write);
		break;
	default:
		for (unsigned i = 0; i < len; i++)
			DEVICE_COPY(uint8_t, (volatile uint8_t *)p + i, (uint8_t *)buf + i, write);
		break;
	}
}

int hv_device_access(uint64_t pa, void *buf, unsigned len, bool write)
{
	if (pa >> hv_maxphyaddr_bits || (pa & PAGE_OFFSET_MASK) + len > PAGE_SIZE || !device_window_pte)
		return -E_RANGE;
	spin_lock(&device_window_lock);
	device_copy(device_window(pa), buf, len, write);
	spin_unlock(&device_window_lock);
	return 0;
}

/* The 4 KiB leaf entry for va in the tables at root (built by pt_map with 4 KiB pages). */
static volatile uint64_t *leaf_entry(uint64_t root, uint64_t va)
{
	uint64_t table = root;

	for (unsigned level = PT_LEVELS; level > 1; level--) {
		unsigned shift = PAGE_SHIFT + PT_LEVEL_BITS * (level - 1);
		const uint64_t *t = image_phys_to_virt(table);

		table = t[(va >> shift) & (PT_ENTRIES - 1)] & PT_ADDR_MASK;
	}
	return (volatile uint64_t *)image_phys_to_virt(table) +
	       ((va >> PAGE_SHIFT) & (PT_ENTRIES - 1));
}

static unsigned cpu_maxphyaddr(void)
{
	if (cpuid(CPUID_EXT_BASE).eax < CPUID_ADDR_SIZES)
		return MAXPHYADDR_LEGACY;
	return cpuid(CPUID_ADDR_SIZES).eax & ADDR_SIZES_PHYS_MASK;
}

uint64_t hv_image_phys_start(void)
{
	return load_base;
}

uint64_t hv_image_phys_end(void)
{
	return load_base + IMAGE_SIZE;
}

/* The pool allocator works in offsets from the image start, so it survives relocation. */
uint64_t hv_alloc_pages(unsigned n)
{
	uint64_t off = frame_alloc(&pool, n, PAGE_SIZE, 0);

	if (off == FRAME_NONE)
		return FRAME_NONE;
	memset((void *)(IMAGE_START + off), 0, n * PAGE_SIZE);
	return load_base + off;
}

uint64_t hv_alloc_page(void)
{
	return hv_alloc_pages(1);
}

static void *pt_phys_to_virt(void *ctx, uint64_t pa)
{
	(void)ctx;
	return image_phys_to_virt(pa);
}

static uint64_t pt_alloc(void *ctx)
{
	(void)ctx;
	return hv_alloc_page();
}

const struct pt_mem hv_pool_pt_mem = {
	.phys_to_virt = pt_phys_to_virt,
	.alloc_table = pt_alloc,
};

void paging_early_init(uint64_t base)
{
	struct mem_region r = {(uint64_t)hv_pool - IMAGE_START, HV_POOL_SIZE, MEM_USABLE};

	load_base = base;
	/* One aligned range in .bss: this cannot fail. */
	frame_init(&pool, &r, 1, NULL, 0);
}

static uint64_t top_of_memory(const struct boot_info *bi)
{
	uint64_t top = LOW_4GIB;

	/* Memory mhv may have to read: RAM and ACPI tables; everything below 4 GiB anyway
	 * (firmware, device registers).  Reserved holes high up (HyperTransport) are left out. */
	for (unsigned i = 0; i < bi->nr_mmap; i++) {
		const struct mem_region *m = &bi->mmap[i];
		if (m->type != MEM_USABLE && m->type != MEM_ACPI_RECLAIM && m->type != MEM_ACPI_NVS)
			continue;
		if (m->base + m->len > top && m->base + m->len > m->base)
			top = m->base + m->len;
	}
	return ALIGN_UP(top, ONE_GIB);
}

/*
 * Copy the image to its new home and switch to tables that map it there, in one step: no
 * memory is written between the end of the copy and the CR3 load, so the copy (stack
 * included) is exactly the state the code continues with.  Runs on the boot tables, whose
 * identity map reaches both ranges (below 4 GiB).
 */
static void __attribute__((noinline))
move_image_and_switch(uint64_t dst, uint64_t src, uint64_t len, uint64_t cr3)
{
	asm volatile("rep movsb\n\t"
		     "mov %[cr3], %%cr3"
		     : "+D"(dst), "+S"(src), "+c"(len)
		     : [cr3] "r"(cr3)
		     : "memory");
}

int paging_init(const struct boot_info *bi, uint64_t new_base)
{
	uint64_t old_base = load_base;
	struct cpuid_regs ext = cpuid(CPUID_EXT_FEATURES);
	bool nx = ext.edx & CPUID_EXT_EDX_NX;
	uint64_t xd = nx ? PTE_NX : 0;
	struct pt_format fmt = pt_format_x86;
	uint64_t root;
	uint64_t top = top_of_memory(bi);

	fmt.has_1g = ext.edx & CPUID_EXT_EDX_PAGE1G;
	hv_maxphyaddr_bits = cpu_maxphyaddr();
	nx_bit = xd;
	/* From here on physical addresses (tables, mappings) are those of the new home. */
	load_base = new_base;
	root = hv_alloc_page();
	if (root == FRAME_NONE)
		return -E_NOMEM;

	struct {
		uint64_t va, pa, size, flags;
	} maps[] = {
		{DIRECT_MAP_BASE, 0, top, PTE_P | PTE_RW | xd},
		{IMAGE_START, load_base, RODATA_START - IMAGE_START, PTE_P},
		{RODATA_START, image_virt_to_phys((void *)RODATA_START), DATA_START - RODATA_START,
		 PTE_P | xd},
		{DATA_START, image_virt_to_phys((void *)DATA_START), IMAGE_END - DATA_START,
		 PTE_P | PTE_RW | xd},
		/* A placeholder that makes the window's page table; remapped at each use. */
		{DEVICE_WINDOW_VA, 0, PAGE_SIZE, DEVICE_WINDOW_FLAGS | xd},
	};
	for (unsigned i = 0; i < ARRAY_SIZE(maps); i++) {
		int err = pt_map(&fmt, &hv_pool_pt_mem, root, maps[i].va, maps[i].pa, maps[i].size,
				 maps[i].flags);
		if (err)
			return err;
	}

	if (nx)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	write_cr0(read_cr0() | CR0_WP); /* mhv's own writes honour read-only pages too */
	phys_map_base = DIRECT_MAP_BASE;
	direct_map_top = top;
	device_window_pte = leaf_entry(root, DEVICE_WINDOW_VA);
	if (new_base != old_base)
		move_image_and_switch(new_base, old_base, hv_image_phys_end() - new_base, root);
	else
		write_cr3(root);
	pr_debug("mhv: page tables at 0x%lx: direct map of %lu GiB, %s pages, NX %s\n", root,
		 (uint64_t)(top / ONE_GIB), fmt.has_1g ? "1 GiB" : "2 MiB", nx ? "on" : "off");
	return 0;
}
