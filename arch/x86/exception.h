/* CPU exceptions taken by mhv itself. */
#ifndef MHV_ARCH_X86_EXCEPTION_H
#define MHV_ARCH_X86_EXCEPTION_H

#include <stdbool.h>
#include <stdint.h>

#define NR_EXCEPTIONS 32

/* Exception vectors (SDM Vol. 3, Table 6-1). */
enum cpu_exception_vector {
	VEC_DE = 0,
	VEC_DB = 1,
	VEC_NMI = 2,
	VEC_BP = 3,
	VEC_OF = 4,
	VEC_BR = 5,
	VEC_UD = 6,
	VEC_NM = 7,
	VEC_DF = 8,
	VEC_TS = 10,
	VEC_NP = 11,
	VEC_SS = 12,
	VEC_GP = 13,
	VEC_PF = 14,
	VEC_MF = 16,
	VEC_AC = 17,
	VEC_MC = 18,
	VEC_XM = 19,
	VEC_VE = 20,
	VEC_CP = 21,
};

/* Register frame built by arch/x86/exception_entry.S (lowest address first). */
struct exc_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
	uint64_t vector, error_code;
	/* pushed by the CPU */
	uint64_t rip, cs, rflags, rsp, ss;
};

/*
 * Exception fixups: an instruction that may fault on purpose (RDMSR of an MSR that may not
 * exist, a probe write) registers (fault RIP, resume RIP) in section .extable; the handler
 * resumes there instead of stopping mhv.
 */
struct extable_entry {
	uint64_t fault_rip;
	uint64_t fixup_rip;
};

#define EXTABLE_ENTRY(fault, fixup)                                                                \
	".pushsection .extable, \"a\"\n\t.balign 8\n\t.quad " #fault ", " #fixup "\n\t."           \
	"popsection\n"

const char *exception_name(unsigned vector);
void exception_dispatch(struct exc_frame *f);
extern const uint64_t exception_stubs[NR_EXCEPTIONS];
/* Set by an NMI taken in mhv; the backend re-delivers it to the guest. */
extern volatile bool nmi_pending[]; /* per CPU (arch/x86/percpu.h) */

/* The last exception a fixup absorbed (-1: none since the last clear); for probes. */
void exception_clear_last(void);
int exception_last_vector(void);
/* Return a fixup RIP for a faulting RIP, or 0. */
uint64_t extable_lookup(uint64_t rip);

#endif
