/*
 * 32-bit paging (CR4.PAE clear), for the guest tests that build their own page directory:
 * 4 KiB pages, 1024 entries a table, a PDE with PS maps 4 MiB.
 */
#ifndef MHV_TESTS_GUEST_PAGING32_H
#define MHV_TESTS_GUEST_PAGING32_H

#define PAGE_SIZE   4096u
#define ENTRIES	    1024u
#define LARGE_SHIFT 22 /* a PDE maps 4 MiB */
#define PTE_P	    (1u << 0)
#define PTE_RW	    (1u << 1)
#define PTE_US	    (1u << 2)
#define PDE_PS	    (1u << 7)

#endif
