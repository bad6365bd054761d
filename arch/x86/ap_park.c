/* Parking the application processors under mhv: see ap_park.h and ap_trampoline.S. */
#include "arch/x86/ap_park.h"
#include "arch/x86/acpi.h"
#include "arch/x86/ap_park_layout.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/io.h"
#include "arch/x86/paging.h"
#include "lib/compiler.h"
#include "lib/log.h"
#include "lib/string.h"
#include "mm/frame.h"
#include "mm/pagetable.h"

#define MSR_IA32_APIC_BASE  0x0000001B
#define MSR_X2APIC_ID	    0x00000802
#define MSR_X2APIC_ICR	    0x00000830
#define APIC_BASE_X2APIC    (1ull << 10)
#define APIC_BASE_ENABLE    (1ull << 11)
#define APIC_BASE_ADDR_MASK 0x000FFFFFFFFFF000ull
#define APIC_ID		    0x020
#define APIC_ICR_LOW	    0x300
#define APIC_ICR_HIGH	    0x310
#define XAPIC_DEST_SHIFT    24
#define XAPIC_MAX_ID	    0xFFu
#define ICR_BUSY	    (1u << 12) /* xAPIC delivery status: send pending */
#define ICR_MODE_NMI	    (4u << 8)
#define ICR_MODE_INIT	    (5u << 8)
#define ICR_MODE_STARTUP    (6u << 8)
#define ICR_LEVEL_ASSERT    (1u << 14)
#define ICR_TRIGGER_LEVEL   (1u << 15)
#define ICR_ALL_BUT_SELF    (3u << 18)
#define ICR_SEND_WAIT_US    1000

/* The architectural INIT-SIPI-SIPI delays (SDM "MP Initialization Example"). */
#define INIT_TO_SIPI_US	      10000
#define SIPI_TO_SIPI_US	      200
#define ARRIVAL_TIMEOUT_US    200000 /* the CPUs run a few dozen instructions: generous */
#define ARRIVAL_POLL_US	      1000
#define AFTER_LATE_INIT_US    10000
#define NMI_TEST_TIMEOUT_US   50000

/* PIT channel 2 (the speaker timer) as a one-shot delay: present on every PC platform. */
#define PIT_HZ		 1193182u
#define PIT_CH2_DATA	 0x42
#define PIT_CMD		 0x43
#define PIT_CMD_CH2_ONE	 0xB0 /* channel 2, lobyte/hibyte, mode 0 (OUT high at terminal count) */
#define PORT_B		 0x61
#define PORT_B_GATE2	 0x01
#define PORT_B_SPEAKER	 0x02
#define PORT_B_OUT2	 0x20
#define PIT_MAX_US	 50000 /* 65535 ticks are ~54.9 ms */
/* A port read takes about 1 us on hardware, far less in an emulator: a generous bound. */
#define PIT_POLLS_PER_US_MAX 1000
#define US_PER_SECOND	 1000000u

#define ONE_MIB		    (1ull << 20)
#define LOW_4GIB	    (4ull << 30)
#define CPUID_TOPOLOGY_LEAF 0x0B
#define CPUID_FEATURES_LEAF 1

/* ACPI MADT (signature "APIC") entries mhv reads. */
#define MADT_ENTRIES_OFFSET 44
#define MADT_LOCAL_APIC	    0
#define MADT_LOCAL_X2APIC   9
#define MADT_ENABLED	    (1u << 0)
#define MADT_MAX_CPUS	    1024

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __packed;

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint16_t flags;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __packed;

#define GATE_INTERRUPT 0x8E00 /* present, DPL 0, 64-bit interrupt gate, no IST */

/* ap_trampoline.S */
extern const char ap_trampoline_start[], ap_trampoline_end[];
extern const char ap_tr_pm32[], ap_tr_lm64[], ap_tr_gdt[];
extern const char ap_tr_gdtr[], ap_tr_far32[], ap_tr_far64[], ap_tr_cr3[], ap_tr_efer[];
extern const char ap_tr_entry64[];
extern const char ap_park_entry64[], ap_park_isr[];

/* Read by ap_trampoline.S on the APs; written by the boot CPU before any AP starts. */
uint64_t ap_park_cr3;
struct desc_ptr ap_park_gdtr, ap_park_idtr;
uint16_t ap_park_cs, ap_park_ds;
uint32_t ap_park_id_leaf;
/* Written by the APs (ap_trampoline.S). */
extern volatile uint32_t ap_park_next, ap_park_parked, ap_park_interrupts;
extern volatile uint64_t ap_park_ids[AP_PARK_MAX];

static struct idt_gate park_idt[AP_IDT_VECTORS] __aligned(AP_IDT_GATE_SIZE);
static uint8_t saved_page[PAGE_SIZE];

