# mhv: a bare-metal x86-64 micro-hypervisor.
#
#   make            build build/mhv.elf (and check it is multiboot2-bootable)
#   make iso        build/mhv.iso: hybrid BIOS + UEFI GRUB ISO
#   make run        boot the ISO in QEMU, serial console on this terminal
#   make test       host unit tests + boot self-check in every emulator configuration
#   make check      host unit tests only (fast)
#
# Sources are grouped by directory.  lib/, mm/ and mmio/ are plain C with no
# hardware access: they are compiled both into mhv and into the host tests.

BUILD    ?= build
V        ?= 0
Q         = $(if $(filter 1,$(V)),,@)

CC       := gcc
LD       := ld
OBJCOPY  := objcopy

# ---- the hypervisor image ---------------------------------------------------
HV_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -I. \
	-ffreestanding -fno-builtin-printf -fno-pic -fno-pie -mcmodel=kernel \
	-mno-red-zone -mno-mmx -mno-sse -mno-sse2 -mno-avx -mgeneral-regs-only \
	-fno-stack-protector -fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
	-fno-strict-aliasing -fno-tree-loop-distribute-patterns -fcf-protection=none -MMD -MP
HV_ASFLAGS := -I. -D__ASSEMBLY__ -MMD -MP -fno-pic -fno-pie
HV_LDFLAGS := -nostdlib -z max-page-size=0x1000 -z noexecstack --no-dynamic-linker \
	-static -T linker.ld

PURE_SRCS := $(sort $(wildcard lib/*.c mm/*.c mmio/*.c iommu/*.c)) boot/multiboot2.c
HV_SRCS   := $(sort $(wildcard boot/*.S boot/*.c arch/x86/*.S arch/x86/*.c core/*.c \
	arch/x86/vmx/*.S arch/x86/vmx/*.c arch/x86/svm/*.S arch/x86/svm/*.c lib/*.c mm/*.c mmio/*.c \
	iommu/*.c))
HV_OBJS   := $(patsubst %,$(BUILD)/hv/%.o,$(HV_SRCS))

all: $(BUILD)/mhv.elf

$(BUILD)/hv/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(HV_CFLAGS) -c $< -o $@

$(BUILD)/hv/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(HV_ASFLAGS) -c $< -o $@

$(BUILD)/mhv.elf: $(HV_OBJS) linker.ld tests/check-image.sh
	$(Q)$(LD) $(HV_LDFLAGS) -o $@ $(HV_OBJS)
	$(Q)sh tests/check-image.sh $@

# ---- host unit tests (cmocka) -----------------------------------------------
# Every tests/unit/test_*.c becomes one binary linked with all pure sources.
# lib/string.c is left out: on the host, libc provides the same functions.
HOST_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -I. -DMHV_HOST_TEST \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
HOST_LDLIBS := -lcmocka
HOST_PURE   := $(filter-out lib/string.c,$(PURE_SRCS))
HOST_OBJS   := $(patsubst %,$(BUILD)/host/%.o,$(HOST_PURE))
UNIT_SRCS   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/host/unit/%,$(UNIT_SRCS))

$(BUILD)/host/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(HOST_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/host/unit/%: tests/unit/%.c $(HOST_OBJS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(HOST_CFLAGS) -MMD -MP -o $@ $< $(HOST_OBJS) $(HOST_LDLIBS)

unit: $(UNIT_BINS)

# Further host suites (differential tests, fuzzers) add themselves here.
-include $(sort $(wildcard tests/*/suite.mk))

# ---- ISOs --------------------------------------------------------------------
# make iso [HV_ARGS="..."] [GUEST=kernel.elf [GUEST_ARGS="..."]] [MODULES="file1 file2"]
HV_ARGS    ?=
GUEST      ?=
GUEST_ARGS ?=
MODULES    ?=
ISO_MODULE_ARGS = $(if $(GUEST),-m "$(GUEST) $(GUEST_ARGS)") $(foreach m,$(MODULES),-m "$(m)")

