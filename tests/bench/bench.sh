#!/bin/bash
# make bench: deterministic path lengths (retired instructions: Bochs ticks with clock
# sync=none, QEMU -icount shift=0), printed as one table with each figure's ratio to the
# null hypercall.  Never a pass/fail judgement: the numbers are the result.
#   tests/bench/bench.sh BUILD_DIR
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
out="$build/bench"
mkdir -p "$out"
configs="${BENCH_GUEST_CONFIGS-bochs-vmx bochs-svm qemu-svm-icount}" # empty: skip the guest figures
declare -A val
declare -a log

run() { # config iso tag
	local dir="$out/$1-$3"
	mkdir -p "$dir"
	tests/boot/run-config.sh "$1" "$build/test-iso/$2.iso" tests/bench/bench.expect "$dir" 900 \
		>"$dir/tap.txt" 2>&1 || echo "bench: $1 ($3) did not finish cleanly: see $dir" >&2
	tr -d '\r' <"$dir/bench.serial.log"
}

# Each row: key, label, and the regex of its serial-log line (the first "N ticks" is taken).
rows=(
	"hc|null hypercall|bench: null hypercall round trip"
	"cpuid|CPUID round trip|bench: cpuid round trip"
	"mmio|MMIO read, mov r32,[m] (first figure)|bench: mmio read \((un)?cached\)"
	"load32|  mov r32,[m]|bench: row load32 "
	"load16|  mov r16,[m]|bench: row load16 "
	"load8|  mov r8,[m]|bench: row load8 "
	"movzx8|  movzx r32,byte [m]|bench: row movzx8 "
	"movsx16|  movsx r32,word [m]|bench: row movsx16 "
	"store32|MMIO write, mov [m],r32|bench: row store32 "
	"store16|  mov [m],r16|bench: row store16 "
	"store8|  mov [m],r8|bench: row store8 "
	"storeimm32|  mov dword [m],imm32|bench: row storeimm32 "
	"storeimm8|  mov byte [m],imm8|bench: row storeimm8 "
	"alu_rmw|ALU read-modify-write (add [m],1)|bench: row alu_rmw "
	"push|PUSH [m] (+ POP)|bench: row push "
	"shl_cl|RMW form: shl dword [m],cl|bench: row shl_cl "
	"xchg|RMW form: xchg [m],r32|bench: row xchg "
	"bts_imm|RMW form: bts dword [m],3|bench: row bts_imm "
	"cmpxchg|RMW form: lock cmpxchg [m],r32|bench: row cmpxchg "
	"xadd|RMW form: lock xadd [m],r32|bench: row xadd "
	"not|RMW form: not dword [m]|bench: row not "
	"shld|general emulator: shld [m],r32,3|bench: row shld "
	"bts_reg|general emulator: bts [m],r32|bench: row bts_reg "
	"to1|REP MOVSD RAM->device, 1|bench: row movsd_to_dev_1 "
	"to16|REP MOVSD RAM->device, 16|bench: row movsd_to_dev_16 "
	"to256|REP MOVSD RAM->device, 256|bench: row movsd_to_dev_256 "
	"from1|REP MOVSD device->RAM, 1|bench: row movsd_from_dev_1 "
	"from16|REP MOVSD device->RAM, 16|bench: row movsd_from_dev_16 "
	"from256|REP MOVSD device->RAM, 256|bench: row movsd_from_dev_256 "
	"cr3|MOV to CR3|bench: mov cr3"
	"r1|region lookup, 1 region|bench: region lookup 1 regions"
	"r16|region lookup, 16 regions|bench: region lookup 16 regions"
	"r256|region lookup, 256 regions|bench: region lookup 256 regions"
	"hint1|hinted region lookup (exit path), 1 region|bench: region lookup 1 regions"
	"hint16|hinted region lookup (exit path), 16 regions|bench: region lookup 16 regions"
	"hint256|hinted region lookup (exit path), 256 regions|bench: region lookup 256 regions"
)
get() { # log regex key
	local line
	line=$(grep -m1 -E "$2" <<<"$1") || return
	case $3 in
	hint*) grep -oE 'hinted [0-9]+' <<<"$line" | grep -oE '[0-9]+' ;;
	*) grep -oE '[0-9]+ ticks' <<<"$line" | head -1 | grep -oE '[0-9]+' ;;
	esac
}

