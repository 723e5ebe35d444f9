/* cmos.c - read the host RTC: wait for no update in progress, read twice until stable. */
#include "drivers/cmos.h"
#include "arch/asm.h"

static u8 reg(u8 r)
{
	outb(0x70, r);
	return inb(0x71);
}

static u32 bcd(u8 v, bool binary)
{
	return binary ? v : (u32)(v & 0xf) + (u32)(v >> 4) * 10;
}

struct rtc_time {
	u8 s, m, h, d, mo, y, cent;
};

static void read_once(struct rtc_time *t)
{
	for (int i = 0; i < 100000 && (reg(0x0a) & 0x80); i++)
		pause();
	*t = (struct rtc_time){ reg(0), reg(2), reg(4), reg(7), reg(8), reg(9), reg(0x32) };
}

/* Days from 1970-01-01 to y-m-d (civil calendar). */
static u64 days_from_civil(u64 y, u32 m, u32 d)
{
	y -= m <= 2;
	u64 era = y / 400, yoe = y - era * 400;
	u64 doy = (153 * (m + (m > 2 ? (u32)-3 : 9)) + 2) / 5 + d - 1;
	u64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

u64 cmos_read_epoch(void)
{
	struct rtc_time a, b;
	int tries = 0;
	do {
		read_once(&a);
		read_once(&b);
	} while ((a.s != b.s || a.m != b.m || a.h != b.h || a.d != b.d) && ++tries < 10);
	u8 regb = reg(0x0b);
	bool bin = regb & 0x04, h12 = !(regb & 0x02);
	u32 hour = bcd(b.h & 0x7f, bin);
	if (h12 && (b.h & 0x80))
		hour = (hour % 12) + 12;
	else if (h12 && hour == 12)
		hour = 0;
	u32 cent = bcd(b.cent, bin);
	u64 year = (cent >= 19 && cent <= 21 ? cent * 100 : 2000) + bcd(b.y, bin);
	u32 mon = bcd(b.mo, bin), day = bcd(b.d, bin);
	if (mon < 1 || mon > 12 || day < 1 || day > 31)
		return 0;
	return days_from_civil(year, mon, day) * 86400 + hour * 3600 + bcd(b.m, bin) * 60 +
	       bcd(b.s, bin);
}
