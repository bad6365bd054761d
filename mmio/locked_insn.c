/* The general emulator's LOCK'd read-modify-write on a device word (locked_insn.h). */
#include "mmio/locked_insn.h"

bool mmio_locked_insn_call(struct mmio_locked *l, const struct x86_insn *in,
			   const struct mmio_region *r, uint64_t gpa, uint64_t rip, void *buf,
			   unsigned len, bool write, int *rc)
{
	if (mmio_locked_held(l)) {
		if (write && l->r == r && l->gpa == gpa && l->len == len) {
			*rc = mmio_locked_write(l, buf);
			return true;
		}
		mmio_locked_cancel(l); /* not the one word: two accesses, as before */
		return false;
	}
	if (write || !mmio_insn_locked(in) || !mmio_locked_fits(r, gpa, len))
		return false;
	*rc = mmio_locked_read_bounded(l, l->streak, r, gpa, rip, buf, len);
	return true;
}
