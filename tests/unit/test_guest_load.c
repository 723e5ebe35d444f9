/* SOURCES: kernel/guest_load.c kernel/fmt.c */
/*
 * test_guest_load.c - kernel/guest_load.c: guest_load_mb1 on multiboot v1 kernels built here
 * in memory (ELF32, ELF64, a.out kludge), and guest_build_mbi's boot information.
 *
 * Loaded images must give the right entry, load range and format, with the file bytes copied
 * to their physical addresses, bss zeroed and every other byte of guest RAM untouched (RAM is
 * pre-filled with 0xAA). Every malformed image must give -1 and a one-line message naming
 * the problem (checked by keyword), short enough for hv.c's 160-byte buffer.
 *
 * The loader gets an exact-size heap copy of each image and an exact-size heap RAM buffer, so
 * under ASan any read past the image or write past RAM is caught.
 */
#include "unit.h"

#include "kernel/guest_load.h"

#define RAM_SIZE (4 * MiB)
#define IMG_MAX (64 * 1024)
#define FILL 0xAA
#define HV_ERR_BUF 160 /* hv/hv.c's err[] */

#define PT_NULL 0
#define PT_LOAD 1
#define PT_NOTE 4
#define EM_386 3
#define EM_ARM 40
#define EM_X86_64 62

#define MB_HDR_OFF 0x200 /* where build_elf puts the multiboot header */
#define MB_FLAGS 0x3u    /* page-align modules + memory info: both understood */
#define MB_AOUT BIT(16)

static struct {
	_Alignas(8) u8 buf[IMG_MAX];
	u8 *copy; /* exact-size copy given to the loader */
	u8 *ram;
	u64 ram_size;
	struct guest_image out;
	char err[512];
} t;

static int setup_ram(u64 ram_size)
{
	memset(t.buf, 0, sizeof(t.buf));
	t.copy = NULL;
	t.ram_size = ram_size;
	t.ram = malloc(ram_size);
	if (!t.ram)
		return -1;
	memset(t.ram, FILL, ram_size);
	memset(&t.out, 0xee, sizeof(t.out));
	memset(t.err, 0, sizeof(t.err));
	return 0;
}

static int setup(void **state)
{
	(void)state;
	return setup_ram(RAM_SIZE);
}

static int teardown(void **state)
{
	(void)state;
	free(t.copy);
	free(t.ram);
	t.copy = NULL;
	t.ram = NULL;
	return 0;
}

/* ---- Image builder ---- */

static void put16(u64 off, u16 v) { assert_true(off + 2 <= IMG_MAX); memcpy(t.buf + off, &v, 2); }
static void put32(u64 off, u32 v) { assert_true(off + 4 <= IMG_MAX); memcpy(t.buf + off, &v, 4); }
static void put64(u64 off, u64 v) { assert_true(off + 8 <= IMG_MAX); memcpy(t.buf + off, &v, 8); }

static u8 pat(u64 i, u32 seed) { return (u8)((i * 13 + seed) % 127 + 1); } /* never 0 or 0xAA */

static void fill(u64 off, u64 n, u32 seed)
{
	assert_true(off + n <= IMG_MAX);
	for (u64 i = 0; i < n; i++)
		t.buf[off + i] = pat(i, seed);
}

static void mb_header(u64 off, u32 flags)
{
	put32(off, MB1_HEADER_MAGIC);
	put32(off + 4, flags);
	put32(off + 8, (u32)-(MB1_HEADER_MAGIC + flags));
}

static void aout_fields(u64 hoff, u32 header_addr, u32 load_addr, u32 load_end, u32 bss_end,
			u32 entry)
{
	put32(hoff + 12, header_addr);
	put32(hoff + 16, load_addr);
	put32(hoff + 20, load_end);
	put32(hoff + 24, bss_end);
	put32(hoff + 28, entry);
}

struct seg { u32 type; u64 off, paddr, filesz, memsz; };

static u64 ehsize(int is64) { return is64 ? 64 : 52; }
static u16 phentsize(int is64) { return is64 ? 56 : 32; }

static void elf_header(int is64, u64 entry, u64 phoff, u16 phnum, u16 phent)
{
	memcpy(t.buf, "\x7f" "ELF", 4);
	t.buf[4] = is64 ? 2 : 1; /* class */
	t.buf[5] = 1;            /* little-endian */
	t.buf[6] = 1;            /* version */
	put16(16, 2);            /* ET_EXEC */
	put16(18, is64 ? EM_X86_64 : EM_386);
	put32(20, 1);
	if (is64) {
		put64(24, entry);
		put64(32, phoff);
		put16(52, 64);
		put16(54, phent);
		put16(56, phnum);
	} else {
		put32(24, (u32)entry);
		put32(28, (u32)phoff);
		put16(40, 52);
		put16(42, phent);
		put16(44, phnum);
	}
}

/* Program header i; vaddr is deliberately different from paddr (a higher-half kernel). */
static void elf_phdr(int is64, u64 phoff, u16 phent, int i, const struct seg *s)
{
	u64 p = phoff + (u64)i * phent;
	put32(p, s->type);
	if (is64) {
		put32(p + 4, 7);
		put64(p + 8, s->off);
		put64(p + 16, s->paddr + 0xffffffff80000000ULL);
		put64(p + 24, s->paddr);
		put64(p + 32, s->filesz);
		put64(p + 40, s->memsz);
		put64(p + 48, 0x1000);
	} else {
		put32(p + 4, (u32)s->off);
		put32(p + 8, (u32)(s->paddr + 0xc0000000u));
		put32(p + 12, (u32)s->paddr);
		put32(p + 16, (u32)s->filesz);
		put32(p + 20, (u32)s->memsz);
		put32(p + 24, 7);
		put32(p + 28, 0x1000);
	}
}

/*
 * A multiboot ELF: header, n program headers right after it (stride phent), a multiboot
 * header (flags MB_FLAGS) at MB_HDR_OFF, segment i's file bytes filled with pattern seed i.
 * Returns the image length: the end of the last segment's file bytes (at least past the
 * multiboot header).
 */
