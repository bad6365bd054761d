/*
 * The guest test kernel's own command line (the module string GRUB passes): words that
 * choose what a run does (attack=NAME, serial=pci, soak=N).
 */
#ifndef MHV_TESTS_GUEST_CMDLINE_H
#define MHV_TESTS_GUEST_CMDLINE_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/guest/bootinfo.h"

/* Where the word starting with prefix ("attack=", "serial=pci") begins in the command line,
 * or NULL when no word starts so; the word ends at a space or the line's end. */
const char *cmdline_find(const struct boot_info *bi, const char *prefix);
/* The whole word is present. */
bool cmdline_has(const struct boot_info *bi, const char *word);
/* The decimal value of "key=N" (key includes the '='), or dflt when absent or malformed. */
uint32_t cmdline_u32(const struct boot_info *bi, const char *key, uint32_t dflt);

#endif
