#!/bin/sh
# Judge the gdb session of a *-gdb boot test (tests/boot/gdb-session.gdb):
#   tests/boot/gdb-check.sh SERIAL-LOG      (gdb's log is NAME.gdb.log beside it)
# Prints "ok TEXT" / "not-ok TEXT" lines for run-config.sh.
serial=$1
log="${serial%.serial.log}.gdb.log"
if [ ! -s "$log" ]; then
	echo "not-ok gdb: no session log at $log"
	exit 0
fi
# The session script as gdb ran it (gdb-session.sh): its checks, and "# prints: TEXT" lines.
script="$log.gdb"
want=$(grep -c '^python gdbcheck(\|^python gdbrefused(\|^python pycheck(\|^printf "GDBCHECK' "$script")
n=$(grep -c '^GDBCHECK ' "$log")
grep '^GDBCHECK ' "$log" | sed 's/^GDBCHECK \(ok\|not-ok\) /\1 gdb: /'
# Every check of the script ran (a gdb that stopped early leaves some out).
if [ "$n" -eq "$want" ] && [ "$n" -gt 0 ]; then
	echo "ok gdb: all $n checks of the session ran"
else
	echo "not-ok gdb: $n of $want checks ran (see $log)"
fi
if grep -q '^gdb exited with status 0$' "$log"; then
	echo "ok gdb: exited with status 0"
else
	echo "not-ok gdb: $(grep '^gdb exited' "$log" || echo 'did not finish') (see $log)"
fi
sed -n 's/^# prints: //p' "$script" | while read -r text; do
	if grep -qF "$text" "$log"; then
		echo "ok gdb: printed '$text'"
	else
		echo "not-ok gdb: never printed '$text'"
	fi
done
