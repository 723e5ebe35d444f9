"""Boot path under QEMU TCG, which has no VMX: the hypervisor starts, prints the memory map it
got from GRUB (BIOS, or UEFI through OVMF), then stops with the "VMX not supported" FATAL line,
summary end=boot_failure, and exit code 0x7f through isa-debug-exit (QEMU status 255)."""
import pytest

from conftest import BOOT_FAILURE_CODE, assert_clean, assert_ok, assert_summary


@pytest.mark.parametrize("firmware", ["bios", "uefi"])
def test_qemu_boot_without_vmx(hv, firmware):
    r = hv.qemu(hv.iso("hello"), uefi=(firmware == "uefi"))

    start = r.find(r"^\[hv I\] hypervisor .*starting")
    assert_ok(start >= 0, r, "no '[hv I] hypervisor ... starting' line")
    mmap = r.find(r"^\[hv I\] memory map \(")
    assert_ok(mmap > start, r, "no 'memory map (' line after the start line")
    entries = [l for l in r.lines[mmap + 1:] if l.startswith("[hv I]   ")]
    assert_ok(any("available" in l for l in entries), r,
              "the memory map lists no available region")
    fatal = r.find(r"^\[hv E\] FATAL: .*VMX.*not supported")
    assert_ok(fatal > mmap, r, "no '[hv E] FATAL: ...VMX...not supported' line after the memory map")
    assert_ok(len([l for l in r.lines if "FATAL" in l]) == 1, r, "more than one FATAL line")

    assert_clean(r)
    assert_summary(r, "boot_failure", code=BOOT_FAILURE_CODE, exits=0)
    assert_ok(r.find(r"summary ") > fatal, r, "summary line before the FATAL line")
    assert_ok(r.exit_status == 255, r,
              f"QEMU exit status {r.exit_status}, want 255 (0x7f written to isa-debug-exit)")


def test_qemu_cpu_without_long_mode(hv):
    """A 32-bit-only CPU: the 32-bit entry code says so on COM1, prints the summary and powers
    off through isa-debug-exit (it finds QEMU through fw_cfg, as the C code does)."""
    r = hv.qemu(hv.iso("hello"), extra_args=["-cpu", "qemu32"])
    assert_ok(r.find(r"^\[hv E\] FATAL: CPU: no long mode") >= 0, r, "no 'no long mode' line")
    assert_summary(r, "boot_failure", code=BOOT_FAILURE_CODE, exits=0)
    assert_ok(r.exit_status == 255, r, f"QEMU exit status {r.exit_status}, want 255")
