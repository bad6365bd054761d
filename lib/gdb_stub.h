/*
 * The GDB remote serial protocol, target side: framing ($data#cs), checksums, acks and
 * QStartNoAckMode, escapes in binary data, and the commands a kernel debugger needs:
 *   ?  g G p P  m M X  Z0-Z4 z0-z4  c s  D k  qSupported (PacketSize) qXfer:features:read
 *   qRcmd (gdb's `monitor`)  qAttached  and an empty reply for anything else;
 * threads (lib/gdb_threads.c): H T qC qfThreadInfo qsThreadInfo qThreadExtraInfo vCont.
 * Ctrl-C (0x03) outside a packet asks to stop the running guest.
 *
 * Plain C over struct gdb_target: mhv's side (core/gdbstub.c) gives it the vCPU's registers,
 * memory by guest-linear address and the serial line; the host unit tests give it fakes.
 * A malformed packet (bad checksum, bad hex, too long) gets a NAK or an error reply: the stub
 * never waits for more than the line gives it.
 */
#ifndef MHV_LIB_GDB_STUB_H
#define MHV_LIB_GDB_STUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/gdb_hwbp.h"
#include "lib/gdb_regs.h"

/* Largest packet payload either side sends (announced as PacketSize). */
#define GDB_PACKET_SIZE 4096
/* Target description buffer: the x86-64 XML is about 4 KiB. */
#define GDB_XML_SIZE 8192

#define GDB_PREV_HEAD 64 /* bytes of the previous packet kept to recognise a resent copy */

#define GDB_SIGINT  2
#define GDB_SIGTRAP 5

struct gdb_stub;

struct gdb_target {
	/* The guest runs 64-bit code (chooses the x86-64 layout at connection time). */
	bool (*wide)(void *ctx);
	uint64_t (*reg_get)(void *ctx, enum gdb_reg r);
	/* Write a register; false when it cannot be changed (the stub answers an error). */
	bool (*reg_set)(void *ctx, enum gdb_reg r, uint64_t val);
	/* Guest-linear memory: bytes done (0..len); fewer than len when an address is unmapped. */
	unsigned (*mem_read)(void *ctx, uint64_t la, void *buf, unsigned len);
	unsigned (*mem_write)(void *ctx, uint64_t la, const void *buf, unsigned len);
	/* The debugger's breakpoints changed: load them into the debug registers. */
	void (*debug_regs)(void *ctx, const struct gdb_hwbps *bps);
	/* The serial line: send bytes; receive one (blocking), -1 when the line is gone. */
	void (*write)(void *ctx, const char *s, size_t n);
	int (*getc)(void *ctx);
	/* Optional: software breakpoints (Z0/z0): plant (insert) or lift an INT3 at la; 0, or
	 * -E_NOMEM (table full), -E_FAULT (no guest RAM there), -E_NOENT (z0 of none).  NULL:
	 * Z0 takes a debug register like Z1.  sw_clear lifts every one (detach, kill). */
	int (*sw_break)(void *ctx, uint64_t la, bool insert);
	void (*sw_clear)(void *ctx);
	/* Optional: a `monitor` command; print with gdb_stub_console(). */
	void (*monitor)(void *ctx, struct gdb_stub *s, const char *cmd);
	/*
	 * Optional (without them there is one thread): threads 1..threads() (mhv: the vCPUs).
	 * select_thread() makes tid the thread the register and memory calls are about (false:
	 * no such thread); thread_regs() says whether it has registers to show now (a vCPU that
	 * waits for a STARTUP IPI has none: gdb shows them unavailable, writes are refused);
	 * thread_info() describes it for gdb's `info threads`.
	 */
	unsigned (*threads)(void *ctx);
	bool (*select_thread)(void *ctx, unsigned tid);
	bool (*thread_regs)(void *ctx);
	void (*thread_info)(void *ctx, unsigned tid, char *buf, size_t size);
};

/* What the debugger asks of the guest once a packet is handled. */
enum gdb_action {
	GDB_STAY,     /* stay stopped, read the next packet */
	GDB_CONTINUE, /* c */
	GDB_STEP,     /* s */
	GDB_DETACH,   /* D, k, or the line went away: leave the guest running */
	GDB_BREAK,    /* Ctrl-C while running: stop */
};

/* Why the guest stopped (for the stop reply and '?'). */
struct gdb_stop {
	int signal; /* GDB_SIGTRAP, GDB_SIGINT */
	int slot;   /* hardware slot that hit, or -1 */
	unsigned thread; /* the thread that stopped (0: thread 1) */
	bool swbreak; /* a software breakpoint (INT3) hit: PC is the breakpoint's address */
};

enum gdb_rx_state { RX_IDLE, RX_DATA, RX_CSUM_HI, RX_CSUM_LO };

struct gdb_stub {
	const struct gdb_target *t;
	void *ctx;
	const struct gdb_layout *layout;
	struct gdb_hwbps bps;
	struct gdb_stop last;
	bool noack;
	bool attached; /* a debugger talked to us since the last detach */
	unsigned g_thread;    /* Hg: registers and memory are this thread's */
	unsigned c_thread;    /* Hc: `s` steps this thread (0: the one that stopped) */
	unsigned step_thread; /* after GDB_STEP: the thread to step */
	bool gdb_swbreak; /* gdb's qSupported offered swbreak+: stop replies may say swbreak */
	/* receiver */
	enum gdb_rx_state rx;
	char in[GDB_PACKET_SIZE + 1];
	unsigned in_len;
	bool in_overflow;
	uint8_t sum, csum;
	/* transmitter: the last packet, resent on a NAK */
	char out[2 * GDB_PACKET_SIZE + 8];
	size_t out_len;
	/* gdb resends a packet it saw no ack for in time: when it connected while the guest ran
	 * (its first packet waited for an exit), copies of that packet are acked, not answered
	 * again, until another packet comes. */
	bool drop_repeats;
	unsigned prev_len;
	uint8_t prev_sum;
	char prev_head[GDB_PREV_HEAD];
	char xml[GDB_XML_SIZE];
	int xml_len;
	uint64_t stats_bad_packets;
};

void gdb_stub_init(struct gdb_stub *s, const struct gdb_target *t, void *ctx);

/*
 * Feed one received byte.  Returns GDB_BREAK for a Ctrl-C outside a packet, the action a
 * complete packet asks for, GDB_STAY otherwise.
 */
enum gdb_action gdb_stub_feed(struct gdb_stub *s, uint8_t byte);

/*
 * The guest stopped: tell gdb (when report is set; gdb asks with '?' after connecting), then
 * serve packets until gdb resumes or detaches the guest.  On GDB_DETACH the breakpoints are
 * gone (debug_regs was called with none).
 */
enum gdb_action gdb_stub_stopped(struct gdb_stub *s, const struct gdb_stop *why, bool report);

/* gdb is connecting while the guest runs: its first packet may come again (drop_repeats). */
void gdb_stub_late_connect(struct gdb_stub *s);

/* For a monitor command: one line of output to gdb's console (an O packet). */
void gdb_stub_console(struct gdb_stub *s, const char *text);

/* Send a packet with this payload (framing, checksum, escapes of $ # } *). */
void gdb_stub_send(struct gdb_stub *s, const char *payload, size_t n);

#endif
