/*
 * COM1 output.  Under mhv the UART is virtualised (mhv collects the guest's bytes line by
 * line), natively it is the real one; either way the guest only polls LSR.THRE and writes
 * THR.  It never programs the baud rate or line control: those belong to whoever owns the
 * physical port (the firmware natively, mhv under mhv).
 */
#ifndef MHV_TESTS_GUEST_SERIAL_H
#define MHV_TESTS_GUEST_SERIAL_H

#include <stdint.h>

#define COM1_BASE 0x3F8
#define UART_THR  0 /* transmit holding register (write) */
#define UART_LSR  5 /* line status register */
#define LSR_THRE  (1u << 5)
#define LSR_TEMT  (1u << 6)

/* The console UART: COM1 unless serial_use_port chose another (serial=pci, serial_pci.h). */
void serial_use_port(uint16_t base);
uint16_t serial_port(void);
void serial_putc(char c);
void serial_write(const char *s, uint32_t n);
/* Wait (bounded) until the last byte has left the shift register: emulators drop the rest. */
void serial_drain(void);
/* How many times polling gave up waiting for THRE (0 on a healthy UART; at most 1). */
uint32_t serial_timeouts(void);

#endif
