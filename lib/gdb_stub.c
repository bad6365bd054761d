/*
 * The GDB remote serial protocol, target side (see lib/gdb_stub.h).  Packet reference: the
 * "Remote Protocol" appendix of the GDB manual.
 */
#include "lib/gdb_stub.h"
#include "lib/gdb_threads.h"
#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/fmt.h"
#include "lib/parse.h"
#include "lib/string.h"

#define CTRL_C	       0x03
#define ESCAPE_CHAR    '}'
#define ESCAPE_XOR     0x20
#define HEX_BASE       16
#define NIBBLE	       4
#define BYTE_BITS      8
#define MAX_REG_BYTES  10 /* an x87 register */
#define ERR_BAD_PACKET "E01"
#define ERR_FAULT      "E0e" /* EFAULT, as gdbserver answers an unreadable address */
#define ERR_NOSPACE    "E1c"

static const char hex_chars[] = "0123456789abcdef";

void gdb_stub_init(struct gdb_stub *s, const struct gdb_target *t, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->t = t;
	s->ctx = ctx;
	s->layout = &gdb_layout_i386;
	s->last = (struct gdb_stop){.signal = GDB_SIGTRAP, .slot = -1};
	s->xml_len = -1;
}

/* ---- transmitter ---- */

static bool needs_escape(char c)
{
	return c == '$' || c == '#' || c == ESCAPE_CHAR || c == '*';
}

static void transmit(struct gdb_stub *s)
{
	s->t->write(s->ctx, s->out, s->out_len);
}

void gdb_stub_send(struct gdb_stub *s, const char *payload, size_t n)
{
	uint8_t sum = 0;
	size_t o = 0;

	s->out[o++] = '$';
	for (size_t i = 0; i < n && o + 2 < sizeof(s->out) - 3; i++) {
		char c = payload[i];

		if (needs_escape(c)) {
			s->out[o++] = ESCAPE_CHAR;
			sum += ESCAPE_CHAR;
			c ^= ESCAPE_XOR;
		}
		s->out[o++] = c;
		sum += (uint8_t)c;
	}
	s->out[o++] = '#';
	s->out[o++] = hex_chars[sum >> NIBBLE];
	s->out[o++] = hex_chars[sum & 0xF];
	s->out_len = o;
	transmit(s);
}

static void send_str(struct gdb_stub *s, const char *str)
{
	gdb_stub_send(s, str, strlen(str));
}

static char *put_hex(char *p, const uint8_t *bytes, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		*p++ = hex_chars[bytes[i] >> NIBBLE];
		*p++ = hex_chars[bytes[i] & 0xF];
	}
	return p;
}

void gdb_stub_console(struct gdb_stub *s, const char *text)
{
	char buf[GDB_PACKET_SIZE];
	size_t n = MIN(strlen(text), (sizeof(buf) - 1) / 2);

	buf[0] = 'O';
	put_hex(buf + 1, (const uint8_t *)text, (unsigned)n);
	gdb_stub_send(s, buf, 1 + 2 * n);
}

/* ---- parsing helpers: a cursor over the packet ---- */

struct cursor {
	const char *p, *end;
};

static bool parse_hex(struct cursor *c, uint64_t *out)
{
	uint64_t v = 0;
	const char *start = c->p;

	while (c->p < c->end && hex_digit(*c->p) >= 0) {
		if (v >> (64 - NIBBLE))
			return false; /* more than 64 bits */
		v = (v << NIBBLE) | (uint64_t)hex_digit(*c->p);
		c->p++;
	}
	*out = v;
	return c->p != start;
}

static bool expect(struct cursor *c, char ch)
{
	if (c->p >= c->end || *c->p != ch)
		return false;
	c->p++;
	return true;
}

static bool at_end(const struct cursor *c)
{
	return c->p == c->end;
}

/* n bytes from 2n hex digits. */
static bool parse_bytes(struct cursor *c, uint8_t *out, unsigned n)
{
	if ((size_t)(c->end - c->p) < 2 * (size_t)n)
		return false;
	for (unsigned i = 0; i < n; i++) {
		int hi = hex_digit(c->p[0]), lo = hex_digit(c->p[1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << NIBBLE | lo);
		c->p += 2;
	}
	return true;
}

/* Does pkt[0..len) contain word (gdb's qSupported feature list)? */
static bool memmem_str(const char *pkt, size_t len, const char *word)
{
	size_t n = strlen(word);

	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(pkt + i, word, n))
			return true;
	return false;
}

