/* The GDB remote-protocol stub (lib/gdb_stub.c, gdb_regs.c, gdb_hwbp.c) against a fake guest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/errno.h"
#include "lib/gdb_stub.h"

#define MEM_BASE 0x10000u
#define MEM_SIZE 0x2000u /* mapped: [MEM_BASE, MEM_BASE + MEM_SIZE); anything else is not */

struct fake {
	bool wide;
	uint64_t regs[NR_GDB_REGS];
	bool ro[NR_GDB_REGS];
	uint64_t gp_bits[NR_GDB_REGS]; /* a value with any of these bits set is refused (a #GP) */
	uint8_t mem[MEM_SIZE];
	const char *input;
	size_t in_pos;
	char out[65536];
	size_t out_len;
	struct gdb_hwbps loaded;
	unsigned debug_reg_calls;
	char last_monitor[128];
};

static bool f_wide(void *ctx)
{
	return ((struct fake *)ctx)->wide;
}

static uint64_t f_reg_get(void *ctx, enum gdb_reg r)
{
	return ((struct fake *)ctx)->regs[r];
}

static bool f_reg_set(void *ctx, enum gdb_reg r, uint64_t v)
{
	struct fake *f = ctx;

	if (f->ro[r] || (v & f->gp_bits[r]))
		return false;
	f->regs[r] = v;
	return true;
}

static unsigned f_mem(struct fake *f, uint64_t la, void *buf, unsigned len, bool write)
{
	unsigned done = 0;

	for (; done < len; done++) {
		uint64_t a = la + done;

		if (a < MEM_BASE || a >= MEM_BASE + MEM_SIZE)
			break;
		if (write)
			f->mem[a - MEM_BASE] = ((const uint8_t *)buf)[done];
		else
			((uint8_t *)buf)[done] = f->mem[a - MEM_BASE];
	}
	return done;
}

static unsigned f_mem_read(void *ctx, uint64_t la, void *buf, unsigned len)
{
	return f_mem(ctx, la, buf, len, false);
}

static unsigned f_mem_write(void *ctx, uint64_t la, const void *buf, unsigned len)
{
	return f_mem(ctx, la, (void *)buf, len, true);
}

static void f_debug_regs(void *ctx, const struct gdb_hwbps *b)
{
	struct fake *f = ctx;

	f->loaded = *b;
	f->debug_reg_calls++;
}

static void f_write(void *ctx, const char *s, size_t n)
{
	struct fake *f = ctx;

	assert_true(f->out_len + n < sizeof(f->out));
	memcpy(f->out + f->out_len, s, n);
	f->out_len += n;
	f->out[f->out_len] = '\0';
}

static int f_getc(void *ctx)
{
	struct fake *f = ctx;

	if (!f->input || !f->input[f->in_pos])
		return -1;
	return (uint8_t)f->input[f->in_pos++];
}

static void f_monitor(void *ctx, struct gdb_stub *s, const char *cmd)
{
	struct fake *f = ctx;

	snprintf(f->last_monitor, sizeof(f->last_monitor), "%s", cmd);
	gdb_stub_console(s, "hello from mhv\n");
}

static const struct gdb_target fake_target = {
	.wide = f_wide,
	.reg_get = f_reg_get,
	.reg_set = f_reg_set,
	.mem_read = f_mem_read,
	.mem_write = f_mem_write,
	.debug_regs = f_debug_regs,
	.write = f_write,
	.getc = f_getc,
	.monitor = f_monitor,
};

static struct fake fk;
static struct gdb_stub stub;

/* A target that plants INT3s itself (mhv's core/gdb_swbp.c): a table of addresses. */
#define FAKE_SWBPS 8
static uint64_t sw_addr[FAKE_SWBPS];
static bool sw_used[FAKE_SWBPS];
static unsigned sw_clears;

