/*
 * mhv's own address space:
 *   HV_VIRT_BASE + x      -> load base + x     the image, 4 KiB pages, W^X per section
 *   DIRECT_MAP_BASE + pa  -> pa                all physical memory, RW, never executable
 *   HV_VIRT_BASE - 4 KiB  -> any device page    uncached, remapped per access (hv_device_*)
 * Nothing is mapped at low addresses, so a NULL dereference in mhv faults.
 */
#ifndef MHV_ARCH_X86_PAGING_H
#define MHV_ARCH_X86_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#define HV_VIRT_BASE	0xFFFFFFFF80000000ull
#define DIRECT_MAP_BASE 0xFFFF800000000000ull
#define HV_POOL_SIZE	(4ull << 20)

struct boot_info;
struct pt_mem;

/* Physical memory as mhv sees it (identity below 4 GiB until paging_init switches over). */
void *phys_to_virt(uint64_t pa);
/* Physical address of an object inside mhv's image. */
uint64_t image_virt_to_phys(const void *va);

void paging_early_init(uint64_t load_base);
/*
 * Build and load mhv's final page tables (covering RAM up to the top of the memory map),
 * moving the image to new_base first when that differs from where the loader put it.
 */
int paging_init(const struct boot_info *bi, uint64_t new_base);

/* Physical memory the direct map reaches: [0, top). */
uint64_t hv_direct_map_top(void);
/* Set once by paging_init(); read it through hv_maxphyaddr(). */
extern unsigned hv_maxphyaddr_bits;
/* The CPU's physical-address width (CPUID 0x80000008), also the guest's.  Inline: every
 * instruction-decoding exit's walk setup asks. */
static inline unsigned hv_maxphyaddr(void)
{
	return hv_maxphyaddr_bits;
}
/*
 * Exact-width uncached access to a device register at pa (len 1, 2, 4, 8, or bytewise), within
 * one page and below MAXPHYADDR (-E_RANGE otherwise).  Never through the write-back direct map.
 */
int hv_device_access(uint64_t pa, void *buf, unsigned len, bool write);

static inline int hv_device_read(uint64_t pa, void *buf, unsigned len)
{
	return hv_device_access(pa, buf, len, false);
}

static inline int hv_device_write(uint64_t pa, const void *buf, unsigned len)
{
	return hv_device_access(pa, (void *)buf, len, true);
}

uint64_t hv_image_phys_start(void);
uint64_t hv_image_phys_end(void);

/* Pages for mhv's own structures (page tables, VMCS/VMCB, bitmaps), from the image's pool. */
uint64_t hv_alloc_page(void);
/* n physically contiguous zeroed pages (SVM's I/O and MSR permission maps). */
uint64_t hv_alloc_pages(unsigned n);
/* Page-table memory for mm/pagetable.c: tables from the pool, reached through the image. */
extern const struct pt_mem hv_pool_pt_mem;

#endif
