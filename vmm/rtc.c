// The guest's CMOS real-time clock: an MC146818 as a kernel reads it. The
// time is the host's (umbra reads its own machine's RTC once, at boot) plus
// TSC time since, plus what the guest set; there is never an update in
// progress to wait for (UIP reads 0), and no RTC interrupts are offered.
#include "asm.h"
#include "lib.h"
#include "rtc.h"
#include "umbra.h"

#define REG_A 0x0A
#define REG_B 0x0B
#define REG_C 0x0C
#define REG_D 0x0D
#define REG_CENTURY 0x32
#define B_SET 0x80
#define B_BINARY 0x04
#define B_24H 0x02

static u64 host_base_s, host_base_tsc;

// Days since 1970-01-01 of a date, and back (the proleptic Gregorian
// calendar, by eras of 400 years).
static s64 days_of(s64 y, u32 m, u32 d)
{
	y -= m <= 2;
	s64 era = (y >= 0 ? y : y - 399) / 400;
	u32 yoe = (u32)(y - era * 400);
	u32 doy = (153 * (m + (m > 2 ? (u32)-3 : 9)) + 2) / 5 + d - 1;
	u32 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (s64)doe - 719468;
}

struct rtc_time {
	u32 sec, min, hour, wday, mday, mon;
	s64 year;
};

static void time_of(u64 t, struct rtc_time *tm)
{
	s64 z = (s64)(t / 86400) + 719468;
	u32 s = (u32)(t % 86400);
	tm->sec = s % 60, tm->min = s / 60 % 60, tm->hour = s / 3600;
	tm->wday = (u32)((t / 86400 + 4) % 7) + 1; // 1970-01-01 was a Thursday; Sunday is 1
	s64 era = (z >= 0 ? z : z - 146096) / 146097;
	u32 doe = (u32)(z - era * 146097);
	u32 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	u32 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	u32 mp = (5 * doy + 2) / 153;
	tm->mday = doy - (153 * mp + 2) / 5 + 1;
	tm->mon = mp < 10 ? mp + 3 : mp - 9;
	tm->year = (s64)yoe + era * 400 + (tm->mon <= 2);
}

static u64 seconds_of(const struct rtc_time *tm)
{
	return (u64)(days_of(tm->year, tm->mon, tm->mday) * 86400) + tm->hour * 3600u + tm->min * 60u + tm->sec;
}

