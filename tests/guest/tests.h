/* The guest's test groups, one file each (test_<group>.c), run in this order by main.c. */
#ifndef MHV_TESTS_GUEST_TESTS_H
#define MHV_TESTS_GUEST_TESTS_H

#include <stdbool.h>
#include <stdint.h>

struct boot_info;
struct fault;
struct mb1_info;

/* The boot protocol (and that it is the image's flavor) and the information handed over. */
void test_multiboot(const struct boot_info *bi);
void test_traps(void);
/* The target of the gdb boot test (gdb_probe.c): a call gdb breaks on and watches. */
void test_gdb_probe(void);
/* The gdb thread test's wait with the APs running (gdb_smp.c; "gdb-smp" on the command line). */
struct boot_info;
void gdb_smp_run_if_asked(const struct boot_info *bi);
void gdb_smp_wait_if_asked(void);
void test_cpuid(void);
/* CPUID plain and prefixed at one RIP and across pages: the exit's length (test_exit_len.c). */
void test_exit_len(void);
/* Exceptions delivered with ESP on a device page of the mmio=ram region at base (test_mmio_event.c). */
void test_mmio_event(uint32_t base);
/* LLDT/LTR with the selector on that region's device page (test_mmio_lldt.c). */
void test_mmio_lldt(uint32_t base);
/* XSAVE/XRSTOR with the area on that region's device page (test_mmio_xsave.c). */
void test_mmio_xsave(uint32_t base);
/* The same in 32-bit mode with AVX (and AVX-512) state, the area across a page
 * (test_mmio_xsave_ext.c). */
void test_mmio_xsave_ext(uint32_t base);
/* PUSH Sreg and CALL ptr16:32 with ESP on that region's device page (test_mmio_push_sreg.c). */
void test_mmio_push_sreg(uint32_t base);
/* PUSH m / POP m with the operand on that region's device page (test_mmio_stack_forms.c). */
void test_mmio_stack_forms(uint32_t base);
/* INS/OUTS with the memory on that region's device page (test_mmio_strio.c). */
void test_mmio_strio(uint32_t base);
/* Call gates and ring-3-to-0 event delivery with the memory side there (test_mmio_gate.c). */
void test_mmio_gate(uint32_t base);
/* Virtual-8086 mode (IRET to it, VME INT n redirection, IRET in it) with its stacks there
 * (test_mmio_v86.c). */
void test_mmio_v86(uint32_t base);
/* Real-mode delivery (IVT, 16-bit frame, SP wrap, #GP past the IVT limit) and 16-bit IRET with
 * the IVT and stack there (test_mmio_rmode.c). */
void test_mmio_rmode(uint32_t base);
/* A 16-bit TSS's SS0:SP0 there, through 16-bit and 32-bit interrupt gates from 16-bit ring 3
 * (test_mmio_tss16.c). */
void test_mmio_tss16(uint32_t base);
/* What the MMIO short path must refuse: two regions at one RIP, rewritten bytes (test_mmio_short.c). */
void test_mmio_short(void);
/* The short path across a CR0.PE or CS.D change at the same RIP (test_mmio_short_mode.c). */
void test_mmio_short_mode(uintptr_t dev_page);
/* A general instruction repeated at one RIP, its bytes rewritten (test_mmio_general_entry.c). */
void test_mmio_general_entry(uintptr_t dev_page);
/* Data breakpoints (DR0-DR3) on a device word against the CPU on RAM (test_mmio_data_bp.c). */
void test_mmio_data_bp(void);
/* The short path's MOV forms against the CPU on RAM, replayed (test_mmio_short_forms.c). */
void test_mmio_short_forms(void);
/* The short path's ALU forms against the CPU on RAM, flags exact (test_mmio_short_alu.c). */
void test_mmio_short_alu(volatile uint32_t *dev);
/* The short path's MOV forms in 64-bit mode (REX, R8-R15, widths) against RAM (test_mmio_short_lm.c). */
void test_mmio_short_lm(uintptr_t dev_page);
void test_hypercalls(void);
void test_msrs(void);
void test_crs(void);
/* MOV to CR3 from each register loads that register (test_cr3_regs.c). */
void test_cr3_regs(void);
/* The same from every register incl. ESP, each MOV made to exit by a device read at dev
 * first (paging off; cache_on: mmio_cache=on, so the MOV exits). */
