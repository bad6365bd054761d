/* The MSI capability's shadowed message: see msi_cap.h. */
#include "iommu/msi_cap.h"

#define BITS_PER_BYTE 8
#define BYTE_MASK     0xFFu
#define LEN_32BIT     6
#define LEN_64BIT     10
#define DATA_32BIT    4 /* the data's index in the shadow */
#define DATA_64BIT    8
#define CTRL_LEN      2

static void put32(uint8_t *b, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (BITS_PER_BYTE * i));
}

static uint32_t get(const uint8_t *b, unsigned n)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint32_t)b[i] << (BITS_PER_BYTE * i);
	return v;
}

static unsigned data_index(const struct msi_cap *c)
{
	return c->wide ? DATA_64BIT : DATA_32BIT;
}

static void fill(uint8_t *b, const struct msi_cap *c, uint32_t lo, uint32_t hi, uint16_t data)
{
	put32(b, lo);
	if (c->wide)
		put32(b + 4, hi);
	b[data_index(c)] = (uint8_t)data;
	b[data_index(c) + 1] = (uint8_t)(data >> BITS_PER_BYTE);
}

void msi_cap_init(struct msi_cap *c, uint8_t cap, uint16_t ctrl, uint32_t addr_lo,
		  uint32_t addr_hi, uint16_t data)
{
	c->cap = cap;
	c->wide = (ctrl & MSI_CTRL_64BIT) != 0;
	c->len = c->wide ? LEN_64BIT : LEN_32BIT;
	fill(c->guest, c, addr_lo, addr_hi, data);
	fill(c->hw, c, addr_lo, addr_hi, data);
}

static bool overlaps(unsigned off, unsigned size, unsigned start, unsigned len)
{
	return off < start + len && start < off + size;
}

bool msi_cap_touches_message(const struct msi_cap *c, unsigned off, unsigned size)
{
	return overlaps(off, size, (unsigned)c->cap + MSI_CAP_ADDR_LO, c->len);
}

bool msi_cap_touches_control(const struct msi_cap *c, unsigned off, unsigned size)
{
	return overlaps(off, size, (unsigned)c->cap + MSI_CAP_CTRL, CTRL_LEN);
}

/* The shadow index of configuration byte at, or -1. */
static int shadow_index(const struct msi_cap *c, unsigned at)
{
	unsigned first = (unsigned)c->cap + MSI_CAP_ADDR_LO;

	return at >= first && at < first + c->len ? (int)(at - first) : -1;
}

uint32_t msi_cap_write(struct msi_cap *c, unsigned off, unsigned size, uint32_t val)
{
	for (unsigned i = 0; i < size; i++) {
		int s = shadow_index(c, off + i);
		unsigned shift = BITS_PER_BYTE * i;

		if (s < 0)
			continue;
		c->guest[s] = (uint8_t)(val >> shift);
		val = (val & ~(BYTE_MASK << shift)) | (uint32_t)c->hw[s] << shift;
	}
	return val;
}

uint32_t msi_cap_read(const struct msi_cap *c, unsigned off, unsigned size, uint32_t hw)
{
	for (unsigned i = 0; i < size; i++) {
		int s = shadow_index(c, off + i);
		unsigned shift = BITS_PER_BYTE * i;

		if (s >= 0)
			hw = (hw & ~(BYTE_MASK << shift)) | (uint32_t)c->guest[s] << shift;
	}
	return hw;
}

void msi_cap_message(const struct msi_cap *c, uint32_t *addr_lo, uint32_t *addr_hi,
		     uint16_t *data)
{
	*addr_lo = get(c->guest, 4);
	*addr_hi = c->wide ? get(c->guest + 4, 4) : 0;
	*data = (uint16_t)get(c->guest + data_index(c), 2);
}

void msi_cap_set_hw(struct msi_cap *c, uint32_t addr_lo, uint32_t addr_hi, uint16_t data)
{
	fill(c->hw, c, addr_lo, addr_hi, data);
}

unsigned msi_cap_hw_dwords(const struct msi_cap *c, uint32_t *dw)
{
	dw[0] = get(c->hw, 4);
	dw[1] = c->wide ? get(c->hw + 4, 4) : get(c->hw + DATA_32BIT, 2);
	if (!c->wide)
		return 2;
	dw[2] = get(c->hw + DATA_64BIT, 2);
	return 3;
}