static uint64_t apic_base_msr;
static uint32_t madt_ids[MADT_MAX_CPUS];
static unsigned nr_madt_ids;

_Static_assert(sizeof(struct idt_gate) == AP_IDT_GATE_SIZE, "IDT gate layout");

/* One PIT one-shot; false if OUT2 never rose (no PIT): the wait is then a bounded poll. */
static bool pit_delay_once(unsigned us)
{
	uint32_t ticks = (uint32_t)(((uint64_t)us * PIT_HZ + US_PER_SECOND - 1) / US_PER_SECOND);
	uint8_t portb = inb(PORT_B);

	outb(PORT_B, (uint8_t)((portb & ~PORT_B_SPEAKER) | PORT_B_GATE2));
	outb(PIT_CMD, PIT_CMD_CH2_ONE);
	outb(PIT_CH2_DATA, (uint8_t)ticks);
	outb(PIT_CH2_DATA, (uint8_t)(ticks >> 8));
	for (uint64_t polls = (uint64_t)us * PIT_POLLS_PER_US_MAX; polls; polls--) {
		if (inb(PORT_B) & PORT_B_OUT2) {
			outb(PORT_B, portb);
			return true;
		}
		cpu_relax();
	}
	outb(PORT_B, portb);
	return false;
}

static void delay_us(unsigned us)
{
	static bool pit_warned;

	while (us) {
		unsigned step = us < PIT_MAX_US ? us : PIT_MAX_US;

		if (!pit_delay_once(step) && !pit_warned) {
			pit_warned = true;
			pr_warn("mhv: PIT channel 2 does not count: CPU bring-up delays are "
				"bounded poll loops\n");
		}
		us -= step;
	}
}

static bool x2apic_mode(void)
{
	return apic_base_msr & APIC_BASE_X2APIC;
}

static volatile uint32_t *xapic_reg(unsigned offset)
{
	return phys_to_virt((apic_base_msr & APIC_BASE_ADDR_MASK) + offset);
}

static uint32_t own_apic_id(void)
{
	if (x2apic_mode())
		return (uint32_t)rdmsr(MSR_X2APIC_ID);
	return *xapic_reg(APIC_ID) >> XAPIC_DEST_SHIFT;
}

/* Send one IPI; false if the xAPIC never finished sending it (or cannot address dest). */
static bool send_ipi(uint32_t dest, uint32_t low)
{
	if (x2apic_mode()) {
		wrmsr(MSR_X2APIC_ICR, (uint64_t)dest << 32 | low);
		return true;
	}
	if (dest > XAPIC_MAX_ID)
		return false;
	*xapic_reg(APIC_ICR_HIGH) = dest << XAPIC_DEST_SHIFT;
	*xapic_reg(APIC_ICR_LOW) = low;
	for (unsigned i = 0; i < ICR_SEND_WAIT_US; i++) {
		if (!(*xapic_reg(APIC_ICR_LOW) & ICR_BUSY))
			return true;
		delay_us(1);
	}
	return false;
}

/* The CPUs the firmware lists as enabled, from the MADT; false if there is none. */
static bool read_madt(void)
{
	const struct acpi_header *madt = acpi_find_table("APIC");
	const uint8_t *p, *end;

	nr_madt_ids = 0;
	if (!madt || madt->length < MADT_ENTRIES_OFFSET)
		return false;
	p = (const uint8_t *)madt + MADT_ENTRIES_OFFSET;
	end = (const uint8_t *)madt + madt->length;
	while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
		uint32_t id, flags;

		if (p[0] == MADT_LOCAL_APIC && p[1] >= 8) {
			id = p[3];
			memcpy(&flags, p + 4, sizeof(flags));
		} else if (p[0] == MADT_LOCAL_X2APIC && p[1] >= 16) {
			memcpy(&id, p + 4, sizeof(id));
			memcpy(&flags, p + 8, sizeof(flags));
		} else {
			p += p[1];
			continue;
		}
		if ((flags & MADT_ENABLED) && nr_madt_ids < MADT_MAX_CPUS)
			madt_ids[nr_madt_ids++] = id;
		p += p[1];
	}
	return true;
}

/* Did the CPU with this APIC ID record itself?  (Unused slots are 0: never a match.) */
static bool parked(uint32_t id)
{
	for (unsigned i = 0; i < AP_PARK_MAX; i++)
		if (ap_park_ids[i] == ((uint64_t)id | 1ull << AP_ID_VALID_BIT))
			return true;
	return false;
}

/* Where sym lies in the trampoline blob (and so in the page it is copied to). */
static uint64_t tr_offset(const char *sym)
{
	return (uintptr_t)sym - (uintptr_t)ap_trampoline_start;
}