void test_cr3_regs_armed(uintptr_t dev, bool cache_on);
void test_io(void);
/*
 * Timer interrupts through the remapped 8259 PIC and HLT (test_irq.c).  Leaves IF clear, both
 * PICs masked and PIT channel 0 stopped; the VEC_IRQ0 gate stays in the IDT.
 */
void test_irq(void);
/* INIT/STARTUP IPIs to other CPUs are dropped by mhv, other IPIs pass (test_apic.c). */
void test_apic(void);
/* Hostile guest: every IPI and MSI route to another CPU is dropped (test_contain_cpus.c). */
void test_contain_cpus(void);
/*
 * Accesses to mhv's hidden memory; when names the paging mode in the check lines.  With info,
 * also check the multiboot memory map and mem_upper against the range (pass it only once).
 */
void test_hv_memory(const struct mb1_info *info, const char *when);
/* Turns paging on (identity map of 4 GiB) and leaves it on. */
void test_paging(void);
/*
 * mhv's MMIO path (test_mmio.c): device regions, the per-vCPU translation cache and its
 * flushes.  Skipped natively and when mhv offers no MMIO regions.  Expects paging off on
 * entry and leaves it off (CR0/CR3/CR4 as found).
 */
void test_mmio(void);
/*
 * One representative of each instruction class mhv's MMIO emulator executes, on a device page
 * of an mmio=ram region and on RAM, compared (test_mmio_forms.c).  Paging off on entry.
 */
void test_mmio_forms(void);
/*
 * The read-modify-write forms the MMIO fast path does itself (shifts, rotates, NOT, NEG,
 * XCHG, BT*, CMPXCHG, XADD) over a grid of inputs, device page against RAM
 * (test_mmio_rmw.c).  Paging off on entry.
 */
void test_mmio_rmw(void);
/* A 67-prefixed RIP-relative device load from RIP above 4 GiB (test_mmio_riprel.c).  Paging
 * off on entry. */
void test_mmio_riprel(void);
/* A filtered mmio=trace region: all accesses counted (test_mmio_trace.c).  Paging off. */
void test_mmio_trace(void);
/* Seeded random MMIO accesses against a model, with remaps and TLB flushes between them
 * (test_mmio_soak.c), as many as "soak=N" asks.  Under mhv only; paging off on entry and on
 * return. */
void test_mmio_soak(const struct boot_info *bi);
/*
 * Ring 3 for test_mmio.c (test_mmio_user.c).  Between begin and end a GDT with ring-3
 * segments and a TSS is loaded.  mmio_user_access() does one 4-byte read (result in *val) or
 * write (of *val) of va at CPL3; the page tables must let ring 3 reach the kernel image (code,
 * data, stack).  Returns true if the access completed (*f cleared), else false with the
 * exception in *f.
 */
void mmio_user_begin(void);
void mmio_user_end(void);
bool mmio_user_access(bool write, uintptr_t va, uint32_t *val, struct fault *f);
/*
 * Hostile guest, memory (test_contain_memory.c): page tables aimed at mhv's range, its image's
 * direct-map alias, beyond the map and MAXPHYADDR, reached through mhv's emulator.  Expects
 * 32-bit paging on (test_paging) and restores it.
 */
void test_contain_memory(void);
/*
 * Hostile output on the shared console (test_contain_console.c): forged mhv lines and a long
 * line cut by mhv's log, judged by the boot tests' .expect files.  Needs paging on and a deny
 * region (mmio=deny@...).
 */
void test_contain_console(void);
/*
 * Guest actions that once stopped mhv (test_contain_fatals.c): string I/O to the console,
 * PAE with PDPTE.A, CR0.PG toggles below 1 MiB, TF over an intercepted instruction, CR4.LA57.
 * Expects 32-bit paging on and leaves CR0/CR3/CR4 as found.
 */
