"""The screen console (drivers/screen.c, drivers/fbcon.c): what a user without a serial port
sees. QEMU TCG boots the ISO with its standard VGA (BIOS: VBE; UEFI: OVMF's GOP), GRUB sets
the graphics mode the hypervisor's framebuffer tag asks for, and the hypervisor draws its
console there. QEMU has no VMX, so the run ends with the "no VMX" FATAL line and the summary
line: exactly what a user must be able to read on the screen.

The test reads the screen as text: a QMP `screendump` (PPM) is cut into 8x16 cells and each
cell matched against the font the build generated (build/gen/fbfont.h, from GRUB's
ascii.pf2 by scripts/pf2font.py); every row must be a line of the serial log, in order, ending
with the summary line. The EGA text path (GRUB's gfxpayload=text) is read from the text
buffer's memory (QMP pmemsave of 0xb8000); a 16-bpp mode is refused; screen=off.

QEMU runs here without isa-debug-exit and with -no-shutdown: the hypervisor's power-off ends
in ACPI S5, which leaves the machine paused with its screen intact for the dump.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BUILD, OVMF, QEMU, QEMU_BIOS_TIMEOUT, QEMU_UEFI_TIMEOUT, RunResult, \
    assert_ok, _read

FONT_H = BUILD / "gen" / "fbfont.h"


# ---- reading the screen ----

def load_font(path: Path):
    """(cell width, cell height, {glyph rows as bytes: character}) from the generated header."""
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make all` before the system tests", pytrace=False)
    text = path.read_text()
    m = re.search(r"fbfont_builtin = \{ (\d+), (\d+), (0x[0-9a-f]+|\d+), (\d+),", text)
    w, h, first, count = (int(g, 0) for g in m.groups())
    body = text[text.index("fbfont_glyphs["):]
    body = re.sub(r"/\*.*?\*/", "", body[body.index("{") + 1:body.index("};")], flags=re.S)
    vals = [int(v, 16) for v in re.findall(r"0x([0-9a-f]{2})", body)]
    assert len(vals) == count * h, f"{path}: {len(vals)} bytes for {count} glyphs of {h} rows"
    glyphs = {bytes(vals[i * h:(i + 1) * h]): chr(first + i) for i in range(count)}
    assert len(glyphs) == count, "two glyphs of the font look the same: cells are ambiguous"
    return w, h, glyphs


def read_ppm(path: Path):
    data = path.read_bytes()
    fields, pos = [], 0
    token = re.compile(rb"(?:\s|#[^\n]*\n)*(\S+)")
    while len(fields) < 4:
        m = token.match(data, pos)
        fields.append(m.group(1))
        pos = m.end()
    assert fields[0] == b"P6" and fields[3] == b"255", f"{path}: not an 8-bit P6 PPM"
    w, h = int(fields[1]), int(fields[2])
    return w, h, data[pos + 1:pos + 1 + w * h * 3]


def screen_rows(ppm: Path, font):
    """The screen's text rows, trailing blanks removed; a cell no glyph matches reads as
    U+FFFD. A pixel is lit when its green is above 0x40 (the console draws grey on black)."""
    fw, fh, glyphs = font
    w, h, px = read_ppm(ppm)
    lit = bytes(1 if v > 0x40 else 0 for v in range(256))
    lines = [px[y * w * 3 + 1:(y + 1) * w * 3:3].translate(lit) for y in range(h)]
    rows = []
    for r in range(h // fh):
        cells = []
        for c in range(w // fw):
            key = bytes(_pack(lines[r * fh + y][c * fw:(c + 1) * fw]) for y in range(fh))
            cells.append(glyphs.get(key, "\ufffd"))
        rows.append("".join(cells).rstrip())
    return w // fw, rows


def _pack(bits: bytes) -> int:
    v = 0
    for b in bits:
        v = v << 1 | b
    return v


def ega_rows(dump: Path, cols=80, rows=25):
    data = dump.read_bytes()
    return [bytes(data[(r * cols + c) * 2] for c in range(cols)).decode("latin-1").rstrip()
            for r in range(rows)]


def wrapped(lines, cols):
    """The rows the console makes of lines on a screen cols characters wide."""
    out = []
    for l in lines:
        l = l.rstrip()
        out += [l[i:i + cols] for i in range(0, max(len(l), 1), cols)]
    return out


# ---- QEMU with a QMP socket ----

class Qmp:
    def __init__(self, path: Path, seconds: float):
        end = time.monotonic() + seconds
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(str(path))
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)
        self.sock.settimeout(10)
        self.f = self.sock.makefile("rwb")
        json.loads(self.f.readline())  # the greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg).encode() + b"\n")
        self.f.flush()
        while True:  # events may come first
            reply = json.loads(self.f.readline())
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise RuntimeError(f"QMP {name}: {reply['error']}")

    def close(self):
        self.sock.close()


def boot_and_capture(hv, iso: Path, uefi: bool, capture, label: str):
    """Boots iso in QEMU (std VGA, no display window), waits for the summary line on serial and
    for the machine to stop (ACPI S5 with -no-shutdown), then calls capture(qmp, dir). Returns
    the RunResult (recorded: its serial log goes with a failing test's report)."""
    if shutil.which(QEMU) is None:
        pytest.fail(f"{QEMU} is not installed (make deps)", pytrace=False)
    if uefi and not OVMF.is_file():
        pytest.fail(f"{OVMF} is missing (package ovmf; make deps)", pytrace=False)
    limit = QEMU_UEFI_TIMEOUT if uefi else QEMU_BIOS_TIMEOUT
    d = hv.dir / label
    d.mkdir(parents=True, exist_ok=True)
    serial, sock = d / "serial.txt", d / "qmp.sock"
    serial.unlink(missing_ok=True)
    sock.unlink(missing_ok=True)
    cmd = [QEMU, "-M", "pc", "-m", "256", "-cdrom", str(iso), "-display", "none", "-vga", "std",
           "-no-reboot", "-no-shutdown", "-monitor", "none", "-serial", f"file:{serial}",
           "-qmp", f"unix:{sock},server=on,wait=off"]
    if uefi:
        cmd += ["-bios", str(OVMF)]
    t0 = time.monotonic()
    out = open(d / "qemu.out", "wb")
    p = subprocess.Popen(cmd, cwd=d, stdin=subprocess.DEVNULL, stdout=out,
                         stderr=subprocess.STDOUT, start_new_session=True)
    timed_out, error = True, ""
    try:
        qmp = Qmp(sock, 30)
        while time.monotonic() - t0 < limit and p.poll() is None:
            if "summary " in _read(serial) and qmp.cmd("query-status")["status"] == "shutdown":
                capture(qmp, d)
                timed_out = False
                qmp.cmd("quit")
                break
            time.sleep(0.3)
        qmp.close()
    except (OSError, RuntimeError, ValueError) as e:
        error = f"QMP: {e}"
    finally:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)
            p.wait()
        out.close()
    r = RunResult(label=label, dir=d, command=cmd, serial=_read(serial), exit_status=p.returncode,
                  timed_out=timed_out, seconds=time.monotonic() - t0, limit=limit,
                  extra_name="qemu stdout/stderr", extra=_read(d / "qemu.out") + error)
    hv._record(r, fail_on_timeout=True)
    return r


