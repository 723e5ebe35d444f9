"""Debug exceptions a public x86 test suite checks (issue 17), against bare Bochs as the CPU
reference: guests/conform_db.c logs, per case, every #DB (EIP, DR6), #BP, NMI, interrupt and
fault in order. Single step over MOV SS then a MOV to DR6/DR7 with DR7.GD=1; over STI; HLT
(at CPL0, woken by the APIC timer, and at CPL3); over an ICR write that sends this CPU an NMI
or an interrupt; MOV SS that hits a data breakpoint, then INT $1, INT3, or an instruction the
hypervisor completes after an exit (CPUID, IN). One run of each, shared by the tests below.

Where bare Bochs 2.7 differs from hardware (DR6.BS in the general-detect #DB; the data
breakpoint's #DB lost after MOV SS + INT $1/INT3) the hypervisor has no path (#DB, INT n and
MOV DR cause no exit) and its guest sees what the CPU does: the lines are compared as they are
(docs/platform.md, "Debug exceptions")."""
from typing import Dict

from conftest import assert_clean, assert_ok, assert_summary
from test_conform import assert_same, family, runs_of
from test_paging import comparable

GUEST = "conform_db"
_RUNS: Dict = {}
BS = "dr6=0xffff4ff0"  # DR6 of a single step: BS and the bits that read 1


def runs(hv):
    return runs_of(hv, GUEST, _RUNS)


def line(lines, name):
    got = [l for l in lines if l.startswith(name + ":")]
    return got[0] if len(got) == 1 else ""


def test_debug_exceptions_match_bare_bochs(hv):
    """Every dbg. line as on bare Bochs."""
    bare, want, r = runs(hv)
    dbg_want = family(want, "dbg.")
    assert_ok(len(dbg_want) == 13, bare, f"bare Bochs: {len(dbg_want)} dbg. lines, want 13")
    assert_same(r, dbg_want, family(comparable(r.guest_lines), "dbg."), "dbg. lines")
    assert_clean(r)
    assert_summary(r, "debug_exit", code=0, status=1)


def test_debug_exceptions_after_a_shadow_zap_match_bare_bochs(hv):
    """The same cases run again under the hypervisor right after HC_ZAP_ALL, so that the
    pages they touch (GDT, IDT, handlers, stack) take shadow-paging exits first, some during
    the delivery of the #DB, NMI or interrupt (re-injected, vmx/exit.c reinject_vectoring):
    each line as on bare Bochs, and each run took shadow faults."""
    bare, want, r = runs(hv)
    zapped = [l[len("HV zap "):] for l in r.guest_lines
              if l.startswith("HV zap dbg.") and " shadow_faults=" not in l and
              not l.startswith("HV zap dbg.cli_hlt:")]  # the hypervisor's only (above)
    dbg_want = family(want, "dbg.")
    assert_same(r, dbg_want, zapped, "dbg. lines after a zap")
    faults = {l.split()[2]: int(l.split("=")[-1]) for l in r.guest_lines
              if l.startswith("HV zap dbg.") and " shadow_faults=" in l}
    # one per compared case, and cli_hlt's
    assert_ok(len(faults) == len(dbg_want) + 1 and all(n >= 3 for n in faults.values()), r,
              f"shadow faults of the zapped runs: {faults}")


def test_single_step_over_sti_hlt_and_before_interrupts(hv):
    """The #DB owed for HLT (or for an ICR write the hypervisor emulated) is delivered before
    the interrupt or NMI due at the same boundary: after STI (not held back), after HLT when
    the timer wakes it, then the interrupt; the NMI at the #DB handler's entry. With IF=0 the
    #DB itself takes the CPU out of HLT."""
    bare, want, r = runs(hv)
    got = comparable(r.guest_lines)
    for name, start in (("dbg.sti_hlt", f"db@s+0/{BS} db@s+1/{BS} tmr@s+1 db@s+6/{BS}"),
                        ("dbg.step_self_nmi", f"nmi@h1 db@s+6/{BS} db@s+11/{BS}"),
                        ("dbg.step_self_ipi", f"db@s+6/{BS} tmr@s+6 db@s+11/{BS}")):
        assert_ok(start in line(want, name), bare, f"bare Bochs: {name} does not start {start}")
        assert_ok(line(got, name) == line(want, name), r,
                  f"{name}:\nbare: {line(want, name)}\n  hv: {line(got, name)}")
    # SDM (HLT): a debug exception resumes execution; bare Bochs stays halted (not run there).
    assert_ok(line(r.guest_lines, "HV dbg.cli_hlt") == "HV dbg.cli_hlt: n=5 " +
              " ".join(f"db@s+{i}/{BS}" for i in (0, 1, 6, 7, 8)) + " end", r,
              "HLT with IF=0 and TF=1: want the #DB after HLT and the guest going on")
    assert_ok(line(got, "dbg.sti_hlt_user") == f"dbg.sti_hlt_user: n=2 db@s+0/{BS} fault=13@s+0 fault",
              r, "CPL3: one #DB after STI, then HLT's #GP")


def test_held_back_debug_traps_after_exits(hv):
    """MOV SS holds back its data breakpoint's or single step's #DB past the next instruction;
    when the hypervisor completes that instruction (CPUID, IN) the #DB comes after it, once."""
    bare, want, r = runs(hv)
    got = comparable(r.guest_lines)
    for name, expect in (("dbg.ss_data_bp_cpuid", "n=1 db@s+2/dr6=0xffff0ff2 end"),
                         ("dbg.ss_data_bp_in", "n=1 db@s+1/dr6=0xffff0ff2 end"),
                         ("dbg.ss_step_cpuid", f"n=4 db@s+2/{BS} db@s+7/{BS}"),
                         ("dbg.ss_step_in", f"n=4 db@s+1/{BS} db@s+6/{BS}")):
        assert_ok(expect in line(want, name), bare, f"bare Bochs: {name} lacks {expect}")
        assert_ok(line(got, name) == line(want, name), r,
                  f"{name}:\nbare: {line(want, name)}\n  hv: {line(got, name)}")
