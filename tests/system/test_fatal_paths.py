"""The hypervisor's own fatal paths, triggered on purpose with selftest=: a panic and a host
exception (QEMU, no VMX needed) print the reason, the registers and a backtrace, then power off
with the failure code; a failed VMLAUNCH names the VM-instruction error, and a VM entry that
fails on guest state prints the exit reason and the guest-state fields (Bochs)."""
import pytest

from conftest import assert_clean, assert_ok


def _assert_panic_report(r):
    assert_ok(any(l.startswith("[hv E] PANIC:") for l in r.lines), r, "no PANIC line")
    assert_ok(r.find(r"^\[hv E\] rax=[0-9a-f]{16} rbx=") >= 0, r, "no register dump")
    assert_ok(r.find(r"^\[hv E\] cr0=[0-9a-f]{16} cr2=") >= 0, r, "no control-register dump")
    bt = r.find(r"^\[hv E\] backtrace")
    assert_ok(bt >= 0, r, "no backtrace")
    assert_ok(r.find(r"^\[hv E\]   (#\d+|rip) 0x[0-9a-f]+", r.lines[bt + 1:]) >= 0, r,
              "backtrace has no entry")
    assert_ok(r.summary and r.summary.get("end") == "hv_panic", r, "no summary end=hv_panic")
    assert_ok(r.exit_status == 255, r, f"QEMU status {r.exit_status}, want 255")


def test_panic_reports_and_powers_off(hv):
    r = hv.qemu(hv.iso("hello", hv_cmdline="selftest=panic"))
    assert_ok(r.find(r"^\[hv E\] selftest: panic requested") >= 0, r, "panic reason missing")
    _assert_panic_report(r)


def test_host_exception_reports_and_powers_off(hv):
    r = hv.qemu(hv.iso("hello", hv_cmdline="selftest=exception"))
    assert_ok(r.find(r"^\[hv E\] host exception 6 \(#UD invalid opcode\) error=0 rip=0x[0-9a-f]+ "
                     r"cr2=") >= 0, r, "no 'host exception 6 (#UD...)' line with rip and cr2")
    _assert_panic_report(r)


def test_bad_command_line_stops_boot(hv):
    r = hv.qemu(hv.iso("hello", hv_cmdline="guest_mem=64M bogus_option=1"))
    assert_ok(r.find(r"^\[hv E\] FATAL: command line: .*unknown option 'bogus_option'") >= 0, r,
              "no FATAL line naming the unknown option")
    assert_ok(r.summary and r.summary.get("end") == "boot_failure", r, "no end=boot_failure")
    assert_ok(r.exit_status == 255, r, f"QEMU status {r.exit_status}, want 255")


def test_vmlaunch_failure_names_the_error(hv):
    r = hv.bochs(hv.iso("hello", hv_cmdline="selftest=entry_control"))
    assert_ok(r.find(r"^\[hv E\] VMLAUNCH failed: VM-instruction error 7: VM entry with invalid "
                     r"control field") >= 0, r, "no VMLAUNCH failure line with error 7 as text")
    assert_ok(r.find(r"^\[hv E\]   tr   sel=") >= 0, r, "no guest-state dump")
    assert_ok(r.summary and r.summary.get("end") == "entry_failure", r, "no end=entry_failure")
    assert_ok(not r.guest_lines, r, "the guest ran")
    checks = [l for l in r.hv_lines if l.startswith("[hv E]   check ")]
    assert_ok(len(checks) == 1 and "check ctrl.cr3_target_count (SDM 26.2.1.1)" in checks[0] and
              "CR3_TARGET_COUNT=0x5" in checks[0], r,
              f"the entry checker must name exactly the broken rule, got {checks}")


def test_entry_failure_on_guest_state(hv):
    r = hv.bochs(hv.iso("hello", hv_cmdline="selftest=entry_guest_state"))
    assert_ok(r.find(r"^\[hv E\] VM entry failed: exit reason 33 \(invalid guest state\)") >= 0,
              r, "no 'VM entry failed: exit reason 33' line")
    assert_ok(r.find(r"^\[hv E\]   tr   sel=0000 base=0 limit=0x67 ar=0x89") >= 0, r,
              "guest-state dump does not show the broken TR access rights")
    assert_ok(r.summary and r.summary.get("end") == "entry_failure", r, "no end=entry_failure")
    assert_ok(r.sint("exits.invalid_guest_state") == 1, r, "exit not counted")
    checks = [l for l in r.hv_lines if l.startswith("[hv E]   check ")]
    assert_ok(len(checks) == 1 and "check guest.tr.type (SDM 26.3.1.2)" in checks[0] and
              "GUEST_TR_AR=0x89" in checks[0], r,
              f"the entry checker must name exactly the broken rule, got {checks}")
    # Bochs's own verdict on the same entry agrees (PLATFORM.md: read its log).
    log = (r.dir / "bochs.log").read_text(errors="replace")
    assert_ok("VMENTER FAIL: VMCS guest incorrect TR type" in log, r,
              "bochs.log does not report the TR check")


