/* The ACPI IVRS table.  See iommu/ivrs.h. */
#include "iommu/ivrs.h"

#include "iommu/acpi_blob.h"
#include "lib/errno.h"
#include "lib/string.h"

#define IVRS_IVINFO 36
#define IVRS_BLOCKS 48
#define BLOCK_HDR   4 /* type, flags, length (2) */

#define IVHD_FLAGS	1
#define IVHD_LENGTH	2
#define IVHD_DEVID	4
#define IVHD_CAP	6
#define IVHD_BASE	8
#define IVHD_SEGMENT	16
#define IVHD_FEATURE	20
#define IVHD_EFR	24
#define IVHD_ENTRIES_10 24
#define IVHD_ENTRIES_11 40 /* also 40h */

#define IVMD_FLAGS  1
#define IVMD_DEVID  4
#define IVMD_AUX    6 /* type 22h: the range's last device */
#define IVMD_START  16
#define IVMD_LENGTH 24
#define IVMD_LEN    32

/* Device entries (AMD IOMMU spec table 95 ff.) */
#define DEV_PAD		    0x00
#define DEV_ALL		    0x01
#define DEV_SELECT	    0x02
#define DEV_RANGE_START	    0x03
#define DEV_RANGE_END	    0x04
#define DEV_ALIAS_SELECT    0x42
#define DEV_ALIAS_RANGE	    0x43
#define DEV_EXT_SELECT	    0x46
#define DEV_EXT_RANGE	    0x47
#define DEV_SPECIAL	    0x48
#define DEV_ACPI_HID	    0xf0
#define DEV_SHORT_LIMIT	    0x40 /* types below: 4-byte entries */
#define DEV_LONG_LIMIT	    0x80 /* types below: 8-byte entries */
#define DEV_SHORT_LEN	    4
#define DEV_LONG_LEN	    8
#define DEV_HID_UID_LEN	    21 /* ACPI HID entry: length of the UID that follows */
#define DEV_HID_FIXED	    22
#define DEV_ID		    1
#define DEV_SETTING	    3
#define DEV_ALIAS_ID	    5
#define DEV_SPECIAL_HANDLE  4
#define DEV_SPECIAL_ID	    5
#define DEV_SPECIAL_VARIETY 7
#define DEVID_MAX	    0xffff

#define PAGE_MASK_4K 0xfffull

struct range_state {
	bool open;
	size_t off;
	struct ivrs_devs pending;
};

static int add_devs(const struct acpi_blob *b, size_t off, struct ivrs_unit *u,
		    struct ivrs_devs d)
{
	if (d.last < d.first)
		return acpi_blob_fail(b, off, "device range %04x..%04x ends before it starts",
				      d.first, d.last);
	if (u->nr_devs == IVRS_MAX_DEVS)
		return acpi_blob_fail(b, off, "more than %u device entries for one IOMMU",
				      IVRS_MAX_DEVS);
	u->devs[u->nr_devs++] = d;
	return 0;
}

/* One device entry at off (len bytes long, already bounds-checked). */
static int device_entry(const struct acpi_blob *b, size_t off, unsigned type, struct ivrs_unit *u,
			struct range_state *rs)
{
	struct ivrs_devs d = {.first = blob_u16(b, off + DEV_ID), .setting = blob_u8(b, off + DEV_SETTING)};

