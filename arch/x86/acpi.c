/*
 * ACPI: RSDP -> RSDT/XSDT -> tables, and S5 power-off.  Every table is length- and
 * checksum-checked before use: firmware tables are input like any other.
 */
#include "arch/x86/acpi.h"
#include "arch/x86/io.h"
#include "arch/x86/paging.h"
#include "boot/multiboot2.h"
#include "iommu/acpi_hide.h"
#include "lib/compiler.h"
#include "lib/string.h"

#define RSDP_V1_LEN	   20
#define RSDP_V2_LEN	   36
#define RSDP_ALIGN	   16
#define BIOS_AREA_START	   0xE0000
#define BIOS_AREA_END	   0x100000
#define EBDA_SEG_PTR	   0x40E
#define EBDA_SCAN_LEN	   1024
#define ACPI_TABLE_MAX_LEN (1u << 20) /* anything bigger is corrupt */

/* FADT field offsets (ACPI 6.x, table 5.9) */
#define FADT_DSDT	  40
#define FADT_SMI_CMD	  48
#define FADT_ACPI_ENABLE  52
#define FADT_ACPI_DISABLE 53
#define FADT_PSTATE_CNT	  55
#define FADT_CST_CNT	  95
#define FADT_PM1A_EVT	  56
#define FADT_PM1A_CNT	  64
#define FADT_PM1B_CNT	  68
#define FADT_PM1_EVT_LEN  88
#define FADT_PM1_CNT_LEN  89
#define FADT_RESET_REG	  116
#define FADT_RESET_VALUE  128
#define FADT_X_DSDT	  140
#define FADT_X_PM1A_EVT	  148
#define FADT_X_PM1A_CNT	  172
#define FADT_X_PM1B_CNT	  184
#define GAS_LEN		  12
#define GAS_ADDRESS	  4
#define GAS_SPACE_IO	  1
#define IO_PORT_LIMIT	  0xFFFF
#define PM1_SCI_EN	  0x0001
#define ACPI_ENABLE_SPINS 1000000

/* AML opcodes needed to read the \_S5 package */
#define AML_NAME_OP	0x08
#define AML_PACKAGE_OP	0x12
#define AML_BYTE_PREFIX 0x0A
#define AML_ZERO_OP	0x00
#define AML_ONE_OP	0x01

static uint8_t rsdp[RSDP_V2_LEN];
static unsigned rsdp_len;

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

bool acpi_use_rsdp_copy(const uint8_t *copy, unsigned len)
{
	if (len > sizeof(rsdp) || !acpi_rsdp_valid(copy, len))
		return false;
	memcpy(rsdp, copy, len);
	rsdp_len = len;
	return true;
}

unsigned acpi_rsdp_revision(void)
{
	return rsdp_len ? rsdp[15] : 0;
}

static bool scan_rsdp(uint64_t start, uint64_t end, uint64_t *found)
{
	for (uint64_t pa = start; pa + RSDP_V1_LEN <= end; pa += RSDP_ALIGN) {
		const uint8_t *p = phys_to_virt(pa);
		unsigned len = RSDP_V1_LEN;

		if (memcmp(p, "RSD PTR ", 8))
			continue;
		if (p[15] >= 2 && pa + RSDP_V2_LEN <= end)
			len = RSDP_V2_LEN;
		if (acpi_use_rsdp_copy(p, len)) {
			*found = pa;
			return true;
		}
	}
	return false;
}

bool acpi_scan_bios_rsdp(uint64_t *rsdp_pa)
{
	uint64_t ebda = (uint64_t)(*(const uint16_t *)phys_to_virt(EBDA_SEG_PTR)) << 4;

	if (ebda >= 0x80000 && ebda < BIOS_AREA_START &&
	    scan_rsdp(ebda, ebda + EBDA_SCAN_LEN, rsdp_pa))
		return true;
	return scan_rsdp(BIOS_AREA_START, BIOS_AREA_END, rsdp_pa);
}

static const struct acpi_header *map_table(uint64_t pa)
{
	const struct acpi_header *h;

	if (!pa)
		return NULL;
	h = phys_to_virt(pa);
	if (h->length < sizeof(*h) || h->length > ACPI_TABLE_MAX_LEN)
		return NULL;
	if (checksum(h, h->length))
		return NULL;
	return h;
}

