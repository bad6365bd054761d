/* SMRAM lock: see smram_lock.h. */
#include "arch/x86/smram_lock.h"
#include <stdbool.h>

#include "arch/x86/io.h"
#include "lib/log.h"

#define PCI_CONFIG_ADDR 0xCF8
#define PCI_CONFIG_DATA 0xCFC
#define PCI_ENABLE	0x80000000u
#define PCI_DWORD_MASK	0xFCu
#define BITS_PER_BYTE	8
#define BYTE_MASK	0xFFu

#define I440FX_ID	0x12378086u /* host bridge 0:0.0, vendor 8086 device 1237 */
#define Q35_MCH_ID	0x29C08086u /* device 29C0 */
#define I440FX_SMRAM	0x72
#define Q35_SMRAM	0x9D
#define SMRAM_D_OPEN	0x40u
#define SMRAM_D_LCK	0x10u
#define SMRAM_REPORT_LIMIT 8

static uint32_t host_bridge_read32(uint8_t reg)
{
	outl(PCI_CONFIG_ADDR, PCI_ENABLE | (reg & PCI_DWORD_MASK));
	return inl(PCI_CONFIG_DATA);
}

static uint8_t host_bridge_read8(uint8_t reg)
{
	return (uint8_t)(host_bridge_read32(reg) >> (BITS_PER_BYTE * (reg & 3)));
}

static void host_bridge_write8(uint8_t reg, uint8_t v)
{
	outl(PCI_CONFIG_ADDR, PCI_ENABLE | (reg & PCI_DWORD_MASK));
	outb((uint16_t)(PCI_CONFIG_DATA + (reg & 3)), v);
}

/* The SMRAM control register while mhv must filter writes to it (0: none). */
static uint8_t filtered_reg;

/* Does the lock hold?  Try to open SMRAM: a chipset that ignores D_LCK lets it open. */
static bool lock_holds(uint8_t reg, uint8_t locked)
{
	uint8_t probe;

	host_bridge_write8(reg, (uint8_t)(locked | SMRAM_D_OPEN));
	probe = host_bridge_read8(reg);
	host_bridge_write8(reg, locked);
	return !(probe & SMRAM_D_OPEN);
}

uint16_t smram_filtered_port(void)
{
	return filtered_reg ? PCI_CONFIG_DATA : 0;
}

uint32_t smram_filter_config_write(uint16_t port, unsigned size, uint32_t val)
{
	static unsigned reported;
	uint32_t addr = inl(PCI_CONFIG_ADDR), target = PCI_CONFIG_DATA + (filtered_reg & 3u);
	unsigned shift;
	uint8_t now;

	/* Bus 0, device 0, function 0, the dword holding the register: else not ours. */
	if (addr != (PCI_ENABLE | (filtered_reg & PCI_DWORD_MASK)) || target < port ||
	    target >= (uint32_t)port + size)
		return val;
	shift = BITS_PER_BYTE * (target - port);
	now = host_bridge_read8(filtered_reg);
	if (((val >> shift) & BYTE_MASK) != now && reported < SMRAM_REPORT_LIMIT) {
		reported++;
		pr_warn("mhv: guest wrote SMRAM control 0x%x (now 0x%x): kept locked\n",
			(val >> shift) & BYTE_MASK, now);
	}
	return (val & ~(BYTE_MASK << shift)) | (uint32_t)now << shift;
}

void smram_lock(void)
{
	uint32_t id = host_bridge_read32(0);
	uint8_t reg, before, after;

	if (id == I440FX_ID)
		reg = I440FX_SMRAM;
	else if (id == Q35_MCH_ID)
		reg = Q35_SMRAM;
	else {
		pr_info("mhv: smram: host bridge 0x%x is not one mhv knows: SMRAM left as the "
			"firmware set it\n",
			id);
		return;
	}
	before = host_bridge_read8(reg);
	if (before & SMRAM_D_LCK) {
		pr_info("mhv: smram: locked by the firmware (0x%x)\n", before);
		return;
	}
	host_bridge_write8(reg, (uint8_t)((before & ~SMRAM_D_OPEN) | SMRAM_D_LCK));
	after = host_bridge_read8(reg);
	if ((after & SMRAM_D_LCK) && !(after & SMRAM_D_OPEN) && lock_holds(reg, after)) {
		pr_info("mhv: smram: the firmware left SMRAM unlocked (0x%x): locked (0x%x)\n",
			before, after);
		return;
	}
	/* The chipset (QEMU's i440FX) ignores D_LCK: mhv keeps the register as it is now. */
	host_bridge_write8(reg, (uint8_t)(before & ~SMRAM_D_OPEN));
	filtered_reg = reg;
	pr_info("mhv: smram: the firmware left SMRAM unlocked (0x%x) and the chipset ignores "
		"D_LCK: guest writes to it are filtered (0x%x kept)\n",
		before, host_bridge_read8(reg));
}
