/* Boot self-check: facts about the running machine, each printed as a PASS or FAIL line. */
#ifndef MHV_BOOT_SELFCHECK_H
#define MHV_BOOT_SELFCHECK_H

struct boot_info;
struct frame_allocator;

/* Returns the number of failed checks. */
int selfcheck_run(const struct boot_info *bi, struct frame_allocator *frames);

#endif
