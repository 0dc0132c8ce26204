// Loading a guest kernel into a VM's guest-physical memory: a multiboot1
// ELF32 kernel, or a Linux bzImage with an optional initrd.
#ifndef UMBRA_LOADER_H
#define UMBRA_LOADER_H

#include "vm.h"

// Validate and load image (and initrd, for Linux), set up what the platform's
// memory holds, set the vCPU's entry registers. On failure return a negative
// error and a reason in err.
int loader_load(struct vm *vm, const u8 *image, u32 size, const u8 *initrd, u32 initrd_size,
		const char *cmdline, char *err, size_t errlen);

// A kernel umbra can load (ELF or bzImage), as opposed to, say, an initrd.
bool loader_is_kernel(const u8 *image, u32 size);
bool linux_is_bzimage(const u8 *image, u32 size);

#endif
