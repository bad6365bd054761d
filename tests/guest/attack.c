/*
 * The platform attacks (attack.h): each asks the platform to reset or sleep the way an OS
 * or an attacker would.  mhv must end the run (reset, S5) or refuse (S3), never let the
 * request reach the hardware.
 */
#include "tests/guest/attack.h"
#include "arch/x86/io.h"
#include "core/hypercall_abi.h"
#include "lib/string.h"
#include "tests/guest/acpi.h"
#include "tests/guest/bootinfo.h"
#include "tests/guest/cmdline.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"

#define ATTACK_OPT	     "attack="
#define ATTACK_NAME_MAX	     16
#define PORT_KBC_CMD	     0x64
#define KBC_CMD_PULSE_RESET  0xFE
#define PORT_SYS_CTRL_A	     0x92
#define SYS_CTRL_A_RESET     0x01
#define PORT_RESET_CONTROL   0xCF9
#define RESET_CONTROL_SYS    0x02 /* hard reset selected, not started */
#define RESET_CONTROL_RESET  0x06 /* ... and RST_CPU: the reset */
#define SLP_TYP_MASK	     0x7

static struct guest_acpi acpi;

static void attack_port92(void)
{
	outb(PORT_SYS_CTRL_A, inb(PORT_SYS_CTRL_A) | SYS_CTRL_A_RESET);
}

static void attack_cf9(void)
{
	outb(PORT_RESET_CONTROL, RESET_CONTROL_SYS);
	outb(PORT_RESET_CONTROL, RESET_CONTROL_RESET);
}

static void attack_kbc(void)
{
	outb(PORT_KBC_CMD, KBC_CMD_PULSE_RESET);
}

static void attack_acpi_reset(void)
{
	if (acpi.reset_space != ACPI_GAS_IO || !acpi.reset_addr) {
		check(false, "attack acpi-reset: the FADT has an I/O reset register", "space %u",
		      acpi.reset_space);
		return;
	}
	gprintf("guest: attack acpi-reset: writing 0x%x to port 0x%x\n", acpi.reset_value,
		(unsigned)acpi.reset_addr);
	outb((uint16_t)acpi.reset_addr, acpi.reset_value);
}

static bool have_pm1(void)
{
	check(acpi.pm1a_cnt && acpi.pm1a_evt && acpi.s5_known,
	      "attack: the FADT names PM1a and the DSDT \\_S5", "PM1a_CNT 0x%x PM1a_EVT 0x%x",
	      acpi.pm1a_cnt, acpi.pm1a_evt);
	return acpi.pm1a_cnt && acpi.pm1a_evt && acpi.s5_known;
}

static void attack_s5(void)
{
	if (have_pm1())
		outw(acpi.pm1a_cnt, (uint16_t)((acpi.s5_typ << ACPI_SLP_TYP_SHIFT) | ACPI_SLP_EN));
}

/* S3 is refused: the guest carries on and sees WAK_STS, as after an immediate wake. */
static void attack_s3(void)
{
	uint8_t typ;

	if (!have_pm1())
		return;
	typ = acpi.s3_known && acpi.s3_typ != acpi.s5_typ ? acpi.s3_typ
							  : (uint8_t)((acpi.s5_typ + 1) & SLP_TYP_MASK);
	gprintf("guest: attack s3: SLP_TYP %u (\\_S3 %s) to PM1a_CNT 0x%x\n", typ,
		acpi.s3_known ? "found" : "absent", acpi.pm1a_cnt);
	outw(acpi.pm1a_evt, ACPI_WAK_STS); /* clear it first, as an OS does */
	outw(acpi.pm1a_cnt, (uint16_t)((typ << ACPI_SLP_TYP_SHIFT) | ACPI_SLP_EN));
	gprintf("guest: attack s3: the sleep request returned, the guest runs on\n");
	check(inw(acpi.pm1a_evt) & ACPI_WAK_STS, "attack s3: WAK_STS reads set after the refusal",
	      "PM1a_STS 0x%x", inw(acpi.pm1a_evt));
	outw(acpi.pm1a_evt, ACPI_WAK_STS);
	check(!(inw(acpi.pm1a_evt) & ACPI_WAK_STS), "attack s3: writing WAK_STS clears it",
	      "PM1a_STS 0x%x", inw(acpi.pm1a_evt));
	report_finish();
}

/*
 * q35's MCH decodes the PCI Express configuration window (PCIEXBAR, host bridge register
 * 0x60) wherever the guest puts it.  Aimed over mhv's range, it would hide mhv's memory
 * behind configuration space.  mhv must survive and answer hypercalls afterwards.
 */
