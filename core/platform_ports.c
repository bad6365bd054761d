/*
 * Reset and sleep ports: what the guest may not pass to the platform.
 *
 * Every intercepted access is decomposed into the bytes it writes (an access of size n at
 * port p writes byte i of the value to port p + i, as the bus does), and each byte is judged
 * against the register at its port:
 *
 *  - 0x92 (System Control Port A): bit 0 pulses the CPU reset line.  Bit 1 (A20) and the rest
 *    pass through.
 *  - 0xCF9 (Reset Control): RST_CPU (bit 2) resets the platform.  0xCF9 shares 0xCF8-0xCFB
 *    with the PCI configuration address, which is a dword register: a dword access at 0xCF8
 *    is a PCI configuration address and passes through untouched; every other access that
 *    writes the 0xCF9 byte is a Reset Control write.  0xCFC-0xCFF are not intercepted.
 *  - 0x64 (8042 command): the "pulse output port" commands 0xF0-0xFF with bit 0 clear pulse
 *    the reset line, and command 0xD1 makes the next byte written to 0x60 the output port,
 *    whose bit 0 (clear) holds the CPU in reset.  Everything else passes through.
 *  - The FADT reset register (RESET_REG) when it is an I/O port: writing RESET_VALUE resets.
 *    In memory it is trapped by platform_reset_mmio.c; in PCI configuration space it is not
 *    intercepted (README).
 *  - PM1a/PM1b control (the X_ blocks when they are I/O ports): a write with SLP_EN set.
 *    SLP_TYP equal to \_S5's value is a power-off: the run ends as if the guest asked for it
 *    (status 0).  Any other sleep type (S1-S4) is refused: the write is dropped, so nothing
 *    sleeps and the FACS waking vector is never used.  An OS that asked for sleep then polls
 *    WAK_STS in PM1 status (Linux: acpi_hw_legacy_sleep); mhv makes WAK_STS read as set until
 *    the guest clears it (write 1), so the guest sees an immediate wake, as after a sleep the
 *    firmware aborted, instead of spinning forever.
 *
 * A reset request ends the run (status 0: the guest asked for it, as with HC_END_RUN);
 * mhv does not reset the machine under a guest it cannot restart.  Everything else at these
 * ports passes through exactly (size and value).
 */
#include "core/platform_ports.h"
#include "arch/x86/acpi.h"
#include "arch/x86/cpu.h"
#include "arch/x86/io.h"
#include "arch/x86/smram_lock.h"
#include "core/pci_msi_trap.h"
#include "core/run_end.h"
#include "core/vcpu.h"
#include "lib/compiler.h"
#include "lib/fmt.h"
#include "lib/log.h"
#include "lib/log_limit.h"

#define PORT_KBC_DATA	       0x60
#define PORT_KBC_CMD	       0x64
#define PORT_SYS_CTRL_A	       0x92
#define PORT_PCI_CONFIG_ADDR   0xCF8
#define PORT_PCI_CONFIG_DATA   0xCFC
#define PORT_RESET_CONTROL     0xCF9
#define SYS_CTRL_A_FAST_RESET  0x01
#define RESET_CONTROL_RST_CPU  0x04
#define KBC_CMD_WRITE_OUTPUT   0xD1
#define KBC_CMD_PULSE_FIRST    0xF0
#define KBC_OUTPUT_RESET_LINE  0x01 /* output port bit 0 / pulse mask bit 0: 0 = reset */
#define PM1_REG_LEN	       2    /* PM1 control and status are 16-bit registers */
#define PM1_HIGH_BYTE	       1
#define PM1_SLP_EN_HIGH	       (ACPI_PM1_SLP_EN >> 8)
#define PM1_WAK_STS_HIGH       (ACPI_PM1_WAK_STS >> 8)
#define SLP_TYP_SHIFT_HIGH     (ACPI_PM1_SLP_TYP_SHIFT - 8)
#define BITS_PER_BYTE	       8
#define IO_PORT_LIMIT	       0x10000u
#define MAX_RANGES	       8
#define PCI_DATA_LEN	       4

