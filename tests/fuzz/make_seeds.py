#!/usr/bin/env python3
"""make_seeds.py - writes the seed corpora (corpus/NAME/) and the reproducers of known bugs
(repro/NAME/) for the harnesses in this directory. Each seed is a small, meaningful input in
the harness's own input format (see the comment at the top of fuzz_NAME.c). Deterministic:
running it again rewrites the same files. Usage: python3 make_seeds.py (from anywhere)."""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def u8(v): return struct.pack('<B', v & 0xff)
def u16(v): return struct.pack('<H', v & 0xffff)
def u32(v): return struct.pack('<I', v & 0xffffffff)
def u64(v): return struct.pack('<Q', v & 0xffffffffffffffff)


def write_all(kind, name, seeds):
    d = os.path.join(HERE, kind, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for fname, data in seeds.items():
        with open(os.path.join(d, fname), 'wb') as f:
            f.write(data)


# ---- fuzz_emulate: mode, fault_after, RFLAGS, RIP, 16 register selectors, 6 segment bases,
# instruction bytes. Register selector: 00xxxxxx RAM (x * 0x400), 01xxxxxx device window
# (0x20000 + x * 8), 10xxxxxx small value x, 11...... edges.

def emu(mode, insn, regs=None, fault_after=0, rflags=0x2, rip=0x1000, segs=None, pio=True):
    r = {'rax': 0x40, 'rcx': 0x85, 'rdx': 0x83, 'rbx': 0x02, 'rsp': 0x20, 'rbp': 0x04,
         'rsi': 0x10, 'rdi': 0x18}
    r.update(regs or {})
    names = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi']
    sel = [r.get(n, 0x08) for n in names] + [r.get('r%d' % i, 0x08) for i in range(8, 16)]
    m = {16: 0, 32: 1, 64: 2}[mode] | (0 if pio else 0x80)
    return (u8(m) + u8(fault_after) + u16(rflags) + u16(rip) + bytes(sel) +
            bytes(segs or [0] * 6) + bytes(insn))


EMULATE = {
    'mov-mmio-store-64': emu(64, [0x89, 0x08]),                      # mov [rax], ecx
    'mov-moffs-load-32': emu(32, [0xa1, 0x00, 0x00, 0x02, 0x00]),    # mov eax, [0x20000]
    'movzx-riprel-64': emu(64, [0x0f, 0xb7, 0x05, 0x10, 0x00, 0x00, 0x00]),
    'add-sib-imm32-64': emu(64, [0x48, 0x81, 0x44, 0x98, 0x10, 0x78, 0x56, 0x34, 0x12],
                            regs={'rbx': 0x81}),
    'lock-cmpxchg-64': emu(64, [0xf0, 0x0f, 0xb1, 0x0b]),           # lock cmpxchg [rbx], ecx
    'xchg-bx-si-16': emu(16, [0x86, 0x00], segs=[0, 0, 0, 0x81, 0, 0]),
    'bt-reg-offset-64': emu(64, [0x48, 0x0f, 0xa3, 0x08], regs={'rcx': 0x01}),
    'push-pop-mem-64': emu(64, [0xff, 0x30]),
    'pop-mem-32': emu(32, [0x8f, 0x00]),
    'mov-imm64-64': emu(64, [0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8]),
    'rep-movsb-16': emu(16, [0xf3, 0xa4]),
    'rep-stosq-capped-64': emu(64, [0xf3, 0x48, 0xab], regs={'rcx': 0xc2}),
    'repne-scasb-64': emu(64, [0xf2, 0xae]),
    'repe-cmpsd-32': emu(32, [0xf3, 0xa7], rflags=0x402),            # DF=1
    'rep-outsb-32': emu(32, [0xf3, 0x6e]),
    'rep-insw-16': emu(16, [0xf3, 0x66, 0x6d]),
    'movs-fault-3rd-64': emu(64, [0xf3, 0xa5], fault_after=3),
    'fs-override-64': emu(64, [0x64, 0x8b, 0x03], segs=[0, 0, 0, 0, 0x90, 0]),
    'too-long-64': emu(64, [0x66] * 15 + [0x89, 0x08]),              # #GP past 15 bytes
    'ip-wrap-16': emu(16, [0x89, 0x08], rip=0xffff),
    'noncanonical-64': emu(64, [0x89, 0x08], regs={'rax': 0xc1}),    # rax = 2^47
    'neg-byte-mmio-32': emu(32, [0xf6, 0x18]),
}

# ---- fuzz_gwalk: mode, flags|ram_top, access, MAXPHYADDR - 32, CR3, gva, then
# (u16 offset, u64 value) entries.

NONE, M32, PAE, LONG = 0, 1, 2, 3
WP, NXE, PSE, SMEP, SMAP, AC = 1, 2, 4, 8, 16, 32
TOP_ALL, TOP_64K, TOP_1M, TOP_4G = 0, 0x40, 0x80, 0xc0
WRITE, USER, FETCH, IMPLICIT = 1, 2, 4, 8
P, RW, US, A, D, PS, G = 1, 2, 4, 0x20, 0x40, 0x80, 0x100
XD = 1 << 63


def gw(mode, flags, acc, maxphy, cr3, gva, entries):
    out = u8(mode) + u8(flags) + u8(acc) + u8(maxphy - 32) + u64(cr3) + u64(gva)
    for off, val in entries:
        out += u16(off) + u64(val)
    return out


def long_va(i4, i3, i2, i1, off=0):
    return (i4 << 39) | (i3 << 30) | (i2 << 21) | (i1 << 12) | off


LVA = long_va(1, 2, 3, 4, 0x123)
SELF = long_va(5, 5, 5, 5, 0x28)  # the PML4 entry 5 points at the PML4 itself

GWALK = {
    'paging-off': gw(NONE, 0, WRITE, 36, 0, 0xdeadbeef, []),
    '32-4k-user-write': gw(M32, WP, WRITE | USER, 36, 0x1000, 0x00403123,
                           [(0x1004, 0x2000 | P | RW | US), (0x200c, 0x5000 | P | RW | US)]),
    '32-4m-pse36': gw(M32, PSE | TOP_64K, 0, 36, 0x1000, 0x00403123,
                      [(0x1004, 0x00400000 | (0x5 << 13) | P | RW | PS | G)]),
    '32-ps-without-pse': gw(M32, 0, 0, 36, 0x1000, 0x00403123,
                            [(0x1004, 0x2000 | P | PS), (0x200c, 0x5000 | P)]),
    'pae-4k-nx-fetch': gw(PAE, NXE | SMEP, FETCH, 40, 0x3000, 0x00201000,
                          [(0x3000, 0x4000 | P), (0x4008, 0x6000 | P | RW),
                           (0x6008, 0x7000 | P | XD)]),
    'pae-2m': gw(PAE, WP, WRITE, 40, 0x3020, 0x40200123,
                 [(0x3028, 0x4000 | P), (0x4008, 0x200000 | P | RW | PS)]),
    'pae-pdpte-reserved': gw(PAE, 0, 0, 36, 0x3000, 0, [(0x3000, 0x4000 | P | 0x6)]),
    'long-4k-smap': gw(LONG, SMAP | AC | NXE, WRITE, 46, 0x1000, LVA,
                       [(0x1008, 0x2000 | P | RW | US), (0x2010, 0x3000 | P | RW | US),
                        (0x3018, 0x4000 | P | RW | US), (0x4020, 0x9000 | P | RW | US)]),
    'long-2m-implicit': gw(LONG, SMAP, IMPLICIT, 46, 0x1000, LVA,
                           [(0x1008, 0x2000 | P | RW | US), (0x2010, 0x3000 | P | RW | US),
                            (0x3018, 0x800000 | P | RW | US | PS)]),
    'long-1g': gw(LONG, WP, USER, 46, 0x1000, LVA,
                  [(0x1008, 0x2000 | P | RW | US), (0x2010, 0x40000000 | P | US | PS)]),
    'long-rsvd-maxphy': gw(LONG, 0, 0, 36, 0x1000, LVA,
                           [(0x1008, 0x2000 | P | RW | (1 << 40))]),
    'long-self-map-restart': gw(LONG, 0, WRITE, 46, 0x1000, SELF, [(0x1028, 0x1000 | P | RW)]),
    'long-bad-table': gw(LONG, TOP_64K, 0, 46, 0x1000, LVA, [(0x1008, 0x200000 | P | RW)]),
}

# ---- fuzz_mb2: a multiboot2 information block.


def mb2_tag(t, payload):
    body = u32(t) + u32(8 + len(payload)) + payload
    return body + b'\0' * (-len(body) % 8)


def mb2_block(tags):
    body = b''.join(tags) + mb2_tag(0, b'')
    return u32(8 + len(body)) + u32(0) + body


def mmap_tag(entries):
    return mb2_tag(6, u32(24) + u32(0) + b''.join(u64(b) + u64(l) + u32(t) + u32(0)
                                                  for b, l, t in entries))


def efi_tag(descs):
    return mb2_tag(17, u32(48) + u32(1) + b''.join(
        u32(t) + u32(0) + u64(phys) + u64(0) + u64(pages) + u64(0xf) + u64(0)
        for t, phys, pages in descs))


MB2 = {
    'minimal': mb2_block([]),
    'full': mb2_block([
        mb2_tag(1, b'guest=hello loglevel=debug\0'),
        mb2_tag(2, b'GRUB 2.06\0'),
        mb2_tag(4, u32(639) + u32(130048)),
        mmap_tag([(0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0x100000, 0x7ee0000, 1),
                  (0xfffc0000, 0x40000, 2)]),
        mb2_tag(3, u32(0x200000) + u32(0x210000) + b'hello.elf\0'),
        mb2_tag(14, b'RSD PTR ' + bytes(12)),
        mb2_tag(15, b'RSD PTR ' + bytes(28)),
        mb2_tag(21, u32(0x200000)),  # unknown: skipped
    ]),
    'efi-mmap': mb2_block([efi_tag([(7, 0, 0x9f), (3, 0x100000, 0x100), (9, 0x7f00000, 0x10)])]),
    'both-maps': mb2_block([mmap_tag([(0, 0x9fc00, 1)]), efi_tag([(7, 0, 0x9f)])]),
    'unterminated-cmdline': mb2_block([mb2_tag(1, b'abc')]),
    'bad-tag-size': u32(24) + u32(0) + u32(1) + u32(100) + mb2_tag(0, b''),
}

# ---- fuzz_guest_load: a multiboot (v1) kernel image.

MB1_MAGIC = 0x1badb002


def mb1_header(flags, aout=None):
    h = u32(MB1_MAGIC) + u32(flags) + u32(-(MB1_MAGIC + flags))
    if aout:
        h += b''.join(u32(x) for x in aout)
    return h


def elf32(entry, segs, length=0x300, hdr_off=0x200):
    """segs: (offset, paddr, filesz, memsz)."""
    img = bytearray(length)
    img[0:16] = b'\x7fELF' + bytes([1, 1, 1]) + bytes(9)
    struct.pack_into('<HHIIIIIHHHHHH', img, 16, 2, 3, 1, entry, 52, 0, 0, 52, 32, len(segs),
                     40, 0, 0)
    for i, (off, paddr, filesz, memsz) in enumerate(segs):
        struct.pack_into('<IIIIIIII', img, 52 + 32 * i, 1, off, paddr, paddr, filesz, memsz,
                         5, 0x1000)
    h = mb1_header(3)
    img[hdr_off:hdr_off + len(h)] = h
    return bytes(img)


def elf64(entry, segs, length=0x400, hdr_off=0x200):
    img = bytearray(length)
    img[0:16] = b'\x7fELF' + bytes([2, 1, 1]) + bytes(9)
    struct.pack_into('<HHIQQQIHHHHHH', img, 16, 2, 62, 1, entry, 64, 0, 0, 64, 56, len(segs),
                     64, 0, 0)
    for i, (off, paddr, filesz, memsz) in enumerate(segs):
        struct.pack_into('<IIQQQQQQ', img, 64 + 56 * i, 1, 5, off, paddr, paddr, filesz, memsz,
                         0x1000)
    h = mb1_header(3)
    img[hdr_off:hdr_off + len(h)] = h
    return bytes(img)


def aout(length=0x200, hoff=0x40, load=0x100000, load_end=0, bss_end=0x101000, entry=0x100080):
    img = bytearray((i * 7) & 0xff for i in range(length))
    h = mb1_header(0x10003, [load + hoff, load, load_end, bss_end, entry])
    img[hoff:hoff + len(h)] = h
    return bytes(img)


GUEST_LOAD = {
    'elf32': elf32(0x100000, [(0, 0x100000, 0x300, 0x1300)]),
    'elf32-two-segments': elf32(0x100010, [(0, 0x100000, 0x100, 0x100),
                                           (0x100, 0x200000, 0x200, 0x2000)]),
    'elf64': elf64(0x100000, [(0, 0x100000, 0x400, 0x400), (0x100, 0x300000, 0, 0x1000)]),
    'aout-kludge': aout(),
    'aout-load-end': aout(load_end=0x100100, bss_end=0),
    'boot-area-overlap': elf32(0x1000, [(0, 0x1000, 0x300, 0x300)]),
    'no-header': bytes(64),
}

# ---- fuzz_memslot: phys_bits - 32, then 8-byte requests: op|id<<3, gfn, count, hpa, extras.
ADD, DEL, MOVE, RESIZE = 0, 1, 2, 3


def ms_req(op, slot_id, gfn=0, count=0, hpa_page=0, extra=0):
    return u8(op | (slot_id << 3)) + u16(gfn) + u16(count) + u16(hpa_page) + u8(extra)


MEMSLOT = {
    'add-move-resize-delete': u8(4) + b''.join([
        ms_req(ADD, 1, 0x10, 0x20, 0x100), ms_req(ADD, 2, 0x40, 0x10, 0x200),
        ms_req(ADD, 3, 0x38, 0x10, 0x300),             # overlaps slot 2: refused
        ms_req(MOVE, 1, 0x18), ms_req(RESIZE, 2, 0, 0x30, 0x400),
        ms_req(MOVE, 2, 0x30),                         # overlaps slot 1: refused
        ms_req(DEL, 1), ms_req(DEL, 1)]),
    'edges': u8(20) + b''.join([
        ms_req(ADD, 5, 0x8000 | 0x10, 0x10, 1),        # ends exactly at max_gfn
        ms_req(ADD, 6, 0xc000, 0x2, 2),                # wraps the gfn space
        ms_req(ADD, 0, 0x5, 0x3, 3, 0x40),             # id MEMSLOT_ID_MAX
        ms_req(ADD, 8, 0x9, 0x1, 0x8004, 0xc0),        # id too big, misaligned hpa
        ms_req(ADD, 9, 0x20, 0x0, 4),                  # zero pages
        ms_req(ADD, 10, 0x30, 0x2, 5, 0x21),           # unknown flag
        ms_req(RESIZE, 5, 0, 0x11, 6)]),               # grows past max_gfn
    # 64 slots (ids 0..63), then a 65th: the table is full
    'fill': u8(0) + b''.join(ms_req(ADD, i, 4 * i, 2, i) for i in range(32)) +
    b''.join(ms_req(ADD, i, 0x200 + 4 * i, 2, i, 0x80) for i in range(32)) +
    ms_req(ADD, 0, 0x300, 1, 0, 0x40) + ms_req(DEL, 5) + ms_req(ADD, 0, 0x300, 1, 0, 0x40),
}

# ---- fuzz_hypercall: flags (bit 0: 32-bit paging, bit 1: long mode), then 10-byte exits:
# kind, id, gpa, size, flags/error code, fault address, call-number bits.
FAULT, HADD, HDEL, HMOVE, HRESIZE, OTHER, CPL3 = 0, 1, 2, 3, 4, 5, 7
EC_W, EC_U, EC_I = 2, 4, 16


def hx(kind, slot_id=0, gpa_page=0, pages=0, fl=0, la_page=0, hi=0):
    return u8(kind) + u8(slot_id) + u16(gpa_page) + u16(pages) + u8(fl) + u16(la_page) + u8(hi)


def hcall(nr, arg=0):
    return hx(OTHER | (nr << 3), arg)


LIFE = [
    hx(FAULT, la_page=0x10, fl=EC_W), hx(FAULT, la_page=0x300),   # RAM, then MMIO
    hx(FAULT, la_page=0x300),                                     # MMIO again: fast path
    hx(HADD, 2, 0x300, 8), hx(FAULT, la_page=0x300, fl=EC_W),     # the MMIO spte is stale
    hx(HMOVE, 2, 0x340), hx(FAULT, la_page=0x342),
    hx(HRESIZE, 2, 0, 16), hx(FAULT, la_page=0x34f, fl=EC_W),
    hx(HADD, 3, 0x350, 4, 1), hx(FAULT, la_page=0x351, fl=EC_W),  # read-only slot
    hcall(6), hcall(5, 6), hcall(7), hcall(0),
    hx(HDEL, 2), hx(FAULT, la_page=0x342),
    hx(HDEL, 1), hx(FAULT, la_page=0x1ff9),                      # the device window
]
HYPERCALL = {
    'life-paging-off': u8(0) + b''.join(LIFE),
    'life-32bit-paging': u8(1) + b''.join(LIFE),
    'life-long-mode': u8(2) + b''.join(LIFE),
    # 16 MiB slot (the whole budget), a second slot (ENOMEM), a shrink (ENOMEM while the
    # old backing counts), delete, then the second one fits
    'budget': u8(0) + b''.join([hx(HADD, 2, 0x800, 0xd000), hx(HADD, 3, 0x300, 1),
                                hx(HRESIZE, 2, 0, 0xd001), hx(HDEL, 2), hx(HADD, 3, 0x300, 1)]),
    # 40 memslot changes with MMIO sptes between them: the narrow build's 4-bit MMIO
    # generation wraps (and zaps everything) twice
    'gen-wrap': u8(0) + b''.join(hx(HADD, 2, 0x300, 2) + hx(FAULT, la_page=0x400) +
                                 hx(FAULT, la_page=0x400) + hx(HDEL, 2) for _ in range(16)),
    'refusals': u8(2) + b''.join([hx(HADD, 0, 0x300, 1), hx(HADD, 2, 0xc300, 1),
                                  hx(HADD, 2, 0x300, 0xc001), hx(HADD, 0x80, 0x300, 1),
                                  hx(HDEL, 0), hx(HMOVE, 0, 0x400), hx(HRESIZE, 1, 0, 2),
                                  hx(HDEL, 9), hx(CPL3, 2, 0x300, 1, hi=2),
                                  hx(OTHER, 0, hi=1)]),
}

# ---- fuzz_linux_boot: flags, command-line length, initrd size (16 KiB units), hole position
# (256 KiB units), then a bzImage. Flags: bit 0 64-bit entry, 1 initrd, 2 RSDP, 3-4 RAM
# (2/4/6/8 MiB), 5 reserved hole, 6 no command line.

def bzimage(setup_sects=1, pm_size=0x400, version=0x020f, loadflags=0x01, pref=0x100000,
            init_size=0x80000, align=0x100000, reloc=1, xlf=0x03, cmdline_size=0x7ff,
            initrd_max=0x7fffffff, hdr_len=0x6a):
    ssize = ((setup_sects or 4) + 1) * 512
    img = bytearray(ssize + pm_size)
    for i in range(len(img)):
        img[i] = (i * 13 + 1) % 127 + 1
    def put(off, data):
        img[off:off + len(data)] = data
    put(0x1f1, u8(setup_sects)); put(0x1f4, u32(pm_size // 16)); put(0x1fe, u16(0xaa55))
    put(0x200, u8(0xeb) + u8(hdr_len)); put(0x202, b'HdrS'); put(0x206, u16(version))
    put(0x210, u8(0) + u8(loadflags)); put(0x214, u32(0x100000))
    put(0x218, u32(0) + u32(0)); put(0x224, u16(0) + u8(0) + u8(0) + u32(0))
    put(0x22c, u32(initrd_max)); put(0x230, u32(align)); put(0x234, u8(reloc) + u8(20))
    put(0x236, u16(xlf)); put(0x238, u32(cmdline_size))
    put(0x248, u32(0x40) + u32(0x100)); put(0x250, u64(0)); put(0x258, u64(pref))
    put(0x260, u32(init_size))
    return bytes(img)


def lb(flags, image, cl_len=20, ird=4, hole=0):
    return u8(flags) + u8(cl_len) + u8(ird) + u8(hole) + image


LINUX_BOOT = {
    'plain-32bit': lb(0x00, bzimage()),
    'initrd-rsdp-8m': lb(0x1e, bzimage(), ird=40),
    'entry64-4m': lb(0x09, bzimage()),
    'entry64-no-xlf': lb(0x01, bzimage(xlf=0x02)),
    'hole-at-pref': lb(0x3a, bzimage(), hole=4),
    'not-relocatable': lb(0x0a, bzimage(reloc=0, pref=0x200000)),
    'setup-sects-0': lb(0x02, bzimage(setup_sects=0)),
    'protocol-2-11': lb(0x00, bzimage(version=0x020b)),
    'protocol-2-13': lb(0x04, bzimage(version=0x020d)),
    'cmdline-too-long': lb(0x00, bzimage(cmdline_size=8), cl_len=9),
    'no-cmdline': lb(0x40, bzimage(cmdline_size=0)),
    'initrd-max-low': lb(0x1a, bzimage(initrd_max=0x17ffff), ird=8),
    'kernel-too-big': lb(0x00, bzimage(init_size=0x300000)),
    'truncated-mid-setup': lb(0x00, bzimage()[:0x300]),
    'truncated-mid-payload': lb(0x00, bzimage()[:0x600]),
    'truncated-header': lb(0x00, bzimage()[:0x204]),
}

# ---- Reproducers of the known bugs (README.md), run by `make repro`.
REPRO_HYPERCALL = {
    # long mode, delete id 2^32: passes the "slot 0" check, then deletes slot 0 (guest RAM)
    'delete-id-2p32-deletes-slot0': u8(2) + hx(HDEL, 0xc0),
    # long mode, move id 2^32 to 4 MiB: moves slot 0
    'move-id-2p32-moves-slot0': u8(2) + hx(HMOVE, 0xc0, 0x400),
    # long mode, add with flags bit 32: accepted (the flag dropped), not refused
    'add-flag-bit32-accepted': u8(2) + hx(HADD, 2, 0x300, 1, 0x80 | 32),
}
REPRO_GUEST_LOAD = {
    # an ELF32 kernel whose entry point (3 GiB) is outside the 4 MiB of guest RAM: loaded
    'elf-entry-outside-ram': elf32(0xc0000000, [(0, 0x100000, 0x300, 0x300)]),
}

if __name__ == '__main__':
    for name, seeds in [('emulate', EMULATE), ('gwalk', GWALK), ('mb2', MB2),
                        ('guest_load', GUEST_LOAD), ('memslot', MEMSLOT),
                        ('hypercall', HYPERCALL), ('hypercall_narrow', HYPERCALL),
                        ('linux_boot', LINUX_BOOT)]:
        write_all('corpus', name, seeds)
    write_all('repro', 'hypercall', REPRO_HYPERCALL)
    write_all('repro', 'guest_load', REPRO_GUEST_LOAD)
