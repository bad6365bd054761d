#!/bin/sh
# Build a hybrid BIOS + UEFI GRUB ISO holding mhv and its modules.
#   iso/mkiso.sh -o OUT.iso -e mhv.elf [-a "mhv options"] [-m "FILE [module args]"]... [-q]
# -m may repeat: the first module is the guest kernel, its arguments the guest's command line.
# -q makes a quiet ISO for tests: no boot-menu delay and GRUB keeps off the serial line.
set -eu

out= elf= hv_args= quiet=0 modules=
usage() { echo "usage: $0 -o OUT.iso -e mhv.elf [-a ARGS] [-m 'FILE [ARGS]']... [-q]" >&2; exit 2; }
while getopts "o:e:a:m:q" opt; do
	case $opt in
	o) out=$OPTARG ;;
	e) elf=$OPTARG ;;
	a) hv_args=$OPTARG ;;
	m) modules="$modules
$OPTARG" ;;
	q) quiet=1 ;;
	*) usage ;;
	esac
done
[ -n "$out" ] && [ -n "$elf" ] || usage
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

grub-mkrescue -o "$out" "$root" >"$out.log" 2>&1 || { cat "$out.log" >&2; exit 1; }
rm -f "$out.log"
