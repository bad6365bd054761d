/*
 * The 64-bit MOV forms test_mmio_short_lm.c runs through mmio_short_lm.S: what the two share
 * (how many forms, rounds and words each one leaves in the output).
 */
#ifndef MHV_TESTS_GUEST_MMIO_SHORT_LM_H
#define MHV_TESTS_GUEST_MMIO_SHORT_LM_H

#define LM_ROUNDS	 4  /* each form from one RIP: the first fills, the others replay */
#define LM_LOAD_FORMS	 19 /* the loads' order is the names' in test_mmio_short_lm.c */
#define LM_STORE_FORMS	 14
#define LM_LOAD_WORDS	 11 /* RAX RDX RSI RDI R8-R14 after each round of a load */
#define LM_STORE_WORDS	 10 /* the operand words 1-5 at +0 and at +0x80, after a store's rounds */
#define LM_OUT_WORDS	 (LM_LOAD_FORMS * LM_ROUNDS * LM_LOAD_WORDS + \
			  LM_STORE_FORMS * LM_STORE_WORDS)
#define LM_FAR_OFF	 0x80 /* the forms with a 32-bit displacement use words from here */
#define LM_AREA_BYTES	 0xB0 /* the device words the forms use, from the area's start */

#endif
