/* The VT-x backend. */
#ifndef MHV_ARCH_X86_VMX_VMX_H
#define MHV_ARCH_X86_VMX_VMX_H

#include "core/virt_backend.h"

/* What boot/main.c hands to guest_run() when the CPU has VMX. */
extern const struct virt_backend vmx_backend;

#endif
