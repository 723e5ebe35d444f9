"""Differential tests (issue: guests written for real PCs run unchanged): each guest kernel runs
directly under QEMU TCG (`qemu-system-x86_64 -kernel GUEST`, the reference: bare emulated
hardware) and under the hypervisor in Bochs. Their serial output must match line for line
(lines starting with "TIMING " are compared by shape: digits replaced) and their exit statuses
must match."""
import re

import pytest

from conftest import GUESTS, QEMU, RunResult, _read, _run_group, assert_clean, assert_ok

# Guests of the differential suite (guests/NAME.c). Each prints only what bare hardware and the
# hypervisor must agree on, and ends with guest_exit().
DIFF_GUESTS = ["platform", "diff_exceptions", "diff_stringio", "diff_mmio", "diff_cpuid_msr",
               "diff_sse"]

QEMU_TIMEOUT = 90


def _shape(line: str) -> str:
    return re.sub(r"[0-9a-fA-F]", "N", line) if line.startswith("TIMING ") else line


def _qemu_kernel(hv, guest: str) -> RunResult:
    d = hv.dir / "qemu-kernel"
    d.mkdir(parents=True, exist_ok=True)
    serial = d / "serial.txt"
    cmd = [QEMU, "-kernel", str(GUESTS / f"{guest}.elf"), "-m", "64", "-display", "none",
           "-no-reboot", "-monitor", "none", "-serial", f"file:{serial}",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    with open(d / "qemu.out", "wb") as out:
        rc, killed, secs = _run_group(cmd, QEMU_TIMEOUT, cwd=d, stdout=out)
    r = RunResult(label="qemu-kernel (reference)", dir=d, command=cmd, serial=_read(serial),
                  exit_status=rc, timed_out=killed, seconds=secs, limit=QEMU_TIMEOUT,
                  extra_name="qemu stdout/stderr", extra=_read(d / "qemu.out"))
    return hv._record(r, fail_on_timeout=True)


@pytest.mark.parametrize("guest", DIFF_GUESTS)
def test_same_output_as_qemu(hv, guest):
    ref = _qemu_kernel(hv, guest)
    ref_lines = [l.rstrip("\r") for l in ref.serial.splitlines() if l.strip()]
    assert_ok(ref_lines and ref_lines[-1] == "RESULT done", ref,
              "the reference run did not reach RESULT done")
    r = hv.boot_bochs(guest)
    assert_clean(r)
    got = [_shape(l) for l in r.guest_lines]
    want = [_shape(l) for l in ref_lines]
    if got != want:
        import difflib
        diff = "\n".join(difflib.unified_diff(want, got, "qemu", "hypervisor", lineterm=""))
        assert_ok(False, r, f"guest output differs from the QEMU reference:\n{diff}")
    want_status = ref.exit_status
    got_status = r.sint("status", None)
    assert_ok(got_status == want_status, r,
              f"exit status {got_status} under the hypervisor, {want_status} under QEMU")
