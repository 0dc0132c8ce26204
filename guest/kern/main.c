// kern's boot and its plain services: the console (COM1, polled), panic,
// the GDT/IDT/TSS, the 8259 pair and the PIT tick.
#include <stdarg.h>
#include "kernel.h"
#include "fmt.h"

char cmdline[256];

void *memset(void *d, int c, u32 n)
{
	u8 *p = d;
	while (n--)
		*p++ = (u8)c;
	return d;
}

void *memcpy(void *d, const void *s, u32 n)
{
	u8 *p = d;
	const u8 *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

void cputc(char c)
{
	while (!(inb(0x3FD) & 0x20))
		;
	outb(0x3F8, (u8)c);
}

void cprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vformat(cputc, fmt, ap);
	va_end(ap);
}

_Noreturn void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cprintf("panic: ");
	vformat(cputc, fmt, ap);
	cprintf("\n");
	va_end(ap);
	outl(0xF4, 2); // QEMU status 5: the kernel failed
	for (;;)
		__asm__ volatile("cli; hlt");
}

// ---- segments and gates ---------------------------------------------------

struct tss {
	u32 link, esp0, ss0, unused[23];
} __attribute__((packed));
struct tss tss;
static u64 gdt[6];
static u64 idt[256];

static u64 seg(u32 base, u32 limit, u32 type, u32 dpl)
{
	// 4 KiB granularity, 32-bit, present.
	return (u64)(limit >> 12 & 0xFFFF) | (u64)(base & 0xFFFFFF) << 16 | (u64)type << 40 | (u64)dpl << 45 |
	       1ull << 47 | (u64)(limit >> 28 & 0xF) << 48 | 0xCull << 52 | (u64)(base >> 24) << 56;
}

static u64 gate(u32 handler, u32 dpl)
{
	// A 32-bit interrupt gate: IF off inside the kernel.
	return (u64)(handler & 0xFFFF) | 0x08ull << 16 | (u64)(0x8E | dpl << 5) << 40 | (u64)(handler >> 16) << 48;
}

extern u32 vectors[20];
extern char vec32[], vec39[], vec64[];

static void cpu_init(void)
{
	gdt[1] = seg(0, 0xFFFFFFFF, 0x1A, 0); // kernel code
	gdt[2] = seg(0, 0xFFFFFFFF, 0x12, 0); // kernel data
	gdt[3] = seg(0, 0xFFFFFFFF, 0x1A, 3); // user code
	gdt[4] = seg(0, 0xFFFFFFFF, 0x12, 3); // user data
	u32 t = (u32)&tss;
	gdt[5] = (u64)(sizeof(tss) - 1) | (u64)(t & 0xFFFFFF) << 16 | 0x89ull << 40 | (u64)(t >> 24) << 56;
	tss.ss0 = 0x10;
	struct { u16 lim; u32 base; } __attribute__((packed)) gd = { sizeof(gdt) - 1, (u32)gdt }, id = { sizeof(idt) - 1, (u32)idt };
	__asm__ volatile("lgdt %0; ljmp $0x08, $1f; 1: mov $0x10, %%ax; mov %%ax, %%ds; mov %%ax, %%es;"
			 "mov %%ax, %%ss; mov %%ax, %%fs; mov %%ax, %%gs; mov $0x28, %%ax; ltr %%ax"
			 ::"m"(gd) : "eax", "memory");
	for (int i = 0; i < 20; i++)
		idt[i] = gate(vectors[i], 0);
	idt[32] = gate((u32)vec32, 0);
	idt[39] = gate((u32)vec39, 0);
	idt[64] = gate((u32)vec64, 3); // system calls
	__asm__ volatile("lidt %0" ::"m"(id));
}

// The 8259s remapped to 0x20-0x2F, only IRQ 0 unmasked; the PIT at 100 Hz.
static void timer_init(void)
{
	outb(0x20, 0x11); outb(0xA0, 0x11);
	outb(0x21, 0x20); outb(0xA1, 0x28);
	outb(0x21, 0x04); outb(0xA1, 0x02);
	outb(0x21, 0x01); outb(0xA1, 0x01);
	outb(0x21, 0xFE); outb(0xA1, 0xFF);
	u32 div = 1193182 / 100;
	outb(0x43, 0x34); // channel 0, lobyte/hibyte, mode 2
	outb(0x40, (u8)div);
	outb(0x40, (u8)(div >> 8));
}

struct mbi { u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr; };
extern char end[];
extern char user_code[], user_code_end[];

void kmain(u32 magic, const struct mbi *mbi);
void kmain(u32 magic, const struct mbi *mbi)
{
	if (magic != 0x2BADB002u || !(mbi->flags & 1))
		panic("not started by a multiboot loader with a memory size");
	u32 top = (u32)end;
	if (mbi->flags & 4) {
		const char *c = (const char *)mbi->cmdline;
		u32 n = 0;
		while (c[n] && n < sizeof(cmdline) - 1) {
			cmdline[n] = c[n];
			n++;
		}
		if ((u32)c + n + 1 > top)
			top = (u32)c + n + 1;
	}
	if ((u32)mbi + sizeof(*mbi) > top)
		top = (u32)mbi + sizeof(*mbi);
	u32 mem_end = 0x100000u + mbi->mem_upper * 1024u;
	if (mem_end > 0x3F000000u)
		mem_end = 0x3F000000u; // the kernel maps at most what lies below user space
	cpu_init();
	mm_init((top + PGSIZE - 1) & ~(PGSIZE - 1), mem_end & ~(PGSIZE - 1));
	timer_init();
	proc_init_first(user_code, (u32)(user_code_end - user_code));
	scheduler();
}
