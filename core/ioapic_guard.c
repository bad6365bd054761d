/* The IOAPIC guard: see ioapic_guard.h. */
#include "core/ioapic_guard.h"
#include "arch/x86/acpi.h"
#include "arch/x86/smp.h"
#include "core/apic_guard.h"
#include "core/irq_remap.h"
#include "core/mmio_setup.h"
#include "lib/ipi_filter.h"
#include "lib/log.h"
#include "lib/string.h"
#include "mmio/device.h"
#include "mmio/region.h"

#define IOAPIC_DEFAULT_BASE  0xFEC00000ull
#define IOAPIC_MAX	     8
#define IOREGSEL	     0x00
#define IOWIN		     0x10
#define IOAPIC_EOI	     0x40 /* version 0x20 and later */
#define IOAPIC_REG_SIZE	     4
#define IOAPIC_REG_SPAN	     16
#define IOAPIC_REDTBL	     0x10
#define IOAPIC_REDTBL_END    0x100 /* at most 120 entries: index register is 8 bits */
#define IOAPIC_MAX_ENTRIES   ((IOAPIC_REDTBL_END - IOAPIC_REDTBL) / 2)
#define ENTRY_HW_BITS	     ((1u << 12) | (1u << 14)) /* delivery status, remote IRR */
#define IOAPIC_ID	     0x00
#define IOAPIC_ID_SHIFT	     24
#define IOAPIC_VER	     0x01
#define IOAPIC_ARB	     0x02 /* the last register before the table */
#define VER_MAX_ENTRY_SHIFT  16
#define VER_MAX_ENTRY_MASK   0xFFu
#define ENTRY_MASKED	     (1u << 16)
#define ENTRY_DEST_SHIFT     24 /* in the high dword */
#define ENTRY_DEST_MASK	     0xFFu
#define BROADCAST_DEST	     0xFFu
#define BITS_PER_BYTE	     8
#define MADT_ENTRIES_OFFSET  44
#define MADT_IOAPIC	     1
#define MADT_IOAPIC_LEN	     12
#define MADT_IOAPIC_ADDR_OFF 4
#define PAGE_MASK_4K	     0xFFFull

struct ioapic {
	uint64_t base;	 /* the IOAPIC's registers (IOREGSEL) */
	uint32_t regsel; /* the guest's last IOREGSEL value */
	/* The redirection table as the guest wrote it (the hardware may hold it masked or
	 * re-aimed at this CPU): a two-write update is judged as a whole, not half by half. */
	uint32_t shadow[IOAPIC_MAX_ENTRIES][2];
	uint32_t nr_entries; /* from the version register */
	bool remapped;	     /* interrupt remapping: entries of its own (ir_handle) */
	uint32_t ir_handle;
	uint8_t id; /* its IOAPIC ID at setup (the IOMMUs name it so) */
};

static struct ioapic ioapics[IOAPIC_MAX];
static unsigned nr_ioapics;
/* The pin mhv took for the console's break-in (ioapic_guard_claim_console_pin); -1: none. */
static int owned_pin = -1;
/* The debugger UART's pin (ioapic_guard_claim_debugger_pin); -1: none. */
static int debugger_pin = -1;

static uint32_t hw_read(const struct ioapic *io, uint32_t reg)
{
	uint32_t v;

	hv_phys_write(NULL, io->base + IOREGSEL, &reg, sizeof(reg));
	hv_phys_read(NULL, io->base + IOWIN, &v, sizeof(v));
	return v;
}

static void hw_write(const struct ioapic *io, uint32_t reg, uint32_t v)
{
	hv_phys_write(NULL, io->base + IOREGSEL, &reg, sizeof(reg));
	hv_phys_write(NULL, io->base + IOWIN, &v, sizeof(v));
}

/*
 * SMP: every CPU the guest addresses is one of its vCPUs (physical APIC IDs are the guest's),
 * so a fixed, lowest-priority, NMI or ExtINT entry goes out as written, as the same IPIs do
 * (lib/ipi_filter.h): Linux spreads its IRQs over all its CPUs.  An NMI that reaches a vCPU
 * mhv holds in wait-for-SIPI is dropped there (smp.c), as that state does.  Refused: a
 * physical destination that is no vCPU, and the broadcast while mhv holds a CPU outside the
 * guest.  (A CPU outside the guest never writes its LDR, so no logical destination names it.)
 */
static bool smp_destination_ok(uint32_t dest, bool logical)
{
	if (logical)
		return true;
	if (dest == BROADCAST_DEST)
		return smp_every_cpu_is_vcpu();
	return smp_apic_id_is_vcpu(dest);
}

