"""The two-way console of `make run`: scripts/run-bochs.sh --interactive with a terminal on
stdin runs scripts/console.py, which connects the terminal to Bochs's COM1 (a pty, mode=term).

Each test starts it as a person does, on a pseudo-terminal the test holds (set to ordinary
cooked modes first), and types at it: Ctrl-A c opens the hypervisor's monitor and a command's
reply comes back on the terminal; Ctrl-A x quits at once; a key reaches the guest (monitored.c
ends on 'q') and the run's end ends the console, which says so; SIGTERM stops it too, and so
does the terminal hanging up. After
each: the program has exited within seconds, no process of the run is left (every process whose
working directory is the run's directory: run-bochs.sh, timeout, script, Bochs), and the
terminal's modes are exactly what they were before (and were raw while it ran). The terminal
transcript is attached to a failing test's report, as a serial log is.
Without a terminal on stdin run-bochs.sh keeps showing COM1's output only (test_no_terminal_*).
"""
import importlib.util
import os
import select
import signal
import subprocess
import termios
import time

from conftest import ROOT, RUN_BOCHS, RunResult, _read, _tail, assert_ok

WAIT = 90          # seconds for any one thing to appear (Bochs on a loaded 2-CPU machine)
QUIT_LIMIT = 15    # seconds from Ctrl-A x or SIGTERM to the console's exit


def _run_pids(d):
    """Processes working in run directory d (what run-bochs.sh starts there), by pid."""
    pids = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                if os.readlink(f"/proc/{e}/cwd") == str(d):
                    pids.append(int(e))
            except OSError:
                pass
    return pids


class Terminal:
    """A pseudo-terminal in cooked mode with the console program on its slave side; the test
    is the person at the master side."""

    def __init__(self, hv, iso, subdir="console"):
        self.hv, self.dir = hv, hv.dir / subdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.master, self.slave = os.openpty()
        attrs = termios.tcgetattr(self.slave)
        attrs[3] |= termios.ICANON | termios.ECHO | termios.ISIG  # a shell's usual modes
        attrs[1] |= termios.OPOST | termios.ONLCR
        termios.tcsetattr(self.slave, termios.TCSANOW, attrs)
        self.before = termios.tcgetattr(self.slave)
        self.cmd = [str(RUN_BOCHS), "--iso", str(iso), "--dir", str(self.dir), "--interactive"]
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, stdin=self.slave, stdout=self.slave,
                                     stderr=self.slave, start_new_session=True)
        self.buf = b""
        self.raw_seen = False

    @property
    def text(self):
        return self.buf.decode("latin-1").replace("\r", "")

    def pump(self, seconds=0.2):
        if self.master is None:  # hung up
            time.sleep(seconds)
            return
        r, _, _ = select.select([self.master], [], [], seconds)
        if r:
            self.buf += os.read(self.master, 65536)
        if not self.raw_seen and self.proc.poll() is None:
            lflag = termios.tcgetattr(self.slave)[3]
            self.raw_seen = not lflag & (termios.ICANON | termios.ECHO)

    def wait(self, text, start=0, seconds=WAIT):
        """Offset just after text (searched from start), or -1 after seconds."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            i = self.text.find(text, start)
            if i >= 0:
                return i + len(text)
            self.pump()
        return -1

    def type(self, s):
        for ch in s.encode():  # as fast as a quick typist
            os.write(self.master, bytes([ch]))
            time.sleep(0.03)

    def wait_exit(self, seconds):
        """The console's exit status, or None if it is still running after seconds."""
        end = time.monotonic() + seconds
        while self.proc.poll() is None and time.monotonic() < end:
            self.pump(0.1)
        self.pump(0.1)
        return self.proc.poll()

    def close(self):
        """Stops whatever is left (by pid), records the run; returns (status, leftover pids)."""
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            rc = self.wait_exit(10)
            if rc is None:
                self.proc.kill()
                self.proc.wait()
        left = _run_pids(self.dir)
        for p in left:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.after = termios.tcgetattr(self.slave) if self.master is not None else None
        if self.master is not None:
            os.close(self.master)
        os.close(self.slave)
        r = RunResult(label="console (terminal transcript)", dir=self.dir, command=self.cmd,
                      serial=self.text, exit_status=rc, timed_out=False,
                      seconds=time.monotonic() - self.t0, limit=WAIT,
                      extra_name="serial.txt and bochs.log (last lines)",
                      extra=_tail(self.dir / "serial.txt", 15) + "\n--- bochs.log ---\n" +
                      _tail(self.dir / "bochs.log", 10))
        self.hv._record(r, fail_on_timeout=False)
        return r, left


def _check_clean_end(term, r, left, status, want_status):
    assert_ok(status is not None, r, f"the console did not exit within {QUIT_LIMIT}s")
    assert_ok(status == want_status, r, f"console exit status {status}, want {want_status}")
    assert_ok(not left, r, f"processes of the run still alive after the console ended: {left}")
    assert_ok(term.raw_seen, r, "the terminal was never in raw mode while the console ran")
    assert_ok(term.after == term.before, r,
              f"terminal modes not restored: before {term.before}, after {term.after}")


