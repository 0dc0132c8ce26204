// QEMU's firmware configuration interface, as umbra itself (the host) reads
// it: a named file QEMU was given with -fw_cfg name=...,string=... Absent on
// other machines: the signature check fails and nothing is read.
#include "asm.h"
#include "fwcfg.h"
#include "lib.h"

#define FW_CFG_SELECTOR 0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_FILE_DIR 0x0019

static void select_key(u16 key)
{
	outw(FW_CFG_SELECTOR, key);
}

static void read_bytes(void *buf, u32 n)
{
	u8 *p = buf;
	while (n--)
		*p++ = inb(FW_CFG_DATA);
}

static u32 be32(const u8 *b)
{
	return (u32)b[0] << 24 | (u32)b[1] << 16 | (u32)b[2] << 8 | b[3];
}

bool fwcfg_read_file(const char *name, char *buf, u32 len)
{
	char sig[4];
	select_key(FW_CFG_SIGNATURE);
	read_bytes(sig, 4);
	if (memcmp(sig, "QEMU", 4) != 0)
		return false;
	u8 count[4];
	select_key(FW_CFG_FILE_DIR);
	read_bytes(count, 4);
	for (u32 i = 0, n = be32(count); i < n && i < 4096; i++) {
		struct {
			u8 size[4], select[2], reserved[2];
			char name[56];
		} f;
		read_bytes(&f, sizeof(f));
		f.name[55] = '\0';
		if (strcmp(f.name, name) != 0)
			continue;
		u32 size = be32(f.size);
		if (size >= len)
			return false; // too long to be one of ours: ignore it whole
		select_key((u16)(f.select[0] << 8 | f.select[1]));
		read_bytes(buf, size);
		buf[size] = '\0';
		return true;
	}
	return false;
}
