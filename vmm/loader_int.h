// Shared by the two loaders (multiboot, vmm/loader.c; Linux, vmm/linux_boot.c).
#ifndef UMBRA_LOADER_INT_H
#define UMBRA_LOADER_INT_H

#include "vm.h"

// The guest-physical memory map every guest gets, in e820 terms (type 1:
// RAM, 2: reserved): base memory up to the EBDA, the EBDA, the BIOS area,
// RAM from 1 MiB to the end. Returns the number of ranges written.
struct platform_range {
	u64 base, len;
	u32 type;
};
#define PLATFORM_RANGES 4
u32 platform_memory_map(u64 mem, struct platform_range out[PLATFORM_RANGES]);

// In a loader function with err and errlen: say why, return -ERR_INVAL.
#define FAIL(...) (ksnprintf(err, errlen, __VA_ARGS__), -ERR_INVAL)

// Copy bytes into guest-physical memory through mm/.
int loader_copy(struct vm *vm, gpa_t gpa, const u8 *src, u32 len);
// The MP floating pointer and configuration table (mptable.c).
int mptable_write(struct vm *vm);

int linux_load(struct vm *vm, const u8 *image, u32 size, const u8 *initrd, u32 initrd_size,
	       const char *cmdline, char *err, size_t errlen);

#endif
