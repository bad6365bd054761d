/* How a run of mhv ends: halt, power off, or tell the emulator (tests) the status. */
#ifndef MHV_CORE_RUN_END_H
#define MHV_CORE_RUN_END_H

#include "lib/compiler.h"
#include "lib/options.h"

#define HV_STATUS_PASS 0
#define HV_STATUS_FAIL 1

void run_end_set_mode(enum exit_mode mode);
/* Prints the closing line, drains the console and stops the machine as configured. */
void __noreturn hv_end_run(int status);

#endif