const struct acpi_header *acpi_find_table(const char *sig)
{
	uint32_t rsdt_pa;
	uint64_t xsdt_pa = 0;
	const struct acpi_header *root;
	unsigned entry_size;

	if (!rsdp_len)
		return NULL;
	memcpy(&rsdt_pa, rsdp + 16, sizeof(rsdt_pa));
	if (rsdp_len >= RSDP_V2_LEN)
		memcpy(&xsdt_pa, rsdp + 24, sizeof(xsdt_pa));
	root = map_table(xsdt_pa);
	entry_size = 8;
	if (!root) {
		root = map_table(rsdt_pa);
		entry_size = 4;
	}
	if (!root)
		return NULL;

	const uint8_t *entries = (const uint8_t *)(root + 1);
	unsigned n = (root->length - sizeof(*root)) / entry_size;
	for (unsigned i = 0; i < n; i++) {
		uint64_t pa = 0;
		const struct acpi_header *t;

		memcpy(&pa, entries + i * entry_size, entry_size);
		t = map_table(pa);
		if (t && !memcmp(t->signature, sig, ACPI_SIG_LEN))
			return t;
	}
	return NULL;
}

/* Drop the entries of one root table (RSDT or XSDT) whose table has signature sig. */
static bool is_table_with_sig(void *ctx, uint64_t pa)
{
	const struct acpi_header *t = map_table(pa);

	return t && !memcmp(t->signature, (const char *)ctx, ACPI_SIG_LEN);
}

static bool hide_in_root(uint64_t root_pa, unsigned entry_size, const char *sig)
{
	const struct acpi_header *root = map_table(root_pa);

	/* map_table checked the length and checksum; the table is firmware memory mhv owns. */
	return root && acpi_root_drop((uint8_t *)root, root->length, entry_size, is_table_with_sig,
				      (void *)sig) > 0;
}

bool acpi_hide_table(const char *sig)
{
	uint32_t rsdt_pa;
	uint64_t xsdt_pa = 0;
	bool hidden;

	if (!rsdp_len)
		return false;
	memcpy(&rsdt_pa, rsdp + 16, sizeof(rsdt_pa));
	if (rsdp_len >= RSDP_V2_LEN)
		memcpy(&xsdt_pa, rsdp + 24, sizeof(xsdt_pa));
	hidden = hide_in_root(xsdt_pa, 8, sig);
	/* Both roots: an ACPI 1.0 OS reads the RSDT. */
	if (hide_in_root(rsdt_pa, 4, sig))
		hidden = true;
	return hidden;
}

static uint32_t fadt_u32(const struct acpi_header *fadt, unsigned off)
{
	uint32_t v = 0;

	if (off + sizeof(v) <= fadt->length)
		memcpy(&v, (const uint8_t *)fadt + off, sizeof(v));
	return v;
}

/* Read one integer element of the \_S5 package: ZeroOp, OneOp or BytePrefix n. */
static bool aml_small_int(const uint8_t **p, const uint8_t *end, uint8_t *val)
{
	if (*p >= end)
		return false;
	if (**p == AML_ZERO_OP || **p == AML_ONE_OP) {
		*val = **p;
		(*p)++;
		return true;
	}
	if (**p == AML_BYTE_PREFIX && *p + 1 < end) {
		*val = (*p)[1];
		*p += 2;
		return true;
	}
	return false;
}

/* Find "Name(_S5_, Package() {SLP_TYPa, SLP_TYPb, ...})" in the DSDT's AML. */
static bool find_s5(const struct acpi_header *dsdt, uint8_t *typ_a, uint8_t *typ_b)
{
	const uint8_t *start = (const uint8_t *)(dsdt + 1);
	const uint8_t *end = (const uint8_t *)dsdt + dsdt->length;

	for (const uint8_t *p = start + 1; p + 4 < end; p++) {
		if (memcmp(p, "_S5_", 4) || p[-1] != AML_NAME_OP || p[4] != AML_PACKAGE_OP)
			continue;
		const uint8_t *q = p + 5;
		unsigned pkglen_bytes = (*q >> 6) + 1; /* PkgLength lead byte, bits 7-6 */
		q += pkglen_bytes + 1;		       /* skip PkgLength and NumElements */
		return aml_small_int(&q, end, typ_a) && aml_small_int(&q, end, typ_b);
	}
	return false;
}

