#!/usr/bin/python3
"""console.py - the two-way serial console of `make run`: this terminal <-> the machine's COM1.

    console.py [--log FILE] -- COMMAND [ARG...]

Makes a pseudo-terminal pair, runs COMMAND with CONSOLE_TTY=<the pty's slave> in its
environment (scripts/run-bochs.sh then gives Bochs `com1: mode=term, dev=$CONSOLE_TTY`), and
relays: every byte typed on this terminal (in raw mode) goes to the pty, so to the hypervisor,
and everything the machine writes on COM1 comes back to this terminal and into FILE, written
anew (the run's serial.txt, which tests and people read, as when Bochs writes it itself).
Typed bytes are paced (PACE, below). Without a terminal on stdin it relays the same way, with
no mode changes.

Keys: the hypervisor's escapes all pass through (Ctrl-A c opens its monitor, Ctrl-A Ctrl-A
sends one Ctrl-A to the guest, Ctrl-A h lists them: docs/debugging.md). This program keeps one
for itself, Ctrl-A x: stop Bochs and quit. The monitor's filter has no 'x' escape, so nothing
is lost; a Ctrl-A is held back until the next key says whether it was Ctrl-A x.

Invariants: the terminal's modes are restored on every way out (COMMAND ends, Ctrl-A x, an
exception, SIGTERM, SIGHUP, SIGINT, the terminal hanging up); every process COMMAND started is stopped before this
program returns (by pid: COMMAND and its descendants, SIGTERM, then SIGKILL). Exit status:
COMMAND's when it ended by itself, 0 after Ctrl-A x, 128 + N after signal N (129 when the
terminal hung up).
"""
import os
import select
import signal
import subprocess
import sys
import termios
import time
import tty

CTRL_A = 0x01
QUIT_KEY = ord("x")
# Typed bytes go out one per PACE seconds. Bochs moves a byte from the pty into the emulated
# 16550's 16-byte receive FIFO (the hypervisor enables it) every character time, room or not:
# an overrun loses the byte. The hypervisor empties that FIFO at its console polls (every 2^17
# TSC ticks, about 1.3 ms in Bochs) and not while it writes a line itself (87 us a character),
# so a paste written at once loses bytes. 2 ms a byte is far above typing speed.
PACE = 0.002
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL when stopping Bochs


class Signalled(Exception):
    def __init__(self, signo):
        super().__init__(f"signal {signo}")
        self.signo = signo


def _on_signal(signo, _frame):
    raise Signalled(signo)


class TerminalGone(Exception):
    """This terminal hung up (its window closed): reads give EOF or EIO, writes fail. No
    SIGHUP need come: the kernel sends that to the session leader only (make, say)."""


