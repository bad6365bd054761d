/* The VT-x backend. */
#ifndef MHV_ARCH_X86_VMX_VMX_H
#define MHV_ARCH_X86_VMX_VMX_H

struct virt_caps;
struct guest_start;

/* Enter VMX operation and run the guest; returns only with a message if it cannot start. */
void vmx_run_guest(const struct virt_caps *caps, const struct guest_start *gs);

#endif