def test_monitor_reply_and_ctrl_a_x(hv):
    term = Terminal(hv, hv.iso("monitored"))
    try:
        ok_tick = term.wait("[guest] tick 16") >= 0
        if ok_tick:
            term.type("\x01c")
        ok_prompt = ok_tick and term.wait("(hv) ") >= 0
        start = len(term.text)
        if ok_prompt:
            term.type("slots\r")
        reply = term.wait("(hv) ", start) if ok_prompt else -1
        t_quit = time.monotonic()
        term.type("\x01x")
        status = term.wait_exit(QUIT_LIMIT)
        quit_secs = time.monotonic() - t_quit
    finally:
        r, left = term.close()
    assert_ok(ok_tick, r, "the guest's output never reached the terminal")
    assert_ok(ok_prompt, r, "Ctrl-A c typed on the terminal did not open the monitor")
    out = term.text[start:reply] if reply >= 0 else ""
    assert_ok("memslots generation" in out and "slot 0 gpa 0-0x4000000" in out, r,
              "the monitor's reply to 'slots' did not come back on the terminal")
    assert_ok("[console] Ctrl-A x: Bochs stopped" in term.text, r, "no quit message")
    assert_ok("memslots generation" in _read(term.dir / "serial.txt"), r,
              "serial.txt does not hold a copy of the session")
    _check_clean_end(term, r, left, status, 0)
    assert_ok(quit_secs < QUIT_LIMIT, r, f"Ctrl-A x took {quit_secs:.1f}s")


def test_typed_key_reaches_guest_and_run_end_ends_console(hv):
    term = Terminal(hv, hv.iso("monitored"))
    try:
        ok_tick = term.wait("[guest] tick 16") >= 0
        if ok_tick:
            term.type("q")  # monitored.c ends (isa-debug-exit 0) when it reads 'q'
        ended = term.wait("[console] Bochs ended") >= 0
        status = term.wait_exit(QUIT_LIMIT)
    finally:
        r, left = term.close()
    assert_ok(ok_tick, r, "the guest's output never reached the terminal")
    assert_ok("[guest] quit" in term.text, r, "the typed 'q' did not reach the guest")
    assert_ok(ended, r, "the console did not say that Bochs ended")
    assert_ok("the run's summary says end=debug_exit code=0" in term.text, r,
              "the end message does not give the run's summary")
    _check_clean_end(term, r, left, status, 0)


def test_sigterm_stops_bochs_and_restores_terminal(hv):
    term = Terminal(hv, hv.iso("monitored"))
    try:
        ok_tick = term.wait("[guest] tick 16") >= 0
        term.proc.send_signal(signal.SIGTERM)
        status = term.wait_exit(QUIT_LIMIT)
    finally:
        r, left = term.close()
    assert_ok(ok_tick, r, "the guest's output never reached the terminal")
    assert_ok("[console] signal 15: Bochs stopped" in term.text, r, "no message for SIGTERM")
    _check_clean_end(term, r, left, status, 128 + signal.SIGTERM)


def test_terminal_hangup_stops_bochs(hv):
    """The terminal's window closes: no SIGHUP reaches the console (only a session leader gets
    one), its reads see the hang-up; it must stop Bochs all the same."""
    term = Terminal(hv, hv.iso("monitored"))
    try:
        ok_tick = term.wait("[guest] tick 16") >= 0
        os.close(term.master)
        term.master = None
        status = term.wait_exit(QUIT_LIMIT)
    finally:
        r, left = term.close()
    assert_ok(ok_tick, r, "the guest's output never reached the terminal")
    assert_ok(status == 128 + signal.SIGHUP, r, f"console exit status {status}, want 129")
    assert_ok(not left, r, f"processes of the run still alive after the hang-up: {left}")


def test_no_terminal_shows_output_only(hv):
    """stdin not a terminal (a script, CI): COM1's output is shown, no console program runs."""
    d = hv.dir / "plain"
    cmd = [str(RUN_BOCHS), "--iso", str(hv.iso("hello")), "--dir", str(d), "--interactive",
           "--timeout", "60"]
    p = subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=120)
    out = p.stdout.decode("latin-1").replace("\r", "")
    r = RunResult(label="run-bochs.sh --interactive, no terminal", dir=d, command=cmd,
                  serial=out, exit_status=p.returncode, timed_out=False, seconds=0, limit=60)
    hv._record(r, fail_on_timeout=False)
    assert_ok(p.returncode == 0, r, f"exit status {p.returncode}")
    assert_ok("[guest] Hello from the guest!" in out and "summary end=debug_exit" in out, r,
              "the output was not shown")
    assert_ok("[console]" not in out, r, "the console program ran without a terminal")


def _console_module():
    spec = importlib.util.spec_from_file_location("console", ROOT / "scripts" / "console.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_console_keys():
    """The key filter alone: every byte goes to the machine except Ctrl-A x, also when the
    two keys arrive in separate reads; Ctrl-A Ctrl-A x is the hypervisor's, not a quit."""
    con = _console_module().Console(["true"], None)
    assert not con.typed(b"ls -l\r\x01c") and con.pending == b"ls -l\r\x01c"
    con.pending.clear()
    assert not con.typed(b"\x01\x01x") and con.pending == b"\x01\x01x"
    con.pending.clear()
    assert not con.typed(b"\x01h\x01") and con.pending == b"\x01h", "Ctrl-A held back"
    assert con.typed(b"x"), "Ctrl-A then x in the next read must quit"
    con.escape = False
    con.pending.clear()
    assert con.typed(b"a\x01xb") and con.pending == b"a"