enum port_role {
	ROLE_FIXED,
	ROLE_ACPI_RESET,
	ROLE_PM1A_CNT,
	ROLE_PM1B_CNT,
	ROLE_PM1A_STS,
	ROLE_PCI_DATA, /* SMRAM control kept locked (smram_lock.h) */
	ROLE_SMI_CMD,  /* the FADT's SMI command port: only the commands the FADT defines */
};

struct port_range {
	uint16_t first;
	uint8_t len;
	enum port_role role;
};

static struct {
	struct acpi_pm_regs acpi;
	struct port_range ranges[MAX_RANGES];
	unsigned nr_ranges;
	uint8_t claimed[IO_PORT_LIMIT / BITS_PER_BYTE]; /* one bit per intercepted port */
	bool kbc_output_next; /* the 8042 got 0xD1: the next byte at 0x60 is its output port */
	bool wake_pending;    /* a refused sleep: WAK_STS reads as set until cleared */
	struct log_limit refused;
	struct log_limit smi_refused;
} plat;

static void add_range(uint32_t first, unsigned len, enum port_role role)
{
	if (!first || first + len > IO_PORT_LIMIT || plat.nr_ranges == MAX_RANGES)
		return;
	plat.ranges[plat.nr_ranges++] =
		(struct port_range){.first = (uint16_t)first, .len = (uint8_t)len, .role = role};
	for (uint32_t p = first; p < first + len; p++)
		plat.claimed[p / BITS_PER_BYTE] |= (uint8_t)(1u << (p % BITS_PER_BYTE));
}

void platform_ports_init(void)
{
	struct acpi_pm_regs *a = &plat.acpi;

	add_range(PORT_KBC_DATA, 1, ROLE_FIXED);
	add_range(PORT_KBC_CMD, 1, ROLE_FIXED);
	add_range(PORT_SYS_CTRL_A, 1, ROLE_FIXED);
	add_range(PORT_RESET_CONTROL, 1, ROLE_FIXED);
	/* SMRAM control kept locked, MSI messages rewritten for interrupt remapping. */
	add_range(smram_filtered_port() || pci_msi_trapped() ? PORT_PCI_CONFIG_DATA : 0,
		  PCI_DATA_LEN, ROLE_PCI_DATA);
	if (!acpi_pm_regs(a)) {
		pr_info("mhv: platform: no FADT: only the fixed reset ports are intercepted\n");
		return;
	}
	if (a->reset_space == ACPI_GAS_SYSTEM_IO && a->reset_addr)
		add_range((uint32_t)a->reset_addr, 1, ROLE_ACPI_RESET);
	else if (a->reset_addr && a->reset_space != ACPI_GAS_SYSTEM_MEMORY)
		pr_warn("mhv: platform: the FADT reset register is in address space %u, not "
			"intercepted\n",
			a->reset_space); /* memory: platform_reset_mmio.c */
	add_range(a->pm1a_cnt, PM1_REG_LEN, ROLE_PM1A_CNT);
	add_range(a->pm1b_cnt, PM1_REG_LEN, ROLE_PM1B_CNT);
	add_range(a->pm1a_evt, PM1_REG_LEN, ROLE_PM1A_STS);
	if (a->smi_cmd < IO_PORT_LIMIT)
		add_range(a->smi_cmd, 1, ROLE_SMI_CMD);
	pr_info("mhv: platform: PM1a_CNT 0x%x PM1b_CNT 0x%x PM1a_STS 0x%x, \\_S5 %s (%u/%u), reset "
		"register %s 0x%lx value 0x%x\n",
		a->pm1a_cnt, a->pm1b_cnt, a->pm1a_evt, a->s5_known ? "found" : "not found",
		a->s5_typ_a, a->s5_typ_b,
		a->reset_space == ACPI_GAS_SYSTEM_IO ? "port" : "(not I/O)", a->reset_addr,
		a->reset_value);
}

