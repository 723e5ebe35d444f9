"""The CPU model a guest is told about (vmx/cpuid.c; docs/platform.md "CPU model"), checked by
guests/cpu_model.c under the hypervisor in Bochs against what the guest measures: the TSC rate
CPUID leaf 0x15 states against the PIT and the APIC timer, the TSC across exits and a HLT,
RDTSCP and IA32_TSC_AUX (Bochs's VMX offers "enable RDTSCP"; the hidden path, for CPUs without
it, is tests/unit/test_caps.c and test_cpuid.c), and leaf 0xD's XSAVE sizes against XCR0 and
what XSAVE and XSAVEC write, and IA32_MISC_ENABLE. One run, shared by the tests below (about 5 s)."""
import re
from typing import Dict

from conftest import assert_clean, assert_ok, assert_summary, cached_run

_RUNS: Dict = {}

TSC_CHECKS = ["tsc.leaves_present", "tsc.leaf15_complete", "tsc.leaf16_agrees",
              "tsc.rate_vs_pit", "tsc.crystal_vs_apic_timer", "tsc.monotonic_across_exits",
              "tsc.advances_through_hlt"]
RDTSCP_CHECKS = ["rdtscp.aux_reset", "rdtscp.aux_msr", "rdtscp.ecx_is_tsc_aux",
                 "rdtscp.tsc_between_rdtscs", "rdtscp.aux_reserved_gp",
                 "rdtscp.rdpid_hidden_ud"]
TSC_ADJUST_CHECKS = ["tsc_adjust.offered", "tsc_adjust.zero_at_start",
                     "tsc_adjust.follows_tsc_write", "tsc_adjust.write_moves_tsc",
                     "tsc_adjust.reads_back"]
XSAVE_CHECKS = ["xsave.size_x87_sse", "xsave.writes_within_size_x87_sse",
                "xsave.size_follows_xcr0", "xsave.writes_within_size", "xsave.avx_at_offset",
                "xsave.compacted_size", "xsavec.writes_within_size", "xsavec.compacted_header"]


def run(hv):
    return cached_run(hv, _RUNS, "cpu_model", lambda: hv.boot_bochs("cpu_model"))


def assert_passed(r, checks):
    fails = [l for l in r.guest_lines if l.startswith("FAIL")]
    missing = [c for c in checks if f"PASS {c}" not in r.guest_lines]
    assert_ok(not missing, r, f"checks that did not PASS: {missing}; failures: {fails}")


def test_cpu_model_guest_passes(hv):
    r = run(hv)
    fails = [l for l in r.guest_lines if l.startswith("FAIL")]
    assert_ok(not fails, r, f"guest checks failed: {fails}")
    assert_ok("RESULT failures=0" in r.guest_lines, r, "no 'RESULT failures=0' line")
    assert_clean(r)
    assert_summary(r, "debug_exit", code=0, status=1)


def test_tsc_leaves_state_the_device_clock(hv):
    """Leaf 0x15 gives the rate the hypervisor times the guest's devices by (its log line), and
    the guest's own measurements against the PIT and the APIC timer agree with it."""
    r = run(hv)
    assert_passed(r, TSC_CHECKS)
    hv_rate = r.find(r"the guest's TSC is given as \d+ Hz")
    assert_ok(hv_rate >= 0, r, "no 'tsc: ... the guest's TSC is given as N Hz' line")
    hz = int(re.search(r"given as (\d+) Hz", r.lines[hv_rate]).group(1))
    assert_ok(f"tsc.cpuid_hz={hz} crystal_hz={hz}" in r.guest_lines, r,
              f"the guest did not read TSC = crystal = {hz} Hz from leaf 0x15 (Bochs's TSC is "
              f"below the APIC's 1 GHz clock, so the crystal is the TSC itself)")
    assert_ok(f"cpuid.15: eax=1 ebx=1 ecx={hz}" in r.guest_lines, r, "leaf 0x15 is not 1/1")


def test_rdtscp_offered(hv):
    r = run(hv)
    assert_ok("rdtscp: offered=1 rdpid=0" in r.guest_lines, r,
              "RDTSCP not offered (Bochs's VMX allows 'enable RDTSCP'), or RDPID shown")
    assert_passed(r, RDTSCP_CHECKS)
    assert_ok(r.find(r"cpuid: .* RDTSCP offered") >= 0, r, "the hypervisor did not log RDTSCP")


def test_tsc_adjust(hv):
    """IA32_TSC_ADJUST is offered and behaves as the SDM says (Linux needs it, with a
    constant and non-stop TSC, to run its TSC without the clocksource watchdog)."""
    assert_passed(run(hv), TSC_ADJUST_CHECKS)


def test_xsave_sizes_follow_xcr0(hv):
    r = run(hv)
    assert_passed(r, XSAVE_CHECKS)
    # Bochs's model: XCR0 up to x87|SSE|AVX offered, AVX 256 bytes at 576.
    assert_ok("cpuid.d.0: eax=0x7 ebx=576 ecx=832; d.1: eax=0x7 ebx=576" in r.guest_lines, r,
              "leaf 0xD subleaves 0/1 at XCR0=1 are not (7, 576, 832) / (XSAVEOPT|XSAVEC|"
              "XGETBV1, 576)")


MISC_ENABLE_CHECKS = ["misc_enable.present", "misc_enable.reset", "misc_enable.reads_back",
                      "misc_enable.reserved_gp", "misc_enable.restored"]


def test_misc_enable(hv):
    """IA32_MISC_ENABLE: the defined bits read back what the guest wrote, reserved ones #GP,
    and fast strings start as the host CPU has them. Bochs's CPU models have no such MSR (bare
    Bochs raises #GP for it), so under Bochs the guest starts with fast strings off, as Linux
    on bare Bochs finds them: both then choose the same string routines (docs/bench.md)."""
    r = run(hv)
    assert_passed(r, MISC_ENABLE_CHECKS)
    assert_ok("misc_enable: reset=0x1800 fast_strings=0" in r.guest_lines, r,
              "reset value is not BTS|PEBS unavailable with the host's (Bochs: absent, so off) "
              "fast strings")


def test_tsc_rate_stated_by_bochs_is_checked(hv):
    """Bochs's CPU states a base frequency in CPUID 0x16 (3.5 GHz) that its TSC, which counts
    instructions, does not run at: the calibration measures with the ACPI PM timer, sees the
    difference and uses the measurement (drivers/tsc.c), so the guest's clocks agree with
    Bochs's PIT and APIC timer (the checks above)."""
    r = run(hv)
    assert_ok(r.find(r"^\[hv W\] tsc: cpuid16 states \d+ kHz but pmtimer measures \d+ kHz: "
                     r"using the measurement") >= 0, r, "no cross-check warning")
    assert_ok(r.find(r"^\[hv I\] tsc: \d+ kHz from pmtimer; the guest's TSC is given as") >= 0, r,
              "the rate did not come from the PM timer")
