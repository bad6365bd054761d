# gdb (Python) half of tests/bench/trace-exit.sh: on QEMU (TCG, -icount shift=0, SVM), run
# the guest test kernel to the HIT-th call of a guest marker function, then single-step mhv
# from each of the next EXITS exits (the instruction after VMRUN) to the next VMRUN and
# attribute every executed instruction to the mhv.elf symbol that contains it.
#
# Parameters come as gdb convenience variables set by trace-exit.sh:
#   $te_mhv_nm, $te_guest_nm: files with `nm -n` output of mhv.elf and the guest ELF
#   $te_marker: guest function name; $te_hit: which call of it; $te_exits: exits to trace
#   $te_vmrun, $te_after: the address of svm_run_loop's VMRUN and of the instruction after it
import bisect
import collections

import gdb


MAX_STEPS = 100000


def conv(name):
    return gdb.convenience_variable(name)


def text_symbols(path):
    """Sorted (address, name) of the code symbols in an `nm -n` listing."""
    syms = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[1] in "tTwW":
                syms.append((int(parts[0], 16), parts[2]))
    syms.sort()
    return syms


def symbol_of(syms, addrs, pc):
    i = bisect.bisect_right(addrs, pc) - 1
    return syms[i][1] if i >= 0 else "?%x" % pc


def pc():
    return int(gdb.parse_and_eval("$pc")) & 0xFFFFFFFFFFFFFFFF


def run_to(addr):
    """Continue until the PC reaches addr (a temporary hardware-free TCG breakpoint)."""
    bp = gdb.Breakpoint("*0x%x" % addr, internal=True, temporary=False)
    try:
        gdb.execute("continue", to_string=True)
    finally:
        bp.delete()


def main():
    mhv = text_symbols(str(conv("te_mhv_nm").string()))
    guest = text_symbols(str(conv("te_guest_nm").string()))
    mhv_addrs = [a for a, _ in mhv]
    by_name = {n: a for a, n in mhv}
    guest_by_name = {n: a for a, n in guest}
    marker = conv("te_marker").string()
    hit = int(conv("te_hit"))
    nexits = int(conv("te_exits"))
    if marker not in guest_by_name:
        raise gdb.GdbError("trace-exit: no guest function %s" % marker)

    loop = by_name["svm_run_loop"]
    vmrun = int(conv("te_vmrun")) & 0xFFFFFFFFFFFFFFFF
    after = int(conv("te_after")) & 0xFFFFFFFFFFFFFFFF

    # mhv reaches svm_run_loop once it runs the guest: only then arm the guest marker (mhv's
    # own 32-bit start runs at low addresses too).
    run_to(loop)
    mark = gdb.Breakpoint("*0x%x" % guest_by_name[marker], internal=True)
    for _ in range(hit):
        gdb.execute("continue", to_string=True)
    mark.delete()
    print("trace-exit: guest reached %s (call %d)" % (marker, hit))

    for n in range(nexits):
        run_to(after)
        counts = collections.Counter()
        order = []
        steps = 0
        while True:
            p = pc()
            if p == vmrun:
                break
            name = symbol_of(mhv, mhv_addrs, p)
            if name not in counts:
                order.append(name)
            counts[name] += 1
            steps += 1
            if steps >= MAX_STEPS:  # e.g. an exit that waits for an interrupt (stepping masks them)
                print("trace-exit: no VMRUN after %d steps: partial breakdown" % steps)
                break
            gdb.execute("stepi", to_string=True)
        print("trace-exit: exit %d after %s call %d: %d instructions from VMRUN's return "
              "to the next VMRUN (VMRUN itself not counted)" % (n + 1, marker, hit, steps))
        print("  %-40s %8s" % ("function (first-executed order)", "insns"))
        for name in order:
            print("  %-40s %8d" % (name, counts[name]))
    try:
        gdb.execute("kill", to_string=True)
    except gdb.error:
        pass  # QEMU already gone


try:
    main()
except gdb.GdbError as e:
    print(str(e))
