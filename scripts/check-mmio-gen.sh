#!/bin/sh
# check-mmio-gen.sh [ROOT] - fails when C or assembly source outside mmu/ and tests/ names the
# MMIO spte generation width (MMIO_GEN_BITS, MMIO_GEN_MASK) or spte.h's generation helpers
# (mmio_gen_of, mmio_spte_current). The width is a build option that only mmu/ is compiled
# with (the narrow build recompiles exactly mmu/*.c), so code elsewhere would silently use the
# default width in the narrow build; it asks the MMU instead (mmu_mmio_spte_current,
# mmu_mmio_gen_bits in mmu/mmu.h). Run by `make all`. Docs and the Makefile may name the
# option: they are not compiled.
root=${1:-.}
pattern='\b(MMIO_GEN_BITS|MMIO_GEN_MASK|mmio_gen_of|mmio_spte_current)\b'
hits=$(cd "$root" && find . \( -path ./mmu -o -path ./tests -o -path ./build -o -path ./.git \) \
	-prune -o -type f \( -name '*.c' -o -name '*.h' -o -name '*.S' \) -print |
	sort | xargs grep -nE "$pattern" /dev/null)
[ -z "$hits" ] && exit 0
echo "error: the MMIO generation width is mmu/'s alone (docs/mmu.md); outside mmu/ use"
echo "       mmu_mmio_spte_current() / mmu_mmio_gen_bits() from mmu/mmu.h instead of:"
echo "$hits" | sed 's/^\.\//  /'
exit 1
