/* screen.h - the screen console: the framebuffer the boot loader set up, drawn by
 * drivers/fbcon.c with the built-in font; a second console sink beside the serial line. */
#ifndef DRIVERS_SCREEN_H
#define DRIVERS_SCREEN_H

#include "arch/types.h"
#include "kernel/mb2.h"

/*
 * Takes the framebuffer fb describes (the multiboot2 framebuffer tag) and blanks it. Returns
 * 0 with a one-line description in msg ("1024x768 32 bpp RGB at 0xfd000000, 128x48
 * characters"), or -1 with the reason it is not used (no framebuffer, a format fbcon does
 * not draw, memory outside the host's identity map); the screen is then never touched.
 */
int screen_init(const struct mb2_framebuffer *fb, char *msg, size_t n);
/* One console character on the screen (log_set_extra_output); nothing before screen_init. */
void screen_putc(char c);

#endif
