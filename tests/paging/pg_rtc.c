// The CMOS RTC at 0x70/0x71 as a kernel reads it: registers A-D as after
// reset (24-hour BCD, no update stuck in progress), a date and time that
// make sense and move on with the TSC, the same instant in binary when
// register B asks for it, and a time the guest sets itself. Only what does
// not depend on the moment it runs is printed.
#include "lib/lib.h"

static inline void outb(u16 p, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline u8 inb(u16 p) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return (u64)hi << 32 | lo; }

static u8 cmos(u8 reg) { outb(0x70, reg); return inb(0x71); }
static void cmos_set(u8 reg, u8 v) { outb(0x70, reg); outb(0x71, v); }
static u32 bcd(u8 v) { return (v >> 4) * 10 + (v & 15); }
static bool is_bcd(u8 v) { return (v >> 4) < 10 && (v & 15) < 10; }

// Seconds since midnight, read once no update is in progress.
static u32 now_s(bool binary)
{
	u64 t0 = rdtsc();
	while ((cmos(0x0A) & 0x80) && rdtsc() - t0 < 3000000000ull)
		;
	u8 h = cmos(4), m = cmos(2), s = cmos(0);
	return binary ? h * 3600u + m * 60u + s : bcd(h) * 3600 + bcd(m) * 60 + bcd(s);
}

void test_main(void)
{
	report((cmos(0x0A) & 0x7F) == 0x26, "register A: 32.768 kHz divider, 1024 Hz rate", "%x", cmos(0x0A));
	report(cmos(0x0B) == 0x02, "register B: 24-hour BCD, no interrupts", "%x", cmos(0x0B));
	report(cmos(0x0D) == 0x80, "register D: the battery is good", "%x", cmos(0x0D));
	u32 uip = 0;
	for (int i = 0; i < 2000; i++)
		uip += (cmos(0x0A) & 0x80) != 0;
	report(uip < 2000, "the update-in-progress bit is not stuck", "%u of 2000", uip);
	u8 s = cmos(0), mi = cmos(2), h = cmos(4), d = cmos(7), mo = cmos(8), y = cmos(9), c = cmos(0x32);
	report(is_bcd(s) && is_bcd(mi) && is_bcd(h) && is_bcd(d) && is_bcd(mo) && is_bcd(y) && is_bcd(c) &&
	       bcd(s) < 60 && bcd(mi) < 60 && bcd(h) < 24 && bcd(d) >= 1 && bcd(d) <= 31 && bcd(mo) >= 1 &&
	       bcd(mo) <= 12 && bcd(c) * 100 + bcd(y) >= 2024,
	       "the date and time are valid BCD and recent", "%x:%x:%x %x-%x-%x%x", h, mi, s, d, mo, c, y);
	// It moves on: about 2 s of TSC (the TSC's rate from the RTC itself).
	u32 a = now_s(false);
	u64 t0 = rdtsc();
	while (now_s(false) == a && rdtsc() - t0 < 20000000000ull)
		;
	u32 b = now_s(false);
	report(b == a + 1 || (a == 86399 && b == 0), "the seconds move on", "%u then %u", a, b);
	// Binary, then BCD again: the same instant.
	cmos_set(0x0B, 0x06);
	u32 bin = now_s(true);
	cmos_set(0x0B, 0x02);
	u32 back = now_s(false);
	report(bin == back || bin + 1 == back, "binary mode gives the same time", "%u and %u", bin, back);
	// The guest sets the time (in BCD): 12:34:56 reads back, and runs on.
	cmos_set(0x0B, 0x82); // SET: hold updates while writing
	cmos_set(4, 0x12);
	cmos_set(2, 0x34);
	cmos_set(0, 0x56);
	cmos_set(0x0B, 0x02);
	u32 set = now_s(false);
	report(set >= 12 * 3600 + 34 * 60 + 56 && set <= 12 * 3600 + 34 * 60 + 58, "a time the guest sets reads back",
	       "%u", set);
}