static int f_sw_break(void *ctx, uint64_t la, bool insert)
{
	(void)ctx;
	for (unsigned i = 0; i < FAKE_SWBPS; i++)
		if (sw_used[i] && sw_addr[i] == la) {
			sw_used[i] = insert;
			return 0;
		}
	if (!insert)
		return -E_NOENT;
	if (la < MEM_BASE || la >= MEM_BASE + MEM_SIZE)
		return -E_FAULT;
	for (unsigned i = 0; i < FAKE_SWBPS; i++)
		if (!sw_used[i]) {
			sw_used[i] = true;
			sw_addr[i] = la;
			return 0;
		}
	return -E_NOMEM;
}

static void f_sw_clear(void *ctx)
{
	(void)ctx;
	memset(sw_used, 0, sizeof(sw_used));
	sw_clears++;
}

static struct gdb_target sw_target;

static int setup_sw(void **state)
{
	(void)state;
	memset(&fk, 0, sizeof(fk));
	memset(sw_used, 0, sizeof(sw_used));
	sw_clears = 0;
	sw_target = fake_target;
	sw_target.sw_break = f_sw_break;
	sw_target.sw_clear = f_sw_clear;
	gdb_stub_init(&stub, &sw_target, &fk);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	memset(&fk, 0, sizeof(fk));
	gdb_stub_init(&stub, &fake_target, &fk);
	return 0;
}

/* A framed packet as gdb sends it. */
static const char *frame(const char *payload)
{
	static char buf[4][8192];
	static unsigned next;
	char *b = buf[next++ % 4];
	unsigned sum = 0;

	for (const char *p = payload; *p; p++)
		sum += (uint8_t)*p;
	snprintf(b, sizeof(buf[0]), "$%s#%02x", payload, sum & 0xFF);
	return b;
}

/* Feed bytes, return the last action. */
static enum gdb_action feed(const char *bytes)
{
	enum gdb_action a = GDB_STAY;

	for (const char *p = bytes; *p; p++)
		a = gdb_stub_feed(&stub, (uint8_t)*p);
	return a;
}

/* Send one packet; return the payload of the reply (checked for framing and checksum). */
static const char *ask(const char *payload)
{
	static char reply[65536];
	size_t start = fk.out_len;
	const char *p, *hash;
	unsigned sum = 0, want;

	feed(frame(payload));
	p = fk.out + start;
	if (!stub.noack || *p == '+')
		if (*p == '+')
			p++;
	assert_int_equal(*p, '$');
	hash = strchr(p, '#');
	assert_non_null(hash);
	for (const char *q = p + 1; q < hash; q++)
		sum += (uint8_t)*q;
	assert_int_equal(sscanf(hash + 1, "%2x", &want), 1);
	assert_int_equal(sum & 0xFF, want);
	memcpy(reply, p + 1, (size_t)(hash - p - 1));
	reply[hash - p - 1] = '\0';
	return reply;
}

static void test_framing_ack_checksum_and_nak(void **state)
{
	(void)state;
	assert_string_equal(ask("?"), "T05thread:1;");
	assert_int_equal(fk.out[0], '+');
	/* A bad checksum is NAKed, nothing else happens. */
	fk.out_len = 0;
	feed("$?#00");
	assert_string_equal(fk.out, "-");
	/* A NAK from gdb resends the last packet. */
	fk.out_len = 0;
	feed("-");
	assert_string_equal(fk.out, "$T05thread:1;#d7");
	/* Non-hex checksum digits are damage too. */
	fk.out_len = 0;
	feed("$g#zz");
	assert_int_equal(fk.out[0], '-');
	/* Noise and acks between packets are ignored. */
	fk.out_len = 0;
	assert_int_equal(feed("+++xyz"), GDB_STAY);
	assert_int_equal(fk.out_len, 0);
}

static void test_no_ack_mode(void **state)
{
	(void)state;
	assert_string_equal(ask("QStartNoAckMode"), "OK");
	fk.out_len = 0;
	feed(frame("?"));
	assert_int_equal(fk.out[0], '$'); /* no '+' any more */
	/* Without acks, a damaged packet gets an error reply instead of a NAK. */
	fk.out_len = 0;
	feed("$?#00");
	assert_string_equal(fk.out, "$E01#a6");
}

