/*
 * mhv's command-line options: whitespace-separated name=value words, e.g.
 *   /boot/mhv.elf console=com2 baud=38400 loglvl=debug exit=debugexit
 *   mmio=ram@0xff000000+64K mmio=deny@0xfee00000+0x1000 mmio_cache=off
 *   console_guest_prefix=on guest=none iommu=required gdb=com2,wait
 */
#ifndef MHV_LIB_OPTIONS_H
#define MHV_LIB_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/log.h" /* enum log_level */
#include "lib/monitor_line.h" /* struct break_seq */
#include "mmio/spec.h" /* struct mmio_spec, MMIO_MAX_SPECS */

/* iommu=: whether mhv programs the IOMMUs so devices cannot reach its memory. */
enum iommu_mode {
	IOMMU_AUTO,	/* use every IOMMU the ACPI tables name; warn once if there is none */
	IOMMU_REQUIRED, /* refuse to start the guest without one */
	IOMMU_OFF,	/* leave them alone (debugging: devices reach all of memory) */
};

/* What mhv does when its run ends. */
enum exit_mode {
	EXIT_HALT,
	EXIT_POWEROFF,
	EXIT_DEBUGEXIT,
};

#define OPT_COM1_PORT 0x3f8
#define OPT_COM2_PORT 0x2f8
#define OPT_COM3_PORT 0x3e8
#define OPT_COM4_PORT 0x2e8
#define OPT_BAUD_MAX  115200 /* the UART's base clock: every rate divides it */
#define OPT_BAUD_MIN  50

struct hv_options {
	uint16_t console_port; /* 0 = no console (or console_pci) */
	bool console_pci;      /* console=pci: the first PCI 16550, found at boot */
	uint32_t baud;
	enum log_level loglvl;
	enum exit_mode exit_mode;
	/* mmio=TYPE@BASE+SIZE, repeatable: in command-line order, pairwise disjoint. */
	struct mmio_spec mmio[MMIO_MAX_SPECS];
	unsigned nr_mmio;
	bool mmio_cache; /* mmio_cache=on|off: per-vCPU MMIO translation cache */
	bool bench;	 /* bench=on: print mhv's own path lengths at boot (make bench) */
	/* console_guest_prefix=on: mark every guest line on the shared console, not only those
	 * that would read as mhv's */
	bool console_guest_prefix;
	/* guest=none: no guest is expected, the self-check alone decides the run's status;
	 * otherwise (guest=module) a missing or unloadable guest fails the run */
	bool no_guest;
	enum iommu_mode iommu; /* iommu=auto|required|off */
	/* gdb=com1..com4|0xPORT[,wait]: the GDB stub's UART (0 = none), and whether the guest
	 * waits for gdb before its first instruction */
	uint16_t gdb_port;
	bool gdb_wait;
	/* break=SEQ|off: the console sequence that stops the guest and opens the monitor
	 * (lib/monitor_line.h; default ^]^]) */
	bool break_in;
	struct break_seq break_seq;
	/* amdvi_nmipass=on: under AMD-Vi interrupt remapping, the break-in pin's NMI passes by
	 * NMIPass in the IOAPIC's device table entry.  Off by default: NMIPass lets through
	 * every NMI message carrying the IOAPIC's device ID, and QEMU's AMD-Vi model gives that
	 * ID to every device's DMA-written message (core/irq_remap.h). */
	bool amdvi_nmipass;
};

/* console=com1 (0x3f8) baud=115200 loglvl=info exit=halt, no mmio= regions, mmio_cache=on,
 * bench=off, console_guest_prefix=off, guest=module, iommu=auto, no gdb, amdvi_nmipass=off */
void options_defaults(struct hv_options *o);

/*
 * Apply the options in cmdline (a leading word starting with '/' or '(' is the image path
 * GRUB prepends and is skipped; later options override earlier ones).  Returns 0, or -E_INVAL
 * with *o unchanged and a message naming the option and value in err (when errlen > 0).
 * Prints nothing.
 */
int options_parse(struct hv_options *o, const char *cmdline, char *err, size_t errlen);

#endif
