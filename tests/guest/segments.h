/* The guest kernel's flat GDT: shared by entry.S (which loads it) and trap.c (IDT gates). */
#ifndef MHV_TESTS_GUEST_SEGMENTS_H
#define MHV_TESTS_GUEST_SEGMENTS_H

#define SEL_CODE 0x08
#define SEL_DATA 0x10

/*
 * Base 0, limit 4 GiB (G=1), 32-bit (D/B=1), present, DPL 0: code execute/read, data
 * read/write.  The accessed bit is preset so the CPU never writes to the (read-only) GDT.
 */
#define GDT_FLAT_CODE32 0x00CF9B000000FFFF
#define GDT_FLAT_DATA32 0x00CF93000000FFFF

#endif
