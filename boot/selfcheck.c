/*
 * Boot self-check.  Each check observes the machine mhv is running on (where GRUB put it,
 * what the page tables enforce, whether exceptions are caught) and prints "PASS selfcheck:
 * ..." or "FAIL selfcheck: ...".  The test harness reads these lines on every emulator
 * configuration.
 */
#include "boot/selfcheck.h"
#include "arch/x86/acpi.h"
#include "arch/x86/desc.h"
#include "arch/x86/exception.h"
#include "arch/x86/image.h"
#include "arch/x86/paging.h"
#include "boot/multiboot2.h"
#include "boot/multiboot2_abi.h"
#include "lib/log.h"
#include "mm/frame.h"

#define LOW_4GIB    (4ull << 30)
#define PROBE_VALUE 0x5A

static int failures;

static void check(bool ok, const char *what, const char *detail)
{
	log_printf(ok ? LOG_INFO : LOG_ERR, "%s selfcheck: %s%s%s\n", ok ? "PASS" : "FAIL", what,
		   detail ? ": " : "", detail ? detail : "");
	if (!ok)
		failures++;
}

/* Probes: return the vector of the exception the access raised, or -1 if none. */
static int probe_write(volatile const char *p)
{
	exception_clear_last();
	asm volatile("1: movb %[v], %[m]\n"
		     "2:\n" EXTABLE_ENTRY(1b, 2b)
		     : [m] "=m"(*(volatile char *)p)
		     : [v] "i"(PROBE_VALUE)
		     : "memory");
	return exception_last_vector();
}

static int probe_read(volatile const char *p)
{
	char v;

	exception_clear_last();
	asm volatile("1: movb %[m], %[v]\n"
		     "2:\n" EXTABLE_ENTRY(1b, 2b)
		     : [v] "=q"(v)
		     : [m] "m"(*p)
		     : "memory");
	(void)v;
	return exception_last_vector();
}

static int probe_ud2(void)
{
	exception_clear_last();
	asm volatile("1: ud2\n"
		     "2:\n" EXTABLE_ENTRY(1b, 2b)::
			     : "memory");
	return exception_last_vector();
}

static bool region_usable(const struct boot_info *bi, uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < bi->nr_mmap; i++) {
		const struct mem_region *m = &bi->mmap[i];
		if (m->type == MEM_USABLE && m->base <= start && end <= m->base + m->len)
			return true;
	}
	return false;
}

/* GRUB was asked for the highest place: no free RAM above mhv below 4 GiB may hold it. */
static bool at_top_of_low_memory(const struct frame_allocator *fa, uint64_t size)
{
	for (unsigned i = 0; i < fa->nr; i++) {
		uint64_t s = fa->free[i].start, e = fa->free[i].end;
		if (e > LOW_4GIB)
			e = LOW_4GIB;
		if (s >= hv_image_phys_end() && e > s &&
		    ALIGN_DOWN(e, MB2_RELOC_ALIGN) >= ALIGN_UP(s, MB2_RELOC_ALIGN) + size)
			return false;
	}
	return true;
}

static void check_frames(struct frame_allocator *fa)
{
	uint64_t before = fa->free_pages;
	uint64_t pa = frame_alloc(fa, 1, PAGE_SIZE, LOW_4GIB);
	bool ok = pa != FRAME_NONE &&
		  (pa + PAGE_SIZE <= hv_image_phys_start() || pa >= hv_image_phys_end());

	if (ok) {
		volatile char *p = phys_to_virt(pa);
		*p = PROBE_VALUE;
		ok = *p == PROBE_VALUE && fa->free_pages == before - 1 &&
		     frame_free(fa, pa, 1) == 0 && fa->free_pages == before;
	}
	check(ok, "frame allocator hands out free RAM outside mhv and takes it back", NULL);
}

int selfcheck_run(const struct boot_info *bi, struct frame_allocator *frames)
{
	uint64_t size = hv_image_phys_end() - hv_image_phys_start();

	failures = 0;
	check(region_usable(bi, hv_image_phys_start(), hv_image_phys_end()),
	      "mhv's image lies in usable RAM", NULL);
	check(at_top_of_low_memory(frames, size), "mhv sits at the top of RAM below 4 GiB", NULL);
	check_frames(frames);
	check(probe_ud2() == VEC_UD, "exception fixup resumes after #UD", NULL);
	check(probe_write((const char *)IMAGE_START) == VEC_PF, "W^X: mhv's code is not writable",
	      NULL);
	check(probe_write((const char *)RODATA_START) == VEC_PF,
	      "W^X: mhv's read-only data is not writable", NULL);
	check(probe_read((const char *)0) == VEC_PF, "NULL is not mapped in mhv", NULL);
	/* SVM runs mhv with the guest's TR between exits (lazy VMLOAD): the IDT then in force
	 * must name no IST stack (those live in whatever TSS TR holds) and still catch faults. */
	desc_load_idt(false);
	int no_ist_vec = probe_ud2();
	desc_load_idt(true);
	check(desc_idt_no_ist_ok() && no_ist_vec == VEC_UD,
	      "the IDT for a foreign TR has mhv's handlers, no IST stacks, and catches #UD", NULL);
	check(acpi_find_table("FACP") != NULL,
	      "ACPI: RSDP -> RSDT/XSDT -> FADT with valid checksums", NULL);
	pr_info("mhv: self-check: %d failed\n", failures);
	return failures;
}
