/*
 * mmio= regions: a device per spec (ram: pc-testdev-style trapped memory backed by mhv's
 * pool; trace: real MMIO forwarded and logged; deny: all ones, writes dropped), registered
 * in one registry that the exit path searches.
 */
#include "core/mmio_setup.h"
#include "arch/x86/iommu.h"
#include "core/pci_msi_trap.h"
#include "core/pci_msix_trap.h"
#include "arch/x86/paging.h"
#include "core/apic_guard.h"
#include "core/guest.h"
#include "core/hypercall_abi.h"
#include "core/ioapic_guard.h"
#include "core/mmio_xsave.h"
#include "core/platform_reset_mmio.h"
#include "lib/errno.h"
#include "lib/fmt.h"
#include "lib/log.h"
#include "lib/options.h"
#include "mm/frame.h"
#include "lib/string.h"
#include "mmio/devices.h"

#define MMIO_RAM_MAX_TOTAL (1ul << 20) /* backing for all ram devices, from mhv's pool */

struct mmio_dev_slot {
	enum mmio_dev_type type;
	uint64_t base, size;
	union {
		struct mmio_ram_dev ram;
		struct mmio_trace_dev trace;
		struct mmio_deny_dev deny;
	} u;
};

struct mmio_regions mmio_region_set;
static struct mmio_dev_slot slots[MMIO_MAX_SPECS];
static unsigned nr_slots;

static void log_access(void *ctx, const struct mmio_log_rec *r)
{
	char value[MMIO_VALUE_TEXT_MAX];

	(void)ctx;
	mmio_value_format(value, sizeof(value), r->value, r->len);
	pr_info("mhv: mmio %s #%lu: %s %u byte%s %s at GPA 0x%lx, RIP 0x%lx%s", r->dev, r->seq,
		r->write ? "write" : "read", r->len, r->len == 1 ? "" : "s", value, r->gpa, r->rip,
		r->rc ? " (failed)" : "");
	if (r->skipped)
		pr_info(" (%lu not logged before)", r->skipped);
	pr_info("\n");
}

/* The trace device's and the APIC guard's real accesses: uncached, at their exact width. */
int hv_phys_read(void *ctx, uint64_t pa, void *buf, unsigned len)
{
	(void)ctx;
	return hv_device_read(pa, buf, len);
}

int hv_phys_write(void *ctx, uint64_t pa, const void *buf, unsigned len)
{
	(void)ctx;
	return hv_device_write(pa, buf, len);
}

static bool add_device(const struct mmio_spec *spec, uint64_t *ram_used)
{
	struct mmio_dev_slot *s = &slots[nr_slots];
	const struct mmio_dev_ops *ops = NULL;
	int err;

	/* A device model must never stand in for mhv's memory, nor reach past the address width. */
	if (spec->base < hv_image_phys_end() && spec->base + spec->size > hv_image_phys_start()) {
		pr_err("mhv: mmio=%s@0x%lx+0x%lx overlaps mhv's own memory [0x%lx-0x%lx)\n",
		       mmio_dev_type_name(spec->type), spec->base, spec->size,
		       hv_image_phys_start(), hv_image_phys_end());
		return false;
	}
	if ((spec->base + spec->size - 1) >> hv_maxphyaddr()) {
		pr_err("mhv: mmio=%s@0x%lx+0x%lx lies beyond the CPU's %u physical address bits\n",
		       mmio_dev_type_name(spec->type), spec->base, spec->size, hv_maxphyaddr());
		return false;
	}
	s->type = spec->type;
	s->base = spec->base;
	s->size = spec->size;
	switch (spec->type) {
	case MMIO_DEV_RAM: {
		uint64_t pa;

		if (*ram_used + spec->size > MMIO_RAM_MAX_TOTAL) {
			pr_err("mhv: mmio=ram@0x%lx+0x%lx: ram devices may total at most %lu KiB\n",
			       spec->base, spec->size, MMIO_RAM_MAX_TOTAL >> 10);
			return false;
		}
		pa = hv_alloc_pages((unsigned)(spec->size / PAGE_SIZE));
		if (pa == FRAME_NONE) {
			pr_err("mhv: mmio=ram@0x%lx: no memory for its backing\n", spec->base);
			return false;
		}
		*ram_used += spec->size;
		mmio_ram_init(&s->u.ram, phys_to_virt(pa), spec->size);
		ops = &mmio_ram_ops;
		break;
	}
	case MMIO_DEV_TRACE:
		mmio_trace_init(&s->u.trace, hv_phys_read, hv_phys_write, log_access, NULL);
		mmio_trace_set_filter(&s->u.trace, &spec->filter);
		ops = &mmio_trace_ops;
		break;
	case MMIO_DEV_DENY:
		mmio_deny_init(&s->u.deny, log_access, NULL);
		ops = &mmio_deny_ops;
		break;
	}
	err = mmio_region_add(&mmio_region_set, spec->base, spec->size, ops, &s->u);
	if (err) {
		pr_err("mhv: mmio=%s@0x%lx+0x%lx: cannot register (error %d)\n",
		       mmio_dev_type_name(spec->type), spec->base, spec->size, err);
		return false;
	}
	nr_slots++;
	pr_info("mhv: mmio: %s device at [0x%lx-0x%lx)\n", mmio_dev_type_name(spec->type),
		spec->base, spec->base + spec->size);
	return true;
}

