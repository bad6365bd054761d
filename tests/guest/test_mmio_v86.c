/*
 * Virtual-8086 mode with its stacks on a device page of an mmio=ram region (mhv's
 * x86_emu_iret.c and x86_emu_v86.c): every run goes once with the stacks in RAM (the CPU does
 * it) and once with them on the device page (mhv does), and the two must agree.
 *
 * A ring-0 IRET to virtual-8086 mode from a frame on the stack page (EIP, CS, EFLAGS with VM,
 * ESP, SS, ES, DS, FS, GS); in virtual-8086 mode, with CR4.VME where the CPU has it, INT 42h
 * redirected through the 8086 program's IVT at linear 0 (redirection bit clear) onto SS:SP
 * on that page, a handler that reads its frame (MOV from the page), puts the FLAGS word back
 * with PUSH/POPF, reads it with PUSHF/POP (the VME forms below IOPL 3) and returns with a
 * 16-bit IRET from it; then INT 43h (bit set) leaves through the IDT to a ring-0 catcher on the
 * TSS's ESP0 in RAM (IOPL 3: methods 5 and 4), or as #GP(0) (IOPL 0: method 6, where the
 * pushed FLAGS show IOPL 3 and VIF as IF, and the handler's IRET takes the VIF rules, then
 * method 3).  Without VME only the IRET to virtual-8086 mode and INT 43h (method 1) run.
 * On AMD CPUs the VME runs are skipped: their device run leaves virtual-8086 mode by a
 * #VMEXIT (the nested page fault on the stack page), and Bochs 2.7's SVM model (the only
 * AMD configuration here with VME; QEMU's has none) panics on any #VMEXIT from
 * virtual-8086 mode ("VM is set in long mode": it loads the host's EFER before RFLAGS).
 *
 * Paging maps the 8086 program's pages (linear 0: the IVT, 0x8000: code, 0x9000: stack) to
 * RAM, or the stack page to the device page; a GDT and TSS of the test's own.  TR keeps the
 * TSS afterwards with its ring-0 stack in RAM.
 */
#include "lib/compiler.h"
#include "tests/guest/cpu.h"
#include "tests/guest/desc.h"
#include "tests/guest/hv.h"
#include "tests/guest/paging32.h"
#include "tests/guest/report.h"
#include "tests/guest/segments.h"
#include "tests/guest/tests.h"

#define V86_DEV_PAGE	0x3000u /* the stack page's offset in the region */
#define V86_DEV_FRAME	0x3800u /* the IRET-to-v86 frame there (ring 0) */
#define LIN_IVT		0x0000u
#define LIN_CODE	0x8000u
#define LIN_STACK	0x9000u
#define V86_CS		0x0800u
#define V86_SS		0x0900u
#define V86_SP		0x0f00u
#define V86_ES		0x1234u
#define V86_FS		0x2345u
#define V86_GS		0x3456u
#define VEC_REDIR	0x42u
#define VEC_LEAVE	0x43u
#define HANDLER_IP	0x0010u
#define FL_FIXED	0x2u
#define FL_IF		(1u << 9)
#define FL_IOPL3	(3u << 12)
#define FL_VM		(1u << 17)
#define FL_VIF		(1u << 19)
#define CR4_VME		(1u << 0)
#define CPUID1_EDX_VME	(1u << 1)
#define SEL_TSS		0x18u
#define GDT_ENTRIES	4
#define TSS_WORDS	35 /* 104 bytes, the 32-byte redirection bitmap, the I/O map base */
#define TSS_BYTES	(TSS_WORDS * 4)
#define TSS_ESP0_WORD	1
#define TSS_SS0_WORD	2
#define TSS_IOMAP_WORD	25
#define TSS_IOMAP	136u /* the bitmap at 104..135; no I/O bitmap (limit 136) */
#define TSS_REDIR_BYTE	104u
#define TYPE_TSS_AVAIL	0x89ull
#define GATE_INTR32_D3	0xEEu
#define GATE_INTR32	0x8Eu
#define STACK_WORDS	256
#define ENTRY_FRAME	9  /* EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS */
#define CATCH_WORDS	10 /* the ring-0 frame, with #GP's error code */
#define RUNS		2
#define IDT_ENTRIES	(VEC_LEAVE + 1)

/* What one run saw: the ring-0 frame and the registers the 8086 handler filled. */
struct v86_seen {
	uint32_t frame[CATCH_WORDS];
	uint32_t bx, cx, dx, si, di;
};

