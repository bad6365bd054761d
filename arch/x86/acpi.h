/* The little ACPI mhv needs: find the RSDP and tables, and power the machine off. */
#ifndef MHV_ARCH_X86_ACPI_H
#define MHV_ARCH_X86_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#define ACPI_SIG_LEN 4

struct acpi_header {
	char signature[ACPI_SIG_LEN];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t creator_id;
	uint32_t creator_revision;
} __attribute__((packed));

/* Use the RSDP copy the loader handed over (multiboot2 tags 14/15); false if it is invalid. */
bool acpi_use_rsdp_copy(const uint8_t *rsdp, unsigned len);
/* Fallback for loaders that pass none: scan the EBDA and the BIOS area (legacy BIOS only). */
bool acpi_scan_bios_rsdp(uint64_t *rsdp_pa);
/* The mapped, checksum-verified table with this signature, or NULL. */
const struct acpi_header *acpi_find_table(const char *sig);
unsigned acpi_rsdp_revision(void);
/*
 * Remove every entry naming a table with this signature from the RSDT and the XSDT (later
 * entries move up, length and checksum fixed), so an OS looking the table up does not find it.
 * mhv's own lookups stop finding it too: read it first.  true if an entry was removed.
 */
bool acpi_hide_table(const char *sig);
/* PM1 control: SLP_TYP (bits 10-12) and SLP_EN (bit 13); PM1 status: WAK_STS (bit 15). */
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP_MASK  0x7
#define ACPI_PM1_SLP_EN	       0x2000
#define ACPI_PM1_WAK_STS       0x8000
/* Generic Address Structure address spaces (ACPI 6.x, table 5.1) */
#define ACPI_GAS_SYSTEM_MEMORY 0
#define ACPI_GAS_SYSTEM_IO     1
#define ACPI_GAS_PCI_CONFIG    2

/* The FADT's power-management and reset registers mhv needs (0 = absent). */
struct acpi_pm_regs {
	uint16_t pm1a_cnt, pm1b_cnt; /* I/O ports (the X_ block when it is in I/O space) */
	uint16_t pm1a_evt;	     /* PM1a status (first half of the event block) */
	uint8_t pm1_cnt_len, pm1_evt_len;
	bool s5_known; /* \_S5 found in the DSDT */
	uint8_t s5_typ_a, s5_typ_b;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable; /* the SMI_CMD values the FADT defines */
	uint8_t pstate_cnt, cst_cnt;	   /* (0: none) */
	uint8_t reset_space, reset_bit_width, reset_value; /* RESET_REG (a GAS) */
	uint64_t reset_addr;
};

/* Fill *r from the FADT (and \_S5 from the DSDT); false without a FADT. */
bool acpi_pm_regs(struct acpi_pm_regs *r);
/* Enter S5 via the FADT's PM1 control blocks and \_S5 from the DSDT; returns on failure. */
void acpi_poweroff(void);

#endif