/*
 * The entry (low, high) as the guest wants it -> as it may reach the hardware.  Returns false
 * (and masks *low) when its message would reach a CPU that is not the guest's or is one mhv
 * never sends (SMI, INIT, STARTUP, the reserved mode: to any CPU).
 */
static bool allowed_entry(uint32_t *low, uint32_t *high, const char **why)
{
	uint32_t mode = (*low & ICR_MODE_MASK) >> ICR_MODE_SHIFT, id, ldr;
	uint32_t dest = (*high >> ENTRY_DEST_SHIFT) & ENTRY_DEST_MASK;
	bool logical = *low & ICR_LOGICAL, self;

	if (*low & ENTRY_MASKED)
		return true; /* no message while masked: checked again when unmasked */
	if (mode != ICR_MODE_FIXED && mode != ICR_MODE_LOWEST && mode != ICR_MODE_NMI &&
	    mode != ICR_MODE_EXTINT) {
		*why = "programmed an IOAPIC entry with SMI, INIT or a reserved delivery mode";
		*low |= ENTRY_MASKED;
		return false;
	}
	if (smp_active()) {
		if (smp_destination_ok(dest, logical))
			return true;
		*why = "aimed an IOAPIC entry at a CPU that is not one of the guest's vCPUs";
		*low |= ENTRY_MASKED;
		return false;
	}
	apic_guard_self_xapic(&id, &ldr);
	self = dest == BROADCAST_DEST || (logical ? (dest & ldr) != 0 : dest == id);
	if (!self) {
		*why = "aimed an IOAPIC entry at another CPU";
		*low |= ENTRY_MASKED;
		return false;
	}
	/* Whatever other CPUs the destination named, only this one gets the message. */
	*low &= ~(uint32_t)ICR_LOGICAL;
	*high = (*high & ~(ENTRY_DEST_MASK << ENTRY_DEST_SHIFT)) | id << ENTRY_DEST_SHIFT;
	return true;
}

/*
 * Interrupt remapping (irq_remap.h): the pin's entry carries the message, the IOAPIC gets a
 * remappable-format entry naming it with the guest's vector, trigger mode, polarity and mask.
 * NMI and ExtINT, which allowed_entry lets through to the guest's CPUs, get no entry.
 */
static void remap_entry(const struct ioapic *io, uint32_t pin, uint32_t *low, uint32_t *high)
{
	uint64_t guest = (uint64_t)*high << 32 | *low;
	const char *why = "";

	if (!irq_remap_ioapic_pin(io->ir_handle, pin, low, high, &why))
		apic_guard_count_drop(why, guest, io->base);
}

/* Program pin n's entry from the shadow (the guest's entry). */
static void program_entry(struct ioapic *io, uint32_t n)
{
	uint32_t low_reg = IOAPIC_REDTBL + 2 * n, *e = io->shadow[n], low, high;
	const char *why = "";

	if (io == &ioapics[0] && ((int)n == owned_pin || (int)n == debugger_pin))
		return; /* mhv's pin: the guest's entry is kept for ioapic_guard_forward_console_irq */
	low = e[0];
	high = e[1];
	if (!allowed_entry(&low, &high, &why))
		apic_guard_count_drop(why, (uint64_t)e[1] << 32 | e[0], io->base);
	if (io->remapped)
		remap_entry(io, n, &low, &high);
	/* Masked while the destination changes, so no message goes out half-written. */
	hw_write(io, low_reg, low | ENTRY_MASKED);
	hw_write(io, low_reg + 1, high);
	hw_write(io, low_reg, low);
	hv_phys_write(NULL, io->base + IOREGSEL, &io->regsel, sizeof(io->regsel));
}

/* A write of v to redirection-table register reg (low or high half of an entry). */
static void write_entry(struct ioapic *io, uint32_t reg, uint32_t v)
{
	uint32_t n = (reg - IOAPIC_REDTBL) / 2;

	io->shadow[n][reg & 1] = v;
	program_entry(io, n);
}

/* The redirection register the guest selected, as it wrote it (status bits: the hardware's). */
static uint32_t read_entry(const struct ioapic *io, uint32_t reg)
{
	uint32_t v = io->shadow[(reg - IOAPIC_REDTBL) / 2][reg & 1], hw;

	if (reg & 1)
		return v;
	hv_phys_read(NULL, io->base + IOWIN, &hw, sizeof(hw));
	return (v & ~ENTRY_HW_BITS) | (hw & ENTRY_HW_BITS);
}

static bool is_entry(const struct ioapic *io, uint32_t reg)
{
	return reg >= IOAPIC_REDTBL && reg < IOAPIC_REDTBL + 2 * io->nr_entries;
}

