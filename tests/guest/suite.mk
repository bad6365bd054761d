# The guest test kernel: an ELF32 that mhv runs as its guest to check every intercept from the
# inside (see tests/guest/main.c).  Not a host suite: the lead's boot tests hand it to mhv as the
# guest.  Two flavors of the same objects, differing only in the multiboot header linked in:
# $(GUEST_TEST_ELF) is a multiboot v1 kernel (header_mb1.S), $(GUEST_TEST_MB2_ELF) a multiboot2
# one (header_mb2.S).
#
#   make guest-test          build both flavors
#   make guest-test-native   run the v1 flavor on QEMU without mhv (smoke test: mhv checks fail
#                            there; QEMU -kernel has no multiboot2)

GUEST_TEST_ELF := $(BUILD)/guest/mhv-guest-test.elf
GUEST_TEST_MB2_ELF := $(BUILD)/guest/mhv-guest-test-mb2.elf

GUEST_TEST_CFLAGS := -m32 -std=gnu11 -O2 -g -Wall -Wextra -Werror -I. \
	-ffreestanding -fno-pic -fno-pie -fno-stack-protector -mno-sse -mgeneral-regs-only \
	-fno-builtin-printf -fno-asynchronous-unwind-tables -fno-strict-aliasing \
	-fno-tree-loop-distribute-patterns -fcf-protection=none -nostdlib -MMD -MP
GUEST_TEST_ASFLAGS := -m32 -I. -D__ASSEMBLY__ -fno-pic -fno-pie -MMD -MP
GUEST_TEST_LDFLAGS := -m32 -nostdlib -static -no-pie -Wl,--build-id=none \
	-Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack -Wl,-T,tests/guest/guest.ld

GUEST_TEST_HEADERS := tests/guest/header_mb1.S tests/guest/header_mb2.S
GUEST_TEST_SRCS := $(filter-out $(GUEST_TEST_HEADERS), \
	$(sort $(wildcard tests/guest/*.c tests/guest/*.S))) lib/fmt.c lib/string.c
GUEST_TEST_OBJS := $(patsubst %,$(BUILD)/guest/%.o,$(GUEST_TEST_SRCS))
GUEST_TEST_MB1_HDR := $(BUILD)/guest/tests/guest/header_mb1.S.o
GUEST_TEST_MB2_HDR := $(BUILD)/guest/tests/guest/header_mb2.S.o

$(BUILD)/guest/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(GUEST_TEST_CFLAGS) -c $< -o $@

$(BUILD)/guest/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(GUEST_TEST_ASFLAGS) -c $< -o $@

# The header object goes first so the header leads .multiboot (guest.ld puts it at the start).
$(GUEST_TEST_ELF): $(GUEST_TEST_MB1_HDR) $(GUEST_TEST_OBJS) tests/guest/guest.ld
	$(Q)$(CC) $(GUEST_TEST_LDFLAGS) -o $@ $(GUEST_TEST_MB1_HDR) $(GUEST_TEST_OBJS)
	$(Q)if command -v grub-file >/dev/null && ! grub-file --is-x86-multiboot $@; then \
		echo "guest: $@ is not a multiboot v1 image" >&2; rm -f $@; exit 1; fi

$(GUEST_TEST_MB2_ELF): $(GUEST_TEST_MB2_HDR) $(GUEST_TEST_OBJS) tests/guest/guest.ld
	$(Q)$(CC) $(GUEST_TEST_LDFLAGS) -o $@ $(GUEST_TEST_MB2_HDR) $(GUEST_TEST_OBJS)
	$(Q)if command -v grub-file >/dev/null && ! grub-file --is-x86-multiboot2 $@; then \
		echo "guest: $@ is not a multiboot2 image" >&2; rm -f $@; exit 1; fi

guest-test: $(GUEST_TEST_ELF) $(GUEST_TEST_MB2_ELF)

# isa-debug-exit makes QEMU exit with (status << 1) | 1: 1 = all passed, 3 = some failed
# (always 3 natively: "not running under mhv"); anything else means the run did not finish.
guest-test-native: $(GUEST_TEST_ELF)
	$(Q)timeout 120 qemu-system-x86_64 -accel tcg -cpu max -m 256M -display none \
		-serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel $<; \
		rc=$$?; echo "guest-test-native: QEMU exit status $$rc"; [ $$rc = 1 ] || [ $$rc = 3 ]

.PHONY: guest-test guest-test-native
