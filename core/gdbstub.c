/*
 * The GDB stub's mhv side (see gdbstub.h): lib/gdb_stub.c speaks the protocol, this file gives
 * it the vCPUs as gdb's threads (thread N is vCPU N-1: registers through struct vcpu_ops,
 * memory by guest-linear address through the guest's page tables and the memory gate, the
 * debug registers) and the serial line.  The session runs on the vCPU that stopped; the others
 * are parked in their exit handlers (core/debug_park.h) and each is read and changed on its
 * own CPU.  gdb's breakpoints are loaded into every vCPU's debug registers: the parked ones at
 * once, one that was not parked (waiting for a STARTUP IPI, halted) at its next exit.
 *
 * Software breakpoints (Z0) are INT3s in guest memory, hidden from the guest (gdb_swbp.h).
 * Hardware breakpoints and watchpoints live in DR0-DR3: while gdb has any, the
 * hardware DR0-DR3 and the guest's DR7 are gdb's; the guest's own values are saved when gdb
 * takes them and put back when gdb lets go of the last one or detaches, and meanwhile the
 * guest's MOV DR exits and works on the saved values.
 *
 * The stub is a debug_stop session (core/debug_stop.h), like the monitor: every stop (gdb's
 * interrupt request, a breakpoint, a finished step, `wait`) goes through debug_stop_enter(),
 * which stops the whole guest, and gdb's `s` is debug_stop's single step (the backend's
 * vcpu_ops.single_step: the monitor trap flag, else RFLAGS.TF).  gdb's `monitor CMD` runs the
 * monitor's commands (monitor_exec).
 */
#include "core/gdbstub.h"
#include "arch/x86/cpu.h"
#include "arch/x86/debugreg.h"
#include "core/debug_park.h"
#include "core/debug_stop.h"
#include "core/monitor.h"
#include "core/msr_policy.h"
#include "arch/x86/exception.h"
#include "arch/x86/percpu_layout.h"
#include "arch/x86/smp.h"
#include "arch/x86/serial_line.h"
#include "core/gdb_swbp.h"
#include "core/guest.h"
#include "core/ioapic_guard.h"
#include "core/regs_abi.h"
#include "core/insn_fetch.h"
#include "core/mmio_exit.h"
#include "core/vcpu.h"
#include "lib/errno.h"
#include "lib/fmt.h"
#include "lib/gdb_stub.h"
#include "lib/log.h"
#include "lib/string.h"
#include "mm/guest_mem.h"

#define RFLAGS_RF	  (1ull << 16)
#define PAGE_BYTES	  4096u
#define CANONICAL_BITS_4L 48
#define CANONICAL_BITS_5L 57
#define MONITOR_LINE	  128

bool gdbstub_armed;
uint16_t gdbstub_uart;

static struct {
	uint16_t port;
	bool wait;
	struct gdb_stub stub;
	unsigned sel;	  /* the vCPU gdb's register and memory packets are about (Hg) */
	unsigned bps_gen; /* bumped when gdb's breakpoints change */
	/* Each vCPU's debug registers: the guest's own, saved while gdb's are loaded. */
	struct dbg_cpu {
		bool drs_saved;
		uint64_t guest_dr[NR_DEBUG_ADDR_REGS], guest_dr7;
		unsigned bps_gen; /* the breakpoints this vCPU has loaded */
	} cpu[HV_MAX_CPUS];
	/* Why the next stop happens: what poll() saw (0x03, a connecting gdb), the #DB's slot. */
	int signal;
	int slot;
	bool swbreak;
	bool report;
	/* Bytes taken from the line, and as of the last poll from debug_stop (an NMI of the
	 * line's pin is the debugger's when a byte came since: a session or an exit may have
	 * read it before the NMI was judged). */
	unsigned long rx_seen, rx_seen_judged;
	/* The line's reader: the session (on whichever vCPU stopped) or the boot CPU's poll. */
	bool line_busy;
} dbg;

/* ---- registers ---- */

static bool wide(void *ctx)
{
	struct vcpu *v = ctx;
	struct vcpu_segment cs;

	v->ops->get_segment(v, X86_SEG_CS, &cs);
	return (v->ops->get_efer(v) & EFER_LMA) && vcpu_seg_long_mode(&cs);
}