static void put32(uint8_t *page, uint64_t offset, uint64_t v)
{
	uint32_t x = (uint32_t)v;

	memcpy(page + offset, &x, sizeof(x));
}

/* The trampoline at pa, patched for that page and for transition tables at tr_cr3. */
static void install_trampoline(uint64_t pa, uint64_t tr_cr3)
{
	uint8_t *page = phys_to_virt(pa);
	uint64_t entry = (uint64_t)ap_park_entry64;

	memcpy(saved_page, page, PAGE_SIZE);
	memcpy(page, ap_trampoline_start, tr_offset(ap_trampoline_end));
	put32(page, tr_offset(ap_tr_gdtr) + 2, pa + tr_offset(ap_tr_gdt));
	put32(page, tr_offset(ap_tr_far32), pa + tr_offset(ap_tr_pm32));
	put32(page, tr_offset(ap_tr_far64), pa + tr_offset(ap_tr_lm64));
	put32(page, tr_offset(ap_tr_cr3), tr_cr3);
	put32(page, tr_offset(ap_tr_efer), EFER_LME | (rdmsr(MSR_EFER) & EFER_NXE));
	memcpy(page + tr_offset(ap_tr_entry64), &entry, sizeof(entry));
}

/*
 * Transition tables: mhv's top level (so the image is mapped as usual) plus an identity
 * mapping of the trampoline page, which mhv's own tables never map.  From mhv's pool: below
 * 4 GiB with the image, as the 32-bit CR3 load needs.
 */
static uint64_t transition_tables(uint64_t tramp_pa)
{
	uint64_t root = hv_alloc_page(), hv_root = read_cr3() & PT_ADDR_MASK;
	const uint64_t *hv_top = phys_to_virt(hv_root);

	if (root == FRAME_NONE || root + PAGE_SIZE > LOW_4GIB)
		return FRAME_NONE;
	if (hv_top[0]) /* the identity entry would land in mhv's own tables */
		return FRAME_NONE;
	memcpy(phys_to_virt(root), hv_top, PAGE_SIZE);
	if (pt_map(&pt_format_x86, &hv_pool_pt_mem, root, tramp_pa, tramp_pa, PAGE_SIZE,
		   PTE_P | PTE_RW))
		return FRAME_NONE;
	return root;
}

static void setup_park_state(void)
{
	uint64_t isr = (uint64_t)ap_park_isr;
	uint16_t cs, ds;

	for (unsigned v = 0; v < AP_IDT_VECTORS; v++)
		park_idt[v] = (struct idt_gate){
			.offset_lo = (uint16_t)isr,
			.selector = HV_CS,
			.flags = GATE_INTERRUPT,
			.offset_mid = (uint16_t)(isr >> 16),
			.offset_hi = (uint32_t)(isr >> 32),
		};
	ap_park_idtr = (struct desc_ptr){sizeof(park_idt) - 1, (uint64_t)park_idt};
	asm volatile("sgdt %0" : "=m"(ap_park_gdtr)); /* mhv's GDT (desc.c) */
	asm volatile("mov %%cs, %0; mov %%ds, %1" : "=r"(cs), "=r"(ds));
	ap_park_cs = cs;
	ap_park_ds = ds;
	ap_park_cr3 = read_cr3();
	/* Leaf 0xB gives the full x2APIC ID where the CPU has it (EBX 0 means it does not). */
	ap_park_id_leaf = cpuid(0).eax >= CPUID_TOPOLOGY_LEAF &&
					  cpuid_count(CPUID_TOPOLOGY_LEAF, 0).ebx
				  ? CPUID_TOPOLOGY_LEAF
				  : CPUID_FEATURES_LEAF;
}

static unsigned expected_aps(bool have_madt, uint32_t self)
{
	unsigned n = 0;

	if (!have_madt)
		return 0;
	for (unsigned i = 0; i < nr_madt_ids; i++)
		n += madt_ids[i] != self;
	return n;
}

/* Wait for the APs to report in: all `want` of them, or until the timeout. */
static void wait_for_arrivals(unsigned want)
{
	for (unsigned t = 0; t < ARRIVAL_TIMEOUT_US; t += ARRIVAL_POLL_US) {
		if (want && ap_park_parked >= want)
			return;
		delay_us(ARRIVAL_POLL_US);
	}
}

/*
 * Every AP that did not report in gets an INIT: it then waits for a SIPI that never comes,
 * instead of perhaps running from the trampoline page once the guest owns it.
 */