static u64 build_elf_ph(int is64, u64 entry, const struct seg *segs, int n, u16 phent)
{
	u64 phoff = ehsize(is64);
	u64 len = MB_HDR_OFF + 12;
	assert_true(phoff + (u64)n * phent <= MB_HDR_OFF);
	elf_header(is64, entry, phoff, (u16)n, phent);
	for (int i = 0; i < n; i++) {
		elf_phdr(is64, phoff, phent, i, &segs[i]);
		if (segs[i].type == PT_LOAD && segs[i].filesz) {
			fill(segs[i].off, segs[i].filesz, (u32)i);
			len = MAX(len, segs[i].off + segs[i].filesz);
		}
	}
	mb_header(MB_HDR_OFF, MB_FLAGS);
	return len;
}

static u64 build_elf(int is64, u64 entry, const struct seg *segs, int n)
{
	return build_elf_ph(is64, entry, segs, n, phentsize(is64));
}

/* The usual two-segment kernel: text+data with bss at 1 MiB, a small one at 2 MiB. */
static const struct seg two_segs[] = {
	{ PT_LOAD, 0x1000, 0x100000, 0x800, 0x1000 },
	{ PT_LOAD, 0x1800, 0x200000, 0x123, 0x2000 },
};

/* One segment at 1 MiB, file bytes at 0x1000. */
static u64 one_seg_elf(int is64, u64 paddr, u64 filesz, u64 memsz)
{
	struct seg s = { PT_LOAD, 0x1000, paddr, filesz, memsz };
	return build_elf(is64, 0x100000, &s, 1);
}

/*
 * An a.out-kludge image of len bytes (pattern seed 7) with the multiboot header at hoff,
 * flags MB_FLAGS | flag 16 | extra.
 */
static u64 build_aout(u64 len, u64 hoff, u32 extra_flags, u32 header_addr, u32 load_addr,
		      u32 load_end, u32 bss_end, u32 entry)
{
	fill(0, len, 7);
	mb_header(hoff, MB_FLAGS | (u32)MB_AOUT | extra_flags);
	aout_fields(hoff, header_addr, load_addr, load_end, bss_end, entry);
	return len;
}

/* A non-ELF, non-a.out image: pattern bytes and a multiboot header with the given flags. */
static u64 build_plain(u64 len, u64 hoff, u32 flags)
{
	fill(0, len, 3);
	mb_header(hoff, flags);
	return len;
}

/* ---- Running the loader ---- */

static int load(u64 len)
{
	free(t.copy);
	t.copy = malloc(len);
	if (len)
		assert_non_null(t.copy);
	if (len)
		memcpy(t.copy, t.buf, len);
	memset(t.err, 0, sizeof(t.err));
	return guest_load_mb1(t.copy, len, t.ram, t.ram_size, &t.out, t.err, sizeof(t.err));
}

static void expect_ok(u64 len)
{
	int r = load(len);
	if (r != 0)
		fail_msg("image of %llu bytes refused (%d): %s", len, r, t.err);
}

static void expect_refused(u64 len, const char *want)
{
	int r = load(len);
	if (r != -1)
		fail_msg("image of %llu bytes: returned %d, expected -1 (\"%s\")", len, r, want);
	if (t.err[0] == '\0')
		fail_msg("image of %llu bytes refused without a message", len);
	if (!strstr(t.err, want))
		fail_msg("message \"%s\" does not mention \"%s\"", t.err, want);
	if (strchr(t.err, '\n'))
		fail_msg("message \"%s\" is not one line", t.err);
	if (strlen(t.err) >= HV_ERR_BUF)
		fail_msg("message \"%s\" (%zu chars) would be cut in hv.c's %d-byte buffer", t.err,
			 strlen(t.err), HV_ERR_BUF);
}

/* ---- RAM checks ---- */

/* Offset of the first byte in p[0..n) that is not v, or -1. */
static s64 first_not(const u8 *p, u64 n, u8 v)
{
	for (u64 i = 0; i < n; i++)
		if (p[i] != v)
			return (s64)i;
	return -1;
}

/* Segment s landed: its file bytes at paddr, then zeros up to memsz. */
static void assert_segment(const struct seg *s)
{
	assert_true(s->paddr + s->memsz <= t.ram_size);
	assert_memory_equal(t.ram + s->paddr, t.buf + s->off, s->filesz);
	s64 bad = first_not(t.ram + s->paddr + s->filesz, s->memsz - s->filesz, 0);
	if (bad >= 0)
		fail_msg("bss byte at %#llx is %#x, not 0", s->paddr + s->filesz + (u64)bad,
			 t.ram[s->paddr + s->filesz + (u64)bad]);
}

struct range { u64 lo, hi; };

/* Every RAM byte outside the ranges still holds FILL. */
static void assert_untouched_except(const struct range *r, int n)
{
	for (u64 a = 0; a < t.ram_size; a++) {
		bool inside = false;
		for (int i = 0; i < n && !inside; i++)
			inside = a >= r[i].lo && a < r[i].hi;
		if (!inside && t.ram[a] != FILL)
			fail_msg("RAM byte at %#llx was written (%#x) outside the loaded ranges", a,
				 t.ram[a]);
	}
}

static void assert_segments_only(const struct seg *s, int n)
{
	struct range r[8];
	int k = 0;
	assert_true(n <= 8);
	for (int i = 0; i < n; i++) {
		if (s[i].type != PT_LOAD || s[i].memsz == 0)
			continue;
		assert_segment(&s[i]);
		r[k++] = (struct range){ s[i].paddr, s[i].paddr + s[i].memsz };
	}
	assert_untouched_except(r, k);
}

static u32 rd32(u64 gpa) { u32 v; memcpy(&v, t.ram + gpa, 4); return v; }
static u64 rd64(u64 gpa) { u64 v; memcpy(&v, t.ram + gpa, 8); return v; }

/* ==== ELF: accepted ==== */

static void test_elf32_two_segments(void **state)
{
	(void)state;
	u64 len = build_elf(0, 0x10000c, two_segs, 2);
	assert_int_equal(len, 0x1923);
	expect_ok(len);
	assert_int_equal(t.out.entry, 0x10000c);
	assert_int_equal(t.out.load_lo, 0x100000);
	assert_int_equal(t.out.load_hi, 0x202000);
	assert_string_equal(t.out.format, "elf32");
	assert_int_equal(t.out.mb_flags, MB_FLAGS);
	assert_segments_only(two_segs, 2);
}

