/*
 * Architectural paging bits for the host tests of the guest walker and the MMIO cache,
 * spelled out here independently of the code under test: page-table entry bits, the CR0,
 * CR4 and EFER bits a walk depends on, and the page-fault error code.
 */
#ifndef MHV_TESTS_UNIT_PAGING_BITS_H
#define MHV_TESTS_UNIT_PAGING_BITS_H

#define P    (1ull << 0)
#define RW   (1ull << 1)
#define US   (1ull << 2)
#define PWT  (1ull << 3)
#define PCD  (1ull << 4)
#define ACC  (1ull << 5)
#define DIRT (1ull << 6)
#define PS   (1ull << 7)
#define XD   (1ull << 63)

#define CR0_PE	 (1ull << 0)
#define CR0_WP	 (1ull << 16)
#define CR0_PG	 (1ull << 31)
#define CR4_PSE	 (1ull << 4)
#define CR4_PAE	 (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define CR4_PCID (1ull << 17)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define CR4_PKE	 (1ull << 22)
#define CR4_PKS	 (1ull << 24)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define ERR_P	 1u
#define ERR_W	 2u
#define ERR_U	 4u
#define ERR_RSVD 8u
#define ERR_ID	 16u

#endif
