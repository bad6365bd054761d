/* The edu device's DMA engine (edu.h). */
#include "tests/guest/edu.h"

#include "tests/guest/cpu.h"

#define EDU_POLL_LIMIT 200000000u

bool edu_dma(uintptr_t regs, uint32_t addr, uint32_t len, bool to_ram)
{
	mmio_write32(regs + EDU_DMA_SRC, to_ram ? EDU_BUFFER : addr);
	mmio_write32(regs + EDU_DMA_DST, to_ram ? addr : EDU_BUFFER);
	mmio_write32(regs + EDU_DMA_COUNT, len);
	mmio_write32(regs + EDU_DMA_CMD, EDU_CMD_RUN | (to_ram ? EDU_CMD_TO_RAM : 0));
	for (uint32_t i = 0; i < EDU_POLL_LIMIT; i++)
		if (!(mmio_read32(regs + EDU_DMA_CMD) & EDU_CMD_RUN))
			return true;
	return false;
}