/* A register the IOAPIC has (some models stop the machine on any other). */
static bool is_register(const struct ioapic *io, uint32_t reg)
{
	return reg <= IOAPIC_ARB || is_entry(io, reg);
}

static bool whole_register(const struct mmio_access *a)
{
	return a->len == IOAPIC_REG_SIZE && !(a->gpa & (IOAPIC_REG_SPAN - 1));
}

/* The 32-bit register at pa (16-byte aligned) as the guest sees it. */
static uint32_t reg_value(const struct ioapic *io, uint64_t pa)
{
	uint32_t v = 0;

	if (pa == io->base + IOWIN && is_entry(io, io->regsel))
		return read_entry(io, io->regsel);
	if (pa == io->base + IOWIN && !is_register(io, io->regsel))
		return 0; /* reserved: never sent to the IOAPIC */
	hv_phys_read(NULL, pa, &v, sizeof(v));
	return v;
}

static int ioapic_read(void *dev, const struct mmio_access *a, void *buf)
{
	const struct ioapic *io = dev;
	uint8_t *out = buf;

	/* Each byte from the whole register it lies in (bytes 4-15 of a slot read 0). */
	for (unsigned i = 0; i < a->len; i++) {
		uint64_t pa = a->gpa + i, in_slot = pa & (IOAPIC_REG_SPAN - 1);

		out[i] = 0;
		if (in_slot >= IOAPIC_REG_SIZE || pa < io->base)
			continue;
		out[i] = (uint8_t)(reg_value(io, pa - in_slot) >> (BITS_PER_BYTE * in_slot));
	}
	return 0;
}

static int ioapic_write(void *dev, const struct mmio_access *a, const void *buf)
{
	struct ioapic *io = dev;
	uint64_t off = a->gpa - io->base;
	uint32_t v;

	if (a->gpa < io->base || !whole_register(a)) {
		apic_guard_count_drop("wrote the IOAPIC page with a partial or misplaced access",
				      0, a->gpa);
		return 0;
	}
	memcpy(&v, buf, sizeof(v));
	if (off == IOREGSEL)
		io->regsel = v;
	if (off == IOWIN && is_entry(io, io->regsel)) {
		write_entry(io, io->regsel, v);
		return 0;
	}
	if (off == IOWIN && !is_register(io, io->regsel))
		return 0; /* reserved: dropped */
	return hv_phys_write(NULL, a->gpa, buf, a->len);
}

static const struct mmio_dev_ops ioapic_guard_ops = {
	.name = "ioapic",
	.read = ioapic_read,
	.write = ioapic_write,
};

static void add_ioapic(uint64_t base)
{
	for (unsigned i = 0; i < nr_ioapics; i++)
		if (ioapics[i].base == base)
			return;
	if (nr_ioapics < IOAPIC_MAX)
		ioapics[nr_ioapics++] = (struct ioapic){.base = base};
	else
		pr_err("mhv: more than %u IOAPICs: the one at 0x%lx is not guarded\n", IOAPIC_MAX,
		       base);
}

static void find_ioapics(void)
{
	const struct acpi_header *madt = acpi_find_table("APIC");
	const uint8_t *p, *end;

	if (!madt || madt->length < MADT_ENTRIES_OFFSET) {
		add_ioapic(IOAPIC_DEFAULT_BASE);
		return;
	}
	p = (const uint8_t *)madt + MADT_ENTRIES_OFFSET;
	end = (const uint8_t *)madt + madt->length;
	while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
		if (p[0] == MADT_IOAPIC && p[1] >= MADT_IOAPIC_LEN) {
			uint32_t addr;

			memcpy(&addr, p + MADT_IOAPIC_ADDR_OFF, sizeof(addr));
			add_ioapic(addr);
		}
		p += p[1];
	}
	if (!nr_ioapics)
		add_ioapic(IOAPIC_DEFAULT_BASE);
}

