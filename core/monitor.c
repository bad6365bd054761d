/* The break-in monitor: see monitor.h. */
#include "core/monitor.h"
#include "arch/x86/smp.h"
#include "core/debug_park.h"
#include "core/guest.h"
#include "core/insn_fetch.h"
#include "core/mmio_setup.h"
#include "core/regs_abi.h"
#include "core/run_end.h"
#include "core/vcpu.h"
#include "core/vuart.h"
#include "lib/errno.h"
#include "lib/fmt.h"
#include "lib/log.h"
#include "lib/monitor_cmd.h"
#include "lib/monitor_line.h"
#include "lib/string.h"
#include "mm/guest_mem.h"
#include "mm/guest_walk.h"
#include "core/hypercall_abi.h"

#define DUMP_DEFAULT   64
#define DUMP_MAX       4096
#define DUMP_PER_LINE  16
#define PAGE_SIZE_4K   4096ull
#define PAGE_MASK_4K   (PAGE_SIZE_4K - 1)
#define PTE_PRESENT    (1ull << 0)
#define PTE_PS	       (1ull << 7)
#define PTE_ADDR_MASK  0x000FFFFFFFFFF000ull
#define PTE32_ADDR     0xFFFFF000u
#define PDPTE_PAE_BASE 0xFFFFFFE0u
#define ASCII_FIRST    0x20
#define ASCII_LAST     0x7E
#define NR_SEGS	       6
#define NR_SYSSEGS     4
#define CR_NONE	       0xFF

static const char *const gpr_names[NR_GPRS] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp",
					       "rsi", "rdi", "r8",  "r9",  "r10", "r11",
					       "r12", "r13", "r14", "r15"};
static const char *const seg_names[NR_SEGS] = {"es", "cs", "ss", "ds", "fs", "gs"};
static const char *const sysseg_names[NR_SYSSEGS] = {"gdtr", "idtr", "ldtr", "tr"};

/* The stopped vCPU and what the session decided. */
static struct {
	struct vcpu *v;
	bool leave;
	enum debug_resume next;
} mon;

static void __printf(2, 3) mon_print(void *ctx, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	va_start(ap, fmt);
	debug_vprintf(fmt, ap);
	va_end(ap);
}

static void mon_echo(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	debug_write(s, (unsigned)n);
}

static uint64_t gpr(struct vcpu *v, unsigned i)
{
	return i == GPR_RSP ? v->ops->get_rsp(v) : v->gpr[i];
}

/* One vCPU's registers, on its own CPU (debug_park_call). */
static void print_regs(struct vcpu *v, void *arg)
{
	const struct mon_ctx *m = arg;
	struct vcpu_segment s;
	struct vcpu_debug_state d;

	for (unsigned i = 0; i < NR_GPRS; i += 4)
		m->print(m->ctx, "%-3s=%016lx %-3s=%016lx %-3s=%016lx %-3s=%016lx\n", gpr_names[i],
			 gpr(v, i), gpr_names[i + 1], gpr(v, i + 1), gpr_names[i + 2],
			 gpr(v, i + 2), gpr_names[i + 3], gpr(v, i + 3));
	m->print(m->ctx, "rip=%016lx rflags=%016lx cpl=%u\n", v->ops->get_rip(v),
		 v->ops->get_rflags(v), v->ops->get_cpl(v));
	for (unsigned i = 0; i < NR_SEGS; i++) {
		v->ops->get_segment(v, i, &s);
		m->print(m->ctx, "%-4s sel=%04x base=%016lx limit=%08x attr=%05x\n", seg_names[i],
			 s.selector, s.base, s.limit, s.attr);
	}
	for (unsigned i = 0; i < NR_SYSSEGS; i++) {
		v->ops->get_sysseg(v, i, &s);
		m->print(m->ctx, "%-4s sel=%04x base=%016lx limit=%08x\n", sysseg_names[i],
			 s.selector, s.base, s.limit);
	}
	m->print(m->ctx, "cr0=%016lx cr2=%016lx cr3=%016lx cr4=%016lx\n", v->ops->get_cr(v, 0),
		 v->ops->get_cr(v, 2), v->ops->get_cr(v, 3), v->ops->get_cr(v, 4));
	m->print(m->ctx, "efer=%016lx\n", v->ops->get_efer(v));
	if (!v->ops->debug_state)
		return;
	v->ops->debug_state(v, &d);
	m->print(m->ctx, "dr0=%016lx dr1=%016lx dr2=%016lx dr3=%016lx\n", d.dr[0], d.dr[1],
		 d.dr[2], d.dr[3]);
	m->print(m->ctx, "dr6=%016lx dr7=%016lx\n", d.dr6, d.dr7);
	if (d.event_valid)
		m->print(m->ctx, "pending event: vector %u type %u\n", d.event_vector, d.event_type);
	else
		m->print(m->ctx, "pending event: none\n");
	m->print(m->ctx, "interrupt shadow: %s, NMI blocked: %s\n", d.interrupt_shadow ? "yes" : "no",
		 !d.nmi_known ? "not shown by this CPU" : d.nmi_blocked ? "yes" : "no");
}

