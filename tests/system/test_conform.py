"""CPU and local-APIC behaviour a public x86 test suite checks (issue 17), against bare Bochs as
the CPU reference: guests/conform.c prints, per case, the vector raised and RF in the EFLAGS
image pushed for it, CPUID.1's APIC bits as IA32_APIC_BASE.EN changes, and which x2APIC
register writes with reserved bits fault. Each family of lines must match bare Bochs; where
Bochs 2.7 does not follow the SDM (SELF IPI bits 31:8), the SDM's behaviour is asserted on the
hypervisor's run directly. One run of each, shared by the tests below."""
from typing import Dict

from conftest import assert_clean, assert_ok, assert_summary, cached_run
from test_paging import bare_guest_lines, bare_run, comparable

GUEST = "conform"
_RUNS: Dict = {}


def runs(hv):
    bare = bare_run(hv, GUEST)
    want = comparable(bare_guest_lines(bare, GUEST))
    assert_ok(want and want[-1] == "RESULT done", bare, "bare-Bochs reference did not complete")
    r = cached_run(hv, _RUNS, GUEST, lambda: hv.boot_bochs(GUEST))
    assert_ok("HV hypervisor detected" in r.guest_lines, r, "the guest did not see the hypervisor")
    return bare, want, r


def family(lines, prefix, skip=()):
    return [l for l in lines if l.startswith(prefix) and not l.startswith(tuple(skip))]


def assert_same(r, want, got, what):
    assert_ok(got == want, r, f"{what} differ from bare Bochs:\n" +
              "\n".join(f"bare: {a}\n  hv: {b}" for a, b in zip(want, got) if a != b) +
              (f"\nlengths {len(want)} / {len(got)}" if len(want) != len(got) else ""))


def test_rf_in_fault_images_matches_bare_bochs(hv):
    """Every fault, raised by the CPU or injected by the hypervisor (refused MSR and CR4
    writes, VMXON, XSETBV, a reflected page fault, a page fault the instruction emulator
    found), pushes RF=1; a #GP handler that returns to the instruction with an instruction
    breakpoint on it sees no #DB."""
    bare, want, r = runs(hv)
    rf_want = family(want, "rf.")
    # The reference must show RF set for faults, clear for a trap, and no #DB on the retry.
    for line in ("rf.de_native: vec=0 eip=at rf=1", "rf.int3_trap: vec=3 eip=other rf=0",
                 "rf.wrmsr_efer_reserved: vec=13 eip=at rf=1",
                 "rf.pf_emulated_movs: vec=14 eip=at rf=1",
                 "rf.retry_with_instruction_breakpoint: vec=13 gp=2 db=0 rf_bits=3"):
        assert_ok(line in rf_want, bare, f"bare Bochs: no line {line!r}")
    assert_same(r, rf_want, family(comparable(r.guest_lines), "rf."), "rf. lines")
    assert_clean(r)
    assert_summary(r, "debug_exit", code=0, status=1)
