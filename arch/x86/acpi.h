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
/* Enter S5 via the FADT's PM1 control blocks and \_S5 from the DSDT; returns on failure. */
void acpi_poweroff(void);

#endif
