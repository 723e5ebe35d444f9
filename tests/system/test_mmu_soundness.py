"""Shadow-MMU soundness (issue 11): guests/mmu_sound.c pushes the shadow MMU where it broke.

One guest, five cases, each run under the hypervisor on its own (`case=NAME` on the guest's
command line) and compared, line by line, with the same case on bare Bochs (one bare run of
every case, the reference for the CPU: faults, error codes, what a read returns):

  pae_root  shadow_pages=64: root A the 16th oldest shadow page, A's directory written, the pool
            filled from another address space to exactly 0-3 free pages, CR3 back to A. The
            root fill must not be handed root A itself as a page directory: A's pages read
            its own data, 80 addresses it does not map #PF (error code 0). Also with
            mmu_audit=1 (an audit failure panics).
  memslot   (hypervisor only) a page table in a guest-created memslot; the slot deleted and
            added again, moved away (a new slot at the old address), shrunk and grown back:
            the guest's entry is 0, the access must #PF and the audit pass. Variants leave the
            table outside RAM while its shadow exists: the run must end with the hypervisor's
            "paging structure ... which is not RAM" (docs/mmu.md).
  emul      writes the hypervisor emulates: MOVSD from the APIC into a PTE (through a writable
            alias), REP MOVSD/STOSD through a self-mapped table across two page tables, REP
            STOSD from an unassigned MMIO page into two tables: the new entries must be used.
  mmio_pte  a device page's PTE rewritten (by that MOVSD) to point at RAM: the next read or
            write must reach RAM, not the device (the MMIO fast path's cached spte).
  smap      CR4.SMAP: STAC and a first access to a user page must not fault (the walker must
            see RFLAGS.AC); a user page onto the APIC used from CPL3, then at CPL0 with AC=0,
            must #PF; with AC=1 it works.

Every check line is "PASS name: ..." or "FAIL name: ..." ("HV PASS/FAIL" for the memslot
checks, which need the hypervisor); "HV audit NAME bad=N" follows each step (HC_AUDIT). A run
that hangs fails through its time limit with its serial log.
"""
import difflib
import re
from typing import Dict, List, Optional, Tuple

import pytest

from conftest import RunResult, assert_clean, assert_ok, assert_summary, cached_run
from test_paging import bare_guest_lines, bare_iso

GUEST = "mmu_sound"
HV_TIMEOUT = 60     # each case takes a few seconds; a hang is a failure at this limit
BARE_TIMEOUT = 90   # every case in one run
CASES = ["pae_root", "memslot", "emul", "mmio_pte", "smap"]
SMALL_POOL = "shadow_pages=64"
# guests/mmu_sound.c's scenarios with root A the 16th oldest page: free pages left when CR3
# goes back to A, and the address space that filled the pool.
RANK16_SCENARIOS = ["rank16.free0.C", "rank16.free1.D", "rank16.free2.C", "rank16.free3.D",
                    "rank16.free0.D", "rank16.free1.C"]

# Runs shared by the tests of this file: made once per session.
_RUNS: Dict[Tuple[str, str, str], RunResult] = {}


def _cached(hv, key, make) -> RunResult:
    return cached_run(hv, _RUNS, key, make)


def hv_run(hv, case: Optional[str], hv_cmdline: str = "") -> RunResult:
    gcmd = f"case={case}" if case else ""
    return _cached(hv, ("hv", gcmd, hv_cmdline), lambda: hv.bochs(
        hv.iso(GUEST, hv_cmdline=hv_cmdline, guest_cmdline=gcmd), timeout=HV_TIMEOUT))


def bare_run(hv) -> RunResult:
    def make():
        r = hv.bochs(bare_iso(hv, GUEST), timeout=BARE_TIMEOUT, subdir="bare")
        r.label = "bare-bochs"
        return r
    return _cached(hv, ("bare", "", ""), make)


def section(lines: List[str], case: str) -> Optional[List[str]]:
    """The lines between 'BEGIN case' and 'END case'; None when the case did not finish (the
    lines from BEGIN on are then in the report's serial log)."""
    try:
        i = lines.index(f"BEGIN {case}")
        j = lines.index(f"END {case}", i)
    except ValueError:
        return None
    return lines[i + 1:j]


def comparable(lines: List[str]) -> List[str]:
    return [l for l in lines if not l.startswith(("HV ", "BARE "))]


def failures(lines: List[str]) -> List[str]:
    return [l for l in lines if re.match(r"^(HV )?FAIL ", l) or l.startswith("UNEXPECTED")]


def bad_audits(lines: List[str]) -> List[str]:
    return [l for l in lines if re.match(r"^HV audit \S+ bad=", l) and not l.endswith(" bad=0")]