/* v86_enter(frame): IRET from the frame at ring 0; returns the ESP v86_catch was entered with. */
uint32_t v86_enter(uint32_t frame);
extern const char v86_catch[];
uint32_t v86_bx, v86_cx, v86_dx, v86_si, v86_di;

asm(".pushsection .text\n"
    ".globl v86_enter, v86_catch\n"
    "v86_enter:\n"
    "	pushl %ebp\n"
    "	pushl %ebx\n"
    "	pushl %esi\n"
    "	pushl %edi\n"
    "	movl %esp, v86_saved_esp\n"
    "	movl 20(%esp), %esp\n"
    "	iret\n"
    /* Ring 0 from virtual-8086 mode: DS..GS are null, SS is SS0. */
    "v86_catch:\n"
    "	movl %ebx, %ss:v86_bx\n"
    "	movl %ecx, %ss:v86_cx\n"
    "	movl %edx, %ss:v86_dx\n"
    "	movl %esi, %ss:v86_si\n"
    "	movl %edi, %ss:v86_di\n"
    "	movl %esp, %eax\n"
    "	movl $0x10, %ecx\n"
    "	movw %cx, %ds\n"
    "	movw %cx, %es\n"
    "	movw %cx, %fs\n"
    "	movw %cx, %gs\n"
    "	movl v86_saved_esp, %esp\n"
    "	popl %edi\n"
    "	popl %esi\n"
    "	popl %ebx\n"
    "	popl %ebp\n"
    "	ret\n"
    ".pushsection .data\n"
    "v86_saved_esp: .long 0\n"
    ".popsection\n"
    ".popsection\n");

/* The 8086 program at V86_CS:0: INT 42h, INT 43h; the INT 42h handler at HANDLER_IP. */
static const uint8_t v86_code[] = {
	0xcd, VEC_REDIR, /* 0000 int 42h */
	0xcd, VEC_LEAVE, /* 0002 int 43h */
	0xf4,		 /* 0004 hlt (never reached: #GP) */
	[HANDLER_IP] = 0x89, 0xe6, /* mov si, sp */
	0x8b, 0x1c,		   /* mov bx, [si]: IP */
	0x8b, 0x4c, 0x02,	   /* mov cx, [si+2]: CS */
	0x8b, 0x54, 0x04,	   /* mov dx, [si+4]: FLAGS */
	0x52,			   /* push dx */
	0x9d,			   /* popf: IOPL 0 with VME: VIF from IF */
	0x9c,			   /* pushf: IOPL 0 with VME: VIF as IF, IOPL 3 */
	0x5f,			   /* pop di */
	0xcf,			   /* iret */
};

static uint32_t page_dir[ENTRIES] __aligned(PAGE_SIZE);
static uint32_t low_pt[ENTRIES] __aligned(PAGE_SIZE);
static uint8_t ivt_page[PAGE_SIZE] __aligned(PAGE_SIZE);
static uint8_t code_page[PAGE_SIZE] __aligned(PAGE_SIZE);
static uint8_t stack_page[PAGE_SIZE] __aligned(PAGE_SIZE);
static uint32_t ram_frame[ENTRY_FRAME] __aligned(16);
static uint64_t gdt[GDT_ENTRIES] __aligned(8);
static uint32_t tss[TSS_WORDS] __aligned(8);
static uint32_t ring0_stack[STACK_WORDS] __aligned(16);
static struct gate32 idt[IDT_ENTRIES] __aligned(8);

static struct gate32 intr_gate(uint8_t type_attr)
{
	uint32_t off = (uint32_t)v86_catch;

	return (struct gate32){.offset_lo = (uint16_t)off,
			       .selector = SEL_CODE,
			       .type_attr = type_attr,
			       .offset_hi = (uint16_t)(off >> 16)};
}

/* Identity paging with 4 MiB pages, user-accessible; the first 4 MiB in 4 KiB pages with the
 * 8086 program's pages mapped to ivt_page, code_page and the stack page (stack_pa). */