def dump_screen(qmp, d):
    qmp.cmd("screendump", filename=str(d / "screen.ppm"))


def expect_console_rows(r, rows, cols):
    """rows (the screen's text) are the serial console's last lines, as the console wraps them:
    from the hypervisor's first line when the log fits, the tail of it when it scrolled."""
    shown = list(rows)
    while shown and not shown[-1]:
        shown.pop()
    want = wrapped(r.output_lines, cols)
    assert_ok(shown, r, "the screen shows no text")
    bad = [s for s in shown if "\ufffd" in s]
    assert_ok(not bad, r, f"cells that match no glyph of the font: {bad[:3]}")
    assert_ok(shown == want[-len(shown):], r,
              "the screen's rows are not the serial console's last lines:\n"
              + "\n".join(f"  screen: {s!r}" for s in shown[-8:]) + "\n"
              + "\n".join(f"  serial: {s!r}" for s in want[-8:]))
    if len(want) <= len(rows):
        assert_ok(shown == want, r, "the log fits the screen but does not start at its top")
    for pattern, what in [(r"^\[hv E\] FATAL: VMX: not supported", "the FATAL line"),
                          (r"^\[hv E\] summary end=boot_failure code=127 exits=0$", "the summary line"),
                          (r"^\[hv I\] page allocator: \d+ pages", "a boot-log line")]:
        assert_ok(any(re.search(pattern, s) for s in shown), r, f"{what} is not on the screen")


