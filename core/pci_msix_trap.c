/* The guest's MSI-X tables, trapped: see pci_msix_trap.h. */
#include "core/pci_msix_trap.h"
#include "arch/x86/io.h"
#include "arch/x86/paging.h"
#include "arch/x86/pci_conf.h"
#include "core/apic_guard.h"
#include "core/irq_remap.h"
#include "lib/log.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "mm/memmap.h"
#include "mmio/device.h"
#include "mmio/region.h"

#define MSIX_FN_MAX	   16
#define MSIX_VEC_MAX	   128 /* entries mhv shadows per function (NVMe: queues + 1) */
#define MSIX_CAP_CTRL	   0 /* message control in the first dword's upper half */
#define MSIX_CTRL_SHIFT	   16
#define MSIX_CTRL_SIZE	   0x7FFu /* table size - 1 */
#define MSIX_CAP_TABLE	   4 /* table offset | BIR */
#define MSIX_BIR_MASK	   7u
#define MSIX_OFF_MASK	   (~7u)
#define MSIX_ENTRY	   16u /* address low, address high, data, vector control */
#define MSIX_MSG_BYTES	   12u /* shadowed: address low/high and data */
#define MSIX_VCTRL	   12u
#define MSIX_VCTRL_MASKED  1u
#define PCI_REG_BAR0	   0x10
#define PCI_BARS	   6
#define PCI_BAR_IO	   1u
#define PCI_BAR_TYPE_64	   4u
#define PCI_BAR_TYPE_MASK  6u
#define PCI_BAR_MEM_MASK   (~0xFull)
#define PCI_BAR_FLAGS	   0xFu
#define BDF_SHIFT	   8
#define DWORD		   4u

struct msix_fn {
	uint16_t bdf;
	int32_t sid;
	uint8_t bir;
	bool bar64, moved;
	uint32_t handle;
	uint16_t count;
	uint64_t bar;	   /* the BAR's address when trapped */
	uint64_t table;	   /* the table's physical address */
	uint64_t base;	   /* the trapped region: the pages holding the table */
	uint64_t size;
	uint8_t guest[MSIX_VEC_MAX][MSIX_MSG_BYTES];
};

static struct msix_fn fns[MSIX_FN_MAX];
static unsigned nr_fns;
static struct spinlock msix_lock = SPINLOCK_INIT;

static uint32_t cfg_read(uint16_t bdf, unsigned reg)
{
	return pci_conf_read(bdf >> BDF_SHIFT, (bdf >> 3) & 0x1f, bdf & 7, reg);
}

/* The address of BAR bir (0: unassigned, I/O, or the upper half of a 64-bit one). */
static uint64_t bar_address(uint16_t bdf, unsigned bir, bool *bar64)
{
	uint32_t lo = cfg_read(bdf, PCI_REG_BAR0 + DWORD * bir);
	uint64_t a = lo & PCI_BAR_MEM_MASK;

	*bar64 = (lo & PCI_BAR_TYPE_MASK) == PCI_BAR_TYPE_64;
	if (lo & PCI_BAR_IO)
		return 0;
	if (*bar64) {
		if (bir + 1 >= PCI_BARS)
			return 0;
		a |= (uint64_t)cfg_read(bdf, PCI_REG_BAR0 + DWORD * (bir + 1)) << 32;
	}
	return a;
}

/* bdf's MSI-X table is not (or no longer) trapped: say what becomes of its vectors. */
static void fallback(uint16_t bdf, bool own_table, const char *why)
{
	const char *what;

	if (irq_remap_pass_unrewritten(own_table, &what))
		pr_warn("mhv: msix: %02x:%02x.%x: %s: its MSI-X vectors are not remapped: %s\n",
			bdf >> 8, (bdf >> 3) & 0x1f, bdf & 7, why, what);
	else
		pr_err("mhv: msix: %02x:%02x.%x: %s: its MSI-X vectors are lost: %s\n", bdf >> 8,
		       (bdf >> 3) & 0x1f, bdf & 7, why, what);
}

