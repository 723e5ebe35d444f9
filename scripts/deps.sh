#!/bin/sh
# deps.sh - install (as root) or name the Debian packages the build and the tests need.
PKGS="gcc libc6-dev make binutils grub-pc-bin grub-common grub-efi-amd64-bin xorriso mtools \
bochs bochsbios vgabios bochs-term qemu-system-x86 ovmf libcmocka-dev python3-pytest gdb \
clang libclang-rt-14-dev acpica-tools"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq $missing >/dev/null || {
		echo "deps: apt-get failed; run: apt-get install -y$missing"; exit 1; }
else
	echo "deps: missing packages; run as root:"
	echo "  sudo apt-get install -y$missing"
	exit 1
fi