/* regs [N]: the stopped vCPU's registers, or vCPU N's (parked meanwhile: debug_park.h). */
static int cmd_regs(const struct mon_ctx *m, unsigned argc, char **argv)
{
	static const char *const state[] = {
		[SMP_VCPU_NONE] = "no such vCPU",
		[SMP_VCPU_WAIT_SIPI] = "waits for a STARTUP IPI (not started): no registers yet",
		[SMP_VCPU_RUNNING] = "did not stop: registers not shown",
		[SMP_VCPU_HALTED] = "halted with interrupts off: registers not shown"};
	uint64_t cpu = mon.v->cpu;

	if (argc > 1 && mon_parse_u64(m, argv[1], &cpu))
		return -1;
	if (cpu >= smp_nr_vcpus()) {
		m->print(m->ctx, "no vCPU %lu (vCPUs 0..%u)\n", cpu, smp_nr_vcpus() - 1);
		return -1;
	}
	if (argc > 1)
		m->print(m->ctx, "vCPU %lu (APIC id %u)\n", cpu, smp_vcpu_apic_id((unsigned)cpu));
	if (!debug_park_call(mon.v, (unsigned)cpu, print_regs, (void *)m)) {
		m->print(m->ctx, "vCPU %lu %s\n", cpu, state[smp_vcpu_state((unsigned)cpu)]);
		return -1;
	}
	return 0;
}

/* Parse ADDR [LEN] for the dumps. */
static int dump_args(const struct mon_ctx *m, unsigned argc, char **argv, uint64_t *addr,
		     uint64_t *len)
{
	*len = DUMP_DEFAULT;
	if (mon_parse_u64(m, argv[1], addr) || (argc > 2 && mon_parse_u64(m, argv[2], len)))
		return -1;
	if (*len == 0 || *len > DUMP_MAX) {
		m->print(m->ctx, "length must be 1..%u\n", DUMP_MAX);
		return -1;
	}
	return 0;
}

/* One line of a dump: up to 16 bytes at `shown` (the address the user gave). */
static void dump_line(const struct mon_ctx *m, uint64_t shown, const uint8_t *b, unsigned n)
{
	char hex[DUMP_PER_LINE * 3 + 1], text[DUMP_PER_LINE + 1];
	unsigned i;

	for (i = 0; i < n; i++) {
		fmt_snprintf(hex + 3 * i, 4, "%02x ", b[i]);
		text[i] = (b[i] >= ASCII_FIRST && b[i] <= ASCII_LAST) ? (char)b[i] : '.';
	}
	hex[3 * i] = '\0';
	text[i] = '\0';
	m->print(m->ctx, "%016lx: %-48s |%s|\n", shown, hex, text);
}

/*
 * Read guest RAM only: a device's registers may change when read, and a dump must not touch
 * the machine.  Returns false after saying why.
 */