def bare_lines(hv) -> List[str]:
    bare = bare_run(hv)
    lines = bare_guest_lines(bare, "mmu_sound")
    assert_ok(lines and lines[-1] == "RESULT failures=0", bare,
              f"the bare-Bochs reference did not pass: {failures(lines) or lines[-1:]}")
    return lines


def check_case(hv, case: str, hv_cmdline: str = "", min_checks: int = 1):
    """The case under the hypervisor: it finishes, no FAIL, every audit 0, the same
    observations as on bare Bochs, a clean end."""
    want_all = section(bare_lines(hv), case)
    r = hv_run(hv, case, hv_cmdline)
    got_all = section(r.guest_lines, case)
    problems = []
    if got_all is None:
        last = r.guest_lines[-1] if r.guest_lines else "(none)"
        errors = [l for l in r.hv_lines if l.startswith("[hv E]")][:6]
        problems.append(f"the case did not finish; last guest line: {last}"
                        + ("; hypervisor:\n  " + "\n  ".join(errors) if errors else ""))
        got_all = r.guest_lines[r.guest_lines.index(f"BEGIN {case}") + 1:] \
            if f"BEGIN {case}" in r.guest_lines else []
    fails = failures(got_all)
    if fails:
        problems.append("failed checks:\n  " + "\n  ".join(fails))
    bad = bad_audits(got_all)
    if bad:
        problems.append("audits with bad sptes: " + "; ".join(bad))
    checks = [l for l in got_all if re.match(r"^(HV )?(PASS|FAIL) ", l)]
    if len(checks) < min_checks:
        problems.append(f"only {len(checks)} check lines (want at least {min_checks})")
    want, got = comparable(want_all or []), comparable(got_all)
    if want != got:
        diff = "\n".join(difflib.unified_diff(want, got, "bare-bochs", "hypervisor", lineterm="",
                                              n=0))
        problems.append(f"observations differ from bare Bochs ({len(want)} lines bare, "
                        f"{len(got)} under the hypervisor):\n{diff}")
    for check in (lambda: assert_clean(r), lambda: assert_summary(r, "debug_exit", code=0)):
        try:
            check()
        except AssertionError as e:
            problems.append(str(e))
    assert_ok(not problems, r, f"case {case}: " + "\n".join(problems))
    return r, got_all


def test_reference_run_on_bare_bochs(hv):
    """The guest on bare Bochs: every case that runs there passes (the expectations are the
    CPU's), no hypervisor line, the memslot case skipped."""
    bare = bare_run(hv)
    lines = bare_lines(hv)
    for case in CASES:
        assert_ok(section(lines, case) is not None, bare, f"no BEGIN/END {case}")
    assert_ok(not any(l.startswith("HV ") for l in lines), bare, "HV lines on bare Bochs")
    assert_ok("BARE memslot: no hypervisor, no memslots" in lines, bare, "memslot not skipped")
    assert_ok("smap: CPUID.7.0:EBX.SMAP=1" in lines, bare,
              "bare Bochs (corei7_skylake_x) must have SMAP: the smap case would not run")
    pae = section(lines, "pae_root")
    assert_ok(sum(l.startswith("PASS pae_root.") for l in pae) == 16, bare, "pae_root checks")


def test_freed_pae_root_is_not_handed_back_as_its_own_pd(hv):
    """Issue 11 item 1 (security): with shadow_pages=64, root A the 16th oldest page, its PD
    written, the pool filled to exactly 0-3 free pages from another address space, MOV CR3
    back to A: the dry pool zaps everything and reclaims the 16 oldest pages; root A must not
    come back as the PD being filled into it (entry d pointing at itself, the rest at sibling
    PDs: addresses A does not map would read shadow tables)."""
    r, lines = check_case(hv, "pae_root", SMALL_POOL, min_checks=16)
    # The guest brought the pool where the bug needs it: exactly d free pages when CR3 goes
    # back to A, or as full as the hypervisor allows when it zaps everything first (a fixed
    # hypervisor may keep pages in reserve).
    for tag in RANK16_SCENARIOS:
        d = int(re.match(r"rank16\.free(\d)", tag).group(1))
        exact = any(re.match(rf"HV pae_root\.{re.escape(tag)}: .*\({d} free\): switching back "
                             rf"to A$", l) for l in lines)
        allowed = any(l.startswith(f"HV pae_root.{tag}: the hypervisor zapped all at fill page")
                      for l in lines)
        assert_ok(exact or allowed, r, f"{tag}: the pool was not filled to {d} free pages before "
                  "the switch back to A, nor did the hypervisor refuse to fill it that far")


def test_freed_pae_root_with_mmu_audit(hv):
    """The same with the audit at every fault and root load (mmu_audit=1): a bad spte panics."""
    check_case(hv, "pae_root", SMALL_POOL + " mmu_audit=1", min_checks=16)