static uint64_t reg_get_on(struct vcpu *v, enum gdb_reg r)
{
	struct vcpu_segment s;

	if (r < GDB_NR_GPRS)
		return r == GDB_REG_RSP ? v->ops->get_rsp(v) : v->gpr[r];
	switch (r) {
	case GDB_REG_RIP:
		return v->ops->get_rip(v);
	case GDB_REG_RFLAGS:
		return v->ops->get_rflags(v);
	case GDB_REG_ES:
	case GDB_REG_CS:
	case GDB_REG_SS:
	case GDB_REG_DS:
	case GDB_REG_FS:
	case GDB_REG_GS:
		v->ops->get_segment(v, r - GDB_REG_ES, &s);
		return s.selector;
	case GDB_REG_FS_BASE:
	case GDB_REG_GS_BASE:
		v->ops->get_segment(v, r == GDB_REG_FS_BASE ? X86_SEG_FS : X86_SEG_GS, &s);
		return s.base;
	case GDB_REG_CR0:
		return v->ops->get_cr(v, 0);
	case GDB_REG_CR2:
		return v->ops->get_cr2(v);
	case GDB_REG_CR3:
		return v->ops->get_cr(v, 3);
	case GDB_REG_CR4:
		return v->ops->get_cr(v, 4);
	case GDB_REG_EFER:
		return v->ops->get_efer(v);
	default:
		return 0;
	}
}

/* FS/GS base (x86-64 layout only): any canonical address, as WRFSBASE or WRMSR would take. */
static bool set_seg_base(struct vcpu *v, unsigned seg, uint64_t base)
{
	struct vcpu_segment s;
	unsigned bits = (v->ops->get_cr(v, 4) & CR4_LA57) ? CANONICAL_BITS_5L : CANONICAL_BITS_4L;
	int64_t sign = (int64_t)(base << (64 - bits)) >> (64 - bits);

	if ((uint64_t)sign != base)
		return false;
	v->ops->get_segment(v, seg, &s);
	s.base = base;
	v->ops->set_segment(v, seg, &s);
	return true;
}

/*
 * GPRs, RIP and RFLAGS take any value (RFLAGS.VM aside).  CR0, CR3 and CR4 go through the
 * exit core's MOV-to-CR path (core/exit_cr.c) and EFER through the WRMSR policy
 * (core/msr_policy.c): a value the CPU would answer with #GP is refused, nothing changed, and
 * gdb says it could not write the register.  EFER.LMA is the CPU's, not writable.  CR2 holds
 * any address.  A selector is loaded as the guest's MOV Sreg would load it (the descriptor
 * from its GDT/LDT through the memory gate, with the CPU's checks: mmio/x86_emu_sreg.c), CS
 * only as a code segment usable at the current CPL and mode; a load the CPU would fault on is
 * refused, nothing changed.
 */
static bool reg_set_on(struct vcpu *v, enum gdb_reg r, uint64_t val)
{
	if (!wide(v))
		val = (uint32_t)val; /* a 32-bit view: the upper halves are zero there */
	if (r < GDB_NR_GPRS) {
		if (r == GDB_REG_RSP)
			v->ops->set_rsp(v, val);
		else
			v->gpr[r] = val;
		return true;
	}
	switch (r) {
	case GDB_REG_RIP:
		v->ops->set_rip(v, val);
		return true;
	case GDB_REG_RFLAGS:
		/* Bit 1 reads as 1; the VM flag would need a mode switch. */
		if ((val ^ v->ops->get_rflags(v)) & RFLAGS_VM)
			return false;
		v->ops->set_rflags(v, val | 2);
		return true;
	case GDB_REG_CR0:
		return vcpu_write_cr(v, 0, val);
	case GDB_REG_CR3:
		return vcpu_write_cr(v, 3, val);
	case GDB_REG_CR4:
		return vcpu_write_cr(v, 4, val);
	case GDB_REG_CR2:
		v->ops->set_cr2(v, val);
		return true;
	case GDB_REG_EFER:
		if ((val ^ v->ops->get_efer(v)) & EFER_LMA)
			return false;
		return msr_policy_write(v, MSR_EFER, val);
	case GDB_REG_ES:
	case GDB_REG_CS:
	case GDB_REG_SS:
	case GDB_REG_DS:
	case GDB_REG_FS:
	case GDB_REG_GS:
		return val <= UINT16_MAX &&
		       vcpu_load_segment(v, r - GDB_REG_ES, (uint16_t)val) == X86_EMU_OK;
	case GDB_REG_FS_BASE:
		return set_seg_base(v, X86_SEG_FS, val);
	case GDB_REG_GS_BASE:
		return set_seg_base(v, X86_SEG_GS, val);
	default:
		return false;
	}
}

