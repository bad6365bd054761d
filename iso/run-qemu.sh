#!/bin/sh
# Boot an ISO in QEMU with the serial console on this terminal (Ctrl-A X quits).
# Uses KVM when /dev/kvm can run a guest AND the host CPU has VT-x/SVM to pass on (nested
# virtualization: mhv needs it inside the VM); TCG with every CPU feature (SVM) otherwise.
set -u
iso=$1
accel="-accel tcg -cpu max"
if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo &&
	printf 'quit\n' | timeout 10 qemu-system-x86_64 -accel kvm -cpu host -display none \
		-S -monitor stdio -serial none -nodefaults >/dev/null 2>&1; then
	accel="-accel kvm -cpu host"
fi
echo "mhv: booting $iso in QEMU ($accel); Ctrl-A X quits"
# shellcheck disable=SC2086
qemu-system-x86_64 $accel -m 1G -display none -serial mon:stdio -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -cdrom "$iso"
status=$?
# isa-debug-exit: status (v << 1) | 1, so 1 means mhv reported a pass.
case $status in
0 | 1) exit 0 ;;
*) echo "mhv: QEMU exit status $status (mhv status $(( (status - 1) / 2 )))"; exit 1 ;;
esac