static bool has_prefix(const char *pkt, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(pkt, prefix, n) == 0;
}

/* ---- registers ---- */

static unsigned reg_bytes(const struct gdb_reg_desc *r)
{
	return r->bits / BYTE_BITS;
}

/* A register in target (little-endian) byte order. */
static void reg_read(struct gdb_stub *s, const struct gdb_reg_desc *r, uint8_t *out)
{
	uint64_t v = r->src == GDB_REG_FPU ? 0 : s->t->reg_get(s->ctx, (enum gdb_reg)r->src);

	memset(out, 0, MAX_REG_BYTES);
	for (unsigned i = 0; i < reg_bytes(r) && i < sizeof(v); i++)
		out[i] = (uint8_t)(v >> (i * BYTE_BITS));
}

/* Write one register from target-order bytes.  Writing back the value it has is always fine
 * (gdb's G packet sends every register). */
static bool reg_write(struct gdb_stub *s, const struct gdb_reg_desc *r, const uint8_t *in)
{
	uint8_t cur[MAX_REG_BYTES];
	uint64_t v = 0;

	reg_read(s, r, cur);
	if (memcmp(cur, in, reg_bytes(r)) == 0)
		return true;
	if (r->src == GDB_REG_FPU)
		return false;
	for (unsigned i = 0; i < reg_bytes(r) && i < sizeof(v); i++)
		v |= (uint64_t)in[i] << (i * BYTE_BITS);
	/* A 32-bit view of a GPR or RIP writes the low half: the upper half of a 64-bit register
	 * is zero outside 64-bit mode. */
	return s->t->reg_set(s->ctx, (enum gdb_reg)r->src, v);
}

static void cmd_read_regs(struct gdb_stub *s)
{
	char buf[GDB_PACKET_SIZE];
	char *p = buf;

	if (!gdb_threads_regs_available(s)) { /* "xx": a byte gdb shows as unavailable */
		memset(buf, 'x', 2 * gdb_layout_bytes(s->layout));
		gdb_stub_send(s, buf, 2 * gdb_layout_bytes(s->layout));
		return;
	}
	for (unsigned i = 0; i < s->layout->nr; i++) {
		uint8_t bytes[MAX_REG_BYTES];

		reg_read(s, &s->layout->regs[i], bytes);
		p = put_hex(p, bytes, reg_bytes(&s->layout->regs[i]));
	}
	gdb_stub_send(s, buf, (size_t)(p - buf));
}

/*
 * G: every register at once, all or nothing.  Registers are written in layout order (GPRs
 * before the control registers, whose checks look at each other); when one is refused (a CR
 * value the CPU would #GP on), those already written get their old values back, last first,
 * so the guest is as it was and gdb gets an error.
 */
static void cmd_write_regs(struct gdb_stub *s, struct cursor *c)
{
	uint8_t want[GDB_MAX_LAYOUT_REGS][MAX_REG_BYTES], old[GDB_MAX_LAYOUT_REGS][MAX_REG_BYTES];
	unsigned i;

	if ((size_t)(c->end - c->p) != 2 * (size_t)gdb_layout_bytes(s->layout) ||
	    !gdb_threads_regs_available(s)) {
		send_str(s, ERR_BAD_PACKET);
		return;
	}
	for (i = 0; i < s->layout->nr; i++) {
		if (!parse_bytes(c, want[i], reg_bytes(&s->layout->regs[i]))) {
			send_str(s, ERR_BAD_PACKET);
			return;
		}
		reg_read(s, &s->layout->regs[i], old[i]);
	}
	for (i = 0; i < s->layout->nr; i++)
		if (!reg_write(s, &s->layout->regs[i], want[i]))
			break;
	if (i == s->layout->nr) {
		send_str(s, "OK");
		return;
	}
	while (i-- > 0)
		reg_write(s, &s->layout->regs[i], old[i]);
	send_str(s, ERR_BAD_PACKET);
}

