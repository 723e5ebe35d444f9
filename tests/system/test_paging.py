"""Guest paging modes under the shadow MMU, against bare Bochs as the reference for CPU semantics.

Each guest (guests/paging32.c: 32-bit paging with PSE; guests/pae.c: PAE with NXE;
guests/long64.c: IA-32e mode with 4-level paging, 2 MiB and 1 GiB pages) builds its own page
tables, turns paging on and prints what it observes: one line per access case (value read, or
#PF with error code and CR2), accessed/dirty bits read back from its entries, where writes
landed. It prints no verdicts: the reference is the same guest booted with GRUB on bare Bochs
(same CPU model, no hypervisor), and every line must come out the same under the hypervisor.

Lines starting with "HV " are printed only under the hypervisor (the guest detects it with
CPUID): audit results after each phase (must say bad=0), shadow-page statistics around the CR3
switching loop (sp_reused must grow by at least the number of switches), the test device's ID
read through paging. Lines starting with "BARE " only on bare Bochs (that read's value there).
"""
import difflib
import re
import subprocess
from pathlib import Path
from typing import Dict, List

import pytest

from conftest import (MKISO_TIMEOUT, RunResult, assert_clean, assert_ok, assert_summary)

PAGING_GUESTS = ["paging32", "pae", "long64"]
HV_TIMEOUT = 90  # a passing run takes about 5 s
BARE_TIMEOUT = 60
SLOTDEV_ID = 0x544F4C53

# Bare runs are the reference for both tests of a guest: made once per session.
_BARE: Dict[str, RunResult] = {}


def bare_iso(hv, guest: str) -> Path:
    """A GRUB ISO that boots build/guests/GUEST.elf directly (`multiboot /boot/guest.elf`): the
    guest on bare Bochs, no hypervisor."""
    elf = Path(hv.guest_path(guest))
    root = hv.dir / "bare-iso-root"
    (root / "boot" / "grub").mkdir(parents=True, exist_ok=True)
    (root / "boot" / "guest.elf").write_bytes(elf.read_bytes())
    (root / "boot" / "grub" / "grub.cfg").write_text(
        "set timeout=0\nset default=0\n"
        'menuentry "guest" {\n\tmultiboot /boot/guest.elf\n\tboot\n}\n')
    out = hv.dir / "bare.iso"
    try:
        p = subprocess.run(["grub-mkrescue", "-o", str(out), str(root)], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=MKISO_TIMEOUT)
    except FileNotFoundError:
        pytest.fail("grub-mkrescue is not installed (make deps)", pytrace=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"grub-mkrescue timed out after {MKISO_TIMEOUT}s", pytrace=False)
    if p.returncode != 0 or not out.is_file():
        pytest.fail(f"grub-mkrescue failed ({p.returncode}):\n{p.stdout}{p.stderr}", pytrace=False)
    return out


def bare_run(hv, guest: str) -> RunResult:
    r = _BARE.get(guest)
    if r is None:
        r = hv.bochs(bare_iso(hv, guest), timeout=BARE_TIMEOUT, subdir="bare")
        r.label = "bare-bochs"
        _BARE[guest] = r
    elif r not in hv.runs:
        hv.runs.append(r)  # its log goes with this test's report too
    return r


def bare_guest_lines(r: RunResult, guest: str) -> List[str]:
    """The guest's own output on bare Bochs: from its "TEST <guest>" line on (whatever firmware
    or GRUB might print before is dropped)."""
    for i, l in enumerate(r.lines):
        if l == f"TEST {guest}":
            return r.lines[i:]
    return []


def comparable(lines: List[str]) -> List[str]:
    return [l for l in lines if not (l.startswith("HV ") or l.startswith("BARE "))]


@pytest.mark.parametrize("guest", PAGING_GUESTS)
def test_paging_guest_on_bare_bochs(hv, guest):
    """The reference run itself: the guest reaches its end on bare Bochs without an unexpected
    exception, and prints no hypervisor lines there."""
    r = bare_run(hv, guest)
    lines = bare_guest_lines(r, guest)
    assert_ok(lines, r, f"no 'TEST {guest}' line on bare Bochs")
    bad = [l for l in lines if l.startswith(("UNEXPECTED", "ERROR", "HV "))]
    assert_ok(not bad, r, f"bare run: {bad}")
    assert_ok(lines[-1] == "RESULT done", r, f"bare run did not end with 'RESULT done': {lines[-1:]}")
    cases = [l for l in lines if l.startswith("case ")]
    assert_ok(len(cases) >= 40, r, f"only {len(cases)} case lines")


@pytest.mark.parametrize("guest", PAGING_GUESTS)
def test_paging_guest_under_hypervisor_matches_bare(hv, guest):
    bare = bare_run(hv, guest)
    want_all = bare_guest_lines(bare, guest)
    assert_ok(want_all and want_all[-1] == "RESULT done", bare,
              "the bare-Bochs reference run did not complete (see test_paging_guest_on_bare_bochs)")
    # A run that times out is still compared: the diff shows where it stopped.
    r = hv.bochs(hv.iso(guest), timeout=HV_TIMEOUT, fail_on_timeout=False)
    got_all = r.guest_lines
    problems = []

    if r.timed_out:
        problems.append(f"the hypervisor run timed out after {HV_TIMEOUT}s; last guest line: "
                        f"{got_all[-1] if got_all else '(none)'}")
    if "RESULT done" not in got_all:
        problems.append("the hypervisor run did not reach 'RESULT done'")
    want, got = comparable(want_all), comparable(got_all)
    if want != got:
        diff = "\n".join(difflib.unified_diff(want, got, "bare-bochs", "hypervisor", lineterm="",
                                              n=1))
        nbad = sum(1 for a, b in zip(want, got) if a != b) + abs(len(want) - len(got))
        problems.append(f"guest output differs from bare Bochs (~{nbad} lines; "
                        f"{len(want)} lines bare, {len(got)} under the hypervisor):\n{diff}")

    hvl = [l for l in got_all if l.startswith("HV ")]
    if "HV hypervisor detected" not in hvl:
        problems.append("the guest did not detect the hypervisor (CPUID 0x40000000 'Slotvisor')")
    audits = [l for l in hvl if l.startswith("HV audit ")]
    bad_audits = [l for l in audits if not re.search(r" bad=0$", l)]
    if not audits:
        problems.append("no 'HV audit' lines")
    if bad_audits:
        problems.append(f"audits with bad sptes: {bad_audits}")
    reuse = [re.match(r"HV sp_reused grew by (\d+) switches=(\d+)$", l) for l in hvl]
    reuse = [m for m in reuse if m]
    if not reuse:
        problems.append("no 'HV sp_reused grew by N switches=M' line")
    for m in reuse:
        if int(m.group(1)) < int(m.group(2)):
            problems.append(f"shadow pages rebuilt on CR3 switches: {m.group(0)} "
                            f"(want sp_reused growth >= switches)")
    if guest == "long64":
        for name in ("mmio", "mmio64"):
            want_line = f"HV {name} id=0x{SLOTDEV_ID:08x}"
            if want_line not in hvl:
                have = [l for l in hvl if l.startswith(f"HV {name} ")]
                problems.append(f"want '{want_line}' (test device ID read through paging), "
                                f"got {have}")

    for check in (lambda: assert_clean(r), lambda: assert_summary(r, "debug_exit", code=0)):
        try:
            check()
        except AssertionError as e:
            problems.append(str(e))

    assert_ok(not problems, r, f"{guest}: " + "\n".join(problems))
