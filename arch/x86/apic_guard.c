/* The local APIC guard: see apic_guard.h. */
#include "arch/x86/apic_guard.h"
#include "arch/x86/cpu.h"
#include "arch/x86/mmio_setup.h"
#include "arch/x86/run_end.h"
#include "arch/x86/vcpu.h"
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
#define APIC_ICR_LOW	  0x300
#define APIC_ICR_HIGH	  0x310
#define APIC_REG_SIZE	  4
#define XAPIC_ID_SHIFT	  24 /* ID, LDR and ICR-high destination sit in bits 31:24 */

/* ICR fields (the 64-bit form: x2APIC MSR, or xAPIC ICR high << 32 | ICR low). */
#define ICR_VECTOR_MASK	   0xFFull
#define ICR_MODE_SHIFT	   8
#define ICR_MODE_MASK	   (7ull << ICR_MODE_SHIFT)
#define ICR_LOGICAL	   (1ull << 11)
#define ICR_LEVEL_ASSERT   (1ull << 14)
#define ICR_TRIGGER_LEVEL  (1ull << 15)
#define ICR_SHORTHAND_SHFT 18
#define ICR_SHORTHAND_MASK (3ull << ICR_SHORTHAND_SHFT)
#define ICR_XAPIC_DEST_SHF 56
#define ICR_X2APIC_DEST_SH 32
#define XAPIC_BROADCAST	   0xFFu
#define X2APIC_BROADCAST   0xFFFFFFFFu

enum icr_mode {
	MODE_FIXED,
	MODE_LOWEST,
	MODE_SMI,
	MODE_RESERVED,
	MODE_NMI,
	MODE_INIT,
	MODE_STARTUP,
	MODE_EXTINT,
};
enum icr_shorthand { SH_NONE, SH_SELF, SH_ALL_INCL_SELF, SH_ALL_EXCL_SELF };

/* The MSI window: writes there are interrupt messages to any CPU. */
#define MSI_WINDOW_BASE 0xFEE00000ull
#define MSI_WINDOW_SIZE 0x00100000ull

/* Log the first few drops, then one in every DROP_REPORT_EVERY. */
#define DROP_REPORT_LIMIT 8
#define DROP_REPORT_EVERY 1024

static uint64_t dropped;
static uint64_t apic_base;
static uint32_t xapic_id;
static bool xapic_page_live; /* the APIC answers at apic_base (enabled, not x2APIC mode) */

static const char *const mode_names[] = {"fixed", "lowest-priority", "SMI",     "reserved",
					 "NMI",	  "INIT",	     "STARTUP", "ExtINT"};

static void note_drop(const char *what, uint64_t value, uint64_t where)
{
	uint64_t n = dropped++;

	if (n < DROP_REPORT_LIMIT || n % DROP_REPORT_EVERY == 0)
		pr_warn("mhv: guest %s (0x%lx at 0x%lx): kept from the other CPUs (%lu so far)\n",
			what, value, where, n + 1);
}

uint64_t apic_guard_dropped(void)
{
	return dropped;
}

uint64_t apic_guard_base(void)
{
	return apic_base;
}

/* This CPU as an ICR destination: APIC ID and logical ID in the ICR's destination width. */
struct icr_self {
	uint32_t id, ldr;
	bool x2apic;
};

/* The same IPI to this CPU only: the self shorthand for fixed, a physical self IPI for NMI. */
static bool cut_to_self(uint64_t icr, enum icr_mode mode, const struct icr_self *self,
			uint64_t *send)
{
	uint64_t keep = icr & (ICR_VECTOR_MASK | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL);
	unsigned dest_shift = self->x2apic ? ICR_X2APIC_DEST_SH : ICR_XAPIC_DEST_SHF;

	switch (mode) {
	case MODE_FIXED:
	case MODE_LOWEST: /* lowest priority among {this CPU} is this CPU */
		*send = keep | ((uint64_t)SH_SELF << ICR_SHORTHAND_SHFT); /* mode 0: fixed */
		break;
	case MODE_NMI: /* the self shorthand is fixed-only (SDM): name this CPU instead */
		*send = keep | ((uint64_t)MODE_NMI << ICR_MODE_SHIFT) |
			((uint64_t)self->id << dest_shift);
		break;
	default:
		return false;
	}
	note_drop("broadcast IPI cut down to a self IPI", icr, 0);
	return true;
}

