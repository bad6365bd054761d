/* Break-in and the stopped-guest loop: see debug_stop.h. */
#include "core/debug_stop.h"
#include "arch/x86/cpu.h"
#include "arch/x86/exception.h"
#include "arch/x86/serial_line.h"
#include "arch/x86/smp.h"
#include "arch/x86/uart16550.h"
#include "core/debug_park.h"
#include "core/ioapic_guard.h"
#include "core/vcpu.h"
#include "core/vuart.h"
#include "lib/fmt.h"
#include "lib/log.h"

#define RX_QUEUE_SIZE 256 /* power of two */
#define ASCII_SPACE   0x20
#define CTRL_TO_CARET 0x40 /* 0x1D (Ctrl-]) shows as "^]" */
#define PRINT_MAX     256
#define NO_STEP_CPU   (~0u)

volatile bool debug_stop_wanted;

static struct {
	bool armed;
	struct break_seq seq;
	bool break_pending;
	enum debug_stop_reason break_why; /* DEBUG_STOP_BREAK, or a session's breakpoint */
	unsigned break_cpu;		  /* ... hit by this vCPU, which takes it */
	bool session_open; /* the console belongs to the session: the pump leaves the UART alone */
	bool busy;	   /* a CPU runs a session (one at a time; SMP) */
	unsigned owner;	   /* ... this one: the other vCPUs wait at their next exit */
	bool stepping;
	uint64_t step_rip;
	unsigned step_cpu;
	unsigned step_want; /* the vCPU the session asked to step (NO_STEP_CPU: its own) */
	const struct debug_session *session;
	const char *mechanism;
	/* The guest's receive queue: bytes that were not (part of) the break-in sequence. */
	uint8_t rx[RX_QUEUE_SIZE];
	unsigned rx_head, rx_tail; /* free-running */
	unsigned long rx_seen;	   /* bytes the pump took from the UART */
	unsigned long rx_seen_nmi; /* ... as of the last NMI judged */
	unsigned long rx_dropped;
} ds;

void debug_stop_init(const struct break_seq *seq)
{
	ds.armed = seq != NULL;
	if (seq)
		ds.seq = *seq;
}

void debug_stop_set_session(const struct debug_session *s)
{
	ds.session = s;
}

void debug_stop_set_mechanism(const char *what)
{
	char text[2 * BREAK_SEQ_MAX + 1];
	unsigned n = 0;

	ds.mechanism = what;
	if (ds.session && ds.session->poll)
		pr_info("mhv: %s: its interrupt request stops the guest (polled by %s)\n",
			ds.session->name, what);
	if (!ds.armed)
		return;
	for (unsigned i = 0; i < ds.seq.len; i++) {
		uint8_t c = ds.seq.seq[i];

		if (c < ASCII_SPACE) {
			text[n++] = '^';
			c += CTRL_TO_CARET;
		}
		text[n++] = (char)c;
	}
	text[n] = '\0';
	pr_info("mhv: %s: type %s on the console to stop the guest (break-in by %s)\n",
		ds.session ? ds.session->name : "monitor", text, what);
}

bool debug_break_armed(void)
{
	return ds.session && (ds.armed || ds.session->poll);
}

#define IER_RX 0x01

bool debug_stop_route_nmi(void)
{
	uint16_t port = uart_port();
	int irq = serial_line_isa_irq(port);
	/* A session on a line of its own (gdb=) takes that line's pin too (core/gdbstub.h). */
	bool session_pin = ds.session && ds.session->route_nmi && ds.session->route_nmi();

	if (!ds.armed) {
		debug_stop_set_mechanism(session_pin ? "its UART's receive interrupt as NMI (IOAPIC pin)"
						     : "the guest's exits only");
		return session_pin;
	}
	if (irq < 0 || !ioapic_guard_claim_console_pin((unsigned)irq)) {
		pr_warn("mhv: break-in: the console UART at 0x%x has no IOAPIC pin mhv can take: "
			"the break-in works only when the guest exits\n",
			port);
		return false;
	}
	vuart_route_to_pin((unsigned)irq, IER_RX);
	debug_stop_set_mechanism("UART receive interrupt as NMI (IOAPIC pin)");
	return true;
}

bool debug_stepping(void)
{
	return ds.stepping;
}