static void test_elf64_two_segments(void **state)
{
	(void)state;
	u64 len = build_elf(1, 0x100010, two_segs, 2);
	expect_ok(len);
	assert_int_equal(t.out.entry, 0x100010);
	assert_int_equal(t.out.load_lo, 0x100000);
	assert_int_equal(t.out.load_hi, 0x202000);
	assert_string_equal(t.out.format, "elf64");
	assert_int_equal(t.out.mb_flags, MB_FLAGS);
	assert_segments_only(two_segs, 2);
}

static void test_elf_segments_out_of_order(void **state)
{
	(void)state;
	const struct seg s[] = {
		{ PT_LOAD, 0x1000, 0x300000, 0x100, 0x100 },
		{ PT_LOAD, 0x1100, 0x100000, 0x200, 0x1000 },
		{ PT_LOAD, 0x1300, 0x180000, 0x10, 0x10 },
	};
	expect_ok(build_elf(0, 0x100000, s, 3));
	assert_int_equal(t.out.load_lo, 0x100000);
	assert_int_equal(t.out.load_hi, 0x300100);
	assert_segments_only(s, 3);
}

static void test_elf_skips_other_program_headers(void **state)
{
	(void)state;
	/* PT_NULL and PT_NOTE entries with nonsense offsets and sizes: neither checked nor loaded */
	const struct seg s[] = {
		{ PT_NULL, 0xffffff, 0xdead0000, 0x7fffffff, 0x10 },
		{ PT_LOAD, 0x1000, 0x100000, 0x400, 0x800 },
		{ PT_NOTE, 0xfffffff0, 0x1000, 0x100000, 0x100000 },
	};
	for (int is64 = 0; is64 <= 1; is64++) {
		memset(t.ram, FILL, t.ram_size);
		expect_ok(build_elf(is64, 0x100000, s, 3));
		assert_int_equal(t.out.load_lo, 0x100000);
		assert_int_equal(t.out.load_hi, 0x100800);
		assert_segments_only(s, 3);
	}
}

static void test_elf_larger_phentsize_is_stride(void **state)
{
	(void)state;
	for (int is64 = 0; is64 <= 1; is64++) {
		memset(t.buf, 0, sizeof(t.buf));
		memset(t.ram, FILL, t.ram_size);
		u16 phent = (u16)(phentsize(is64) + 8);
		expect_ok(build_elf_ph(is64, 0x100000, two_segs, 2, phent));
		assert_int_equal(t.out.load_lo, 0x100000);
		assert_int_equal(t.out.load_hi, 0x202000);
		assert_segments_only(two_segs, 2);
	}
}

static void test_elf_bss_only_segment(void **state)
{
	(void)state;
	const struct seg s[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x100, 0x100 },
		{ PT_LOAD, 0x1100, 0x110000, 0, 0x3000 },
	};
	expect_ok(build_elf(0, 0x100000, s, 2));
	assert_int_equal(t.out.load_hi, 0x113000);
	assert_segments_only(s, 2);
}

static void test_elf_segment_ending_at_ram_end(void **state)
{
	(void)state;
	const struct seg s = { PT_LOAD, 0x1000, RAM_SIZE - 0x1000, 0x800, 0x1000 };
	expect_ok(build_elf(0, RAM_SIZE - 0x1000, &s, 1));
	assert_int_equal(t.out.load_hi, RAM_SIZE);
	assert_segments_only(&s, 1);
}

static void test_elf_segments_next_to_boot_area(void **state)
{
	(void)state;
	/* [0, 0x1000) ends where the boot area starts; [0x3000, ...) starts where it ends */
	const struct seg s[] = {
		{ PT_LOAD, 0x1000, 0, 0x100, 0x1000 },
		{ PT_LOAD, 0x1100, GUEST_BOOT_AREA_END, 0x100, 0x200 },
	};
	expect_ok(build_elf(0, 0x3000, s, 2));
	assert_int_equal(t.out.load_lo, 0);
	assert_int_equal(t.out.load_hi, 0x3200);
	assert_segments_only(s, 2);
}

/* An entry point outside guest RAM is refused (found by tests/fuzz: the guest would start
 * executing in device memory). */
static void test_elf64_entry_at_4gib_minus_1(void **state)
{
	(void)state;
	u64 len = build_elf(1, 0xffffffffULL, two_segs, 2);
	assert_int_equal(load(len), -1);
	assert_non_null(strstr(t.err, "outside guest RAM"));
}

/* ==== Multiboot header search: accepted ==== */

static void test_header_at_last_position_in_8k(void **state)
{
	(void)state;
	/* 0x1ff4 + 12 == 8192: the header is still entirely inside the first 8 KiB */
	const struct seg s = { PT_LOAD, 0x2100, 0x100000, 0x100, 0x100 };
	u64 len = build_elf(0, 0x100000, &s, 1);
	memset(t.buf + MB_HDR_OFF, 0, 12);
	mb_header(MB1_SEARCH_LIMIT - 12, MB_FLAGS);
	expect_ok(len);
	assert_segments_only(&s, 1);
}

static void test_bad_checksum_then_good_header(void **state)
{
	(void)state;
	u64 len = build_elf(0, 0x100000, two_segs, 2);
	mb_header(0x100, MB_FLAGS);
	put32(0x108, 0x12345678); /* first candidate: bad checksum, skipped */
	expect_ok(len);
	assert_int_equal(t.out.mb_flags, MB_FLAGS);
}

static void test_optional_flag_bits_accepted(void **state)
{
	(void)state;
	/* bits 16-31 are optional (the loader may ignore what it does not know); bit 16 itself
	 * selects the a.out fields, so test 17 and 31 */
	u32 extras[] = { BIT(17), BIT(31), 0xfffe0000u };
	for (size_t i = 0; i < ARRAY_SIZE(extras); i++) {
		u64 len = build_elf(0, 0x100000, two_segs, 2);
		mb_header(MB_HDR_OFF, MB_FLAGS | extras[i]);
		expect_ok(len);
		assert_int_equal(t.out.mb_flags, MB_FLAGS | extras[i]);
		assert_string_equal(t.out.format, "elf32");
	}
}