for c in $configs; do
	log[0]=$(run "$c" bench cache)
	log[1]=$(run "$c" bench-nocache nocache)
	for row in "${rows[@]}"; do
		IFS='|' read -r key label re <<<"$row"
		for k in 0 1; do val[$c,$key,$k]=$(get "${log[$k]}" "$re" "$key"); done
	done
done

cell() { # config key column
	local v=${val[$1,$2,$3]:-} h=${val[$1,hc,$3]:-}
	if [ -z "$v" ]; then printf ' %16s' "-"; return; fi
	# Without anything cached, MOV to CR3 does not exit (core/flush_exits.h): nothing to time
	# but the emulator's tick granularity (Bochs: 5).  Less than half a null hypercall's
	# round trip cannot hold an exit.
	if [ "$2" = cr3 ] && [ -n "$h" ] && [ $((2 * v)) -lt "$h" ]; then
		printf ' %16s' "no exit"
		return
	fi
	if [ -n "$h" ] && [ "$h" -gt 0 ]; then
		printf ' %16s' "$v ($(awk -v a="$v" -v b="$h" 'BEGIN { printf "%.2fx", a / b }'))"
	else
		printf ' %16s' "$v"
	fi
}
printf '\npath length (instructions; x null hypercall of the same column)\n%-46s' ""
for c in $configs; do printf ' %33s' "$c"; done
printf '\n%-46s' ""
for c in $configs; do printf ' %16s %16s' "mmio_cache=on" "mmio_cache=off"; done
printf '\n'
for row in "${rows[@]}"; do
	IFS='|' read -r key label re <<<"$row"
	printf '%-46s' "$label"
	for c in $configs; do cell "$c" "$key" 0; cell "$c" "$key" 1; done
	printf '\n'
done
printf '\nTargets (issue 16): cached MMIO read/write of every short-path form <= 1.5x null hypercall;\n'
printf 'REP MOVSD <= 60 per element at 256; MOV to CR3 <= 2x null hypercall.\n'
for c in $configs; do
	h=${val[$c,hc,0]:-} t=${val[$c,to256,0]:-} f=${val[$c,from256,0]:-}
	[ -n "$h" ] && [ -n "$t" ] && [ -n "$f" ] || continue
	awk -v c="$c" -v t="$t" -v f="$f" 'BEGIN {
		printf "%s: REP MOVSD per element at 256: RAM->device %.0f, device->RAM %.0f\n",
			c, t / 256, f / 256 }'
done