iso: $(BUILD)/mhv.elf
	$(Q)sh tests/deps.sh iso
	$(Q)sh iso/mkiso.sh -o $(BUILD)/mhv.iso -e $(BUILD)/mhv.elf -a "$(HV_ARGS)" $(ISO_MODULE_ARGS)
	@echo "built $(BUILD)/mhv.iso"

# Test ISOs: quiet GRUB, and mhv reports its status to the emulator when the run ends.
TEST_ISO_DIR := $(BUILD)/test-iso
$(TEST_ISO_DIR)/selfcheck.iso: $(BUILD)/mhv.elf iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< -a "exit=debugexit loglvl=debug guest=none"
# A guest that cannot be loaded (or is missing) must end the run as a failure: a text file,
# the guest test kernel cut short, no module at all.  Made here, never committed.
$(TEST_ISO_DIR)/garbage-guest.txt:
	@mkdir -p $(dir $@)
	$(Q)printf 'This is a text file, not a kernel: mhv must refuse to run it.\n' >$@
$(TEST_ISO_DIR)/truncated-guest.elf: $(GUEST_TEST_ELF)
	@mkdir -p $(dir $@)
	$(Q)head -c 8192 $< >$@
BAD_GUEST_ISO = sh iso/mkiso.sh -q -o $@ -e $(BUILD)/mhv.elf -a "exit=debugexit" -m "$< bad-guest"
$(TEST_ISO_DIR)/badguest-garbage.iso: $(TEST_ISO_DIR)/garbage-guest.txt $(BUILD)/mhv.elf \
		iso/mkiso.sh iso/grub.cfg.in
	$(Q)$(BAD_GUEST_ISO)
$(TEST_ISO_DIR)/badguest-truncated.iso: $(TEST_ISO_DIR)/truncated-guest.elf $(BUILD)/mhv.elf \
		iso/mkiso.sh iso/grub.cfg.in
	$(Q)$(BAD_GUEST_ISO)
$(TEST_ISO_DIR)/noguest.iso: $(BUILD)/mhv.elf iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< -a "exit=debugexit"
$(TEST_ISO_DIR)/badcmd.iso: $(BUILD)/mhv.elf iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< -a "exit=debugexit console=com1 frobnicate=1"
# The guest test kernel, with the MMIO regions its tests use (tests/guest/test_mmio*.c).
GUEST_MMIO_ARGS := mmio=ram@0xd0000000+0x4000 mmio=ram@0xd0010000+0x4000 mmio=deny@0xd0020000+0x1000 \
	mmio=trace@0xd0030000+0x1000,off=0x10-0x1f,writes,limit=2
$(TEST_ISO_DIR)/guest.iso: $(BUILD)/mhv.elf $(GUEST_TEST_ELF) iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< -a "exit=debugexit $(GUEST_MMIO_ARGS)" \
		-m "$(GUEST_TEST_ELF) guest-test"
# The multiboot2 variant is about the loader: a quarter of the MMIO soak (100,000 elsewhere).
$(TEST_ISO_DIR)/guest-mb2.iso: $(BUILD)/mhv.elf $(GUEST_TEST_MB2_ELF) iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< -a "exit=debugexit $(GUEST_MMIO_ARGS)" \
		-m "$(GUEST_TEST_MB2_ELF) guest-test soak=25000"
$(TEST_ISO_DIR)/guest-nocache.iso: $(BUILD)/mhv.elf $(GUEST_TEST_ELF) iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< -a "exit=debugexit $(GUEST_MMIO_ARGS) mmio_cache=off" \
		-m "$(GUEST_TEST_ELF) guest-test"
# The guest test kernel with the GDB stub on COM2, stopped before its first instruction until
# gdb (tests/boot/gdb-session.sh) continues it.
$(TEST_ISO_DIR)/gdb.iso: $(BUILD)/mhv.elf $(GUEST_TEST_ELF) iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< -a "exit=debugexit $(GUEST_MMIO_ARGS) gdb=com2,wait" \
		-m "$(GUEST_TEST_ELF) guest-test"
