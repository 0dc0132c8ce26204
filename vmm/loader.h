// Loading a multiboot1 ELF32 kernel into a VM's guest-physical memory.
#ifndef UMBRA_LOADER_H
#define UMBRA_LOADER_H

#include "vm.h"

// Validate and load image, build the multiboot info, set the vCPU's entry
// registers. On failure return a negative error and a reason in err.
int loader_load(struct vm *vm, const u8 *image, u32 size, const char *cmdline,
		char *err, size_t errlen);

#endif