	d.last = d.first;
	d.alias = d.first;
	if (rs->open && type != DEV_RANGE_END && type != DEV_PAD)
		return acpi_blob_fail(b, rs->off, "device range start without its end");
	switch (type) {
	case DEV_PAD:
		return 0;
	case DEV_ALL:
		d.first = 0;
		d.last = DEVID_MAX;
		d.alias = 0;
		return add_devs(b, off, u, d);
	case DEV_SELECT:
	case DEV_EXT_SELECT:
		return add_devs(b, off, u, d);
	case DEV_ALIAS_SELECT:
		d.alias = blob_u16(b, off + DEV_ALIAS_ID);
		return add_devs(b, off, u, d);
	case DEV_ALIAS_RANGE:
		d.alias = blob_u16(b, off + DEV_ALIAS_ID);
		/* fall through */
	case DEV_RANGE_START:
	case DEV_EXT_RANGE:
		rs->open = true;
		rs->off = off;
		rs->pending = d;
		return 0;
	case DEV_RANGE_END:
		if (!rs->open)
			return acpi_blob_fail(b, off, "device range end without a start");
		rs->open = false;
		rs->pending.last = d.first;
		return add_devs(b, rs->off, u, rs->pending);
	case DEV_SPECIAL:
		if (u->nr_specials == IVRS_MAX_SPECIALS)
			return acpi_blob_fail(b, off, "more than %u IOAPIC/HPET entries",
					      IVRS_MAX_SPECIALS);
		u->specials[u->nr_specials++] = (struct ivrs_special){
			.variety = blob_u8(b, off + DEV_SPECIAL_VARIETY),
			.handle = blob_u8(b, off + DEV_SPECIAL_HANDLE),
			.devid = blob_u16(b, off + DEV_SPECIAL_ID),
		};
		return 0;
	case DEV_ACPI_HID:
		u->nr_acpi_hid++;
		return 0;
	default:
		return acpi_blob_fail(b, off, "unknown device entry type 0x%02x", type);
	}
}

static int entry_len(const struct acpi_blob *b, size_t off, size_t end, unsigned type, size_t *len)
{
	if (type < DEV_SHORT_LIMIT)
		*len = DEV_SHORT_LEN;
	else if (type < DEV_LONG_LIMIT)
		*len = DEV_LONG_LEN;
	else if (type == DEV_ACPI_HID) {
		if (end - off < DEV_HID_FIXED)
			return acpi_blob_fail(b, off, "ACPI HID device entry runs past its IVHD");
		*len = DEV_HID_FIXED + blob_u8(b, off + DEV_HID_UID_LEN);
	} else
		return acpi_blob_fail(b, off, "unknown device entry type 0x%02x", type);
	if (*len > end - off)
		return acpi_blob_fail(b, off, "device entry type 0x%02x runs past its IVHD", type);
	return 0;
}

static int parse_ivhd(const struct acpi_blob *b, size_t off, size_t len, unsigned type,
		      struct ivrs_info *iv)
{
	size_t first = type == IVHD_TYPE_10 ? IVHD_ENTRIES_10 : IVHD_ENTRIES_11;
	struct range_state rs = {0};
	struct ivrs_unit u;
	unsigned slot;

	if (len < first)
		return acpi_blob_fail(b, off, "IVHD type 0x%02x length %zu below %zu", type, len,
				      first);
	memset(&u, 0, sizeof(u));
	u.type = (uint8_t)type;
	u.flags = blob_u8(b, off + IVHD_FLAGS);
	u.devid = blob_u16(b, off + IVHD_DEVID);
	u.cap_offset = blob_u16(b, off + IVHD_CAP);
	u.base = blob_u64(b, off + IVHD_BASE);
	u.segment = blob_u16(b, off + IVHD_SEGMENT);
	u.feature = blob_u32(b, off + IVHD_FEATURE);
	if (type != IVHD_TYPE_10)
		u.efr = blob_u64(b, off + IVHD_EFR);
	if (!u.base || (u.base & PAGE_MASK_4K))
		return acpi_blob_fail(b, off, "IVHD register base 0x%lx is zero or unaligned",
				      (unsigned long)u.base);
	for (size_t e = off + first, end = off + len; e < end;) {
		unsigned etype = blob_u8(b, e);
		size_t elen = 0;

		if (entry_len(b, e, end, etype, &elen) || device_entry(b, e, etype, &u, &rs))
			return -E_INVAL;
		e += elen;
	}
	if (rs.open)
		return acpi_blob_fail(b, rs.off, "device range start without its end");

