/* INS/OUTS (and REP INS/OUTS) to a port mhv intercepts, emulated element by element. */
#ifndef MHV_CORE_EXIT_STRING_IO_H
#define MHV_CORE_EXIT_STRING_IO_H

#include "core/vcpu.h"

/* EXIT_NEXT_SKIP when the instruction completed; EXIT_NEXT_RETRY when an exception was
 * queued or a long REP stopped after a batch (the guest re-executes it for the rest). */
enum exit_next vcpu_exit_string_io(struct vcpu *v, const struct io_exit *io);

#endif
