/* SOURCES: kernel/mb2.c kernel/fmt.c */
/*
 * fuzz_mb2.c - kernel/mb2.c: mb2_parse on the input as a multiboot2 information block.
 *
 * The parser may trust the block's total_size (the first u32): the loader guarantees that many
 * bytes. So the block handed over is a heap copy of exactly total_size bytes when that size is
 * one the parser accepts (16..1 MiB, a multiple of 8); an input shorter than its total_size
 * gets total_size rewritten to the input size rounded down to 8. Any other total_size is
 * passed as it is, in a copy of exactly the input (the parser must refuse it after reading
 * the first 4 bytes). Under ASan any read outside the block is caught.
 *
 * Invariants (abort on violation):
 *   - mb2_parse returns 0 or -1; on -1 err is a non-empty line (no '\n') that ends inside
 *     errlen and the bytes after errlen are untouched;
 *   - on 0: cmdline and loader_name are "" or NUL-terminated strings inside the block; every
 *     module's command line too, with start <= end; n_mmap <= MB2_MAX_MMAP, n_mods <=
 *     MB2_MAX_MODULES; rsdp is 0 or points into the block with 20 bytes after it (the RSDP
 *     v1 size); info_phys/info_size describe the block;
 *   - the wrong magic, a NULL block and a misaligned block address are refused;
 *   - a second parse of the same block gives the same result.
 */
#include "fuzz.h"

#include "kernel/mb2.h"

#define PHYS 0x10000ULL
#define ERRLEN 160
#define ERRBUF (ERRLEN + 32)
#define CANARY 0x5a

static char err[ERRBUF];

static void reset_err(void)
{
	memset(err, CANARY, sizeof(err));
}

static void check_refused(int r, const char *what)
{
	CHECK(r == -1, "%s: returned %d", what, r);
	size_t len = strnlen(err, ERRLEN);
	CHECK(len > 0 && len < ERRLEN, "%s: err of length %zu", what, len);
	CHECK(!memchr(err, '\n', len), "%s: err is not one line: %s", what, err);
	for (size_t i = ERRLEN; i < ERRBUF; i++)
		CHECK((u8)err[i] == CANARY, "%s: err written past errlen at %zu", what, i);
}

/* s is "" (a literal outside the block is fine only when empty) or a string inside the block
 * whose NUL is inside it too. */
static void check_string(const char *s, const u8 *blk, u32 total, const char *what)
{
	CHECK(s != NULL, "%s is NULL", what);
	const u8 *p = (const u8 *)s;
	if (p < blk || p >= blk + total) {
		CHECK(s[0] == 0, "%s outside the block and not empty", what);
		return;
	}
	CHECK(memchr(p, 0, (size_t)(blk + total - p)) != NULL, "%s not terminated in the block",
	      what);
}

static void check_info(const struct mb2_info *in, const u8 *blk, u32 total)
{
	CHECK(in->info_phys == PHYS && in->info_size == total, "info block %#llx+%llu, expected "
	      "%#llx+%u", in->info_phys, in->info_size, PHYS, total);
	check_string(in->cmdline, blk, total, "cmdline");
	check_string(in->loader_name, blk, total, "loader_name");
	CHECK(in->n_mmap >= 0 && in->n_mmap <= MB2_MAX_MMAP, "n_mmap %d", in->n_mmap);
	CHECK(in->n_mods >= 0 && in->n_mods <= MB2_MAX_MODULES, "n_mods %d", in->n_mods);
	for (int i = 0; i < in->n_mods; i++) {
		const u8 *cl = (const u8 *)in->mods[i].cmdline;
		CHECK(cl >= blk && cl < blk + total, "module %d cmdline outside the block", i);
		check_string(in->mods[i].cmdline, blk, total, "module cmdline");
		CHECK(in->mods[i].start <= in->mods[i].end, "module %d ends before it starts", i);
	}
	if (in->rsdp)
		CHECK(in->rsdp >= PHYS + 16 && in->rsdp + 20 <= PHYS + total,
		      "rsdp %#llx outside the block %#llx+%u", in->rsdp, PHYS, total);
	for (int i = 0; i < in->n_mmap; i++)
		CHECK(mb2_mem_type_name(in->mmap[i].type) != NULL, "no name for type %u",
		      in->mmap[i].type);
}

/* Field by field: the padding of struct mb2_region is not part of the result. */
static bool same_info(const struct mb2_info *a, const struct mb2_info *b)
{
	if (a->cmdline != b->cmdline || a->loader_name != b->loader_name || a->n_mmap != b->n_mmap ||
	    a->mmap_from_efi != b->mmap_from_efi || a->n_mods != b->n_mods || a->rsdp != b->rsdp ||
	    a->has_meminfo != b->has_meminfo || a->mem_lower_kb != b->mem_lower_kb ||
	    a->mem_upper_kb != b->mem_upper_kb || a->info_phys != b->info_phys ||
	    a->info_size != b->info_size)
		return false;
	for (int i = 0; i < a->n_mmap; i++)
		if (a->mmap[i].base != b->mmap[i].base || a->mmap[i].len != b->mmap[i].len ||
		    a->mmap[i].type != b->mmap[i].type)
			return false;
	for (int i = 0; i < a->n_mods; i++)
		if (a->mods[i].start != b->mods[i].start || a->mods[i].end != b->mods[i].end ||
		    a->mods[i].cmdline != b->mods[i].cmdline)
			return false;
	return true;
}

static bool size_accepted(u32 t)
{
	return t >= 16 && t <= MB2_INFO_MAX_SIZE && !(t & 7);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mb2_info info, info2;
	u32 total, n;
	u8 *blk;

	if (size < 4)
		return 0; /* a loader hands over at least the 8-byte header */
	memcpy(&total, data, 4);
	n = (u32)MIN(size, (size_t)MB2_INFO_MAX_SIZE + 8);
	if (size_accepted(total) && total > n) {
		if ((n & ~7u) < 16)
			return 0;
		total = n & ~7u;
	}
	if (size_accepted(total))
		n = total;
	blk = malloc(n);
	CHECK(blk != NULL, "out of memory");
	memcpy(blk, data, n);
	if (size_accepted(total))
		memcpy(blk, &total, 4);

	reset_err();
	int r = mb2_parse(MB2_BOOTLOADER_MAGIC, blk, PHYS, &info, err, ERRLEN);
	CHECK(r == 0 || r == -1, "returned %d", r);
	if (r == 0) {
		CHECK(size_accepted(total), "accepted total_size %u", total);
		check_info(&info, blk, total);
	} else {
		check_refused(r, "refused block");
	}

	reset_err();
	int r2 = mb2_parse(MB2_BOOTLOADER_MAGIC, blk, PHYS, &info2, err, ERRLEN);
	CHECK(r2 == r && (r != 0 || same_info(&info, &info2)), "second parse differs");

	reset_err();
	check_refused(mb2_parse(MB2_BOOTLOADER_MAGIC ^ 1, blk, PHYS, &info2, err, ERRLEN),
		      "wrong magic");
	reset_err();
	check_refused(mb2_parse(MB2_BOOTLOADER_MAGIC, NULL, PHYS, &info2, err, ERRLEN), "no block");
	reset_err();
	check_refused(mb2_parse(MB2_BOOTLOADER_MAGIC, blk, PHYS + 4, &info2, err, ERRLEN),
		      "misaligned block");
	free(blk);
	return 0;
}
