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


@pytest.mark.parametrize("firmware", ["bios", "uefi"])
def test_grub_writes_to_the_hypervisor_serial_port(hv, firmware):
    """GRUB's own console is the serial port the hypervisor is told to use (serial=com2 here)
    as well as the screen: a GRUB error would show on the same line the hypervisor's messages
    do. Under BIOS, COM1 stays quiet; under UEFI, GRUB's screen is OVMF's console, which OVMF
    itself copies to every serial port."""
    com2 = hv.dir / f"com2-{firmware}.txt"
    com2.unlink(missing_ok=True)
    r = hv.qemu(hv.iso("hello", hv_cmdline="serial=com2,57600"), uefi=(firmware == "uefi"),
                subdir=f"qemu-com2-{firmware}", extra_args=["-serial", f"file:{com2}"])
    text = com2.read_text(errors="replace") if com2.is_file() else ""
    grub = text.find("Booting `hypervisor'")
    start = text.find("[hv I] boot loader")  # the console's first line after it moved to COM2
    assert_ok(grub >= 0 and start > grub, r,
              f"GRUB's 'Booting `hypervisor'' is not on COM2 before the hypervisor's first line:\n"
              f"{text[:2000]}")
    if firmware == "bios":
        assert_ok("Booting `hypervisor'" not in r.serial, r, "GRUB wrote to COM1 as well")


@pytest.mark.parametrize("firmware", ["bios", "uefi"])
def test_host_nmi_counted_and_returned(hv, firmware):
    """selftest=nmi: the hypervisor sends its own CPU an NMI through the local APIC; the NMI
    runs on its own stack, is counted and returned from (it used to panic), and the boot goes
    on to the usual end under QEMU TCG. CR4 is the hypervisor's own value, PAE and MCE (under
    UEFI the firmware's CR4 bits are not kept)."""
    r = hv.qemu(hv.iso("hello", hv_cmdline="selftest=nmi"), uefi=(firmware == "uefi"))
    assert_ok(r.find(r"^\[hv I\] cpu: CR4=0x60 ") >= 0, r, "CR4 is not exactly PAE|MCE at entry")
    assert_ok(r.find(r"^\[hv I\] selftest: host NMI sent to this CPU \((xAPIC|x2APIC)\), "
                     r"handled on its own stack and returned from \(host NMIs: 1\)") >= 0, r,
              "the NMI was not counted and returned from")
    assert_ok(r.find(r"^\[hv E\] FATAL: .*VMX.*not supported") >= 0, r,
              "the boot did not go on to the VMX check")
    assert_summary(r, "boot_failure", code=BOOT_FAILURE_CODE, exits=0)


def test_power_off_without_emulator_ports_on_other_machines(hv):
    """On a machine that is neither QEMU nor Bochs (here QEMU made to look like one: no
    hypervisor bit in CPUID and no ACPI tables, so nothing says "BOCHS "), no emulator port is
    touched: no fw_cfg probe, no isa-debug-exit, no Bochs port (0x500-0x53f are GPIO on many
    boards). With no ACPI S5 either, the hypervisor halts after its summary line (QEMU is then
    stopped by the test's time limit, not by isa-debug-exit). On QEMU and Bochs the boot log
    names the machine and its port (the other tests end through them)."""
    r = hv.qemu(hv.iso("hello"), subdir="qemu-hw", timeout=15, fail_on_timeout=False,
                extra_args=["-cpu", "qemu64,-hypervisor", "-machine", "pc,acpi=off"])
    assert_ok(r.find(r"^\[hv I\] power-off: not an emulator: ACPI S5 only") >= 0, r,
              "the machine was not taken for real hardware")
    assert_summary(r, "boot_failure", code=BOOT_FAILURE_CODE, exits=0)
    assert_ok(r.timed_out, r, f"QEMU ended by itself (status {r.exit_status}): an emulator port "
              "was used")
    q = hv.qemu(hv.iso("hello"), subdir="qemu-default")
    assert_ok(q.find(r"^\[hv I\] power-off: QEMU \(CPUID and fw_cfg\)") >= 0, q,
              "QEMU was not recognised")