/* The filter (apic_guard.h): true with *send = what to write, false = dropped. */
static bool filter_icr(uint64_t icr, const struct icr_self *self, uint64_t *send)
{
	enum icr_mode mode = (enum icr_mode)((icr & ICR_MODE_MASK) >> ICR_MODE_SHIFT);
	enum icr_shorthand sh = (enum icr_shorthand)((icr & ICR_SHORTHAND_MASK) >> ICR_SHORTHAND_SHFT);
	uint32_t dest = self->x2apic ? (uint32_t)(icr >> ICR_X2APIC_DEST_SH)
				     : (uint32_t)(icr >> ICR_XAPIC_DEST_SHF);
	uint32_t broadcast = self->x2apic ? X2APIC_BROADCAST : XAPIC_BROADCAST;
	const char *why;

	switch (sh) {
	case SH_SELF:
		if (mode == MODE_FIXED) {
			*send = icr;
			return true;
		}
		why = "sent a self-shorthand IPI in a mode other than fixed";
		break;
	case SH_ALL_INCL_SELF:
		if (cut_to_self(icr, mode, self, send))
			return true;
		why = "broadcast an IPI (all including self) in a mode that cannot go to self";
		break;
	case SH_ALL_EXCL_SELF:
		why = "broadcast an IPI to all other CPUs";
		break;
	case SH_NONE:
	default:
		if (dest == broadcast) {
			if (cut_to_self(icr, mode, self, send))
				return true;
			why = "broadcast an IPI (destination all ones) in a mode that cannot go to "
			      "self";
			break;
		}
		if ((icr & ICR_LOGICAL) ? (self->ldr == 0 || dest != self->ldr) : dest != self->id) {
			why = "sent an IPI to another CPU";
			break;
		}
		if (mode == MODE_FIXED || mode == MODE_NMI) {
			*send = icr;
			return true;
		}
		if (mode == MODE_LOWEST) {
			*send = icr & ~ICR_MODE_MASK; /* mode 0: fixed */
			return true;
		}
		/* INIT/STARTUP would reset or restart the guest's CPU under mhv, SMI enter the
		 * firmware's SMM handler on the guest's behalf, ExtINT ask the 8259 for a vector:
		 * none is something the guest's CPU can be given. */
		why = "sent itself an IPI in a mode mhv does not deliver";
		break;
	}
	pr_debug("mhv: IPI mode %s dropped\n", mode_names[mode]);
	note_drop(why, icr, self->x2apic ? MSR_X2APIC_ICR : apic_base + APIC_ICR_LOW);
	return false;
}

bool apic_guard_x2apic_icr(uint64_t icr, uint64_t *send)
{
	struct icr_self self = {
		.id = (uint32_t)rdmsr(MSR_X2APIC_ID),
		.ldr = (uint32_t)rdmsr(MSR_X2APIC_LDR),
		.x2apic = true,
	};

	return filter_icr(icr, &self, send);
}

static uint32_t apic_reg_read(uint64_t offset)
{
	uint32_t v;

	hv_phys_read(NULL, apic_base + offset, &v, sizeof(v));
	return v;
}

static void apic_reg_write(uint64_t offset, uint32_t v)
{
	hv_phys_write(NULL, apic_base + offset, &v, sizeof(v));
}

static bool overlaps_reg(const struct mmio_access *a, uint64_t reg)
{
	return a->offset < reg + APIC_REG_SIZE && a->offset + a->len > reg;
}

/* An ICR-low write of the whole register: filter it with the destination in ICR high. */
static void write_icr(const struct mmio_access *a, const void *buf)
{
	uint32_t low, high = apic_reg_read(APIC_ICR_HIGH);
	struct icr_self self = {
		.id = xapic_id,
		.ldr = apic_reg_read(APIC_LDR) >> XAPIC_ID_SHIFT,
		.x2apic = false,
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
	xapic_page_live = apic_base && (msr & APIC_BASE_ENABLE) && !(msr & APIC_BASE_X2APIC);
}

static int msi_window_read(void *dev, const struct mmio_access *a, void *buf);
static int msi_window_write(void *dev, const struct mmio_access *a, const void *buf);

static int apic_read(void *dev, const struct mmio_access *a, void *buf)
{
	if (!xapic_page_live) /* the address now belongs to the interrupt window */
		return msi_window_read(dev, a, buf);
	return hv_phys_read(NULL, a->gpa, buf, a->len);
}

static int apic_write(void *dev, const struct mmio_access *a, const void *buf)
{
	uint64_t value = 0;

	if (!xapic_page_live)
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
	xapic_id = apic_reg_read(APIC_ID) >> XAPIC_ID_SHIFT;
	xapic_page_live = true;
	if (!trap(regions, MSI_WINDOW_BASE, apic_base, &msi_window_ops) ||
	    !trap(regions, apic_base, apic_base + MMIO_PAGE_SIZE, &apic_guard_ops) ||
	    !trap(regions, apic_base + MMIO_PAGE_SIZE, win_end, &msi_window_ops))
		return false;
	pr_info("mhv: apic: local APIC page at 0x%lx (ID %u) trapped, rest of the interrupt "
		"window drops writes: IPIs reach this CPU only\n",
		apic_base, xapic_id);
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
