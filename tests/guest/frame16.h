/*
 * A 16-bit handler's record of its interrupt frame, for the guest tests that compare an event
 * delivered onto a device stack with the CPU's on RAM (test_mmio_rmode.c, test_mmio_tss16.c).
 * An assembler macro for their top-level asm (put FRAME16_COPY_MACRO in it once, before use):
 * FRAME16_COPY dst, words stores the frame's first `words` words, each read with a MOV at
 * SS:BP (the handler sets BP = SP), at DS:dst, through AX.
 */
#ifndef MHV_TESTS_GUEST_FRAME16_H
#define MHV_TESTS_GUEST_FRAME16_H

#define FRAME16_COPY_MACRO                                                                         \
	".macro FRAME16_COPY dst:req, words:req\n"                                                 \
	"	.set frame16_off, 0\n"                                                              \
	"	.rept \\words\n"                                                                     \
	"	movw frame16_off(%bp), %ax\n"                                                       \
	"	movw %ax, frame16_off(\\dst)\n"                                                      \
	"	.set frame16_off, frame16_off + 2\n"                                                 \
	"	.endr\n"                                                                            \
	".endm\n"

#endif
