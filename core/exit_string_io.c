/*
 * String I/O to an intercepted port (the console UART).  The instruction is decoded (address
 * size, segment override, REP) the same way on both vendors; each element goes through the
 * guest's segmentation and page tables, so a bad buffer gets the #GP/#SS/#PF the CPU would
 * raise, with RSI/RDI/RCX left where the CPU would leave them.
 */
#include "core/exit_string_io.h"
#include "arch/x86/cpu.h"
#include "arch/x86/exception.h"
#include "core/guest_event.h"
#include "core/insn_fetch.h"
#include "lib/errno.h"
#include "mm/memmap.h"
#include "mmio/x86_emulate.h"

#define OPCODE_INS_OUTS_MASK 0xFC
#define OPCODE_INS_OUTS	     0x6C /* 6C INSB, 6D INSW/D, 6E OUTSB, 6F OUTSW/D */
#define OPCODE_OUTS_BIT	     0x02
#define RFLAGS_DF	     (1ull << 10)
/* Elements per exit: a huge REP count re-exits in between, so interrupts still get in. */
#define STRING_IO_BATCH 4096
#define ADDR_MASK_16	0xFFFFull
#define ADDR_MASK_32	0xFFFFFFFFull

struct string_io {
	enum x86_mode mode;
	bool real_or_v86;
	unsigned seg;
	struct vcpu_segment s;
	uint64_t cr4;
};

static uint64_t addr_mask(unsigned addrsize)
{
	return addrsize == 8 ? ~0ull : (1ull << (addrsize * 8)) - 1;
}

/* A register as an address-size-wide counter: 16-bit updates keep the upper bits. */
static void set_masked(uint64_t *reg, uint64_t val, unsigned addrsize)
{
	if (addrsize == 2)
		*reg = (*reg & ~ADDR_MASK_16) | (val & ADDR_MASK_16);
	else if (addrsize == 4)
		*reg = val & ADDR_MASK_32; /* 32-bit results zero-extend */
	else
		*reg = val;
}

/* Effective address -> linear address, or the #GP(0)/#SS(0) segmentation gives (queued). */
static bool element_linear(struct vcpu *v, const struct string_io *s, uint64_t ea, unsigned size,
			   bool write, uint64_t *la)
{
	bool ok;

	if (s->mode == X86_MODE_64) {
		*la = ((s->seg == X86_SEG_FS || s->seg == X86_SEG_GS) ? s->s.base : 0) + ea;
		ok = x86_canonical(*la, s->cr4) && x86_canonical(*la + size - 1, s->cr4);
	} else {
		*la = (s->s.base + ea) & ADDR_MASK_32;
		struct x86_segment seg = {s->s.base, s->s.limit, s->s.selector, s->s.attr};

		ok = x86_segment_allows(&seg, s->real_or_v86, ea, size, write);
	}
	if (!ok)
		v->ops->inject_exception(v, s->seg == X86_SEG_SS ? VEC_SS : VEC_GP, true, 0);
	return ok;
}

enum exit_next vcpu_exit_string_io(struct vcpu *v, const struct io_exit *io)
{
	int err = 0;
	const struct x86_insn *insn = vcpu_decode_current(v, &err);
	struct string_io s;
	bool in, rep;
	unsigned areg, addrsize;
	uint64_t count, n, mask;
	int64_t step;

	if (err == -E_FAULT)
		return EXIT_NEXT_RETRY; /* the fetch's #PF is queued */
	if (!insn || insn->map != X86_MAP_ONE ||
	    (insn->opcode & OPCODE_INS_OUTS_MASK) != OPCODE_INS_OUTS) {
		vcpu_refuse_insn(v, "string I/O exit at no INS/OUTS instruction mhv can decode",
				 io->port);
		return EXIT_NEXT_RETRY;
	}
	in = !(insn->opcode & OPCODE_OUTS_BIT);
	rep = insn->rep != X86_REP_NONE;
	addrsize = insn->addrsize;
	mask = addr_mask(addrsize);
	areg = in ? GPR_RDI : GPR_RSI;
	s.mode = (enum x86_mode)insn->mode;
	s.cr4 = v->ops->get_cr(v, 4);
	s.real_or_v86 = !(v->ops->get_cr(v, 0) & CR0_PE) || (v->ops->get_rflags(v) & RFLAGS_VM);
	/* INS always writes ES:rDI; OUTS reads DS:rSI unless overridden. */
	s.seg = in ? X86_SEG_ES
		   : (insn->seg_override != X86_SEG_NONE ? insn->seg_override : X86_SEG_DS);
	v->ops->get_segment(v, s.seg, &s.s);
	step = (v->ops->get_rflags(v) & RFLAGS_DF) ? -(int64_t)io->size : (int64_t)io->size;
	count = rep ? v->gpr[GPR_RCX] & mask : 1;

	for (n = 0; n < count && n < STRING_IO_BATCH; n++) {
		uint64_t ea = v->gpr[areg] & mask, la;
		uint32_t val = 0;

		if (!element_linear(v, &s, ea, io->size, in, &la))
			return EXIT_NEXT_RETRY;
		if (in) {
			/* INS writes memory after reading the port: the write is checked first
			 * (both pages, and the gate), so a fault consumes no input. */
			if (!vcpu_linear_probe(v, la, io->size, true, s.mode != X86_MODE_64))
				return EXIT_NEXT_RETRY;
			val = vcpu_port_in(v, io->port, io->size);
			if (!vcpu_linear_rw(v, la, &val, io->size, true, s.mode != X86_MODE_64))
				return EXIT_NEXT_RETRY;
		} else {
			if (!vcpu_linear_rw(v, la, &val, io->size, false, s.mode != X86_MODE_64))
				return EXIT_NEXT_RETRY;
			vcpu_port_out(v, io->port, io->size, val);
		}
		set_masked(&v->gpr[areg], ea + (uint64_t)step, addrsize);
		if (rep)
			set_masked(&v->gpr[GPR_RCX], count - n - 1, addrsize);
	}
	return n == count ? EXIT_NEXT_SKIP : EXIT_NEXT_RETRY;
}