/* ==== a.out kludge: accepted ==== */

static void test_aout_kludge(void **state)
{
	(void)state;
	/* file offset 0 -> 0x100000, 0x1400 bytes of file, bss up to 0x103000 */
	u64 len = build_aout(0x1400, 0x40, 0, 0x100040, 0x100000, 0x101400, 0x103000, 0x100080);
	expect_ok(len);
	assert_int_equal(t.out.entry, 0x100080);
	assert_int_equal(t.out.load_lo, 0x100000);
	assert_int_equal(t.out.load_hi, 0x103000);
	assert_string_equal(t.out.format, "a.out kludge");
	assert_int_equal(t.out.mb_flags, MB_FLAGS | MB_AOUT);
	const struct seg s = { PT_LOAD, 0, 0x100000, 0x1400, 0x3000 };
	assert_segments_only(&s, 1);
}

static void test_aout_header_deeper_in_file(void **state)
{
	(void)state;
	/* header at file offset 0x1000 says it sits at 0x101000 and loading starts at 0x100800:
	 * so the file is loaded from offset 0x800 */
	u64 len = build_aout(0x1800, 0x1000, 0, 0x101000, 0x100800, 0x101800, 0, 0x100800);
	expect_ok(len);
	assert_int_equal(t.out.entry, 0x100800);
	assert_int_equal(t.out.load_lo, 0x100800);
	assert_int_equal(t.out.load_hi, 0x101800);
	const struct seg s = { PT_LOAD, 0x800, 0x100800, 0x1000, 0x1000 };
	assert_segments_only(&s, 1);
}

static void test_aout_load_end_zero_means_whole_file(void **state)
{
	(void)state;
	u64 len = build_aout(0x1234, 0x20, 0, 0x100020, 0x100000, 0, 0x102000, 0x100100);
	expect_ok(len);
	assert_int_equal(t.out.load_hi, 0x102000);
	const struct seg s = { PT_LOAD, 0, 0x100000, 0x1234, 0x2000 };
	assert_segments_only(&s, 1);
}

static void test_aout_part_of_file_no_bss(void **state)
{
	(void)state;
	/* load_end stops before the end of the file; bss_end 0: no bss */
	u64 len = build_aout(0x2000, 0x20, 0, 0x100020, 0x100000, 0x100900, 0, 0x1008ff);
	expect_ok(len);
	assert_int_equal(t.out.entry, 0x1008ff);
	assert_int_equal(t.out.load_hi, 0x100900);
	const struct seg s = { PT_LOAD, 0, 0x100000, 0x900, 0x900 };
	assert_segments_only(&s, 1);
}

static void test_elf_with_flag16_uses_address_fields(void **state)
{
	(void)state;
	/* an ELF whose header sets flag 16: the address fields win (multiboot spec 3.1.3) */
	u64 len = build_elf(0, 0x100000, two_segs, 2);
	mb_header(MB_HDR_OFF, MB_FLAGS | (u32)MB_AOUT);
	aout_fields(MB_HDR_OFF, 0x300000 + MB_HDR_OFF, 0x300000, 0, 0, 0x300010);
	expect_ok(len);
	assert_string_equal(t.out.format, "a.out kludge");
	assert_int_equal(t.out.entry, 0x300010);
	assert_int_equal(t.out.load_lo, 0x300000);
	assert_int_equal(t.out.load_hi, 0x300000 + len);
	/* the whole file lands raw at 0x300000; the ELF segments' addresses stay untouched */
	const struct seg s = { PT_LOAD, 0, 0x300000, len, len };
	assert_segments_only(&s, 1);
}

/* ==== guest_load_mb1: refused ==== */

static void test_empty_module(void **state)
{
	(void)state;
	expect_refused(0, "empty");
}

static void test_no_header(void **state)
{
	(void)state;
	u64 len = build_elf(0, 0x100000, two_segs, 2);
	memset(t.buf + MB_HDR_OFF, 0, 12);
	expect_refused(len, "no multiboot");
}

static void test_header_beyond_8k(void **state)
{
	(void)state;
	const struct seg s = { PT_LOAD, 0x3000, 0x100000, 0x100, 0x100 };
	u64 len = build_elf(0, 0x100000, &s, 1);
	memset(t.buf + MB_HDR_OFF, 0, 12);
	mb_header(MB1_SEARCH_LIMIT, MB_FLAGS);
	expect_refused(len, "no multiboot");
}

static void test_header_straddling_8k(void **state)
{
	(void)state;
	const struct seg s = { PT_LOAD, 0x3000, 0x100000, 0x100, 0x100 };
	u64 len = build_elf(0, 0x100000, &s, 1);
	memset(t.buf + MB_HDR_OFF, 0, 12);
	mb_header(MB1_SEARCH_LIMIT - 8, MB_FLAGS);
	expect_refused(len, "no multiboot");
}

static void test_bad_checksum(void **state)
{
	(void)state;
	u64 len = build_elf(0, 0x100000, two_segs, 2);
	put32(MB_HDR_OFF + 8, (u32)-(MB1_HEADER_MAGIC + MB_FLAGS) + 1);
	expect_refused(len, "no multiboot");
}

static void test_header_not_4_aligned(void **state)
{
	(void)state;
	u64 len = build_elf(0, 0x100000, two_segs, 2);
	memset(t.buf + MB_HDR_OFF, 0, 12);
	mb_header(MB_HDR_OFF + 2, MB_FLAGS);
	expect_refused(len, "no multiboot");
}

static void test_header_in_tiny_module(void **state)
{
	(void)state;
	/* 11 bytes: not even room for a header; the search must not read past the end */
	u64 len = build_plain(12, 0, MB_FLAGS);
	expect_refused(len - 1, "no multiboot");
}