def descendants(pid):
    """pid and every process below it, from /proc (parents before children)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def stop(proc):
    """Stops proc and everything it started: SIGTERM to all, SIGKILL to what is left after
    STOP_GRACE seconds. Waits for proc itself."""
    pids = descendants(proc.pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in reversed(pids):  # Bochs first, then the scripts around it
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        end = time.monotonic() + STOP_GRACE
        while pids and time.monotonic() < end:
            proc.poll()  # reaps COMMAND: a zombie counts as gone
            pids = [p for p in pids if _alive(p)]
            time.sleep(0.05)
        if not pids:
            break
    proc.wait()


class Console:
    def __init__(self, cmd, log_path):
        self.cmd = cmd
        self.log = open(log_path, "wb", buffering=0) if log_path else None
        self.log_path = log_path
        self.tty_in = 0 if os.isatty(0) else None  # stdin
        self.saved = None
        self.pending = bytearray()  # typed bytes not yet sent (PACE)
        self.escape = False         # a Ctrl-A was typed and is held back
        self.tail = b""             # the last output, for the summary line

    def output(self, data, log=True):
        """To the terminal, and (COM1's bytes) to the log."""
        if not data:
            return
        view = memoryview(data)
        while view:
            try:
                n = os.write(1, view)
            except OSError as e:
                raise TerminalGone() from e
            view = view[n:]
        if not log:
            return
        if self.log:
            self.log.write(data)
        self.tail = (self.tail + data)[-4096:]

    def typed(self, data):
        """Returns True when Ctrl-A x was typed; queues every other byte for the machine."""
        for b in data:
            if self.escape:
                self.escape = False
                if b == QUIT_KEY:
                    return True
                self.pending += bytes([CTRL_A, b])
            elif b == CTRL_A:
                self.escape = True
            else:
                self.pending.append(b)
        return False

    def summary(self):
        text = self.tail.decode("latin-1").replace("\r", "")
        lines = [l for l in text.split("\n") if "] summary end=" in l]
        return lines[-1].split("summary ", 1)[1].split(" exits")[0] if lines else None

    def run(self):
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, _on_signal)
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF changes: bytes pass as they are
        env = dict(os.environ, CONSOLE_TTY=os.ttyname(slave))
        proc = None
        status, why = 0, "quit"
        try:
            proc = subprocess.Popen(self.cmd, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            if self.tty_in is not None:
                self.saved = termios.tcgetattr(self.tty_in)
                tty.setraw(self.tty_in)
            status, why = self.relay(master, proc)
        except Signalled as e:
            status, why = 128 + e.signo, f"signal {e.signo}"
        except TerminalGone:
            status, why = 128 + signal.SIGHUP, "the terminal closed"
        finally:
            # A second signal must not cut this short: the terminal is restored first.
            signal.pthread_sigmask(signal.SIG_BLOCK,
                                   {signal.SIGTERM, signal.SIGHUP, signal.SIGINT})
            if proc is not None and proc.poll() is None:
                stop(proc)
            if self.saved is not None:
                try:
                    termios.tcsetattr(self.tty_in, termios.TCSAFLUSH, self.saved)
                except termios.error:  # the terminal is gone (SIGHUP)
                    pass
            os.close(master)
            os.close(slave)
        self.goodbye(why, proc)
        return status

    def goodbye(self, why, proc):
        """The last line, on the restored terminal: how the run ended."""
        where = f"; the serial log is {self.log_path}" if self.log_path else ""
        if why == "ended":
            s = self.summary()
            text = (f"Bochs ended (exit status {proc.returncode}): " +
                    (f"the run's summary says {s}" if s else
                     "no summary line (bochs.log in the run directory says why)"))
        elif why == "quit":
            text = "Ctrl-A x: Bochs stopped"
        else:
            text = f"{why}: Bochs stopped"
        newline = "\n" if self.tail and not self.tail.endswith(b"\n") else ""
        try:
            print(f"{newline}[console] {text}{where}", flush=True)
        except OSError:  # the terminal is gone (SIGHUP)
            pass

    def relay(self, master, proc):
        """Moves bytes until COMMAND ends (returns its status, "ended") or Ctrl-A x (0, "quit")."""
        fds = [master, proc.stdout.fileno(), 0]
        os.set_blocking(master, False)
        next_send = 0.0
        while True:
            wait = 0.2
            if self.pending:
                wait = max(0.0, next_send - time.monotonic())
            ready, _, _ = select.select(fds, [], [], wait)
            for fd in ready:
                if fd == master:
                    try:
                        self.output(os.read(master, 65536))
                    except BlockingIOError:
                        pass
                elif fd == proc.stdout.fileno():
                    data = os.read(fd, 65536)
                    if not data:
                        fds.remove(fd)
                    else:  # run-bochs.sh's own messages: lines, in a raw terminal
                        self.output_side(data)
                else:
                    try:
                        data = os.read(fd, 1024)
                    except OSError:  # EIO
                        data = b""
                    if data and self.typed(data):
                        return 0, "quit"
                    if not data and self.tty_in is not None:
                        raise TerminalGone()
                    if not data:  # stdin was a file or a pipe: keep showing the output
                        fds.remove(fd)
            if self.pending and time.monotonic() >= next_send:
                try:
                    os.write(master, self.pending[:1])
                    del self.pending[:1]
                except BlockingIOError:
                    pass
                next_send = time.monotonic() + PACE
            if proc.poll() is not None:
                self.drain(master, proc)
                return proc.returncode, "ended"

    def output_side(self, data):
        self.output(data.replace(b"\n", b"\r\n"), log=False)

    def drain(self, master, proc):
        """What COMMAND and the machine wrote last, after COMMAND ended."""
        os.set_blocking(proc.stdout.fileno(), False)
        try:
            self.output_side(os.read(proc.stdout.fileno(), 65536))
        except OSError:
            pass
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # BlockingIOError: nothing left
                return
            if not data:
                return
            self.output(data)


def main(argv):
    log = None
    while argv and argv[0] != "--":
        if argv[0] == "--log" and len(argv) > 1:
            log, argv = argv[1], argv[2:]
        else:
            break
    if not argv or argv[0] != "--" or len(argv) < 2:
        print("usage: console.py [--log FILE] -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    con = Console(argv[1:], log)
    if con.tty_in is not None:
        print("[console] two-way serial console: Ctrl-A x quits (stops Bochs), Ctrl-A c opens "
              "the hypervisor's monitor, Ctrl-A h lists its escapes", flush=True)
    return con.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