static bool read_ram(const struct mon_ctx *m, uint64_t gpa, uint8_t *buf, unsigned n)
{
	enum gpa_kind kind = guest_mem_kind(guest_gate(), gpa);

	if (kind != GPA_RAM) {
		m->print(m->ctx, "GPA 0x%lx is %s: not read\n", gpa,
			 kind == GPA_UNMAPPED ? "not mapped"
			 : kind == GPA_DEVICE ? "a device (reads may have side effects)"
					      : "an mmio= region");
		return false;
	}
	if (guest_mem_read(guest_gate(), gpa, buf, n, mon.v->ops->get_rip(mon.v)) < 0) {
		m->print(m->ctx, "GPA 0x%lx: read failed\n", gpa);
		return false;
	}
	return true;
}

/* Translate a linear address for a read at CPL 0 (the walk sets no A/D bits). */
static bool translate(const struct mon_ctx *m, uint64_t la, uint64_t *gpa)
{
	struct gw_regs regs;
	struct gw_mem mem;
	struct gw_result r;
	int err;

	vcpu_walk_setup(mon.v, &regs, &mem);
	regs.cpl = 0;
	err = guest_walk(&regs, &mem, la, 0, &r);
	if (err == -E_FAULT) {
		m->print(m->ctx, "linear 0x%lx: not mapped (#PF error code 0x%x)\n", la, r.pf_error);
		return false;
	}
	if (err) {
		m->print(m->ctx, "linear 0x%lx: the page walk failed (error %d)\n", la, err);
		return false;
	}
	*gpa = r.gpa;
	return true;
}

static int dump(const struct mon_ctx *m, unsigned argc, char **argv, bool linear)
{
	uint64_t addr, len;
	uint8_t buf[DUMP_PER_LINE];

	if (dump_args(m, argc, argv, &addr, &len))
		return -1;
	for (uint64_t off = 0; off < len; off += DUMP_PER_LINE) {
		uint64_t a = addr + off, gpa = a;
		unsigned n = len - off < DUMP_PER_LINE ? (unsigned)(len - off) : DUMP_PER_LINE;
		/* A line does not cross a page: each page is translated on its own. */
		uint64_t to_page_end = PAGE_SIZE_4K - (a & PAGE_MASK_4K);

		if (n > to_page_end)
			n = (unsigned)to_page_end;
		if (linear && !translate(m, a, &gpa))
			return -1;
		if (!read_ram(m, gpa, buf, n))
			return -1;
		dump_line(m, a, buf, n);
		off -= DUMP_PER_LINE - n; /* continue right after what this line showed */
	}
	return 0;
}

static int cmd_mem(const struct mon_ctx *m, unsigned argc, char **argv)
{
	return dump(m, argc, argv, false);
}

static int cmd_lmem(const struct mon_ctx *m, unsigned argc, char **argv)
{
	return dump(m, argc, argv, true);
}

/* Read one paging-structure entry of `size` bytes; false after saying why. */
static bool read_entry(const struct mon_ctx *m, uint64_t gpa, unsigned size, uint64_t *e)
{
	*e = 0;
	return read_ram(m, gpa, (uint8_t *)e, size);
}