static void cmd_read_reg(struct gdb_stub *s, struct cursor *c)
{
	uint64_t n;
	uint8_t bytes[MAX_REG_BYTES];
	char buf[2 * MAX_REG_BYTES];

	if (!parse_hex(c, &n) || !at_end(c)) {
		send_str(s, ERR_BAD_PACKET);
		return;
	}
	if (n >= s->layout->nr) {
		send_str(s, ERR_BAD_PACKET);
		return;
	}
	if (!gdb_threads_regs_available(s)) {
		memset(buf, 'x', 2 * reg_bytes(&s->layout->regs[n]));
		gdb_stub_send(s, buf, 2 * reg_bytes(&s->layout->regs[n]));
		return;
	}
	reg_read(s, &s->layout->regs[n], bytes);
	gdb_stub_send(s, buf, (size_t)(put_hex(buf, bytes, reg_bytes(&s->layout->regs[n])) - buf));
}

static void cmd_write_reg(struct gdb_stub *s, struct cursor *c)
{
	uint64_t n;
	uint8_t bytes[MAX_REG_BYTES];

	if (!parse_hex(c, &n) || !expect(c, '=') || n >= s->layout->nr ||
	    !gdb_threads_regs_available(s) ||
	    !parse_bytes(c, bytes, reg_bytes(&s->layout->regs[n])) || !at_end(c)) {
		send_str(s, ERR_BAD_PACKET);
		return;
	}
	send_str(s, reg_write(s, &s->layout->regs[n], bytes) ? "OK" : ERR_BAD_PACKET);
}

/* ---- memory ---- */

static bool parse_addr_len(struct cursor *c, uint64_t *addr, uint64_t *len)
{
	return parse_hex(c, addr) && expect(c, ',') && parse_hex(c, len);
}

static void cmd_read_mem(struct gdb_stub *s, struct cursor *c)
{
	uint64_t addr, len;
	uint8_t data[GDB_PACKET_SIZE / 2];
	char buf[GDB_PACKET_SIZE];
	unsigned done;

	if (!parse_addr_len(c, &addr, &len) || !at_end(c)) {
		send_str(s, ERR_BAD_PACKET);
		return;
	}
	if (len == 0) {
		send_str(s, "");
		return;
	}
	if (len > sizeof(data))
		len = sizeof(data);
	done = s->t->mem_read(s->ctx, addr, data, (unsigned)len);
	if (done == 0) {
		send_str(s, ERR_FAULT);
		return;
	}
	/* A partial read is a valid answer: gdb asks again from where it stopped. */
	gdb_stub_send(s, buf, (size_t)(put_hex(buf, data, done) - buf));
}

static void write_mem_reply(struct gdb_stub *s, uint64_t addr, const uint8_t *data, uint64_t len)
{
	if (len && s->t->mem_write(s->ctx, addr, data, (unsigned)len) != len) {
		send_str(s, ERR_FAULT);
		return;
	}
	send_str(s, "OK");
}

static void cmd_write_mem(struct gdb_stub *s, struct cursor *c)
{
	uint64_t addr, len;
	uint8_t data[GDB_PACKET_SIZE / 2];

	if (!parse_addr_len(c, &addr, &len) || !expect(c, ':') || len > sizeof(data) ||
	    !parse_bytes(c, data, (unsigned)len) || !at_end(c)) {
		send_str(s, ERR_BAD_PACKET);
		return;
	}
	write_mem_reply(s, addr, data, len);
}

/* X: binary data, '}' escapes the next byte (xor 0x20). */
static void cmd_write_mem_binary(struct gdb_stub *s, struct cursor *c)
{
	uint64_t addr, len, n = 0;
	uint8_t data[GDB_PACKET_SIZE];

	if (!parse_addr_len(c, &addr, &len) || !expect(c, ':') || len > sizeof(data)) {
		send_str(s, ERR_BAD_PACKET);
		return;
	}
	while (c->p < c->end && n < len) {
		uint8_t b = (uint8_t)*c->p++;

		if (b == ESCAPE_CHAR) {
			if (c->p == c->end)
				break;
			b = (uint8_t)(*c->p++ ^ ESCAPE_XOR);
		}
		data[n++] = b;
	}
	if (n != len || !at_end(c)) {
		send_str(s, ERR_BAD_PACKET);
		return;
	}
	write_mem_reply(s, addr, data, len);
}

/* ---- breakpoints ---- */

