/* fbcon.h - a text console drawn into a framebuffer (pure, host-tested): 32-bpp direct-RGB
 * pixels with a bitmap font, or EGA text cells; wraps long lines, scrolls, skips escapes. */
#ifndef DRIVERS_FBCON_H
#define DRIVERS_FBCON_H

#include "arch/types.h"
#include "kernel/mb2.h"

/*
 * A bitmap font: glyphs for the codes first .. first+count-1, each `height` bytes, one per
 * pixel row from the top of the cell, bit 7 the leftmost pixel (so width <= 8). The built-in
 * one is generated from GRUB's ascii.pf2 (scripts/pf2font.py, drivers/screen.c).
 */
struct fbfont {
	u8 width, height;
	u8 first, count;
	const u8 *glyphs;
};

enum fbcon_kind { FBCON_RGB32 = 1, FBCON_EGA_TEXT };

/*
 * Invariants: col <= cols (col == cols: the line is full, the next character wraps); row <=
 * rows (row == rows: a newline ended the last row, the scroll waits for the next character,
 * so the last line written stays on the screen); text[r * cols + c] is the character drawn in
 * cell (c, r), ' ' for a blank one: the framebuffer is only ever written, never read (a read
 * of video memory is slow on real hardware: uncached, across PCIe).
 */
struct fbcon {
	enum fbcon_kind kind;
	u8 *base;                  /* the framebuffer as this code reaches it */
	u32 pitch;                 /* bytes from one pixel line (EGA: text line) to the next */
	u32 width, height;         /* pixels per line, lines (EGA: characters, rows) */
	u32 cols, rows;            /* text cells */
	u32 col, row;              /* where the next character goes */
	u32 fg, bg;                /* RGB32: pixel values; EGA: fg is the attribute byte */
	const struct fbfont *font; /* RGB32 only */
	u8 *text;                  /* cols * rows characters: what the screen shows */
	u32 scroll_rows;           /* rows one scroll moves the text up by */
	u8 esc;                    /* an escape sequence being skipped (ESC_* in fbcon.c) */
};

/*
 * Sets c up for the framebuffer fb describes, mapped at base: 32 bpp direct RGB (any
 * positions of 8-bit-or-smaller colour fields) drawn with font, or EGA text. Anything else
 * (8/15/16/24 bpp, indexed colour, a screen smaller than one cell, a pitch shorter than a
 * line) is refused: returns -1 with a one-line reason in err, c unusable. Nothing is drawn.
 * text (text_size bytes) keeps the characters on the screen; a screen with more cells than
 * that uses fewer rows.
 */
int fbcon_setup(struct fbcon *c, const struct mb2_framebuffer *fb, void *base,
		const struct fbfont *font, u8 *text, size_t text_size, char *err, size_t errlen);

/* Blanks the screen; the next character goes to the top left. */
void fbcon_clear(struct fbcon *c);

/*
 * Writes one console character: printable ASCII is drawn (other bytes >= 0x80 as '?'), '\n'
 * starts a new line, '\r' returns to the line's start, '\b' steps back, '\t' to the next
 * multiple of 8; other control characters and ANSI escape sequences (ESC [ ... final byte;
 * a guest's colours and cursor moves) are skipped. When a character goes below the last row
 * the text scrolls up by scroll_rows (a quarter of the screen, at least one row: a scroll
 * every few lines, not one per line) and only the cells whose character changes are redrawn,
 * from text (the blank right-hand part of log lines mostly stays as it is).
 */
void fbcon_putc(struct fbcon *c, char ch);

#endif
