/*
 * INS and OUTS (6C-6F, REP or not) with the memory side on a device page: the element goes
 * between the port (ops->port_io, the same path as an intercepted IN/OUT) and ES:rDI / seg:rSI
 * through the string machinery of x86_emu_exec.c.  Here: whether they are emulated (with a
 * port_io callback), and the I/O permission check the CPU makes first: in protected mode with
 * CPL > IOPL, and in virtual-8086 mode, every port byte must be clear in the TSS's I/O
 * permission bitmap, else #GP(0) (so is a TSS too short to hold the map's base or the bits).
 */
#include "mmio/x86_emu_internal.h"

#define TSS_IOMAP_BASE	  0x66 /* 16-bit offset of the I/O permission bitmap */
#define IOPL_SHIFT	  12
#define IOPL_MASK	  3u
#define PORT_BITS_PER_BYTE 8

bool x86e_strio_supported(const struct x86_emu_ops *ops, const struct x86_insn *in)
{
	return ops->port_io && ops->sys_access && ops->get_sysseg &&
	       in->encoding == X86_ENC_LEGACY && in->map == X86_MAP_ONE && in->opcode >= 0x6c &&
	       in->opcode <= 0x6f;
}

static int tss_read(struct x86_emu_ctx *e, const struct x86_segment *tr, uint32_t off,
		    uint8_t *buf, unsigned int len)
{
	if (off + len - 1 > tr->limit)
		return x86e_raise(e, X86_EXC_GP, true, 0);
	for (unsigned int i = 0; i < len; i++) {
		uint64_t la = tr->base + off + i;

		if (!(e->ctl.efer & X86_EFER_LMA)) /* IA-32e: 64-bit table bases */
			la &= 0xffffffffull;
		if (e->ops->sys_access(e->opaque, la, buf + i, 1, false, &e->res->exc))
			return X86_EMU_EXCEPTION;
	}
	return EMU_CONTINUE;
}

int x86e_io_permitted(struct x86_emu_ctx *e, uint16_t port, unsigned int size)
{
	unsigned int iopl = (unsigned int)(e->rc.rflags >> IOPL_SHIFT) & IOPL_MASK;
	struct x86_segment tr;
	uint8_t b[2];
	uint16_t map, bits;
	int r;

	if (!(e->ctl.cr0 & X86_CR0_PE) || (!(e->rc.rflags & X86_FL_VM) && e->ctl.cpl <= iopl))
		return EMU_CONTINUE;
	e->ops->get_sysseg(e->opaque, X86_SYS_TR, &tr);
	if ((r = tss_read(e, &tr, TSS_IOMAP_BASE, b, 2)))
		return r;
	map = (uint16_t)(b[0] | b[1] << BYTE_BITS);
	/* Two bytes: the port's bits may straddle a byte. */
	if ((r = tss_read(e, &tr, (uint32_t)map + port / PORT_BITS_PER_BYTE, b, 2)))
		return r;
	bits = (uint16_t)(b[0] | b[1] << BYTE_BITS);
	if ((bits >> (port % PORT_BITS_PER_BYTE)) & ((1u << size) - 1))
		return x86e_raise(e, X86_EXC_GP, true, 0);
	return EMU_CONTINUE;
}