static void test_unknown_required_flag(void **state)
{
	(void)state;
	u32 bits[] = { BIT(5), BIT(3), BIT(15) };
	for (size_t i = 0; i < ARRAY_SIZE(bits); i++) {
		u64 len = build_elf(0, 0x100000, two_segs, 2);
		mb_header(MB_HDR_OFF, MB_FLAGS | bits[i]);
		expect_refused(len, "unsupported");
	}
	/* the message names the offending bits */
	u64 len = build_elf(0, 0x100000, two_segs, 2);
	mb_header(MB_HDR_OFF, MB_FLAGS | BIT(5));
	expect_refused(len, "0x20");
}

static void test_not_elf_and_no_flag16(void **state)
{
	(void)state;
	expect_refused(build_plain(0x1000, 0x40, MB_FLAGS), "not an ELF");
}

static void test_elf_class_3(void **state)
{
	(void)state;
	u64 len = build_elf(0, 0x100000, two_segs, 2);
	t.buf[4] = 3;
	expect_refused(len, "class 3");
}

static void test_elf_big_endian(void **state)
{
	(void)state;
	u64 len = build_elf(0, 0x100000, two_segs, 2);
	t.buf[5] = 2;
	expect_refused(len, "little-endian");
	len = build_elf(1, 0x100000, two_segs, 2);
	t.buf[5] = 2;
	expect_refused(len, "data 2");
}

static void test_elf_machine_not_x86(void **state)
{
	(void)state;
	u64 len = build_elf(0, 0x100000, two_segs, 2);
	put16(18, EM_ARM);
	expect_refused(len, "not x86");
	len = build_elf(1, 0x100000, two_segs, 2);
	put16(18, 0);
	expect_refused(len, "machine 0");
}

static void test_elf_header_truncated(void **state)
{
	(void)state;
	/* ELF ident + multiboot header at 16, cut before the end of the ELF header */
	for (int is64 = 0; is64 <= 1; is64++) {
		memset(t.buf, 0, sizeof(t.buf));
		elf_header(is64, 0x100000, ehsize(is64), 0, phentsize(is64));
		mb_header(16, MB_FLAGS);
		expect_refused(ehsize(is64) - 1, "truncated ELF header");
	}
}

static void test_elf_phdrs_outside_file(void **state)
{
	(void)state;
	for (int is64 = 0; is64 <= 1; is64++) {
		u64 len = build_elf(is64, 0x100000, two_segs, 2);
		/* table starts past the end */
		if (is64)
			put64(32, len + 1);
		else
			put32(28, (u32)len + 1);
		expect_refused(len, "program headers");
		/* table starts inside but its last entry runs one byte past the end */
		u64 phoff = len - 2ULL * phentsize(is64) + 1;
		if (is64)
			put64(32, phoff);
		else
			put32(28, (u32)phoff);
		expect_refused(len, "program headers");
		/* phnum so large the table cannot fit */
		u64 off = is64 ? 32 : 28;
		if (is64)
			put64(off, ehsize(is64));
		else
			put32(off, (u32)ehsize(is64));
		put16(is64 ? 56 : 44, 0xffff);
		expect_refused(len, "program headers");
	}
}

static void test_elf64_phoff_huge(void **state)
{
	(void)state;
	u64 len = build_elf(1, 0x100000, two_segs, 2);
	u64 huge[] = { 1ULL << 63, ~0ULL, ~0ULL - 55 };
	for (size_t i = 0; i < ARRAY_SIZE(huge); i++) {
		put64(32, huge[i]);
		expect_refused(len, "program headers");
	}
}

static void test_elf_phentsize_too_small(void **state)
{
	(void)state;
	u64 len = build_elf(0, 0x100000, two_segs, 2);
	put16(42, 31);
	expect_refused(len, "program headers");
	len = build_elf(1, 0x100000, two_segs, 2);
	put16(54, 55);
	expect_refused(len, "program headers");
	len = build_elf(0, 0x100000, two_segs, 2);
	put16(42, 0);
	expect_refused(len, "program headers");
}

static void test_elf_segment_truncated(void **state)
{
	(void)state;
	for (int is64 = 0; is64 <= 1; is64++) {
		u64 len = build_elf(is64, 0x100000, two_segs, 2);
		expect_refused(len - 1, "truncated");
	}
}

static void test_elf_segment_offset_beyond_file(void **state)
{
	(void)state;
	const struct seg s[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x100, 0x100 },
		{ PT_LOAD, 0x1000, 0x200000, 0x10, 0x10 },
	};
	u64 len = build_elf(0, 0x100000, s, 2);
	put32(ehsize(0) + 32 + 4, 0xfffffff0u); /* seg 1 p_offset: off + filesz wraps in u32 */
	expect_refused(len, "truncated");
	len = build_elf(1, 0x100000, s, 2);
	put64(ehsize(1) + 56 + 8, ~0ULL - 7); /* seg 1 p_offset: off + filesz wraps in u64 */
	expect_refused(len, "truncated");
}

static void test_elf_filesz_above_memsz(void **state)
{
	(void)state;
	expect_refused(one_seg_elf(0, 0x100000, 0x101, 0x100), "exceeds memory size");
	expect_refused(one_seg_elf(1, 0x100000, 0x101, 0x100), "exceeds memory size");
}

static void test_elf_segment_beyond_ram(void **state)
{
	(void)state;
	expect_refused(one_seg_elf(0, RAM_SIZE - 0xfff, 0x800, 0x1000), "does not fit");
	expect_refused(one_seg_elf(0, RAM_SIZE, 0x10, 0x10), "does not fit");
	expect_refused(one_seg_elf(1, 8 * GiB, 0x10, 0x10), "does not fit");
	expect_refused(one_seg_elf(0, 0x100000, 0x100, RAM_SIZE), "does not fit");
}

static void test_elf_segment_in_boot_area(void **state)
{
	(void)state;
	/* [0x2fff, 0x3000), [0x800, 0x1001), [0x1000, 0x1001), whole [0, 0x4000) */
	expect_refused(one_seg_elf(0, 0x2fff, 0x1, 0x1), "boot area");
	expect_refused(one_seg_elf(0, 0x800, 0x100, 0x801), "boot area");
	expect_refused(one_seg_elf(0, 0x1000, 0x1, 0x1), "boot area");
	expect_refused(one_seg_elf(1, 0, 0x100, 0x4000), "boot area");
	/* a later segment in the boot area also refuses the whole image */
	const struct seg s[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x100, 0x100 },
		{ PT_LOAD, 0x1100, 0x2000, 0x10, 0x10 },
	};
	expect_refused(build_elf(0, 0x100000, s, 2), "boot area");
}