bool pci_msix_add(uint16_t bdf, uint8_t cap, int32_t sid)
{
	uint32_t ctrl = cfg_read(bdf, cap + MSIX_CAP_CTRL) >> MSIX_CTRL_SHIFT;
	uint32_t t = cfg_read(bdf, cap + MSIX_CAP_TABLE);
	unsigned count = (ctrl & MSIX_CTRL_SIZE) + 1;
	struct msix_fn *f;
	uint64_t bar, end;
	bool bar64;

	if (nr_fns == MSIX_FN_MAX) {
		fallback(bdf, false, "more MSI-X functions than mhv traps");
		return false;
	}
	if (count > MSIX_VEC_MAX) {
		fallback(bdf, false, "more MSI-X vectors than mhv shadows");
		return false;
	}
	bar = bar_address(bdf, t & MSIX_BIR_MASK, &bar64);
	if (!bar) {
		fallback(bdf, false, "its MSI-X table's BAR is unassigned or not memory");
		return false;
	}
	f = &fns[nr_fns];
	if (!irq_remap_alloc_msix(bdf, count, &f->handle)) {
		fallback(bdf, false, "no remapping entries left for its MSI-X table");
		return false;
	}
	f->bdf = bdf;
	f->sid = sid;
	f->bir = (uint8_t)(t & MSIX_BIR_MASK);
	f->bar64 = bar64;
	f->count = (uint16_t)count;
	f->bar = bar;
	f->table = bar + (t & MSIX_OFF_MASK);
	f->base = f->table & ~(PAGE_SIZE - 1);
	end = (f->table + count * MSIX_ENTRY + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	f->size = end - f->base;
	/* The shadow starts as the device's table once the guest writes it; until then zeros
	 * (a reset table: masked, no message). */
	memset(f->guest, 0, sizeof(f->guest));
	nr_fns++;
	return true;
}

/* Entry k's remapping entry from the guest's message, when the vector is unmasked. */
static void rebuild(const struct msix_fn *f, unsigned k)
{
	uint32_t lo, hi, data, vctrl = 0;
	const char *why = "";
	struct irq_msg m;

	hv_device_read(f->table + k * MSIX_ENTRY + MSIX_VCTRL, &vctrl, DWORD);
	if (vctrl & MSIX_VCTRL_MASKED)
		return; /* sends nothing; rebuilt when unmasked */
	memcpy(&lo, f->guest[k], DWORD);
	memcpy(&hi, f->guest[k] + DWORD, DWORD);
	memcpy(&data, f->guest[k] + 2 * DWORD, DWORD);
	if (!irq_msg_from_msi(lo, hi, data, &m)) {
		irq_remap_clear(f->handle, k);
		apic_guard_count_drop("programmed a device interrupt with an address outside the "
				      "interrupt window",
				      (uint64_t)hi << 32 | lo, (uint64_t)data << 16 | f->bdf);
		return;
	}
	if (!irq_remap_set(f->handle, k, &m, f->sid, &why))
		apic_guard_count_drop(why, (uint64_t)hi << 32 | lo, (uint64_t)data << 16 | f->bdf);
}

/* The device's own message for entry k (mhv's remappable-format one). */
static void hw_message(const struct msix_fn *f, unsigned k, uint8_t msg[MSIX_MSG_BYTES])
{
	uint32_t lo, hi = 0, data;
	uint16_t d16;

	irq_remap_msi_hw(f->handle + k, &lo, &d16);
	data = d16;
	memcpy(msg, &lo, DWORD);
	memcpy(msg + DWORD, &hi, DWORD);
	memcpy(msg + 2 * DWORD, &data, DWORD);
}

/* Is byte at region offset o a shadowed message byte?  *k, *i: its entry and byte there. */
static bool message_byte(const struct msix_fn *f, uint64_t o, unsigned *k, unsigned *i)
{
	uint64_t pa = f->base + o;

	if (pa < f->table || pa >= f->table + f->count * MSIX_ENTRY)
		return false;
	*k = (unsigned)((pa - f->table) / MSIX_ENTRY);
	*i = (unsigned)((pa - f->table) % MSIX_ENTRY);
	return *i < MSIX_MSG_BYTES;
}

static int table_read(void *dev, const struct mmio_access *a, void *buf)
{
	const struct msix_fn *f = dev;
	uint8_t *b = buf;
	unsigned k, i;
	int err;

	spin_lock(&msix_lock);
	err = hv_device_read(f->base + a->offset, buf, a->len);
	for (unsigned n = 0; !err && n < a->len; n++)
		if (message_byte(f, a->offset + n, &k, &i))
			b[n] = f->guest[k][i];
	spin_unlock(&msix_lock);
	return err;
}

static int table_write(void *dev, const struct mmio_access *a, const void *buf)
{
	struct msix_fn *f = dev;
	uint8_t b[MMIO_ACCESS_MAX], msg[MSIX_MSG_BYTES];
	unsigned k, i, first = ~0u, last = 0;
	int err;

	memcpy(b, buf, a->len);
	spin_lock(&msix_lock);
	for (unsigned n = 0; n < a->len; n++) {
		uint64_t pa = f->base + a->offset + n;

		if (message_byte(f, a->offset + n, &k, &i)) {
			f->guest[k][i] = b[n];
			hw_message(f, k, msg);
			b[n] = msg[i];
		}
		if (pa >= f->table && pa < f->table + f->count * MSIX_ENTRY) {
			k = (unsigned)((pa - f->table) / MSIX_ENTRY);
			first = k < first ? k : first;
			last = k > last ? k : last;
		}
	}
	err = hv_device_write(f->base + a->offset, b, a->len);
	for (k = first; !err && first != ~0u && k <= last; k++) {
		hw_message(f, k, msg); /* the whole message: a function reset may have cleared it */
		for (i = 0; i < MSIX_MSG_BYTES; i += DWORD) /* tables take dword accesses only */
			hv_device_write(f->table + k * MSIX_ENTRY + i, msg + i, DWORD);
		rebuild(f, k);
	}
	spin_unlock(&msix_lock);
	return err;
}

static const struct mmio_dev_ops table_ops = {
	.name = "msix-table",
	.read = table_read,
	.write = table_write,
};

bool pci_msix_setup(struct mmio_regions *regions)
{
	for (unsigned n = 0; n < nr_fns; n++) {
		struct msix_fn *f = &fns[n];
		int err = mmio_region_add(regions, f->base, f->size, &table_ops, f);

		if (err) {
			pr_err("mhv: msix: cannot trap %02x:%02x.%x's MSI-X table pages "
			       "[0x%lx-0x%lx) (error %d)\n",
			       f->bdf >> 8, (f->bdf >> 3) & 0x1f, f->bdf & 7, f->base,
			       f->base + f->size, err);
			return false;
		}
		pr_info("mhv: msix: %02x:%02x.%x: MSI-X table of %u entries at 0x%lx (BAR %u) "
			"trapped [0x%lx-0x%lx): remapping entries 0x%x-0x%x from the guest's "
			"messages, requester ID %s\n",
			f->bdf >> 8, (f->bdf >> 3) & 0x1f, f->bdf & 7, f->count, f->table, f->bir,
			f->base, f->base + f->size, f->handle, f->handle + f->count - 1,
			f->sid >= 0 ? "checked" : "not checked (behind a bridge)");
	}
	return true;
}

static struct msix_fn *find(uint16_t bdf)
{
	for (unsigned n = 0; n < nr_fns; n++)
		if (fns[n].bdf == bdf)
			return &fns[n];
	return NULL;
}

bool pci_msix_is_bar(uint16_t bdf, unsigned off, unsigned size)
{
	const struct msix_fn *f = find(bdf);
	unsigned reg;

	if (!f)
		return false;
	reg = PCI_REG_BAR0 + DWORD * f->bir;
	return off < reg + (f->bar64 ? 2 * DWORD : DWORD) && off + size > reg;
}

/*
 * A BAR dword read back after the guest wrote all ones to size it: ones down to the size
 * (1...10...0, the flag bits cleared here; 0 is an address).  A real address of that form (0xFE000000) is taken
 * for one too: such a move is not seen.
 */
static bool sizing_readback(uint32_t v)
{
	uint32_t below = ~v;

	return v && (below & (below + 1)) == 0;
}

void pci_msix_bar_written(uint16_t bdf)
{
	struct msix_fn *f = find(bdf);
	uint32_t lo, hi = 0;
	bool bar64;

	if (!f || f->moved)
		return;
	lo = cfg_read(bdf, PCI_REG_BAR0 + DWORD * f->bir);
	if (f->bar64)
		hi = cfg_read(bdf, PCI_REG_BAR0 + DWORD * (f->bir + 1));
	if (sizing_readback(lo & ~PCI_BAR_FLAGS) || (f->bar64 && sizing_readback(hi)))
		return; /* sizing: the guest writes the address back next */
	if (bar_address(bdf, f->bir, &bar64) == f->bar)
		return;
	f->moved = true;
	pr_warn("mhv: msix: %02x:%02x.%x: the guest moved BAR %u (its MSI-X table) away from "
		"0x%lx: mhv does not follow it\n",
		bdf >> 8, (bdf >> 3) & 0x1f, bdf & 7, f->bir, f->bar);
	/* AMD-Vi: the function has its own table now (its MSI's too): no shared one to fall to */
	fallback(bdf, true, "its MSI-X table moved out of mhv's trap");
}
