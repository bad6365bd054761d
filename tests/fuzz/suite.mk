# libFuzzer targets, built with clang and coverage instrumentation: the x86 decoder + emulator
# (mmio/x86_*) and the guest page walker + memory gate (mm/guest_walk.c, mm/guest_mem.c).
# `make test` runs each bounded (FUZZ_SECONDS, default 10 s via tests/fuzz/fuzz_driver.c);
# `make fuzz FUZZ_SECONDS=600` runs a long session of the emulator target with a corpus
# directory, `make fuzz-walk` the same for the walker.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 600
FUZZ_CFLAGS  := -std=gnu11 -O1 -g -I. -DMHV_HOST_TEST -Wall -Wextra -Werror \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_SRCS    := $(sort $(wildcard mmio/x86_*.c)) tests/fuzz/fuzz_driver.c
FUZZ_OBJS    := $(patsubst %,$(BUILD)/host/fuzzobj/%.o,$(FUZZ_SRCS))
FUZZ_WALK_SRCS := mm/guest_walk.c mm/guest_mem.c mmio/region.c tests/fuzz/fuzz_driver.c
FUZZ_WALK_OBJS := $(patsubst %,$(BUILD)/host/fuzzobj/%.o,$(FUZZ_WALK_SRCS))
FUZZ_RT      := $(shell $(FUZZ_CC) -print-file-name=libclang_rt.fuzzer_no_main-x86_64.a 2>/dev/null)

$(BUILD)/host/fuzzobj/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/host/suite/fuzz_x86: tests/fuzz/fuzz_x86.c $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_OBJS) $(FUZZ_RT) -lstdc++

$(BUILD)/host/suite/fuzz_guest_walk: tests/fuzz/fuzz_guest_walk.c $(FUZZ_WALK_OBJS)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_WALK_OBJS) $(FUZZ_RT) -lstdc++

HOST_SUITES += $(BUILD)/host/suite/fuzz_x86 $(BUILD)/host/suite/fuzz_guest_walk

fuzz: $(BUILD)/host/suite/fuzz_x86
	@mkdir -p $(BUILD)/fuzz-corpus
	$(BUILD)/host/suite/fuzz_x86 -max_total_time=$(FUZZ_SECONDS) -max_len=96 $(BUILD)/fuzz-corpus

fuzz-walk: $(BUILD)/host/suite/fuzz_guest_walk
	@mkdir -p $(BUILD)/fuzz-walk-corpus
	$(BUILD)/host/suite/fuzz_guest_walk -max_total_time=$(FUZZ_SECONDS) -max_len=8208 \
		$(BUILD)/fuzz-walk-corpus

.PHONY: fuzz fuzz-walk