static void cmd_breakpoint(struct gdb_stub *s, struct cursor *c, bool insert)
{
	uint64_t type, addr, kind;
	int ret;

	if (!parse_hex(c, &type) || !expect(c, ',') || !parse_addr_len(c, &addr, &kind)) {
		send_str(s, ERR_BAD_PACKET);
		return;
	}
	if (type >= NR_GDB_BP_TYPES) {
		send_str(s, ""); /* a kind of breakpoint this stub does not have */
		return;
	}
	/* Conditions and commands for target-side evaluation (";X...") are not offered in
	 * qSupported; anything after the kind is ignored.  Z0 is an INT3 the target plants
	 * (kind 1: x86's one-byte breakpoint instruction), when it can. */
	if (type == GDB_BP_SOFT && s->t->sw_break) {
		ret = kind == 1 ? s->t->sw_break(s->ctx, addr, insert) : -E_INVAL;
		if (ret < 0 && !(ret == -E_NOENT && !insert)) {
			send_str(s, ret == -E_NOMEM ? ERR_NOSPACE
				    : ret == -E_FAULT ? ERR_FAULT
						      : ERR_BAD_PACKET);
			return;
		}
		send_str(s, "OK");
		return;
	}
	if (insert)
		ret = gdb_hwbp_insert(&s->bps, (unsigned)type, addr, (unsigned)kind,
				      s->layout == &gdb_layout_x86_64);
	else
		ret = gdb_hwbp_remove(&s->bps, (unsigned)type, addr, (unsigned)kind);
	if (ret < 0 && !(ret == -E_NOENT && !insert)) {
		send_str(s, ret == -E_NOMEM ? ERR_NOSPACE : ERR_BAD_PACKET);
		return;
	}
	s->t->debug_regs(s->ctx, &s->bps);
	send_str(s, "OK");
}

/* ---- queries ---- */

static void choose_layout(struct gdb_stub *s)
{
	s->layout = s->t->wide(s->ctx) ? &gdb_layout_x86_64 : &gdb_layout_i386;
	s->xml_len = gdb_layout_xml(s->layout, s->xml, sizeof(s->xml));
}

/* qXfer:features:read:target.xml:OFFSET,LENGTH */
static void cmd_xfer_features(struct gdb_stub *s, struct cursor *c)
{
	static const char annex[] = "target.xml:";
	uint64_t off, len;
	char buf[GDB_PACKET_SIZE];
	size_t n, size, used = 1;

	if ((size_t)(c->end - c->p) < sizeof(annex) - 1 ||
	    memcmp(c->p, annex, sizeof(annex) - 1) != 0) {
		send_str(s, "E00"); /* unknown annex */
		return;
	}
	c->p += sizeof(annex) - 1;
	if (!parse_addr_len(c, &off, &len) || !at_end(c)) {
		send_str(s, ERR_BAD_PACKET);
		return;
	}
	if (s->xml_len < 0)
		choose_layout(s);
	if (s->xml_len < 0) {
		send_str(s, ERR_BAD_PACKET);
		return;
	}
	size = (size_t)s->xml_len;
	if (off >= size) {
		send_str(s, "l");
		return;
	}
	/* Escapes may double a byte: stay within the packet size gdb was promised. */
	n = MIN((size_t)len, size - (size_t)off);
	n = MIN(n, (sizeof(buf) - 1) / 2);
	buf[0] = off + n >= size ? 'l' : 'm';
	memcpy(buf + used, s->xml + off, n);
	gdb_stub_send(s, buf, used + n);
}

static void cmd_monitor(struct gdb_stub *s, struct cursor *c)
{
	char cmd[GDB_PACKET_SIZE / 2 + 1];
	size_t n = (size_t)(c->end - c->p) / 2;

	if ((size_t)(c->end - c->p) % 2 || !parse_bytes(c, (uint8_t *)cmd, (unsigned)n) ||
	    strnlen(cmd, n) != n) {
		send_str(s, ERR_BAD_PACKET);
		return;
	}
	cmd[n] = '\0';
	if (s->t->monitor)
		s->t->monitor(s->ctx, s, cmd);
	else
		gdb_stub_console(s, "no monitor commands here\n");
	send_str(s, "OK");
}

