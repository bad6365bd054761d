#!/bin/bash
# mhv's test runner: runs every suite, prints one line per test and closes with
# "N passed, N failed".  Suites speak TAP ("ok N - name" / "not ok N - name").
#   tests/run-tests.sh [unit] [suites] [boot]     (default: all three)
# Environment: BUILD (default build), HOST_SUITES (executables from tests/*/suite.mk),
# BOOT_ONLY (space-separated boot test names to run).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
parts=${*:-unit suites boot}
passed=0 failed=0
outdir="$BUILD/test-logs"
mkdir -p "$outdir"

# run_suite LABEL COMMAND...: relay TAP results as PASS/FAIL lines.
run_suite() {
	local label=$1 log rc seen=0 bad=0
	shift
	log="$outdir/$(echo "$label" | tr '/ ' '__').log"
	"$@" >"$log" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*)
			seen=1; passed=$((passed + 1))
			echo "PASS $label: $(sed -E 's/^ok [0-9]+ ?-? ?//' <<<"$line")" ;;
		"not ok "*)
			seen=1; bad=1; failed=$((failed + 1))
			echo "FAIL $label: $(sed -E 's/^not ok [0-9]+ ?-? ?//' <<<"$line")" ;;
		esac
	done <"$log"
	if [ $rc -ne 0 ] && [ $bad = 0 ]; then
		failed=$((failed + 1))
		echo "FAIL $label: exited with status $rc without a failed test (see $log)"
	elif [ $seen = 0 ]; then
		failed=$((failed + 1))
		echo "FAIL $label: reported no tests (see $log)"
	fi
	[ $bad = 1 ] && grep '^#' "$log" | tail -n 30 | sed "s|^|  $label |"
}

for part in $parts; do
	case $part in
	unit)
		for t in "$BUILD"/host/unit/test_*; do
			[ -x "$t" ] || continue
			CMOCKA_MESSAGE_OUTPUT=TAP run_suite "unit/$(basename "$t")" "$t"
		done ;;
	suites)
		for s in ${HOST_SUITES:-}; do
			run_suite "suite/$(basename "$s")" "$s"
		done ;;
	boot)
		while read -r name config iso limit; do
			case $name in '' | '#'*) continue ;; esac
			if [ -n "${BOOT_ONLY:-}" ]; then
				case " $BOOT_ONLY " in *" $name "*) ;; *) continue ;; esac
			fi
			image="$BUILD/test-iso/$iso.iso"
			case $iso in pxe-*) image="$BUILD/test-pxe/${iso#pxe-}" ;; esac
			run_suite "boot/$name" tests/boot/run-config.sh "$config" \
				"$image" "tests/boot/$name.expect" "$outdir/boot" "$limit"
		done <tests/boot/configs ;;
	*) echo "run-tests: unknown part '$part'" >&2; exit 2 ;;
	esac
done

echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
