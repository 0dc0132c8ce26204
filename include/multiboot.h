// Multiboot 1: the header a kernel carries and the information a loader
// leaves it. umbra reads it from GRUB or QEMU, and writes it for its guests.
#ifndef UMBRA_MULTIBOOT_H
#define UMBRA_MULTIBOOT_H

#include "types.h"

#define MB_MAGIC 0x1BADB002u       // in the kernel's header
#define MB_BOOT_MAGIC 0x2BADB002u  // in EAX at the kernel's entry
#define MB_SEARCH 8192             // the header lies in the image's first 8 KiB
#define MB_FLAG_AOUT_KLUDGE (1u << 16)

// mb_info.flags: which fields are valid.
#define MBI_MEM (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MODS (1u << 3)
#define MBI_MMAP (1u << 6)
#define MBI_LOADER_NAME (1u << 9)
#define MBI_LOADER_NAME (1u << 9)

struct mb_info {
	u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	u32 syms[4];
	u32 mmap_length, mmap_addr, drives_length, drives_addr, config_table;
	u32 boot_loader_name, apm_table;
	u32 vbe[6];
};

struct mb_module {
	u32 start, end, cmdline, pad;
};

// One memory-map entry; size counts the bytes after itself (20).
struct mb_mmap {
	u32 size;
	u64 base, len;
	u32 type;         // 1: usable RAM
} __attribute__((packed));

#endif
