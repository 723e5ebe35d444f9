/* SOURCES: kernel/guest_load.c kernel/fmt.c */
/*
 * fuzz_guest_load.c - kernel/guest_load.c: guest_load_mb1 on the input as a multiboot (v1)
 * kernel image (an exact-size heap copy) into a 4 MiB guest RAM buffer (exact size, heap,
 * pre-filled with FILL), so under ASan any read past the image or write past RAM is caught.
 *
 * Invariants (abort on violation):
 *   - the return value is 0 or -1; on -1 err is a non-empty line (no '\n') ending inside
 *     errlen (the 160 bytes of hv/hv.c's buffer), nothing written past it;
 *   - the boot area [GUEST_BOOT_AREA_START, GUEST_BOOT_AREA_END) and the BIOS area (the ACPI
 *     tables, [GUEST_BIOS_AREA_START, GUEST_BIOS_AREA_END)) are never written, on success or
 *     failure;
 *   - on 0: the format is one of the three names; load_lo <= load_hi <= RAM size and every
 *     byte outside [load_lo, load_hi) is still FILL (the range is the hull of the segments,
 *     so it may span the boot area, whose bytes are checked above); the entry point is inside
 *     RAM; a.out kludge: the entry is inside the loaded range.
 */
#include "fuzz.h"

#include "kernel/guest_load.h"

#define RAM_SIZE (4 * MiB)
#define FILL 0xAA
#define ERRLEN 160
#define ERRBUF (ERRLEN + 32)
#define CANARY 0x5a

/* Known bug (README.md): load_elf accepts any entry point below 4 GiB, so an ELF kernel may
 * start outside guest RAM. FUZZ_KNOWN_BUGS=1 (the Makefile's default) skips the entry check
 * for ELF images; with 0 the inputs in repro/guest_load/ fail. */
#ifndef FUZZ_KNOWN_BUGS
#define FUZZ_KNOWN_BUGS 1
#endif

static u8 *ram, *clean;
static char err[ERRBUF];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	ram = malloc(RAM_SIZE);
	clean = malloc(RAM_SIZE);
	CHECK(ram && clean, "out of memory");
	memset(clean, FILL, RAM_SIZE);
	memcpy(ram, clean, RAM_SIZE);
	return 0;
}

/* First byte in [lo, hi) that is not FILL, or hi. */
static u64 first_dirty(u64 lo, u64 hi)
{
	if (lo >= hi)
		return hi;
	if (!memcmp(ram + lo, clean + lo, hi - lo))
		return hi;
	while (lo < hi && ram[lo] == FILL)
		lo++;
	return lo;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_image out;
	u8 *img = malloc(size ? size : 1);
	CHECK(img != NULL, "out of memory");
	memcpy(img, data, size);
	memset(err, CANARY, sizeof(err));
	memset(&out, 0xee, sizeof(out));

	int r = guest_load_mb1(img, size, ram, RAM_SIZE, &out, err, ERRLEN);
	CHECK(r == 0 || r == -1, "returned %d", r);
	u64 bad = first_dirty(GUEST_BOOT_AREA_START, GUEST_BOOT_AREA_END);
	CHECK(bad == GUEST_BOOT_AREA_END, "boot area written at %#llx (returned %d)", bad, r);
	bad = first_dirty(GUEST_BIOS_AREA_START, GUEST_BIOS_AREA_END);
	CHECK(bad == GUEST_BIOS_AREA_END, "BIOS area written at %#llx (returned %d)", bad, r);
	if (r == -1) {
		size_t len = strnlen(err, ERRLEN);
		CHECK(len > 0 && len < ERRLEN, "err of length %zu", len);
		CHECK(!memchr(err, '\n', len), "err is not one line: %s", err);
		for (size_t i = ERRLEN; i < ERRBUF; i++)
			CHECK((u8)err[i] == CANARY, "err written past errlen at %zu", i);
	} else {
		CHECK(out.format && (!strcmp(out.format, "elf32") || !strcmp(out.format, "elf64") ||
				     !strcmp(out.format, "a.out kludge")), "format %s",
		      out.format ? out.format : "(null)");
		CHECK(out.load_lo <= out.load_hi && out.load_hi <= RAM_SIZE,
		      "load range [%#llx, %#llx) outside RAM", out.load_lo, out.load_hi);
		bad = first_dirty(0, out.load_lo);
		CHECK(bad == out.load_lo, "RAM written at %#llx, below the load range [%#llx, %#llx)",
		      bad, out.load_lo, out.load_hi);
		bad = first_dirty(out.load_hi, RAM_SIZE);
		CHECK(bad == RAM_SIZE, "RAM written at %#llx, above the load range [%#llx, %#llx)",
		      bad, out.load_lo, out.load_hi);
		if (!FUZZ_KNOWN_BUGS || !strncmp(out.format, "a.out", 5))
			CHECK(out.entry < RAM_SIZE, "%s entry point %#x outside guest RAM (%#llx)",
			      out.format, out.entry, RAM_SIZE);
		if (!strcmp(out.format, "a.out kludge"))
			CHECK(out.entry >= out.load_lo && out.entry < out.load_hi,
			      "a.out entry %#x outside [%#llx, %#llx)", out.entry, out.load_lo,
			      out.load_hi);
	}
	/* Back to FILL: only the written part (everything, after a refusal: partial loads). */
	if (r == 0 && out.load_hi > out.load_lo)
		memcpy(ram + out.load_lo, clean + out.load_lo, out.load_hi - out.load_lo);
	else if (r != 0)
		memcpy(ram, clean, RAM_SIZE);
	free(img);
	return 0;
}
