"""Guests under the hypervisor in Bochs (VMX emulated), and boot failures that Bochs reaches
past VMX detection: missing or corrupt guest module."""
import random

from conftest import BOOT_FAILURE_CODE, BUILD, assert_clean, assert_ok, assert_summary

# The same image with a multiboot2 header that asks for at least 16 MiB (Makefile): GRUB loads
# it away from its link address, on BIOS too.
MOVED = BUILD / "hv-moved.elf"

# The checks guests/exits.c makes; each must print "PASS name".
EXITS_CHECKS = [
    "idt.ud2", "idt.int3",
    "boot.magic", "boot.mem_lower", "boot.mem_upper", "boot.mmap",
    "cpuid.vmx_hidden", "cpuid.hypervisor_bit", "cpuid.hv_leaf_max", "cpuid.one_cpu",
    "cpuid.no_msr_features", "cpuid.tsc_adjust", "cpuid.no_aperf", "cpuid.leaf4_one_core",
    "cpuid.leafb_topology", "cpuid.hv_signature",
    "msr.efer_initial", "msr.pat_initial", "msr.sysenter_cs", "msr.sysenter_esp",
    "msr.sysenter_eip", "msr.debugctl_btf", "msr.debugctl_reserved_gp",
    "msr.unknown_rdmsr_gp", "msr.unknown_wrmsr_gp",
    "io.unclaimed_port", "io.uart_scratch", "io.uart_lsr_idle",
    "vmcall.version", "vmcall.enosys",
    "vmx.vmxoff_ud", "vmx.vmxon_ud",
    "cr.cr0_initial", "cr.cr4_initial", "cr.cr4_osfxsr", "cr.cr4_restore", "cr.cr3_readback",
]


def test_hello(hv):
    r = hv.boot_bochs("hello")
    assert_ok("Hello from the guest!" in r.guest_lines, r,
              "no '[guest] Hello from the guest!' line")
    assert_clean(r)
    assert_summary(r, "debug_exit", code=0, status=1)
    assert_ok(r.sint("exits.io") > 0, r, "summary has no exits.io > 0")


def test_hello_guest_mem_32m(hv):
    r = hv.boot_bochs("hello", hv_cmdline="guest_mem=32M")
    assert_ok(any("mem_upper=31744K" in l for l in r.guest_lines), r,
              "guest did not print mem_upper=31744K (guest_mem=32M)")
    assert_clean(r)
    assert_summary(r, "debug_exit", code=0, status=1)


def test_exits(hv):
    r = hv.boot_bochs("exits")
    fails = [l for l in r.guest_lines if l.startswith("FAIL")]
    missing = [c for c in EXITS_CHECKS if f"PASS {c}" not in r.guest_lines]
    assert_ok(not fails, r, f"guest checks failed: {fails}")
    assert_ok(not missing, r, f"guest checks that did not PASS: {missing}")
    assert_ok("RESULT failures=0" in r.guest_lines, r, "no 'RESULT failures=0' line")
    assert_clean(r)
    assert_summary(r, "debug_exit", code=0, status=1)
    for reason in ("cpuid", "rdmsr", "wrmsr", "vmcall", "vmxoff", "vmxon", "cr_access", "io"):
        assert_ok(r.sint(f"exits.{reason}") >= 1, r, f"summary has no exits.{reason} >= 1")


def test_exits_with_the_image_moved(hv):
    """The image relocated by GRUB (issue 15 item 4) runs a guest as it does at its link
    address: the relocations its entry code applies cover every pointer the host uses (the
    IDT's handlers, the exit table, the VMCS host RIP, the device tables)."""
    r = hv.boot_bochs("exits", hv_elf=MOVED)
    m = r.find(r"^\[hv I\] image: 0x[0-9a-f]+-0x[0-9a-f]+, moved by the loader")
    assert_ok(m >= 0, r, "no 'image: ... moved by the loader' line")
    start = int(r.lines[m].split("image: ")[1].split("-")[0], 16)
    assert_ok(start >= 16 << 20, r, f"the image starts at {start:#x}, below 16 MiB")
    fails = [l for l in r.guest_lines if l.startswith("FAIL")]
    missing = [c for c in EXITS_CHECKS if f"PASS {c}" not in r.guest_lines]
    assert_ok(not fails and not missing, r, f"failed: {fails}; did not PASS: {missing}")
    assert_clean(r)
    assert_summary(r, "debug_exit", code=0, status=1)


