/* SOURCES: drivers/fbcon.c kernel/fmt.c */
/*
 * test_fbcon.c - drivers/fbcon.c: the screen console drawn into a framebuffer in host memory.
 * The font here is made up (every glyph different, derived from its code), and the screen is
 * read back as text by matching each cell against it, as tests/system/test_screen.py reads
 * QEMU's screen with the real font. Checked: which formats are refused, text placement, CR LF,
 * wrapping, tab and backspace, scrolling (the last line stays visible; a quarter of the screen
 * at a time; redrawn from the console's own text, never from the framebuffer), escape
 * sequences skipped, other bytes as '?', colour fields at any position, nothing written past
 * a line's pixels, and the EGA text path.
 */
#include "unit.h"

#include "drivers/fbcon.h"

#define FW 8
#define FH 4
#define FIRST 0x20
#define COUNT 95
/* Test screens: 5 columns of 8 pixels plus 3 spare pixels, 3 rows of 4 lines plus 2 spare
 * lines, each pixel line padded to PITCH bytes; SENTINEL marks what must never be written. */
#define W (5 * FW + 3)
#define H (3 * FH + 2)
#define PITCH (W * 4 + 20)
#define TALL_H (8 * FH + 2) /* the tallest screen here: 8 rows */
#define SENTINEL 0x5a

static u8 glyphs[COUNT * FH];
static const struct fbfont font = { FW, FH, FIRST, COUNT, glyphs };
static u8 fbmem[PITCH * TALL_H];
static u8 text[64];
static struct fbcon con;
static char err[160];

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < COUNT; i++) {
		u8 ch = (u8)(FIRST + i);
		glyphs[i * FH + 0] = ch;
		glyphs[i * FH + 1] = (u8)~ch;
		glyphs[i * FH + 2] = (u8)(ch ^ 0x55);
		glyphs[i * FH + 3] = 0x81;
	}
	glyphs[0] = glyphs[1] = glyphs[2] = glyphs[3] = 0; /* space: blank, as a real font's */
	return 0;
}

static struct mb2_framebuffer rgb_fb(void)
{
	return (struct mb2_framebuffer){
		.present = true, .addr = 0xfd000000, .pitch = PITCH, .width = W, .height = H,
		.bpp = 32, .type = MB2_FB_RGB, .red_pos = 16, .red_size = 8, .green_pos = 8,
		.green_size = 8, .blue_pos = 0, .blue_size = 8,
	};
}

static void open_rgb(const struct mb2_framebuffer *fb)
{
	memset(fbmem, SENTINEL, sizeof(fbmem));
	if (fbcon_setup(&con, fb, fbmem, &font, text, sizeof(text), err, sizeof(err)))
		fail_msg("refused: %s", err);
	fbcon_clear(&con);
}

static void put(const char *s)
{
	while (*s)
		fbcon_putc(&con, *s++);
}

static u32 pixel(u32 x, u32 y)
{
	u32 v;
	memcpy(&v, fbmem + (size_t)y * PITCH + x * 4, 4);
	return v;
}

/* The character in cell (col, row): the glyph whose rows match, ' ' for a blank cell, '#'
 * when no glyph matches or a pixel is neither the foreground nor the background. */
static char cell(u32 col, u32 row)
{
	u8 rows[FH];
	for (u32 y = 0; y < FH; y++) {
		rows[y] = 0;
		for (u32 x = 0; x < FW; x++) {
			u32 p = pixel(col * FW + x, row * FH + y);
			if (p == con.fg)
				rows[y] |= (u8)(0x80 >> x);
			else if (p != con.bg)
				return '#';
		}
	}
	for (int i = 0; i < COUNT; i++)
		if (!memcmp(rows, glyphs + i * FH, FH))
			return (char)(FIRST + i);
	return '#';
}

/* Text row `row` of the screen, read from its pixels, trailing blanks removed. */
static const char *screen_row(u32 row)
{
	static char line[16];
	u32 n = 0;
	for (u32 c = 0; c < con.cols; c++)
		line[n++] = cell(c, row);
	while (n && line[n - 1] == ' ')
		n--;
	line[n] = '\0';
	return line;
}

static void expect_screen(const char *r0, const char *r1, const char *r2)
{
	assert_string_equal(screen_row(0), r0);
	assert_string_equal(screen_row(1), r1);
	assert_string_equal(screen_row(2), r2);
}

/* Nothing was written past a line's pixels (the padding up to the pitch) or below the
 * screen, and the pixels outside the text cells (right of the last column, below the last
 * row) are background. */
static void expect_outside_untouched(void)
{
	for (u32 y = 0; y < TALL_H; y++)
		for (u32 off = 0; off < PITCH; off++) {
			u8 b = fbmem[(size_t)y * PITCH + off];
			if (y >= con.height || off >= W * 4) {
				if (b != SENTINEL)
					fail_msg("byte %u of line %u was written", off, y);
			} else if ((y >= con.rows * FH || off >= con.cols * FW * 4) && b != 0) {
				fail_msg("pixel %u of line %u is not background", off / 4, y);
			}
		}
}

