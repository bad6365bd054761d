/* The one-CPU IPI rule: see ipi_filter.h. */
#include "lib/ipi_filter.h"

static enum ipi_verdict cut_to_self(uint64_t icr, enum icr_mode mode, const struct ipi_self *self,
				    uint64_t *send, const char **why)
{
	uint64_t keep = icr & (ICR_VECTOR_MASK | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL);
	unsigned dest_shift = self->x2apic ? ICR_X2APIC_DEST_SHIFT : ICR_XAPIC_DEST_SHIFT;

	switch (mode) {
	case ICR_MODE_FIXED:
	case ICR_MODE_LOWEST:
		/* Mode field 0: fixed. */
		*send = keep | ((uint64_t)ICR_SH_SELF << ICR_SHORTHAND_SHIFT);
		return IPI_CUT_TO_SELF;
	case ICR_MODE_NMI:
		*send = keep | ((uint64_t)ICR_MODE_NMI << ICR_MODE_SHIFT) |
			((uint64_t)self->id << dest_shift);
		return IPI_CUT_TO_SELF;
	default:
		*why = "broadcast an IPI that includes self in a mode mhv does not deliver to self";
		return IPI_DROP;
	}
}

/* Every other CPU is a vCPU: only the modes that would leave the guest's control stop. */
static enum ipi_verdict smp_filter(uint64_t icr, enum icr_mode mode, enum icr_shorthand sh,
				   uint64_t *send, const char **why)
{
	switch (mode) {
	case ICR_MODE_INIT:
	case ICR_MODE_STARTUP:
		return IPI_VIRTUAL;
	case ICR_MODE_FIXED:
		*send = icr;
		return IPI_SEND;
	case ICR_MODE_LOWEST:
	case ICR_MODE_NMI:
		if (sh == ICR_SH_SELF)
			break;
		*send = icr;
		return IPI_SEND;
	default:
		break;
	}
	*why = sh == ICR_SH_SELF ? "sent a self-shorthand IPI in a mode other than fixed"
				 : "sent an IPI in a mode mhv does not deliver (SMI, ExtINT, "
				   "reserved)";
	return IPI_DROP;
}

enum ipi_verdict ipi_filter(uint64_t icr, const struct ipi_self *self, uint64_t *send,
			    const char **why)
{
	enum icr_mode mode = (enum icr_mode)((icr & ICR_MODE_MASK) >> ICR_MODE_SHIFT);
	enum icr_shorthand sh =
		(enum icr_shorthand)((icr & ICR_SHORTHAND_MASK) >> ICR_SHORTHAND_SHIFT);
	uint32_t dest = self->x2apic ? (uint32_t)(icr >> ICR_X2APIC_DEST_SHIFT)
				     : (uint32_t)(icr >> ICR_XAPIC_DEST_SHIFT);
	uint32_t broadcast = self->x2apic ? X2APIC_BROADCAST_ID : XAPIC_BROADCAST_ID;
	bool to_self;

	if (self->smp)
		return smp_filter(icr, mode, sh, send, why);
	switch (sh) {
	case ICR_SH_SELF:
		if (mode == ICR_MODE_FIXED) {
			*send = icr;
			return IPI_SEND;
		}
		*why = "sent a self-shorthand IPI in a mode other than fixed";
		return IPI_DROP;
	case ICR_SH_ALL_INCL_SELF:
		return cut_to_self(icr, mode, self, send, why);
	case ICR_SH_ALL_EXCL_SELF:
		*why = "broadcast an IPI to all other CPUs";
		return IPI_DROP;
	case ICR_SH_NONE:
	default:
		break;
	}
	if (dest == broadcast)
		return cut_to_self(icr, mode, self, send, why);
	to_self = (icr & ICR_LOGICAL) ? self->ldr != 0 && dest == self->ldr : dest == self->id;
	if (!to_self) {
		*why = "sent an IPI to another CPU";
		return IPI_DROP;
	}
	switch (mode) {
	case ICR_MODE_FIXED:
	case ICR_MODE_NMI:
		*send = icr;
		return IPI_SEND;
	case ICR_MODE_LOWEST:
		*send = icr & ~ICR_MODE_MASK; /* mode field 0: fixed */
		return IPI_SEND;
	default:
		*why = "sent itself an IPI in a mode mhv does not deliver (SMI, INIT, STARTUP, "
		       "ExtINT, reserved)";
		return IPI_DROP;
	}
}
