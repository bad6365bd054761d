/*
 * A 16550 register model in front of the console UART.  The guest can program it at will
 * (baud, line control, scratch, loopback) without disturbing mhv's console: only the
 * bytes it transmits and the bytes it receives reach the real device.
 *
 * Interrupts: the model's THR is always empty (a byte is taken at once), so a guest that
 * enables the THRE interrupt has one pending after that write and after every byte it sends,
 * until it reads IIR (the 16550's rules); received data is pending while the real UART holds
 * a byte.  The interrupt itself comes from the real UART on its own IRQ line, which the guest
 * owns (interrupts are passed through): mhv copies the guest's THRE/RX enables into the real
 * IER and pulses it (0, then the enables) whenever the model gains a pending interrupt, so the
 * real device raises a fresh edge.  mhv's own console writes may raise extra edges while the
 * guest has THRE enabled; the guest then finds IIR saying "no interrupt", as with any shared
 * line.  Linux's 8250 driver, interrupt-driven once userspace writes, needs this.
 *
 * Transmitted bytes are collected into lines and go out through the console multiplexer
 * (lib/console_mux.c), which mhv's log also goes through: it keeps mhv's lines at column 0 on
 * lines of their own and keeps guest output from reading or displaying as mhv's.
 */
#include "core/vuart.h"
#include "arch/x86/io.h"
#include "core/debug_stop.h"
#include "core/ioapic_guard.h"
#include "arch/x86/uart16550.h"
#include "lib/console_mux.h"
#include "lib/fmt.h"
#include "lib/log.h"
#include "lib/string.h"

enum vuart_reg { REG_DATA, REG_IER, REG_IIR, REG_LCR, REG_MCR, REG_LSR, REG_MSR, REG_SCR };

#define LCR_DLAB	0x80
#define IER_MASK	0x0F
#define IIR_NO_INT	0x01
#define IIR_THRE	0x02 /* transmitter holding register empty */
#define IIR_RX_DATA	0x04 /* received data available */
#define IER_RX_DATA	0x01
#define IER_THRE	0x02
#define IIR_FIFO_ON	0xC0
#define FCR_FIFO_ENABLE 0x01
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MCR_LOOPBACK	0x10
#define MSR_IDLE	0xB0 /* DCD, DSR, CTS asserted */
#define LINE_MAX	240
#define PIC1_DATA	0x21 /* the master PIC's mask register (OCW1) */
#define PIC_LINES	8
#define HOLD_MAX	4096 /* guest output held while a debug session owns the console */
#define BITS_PER_BYTE	8

static struct {
	uint16_t base;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thre_pending; /* a THRE interrupt not yet taken by an IIR read */
	char line[LINE_MAX];
	unsigned len;
	/* The break-in owns the UART line's IOAPIC pin (debug_stop.h): the real IER holds mhv's
	 * receive enable, and pin_irq is the line (for the PIC check in kick_irq). */
	uint8_t host_ier;
	unsigned pin_irq;
	bool hold;	  /* a debug session owns the console: guest lines wait in held[] */
	char held[HOLD_MAX];
	unsigned held_len;
	unsigned long held_dropped;
} vu;

/* Static: mhv's first message goes through it, long before vuart_init. */
static struct console_mux console = CONSOLE_MUX_INIT(uart_write);

void vuart_host_write(const char *s, size_t n)
{
	console_mux_host(&console, s, n);
}

void vuart_init(uint16_t base, bool mark_all_guest_lines)
{
	vu.base = base;
	vu.lcr = 0x03;
	vu.dll = 1;
	console_mux_set_mark_all(&console, mark_all_guest_lines);
}

uint16_t vuart_base(void)
{
	return vu.base;
}

static void push_line(void)
{
	if (vu.hold) {
		unsigned room = HOLD_MAX - vu.held_len, n = vu.len < room ? vu.len : room;

		memcpy(vu.held + vu.held_len, vu.line, n);
		vu.held_len += n;
		vu.held_dropped += vu.len - n;
	} else {
		console_mux_guest(&console, vu.line, vu.len);
	}
	vu.len = 0;
}

