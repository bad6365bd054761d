/*
 * Run-ending attacks on the platform's reset and sleep paths, one per boot: the module string
 * "guest-test attack=NAME" makes the guest test kernel run just that attack (attack.c) instead
 * of its suite.  An attack mhv must end the run on prints FAIL if the guest is still running
 * afterwards; the boot test's .expect file checks mhv's log line and the run's status.
 */
#ifndef MHV_TESTS_GUEST_ATTACK_H
#define MHV_TESTS_GUEST_ATTACK_H

struct boot_info;

/* If the command line names an attack, run it and end the run; else return. */
void attack_run_if_asked(const struct boot_info *bi);

#endif
