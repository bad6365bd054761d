#!/usr/bin/env python3
"""Drive a monitor session over the emulator's serial line (tests/boot/run-config.sh).

    monitor-drive.py SOCKET SERIAL-LOG VERDICTS

Connects to the emulator's serial port (a unix socket for QEMU, a TCP port "tcp:HOST:PORT" for
Bochs), copies everything it receives to SERIAL-LOG (the boot test judges that log as usual)
and writes one "ok TEXT" or "not-ok TEXT" line per check to VERDICTS.  The guest test kernel
runs in "monitor-spin" mode (tests/guest/monitor_spin.c): it prints where its flag and pattern
are, then spins with interrupts off.  The driver types input meant for the guest, breaks in
with Ctrl-] Ctrl-], checks regs / mem / lmem / walk / regions / counters, the line editor and
the error messages, steps twice, writes the release flag and continues to the run's end.
"""
import re
import socket
import sys
import time

REGS = {"rax": 0x11223344, "rbx": 0xcafef00d, "rdx": 0x5eed1234, "rsi": 0x600dbeef,
        "rdi": 0xdecade00}
PATTERN = b"MHVMONITOR-TEST!" + bytes(range(16, 32))
RELEASE = 0x600dd00d
PROMPT = b"mhv> "


class Serial:
    def __init__(self, where, log):
        deadline = time.time() + 60
        while True:
            try:
                if where.startswith("tcp:"):
                    host, port = where[4:].rsplit(":", 1)
                    self.s = socket.create_connection((host, int(port)), timeout=5)
                else:
                    self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    self.s.connect(where)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.s.settimeout(0.2)
        self.log = open(log, "ab", buffering=0)
        self.buf = b""  # everything received, for the expectations
        self.mark = 0   # start of the current command's output

    def pump(self):
        try:
            data = self.s.recv(65536)
        except socket.timeout:
            return True
        except OSError:
            return False
        if not data:
            return False
        self.log.write(data)
        self.buf += data
        return True

    def wait_for(self, pattern, timeout):
        """Wait until pattern (bytes regex) appears after the mark; returns the match or None."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(pattern, self.buf[self.mark:])
            if m:
                return m
            if not self.pump():
                return re.search(pattern, self.buf[self.mark:])
        return None

    def send(self, data, slow=False):
        if slow:  # one byte at a time, as typed
            for b in data:
                self.s.sendall(bytes([b]))
                time.sleep(0.02)
        else:
            self.s.sendall(data)

    def command(self, line, timeout=30):
        """Type a command line; return its output (up to the next prompt) as text."""
        self.mark = len(self.buf)
        self.send(line.encode() + b"\r", slow=True)
        m = self.wait_for(re.escape(PROMPT) + b"|mhv: run ended", timeout)
        end = self.mark + (m.start() if m else len(self.buf) - self.mark)
        return self.buf[self.mark:end].decode("latin-1").replace("\r", "")


def main():
    where, serial_log, verdict_file = sys.argv[1:4]
    verdicts = open(verdict_file, "w")

    def verdict(ok, text):
        verdicts.write(("ok " if ok else "not-ok ") + "monitor: " + text + "\n")
        verdicts.flush()
        return ok

    port = Serial(where, serial_log)
    m = port.wait_for(rb"flag at (0x[0-9a-f]+), pattern at (0x[0-9a-f]+) \(linear alias (0x[0-9a-f]+)\),", 240)
    if not verdict(m is not None, "the guest says where its flag and pattern are"):
        return 1
    flag, pattern, alias = int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16)
    if not verdict(port.wait_for(rb"spinning with interrupts off", 60) is not None,
                   "the guest spins with interrupts off"):
        return 1
    time.sleep(0.5)
    port.send(b"hi\x1dz", slow=True)  # for the guest: a lone Ctrl-] is not the break-in
    time.sleep(0.5)
    port.mark = len(port.buf)
    port.send(b"\x1d\x1d")
    m = port.wait_for(rb"monitor: cpu \d+ stopped at RIP (0x[0-9a-f]+) \(break-in\)", 60)
    if not verdict(m is not None, "Ctrl-] Ctrl-] stops the spinning guest"):
        return 1
    stop_rip = int(m.group(1), 16)
    port.wait_for(re.escape(PROMPT), 10)

    out = port.command("regs")
    regs = dict((k, int(v, 16)) for k, v in re.findall(r"\b(r[a-z0-9]+|rip|rflags)=([0-9a-f]{16})", out))
    verdict(all(regs.get(k, -1) & 0xFFFFFFFF == v for k, v in REGS.items()),
            "regs shows the values the guest put in eax, ebx, edx, esi, edi")
    verdict(regs.get("rip") == stop_rip, "regs shows RIP where the guest stopped")
    verdict("rflags" in regs and not regs["rflags"] & 0x200, "regs shows RFLAGS.IF clear")
    verdict(all(w in out for w in ("cs ", "cr0=", "efer=", "dr7=", "pending event")),
            "regs shows segments, CRs, EFER, DRs and pending events")
    out = port.command("regs 0")
    verdict("vCPU 0 (APIC id" in out and ("rip=%016x" % stop_rip) in out,
            "regs 0 shows the stopped vCPU 0")
    out = port.command("regs 1")
    verdict("vCPU 1 waits for a STARTUP IPI" in out,
            "regs 1: the AP the guest has not started is shown as such")
    out = port.command("regs 9")
    verdict("no vCPU 9" in out, "regs 9: no such vCPU, a clear error")

    want = " ".join("%02x" % b for b in PATTERN[:16])
    out = port.command("mem 0x%x 32" % pattern)
    verdict(want in out and "|MHVMONITOR-TEST!|" in out, "mem shows the guest's pattern")
    out = port.command("lmem 0x%x 32" % alias)
    verdict(want in out, "lmem shows the pattern through the guest's page tables")
    out = port.command("walk 0x%x" % alias)
    verdict(re.search(r"PDE\s*\[256\] at GPA .* = 0x[0-9a-f]{8}\n", out) is not None and
            re.search(r"PTE\s*\[  0\] at GPA", out) is not None and
            ("-> guest-physical 0x%x" % pattern) in out,
            "walk shows the PDE, the PTE and the guest-physical address")
    out = port.command("walk 0x%x" % pattern)
    verdict(re.search(r"PDE\s*\[  0\] at GPA 0x[0-9a-f]+ = 0x[0-9a-f]{8}\n", out) is not None and
            "PTE" not in out, "walk stops at a 4 MiB page")
    out = port.command("lmem 0x%x 16" % (alias + 0x1000))
    verdict("not mapped (#PF error code" in out, "lmem reports an unmapped linear address")

    out = port.command("frobnicate")
    verdict("unknown command" in out, "an unknown command is refused clearly")
    out = port.command("mem 0x12zz")
    verdict("bad number '0x12zz'" in out, "a bad number is refused clearly")
    port.mark = len(port.buf)
    out = port.command("rexx\x7f\x7fgs")  # backspace twice: "regs"
    verdict("rflags=" in out, "backspace edits the line")
    out = port.command("junk\x15help")  # Ctrl-U drops "junk"
    verdict("continue" in out and "regs" in out, "Ctrl-U clears the line; help lists the commands")

    out = port.command("step")
    m = re.search(r"stopped at RIP (0x[0-9a-f]+) \(step\)", out)
    rip1 = int(m.group(1), 16) if m else None
    out = port.command("step")
    m = re.search(r"stopped at RIP (0x[0-9a-f]+) \(step\)", out)
    rip2 = int(m.group(1), 16) if m else None
    verdict(rip1 is not None and rip2 is not None and rip1 != rip2 and
            abs(rip1 - stop_rip) < 16 and abs(rip2 - stop_rip) < 16,
            "step runs one instruction at a time inside the spin loop (RIP 0x%x, %s, %s)" %
            (stop_rip, hex(rip1) if rip1 else "none", hex(rip2) if rip2 else "none"))

    out = port.command("regions")
    verdict("trace@0xd0030000+0x1000" in out, "regions lists the mmio= regions")
    out = port.command("trace 3")
    verdict(re.search(r"\+0x10: reads=0 writes=1 last write 0x5a5a5a5a", out) is not None,
            "trace N shows the region's per-offset summary")
    out = port.command("trace 3 on reads")
    verdict("trace log on" in out, "trace N on switches a region's log on (reads only)")
    out = port.command("trace 0 on")
    verdict("not a trace region" in out, "trace on a ram region is refused")
    out = port.command("add ram@0xd0050000+0x1000")
    verdict("ram regions take mhv's memory at boot only" in out, "add refuses a ram region")
    out = port.command("add deny@0xd0040000+0x1000")
    verdict("added deny@0xd0040000+0x1000" in out, "add adds a deny region at run time")
    out = port.command("add trace@0xd0040000+0x2000")
    verdict("overlaps" in out, "add refuses a region over another")
    out = port.command("counters")
    verdict("exits:" in out, "counters prints the exit counters")
    out = port.command("loglvl")
    verdict("log level: info" in out, "loglvl shows the log level")

    out = port.command("write 0x%x 0x%x" % (flag, RELEASE))
    verdict("wrote 0x%08x" % RELEASE in out, "write stores the release flag")
    port.mark = len(port.buf)
    port.send(b"continue\r", slow=True)
    verdict(port.wait_for(rb"guest continues", 10) is not None, "continue resumes the guest")
    ended = port.wait_for(rb"mhv: run ended", 120) is not None
    verdict(ended, "the run ends after continue")
    deadline = time.time() + 2
    while time.time() < deadline and port.pump():
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
