/* The register layouts gdb expects for x86 targets and their XML target descriptions. */
#include "lib/gdb_regs.h"
#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/fmt.h"
#include "lib/string.h"

#define X87_BITS 80

#define X87_REGS                                                                                   \
	{"st0", X87_BITS, GDB_REG_FPU}, {"st1", X87_BITS, GDB_REG_FPU},                            \
		{"st2", X87_BITS, GDB_REG_FPU}, {"st3", X87_BITS, GDB_REG_FPU},                    \
		{"st4", X87_BITS, GDB_REG_FPU}, {"st5", X87_BITS, GDB_REG_FPU},                    \
		{"st6", X87_BITS, GDB_REG_FPU}, {"st7", X87_BITS, GDB_REG_FPU},                    \
		{"fctrl", 32, GDB_REG_FPU}, {"fstat", 32, GDB_REG_FPU}, {"ftag", 32, GDB_REG_FPU}, \
		{"fiseg", 32, GDB_REG_FPU}, {"fioff", 32, GDB_REG_FPU},                            \
		{"foseg", 32, GDB_REG_FPU}, {"fooff", 32, GDB_REG_FPU}, {"fop", 32, GDB_REG_FPU}

#define SELECTORS                                                                                  \
	{"cs", 32, GDB_REG_CS}, {"ss", 32, GDB_REG_SS}, {"ds", 32, GDB_REG_DS},                    \
		{"es", 32, GDB_REG_ES}, {"fs", 32, GDB_REG_FS}, {"gs", 32, GDB_REG_GS}

/* Index of the first register of each feature, per layout (the XML groups them). */
#define I386_CORE_END	 32
#define X86_64_CORE_END	 40
#define X86_64_SEGS_END	 42

static const struct gdb_reg_desc i386_regs[] = {
	{"eax", 32, GDB_REG_RAX},
	{"ecx", 32, GDB_REG_RCX},
	{"edx", 32, GDB_REG_RDX},
	{"ebx", 32, GDB_REG_RBX},
	{"esp", 32, GDB_REG_RSP},
	{"ebp", 32, GDB_REG_RBP},
	{"esi", 32, GDB_REG_RSI},
	{"edi", 32, GDB_REG_RDI},
	{"eip", 32, GDB_REG_RIP},
	{"eflags", 32, GDB_REG_RFLAGS},
	SELECTORS,
	X87_REGS,
	{"cr0", 32, GDB_REG_CR0},
	{"cr2", 32, GDB_REG_CR2},
	{"cr3", 32, GDB_REG_CR3},
	{"cr4", 32, GDB_REG_CR4},
	{"efer", 64, GDB_REG_EFER},
};

static const struct gdb_reg_desc x86_64_regs[] = {
	{"rax", 64, GDB_REG_RAX},
	{"rbx", 64, GDB_REG_RBX},
	{"rcx", 64, GDB_REG_RCX},
	{"rdx", 64, GDB_REG_RDX},
	{"rsi", 64, GDB_REG_RSI},
	{"rdi", 64, GDB_REG_RDI},
	{"rbp", 64, GDB_REG_RBP},
	{"rsp", 64, GDB_REG_RSP},
	{"r8", 64, GDB_REG_R8},
	{"r9", 64, GDB_REG_R9},
	{"r10", 64, GDB_REG_R10},
	{"r11", 64, GDB_REG_R11},
	{"r12", 64, GDB_REG_R12},
	{"r13", 64, GDB_REG_R13},
	{"r14", 64, GDB_REG_R14},
	{"r15", 64, GDB_REG_R15},
	{"rip", 64, GDB_REG_RIP},
	{"eflags", 32, GDB_REG_RFLAGS},
	SELECTORS,
	X87_REGS,
	{"fs_base", 64, GDB_REG_FS_BASE},
	{"gs_base", 64, GDB_REG_GS_BASE},
	{"cr0", 64, GDB_REG_CR0},
	{"cr2", 64, GDB_REG_CR2},
	{"cr3", 64, GDB_REG_CR3},
	{"cr4", 64, GDB_REG_CR4},
	{"efer", 64, GDB_REG_EFER},
};

BUILD_BUG_ON(ARRAY_SIZE(i386_regs) <= I386_CORE_END);
BUILD_BUG_ON(ARRAY_SIZE(x86_64_regs) <= X86_64_SEGS_END);
BUILD_BUG_ON(ARRAY_SIZE(x86_64_regs) > GDB_MAX_LAYOUT_REGS);
BUILD_BUG_ON(ARRAY_SIZE(i386_regs) > GDB_MAX_LAYOUT_REGS);

