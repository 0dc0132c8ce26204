// The guest's view of QEMU's fw_cfg (ports 0x510-0x511): the traditional
// interface with the items small kernels written for QEMU ask first
// (signature, ID, RAM size, CPU counts, an empty file directory). No DMA
// interface, no files. (vmm/fwcfg.c is umbra reading its own host's.)
#ifndef UMBRA_VFWCFG_H
#define UMBRA_VFWCFG_H

#include "types.h"

struct vfwcfg {
	u16 key;     // the item selected
	u32 offset;  // the next byte of it to read
};

struct vm;
bool vfwcfg_port(u16 port);
u32 vfwcfg_in(struct vm *vm, u16 port, u8 size);
void vfwcfg_out(struct vm *vm, u16 port, u8 size, u32 val);

#endif
