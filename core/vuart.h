/*
 * The guest's view of mhv's console UART.  When mhv logs to a UART the guest also uses
 * (COM1 by default), the guest's accesses to it are virtualised: its output is collected
 * into lines and written between mhv's own lines, so the two never interleave mid-line, and
 * filtered so that no guest line reads or displays as one of mhv's (lib/console_mux.h).
 * Input (RBR, LSR.DR) comes from the real UART through the break-in detector
 * (core/debug_stop.h).  Other UARTs are passed through untouched.
 */
#ifndef MHV_CORE_VUART_H
#define MHV_CORE_VUART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VUART_NR_PORTS 8

/*
 * base = the console UART's port, or 0 for none (the guest then owns every UART);
 * mark_all_guest_lines = console_guest_prefix=on.
 */
void vuart_init(uint16_t base, bool mark_all_guest_lines);
/* mhv's log sink: every byte mhv prints goes through here. */
void vuart_host_write(const char *s, size_t n);
uint16_t vuart_base(void);
uint32_t vuart_in(uint16_t port, unsigned size);
void vuart_out(uint16_t port, unsigned size, uint32_t val);
/* A debug session owns the console (core/debug_stop.h): hold guest lines until false. */
void vuart_hold(bool hold);
/*
 * The break-in took the UART line's IOAPIC pin (ISA irq): the real IER keeps host_ier (mhv's
 * receive enable) whatever the guest programs, and the model's interrupts reach a guest that
 * does not use the PIC for that line through ioapic_guard_forward_console_irq().
 */
void vuart_route_to_pin(unsigned irq, uint8_t host_ier);
/* The model has an interrupt for the guest (enabled and pending). */
bool vuart_irq_pending(void);
/* Write out a partial guest line (before mhv prints its last lines at the end of a run). */
void vuart_flush(void);

#endif