static int cmd_walk(const struct mon_ctx *m, unsigned argc, char **argv)
{
	static const char *const names[] = {"PML5E", "PML4E", "PDPTE", "PDE", "PTE"};
	struct gw_regs regs;
	struct gw_mem mem;
	uint64_t la, gpa, table, e = 0;
	unsigned first, size = 8, shift;

	(void)argc;
	if (mon_parse_u64(m, argv[1], &la))
		return -1;
	vcpu_walk_setup(mon.v, &regs, &mem);
	m->print(m->ctx, "cr0=%lx cr3=%lx cr4=%lx efer=%lx\n", regs.cr0, regs.cr3, regs.cr4,
		 regs.efer);
	if (!(regs.cr0 & CR0_PG)) {
		m->print(m->ctx, "paging off: linear 0x%lx is guest-physical 0x%x\n", la,
			 (uint32_t)la);
		return 0;
	}
	if (!(regs.cr4 & CR4_PAE)) { /* 32-bit paging: 1024 four-byte entries per level */
		table = regs.cr3 & PTE32_ADDR;
		first = 3, size = 4;
	} else if (!(regs.efer & EFER_LMA)) { /* PAE: four PDPTEs at CR3 */
		table = regs.cr3 & PDPTE_PAE_BASE;
		first = 2;
	} else {
		table = regs.cr3 & PTE_ADDR_MASK;
		first = (regs.cr4 & CR4_LA57) ? 0 : 1;
	}
	for (unsigned lvl = first; lvl < ARRAY_SIZE(names); lvl++) {
		unsigned bits = size == 4 ? 10 : 9;
		uint64_t index;

		shift = 12 + bits * (unsigned)(ARRAY_SIZE(names) - 1 - lvl);
		index = (la >> shift) & ((1ull << bits) - 1);
		if (lvl == 2 && !(regs.efer & EFER_LMA) && size == 8)
			index = (la >> 30) & 3; /* PAE's PDPT has four entries */
		gpa = table + index * size;
		if (!read_entry(m, gpa, size, &e))
			return -1;
		m->print(m->ctx, "%-5s[%3lu] at GPA 0x%lx = 0x%0*lx%s\n", names[lvl], index, gpa,
			 size * 2, e, (e & PTE_PRESENT) ? "" : " (not present)");
		if (!(e & PTE_PRESENT))
			return 0;
		if (lvl == ARRAY_SIZE(names) - 1 || ((e & PTE_PS) && lvl >= 2 &&
						      (size == 8 || (regs.cr4 & CR4_PSE))))
			break;
		table = size == 4 ? (e & PTE32_ADDR) : (e & PTE_ADDR_MASK);
	}
	if (translate(m, la, &gpa))
		m->print(m->ctx, "linear 0x%lx -> guest-physical 0x%lx\n", la, gpa);
	return 0;
}

/* write GPA VALUE: one 32-bit store to guest RAM (e.g. to release a guest waiting on a flag). */
static int cmd_write(const struct mon_ctx *m, unsigned argc, char **argv)
{
	uint64_t gpa, val;
	uint32_t v32;

	(void)argc;
	if (mon_parse_u64(m, argv[1], &gpa) || mon_parse_u64(m, argv[2], &val))
		return -1;
	if (val > UINT32_MAX) {
		m->print(m->ctx, "value 0x%lx does not fit in 32 bits\n", val);
		return -1;
	}
	if (guest_mem_kind(guest_gate(), gpa) != GPA_RAM ||
	    guest_mem_kind(guest_gate(), gpa + sizeof(v32) - 1) != GPA_RAM) {
		m->print(m->ctx, "GPA 0x%lx is not guest RAM: not written\n", gpa);
		return -1;
	}
	v32 = (uint32_t)val;
	if (guest_mem_write(guest_gate(), gpa, &v32, sizeof(v32), mon.v->ops->get_rip(mon.v)) < 0) {
		m->print(m->ctx, "GPA 0x%lx: write failed\n", gpa);
		return -1;
	}
	m->print(m->ctx, "wrote 0x%08x at GPA 0x%lx\n", v32, gpa);
	return 0;
}

static int cmd_counters(const struct mon_ctx *m, unsigned argc, char **argv)
{
	(void)m;
	(void)argc;
	(void)argv;
	vcpu_print_stats(mon.v);
	mmio_print_trace_summaries();
	log_flush();
	return 0;
}

static int cmd_regions(const struct mon_ctx *m, unsigned argc, char **argv)
{
	static const char *const type_names[] = {
		[MMIO_TYPE_RAM] = "ram", [MMIO_TYPE_TRACE] = "trace", [MMIO_TYPE_DENY] = "deny"};
	uint64_t base, size, type, rd, wr, brd, bwr;
	unsigned i;

	(void)argc;
	(void)argv;
	for (i = 0; mmio_region_info(i, &base, &size, &type); i++) {
		if (!mmio_device_stats(i, &rd, &wr, &brd, &bwr))
			rd = wr = brd = bwr = 0;
		m->print(m->ctx, "%u: %s@0x%lx+0x%lx reads=%lu writes=%lu bytes read=%lu written=%lu\n",
			 i, type < ARRAY_SIZE(type_names) && type_names[type] ? type_names[type] : "?",
			 base, size, rd, wr, brd, bwr);
	}
	if (!i)
		m->print(m->ctx, "no mmio= regions\n");
	return 0;
}

