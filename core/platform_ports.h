/*
 * The platform's reset and sleep ports, which a guest must not reach: port 0x92 bit 0 (fast
 * reset), 0xCF9 (reset control), the FADT's reset register when it is an I/O port, and the
 * ACPI PM1 control blocks (SLP_EN).  Both backends intercept the ports listed here; the
 * exit core hands every access to them to this policy.  A reset request ends the run, S5 ends
 * it as a guest power-off, other sleep states are refused (see platform_ports.c).
 */
#ifndef MHV_CORE_PLATFORM_PORTS_H
#define MHV_CORE_PLATFORM_PORTS_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/* The most ports the policy intercepts (the fixed ones plus the FADT's blocks). */
#define PLATFORM_PORTS_MAX 24

/* Read the FADT's registers; call before the backends build their I/O bitmaps. */
void platform_ports_init(void);
/* The intercepted ports, one per byte; returns how many were written to ports[]. */
unsigned platform_ports_list(uint16_t *ports, unsigned max);
/* Does an access of size bytes at port touch one of them? */
bool platform_port_claims(uint16_t port, unsigned size);
uint32_t platform_port_in(uint16_t port, unsigned size);
/* May end the run (reset, power-off); otherwise the write took effect or was dropped. */
void platform_port_out(struct vcpu *v, uint16_t port, unsigned size, uint32_t val);

#endif