static void init_stragglers(bool have_madt, uint32_t self)
{
	unsigned sent = 0, unreachable = 0;

	if (!have_madt) {
		send_ipi(0, ICR_MODE_INIT | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL | ICR_ALL_BUT_SELF);
		pr_warn("mhv: no ACPI MADT: cannot tell which CPUs exist; every other CPU got an "
			"INIT and waits for a SIPI (%u had parked)\n",
			ap_park_parked);
		delay_us(AFTER_LATE_INIT_US);
		return;
	}
	for (unsigned i = 0; i < nr_madt_ids; i++) {
		uint32_t id = madt_ids[i];

		if (id == self || parked(id))
			continue;
		if (send_ipi(id, ICR_MODE_INIT | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL))
			sent++;
		else
			unreachable++;
	}
	if (sent)
		pr_warn("mhv: %u CPU(s) did not park in time: sent INIT, they wait for a SIPI\n",
			sent);
	if (unreachable)
		pr_err("mhv: %u CPU(s) could not be sent an INIT (APIC ID beyond xAPIC reach "
		       "or APIC busy)\n",
		       unreachable);
	if (sent)
		delay_us(AFTER_LATE_INIT_US);
}

/*
 * Prove the park on the real thing: an NMI to every other CPU must bring each parked CPU
 * through the park handler and back to its HLT (a CPU that ran anything else would not
 * count, or would not come back for the guest's run).
 */
static void nmi_self_test(void)
{
	uint32_t want = ap_park_parked;

	if (!want)
		return;
	send_ipi(0, ICR_MODE_NMI | ICR_ALL_BUT_SELF);
	for (unsigned t = 0; t < NMI_TEST_TIMEOUT_US && ap_park_interrupts < want;
	     t += ARRIVAL_POLL_US)
		delay_us(ARRIVAL_POLL_US);
	if (ap_park_interrupts >= want)
		pr_info("mhv: parked CPUs took an NMI and are back in mhv's park loop (%u of %u)\n",
			ap_park_interrupts, want);
	else
		pr_err("mhv: only %u of %u parked CPUs answered an NMI\n", ap_park_interrupts,
		       want);
}

unsigned ap_park_interrupt_count(void)
{
	return ap_park_interrupts;
}

unsigned ap_park_all(struct frame_allocator *frames)
{
	uint32_t self, sipi;
	uint64_t pa, tr_cr3;
	bool have_madt;
	unsigned want;

	apic_base_msr = rdmsr(MSR_IA32_APIC_BASE);
	if (!(apic_base_msr & APIC_BASE_ENABLE)) {
		pr_warn("mhv: local APIC disabled: cannot reach the other CPUs to park them\n");
		return 0;
	}
	self = own_apic_id();
	have_madt = read_madt();
	want = expected_aps(have_madt, self);
	if (have_madt && !want) {
		pr_info("mhv: 0 CPU(s) parked under mhv (the ACPI MADT lists no other CPU)\n");
		return 0;
	}

	pa = frame_alloc(frames, 1, PAGE_SIZE, ONE_MIB);
	tr_cr3 = pa == FRAME_NONE ? FRAME_NONE : transition_tables(pa);
	if (tr_cr3 == FRAME_NONE) {
		/* Still keep them out of firmware code: INIT leaves them waiting for a SIPI. */
		pr_err("mhv: no trampoline page below 1 MiB or no transition tables: the other "
		       "CPUs get only an INIT\n");
		if (pa != FRAME_NONE)
			frame_free(frames, pa, 1);
		send_ipi(0, ICR_MODE_INIT | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL | ICR_ALL_BUT_SELF);
		return 0;
	}
	setup_park_state();
	install_trampoline(pa, tr_cr3);

	sipi = ICR_MODE_STARTUP | ICR_ALL_BUT_SELF | (uint32_t)(pa >> PAGE_SHIFT);
	send_ipi(0, ICR_MODE_INIT | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL | ICR_ALL_BUT_SELF);
	delay_us(INIT_TO_SIPI_US);
	send_ipi(0, sipi);
	delay_us(SIPI_TO_SIPI_US);
	send_ipi(0, sipi);
	wait_for_arrivals(want);
	init_stragglers(have_madt, self);

	/* No AP can run from the page any more: it goes back, as the firmware left it. */
	memcpy(phys_to_virt(pa), saved_page, PAGE_SIZE);
	frame_free(frames, pa, 1);
	if (!have_madt) {
		pr_info("mhv: 0 CPU(s) parked under mhv (no ACPI MADT: the others wait for a "
			"SIPI)\n");
		return 0;
	}
	nmi_self_test();
	pr_info("mhv: %u CPU(s) parked under mhv (%s APIC, trampoline at 0x%lx, boot CPU APIC ID "
		"%u, MADT lists %u other CPU(s))\n",
		ap_park_parked, x2apic_mode() ? "x2" : "x", pa, self, want);
	return ap_park_parked;
}