static void rx_push(const uint8_t *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (ds.rx_tail - ds.rx_head == RX_QUEUE_SIZE) {
			ds.rx_dropped++; /* the guest does not read its input: as a UART's overrun */
			continue;
		}
		ds.rx[ds.rx_tail++ % RX_QUEUE_SIZE] = b[i];
	}
}

void debug_input_pump(void)
{
	uint8_t release[BREAK_SEQ_MAX];
	unsigned n;
	int c;

	if (ds.session_open)
		return;
	console_lock();
	while ((c = uart_getc()) >= 0) {
		ds.rx_seen++;
		if (!ds.armed) {
			uint8_t b = (uint8_t)c;
			rx_push(&b, 1);
			continue;
		}
		switch (break_seq_feed(&ds.seq, (uint8_t)c, release, &n)) {
		case BREAK_PASS:
			rx_push(release, n);
			break;
		case BREAK_HELD:
			break;
		case BREAK_MATCH:
			ds.break_pending = true;
			debug_stop_wanted = true;
			break;
		}
	}
	console_unlock();
}

bool debug_stop_begin_step(struct vcpu *v)
{
	if (ds.stepping || !ds.session || !v->ops->single_step || !v->ops->single_step(v, true))
		return false;
	ds.stepping = true;
	ds.step_rip = v->ops->get_rip(v);
	ds.step_cpu = v->cpu;
	debug_stop_wanted = true;
	return true;
}

void debug_stop_request_breakpoint(unsigned cpu)
{
	ds.break_cpu = cpu;
	ds.break_why = DEBUG_STOP_BREAKPOINT;
	ds.break_pending = true;
	debug_stop_wanted = true;
}

void debug_stop_request(void)
{
	ds.break_pending = true;
	debug_stop_wanted = true;
}

static bool session_poll(void)
{
	return ds.session && ds.session->poll && !ds.session_open && ds.session->poll();
}

bool debug_input_ready(void)
{
	debug_input_pump();
	return ds.rx_tail != ds.rx_head;
}

uint8_t debug_input_pop(void)
{
	if (!debug_input_ready())
		return 0;
	return ds.rx[ds.rx_head++ % RX_QUEUE_SIZE];
}

bool debug_stop_nmi(struct vcpu *v)
{
	bool ours;

	(void)v;
	if (!debug_break_armed())
		return false;
	/*
	 * The line rises only for received bytes (vuart_route_to_pin).  The NMI is the console's
	 * when the UART still signals, or when a byte arrived since the last NMI judged (another
	 * path may have taken it first: a guest polling LSR).  A guest NMI that comes together
	 * with a keystroke merges with it, as two NMIs do.
	 */
	ours = uart_irq_pending();
	debug_input_pump();
	ours = session_poll() || ours;
	console_lock();
	ours = ours || ds.rx_seen != ds.rx_seen_nmi;
	ds.rx_seen_nmi = ds.rx_seen;
	console_unlock();
	if (ours && vuart_irq_pending())
		ioapic_guard_forward_console_irq();
	return ours;
}

void debug_stop_poll(struct vcpu *v)
{
	(void)v;
	debug_input_pump();
	session_poll();
}

static void step_off(struct vcpu *v)
{
	if (ds.stepping && v->ops->single_step)
		v->ops->single_step(v, false);
	ds.stepping = false;
}

static void step_off_call(struct vcpu *v, void *arg)
{
	(void)arg;
	step_off(v);
}

/* Arm the single step on this vCPU (run on its own CPU); *arg: it has a mechanism. */
static void step_on_call(struct vcpu *v, void *arg)
{
	bool *ok = arg;

	*ok = v->ops->single_step && v->ops->single_step(v, true);
	if (!*ok)
		return;
	ds.stepping = true;
	ds.step_rip = v->ops->get_rip(v);
	ds.step_cpu = v->cpu;
}

void debug_stop_step_cpu(unsigned cpu)
{
	ds.step_want = cpu;
}

bool debug_stop_step_trap(struct vcpu *v)
{
	if (!ds.stepping || v->cpu != ds.step_cpu)
		return false;
	step_off(v);
	debug_stop_enter(v, DEBUG_STOP_STEP);
	return true;
}

