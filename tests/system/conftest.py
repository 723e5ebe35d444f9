"""System-test harness: builds GRUB ISOs of the hypervisor with a guest module and boots them in
Bochs (VMX emulated: guests run) or QEMU TCG (no VMX: boot and error paths only).

Run after `make all`, with Debian's interpreter:  /usr/bin/python3 -m pytest -q tests/system

Every test gets the `hv` fixture (a Harness) whose files live in build/systest/<test-name>/.
Each run's serial log (and for Bochs the tail of bochs.log) is attached to the report of a
failing test, whatever assertion failed. A run that exceeds its time limit fails the test at
once, with its log; nothing waits forever.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Union

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / os.environ.get("BUILD", "build")
SYSTEST = BUILD / "systest"
HV_ELF = BUILD / "hv.elf"
GUESTS = BUILD / "guests"
MKISO = ROOT / "scripts" / "mkiso.sh"
RUN_BOCHS = ROOT / "scripts" / "run-bochs.sh"
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
OVMF = Path("/usr/share/ovmf/OVMF.fd")

BOCHS_TIMEOUT = 60
QEMU_BIOS_TIMEOUT = 60
QEMU_UEFI_TIMEOUT = 180
MKISO_TIMEOUT = 120
# The hypervisor's exit code for failures before the guest runs (isa-debug-exit: 0x7f -> 255).
BOOT_FAILURE_CODE = 127

HV_LINE = re.compile(r"^\[hv ([EWID])\] ")
GUEST_PREFIX = "[guest] "
SUMMARY = re.compile(r"^\[hv ([EWID])\] summary (.*)$")

_RUNS_KEY = pytest.StashKey[list]()


@dataclass
class RunResult:
    """One boot of one ISO: what came out on COM1 and how the emulator ended."""

    label: str                # e.g. "bochs", "qemu-bios", "qemu-uefi"
    dir: Path
    command: List[str]
    serial: str               # COM1, CR stripped
    exit_status: Optional[int]  # emulator (QEMU) or run-bochs.sh status; None if killed
    timed_out: bool
    seconds: float
    limit: float
    extra_name: str = ""      # e.g. "bochs.log (last lines)"
    extra: str = ""
    lines: List[str] = field(init=False)

    def __post_init__(self):
        self.lines = [l for l in self.serial.split("\n") if l.strip()]

    @property
    def output_lines(self) -> List[str]:
        """Lines from the hypervisor's first line on. Before it, firmware and GRUB may write to
        COM1 (OVMF and GRUB for EFI do; SeaBIOS, Bochs's BIOS and GRUB for PC do not)."""
        for i, l in enumerate(self.lines):
            if HV_LINE.match(l):
                return self.lines[i:]
        return []

    @property
    def hv_lines(self) -> List[str]:
        return [l for l in self.lines if HV_LINE.match(l)]

    @property
    def guest_lines(self) -> List[str]:
        return [l[len(GUEST_PREFIX):] for l in self.lines if l.startswith(GUEST_PREFIX)]

    @property
    def summary_lines(self) -> List[str]:
        return [l for l in self.lines if SUMMARY.match(l)]

    @property
    def summary_level(self) -> Optional[str]:
        s = self.summary_lines
        return SUMMARY.match(s[-1]).group(1) if s else None

    @property
    def summary(self) -> Optional[Dict[str, str]]:
        """key=value pairs of the (last) summary line, values as strings; None if there is none."""
        s = self.summary_lines
        if not s:
            return None
        d = {}
        for tok in SUMMARY.match(s[-1]).group(2).split():
            k, _, v = tok.partition("=")
            d[k] = v
        return d

    def sint(self, key: str, default: Optional[int] = 0) -> Optional[int]:
        """A summary value as an integer (decimal or 0x...); default when absent."""
        s = self.summary or {}
        if key not in s:
            return default
        return int(s[key], 0)

    def find(self, pattern: str, lines: Optional[List[str]] = None) -> int:
        """Index in `lines` (default: all lines) of the first line matching the regex, or -1."""
        rx = re.compile(pattern)
        for i, l in enumerate(self.lines if lines is None else lines):
            if rx.search(l):
                return i
        return -1

    def log(self) -> str:
        head = (f"{self.label}: {' '.join(map(str, self.command))}\n"
                f"  files in {self.dir}\n"
                f"  exit status {self.exit_status}, {self.seconds:.1f}s of {self.limit}s"
                f"{' -- TIMED OUT' if self.timed_out else ''}\n"
                f"  summary: {self.summary_lines[-1] if self.summary_lines else '(none)'}\n")
        body = "----- serial (COM1) -----\n" + (self.serial.rstrip("\n") or "(empty)") + "\n"
        if self.extra:
            body += f"----- {self.extra_name} -----\n{self.extra.rstrip()}\n"
        return head + body


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", "replace").replace("\r", "")
    except FileNotFoundError:
        return ""


def _tail(path: Path, n: int) -> str:
    text = _read(path)
    return "\n".join(text.splitlines()[-n:])


def _run_group(cmd, timeout, cwd=None, stdout=None):
    """Runs cmd in its own process group; kills the whole group on timeout.
    Returns (exit status or None, timed_out, seconds)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout,
                         stderr=subprocess.STDOUT, start_new_session=True)
    try:
        rc = p.wait(timeout=timeout)
        return rc, False, time.monotonic() - t0
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
        return None, True, time.monotonic() - t0


class Harness:
    """Per-test helper: ISOs and runs under build/systest/<test-name>/."""

    def __init__(self, request):
        self.node = request.node
        self.dir = SYSTEST / _slug(request.node.name)
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        self.runs: List[RunResult] = []
        request.node.stash[_RUNS_KEY] = self.runs

    # ---- images ----
    def guest_path(self, guest: Union[str, Path, None]) -> str:
        if guest is None:
            return "none"
        if isinstance(guest, Path):
            return str(guest)
        p = GUESTS / f"{guest}.elf"
        if not p.is_file():
            pytest.fail(f"{p} is missing: run `make all` before the system tests", pytrace=False)
        return str(p)

    def iso(self, guest: Union[str, Path, None], hv_cmdline: str = "", guest_cmdline: str = "",
            name: str = "hv.iso", hv_elf: Path = None, initrd: Optional[Path] = None,
            grub_cmds: str = "") -> Path:
        """An ISO of build/hv.elf with a guest module: a guest name (build/guests/NAME.elf),
        None for no module, or a Path to any file (used as the module as it is); initrd, when
        given, is a second module (a Linux guest's initrd); grub_cmds: GRUB commands run
        before `multiboot2` (scripts/mkiso.sh's MKISO_GRUB_CMDS)."""
        hv_elf = hv_elf or HV_ELF
        if not hv_elf.is_file():
            pytest.fail(f"{hv_elf} is missing: run `make all` before the system tests",
                        pytrace=False)
        out = self.dir / name
        cmd = [str(MKISO), str(out), str(hv_elf), self.guest_path(guest), hv_cmdline,
               guest_cmdline]
        if initrd is not None:
            cmd.append(str(initrd))
        try:
            p = subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=MKISO_TIMEOUT,
                               env={**os.environ, "MKISO_GRUB_CMDS": grub_cmds})
        except subprocess.TimeoutExpired:
            pytest.fail(f"mkiso timed out after {MKISO_TIMEOUT}s: {cmd}", pytrace=False)
        if p.returncode != 0 or not out.is_file():
            pytest.fail(f"mkiso failed ({p.returncode}): {cmd}\n{p.stdout}{p.stderr}",
                        pytrace=False)
        return out

    def _record(self, r: RunResult, fail_on_timeout: bool) -> RunResult:
        self.runs.append(r)
        if r.timed_out and fail_on_timeout:
            pytest.fail(f"{r.label} run timed out after {r.limit}s (serial log below)",
                        pytrace=False)
        return r

    # ---- emulators ----
    def bochs(self, iso: Path, timeout: float = BOCHS_TIMEOUT, subdir: str = "bochs",
              fail_on_timeout: bool = True, megs: Optional[int] = None) -> RunResult:
        """Boots iso in Bochs with VMX (scripts/run-bochs.sh); megs: machine memory in MiB
        (run-bochs.sh's default when None)."""
        if shutil.which("bochs") is None:
            pytest.fail("bochs is not installed (make deps)", pytrace=False)
        d = self.dir / subdir
        d.mkdir(parents=True, exist_ok=True)
        cmd = [str(RUN_BOCHS), "--iso", str(iso), "--dir", str(d), "--timeout", str(timeout)]
        if megs is not None:
            cmd += ["--megs", str(megs)]
        with open(d / "run-bochs.out", "wb") as out:
            rc, killed, secs = _run_group(cmd, timeout + 30, cwd=ROOT, stdout=out)
        timed_out = killed or rc == 124
        r = RunResult(label="bochs", dir=d, command=cmd, serial=_read(d / "serial.txt"),
                      exit_status=rc, timed_out=timed_out, seconds=secs, limit=timeout,
                      extra_name="bochs.log (last 25 lines)", extra=_tail(d / "bochs.log", 25))
        return self._record(r, fail_on_timeout)

    def qemu(self, iso: Path, uefi: bool = False, timeout: Optional[float] = None,
             subdir: Optional[str] = None, extra_args: Optional[List[str]] = None,
             fail_on_timeout: bool = True) -> RunResult:
        """Boots iso in QEMU TCG (BIOS, or UEFI through OVMF) with isa-debug-exit at 0xf4."""
        if shutil.which(QEMU) is None:
            pytest.fail(f"{QEMU} is not installed (make deps)", pytrace=False)
        if uefi and not OVMF.is_file():
            pytest.fail(f"{OVMF} is missing (package ovmf; make deps)", pytrace=False)
        label = "qemu-uefi" if uefi else "qemu-bios"
        timeout = timeout or (QEMU_UEFI_TIMEOUT if uefi else QEMU_BIOS_TIMEOUT)
        d = self.dir / (subdir or label)
        d.mkdir(parents=True, exist_ok=True)
        serial = d / "serial.txt"
        serial.unlink(missing_ok=True)
        cmd = [QEMU, "-M", "pc", "-m", "256", "-cdrom", str(iso), "-display", "none",
               "-no-reboot", "-monitor", "none", "-serial", f"file:{serial}",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
        if uefi:
            cmd += ["-bios", str(OVMF)]
        cmd += extra_args or []
        with open(d / "qemu.out", "wb") as out:
            rc, killed, secs = _run_group(cmd, timeout, cwd=d, stdout=out)
        r = RunResult(label=label, dir=d, command=cmd, serial=_read(serial), exit_status=rc,
                      timed_out=killed, seconds=secs, limit=timeout,
                      extra_name="qemu stdout/stderr", extra=_read(d / "qemu.out"))
        return self._record(r, fail_on_timeout)

    def boot_bochs(self, guest, hv_cmdline: str = "", guest_cmdline: str = "",
                   hv_elf: Path = None) -> RunResult:
        return self.bochs(self.iso(guest, hv_cmdline, guest_cmdline, hv_elf=hv_elf))


class Console:
    """A machine's COM1 over TCP (Bochs's socket-server mode): everything received is kept (and
    written to log_path as it comes); the test types on it like a user at a terminal."""

    def __init__(self, port, log_path):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.settimeout(0.2)
        self.buf = ""
        self.log_path = log_path

    def pump(self):
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return
        except OSError:  # Bochs ended and closed the socket
            time.sleep(0.2)
            return
        if data:
            self.buf += data.decode("latin-1").replace("\r", "")
            self.log_path.write_text(self.buf)
        else:
            time.sleep(0.2)

    def wait(self, text, start=0, seconds=90):
        """Waits until text appears at or after offset start; returns the offset after it, or
        -1 when seconds pass."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            i = self.buf.find(text, start)
            if i >= 0:
                return i + len(text)
            self.pump()
        return -1

    def wait_line(self, text, start=0, seconds=90):
        """As wait, then up to the end of that line (a line can arrive in pieces)."""
        i = self.wait(text, start, seconds)
        if i >= 0:
            self.wait("\n", i, 30)
        return i

    def send(self, s):
        for ch in s.encode():  # one byte at a time: the emulated UART has a small FIFO
            self.sock.sendall(bytes([ch]))
            time.sleep(0.02)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    """True when something listens on TCP port (read from /proc/net/tcp, without connecting:
    Bochs's socket-server accepts a single client)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for l in lines:
            f = l.split()
            if len(f) > 3 and f[3] == "0A" and int(f[1].split(":")[1], 16) == port:
                return True
    return False


def _wait_listening(port, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if _listening(port):
            return True
        time.sleep(0.2)
    return False


class BochsSession:
    """A Bochs run whose COM1 is a TCP socket the test reads and types on (Console). Use as a
    context manager: on leaving, Bochs gets until its time limit to end by itself, is killed
    after that, and the run is recorded (its serial log attached to a failing test's report).
    The RunResult is in .result after the with block."""

    def __init__(self, hv: "Harness", iso: Path, timeout: float, megs: Optional[int] = None,
                 subdir: str = "bochs"):
        self.hv, self.iso, self.timeout, self.megs = hv, iso, timeout, megs
        self.dir = hv.dir / subdir
        self.con: Optional[Console] = None
        self.result: Optional[RunResult] = None

    def __enter__(self) -> "BochsSession":
        if shutil.which("bochs") is None:
            pytest.fail("bochs is not installed (make deps)", pytrace=False)
        self.dir.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        self.cmd = [str(RUN_BOCHS), "--iso", str(self.iso), "--dir", str(self.dir), "--timeout",
                    str(self.timeout), "--com1", f"mode=socket-server, dev=localhost:{port}"]
        if self.megs is not None:
            self.cmd += ["--megs", str(self.megs)]
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        if _wait_listening(port, 60):
            self.con = Console(port, self.dir / "serial.txt")
        return self

    def wait_end(self, seconds: float) -> None:
        """Reads the console until Bochs ends (or seconds pass)."""
        end = time.monotonic() + seconds
        while self.proc.poll() is None and time.monotonic() < end:
            if self.con:
                self.con.pump()
            else:
                time.sleep(0.2)
        if self.con:
            self.con.pump()

    def __exit__(self, *exc) -> None:
        left = self.timeout + 30 - (time.monotonic() - self.t0)
        if exc[0] is None:
            self.wait_end(max(left, 1))
        rc = self.proc.poll()
        if rc is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        if self.con:
            self.con.sock.close()
        self.result = RunResult(
            label="bochs+console", dir=self.dir, command=self.cmd,
            serial=self.con.buf if self.con else "", exit_status=rc,
            timed_out=rc is None or rc == 124, seconds=time.monotonic() - self.t0,
            limit=self.timeout, extra_name="bochs.log (last 25 lines)",
            extra=_tail(self.dir / "bochs.log", 25))
        self.hv._record(self.result, fail_on_timeout=False)
        if self.con is None and exc[0] is None:
            pytest.fail("Bochs never opened the COM1 socket", pytrace=False)


@pytest.fixture
def hv(request) -> Harness:
    return Harness(request)


def cached_run(hv, runs: Dict, key, make) -> "RunResult":
    """A run made once per session and shared by the tests of one file (runs is that file's
    dict): make() the first time, the stored run afterwards, its log attached to this test's
    report too."""
    r = runs.get(key)
    if r is None:
        r = make()
        runs[key] = r
    elif r not in hv.runs:
        hv.runs.append(r)
    return r


def assert_ok(cond, result: RunResult, msg: str):
    """assert that names the run; its serial log is attached to the report by the hook below
    (as for every run of a failing test)."""
    if not cond:
        pytest.fail(f"{msg} [{result.label} run in {result.dir}; serial log below]", pytrace=False)


def assert_clean(r: RunResult):
    """Contract checks every run must meet: from the hypervisor's first line on, each line is a
    hypervisor or guest line; no PANIC; exactly one summary line."""
    assert r.output_lines, "the hypervisor printed nothing"
    stray = [l for l in r.output_lines if not (HV_LINE.match(l) or l.startswith(GUEST_PREFIX))]
    assert not stray, f"lines that are neither '[hv L] ' nor '[guest] ': {stray[:5]}"
    panics = [l for l in r.lines if "PANIC" in l]
    assert not panics, f"PANIC on the console: {panics}"
    assert len(r.summary_lines) == 1, \
        f"want exactly one summary line, got {len(r.summary_lines)}: {r.summary_lines}"


def assert_summary(r: RunResult, end: str, **want):
    """The summary line exists and has end=END and each key=value given (values compared as
    integers when they are ints). Level E for boot_failure/entry_failure/hv_panic, I otherwise."""
    s = r.summary
    assert s is not None, "no summary line"
    assert s.get("end") == end, f"summary end={s.get('end')}, want end={end}: {r.summary_lines[-1]}"
    for k, v in want.items():
        k = k.replace("__", ".")
        if isinstance(v, int):
            assert r.sint(k, None) == v, f"summary {k}={s.get(k)}, want {v}: {r.summary_lines[-1]}"
        else:
            assert s.get(k) == v, f"summary {k}={s.get(k)}, want {v}: {r.summary_lines[-1]}"
    if end in ("debug_exit", "triple_fault", "halted", "guest_error"):
        assert r.summary_level == "I", f"summary at level {r.summary_level}, want I"
    if end == "boot_failure":
        assert r.summary_level == "E", f"summary at level {r.summary_level}, want E"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    for r in item.stash.get(_RUNS_KEY, []):
        title = f"serial log: {r.label} ({r.dir})"
        if hasattr(rep.longrepr, "addsection"):
            rep.longrepr.addsection(title, r.log())
        else:
            rep.sections.append((title, r.log()))
