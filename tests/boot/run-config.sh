#!/bin/bash
# Boot one ISO in one emulator configuration and judge the serial log.
#   tests/boot/run-config.sh CONFIG ISO EXPECT-FILE OUTDIR [TIMEOUT]
# CONFIG: qemu-bios | qemu-q35 | qemu-uefi | qemu-pxe | qemu-uefi-pxe | qemu-novirt | qemu-monitor |
#         qemu-q35-amd-iommu-monitor | qemu-q35-intel-iommu-monitor |
#         bochs-vmx-monitor | bochs-vmx-tigerlake-monitor | bochs-svm-monitor |
#         qemu-svm-icount | bochs-vmx | bochs-vmx-tigerlake | bochs-svm | bochs-vmx-msrs |
#         bochs-svm-msrs | qemu-q35-intel-iommu | qemu-q35-amd-iommu |
#         qemu-pciserial | qemu-highbar | qemu-gdb | bochs-vmx-gdb | bochs-vmx-tigerlake-gdb |
#         bochs-svm-gdb | qemu-uefi-monitor | qemu-uefi-gdb
# Prints TAP lines: one per PASS/FAIL line mhv printed, one per expectation in EXPECT-FILE,
# one for how the run ended.  The verdict never rests on an emulator's exit status (Bochs has
# only 0 and 1), only on what mhv printed.
# EXPECT-FILE lines: "match REGEX" (some log line matches), "nomatch REGEX" (none does),
# "status N" (mhv's closing line reports status N; default 0), "check SCRIPT" (SCRIPT SERIAL-LOG
# prints "ok TEXT" or "not-ok TEXT" lines).
# mhv's own lines are the ones that start with "mhv": the console multiplexer
# (lib/console_mux.h) marks every guest line that could start so ("guest| ", "guest+ "), so
# patterns anchored at ^mhv judge only mhv.  Guest PASS/FAIL lines are the guest test
# kernel's own protocol and are counted as its results.
set -u

config=$1 iso=$2 expect=$3 out=$4 limit=${5:-120}
name=$(basename "$expect" .expect)
mkdir -p "$out"
serial="$out/$name.serial.log"
emlog="$out/$name.emulator.log"
rm -f "$serial" "$emlog"

# launch CMD...: run the emulator in its own session; return when it exits, or shortly after
# mhv says its run ended (a halted CPU would otherwise keep the emulator alive until timeout).
launch() {
	setsid "$@" &
	local pid=$! ended=""
	while kill -0 "$pid" 2>/dev/null; do
		if [ -z "$ended" ] && grep -q '^mhv: run ended' "$serial" 2>/dev/null; then
			ended=$SECONDS
		fi
		if [ -n "$ended" ] && [ $((SECONDS - ended)) -ge 2 ]; then
			kill -KILL -- "-$pid" 2>/dev/null
			break
		fi
		sleep 0.1
	done
	wait "$pid" 2>/dev/null
}

qemu() {
	launch timeout -k 3 "$limit" qemu-system-x86_64 -accel tcg -m 512M -display none -no-reboot \
		-serial "file:$serial" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-cdrom "$iso" "$@" >"$emlog" 2>&1
}

bochs_run() {
	local model=$1 msrs=${2:-0} rc="$out/$name.bochsrc" dbg="$out/$name.dbg.rc"
	sed -e "s|@MODEL@|$model|" -e "s|@ISO@|$iso|" -e "s|@SERIAL@|$serial|" \
		-e "s|@LOG@|$emlog|" -e "s|ignore_bad_msrs=0|ignore_bad_msrs=$msrs|" \
		"$(dirname "$0")/bochsrc.in" >"$rc"
	printf 'continue\nquit\n' >"$dbg"
	# rfb listens on a TCP port: keep it inside a private network namespace.
	local ns="unshare -n"
	[ "$(id -u)" -ne 0 ] && ns="unshare -rn"
	launch $ns timeout -k 3 "$limit" bochs -q -f "$rc" -rc "$dbg" </dev/null >"$out/$name.bochs.out" 2>&1
}