static u8 host_cmos(u8 reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

void rtc_host_init(void)
{
	for (u32 spin = 0; (host_cmos(REG_A) & 0x80) && spin < 10000000; spin++)
		;
	u8 b = host_cmos(REG_B);
	u8 raw[7] = { host_cmos(0), host_cmos(2), host_cmos(4), host_cmos(7), host_cmos(8), host_cmos(9),
		      host_cmos(REG_CENTURY) };
	u32 v[7];
	for (int i = 0; i < 7; i++)
		v[i] = (b & B_BINARY) ? raw[i] : (u32)(raw[i] >> 4) * 10 + (raw[i] & 15);
	if (!(b & B_24H) && (raw[2] & 0x80)) // 12-hour clock, PM
		v[2] = ((b & B_BINARY ? raw[2] & 0x7F : ((raw[2] & 0x70) >> 4) * 10 + (raw[2] & 15)) % 12) + 12;
	struct rtc_time tm = { v[0], v[1], v[2], 0, v[3], v[4], (v[6] ? v[6] : 20) * 100 + v[5] };
	if (tm.mon < 1 || tm.mon > 12 || tm.mday < 1 || tm.mday > 31)
		tm = (struct rtc_time){ 0, 0, 0, 0, 1, 1, 2026 }; // no usable clock: a fixed date
	host_base_s = seconds_of(&tm);
	host_base_tsc = rdtsc();
}

void rtc_init(struct vrtc *r, u32 mem_mib)
{
	memset(r, 0, sizeof(*r));
	r->ram[REG_A] = 0x26;
	r->ram[REG_B] = B_24H;
	// Memory sizes in KiB, as PC firmware leaves them: base, then above
	// 1 MiB (to 64 MiB), then above 16 MiB in 64 KiB units.
	u32 ext_kb = mem_mib > 1 ? (mem_mib - 1) * 1024 : 0;
	u32 ext = ext_kb > 0xFFFF ? 0xFFFF : ext_kb;
	u32 above16 = mem_mib > 16 ? (mem_mib - 16) * 16 : 0;
	if (above16 > 0xFFFF)
		above16 = 0xFFFF;
	r->ram[0x15] = 640 & 0xFF, r->ram[0x16] = 640 >> 8;
	r->ram[0x17] = r->ram[0x30] = (u8)ext, r->ram[0x18] = r->ram[0x31] = (u8)(ext >> 8);
	r->ram[0x34] = (u8)above16, r->ram[0x35] = (u8)(above16 >> 8);
}

bool rtc_port(u16 port)
{
	return port == 0x70 || port == 0x71;
}

u64 rtc_host_ns_at(u64 tsc)
{
	if (!cfg.tsc_khz)
		return host_base_s * 1000000000ull;
	s64 dt = (s64)(tsc - host_base_tsc);
	return (u64)((s64)(host_base_s * 1000000000ull) + dt * 1000000 / (s64)cfg.tsc_khz);
}

// The host's time now, in seconds since 1970.
static u64 host_now_s(void)
{
	return host_base_s + (cfg.tsc_khz ? (rdtsc() - host_base_tsc) / (cfg.tsc_khz * 1000) : 0);
}

// The guest's time now: the host's plus what the guest set, or where SET holds it.
static u64 now_s(const struct vrtc *r)
{
	return r->held ? r->held_s : (u64)((s64)host_now_s() + r->offset_s);
}

static u8 encode(const struct vrtc *r, u32 v)
{
	return (r->ram[REG_B] & B_BINARY) ? (u8)v : (u8)((v / 10) << 4 | v % 10);
}

static u32 decode(const struct vrtc *r, u8 v)
{
	return (r->ram[REG_B] & B_BINARY) ? v : (u32)(v >> 4) * 10 + (v & 15);
}

// The clock's registers, from a time.
static u8 clock_read(const struct vrtc *r, u8 reg)
{
	struct rtc_time tm;
	time_of(now_s(r), &tm);
	switch (reg) {
	case 0: return encode(r, tm.sec);
	case 2: return encode(r, tm.min);
	case 4:
		if (r->ram[REG_B] & B_24H)
			return encode(r, tm.hour);
		return (u8)(encode(r, tm.hour % 12 ? tm.hour % 12 : 12) | (tm.hour >= 12 ? 0x80 : 0));
	case 6: return encode(r, tm.wday);
	case 7: return encode(r, tm.mday);
	case 8: return encode(r, tm.mon);
	case 9: return encode(r, (u32)(tm.year % 100));
	default: return encode(r, (u32)(tm.year / 100)); // REG_CENTURY
	}
}

// A write to the clock: the same time with that field changed.
static void clock_write(struct vrtc *r, u8 reg, u8 v)
{
	struct rtc_time tm;
	u64 before = now_s(r);
	time_of(before, &tm);
	u32 n = decode(r, reg == 4 && !(r->ram[REG_B] & B_24H) ? v & 0x7F : v);
	switch (reg) {
	case 0: tm.sec = n % 60; break;
	case 2: tm.min = n % 60; break;
	case 4: tm.hour = (r->ram[REG_B] & B_24H) ? n % 24 : n % 12 + ((v & 0x80) ? 12 : 0); break;
	case 6: return; // the day of the week follows from the date
	case 7: tm.mday = n >= 1 && n <= 31 ? n : tm.mday; break;
	case 8: tm.mon = n >= 1 && n <= 12 ? n : tm.mon; break;
	case 9: tm.year = tm.year / 100 * 100 + n % 100; break;
	default: tm.year = (s64)n * 100 + tm.year % 100; break; // REG_CENTURY
	}
	u64 after = seconds_of(&tm);
	if (r->held)
		r->held_s = after;
	else
		r->offset_s += (s64)after - (s64)before;
}

static bool is_clock(u8 reg)
{
	return reg == 0 || reg == 2 || reg == 4 || (reg >= 6 && reg <= 9) || reg == REG_CENTURY;
}

u32 rtc_in(struct vm *vm, u16 port)
{
	struct vrtc *r = &vm->dev.rtc;
	if (port == 0x70)
		return 0xFF; // the index port cannot be read
	u8 reg = r->index;
	if (is_clock(reg))
		return clock_read(r, reg);
	switch (reg) {
	case REG_A: return r->ram[REG_A] & 0x7F; // never an update in progress
	case REG_C: return 0;                    // no interrupt flags: none are offered
	case REG_D: return 0x80;                 // valid RAM and time
	default: return r->ram[reg];
	}
}

void rtc_out(struct vm *vm, u16 port, u8 val)
{
	struct vrtc *r = &vm->dev.rtc;
	if (port == 0x70) {
		r->index = val & 0x7F; // bit 7 masks NMIs, which no device raises
		return;
	}
	u8 reg = r->index;
	if (is_clock(reg)) {
		clock_write(r, reg, val);
	} else if (reg == REG_B) {
		bool set = val & B_SET;
		if (set && !r->held) {
			r->held_s = now_s(r);
			r->held = true;
		} else if (!set && r->held) {
			r->held = false;
			r->offset_s = (s64)r->held_s - (s64)host_now_s(); // runs on from what was set
		}
		r->ram[REG_B] = val;
	} else if (reg == REG_A) {
		r->ram[REG_A] = val & 0x7F;
	} else if (reg != REG_C && reg != REG_D) {
		r->ram[reg] = val;
	}
}
