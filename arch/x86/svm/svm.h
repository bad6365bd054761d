/* The AMD SVM backend. */
#ifndef MHV_ARCH_X86_SVM_SVM_H
#define MHV_ARCH_X86_SVM_SVM_H

#include "core/virt_backend.h"

/* What boot/main.c hands to guest_run() when the CPU has SVM. */
extern const struct virt_backend svm_backend;

#endif