/* trace N on [FILTER] | trace N off | trace N (its per-offset summary) */
static int cmd_trace(const struct mon_ctx *m, unsigned argc, char **argv)
{
	char err[128];
	uint64_t index;

	if (mon_parse_u64(m, argv[1], &index))
		return -1;
	if (index > UINT32_MAX) {
		m->print(m->ctx, "no region %lu (see regions)\n", index);
		return -1;
	}
	if (argc == 2) {
		if (!mmio_trace_summary_print((unsigned)index)) {
			m->print(m->ctx, "region %lu is not a trace region\n", index);
			return -1;
		}
		log_flush();
		return 0;
	}
	if (strcmp(argv[2], "on") && strcmp(argv[2], "off")) {
		m->print(m->ctx, "trace: say on or off, not '%s'\n", argv[2]);
		return -1;
	}
	if (mmio_trace_switch((unsigned)index, !strcmp(argv[2], "on"), argc > 3 ? argv[3] : NULL,
			      err, sizeof(err))) {
		m->print(m->ctx, "%s\n", err);
		return -1;
	}
	m->print(m->ctx, "region %lu: trace log %s\n", index, argv[2]);
	return 0;
}

/* add trace@BASE+SIZE[,FILTER] | deny@BASE+SIZE: a region from now on */
static int cmd_add(const struct mon_ctx *m, unsigned argc, char **argv)
{
	struct vcpu *v = mon.v;
	char err[128];
	uint64_t base, size;
	int rc;

	(void)argc;
	if (!v->ops->flush_nested) {
		m->print(m->ctx, "this backend cannot flush its nested translations\n");
		return -1;
	}
	/* Other vCPUs would keep the page's cached translation: no cross-CPU flush here. */
	if (!smp_others_wait_for_sipi(v->cpu)) {
		m->print(m->ctx, "other vCPUs run the guest: regions are added only while this one "
				 "is the only one\n");
		return -1;
	}
	if (mmio_region_add_runtime(argv[1], &base, &size, err, sizeof(err))) {
		m->print(m->ctx, "%s\n", err);
		return -1;
	}
	log_flush();
	rc = guest_nested_unmap(base, size);
	if (rc)
		m->print(m->ctx, "taking [0x%lx-0x%lx) out of the nested tables failed (%d): "
				 "part of it may still reach memory directly\n",
			 base, base + size, rc);
	v->ops->flush_nested(v);
	mmio_cache_invalidate(&v->mmio_cache);
	code_tlb_invalidate(&v->code_tlb, false, 0);
	mmio_short_invalidate(&v->mmio_short);
	m->print(m->ctx, "added %s: guest accesses to [0x%lx-0x%lx) go to its device now\n",
		 argv[1], base, base + size);
	return 0;
}

static int cmd_step(const struct mon_ctx *m, unsigned argc, char **argv)
{
	(void)m;
	(void)argc;
	(void)argv;
	mon.leave = true;
	mon.next = DEBUG_RESUME_STEP;
	return 0;
}

static int cmd_continue(const struct mon_ctx *m, unsigned argc, char **argv)
{
	(void)argc;
	(void)argv;
	m->print(m->ctx, "mhv: monitor: guest continues\n");
	mon.leave = true;
	mon.next = DEBUG_RESUME_CONTINUE;
	return 0;
}

static int cmd_loglvl(const struct mon_ctx *m, unsigned argc, char **argv)
{
	static const char *const names[] = {[LOG_ERR] = "err", [LOG_WARN] = "warn",
					    [LOG_INFO] = "info", [LOG_DEBUG] = "debug"};

	if (argc == 2) { /* argc counts the command itself */
		unsigned i = 0;

		while (i < ARRAY_SIZE(names) && strcmp(argv[1], names[i]))
			i++;
		if (i == ARRAY_SIZE(names)) {
			m->print(m->ctx, "unknown log level '%s' (err, warn, info or debug)\n",
				 argv[1]);
			return -1;
		}
		log_set_level((enum log_level)i);
	}
	m->print(m->ctx, "log level: %s\n", names[log_get_level()]);
	return 0;
}