static void test_overlong_and_malformed_packets_get_errors(void **state)
{
	static char big[GDB_PACKET_SIZE + 100];

	(void)state;
	memset(big, 'm', sizeof(big) - 1);
	assert_string_equal(ask(big), "E01");
	assert_string_equal(ask("mzz,4"), "E01");
	assert_string_equal(ask("m10000"), "E01");
	assert_string_equal(ask("m10000,4junk"), "E01");
	assert_string_equal(ask("M10000,4:0102"), "E01");
	assert_string_equal(ask("M10000,2:01zz"), "E01");
	assert_string_equal(ask("p"), "E01");
	assert_string_equal(ask("p999"), "E01");
	assert_string_equal(ask("P0=12"), "E01");
	assert_string_equal(ask("G00"), "E01");
	assert_string_equal(ask("Z2,10000"), "E01");
	assert_string_equal(ask("m11111111111111111111,1"), "E01"); /* over 64 bits */
	assert_string_equal(ask("qRcmd,6"), "E01");
	assert_string_equal(ask("cXYZ"), "E01");
	/* Unknown commands: the empty reply, as the protocol asks. */
	assert_string_equal(ask("vMustReplyEmpty"), "");
	assert_string_equal(ask("!"), "");
	assert_string_equal(ask("Z9,0,0"), "");
	assert_string_equal(ask(""), "");
	assert_true(stub.stats_bad_packets >= 1);
}

/* The whole target description, read in pieces of `chunk` bytes as gdb may. */
static void read_xml(char *xml, size_t size, unsigned chunk)
{
	unsigned off = 0;

	xml[0] = '\0';
	for (;;) {
		char q[64];
		const char *r;

		snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%x,%x", off, chunk);
		r = ask(q);
		assert_true(r[0] == 'm' || r[0] == 'l');
		assert_true(strlen(xml) + strlen(r + 1) < size);
		strcat(xml, r + 1);
		off += (unsigned)strlen(r + 1);
		if (r[0] == 'l')
			break;
	}
}

static void test_qsupported_and_target_xml_follow_the_mode(void **state)
{
	static char xml[16384];
	const char *r;

	(void)state;
	r = ask("qSupported:multiprocess+;swbreak+;xmlRegisters=i386");
	assert_non_null(strstr(r, "PacketSize=1000"));
	assert_non_null(strstr(r, "qXfer:features:read+"));
	assert_non_null(strstr(r, "QStartNoAckMode+"));
	/* 32-bit guest: i386 registers. */
	read_xml(xml, sizeof(xml), 0x100);
	assert_non_null(strstr(xml, "<architecture>i386</architecture>"));
	assert_non_null(strstr(xml, "name=\"eip\" bitsize=\"32\""));
	assert_non_null(strstr(xml, "name=\"cr3\" bitsize=\"32\""));
	assert_non_null(strstr(xml, "name=\"efer\" bitsize=\"64\""));
	assert_non_null(strstr(xml, "</target>"));
	assert_null(strstr(xml, "rip"));
	assert_string_equal(ask("qXfer:features:read:target.xml:ffff,100"), "l");
	assert_string_equal(ask("qXfer:features:read:other.xml:0,100"), "E00");
	/* A 64-bit guest at the next connection. */
	fk.wide = true;
	ask("qSupported");
	r = ask("qXfer:features:read:target.xml:0,ffff");
	assert_int_equal(r[0], 'm'); /* more than half a packet: cut so escapes still fit */
	read_xml(xml, sizeof(xml), 0xffff);
	assert_non_null(strstr(xml, "i386:x86-64"));
	assert_non_null(strstr(xml, "name=\"rip\" bitsize=\"64\""));
	assert_non_null(strstr(xml, "name=\"fs_base\""));
	assert_non_null(strstr(xml, "name=\"cr0\" bitsize=\"64\""));
	assert_non_null(strstr(xml, "</target>"));
}