/* ---- the selected vCPU, on its own CPU ---- */

struct reg_call {
	enum gdb_reg r;
	bool set, ok;
	uint64_t val;
};

static void reg_call(struct vcpu *v, void *arg)
{
	struct reg_call *c = arg;

	if (c->set)
		c->ok = reg_set_on(v, c->r, c->val);
	else
		c->val = reg_get_on(v, c->r);
}

/* gdb reads registers of a thread with none only as "unavailable" (thread_regs): 0 here. */
static uint64_t reg_get(void *ctx, enum gdb_reg r)
{
	struct reg_call c = {.r = r};

	return debug_park_call(ctx, dbg.sel, reg_call, &c) ? c.val : 0;
}

static bool reg_set(void *ctx, enum gdb_reg r, uint64_t val)
{
	struct reg_call c = {.r = r, .set = true, .val = val};

	return debug_park_call(ctx, dbg.sel, reg_call, &c) && c.ok;
}

/* ---- memory ---- */

static bool canonical(const struct gw_regs *regs, uint64_t la)
{
	unsigned bits = (regs->cr4 & CR4_LA57) ? CANONICAL_BITS_5L : CANONICAL_BITS_4L;
	int64_t s = (int64_t)(la << (64 - bits)) >> (64 - bits);

	return !(regs->efer & EFER_LMA) || (uint64_t)s == la;
}

void gdbstub_walk_setup(struct vcpu *v, struct gw_regs *regs, struct gw_mem *mem)
{
	vcpu_walk_setup(v, regs, mem);
	mem->write = NULL;
	regs->cpl = 0;
	regs->rflags_ac = true;
	regs->has_pkru = true;
	regs->pkru = 0;
}

/*
 * The debugger's access to guest-linear memory (gdbstub_walk_setup), and guest RAM only: a
 * device page answers like unmapped memory, so that a debugger's read has no side effect on
 * hardware.  Writes ignore CR0.WP.
 */
static unsigned debugger_mem(struct vcpu *v, uint64_t la, void *buf, unsigned len, bool write)
{
	struct gw_regs regs;
	struct gw_mem mem;
	unsigned done = 0;

	gdbstub_walk_setup(v, &regs, &mem);
	if (write)
		regs.cr0 &= ~CR0_WP;
	while (done < len) {
		uint64_t addr = la + done;
		unsigned chunk = MIN(len - done, PAGE_BYTES - (unsigned)(addr & (PAGE_BYTES - 1)));
		struct gw_result r;

		if (addr < la || !canonical(&regs, addr) ||
		    guest_walk(&regs, &mem, addr, write ? GW_WRITE : 0, &r) ||
		    !gdb_swbp_debugger_ram(r.gpa) ||
		    guest_mem_access(guest_gate(), r.gpa, (uint8_t *)buf + done, chunk,
				     write ? GMEM_WRITE : 0, v->ops->get_rip(v)) < 0)
			break;
		if (write) /* gdb's INT3s stay over what it wrote; it reads the bytes under them */
			gdb_swbp_written(r.gpa, (uint8_t *)buf + done, chunk);
		else
			gdb_swbp_hide(r.gpa, (uint8_t *)buf + done, chunk);
		done += chunk;
	}
	return done;
}

struct mem_call {
	uint64_t la;
	void *buf;
	unsigned len, done;
	bool write;
};

