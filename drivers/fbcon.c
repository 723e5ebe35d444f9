/* fbcon.c - text console in a framebuffer: cells, wrapping, scrolling (pure; drivers/screen.c
 * points it at the real screen). */
#include "drivers/fbcon.h"
#include "kernel/fmt.h"
#include "kernel/lib.h"

#define FBCON_TAB 8
#define FBCON_FG 0xc0 /* light grey on black: each colour field's intensity out of 0xff */
#define FBCON_SCROLL_DIV 4 /* a scroll moves the text up by a quarter of the screen */
#define EGA_ATTR_GREY 0x07
#define ASCII_ESC 0x1b
#define ESC_NONE 0
#define ESC_START 1 /* ESC seen */
#define ESC_CSI 2   /* ESC [ seen: parameters until a final byte 0x40-0x7e */

static int refuse(char *err, size_t n, const char *fmt, u32 a, u32 b)
{
	fmt_snprintf(err, n, fmt, a, b);
	return -1;
}

/* A colour field of `size` bits at `pos` holding intensity v (0..0xff); false if it does not fit. */
static bool field(u8 pos, u8 size, u32 v, u32 *out)
{
	if (size == 0 || size > 8 || pos + size > 32)
		return false;
	*out |= (v >> (8 - size)) << pos;
	return true;
}

static int setup_rgb(struct fbcon *c, const struct mb2_framebuffer *fb, const struct fbfont *font,
		     char *err, size_t n)
{
	if (fb->bpp != 32)
		return refuse(err, n, "%u bpp direct RGB: only 32 bpp is drawn", fb->bpp, 0);
	if (!font || font->width == 0 || font->width > 8 || font->height == 0)
		return refuse(err, n, "no usable font", 0, 0);
	u32 fg = 0;
	if (!field(fb->red_pos, fb->red_size, FBCON_FG, &fg) ||
	    !field(fb->green_pos, fb->green_size, FBCON_FG, &fg) ||
	    !field(fb->blue_pos, fb->blue_size, FBCON_FG, &fg))
		return refuse(err, n, "RGB colour fields out of range (red %u bits at %u, ...)",
			      fb->red_size, fb->red_pos);
	if ((u64)fb->width * 4 > fb->pitch)
		return refuse(err, n, "pitch %u bytes is shorter than a line of %u pixels", fb->pitch,
			      fb->width);
	c->kind = FBCON_RGB32;
	c->font = font;
	c->fg = fg;
	c->bg = 0;
	c->cols = fb->width / font->width;
	c->rows = fb->height / font->height;
	return 0;
}

static int setup_ega(struct fbcon *c, const struct mb2_framebuffer *fb, char *err, size_t n)
{
	if ((u64)fb->width * 2 > fb->pitch)
		return refuse(err, n, "EGA text pitch %u bytes is shorter than %u characters", fb->pitch,
			      fb->width);
	c->kind = FBCON_EGA_TEXT;
	c->fg = EGA_ATTR_GREY;
	c->bg = 0;
	c->cols = fb->width;
	c->rows = fb->height;
	return 0;
}

int fbcon_setup(struct fbcon *c, const struct mb2_framebuffer *fb, void *base,
		const struct fbfont *font, u8 *text, size_t text_size, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	int r;
	if (fb->type == MB2_FB_RGB)
		r = setup_rgb(c, fb, font, err, errlen);
	else if (fb->type == MB2_FB_EGA_TEXT)
		r = setup_ega(c, fb, err, errlen);
	else if (fb->type == MB2_FB_INDEXED)
		return refuse(err, errlen, "indexed colour (%u bpp): only 32 bpp direct RGB and EGA "
			      "text are drawn", fb->bpp, 0);
	else
		return refuse(err, errlen, "framebuffer type %u: only 32 bpp direct RGB and EGA text "
			      "are drawn", fb->type, 0);
	if (r)
		return r;
	if (c->cols == 0 || c->rows == 0)
		return refuse(err, errlen, "a %ux%u screen holds no character", fb->width, fb->height);
	if (c->cols > text_size)
		return refuse(err, errlen, "%u columns: more than the console keeps (%u)", c->cols,
			      (u32)text_size);
	c->rows = MIN(c->rows, (u32)(text_size / c->cols));
	c->scroll_rows = MAX(1, c->rows / FBCON_SCROLL_DIV);
	c->text = text;
	c->base = base;
	c->pitch = fb->pitch;
	c->width = fb->width;
	c->height = fb->height;
	return 0;
}

