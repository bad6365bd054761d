/*
 * A 16550 UART used as a raw byte line by a debugger (core/gdbstub.c), apart from mhv's
 * console (arch/x86/uart16550.h): polled, no interrupts, no newline translation.
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

#endif