static void expect_refused(struct mb2_framebuffer fb, const char *want)
{
	struct fbcon c;
	memset(err, 0, sizeof(err));
	assert_int_equal(fbcon_setup(&c, &fb, fbmem, &font, text, sizeof(text), err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("message '%s' does not contain '%s'", err, want);
}

/* ---- formats ---- */

static void test_rgb32_accepted(void **state)
{
	(void)state;
	struct mb2_framebuffer fb = rgb_fb();
	open_rgb(&fb);
	assert_int_equal(con.cols, 5);
	assert_int_equal(con.rows, 3);
	assert_int_equal(con.fg, 0xc0c0c0);
	assert_int_equal(con.bg, 0);
}

static void test_other_formats_refused(void **state)
{
	(void)state;
	struct mb2_framebuffer fb = rgb_fb();
	fb.bpp = 24;
	expect_refused(fb, "24 bpp");
	fb.bpp = 16;
	expect_refused(fb, "16 bpp");
	fb = rgb_fb();
	fb.type = MB2_FB_INDEXED;
	fb.bpp = 8;
	expect_refused(fb, "indexed");
	fb.type = 3;
	expect_refused(fb, "type 3");
	fb = rgb_fb();
	fb.pitch = W * 4 - 4;
	expect_refused(fb, "pitch");
	fb = rgb_fb();
	fb.width = FW - 1;
	expect_refused(fb, "no character");
	fb = rgb_fb();
	fb.height = FH - 1;
	expect_refused(fb, "no character");
	fb = rgb_fb();
	fb.green_size = 9;
	expect_refused(fb, "colour fields");
	fb = rgb_fb();
	fb.blue_pos = 28;
	expect_refused(fb, "colour fields");
	fb = rgb_fb();
	fb.red_size = 0;
	expect_refused(fb, "colour fields");
	fb = rgb_fb();
	fb.type = MB2_FB_EGA_TEXT;
	fb.width = 80;
	fb.pitch = 158;
	expect_refused(fb, "pitch");
}

static void test_colour_fields_anywhere(void **state)
{
	(void)state;
	struct mb2_framebuffer fb = rgb_fb();
	fb.red_pos = 0, fb.blue_pos = 16, fb.green_pos = 8; /* BGR */
	open_rgb(&fb);
	assert_int_equal(con.fg, 0xc0c0c0);
	fb.red_pos = 24, fb.green_pos = 16, fb.blue_pos = 8; /* RGBX */
	open_rgb(&fb);
	assert_int_equal(con.fg, 0xc0c0c000);
	fb = rgb_fb();
	fb.red_size = fb.green_size = fb.blue_size = 5; /* fields narrower than 8 bits */
	fb.red_pos = 10, fb.green_pos = 5, fb.blue_pos = 0;
	open_rgb(&fb);
	assert_int_equal(con.fg, (0x18u << 10) | (0x18u << 5) | 0x18u);
	put("Hi");
	assert_string_equal(screen_row(0), "Hi");
}

/* ---- text ---- */

static void test_text_and_newlines(void **state)
{
	(void)state;
	struct mb2_framebuffer fb = rgb_fb();
	open_rgb(&fb);
	expect_screen("", "", "");
	put("ab\r\ncde\r\n");
	expect_screen("ab", "cde", "");
	put("xy\rZ");
	expect_screen("ab", "cde", "Zy");
	expect_outside_untouched();
}

static void test_wrap_tab_backspace(void **state)
{
	(void)state;
	struct mb2_framebuffer fb = rgb_fb();
	open_rgb(&fb);
	put("12345"); /* exactly a full line: no empty line after it */
	put("\r\n");
	put("abcdefg");
	expect_screen("12345", "abcde", "fg");
	open_rgb(&fb);
	put("a\tb"); /* the next multiple of 8 is past 5 columns: the line is full */
	expect_screen("a", "b", "");
	open_rgb(&fb);
	put("abc\b\bX");
	expect_screen("aXc", "", "");
	put("\b\b\b\b\bY"); /* not before the line's start */
	expect_screen("YXc", "", "");
}

static void test_scroll_keeps_last_line(void **state)
{
	(void)state;
	struct mb2_framebuffer fb = rgb_fb();
	open_rgb(&fb);
	put("l1\r\nl2\r\nl3\r\n");
	expect_screen("l1", "l2", "l3"); /* the newline after l3 does not scroll yet */
	put("l4");
	expect_screen("l2", "l3", "l4");
	put("\r\nl5\r\nl6\r\n");
	expect_screen("l4", "l5", "l6");
	put("\r\n"); /* an empty line */
	expect_screen("l5", "l6", "");
	put("l7");
	expect_screen("l6", "", "l7");
	expect_outside_untouched();
}

static void test_long_text_scrolls(void **state)
{
	(void)state;
	struct mb2_framebuffer fb = rgb_fb();
	open_rgb(&fb);
	char line[8];
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "n%d\r\n", i);
		put(line);
	}
	expect_screen("n97", "n98", "n99");
	expect_outside_untouched();
}

