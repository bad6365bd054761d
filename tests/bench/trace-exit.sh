#!/bin/bash
# Where an exit's instructions go: a trace of mhv's own instructions from one exit (the
# instruction after VMRUN) to the next VMRUN, attributed to build/mhv.elf's functions.
#   tests/bench/trace-exit.sh [-c] [-b BUILD_DIR] MARKER [HIT [EXITS]]
# Runs the bench ISO (BUILD_DIR/test-iso/bench.iso; -c: bench-nocache.iso, mmio_cache=off) on
# QEMU SVM with -icount shift=0 (the qemu-svm-icount bench configuration) under gdb, runs the
# guest test kernel to the HIT-th call (default 4: caches warm) of the guest function MARKER
# (one of the bench's timed functions: time_cpuid, time_hypercall, time_mmio_read,
# time_mov_cr3, t_movsd_to_dev and t_movsd_from_dev of tests/guest/bench_mmio.c - each row
# calls its function 16 times: REP MOVSD calls 1-16 move 1 element, 17-32 16, 33-48 256 -,
# ...), then single-steps the next EXITS exits (default 1) and prints, per exit,
# its instruction count and function -> instructions in first-executed order.  VMRUN itself and
# the guest's instructions are not counted (the bench's ticks include them).  QEMU only (SVM):
# TCG has no VT-x.  Needs gdb with Python.  Takes a minute or two (the guest suite runs first).
set -u
cd "$(dirname "$0")/../.."
build=build iso=bench
while getopts "cb:" o; do
	case $o in
	c) iso=bench-nocache ;;
	b) build=$OPTARG ;;
	*) echo "usage: $0 [-c] [-b BUILD_DIR] MARKER [HIT [EXITS]]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-c] [-b BUILD_DIR] MARKER [HIT [EXITS]]" >&2; exit 2; }
marker=$1 hit=${2:-4} exits=${3:-1}
elf="$build/mhv.elf" guest="$build/guest/mhv-guest-test.elf" image="$build/test-iso/$iso.iso"
for f in "$elf" "$guest" "$image"; do
	[ -e "$f" ] || { echo "trace-exit: no $f (make all guest-test $build/test-iso/$iso.iso)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'kill "$qpid" 2>/dev/null; rm -rf "$tmp"' EXIT
cp "$image" "$tmp/image.iso" # a rebuild meanwhile does not change this run
nm -n "$elf" >"$tmp/mhv.nm"
nm -n "$guest" >"$tmp/guest.nm"
# svm_run_loop's VMRUN and the instruction after it, from the ELF itself.
read -r vmrun after < <(objdump -d "$elf" | awk '
	/^[0-9a-f]+ <svm_run_loop>:/ { inloop = 1; next }
	inloop && /^$/ { exit }
	inloop && found { sub(":", "", $1); print v, "0x" $1; exit }
	inloop && /\tvmrun/ { sub(":", "", $1); v = "0x" $1; found = 1 }')
[ -n "${after:-}" ] || { echo "trace-exit: no VMRUN in svm_run_loop" >&2; exit 1; }
sock="$tmp/gdb.sock"
timeout -k 3 1800 qemu-system-x86_64 -accel tcg -cpu max -icount shift=0 -m 512M -display none \
	-no-reboot -serial "file:$tmp/serial.log" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-cdrom "$tmp/image.iso" -S -gdb "unix:$sock,server=on,wait=off" >"$tmp/qemu.log" 2>&1 &
qpid=$!
i=0
while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
timeout -k 3 1800 gdb -q -batch -nx \
	-ex "set \$te_mhv_nm = \"$tmp/mhv.nm\"" -ex "set \$te_guest_nm = \"$tmp/guest.nm\"" \
	-ex "set \$te_marker = \"$marker\"" -ex "set \$te_hit = $hit" -ex "set \$te_exits = $exits" \
	-ex "set \$te_vmrun = $vmrun" -ex "set \$te_after = $after" \
	-ex "set pagination off" -ex "set confirm off" -ex "target remote $sock" \
	-x tests/bench/trace_exit.py 2>&1 | grep -v '^\[Inferior\|^warning: No executable\| in ?? ()$\|^determining executable\|^$'
