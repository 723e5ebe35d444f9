"""ACPI under the hypervisor (docs/platform.md "ACPI"): guests/acpi.c finds the RSDP by scanning
the BIOS area, walks RSDT/XSDT to the FADT and MADT, reads \\_S5 from the DSDT, checks the PM
registers and the PM timer's rate against PIT channel 2, then ends the run the way its command
line says: soft-off through PM1a_CNT (end=poweroff), the FADT's reset register (end=reset), or a
sleep state the platform does not have (end=guest_error, with the message naming it). Plus the
multiboot loader's refusal of an image that would overwrite the tables (QEMU)."""
import re

from conftest import assert_clean, assert_ok, assert_summary
from test_bad_input import _elf32, _fatal

CHECKS = [
    "rsdp.found", "rsdp.v2", "RSDT", "XSDT", "xsdt.entries", "xsdt.same", "APIC", "FACP",
    "madt.lapic_address", "madt.lapic", "madt.ioapic", "madt.irq0_override", "madt.lint1_nmi",
    "fadt.pm_blocks", "fadt.x_blocks", "fadt.tmr_val_ext", "fadt.no_smi_cmd", "fadt.century",
    "fadt.reset_reg", "facs", "DSDT", "dsdt.s5",
    "pm1_cnt.sci_en", "pm1_sts", "pm_timer.monotonic", "pm_timer.rate", "pm_timer.advances",
]


def _run(hv, action):
    r = hv.bochs(hv.iso("acpi", guest_cmdline=f"action={action}", name=f"{action}.iso"),
                 subdir=f"bochs-{action}")
    fails = [l for l in r.guest_lines if l.startswith("FAIL")]
    missing = [c for c in CHECKS if f"PASS {c}" not in r.guest_lines]
    assert_ok(not fails, r, f"guest checks failed: {fails}")
    assert_ok(not missing, r, f"guest checks that did not PASS: {missing}")
    assert_ok(r.find(r"^\[hv I\] acpi: RSDP at 0xf0000, tables to 0xf0[0-9a-f]{3} ") >= 0, r,
              "no 'acpi: RSDP at 0xf0000' line from the hypervisor")
    assert_ok(any(l.startswith("rsdp at 0xf0000,") for l in r.guest_lines), r,
              "the guest's scan did not find the RSDP at 0xf0000")
    assert_clean(r)
    return r


def test_poweroff_through_pm1a_cnt(hv):
    r = _run(hv, "poweroff")
    assert_ok("writing SLP_TYP 0 | SLP_EN to PM1a_CNT 0x604" in r.guest_lines, r,
              "the guest did not write \\_S5's value to PM1a_CNT")
    assert_ok(r.find(r"^\[hv I\] guest ended: guest entered S5 \(soft-off\): "
                     r"PM1a_CNT=0x2000$") >= 0, r, "no 'guest ended: guest entered S5' line")
    assert_summary(r, "poweroff", code=0)
    assert_ok("status" not in r.summary, r, "status= is for debug_exit only")


def test_reset_through_the_fadt_reset_register(hv):
    r = _run(hv, "reset")
    assert_ok("writing 0x6 to the reset register 0xcf9" in r.guest_lines, r,
              "the guest did not write the FADT's reset value to its reset register")
    assert_ok(r.find(r"^\[hv I\] guest ended: guest asked for a reset: wrote 0x6 to the reset "
                     r"control register \(0xcf9\)$") >= 0, r, "no 'guest asked for a reset' line")
    assert_summary(r, "reset", code=0)


def test_unsupported_sleep_state_is_a_guest_error(hv):
    r = _run(hv, "badsleep")
    assert_ok(r.find(r"^\[hv E\] guest ended: guest asked for sleep type 3 \(PM1a_CNT=0x2c00\): "
                     r"not supported, the only sleep state is \\_S5") >= 0, r,
              "no 'guest ended' line naming sleep type 3")
    assert_summary(r, "guest_error", code=127)
    assert_ok("FAIL still_running: the write to end the run returned" not in r.guest_lines, r,
              "the guest ran on after the write")


def test_multiboot_image_over_the_tables_is_refused(hv):
    """A segment in 0xf0000-0xfffff would overwrite the ACPI tables: the loader refuses it
    (a multiboot loader on a PC cannot load into the BIOS area either)."""
    blob = hv.dir / "bios_area.elf"
    blob.write_bytes(_elf32(0xF8000, 32, 32, b"\xf4" * 20))
    r = hv.qemu(hv.iso(blob))
    _fatal(r, r"^\[hv E\] FATAL: guest: segment at 0xf8000 overlaps the BIOS area \(ACPI tables\)",
           "a segment in the BIOS area")