static int cmd_poweroff(const struct mon_ctx *m, unsigned argc, char **argv)
{
	(void)m;
	(void)argc;
	(void)argv;
	vuart_hold(false); /* guest output held during the stop goes out first */
	vcpu_end_run(mon.v, HV_STATUS_PASS, "the monitor powered the machine off");
	return 0;
}

static int cmd_reset(const struct mon_ctx *m, unsigned argc, char **argv)
{
	(void)m;
	(void)argc;
	(void)argv;
	vuart_hold(false); /* guest output held during the stop goes out first */
	/* mhv ends the run on a guest's reset too (README "Platform reset and sleep"). */
	vcpu_end_run(mon.v, HV_STATUS_PASS, "the monitor reset the machine: the run ends");
	return 0;
}

static const struct mon_cmd commands[] = {
	{"regs", "[N]",
	 "guest registers (vCPU N's; default the stopped one): GPRs, RIP/RFLAGS, segments, CRs, "
	 "EFER, DRs, events",
	 0, 1, cmd_regs},
	{"counters", "", "exit counters, MMIO cache and trace statistics", 0, 0, cmd_counters},
	{"regions", "", "the mmio= regions with their devices and access counts", 0, 0,
	 cmd_regions},
	{"trace", "N [on [FILTER]|off]",
	 "a trace region's log on (FILTER: off=LO-HI,reads,writes,limit=N,every=M) or off; "
	 "no word: its per-offset summary",
	 1, 3, cmd_trace},
	{"add", "trace@BASE+SIZE[,FILTER]|deny@BASE+SIZE", "add a trace or deny region now", 1, 1,
	 cmd_add},
	{"mem", "GPA [LEN]", "dump guest-physical memory (RAM only)", 1, 2, cmd_mem},
	{"lmem", "LA [LEN]", "dump guest memory by linear address", 1, 2, cmd_lmem},
	{"walk", "LA", "walk LA through the guest's page tables, each level shown", 1, 1,
	 cmd_walk},
	{"write", "GPA VALUE", "store a 32-bit VALUE in guest RAM", 2, 2, cmd_write},
	{"step", "", "run one guest instruction, then stop again", 0, 0, cmd_step},
	{"continue", "", "let the guest run (also: c)", 0, 0, cmd_continue},
	{"c", "", "continue", 0, 0, cmd_continue},
	{"loglvl", "[LEVEL]", "show or set mhv's log level (err, warn, info, debug)", 0, 1,
	 cmd_loglvl},
	{"poweroff", "", "end the run (as a power-off)", 0, 0, cmd_poweroff},
	{"reset", "", "end the run (as mhv ends it on a guest's reset)", 0, 0, cmd_reset},
};

static enum debug_resume monitor_run(struct vcpu *v, enum debug_stop_reason why)
{
	const struct mon_ctx ctx = {.cmds = commands,
				    .nr_cmds = ARRAY_SIZE(commands),
				    .print = mon_print,
				    .ctx = NULL};
	struct mon_line line;

	mon.v = v;
	mon.leave = false;
	mon.next = DEBUG_RESUME_CONTINUE;
	mon_print(NULL, "\nmhv: monitor: cpu %u stopped at RIP 0x%lx (%s); 'help' lists the commands\n",
		  v->cpu, v->ops->get_rip(v), why == DEBUG_STOP_STEP ? "step" : "break-in");
	mon_line_init(&line, mon_echo, NULL);
	while (!mon.leave) {
		mon_print(NULL, "mhv> ");
		while (!mon_line_feed(&line, (uint8_t)debug_getc()))
			;
		mon_run_line(&ctx, line.buf);
	}
	return mon.next;
}

int monitor_exec(struct vcpu *v, char *line, mon_print_fn print, void *ctx,
		 enum debug_resume *next)
{
	const struct mon_ctx m = {.cmds = commands,
				  .nr_cmds = ARRAY_SIZE(commands),
				  .print = print,
				  .ctx = ctx};
	int rc;

	mon.v = v;
	mon.leave = false;
	rc = mon_run_line(&m, line);
	if (mon.leave && next)
		*next = mon.next;
	return rc;
}

const struct debug_session monitor_session = {
	.name = "monitor",
	.run = monitor_run,
};
