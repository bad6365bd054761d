/* The local APIC guard: see apic_guard.h. */
#include "core/apic_guard.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "core/mmio_setup.h"
#include "core/run_end.h"
#include "core/vcpu.h"
#include "lib/ipi_filter.h"
#include "lib/log.h"
#include "mmio/device.h"
#include "mmio/region.h"

#define MSR_IA32_APIC_BASE  0x0000001B
#define MSR_X2APIC_ID	    0x00000802
#define MSR_X2APIC_LDR	    0x0000080D
#define APIC_BASE_X2APIC    (1ull << 10)
#define APIC_BASE_ENABLE    (1ull << 11)
#define APIC_BASE_ADDR_MASK 0x000FFFFFFFFFF000ull

/* xAPIC registers (offsets in the APIC page); each is 4 bytes at a 16-byte boundary. */
#define APIC_RESERVED_END 0x010 /* 0x000-0x00F: reserved (SDM Table 11-1) */
#define APIC_ID		  0x020
#define APIC_LDR	  0x0D0
#define APIC_DFR	  0x0E0
#define APIC_ICR_LOW	  0x300
#define APIC_ICR_HIGH	  0x310
#define APIC_REG_SIZE	  4
#define APIC_REG_SPAN	  16 /* each register sits alone in a 16-byte slot */
#define BITS_PER_BYTE	  8
#define XAPIC_ID_SHIFT	  24 /* ID, LDR and ICR-high destination sit in bits 31:24 */

/* The MSI window: writes there are interrupt messages to any CPU. */
#define MSI_WINDOW_BASE 0xFEE00000ull
#define MSI_WINDOW_SIZE 0x00100000ull

/* Log the first few drops, then one in every DROP_REPORT_EVERY. */
#define DROP_REPORT_LIMIT 8
#define DROP_REPORT_EVERY 1024

static uint64_t dropped;
static uint64_t apic_base;
/* Per CPU: its APIC no longer answers at apic_base (disabled, or in x2APIC mode). */
static bool xapic_page_gone[HV_MAX_CPUS];

static void note_drop(const char *what, uint64_t value, uint64_t where)
{
	uint64_t n = __atomic_fetch_add(&dropped, 1, __ATOMIC_RELAXED);

	if (n < DROP_REPORT_LIMIT || n % DROP_REPORT_EVERY == 0)
		pr_warn("mhv: guest %s (0x%lx at 0x%lx): kept from the other CPUs (%lu so far)\n",
			what, value, where, n + 1);
}

void apic_guard_count_drop(const char *what, uint64_t value, uint64_t where)
{
	note_drop(what, value, where);
}

uint64_t apic_guard_dropped(void)
{
	return dropped;
}

uint64_t apic_guard_base(void)
{
	return apic_base;
}

/* The filter (lib/ipi_filter.h), counted and logged: true with *send = what to write. */
static bool filter_icr(uint64_t icr, const struct ipi_self *self, uint64_t *send)
{
	const char *why = "";

	switch (ipi_filter(icr, self, send, &why)) {
	case IPI_SEND:
		return true;
	case IPI_VIRTUAL:
		if (smp_virtual_ipi(icr, self->x2apic, hv_cpu_index()) == SMP_IPI_SELF_DROPPED)
			note_drop("sent itself an INIT or STARTUP IPI (the other vCPUs named got it)",
				  icr, 0);
		return false;
	case IPI_CUT_TO_SELF:
		note_drop("broadcast an IPI that includes self: cut down to a self IPI", icr, 0);
		return true;
	case IPI_DROP:
	default:
		note_drop(why, icr, self->x2apic ? MSR_X2APIC_ICR : apic_base + APIC_ICR_LOW);
		return false;
	}
}

bool apic_guard_x2apic_icr(uint64_t icr, uint64_t *send)
{
	struct ipi_self self = {
		.id = (uint32_t)rdmsr(MSR_X2APIC_ID),
		.ldr = (uint32_t)rdmsr(MSR_X2APIC_LDR),
		.x2apic = true,
		.smp = smp_active(),
	};

	return filter_icr(icr, &self, send);
}