static void test_registers_i386_layout(void **state)
{
	const char *r;

	(void)state;
	fk.regs[GDB_REG_RAX] = 0x11223344;
	fk.regs[GDB_REG_RCX] = 0xAABBCCDD;
	fk.regs[GDB_REG_RIP] = 0x00101000;
	fk.regs[GDB_REG_CS] = 0x08;
	fk.regs[GDB_REG_CR0] = 0x80000011;
	fk.regs[GDB_REG_EFER] = 0x500;
	ask("qSupported");
	r = ask("g");
	/* eax ecx ... then eip at register 8; 32 bits each, little-endian. */
	assert_int_equal(strlen(r), 2 * gdb_layout_bytes(&gdb_layout_i386));
	assert_memory_equal(r, "44332211ddccbbaa", 16);
	assert_memory_equal(r + 8 * 8, "00101000", 8);
	assert_memory_equal(r + 10 * 8, "08000000", 8); /* cs after eflags */
	assert_string_equal(ask("p8"), "00101000");
	assert_string_equal(ask("p20"), "11000080"); /* cr0: register 32 */
	assert_string_equal(ask("p24"), "0005000000000000"); /* efer, 64 bits */
	assert_string_equal(ask("p10"), "00000000000000000000"); /* st0: 80 bits of 0 */
	/* P writes; the same value to a read-only register is fine, another is refused. */
	assert_string_equal(ask("P0=78563412"), "OK");
	assert_int_equal(fk.regs[GDB_REG_RAX], 0x12345678);
	fk.ro[GDB_REG_CS] = true;
	assert_string_equal(ask("Pa=08000000"), "OK");
	assert_string_equal(ask("Pa=10000000"), "E01");
	assert_string_equal(ask("P10=01000000000000000000"), "E01"); /* x87: no state kept */
	/* G: everything back, with one change. */
	{
		char g[4096];

		snprintf(g, sizeof(g), "G%s", ask("g"));
		memcpy(g + 1 + 8, "efbeadde", 8); /* ecx */
		assert_string_equal(ask(g), "OK");
		assert_int_equal(fk.regs[GDB_REG_RCX], 0xDEADBEEF);
		assert_int_equal(fk.regs[GDB_REG_RAX], 0x12345678);
	}
}

static void test_registers_x86_64_layout(void **state)
{
	const char *r;

	(void)state;
	fk.wide = true;
	fk.regs[GDB_REG_RBX] = 0x0102030405060708ull;
	fk.regs[GDB_REG_RIP] = 0xFFFFFFFF81000000ull;
	fk.regs[GDB_REG_GS_BASE] = 0xFFFF888000000000ull;
	ask("qSupported");
	r = ask("g");
	assert_int_equal(strlen(r), 2 * gdb_layout_bytes(&gdb_layout_x86_64));
	assert_memory_equal(r + 16, "0807060504030201", 16); /* rbx is gdb's register 1 */
	assert_string_equal(ask("p10"), "00000081ffffffff");     /* rip: register 16 */
	assert_string_equal(ask("p29"), "000000008088ffff");     /* gs_base: register 41 */
	assert_string_equal(ask("P10=0010000000000000"), "OK");
	assert_int_equal(fk.regs[GDB_REG_RIP], 0x1000);
}

/* Where CR0 is in an i386 'g' reply: 16 registers of 32 bits, 8 x87 ones of 80, 8 of 32. */
#define I386_CR0_HEX (2 * (16 * 4 + 8 * 10 + 8 * 4))

/* Control registers: a value the target accepts is written, one it refuses (the exit core's
 * #GP checks) gets an error and changes nothing; a refused G changes no register at all. */