# *-gdb configurations: mhv's GDB stub on COM2 (gdb=com2,wait), driven by a real gdb
# (tests/boot/gdb-session.sh) that loads the guest test kernel's ELF for its symbols.  gdb's
# output lands beside the serial log, where tests/boot/gdb-check.sh judges it.
guest_elf="$(dirname "$iso")/../guest/mhv-guest-test.elf"
gdb_log="$out/$name.gdb.log"
rm -f "$gdb_log"
gdb_script=gdb-session.gdb
case $iso in */gdb-spin.iso) gdb_script=gdb-spin.gdb ;; */gdb-smp.iso) gdb_script=gdb-smp.gdb ;;
*/linux-gdb.iso) gdb_script=linux-gdb.gdb guest_elf=- ;; esac

# Bochs with COM2 as a TCP server on the loopback of the test's own network namespace, and
# gdb inside the same namespace (nothing reaches the host's network).
bochs_gdb() {
	local model=$1 rc="$out/$name.bochsrc" dbg="$out/$name.dbg.rc"
	sed -e "s|@MODEL@|$model|" -e "s|@ISO@|$iso|" -e "s|@SERIAL@|$serial|" \
		-e "s|@LOG@|$emlog|" "$(dirname "$0")/bochsrc.in" >"$rc"
	echo "com2: enabled=1, mode=socket-server, dev=127.0.0.1:$GDB_TCP_PORT" >>"$rc"
	printf 'continue\nquit\n' >"$dbg"
	local ns="unshare -n"
	[ "$(id -u)" -ne 0 ] && ns="unshare -rn"
	launch $ns sh -c 'ip link set lo up || exit 1
		sh "$0" "127.0.0.1:$1" "$2" "$3" "$8" &
		timeout -k 3 "$4" bochs -q -f "$5" -rc "$6" </dev/null >"$7" 2>&1
		wait' "$(dirname "$0")/gdb-session.sh" "$GDB_TCP_PORT" "$guest_elf" "$gdb_log" \
		"$limit" "$rc" "$dbg" "$out/$name.bochs.out" "$gdb_script"
}
GDB_TCP_PORT=1234
# bochs_monitor MODEL: COM1 on a TCP socket inside the test's own network namespace (loopback
# up), the monitor driver (tests/boot/monitor-drive.py) connected to it and writing the log.
bochs_monitor() {
	local model=$1 rc="$out/$name.bochsrc" dbg="$out/$name.dbg.rc" port=5555
	sed -e "s|@MODEL@|$model|" -e "s|@ISO@|$iso|" -e "s|@LOG@|$emlog|" \
		-e "s|^com1: .*|com1: enabled=1, mode=socket-server, dev=127.0.0.1:$port|" \
		"$(dirname "$0")/bochsrc.in" >"$rc"
	printf 'continue\nquit\n' >"$dbg"
	rm -f "$out/$name.monitor.txt"
	local ns="unshare -n"
	[ "$(id -u)" -ne 0 ] && ns="unshare -rn"
	launch $ns sh -c 'ip link set lo up || exit 1
		python3 "$1" "tcp:127.0.0.1:$2" "$3" "$4" >"$5" 2>&1 &
		timeout -k 3 "$6" bochs -q -f "$7" -rc "$8" </dev/null >"$9" 2>&1
		wait' sh "$(dirname "$0")/monitor-drive.py" "$port" "$serial" "$out/$name.monitor.txt" \
		"$out/$name.driver.log" "$limit" "$rc" "$dbg" "$out/$name.bochs.out"
}

# qemu_monitor [QEMU ARGS]: a monitor session over the serial line (tests/boot/monitor-drive.py).
qemu_monitor() {
	local sock="$out/$name.sock" driver
	rm -f "$sock" "$out/$name.monitor.txt"
	python3 "$(dirname "$0")/monitor-drive.py" "$sock" "$serial" "$out/$name.monitor.txt" \
		>"$out/$name.driver.log" 2>&1 &
	driver=$!
	launch timeout -k 3 "$limit" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 512M \
		-display none -no-reboot -serial "unix:$sock,server=on,wait=on" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -cdrom "$iso" "$@" >"$emlog" 2>&1
	wait "$driver"
}

