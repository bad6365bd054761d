/*
 * The few ACPI facts the platform attacks need, found the way an OS finds them: the RSDP in
 * the EBDA or the BIOS area, the RSDT, the FADT and the \_S5/\_S3 packages in the DSDT.
 * Reads physical memory directly: call it with paging off (identity).
 */
#ifndef MHV_TESTS_GUEST_ACPI_H
#define MHV_TESTS_GUEST_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#define ACPI_SLP_TYP_SHIFT 10
#define ACPI_SLP_EN	   0x2000
#define ACPI_WAK_STS	   0x8000
#define ACPI_GAS_IO	   1

struct guest_acpi {
	uint16_t pm1a_cnt, pm1a_evt; /* 0 when absent */
	bool s5_known, s3_known;
	uint8_t s5_typ, s3_typ; /* SLP_TYPa */
	uint8_t reset_space, reset_value;
	uint64_t reset_addr; /* 0 when the FADT has no reset register */
};

/* False if there is no valid RSDP, RSDT or FADT. */
bool guest_acpi_find(struct guest_acpi *a);

#endif