static void test_control_register_writes_checked(void **state)
{
	char g[4096];

	(void)state;
	fk.regs[GDB_REG_CR0] = 0x80000011;
	fk.regs[GDB_REG_CR4] = 0x10;
	fk.regs[GDB_REG_RCX] = 0x1111;
	fk.gp_bits[GDB_REG_CR0] = 0x20000000; /* NW without CD, say */
	fk.gp_bits[GDB_REG_CR4] = 0x2000;     /* VMXE */
	ask("qSupported");
	assert_string_equal(ask("P20=19000080"), "OK"); /* cr0 (register 32): TS set */
	assert_int_equal(fk.regs[GDB_REG_CR0], 0x80000019);
	assert_string_equal(ask("P20=19000020"), "E01");
	assert_int_equal(fk.regs[GDB_REG_CR0], 0x80000019);
	assert_string_equal(ask("P23=10200000"), "E01"); /* cr4 (register 35) */
	assert_int_equal(fk.regs[GDB_REG_CR4], 0x10);
	/* G changing ECX, CR0 (accepted) and CR4 (refused): nothing changes. */
	snprintf(g, sizeof(g), "G%s", ask("g"));
	memcpy(g + 1 + 8, "22220000", 8);	   /* ecx */
	memcpy(g + 1 + I386_CR0_HEX, "11000080", 8);	   /* cr0: TS clear */
	memcpy(g + 1 + I386_CR0_HEX + 3 * 8, "10200000", 8); /* cr4: VMXE */
	assert_string_equal(ask(g), "E01");
	assert_int_equal(fk.regs[GDB_REG_RCX], 0x1111);
	assert_int_equal(fk.regs[GDB_REG_CR0], 0x80000019);
	assert_int_equal(fk.regs[GDB_REG_CR4], 0x10);
	/* The same G without the refused CR4 value goes through. */
	memcpy(g + 1 + I386_CR0_HEX + 3 * 8, "10000000", 8);
	assert_string_equal(ask(g), "OK");
	assert_int_equal(fk.regs[GDB_REG_RCX], 0x2222);
	assert_int_equal(fk.regs[GDB_REG_CR0], 0x80000011);
	/* x86-64: CR3 (register 44) and EFER (46) take 64-bit values. */
	fk.wide = true;
	fk.gp_bits[GDB_REG_EFER] = 0x400; /* LMA: the CPU's */
	ask("qSupported");
	assert_string_equal(ask("P2c=00f0563412000000"), "OK");
	assert_int_equal(fk.regs[GDB_REG_CR3], 0x123456f000ull);
	assert_string_equal(ask("P2e=0104000000000000"), "E01");
	assert_string_equal(ask("P2e=0109000000000000"), "OK");
	assert_int_equal(fk.regs[GDB_REG_EFER], 0x901);
}

static void test_memory_read_write_and_unmapped(void **state)
{
	(void)state;
	for (unsigned i = 0; i < 16; i++)
		fk.mem[i] = (uint8_t)(0xA0 + i);
	assert_string_equal(ask("m10000,4"), "a0a1a2a3");
	assert_string_equal(ask("m10000,0"), "");
	/* Entirely unmapped: an error, never a crash. */
	assert_string_equal(ask("m0,4"), "E0e");
	assert_string_equal(ask("mffffffffffffffff,10"), "E0e");
	/* Running into unmapped memory: the part that could be read. */
	assert_string_equal(ask("m11ffe,4"), "0000");
	assert_string_equal(ask("M10004,3:c0ffee"), "OK");
	assert_memory_equal(&fk.mem[4], "\xc0\xff\xee", 3);
	assert_string_equal(ask("M0,1:00"), "E0e");
	/* X: binary, with escapes ('}' then the byte xor 0x20) for $ # } *. */
	{
		char x[64];

		snprintf(x, sizeof(x), "X10008,5:a}%cb}%c%c", '$' ^ 0x20, '}' ^ 0x20, 0x01);
		assert_string_equal(ask(x), "OK");
		assert_memory_equal(&fk.mem[8], "a$b}\x01", 5);
	}
	assert_string_equal(ask("X10000,0:"), "OK"); /* gdb's probe for X */
	assert_string_equal(ask("X10000,3:ab"), "E01");
	/* Big reads are cut to what fits one packet. */
	assert_int_equal(strlen(ask("m10000,2000")), GDB_PACKET_SIZE);
}

