/*
 * The machine's MMIO device regions, created from the mmio= options before the guest
 * starts: their pages are left out of EPT/NPT so every guest access exits to mhv.
 */
#ifndef MHV_CORE_MMIO_SETUP_H
#define MHV_CORE_MMIO_SETUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mmio/region.h"

struct hv_options;

/* false (with a message) when a region cannot be created. */
bool mmio_setup(const struct hv_options *o);
/* The regions mmio_setup() made (and the hypercalls add), for lookups.  Inline: every MMIO
 * exit asks. */
extern struct mmio_regions mmio_region_set;
static inline const struct mmio_regions *mmio_regions(void)
{
	return &mmio_region_set;
}

/* For HC_MMIO_REGION / HC_MMIO_DEVICE: false past the last region. */
bool mmio_region_info(unsigned index, uint64_t *base, uint64_t *size, uint64_t *type);
bool mmio_device_stats(unsigned index, uint64_t *reads, uint64_t *writes, uint64_t *bytes_read,
		       uint64_t *bytes_written);

/* Each trace region's counts and per-offset summary (end of run). */
void mmio_print_trace_summaries(void);

/*
 * The monitor (core/monitor.c), for region `index` in address order (as mmio_region_info):
 * switch a trace region's log on (with filter words as after mmio=trace@...,: "off=LO-HI",
 * "reads", "writes", "limit=N", "every=M"; none: everything) or off (still counted and
 * summarised).  0, or -E_INVAL with a message in err.
 */
int mmio_trace_switch(unsigned index, bool on, const char *words, char *err, size_t errlen);
/*
 * The monitor's "add": a trace or deny region (the mmio= syntax, filter words included) while
 * the guest runs.  Registers the device; the caller takes [*base, *base + *size) out of the
 * nested tables and flushes.  0, or -E_INVAL with a message in err (ram regions, overlaps,
 * a full registry).
 */
int mmio_region_add_runtime(const char *text, uint64_t *base, uint64_t *size, char *err,
			    size_t errlen);
/* Print a trace region's per-offset summary; false if index is no trace region. */
bool mmio_trace_summary_print(unsigned index);

/* Exact-width accesses to physical addresses (device registers): 1, 2, 4, 8 or n bytes. */
/*
 * A region of mhv's own over guest RAM at run time (the GDB stub's INT3 pages), with every
 * other vCPU stopped: its accesses go to ops.  0 or mmio_region_add's / _remove's error.
 */
int mmio_region_attach(uint64_t base, uint64_t size, const struct mmio_dev_ops *ops, void *dev);
int mmio_region_detach(uint64_t base, uint64_t size);

int hv_phys_read(void *ctx, uint64_t pa, void *buf, unsigned len);
int hv_phys_write(void *ctx, uint64_t pa, const void *buf, unsigned len);

#endif