# gdb's Ctrl-C on the guest spinning with interrupts off (tests/boot/gdb-spin.gdb).
$(TEST_ISO_DIR)/gdb-spin.iso: $(BUILD)/mhv.elf $(GUEST_TEST_ELF) iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< -a "exit=debugexit gdb=com2,wait" \
		-m "$(GUEST_TEST_ELF) guest-test gdb-spin"
# gdb's threads: every vCPU stopped and shown (tests/boot/gdb-smp.gdb).
$(TEST_ISO_DIR)/gdb-smp.iso: $(BUILD)/mhv.elf $(GUEST_TEST_ELF) iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< -a "exit=debugexit $(GUEST_MMIO_ARGS) gdb=com2,wait" \
		-m "$(GUEST_TEST_ELF) guest-test gdb-smp"
# mhv's console on a PCI 16550 found by class (QEMU pci-serial: I/O BAR at 0xC000 or so), the
# guest suite printing there too: the high port must be intercepted (VT-x I/O bitmap B).
$(TEST_ISO_DIR)/guest-pciserial.iso: $(BUILD)/mhv.elf $(GUEST_TEST_ELF) iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< -a "exit=debugexit console=pci $(GUEST_MMIO_ARGS)" \
		-m "$(GUEST_TEST_ELF) guest-test serial=pci"
# The monitor's target: the guest spins with interrupts off until the monitor releases it.
$(TEST_ISO_DIR)/guest-monitor.iso: $(BUILD)/mhv.elf $(GUEST_TEST_ELF) iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< -a "exit=debugexit amdvi_nmipass=on $(GUEST_MMIO_ARGS)" \
		-m "$(GUEST_TEST_ELF) guest-test monitor-spin"
# One platform attack per boot (tests/guest/attack.c): "guest-test attack=NAME".
$(TEST_ISO_DIR)/attack-%.iso: $(BUILD)/mhv.elf $(GUEST_TEST_ELF) iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< -a "exit=debugexit" -m "$(GUEST_TEST_ELF) guest-test attack=$*"
ATTACKS := port92 cf9 kbc acpi-reset s5 s3 mmcfg smram lvt-smi
$(TEST_ISO_DIR)/bench.iso: $(BUILD)/mhv.elf $(GUEST_TEST_ELF) iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< -a "exit=debugexit bench=on $(GUEST_MMIO_ARGS)" \
		-m "$(GUEST_TEST_ELF) guest-test"
$(TEST_ISO_DIR)/bench-nocache.iso: $(BUILD)/mhv.elf $(GUEST_TEST_ELF) iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< \
		-a "exit=debugexit bench=on $(GUEST_MMIO_ARGS) mmio_cache=off" \
		-m "$(GUEST_TEST_ELF) guest-test"
# iommu=required on a machine without an IOMMU: the guest must not start.
$(TEST_ISO_DIR)/iommu-required.iso: $(BUILD)/mhv.elf $(GUEST_TEST_ELF) iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< -a "exit=debugexit iommu=required" \
		-m "$(GUEST_TEST_ELF) guest-test"
# The same self-check booted over the network: a TFTP directory for QEMU's PXE.
$(BUILD)/test-pxe/selfcheck/.stamp: $(BUILD)/mhv.elf iso/mkiso.sh iso/grub.cfg.in
	$(Q)sh iso/mkiso.sh -q -n $(dir $@) -e $< -a "exit=debugexit loglvl=debug guest=none"
	@touch $@
# Linux guests (tests/linux/): a Debian kernel and busybox-static fetched with apt-get download
# (cached in $(BUILD)/linux), an initramfs whose /init checks mhv from inside and powers off.
# Every CPU: mhv gives Linux each one as a vCPU (the /init compares nproc with mhv's count).
# clearcpuid=mwaitx: Bochs' ryzen model hangs
# early boot otherwise (its MWAITX), natively too.
LINUX_DIR := $(BUILD)/linux
LINUX_ARGS := console=ttyS0 quiet clearcpuid=mwaitx panic=-1 mhvtest.mmio=0xd0000000
$(LINUX_DIR)/.fetched: tests/linux/fetch.sh
	$(Q)sh tests/linux/fetch.sh $(BUILD)
	@touch $@