# tsc=: what QEMU TCG's pc machine offers each calibration source (its CPU models state no
# rate in CPUID 0x15/0x16 and have no MSR_PLATFORM_INFO); Bochs's case, where CPUID 0x16 states
# a rate its TSC does not run at, is test_cpu_model.py's.
TSC_CASES = [
    ("", "pc", r"tsc: \d+ kHz from pmtimer; "),
    ("tsc=pit", "pc", r"tsc: \d+ kHz from pit \(tsc= on the command line\); "),
    ("tsc=pmtimer", "pc", r"tsc: \d+ kHz from pmtimer \(tsc= on the command line\); "),
    ("", "pc,pit=off", r"tsc: \d+ kHz from pmtimer; "),
    ("", "pc,pit=off,acpi=off", r"tsc: no source gives the TSC's rate .*assuming 1 GHz"),
    ("tsc=cpuid16", "pc", r"FATAL: tsc: "),
    ("tsc=pit", "pc,pit=off", r"FATAL: tsc: "),
]


@pytest.mark.parametrize("cmdline,machine,want", TSC_CASES)
def test_tsc_calibration_sources(hv, cmdline, machine, want):
    """The TSC's rate comes from the first source that gives one (a stated one checked against
    a measured one), each loop bounded: a machine without a PIT (pit=off: no OUT2 at all) or
    without ACPI still boots on, and a source forced with tsc= that this machine lacks stops
    the boot with a FATAL line naming it."""
    r = hv.qemu(hv.iso("hello", hv_cmdline=cmdline), subdir=f"qemu-{machine}-{cmdline or 'auto'}",
                extra_args=["-M", machine])
    assert_ok(r.find(want) >= 0, r, f"no line matching {want!r}")
    if "FATAL" in want:
        assert_ok(r.find(r"tsc=\w+: this machine gives no rate that way") >= 0, r,
                  "the forced source is not named")
    else:
        assert_ok(r.find(r"^\[hv E\] FATAL: .*VMX.*not supported") >= 0, r,
                  "the boot did not go on to the VMX check")
    assert_summary(r, "boot_failure", code=BOOT_FAILURE_CODE, exits=0)


@pytest.mark.parametrize("firmware", ["bios", "uefi"])
def test_other_cpus_parked_with_init(hv, firmware):
    """With two CPUs (QEMU TCG -smp 2; under UEFI the second runs OVMF's loop), the hypervisor
    sends INIT to all but itself before it allocates anything, says so, and boots on to the VMX
    check as with one CPU."""
    r = hv.qemu(hv.iso("hello"), uefi=(firmware == "uefi"), subdir=f"qemu-smp2-{firmware}",
                extra_args=["-smp", "2"])
    park = r.find(r"^\[hv I\] cpu: the other CPUs \(if any\) sent INIT")
    alloc = r.find(r"^\[hv I\] page allocator:")
    assert_ok(park >= 0 and alloc > park, r, "no INIT line before the page allocator's")
    assert_ok(r.find(r"^\[hv E\] FATAL: .*VMX.*not supported") >= 0, r,
              "the boot did not go on to the VMX check")
    assert_summary(r, "boot_failure", code=BOOT_FAILURE_CODE, exits=0)


def test_image_loads_where_grub_finds_room(hv):
    """The image is relocatable (issue 15 item 4): under UEFI with 2-64 MiB taken away by
    GRUB's `cutmem` (as firmware holding the link address would), GRUB loads it elsewhere,
    the entry code runs where it was put, and the boot goes on to its usual end. (GRUB for
    BIOS places a relocatable image without looking at `cutmem`: test_bochs_guests.py's
    test_exits_with_the_image_moved covers BIOS with an image that asks for 16 MiB.)"""
    r = hv.qemu(hv.iso("hello", grub_cmds="cutmem 2M 64M"), uefi=True, subdir="qemu-cutmem")
    m = r.find(r"^\[hv I\] image: 0x[0-9a-f]+-0x[0-9a-f]+, moved by the loader")
    assert_ok(m >= 0, r, "no 'image: ... moved by the loader' line: GRUB loaded it at its "
              "link address although 2-64 MiB was cut")
    start = int(r.lines[m].split("image: ")[1].split("-")[0], 16)
    assert_ok(start >= 64 << 20, r, f"the image starts at {start:#x}, inside the cut range")
    fatal = r.find(r"^\[hv E\] FATAL: .*VMX.*not supported")
    assert_ok(fatal > m, r, "the relocated image did not reach the VMX check")
    assert_summary(r, "boot_failure", code=BOOT_FAILURE_CODE, exits=0)


def test_image_at_its_link_address_by_default(hv):
    """With the range free, GRUB keeps loading the image at its link address (2 MiB), so
    build/hv.elf's symbols match without an offset (gdb, docs/debugging.md)."""
    r = hv.qemu(hv.iso("hello"), subdir="qemu-linkaddr")
    assert_ok(r.find(r"^\[hv I\] image: 0x200000-0x[0-9a-f]+, at its link address") >= 0, r,
              "no 'image: 0x200000-..., at its link address' line")