static void mem_call(struct vcpu *v, void *arg)
{
	struct mem_call *c = arg;

	c->done = debugger_mem(v, c->la, c->buf, c->len, c->write);
}

/* Through the selected vCPU's page tables; one with no state to show lends the session's. */
static unsigned mem_access(void *ctx, uint64_t la, void *buf, unsigned len, bool write)
{
	struct mem_call c = {la, buf, len, 0, write};

	if (!debug_park_call(ctx, dbg.sel, mem_call, &c))
		mem_call(ctx, &c);
	return c.done;
}

static unsigned mem_read(void *ctx, uint64_t la, void *buf, unsigned len)
{
	return mem_access(ctx, la, buf, len, false);
}

static unsigned mem_write(void *ctx, uint64_t la, const void *buf, unsigned len)
{
	return mem_access(ctx, la, (void *)buf, len, true);
}

/* ---- debug registers ---- */

static struct dbg_cpu *dbg_cpu(const struct vcpu *v)
{
	return &dbg.cpu[v->cpu];
}

static void intercept_db(struct vcpu *v)
{
	/* debug_stop's single step arms its own #DB intercept when it needs one. */
	v->ops->set_exception_intercept(v, VEC_DB, dbg_cpu(v)->drs_saved);
	v->ops->set_mov_dr_intercept(v, dbg_cpu(v)->drs_saved);
}

/* Load gdb's breakpoints into this vCPU's debug registers (on its own CPU). */
static void load_bps(struct vcpu *v, void *arg)
{
	const struct gdb_hwbps *bps = &dbg.stub.bps;
	struct dbg_cpu *c = dbg_cpu(v);

	(void)arg;
	if (gdb_hwbp_any(bps)) {
		if (!c->drs_saved) {
			for (unsigned i = 0; i < NR_DEBUG_ADDR_REGS; i++)
				c->guest_dr[i] = read_dr_addr(i);
			c->guest_dr7 = v->ops->get_dr7(v);
			c->drs_saved = true;
		}
		for (unsigned i = 0; i < NR_DEBUG_ADDR_REGS; i++)
			write_dr_addr(i, bps->slot[i].used ? bps->slot[i].addr : 0);
		v->ops->set_dr7(v, gdb_hwbp_dr7(bps));
	} else if (c->drs_saved) {
		for (unsigned i = 0; i < NR_DEBUG_ADDR_REGS; i++)
			write_dr_addr(i, c->guest_dr[i]);
		v->ops->set_dr7(v, c->guest_dr7);
		c->drs_saved = false;
	}
	c->bps_gen = dbg.bps_gen;
	intercept_db(v);
}

/* Every parked vCPU now; the others at their next exit (gdbstub_poll). */
static void debug_regs(void *ctx, const struct gdb_hwbps *bps)
{
	(void)bps; /* dbg.stub.bps */
	dbg.bps_gen++;
	for (unsigned cpu = 0; cpu < smp_nr_vcpus() && cpu < HV_MAX_CPUS; cpu++)
		debug_park_call(ctx, cpu, load_bps, NULL);
}

/* ---- the guest's own debug registers while gdb holds them ---- */

#define DR_ALIAS_FIRST 4 /* DR4/DR5: DR6/DR7 when CR4.DE is clear */
#define DR_ALIAS_SHIFT 2
#define DR_STATUS      6
#define DR_CONTROL     7

static uint64_t guest_dr_get(struct vcpu *v, unsigned dr)
{
	if (dr < NR_DEBUG_ADDR_REGS)
		return dbg_cpu(v)->drs_saved ? dbg_cpu(v)->guest_dr[dr] : read_dr_addr(dr);
	if (dr == DR_STATUS)
		return v->ops->get_dr6(v);
	return dbg_cpu(v)->drs_saved ? dbg_cpu(v)->guest_dr7 : v->ops->get_dr7(v);
}

uint64_t gdbstub_guest_dr(struct vcpu *v, unsigned dr)
{
	return guest_dr_get(v, dr);
}

