/* The monitor's spinning target (monitor_spin.c): "guest-test monitor-spin". */
#ifndef MHV_TESTS_GUEST_MONITOR_SPIN_H
#define MHV_TESTS_GUEST_MONITOR_SPIN_H

struct boot_info;

/* With "monitor-spin" in the command line: spin until the monitor releases it, then end. */
void monitor_spin_if_asked(const struct boot_info *bi);

#endif