const struct gdb_layout gdb_layout_i386 = {"i386", i386_regs, ARRAY_SIZE(i386_regs)};
const struct gdb_layout gdb_layout_x86_64 = {"i386:x86-64", x86_64_regs, ARRAY_SIZE(x86_64_regs)};

unsigned gdb_layout_bytes(const struct gdb_layout *l)
{
	unsigned n = 0;

	for (unsigned i = 0; i < l->nr; i++)
		n += l->regs[i].bits / 8;
	return n;
}

struct xml_buf {
	char *p;
	size_t size, len;
	bool full;
};

static void __printf(2, 3) xml_add(struct xml_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full)
		return;
	va_start(ap, fmt);
	n = fmt_vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->size - b->len)
		b->full = true;
	else
		b->len += (size_t)n;
}

/* gdb's type for a register: what its value means, so that `info registers` prints it well. */
static const char *reg_type(const struct gdb_reg_desc *r)
{
	switch (r->src) {
	case GDB_REG_RSP:
	case GDB_REG_RBP:
		return "data_ptr";
	case GDB_REG_RIP:
		return "code_ptr";
	case GDB_REG_RFLAGS:
		return "i386_eflags";
	case GDB_REG_FPU:
		return r->bits == X87_BITS ? "i387_ext" : "int";
	default:
		return r->bits == 64 ? "int64" : "int32";
	}
}

static void xml_regs(struct xml_buf *b, const struct gdb_layout *l, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++)
		xml_add(b, "<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" regnum=\"%u\"%s/>",
			l->regs[i].name, l->regs[i].bits, reg_type(&l->regs[i]), i,
			l->regs[i].src == GDB_REG_FPU ? " group=\"float\"" : "");
}

/* The EFLAGS bits gdb names when it prints the register. */
static const char eflags_type[] =
	"<flags id=\"i386_eflags\" size=\"4\"><field name=\"CF\" start=\"0\" end=\"0\"/>"
	"<field name=\"\" start=\"1\" end=\"1\"/><field name=\"PF\" start=\"2\" end=\"2\"/>"
	"<field name=\"AF\" start=\"4\" end=\"4\"/><field name=\"ZF\" start=\"6\" end=\"6\"/>"
	"<field name=\"SF\" start=\"7\" end=\"7\"/><field name=\"TF\" start=\"8\" end=\"8\"/>"
	"<field name=\"IF\" start=\"9\" end=\"9\"/><field name=\"DF\" start=\"10\" end=\"10\"/>"
	"<field name=\"OF\" start=\"11\" end=\"11\"/><field name=\"NT\" start=\"14\" end=\"14\"/>"
	"<field name=\"RF\" start=\"16\" end=\"16\"/><field name=\"VM\" start=\"17\" end=\"17\"/>"
	"<field name=\"AC\" start=\"18\" end=\"18\"/><field name=\"VIF\" start=\"19\" end=\"19\"/>"
	"<field name=\"VIP\" start=\"20\" end=\"20\"/><field name=\"ID\" start=\"21\" end=\"21\"/>"
	"</flags>";

int gdb_layout_xml(const struct gdb_layout *l, char *buf, size_t size)
{
	struct xml_buf b = {buf, size, 0, size == 0};
	bool wide = l == &gdb_layout_x86_64;
	unsigned core_end = wide ? X86_64_CORE_END : I386_CORE_END;
	unsigned sys_start = wide ? X86_64_SEGS_END : I386_CORE_END;

	xml_add(&b, "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
		    "<target version=\"1.0\"><architecture>%s</architecture>",
		l->arch);
	xml_add(&b, "<feature name=\"org.gnu.gdb.i386.core\">%s", eflags_type);
	xml_regs(&b, l, 0, core_end);
	xml_add(&b, "</feature>");
	if (wide) {
		xml_add(&b, "<feature name=\"org.gnu.gdb.i386.segments\">");
		xml_regs(&b, l, X86_64_CORE_END, X86_64_SEGS_END);
		xml_add(&b, "</feature>");
	}
	xml_add(&b, "<feature name=\"org.mhv.x86.sys\">");
	xml_regs(&b, l, sys_start, l->nr);
	xml_add(&b, "</feature></target>");
	if (b.full)
		return -E_NOMEM;
	return (int)b.len;
}
