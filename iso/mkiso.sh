#!/bin/sh
# Build a hybrid BIOS + UEFI GRUB ISO holding mhv and its modules, or (-n) a PXE/TFTP
# directory that boots the same menu over the network.
#   iso/mkiso.sh -o OUT.iso -e mhv.elf [-a "mhv options"] [-m "FILE [module args]"]... [-q]
#   iso/mkiso.sh -n TFTP_DIR -e mhv.elf ...   (BIOS PXE: bootfile boot/grub/i386-pc/core.0,
#                                               UEFI: boot/grub/x86_64-efi/core.efi)
# -m may repeat: the first module is the guest kernel, its arguments the guest's command line.
# -q makes a quiet ISO for tests: no boot-menu delay and GRUB keeps off the serial line.
set -eu

out= elf= hv_args= quiet=0 modules=
usage() { echo "usage: $0 -o OUT.iso|-n TFTP_DIR -e mhv.elf [-a ARGS] [-m 'FILE [ARGS]']... [-q]" >&2; exit 2; }
netdir=
while getopts "o:n:e:a:m:q" opt; do
	case $opt in
	o) out=$OPTARG ;;
	n) netdir=$OPTARG ;;
	e) elf=$OPTARG ;;
	a) hv_args=$OPTARG ;;
	m) modules="$modules
$OPTARG" ;;
	q) quiet=1 ;;
	*) usage ;;
	esac
done
[ -n "$out$netdir" ] && [ -n "$elf" ] || usage
[ -f "$elf" ] || { echo "mkiso: no such file: $elf" >&2; exit 1; }

here=$(dirname "$0")
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/boot/grub"
cp "$elf" "$root/boot/mhv.elf"

lines=
i=0
printf '%s\n' "$modules" | sed '/^$/d' >"$root/.mods"
while IFS= read -r m; do
	file=${m%% *}
	args=
	[ "$file" != "$m" ] && args=${m#* }
	[ -f "$file" ] || { echo "mkiso: module not found: $file" >&2; exit 1; }
	name=mod$i-$(basename "$file")
	cp "$file" "$root/boot/$name"
	lines="$lines	module2 /boot/$name $name${args:+ $args}
"
	i=$((i + 1))
done <"$root/.mods"
rm -f "$root/.mods"

if [ "$quiet" = 1 ]; then
	timeout=0
	terminal="terminal_output console"
else
	timeout=3
	terminal="serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console"
fi

awk -v hv="$hv_args" -v mods="$lines" -v t="$timeout" -v term="$terminal" '
	{ gsub(/@HV_ARGS@/, hv); gsub(/@TIMEOUT@/, t); gsub(/@TERMINAL@/, term) }
	/^@MODULES@$/ { printf "%s", mods; next }
	{ print }' "$here/grub.cfg.in" >"$root/boot/grub/grub.cfg"

if [ -n "$netdir" ]; then
	rm -rf "$netdir"
	mkdir -p "$netdir"
	for platform in i386-pc x86_64-efi; do
		grub-mknetdir --net-directory="$netdir" --subdir=boot/grub \
			-d "/usr/lib/grub/$platform" >/dev/null 2>&1 ||
			{ echo "mkiso: grub-mknetdir failed for $platform" >&2; exit 1; }
	done
	cp -r "$root/boot/." "$netdir/boot/"
	exit 0
fi
grub-mkrescue -o "$out" "$root" >"$out.log" 2>&1 || { cat "$out.log" >&2; exit 1; }
rm -f "$out.log"