void test_contain_fatals(void);
/*
 * Every CPU under mhv (test_smp.c): INIT-SIPI-SIPI into the guest's own trampoline, each AP
 * checks it runs under mhv and drives the MMIO path concurrently, IPIs between vCPUs, and a
 * restart of a running AP.  Skipped with one vCPU.  The APs stay busy afterwards: run last.
 */
void test_smp(void);
/* With interrupt remapping and the edu device: edu sends one fixed MSI (programmed through
 * its MSI capability) to apic_id (CONTAIN_MSI_ASK_ONLY: none, only the answer); false when
 * there is no such device or no remapping. */
#define CONTAIN_MSI_ASK_ONLY 0xFFFFFFFFu
bool contain_msi_send_to(uint32_t apic_id, uint8_t vector);
/*
 * The platform under mhv (test_contain_platform.c): MTRR, MISC_ENABLE and platform MSR
 * writes are virtualised or refused, unknown MSRs fault, A20 and PCI config still work.
 */
void test_contain_platform(void);
/* What CPUID offers works, what it hides faults (test_cpuid_promises.c). */
void test_cpuid_promises(void);
/* A 64-bit PCI BAR above 4 GiB, read and written through PAE paging (test_high_bar.c). */
void test_high_bar(void);
/*
 * Red-team attacks (test_contain_redteam.c): emulated operands at the edges of mhv's range,
 * stale translations onto it, XSETBV/INVPCID/CR0 values the CPU refuses, wild hypercalls, odd
 * xAPIC widths, I/O overlapping the console UART, a PCI BAR over mhv, IOAPIC messages to the
 * parked CPU.  Needs 32-bit paging on and the APIC still in xAPIC mode.
 */
void test_contain_redteam(void);
/*
 * Hostile guest, DMA (test_contain_dma.c): QEMU's edu device DMAs into mhv's memory (blocked
 * by the IOMMU, mhv's data intact, the fault counted) and into guest RAM (still works); the
 * guest's ACPI view has no DMAR/IVRS.  Expects paging on (identity map of 4 GiB).
 */
void test_contain_dma(void);
/*
 * Hostile guest, device interrupts (test_contain_msi.c): with interrupt remapping, QEMU's edu
 * device's MSIs keep fixed vectors on the guest's CPU and cannot send NMI/INIT anywhere.
 */
void test_contain_msi(void);
/*
 * Hostile guest, MSI-X (test_contain_msix.c): with interrupt remapping, q35's e1000e's MSI-X
 * table entry reads back as written, a fixed vector arrives, an NMI does not.
 */
void test_contain_msix(void);
/*
 * Hostile guest, a MOV SS's held #DB (test_contain_db_hold.c): a far JMP to a TSS as the
 * instruction mhv single-steps must not save mhv's TF into the old TSS.
 */
void test_contain_db_hold(void);
/*
 * Hostile guest, a locked instruction's page walk (test_contain_lock_walk.c): a LOCK XADD split
 * over two device pages whose page table is on a device page completes (mhv does not wait for
 * its own device lock).
 */
void test_contain_lock_walk(void);
/* Path lengths of exits, printed for information (bench.c). */
void bench_report(void);
/* The minimum over several runs of fn's RDTSC delta, RDTSC's own cost subtracted. */
uint64_t bench_min_ticks(uint64_t (*fn)(void));
/* MMIO path lengths per form, on a device word and page mapped by test_mmio.c (bench_mmio.c). */
void bench_mmio_forms(uintptr_t dev_word, uintptr_t dev_page);
/* String instructions at a device page's edge (test_mmio_string.c); the next page unmapped. */
void test_mmio_string_edges(uintptr_t dev_page);

/* LOCK'd read-modify-writes on one device word from every vCPU (test_mmio_lock.c): the AP's
 * part, called by each AP once test_smp started it, and the boot CPU's (page: a device page
 * of an mmio=ram region, 0 if none). */
void mmio_lock_ap(uint32_t index);
void test_mmio_lock(uint32_t aps, uintptr_t page);
/* CMPXCHG16B on that region's device page, in 64-bit mode (test_mmio_lock.c). */
void test_mmio_lock_lm(uintptr_t dev_page);

#endif