void vuart_hold(bool hold)
{
	console_lock();
	vu.hold = hold;
	if (!hold && vu.held_len) {
		console_mux_guest(&console, vu.held, vu.held_len);
		vu.held_len = 0;
	}
	if (!hold && vu.held_dropped) {
		char note[80];
		int n = fmt_snprintf(note, sizeof(note),
				     "mhv: %lu bytes of guest output dropped during the stop\n",
				     vu.held_dropped);
		console_mux_host(&console, note, (size_t)n);
		vu.held_dropped = 0;
	}
	console_unlock();
}

void vuart_route_to_pin(unsigned irq, uint8_t host_ier)
{
	console_lock();
	vu.pin_irq = irq;
	vu.host_ier = host_ier;
	if (vu.base)
		outb(vu.base + REG_IER, (vu.ier & (IER_THRE | IER_RX_DATA)) | vu.host_ier);
	console_unlock();
}

void vuart_flush(void)
{
	console_lock();
	push_line();
	console_mux_guest_flush(&console);
	console_unlock();
}

/* A line goes out whole unless it outgrows the buffer; then mhv's log may cut it. */
static void transmit(uint8_t c)
{
	vu.line[vu.len++] = (char)c;
	if (c == '\n' || vu.len == LINE_MAX)
		push_line();
}

/*
 * The model gained a pending interrupt (or the guest changed its enables): give the real IER
 * the guest's THRE/RX enables through a 0 first, so the real UART raises a new edge on its
 * IRQ line even when its interrupt output was already high.
 */
static bool model_irq_pending(void);

/* The guest reaches this ISA line through the legacy PIC (its mask bit clear there). */
static bool pic_line_unmasked(unsigned irq)
{
	return irq < PIC_LINES && !(inb(PIC1_DATA) & (1u << irq));
}

static void kick_irq(void)
{
	uint8_t ier = (vu.ier & (IER_THRE | IER_RX_DATA)) | vu.host_ier;

	/*
	 * mhv owns the line's IOAPIC pin and the guest does not use the PIC for it: the real IER
	 * keeps mhv's receive enable only, so the line (an NMI) rises for received bytes alone,
	 * and the model's interrupt reaches the guest as the IPI its IOAPIC entry asks for.
	 */
	if (vu.host_ier && !pic_line_unmasked(vu.pin_irq)) {
		outb(vu.base + REG_IER, vu.host_ier);
		if (model_irq_pending())
			ioapic_guard_forward_console_irq();
		return;
	}

	outb(vu.base + REG_IER, 0);
	if (ier)
		outb(vu.base + REG_IER, ier);
}

/* The model's interrupt condition, as interrupt_id() would report it, without taking it. */
static bool model_irq_pending(void)
{
	return ((vu.ier & IER_RX_DATA) && debug_input_ready()) ||
	       ((vu.ier & IER_THRE) && vu.thre_pending);
}

bool vuart_irq_pending(void)
{
	bool pending;

	console_lock();
	pending = model_irq_pending();
	console_unlock();
	return pending;
}

static uint8_t interrupt_id(void)
{
	uint8_t fifo = (vu.fcr & FCR_FIFO_ENABLE) ? IIR_FIFO_ON : 0;

	if ((vu.ier & IER_RX_DATA) && debug_input_ready())
		return IIR_RX_DATA | fifo;
	if ((vu.ier & IER_THRE) && vu.thre_pending) {
		vu.thre_pending = false; /* reading IIR takes a THRE interrupt */
		return IIR_THRE | fifo;
	}
	return IIR_NO_INT | fifo;
}