static void cmd_query(struct gdb_stub *s, const char *pkt, size_t len)
{
	struct cursor c = {pkt, pkt + len};

	if (has_prefix(pkt, len, "qSupported")) {
		char buf[80];

		choose_layout(s); /* a new connection: the guest's mode now decides */
		s->gdb_swbreak = s->t->sw_break && memmem_str(pkt, len, "swbreak+");
		fmt_snprintf(buf, sizeof(buf), "PacketSize=%x;qXfer:features:read+;QStartNoAckMode+%s",
			     GDB_PACKET_SIZE, s->t->sw_break ? ";swbreak+" : "");
		send_str(s, buf);
	} else if (has_prefix(pkt, len, "qXfer:features:read:")) {
		c.p += strlen("qXfer:features:read:");
		cmd_xfer_features(s, &c);
	} else if (has_prefix(pkt, len, "qRcmd,")) {
		c.p += strlen("qRcmd,");
		cmd_monitor(s, &c);
	} else if (has_prefix(pkt, len, "qAttached")) {
		send_str(s, "1"); /* gdb detaches (never kills) when it quits */
	} else if (gdb_threads_query(s, pkt, len)) {
		/* answered */
	} else if (has_prefix(pkt, len, "QStartNoAckMode")) {
		send_str(s, "OK");
		s->noack = true; /* from the next packet on */
	} else {
		send_str(s, ""); /* not supported */
	}
}

/* ---- stop replies ---- */

static void send_stop(struct gdb_stub *s)
{
	static const char *const watch_kind[NR_GDB_BP_TYPES] = {
		[GDB_BP_WRITE] = "watch", [GDB_BP_READ] = "rwatch", [GDB_BP_ACCESS] = "awatch"};
	const struct gdb_hwbp *hit =
		s->last.slot >= 0 && s->last.slot < GDB_HWBP_SLOTS ? &s->bps.slot[s->last.slot] : NULL;
	char buf[64];

	if (hit && hit->used && watch_kind[hit->type])
		fmt_snprintf(buf, sizeof(buf), "T%02xthread:%x;%s:%lx;", (unsigned)s->last.signal,
			     gdb_threads_stopped(s), watch_kind[hit->type],
			     (unsigned long)hit->addr);
	else if (s->last.swbreak && s->gdb_swbreak) /* gdb takes the PC as is: no decrement */
		fmt_snprintf(buf, sizeof(buf), "T%02xthread:%x;swbreak:;", (unsigned)s->last.signal,
			     gdb_threads_stopped(s));
	else
		fmt_snprintf(buf, sizeof(buf), "T%02xthread:%x;", (unsigned)s->last.signal,
			     gdb_threads_stopped(s));
	send_str(s, buf);
}

/* ---- dispatch ---- */

static void clear_breakpoints(struct gdb_stub *s)
{
	memset(&s->bps, 0, sizeof(s->bps));
	s->t->debug_regs(s->ctx, &s->bps);
	if (s->t->sw_clear)
		s->t->sw_clear(s->ctx);
}

/* c / s [addr]: resume at addr if given. */
static bool resume_at(struct gdb_stub *s, struct cursor *c)
{
	uint64_t addr;

	if (at_end(c))
		return true;
	if (!parse_hex(c, &addr) || !at_end(c) || !s->t->reg_set(s->ctx, GDB_REG_RIP, addr)) {
		send_str(s, ERR_BAD_PACKET);
		return false;
	}
	return true;
}

static enum gdb_action handle_packet(struct gdb_stub *s, const char *pkt, size_t len)
{
	struct cursor c = {pkt + 1, pkt + len};

	s->attached = true;
	if (len == 0) {
		send_str(s, "");
		return GDB_STAY;
	}
	switch (pkt[0]) {
	case '?':
		send_stop(s);
		break;
	case 'g':
		cmd_read_regs(s);
		break;
	case 'G':
		cmd_write_regs(s, &c);
		break;
	case 'p':
		cmd_read_reg(s, &c);
		break;
	case 'P':
		cmd_write_reg(s, &c);
		break;
	case 'm':
		cmd_read_mem(s, &c);
		break;
	case 'M':
		cmd_write_mem(s, &c);
		break;
	case 'X':
		cmd_write_mem_binary(s, &c);
		break;
	case 'Z':
	case 'z':
		cmd_breakpoint(s, &c, pkt[0] == 'Z');
		break;
	case 'c':
		if (resume_at(s, &c))
			return GDB_CONTINUE;
		break;
	case 's':
		s->step_thread = gdb_threads_step_target(s);
		if (resume_at(s, &c))
			return GDB_STEP;
		break;
	case 'D':
		send_str(s, "OK");
		clear_breakpoints(s);
		s->attached = false;
		s->noack = false;
		return GDB_DETACH;
	case 'k':
		/* gdb may not kill the guest: it is let go, as with D. */
		clear_breakpoints(s);
		s->attached = false;
		s->noack = false;
		return GDB_DETACH;
	case 'H':
		gdb_threads_cmd_h(s, pkt, len);
		break;
	case 'T':
		gdb_threads_cmd_t(s, pkt, len);
		break;
	case 'v':
		if (has_prefix(pkt, len, "vCont"))
			return gdb_threads_vcont(s, pkt, len);
		send_str(s, "");
		break;
	case 'q':
	case 'Q':
		cmd_query(s, pkt, len);
		break;
	default:
		send_str(s, "");
		break;
	}
	return GDB_STAY;
}

