# Driven by tests/boot/gdb-session.sh: gdb's threads on the guest test kernel in gdb-smp mode
# (tests/guest/gdb_smp.c): every vCPU is a thread; before its SIPI the AP has no registers;
# Ctrl-C while both vCPUs run guest code stops both, each one's registers are read on its own
# CPU, thread 2 is stepped alone and stops at a software breakpoint (an INT3 of gdb's) on its
# own, and the monitor shows vCPU 1.  Checks print
# "GDBCHECK ok|not-ok TEXT" for tests/boot/gdb-check.sh.
# prints: received signal SIGINT
# prints: vCPU 1 (APIC id 1), waiting for SIPI
# prints: vCPU 1 (APIC id 1), stopped
# prints: vCPU 1 (APIC id 1)
# prints: hit Breakpoint 1
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
def pycheck(ok, text):
    print("GDBCHECK %s %s" % ("ok" if ok else "not-ok", text))
def gdbrefused(cmd, text):
    try:
        gdb.execute(cmd)
        print("GDBCHECK not-ok %s (accepted)" % text)
    except gdb.error as e:
        print("GDBCHECK ok %s (%s)" % (text, e))
end
target remote @SOCK@
python gdbcheck("$cs == 0x08", "stopped before the first instruction")
info threads
python pycheck(len(gdb.selected_inferior().threads()) == 2, "info threads: both vCPUs are threads")
thread 2
python gdbrefused("print $pc + 1", "thread 2 before its SIPI: registers unavailable")
thread 1
# Ctrl-C until the boot CPU waits in gdb_smp_wait_if_asked() with the AP running.
set $tries = 0
set $waiting = 0
while $tries < 20 && !$waiting
  shell (sleep 2; kill -INT $PPID) &
  continue
  set $waiting = gdb_smp_waiting == 1
  set $tries = $tries + 1
end
python gdbcheck("$waiting", "Ctrl-C with both vCPUs running: the boot CPU waits for gdb")
python pycheck(gdb.selected_thread().ptid[1] == 1, "the break-in stopped thread 1 (the boot CPU)")
info threads
thread 2
python gdbcheck("$cs == 0x08 && $esp != 0 && $pc != 0", "thread 2 (the AP, stopped too): its registers")
info registers eip esp cs
set $ap_pc = $pc
stepi
python pycheck(gdb.selected_thread().ptid[1] == 2, "stepi on thread 2: the stop names thread 2")
python gdbcheck("$pc != $ap_pc && $cs == 0x08", "stepi on thread 2: its PC moved")
# A software breakpoint (gdb's INT3) in the AP's endless loop: gdb steps thread 2 over it,
# continues both, and the AP comes round to it: the stop is thread 2's, at the INT3.
set $ap_loop = $pc
break *$ap_loop
continue
python pycheck(gdb.selected_thread().ptid[1] == 2, "gdb's INT3 in the AP's loop: the stop names thread 2")
python gdbcheck("$pc == $ap_loop", "thread 2 stopped at the INT3's address")
python gdbcheck("*(unsigned char *)$ap_loop != 0xcc", "the INT3's byte reads as the original")
delete
thread 1
python gdbcheck("gdb_smp_waiting == 1", "thread 1 still in its wait after thread 2's step")
monitor regs 1
set var gdb_smp_release = 0x5eed600d
detach
printf "GDBCHECK ok detached\n"
