// The host's wake-up timer: the local APIC timer, one-shot, so that umbra,
// when every VM waits for an interrupt, sleeps until the earliest guest
// deadline instead of its next 100 Hz tick, and a running guest exits at
// its next timer deadline, when its interrupt is due. Without a local APIC
// umbra looks at deadlines at the tick, as before.
#ifndef UMBRA_HOSTTIMER_H
#define UMBRA_HOSTTIMER_H

#include "types.h"

#define HOSTTIMER_VECTOR 48
#define HOSTTIMER_SPURIOUS 63

void hosttimer_init(void);
// Sleep (HLT with interrupts on) until the TSC reaches deadline_tsc or an
// interrupt comes, whichever is first; at most until the next tick.
void hosttimer_sleep_until(u64 deadline_tsc);
// Have the host interrupt (and so a running guest exit) at deadline_tsc,
// if that comes before the next tick; ~0 for no deadline. Cheap when the
// deadline is the one already armed.
void hosttimer_arm(u64 deadline_tsc);
// From the interrupt handler.
void hosttimer_interrupt(void);
extern u64 hosttimer_wakeups;

#endif
