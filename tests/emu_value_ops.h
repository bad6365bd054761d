/*
 * The emulator's optional one-call callbacks (read_value, write_value, rmw_read_value,
 * commit; mmio/x86_emulate.h) over a host test's byte callbacks, so the emulator's value path
 * reaches the same memory as its byte path: EMU_VALUE_OPS_OVER(read, write, probe, set_reg)
 * defines value_read, value_write, value_rmw_read and value_commit for an ops table.
 */
#ifndef MHV_TESTS_EMU_VALUE_OPS_H
#define MHV_TESTS_EMU_VALUE_OPS_H

#include <stdint.h>
#include <string.h>

#define EMU_VALUE_OPS_OVER(read, write, probe, set_reg)                                         \
	static int value_read(void *o, uint64_t la, unsigned int len, uint64_t *val,            \
			      struct x86_exception *x)                                          \
	{                                                                                       \
		uint8_t b[sizeof(uint64_t)] = {0};                                              \
                                                                                                \
		if (read(o, la, b, len, x))                                                     \
			return 1;                                                               \
		memcpy(val, b, sizeof(b)); /* little-endian host, zero-extended */              \
		return 0;                                                                       \
	}                                                                                       \
                                                                                                \
	static int value_write(void *o, uint64_t la, unsigned int len, uint64_t val,            \
			       struct x86_exception *x)                                         \
	{                                                                                       \
		uint8_t b[sizeof(uint64_t)];                                                    \
                                                                                                \
		memcpy(b, &val, sizeof(b));                                                     \
		return write(o, la, b, len, x);                                                 \
	}                                                                                       \
                                                                                                \
	/* The set of calls it stands for: the write check, then the read. */                  \
	static int value_rmw_read(void *o, uint64_t la, unsigned int len, uint64_t *val,        \
				  struct x86_exception *x)                                      \
	{                                                                                       \
		return probe(o, la, len, true, x) || value_read(o, la, len, val, x);            \
	}                                                                                       \
                                                                                                \
	static void value_commit(void *o, const uint64_t *gpr, uint32_t dirty,                  \
				 const uint64_t *rip, uint64_t rflags, bool set_rflags)         \
	{                                                                                       \
		for (; dirty; dirty &= dirty - 1)                                               \
			set_reg(o, (unsigned int)__builtin_ctz(dirty),                          \
				gpr[__builtin_ctz(dirty)]);                                     \
		if (rip)                                                                        \
			set_reg(o, X86_REG_RIP, *rip);                                          \
		if (set_rflags)                                                                 \
			set_reg(o, X86_REG_RFLAGS, rflags);                                     \
	}

#endif
