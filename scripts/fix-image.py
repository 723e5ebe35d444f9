#!/usr/bin/env python3
"""fix-image.py ELF - make the position-independent hypervisor image one that GRUB loads.

The image is linked with -pie (linker.ld, docs/boot.md "Where the image runs") and applies
its own relocations at start-up (boot/entry.S): R_X86_64_RELATIVE, the one kind it knows.
This script checks that the link made no other kind, then changes the type of the section
holding them (.rela.dyn) from SHT_RELA to SHT_PROGBITS: GRUB's multiboot2 loader refuses any
ELF with a relocation section ("ELF files with relocs are not supported yet"), although the
bytes are only data that the image reads itself between __rela_start and __rela_end.
On failure it removes the image, so that make stops and nothing boots a broken one."""
import os
import struct
import sys

SHT_PROGBITS, SHT_RELA, SHT_REL = 1, 4, 9
R_X86_64_RELATIVE = 8


def fail(path, msg):
    print(f"fix-image: {path}: {msg}", file=sys.stderr)
    os.unlink(path)
    sys.exit(1)


def main(path):
    with open(path, "r+b") as f:
        elf = bytearray(f.read())
        if elf[:4] != b"\x7fELF" or elf[4] != 2:
            fail(path, "not a 64-bit ELF file")
        shoff, = struct.unpack_from("<Q", elf, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", elf, 0x3a)
        patched = 0
        for i in range(shnum):
            sh = shoff + i * shentsize
            sh_type, = struct.unpack_from("<I", elf, sh + 4)
            if sh_type == SHT_REL:
                fail(path, "a REL relocation section: boot/entry.S applies RELA only")
            if sh_type != SHT_RELA:
                continue
            off, size = struct.unpack_from("<QQ", elf, sh + 0x18)
            entsize, = struct.unpack_from("<Q", elf, sh + 0x38)
            for r in range(off, off + size, entsize or 24):
                r_info, = struct.unpack_from("<Q", elf, r + 8)
                if r_info & 0xffffffff != R_X86_64_RELATIVE:
                    fail(path, f"dynamic relocation of type {r_info & 0xffffffff} (only "
                         "R_X86_64_RELATIVE is applied by boot/entry.S): a pointer the "
                         "link cannot resolve, e.g. an undefined weak symbol")
            struct.pack_into("<I", elf, sh + 4, SHT_PROGBITS)
            patched += 1
        f.seek(0)
        f.write(elf)


if __name__ == "__main__":
    main(sys.argv[1])
