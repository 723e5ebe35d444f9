#!/bin/sh
# check-defines.sh [ROOT] - fails when one macro name is #defined in more than one file of the
# hypervisor (arch/ kernel/ drivers/ emul/ mmu/ devices/ vmx/ debug/ hv/ boot/; tests/ and
# guests/ are separate programs). Each hardware fact (a vector, a bit, a register or MSR
# number) is written once, in the header of its layer (arch/x86.h for the architectural ones,
# STYLE.md point 13); two files defining one name is either a copied fact that will drift or a
# local name that hides another: rename the local one. Several #defines of a name in one file
# (#ifdef alternatives, a default under #ifndef) count once. Run by `make check`.
#
# Exceptions: ALLOW below, names separated by spaces, each with its reason in a comment line
# above it. Empty: every duplicate found so far was renamed or moved to one header.
root=${1:-.}
ALLOW=''
hits=$(cd "$root" && for d in arch kernel drivers emul mmu devices vmx debug hv boot; do
		[ -d "$d" ] && find "$d" -type f \( -name '*.c' -o -name '*.h' -o -name '*.S' \)
	done | sort | xargs -r awk '
	match($0, /^[ \t]*#[ \t]*define[ \t]+[A-Za-z_][A-Za-z0-9_]*/) {
		name = substr($0, RSTART, RLENGTH)
		sub(/^[ \t]*#[ \t]*define[ \t]+/, "", name)
		if (!((name, FILENAME) in seen)) {
			seen[name, FILENAME] = 1
			files[name] = files[name] " " FILENAME ":" FNR
			count[name]++
		}
	}
	END { for (n in count) if (count[n] > 1) print n ":" files[n] }' | sort)
for name in $ALLOW; do
	hits=$(echo "$hits" | grep -v "^$name:")
done
[ -z "$hits" ] && exit 0
echo "error: macro names defined in more than one file (define each once, in the header of"
echo "       its layer: arch/x86.h for x86 facts; rename a local name that collides):"
echo "$hits" | sed 's/^/  /'
exit 1
