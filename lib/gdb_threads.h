/*
 * The thread packets of the GDB stub (lib/gdb_stub.c): H, T, qC, qfThreadInfo, qsThreadInfo,
 * qThreadExtraInfo and vCont, over the optional thread calls of struct gdb_target.  gdb's
 * thread ids are 1..n (0 is "any", -1 "all"); the stub works in all-stop mode: a stop stops
 * every thread, a resume resumes them all (vCont;s:N steps thread N while the others run).
 */
#ifndef MHV_LIB_GDB_THREADS_H
#define MHV_LIB_GDB_THREADS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/gdb_stub.h"

unsigned gdb_threads_count(const struct gdb_stub *s);
/* The thread that stopped last (1-based). */
unsigned gdb_threads_stopped(const struct gdb_stub *s);
/* The stop: gdb's current thread becomes the one that stopped. */
void gdb_threads_on_stop(struct gdb_stub *s);
/* The selected thread has registers to show. */
bool gdb_threads_regs_available(const struct gdb_stub *s);
/* The thread a plain `s` steps (Hc, else the one that stopped). */
unsigned gdb_threads_step_target(const struct gdb_stub *s);

/* Packets: reply sent; H and T (pkt[0]), the q queries (true when the query was one of
 * these), vCont (the action it asks for; step_thread set for a step). */
void gdb_threads_cmd_h(struct gdb_stub *s, const char *pkt, size_t len);
void gdb_threads_cmd_t(struct gdb_stub *s, const char *pkt, size_t len);
bool gdb_threads_query(struct gdb_stub *s, const char *pkt, size_t len);
enum gdb_action gdb_threads_vcont(struct gdb_stub *s, const char *pkt, size_t len);

#endif
