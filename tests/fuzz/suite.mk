# libFuzzer target over the x86 decoder + emulator (mmio/x86_*), built with clang and
# coverage instrumentation.  `make test` runs it bounded (FUZZ_SECONDS, default 10 s via the
# binary); `make fuzz FUZZ_SECONDS=600` runs a long session with a corpus directory.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 600
FUZZ_CFLAGS  := -std=gnu11 -O1 -g -I. -DMHV_HOST_TEST -Wall -Wextra -Werror \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_SRCS    := $(sort $(wildcard mmio/x86_*.c))
FUZZ_OBJS    := $(patsubst %,$(BUILD)/host/fuzzobj/%.o,$(FUZZ_SRCS))
FUZZ_RT      := $(shell $(FUZZ_CC) -print-file-name=libclang_rt.fuzzer_no_main-x86_64.a 2>/dev/null)

$(BUILD)/host/fuzzobj/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/host/suite/fuzz_x86: tests/fuzz/fuzz_x86.c $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_OBJS) $(FUZZ_RT) -lstdc++

HOST_SUITES += $(BUILD)/host/suite/fuzz_x86

fuzz: $(BUILD)/host/suite/fuzz_x86
	@mkdir -p $(BUILD)/fuzz-corpus
	$(BUILD)/host/suite/fuzz_x86 -max_total_time=$(FUZZ_SECONDS) -max_len=96 $(BUILD)/fuzz-corpus

.PHONY: fuzz