if [ ! -e "$iso" ]; then
	echo "not ok 1 - $name: no ISO at $iso (build it first: make test)"
	exit 1
fi

start=$(date +%s.%N)
case $config in
qemu-bios) qemu -cpu max -smp 2 ;; # two CPUs: the second becomes the guest's second vCPU
qemu-bios-smp4) qemu -cpu max -smp 4 ;; # four vCPUs
qemu-novirt) qemu -cpu qemu64,-svm,-vmx ;;
qemu-monitor) qemu_monitor ;;
qemu-uefi-monitor) qemu_monitor -bios /usr/share/ovmf/OVMF.fd ;; # through OVMF first
# The same with interrupt remapping on: the console pin's NMI through each IOMMU.
qemu-q35-amd-iommu-monitor) qemu_monitor -machine q35 -device amd-iommu,intremap=on ;;
qemu-q35-intel-iommu-monitor) qemu_monitor -machine q35,kernel-irqchip=split \
	-device intel-iommu,intremap=on ;;
qemu-pciserial) # mhv's console (and the guest's, serial=pci) is a PCI 16550; COM1 is idle
	launch timeout -k 3 "$limit" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 512M \
		-display none -no-reboot -serial "file:$out/$name.com1.log" -chardev "file,id=hvcon,path=$serial" \
		-device pci-serial,chardev=hvcon -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-cdrom "$iso" >"$emlog" 2>&1 ;;
qemu-q35) qemu -cpu max -machine q35 ;; # its FADT has an I/O reset register (0xCF9)
qemu-highbar) # a 2 GiB ivshmem BAR, which SeaBIOS places above 4 GiB (the memory is only
	# reserved: the guest touches two pages of it)
	qemu -cpu max -smp 2 -object memory-backend-ram,id=hbmem,size=2G \
		-device ivshmem-plain,memdev=hbmem ;;
# q35 with an IOMMU (created before the PCI devices it translates) and QEMU's edu DMA device,
# which the guest test aims at mhv (tests/guest/test_contain_dma.c); q35's CD-ROM is AHCI.
qemu-q35-intel-iommu) qemu -machine q35,kernel-irqchip=split -cpu max -smp 2 -device intel-iommu,intremap=on \
	-device edu,dma_mask=0xffffffffffffffff ;;
qemu-q35-amd-iommu) qemu -machine q35 -cpu max -smp 2 -device amd-iommu,intremap=on \
	-device edu,dma_mask=0xffffffffffffffff ;;
qemu-svm-icount) qemu -cpu max -icount shift=0 ;;
qemu-pxe) # $iso is a TFTP directory: BIOS PXE through QEMU's user network (nothing leaves it)
	launch timeout -k 3 "$limit" qemu-system-x86_64 -accel tcg -cpu max -m 512M -display none \
		-no-reboot -serial "file:$serial" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-nic "user,model=e1000,tftp=$iso,bootfile=boot/grub/i386-pc/core.0" -boot n \
		>"$emlog" 2>&1 ;;
qemu-uefi-pxe) # the same over UEFI PXE: OVMF's network stack loads GRUB's EFI image; two
	# CPUs, as a test machine booting Linux this way has several
	launch timeout -k 3 "$limit" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 512M -display none \
		-no-reboot -serial "file:$serial" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-bios /usr/share/ovmf/OVMF.fd \
		-nic "user,model=e1000,tftp=$iso,bootfile=boot/grub/x86_64-efi/core.efi" -boot n \
		>"$emlog" 2>&1 ;;
qemu-uefi) qemu -cpu max -smp 2 -bios /usr/share/ovmf/OVMF.fd ;;
qemu-gdb) # COM2 on a unix socket beside the logs
	sock="$out/$name.gdb.sock"
	rm -f "$sock"
	sh "$(dirname "$0")/gdb-session.sh" "$sock" "$guest_elf" "$gdb_log" "$gdb_script" "$serial" &
	gdbpid=$!
	qemu -cpu max -smp 2 -serial "unix:$sock,server=on,wait=off"
	wait "$gdbpid" ;;
