/*
 * SMRAM lock.  System-management mode runs the code at SMBASE + 0x8000 with all of memory,
 * outside mhv's control.  Firmware keeps SMRAM (the SMM handler's memory) hidden and locks
 * its control register; some firmware leaves it unlocked (SeaBIOS and Bochs' BIOS on the
 * i440FX/q35 chipsets of QEMU and Bochs), and then a guest can open SMRAM through PCI
 * configuration space, write its own SMM handler and raise an SMI (APM control port 0xB2):
 * guest code in SMM, able to overwrite mhv.  So before the guest runs, mhv sets the host
 * bridge's D_LCK bit, which closes SMRAM and freezes its controls until reset, the way
 * firmware should have.
 */
#ifndef MHV_ARCH_X86_SMRAM_LOCK_H
#define MHV_ARCH_X86_SMRAM_LOCK_H

#include <stdint.h>

/*
 * Lock SMRAM on a known host bridge (i440FX, q35 MCH); logs what it found and did.  Where the
 * chipset ignores the lock (QEMU's i440FX), mhv keeps SMRAM closed itself: the PCI
 * configuration data port is then intercepted (smram_filtered_port) and every write that
 * reaches the SMRAM control register keeps its current value (smram_filter_config_write).
 */
void smram_lock(void);
/* 0xCFC while writes to SMRAM control must be filtered, else 0. */
uint16_t smram_filtered_port(void);
/* A guest write of size bytes at port (0xCFC-0xCFF): the value that may reach the hardware. */
uint32_t smram_filter_config_write(uint16_t port, unsigned size, uint32_t val);

#endif