static void test_escapes_and_other_bytes(void **state)
{
	(void)state;
	struct mb2_framebuffer fb = rgb_fb();
	open_rgb(&fb);
	put("\x1b[1;31mred\x1b[0m\x1b" "c!\a\x01\x7f");
	expect_screen("red!", "", "");
	put("\r\n\xc3\xa9\xff");
	expect_screen("red!", "???", "");
}

static void test_jump_scroll(void **state)
{
	(void)state;
	struct mb2_framebuffer fb = rgb_fb();
	fb.height = TALL_H; /* 8 rows: a scroll moves the text up by 2 */
	open_rgb(&fb);
	assert_int_equal(con.rows, 8);
	assert_int_equal(con.scroll_rows, 2);
	put("a\r\nb\r\nc\r\nd\r\ne\r\nf\r\ng\r\nh\r\n");
	assert_string_equal(screen_row(7), "h");
	put("i");
	static const char *const want[8] = { "c", "d", "e", "f", "g", "h", "i", "" };
	for (u32 r = 0; r < 8; r++)
		assert_string_equal(screen_row(r), want[r]);
	put("\r\nj\r\nk"); /* j fills the last row; k scrolls again */
	static const char *const want2[8] = { "e", "f", "g", "h", "i", "j", "k", "" };
	for (u32 r = 0; r < 8; r++)
		assert_string_equal(screen_row(r), want2[r]);
	expect_outside_untouched();
}

static void test_scroll_never_reads_the_framebuffer(void **state)
{
	(void)state;
	struct mb2_framebuffer fb = rgb_fb();
	open_rgb(&fb);
	put("ab\r\ncd\r\nef\r\n");
	/* Garble the pixels of "cd" (row 1): a scroll that copied pixels would carry the garbage
	 * up to row 0; the console redraws the cells that change from its own text. */
	for (u32 y = FH; y < 2 * FH; y++)
		memset(fbmem + (size_t)y * PITCH, 0x33, 2 * FW * 4);
	put("gh");
	expect_screen("cd", "ef", "gh");
}

static void test_text_buffer_limits_rows(void **state)
{
	(void)state;
	struct mb2_framebuffer fb = rgb_fb();
	u8 small[12]; /* 5 columns: two rows fit */
	assert_int_equal(fbcon_setup(&con, &fb, fbmem, &font, small, sizeof(small), err,
				     sizeof(err)), 0);
	assert_int_equal(con.rows, 2);
	assert_int_equal(fbcon_setup(&con, &fb, fbmem, &font, small, 4, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "columns"));
}

/* ---- EGA text ---- */

static void test_ega_text(void **state)
{
	(void)state;
	enum { COLS = 4, ROWS = 2, EPITCH = COLS * 2 + 6 };
	struct mb2_framebuffer fb = {
		.present = true, .addr = 0xb8000, .pitch = EPITCH, .width = COLS, .height = ROWS,
		.bpp = 16, .type = MB2_FB_EGA_TEXT,
	};
	memset(fbmem, SENTINEL, sizeof(fbmem));
	if (fbcon_setup(&con, &fb, fbmem, NULL, text, sizeof(text), err, sizeof(err)))
		fail_msg("refused: %s", err);
	fbcon_clear(&con);
	put("ab\r\ncdefg\r\n\xe9");
	static const char want[ROWS][COLS + 1] = { "g   ", "?   " }; /* scrolled twice */
	for (int r = 0; r < ROWS; r++) {
		for (int c = 0; c < COLS; c++) {
			u16 v;
			memcpy(&v, fbmem + r * EPITCH + c * 2, 2);
			assert_int_equal(v, (u16)(0x0700 | (u8)want[r][c]));
		}
		for (int off = COLS * 2; off < EPITCH; off++)
			assert_int_equal(fbmem[r * EPITCH + off], SENTINEL);
	}
	assert_int_equal(fbmem[ROWS * EPITCH], SENTINEL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rgb32_accepted),
		cmocka_unit_test(test_other_formats_refused),
		cmocka_unit_test(test_colour_fields_anywhere),
		cmocka_unit_test(test_text_and_newlines),
		cmocka_unit_test(test_wrap_tab_backspace),
		cmocka_unit_test(test_scroll_keeps_last_line),
		cmocka_unit_test(test_long_text_scrolls),
		cmocka_unit_test(test_jump_scroll),
		cmocka_unit_test(test_scroll_never_reads_the_framebuffer),
		cmocka_unit_test(test_text_buffer_limits_rows),
		cmocka_unit_test(test_escapes_and_other_bytes),
		cmocka_unit_test(test_ega_text),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
