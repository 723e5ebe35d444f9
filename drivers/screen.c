/* screen.c - the screen console: fbcon over the loader's framebuffer, with the font made at
 * build time from GRUB's ascii.pf2 (scripts/pf2font.py -> build/gen/fbfont.h). */
#include "drivers/screen.h"
#include "drivers/fbcon.h"
#include "kernel/fmt.h"
#include "kernel/pmm.h" /* PMM_LIMIT: the end of the boot page tables' identity map */
#include "fbfont.h"      /* generated: fbfont_builtin */

#define SCREEN_TEXT_BYTES (64 * KiB) /* a character per cell: 4K (3840x2160) in 8x16 is 480x135 */

static struct fbcon screen;
static u8 screen_text[SCREEN_TEXT_BYTES];
static bool screen_ready;

static const char *fb_kind(const struct mb2_framebuffer *fb)
{
	return fb->type == MB2_FB_RGB ? "RGB" : fb->type == MB2_FB_EGA_TEXT ? "EGA text" : "indexed";
}

int screen_init(const struct mb2_framebuffer *fb, char *msg, size_t n)
{
	char why[120];
	if (!fb->present) {
		fmt_snprintf(msg, n, "none: the boot loader set no framebuffer");
		return -1;
	}
	/* Why: the host reaches physical memory only through the identity map of the low 4 GiB
	 * (boot/entry.S); a framebuffer above it (possible on large-BAR machines) is not mapped. */
	u64 end = fb->addr + (u64)fb->pitch * fb->height;
	if (end < fb->addr || end > PMM_LIMIT) {
		fmt_snprintf(msg, n, "not used: %s framebuffer at %#llx-%#llx is outside the host's "
			     "identity map (below %#llx)", fb_kind(fb), fb->addr, end, PMM_LIMIT);
		return -1;
	}
	if (fbcon_setup(&screen, fb, (void *)(uintptr_t)fb->addr, &fbfont_builtin, screen_text,
			sizeof(screen_text), why, sizeof(why))) {
		fmt_snprintf(msg, n, "not used: %ux%u %s at %#llx: %s", fb->width, fb->height,
			     fb_kind(fb), fb->addr, why);
		return -1;
	}
	fbcon_clear(&screen);
	screen_ready = true;
	fmt_snprintf(msg, n, "%ux%u %u bpp %s at %#llx, %ux%u characters", fb->width, fb->height,
		     fb->bpp, fb_kind(fb), fb->addr, screen.cols, screen.rows);
	return 0;
}

void screen_putc(char c)
{
	if (screen_ready)
		fbcon_putc(&screen, c);
}
