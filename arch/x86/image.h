/*
 * mhv's image as linker.ld lays it out.  The linker symbols are addresses, not C objects:
 * they are handled as integers so that no pointer arithmetic spans two "objects".
 */
#ifndef MHV_ARCH_X86_IMAGE_H
#define MHV_ARCH_X86_IMAGE_H

#include <stdint.h>

extern char __image_start[], __rodata_start[], __data_start[], __image_end[];
extern char __extable_start[], __extable_end[];

#define IMAGE_START  ((uint64_t)__image_start)
#define RODATA_START ((uint64_t)__rodata_start)
#define DATA_START   ((uint64_t)__data_start)
#define IMAGE_END    ((uint64_t)__image_end)
#define IMAGE_SIZE   (IMAGE_END - IMAGE_START)

#endif