unsigned platform_ports_list(uint16_t *ports, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < plat.nr_ranges; i++)
		for (unsigned b = 0; b < plat.ranges[i].len && n < max; b++)
			ports[n++] = (uint16_t)(plat.ranges[i].first + b);
	return n;
}

static bool overlaps(const struct port_range *r, uint16_t port, unsigned size)
{
	return port < r->first + r->len && r->first < (uint32_t)port + size;
}

/* On every I/O exit (the console UART's too): a bit per port, no search. */
bool platform_port_claims(uint16_t port, unsigned size)
{
	for (uint32_t p = port; p < (uint32_t)port + size && p < IO_PORT_LIMIT; p++)
		if (plat.claimed[p / BITS_PER_BYTE] & (1u << (p % BITS_PER_BYTE)))
			return true;
	return false;
}

/* The byte an access of size at port carries for target, if it reaches target. */
static bool byte_for(uint16_t port, unsigned size, uint32_t val, uint32_t target, uint8_t *b)
{
	if (target < port || target >= (uint32_t)port + size)
		return false;
	*b = (uint8_t)(val >> ((target - port) * BITS_PER_BYTE));
	return true;
}

uint32_t platform_port_in(uint16_t port, unsigned size)
{
	uint32_t val = port_in(port, size);
	uint32_t wak_port = (uint32_t)plat.acpi.pm1a_evt + PM1_HIGH_BYTE;

	if (plat.wake_pending && plat.acpi.pm1a_evt && wak_port >= port &&
	    wak_port < (uint32_t)port + size)
		val |= (uint32_t)PM1_WAK_STS_HIGH << ((wak_port - port) * BITS_PER_BYTE);
	if (port >= PORT_PCI_CONFIG_DATA && port < PORT_PCI_CONFIG_DATA + PCI_DATA_LEN &&
	    pci_msi_trapped())
		val = pci_msi_config_in(port, size, val);
	return val;
}

/* The guest asked for it, as with HC_END_RUN: the run ends with status 0. */
static __noreturn void end_run(struct vcpu *v, const char *why)
{
	vcpu_end_run(v, HV_STATUS_PASS, why);
	cpu_halt_forever(); /* not reached: vcpu_end_run stops the machine */
}

static __noreturn void guest_reset(struct vcpu *v, const char *via)
{
	char why[96];

	fmt_snprintf(why, sizeof(why), "guest requested a reset via %s: run ends", via);
	end_run(v, why);
}

/* Does this write ask for a reset?  Also follows the 8042's command state. */
static void check_reset(struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	const struct acpi_pm_regs *a = &plat.acpi;
	uint8_t b;

	/* A dword at 0xCF8 is the PCI configuration address, not Reset Control (nor a FADT
	 * reset register at 0xCF9): its second byte is a device/function number. */
	if (port == PORT_PCI_CONFIG_ADDR && size == 4)
		return;
	if (a->reset_space == ACPI_GAS_SYSTEM_IO && a->reset_addr &&
	    byte_for(port, size, val, (uint32_t)a->reset_addr, &b) && b == a->reset_value) {
		char via[48];
		fmt_snprintf(via, sizeof(via), "the FADT reset register (port 0x%lx)",
			     a->reset_addr);
		guest_reset(v, via);
	}
	if (byte_for(port, size, val, PORT_SYS_CTRL_A, &b) && (b & SYS_CTRL_A_FAST_RESET))
		guest_reset(v, "port 0x92 (fast reset)");
	if (byte_for(port, size, val, PORT_RESET_CONTROL, &b) && (b & RESET_CONTROL_RST_CPU))
		guest_reset(v, "port 0xCF9 (reset control)");
	if (byte_for(port, size, val, PORT_KBC_CMD, &b)) {
		if (b >= KBC_CMD_PULSE_FIRST && !(b & KBC_OUTPUT_RESET_LINE))
			guest_reset(v, "the keyboard controller (pulse reset line)");
		plat.kbc_output_next = b == KBC_CMD_WRITE_OUTPUT;
	} else if (byte_for(port, size, val, PORT_KBC_DATA, &b) && plat.kbc_output_next) {
		plat.kbc_output_next = false;
		if (!(b & KBC_OUTPUT_RESET_LINE))
			guest_reset(v, "the keyboard controller (output port reset line)");
	}
}

