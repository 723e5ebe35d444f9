"""Shadow MMU, memslots and generation-numbered MMIO sptes, from inside guests (Bochs):
the MMIO fast path, moving a memslot-backed device window (old address unserved, new one
served, no shadow page zapped), memslot hypercalls and their refusals, the audit after each
step; and generation wrap-around on the narrow build (4 generation bits)."""
from conftest import BUILD, assert_clean, assert_ok, assert_summary

NARROW = BUILD / "hv-narrow.elf"


def _guest_passed(r):
    assert_ok(any("audit at every named point" in l for l in r.hv_lines), r,
              "the run was not audited (mmu_audit=1)")
    fails = [l for l in r.guest_lines if l.startswith("FAIL")]
    assert_ok(not fails, r, f"guest checks failed: {fails}")
    assert_ok("RESULT failures=0" in r.guest_lines, r, "no 'RESULT failures=0' line")
    assert_clean(r)
    assert_summary(r, "debug_exit", code=0, status=1)


def test_memslots_and_mmio(hv):
    r = hv.boot_bochs("memslots", hv_cmdline="mmu_audit=1")
    _guest_passed(r)
    passed = [l for l in r.guest_lines if l.startswith("PASS ")]
    assert_ok(len(passed) >= 25, r, f"only {len(passed)} checks passed")
    assert_ok(r.sint("mmu.mmio_fast") >= 99, r, "summary: fewer than 99 MMIO fast-path hits")
    assert_ok(r.sint("mmu.memslot_changes") >= 6, r, "summary: memslot changes not counted")
    assert_ok(r.sint("mmu.zap_all") == 0, r, "summary: a zap-all happened")


def test_generation_wraparound_narrow_build(hv):
    r = hv.boot_bochs("genwrap", hv_cmdline="mmu_audit=1", hv_elf=NARROW)
    assert_ok("MMIO generation bits: 4" in r.guest_lines, r, "not the narrow build")
    _guest_passed(r)
    assert_ok(r.sint("mmu.gen_wraps") >= 5, r, "summary: fewer than 5 generation wraps")
    assert_ok(r.sint("mmu.zap_all") >= 5, r, "summary: fewer than 5 zap-alls")


def test_generation_default_width(hv):
    r = hv.boot_bochs("genwrap", hv_cmdline="mmu_audit=1")
    assert_ok("MMIO generation bits: 19" in r.guest_lines, r, "default build is not 19 bits")
    _guest_passed(r)
    assert_ok(r.sint("mmu.gen_wraps") == 0, r, "a wrap in the default build")


def test_paging_smoke_cr3_switch_reuses_shadows(hv):
    """A 32-bit paging guest (4 KiB and 4 MiB pages) switches between two page directories 40
    times: every switch finds its shadow pages in the cache (sp_reused grows, nothing is
    rebuilt), and MMIO through a guest mapping reaches the device."""
    r = hv.boot_bochs("pgsmoke", hv_cmdline="mmu_audit=1")
    _guest_passed(r)
    grew = [l for l in r.guest_lines if l.startswith("sp_reused grew by ")]
    assert_ok(grew and int(grew[0].split()[-1]) >= 40, r, f"shadow pages not reused: {grew}")
    assert_ok(r.sint("mmu.sp_created") < 40, r, "shadow pages rebuilt on CR3 switches")
