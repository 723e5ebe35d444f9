"""The GDB stub (gdb=com2): Bochs connects the guest machine's COM2 to a TCP socket, Debian's
gdb attaches in batch mode and checks a breakpoint, a register read, a single step, a hardware
breakpoint and detach; the guest then runs to its normal end."""
import shutil
import subprocess

from conftest import GUESTS, RUN_BOCHS, ROOT, RunResult, _free_port, _read, _tail, \
    _wait_listening, assert_clean, assert_ok, assert_summary

GDB_TIMEOUT = 150


def test_gdb_breakpoint_registers_step(hv):
    assert shutil.which("gdb"), "gdb is not installed (make deps)"
    port = _free_port()
    iso = hv.iso("hello", hv_cmdline="gdb=com2")
    d = hv.dir / "bochs"
    d.mkdir(parents=True, exist_ok=True)
    cmd = [str(RUN_BOCHS), "--iso", str(iso), "--dir", str(d), "--timeout", str(GDB_TIMEOUT),
           "--com2", f"mode=socket-server, dev=localhost:{port}"]
    bochs = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    gdb_out = ""
    try:
        listening = _wait_listening(port, 60)
        if listening:
            elf = GUESTS / "hello.elf"
            # The emulated serial line is slow: a generous remotetimeout keeps gdb from
            # retransmitting packets the stub has not acknowledged yet.
            gdb = subprocess.run(
                ["gdb", "-batch", "-nx", str(elf), "-ex", "set remotetimeout 60",
                 "-ex", f"target remote localhost:{port}",
                 "-ex", "break guest_main", "-ex", "continue",
                 "-ex", "info registers eip", "-ex", "p/x $eax",
                 "-ex", "stepi", "-ex", "info registers eip",
                 "-ex", "hbreak puts", "-ex", "continue", "-ex", "bt 1",
                 "-ex", "delete", "-ex", "detach"],
                cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=GDB_TIMEOUT)
            gdb_out = gdb.stdout + gdb.stderr
        rc = bochs.wait(timeout=GDB_TIMEOUT)
    except subprocess.TimeoutExpired:
        rc = None
    finally:
        if bochs.poll() is None:
            subprocess.run(["pkill", "-KILL", "-g", str(bochs.pid)], check=False)
    r = RunResult(label="bochs+gdb", dir=d, command=cmd, serial=_read(d / "serial.txt"),
                  exit_status=rc, timed_out=rc is None, seconds=0, limit=GDB_TIMEOUT,
                  extra_name="gdb output", extra=gdb_out + "\n--- bochs.log tail ---\n" +
                  _tail(d / "bochs.log", 15))
    hv._record(r, fail_on_timeout=True)
    assert_ok(listening, r, "Bochs never opened the COM2 socket")
    assert_ok(any("gdb: stub on port 0x2f8" in l for l in r.hv_lines), r, "stub not announced")
    assert_ok("Breakpoint 1, guest_main (magic=732803074" in gdb_out, r,
              "gdb did not stop at the guest_main breakpoint with EAX-derived magic 0x2badb002")
    assert_ok("eip            0x100010" in gdb_out or "<guest_main>" in gdb_out, r,
              "eip at the breakpoint not reported")
    assert_ok("<guest_main+1>" in gdb_out, r, "stepi did not advance by one instruction")
    assert_ok("Breakpoint 2, puts" in gdb_out, r, "hardware breakpoint in puts not hit")
    assert_ok("detached" in gdb_out, r, "gdb did not detach cleanly")
    assert_ok("Hello from the guest!" in r.guest_lines, r, "the guest did not run on after detach")
    assert_clean(r)
    assert_summary(r, "debug_exit", code=0, status=1)
