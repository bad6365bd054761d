#!/bin/sh
# Drive a real gdb (batch mode) against mhv's GDB stub on the emulator's second serial port.
#   tests/boot/gdb-session.sh TARGET ELF LOG [SCRIPT [SERIAL-LOG]]
# TARGET: what gdb's `target remote` takes (a unix socket path or host:port); ELF "-": no
# symbols (a Linux guest: the target description alone says what the registers are).  Waits (bounded)
# for a unix socket to appear and, given SERIAL-LOG, for mhv to say its stub listens (as a
# user would: bytes sent before that go to the firmware, which a UEFI boot spends a while
# in, and gdb gives up on its first packets), then runs SCRIPT (tests/boot/gdb-session.gdb
# by default); everything gdb prints goes to LOG, judged by tests/boot/gdb-check.sh.
target=$1 elf=$2 log=$3 session=${4:-gdb-session.gdb} serial=${5:-}
dir=$(dirname "$0")
script="$log.gdb"
i=0
case $target in
*:[0-9]*) ;; # host:port
*) # a unix socket, absolute or relative
	while [ ! -S "$target" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done ;;
esac
i=0
while [ -n "$serial" ] && ! grep -q '^mhv: gdb: GDB stub on' "$serial" 2>/dev/null &&
	[ $i -lt 1800 ]; do
	sleep 0.1
	i=$((i + 1))
done
sed -e "s|@SOCK@|$target|" -e "s|@SERIAL@|$serial|" "$dir/$session" >"$script"
# A TCP server (Bochs) may not listen yet: try again while the connection is refused.
i=0
while :; do
	if [ "$elf" = - ]; then
		timeout -k 3 900 gdb -q -nx -batch -x "$script" >"$log" 2>&1
	else
		timeout -k 3 900 gdb -q -nx -batch -x "$script" "$elf" >"$log" 2>&1
	fi
	rc=$?
	grep -q "Connection refused" "$log" && [ $i -lt 120 ] || break
	sleep 0.5
	i=$((i + 1))
done
echo "gdb exited with status $rc" >>"$log"
