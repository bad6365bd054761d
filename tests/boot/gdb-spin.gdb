# Driven by tests/boot/gdb-session.sh: gdb's Ctrl-C on the guest test kernel in gdb-spin mode
# (tests/guest/monitor_spin.c), which spins with interrupts off and makes no exit at all: only
# debug_stop's periodic mechanism (VMX preemption timer, SVM: gdb's UART pin as an NMI) can
# stop it.  Checks print "GDBCHECK ok|not-ok TEXT" for tests/boot/gdb-check.sh.
# prints: received signal SIGINT
# prints: rax=0000000011223344
set pagination off
set confirm off
set remotetimeout 60
python
def gdbcheck(expr, text):
    try:
        ok = bool(int(gdb.parse_and_eval(expr)))
    except gdb.error as e:
        ok, text = False, "%s (%s)" % (text, e)
    print("GDBCHECK %s %s" % ("ok" if ok else "not-ok", text))
end
target remote @SOCK@
python gdbcheck("$cs == 0x08", "stopped before the first instruction")
# Ctrl-C until the guest is in its spin (it gets there within a few exits of the boot; an
# emulator may be slow to): ECX holds the flag's address and interrupts are off.
set $tries = 0
set $spinning = 0
while $tries < 10 && !$spinning
  shell (sleep 2; kill -INT $PPID) &
  continue
  set $spinning = ($eflags & 0x200) == 0 && $ecx == (unsigned int)&release_flag && $eax == 0x11223344
  set $tries = $tries + 1
end
python gdbcheck("$spinning", "Ctrl-C stopped the guest spinning with interrupts off and no exits")
set $before = $pc
stepi
stepi
python gdbcheck("$ecx == (unsigned int)&release_flag && ($eflags & 0x200) == 0", "two steps inside the spin: still spinning, interrupts off")
monitor regs
set var release_flag = 0x600dd00d
python gdbcheck("release_flag == 0x600dd00d", "the release flag written")
detach
printf "GDBCHECK ok detached\n"
