#!/bin/sh
# Build the Linux boot test's initramfs from busybox-static (fetched by fetch.sh), the
# hvcheck helper and /init.   tests/linux/mkinitrd.sh BUILD-DIR
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
dir=$build/linux
root=$dir/root
rm -rf "$root"
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev"
cp "$dir/busybox" "$root/bin/busybox"
gcc -static -nostdlib -O2 -ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns -fno-stack-protector -fno-pie -no-pie -Wall -Wextra -Werror \
	-o "$root/bin/hvcheck" "$here/hvcheck.c"
cp "$here/init" "$root/init"
chmod +x "$root/init" "$root/bin/busybox"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -9n >"$dir/initrd.tmp"
mv "$dir/initrd.tmp" "$dir/initrd.cpio.gz"
