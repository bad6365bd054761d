/* 16550-compatible UART: mhv's serial console. */
#ifndef MHV_ARCH_X86_UART16550_H
#define MHV_ARCH_X86_UART16550_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UART_CLOCK_HZ 1843200 /* 115200 x 16 */

/* Program the UART at `port`; -E_NOENT when no UART answers there. */
int uart_init(uint16_t port, uint32_t baud);
/* Write to the initialised console UART ("\n" becomes "\r\n"); drops output if none. */
void uart_write(const char *s, size_t n);
/* Wait (bounded) until every byte has left the transmitter. */
void uart_drain(void);
uint16_t uart_port(void);
/* The next received byte, or -1 when the UART holds none (never waits). */
int uart_getc(void);
/* The UART signals an interrupt (IIR "pending"; reading IIR takes a THRE interrupt). */
bool uart_irq_pending(void);

#endif