@pytest.mark.parametrize("case", ["pae_root", "emul", "mmio_pte", "smap"])
def test_case_with_every_fault_exiting(hv, case):
    """pf_bypass=off (docs/mmu.md, "Reflected faults without an exit"): every #PF exits, the
    guest's own faults are all injected by the hypervisor, empty sptes are zero; the same
    observations as on bare Bochs. (The other tests run with the default, pf_bypass=on.)"""
    pool = SMALL_POOL + " " if case == "pae_root" else ""
    check_case(hv, case, pool + "pf_bypass=off", min_checks=16 if case == "pae_root" else 1)


def test_page_table_in_a_replaced_memslot(hv):
    """Issue 11 item 2: a page table inside a guest-created memslot, the slot deleted and added
    again (fresh zeroed backing), moved away with a new slot at the old address, or shrunk
    and grown back: the guest's entry is 0 now, so the access must #PF and no shadow may keep
    the old translation (HC_AUDIT 0)."""
    r, lines = check_case(hv, "memslot", min_checks=7)
    for name in ("delete_readd", "move_away", "shrink_grow"):
        assert_ok(f"HV audit memslot.{name} bad=0" in lines, r, f"no audit after {name}")


@pytest.mark.parametrize("how", ["move", "shrink"])
def test_page_table_left_outside_ram_ends_the_run(hv, how):
    """The slot holding a page table in use moved away, or shrunk so that the table's page is
    cut off, then an access through it: the walk reads a paging structure outside RAM, which
    ends the run with a clear message (docs/mmu.md). A stale shadow would let the access
    through instead. (The guest's case=memslot_delete does the same with a deleted slot.)"""
    r = hv_run(hv, f"memslot_{how}")
    pt = 0x20001000 if how == "shrink" else 0x20000000
    m = r.find(rf"^\[guest\] HV memslot\.{how}: reading 0x30000000, whose page table at "
               rf"0x{pt:08x} is no longer RAM")
    assert_ok(m >= 0, r, "the variant did not reach its access")
    assert_ok(not failures(r.guest_lines), r, f"guest failures: {failures(r.guest_lines)}")
    assert_ok(r.find(rf"^\[hv E\] guest ended: guest page walk for 0x30000000 \(rip=0x[0-9a-f]+\)"
                     rf" reads a paging structure at 0x{pt:x}, which is not RAM") >= 0, r,
              f"want 'guest ended: guest page walk for 0x30000000 ... paging structure at "
              f"0x{pt:x}, which is not RAM'")
    assert_clean(r)
    assert_summary(r, "guest_error")


def test_emulated_writes_keep_shadows_coherent(hv):
    """Issue 11 item 3: MOVSD with the source on a device and the destination one of the
    guest's own PTEs (through a writable alias), and REP MOVSD/STOSD across the end of one page
    table into the next: every entry written is the one the next access uses."""
    check_case(hv, "emul", min_checks=19)


def test_mmio_spte_follows_a_rewritten_pte(hv):
    """Issue 11 item 4: the PTE of a device page, used a few times (MMIO spte cached, fast
    path), rewritten by an emulated MOVSD to point at RAM: the next read (and, for a dirty PTE,
    write) must reach RAM, not the device."""
    check_case(hv, "mmio_pte", min_checks=4)


def test_smap(hv):
    """Issue 11 item 5: CR4.SMAP. STAC then a first access to a user page (no shadow) must not
    fault, or a kernel that retries hangs; CLAC and a supervisor read of a user page #PF as on
    bare Bochs; a user MMIO page used from CPL3 (its MMIO spte caches U), then at CPL0: #PF
    with AC=0 (the fast path must check SMAP too), the device with AC=1."""
    r, lines = check_case(hv, "smap", min_checks=10)
    assert_ok("smap: CPUID.7.0:EBX.SMAP=1" in lines, r, "SMAP not offered to the guest")


def test_every_case_in_one_audited_run(hv):
    """All cases one after another in one run, shadow_pages=64 and mmu_audit=1: the cases must
    not disturb each other, and no audit point may find a bad spte."""
    bare = bare_lines(hv)
    r = hv_run(hv, None, SMALL_POOL + " mmu_audit=1")
    problems = []
    for case in CASES:
        got = section(r.guest_lines, case)
        if got is None:
            problems.append(f"case {case} did not finish")
            continue
        problems += failures(got) + bad_audits(got)
        if comparable(got) != comparable(section(bare, case)):
            problems.append(f"case {case}: observations differ from bare Bochs")
    problems += [l for l in r.hv_lines if l.startswith("[hv E]")][:6]
    assert_ok(not problems, r, "\n".join(problems[:16]))
    assert_ok("RESULT failures=0" in r.guest_lines, r, "guest saw failures")
    assert_clean(r)
    assert_summary(r, "debug_exit", code=0)
