/*
 * A vendor backend as the exit core sees it.  The core never names VT-x or SVM: boot/main.c
 * picks the backend the CPU offers (virt_caps) and hands it to guest_run(); once the guest
 * runs, the backend reaches the core through its exits and the core reaches the guest's state
 * through struct vcpu_ops.  So the vendor code depends on the core, never the other way.
 */
#ifndef MHV_CORE_VIRT_BACKEND_H
#define MHV_CORE_VIRT_BACKEND_H

struct guest_start;
struct virt_caps;

struct virt_backend {
	const char *name;
	/* Enter VMX operation / enable SVM and run the guest on every CPU; returns only with a
	 * message if it cannot start. */
	void (*run_guest)(const struct virt_caps *caps, const struct guest_start *gs);
};

#endif