#define PCI_CONFIG_ADDR	  0xCF8
#define PCI_CONFIG_DATA	  0xCFC
#define PCI_ENABLE	  0x80000000u
#define Q35_MCH_ID	  0x29C08086u /* vendor 8086, device 29C0 */
#define PCIEXBAR_LOW	  0x60
#define PCIEXBAR_HIGH	  0x64
#define PCIEXBAR_EN	  1u
#define PCIEXBAR_LEN_64M  (2u << 1)
#define PCIEXBAR_64M_MASK 0xFC000000u

static uint32_t host_bridge_read(uint8_t reg)
{
	outl(PCI_CONFIG_ADDR, PCI_ENABLE | reg);
	return inl(PCI_CONFIG_DATA);
}

static void host_bridge_write(uint8_t reg, uint32_t v)
{
	outl(PCI_CONFIG_ADDR, PCI_ENABLE | reg);
	outl(PCI_CONFIG_DATA, v);
}

static void attack_mmcfg(void)
{
	uint32_t hv_end = 0, hv_start = hypercall(HC_HV_RANGE, 0, 0, 0, &hv_end);
	uint32_t base = hv_start & PCIEXBAR_64M_MASK, old = host_bridge_read(PCIEXBAR_LOW);

	if (host_bridge_read(0) != Q35_MCH_ID) {
		check(false, "attack mmcfg: the host bridge is q35's MCH", "ID 0x%x",
		      host_bridge_read(0));
		report_finish();
	}
	gprintf("guest: attack mmcfg: PCIEXBAR 0x%x -> 0x%x (64 MiB over mhv at 0x%x)\n", old,
		base | PCIEXBAR_LEN_64M | PCIEXBAR_EN, hv_start);
	host_bridge_write(PCIEXBAR_HIGH, 0);
	host_bridge_write(PCIEXBAR_LOW, base | PCIEXBAR_LEN_64M | PCIEXBAR_EN);
	gprintf("guest: attack mmcfg: PCIEXBAR now 0x%x; the window's first dword reads 0x%x "
		"(0x%x: configuration space, else RAM)\n",
		host_bridge_read(PCIEXBAR_LOW), *(volatile uint32_t *)(uintptr_t)base, Q35_MCH_ID);
	check_eq("attack mmcfg: mhv still answers a hypercall", hypercall(HC_HV_RANGE, 0, 0, 0, NULL),
		 hv_start);
	host_bridge_write(PCIEXBAR_LOW, old);
	report_finish();
}

/*
 * i440fx SMRAM: with D_OPEN the guest sees SMRAM (the ASEG at 0xA0000) as memory, so unless
 * the firmware set D_LCK it can write the SMM handler of its own CPU (SMBASE 0xA0000 after
 * SeaBIOS/Bochs BIOS relocation: entry at 0xA8000) and raise an SMI through the APM port:
 * guest code in SMM, outside mhv, with all of memory.  The planted code stores a marker and
 * returns (RSM).
 */
#define I440FX_SMRAM_DWORD 0x70 /* SMRAM control is byte 2 of this dword */
#define SMRAM_SHIFT	   16
#define SMRAM_D_OPEN	   0x40u
#define SMRAM_D_LCK	   0x10u
#define ASEG_SMM_ENTRY	   0xA8000u
#define PIIX4_PM_DEV	   ((1u << 11) | (3u << 8)) /* 0:1.3 */
#define PIIX4_DEVACTB	   0x58
#define PIIX4_APMC_EN	   (1u << 25) /* DEVACTB bit 25: APM control writes raise an SMI */
#define PORT_APM_CNT	   0xB2
#define SMM_MARKER	   0xDEADC0DEu

static volatile uint32_t smm_marker;

static uint32_t pci_read0(uint32_t devfn_reg)
{
	outl(PCI_CONFIG_ADDR, PCI_ENABLE | devfn_reg);
	return inl(PCI_CONFIG_DATA);
}

static void pci_write0(uint32_t devfn_reg, uint32_t v)
{
	outl(PCI_CONFIG_ADDR, PCI_ENABLE | devfn_reg);
	outl(PCI_CONFIG_DATA, v);
}

static void attack_smram(void)
{
	uint32_t ctl = pci_read0(I440FX_SMRAM_DWORD), smram = (ctl >> SMRAM_SHIFT) & 0xFF;
	uint32_t addr = (uint32_t)&smm_marker;
	const uint8_t code[] = {0x67, 0x66, 0xC7, 0x05, (uint8_t)addr, (uint8_t)(addr >> 8),
				(uint8_t)(addr >> 16), (uint8_t)(addr >> 24), 0xDE, 0xC0, 0xAD, 0xDE,
				0x0F, 0xAA};
	volatile uint8_t *entry = (volatile uint8_t *)ASEG_SMM_ENTRY;

	gprintf("guest: attack smram: SMRAM control 0x%x (D_LCK %s)\n", smram,
		smram & SMRAM_D_LCK ? "set" : "clear");
	pci_write0(I440FX_SMRAM_DWORD, ctl | SMRAM_D_OPEN << SMRAM_SHIFT);
	for (unsigned i = 0; i < sizeof(code); i++)
		entry[i] = code[i];
	check_eq("attack smram: SMRAM does not open (D_OPEN reads clear)",
		 (pci_read0(I440FX_SMRAM_DWORD) >> SMRAM_SHIFT) & SMRAM_D_OPEN, 0);
	pci_write0(I440FX_SMRAM_DWORD, ctl);
	pci_write0(PIIX4_PM_DEV | PIIX4_DEVACTB, pci_read0(PIIX4_PM_DEV | PIIX4_DEVACTB) |
							PIIX4_APMC_EN);
	smm_marker = 0;
	outb(PORT_APM_CNT, 0);
	check_eq("attack smram: no guest code ran in SMM (marker untouched)", smm_marker, 0);
	report_finish();
}

