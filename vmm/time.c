// TSC calibration against the PIT (channel 2, gated through port 0x61), so
// that umbra can report times and rates in real units.
#include "asm.h"

u64 tsc_calibrate_khz(void);

u64 tsc_calibrate_khz(void)
{
	const u32 pit_hz = 1193182, ms = 10;
	u16 count = (u16)(pit_hz * ms / 1000);
	outb(0x61, (inb(0x61) & ~0x02) | 0x01); // gate on, speaker off
	outb(0x43, 0xB0);                        // channel 2, lobyte/hibyte, mode 0
	outb(0x42, (u8)count);
	outb(0x42, (u8)(count >> 8));
	u64 t0 = rdtsc();
	for (u32 spin = 0; !(inb(0x61) & 0x20) && spin < 100000000; spin++)
		;
	u64 t1 = rdtsc();
	return (t1 - t0) / ms;
}
