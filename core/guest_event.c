/* Guest-visible outcomes of instructions mhv refuses or whose emulated access faults. */
#include "core/guest_event.h"
#include "arch/x86/exception.h"
#include "arch/x86/paging.h"
#include "core/insn_fetch.h"
#include "core/mmio_exit.h"
#include "core/mmio_setup.h"
#include "core/vcpu.h"
#include "lib/compiler.h"
#include "lib/log.h"
#include "mm/memmap.h"
#include "mmio/region.h"
#include "mmio/x86_emulate.h"

#define REFUSE_REPORT_LIMIT 16
#define LA32_MASK	    0xFFFFFFFFull

void vcpu_refuse_insn(struct vcpu *v, const char *why, uint64_t code)
{
	static unsigned reported;

	v->exits[EXIT_KIND_OTHER]++;
	if (reported < REFUSE_REPORT_LIMIT) {
		reported++;
		pr_warn("mhv: %s (0x%lx) at RIP 0x%lx: #UD injected%s\n", why, code,
			v->ops->get_rip(v),
			reported == REFUSE_REPORT_LIMIT ? " (further reports suppressed)" : "");
	}
	v->ops->inject_exception(v, VEC_UD, false, 0);
}

#define EVENT_VECTOR(info)	 ((info) & 0xFFu)
#define EVENT_TYPE(info)	 (((info) >> 8) & 7u)
#define EVENT_HAS_ERROR(info)	 (((info) >> 11) & 1u)
#define EVENT_TYPE_EXT_INTR	 0u
#define EVENT_TYPE_NMI		 2u
#define EVENT_TYPE_EXCEPTION	 3u
#define EVENT_TYPE_SOFT_INT	 4u /* INT n */
#define EVENT_TYPE_PRIV_SOFT	 5u /* VMX: INT1 */
#define EVENT_TYPE_SOFT_EXC	 6u /* VMX: INT3, INTO */
#define SELECTOR_INDEX_MASK	 0xFFFCu /* error codes carry the selector without its RPL */
#define EVENT_REPORT_LIMIT	 8

/*
 * The event as the emulator takes it; false for one it does not deliver: an NMI (its
 * blocking is the CPU's to set) and a software event whose length is unknown (SVM reports
 * INT3/INTO as exceptions, and gives no length without NRIPS).
 */
static bool decode_event(uint32_t info, uint32_t error, unsigned insn_len, struct x86_event *ev)
{
	static const uint8_t kinds[] = {
		[EVENT_TYPE_EXT_INTR] = X86_EVENT_EXT_INTR,   [EVENT_TYPE_NMI] = X86_EVENT_NMI,
		[EVENT_TYPE_EXCEPTION] = X86_EVENT_HW_EXC,    [EVENT_TYPE_SOFT_INT] = X86_EVENT_SOFT_INT,
		[EVENT_TYPE_PRIV_SOFT] = X86_EVENT_PRIV_SOFT, [EVENT_TYPE_SOFT_EXC] = X86_EVENT_SOFT_EXC,
	};
	unsigned type = EVENT_TYPE(info);

	if (type >= ARRAY_SIZE(kinds) || type == EVENT_TYPE_NMI || type == 1)
		return false;
	*ev = (struct x86_event){.vector = (uint8_t)EVENT_VECTOR(info),
				 .kind = kinds[type],
				 .has_error_code = EVENT_HAS_ERROR(info),
				 .error_code = error,
				 .insn_len = (uint8_t)insn_len};
	if (ev->kind == X86_EVENT_HW_EXC && (ev->vector == VEC_BP || ev->vector == VEC_OF))
		return false;
	return ev->kind == X86_EVENT_EXT_INTR || ev->kind == X86_EVENT_HW_EXC || insn_len;
}

#define OP_INT3 0xCCu
#define OP_INTN 0xCDu
#define OP_INTO 0xCEu

/*
 * A software event the CPU gave no length for (SVM: INT n always, with or without NRIPS;
 * INT3 and INTO reported as the exceptions #BP and #OF): the instruction at RIP, which the
 * CPU has not passed yet, is decoded; it must be the one that raised this vector.
 */
static bool soft_event_from_insn(struct vcpu *v, uint32_t info, struct x86_event *ev)
{
	unsigned type = EVENT_TYPE(info), vector = EVENT_VECTOR(info);
	const struct x86_insn *in;
	int err = 0;

	if (!(type == EVENT_TYPE_SOFT_INT ||
	      (type == EVENT_TYPE_EXCEPTION && (vector == VEC_BP || vector == VEC_OF))))
		return false;
	in = vcpu_decode_current(v, &err);
	if (!in || in->map != X86_MAP_ONE)
		return false;
	if (in->opcode == OP_INTN && in->imm[0] == vector)
		*ev = (struct x86_event){.vector = (uint8_t)vector, .kind = X86_EVENT_SOFT_INT};
	else if ((in->opcode == OP_INT3 && vector == VEC_BP) ||
		 (in->opcode == OP_INTO && vector == VEC_OF))
		*ev = (struct x86_event){.vector = (uint8_t)vector, .kind = X86_EVENT_SOFT_EXC};
	else
		return false;
	ev->insn_len = in->len;
	return true;
}

