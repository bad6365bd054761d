/* The ACPI DMAR table.  See iommu/dmar.h. */
#include "iommu/dmar.h"

#include "iommu/acpi_blob.h"
#include "lib/errno.h"
#include "lib/string.h"

#define DMAR_HAW	   36 /* host address width - 1 */
#define DMAR_FLAGS	   37
#define DMAR_STRUCTS	   48 /* first remapping structure */
#define STRUCT_HDR_LEN	   4  /* type (2), length (2) */

#define TYPE_DRHD 0
#define TYPE_RMRR 1
#define TYPE_ATSR 2

#define DRHD_FLAGS   4
#define DRHD_SIZE    5 /* bits 3:0: the register set spans 2^n pages */
#define DRHD_SEGMENT 6
#define DRHD_BASE    8
#define DRHD_SCOPES  16
#define DRHD_SIZE_MASK 0xf

#define RMRR_SEGMENT 6
#define RMRR_BASE    8
#define RMRR_LIMIT   16 /* inclusive */
#define RMRR_SCOPES  24

#define ATSR_FLAGS   4
#define ATSR_SEGMENT 6
#define ATSR_SCOPES  8

#define SCOPE_TYPE    0
#define SCOPE_LEN     1
#define SCOPE_ENUM_ID 4
#define SCOPE_BUS     5
#define SCOPE_PATH    6
#define SCOPE_HOP_LEN 2
#define PCI_DEV_MAX   31
#define PCI_FN_MAX    7

#define DMAR_HAW_MIN 32 /* narrower than this is corrupt */
#define DMAR_HAW_MAX 64
#define PAGE_MASK_4K 0xfffull
#define PAGE_4K	     0x1000ull

/* Device scopes in [off, end) into sc. */
static int parse_scopes(const struct acpi_blob *b, size_t off, size_t end, struct dmar_scopes *sc)
{
	sc->n = 0;
	while (off < end) {
		struct dmar_scope *s;
		unsigned len, hops;

		if (end - off < SCOPE_PATH)
			return acpi_blob_fail(b, off, "device scope header runs past its structure");
		len = blob_u8(b, off + SCOPE_LEN);
		if (len < SCOPE_PATH || len > end - off)
			return acpi_blob_fail(b, off, "device scope length %u (needs %u..%zu)", len,
					      SCOPE_PATH, end - off);
		if ((len - SCOPE_PATH) % SCOPE_HOP_LEN)
			return acpi_blob_fail(b, off, "device scope length %u leaves half a path hop",
					      len);
		hops = (len - SCOPE_PATH) / SCOPE_HOP_LEN;
		if (!hops)
			return acpi_blob_fail(b, off, "device scope without a path");
		if (hops > DMAR_MAX_PATH)
			return acpi_blob_fail(b, off, "device scope path of %u hops (at most %u kept)",
					      hops, DMAR_MAX_PATH);
		if (sc->n == DMAR_MAX_SCOPES)
			return acpi_blob_fail(b, off, "more than %u device scopes in one structure",
					      DMAR_MAX_SCOPES);
		s = &sc->s[sc->n];
		s->type = blob_u8(b, off + SCOPE_TYPE);
		if (s->type < DMAR_SCOPE_ENDPOINT || s->type > DMAR_SCOPE_ACPI)
			return acpi_blob_fail(b, off, "unknown device scope type %u", s->type);
		s->enum_id = blob_u8(b, off + SCOPE_ENUM_ID);
		s->bus = blob_u8(b, off + SCOPE_BUS);
		s->path_len = (uint8_t)hops;
		for (unsigned i = 0; i < hops; i++) {
			s->dev[i] = blob_u8(b, off + SCOPE_PATH + SCOPE_HOP_LEN * i);
			s->fn[i] = blob_u8(b, off + SCOPE_PATH + SCOPE_HOP_LEN * i + 1);
			if (s->dev[i] > PCI_DEV_MAX || s->fn[i] > PCI_FN_MAX)
				return acpi_blob_fail(b, off, "device scope path hop %02x.%x is not a "
							      "PCI device and function",
						      s->dev[i], s->fn[i]);
		}
		sc->n++;
		off += len;
	}
	return 0;
}

