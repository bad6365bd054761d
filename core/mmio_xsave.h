/*
 * The CPU side of XSAVE/XRSTOR on a device page (mmio/x86_emu_xsave.c does the checks and the
 * memory side): a per-CPU scratch area the real instructions run on, with the guest's XCR0
 * (live in the CPU: mhv uses no extended state of its own).
 */
#ifndef MHV_CORE_MMIO_XSAVE_H
#define MHV_CORE_MMIO_XSAVE_H

#include <stdbool.h>
#include <stdint.h>

/* At boot: scratch areas from mhv's pool where the CPU's largest XSAVE area exceeds a page
 * (AMX); without them such areas are not emulated. */
void mmio_xsave_setup(void);
/* CPU cpu's scratch area (64-byte aligned) and its size; *xcr0 the guest's XCR0.  Size 0
 * when mhv's CR4 lacks OSXSAVE (no XSAVE to run). */
uint8_t *mmio_xsave_scratch(unsigned cpu, uint32_t *cap, uint64_t *xcr0);
/* Bytes of an XSAVE area holding these components, standard or compacted (CPUID leaf 0xD). */
uint32_t mmio_xsave_extent(uint64_t components, bool compacted);
/* XSAVE / XSAVE64 with RFBM rfbm into the scratch area. */
void mmio_xsave_run(unsigned cpu, uint64_t rfbm, bool rex_w);
/* XSAVEC / XSAVEC64 with RFBM rfbm into the scratch area (compacted form). */
void mmio_xsavec_run(unsigned cpu, uint64_t rfbm, bool rex_w);
/* Component i's offset in the standard form and its size (CPUID.(0xD,i).EBX, .EAX). */
uint32_t mmio_xsave_layout(unsigned i, uint32_t *size);
/* X86_FEAT_XSAVEOPT/XSAVEC for the emulator: the guest's CPUID view, which passes both through
 * (mhv never hides them; the CPU runs them or raises #UD itself). */
uint32_t mmio_xsave_features(void);
/* 0 with *xss = IA32_XSS if the guest's CPUID has XSAVES/XRSTORS (the policy hides them
 * exactly where the CPU would raise #UD), -1 if not. */
int mmio_xsaves_guest(uint64_t *xss);
/* XSAVES / XSAVES64 with RFBM rfbm over the scratch area's contents, through a second buffer
 * no XRSTOR/XRSTORS ever runs from (the CPU's modified optimization tracks that address). */
void mmio_xsaves_run(unsigned cpu, uint64_t rfbm, bool rex_w);
/* XRSTORS / XRSTORS64 from the scratch area; false if the CPU refused the image (#GP). */
bool mmio_xrstors_run(unsigned cpu, uint64_t rfbm, bool rex_w);
/* XRSTOR / XRSTOR64 from it; false if the CPU refused the image (#GP). */
bool mmio_xrstor_run(unsigned cpu, uint64_t rfbm, bool rex_w);

#endif
