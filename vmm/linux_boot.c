// The Linux/x86 boot protocol (Documentation/arch/x86/boot.rst), 32-bit
// entry: umbra plays the part of the boot loader and of the real-mode setup
// code. It copies the protected-mode kernel of a bzImage to 1 MiB, fills a
// zero page (boot_params) with the setup header, an e820 map, the command
// line and the initrd, and enters at the load address with ESI pointing at
// the zero page, flat segments, paging and interrupts off.
//
// The image and the initrd come from modules: every field is checked before
// it is used, in 64-bit arithmetic.
#include "lib.h"
#include "loader.h"
#include "loader_int.h"
#include "printf.h"
#include "umbra.h"

// Offsets in the bzImage's first sector and in boot_params (which begins
// with a copy of the same sector's header part).
#define BP_ALT_MEM_K 0x1E0
#define BP_E820_ENTRIES 0x1E8
#define HDR_START 0x1F1          // setup_sects: the header begins here
#define HDR_SETUP_SECTS 0x1F1
#define HDR_BOOT_FLAG 0x1FE      // 0xAA55
#define HDR_JUMP 0x200           // its second byte is the header's length - 0x202
#define HDR_MAGIC 0x202          // "HdrS"
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21C
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22C
#define HDR_CMDLINE_SIZE 0x238
#define HDR_INIT_SIZE 0x260
#define BP_E820_TABLE 0x2D0

#define LOADED_HIGH 0x01         // loadflags: the protected-mode part goes at 1 MiB
#define KERNEL_GPA 0x100000u     // where it goes
#define ZERO_PAGE_GPA 0x90000u   // boot_params, as QEMU's loader places the setup
#define CMDLINE_GPA 0x91000u     // the command line, right after it
#define CMDLINE_ROOM 0x7000u     // up to 0x98000, below the EBDA
#define PROTO_MIN 0x0202         // cmd_line_ptr, and a 32-bit entry that works


static u16 rd16(const u8 *p, u32 off) { u16 v; memcpy(&v, p + off, 2); return v; }
static u32 rd32(const u8 *p, u32 off) { u32 v; memcpy(&v, p + off, 4); return v; }
static void wr16(u8 *p, u32 off, u16 v) { memcpy(p + off, &v, 2); }
static void wr32(u8 *p, u32 off, u32 v) { memcpy(p + off, &v, 4); }

bool linux_is_bzimage(const u8 *image, u32 size)
{
	return size >= 0x264 && rd32(image, HDR_MAGIC) == 0x53726448; // "HdrS"
}

// One e820 entry (20 bytes, packed) into the zero page.
static void e820_add(u8 *zp, u64 base, u64 len, u32 type)
{
	u8 n = zp[BP_E820_ENTRIES];
	u8 *e = zp + BP_E820_TABLE + 20u * n;
	memcpy(e, &base, 8);
	memcpy(e + 8, &len, 8);
	memcpy(e + 16, &type, 4);
	zp[BP_E820_ENTRIES] = n + 1;
}

