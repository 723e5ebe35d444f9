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


# Accesses of less than 32 bits to local APIC registers are model-specific (SDM Vol. 3A 11.4.1:
# "not guaranteed to work"). QEMU reads 0 and drops the write, and so does the hypervisor's
# model when every access traps (apicv=off); with APIC virtualization the CPU itself answers
# them from the virtual-APIC page (SDM Vol. 3C 29.4), as KVM with APICv does on hardware. These
# diff_mmio lines are those accesses; test_sub_dword_apic_accesses_under_apicv checks them.
SUB_DWORD_APIC = ("mov.store8_tpr:", "mov.load8_tpr:", "mov.store16_tpr:", "mov.load16_tpr:",
                  "movzx8.tmict:", "movzx16.tmict:", "movsx8.tmict:", "movsx16.tmict:",
                  "add.m8r_tpr:", "bt.i16_tpr:", "push16.tpr:")


def _reference(hv, guest):
    ref = _qemu_kernel(hv, guest)
    ref_lines = [l.rstrip("\r") for l in ref.serial.splitlines() if l.strip()]
    assert_ok(ref_lines and ref_lines[-1] == "RESULT done", ref,
              "the reference run did not reach RESULT done")
    return ref, ref_lines


@pytest.mark.parametrize("apicv", ["on", "off"])
@pytest.mark.parametrize("guest", DIFF_GUESTS)
def test_same_output_as_qemu(hv, guest, apicv):
    """Line for line as under QEMU, with APIC virtualization (the default) and without: the
    guests that touch the local APIC (platform: its timer and interrupts; diff_mmio: its
    registers through many instruction forms) run both ways."""
    if apicv == "off" and guest not in ("platform", "diff_mmio"):
        pytest.skip("no local APIC use: apicv= changes nothing for this guest")
    ref, ref_lines = _reference(hv, guest)
    r = hv.boot_bochs(guest, hv_cmdline=f"apicv={apicv}")
    assert_clean(r)
    assert_ok(f"apicv: {apicv}" in r.serial, r, f"the boot log does not say 'apicv: {apicv}'")
    skip = SUB_DWORD_APIC if apicv == "on" else ()
    got = [_shape(l) for l in r.guest_lines if not l.startswith(skip)]
    want = [_shape(l) for l in ref_lines if not l.startswith(skip)]
    if got != want:
        import difflib
        diff = "\n".join(difflib.unified_diff(want, got, "qemu", "hypervisor", lineterm=""))
        assert_ok(False, r, f"guest output differs from the QEMU reference:\n{diff}")
    want_status = ref.exit_status
    got_status = r.sint("status", None)
    assert_ok(got_status == want_status, r,
              f"exit status {got_status} under the hypervisor, {want_status} under QEMU")


def test_sub_dword_apic_accesses_under_apicv(hv):
    """With APIC virtualization, 8- and 16-bit reads of virtualized registers (TPR, the initial
    count) return those bytes of the register, and 8- and 16-bit writes of TPR reach it: the
    CPU's virtualization (SDM 29.4), where QEMU reads 0 and drops the write."""
    r = hv.boot_bochs("diff_mmio", hv_cmdline="apicv=on")
    lines = {l.split(":")[0] + ":": l for l in r.guest_lines if l.startswith(SUB_DWORD_APIC)}
    assert_ok(set(lines) == set(SUB_DWORD_APIC), r, f"missing lines: {set(SUB_DWORD_APIC) - set(lines)}")
    # initial count 0x12345678 (written as 32 bits): byte and word reads see its low bytes
    assert_ok(" c=00000078 " in lines["movzx8.tmict:"], r, lines["movzx8.tmict:"])
    assert_ok(" c=00005678 " in lines["movzx16.tmict:"], r, lines["movzx16.tmict:"])
    # a byte write of 0x40 to TPR takes effect (m: TPR read back as 32 bits afterwards)
    assert_ok(lines["mov.store8_tpr:"].startswith("mov.store8_tpr: m=00000040 "), r,
              lines["mov.store8_tpr:"])