/* The delivery onto a device region, emulated; false if the emulator does not do this one. */
static bool deliver_to_device(struct vcpu *v, uint32_t info, uint32_t error, unsigned insn_len,
			      uint64_t gpa)
{
	struct x86_exception exc;
	struct x86_event ev;

	if ((gpa >= v->hv_start && gpa < v->hv_end) || !mmio_region_find(mmio_regions(), gpa) ||
	    (!decode_event(info, error, insn_len, &ev) && !soft_event_from_insn(v, info, &ev)))
		return false;
	switch (vcpu_mmio_deliver_event(v, &ev, &exc)) {
	case X86_EMU_OK:
		return true;
	case X86_EMU_EXCEPTION:
		break;
	default:
		return false;
	}
	switch (x86_event_nested(&ev, exc.vector)) {
	case X86_NESTED_SHUTDOWN:
		vcpu_exit_triple_fault(v);
		break;
	case X86_NESTED_DF:
		v->ops->inject_exception(v, VEC_DF, true, 0);
		break;
	default:
		vcpu_inject_exc(v, &exc);
		break;
	}
	return true;
}

void vcpu_exit_delivery_fault(struct vcpu *v, uint32_t info, uint32_t error, unsigned insn_len,
			      uint64_t gpa)
{
	static unsigned reported;

	v->exits[EXIT_KIND_NPF]++;
	if (deliver_to_device(v, info, error, insn_len, gpa))
		return;
	if (EVENT_TYPE(info) == EVENT_TYPE_EXCEPTION && EVENT_VECTOR(info) == VEC_DF) {
		vcpu_exit_triple_fault(v);
		return;
	}
	if (reported < EVENT_REPORT_LIMIT) {
		reported++;
		pr_warn("mhv: delivering event 0x%x touched GPA 0x%lx outside guest RAM "
			"(IDT/GDT/TSS/stack?) at RIP 0x%lx: #DF injected\n",
			info, gpa, v->ops->get_rip(v));
	}
	v->ops->inject_exception(v, VEC_DF, true, 0);
}

void vcpu_exit_task_switch(struct vcpu *v, uint16_t selector)
{
	static unsigned reported;

	v->exits[EXIT_KIND_OTHER]++;
	if (reported < EVENT_REPORT_LIMIT) {
		reported++;
		pr_warn("mhv: hardware task switch to TSS 0x%x at RIP 0x%lx is not emulated: "
			"#GP injected\n",
			selector, v->ops->get_rip(v));
	}
	v->ops->inject_exception(v, VEC_GP, true, selector & SELECTOR_INDEX_MASK);
}

void vcpu_inject_exc(struct vcpu *v, const struct x86_exception *exc)
{
	if (exc->vector == VEC_PF)
		v->ops->set_cr2(v, exc->cr2);
	v->ops->inject_exception(v, exc->vector, exc->has_error_code, exc->error_code);
}

/* Page by page; buf NULL probes (vcpu_linear_access). */
static bool linear_pages(struct vcpu *v, uint64_t la, uint8_t *p, unsigned len, bool write,
			 bool wrap32)
{
	while (len) {
		unsigned chunk;
		struct x86_exception exc;

		if (wrap32)
			la &= LA32_MASK;
		chunk = (unsigned)MIN((uint64_t)len, PAGE_SIZE - (la & (PAGE_SIZE - 1)));
		if (vcpu_linear_access(v, la, p, chunk, write, &exc)) {
			vcpu_inject_exc(v, &exc);
			return false;
		}
		la += chunk;
		if (p)
			p += chunk;
		len -= chunk;
	}
	return true;
}

bool vcpu_linear_probe(struct vcpu *v, uint64_t la, unsigned len, bool write, bool wrap32)
{
	return linear_pages(v, la, NULL, len, write, wrap32);
}

bool vcpu_linear_rw(struct vcpu *v, uint64_t la, void *buf, unsigned len, bool write, bool wrap32)
{
	/* An element that crosses a page is probed first: a fault on its second page leaves
	 * the first untouched, as on the CPU. */
	if (((wrap32 ? la & LA32_MASK : la) & (PAGE_SIZE - 1)) + len > PAGE_SIZE &&
	    !linear_pages(v, la, NULL, len, write, wrap32))
		return false;
	return linear_pages(v, la, buf, len, write, wrap32);
}