bool mmio_setup(const struct hv_options *o)
{
	uint64_t ram_used = 0;

	mmio_regions_init(&mmio_region_set);
	mmio_xsave_setup();
	for (unsigned i = 0; i < o->nr_mmio; i++)
		if (!add_device(&o->mmio[i], &ram_used))
			return false;
	if (!apic_guard_setup(&mmio_region_set) || !ioapic_guard_setup(&mmio_region_set) ||
	    !platform_reset_mmio_setup(&mmio_region_set) || !iommu_guard_setup(&mmio_region_set) ||
	    !pci_msi_mmcfg_setup(&mmio_region_set) || !pci_msix_setup(&mmio_region_set))
		return false;
	guest_gate_attach_regions(&mmio_region_set);
	return true;
}

/* Slots are in command-line order; the registry in address order.  Index by address,
 * counting only the mmio= devices (mhv's own trapped regions may lie below them). */
static const struct mmio_dev_slot *slot_by_index(unsigned index)
{
	for (unsigned n = 0, seen = 0; n < mmio_region_set.n; n++)
		for (unsigned i = 0; i < nr_slots; i++) {
			if (slots[i].base != mmio_region_set.r[n].base)
				continue;
			if (seen++ == index)
				return &slots[i];
		}
	return NULL;
}

bool mmio_region_info(unsigned index, uint64_t *base, uint64_t *size, uint64_t *type)
{
	static const uint64_t abi_type[] = {
		[MMIO_DEV_RAM] = MMIO_TYPE_RAM,
		[MMIO_DEV_TRACE] = MMIO_TYPE_TRACE,
		[MMIO_DEV_DENY] = MMIO_TYPE_DENY,
	};
	const struct mmio_dev_slot *s = slot_by_index(index);

	if (!s)
		return false;
	*base = s->base;
	*size = s->size;
	*type = abi_type[s->type];
	return true;
}

bool mmio_device_stats(unsigned index, uint64_t *reads, uint64_t *writes, uint64_t *bytes_read,
		       uint64_t *bytes_written)
{
	const struct mmio_dev_slot *s = slot_by_index(index);

	if (!s)
		return false;
	*bytes_read = *bytes_written = 0;
	switch (s->type) {
	case MMIO_DEV_RAM:
		*reads = s->u.ram.reads;
		*writes = s->u.ram.writes;
		*bytes_read = s->u.ram.bytes_read;
		*bytes_written = s->u.ram.bytes_written;
		break;
	case MMIO_DEV_TRACE:
		*reads = s->u.trace.reads;
		*writes = s->u.trace.writes;
		break;
	case MMIO_DEV_DENY:
		*reads = s->u.deny.reads;
		*writes = s->u.deny.writes;
		break;
	}
	return true;
}