/* Draws ch in cell (col, row) and records it in text. */
static void draw(struct fbcon *c, u32 col, u32 row, u8 ch)
{
	c->text[row * c->cols + col] = ch;
	if (c->kind == FBCON_EGA_TEXT) {
		u16 *cell = (u16 *)(c->base + (u64)row * c->pitch) + col;
		*cell = (u16)(ch | c->fg << 8);
		return;
	}
	const struct fbfont *f = c->font;
	if (ch < f->first || ch >= f->first + f->count)
		ch = '?';
	const u8 *g = f->glyphs + (u32)(ch - f->first) * f->height;
	u8 *p = c->base + (u64)row * f->height * c->pitch + (u64)col * f->width * 4;
	for (u32 y = 0; y < f->height; y++, p += c->pitch) {
		u32 *px = (u32 *)p;
		for (u32 x = 0; x < f->width; x++)
			px[x] = (g[y] & (0x80 >> x)) ? c->fg : c->bg;
	}
}

/* Blanks the whole screen: every cell, or every pixel (also the lines below the last text row
 * and right of the last column, where the loader's picture would stay). */
void fbcon_clear(struct fbcon *c)
{
	if (c->kind == FBCON_EGA_TEXT) {
		for (u32 r = 0; r < c->rows; r++)
			for (u32 x = 0; x < c->cols; x++)
				draw(c, x, r, ' ');
	} else {
		for (u64 y = 0; y < c->height; y++) {
			u32 *px = (u32 *)(c->base + y * c->pitch);
			for (u32 x = 0; x < c->width; x++)
				px[x] = c->bg;
		}
		memset(c->text, ' ', (size_t)c->cols * c->rows);
	}
	c->col = c->row = 0;
}

/* Moves the text up by scroll_rows, redrawing from text only the cells that change (top row
 * first: row r takes row r + n's characters before row r + n is itself redrawn). */
static void scroll(struct fbcon *c)
{
	u32 n = c->scroll_rows;
	for (u32 r = 0; r < c->rows; r++)
		for (u32 x = 0; x < c->cols; x++) {
			u8 now = c->text[r * c->cols + x];
			u8 next = r + n < c->rows ? c->text[(r + n) * c->cols + x] : ' ';
			if (now != next)
				draw(c, x, r, next);
		}
	c->row -= n;
}

/* Where the next character is drawn: a full line wraps, a row below the last scrolls. */
static void place(struct fbcon *c)
{
	if (c->col == c->cols) {
		c->col = 0;
		c->row++;
	}
	if (c->row == c->rows)
		scroll(c);
}

/* True when ch belongs to an escape sequence (and is skipped). */
static bool escape(struct fbcon *c, u8 ch)
{
	switch (c->esc) {
	case ESC_START:
		c->esc = ch == '[' ? ESC_CSI : ESC_NONE;
		return true;
	case ESC_CSI:
		if (ch >= 0x40 && ch <= 0x7e)
			c->esc = ESC_NONE;
		return true;
	default:
		if (ch != ASCII_ESC)
			return false;
		c->esc = ESC_START;
		return true;
	}
}

void fbcon_putc(struct fbcon *c, char chr)
{
	u8 ch = (u8)chr;
	if (escape(c, ch))
		return;
	switch (ch) {
	case '\n':
		c->col = 0;
		if (c->row == c->rows)
			scroll(c); /* an empty line below a full screen: it shows at once */
		c->row++;
		return;
	case '\r':
		c->col = 0;
		return;
	case '\b':
		if (c->col > 0 && c->col <= c->cols)
			c->col--;
		return;
	case '\t':
		c->col = MIN(c->cols, (c->col + FBCON_TAB) & ~(u32)(FBCON_TAB - 1));
		return;
	}
	if (ch < 0x20 || ch == 0x7f)
		return;
	place(c);
	draw(c, c->col, c->row, ch >= 0x80 ? '?' : ch);
	c->col++;
}
