#!/bin/sh
# linux-fetch.sh [DIR] - fetch the current kernel of Debian's cloud flavour and busybox-static
# into DIR (default build/linux): DIR/bzImage (the kernel), DIR/busybox (static), beside them
# DIR/config (the kernel's configuration), the two .debs, and DIR/fetched, which names the
# package versions those files came from. `make run GUEST=linux` runs it every time.
#
# "Current" is what apt's package lists say: linux-image-cloud-amd64 depends on the versioned
# linux-image-6.1.0-N-cloud-amd64; we take its -unsigned twin (the same bzImage without the
# Secure Boot signature) at apt's candidate version, and busybox-static's candidate. When
# DIR/fetched already names exactly those and the outputs exist, nothing is done (two apt-cache
# look-ups, a second or two). A .deb already in DIR is not downloaded again. When apt does not
# know the packages (empty lists) or a download fails (offline), an existing DIR/bzImage and
# DIR/busybox are used as they are, with a warning; without them the script fails with what to
# do. As root, empty or stale package lists are refreshed with `apt-get update`; `apt-get
# download` itself needs no root.
# Exit status: 0 with DIR/bzImage and DIR/busybox in place, 1 otherwise.
set -e
dir=${1:-build/linux}
meta=linux-image-cloud-amd64
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
root=0
[ "$(id -u)" = 0 ] && root=1

say() { echo "linux-fetch: $*"; }
cached() { [ -s "$dir/bzImage" ] && [ -s "$dir/busybox" ]; }
use_cache() {
	from="versions not recorded"
	[ -f "$dir/fetched" ] && from=$(tr '\n' ' ' < "$dir/fetched")
	say "warning: $1; using the cached kernel and busybox in $dir ($from)"
	exit 0
}
fail() {
	say "error: $*"
	exit 1
}

# The versioned kernel package and the candidate versions, from apt's lists (no network).
resolve() {
	kpkg=$(apt-cache depends "$meta" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*-cloud-amd64\)$/\1/p' | head -n 1)
	[ -n "$kpkg" ] || return 1
	# shellcheck disable=SC2046 # "package version" pairs, split on purpose
	set -- $(apt-cache policy "$kpkg-unsigned" "$kpkg" busybox-static 2>/dev/null |
		awk '/^[^ ].*:$/ { p = substr($0, 1, length($0) - 1) } /^ *Candidate: / && $2 != "(none)" { print p, $2 }')
	kver="" bver=""
	while [ $# -ge 2 ]; do
		case $1 in
		busybox-static) bver=$2 ;;
		"$kpkg"*) [ -z "$kver" ] && kpkg=$1 kver=$2 ;;  # -unsigned first, when apt has it
		esac
		shift 2
	done
	[ -n "$kver" ] && [ -n "$bver" ]
}

# apt-get download names a file PKG_VERSION_ARCH.deb, the epoch's ':' written as %3a.
debs() {
	want="$kpkg $kver
busybox-static $bver"
	kdeb="$dir/${kpkg}_$(echo "$kver" | sed 's/:/%3a/')_amd64.deb"
	bdeb="$dir/busybox-static_$(echo "$bver" | sed 's/:/%3a/')_amd64.deb"
}

if ! resolve; then
	cached && use_cache "apt's package lists do not know $meta and busybox-static"
	[ $root = 1 ] || fail "apt's package lists do not know $meta (empty or stale lists on a fresh machine): run 'sudo apt-get update', then this again"
	say "apt does not know $meta: apt-get update"
	apt-get update -qq || fail "apt-get update failed (no access to Debian's archive?)"
	resolve || fail "apt knows no $meta even after apt-get update: is this Debian 12 (bookworm) on amd64 with main enabled?"
fi
debs
if cached && [ "$(cat "$dir/fetched" 2>/dev/null)" = "$want" ]; then
	say "up to date: $kpkg $kver, busybox-static $bver in $dir"
	exit 0
fi

# Downloads the packages whose .deb is not in DIR yet.
download() {
	set --
	[ -s "$kdeb" ] || set -- "$kpkg=$kver"
	[ -s "$bdeb" ] || set -- "$@" "busybox-static=$bver"
	[ $# = 0 ] && return 0
	say "downloading $* from Debian's archive"
	# As root, apt would drop to its _apt user, which cannot write to a root-owned DIR.
	[ $root = 1 ] && set -- -o APT::Sandbox::User=root "$@"
	(cd "$dir" && apt-get download -q "$@")
}
debs
if ! download; then
	# Stale lists name a version the archive no longer has: as root, refresh them once.
	if ! { [ $root = 1 ] && say "download failed: apt-get update, then once more" &&
		apt-get update -qq && resolve && debs && download; }; then
		cached && use_cache "could not download the packages"
		fail "could not download $kpkg $kver / busybox-static $bver (no access to Debian's archive? stale package lists: 'sudo apt-get update')"
	fi
fi

# Unpack both and keep only what a boot needs; a file whose content did not change keeps its
# time stamp, so make rebuilds nothing.
tmp=$(mktemp -d "$dir/.unpack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$kdeb" "$tmp/k"
dpkg-deb -x "$bdeb" "$tmp/b"
set -- "$tmp"/k/boot/vmlinuz-*
[ -f "$1" ] || fail "$kdeb holds no boot/vmlinuz-*"
[ -f "$tmp/b/bin/busybox" ] || fail "$bdeb holds no bin/busybox"
install_if_changed() {
	cmp -s "$1" "$2" 2>/dev/null && return 0
	cp "$1" "$2.new" && mv -f "$2.new" "$2"
}
install_if_changed "$1" "$dir/bzImage"
install_if_changed "$tmp/b/bin/busybox" "$dir/busybox"
chmod 755 "$dir/busybox"
set -- "$tmp"/k/boot/config-*
[ -f "$1" ] && install_if_changed "$1" "$dir/config"
echo "$want" > "$dir/fetched"
# Older versions' packages are not needed any more.
for f in "$dir"/linux-image-*-cloud-amd64*_*.deb "$dir"/busybox-static_*.deb; do
	[ -f "$f" ] && [ "$f" != "$kdeb" ] && [ "$f" != "$bdeb" ] && rm -f "$f"
done
say "$kpkg $kver -> $dir/bzImage; busybox-static $bver -> $dir/busybox"
