// Loading guests: what every guest's memory holds (the BIOS data area, the
// memory map), and the multiboot1 loader; Linux's boot protocol is in
// linux_boot.c. The image comes from a module, so every field is untrusted:
// all offsets and sizes are checked in 64-bit arithmetic before use, and the
// guest only ever receives memory through its gpmap.
#include "lib.h"
#include "multiboot.h"
#include "loader.h"
#include "swap.h"
#include "loader_int.h"
#include "printf.h"
#include "walk.h"

#define MB_FLAGS_KNOWN 0x0000FFFFu
#define MB_FLAGS_WE_HONOUR 0x3u // page-aligned modules (we give none), memory info


struct elf32_ehdr {
	u8 ident[16];
	u16 type, machine;
	u32 version, entry, phoff, shoff, flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf32_phdr {
	u32 type, offset, vaddr, paddr, filesz, memsz, flags, align;
};


#define EBDA_GPA 0x9FC00u
#define BDA_EBDA_SEGMENT 0x40E  // BIOS data area word: the EBDA's segment
#define BDA_BASE_MEM_K 0x413    // word: base memory in KiB, below the EBDA

u32 platform_memory_map(u64 mem, struct platform_range out[PLATFORM_RANGES])
{
	out[0] = (struct platform_range){ 0, EBDA_GPA, 1 };
	out[1] = (struct platform_range){ EBDA_GPA, 0xA0000 - EBDA_GPA, 2 };
	out[2] = (struct platform_range){ 0xF0000, 0x10000, 2 };
	out[3] = (struct platform_range){ 0x100000, mem - 0x100000, 1 };
	return PLATFORM_RANGES;
}

// Copy bytes into guest-physical memory, page by page (through mm/, which
// tells the shadow, as for every write umbra makes into a guest).
int loader_copy(struct vm *vm, gpa_t gpa, const u8 *src, u32 len)
{
	while (len) {
		u32 chunk = MIN(len, PAGE_SIZE - (gpa & (PAGE_SIZE - 1)));
		// Under mem_limit, other guests' frames go to swap to make room.
		swap_make_room(1);
		int r = shadow_gpa_write(&vm->mmu, gpa, src, chunk);
		if (r < 0)
			return r;
		gpa += chunk;
		src += chunk;
		len -= chunk;
	}
	return 0;
}

static int find_mb_header(const u8 *image, u32 size, u32 *flags)
{
	u32 limit = MIN(size, MB_SEARCH);
	for (u32 off = 0; off + 12 <= limit; off += 4) {
		const u32 *h = (const u32 *)(image + off);
		if (h[0] == MB_MAGIC && h[0] + h[1] + h[2] == 0) {
			*flags = h[1];
			return (int)off;
		}
	}
	return -1;
}

static int multiboot_load(struct vm *vm, const u8 *image, u32 size, const char *cmdline,
			  char *err, size_t errlen)
{
	u64 mem = (u64)vm->mem_mib << 20;
	const struct elf32_ehdr *eh = (const void *)image;

	if (size < sizeof(*eh) || memcmp(eh->ident, "\x7f" "ELF", 4) != 0)
		return FAIL("not an ELF file");
	if (eh->ident[4] != 1 || eh->ident[5] != 1)
		return FAIL("not a little-endian ELF32 file (class %u, data %u)", eh->ident[4], eh->ident[5]);
	if (eh->type != 2 || eh->machine != 3)
		return FAIL("not an i386 executable (type %u, machine %u)", eh->type, eh->machine);

	u32 mbflags;
	if (find_mb_header(image, size, &mbflags) < 0)
		return FAIL("no multiboot1 header in the first 8 KiB");
	if (mbflags & MB_FLAG_AOUT_KLUDGE)
		return FAIL("multiboot a.out kludge (flag 16) is not supported; load from ELF headers");
	if (mbflags & MB_FLAGS_KNOWN & ~MB_FLAGS_WE_HONOUR & ~(1u << 2))
		return FAIL("multiboot header requires features umbra lacks (flags 0x%x)", mbflags);

	if (eh->phentsize < sizeof(struct elf32_phdr) || eh->phnum == 0)
		return FAIL("no program headers");
	if ((u64)eh->phoff + (u64)eh->phnum * eh->phentsize > size)
		return FAIL("program headers lie outside the file");

	u64 top = 0;
	int loaded = 0;
	for (u32 i = 0; i < eh->phnum; i++) {
		struct elf32_phdr ph;
		memcpy(&ph, image + eh->phoff + (u64)i * eh->phentsize, sizeof(ph));
		if (ph.type != 1 || ph.memsz == 0)
			continue;
		if (ph.filesz > ph.memsz)
			return FAIL("segment %u: file size 0x%x exceeds memory size 0x%x", i, ph.filesz, ph.memsz);
		if ((u64)ph.offset + ph.filesz > size)
			return FAIL("segment %u: data lies outside the file", i);
		if ((u64)ph.paddr + ph.memsz > mem)
			return FAIL("segment %u: [0x%x, 0x%lx) lies outside the guest's %u MiB",
				    i, ph.paddr, (u64)ph.paddr + ph.memsz, vm->mem_mib);
		int r = loader_copy(vm, ph.paddr, image + ph.offset, ph.filesz);
		if (r < 0)
			return FAIL("segment %u: out of host memory", i);
		// The rest (.bss) is zero already: fresh guest frames are zeroed.
		top = MAX(top, (u64)ph.paddr + ph.memsz);
		loaded++;
	}
	if (!loaded)
		return FAIL("no loadable segments");
	if (eh->entry >= mem)
		return FAIL("entry point 0x%x lies outside guest memory", eh->entry);

	// The multiboot info page goes right after the kernel, as QEMU places it.
	gpa_t info = (gpa_t)ALIGN_UP(top, (u64)PAGE_SIZE);
	if ((u64)info + PAGE_SIZE > mem)
		return FAIL("no room for the multiboot info after the kernel");
	u8 page[PAGE_SIZE];
	memset(page, 0, sizeof(page));
	struct mb_info *mbi = (void *)page;
	u32 cmd_off = 0x100, name_off = 0x80, mmap_off = 0x800;
	size_t cmdlen = MIN(strlen(cmdline), (size_t)(name_off + 0x600 - cmd_off - 1));
	memcpy(page + cmd_off, cmdline, cmdlen);
	memcpy(page + name_off, "umbra", 6);
	struct platform_range ranges[PLATFORM_RANGES];
	u32 nmap = platform_memory_map(mem, ranges);
	struct mb_mmap map[PLATFORM_RANGES];
	for (u32 i = 0; i < nmap; i++)
		map[i] = (struct mb_mmap){ 20, ranges[i].base, ranges[i].len, ranges[i].type };
	memcpy(page + mmap_off, map, nmap * sizeof(map[0]));
	mbi->flags = MBI_MEM | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME;
	mbi->mem_lower = 640;
	mbi->mem_upper = (u32)((mem >> 10) - 1024);
	mbi->cmdline = info + cmd_off;
	mbi->boot_loader_name = info + name_off;
	mbi->mmap_addr = info + mmap_off;
	mbi->mmap_length = nmap * sizeof(map[0]);
	if (loader_copy(vm, info, page, PAGE_SIZE) < 0)
		return FAIL("out of host memory for the multiboot info");

	struct vcpu *v = &vm->vcpu;
	v->rip = eh->entry;
	v->gpr[GPR_RAX] = MB_BOOT_MAGIC;
	v->gpr[GPR_RBX] = info;
	v->rflags = 0x2;
	v->cr0 = CR0_PE | CR0_ET;
	return 0;
}

bool loader_is_kernel(const u8 *image, u32 size)
{
	return linux_is_bzimage(image, size) || (size >= 4 && memcmp(image, "\x7f" "ELF", 4) == 0);
}

int loader_load(struct vm *vm, const u8 *image, u32 size, const u8 *initrd, u32 initrd_size,
		const char *cmdline, char *err, size_t errlen)
{
	// The BIOS data area words a PC kernel reads before it trusts any map.
	u8 bda[0x20];
	memset(bda, 0, sizeof(bda));
	u16 ebda_seg = EBDA_GPA >> 4, base_k = EBDA_GPA >> 10;
	memcpy(bda + (BDA_EBDA_SEGMENT - 0x400), &ebda_seg, 2);
	memcpy(bda + (BDA_BASE_MEM_K - 0x400), &base_k, 2);
	if (loader_copy(vm, 0x400, bda, sizeof(bda)) < 0 || mptable_write(vm) < 0)
		return FAIL("out of host memory for the BIOS data area and MP table");
	if (linux_is_bzimage(image, size))
		return linux_load(vm, image, size, initrd, initrd_size, cmdline, err, errlen);
	if (initrd)
		return FAIL("an initrd goes with a Linux bzImage; this is not one");
	return multiboot_load(vm, image, size, cmdline, err, errlen);
}