static uint32_t apic_reg_read(uint64_t offset)
{
	uint32_t v;

	hv_phys_read(NULL, apic_base + offset, &v, sizeof(v));
	return v;
}

void apic_guard_self_xapic(uint32_t *id, uint32_t *ldr)
{
	if (!xapic_page_gone[hv_cpu_index()]) {
		*id = apic_reg_read(APIC_ID) >> XAPIC_ID_SHIFT; /* this CPU's: the page is per CPU */
		*ldr = apic_reg_read(APIC_LDR) >> XAPIC_ID_SHIFT;
	} else {
		/* x2APIC mode (or none): 8-bit physical destinations only. */
		*id = (uint32_t)rdmsr(MSR_X2APIC_ID);
		*ldr = 0;
	}
}

static void apic_reg_write(uint64_t offset, uint32_t v)
{
	hv_phys_write(NULL, apic_base + offset, &v, sizeof(v));
}

/*
 * The SDM allows only 32-bit accesses at a 16-byte boundary to the APIC page; anything else is
 * undefined on the hardware (Bochs' APIC stops the machine on it).  So only those reach the
 * APIC.  Other reads get each byte from the register it lies in (bytes 4-15 of a slot read
 * 0); other writes are dropped with a log line.
 */
static bool whole_register(const struct mmio_access *a)
{
	return a->len == APIC_REG_SIZE && !(a->offset & (APIC_REG_SPAN - 1));
}

static void read_odd(const struct mmio_access *a, uint8_t *buf)
{
	for (unsigned i = 0; i < a->len; i++) {
		uint64_t off = a->offset + i, in_slot = off & (APIC_REG_SPAN - 1);

		buf[i] = in_slot < APIC_REG_SIZE ? (uint8_t)(apic_reg_read(off - in_slot) >>
							     (BITS_PER_BYTE * in_slot))
						 : 0;
	}
}

static void note_odd_write(const struct mmio_access *a, uint64_t value)
{
	static unsigned reported;

	if (reported < DROP_REPORT_LIMIT) {
		reported++;
		pr_warn("mhv: guest wrote %u byte(s) at APIC offset 0x%lx (0x%lx): not a whole "
			"register, dropped\n",
			a->len, a->offset, value);
	}
}

static bool overlaps_reg(const struct mmio_access *a, uint64_t reg)
{
	return a->offset < reg + APIC_REG_SIZE && a->offset + a->len > reg;
}

/* An ICR-low write of the whole register: filter it with the destination in ICR high. */
static void write_icr(const struct mmio_access *a, const void *buf)
{
	uint32_t low, high = apic_reg_read(APIC_ICR_HIGH);
	struct ipi_self self = {
		.id = apic_reg_read(APIC_ID) >> XAPIC_ID_SHIFT, /* this CPU's: the page is per CPU */
		.ldr = apic_reg_read(APIC_LDR) >> XAPIC_ID_SHIFT,
		.x2apic = false,
		.smp = smp_active(),
	};
	uint64_t send;

	__builtin_memcpy(&low, buf, sizeof(low));
	if (a->len != APIC_REG_SIZE) {
		note_drop("wrote the ICR with a partial or oversized access", low, a->gpa);
		return;
	}
	if (!filter_icr((uint64_t)high << 32 | low, &self, &send))
		return;
	if ((uint32_t)(send >> 32) != high)
		apic_reg_write(APIC_ICR_HIGH, (uint32_t)(send >> 32));
	apic_reg_write(APIC_ICR_LOW, (uint32_t)send);
}

void apic_guard_base_written(uint64_t msr)
{
	xapic_page_gone[hv_cpu_index()] =
		!(apic_base && (msr & APIC_BASE_ENABLE) && !(msr & APIC_BASE_X2APIC));
}

static int msi_window_read(void *dev, const struct mmio_access *a, void *buf);
static int msi_window_write(void *dev, const struct mmio_access *a, const void *buf);

