// The guest platform's devices: COM1 (a 16550 as a polling driver sees it),
// the exit port 0xf4, the 8259 PICs (vpic.c) and the PIT with port 0x61
// (vpit.c). Every other
// port reads as all-ones.
#ifndef UMBRA_DEVICES_H
#define UMBRA_DEVICES_H

#include "vm.h"

#define EXIT_PORT 0xF4
#define COM1_BASE 0x3F8
// Hypercalls: a 32-bit IN from this port clones the VM (see exit.c).
#define HC_CLONE_PORT 0x6C0
#define HC_FAILED 0xFFFFFFFEu  // plain QEMU reads 0xFFFFFFFF
// With the bench option only: a 32-bit OUT here reclaims the frame of the
// guest's current code page through its reverse map and by a full scan, and
// logs both costs (make bench). Otherwise an unused port.
#define HC_BENCH_PORT 0x6C4

u32 dev_in(struct vm *vm, u16 port, u8 size);
void dev_out(struct vm *vm, u16 port, u8 size, u32 val);

#endif
