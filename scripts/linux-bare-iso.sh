#!/bin/sh
# linux-bare-iso.sh OUT.iso BZIMAGE [INITRD] ["KERNEL CMDLINE"] - an ISO whose GRUB boots the
# Linux kernel directly (no hypervisor): the reference run of a Linux guest on bare Bochs
# (tests/system/test_linux.py compares the two; docs/linux.md). Boot it with
#   scripts/run-bochs.sh --iso OUT.iso --megs 256 --timeout 300
set -e
out=$1 bz=$2 initrd=${3:-}
kcmd=${4:-console=ttyS0,115200 loglevel=8 panic=-1}
[ -n "$out" ] && [ -f "$bz" ] || { echo "usage: $0 OUT.iso BZIMAGE [INITRD] [KERNEL CMDLINE]"; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/boot/grub"
cp "$bz" "$tmp/boot/vmlinuz"
rdline=""
if [ -n "$initrd" ]; then
	cp "$initrd" "$tmp/boot/initrd"
	rdline="	initrd /boot/initrd"
fi
cat > "$tmp/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
menuentry "linux" {
	linux /boot/vmlinuz $kcmd
$rdline
	boot
}
CFG
grub-mkrescue -o "$out" "$tmp" >/dev/null 2>&1 || { echo "linux-bare-iso: grub-mkrescue failed"; grub-mkrescue -o "$out" "$tmp"; exit 1; }
