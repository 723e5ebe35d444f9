"""The serial-console monitor: Bochs's COM1 is a TCP socket, the test types on it like a user
at a terminal. Ctrl-A c pauses the guest and opens the monitor; every command is run and its
output checked: help, regs, vmcs, mem (virtual and physical), walk, slots, stats, trace, step,
break, continue, reboot; typed bytes outside the escape reach the guest ('q' ends it)."""
import re
import subprocess

from conftest import GUESTS, ROOT, RUN_BOCHS, Console, RunResult, _free_port, _tail, \
    _wait_listening, assert_ok, assert_summary

LIMIT = 240


class MonitorConsole(Console):
    def command(self, cmd, seconds=90):
        """Types a command at the (hv) prompt; returns its output up to the next prompt."""
        start = len(self.buf)
        self.send(cmd + "\r")
        end = self.wait("(hv) ", start, seconds)
        return self.buf[start:end] if end >= 0 else self.buf[start:] + "\n<no prompt>"


def _symbol(elf, name):
    out = subprocess.run(["nm", str(elf)], capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[2] == name:
            return int(f[0], 16)
    raise AssertionError(f"{name} not in {elf}")


def test_monitor_session(hv):
    port = _free_port()
    iso = hv.iso("monitored")
    d = hv.dir / "bochs"
    d.mkdir(parents=True, exist_ok=True)
    cmd = [str(RUN_BOCHS), "--iso", str(iso), "--dir", str(d), "--timeout", str(LIMIT),
           "--com1", f"mode=socket-server, dev=localhost:{port}"]
    bochs = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    con, out = None, {}
    try:
        assert _wait_listening(port, 60), "Bochs never opened the COM1 socket"
        con = MonitorConsole(port, d / "serial.txt")
        assert con.wait("[guest] ready") >= 0, "the guest never said ready"
        assert con.wait("[guest] tick 16") >= 0, "the guest is not running"
        con.send("\x01c")
        assert con.wait("(hv) ") >= 0, "no monitor prompt after Ctrl-A c"
        for c in ("help", "regs", "vmcs", "mem v 100000 20", "mem p 2000 10", "walk 100000",
                  "slots", "stats", "trace 5", "step"):
            out[c] = con.command(c)
        work = _symbol(GUESTS / "monitored.elf", "work")
        out["break"] = con.command(f"break {work:x}")
        out["continue"] = con.command("continue")
        con.send("continue\r")
        # After continue, typed bytes go to the guest again: 'q' ends it.
        assert con.wait("[guest] tick", len(con.buf)) >= 0, "guest did not resume"
        con.send("\x01c")
        assert con.wait("(hv) ", len(con.buf) - 10) >= 0, "monitor did not open a second time"
        start = len(con.buf)
        con.send("reboot\r")
        rebooted = con.wait("hypervisor 0.1 starting", start, 120) >= 0
        assert con.wait("[guest] ready", start, 120) >= 0, "guest did not start after reboot"
        con.send("q")
        i = con.wait("summary end=", start, 90)
        if i >= 0:  # the whole line: the test reads it (it came cut short on a loaded machine)
            con.wait("\n", i, 30)
        rc = bochs.wait(timeout=60)
    finally:
        if con:
            con.sock.close()
        if bochs.poll() is None:
            subprocess.run(["pkill", "-KILL", "-g", str(bochs.pid)], check=False)
            rc = None
    r = RunResult(label="bochs+console", dir=d, command=cmd, serial=con.buf if con else "",
                  exit_status=rc, timed_out=rc is None, seconds=0, limit=LIMIT,
                  extra_name="bochs.log", extra=_tail(d / "bochs.log", 10))
    hv._record(r, fail_on_timeout=False)
    o = out
    assert_ok("regs | vmcs | mem v GVA" in o["help"], r, "help")
    assert_ok("rip=" in o["regs"] and "cr0=" in o["regs"] and "cs   sel=0008" in o["regs"] and
              "dr7=400" in o["regs"] and "efer=" in o["regs"], r,
              "regs: no rip/cr0/segments/debug registers/efer")
    assert_ok("GUEST_RIP" in o["vmcs"] and "PIN_BASED" in o["vmcs"] and
              "ext-intr-exiting" in o["vmcs"] and "type=11 s=1 dpl=0 p=1" in o["vmcs"], r,
              "vmcs: fields by name with decoded controls and segment rights")
    assert_ok("[mon] 0000000000100000:" in o["mem v 100000 20"], r, "mem v: no dump at 0x100000")
    assert_ok("[mon] 0000000000002000:" in o["mem p 2000 10"], r, "mem p: no dump at 0x2000")
    assert_ok("-> gpa 0x100000" in o["walk 100000"] and "spte L1" in o["walk 100000"], r,
              "walk: no translation or no spte levels")
    assert_ok("slot 0 gpa 0-0x4000000" in o["slots"] and "memslots generation" in o["slots"], r,
              "slots: no guest RAM slot / generation")
    assert_ok("exits=" in o["stats"] and "mmu shadow_faults=" in o["stats"], r, "stats")
    assert_ok("apicv=on x2apic_virtualized=yes" in o["stats"], r, "stats: APIC virtualization")
    assert_ok(re.search(r"mmu pf_bypass_active=(yes|no) notrap_sptes=\d+ trap_faults=\d+",
                        o["stats"]), r, "stats: reflected faults without an exit")
    assert_ok("virtual-intr-delivery" in o["vmcs"] and "GUEST_INTR_STATUS" in o["vmcs"], r,
              "vmcs: secondary controls decoded, the guest interrupt status shown")
    assert_ok("last 5 exits" in o["trace 5"] and "cost=" in o["trace 5"], r, "trace")
    assert_ok("stepped one instruction: rip=" in o["step"], r, "step")
    assert_ok(f"breakpoint at {work:#x}" in o["break"], r, "break not set")
    assert_ok(f"breakpoint hit at rip={work:#x}" in o["continue"], r, "breakpoint not hit")
    assert_ok(rebooted, r, "reboot: the hypervisor did not start again")
    assert_ok("[guest] quit" in con.buf, r, "the guest did not get the typed 'q'")
    assert_summary(r, "debug_exit", code=0, status=1)
