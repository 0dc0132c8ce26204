// Ports a PC kernel probes that umbra answers without a device behind them:
// PCI configuration mechanism 1 with no devices, the CGA CRT controller's
// registers, the POST/delay port 0x80, and the i8042's ports (no controller).
#ifndef UMBRA_LEGACY_H
#define UMBRA_LEGACY_H

#include "types.h"

struct vlegacy {
	u32 pci_address;  // 0xCF8: the configuration address last written
	u8 crtc_index;    // 0x3D4
	u8 crtc[32];      // 0x3D5: what was written to each register
};

struct vm;
// True when port is one of these; *val is what an IN reads.
bool legacy_in(struct vm *vm, u16 port, u8 size, u32 *val);
bool legacy_out(struct vm *vm, u16 port, u8 size, u32 val);

#endif