static void guest_dr_set(struct vcpu *v, unsigned dr, uint64_t val)
{
	if (dr < NR_DEBUG_ADDR_REGS) {
		if (dbg_cpu(v)->drs_saved)
			dbg_cpu(v)->guest_dr[dr] = val;
		else
			write_dr_addr(dr, val);
	} else if (dr == DR_STATUS) {
		v->ops->set_dr6(v, val);
	} else if (dbg_cpu(v)->drs_saved) {
		dbg_cpu(v)->guest_dr7 = val;
	} else {
		v->ops->set_dr7(v, val);
	}
}

/* What the CPU checks for MOV DR (SDM: MOV--Move to/from Debug Registers): CPL 0, DR4/DR5 only
 * without CR4.DE, no bits above 31 in DR6/DR7.  General detect (DR7.GD) is not modelled. */
enum exit_next vcpu_exit_mov_dr(struct vcpu *v, unsigned dr, bool to_dr, unsigned gpr)
{
	bool wide_mode = wide(v);
	uint64_t val;

	v->exits[EXIT_KIND_OTHER]++;
	if (v->ops->get_cpl(v) != 0) {
		v->ops->inject_exception(v, VEC_GP, true, 0);
		return EXIT_NEXT_RETRY;
	}
	if (dr >= DR_ALIAS_FIRST && dr < DR_STATUS) {
		if (v->ops->get_cr(v, 4) & CR4_DE) {
			v->ops->inject_exception(v, VEC_UD, false, 0);
			return EXIT_NEXT_RETRY;
		}
		dr += DR_ALIAS_SHIFT;
	}
	if (dr > DR_CONTROL || gpr >= NR_GPRS) {
		v->ops->inject_exception(v, VEC_UD, false, 0);
		return EXIT_NEXT_RETRY;
	}
	if (!to_dr) {
		val = guest_dr_get(v, dr);
		if (!wide_mode)
			val = (uint32_t)val;
		if (gpr == GPR_RSP)
			v->ops->set_rsp(v, val);
		else
			v->gpr[gpr] = val;
		return EXIT_NEXT_SKIP;
	}
	val = vcpu_gpr(v, gpr);
	if (!wide_mode)
		val = (uint32_t)val;
	if (dr >= DR_STATUS && (val >> 32)) {
		v->ops->inject_exception(v, VEC_GP, true, 0);
		return EXIT_NEXT_RETRY;
	}
	guest_dr_set(v, dr, val);
	return EXIT_NEXT_SKIP;
}

/* ---- the line ---- */

static void line_write(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	serial_line_write(dbg.port, s, n);
}

/* The line has no end: a gdb that went away leaves the guest stopped until one reconnects. */
static int line_getc(void *ctx)
{
	(void)ctx;
	dbg.rx_seen++;
	return serial_line_getc(dbg.port);
}

/* ---- monitor commands ---- */

/* A monitor command's output line on gdb's console (ctx: the stub). */
static void __printf(2, 3) mon_print(void *ctx, const char *fmt, ...)
{
	char line[MONITOR_LINE];
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	gdb_stub_console(ctx, line);
}

/*
 * gdb's `monitor CMD`: the monitor's commands (core/monitor.h), their output on gdb's console;
 * `monitor gdb` adds the stub's own state.  The guest's next move stays gdb's (continue,
 * stepi): the monitor's step and continue are refused here.
 */
static void monitor(void *ctx, struct gdb_stub *s, const char *cmd)
{
	struct vcpu *v = ctx;
	char line[MONITOR_LINE];

	if (!strcmp(cmd, "gdb")) {
		mon_print(s, "mhv gdb stub on port 0x%x, vCPU %u: %s, bad packets %lu\n", dbg.port,
			  v->cpu,
			  dbg_cpu(v)->drs_saved ? "owns DR0-DR3/DR7" : "no debug registers in use",
			  dbg.stub.stats_bad_packets);
		gdb_swbp_describe(line, sizeof(line));
		mon_print(s, "software breakpoints: %s\n", line);
		return;
	}
	if (!strcmp(cmd, "step") || !strcmp(cmd, "s") || !strcmp(cmd, "continue") ||
	    !strcmp(cmd, "c")) {
		mon_print(s, "under gdb, use gdb's stepi and continue\n");
		return;
	}
	if (strlen(cmd) >= sizeof(line)) {
		mon_print(s, "monitor command too long\n");
		return;
	}
	memcpy(line, cmd, strlen(cmd) + 1);
	if (!cmd[0] || !strcmp(cmd, "help"))
		mon_print(s, "mhv monitor commands: the break-in monitor's (below), and gdb (the "
			     "stub's state)\n");
	monitor_exec(v, line, mon_print, s, NULL);
}