/* The BIOS area 0xf0000-0x100000 holds the ACPI tables (hv/hv.c): no segment goes there. */
static void test_elf_segment_in_bios_area(void **state)
{
	(void)state;
	expect_refused(one_seg_elf(0, 0xf0000, 0x10, 0x10), "BIOS area");
	expect_refused(one_seg_elf(0, 0xfffff, 0x1, 0x1), "BIOS area");
	expect_refused(one_seg_elf(0, 0xef000, 0x10, 0x1001), "BIOS area"); /* only its bss */
	expect_refused(one_seg_elf(1, 0x80000, 0x100, 0x100000), "BIOS area");
	/* right below and right above it load */
	assert_int_equal(load(one_seg_elf(0, 0xef000, 0x10, 0x1000)), 0);
	assert_int_equal(load(one_seg_elf(0, 0x100000, 0x10, 0x10)), 0);
}

static void test_elf_paddr_wraps(void **state)
{
	(void)state;
	/* u64: paddr + memsz wraps past 2^64 */
	expect_refused(one_seg_elf(1, 0xfffffffffffff000ULL, 0x100, 0x2000), "does not fit");
	expect_refused(one_seg_elf(1, ~0ULL, 1, 1), "does not fit");
	/* u32: paddr + memsz passes 4 GiB (would wrap to 0x1000 in 32-bit arithmetic) */
	expect_refused(one_seg_elf(0, 0xfffff000u, 0x100, 0x2000), "does not fit");
}

static void test_elf64_entry_above_4gib(void **state)
{
	(void)state;
	expect_refused(build_elf(1, 0x100000000ULL, two_segs, 2), "above 4 GiB");
	expect_refused(build_elf(1, 0xffffffff80100000ULL, two_segs, 2), "above 4 GiB");
}

static void test_elf_no_load_segment(void **state)
{
	(void)state;
	const struct seg s[] = {
		{ PT_NOTE, 0x1000, 0x100000, 0x10, 0x10 },
		{ PT_NULL, 0, 0, 0, 0 },
	};
	expect_refused(build_elf(0, 0x100000, s, 2), "no loadable");
	expect_refused(build_elf(1, 0x100000, s, 0), "no loadable");
}

/* ==== a.out kludge: refused ==== */

static void test_aout_load_addr_above_header_addr(void **state)
{
	(void)state;
	u64 len = build_aout(0x1000, 0x40, 0, 0x100040, 0x100044, 0, 0, 0x100080);
	expect_refused(len, "inconsistent");
}

static void test_aout_load_starts_before_file(void **state)
{
	(void)state;
	/* header at file offset 0x40 but 0x80 bytes above load_addr: the load would start 0x40
	 * bytes before the file */
	u64 len = build_aout(0x1000, 0x40, 0, 0x100080, 0x100000, 0, 0, 0x100100);
	expect_refused(len, "inconsistent");
}

static void test_aout_load_end_below_load_addr(void **state)
{
	(void)state;
	u64 len = build_aout(0x1000, 0x40, 0, 0x100040, 0x100000, 0xfffff, 0, 0x100080);
	expect_refused(len, "below load_addr");
}

static void test_aout_entry_outside(void **state)
{
	(void)state;
	/* image [0x100000, 0x103000): entry just below and exactly at the end */
	u64 len = build_aout(0x1400, 0x40, 0, 0x100040, 0x100000, 0x101400, 0x103000, 0xfffff);
	expect_refused(len, "outside");
	len = build_aout(0x1400, 0x40, 0, 0x100040, 0x100000, 0x101400, 0x103000, 0x103000);
	expect_refused(len, "outside");
	len = build_aout(0x1400, 0x40, 0, 0x100040, 0x100000, 0x101400, 0x103000, 0);
	expect_refused(len, "outside");
}

static void test_aout_header_truncated(void **state)
{
	(void)state;
	/* the 12-byte part is there, the address fields are cut off */
	build_aout(0x1000, 0xff0, 0, 0x100ff0, 0x100000, 0, 0, 0x100000);
	expect_refused(0x1000, "truncated multiboot header");
}

static void test_aout_load_end_beyond_file(void **state)
{
	(void)state;
	u64 len = build_aout(0x1400, 0x40, 0, 0x100040, 0x100000, 0x101401, 0, 0x100080);
	expect_refused(len, "truncated");
}

static void test_aout_beyond_ram(void **state)
{
	(void)state;
	u64 len = build_aout(0x1400, 0x40, 0, 0x100040, 0x100000, 0x101400, RAM_SIZE + 1,
			     0x100080);
	expect_refused(len, "does not fit");
	len = build_aout(0x1400, 0x40, 0, RAM_SIZE + 0x40, RAM_SIZE, 0, 0, RAM_SIZE);
	expect_refused(len, "does not fit");
}

static void test_aout_in_boot_area(void **state)
{
	(void)state;
	u64 len = build_aout(0x1400, 0x40, 0, 0x2040, 0x2000, 0, 0, 0x2080);
	expect_refused(len, "boot area");
	/* only the bss reaches the boot area */
	len = build_aout(0x400, 0x40, 0, 0x440, 0x400, 0x800, 0x1001, 0x480);
	expect_refused(len, "boot area");
}

/* ==== guest_build_mbi ==== */

/* Builds the info for ram_size bytes of RAM (fresh exact-size buffer, pre-filled). */
static u32 build_mbi(u64 ram_size, const char *cmdline, const char *loader)
{
	free(t.ram);
	assert_int_equal(setup_ram(ram_size), 0);
	return guest_build_mbi(t.ram, ram_size, cmdline, loader);
}

