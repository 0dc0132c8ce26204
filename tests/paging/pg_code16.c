// Instructions umbra emulates, run in a 16-bit code segment (CS.D=0): the
// default operand and address size is 16, 0x66/0x67 switch to 32, and a
// ModRM memory operand uses 16-bit addressing (mod=0 rm=6 is [disp16], not
// [ESI]). SMSW to memory and to 16- and 32-bit registers, INVLPG by a 16-bit
// and a 32-bit address, MOV CR0, LMSW; then back to 32-bit code.
#include "lib/lib.h"

extern char code16_start[], code16_back[];
volatile u32 out_cx, out_edx, out_eax; // named in the asm below
struct { u32 offset; u16 sel; } __attribute__((packed)) far16;

void test_main(void)
{
	volatile u16 *at2000 = (u16 *)0x2000, *at3014 = (u16 *)0x3014;
	*at2000 = 0xAAAA;
	*at3014 = 0xBBBB;
	u32 base = (u32)code16_start & ~0xFFFFu;
	far16.sel = code16_segment(base);
	far16.offset = (u32)code16_start - base;
	u32 cr0 = read_cr0();
	__asm__ volatile(
		"cli\n"
		"ljmp *far16\n"
		".code16\n"
		".globl code16_start\n"
		"code16_start:\n"
		"smsw 0x2000\n"              // 0f 01 26 00 20: [disp16]
		"invlpg 0x2000\n"
		"mov $0x3000, %%bx\n"
		"mov $0x10, %%si\n"
		"smsw 4(%%bx,%%si)\n"        // [bx+si+disp8]
		"smsw %%ax\n"
		"mov %%ax, %%cx\n"
		"smsw %%edx\n"               // 0x66: all of CR0
		"mov %%cr0, %%eax\n"
		"mov %%eax, %%cr0\n"
		"lmsw %%ax\n"
		"mov $0x2000, %%eax\n"
		"invlpg (%%eax)\n"           // 0x67: 32-bit addressing
		"mov %%cr0, %%eax\n"
		"ljmpl $0x08, $code16_back\n"
		".code32\n"
		".globl code16_back\n"
		"code16_back:\n"
		"mov %%ecx, out_cx\n"
		"mov %%edx, out_edx\n"
		"mov %%eax, out_eax\n"
		::: "eax", "ebx", "ecx", "edx", "esi", "memory");
	printf("cr0 %x: [0x2000]=%x [0x3014]=%x cx=%x edx=%x eax=%x\n", cr0, *at2000, *at3014, out_cx & 0xFFFF,
	       out_edx, out_eax);
	report(*at2000 == (u16)cr0, "smsw [disp16] in 16-bit code", "%x", *at2000);
	report(*at3014 == (u16)cr0, "smsw [bx+si+disp8] in 16-bit code", "%x", *at3014);
	report((out_cx & 0xFFFF) == (u16)cr0 && out_edx == cr0 && out_eax == cr0, "smsw and mov cr0 to registers",
	       "cx %x edx %x eax %x", out_cx, out_edx, out_eax);
}
