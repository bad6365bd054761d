/* A polled 16550 byte line (see serial_line.h). */
#include "arch/x86/serial_line.h"
#include "arch/x86/cpu.h"
#include "arch/x86/io.h"
#include "arch/x86/uart16550.h"
#include "lib/errno.h"

#define REG_DATA     0 /* RBR/THR with DLAB=0, DLL with DLAB=1 */
#define REG_IER	     1 /* DLM with DLAB=1 */
#define REG_FCR	     2
#define REG_LCR	     3
#define REG_MCR	     4
#define REG_LSR	     5
#define REG_SCR	     7
#define LCR_8N1	     0x03
#define LCR_DLAB     0x80
#define FCR_ON_CLEAR 0x07
#define MCR_DTR_RTS  0x03
#define MCR_OUT2     0x08 /* gates the interrupt line onto the ISA bus on a PC */
#define IER_RX	     0x01
#define LSR_DR	     0x01
#define LSR_THRE     0x20
#define SCR_PROBE    0x5A
#define BAUD_DIVISOR_CLOCK (UART_CLOCK_HZ / 16)

int serial_line_init(uint16_t port, uint32_t baud)
{
	uint32_t divisor = BAUD_DIVISOR_CLOCK / baud;

	outb(port + REG_SCR, SCR_PROBE);
	if (inb(port + REG_SCR) != SCR_PROBE)
		return -E_NOENT;
	outb(port + REG_IER, 0);
	outb(port + REG_LCR, LCR_DLAB);
	outb(port + REG_DATA, divisor & 0xFF);
	outb(port + REG_IER, (divisor >> 8) & 0xFF);
	outb(port + REG_LCR, LCR_8N1);
	outb(port + REG_FCR, FCR_ON_CLEAR);
	outb(port + REG_MCR, MCR_DTR_RTS);
	return 0;
}

void serial_line_irq_on_receive(uint16_t port)
{
	outb(port + REG_IER, IER_RX);
	outb(port + REG_MCR, MCR_DTR_RTS | MCR_OUT2);
}

#define COM1_PORT 0x3F8
#define COM2_PORT 0x2F8
#define COM3_PORT 0x3E8
#define COM4_PORT 0x2E8
#define IRQ_COM13 4
#define IRQ_COM24 3

int serial_line_isa_irq(uint16_t port)
{
	if (port == COM1_PORT || port == COM3_PORT)
		return IRQ_COM13;
	if (port == COM2_PORT || port == COM4_PORT)
		return IRQ_COM24;
	return -1;
}

bool serial_line_ready(uint16_t port)
{
	return inb(port + REG_LSR) & LSR_DR;
}

uint8_t serial_line_getc(uint16_t port)
{
	while (!serial_line_ready(port))
		cpu_relax();
	return inb(port + REG_DATA);
}

void serial_line_write(uint16_t port, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		while (!(inb(port + REG_LSR) & LSR_THRE))
			cpu_relax();
		outb(port + REG_DATA, (uint8_t)s[i]);
	}
}