/* In loopback mode the modem outputs (MCR bits 0-3) appear as the modem inputs. */
static uint8_t modem_status(void)
{
	if (!(vu.mcr & MCR_LOOPBACK))
		return MSR_IDLE;
	return (uint8_t)(((vu.mcr & 0x01) << 5) | ((vu.mcr & 0x02) << 3) | ((vu.mcr & 0x04) << 4) |
			 ((vu.mcr & 0x08) << 4));
}

/* One register of the model, at offset reg from the UART's base. */
static uint8_t model_in(unsigned reg)
{
	bool dlab = vu.lcr & LCR_DLAB;

	switch (reg) {
	case REG_DATA:
		if (dlab)
			return vu.dll;
		return debug_input_pop(); /* input passes the break-in detector */
	case REG_IER:
		return dlab ? vu.dlm : vu.ier;
	case REG_IIR:
		return interrupt_id();
	case REG_LCR:
		return vu.lcr;
	case REG_MCR:
		return vu.mcr;
	case REG_LSR:
		return LSR_THRE | LSR_TEMT | (debug_input_ready() ? LSR_DR : 0);
	case REG_MSR:
		return modem_status();
	default:
		return vu.scr;
	}
}

static void model_out(unsigned reg, uint8_t b)
{
	bool dlab = vu.lcr & LCR_DLAB;

	switch (reg) {
	case REG_DATA:
		if (dlab)
			vu.dll = b;
		else
			transmit(b);
		if (!dlab && (vu.ier & IER_THRE)) {
			vu.thre_pending = true;
			kick_irq();
		}
		break;
	case REG_IER:
		if (dlab) {
			vu.dlm = b;
			break;
		}
		vu.ier = b & IER_MASK;
		vu.thre_pending = vu.ier & IER_THRE;
		kick_irq();
		break;
	case REG_IIR:
		vu.fcr = b;
		break;
	case REG_LCR:
		vu.lcr = b;
		break;
	case REG_MCR:
		vu.mcr = b;
		break;
	case REG_SCR:
		vu.scr = b;
		break;
	default:
		break; /* LSR and MSR are read-only */
	}
}

/*
 * Does [port, port + size) touch the console's ports?  An access that does is done byte by
 * byte, each byte to the model or to the hardware port it names: a wider access that only
 * overlaps the UART (a dword OUT at base - 3 covers the transmitter) must not reach the real
 * UART's registers around the model, nor may the model swallow the bytes beyond it.
 */
static bool touches_uart(uint16_t hw, uint32_t port, unsigned size)
{
	return hw && port < (uint32_t)hw + VUART_NR_PORTS && port + size > hw;
}

static bool in_uart(uint16_t hw, uint32_t port)
{
	return port >= hw && port < (uint32_t)hw + VUART_NR_PORTS;
}

uint32_t vuart_in(uint16_t port, unsigned size)
{
	uint16_t hw = vu.base;
	uint32_t val = 0;

	if (!touches_uart(hw, port, size)) {
		/* Not the console: a port mhv intercepts for no model passes through. */
		return port_in(port, size);
	}
	console_lock(); /* the model is shared by every vCPU: one access at a time */
	for (unsigned i = 0; i < size; i++) {
		uint32_t p = (uint32_t)port + i;
		uint8_t b = in_uart(hw, p) ? model_in(p - hw) : inb((uint16_t)p);

		val |= (uint32_t)b << (BITS_PER_BYTE * i);
	}
	console_unlock();
	return val;
}

void vuart_out(uint16_t port, unsigned size, uint32_t val)
{
	uint16_t hw = vu.base;

	if (!touches_uart(hw, port, size)) {
		port_out(port, size, val);
		return;
	}
	console_lock();
	for (unsigned i = 0; i < size; i++) {
		uint32_t p = (uint32_t)port + i;
		uint8_t b = (uint8_t)(val >> (BITS_PER_BYTE * i));

		if (in_uart(hw, p))
			model_out(p - hw, b);
		else
			outb((uint16_t)p, b);
	}
	console_unlock();
}
