/* Console output (COM1, or the UART serial_use_port names) with bounded polling: a wedged
 * UART must not hang the test run. */
#include "arch/x86/io.h"
#include "tests/guest/serial.h"

/*
 * Far above what a 115200-baud byte needs (~87 us) at about one LSR read per microsecond.
 * Under mhv every LSR read may be an exit, so once polling has timed out the UART is taken
 * as stuck and never polled again: a broken virtual LSR then costs one wait, not one per byte.
 */
#define POLL_LIMIT 100000

static uint32_t timeouts;
static uint16_t port = COM1_BASE;

void serial_use_port(uint16_t base)
{
	port = base;
}

uint16_t serial_port(void)
{
	return port;
}

static void wait_lsr(uint8_t bits)
{
	if (timeouts)
		return;
	for (uint32_t i = 0; i < POLL_LIMIT; i++) {
		if ((inb(port + UART_LSR) & bits) == bits)
			return;
	}
	timeouts++;
}

void serial_putc(char c)
{
	wait_lsr(LSR_THRE);
	outb(port + UART_THR, (uint8_t)c);
}

void serial_write(const char *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		serial_putc(s[i]);
}

void serial_drain(void)
{
	wait_lsr(LSR_THRE | LSR_TEMT);
}

uint32_t serial_timeouts(void)
{
	return timeouts;
}