# selftest=entry_rule:N breaks one VM-entry condition (hv/hv.c); the entry checker must name
# the broken rule(s) and Bochs's own VM-entry checks must fail on the same thing.
ENTRY_RULES = [
    (3, ["guest.rflags.bit1"], "VMENTER FAIL: RFLAGS[1] cleared"),
    (4, ["guest.activity.value"], "VMENTER FAIL: VMCS guest activity state 5"),
    (5, ["guest.link.align"], "VMFAIL: VMCS link pointer malformed"),
    (6, ["guest.cr0.pe_pg", "guest.cr0.pg_without_pe"], "VMENTER FAIL: VMCS guest invalid CR0"),
    (7, ["host.cr4.vmxe"], "VMFAIL: VMCS host state invalid CR4"),
    (8, ["guest.cs.ar.dpl_vs_ss", "guest.ss.ar.dpl_vs_rpl"], "VMENTER FAIL: VMCS guest SS.RPL <> SS.DPL"),
    (9, ["ctrl.entry_intr.type"], "VMFAIL: VMENTRY bad injected event type 1"),
    (10, ["guest.gdtr.limit"], "VMENTER FAIL: VMCS guest GDTR/IDTR limit > 0xFFFF"),
]


@pytest.mark.parametrize("n,rules,bochs", ENTRY_RULES, ids=[str(e[0]) for e in ENTRY_RULES])
def test_entry_checker_agrees_with_bochs(hv, n, rules, bochs):
    r = hv.bochs(hv.iso("hello", hv_cmdline=f"selftest=entry_rule:{n}"))
    assert_ok(r.summary and r.summary.get("end") == "entry_failure", r, "no end=entry_failure")
    checks = [l for l in r.hv_lines if l.startswith("[hv E]   check ")]
    named = [l.split()[3] for l in checks]
    assert_ok(named == rules, r, f"entry checker named {named}, want {rules}")
    log = (r.dir / "bochs.log").read_text(errors="replace")
    assert_ok(bochs in log, r, f"bochs.log does not say '{bochs}'")


# entry_check=1 (issue 15 item 10): the entry checker before every VM entry, so that a VMCS
# state that silicon or KVM would refuse cannot pass because Bochs is lenient. One guest of
# each paging family runs whole under it.
STRICT_GUESTS = ["hello", "paging32", "pae", "long64"]


@pytest.mark.parametrize("guest", STRICT_GUESTS)
def test_strict_entry_check_every_entry(hv, guest):
    r = hv.bochs(hv.iso(guest, hv_cmdline="entry_check=1"))
    assert_clean(r)
    assert_ok(r.find(r"^\[hv I\] entry_check=1: the entry checker runs before every VM entry")
              >= 0, r, "strict mode not announced")
    m = r.find(r"^\[hv I\] entry check: \d+ VM entries checked before they were made")
    assert_ok(m >= 0, r, "no count of checked entries")
    checked = int(r.lines[m].split("entry check: ")[1].split()[0])
    exits = r.sint("exits", 0)
    assert_ok(checked >= exits >= 1, r, f"{checked} entries checked for {exits} exits")
    assert_ok(r.summary.get("end") not in ("entry_failure", "hv_panic"), r,
              f"the run ended with {r.summary.get('end')}")
    assert_ok(not [l for l in r.hv_lines if "check " in l and l.startswith("[hv E]")], r,
              "a VM-entry rule is broken")


def test_strict_entry_check_stops_before_a_bad_entry(hv):
    """A VMCS that breaks a rule (selftest=entry_rule:3, RFLAGS bit 1 clear) is caught by the
    checker before VMLAUNCH: the rule is named, the entry is not made, end=entry_failure."""
    r = hv.bochs(hv.iso("hello", hv_cmdline="entry_check=1 selftest=entry_rule:3"))
    assert_ok(r.find(r"^\[hv E\] strict entry check \(SDM \"VM Entries\"\) before a VM entry:")
              >= 0, r, "no strict-check report")
    checks = [l for l in r.hv_lines if l.startswith("[hv E]   check ")]
    assert_ok(len(checks) == 1 and "guest.rflags.bit1" in checks[0], r,
              f"the checker must name exactly the broken rule, got {checks}")
    assert_ok(r.find(r"VMLAUNCH failed|VM entry failed") < 0, r, "the entry was made anyway")
    assert_ok(r.summary and r.summary.get("end") == "entry_failure", r, "no end=entry_failure")
