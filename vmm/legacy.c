// Legacy ports (see legacy.h). A PCI bus with no devices: the address
// register at 0xCF8 (dword accesses) reads back what was written, with its
// reserved bits clear, and configuration data at 0xCFC-0xCFF reads
// all-ones, which is what an empty slot answers; a kernel finds mechanism 1
// and no device. The CGA CRT controller (0x3D4 index, 0x3D5 data) keeps what
// is written, so cursor probes read back. Port 0x80 is the classic I/O
// delay; the i8042 (0x60, 0x64) is absent: all-ones, as on a board without
// one, which kernels recognise ("no controller"). None of them is logged.
#include "legacy.h"
#include "umbra.h"

#define PCI_ADDRESS 0xCF8
#define PCI_ADDRESS_BITS 0x80FFFFFCu // enable, bus, device, function, register
#define CRTC_INDEX 0x3D4
#define CRTC_DATA 0x3D5

static u32 all_ones(u8 size)
{
	return size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu;
}

bool legacy_in(struct vm *vm, u16 port, u8 size, u32 *val)
{
	struct vlegacy *l = &vm->dev.legacy;
	if (port == PCI_ADDRESS && size == 4) {
		*val = l->pci_address;
		return true;
	}
	if (port == CRTC_INDEX && size == 1) {
		*val = l->crtc_index;
		return true;
	}
	if (port == CRTC_DATA && size == 1) {
		*val = l->crtc[l->crtc_index % sizeof(l->crtc)];
		return true;
	}
	if ((port >= PCI_ADDRESS && port < PCI_ADDRESS + 8) || port == 0x80 || port == 0x60 || port == 0x64) {
		*val = all_ones(size);
		return true;
	}
	return false;
}

bool legacy_out(struct vm *vm, u16 port, u8 size, u32 val)
{
	struct vlegacy *l = &vm->dev.legacy;
	if (port == PCI_ADDRESS && size == 4) {
		l->pci_address = val & PCI_ADDRESS_BITS;
		return true;
	}
	if (port == CRTC_INDEX && size == 1) {
		l->crtc_index = (u8)val;
		return true;
	}
	if (port == CRTC_DATA && size == 1) {
		l->crtc[l->crtc_index % sizeof(l->crtc)] = (u8)val;
		return true;
	}
	return (port >= PCI_ADDRESS && port < PCI_ADDRESS + 8) || port == 0x80 || port == 0x60 || port == 0x64;
}