static int apic_read(void *dev, const struct mmio_access *a, void *buf)
{
	if (xapic_page_gone[hv_cpu_index()]) /* the address now belongs to the interrupt window */
		return msi_window_read(dev, a, buf);
	if (!whole_register(a)) {
		read_odd(a, buf);
		return 0;
	}
	return hv_phys_read(NULL, a->gpa, buf, a->len);
}

/* LVT entries with a delivery-mode field (SDM 11.5.1): CMCI, thermal, performance, LINT0/1. */
#define APIC_LVT_CMCI	  0x2F0
#define APIC_LVT_THERMAL  0x330
#define APIC_LVT_LINT1	  0x360
#define LVT_MODE_SHIFT	  8
#define LVT_MODE_MASK	  7u
#define LVT_MODE_SMI	  2u
#define LVT_MODE_INIT	  5u
#define LVT_MODE_RESERVED 3u
#define LVT_MODE_RSVD_HI  6u
#define X2APIC_MSR_BASE	  0x800
#define X2APIC_REG_SHIFT  4

bool apic_guard_lvt_has_mode(unsigned offset)
{
	return offset == APIC_LVT_CMCI || (offset >= APIC_LVT_THERMAL && offset <= APIC_LVT_LINT1);
}

/*
 * An SMI or INIT from the guest's own local APIC would hand its CPU to the firmware's SMM
 * handler (which on some platforms returns into firmware state, not the guest's) or reset
 * it: neither is something mhv lets a guest do.  Linux programs fixed, NMI and ExtINT only.
 */
bool apic_guard_lvt_write(unsigned offset, uint32_t value)
{
	unsigned mode = (value >> LVT_MODE_SHIFT) & LVT_MODE_MASK;
	uint64_t n;

	if (mode != LVT_MODE_SMI && mode != LVT_MODE_INIT && mode != LVT_MODE_RESERVED &&
	    mode != LVT_MODE_RSVD_HI)
		return true;
	n = __atomic_fetch_add(&dropped, 1, __ATOMIC_RELAXED);

	if (n < DROP_REPORT_LIMIT || n % DROP_REPORT_EVERY == 0)
		pr_warn("mhv: guest programmed LVT 0x%x with delivery mode %u (SMI, INIT or "
			"reserved; value 0x%x): write dropped (%lu so far)\n",
			offset, mode, value, n + 1);
	return false;
}

unsigned apic_guard_x2apic_lvt_offset(uint32_t msr)
{
	return (msr - X2APIC_MSR_BASE) << X2APIC_REG_SHIFT;
}

static int apic_write(void *dev, const struct mmio_access *a, const void *buf)
{
	uint64_t value = 0;

	if (xapic_page_gone[hv_cpu_index()])
		return msi_window_write(dev, a, buf);
	__builtin_memcpy(&value, buf, a->len < sizeof(value) ? a->len : sizeof(value));
	if (a->offset < APIC_RESERVED_END) {
		/* Reserved on real hardware (writes do nothing); QEMU takes them as an MSI. */
		note_drop("wrote the reserved APIC registers at offset 0 (an MSI on some "
			  "platforms)",
			  value, a->gpa);
		return 0;
	}
	if (overlaps_reg(a, APIC_ID)) {
		/* A second CPU with this ID would receive this CPU's "self" IPIs. */
		note_drop("tried to change its APIC ID: write", value, a->gpa);
		return 0;
	}
	if (overlaps_reg(a, APIC_ICR_LOW)) {
		if (a->offset == APIC_ICR_LOW)
			write_icr(a, buf);
		else
			note_drop("wrote into the middle of the ICR", value, a->gpa);
		return 0;
	}
	if (!whole_register(a)) {
		note_odd_write(a, value);
		return 0;
	}
	if (a->offset == APIC_LDR || a->offset == APIC_DFR)
		smp_note_xapic_logical(hv_cpu_index(), a->offset == APIC_DFR, (uint32_t)value);
	if (apic_guard_lvt_has_mode((unsigned)a->offset) &&
	    !apic_guard_lvt_write((unsigned)a->offset, (uint32_t)value))
		return 0;
	return hv_phys_write(NULL, a->gpa, buf, a->len);
}