	/* Firmware describes one IOMMU in several block types: keep the highest type's view. */
	for (slot = 0; slot < iv->nr_units; slot++)
		if (iv->units[slot].base == u.base && iv->units[slot].segment == u.segment)
			break;
	if (slot == iv->nr_units) {
		if (iv->nr_units == IVRS_MAX_UNITS)
			return acpi_blob_fail(b, off, "more than %u IOMMUs", IVRS_MAX_UNITS);
		iv->nr_units++;
	} else if (iv->units[slot].type == u.type) {
		return acpi_blob_fail(b, off, "two IVHD blocks of type 0x%02x for the IOMMU at 0x%lx",
				      type, (unsigned long)u.base);
	} else if (iv->units[slot].type > u.type) {
		return 0;
	}
	iv->units[slot] = u;
	return 0;
}

static int parse_ivmd(const struct acpi_blob *b, size_t off, size_t len, unsigned type,
		      struct ivrs_info *iv)
{
	struct ivrs_mem m;
	uint64_t size;

	if (len < IVMD_LEN)
		return acpi_blob_fail(b, off, "IVMD length %zu below %u", len, IVMD_LEN);
	if (iv->nr_mems == IVRS_MAX_MEMS)
		return acpi_blob_fail(b, off, "more than %u IVMD blocks", IVRS_MAX_MEMS);
	m.type = (uint8_t)type;
	m.flags = blob_u8(b, off + IVMD_FLAGS);
	m.first = blob_u16(b, off + IVMD_DEVID);
	m.last = m.first;
	if (type == IVMD_TYPE_ALL) {
		m.first = 0;
		m.last = DEVID_MAX;
	} else if (type == IVMD_TYPE_RANGE) {
		m.last = blob_u16(b, off + IVMD_AUX);
	}
	if (m.last < m.first)
		return acpi_blob_fail(b, off, "IVMD device range %04x..%04x ends before it starts",
				      m.first, m.last);
	m.start = blob_u64(b, off + IVMD_START);
	size = blob_u64(b, off + IVMD_LENGTH);
	if (!size || (m.start & PAGE_MASK_4K) || (size & PAGE_MASK_4K) || m.start + size < m.start)
		return acpi_blob_fail(b, off, "IVMD range 0x%lx+0x%lx is empty, unaligned or wraps",
				      (unsigned long)m.start, (unsigned long)size);
	m.end = m.start + size;
	iv->mems[iv->nr_mems++] = m;
	return 0;
}

int ivrs_parse(const void *table, size_t avail, struct ivrs_info *out, char *err, size_t errlen)
{
	struct acpi_blob b;

	memset(out, 0, sizeof(*out));
	if (acpi_blob_open(&b, table, avail, "IVRS", IVRS_BLOCKS, err, errlen))
		return -E_INVAL;
	out->ivinfo = blob_u32(&b, IVRS_IVINFO);
	for (size_t off = IVRS_BLOCKS; off < b.len;) {
		unsigned type, len;
		int rc = 0;

		if (b.len - off < BLOCK_HDR)
			return acpi_blob_fail(&b, off, "block header runs past the table");
		type = blob_u8(&b, off);
		len = blob_u16(&b, off + IVHD_LENGTH);
		if (len < BLOCK_HDR || len > b.len - off)
			return acpi_blob_fail(&b, off, "block type 0x%02x has length %u (needs %u..%zu)",
					      type, len, BLOCK_HDR, b.len - off);
		if (type == IVHD_TYPE_10 || type == IVHD_TYPE_11 || type == IVHD_TYPE_40)
			rc = parse_ivhd(&b, off, len, type, out);
		else if (type >= IVMD_TYPE_ALL && type <= IVMD_TYPE_RANGE)
			rc = parse_ivmd(&b, off, len, type, out);
		/* other block types: skipped by their length */
		if (rc)
			return rc;
		off += len;
	}
	if (!out->nr_units)
		return acpi_blob_fail(&b, IVRS_BLOCKS, "no IVHD block");
	return 0;
}
