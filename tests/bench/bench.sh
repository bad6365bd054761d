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

run() { # config iso tag
	local dir="$out/$1-$3"
	mkdir -p "$dir"
	tests/boot/run-config.sh "$1" "$build/test-iso/$2.iso" tests/bench/bench.expect "$dir" 900 \
		>"$dir/tap.txt" 2>&1 || echo "bench: $1 ($3) did not finish cleanly: see $dir" >&2
	tr -d '\r' <"$dir/bench.serial.log"
}

for c in $configs; do
	log=$(run "$c" bench cache)
	nolog=$(run "$c" bench-nocache nocache)
	get() { grep -m1 -E "$2" <<<"$1" | grep -oE '[0-9]+ ticks' | grep -oE '[0-9]+'; }
	val[$c,hc]=$(get "$log" 'bench: null hypercall round trip')
	val[$c,cpuid]=$(get "$log" 'bench: cpuid round trip')
	val[$c,mmio_c]=$(get "$log" 'bench: mmio read \(cached\)')
	val[$c,mmio_u]=$(get "$nolog" 'bench: mmio read \(uncached\)')
	val[$c,cr3]=$(get "$log" 'bench: mov cr3')
	val[$c,r1]=$(get "$log" 'bench: region lookup 1 regions')
	val[$c,r16]=$(get "$log" 'bench: region lookup 16 regions')
	val[$c,r256]=$(get "$log" 'bench: region lookup 256 regions')
done

rows=("hc:null hypercall" "cpuid:CPUID round trip" "mmio_c:MMIO read, cached"
	"mmio_u:MMIO read, uncached (mmio_cache=off)" "cr3:MOV to CR3"
	"r1:region lookup, 1 region" "r16:region lookup, 16 regions"
	"r256:region lookup, 256 regions")
printf '\n%-44s' "path length (instructions; x null hypercall)"
for c in $configs; do printf ' %18s' "$c"; done
printf '\n'
for row in "${rows[@]}"; do
	key=${row%%:*} label=${row#*:}
	printf '%-44s' "$label"
	for c in $configs; do
		v=${val[$c,$key]:-} h=${val[$c,hc]:-}
		if [ -z "$v" ]; then printf ' %18s' "-"; continue; fi
		if [ -n "$h" ] && [ "$h" -gt 0 ]; then
			printf ' %18s' "$v ($(awk -v a="$v" -v b="$h" 'BEGIN { printf "%.2fx", a / b }'))"
		else
			printf ' %18s' "$v"
		fi
	done
	printf '\n'
done
printf '\nTargets: cached MMIO read <= 2x null hypercall; cache saves >= 40%% of the miss path.\n'
for c in $configs; do
	h=${val[$c,hc]:-} mc=${val[$c,mmio_c]:-} mu=${val[$c,mmio_u]:-}
	[ -n "$h" ] && [ -n "$mc" ] && [ -n "$mu" ] || continue
	awk -v c="$c" -v h="$h" -v mc="$mc" -v mu="$mu" 'BEGIN {
		printf "%s: cached read %.2fx hypercall, saves %.0f%% of the uncached path\n",
			c, mc / h, 100 * (mu - mc) / mu }'
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