static const struct mmio_dev_ops apic_guard_ops = {
	.name = "apic",
	.read = apic_read,
	.write = apic_write,
};

/* The rest of the interrupt window: nothing the guest may address there. */
static int msi_window_read(void *dev, const struct mmio_access *a, void *buf)
{
	(void)dev;
	__builtin_memset(buf, 0xFF, a->len);
	return 0;
}

static int msi_window_write(void *dev, const struct mmio_access *a, const void *buf)
{
	uint64_t value = 0;

	(void)dev;
	__builtin_memcpy(&value, buf, a->len < sizeof(value) ? a->len : sizeof(value));
	note_drop("wrote to the interrupt window (an MSI)", value, a->gpa);
	return 0;
}

static const struct mmio_dev_ops msi_window_ops = {
	.name = "msi-window",
	.read = msi_window_read,
	.write = msi_window_write,
};

static bool trap(struct mmio_regions *regions, uint64_t base, uint64_t end,
		 const struct mmio_dev_ops *ops)
{
	int err;

	if (end <= base)
		return true;
	err = mmio_region_add(regions, base, end - base, ops, NULL);
	if (err)
		pr_err("mhv: cannot trap [0x%lx-0x%lx) for the %s guard (an mmio= region "
		       "there?): error %d\n",
		       base, end, ops->name, err);
	return !err;
}

bool apic_guard_setup(struct mmio_regions *regions)
{
	uint64_t msr = rdmsr(MSR_IA32_APIC_BASE);
	uint64_t win_end = MSI_WINDOW_BASE + MSI_WINDOW_SIZE;
	bool in_window;

	apic_base = msr & APIC_BASE_ADDR_MASK;
	in_window = apic_base >= MSI_WINDOW_BASE && apic_base < win_end;
	if (!(msr & APIC_BASE_ENABLE) || (msr & APIC_BASE_X2APIC) || !in_window) {
		/* No xAPIC page to forward to (x2APIC ICR writes are intercepted as MSRs): the
		 * whole window is the drop device. */
		pr_info("mhv: apic: APIC_BASE 0x%lx: no xAPIC page in the interrupt window, all "
			"of it drops writes\n",
			msr);
		if (!(msr & APIC_BASE_ENABLE))
			apic_base = 0;
		return trap(regions, MSI_WINDOW_BASE, win_end, &msi_window_ops);
	}
	if (!trap(regions, MSI_WINDOW_BASE, apic_base, &msi_window_ops) ||
	    !trap(regions, apic_base, apic_base + MMIO_PAGE_SIZE, &apic_guard_ops) ||
	    !trap(regions, apic_base + MMIO_PAGE_SIZE, win_end, &msi_window_ops))
		return false;
	pr_info("mhv: apic: local APIC page at 0x%lx (ID %u) trapped, rest of the interrupt "
		"window drops writes: IPIs reach this CPU only\n",
		apic_base, apic_reg_read(APIC_ID) >> XAPIC_ID_SHIFT);
	return true;
}

/*
 * An INIT signal reached the CPU the guest runs on.  mhv drops every INIT the guest sends
 * through its APIC, so this one came from outside the guest's CPU (another agent, or a device
 * MSI the guest programmed).  Letting it through would reset the CPU into the firmware's
 * reset path with mhv's memory and the guest's state under it; dropping it and resuming is
 * not sound either: on SVM an intercepted INIT stays pending and would exit again at once, and
 * architecturally the guest's only CPU would now sit in wait-for-SIPI, with no other CPU left
 * to wake it.  So the run ends here, as a documented end: "INIT received".
 */
void apic_guard_init_signal(struct vcpu *v)
{
	vcpu_end_run(v, HV_STATUS_FAIL,
		     "INIT received: a physical INIT reached the guest's CPU; the run ends "
		     "(the guest's only CPU would wait for a SIPI forever)");
}
