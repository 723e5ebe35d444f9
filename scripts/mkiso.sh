#!/bin/sh
# mkiso.sh OUT.iso HV.elf GUEST.elf "HV CMDLINE" ["GUEST CMDLINE"] - a GRUB rescue ISO (BIOS, plus UEFI
# when grub-efi-amd64-bin is installed) that boots the hypervisor with the guest as its module.
set -e
out=$1 hv=$2 guest=$3 cmdline=$4 gcmd=${5:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/boot/grub"
cp "$hv" "$tmp/boot/hv.elf"
modline=""
if [ -n "$guest" ] && [ "$guest" != none ]; then
	cp "$guest" "$tmp/boot/guest.elf"
	modline="	module2 /boot/guest.elf guest $gcmd"
fi
cat > "$tmp/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
menuentry "hypervisor" {
	multiboot2 /boot/hv.elf $cmdline
$modline
	boot
}
CFG
grub-mkrescue -o "$out" "$tmp" >/dev/null 2>&1 || { echo "mkiso: grub-mkrescue failed"; grub-mkrescue -o "$out" "$tmp"; exit 1; }
