// Helpers for the edge-case guests (tests/edge): each one misbehaves in one
// way and states, in its header, the status and log line umbra must give.
#ifndef EDGE_H
#define EDGE_H
typedef unsigned int u32;
typedef unsigned long long u64;
static inline void outb(unsigned short p, unsigned char v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outw(unsigned short p, unsigned short v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outl(unsigned short p, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(p)); }
static inline unsigned char inb(unsigned short p) { unsigned char v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline void putc_(char c) { while (!(inb(0x3FD) & 0x20)) ; outb(0x3F8, (unsigned char)c); }
static inline void puts_(const char *s) { while (*s) putc_(*s++); }
void main(u32 magic, u32 mbi);

// Descriptor tables for guests that take interrupts or exceptions:
// multiboot leaves no GDT to rely on. Flat code 0x08, flat data 0x10.
static unsigned long long edge_gdt[3] __attribute__((aligned(8))) = {
	0, 0x00CF9A000000FFFFull, 0x00CF92000000FFFFull,
};
static unsigned long long edge_idt[256] __attribute__((aligned(8)));
static inline void edge_tables(void)
{
	struct { unsigned short limit; u32 base; } __attribute__((packed)) g = { sizeof(edge_gdt) - 1, (u32)edge_gdt };
	__asm__ volatile("lgdt %0; ljmp $0x08, $1f; 1: mov $0x10, %%ax; mov %%ax, %%ds; mov %%ax, %%es;"
			 "mov %%ax, %%ss; mov %%ax, %%fs; mov %%ax, %%gs" ::"m"(g) : "eax");
	struct { unsigned short limit; u32 base; } __attribute__((packed)) d = { sizeof(edge_idt) - 1, (u32)edge_idt };
	__asm__ volatile("lidt %0" ::"m"(d));
}
static inline void edge_gate(int vec, void (*fn)(void))
{
	u32 a = (u32)fn;
	edge_idt[vec] = (a & 0xFFFF) | (0x08ull << 16) | (0x8Eull << 40) | ((unsigned long long)(a >> 16) << 48);
}

// A #GP handler for guests that probe what faults: it counts the fault and
// resumes skip_len bytes on (2: RDMSR, WRMSR). Install it with
// edge_gate(13, gp_skip).
volatile u32 gp_count, skip_len = 2;
void gp_skip(void);
__asm__(".globl gp_skip\n"
	"gp_skip: add $4, %esp\n"      // the error code
	"	incl gp_count\n"
	"	push %eax\n"
	"	mov skip_len, %eax\n"
	"	add %eax, 4(%esp)\n"
	"	pop %eax\n"
	"	iret\n");

// The clone hypercall (a 32-bit IN from port 0x6C0): the clone's VM id in
// the parent, 0 in the clone. Not under umbra (all-ones), or refused, the
// guest says so and ends, with status 0 or 1.
static inline u32 clone_or_end(void)
{
	u32 r;
	__asm__ volatile("inl %1, %0" : "=a"(r) : "Nd"((unsigned short)0x6C0));
	if (r == 0xFFFFFFFFu) {
		puts_("clone: not under umbra\n");
		outb(0xF4, 0);
	}
	if (r == 0xFFFFFFFEu) {
		puts_("clone: umbra refused to clone\n");
		outb(0xF4, 1);
	}
	return r;
}

// The local APIC's registers (paging off, or its page identity-mapped).
static inline u32 apic_rd(u32 reg) { return *(volatile u32 *)(0xFEE00000u + reg); }
static inline void apic_wr(u32 reg, u32 v) { *(volatile u32 *)(0xFEE00000u + reg) = v; }

// Start the local APIC's timer on vector 0x40 (apic_tick's, installed by
// the caller): divide by 1 (a 1 GHz count under QEMU and umbra), one-shot
// or periodic, count ns.
static inline void apic_timer_start(u32 count, int periodic)
{
	apic_wr(0x3E0, 0xB);
	apic_wr(0x320, (periodic ? 0x20000u : 0) | 0x40);
	apic_wr(0x380, count);
}

// A handler for a local APIC interrupt (its timer's): counts it in
// apic_ticks and ends it with an EOI. Install it with edge_gate(vector,
// apic_tick); paging off or the APIC page identity-mapped.
volatile u32 apic_ticks;
void apic_tick(void);
__asm__(".globl apic_tick\n"
	"apic_tick: incl apic_ticks\n"
	"	movl $0, 0xFEE000B0\n" // EOI
	"	iret\n");
#endif