def test_exits_guest_mem_32m(hv):
    """The boot checks (mem_upper, memory map) at a guest RAM size other than the default; the
    guest reads the size to expect from its command line."""
    r = hv.boot_bochs("exits", hv_cmdline="guest_mem=32M", guest_cmdline="mem_upper=31744")
    fails = [l for l in r.guest_lines if l.startswith("FAIL")]
    assert_ok(not fails, r, f"guest checks failed: {fails}")
    assert_ok("PASS boot.mem_upper" in r.guest_lines and "PASS boot.mmap" in r.guest_lines, r,
              "boot.mem_upper or boot.mmap did not PASS")
    assert_clean(r)
    assert_summary(r, "debug_exit", code=0, status=1)


def test_halt(hv):
    r = hv.boot_bochs("halt")
    assert_ok("halt: executing cli; hlt" in r.guest_lines, r, "halt guest printed nothing")
    assert_ok(not any("FAIL" in l for l in r.guest_lines), r, "HLT returned")
    assert_clean(r)
    assert_summary(r, "halted", exits__hlt=1)


def test_triple_fault(hv):
    r = hv.boot_bochs("triple")
    assert_ok(any(l.startswith("triple: loading") for l in r.guest_lines), r,
              "triple guest printed nothing")
    assert_ok(not any("FAIL" in l for l in r.guest_lines), r, "guest ran on after int3")
    assert_clean(r)
    assert_summary(r, "triple_fault")


def test_no_guest_module(hv):
    r = hv.boot_bochs(None)
    assert_ok(r.find(r"^\[hv E\] FATAL: .*no guest module") >= 0, r,
              "no '[hv E] FATAL: ... no guest module' line")
    assert_clean(r)
    assert_summary(r, "boot_failure", code=BOOT_FAILURE_CODE, exits=0)
    assert_ok(not r.guest_lines, r, "guest lines without a guest")


def test_corrupt_guest_module(hv):
    blob = hv.dir / "corrupt.bin"
    blob.write_bytes(random.Random(0x5107).randbytes(64 * 1024))
    r = hv.boot_bochs(blob)
    assert_ok(r.find(r"^\[hv E\] FATAL: guest: \S") >= 0, r,
              "no '[hv E] FATAL: guest: <reason>' line")
    assert_clean(r)
    assert_summary(r, "boot_failure", code=BOOT_FAILURE_CODE, exits=0)
    assert_ok(not r.guest_lines, r, "guest lines from a corrupt module")


def test_hello_chosen_exit_code(hv):
    """The guest picks its exit code (guest command line exit=42): the summary carries it and
    the QEMU-style status (42 << 1) | 1 = 85."""
    r = hv.boot_bochs("hello", guest_cmdline="exit=42")
    assert_ok("Goodbye (exit code 42)." in r.guest_lines, r, "guest did not take exit=42")
    assert_clean(r)
    assert_summary(r, "debug_exit", code=42, status=85)


def test_halt_with_every_timer_masked(hv):
    """sti; hlt while the PIT runs but its line is masked everywhere (and no other timer is
    armed): nothing can ever wake the guest, so the run ends instead of waiting forever."""
    r = hv.boot_bochs("halt_masked")
    assert_ok("woke up?!" not in r.guest_lines, r, "HLT returned without an interrupt")
    assert_ok(r.find(r"guest ended: guest halted .* no armed device timer can reach it") >= 0,
              r, "no clear reason for the end")
    assert_clean(r)
    assert_summary(r, "halted", exits__hlt=1)