qemu-uefi-gdb) # the same after a UEFI boot (OVMF)
	sock="$out/$name.gdb.sock"
	rm -f "$sock"
	sh "$(dirname "$0")/gdb-session.sh" "$sock" "$guest_elf" "$gdb_log" "$gdb_script" "$serial" &
	gdbpid=$!
	qemu -cpu max -smp 2 -bios /usr/share/ovmf/OVMF.fd -serial "unix:$sock,server=on,wait=off"
	wait "$gdbpid" ;;
bochs-vmx-gdb) bochs_gdb corei7_skylake_x ;;
bochs-vmx-tigerlake-gdb) bochs_gdb tigerlake ;; # single-step by the monitor trap flag
bochs-svm-gdb) bochs_gdb ryzen ;;
bochs-vmx) bochs_run corei7_skylake_x ;;
bochs-vmx-tigerlake) bochs_run tigerlake ;;
bochs-svm) bochs_run ryzen ;;
bochs-vmx-monitor) bochs_monitor corei7_skylake_x ;;
bochs-vmx-tigerlake-monitor) bochs_monitor tigerlake ;;
bochs-svm-monitor) bochs_monitor ryzen ;;
# Unknown MSRs read 0 instead of #GP, as on the machines Linux expects: Bochs' Intel models
# lack IA32_MISC_ENABLE, which Linux reads on every Intel family-6 CPU (verify_cpu), natively too.
bochs-vmx-msrs) bochs_run corei7_skylake_x 1 ;;
bochs-svm-msrs) bochs_run ryzen 1 ;;
*) echo "not ok - $name: unknown configuration '$config'"; exit 1 ;;
esac
end=$(date +%s.%N)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')

touch "$serial"
log=$(tr -d '\r' <"$serial")
n=0 bad=0
tap() { # ok|not-ok text
	n=$((n + 1))
	if [ "$1" = ok ]; then echo "ok $n - $name: $2"; else echo "not ok $n - $name: $2"; bad=1; fi
}

while IFS= read -r line; do
	case $line in
	PASS\ *) tap ok "${line#PASS }" ;;
	FAIL\ *) tap not-ok "${line#FAIL }" ;;
	esac
done <<<"$log"

want_status=0
while IFS= read -r e; do
	case $e in
	'' | '#'*) ;;
	status\ *) want_status=${e#status } ;;
	match\ *)
		re=${e#match }
		if grep -Eq -- "$re" <<<"$log"; then tap ok "log matches /$re/"; else tap not-ok "log lacks /$re/"; fi
		;;
	nomatch\ *)
		re=${e#nomatch }
		if grep -Eq -- "$re" <<<"$log"; then
			tap not-ok "log has /$re/: $(grep -Em1 -- "$re" <<<"$log" | cut -c1-120)"
		else
			tap ok "log has no /$re/"
		fi
		;;
	check\ *) # a script judges the log: it prints "ok TEXT" or "not-ok TEXT"
		while read -r verdict text; do
			tap "$verdict" "$text"
		done <<<"$(sh ${e#check } "$serial")"
		;;
	*) tap not-ok "bad line in $expect: $e" ;;
	esac
done <"$expect"

ends=$(grep -c '^mhv: run ended' <<<"$log")
if [ "$ends" -gt 1 ]; then
	tap not-ok "$ends lines read '^mhv: run ended': a run ends once (forged by the guest?)"
elif grep -q "^mhv: run ended, status $want_status " <<<"$log"; then
	tap ok "run ended with status $want_status after $secs s"
elif grep -q "^mhv: run ended" <<<"$log"; then
	tap not-ok "run ended with the wrong status ($(grep -m1 '^mhv: run ended' <<<"$log")), want $want_status"
else
	tap not-ok "run did not end cleanly within ${limit}s (took $secs s; see $serial)"
fi
echo "# $name: $secs s" >&2
if [ $bad = 1 ]; then
	echo "# --- last lines of $serial ---"
	tail -n 25 <<<"$log" | sed 's/^/# /'
fi
exit $bad