static void build_paging(uint32_t stack_pa)
{
	for (uint32_t i = 0; i < ENTRIES; i++) {
		page_dir[i] = (i << LARGE_SHIFT) | PDE_PS | PTE_US | PTE_RW | PTE_P;
		low_pt[i] = (i * PAGE_SIZE) | PTE_US | PTE_RW | PTE_P;
	}
	page_dir[0] = (uint32_t)low_pt | PTE_US | PTE_RW | PTE_P;
	low_pt[LIN_IVT / PAGE_SIZE] = (uint32_t)ivt_page | PTE_US | PTE_RW | PTE_P;
	low_pt[LIN_CODE / PAGE_SIZE] = (uint32_t)code_page | PTE_US | PTE_RW | PTE_P;
	low_pt[LIN_STACK / PAGE_SIZE] = stack_pa | PTE_US | PTE_RW | PTE_P;
}

/* One run: the entry frame at frame_at, the 8086 stack page at stack_pa. */
static void __attribute__((noinline)) run(uint32_t frame_at, uint32_t stack_pa, bool vme,
					  uint32_t iopl_flags, struct v86_seen *seen)
{
	const uint32_t entry[ENTRY_FRAME] = {
		vme ? 0 : 2, V86_CS, FL_VM | iopl_flags | FL_VIF | FL_FIXED, V86_SP, V86_SS,
		V86_ES,	     V86_SS, V86_FS,				    V86_GS};
	uint32_t cr0 = read_cr0(), cr3 = read_cr3(), cr4 = read_cr4(), at;
	volatile uint32_t *frame = (volatile uint32_t *)frame_at;
	const struct table_ptr mine = {sizeof(idt) - 1, (uint32_t)idt};
	struct table_ptr old;

	for (unsigned i = 0; i < ENTRY_FRAME; i++)
		frame[i] = entry[i];
	build_paging(stack_pa);
	v86_bx = v86_cx = v86_dx = v86_si = v86_di = 0;
	write_cr4(cr4 | CR4_PSE | (vme ? CR4_VME : 0));
	write_cr3((uint32_t)page_dir);
	write_cr0(cr0 | CR0_PG);
	asm volatile("sidt %0" : "=m"(old));
	asm volatile("lidt %0" ::"m"(mine) : "memory");
	at = v86_enter(frame_at);
	asm volatile("lidt %0" ::"m"(old) : "memory");
	write_cr0(cr0);
	write_cr3(cr3);
	write_cr4(cr4);
	for (unsigned i = 0; i < CATCH_WORDS; i++)
		seen->frame[i] = ((const volatile uint32_t *)at)[i];
	seen->bx = v86_bx & 0xffff;
	seen->cx = v86_cx & 0xffff;
	seen->dx = v86_dx & 0xffff;
	seen->si = v86_si & 0xffff;
	seen->di = v86_di & 0xffff;
}

static void compare(const char *what, const struct v86_seen *cpu, const struct v86_seen *dev,
		    bool regs)
{
	unsigned bad = CATCH_WORDS;

	for (unsigned i = 0; i < CATCH_WORDS && bad == CATCH_WORDS; i++)
		if (cpu->frame[i] != dev->frame[i])
			bad = i;
	/* Without VME the 8086 handler does not run: BX..SI hold what ring 0 left. */
	check(bad == CATCH_WORDS && (!regs || (cpu->bx == dev->bx && cpu->cx == dev->cx &&
					       cpu->dx == dev->dx && cpu->si == dev->si &&
					       cpu->di == dev->di)),
	      what,
	      "frame word %u %x/%x, bx %x/%x cx %x/%x dx %x/%x si %x/%x di %x/%x (CPU/emulated)",
	      bad, bad < CATCH_WORDS ? cpu->frame[bad] : 0, bad < CATCH_WORDS ? dev->frame[bad] : 0,
	      cpu->bx, dev->bx, cpu->cx, dev->cx, cpu->dx, dev->dx, cpu->si, dev->si, cpu->di,
	      dev->di);
}

