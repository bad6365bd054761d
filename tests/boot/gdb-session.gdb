# Driven by tests/boot/gdb-session.sh: a real gdb against mhv's GDB stub (gdb=com2,wait).
# Every check prints "GDBCHECK ok|not-ok TEXT" for tests/boot/gdb-check.sh, which also wants
# gdb to have printed each "# prints:" text.
# prints: Breakpoint 1, gdb_probe_hop0
# prints: Breakpoint 6, gdb_probe
# prints: Hardware watchpoint 7: gdb_probe_counter
# prints: Breakpoint 8, gdb_probe_after_int3
# prints: Old value = 4096
# prints: New value = 1835566695
# prints: mhv monitor commands:
# prints: received signal SIGINT
# prints: vCPU 1 (APIC id 1), waiting for SIPI
# prints: vCPU 0 (APIC id 0), stopped
set pagination off
set confirm off
set remotetimeout 60
python
def gdbcheck(expr, text):
    try:
        ok = expr if isinstance(expr, bool) else bool(int(gdb.parse_and_eval(expr)))
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
# One byte as the stub answers gdb's m packet (no shadow of gdb's own breakpoints).
def stubbyte(expr):
    out = gdb.execute("maint packet m%x,1" % int(gdb.parse_and_eval(expr)), to_string=True)
    return int(out.split('received: "')[1][:2], 16)