/* ---- receiver ---- */

void gdb_stub_late_connect(struct gdb_stub *s)
{
	s->drop_repeats = true;
	s->prev_len = 0;
}

/*
 * After a late connection: is this packet a copy of the one before it (gdb timed out waiting
 * for our ack and sent it again)?  The first other packet ends the watch.
 */
static bool is_resent(struct gdb_stub *s)
{
	unsigned head = MIN(s->in_len, (unsigned)GDB_PREV_HEAD);
	bool first = s->prev_len == 0;
	bool same = !first && s->in_len == s->prev_len && s->sum == s->prev_sum &&
		    memcmp(s->in, s->prev_head, head) == 0;

	if (same)
		return true;
	if (!first) {
		s->drop_repeats = false;
		return false;
	}
	s->prev_len = s->in_len ? s->in_len : 1;
	s->prev_sum = s->sum;
	memcpy(s->prev_head, s->in, head);
	return false;
}

enum gdb_action gdb_stub_feed(struct gdb_stub *s, uint8_t byte)
{
	int d;

	switch (s->rx) {
	case RX_IDLE:
		if (byte == CTRL_C)
			return GDB_BREAK;
		if (byte == '-' && s->out_len && !s->noack)
			transmit(s); /* NAK: send the last packet again */
		if (byte == '$') {
			s->rx = RX_DATA;
			s->in_len = 0;
			s->in_overflow = false;
			s->sum = 0;
		}
		return GDB_STAY; /* '+' and line noise between packets */
	case RX_DATA:
		if (byte == '#') {
			s->rx = RX_CSUM_HI;
			return GDB_STAY;
		}
		s->sum += byte;
		if (s->in_len < GDB_PACKET_SIZE)
			s->in[s->in_len++] = (char)byte;
		else
			s->in_overflow = true;
		return GDB_STAY;
	case RX_CSUM_HI:
		d = hex_digit((char)byte);
		s->csum = (uint8_t)((d < 0 ? 0 : d) << NIBBLE);
		s->rx = d < 0 ? RX_IDLE : RX_CSUM_LO;
		if (d < 0)
			goto bad;
		return GDB_STAY;
	case RX_CSUM_LO:
		s->rx = RX_IDLE;
		d = hex_digit((char)byte);
		if (d < 0 || (uint8_t)(s->csum | d) != s->sum)
			goto bad;
		if (!s->noack)
			s->t->write(s->ctx, "+", 1);
		if (s->in_overflow) {
			s->stats_bad_packets++;
			send_str(s, ERR_BAD_PACKET);
			return GDB_STAY;
		}
		s->in[s->in_len] = '\0';
		if (s->drop_repeats && is_resent(s))
			return GDB_STAY; /* acked above, answered already */
		return handle_packet(s, s->in, s->in_len);
	}
	return GDB_STAY;
bad:
	/* A damaged packet: ask again, or without acks, say so. */
	s->stats_bad_packets++;
	if (s->noack)
		send_str(s, ERR_BAD_PACKET);
	else
		s->t->write(s->ctx, "-", 1);
	return GDB_STAY;
}

enum gdb_action gdb_stub_stopped(struct gdb_stub *s, const struct gdb_stop *why, bool report)
{
	s->last = *why;
	gdb_threads_on_stop(s);
	if (report)
		send_stop(s);
	for (;;) {
		int ch = s->t->getc(s->ctx);
		enum gdb_action a;

		if (ch < 0) { /* the line is gone: let the guest go */
			clear_breakpoints(s);
			s->attached = false;
			s->noack = false;
			return GDB_DETACH;
		}
		a = gdb_stub_feed(s, (uint8_t)ch);
		if (a == GDB_CONTINUE || a == GDB_STEP || a == GDB_DETACH)
			return a;
	}
}