int linux_load(struct vm *vm, const u8 *image, u32 size, const u8 *initrd, u32 initrd_size,
	       const char *cmdline, char *err, size_t errlen)
{
	u64 mem = (u64)vm->mem_mib << 20;
	if (!linux_is_bzimage(image, size))
		return FAIL("not a Linux bzImage (no \"HdrS\" at 0x202)");
	u16 version = rd16(image, HDR_VERSION);
	if (version < PROTO_MIN)
		return FAIL("boot protocol %u.%02u is too old (umbra needs 2.02 or later)",
			    version >> 8, version & 0xFF);
	if (rd16(image, HDR_BOOT_FLAG) != 0xAA55)
		return FAIL("no boot flag 0xAA55 at 0x1FE");
	if (!(image[HDR_LOADFLAGS] & LOADED_HIGH))
		return FAIL("a zImage (loaded low) is not supported; use a bzImage");
	u32 setup_sects = image[HDR_SETUP_SECTS] ? image[HDR_SETUP_SECTS] : 4;
	u64 pm_off = (u64)(setup_sects + 1) * 512;
	if (pm_off >= size)
		return FAIL("setup (%u sectors) leaves no protected-mode kernel in the %u-byte file",
			    setup_sects, size);
	u32 pm_size = size - (u32)pm_off;
	u32 hdr_end = 0x202 + image[HDR_JUMP + 1]; // the jump over the header says where it ends
	if (hdr_end > size || hdr_end > 0x1000 || hdr_end < 0x230)
		return FAIL("setup header of impossible length (ends at 0x%x)", hdr_end);
	u32 init_size = version >= 0x020A ? rd32(image, HDR_INIT_SIZE) : 0;
	u64 kernel_end = KERNEL_GPA + MAX((u64)pm_size, (u64)init_size);
	if (kernel_end > mem)
		return FAIL("the kernel needs [1 MiB, 0x%lx) to decompress; the guest has %u MiB",
			    kernel_end, vm->mem_mib);

	// With QEMU (and GRUB legacy) a module's command line starts with its
	// own name, which a multiboot kernel is given but Linux is not (QEMU's
	// -append has no such word); GRUB 2 gives the arguments alone.
	while (*cmdline == ' ')
		cmdline++;
	while (cfg.module_names && *cmdline && *cmdline != ' ')
		cmdline++;
	while (*cmdline == ' ')
		cmdline++;
	u32 cmd_max = version >= 0x0206 ? rd32(image, HDR_CMDLINE_SIZE) : 255;
	// umbra's append=WORD options go after it, one space between.
	size_t cmdlen = strlen(cmdline), own = cmdlen, extra = strlen(cfg.linux_append);
	if (extra)
		cmdlen += (own ? 1 : 0) + extra;
	if (cmdlen > cmd_max || cmdlen >= CMDLINE_ROOM)
		return FAIL("command line of %lu bytes; this kernel takes at most %u",
			    (u64)cmdlen, MIN(cmd_max, CMDLINE_ROOM - 1));

	// The initrd goes as high as the kernel allows, page-aligned, as QEMU puts it.
	u64 initrd_gpa = 0;
	if (initrd && initrd_size) {
		u64 max = version >= 0x0203 ? (u64)rd32(image, HDR_INITRD_ADDR_MAX) + 1 : 0x38000000;
		u64 top = MIN(max, mem);
		if ((u64)initrd_size > top)
			return FAIL("initrd of %u bytes does not fit below 0x%lx", initrd_size, top);
		initrd_gpa = (top - initrd_size) & ~(u64)(PAGE_SIZE - 1);
		if (initrd_gpa < kernel_end)
			return FAIL("initrd of %u KiB and kernel (0x%lx bytes from 1 MiB) do not both fit in %u MiB",
				    initrd_size >> 10, kernel_end - KERNEL_GPA, vm->mem_mib);
		if (loader_copy(vm, initrd_gpa, initrd, initrd_size) < 0)
			return FAIL("out of host memory for the initrd");
	}
	if (loader_copy(vm, KERNEL_GPA, image + pm_off, pm_size) < 0)
		return FAIL("out of host memory for the kernel");
	if (loader_copy(vm, CMDLINE_GPA, (const u8 *)cmdline, (u32)own) < 0 ||
	    (extra && own && loader_copy(vm, CMDLINE_GPA + own, (const u8 *)" ", 1) < 0) ||
	    loader_copy(vm, CMDLINE_GPA + cmdlen - extra, (const u8 *)cfg.linux_append, (u32)extra + 1) < 0)
		return FAIL("out of host memory for the command line");

	// The zero page: everything the real-mode setup would have found out.
	u8 zp[PAGE_SIZE];
	memset(zp, 0, sizeof(zp));
	memcpy(zp + HDR_START, image + HDR_START, hdr_end - HDR_START);
	zp[HDR_TYPE_OF_LOADER] = 0xFF;   // "undefined": umbra has no assigned ID
	wr32(zp, HDR_CMD_LINE_PTR, CMDLINE_GPA);
	wr32(zp, HDR_RAMDISK_IMAGE, (u32)initrd_gpa);
	wr32(zp, HDR_RAMDISK_SIZE, initrd_gpa ? initrd_size : 0);
	wr32(zp, HDR_CODE32_START, KERNEL_GPA);
	wr32(zp, BP_ALT_MEM_K, (u32)((mem >> 10) - 1024));
	struct platform_range map[PLATFORM_RANGES];
	u32 nmap = platform_memory_map(mem, map);
	for (u32 i = 0; i < nmap; i++)
		e820_add(zp, map[i].base, map[i].len, map[i].type);
	wr16(zp, 0x1FA, 0xFFFF); // vid_mode: "normal"; there is no VGA to set
	if (loader_copy(vm, ZERO_PAGE_GPA, zp, PAGE_SIZE) < 0)
		return FAIL("out of host memory for the zero page");

	struct vcpu *v = &vm->vcpu;
	memset(v->gpr, 0, sizeof(v->gpr));
	v->gpr[GPR_RSI] = ZERO_PAGE_GPA;
	v->rip = KERNEL_GPA;
	v->rflags = 0x2;
	v->cr0 = CR0_PE | CR0_ET;
	return 0;
}
