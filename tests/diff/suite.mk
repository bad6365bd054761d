# Differential suites for the x86 decoder/emulator (mmio/x86_*): Zydis as the decoder oracle,
# the host CPU as the emulator oracle.  Both are plain host programs printing TAP.
DIFF_X86_OBJS := $(filter $(BUILD)/host/mmio/x86_%,$(HOST_OBJS))

$(BUILD)/host/suite/diff_decode: tests/diff/diff_decode.c $(DIFF_X86_OBJS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(HOST_CFLAGS) -O2 -MMD -MP -o $@ $< $(DIFF_X86_OBJS) -lZydis

# The native harness maps fixed low addresses and runs generated code: no PIE needed, and
# ASan stays on for the emulator side.
$(BUILD)/host/suite/diff_emulate: tests/diff/diff_emulate.c $(DIFF_X86_OBJS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(HOST_CFLAGS) -mavx -MMD -MP -o $@ $< $(DIFF_X86_OBJS)

HOST_SUITES += $(BUILD)/host/suite/diff_decode $(BUILD)/host/suite/diff_emulate

# XSAVE family against the host CPU in 64-bit and compatibility mode (AVX-512 where present).
$(BUILD)/host/suite/diff_xsave: tests/diff/diff_xsave.c $(DIFF_X86_OBJS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(HOST_CFLAGS) -MMD -MP -o $@ $< $(DIFF_X86_OBJS)

HOST_SUITES += $(BUILD)/host/suite/diff_xsave