$(LINUX_DIR)/initrd.cpio.gz: $(LINUX_DIR)/.fetched tests/linux/mkinitrd.sh tests/linux/init \
		tests/linux/hvcheck.c
	$(Q)sh tests/linux/mkinitrd.sh $(BUILD)
$(TEST_ISO_DIR)/linux.iso: $(BUILD)/mhv.elf $(LINUX_DIR)/initrd.cpio.gz iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< -a "exit=debugexit mmio=ram@0xd0000000+0x4000" \
		-m "$(LINUX_DIR)/vmlinuz $(LINUX_ARGS)" -m "$(LINUX_DIR)/initrd.cpio.gz"
# A real gdb attached to the running 64-bit Linux kernel (tests/boot/linux-gdb.gdb); no KASLR,
# so that the kernel's text sits where its link address says.
$(TEST_ISO_DIR)/linux-gdb.iso: $(BUILD)/mhv.elf $(LINUX_DIR)/initrd.cpio.gz iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< -a "exit=debugexit mmio=ram@0xd0000000+0x4000 gdb=com2" \
		-m "$(LINUX_DIR)/vmlinuz $(LINUX_ARGS) nokaslr" -m "$(LINUX_DIR)/initrd.cpio.gz"
# make bench: Linux on one CPU (nr_cpus=1; the other vCPU stays in wait-for-SIPI), so a boot's
# exits and ticks compare between configurations and with the cache on and off.
$(TEST_ISO_DIR)/linux-1cpu.iso: $(BUILD)/mhv.elf $(LINUX_DIR)/initrd.cpio.gz iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< -a "exit=debugexit mmio=ram@0xd0000000+0x4000" \
		-m "$(LINUX_DIR)/vmlinuz $(LINUX_ARGS) nr_cpus=1" -m "$(LINUX_DIR)/initrd.cpio.gz"
# make bench: the same one-CPU boot with mmio_cache=off, what the cache's exits are measured against.
$(TEST_ISO_DIR)/linux-1cpu-nocache.iso: $(BUILD)/mhv.elf $(LINUX_DIR)/initrd.cpio.gz iso/mkiso.sh iso/grub.cfg.in
	@mkdir -p $(dir $@)
	$(Q)sh iso/mkiso.sh -q -o $@ -e $< -a "exit=debugexit mmio=ram@0xd0000000+0x4000 mmio_cache=off" \
		-m "$(LINUX_DIR)/vmlinuz $(LINUX_ARGS) nr_cpus=1" -m "$(LINUX_DIR)/initrd.cpio.gz"
# The same Linux boot over the network (UEFI PXE), as test machines boot.
$(BUILD)/test-pxe/linux/.stamp: $(BUILD)/mhv.elf $(LINUX_DIR)/initrd.cpio.gz iso/mkiso.sh iso/grub.cfg.in
	$(Q)sh iso/mkiso.sh -q -n $(dir $@) -e $< -a "exit=debugexit mmio=ram@0xd0000000+0x4000" \
		-m "$(LINUX_DIR)/vmlinuz $(LINUX_ARGS)" -m "$(LINUX_DIR)/initrd.cpio.gz"
	@touch $@
$(TEST_ISO_DIR)/linux-native.iso: $(LINUX_DIR)/initrd.cpio.gz tests/linux/mknative.sh
	@mkdir -p $(dir $@)
	$(Q)sh tests/linux/mknative.sh $@ $(LINUX_DIR)/vmlinuz $(LINUX_DIR)/initrd.cpio.gz "$(LINUX_ARGS)"