/* A PM1 control write with SLP_EN: S5 ends the run, anything else is refused.  True if
 * the write must be dropped. */
static bool check_sleep(struct vcpu *v, const struct port_range *r, uint16_t port, unsigned size,
			uint32_t val)
{
	const struct acpi_pm_regs *a = &plat.acpi;
	char block = r->role == ROLE_PM1A_CNT ? 'a' : 'b';
	uint8_t high, typ, s5;

	if (!byte_for(port, size, val, (uint32_t)r->first + PM1_HIGH_BYTE, &high) ||
	    !(high & PM1_SLP_EN_HIGH))
		return false;
	typ = (high >> SLP_TYP_SHIFT_HIGH) & ACPI_PM1_SLP_TYP_MASK;
	s5 = r->role == ROLE_PM1A_CNT ? a->s5_typ_a : a->s5_typ_b;
	if (a->s5_known && typ == s5) {
		char why[96];
		fmt_snprintf(why, sizeof(why),
			     "guest entered ACPI S5 (SLP_TYP %u via PM1%c_CNT, port 0x%x): power-off, "
			     "run ends",
			     typ, block, r->first);
		end_run(v, why);
	}
	if (log_limit_allow(&plat.refused, "refused sleep requests"))
		pr_warn("mhv: guest asked for ACPI sleep (SLP_TYP %u via PM1%c_CNT, port 0x%x): "
			"refused, the guest wakes at once\n",
			typ, block, r->first);
	plat.wake_pending = true;
	return true;
}

/*
 * A write to the SMI command port raises an SMI: the firmware's SMM handler runs with the
 * command, outside mhv, on a CPU the guest is using.  The commands the FADT defines (ACPI
 * enable/disable, P-state and C-state control) are what an OS sends; any other is dropped
 * (SeaBIOS's SMM handler takes command 0 as "restore the CPU state saved at boot", which
 * throws the CPU back into the BIOS from under mhv).
 */
static bool smi_command_refused(const struct port_range *r, uint16_t port, unsigned size,
				uint32_t val)
{
	const struct acpi_pm_regs *a = &plat.acpi;
	uint8_t b;

	if (!byte_for(port, size, val, r->first, &b) || b == a->acpi_enable ||
	    b == a->acpi_disable || (a->pstate_cnt && b == a->pstate_cnt) ||
	    (a->cst_cnt && b == a->cst_cnt))
		return false;
	if (log_limit_allow(&plat.smi_refused, "refused SMI commands"))
		pr_warn("mhv: guest wrote SMI command 0x%x to port 0x%x, not one the FADT defines: "
			"dropped\n",
			b, r->first);
	return true;
}

void platform_port_out(struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	uint8_t b;

	check_reset(v, port, size, val);
	for (unsigned i = 0; i < plat.nr_ranges; i++) {
		const struct port_range *r = &plat.ranges[i];

		if (!overlaps(r, port, size))
			continue;
		if ((r->role == ROLE_PM1A_CNT || r->role == ROLE_PM1B_CNT) &&
		    check_sleep(v, r, port, size, val))
			return;
		if (r->role == ROLE_PM1A_STS &&
		    byte_for(port, size, val, (uint32_t)r->first + PM1_HIGH_BYTE, &b) &&
		    (b & PM1_WAK_STS_HIGH))
			plat.wake_pending = false; /* write 1 to clear */
		if (r->role == ROLE_PCI_DATA) {
			val = smram_filter_config_write(port, size, val);
			if (pci_msi_trapped() && pci_msi_config_out(port, size, val))
				return;
		}
		if (r->role == ROLE_SMI_CMD && smi_command_refused(r, port, size, val))
			return;
	}
	port_out(port, size, val);
}
