#!/bin/sh
# A GRUB ISO that boots the Linux test kernel and initramfs natively (GRUB's linux/initrd
# commands, no mhv): the baseline of make bench's Linux boot.
#   tests/linux/mknative.sh OUT.iso VMLINUZ INITRD "KERNEL ARGS"
set -eu
out=$1 kernel=$2 initrd=$3 args=$4
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/boot/grub"
cp "$kernel" "$root/boot/vmlinuz"
cp "$initrd" "$root/boot/initrd"
cat >"$root/boot/grub/grub.cfg" <<CFG
set timeout=0
menuentry "linux (native)" {
	linux /boot/vmlinuz $args
	initrd /boot/initrd
}
CFG
grub-mkrescue -o "$out" "$root" >"$out.log" 2>&1 || { cat "$out.log" >&2; exit 1; }
