/* The AMD SVM backend. */
#ifndef MHV_ARCH_X86_SVM_SVM_H
#define MHV_ARCH_X86_SVM_SVM_H

struct virt_caps;
struct guest_start;

/* Enable SVM and run the guest; returns only with a message if it cannot start. */
void svm_run_guest(const struct virt_caps *caps, const struct guest_start *gs);

#endif
