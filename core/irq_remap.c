/* Interrupt remapping from the guest's own programming: see irq_remap.h. */
#include "core/irq_remap.h"
#include "arch/x86/iommu.h"
#include "arch/x86/smp.h"
#include "core/apic_guard.h"
#include "iommu/amd_intremap.h"
#include "iommu/vtd_intremap.h"

#define BROADCAST_DEST	0xFFu
#define AMD_DEVID_SHIFT 16 /* AMD-Vi handles: devid << 16 | first index */
#define AMD_INDEX_MASK	0xFFFFu
#define AMD_MSIX_FIRST	32u /* MSI-X indices after the at most 32 of MSI */

bool irq_remap_active(void)
{
	return vtd_intremap_on() || amdvi_intremap_on();
}

/* VT-d: count consecutive entries of the one remapping table; the handle is the first. */
static bool vtd_alloc(unsigned count, uint32_t *handle)
{
	int32_t first = vtd_irte_alloc(count);

	if (first < 0)
		return false;
	*handle = (uint32_t)first;
	return true;
}

bool irq_remap_alloc_msi(uint16_t bdf, unsigned count, bool unrewritten, uint32_t *handle)
{
	if (amdvi_intremap_on()) {
		/* One table per requester: its MSI-X messages would look theirs up there too. */
		if (unrewritten || count > AMD_IRT_ENTRIES || !amdvi_irt_own(bdf))
			return false;
		*handle = (uint32_t)bdf << AMD_DEVID_SHIFT;
		return true;
	}
	return vtd_alloc(count, handle);
}

bool irq_remap_alloc_msix(uint16_t bdf, unsigned count, uint32_t *handle)
{
	if (amdvi_intremap_on()) {
		if (count > AMD_IRT_ENTRIES - AMD_MSIX_FIRST || !amdvi_irt_own(bdf))
			return false;
		*handle = (uint32_t)bdf << AMD_DEVID_SHIFT | AMD_MSIX_FIRST;
		return true;
	}
	return vtd_alloc(count, handle);
}

bool irq_remap_pass_unrewritten(bool own_table, const char **what)
{
	static bool tried, passed; /* the units are asked once */

	if (!vtd_intremap_on()) {
		*what = own_table ? "with AMD-Vi they are looked up in its own table, where mhv "
				    "filled no entry for them: blocked"
				  : "with AMD-Vi they reach the boot vCPU through the shared table, "
				    "whatever destination the guest gave them";
		return !own_table;
	}
	if (!tried)
		passed = vtd_intremap_pass_compat();
	tried = true;
	*what = passed ? "VT-d now passes compatibility-format messages (GCMD.CFI set) so they "
			 "arrive unremapped; any device's DMA-written compatibility-format "
			 "message then reaches any CPU with any delivery mode (NMI, INIT) unchecked"
		       : "VT-d did not set GSTS.CFIS (compatibility format not passed): blocked";
	return passed;
}

void irq_remap_msi_hw(uint32_t handle, uint32_t *addr_lo, uint16_t *data)
{
	if (amdvi_intremap_on()) {
		/* Physical (QEMU refuses a logical one), data = the index of message 0. */
		*addr_lo = MSI_ADDR_WINDOW;
		*data = (uint16_t)(handle & AMD_INDEX_MASK);
		return;
	}
	*addr_lo = vtd_msi_remap_addr((uint16_t)handle);
	*data = 0;
}

static void write_entry(uint32_t handle, unsigned k, const struct irq_msg *m, int32_t sid)
{
	if (amdvi_intremap_on()) {
		amdvi_irte_write((uint16_t)(handle >> AMD_DEVID_SHIFT),
				 (handle & AMD_INDEX_MASK) + k, m ? amd_irte_build(m) : 0);
	} else {
		struct vtd_irte e = {0, 0};

		if (m)
			vtd_irte_build(m, sid, &e);
		vtd_irte_write(handle + k, &e);
	}
}

void irq_remap_clear(uint32_t handle, unsigned k)
{
	write_entry(handle, k, NULL, -1);
}

/* The destination rule the guest's own IPIs and IOAPIC entries follow (ioapic_guard.h). */
static bool destination_ok(struct irq_msg *m, const char **why)
{
	uint32_t id, ldr;
	bool self;

	if (smp_active()) {
		if (m->logical)
			return true; /* a CPU outside the guest never writes its LDR */
		if (m->dest == BROADCAST_DEST ? smp_every_cpu_is_vcpu()
					      : smp_apic_id_is_vcpu(m->dest))
			return true;
		*why = "programmed a device interrupt for a CPU that is not one of the guest's vCPUs";
		return false;
	}
	apic_guard_self_xapic(&id, &ldr);
	self = m->dest == BROADCAST_DEST || (m->logical ? (m->dest & ldr) != 0 : m->dest == id);
	if (!self) {
		*why = "programmed a device interrupt for another CPU";
		return false;
	}
	m->dest = id; /* only this CPU, whatever else the destination named */
	m->logical = false;
	return true;
}

