/* Finding the FADT and the sleep-type packages from inside the guest (acpi.h). */
#include "tests/guest/acpi.h"
#include "lib/string.h"

#define EBDA_SEG_PTR	   0x40E
#define EBDA_SCAN_LEN	   1024
#define BIOS_AREA_START	   0xE0000
#define BIOS_AREA_END	   0x100000
#define RSDP_ALIGN	   16
#define RSDP_V1_LEN	   20
#define RSDP_RSDT	   16
#define SDT_HEADER_LEN	   36
#define SDT_LENGTH	   4
#define TABLE_MAX_LEN	   (1u << 20)
#define FADT_DSDT	   40
#define FADT_PM1A_EVT	   56
#define FADT_PM1A_CNT	   64
#define FADT_RESET_REG	   116
#define FADT_RESET_VALUE   128
#define GAS_ADDRESS	   4
#define AML_NAME_OP	   0x08
#define AML_PACKAGE_OP	   0x12
#define AML_BYTE_PREFIX	   0x0A
#define AML_ONE_OP	   0x01
#define PKGLEN_BYTES_SHIFT 6
#define IO_PORT_LIMIT	   0xFFFF

/* Physical memory at pa (paging off); the compiler must not judge low constant addresses. */
static const uint8_t *phys(uint32_t pa)
{
	uintptr_t p = pa;

	asm("" : "+r"(p));
	return (const uint8_t *)p;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static bool sum_ok(const uint8_t *p, uint32_t len)
{
	uint8_t sum = 0;

	for (uint32_t i = 0; i < len; i++)
		sum += p[i];
	return sum == 0;
}

/* A checksummed table at pa, or NULL. */
static const uint8_t *table(uint32_t pa)
{
	const uint8_t *t = phys(pa);
	uint32_t len;

	if (!pa)
		return NULL;
	len = rd32(t + SDT_LENGTH);
	return len >= SDT_HEADER_LEN && len <= TABLE_MAX_LEN && sum_ok(t, len) ? t : NULL;
}

static const uint8_t *scan_rsdp(uint32_t start, uint32_t end)
{
	for (uint32_t pa = start; pa + RSDP_V1_LEN <= end; pa += RSDP_ALIGN)
		if (!memcmp(phys(pa), "RSD PTR ", 8) && sum_ok(phys(pa), RSDP_V1_LEN))
			return phys(pa);
	return NULL;
}

static const uint8_t *find_fadt(void)
{
	uint32_t ebda = (uint32_t)(*(const uint16_t *)phys(EBDA_SEG_PTR)) << 4;
	const uint8_t *rsdp = NULL, *rsdt;

	if (ebda >= 0x80000 && ebda < BIOS_AREA_START)
		rsdp = scan_rsdp(ebda, ebda + EBDA_SCAN_LEN);
	if (!rsdp)
		rsdp = scan_rsdp(BIOS_AREA_START, BIOS_AREA_END);
	if (!rsdp || !(rsdt = table(rd32(rsdp + RSDP_RSDT))))
		return NULL;
	for (uint32_t off = SDT_HEADER_LEN; off + 4 <= rd32(rsdt + SDT_LENGTH); off += 4) {
		const uint8_t *t = table(rd32(rsdt + off));
		if (t && !memcmp(t, "FACP", 4))
			return t;
	}
	return NULL;
}

/* SLP_TYPa of "Name(_Sn_, Package() {a, b, ...})" in the DSDT. */
static bool find_sleep_type(const uint8_t *dsdt, const char *name, uint8_t *typ)
{
	const uint8_t *end = dsdt + rd32(dsdt + SDT_LENGTH);

	for (const uint8_t *p = dsdt + SDT_HEADER_LEN + 1; p + 8 < end; p++) {
		if (memcmp(p, name, 4) || p[-1] != AML_NAME_OP || p[4] != AML_PACKAGE_OP)
			continue;
		const uint8_t *q = p + 5;
		q += (*q >> PKGLEN_BYTES_SHIFT) + 1 + 1; /* PkgLength, NumElements */
		if (q >= end)
			return false;
		if (*q == AML_BYTE_PREFIX && q + 1 < end)
			*typ = q[1];
		else if (*q <= AML_ONE_OP)
			*typ = *q;
		else
			return false;
		return true;
	}
	return false;
}

bool guest_acpi_find(struct guest_acpi *a)
{
	const uint8_t *fadt = find_fadt(), *dsdt;
	uint32_t len, pm1a_cnt, pm1a_evt;

	memset(a, 0, sizeof(*a));
	if (!fadt)
		return false;
	len = rd32(fadt + SDT_LENGTH);
	pm1a_cnt = rd32(fadt + FADT_PM1A_CNT);
	pm1a_evt = rd32(fadt + FADT_PM1A_EVT);
	a->pm1a_cnt = pm1a_cnt <= IO_PORT_LIMIT ? (uint16_t)pm1a_cnt : 0;
	a->pm1a_evt = pm1a_evt <= IO_PORT_LIMIT ? (uint16_t)pm1a_evt : 0;
	if (FADT_RESET_VALUE < len) {
		a->reset_space = fadt[FADT_RESET_REG];
		memcpy(&a->reset_addr, fadt + FADT_RESET_REG + GAS_ADDRESS, sizeof(a->reset_addr));
		a->reset_value = fadt[FADT_RESET_VALUE];
	}
	dsdt = table(rd32(fadt + FADT_DSDT));
	if (dsdt) {
		a->s5_known = find_sleep_type(dsdt, "_S5_", &a->s5_typ);
		a->s3_known = find_sleep_type(dsdt, "_S3_", &a->s3_typ);
	}
	return true;
}