@pytest.mark.parametrize("firmware", ["bios", "uefi"])
def test_screen_shows_the_console(hv, firmware):
    font = load_font(FONT_H)
    r = boot_and_capture(hv, hv.iso("hello"), firmware == "uefi", dump_screen, f"qemu-{firmware}")
    assert_ok(r.find(r"^\[hv I\] screen: \d+x\d+ 32 bpp RGB at 0x[0-9a-f]+, \d+x\d+ characters$")
              >= 0, r, "no 'screen: ... 32 bpp RGB' line")
    cols, rows = screen_rows(r.dir / "screen.ppm", font)
    expect_console_rows(r, rows, cols)


def test_screen_off(hv):
    """screen=off: the serial console says so, and nothing of it reaches the screen."""
    font = load_font(FONT_H)
    r = boot_and_capture(hv, hv.iso("hello", hv_cmdline="screen=off"), False, dump_screen,
                         "qemu-bios-off")
    assert_ok(r.find(r"^\[hv I\] screen: off \(screen=off\)$") >= 0, r, "no 'screen: off' line")
    assert_ok(r.find(r"summary end=boot_failure") >= 0, r, "no summary line")
    _, rows = screen_rows(r.dir / "screen.ppm", font)
    assert_ok(not any("[hv" in s for s in rows), r, f"hypervisor text on the screen: {rows[:3]}")


def test_screen_ega_text(hv, monkeypatch):
    """GRUB's gfxpayload=text (the mode GRUB hands over when no graphics mode can be set under
    BIOS): the console writes EGA text cells at 0xb8000, 80x25, read back from memory."""
    monkeypatch.setenv("GFXPAYLOAD", "text")
    iso = hv.iso("hello")
    r = boot_and_capture(hv, iso, False,
                         lambda q, d: q.cmd("pmemsave", val=0xb8000, size=80 * 25 * 2,
                                            filename=str(d / "text.bin")),
                         "qemu-bios-ega")
    assert_ok(r.find(r"^\[hv I\] screen: 80x25 16 bpp EGA text at 0xb8000, 80x25 characters$")
              >= 0, r, "no 'screen: 80x25 ... EGA text' line")
    expect_console_rows(r, ega_rows(r.dir / "text.bin"), 80)


def test_screen_refuses_16_bpp(hv, monkeypatch):
    """A mode the console does not draw (16 bpp direct colour, through GRUB's gfxpayload): one
    clear warning on serial, the screen left alone (no garbage), and the boot goes on."""
    monkeypatch.setenv("GFXPAYLOAD", "640x480x16")
    font = load_font(FONT_H)
    r = boot_and_capture(hv, hv.iso("hello"), False, dump_screen, "qemu-bios-16bpp")
    assert_ok(r.find(r"^\[hv W\] screen: not used: 640x480 RGB at 0x[0-9a-f]+: 16 bpp direct "
                     r"RGB: only 32 bpp is drawn$") >= 0, r, "no 'screen: not used: ... 16 bpp' line")
    assert_ok(r.find(r"^\[hv E\] FATAL: VMX: not supported") >= 0, r, "the boot did not go on")
    _, rows = screen_rows(r.dir / "screen.ppm", font)
    assert_ok(not any("[hv" in s for s in rows), r, f"hypervisor text on the screen: {rows[:3]}")
