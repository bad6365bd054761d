#!/bin/sh
# Fetch a Debian kernel and busybox-static with apt-get download (cached under $BUILD/linux,
# never committed) and build the Linux boot test's initramfs.
#   tests/linux/fetch.sh BUILD-DIR
# Leaves BUILD-DIR/linux/vmlinuz and BUILD-DIR/linux/initrd.cpio.gz.
set -eu
build=${1:-build}
dir=$build/linux
mkdir -p "$dir/deb"
dir=$(cd "$dir" && pwd)

# The kernel the linux-image-amd64 metapackage points at (apt-get update first when the
# package lists are empty, as on a fresh CI machine).
kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1
}
if [ ! -s "$dir/vmlinuz" ]; then
	pkg=$(kernel_pkg)
	if [ -z "$pkg" ]; then
		apt-get update -qq >/dev/null 2>&1 || true
		pkg=$(kernel_pkg)
	fi
	[ -n "$pkg" ] || { echo "fetch.sh: cannot find linux-image-amd64's kernel package" >&2; exit 1; }
	(cd "$dir/deb" && rm -f linux-image-*.deb && apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null)
	rm -rf "$dir/kx" && mkdir -p "$dir/kx"
	dpkg-deb --fsys-tarfile "$dir"/deb/linux-image-*.deb | tar -x -C "$dir/kx" --wildcards './boot/vmlinuz-*'
	cp "$dir"/kx/boot/vmlinuz-* "$dir/vmlinuz.tmp" && mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
	echo "$pkg" >"$dir/kernel-version"
	rm -rf "$dir/kx"
fi
if [ ! -x "$dir/busybox" ]; then
	(cd "$dir/deb" && rm -f busybox-static_*.deb && apt-get download -q -o APT::Sandbox::User=root busybox-static >/dev/null)
	rm -rf "$dir/bx" && mkdir -p "$dir/bx"
	dpkg-deb --fsys-tarfile "$dir"/deb/busybox-static_*.deb | tar -x -C "$dir/bx" ./bin/busybox
	cp "$dir/bx/bin/busybox" "$dir/busybox"
	rm -rf "$dir/bx"
fi
exit 0
