// fw_cfg for guests (see vfwcfg.h), as QEMU's "comb" I/O region behaves:
// a byte read of either port returns the selected item's next byte (zeros
// past its end, and for a key with no item); a word write to either port
// selects an item and rewinds it; byte writes are data writes, which QEMU
// has ignored since 2.4; reads wider than a byte and dword writes are
// invalid accesses, which read 0 and change nothing.
#include "lib.h"
#include "umbra.h"
#include "vfwcfg.h"

#define FW_CFG_PORT 0x510
#define KEY_SIGNATURE 0x0000
#define KEY_ID 0x0001
#define KEY_RAM_SIZE 0x0003
#define KEY_NB_CPUS 0x0005
#define KEY_MAX_CPUS 0x000F
#define KEY_FILE_DIR 0x0019
#define ID_TRADITIONAL 1u

bool vfwcfg_port(u16 port)
{
	return port == FW_CFG_PORT || port == FW_CFG_PORT + 1;
}

// Byte i of item key for vm; false past its end (or no such item).
static bool item_byte(const struct vm *vm, u16 key, u32 i, u8 *b)
{
	u8 buf[8] = { 0 };
	u32 len;
	switch (key) {
	case KEY_SIGNATURE: memcpy(buf, "QEMU", 4); len = 4; break;
	case KEY_ID: buf[0] = ID_TRADITIONAL; len = 4; break;
	case KEY_RAM_SIZE: {
		u64 bytes = (u64)vm->mem_mib << 20;
		memcpy(buf, &bytes, 8); // little-endian, as fw_cfg's numbers are
		len = 8;
		break;
	}
	case KEY_NB_CPUS: case KEY_MAX_CPUS: buf[0] = 1; len = 2; break;
	case KEY_FILE_DIR: len = 4; break; // a big-endian count of 0 files
	default: return false;
	}
	if (i >= len)
		return false;
	*b = buf[i];
	return true;
}

u32 vfwcfg_in(struct vm *vm, u16 port, u8 size)
{
	(void)port;
	if (size != 1)
		return 0; // invalid: QEMU's comb region reads bytes only
	struct vfwcfg *f = &vm->dev.fwcfg;
	u8 b = 0;
	if (item_byte(vm, f->key, f->offset, &b))
		f->offset++;
	return b;
}

void vfwcfg_out(struct vm *vm, u16 port, u8 size, u32 val)
{
	(void)port;
	if (size == 2) {
		vm->dev.fwcfg.key = (u16)val;
		vm->dev.fwcfg.offset = 0;
	}
	// Byte writes (data) are ignored; dword writes are invalid.
}