end
target remote @SOCK@
python gdbcheck("$cs == 0x08", "stopped before the first instruction, in 32-bit protected mode (CS 0x08)")
python gdbcheck("($cr0 & 1) == 1", "CR0 from the sys feature: PE set")
# Every vCPU is a thread; the AP has not been started (it waits for the guest's SIPI).
info threads
python pycheck(len(gdb.selected_inferior().threads()) == 2, "info threads: both vCPUs are threads")
thread 2
python gdbrefused("print $pc + 1", "thread 2 (waiting for SIPI): registers unavailable")
python gdbrefused("set $eax = 1", "thread 2 (waiting for SIPI): register write refused")
thread 1
monitor help
# Software breakpoints (gdb's Z0: INT3s mhv plants), six at once: more than DR0-DR3 hold.
break *gdb_probe_hop0
break *gdb_probe_hop1
break *gdb_probe_hop2
break *gdb_probe_hop3
break *gdb_probe_hop4
break *gdb_probe
continue
python gdbcheck("$pc == (unsigned int)gdb_probe_hop0 && gdb_probe_hops == 0", "software breakpoint 1 of 6: stopped at gdb_probe_hop0, before it ran")
python gdbcheck("gdb_probe_code_byte == *(unsigned char *)gdb_probe_hop4 && gdb_probe_code_byte != 0xcc", "the guest read the original byte under gdb's INT3 on gdb_probe_hop4")
continue
python gdbcheck("$pc == (unsigned int)gdb_probe_hop1 && gdb_probe_hops == 1", "software breakpoint 2 of 6: gdb_probe_hop1, hop0 ran once")
continue
python gdbcheck("$pc == (unsigned int)gdb_probe_hop2 && gdb_probe_hops == 3", "software breakpoint 3 of 6: gdb_probe_hop2")
continue
python gdbcheck("$pc == (unsigned int)gdb_probe_hop3 && gdb_probe_hops == 7", "software breakpoint 4 of 6: gdb_probe_hop3")
continue
python gdbcheck("$pc == (unsigned int)gdb_probe_hop4 && gdb_probe_hops == 0xf", "software breakpoint 5 of 6: gdb_probe_hop4")
# gdb's INT3s stay planted while the guest is stopped: the stub must hide them from gdb's reads.
set breakpoint always-inserted on
python gdbcheck(stubbyte("(unsigned int)gdb_probe_hop4") == int(gdb.parse_and_eval("*(unsigned char *)gdb_probe_hop4")) and stubbyte("(unsigned int)gdb_probe_hop4") != 0xcc, "the stub's memory read shows the original byte under a planted INT3")
set breakpoint always-inserted off
continue
python gdbcheck("$pc == (unsigned int)gdb_probe", "breakpoint by symbol: stopped at gdb_probe")
python gdbcheck("*(unsigned int *)($esp + 4) == 0x6d687667", "register ESP: the argument on the stack is the magic")
python gdbcheck("gdb_probe_counter == 0x1000", "variable gdb_probe_counter reads 0x1000")
# Register writes: CR0.TS goes through the exit core's CR0 checks and the guest sees it
# (tests/guest/gdb_probe.c); CR4.VMXE would be a #GP for the guest: refused, CR4 unchanged.
set var gdb_probe_set_ts = 1
set $cr0 = $cr0 | 8
maint flush register-cache
python gdbcheck("($cr0 & 8) == 8", "register write: CR0.TS set through the stub")
set $cr4_before = $cr4
python gdbrefused("set $cr4 = $cr4 | 0x2000", "register write: CR4.VMXE refused")
maint flush register-cache
python gdbcheck("$cr4 == $cr4_before", "register write: CR4 unchanged after the refused write")
set $ecx_before = $ecx
set $ecx = 0x5eed
maint flush register-cache
python gdbcheck("$ecx == 0x5eed", "register write: ECX reads back what gdb wrote")
set $ecx = $ecx_before
# Segment registers: loaded from the guest's GDT with MOV Sreg's checks (tests/guest/entry.S:
# 0x08 flat code, readable; 0x10 flat data; the GDT ends there).
set $es = 0x08
maint flush register-cache
python gdbcheck("$es == 0x08", "segment write: ES loaded with the readable code selector 0x08")
set $es = 0x10
maint flush register-cache
python gdbcheck("$es == 0x10", "segment write: ES back to the data selector 0x10")
python gdbrefused("set $ds = 0x18", "segment write: a selector past the GDT's limit refused")
python gdbrefused("set $ss = 0x08", "segment write: a code selector for SS refused")
python gdbrefused("set $cs = 0x10", "segment write: a data selector for CS refused")
maint flush register-cache
python gdbcheck("$ds == 0x10 && $ss == 0x10 && $cs == 0x08", "segment writes refused: DS, SS, CS unchanged")
delete
watch gdb_probe_counter
continue
python gdbcheck("gdb_probe_counter == 0x6d688667", "watchpoint: stopped after the write, counter 0x6d688667")
set $before = $pc
stepi
python gdbcheck("$pc != $before", "single-step moved the PC")
x/4xb &gdb_probe_counter
info registers eip eflags cr3
delete
# The guest's own INT3 runs while this breakpoint's INT3 is planted: the guest gets its #BP.
break *gdb_probe_after_int3
continue
python gdbcheck("$pc == (unsigned int)gdb_probe_after_int3", "software breakpoint after the guest's own INT3")
python gdbcheck("gdb_probe_guest_bp == 1", "the guest's own INT3 reached the guest's #BP handler")
delete
# The INT3 on gdb_probe_shift makes its page a region below the device regions while the
# guest's loads fill mhv's MMIO short path; deleted at the stop, the regions above it move
# (tests/guest/gdb_probe.c: the guest then checks the same load still reads its device).
break *gdb_probe_shift
continue
python gdbcheck("$pc == (unsigned int)gdb_probe_shift", "software breakpoint on gdb_probe_shift, after the guest's device loads")
delete
# Ctrl-C: gdb, sent SIGINT while the guest runs, sends 0x03; the stub stops the guest at its
# next exit and reports SIGINT.
shell (sleep 0.5; kill -INT $PPID) &
continue
python gdbcheck("$cs == 0x08", "Ctrl-C: stopped the running guest in its kernel code segment")
monitor gdb
detach
printf "GDBCHECK ok detached\n"