/*
 * An SMI to the guest's own CPU from its local APIC: LINT0 (the 8259's INTR) with delivery
 * mode SMI, fed by the PIT.  The firmware's SMM handler (SMRAM locked) runs and returns; the
 * guest and mhv must carry on.  ECX/EBX hold SeaBIOS's "call32 via SMM" request values.
 * mhv drops LVT writes with SMI (or INIT) delivery, so no SMI is raised at all: before it did,
 * QEMU SVM returned from SMM into the BIOS's boot state, VMRUN failed and mhv stopped.
 */
#define APIC_PAGE	 0xFEE00000u
#define APIC_LVT_LINT0	 0x350
#define LVT_MODE_SMI	 0x200u
#define PIC1_DATA	 0x21
#define PIC_IRQ0_ONLY	 0xFE
#define PIT_CMD		 0x43
#define PIT_CH0		 0x40
#define PIT_RATE_CMD	 0x34
#define PIT_STOP_CMD	 0x30
#define PIT_1KHZ	 1193u
#define SMI_WAIT_LOOPS	 20000000u
#define CALL32SMM_ENTER	 0x1234u

static volatile uint32_t lvt_smi_reached;

static void lvt_smi_target(void)
{
	lvt_smi_reached = 1;
	for (;;)
		asm volatile("hlt");
}

static void attack_lvt_smi(void)
{
	volatile uint32_t *lint0 = (volatile uint32_t *)(APIC_PAGE + APIC_LVT_LINT0);
	uint32_t saved = *lint0, c = SMI_WAIT_LOOPS;

	*lint0 = LVT_MODE_SMI;
	outb(PIC1_DATA, PIC_IRQ0_ONLY);
	outb(PIT_CMD, PIT_RATE_CMD);
	outb(PIT_CH0, PIT_1KHZ & 0xFF);
	outb(PIT_CH0, PIT_1KHZ >> 8);
	asm volatile("1: dec %%eax; jnz 1b"
		     : "+a"(c)
		     : "c"(CALL32SMM_ENTER), "b"((uint32_t)lvt_smi_target)
		     : "memory", "cc");
	outb(PIT_CMD, PIT_STOP_CMD);
	outb(PIC1_DATA, 0xFF);
	*lint0 = saved;
	check_eq("attack lvt-smi: the guest carries on after SMIs from LINT0", lvt_smi_reached, 0);
	check_eq("attack lvt-smi: mhv still answers", hypercall(HC_HV_RANGE, 0, 0, 0, NULL) != 0, 1);
	report_finish();
}

static const struct {
	const char *name;
	void (*run)(void);
} attacks[] = {
	{"port92", attack_port92},   {"cf9", attack_cf9}, {"kbc", attack_kbc},
	{"acpi-reset", attack_acpi_reset}, {"s5", attack_s5}, {"s3", attack_s3},
	{"mmcfg", attack_mmcfg}, {"smram", attack_smram},
	{"lvt-smi", attack_lvt_smi},
};

/* The NAME of "attack=NAME" in the command line, copied to name; false if there is none. */
static bool attack_name(const struct boot_info *bi, char *name)
{
	const char *p = cmdline_find(bi, ATTACK_OPT);
	size_t n = 0;

	if (!p)
		return false;
	p += strlen(ATTACK_OPT);
	while (p[n] && p[n] != ' ' && n + 1 < ATTACK_NAME_MAX) {
		name[n] = p[n];
		n++;
	}
	name[n] = '\0';
	return true;
}

void attack_run_if_asked(const struct boot_info *bi)
{
	char name[ATTACK_NAME_MAX];

	if (!attack_name(bi, name))
		return;
	gprintf("guest: attack %s\n", name);
	if (!guest_acpi_find(&acpi))
		gprintf("guest: attack: no ACPI tables found\n");
	for (unsigned i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
		if (strcmp(name, attacks[i].name))
			continue;
		attacks[i].run();
		check(false, "attack: mhv ended the run", "attack %s: the guest is still running",
		      name);
		report_finish();
	}
	check(false, "attack: a known attack name", "'%s'", name);
	report_finish();
}
