#!/bin/sh
# Checks on the linked image: GRUB can boot it, and no section is both writable and executable.
set -eu
elf=$1
if ! grub-file --is-x86-multiboot2 "$elf"; then
	echo "check-image: $elf is not a multiboot2 image" >&2
	exit 1
fi
# objdump -h prints flags on the line after each section; a section with CODE and no READONLY is W+X.
if objdump -h "$elf" | awk '/^ *[0-9]+ /{name=$2} /CODE/ && !/READONLY/ {print name; bad=1} END{exit bad}'; then
	:
else
	echo "check-image: writable code section(s) above in $elf" >&2
	exit 1
fi
if readelf -lW "$elf" | grep LOAD | grep -q 'RWE'; then
	echo "check-image: a loadable segment of $elf is writable and executable" >&2
	exit 1
fi
