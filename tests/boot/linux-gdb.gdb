# Driven by tests/boot/gdb-session.sh: a real gdb, without symbols, attaches to a running
# 64-bit Linux kernel (gdb=com2 without wait; the Debian kernel with nokaslr), which stops it;
# the registers come in the x86-64 layout with values a running kernel has, memory reads
# work, Ctrl-C stops it again, and gdb detaches: the boot then ends as it does without gdb.
# Checks print "GDBCHECK ok|not-ok TEXT" for tests/boot/gdb-check.sh.
# prints: fs_base
# prints: received signal SIGINT
set pagination off
set confirm off
set remotetimeout 60
python
import re
def gdbcheck(expr, text):
    try:
        ok = bool(int(gdb.parse_and_eval(expr)))
    except gdb.error as e:
        ok, text = False, "%s (%s)" % (text, e)
    print("GDBCHECK %s %s" % ("ok" if ok else "not-ok", text))
def pycheck(ok, text):
    print("GDBCHECK %s %s" % ("ok" if ok else "not-ok", text))
def reg(name):
    return int(gdb.parse_and_eval("$" + name)) & 0xffffffffffffffff
# The kernel image's physical range, from mhv's log ("kernel [0x1000000-0x...)"), at the
# kernel's text mapping (__START_KERNEL_map: physical 0 at 0xffffffff80000000).
def in_kernel_image(la):
    m = re.search(r"kernel \[0x([0-9a-f]+)-0x([0-9a-f]+)\)", open("@SERIAL@").read())
    base = 0xffffffff80000000
    return bool(m) and base + int(m.group(1), 16) <= la < base + int(m.group(2), 16)
def readable(la, n):
    try:
        return bytes(gdb.selected_inferior().read_memory(la, n))
    except gdb.MemoryError:
        return None
end
# The stub is up before the guest starts: give the kernel time to reach its 64-bit code.
shell sleep 2
target remote @SOCK@
python pycheck(gdb.selected_inferior().architecture().name() == "i386:x86-64", "the x86-64 target description (64-bit guest: EFER.LMA and CS.L)")
# The decompressor runs 64-bit too, below the kernel's mapping: Ctrl-C until the kernel proper
# runs (an emulator takes seconds to decompress).
set $tries = 0
python gdb.set_convenience_variable("inkernel", int(in_kernel_image(reg("rip"))))
while $tries < 20 && !$inkernel
  shell (sleep 1; kill -INT $PPID) &
  continue
  python gdb.set_convenience_variable("inkernel", int(in_kernel_image(reg("rip"))))
  set $tries = $tries + 1
end
info registers
python gdbcheck("$cs == 0x10", "CS is the kernel's code segment (__KERNEL_CS 0x10)")
python gdbcheck("($cr0 >> 31) & 1", "CR0.PG set")
python gdbcheck("($efer >> 10) & 1", "EFER.LMA set")
python pycheck(in_kernel_image(reg("rip")), "RIP 0x%x lies in the kernel image" % reg("rip"))
python pycheck((readable(reg("rip"), 16) or bytes(16)) != bytes(16), "memory at RIP reads (code, not zeros)")
python pycheck(readable(reg("rsp"), 64) is not None, "memory at RSP reads (the kernel stack)")
python pycheck(readable(0x10, 8) is None, "an unmapped address is an error")
x/4i $pc
info threads
python pycheck(len(gdb.selected_inferior().threads()) == 2, "info threads: both vCPUs")
shell (sleep 1; kill -INT $PPID) &
continue
python pycheck(gdb.selected_inferior().architecture().name() == "i386:x86-64" and reg("cs") in (0x10, 0x33), "Ctrl-C: stopped in 64-bit code (CS 0x%x, RIP 0x%x)" % (reg("cs"), reg("rip")))
info threads
detach
printf "GDBCHECK ok detached\n"