# The Linux boot (tests/linux/, one CPU), power-on to power-off: ticks (retired instructions;
# Bochs: its tick count when the guest's power-off ends the emulator; QEMU -icount shift=0:
# the TSC mhv reads as the run ends) and mhv's exits by reason, with the MMIO cache on and
# off on each configuration.  BENCH_LINUX=0 skips it; BENCH_LINUX_CONFIGS picks configurations.
linux_run() { # config iso tag: the run's directory
	local dir="$out/linux-$1-$3"
	mkdir -p "$dir"
	tests/boot/run-config.sh "$1" "$build/test-iso/$2.iso" tests/bench/linux.expect "$dir" 3000 \
		>"$dir/tap.txt" 2>&1 || true
	grep -q '^linux-test: userspace reached' "$dir/linux.serial.log" 2>/dev/null ||
		echo "bench: Linux ($1, $3) did not reach userspace: see $dir" >&2
}
linux_ticks() { # config dir
	case $1 in
	bochs-*) grep 'quit_sim' "$2/linux.emulator.log" 2>/dev/null | grep -oE '^[0-9]+' | sed 's/^0*//' ;;
	*) tr -d '\r' <"$2/linux.serial.log" 2>/dev/null | grep -m1 '^mhv: TSC at the end of the run:' |
		grep -oE '[0-9]+$' ;;
	esac
}
linux_exits() { # dir: "reason=N ..." of vCPU 0, and its TLB flushes
	tr -d '\r' <"$1/linux.serial.log" 2>/dev/null |
		grep -E '^mhv: cpu 0 (exits|guest TLB flushes):' | sed -E 's/^mhv: cpu 0 //'
}
if [ "${BENCH_LINUX:-1}" != 0 ] && [ -e "$build/test-iso/linux-1cpu.iso" ] &&
	[ -e "$build/test-iso/linux-1cpu-nocache.iso" ]; then
	printf '\nLinux boot, one CPU, power-on to power-off (ticks = retired instructions)\n'
	for c in ${BENCH_LINUX_CONFIGS:-bochs-vmx-msrs bochs-svm-msrs qemu-svm-icount}; do
		linux_run "$c" linux-1cpu cache
		linux_run "$c" linux-1cpu-nocache nocache
		on=$(linux_ticks "$c" "$out/linux-$c-cache") off=$(linux_ticks "$c" "$out/linux-$c-nocache")
		printf '%s: mmio_cache=on %s ticks, off %s ticks' "$c" "${on:--}" "${off:--}"
		if [ -n "$on" ] && [ -n "$off" ]; then
			awk -v a="$on" -v b="$off" 'BEGIN { printf " (on %+.2f%% against off)", 100 * (a - b) / b }'
		fi
		printf '\n'
		for tag in cache nocache; do
			linux_exits "$out/linux-$c-$tag" | sed "s/^/  $tag: /"
		done
	done
fi

# The Linux boot (tests/linux/), natively and under mhv on the same Bochs VMX model: Bochs'
# tick count (retired instructions) when the guest's power-off ends the emulator, from
# power-on (BIOS, GRUB and, under mhv, mhv's own start included), and mhv's exit counts.
# BENCH_NATIVE=0 skips it.
native_ticks() { # config iso tag
	local dir="$out/$1-$3"
	mkdir -p "$dir"
	tests/boot/run-config.sh "$1" "$build/test-iso/$2.iso" tests/bench/linux.expect "$dir" 1500 \
		>"$dir/tap.txt" 2>&1 || true
	grep -q '^linux-test: userspace reached' "$dir/linux.serial.log" 2>/dev/null ||
		echo "bench: Linux ($3) did not reach userspace: see $dir" >&2
	grep 'quit_sim' "$dir/linux.emulator.log" 2>/dev/null | grep -oE '^[0-9]+' | sed 's/^0*//'
}
if [ "${BENCH_NATIVE:-1}" != 0 ] && [ -e "$build/test-iso/linux.iso" ] && [ -e "$build/test-iso/linux-native.iso" ]; then
	native=$(native_ticks bochs-vmx-msrs linux-native native)
	hv=$(native_ticks bochs-vmx-msrs linux mhv)
	printf '\nLinux boot, power-on to power-off (Bochs corei7_skylake_x ticks): native %s, under mhv %s' \
		"${native:--}" "${hv:--}"
	if [ -n "$native" ] && [ -n "$hv" ]; then
		awk -v a="$hv" -v b="$native" 'BEGIN { printf " (%+.1f%%)", 100 * (a - b) / b }'
	fi
	printf '\n'
	tr -d '\r' <"$out/bochs-vmx-msrs-mhv/linux.serial.log" 2>/dev/null |
		grep -E '^mhv: (exits|mmio|guest TLB flushes):' | sed 's/^/  /'
fi