TEST_ISOS := $(BUILD)/test-pxe/selfcheck/.stamp $(TEST_ISO_DIR)/linux.iso $(TEST_ISO_DIR)/linux-gdb.iso \
	$(BUILD)/test-pxe/linux/.stamp \
	$(TEST_ISO_DIR)/selfcheck.iso $(TEST_ISO_DIR)/badcmd.iso \
	$(TEST_ISO_DIR)/guest.iso $(TEST_ISO_DIR)/guest-nocache.iso $(TEST_ISO_DIR)/guest-mb2.iso \
	$(TEST_ISO_DIR)/badguest-garbage.iso $(TEST_ISO_DIR)/badguest-truncated.iso \
	$(TEST_ISO_DIR)/noguest.iso $(TEST_ISO_DIR)/iommu-required.iso \
	$(TEST_ISO_DIR)/guest-pciserial.iso $(TEST_ISO_DIR)/gdb.iso $(TEST_ISO_DIR)/gdb-spin.iso $(TEST_ISO_DIR)/gdb-smp.iso \
	$(TEST_ISO_DIR)/guest-monitor.iso \
	$(patsubst %,$(TEST_ISO_DIR)/attack-%.iso,$(ATTACKS))

# ---- run and test --------------------------------------------------------------
# make pxe: a TFTP directory (BIOS and UEFI) to netboot mhv with HV_ARGS/GUEST/MODULES.
pxe: $(BUILD)/mhv.elf
	$(Q)sh tests/deps.sh iso
	$(Q)sh iso/mkiso.sh -n $(BUILD)/pxe -e $(BUILD)/mhv.elf -a "$(HV_ARGS)" $(ISO_MODULE_ARGS)
	@echo "built $(BUILD)/pxe: bootfile boot/grub/i386-pc/core.0 (BIOS) or boot/grub/x86_64-efi/core.efi (UEFI)"

# make run: QEMU with KVM when /dev/kvm can run it, TCG otherwise; serial on this terminal.
RUN_HV_ARGS ?= exit=debugexit
# Without GUEST=..., the guest is mhv's own guest test kernel.
run:
	$(Q)sh tests/deps.sh run
	$(Q)$(MAKE) -s --no-print-directory $(if $(GUEST),,$(GUEST_TEST_ELF))
	$(Q)$(MAKE) -s --no-print-directory iso \
		HV_ARGS="$(RUN_HV_ARGS) $(if $(GUEST),,$(GUEST_MMIO_ARGS)) $(HV_ARGS)" \
		GUEST="$(or $(GUEST),$(GUEST_TEST_ELF))"
	$(Q)sh iso/run-qemu.sh $(BUILD)/mhv.iso

# make check: host tests only.  make test: everything CI runs.
check:
	$(Q)sh tests/deps.sh test
	$(Q)$(MAKE) -s --no-print-directory unit $(HOST_SUITES)
	$(Q)BUILD=$(BUILD) HOST_SUITES="$(HOST_SUITES)" tests/run-tests.sh unit suites

test:
	$(Q)sh tests/deps.sh test
	$(Q)$(MAKE) -s --no-print-directory all unit $(HOST_SUITES) $(TEST_ISOS) lint
	$(Q)BUILD=$(BUILD) HOST_SUITES="$(HOST_SUITES)" tests/run-tests.sh

# make bench: path lengths in retired instructions on bochs-vmx, bochs-svm and qemu-svm.
bench:
	$(Q)sh tests/deps.sh test
	$(Q)$(MAKE) -s --no-print-directory all $(TEST_ISO_DIR)/bench.iso $(TEST_ISO_DIR)/bench-nocache.iso \
		$(TEST_ISO_DIR)/linux.iso $(TEST_ISO_DIR)/linux-native.iso \
		$(TEST_ISO_DIR)/linux-1cpu.iso $(TEST_ISO_DIR)/linux-1cpu-nocache.iso
	$(Q)tests/bench/bench.sh $(BUILD)

deps:
	$(Q)sh tests/deps.sh test

# ---- static checks ---------------------------------------------------------------
C_SRCS = $(shell find boot arch lib mm mmio tests -name '*.c' 2>/dev/null)
lint:
	$(Q)cppcheck --quiet --enable=warning,style,performance,portability --error-exitcode=1 \
		--inline-suppr --std=c11 -I. -U__ASSEMBLY__ --suppress=missingIncludeSystem \
		--suppress=unusedStructMember $(filter %.c,$(C_SRCS))

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

.PHONY: all unit iso pxe run check test bench deps lint clean
# Objects are intermediate files of the pattern rules: keep them for incremental builds.
.SECONDARY:
clean:
	rm -rf $(BUILD)