/* m as it may be sent, or false with *why. */
static bool judge(struct irq_msg *m, const char **why)
{
	if (m->mode != IRQ_MODE_FIXED && m->mode != IRQ_MODE_LOWEST) {
		*why = "programmed a device interrupt with NMI, SMI, INIT, ExtINT or a reserved "
		       "delivery mode";
		return false;
	}
	if (!destination_ok(m, why))
		return false;
	if (m->dest > VTD_IRTE_XAPIC_MAX_DEST) {
		*why = "programmed a device interrupt for an APIC ID beyond 8 bits";
		return false;
	}
	return true;
}

bool irq_remap_set(uint32_t handle, unsigned k, const struct irq_msg *msg, int32_t sid,
		   const char **why)
{
	struct irq_msg m = *msg;

	if (!judge(&m, why)) {
		irq_remap_clear(handle, k);
		return false;
	}
	write_entry(handle, k, &m, sid);
	return true;
}

bool irq_remap_alloc_ioapic(uint8_t ioapic_id, unsigned pins, uint32_t *handle)
{
	uint16_t devid;
	int32_t first;

	if (amdvi_intremap_on()) {
		if (!amdvi_ioapic_devid(ioapic_id, &devid) || !amdvi_irt_own(devid))
			return false;
		*handle = (uint32_t)devid << AMD_DEVID_SHIFT;
		return true;
	}
	first = vtd_irte_alloc(pins);
	if (first < 0)
		return false;
	*handle = (uint32_t)first;
	return true;
}

bool irq_remap_ioapic_pin(uint32_t handle, unsigned pin, uint32_t *low, uint32_t *high,
			  const char **why)
{
	bool amd = amdvi_intremap_on(), ok = true;
	struct irq_msg m;

	if (!(*low & RTE_MASKED)) {
		irq_msg_from_rte(*low, *high, &m);
		ok = judge(&m, why);
		if (ok && amd) /* indexed by mode and vector: pins sharing both share the entry */
			write_entry(handle, amd_irt_index(m.mode, m.vector), &m, -1);
		else if (!amd)
			write_entry(handle, pin, ok ? &m : NULL, -1);
		if (!ok)
			*low |= RTE_MASKED;
	}
	if (amd) {
		*low &= ~RTE_LOGICAL;
		*high = 0;
	} else {
		vtd_rte_remap((uint16_t)(handle + pin), *low, low, high);
	}
	return ok;
}

/*
 * Why NMIPass on the IOAPIC's DTE lets through only mhv's NMIs: the IOAPIC's messages carry
 * its device ID, and with a table of its own (irq_remap_alloc_ioapic, the only case this is
 * called for) every redirection entry reaches the IOAPIC through the IOAPIC guard: whole
 * 32-bit writes only, each entry judged as a whole (program_entry), mhv's pins never written
 * from the guest's shadow, and irq_remap_ioapic_pin masks any unmasked entry judge() refuses,
 * which is every delivery mode but fixed and lowest priority.  So the only NMI entries the
 * IOAPIC holds are mhv's, aimed at this CPU.  What the DTE cannot tell apart: a PCI function
 * whose requester ID equals the IOAPIC's IVRS device ID (some AMD chipsets put the IOAPIC's
 * ID on a southbridge function) could DMA-write an NMI message that passes too; it reaches
 * the CPUs the message names.  mhv does not check for such a function.  And QEMU's AMD-Vi
 * model (7.2) tags every device's DMA-written interrupt message with the IOAPIC's ID, so
 * there any device's NMI message passes: hence NMIPass only on request (amdvi_nmipass=on).
 * VT-d needs no such choice: mhv's entry names only this CPU and checks the IOAPIC's source
 * ID (where the DMAR gives it), so a device naming its handle is blocked.  (QEMU 7.2 checks
 * no source ID for a device's DMA-written message: there such a device sends this CPU an NMI,
 * which mhv, finding no console byte, hands to the guest as the guest's own.)
 */
static bool amdvi_nmipass_allowed;

void irq_remap_allow_amdvi_nmipass(bool allowed)
{
	amdvi_nmipass_allowed = allowed;
}

bool irq_remap_ioapic_nmi(uint32_t handle, uint8_t ioapic_id, unsigned pin, uint8_t dest,
			  uint32_t *low, uint32_t *high, const char **how)
{
	struct vtd_irte e;
	uint16_t sid;
	bool checked;

	if (amdvi_intremap_on() && !amdvi_nmipass_allowed) {
		*how = "AMD-Vi blocks NMIs; amdvi_nmipass=on lets the IOAPIC's pass";
		return false;
	}
	if (amdvi_intremap_on()) {
		*how = "passed by NMIPass in the IOAPIC's AMD-Vi device table entry";
		if (amdvi_dte_nmi_pass((uint16_t)(handle >> AMD_DEVID_SHIFT)))
			return true;
		*how = "the IOAPIC has no AMD-Vi device table entry of its own";
		return false;
	}
	if (!vtd_intremap_on())
		return false;
	checked = vtd_ioapic_sid(ioapic_id, &sid);
	vtd_irte_build_nmi(dest, checked ? sid : -1, &e);
	vtd_irte_write(handle + pin, &e);
	vtd_rte_remap((uint16_t)(handle + pin), *low & ~(RTE_MODE_MASK << RTE_MODE_SHIFT), low,
		      high);
	*how = checked ? "through mhv's VT-d remapping entry (the IOAPIC's source ID checked)"
		       : "through mhv's VT-d remapping entry (no DMAR scope names the IOAPIC: "
			 "source ID not checked)";
	return true;
}