/* ---- threads: the vCPUs ---- */

static unsigned threads(void *ctx)
{
	(void)ctx;
	return MIN(smp_nr_vcpus(), (unsigned)HV_MAX_CPUS);
}

static bool select_thread(void *ctx, unsigned tid)
{
	if (tid < 1 || tid > threads(ctx))
		return false;
	dbg.sel = tid - 1;
	return true;
}

static bool thread_regs(void *ctx)
{
	const struct vcpu *v = ctx;

	return dbg.sel == v->cpu || debug_park_vcpu(dbg.sel);
}

static void thread_info(void *ctx, unsigned tid, char *buf, size_t size)
{
	const struct vcpu *v = ctx;
	unsigned cpu = tid - 1;
	const char *what;

	if (cpu == v->cpu || debug_park_vcpu(cpu))
		what = "stopped";
	else if (smp_vcpu_state(cpu) == SMP_VCPU_WAIT_SIPI)
		what = "waiting for SIPI, not started";
	else if (smp_vcpu_state(cpu) == SMP_VCPU_HALTED)
		what = "halted with interrupts off, registers not shown";
	else
		what = "did not stop, registers not shown";
	fmt_snprintf(buf, size, "vCPU %u (APIC id %u), %s", cpu, smp_vcpu_apic_id(cpu), what);
}

static int sw_break(void *ctx, uint64_t la, bool insert)
{
	return insert ? gdb_swbp_insert(ctx, la) : gdb_swbp_remove(ctx, la);
}

static void sw_clear(void *ctx)
{
	gdb_swbp_clear(ctx);
}

static const struct gdb_target target = {
	.sw_break = sw_break,
	.sw_clear = sw_clear,
	.wide = wide,
	.reg_get = reg_get,
	.reg_set = reg_set,
	.mem_read = mem_read,
	.mem_write = mem_write,
	.debug_regs = debug_regs,
	.write = line_write,
	.getc = line_getc,
	.monitor = monitor,
	.threads = threads,
	.select_thread = select_thread,
	.thread_regs = thread_regs,
	.thread_info = thread_info,
};

/* ---- stopping and resuming ---- */

static bool exec_breakpoint_at(uint64_t rip)
{
	for (unsigned i = 0; i < GDB_HWBP_SLOTS; i++) {
		const struct gdb_hwbp *b = &dbg.stub.bps.slot[i];

		if (b->used && (b->type == GDB_BP_SOFT || b->type == GDB_BP_HARD) && b->addr == rip)
			return true;
	}
	return false;
}

/* gdb's answer becomes debug_stop's: continue, or one step (detach: the guest runs on). */
static enum debug_resume resume(struct vcpu *v, enum gdb_action a)
{
	uint64_t fl = v->ops->get_rflags(v);

	/* RF: the instruction breakpoint gdb stopped at does not fire again on the way out. */
	if (a != GDB_DETACH && exec_breakpoint_at(v->ops->get_rip(v)))
		v->ops->set_rflags(v, fl | RFLAGS_RF);
	intercept_db(v);
	/* An INT3 of gdb's at RIP: the original instruction runs first (gdb_swbp.h). */
	if (a != GDB_DETACH && gdb_swbp_step_over(v, a == GDB_CONTINUE))
		return DEBUG_RESUME_STEP;
	if (a == GDB_DETACH)
		pr_info("mhv: gdb: detached, the guest runs on\n");
	if (a == GDB_STEP && dbg.stub.step_thread)
		debug_stop_step_cpu(dbg.stub.step_thread - 1);
	return a == GDB_STEP ? DEBUG_RESUME_STEP : DEBUG_RESUME_CONTINUE;
}

