/* Guest data breakpoints over the MMIO slow path's emulated accesses (core/mmio_data_bp.h). */
#include "core/mmio_data_bp.h"
#include "core/gdbstub.h"
#include "core/guest.h"
#include "core/insn_fetch.h"
#include "core/vcpu.h"
#include "mm/guest_mem.h"
#include "mmio/x86_emulate.h"

#define DR_CONTROL    7
#define INSN_MAX      15
#define USER_CPL      3
#define OPCODE_ESCAPE 0x0f
#define REX_MASK      0xf0
#define REX_BASE      0x40
#define OPCODE_GRP5   0xff
#define MODRM_REG(m)  (((m) >> 3) & 7)
#define GRP5_CALLF    3
#define GRP5_JMPF     5

uint64_t mmio_data_bp_guest_dr7(struct vcpu *v)
{
	return gdbstub_guest_dr(v, DR_CONTROL);
}

void mmio_data_bp_note_slow(struct mmio_data_bp *bp, struct vcpu *v, uint64_t la, unsigned len,
			    bool write)
{
	uint64_t dr[DATA_BP_COUNT];

	for (unsigned n = 0; n < DATA_BP_COUNT; n++)
		dr[n] = gdbstub_guest_dr(v, n);
	bp->hits |= data_bp_match(bp->dr7, dr, la, len, write);
}

/* Segment overrides, operand and address size, LOCK, REPNE, REP. */
static const uint8_t legacy_prefixes[] = {0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65,
					  0x66, 0x67, 0xf0, 0xf2, 0xf3};

static bool is_prefix(uint8_t b, bool mode64)
{
	if (mode64 && (b & REX_MASK) == REX_BASE)
		return true;
	for (unsigned i = 0; i < sizeof(legacy_prefixes); i++)
		if (b == legacy_prefixes[i])
			return true;
	return false;
}

/*
 * Opcodes that read or write RFLAGS.TF, or stop, without an exit mhv can take first.  next:
 * the byte after the opcode (the second opcode byte after 0F, FF's ModRM).
 */
static bool touches_tf(uint8_t op, uint8_t next)
{
	if (op == OPCODE_ESCAPE) /* SYSCALL (R11), SYSRET, SYSENTER, SYSEXIT, RSM */
		return next == 0x05 || next == 0x07 || next == 0x34 || next == 0x35 || next == 0xaa;
	/* A far CALL/JMP to a TSS or task gate saves EFLAGS in the old TSS (SVM's task switch
	 * intercept is not taken by every model: QEMU's TCG ignores it). */
	if (op == OPCODE_GRP5)
		return MODRM_REG(next) == GRP5_CALLF || MODRM_REG(next) == GRP5_JMPF;
	switch (op) {
	case 0x9a: /* CALL ptr16:16/32 */
	case 0xea: /* JMP ptr16:16/32 */
	case 0x9c: /* PUSHF */
	case 0x9d: /* POPF */
	case 0xcf: /* IRET */
	case 0xcc: /* INT3 */
	case 0xcd: /* INT n */
	case 0xce: /* INTO */
	case 0xf1: /* INT1 */
	case 0xf4: /* HLT */
	case 0x8e: /* MOV Sreg (MOV SS: a shadow of its own) */
	case 0x17: /* POP SS */
		return true;
	default:
		return false;
	}
}

bool mmio_data_bp_next_steppable(struct vcpu *v)
{
	struct vcpu_segment cs;
	struct gw_regs regs;
	struct gw_mem mem;
	struct gw_result r;
	const uint8_t *page;
	uint64_t la;
	unsigned at, room, i = 0;
	bool mode64;

	v->ops->get_segment(v, X86_SEG_CS, &cs);
	vcpu_walk_setup(v, &regs, &mem);
	mode64 = vcpu_seg_long_mode(&cs) && (regs.efer & X86_EFER_LMA);
	la = mode64 ? v->ops->get_rip(v) : (uint32_t)(cs.base + v->ops->get_rip(v));
	/* A fetch that faults: which of the two the CPU raises first is not worth guessing. */
	if (guest_walk(&regs, &mem, la, GW_FETCH | (regs.cpl == USER_CPL ? GW_USER : 0), &r))
		return false;
	page = guest_mem_ram_ptr(guest_gate(), r.gpa & ~(PAGE_SIZE - 1), PAGE_SIZE);
	if (!page)
		return false; /* code on a device page: nothing is read there but by the guest */
	at = (unsigned)(la & (PAGE_SIZE - 1));
	room = (unsigned)MIN((uint64_t)INSN_MAX, PAGE_SIZE - at);
	while (i < room && is_prefix(page[at + i], mode64))
		i++;
	if (i + 1 >= room)
		return false; /* the opcode or the byte after it on the next page: not looked at */
	return !touches_tf(page[at + i], page[at + i + 1]);
}

void mmio_data_bp_trap(struct vcpu *v, const struct mmio_data_bp *bp, bool mov_ss)
{
	v->ops->data_bp_trap(v, bp->hits, mov_ss);
}
