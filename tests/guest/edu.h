/*
 * QEMU's "edu" PCI device (1234:11e8, QEMU docs/specs/edu.txt), which the guest tests use as a
 * device that does DMA and raises interrupts on request: its ID and registers, and one run of
 * its DMA engine.
 */
#ifndef MHV_TESTS_GUEST_EDU_H
#define MHV_TESTS_GUEST_EDU_H

#include <stdbool.h>
#include <stdint.h>

#define EDU_ID		0x11e81234u /* device << 16 | vendor */
#define EDU_IRQ_RAISE	0x60
#define EDU_IRQ_ACK	0x64
#define EDU_IRQ_BIT	1u
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_COUNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_CMD_RUN	(1u << 0)
#define EDU_CMD_TO_RAM	(1u << 1)
#define EDU_BUFFER	0x40000u /* the device's buffer, in its own DMA address space */
#define EDU_BUFFER_SIZE 4096u

/*
 * One DMA of len bytes by the edu device whose registers are at regs; to_ram: its buffer ->
 * addr, else addr -> its buffer.  False if the engine is still running after a long poll.
 */
bool edu_dma(uintptr_t regs, uint32_t addr, uint32_t len, bool to_ram);

#endif