static void test_breakpoints_and_watchpoints_use_debug_registers(void **state)
{
	(void)state;
	ask("qSupported");
	assert_string_equal(ask("Z0,101000,1"), "OK");
	assert_true(fk.loaded.slot[0].used);
	assert_int_equal(fk.loaded.slot[0].addr, 0x101000);
	assert_string_equal(ask("Z2,20000,4"), "OK");
	assert_string_equal(ask("Z4,20010,2"), "OK");
	assert_string_equal(ask("Z1,101010,1"), "OK");
	/* Four slots: the fifth is refused with an error gdb reports. */
	assert_string_equal(ask("Z3,20020,1"), "E1c");
	/* An unaligned or odd-sized watch, or 8 bytes in a 32-bit guest, cannot be done. */
	assert_string_equal(ask("z1,101010,1"), "OK");
	assert_string_equal(ask("Z2,20001,4"), "E01");
	assert_string_equal(ask("Z2,20000,3"), "E01");
	assert_string_equal(ask("Z2,20000,8"), "E01");
	/* DR7: L0 exec, L1 write 4 bytes, L2 access 2 bytes. */
	uint64_t dr7 = gdb_hwbp_dr7(&fk.loaded);
	assert_int_equal(dr7 & 0xFF, 0x15);
	assert_int_equal((dr7 >> 16) & 0xF, 0x0);
	assert_int_equal((dr7 >> 20) & 0xF, 0xD); /* RW=01, LEN=11 */
	assert_int_equal((dr7 >> 24) & 0xF, 0x7); /* RW=11, LEN=01 */
	assert_true(dr7 & DR7_FIXED1);
	/* Removal of something never set is harmless; removing frees the slot. */
	assert_string_equal(ask("z0,555,1"), "OK");
	assert_string_equal(ask("z4,20010,2"), "OK");
	assert_false(fk.loaded.slot[2].used);
	/* A watchpoint hit names the address in the stop reply. */
	fk.input = "";
	assert_int_equal(gdb_stub_stopped(&stub, &(struct gdb_stop){.signal = GDB_SIGTRAP, .slot =
				gdb_hwbp_hit(&fk.loaded, 0x2)}, true), GDB_DETACH);
	assert_non_null(strstr(fk.out, "$T05thread:1;watch:20000;#"));
	/* The line went away: every breakpoint is gone from the debug registers. */
	assert_false(gdb_hwbp_any(&fk.loaded));
}

static unsigned sw_count(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < FAKE_SWBPS; i++)
		n += sw_used[i];
	return n;
}

static void test_software_breakpoints_go_to_the_target(void **state)
{
	(void)state;
	/* Offered in qSupported; gdb says swbreak+ too, so stop replies may name it. */
	assert_non_null(strstr(ask("qSupported:multiprocess+;swbreak+;hwbreak+"), ";swbreak+"));
	for (unsigned i = 0; i < 6; i++) {
		char pkt[32];

		snprintf(pkt, sizeof(pkt), "Z0,%x,1", MEM_BASE + i);
		assert_string_equal(ask(pkt), "OK");
	}
	assert_int_equal(sw_count(), 6); /* more than four: no debug register used */
	assert_false(gdb_hwbp_any(&fk.loaded));
	assert_string_equal(ask("Z0,10000,2"), "E01");	 /* x86's breakpoint is one byte */
	assert_string_equal(ask("Z0,500,1"), "E0e");	 /* not mapped */
	assert_string_equal(ask("Z0,10010,1"), "OK");
	assert_string_equal(ask("Z0,10011,1"), "OK");
	assert_string_equal(ask("Z0,10012,1"), "E1c"); /* the target's table is full */
	assert_string_equal(ask("z0,10001,1"), "OK");
	assert_string_equal(ask("z0,10001,1"), "OK"); /* gone already: harmless */
	assert_int_equal(sw_count(), 7);
	/* Z1 stays a debug register. */
	assert_string_equal(ask("Z1,10020,1"), "OK");
	assert_true(fk.loaded.slot[0].used);
	/* A software breakpoint's stop says swbreak (gdb leaves the PC where it is). */
	fk.input = "";
	assert_int_equal(gdb_stub_stopped(&stub, &(struct gdb_stop){.signal = GDB_SIGTRAP, .slot = -1, .swbreak = true}, true),
			 GDB_DETACH);
	assert_non_null(strstr(fk.out, "$T05thread:1;swbreak:;#"));
	/* The line went away: the target lifted every INT3. */
	assert_int_equal(sw_count(), 0);
	assert_true(sw_clears > 0);
}

static void test_swbreak_only_when_gdb_offers_it(void **state)
{
	(void)state;
	assert_non_null(strstr(ask("qSupported:multiprocess+"), ";swbreak+"));
	fk.input = "";
	gdb_stub_stopped(&stub, &(struct gdb_stop){.signal = GDB_SIGTRAP, .slot = -1, .swbreak = true}, true);
	assert_non_null(strstr(fk.out, "$T05thread:1;#"));
}