/* The debug_stop session, on the vCPU that stopped (the others are parked while it runs). */
static enum debug_resume gdb_session_run(struct vcpu *v, enum debug_stop_reason why)
{
	struct gdb_stop stop = {.signal = GDB_SIGTRAP, .slot = -1, .thread = v->cpu + 1};
	bool report = true, quiet_step;
	enum debug_resume next;

	/* A step of gdb_swbp's own ended (the INT3s are back): the guest continues. */
	quiet_step = gdb_swbp_fetch_step_done(v, why == DEBUG_STOP_STEP);
	if (gdb_swbp_step_over_done(v, why == DEBUG_STOP_STEP) || quiet_step)
		return DEBUG_RESUME_CONTINUE;
	if (why == DEBUG_STOP_BREAK) {
		stop.signal = dbg.signal;
		report = dbg.report;
	} else if (why == DEBUG_STOP_BREAKPOINT) {
		stop.slot = dbg.slot;
		stop.swbreak = dbg.swbreak;
	}
	/* The console's break-in sequence is an interrupt request too. */
	dbg.signal = GDB_SIGINT;
	dbg.report = true;
	dbg.stub.ctx = v;
	while (__atomic_exchange_n(&dbg.line_busy, true, __ATOMIC_ACQUIRE))
		cpu_relax(); /* the boot CPU is in poll_line() */
	next = resume(v, gdb_stub_stopped(&dbg.stub, &stop, report));
	__atomic_store_n(&dbg.line_busy, false, __ATOMIC_RELEASE);
	return next;
}

/* gdb's 0x03 or a connecting gdb on the line asks debug_stop for a stop. */
static void poll_line(void)
{
	enum gdb_action a;

	if (!serial_line_ready(dbg.port) ||
	    __atomic_exchange_n(&dbg.line_busy, true, __ATOMIC_ACQUIRE))
		return;
	a = gdb_stub_feed(&dbg.stub, (uint8_t)line_getc(NULL));
	__atomic_store_n(&dbg.line_busy, false, __ATOMIC_RELEASE);
	if (a == GDB_BREAK) {
		dbg.signal = GDB_SIGINT;
		dbg.report = true;
		debug_stop_request();
	} else if (dbg.stub.rx != RX_IDLE) { /* gdb connects: serve it stopped */
		gdb_stub_late_connect(&dbg.stub);
		dbg.signal = GDB_SIGTRAP;
		dbg.report = false;
		debug_stop_request();
	}
}

/* Where debug_stop polls (the VMX preemption timer, an NMI): true when a byte came since. */
static bool gdb_session_poll(void)
{
	bool came;

	poll_line();
	came = dbg.rx_seen != dbg.rx_seen_judged;
	dbg.rx_seen_judged = dbg.rx_seen;
	return came;
}

/*
 * SVM (and VT-x without the preemption timer): the stub's UART raises its ISA line for each
 * received byte and that IOAPIC pin becomes an NMI to the boot CPU, so gdb's Ctrl-C reaches a
 * guest spinning without exits.  The guest never sees this UART, so its pin is mhv's alone
 * (on a PC COM2 shares IRQ 3 with COM4: a guest's COM4 then has no interrupt).
 */
static bool gdb_session_route_nmi(void)
{
	int irq = serial_line_isa_irq(dbg.port);

	if (irq < 0 || !ioapic_guard_claim_debugger_pin((unsigned)irq)) {
		pr_warn("mhv: gdb: the UART at 0x%x has no IOAPIC pin mhv can take: Ctrl-C stops "
			"the guest at its next exit\n",
			dbg.port);
		return false;
	}
	serial_line_irq_on_receive(dbg.port);
	return true;
}

const struct debug_session gdb_session = {
	.name = "gdb",
	.run = gdb_session_run,
	.poll = gdb_session_poll,
	.route_nmi = gdb_session_route_nmi,
	.resumed = gdb_swbp_sync,
	.boot_cpu_only = true,
};

/* ---- entry points ---- */

