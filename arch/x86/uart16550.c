/*
 * Polled 16550 driver.  Every wait is bounded: a missing or wedged UART costs time, never a
 * hang, because the console must not be able to take the machine down.
 */
#include "arch/x86/uart16550.h"
#include "arch/x86/io.h"
#include "lib/errno.h"

#define UART_THR     0 /* transmit holding (DLAB=0) */
#define UART_RBR     0 /* receive buffer (DLAB=0) */
#define UART_IER     1 /* interrupt enable (DLAB=0) */
#define UART_IIR     2
#define UART_DLL     0 /* divisor low (DLAB=1) */
#define UART_DLM     1 /* divisor high (DLAB=1) */
#define UART_FCR     2
#define UART_LCR     3
#define UART_MCR     4
#define UART_LSR_REG 5
#define UART_SCR     7

#define LCR_8N1		 0x03
#define LCR_DLAB	 0x80
#define FCR_ENABLE_CLEAR 0x07 /* enable FIFOs, clear RX and TX */
#define MCR_DTR_RTS_OUT2 0x0B
#define LSR_DR		 0x01 /* a received byte waits */
#define IIR_NO_INT	 0x01
#define LSR_THRE	 0x20 /* room for one more byte */
#define LSR_TEMT	 0x40 /* transmitter completely empty */
#define SCRATCH_PROBE	 0xA5

/* ~100 us per poll on real hardware (port reads are slow): enough for a byte at 9600 baud. */
#define UART_SPIN_LIMIT 100000

static uint16_t console_port;

static void uart_wait(uint8_t lsr_bit)
{
	for (unsigned i = 0; i < UART_SPIN_LIMIT; i++)
		if (inb(console_port + UART_LSR_REG) & lsr_bit)
			return;
}

int uart_init(uint16_t port, uint32_t baud)
{
	uint32_t divisor = UART_CLOCK_HZ / 16 / baud;

	/* A UART keeps what is written to its scratch register; floating ports read 0xFF. */
	outb(port + UART_SCR, SCRATCH_PROBE);
	if (inb(port + UART_SCR) != SCRATCH_PROBE)
		return -E_NOENT;

	outb(port + UART_IER, 0);
	outb(port + UART_LCR, LCR_DLAB);
	outb(port + UART_DLL, divisor & 0xFF);
	outb(port + UART_DLM, (divisor >> 8) & 0xFF);
	outb(port + UART_LCR, LCR_8N1);
	outb(port + UART_FCR, FCR_ENABLE_CLEAR);
	outb(port + UART_MCR, MCR_DTR_RTS_OUT2);
	console_port = port;
	return 0;
}

static void uart_putc(char c)
{
	uart_wait(LSR_THRE);
	outb(console_port + UART_THR, (uint8_t)c);
}

void uart_write(const char *s, size_t n)
{
	if (!console_port)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			uart_putc('\r');
		uart_putc(s[i]);
	}
}

void uart_drain(void)
{
	if (console_port)
		uart_wait(LSR_TEMT);
}

uint16_t uart_port(void)
{
	return console_port;
}

int uart_getc(void)
{
	if (!console_port || !(inb(console_port + UART_LSR_REG) & LSR_DR))
		return -1;
	return inb(console_port + UART_RBR);
}

bool uart_irq_pending(void)
{
	return console_port && !(inb(console_port + UART_IIR) & IIR_NO_INT);
}
