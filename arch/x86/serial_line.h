/*
 * A 16550 UART used as a raw byte line by a debugger (core/gdbstub.c), apart from mhv's
 * console (arch/x86/uart16550.h): polled, no newline translation; its receive interrupt only
 * where mhv takes the line's IOAPIC pin as an NMI (core/debug_stop.h).
 */
#ifndef MHV_ARCH_X86_SERIAL_LINE_H
#define MHV_ARCH_X86_SERIAL_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 8N1 at baud with FIFOs on; -E_NOENT when no UART answers at port. */
int serial_line_init(uint16_t port, uint32_t baud);
/* A received byte is waiting (one port read). */
bool serial_line_ready(uint16_t port);
/* The next byte, waiting for it as long as it takes. */
uint8_t serial_line_getc(uint16_t port);
void serial_line_write(uint16_t port, const char *s, size_t n);
/* Raise the UART's interrupt line for received bytes (and nothing else). */
void serial_line_irq_on_receive(uint16_t port);
/* The PC's ISA line of a standard COM port (COM1/COM3: 4, COM2/COM4: 3); -1 for another. */
int serial_line_isa_irq(uint16_t port);

#endif