static void test_hwbp_hit_prefers_data_and_ignores_foreign_bits(void **state)
{
	struct gdb_hwbps b = {0};

	(void)state;
	assert_int_equal(gdb_hwbp_insert(&b, GDB_BP_SOFT, 0x1000, 1, false), 0);
	assert_int_equal(gdb_hwbp_insert(&b, GDB_BP_SOFT, 0x1000, 1, false), 0); /* same slot */
	assert_int_equal(gdb_hwbp_insert(&b, GDB_BP_WRITE, 0x2000, 8, true), 1);
	assert_int_equal(gdb_hwbp_hit(&b, 0x3), 1);
	assert_int_equal(gdb_hwbp_hit(&b, 0x1), 0);
	assert_int_equal(gdb_hwbp_hit(&b, 0xC), -1); /* slots 2 and 3 are not ours */
	assert_int_equal(gdb_hwbp_hit(&b, DR6_BS), -1);
	assert_int_equal((gdb_hwbp_dr7(&b) >> 20) & 0xF, 0x9); /* RW=01, LEN=10 (8 bytes) */
	assert_int_equal(gdb_hwbp_remove(&b, GDB_BP_WRITE, 0x2000, 4), -E_NOENT);
	assert_int_equal(gdb_hwbp_remove(&b, GDB_BP_WRITE, 0x2000, 8), 0);
	assert_int_equal(gdb_hwbp_insert(&b, 7, 0, 1, true), -E_INVAL);
}

static void test_resume_detach_kill_and_ctrl_c(void **state)
{
	(void)state;
	assert_int_equal(feed(frame("c")), GDB_CONTINUE);
	assert_int_equal(feed(frame("s")), GDB_STEP);
	assert_int_equal(feed(frame("c101000")), GDB_CONTINUE);
	assert_int_equal(fk.regs[GDB_REG_RIP], 0x101000);
	assert_int_equal(feed("\x03"), GDB_BREAK);
	ask("Z0,101000,1");
	ask("QStartNoAckMode");
	fk.out_len = 0;
	assert_int_equal(feed(frame("D")), GDB_DETACH);
	assert_string_equal(fk.out, "$OK#9a");
	assert_false(gdb_hwbp_any(&fk.loaded));
	assert_false(stub.noack); /* the next debugger starts with acks again */
	assert_int_equal(feed(frame("k")), GDB_DETACH);
	assert_string_equal(ask("qAttached"), "1");
}

static void test_stopped_serves_until_resumed(void **state)
{
	(void)state;
	fk.regs[GDB_REG_RIP] = 0x1234;
	char script[256];

	snprintf(script, sizeof(script), "+%s+%s+%s", frame("p8"), frame("m10000,1"), frame("c"));
	fk.input = script;
	assert_int_equal(gdb_stub_stopped(&stub, &(struct gdb_stop){.signal = GDB_SIGINT, .slot = -1}, true),
			 GDB_CONTINUE);
	assert_non_null(strstr(fk.out, "$T02thread:1;#"));
	assert_non_null(strstr(fk.out, "$34120000#"));
	assert_non_null(strstr(fk.out, "$00#60"));
	/* '?' repeats the last reason. */
	assert_string_equal(ask("?"), "T02thread:1;");
}

static void test_monitor_command_is_forwarded(void **state)
{
	const char *hex = "696e666f2072656773"; /* "info regs" */
	char q[64];
	size_t start;

	(void)state;
	snprintf(q, sizeof(q), "qRcmd,%s", hex);
	start = fk.out_len;
	feed(frame(q));
	assert_string_equal(fk.last_monitor, "info regs");
	/* O packet with the hex text, then OK. */
	assert_non_null(strstr(fk.out + start, "$O68656c6c6f2066726f6d206d68760a#"));
	assert_non_null(strstr(fk.out + start, "$OK#9a"));
}

/* gdb connected while the guest ran and resent its first packet before the stub could
 * answer: the copy is acked, not answered a second time; later repeats are answered. */