bool gdbstub_init(uint16_t port, uint32_t baud, bool wait)
{
	if (serial_line_init(port, baud)) {
		pr_err("mhv: gdb: no UART at port 0x%x: the GDB stub is off\n", port);
		return false;
	}
	dbg.port = port;
	dbg.wait = wait;
	gdbstub_uart = port;
	gdb_stub_init(&dbg.stub, &target, NULL);
	dbg.signal = GDB_SIGINT;
	dbg.report = true;
	gdbstub_armed = true;
	pr_info("mhv: gdb: GDB stub on the UART at port 0x%x%s\n", port,
		wait ? ", waiting for gdb before the guest's first instruction" : "");
	return true;
}

void gdbstub_guest_port_access(uint16_t port, bool write)
{
	static bool told;

	if (told)
		return;
	told = true;
	pr_warn("mhv: gdb: the guest %s port 0x%x of the debugger's UART: it finds no device "
		"there (reported once)\n",
		write ? "wrote" : "read", port);
}

void gdbstub_start(struct vcpu *v)
{
	if (!gdbstub_armed || v->cpu || !dbg.wait)
		return;
	log_flush();
	dbg.signal = GDB_SIGTRAP;
	dbg.report = false;
	debug_stop_enter(v, DEBUG_STOP_BREAK);
}

void gdbstub_poll(struct vcpu *v)
{
	/* gdb's breakpoints changed while this vCPU was not parked. */
	if (unlikely(dbg_cpu(v)->bps_gen != dbg.bps_gen))
		load_bps(v, NULL);
	gdb_swbp_sync(v);
	if (v->cpu)
		return;
	poll_line();
}

/*
 * Which of the debugger's slots a #DB with no DR6 status bit at all is for (an emulator that
 * does not report them for an intercepted #DB, as Bochs' SVM): an execute breakpoint at RIP,
 * else the first watchpoint (gdb checks watched values itself).
 */
static int slot_without_status(struct vcpu *v)
{
	int data = -1;

	for (int i = 0; i < GDB_HWBP_SLOTS; i++) {
		const struct gdb_hwbp *b = &dbg.stub.bps.slot[i];

		if (!b->used)
			continue;
		if (b->type == GDB_BP_SOFT || b->type == GDB_BP_HARD) {
			if (b->addr == v->ops->get_rip(v))
				return i;
		} else if (data < 0) {
			data = i;
		}
	}
	return data;
}

/*
 * The slot named by DR6 is the debugger's only while the debug registers still hold what the
 * debugger put there (the guest may have loaded its own since), and an execute breakpoint only
 * at its own address.
 */
static int debugger_slot(struct vcpu *v, uint64_t dr6)
{
	int slot;
	const struct gdb_hwbp *b;

	if (!dbg_cpu(v)->drs_saved || v->ops->get_dr7(v) != gdb_hwbp_dr7(&dbg.stub.bps))
		return -1;
	slot = (dr6 & (DR6_B_MASK | DR6_BS)) ? gdb_hwbp_hit(&dbg.stub.bps, dr6)
					      : slot_without_status(v);
	if (slot < 0)
		return -1;
	b = &dbg.stub.bps.slot[slot];
	if (read_dr_addr((unsigned)slot) != b->addr)
		return -1;
	if ((b->type == GDB_BP_SOFT || b->type == GDB_BP_HARD) && v->ops->get_rip(v) != b->addr)
		return -1;
	return slot;
}

bool vcpu_exit_db(struct vcpu *v, uint64_t dr6)
{
	int slot;

	if (!gdbstub_armed)
		return false;
	slot = debugger_slot(v, dr6);
	if (slot < 0)
		return false;
	v->exits[EXIT_KIND_EXCEPTION]++;
	gdbstub_breakpoint_stop(v, slot, false);
	return true;
}

void gdbstub_breakpoint_stop(struct vcpu *v, int slot, bool sw)
{
	dbg.slot = slot;
	dbg.swbreak = sw;
	/* An INT3's stop runs at the exit's tail (the NMIs gdb's line raises while the session
	 * runs are taken there, not left for the guest). */
	if (sw)
		debug_stop_request_breakpoint(v->cpu);
	else
		debug_stop_enter(v, DEBUG_STOP_BREAKPOINT);
}
