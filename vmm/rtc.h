// The guest's MC146818 CMOS RTC at 0x70/0x71 (see rtc.c).
#ifndef UMBRA_RTC_H
#define UMBRA_RTC_H

#include "types.h"

struct vrtc {
	u8 index;          // the register 0x70 selects
	u8 ram[128];       // registers other than the clock's
	s64 offset_s;      // the guest's time less the host's, in seconds
	bool held;         // register B's SET: the clock stands at held_s
	u64 held_s;
};

struct vm;
// umbra's own clock, read once from its machine's RTC.
void rtc_host_init(void);
// The host's wall-clock time at a TSC value, in ns since 1970.
u64 rtc_host_ns_at(u64 tsc);
// A VM's RTC as after reset; mem_mib fills the memory-size bytes.
void rtc_init(struct vrtc *r, u32 mem_mib);
bool rtc_port(u16 port);
u32 rtc_in(struct vm *vm, u16 port);
void rtc_out(struct vm *vm, u16 port, u8 val);

#endif