/* A legacy 32-bit block address, or the X_ GAS beside it when that names an I/O port. */
static uint32_t fadt_io_block(const struct acpi_header *fadt, unsigned legacy, unsigned gas)
{
	const uint8_t *f = (const uint8_t *)fadt;
	uint64_t addr = 0;

	if (gas + GAS_LEN <= fadt->length && f[gas] == GAS_SPACE_IO) {
		memcpy(&addr, f + gas + GAS_ADDRESS, sizeof(addr));
		if (addr && addr <= IO_PORT_LIMIT)
			return (uint32_t)addr;
	}
	addr = fadt_u32(fadt, legacy);
	return addr <= IO_PORT_LIMIT ? (uint32_t)addr : 0;
}

static uint8_t fadt_u8(const struct acpi_header *fadt, unsigned off)
{
	return off < fadt->length ? ((const uint8_t *)fadt)[off] : 0;
}

bool acpi_pm_regs(struct acpi_pm_regs *r)
{
	const struct acpi_header *fadt = acpi_find_table("FACP");
	const struct acpi_header *dsdt;
	uint64_t dsdt_pa = 0;

	memset(r, 0, sizeof(*r));
	if (!fadt)
		return false;
	if (fadt->length >= FADT_X_DSDT + 8)
		memcpy(&dsdt_pa, (const uint8_t *)fadt + FADT_X_DSDT, 8);
	if (!dsdt_pa)
		dsdt_pa = fadt_u32(fadt, FADT_DSDT);
	dsdt = map_table(dsdt_pa);
	r->s5_known = dsdt && find_s5(dsdt, &r->s5_typ_a, &r->s5_typ_b);
	r->pm1a_cnt = (uint16_t)fadt_io_block(fadt, FADT_PM1A_CNT, FADT_X_PM1A_CNT);
	r->pm1b_cnt = (uint16_t)fadt_io_block(fadt, FADT_PM1B_CNT, FADT_X_PM1B_CNT);
	r->pm1_cnt_len = fadt_u8(fadt, FADT_PM1_CNT_LEN);
	r->pm1a_evt = (uint16_t)fadt_io_block(fadt, FADT_PM1A_EVT, FADT_X_PM1A_EVT);
	r->pm1_evt_len = fadt_u8(fadt, FADT_PM1_EVT_LEN);
	r->smi_cmd = fadt_u32(fadt, FADT_SMI_CMD);
	r->acpi_enable = fadt_u8(fadt, FADT_ACPI_ENABLE);
	r->acpi_disable = fadt_u8(fadt, FADT_ACPI_DISABLE);
	r->pstate_cnt = fadt_u8(fadt, FADT_PSTATE_CNT);
	r->cst_cnt = FADT_CST_CNT < fadt->length ? fadt_u8(fadt, FADT_CST_CNT) : 0;
	if (FADT_RESET_VALUE < fadt->length) {
		const uint8_t *gas = (const uint8_t *)fadt + FADT_RESET_REG;
		r->reset_space = gas[0];
		r->reset_bit_width = gas[1];
		memcpy(&r->reset_addr, gas + GAS_ADDRESS, sizeof(r->reset_addr));
		r->reset_value = fadt_u8(fadt, FADT_RESET_VALUE);
	}
	return true;
}

void acpi_poweroff(void)
{
	struct acpi_pm_regs r;

	if (!acpi_pm_regs(&r) || !r.s5_known || !r.pm1a_cnt)
		return;

	/* Firmware may still own ACPI (legacy mode): ask it to hand over first. */
	if (!(inw(r.pm1a_cnt) & PM1_SCI_EN) && r.smi_cmd && r.smi_cmd <= IO_PORT_LIMIT) {
		outb((uint16_t)r.smi_cmd, r.acpi_enable);
		for (unsigned i = 0; i < ACPI_ENABLE_SPINS && !(inw(r.pm1a_cnt) & PM1_SCI_EN); i++)
			;
	}
	outw(r.pm1a_cnt, (uint16_t)((r.s5_typ_a << ACPI_PM1_SLP_TYP_SHIFT) | ACPI_PM1_SLP_EN));
	if (r.pm1b_cnt)
		outw(r.pm1b_cnt,
		     (uint16_t)((r.s5_typ_b << ACPI_PM1_SLP_TYP_SHIFT) | ACPI_PM1_SLP_EN));
}