bool ioapic_guard_setup(struct mmio_regions *regions)
{
	find_ioapics();
	for (unsigned i = 0; i < nr_ioapics; i++) {
		uint64_t page = ioapics[i].base & ~PAGE_MASK_4K;
		int err = mmio_region_add(regions, page, MMIO_PAGE_SIZE, &ioapic_guard_ops,
					  &ioapics[i]);

		if (err) {
			pr_err("mhv: cannot trap the IOAPIC page at 0x%lx (an mmio= region there?): "
			       "error %d\n",
			       page, err);
			return false;
		}
		ioapics[i].nr_entries = ((hw_read(&ioapics[i], IOAPIC_VER) >> VER_MAX_ENTRY_SHIFT) &
					 VER_MAX_ENTRY_MASK) + 1;
		if (ioapics[i].nr_entries > IOAPIC_MAX_ENTRIES)
			ioapics[i].nr_entries = IOAPIC_MAX_ENTRIES;
		for (uint32_t n = 0; n < ioapics[i].nr_entries; n++)
			for (uint32_t half = 0; half < 2; half++)
				ioapics[i].shadow[n][half] =
					hw_read(&ioapics[i], IOAPIC_REDTBL + 2 * n + half);
		hv_phys_write(NULL, ioapics[i].base + IOREGSEL, &ioapics[i].regsel,
			      sizeof(ioapics[i].regsel));
		ioapics[i].id = (uint8_t)(hw_read(&ioapics[i], IOAPIC_ID) >> IOAPIC_ID_SHIFT);
		ioapics[i].remapped = irq_remap_alloc_ioapic(ioapics[i].id, ioapics[i].nr_entries,
							     &ioapics[i].ir_handle);
		if (!ioapics[i].remapped && irq_remap_active())
			pr_warn("mhv: ioapic: no interrupt remapping entries for the IOAPIC at 0x%lx: "
				"its interrupts are blocked (VT-d) or reach the boot vCPU (AMD-Vi)\n",
				ioapics[i].base);
		if (ioapics[i].remapped)
			for (uint32_t n = 0; n < ioapics[i].nr_entries; n++)
				program_entry(&ioapics[i], n);
		pr_info("mhv: ioapic: IOAPIC at 0x%lx trapped: its messages reach this CPU only%s\n",
			ioapics[i].base,
			ioapics[i].remapped ? "; interrupt remapping entries from its table"
						  : "");
	}
	return true;
}

/*
 * Pin `pin` of the first IOAPIC: an edge-triggered NMI to this CPU.  With interrupt remapping
 * the NMI must get past the IOMMU (irq_remap_ioapic_nmi): refused when it cannot.
 */
static bool claim_nmi_pin(unsigned pin, int *owner)
{
	struct ioapic *io = &ioapics[0];
	uint32_t id, ldr, low = (uint32_t)ICR_MODE_NMI << ICR_MODE_SHIFT, high, reg;
	const char *how = NULL;

	if (!nr_ioapics || pin >= io->nr_entries)
		return false;
	apic_guard_self_xapic(&id, &ldr);
	high = id << ENTRY_DEST_SHIFT; /* edge, active high: an ISA line */
	if (irq_remap_active() &&
	    (!io->remapped || !irq_remap_ioapic_nmi(io->ir_handle, io->id, pin, (uint8_t)id,
						     &low, &high, &how))) {
		pr_warn("mhv: ioapic: pin %u cannot be mhv's NMI: interrupt remapping would block "
			"it (%s)\n",
			pin, how ? how : "the IOAPIC has no remapping entries of its own");
		return false;
	}
	reg = IOAPIC_REDTBL + 2 * pin;
	*owner = (int)pin;
	hw_write(io, reg, low | ENTRY_MASKED);
	hw_write(io, reg + 1, high);
	hw_write(io, reg, low);
	hv_phys_write(NULL, io->base + IOREGSEL, &io->regsel, sizeof(io->regsel));
	if (how)
		pr_info("mhv: ioapic: pin %u is mhv's NMI to APIC ID %u, %s\n", pin, id, how);
	return true;
}

bool ioapic_guard_claim_console_pin(unsigned pin)
{
	return claim_nmi_pin(pin, &owned_pin);
}

bool ioapic_guard_claim_debugger_pin(unsigned pin)
{
	return (int)pin != owned_pin && claim_nmi_pin(pin, &debugger_pin);
}

void ioapic_guard_forward_console_irq(void)
{
	const struct ioapic *io = &ioapics[0];
	uint32_t low, high, mode;
	const char *why = "";

	if (owned_pin < 0)
		return;
	low = io->shadow[owned_pin][0];
	high = io->shadow[owned_pin][1];
	if (!allowed_entry(&low, &high, &why) || (low & ENTRY_MASKED))
		return;
	mode = (low & ICR_MODE_MASK) >> ICR_MODE_SHIFT;
	if (mode != ICR_MODE_FIXED && mode != ICR_MODE_LOWEST)
		return; /* an NMI or ExtINT route for a UART: not forwarded */
	/* The same message the pin would have sent, as an IPI from this CPU. */
	smp_send_ipi((high >> ENTRY_DEST_SHIFT) & ENTRY_DEST_MASK,
		     (low & (uint32_t)(ICR_VECTOR_MASK | ICR_MODE_MASK | ICR_LOGICAL)));
}