static void assert_mmap_entry(int i, u64 addr, u64 len, u32 type)
{
	u64 e = GUEST_MMAP_GPA + (u64)i * 24;
	assert_int_equal(rd32(e), 20);
	assert_int_equal(rd64(e + 4), addr);
	assert_int_equal(rd64(e + 12), len);
	assert_int_equal(rd32(e + 20), type);
}

static void test_mbi_fields(void **state)
{
	(void)state;
	u32 mbi = build_mbi(RAM_SIZE, "console=ttyS0 quiet", "slotvisor");
	assert_int_equal(mbi, 0x2000);
	assert_int_equal(rd32(mbi + 0), 0x245); /* bits 0, 2, 6, 9 */
	assert_int_equal(rd32(mbi + 4), 639);
	assert_int_equal(rd32(mbi + 8), 3072); /* (4 MiB - 1 MiB) / 1 KiB */
	assert_int_equal(rd32(mbi + 12), 0);   /* boot_device */
	assert_int_equal(rd32(mbi + 16), 0x2400);
	assert_int_equal(rd32(mbi + 20), 0); /* mods_count */
	assert_int_equal(rd32(mbi + 24), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(rd32(mbi + 28 + 4 * i), 0);
	assert_int_equal(rd32(mbi + 44), 96); /* 4 entries of 4 + 20 bytes */
	assert_int_equal(rd32(mbi + 48), 0x2100);
	assert_int_equal(rd32(mbi + 52), 0);
	assert_int_equal(rd32(mbi + 56), 0);
	assert_int_equal(rd32(mbi + 60), 0);
	assert_int_equal(rd32(mbi + 64), 0x2800);
}

static void test_mbi_mmap(void **state)
{
	(void)state;
	build_mbi(RAM_SIZE, "", "slotvisor");
	assert_mmap_entry(0, 0, 0x9fc00, 1);
	assert_mmap_entry(1, 0x9fc00, 0x400, 2);
	assert_mmap_entry(2, 0xf0000, 0x10000, 2);
	assert_mmap_entry(3, 0x100000, RAM_SIZE - 0x100000, 1);
	/* walking by size + 4 as a guest does: 4 entries, sorted, disjoint, ending at RAM's end */
	u64 end = GUEST_MMAP_GPA + rd32(GUEST_MBI_GPA + 44), prev_end = 0, last_end = 0;
	int n = 0;
	for (u64 e = GUEST_MMAP_GPA; e < end; e += rd32(e) + 4, n++) {
		assert_true(rd64(e + 4) >= prev_end);
		prev_end = rd64(e + 4) + rd64(e + 12);
		if (rd32(e + 20) == 1)
			last_end = prev_end;
	}
	assert_int_equal(n, 4);
	assert_int_equal(last_end, RAM_SIZE);
	/* mem_lower agrees with the first entry */
	assert_int_equal((u64)rd32(GUEST_MBI_GPA + 4) * 1024, 0x9fc00);
}

static void test_mbi_other_ram_sizes(void **state)
{
	(void)state;
	u64 sizes[] = { 2 * MiB, 64 * MiB, 2 * MiB + 0x1000 };
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		build_mbi(sizes[i], "x", "y");
		assert_int_equal(rd32(GUEST_MBI_GPA + 8), (sizes[i] - MiB) / KiB);
		assert_mmap_entry(3, 0x100000, sizes[i] - 0x100000, 1);
	}
}

static void test_mbi_cmdline(void **state)
{
	(void)state;
	build_mbi(RAM_SIZE, "root=/dev/sda1 console=ttyS0,115200", "slotvisor");
	assert_string_equal((char *)t.ram + GUEST_CMDLINE_GPA, "root=/dev/sda1 console=ttyS0,115200");
	build_mbi(RAM_SIZE, "", "slotvisor");
	assert_int_equal(t.ram[GUEST_CMDLINE_GPA], 0);
}

static void test_mbi_long_cmdline_truncated(void **state)
{
	(void)state;
	char *line = malloc(2001);
	assert_non_null(line);
	for (int i = 0; i < 2000; i++)
		line[i] = (char)('a' + i % 26);
	line[2000] = 0;
	build_mbi(RAM_SIZE, line, "slotvisor");
	const char *cl = (const char *)t.ram + GUEST_CMDLINE_GPA;
	assert_int_equal(strnlen(cl, 4096), GUEST_CMDLINE_MAX - 1);
	assert_memory_equal(cl, line, GUEST_CMDLINE_MAX - 1);
	assert_int_equal(t.ram[GUEST_CMDLINE_GPA + GUEST_CMDLINE_MAX - 1], 0);
	/* the loader name right after it is intact */
	assert_string_equal((char *)t.ram + GUEST_LOADER_NAME_GPA, "slotvisor");
	/* exactly 1023 characters fit unchanged */
	line[1023] = 0;
	build_mbi(RAM_SIZE, line, "slotvisor");
	assert_string_equal(cl = (const char *)t.ram + GUEST_CMDLINE_GPA, line);
	free(line);
}

static void test_mbi_loader_name(void **state)
{
	(void)state;
	build_mbi(RAM_SIZE, "", "slotvisor");
	assert_string_equal((char *)t.ram + GUEST_LOADER_NAME_GPA, "slotvisor");
	/* a long name is cut but stays a NUL-terminated prefix inside the boot area */
	char name[200];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	build_mbi(RAM_SIZE, "", name);
	const char *got = (const char *)t.ram + GUEST_LOADER_NAME_GPA;
	size_t n = strnlen(got, GUEST_BOOT_AREA_END - GUEST_LOADER_NAME_GPA);
	assert_true(n > 0 && n < GUEST_BOOT_AREA_END - GUEST_LOADER_NAME_GPA);
	assert_memory_equal(got, name, n);
}

static void test_mbi_gdt(void **state)
{
	(void)state;
	build_mbi(RAM_SIZE, "", "slotvisor");
	assert_int_equal(rd64(GUEST_GDT_GPA), 0);
	assert_int_equal(rd64(GUEST_GDT_GPA + GUEST_CODE_SEL), 0x00cf9a000000ffffULL);
	assert_int_equal(rd64(GUEST_GDT_GPA + GUEST_DATA_SEL), 0x00cf92000000ffffULL);
	/* the code descriptor decoded: base 0, limit 0xfffff pages, present, DPL 0, code
	 * execute/read, 32-bit (D=1), 4 KiB granularity */
	u64 d = rd64(GUEST_GDT_GPA + GUEST_CODE_SEL);
	u64 base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
	u64 limit = (d & 0xffff) | (((d >> 48) & 0xf) << 16);
	assert_int_equal(base, 0);
	assert_int_equal(limit, 0xfffff);
	assert_int_equal((d >> 40) & 0xff, 0x9a);
	assert_int_equal((d >> 52) & 0xf, 0xc);
}