static void print_trace_summary(const struct mmio_dev_slot *s)
{
	const struct mmio_trace_dev *t = &s->u.trace;
	char value[MMIO_VALUE_TEXT_MAX];

	pr_info("mhv: mmio trace [0x%lx-0x%lx): reads=%lu writes=%lu logged=%lu dropped=%lu\n",
		s->base, s->base + s->size, t->reads, t->writes, t->gate.passed - t->gate.dropped,
		t->gate.dropped);
	for (unsigned i = 0; i < t->summary.n; i++) {
		const struct mmio_trace_offset *o = &t->summary.off[i];
		const uint64_t last[2] = {o->last, 0};

		mmio_value_format(value, sizeof(value), last, MIN(o->last_len, 8u));
		pr_info("mhv: mmio trace   +0x%lx: reads=%lu writes=%lu last %s %s\n", o->offset,
			o->reads, o->writes, o->last_write ? "write" : "read", value);
	}
	if (t->summary.other)
		pr_info("mhv: mmio trace   %lu accesses at further offsets\n", t->summary.other);
}

void mmio_print_trace_summaries(void)
{
	for (unsigned i = 0; i < nr_slots; i++)
		if (slots[i].type == MMIO_DEV_TRACE)
			print_trace_summary(&slots[i]);
}

int mmio_trace_switch(unsigned index, bool on, const char *words, char *err, size_t errlen)
{
	const struct mmio_dev_slot *found = slot_by_index(index);
	struct mmio_dev_slot *s = found ? &slots[found - slots] : NULL;
	struct mmio_trace_filter f;

	if (!s || s->type != MMIO_DEV_TRACE) {
		fmt_snprintf(err, errlen, "region %u is not a trace region", index);
		return -E_INVAL;
	}
	mmio_trace_filter_all(&f);
	if (on && words && *words && mmio_trace_filter_parse(&f, words, strlen(words), err, errlen))
		return -E_INVAL;
	if (!on)
		f.reads = f.writes = false; /* still counted and summarised, never logged */
	mmio_trace_set_filter(&s->u.trace, &f);
	return 0;
}

bool mmio_trace_summary_print(unsigned index)
{
	const struct mmio_dev_slot *s = slot_by_index(index);

	if (!s || s->type != MMIO_DEV_TRACE)
		return false;
	print_trace_summary(s);
	return true;
}

int mmio_region_attach(uint64_t base, uint64_t size, const struct mmio_dev_ops *ops, void *dev)
{
	return mmio_region_add(&mmio_region_set, base, size, ops, dev);
}

int mmio_region_detach(uint64_t base, uint64_t size)
{
	return mmio_region_remove(&mmio_region_set, base, size);
}

int mmio_region_add_runtime(const char *text, uint64_t *base, uint64_t *size, char *err,
			    size_t errlen)
{
	struct mmio_spec spec;
	uint64_t no_ram = MMIO_RAM_MAX_TOTAL;

	if (mmio_spec_parse_n(text, strlen(text), &spec, err, errlen))
		return -E_INVAL;
	if (spec.type == MMIO_DEV_RAM) {
		fmt_snprintf(err, errlen, "ram regions take mhv's memory at boot only: use mmio=");
		return -E_INVAL;
	}
	if (nr_slots == MMIO_MAX_SPECS) {
		fmt_snprintf(err, errlen, "no room for another region (at most %u)", MMIO_MAX_SPECS);
		return -E_INVAL;
	}
	for (unsigned i = 0; i < mmio_region_set.n; i++)
		if (spec.base <= mmio_region_set.r[i].last &&
		    spec.base + spec.size - 1 >= mmio_region_set.r[i].base) {
			fmt_snprintf(err, errlen, "[0x%lx-0x%lx) overlaps a region mhv traps already",
				     spec.base, spec.base + spec.size);
			return -E_INVAL;
		}
	if (!add_device(&spec, &no_ram)) {
		fmt_snprintf(err, errlen, "the region was refused (see the log line above)");
		return -E_INVAL;
	}
	*base = spec.base;
	*size = spec.size;
	return 0;
}