static int parse_drhd(const struct acpi_blob *b, size_t off, size_t len, struct dmar_info *d)
{
	struct dmar_unit *u;

	if (len < DRHD_SCOPES)
		return acpi_blob_fail(b, off, "DRHD length %zu below %u", len, DRHD_SCOPES);
	if (d->nr_units == DMAR_MAX_UNITS)
		return acpi_blob_fail(b, off, "more than %u DRHD units", DMAR_MAX_UNITS);
	u = &d->units[d->nr_units];
	u->flags = blob_u8(b, off + DRHD_FLAGS);
	u->size = PAGE_4K << (blob_u8(b, off + DRHD_SIZE) & DRHD_SIZE_MASK);
	u->segment = blob_u16(b, off + DRHD_SEGMENT);
	u->base = blob_u64(b, off + DRHD_BASE);
	if (!u->base || (u->base & PAGE_MASK_4K) || u->base + u->size < u->base)
		return acpi_blob_fail(b, off, "DRHD register base 0x%lx is zero, unaligned or wraps",
				      (unsigned long)u->base);
	for (unsigned i = 0; i < d->nr_units; i++)
		if (d->units[i].base == u->base)
			return acpi_blob_fail(b, off, "two DRHDs at 0x%lx", (unsigned long)u->base);
	if (parse_scopes(b, off + DRHD_SCOPES, off + len, &u->scopes))
		return -E_INVAL;
	if ((u->flags & DMAR_DRHD_INCLUDE_PCI_ALL) == 0 && u->scopes.n == 0)
		return acpi_blob_fail(b, off, "DRHD with neither INCLUDE_PCI_ALL nor device scopes");
	d->nr_units++;
	return 0;
}

static int parse_rmrr(const struct acpi_blob *b, size_t off, size_t len, struct dmar_info *d)
{
	struct dmar_rmrr *r;
	uint64_t limit;

	if (len < RMRR_SCOPES)
		return acpi_blob_fail(b, off, "RMRR length %zu below %u", len, RMRR_SCOPES);
	if (d->nr_rmrrs == DMAR_MAX_RMRRS)
		return acpi_blob_fail(b, off, "more than %u RMRRs", DMAR_MAX_RMRRS);
	r = &d->rmrrs[d->nr_rmrrs];
	r->segment = blob_u16(b, off + RMRR_SEGMENT);
	r->base = blob_u64(b, off + RMRR_BASE);
	limit = blob_u64(b, off + RMRR_LIMIT);
	if ((r->base & PAGE_MASK_4K) || (limit & PAGE_MASK_4K) != PAGE_MASK_4K || limit < r->base ||
	    limit == ~0ull)
		return acpi_blob_fail(b, off, "RMRR [0x%lx-0x%lx] is empty, unaligned or wraps",
				      (unsigned long)r->base, (unsigned long)limit);
	r->end = limit + 1;
	if (parse_scopes(b, off + RMRR_SCOPES, off + len, &r->scopes))
		return -E_INVAL;
	if (!r->scopes.n)
		return acpi_blob_fail(b, off, "RMRR without a device scope");
	d->nr_rmrrs++;
	return 0;
}

static int parse_atsr(const struct acpi_blob *b, size_t off, size_t len, struct dmar_info *d)
{
	struct dmar_atsr *a;

	if (len < ATSR_SCOPES)
		return acpi_blob_fail(b, off, "ATSR length %zu below %u", len, ATSR_SCOPES);
	if (d->nr_atsrs == DMAR_MAX_ATSRS)
		return acpi_blob_fail(b, off, "more than %u ATSRs", DMAR_MAX_ATSRS);
	a = &d->atsrs[d->nr_atsrs];
	a->flags = blob_u8(b, off + ATSR_FLAGS);
	a->segment = blob_u16(b, off + ATSR_SEGMENT);
	if (parse_scopes(b, off + ATSR_SCOPES, off + len, &a->scopes))
		return -E_INVAL;
	d->nr_atsrs++;
	return 0;
}

int dmar_parse(const void *table, size_t avail, struct dmar_info *out, char *err, size_t errlen)
{
	struct acpi_blob b;
	size_t off;

	memset(out, 0, sizeof(*out));
	if (acpi_blob_open(&b, table, avail, "DMAR", DMAR_STRUCTS, err, errlen))
		return -E_INVAL;
	out->haw = blob_u8(&b, DMAR_HAW) + 1u;
	out->flags = blob_u8(&b, DMAR_FLAGS);
	if (out->haw < DMAR_HAW_MIN || out->haw > DMAR_HAW_MAX)
		return acpi_blob_fail(&b, DMAR_HAW, "host address width %u bits", out->haw);
	for (off = DMAR_STRUCTS; off < b.len;) {
		unsigned type, len;
		int rc = 0;

		if (b.len - off < STRUCT_HDR_LEN)
			return acpi_blob_fail(&b, off, "structure header runs past the table");
		type = blob_u16(&b, off);
		len = blob_u16(&b, off + 2);
		if (len < STRUCT_HDR_LEN || len > b.len - off)
			return acpi_blob_fail(&b, off, "structure type %u has length %u (needs %u..%zu)",
					      type, len, STRUCT_HDR_LEN, b.len - off);
		if (type == TYPE_DRHD)
			rc = parse_drhd(&b, off, len, out);
		else if (type == TYPE_RMRR)
			rc = parse_rmrr(&b, off, len, out);
		else if (type == TYPE_ATSR)
			rc = parse_atsr(&b, off, len, out);
		else
			out->nr_other++;
		if (rc)
			return rc;
		off += len;
	}
	if (!out->nr_units)
		return acpi_blob_fail(&b, DMAR_STRUCTS, "no DRHD unit");
	return 0;
}