static void test_mbi_writes_only_boot_area(void **state)
{
	(void)state;
	char *line = malloc(2001);
	assert_non_null(line);
	memset(line, 'c', 2000);
	line[2000] = 0;
	build_mbi(RAM_SIZE, line, "slotvisor");
	free(line);
	const struct range r = { GUEST_BOOT_AREA_START, GUEST_BOOT_AREA_END };
	assert_untouched_except(&r, 1);
}

static void test_load_then_mbi(void **state)
{
	(void)state;
	/* a kernel right above the boot area survives the boot information being written */
	const struct seg s[] = {
		{ PT_LOAD, 0x1000, GUEST_BOOT_AREA_END, 0x800, 0x1000 },
		{ PT_LOAD, 0x1800, 0x100000, 0x123, 0x2000 },
	};
	expect_ok(build_elf(0, 0x3000, s, 2));
	assert_int_equal(guest_build_mbi(t.ram, t.ram_size, "a b c", "slotvisor"), GUEST_MBI_GPA);
	assert_segment(&s[0]);
	assert_segment(&s[1]);
}

/* ==== last: UB under UBSan would end the run here ==== */

static void test_elf64_empty_segment_at_top_of_address_space(void **state)
{
	(void)state;
	/* an empty PT_LOAD (memsz 0) anywhere is harmless: nothing to check, nothing to copy */
	const struct seg s[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x100, 0x100 },
		{ PT_LOAD, 0x1100, 0xfffffffffffff000ULL, 0, 0 },
	};
	expect_ok(build_elf(1, 0x100000, s, 2));
	assert_int_equal(t.out.load_lo, 0x100000);
	assert_int_equal(t.out.load_hi, 0x100100);
	assert_segments_only(s, 2);
}

/* The start state vmx/vcpu.c applies: the multiboot machine state (multiboot spec 3.2) over
 * the GDT guest_build_mbi writes. */
static void test_start_mb1(void **state)
{
	(void)state;
	struct guest_start s;
	memset(&s, 0xa5, sizeof(s));
	guest_start_mb1(0x101234, GUEST_MBI_GPA, &s);
	assert_int_equal(s.eip, 0x101234);
	assert_int_equal(s.eax, MB1_BOOT_MAGIC);
	assert_int_equal(s.ebx, GUEST_MBI_GPA);
	assert_int_equal(s.esi, 0);
	assert_int_equal(s.gdt_base, GUEST_GDT_GPA);
	assert_int_equal(s.gdt_limit, 3 * 8 - 1);
	assert_int_equal(s.code_sel, GUEST_CODE_SEL);
	assert_int_equal(s.data_sel, GUEST_DATA_SEL);
	/* both selectors inside the GDT the loader writes */
	assert_true(s.code_sel + 7 <= s.gdt_limit && s.data_sel + 7 <= s.gdt_limit);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* ELF accepted */
		T(test_start_mb1),
		T(test_elf32_two_segments),
		T(test_elf64_two_segments),
		T(test_elf_segments_out_of_order),
		T(test_elf_skips_other_program_headers),
		T(test_elf_larger_phentsize_is_stride),
		T(test_elf_bss_only_segment),
		T(test_elf_segment_ending_at_ram_end),
		T(test_elf_segments_next_to_boot_area),
		T(test_elf64_entry_at_4gib_minus_1),
		/* header search accepted */
		T(test_header_at_last_position_in_8k),
		T(test_bad_checksum_then_good_header),
		T(test_optional_flag_bits_accepted),
		/* a.out accepted */
		T(test_aout_kludge),
		T(test_aout_header_deeper_in_file),
		T(test_aout_load_end_zero_means_whole_file),
		T(test_aout_part_of_file_no_bss),
		T(test_elf_with_flag16_uses_address_fields),
		/* refused */
		T(test_empty_module),
		T(test_no_header),
		T(test_header_beyond_8k),
		T(test_header_straddling_8k),
		T(test_bad_checksum),
		T(test_header_not_4_aligned),
		T(test_header_in_tiny_module),
		T(test_unknown_required_flag),
		T(test_not_elf_and_no_flag16),
		T(test_elf_class_3),
		T(test_elf_big_endian),
		T(test_elf_machine_not_x86),
		T(test_elf_header_truncated),
		T(test_elf_phdrs_outside_file),
		T(test_elf64_phoff_huge),
		T(test_elf_phentsize_too_small),
		T(test_elf_segment_truncated),
		T(test_elf_segment_offset_beyond_file),
		T(test_elf_filesz_above_memsz),
		T(test_elf_segment_beyond_ram),
		T(test_elf_segment_in_boot_area),
		T(test_elf_segment_in_bios_area),
		T(test_elf_paddr_wraps),
		T(test_elf64_entry_above_4gib),
		T(test_elf_no_load_segment),
		T(test_aout_load_addr_above_header_addr),
		T(test_aout_load_starts_before_file),
		T(test_aout_load_end_below_load_addr),
		T(test_aout_entry_outside),
		T(test_aout_header_truncated),
		T(test_aout_load_end_beyond_file),
		T(test_aout_beyond_ram),
		T(test_aout_in_boot_area),
		/* guest_build_mbi */
		T(test_mbi_fields),
		T(test_mbi_mmap),
		T(test_mbi_other_ram_sizes),
		T(test_mbi_cmdline),
		T(test_mbi_long_cmdline_truncated),
		T(test_mbi_loader_name),
		T(test_mbi_gdt),
		T(test_mbi_writes_only_boot_area),
		T(test_load_then_mbi),
		/* last */
		T(test_elf64_empty_segment_at_top_of_address_space),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
