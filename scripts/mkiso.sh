#!/bin/sh
# mkiso.sh OUT.iso HV.elf GUEST "HV CMDLINE" ["GUEST CMDLINE" [INITRD]] - a GRUB rescue ISO (BIOS, plus
# UEFI when grub-efi-amd64-bin is installed) that boots the hypervisor with the guest as its module.
# GUEST is a multiboot kernel (module string "guest GUEST CMDLINE") or a Linux bzImage ("HdrS" at
# 0x202; module string = GUEST CMDLINE, the kernel command line), or "none". INITRD, when given and
# not empty, is a second module2 line (the Linux guest's initrd; a multiboot guest refuses it).
# GFXPAYLOAD=MODE in the environment sets GRUB's gfxpayload (e.g. "text": EGA text for the
# hypervisor's screen console instead of the graphics mode it asks for; "1280x1024x32"); after
# the multiboot2 line, which sets it from the hypervisor's framebuffer tag.
# MKISO_GRUB_CMDS, when set, is put into the menu entry before `multiboot2` (tests use it for
# `cutmem`, which takes a range away from GRUB and from the memory map).
set -e
out=$1 hv=$2 guest=$3 cmdline=$4 gcmd=${5:-} initrd=${6:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/boot/grub"
cp "$hv" "$tmp/boot/hv.elf"
modline=""
if [ -n "$guest" ] && [ "$guest" != none ]; then
	if [ "$(dd if="$guest" bs=1 skip=514 count=4 2>/dev/null)" = HdrS ]; then
		cp "$guest" "$tmp/boot/vmlinuz"
		modline="	module2 /boot/vmlinuz $gcmd"
	else
		cp "$guest" "$tmp/boot/guest.elf"
		modline="	module2 /boot/guest.elf guest $gcmd"
	fi
fi
if [ -n "$initrd" ]; then
	cp "$initrd" "$tmp/boot/initrd"
	modline="$modline
	module2 /boot/initrd initrd"
fi
# GRUB's own console: the serial port and speed the hypervisor's console uses (serial=PORT[,BAUD],
# baud=; docs/boot.md), and the screen, so that a GRUB error shows where the hypervisor's
# messages would.
port=0x3f8 speed=115200
for w in $cmdline; do
	case $w in
	serial=*)
		v=${w#serial=}
		p=${v%%,*}
		case $v in *,*) speed=${v#*,} ;; esac
		case $p in
		com1) port=0x3f8 ;; com2) port=0x2f8 ;; com3) port=0x3e8 ;; com4) port=0x2e8 ;;
		*) port=$p ;;
		esac ;;
	baud=*) speed=${w#baud=} ;;
	esac
done
# The video drivers GRUB needs to set the graphics mode the hypervisor's framebuffer tag asks
# for (its screen console, docs/boot.md): VBE under BIOS, GOP (or UGA) under UEFI. Without one
# GRUB hands over EGA text (BIOS, when the VGA BIOS has VBE) or no screen. Not all_video: where
# VBE is missing its planar "vga" driver sets 640x480 indexed colour, which is not drawn.
cat > "$tmp/boot/grub/grub.cfg" <<CFG
if [ "\$grub_platform" = efi ]; then insmod efi_gop; insmod efi_uga; else insmod vbe; fi
serial --port=$port --speed=$speed
terminal_input serial console
terminal_output serial console
set timeout=0
set default=0
menuentry "hypervisor" {
	${MKISO_GRUB_CMDS:-}
	multiboot2 /boot/hv.elf $cmdline
$modline
	${GFXPAYLOAD:+set gfxpayload=$GFXPAYLOAD}
	boot
}
CFG
grub-mkrescue -o "$out" "$tmp" >/dev/null 2>&1 || { echo "mkiso: grub-mkrescue failed"; grub-mkrescue -o "$out" "$tmp"; exit 1; }
