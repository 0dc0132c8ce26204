// Host interrupts: PIC and PIT setup, and the tick count.
#ifndef UMBRA_IRQ_H
#define UMBRA_IRQ_H

#include "types.h"

#define TICK_HZ 100

extern volatile u64 ticks;
void irq_init(void);

#endif