/* Both runs at one IOPL; want_*: what the SDM says the CPU's run shows. */
static void run_pair(uint32_t base, bool vme, uint32_t iopl_flags)
{
	struct v86_seen seen[RUNS] = {0};
	const bool gp = iopl_flags != FL_IOPL3; /* INT 43h at IOPL < 3: #GP(0), error code */
	const uint32_t *f = seen[0].frame + (gp ? 1 : 0);
	/* The FLAGS the redirection pushes: IOPL 3 shown, VIF (set) as IF below IOPL 3. */
	const uint32_t want_dx = FL_IOPL3 | FL_FIXED | (gp ? FL_IF : 0);

	run((uint32_t)ram_frame, (uint32_t)stack_page, vme, iopl_flags, &seen[0]);
	run(base + V86_DEV_FRAME, base + V86_DEV_PAGE, vme, iopl_flags, &seen[1]);
	check(f[0] == (gp ? 2u : 4u) && f[1] == V86_CS && (f[2] & FL_VM) && f[3] == V86_SP &&
		      f[4] == V86_SS && f[5] == V86_ES && f[6] == V86_SS && f[7] == V86_FS &&
		      f[8] == V86_GS && (!gp || seen[0].frame[0] == 0) &&
		      (!vme || (seen[0].bx == 2 && seen[0].cx == V86_CS && seen[0].dx == want_dx &&
				seen[0].si == V86_SP - 6 && seen[0].di == want_dx)),
	      gp ? "mmio v86: IOPL 0 on RAM (the CPU's run)" : "mmio v86: IOPL 3 on RAM (the CPU's run)",
	      "frame %x %x %x %x %x, bx %x cx %x dx %x si %x di %x", f[0], f[1], f[2], f[3], f[4],
	      seen[0].bx, seen[0].cx, seen[0].dx, seen[0].si, seen[0].di);
	compare(!vme  ? "mmio v86: IRET to virtual-8086 mode from a device page, then INT n to "
			"ring 0: as the CPU's"
		: !gp ? "mmio v86: IRET to virtual-8086 mode, VME INT n redirected onto a device "
			"stack, POPF/PUSHF and a 16-bit IRET there (IOPL 3): as the CPU's"
		      : "mmio v86: VME INT n redirected onto a device stack with IOPL 0 (VIF as IF), "
			"POPF/PUSHF and IRET with the VIF rules, then #GP: as the CPU's",
		&seen[0], &seen[1], vme);
}

void test_mmio_v86(uint32_t base)
{
	const struct table_ptr mine = {sizeof(gdt) - 1, (uint32_t)gdt};
	bool vme = (cpuid(1).edx & CPUID1_EDX_VME) && cpu_vendor() != VENDOR_AMD;
	struct table_ptr old_gdt;

	for (unsigned i = 0; i < sizeof(v86_code); i++)
		code_page[i] = v86_code[i];
	/* IVT[42h] = V86_CS:HANDLER_IP. */
	ivt_page[VEC_REDIR * 4] = HANDLER_IP;
	ivt_page[VEC_REDIR * 4 + 2] = (uint8_t)V86_CS;
	ivt_page[VEC_REDIR * 4 + 3] = (uint8_t)(V86_CS >> 8);
	gdt[0] = 0;
	gdt[SEL_CODE / 8] = GDT_FLAT_CODE32;
	gdt[SEL_DATA / 8] = GDT_FLAT_DATA32;
	gdt[SEL_TSS / 8] = desc_small((uint32_t)tss, TSS_BYTES - 1, TYPE_TSS_AVAIL);
	tss[TSS_ESP0_WORD] = (uint32_t)&ring0_stack[STACK_WORDS];
	tss[TSS_SS0_WORD] = SEL_DATA;
	tss[TSS_IOMAP_WORD] = TSS_IOMAP << 16;
	/* Redirection bits: 42h clear (to the 8086 handler), 43h set (to the IDT). */
	((uint8_t *)tss)[TSS_REDIR_BYTE + VEC_LEAVE / 8] = 1u << (VEC_LEAVE % 8);

	/* The runs' own IDT: every vector to the catcher (an unexpected one shows as a
	 * mismatch), INT 42h (a CPU that does not redirect) and INT 43h open to ring 3. */
	for (unsigned i = 0; i < IDT_ENTRIES; i++)
		idt[i] = intr_gate(GATE_INTR32);
	idt[VEC_REDIR] = intr_gate(GATE_INTR32_D3);
	idt[VEC_LEAVE] = intr_gate(GATE_INTR32_D3);
	asm volatile("sgdt %0" : "=m"(old_gdt));
	asm volatile("lgdt %0" ::"m"(mine) : "memory");
	asm volatile("ltr %w0" ::"r"((uint16_t)SEL_TSS) : "memory");
	if (!vme)
		gprintf("SKIP guest: mmio v86: INT n redirection (no VME, or an AMD CPU: Bochs's "
			"SVM panics on a #VMEXIT from virtual-8086 mode)\n");
	run_pair(base, vme, FL_IOPL3);
	if (vme)
		run_pair(base, vme, 0);
	asm volatile("lgdt %0" ::"m"(old_gdt) : "memory");
}