/* Another vCPU runs a session: this one waits in its exit handler until the session ends. */
static void park(struct vcpu *v)
{
	/* Kicked here by an NMI exit (VT-x): NMIs stay blocked until an IRET, and the vCPU would
	 * go back to the guest without one (the kick's usual end, INIT or the run's end, takes
	 * NMIs in mhv). */
	smp_unblock_nmis();
	debug_park_begin(v); /* the session may read and change this vCPU meanwhile */
	while (__atomic_load_n(&ds.busy, __ATOMIC_ACQUIRE)) {
		smp_poll_run_end(v->cpu); /* the session may end the run */
		debug_park_serve(v);
		cpu_relax();
	}
	debug_park_end(v);
	/* The kick that stopped the guest may have reached this CPU in mhv (an exit under way),
	 * not as an NMI exit: that NMI was mhv's, not one for the guest (VT-x would inject it). */
	if (smp_take_kick(v->cpu))
		nmi_pending[v->cpu] = false;
	if (ds.session && ds.session->resumed)
		ds.session->resumed(v);
}

void debug_stop_tail_slow(struct vcpu *v)
{
	if (__atomic_load_n(&ds.busy, __ATOMIC_ACQUIRE) && ds.owner != v->cpu) {
		park(v);
		return;
	}
	if (ds.break_pending && (ds.break_why == DEBUG_STOP_BREAKPOINT ? v->cpu == ds.break_cpu :
				 !ds.session || !ds.session->boot_cpu_only || v->cpu == 0)) {
		enum debug_stop_reason why = ds.break_why;

		ds.break_why = DEBUG_STOP_BREAK;
		debug_stop_enter(v, why);
		return;
	}
	/* An instruction mhv completed in an exit (I/O, MMIO, CPUID) ends a step too: the CPU's
	 * trap never comes for it. */
	if (ds.stepping && v->cpu == ds.step_cpu && v->ops->get_rip(v) != ds.step_rip) {
		step_off(v);
		debug_stop_enter(v, DEBUG_STOP_STEP);
	}
}

void debug_stop_enter(struct vcpu *v, enum debug_stop_reason why)
{
	enum debug_resume next;

	/* One session at a time: a second vCPU that saw the same break-in goes on running. */
	if (__atomic_exchange_n(&ds.busy, true, __ATOMIC_ACQ_REL))
		return;
	ds.owner = v->cpu;
	ds.break_pending = false;
	if (!ds.stepping || ds.step_cpu == v->cpu)
		step_off(v);
	if (!ds.session) {
		step_off(v);
		debug_stop_wanted = false;
		__atomic_store_n(&ds.busy, false, __ATOMIC_RELEASE);
		return;
	}
	/* The whole guest stops: every other vCPU running it exits and waits (park). */
	debug_stop_wanted = true;
	smp_kick_running_others(v->cpu);
	debug_park_wait_others(v->cpu);
	/* Another vCPU's step stopped by this one: its trap is not wanted any more. */
	if (ds.stepping && !debug_park_call(v, ds.step_cpu, step_off_call, NULL))
		ds.stepping = false;
	vuart_hold(true);
	ds.session_open = true;
	for (;;) {
		bool stepped = false;
		unsigned cpu;

		ds.step_want = NO_STEP_CPU;
		next = ds.session->run(v, why);
		if (next != DEBUG_RESUME_STEP)
			break;
		cpu = ds.step_want == NO_STEP_CPU ? v->cpu : ds.step_want;
		if (debug_park_call(v, cpu, step_on_call, &stepped) && stepped)
			break;
		if (debug_park_vcpu(cpu) || cpu == v->cpu)
			debug_printf("step: this CPU offers no single-step mechanism\n");
		else
			debug_printf("step: vCPU %u is not stopped in mhv (not started, or halted)\n",
				     cpu);
		why = DEBUG_STOP_STEP;
	}
	ds.session_open = false;
	vuart_hold(false);
	debug_stop_wanted = ds.stepping || ds.break_pending;
	__atomic_store_n(&ds.busy, false, __ATOMIC_RELEASE);
}

int debug_getc(void)
{
	int c;

	while ((c = uart_getc()) < 0)
		cpu_relax();
	return c;
}

void debug_write(const char *s, unsigned n)
{
	console_lock();
	vuart_host_write(s, n);
	console_unlock();
}

void debug_vprintf(const char *fmt, va_list ap)
{
	char buf[PRINT_MAX];
	int n = fmt_vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	if (n > 0)
		debug_write(buf, (unsigned)n);
}

void debug_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	debug_vprintf(fmt, ap);
	va_end(ap);
}