static void test_late_connect_drops_resent_first_packet(void **state)
{
	(void)state;
	gdb_stub_late_connect(&stub);
	feed(frame("qSupported:xmlRegisters=i386"));
	feed(frame("qSupported:xmlRegisters=i386"));
	feed(frame("qSupported:xmlRegisters=i386"));
	assert_non_null(strstr(fk.out, "PacketSize"));
	assert_null(strstr(strstr(fk.out, "PacketSize") + 1, "PacketSize")); /* one answer */
	assert_string_equal(fk.out + fk.out_len - 2, "++"); /* the copies were acked */
	fk.out_len = 0;
	feed(frame("vMustReplyEmpty"));
	assert_string_equal(fk.out, "+$#00");
	/* From now on a repeated packet is a new request. */
	fk.out_len = 0;
	feed(frame("vMustReplyEmpty"));
	assert_string_equal(fk.out, "+$#00");
	/* Without a late connection nothing is dropped. */
	gdb_stub_init(&stub, &fake_target, &fk);
	fk.out_len = 0;
	feed(frame("?"));
	feed(frame("?"));
	assert_string_equal(fk.out, "+$T05thread:1;#d7+$T05thread:1;#d7");
}

/* Line noise, torn and damaged packets in any order: every byte is consumed at once (the stub
 * never waits for more), nothing overflows, and a clean packet afterwards still works. */
static void test_random_bytes_never_hang_or_overflow(void **state)
{
	static const char alphabet[] = "$#}*+-0123456789abcdefmMgGpPqXZzcsD?:,;=\x03";
	uint32_t seed = 12345;

	(void)state;
	for (unsigned i = 0; i < 200000; i++) {
		seed = seed * 1103515245u + 12345u;
		uint8_t b = (seed >> 16) & 1 ? (uint8_t)alphabet[(seed >> 17) % (sizeof(alphabet) - 1)]
					     : (uint8_t)(seed >> 20);
		(void)gdb_stub_feed(&stub, b);
		if (fk.out_len > sizeof(fk.out) / 2)
			fk.out_len = 0;
	}
	/* Whatever state that left: a '#' and two digits end any packet in progress. */
	feed("#00");
	fk.out_len = 0;
	stub.noack = false;
	assert_int_equal(ask("?")[0], 'T');
}

static void test_send_escapes_special_characters(void **state)
{
	(void)state;
	gdb_stub_send(&stub, "a$b#c}d*e", 9);
	assert_string_equal(fk.out, "$a}\x04" "b}\x03" "c}]d}\x0a" "e#51");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_framing_ack_checksum_and_nak, setup),
		cmocka_unit_test_setup(test_no_ack_mode, setup),
		cmocka_unit_test_setup(test_overlong_and_malformed_packets_get_errors, setup),
		cmocka_unit_test_setup(test_qsupported_and_target_xml_follow_the_mode, setup),
		cmocka_unit_test_setup(test_registers_i386_layout, setup),
		cmocka_unit_test_setup(test_control_register_writes_checked, setup),
		cmocka_unit_test_setup(test_registers_x86_64_layout, setup),
		cmocka_unit_test_setup(test_memory_read_write_and_unmapped, setup),
		cmocka_unit_test_setup(test_breakpoints_and_watchpoints_use_debug_registers, setup),
		cmocka_unit_test_setup(test_hwbp_hit_prefers_data_and_ignores_foreign_bits, setup),
		cmocka_unit_test_setup(test_resume_detach_kill_and_ctrl_c, setup),
		cmocka_unit_test_setup(test_stopped_serves_until_resumed, setup),
		cmocka_unit_test_setup(test_software_breakpoints_go_to_the_target, setup_sw),
		cmocka_unit_test_setup(test_swbreak_only_when_gdb_offers_it, setup_sw),
		cmocka_unit_test_setup(test_monitor_command_is_forwarded, setup),
		cmocka_unit_test_setup(test_late_connect_drops_resent_first_packet, setup),
		cmocka_unit_test_setup(test_random_bytes_never_hang_or_overflow, setup),
		cmocka_unit_test_setup(test_send_escapes_special_characters, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
