// Runtime of the paging test guests (see lib.h).
#include <stdarg.h>
#include "lib.h"

static u32 passed, failed;
volatile u32 fault_vec, fault_err, fault_cr2;
volatile u32 recover_eip;     // a kernel access may fault: resume here
volatile u32 user_fault_ok;   // a user access may fault: come back to the kernel
u32 *kpd;

extern char kstack_top[], istack_top[];
void isr0(void), isr1(void), isr2(void), isr3(void), isr4(void), isr5(void), isr6(void),
	isr7(void), isr8(void), isr9(void), isr10(void), isr11(void), isr12(void), isr13(void),
	isr14(void), isr15(void), isr16(void), isr17(void), isr18(void), isr19(void), isr32(void), isr36(void), isr49(void), isr65(void), isr81(void), isr97(void), isr255(void),
	isr128(void);
extern char user_return[];
void lib_main(u32 magic, u32 mbi);
struct frame;
void trap(struct frame *f);

static inline void outb(u16 p, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline u8 inb(u16 p) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }

void putc(char c)
{
	while (!(inb(0x3FD) & 0x20))
		;
	outb(0x3F8, (u8)c);
}

void pic_init(u8 master_mask)
{
	outb(0x20, 0x11); outb(0xA0, 0x11); // ICW1: edge, cascade, ICW4 follows
	outb(0x21, 0x20); outb(0xA1, 0x28); // ICW2: vectors
	outb(0x21, 0x04); outb(0xA1, 0x02); // ICW3: the slave on IRQ 2
	outb(0x21, 0x01); outb(0xA1, 0x01); // ICW4: 8086 mode
	outb(0x21, master_mask); outb(0xA1, 0xFF);
}

void com1_drain(void (*rx)(char c))
{
	for (;;) {
		u8 iir = inb(0x3FA);
		if (iir & 1)
			break;
		while (inb(0x3FD) & 1)
			rx((char)inb(0x3F8));
	}
}

void puts(const char *s)
{
	while (*s)
		putc(*s++);
}

static void put_uint(u32 v, unsigned base, int width, char pad)
{
	char buf[12];
	int n = 0;
	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (width-- > n)
		putc(pad);
	while (n)
		putc(buf[--n]);
}

static void vprintf_(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			putc(*fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0;
		if (*fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		switch (*fmt) {
		case 'u': put_uint(va_arg(ap, u32), 10, width, pad); break;
		case 'd': {
			int v = va_arg(ap, int);
			if (v < 0) {
				putc('-');
				v = -v;
			}
			put_uint((u32)v, 10, width, pad);
			break;
		}
		case 'x': put_uint(va_arg(ap, u32), 16, width, pad); break;
		case 's': puts(va_arg(ap, const char *)); break;
		case 'c': putc((char)va_arg(ap, int)); break;
		default: putc('%'); putc(*fmt);
		}
	}
}

void printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf_(fmt, ap);
	va_end(ap);
}

bool report(bool ok, const char *name, const char *fmt, ...)
{
	if (ok) {
		passed++;
		printf("PASS %s\n", name);
		return true;
	}
	failed++;
	printf("FAIL %s: ", name);
	va_list ap;
	va_start(ap, fmt);
	vprintf_(fmt, ap);
	va_end(ap);
	putc('\n');
	return false;
}

_Noreturn void exit_guest(u32 status)
{
	__asm__ volatile("outl %0, %1" ::"a"(status), "Nd"((u16)0xF4));
	for (;;)
		__asm__ volatile("cli; hlt");
}

_Noreturn void report_summary(void)
{
	printf("DONE %u %u\n", passed, failed);
	exit_guest(failed ? 1 : 0);
}

void *memset(void *d, int c, unsigned n)
{
	u8 *p = d;
	while (n--)
		*p++ = (u8)c;
	return d;
}

void *memcpy(void *d, const void *s, unsigned n)
{
	u8 *p = d;
	const u8 *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

// ---- descriptor tables ----

// The IDT, and the GDT with the TSS, each own a whole page, so a test can
// move them to fresh frames without touching anything else.
static u64 idt[512] __attribute__((aligned(4096)));
static struct {
	u64 gdt[8];
	u32 tss[26];
	u8 pad[4096 - 8 * 8 - 26 * 4];
} dt_page __attribute__((aligned(4096)));
#define gdt dt_page.gdt
#define tss dt_page.tss

static u64 seg_desc(u32 base, u32 limit, u32 type_dpl)
{
	return (u64)(limit & 0xFFFF) | ((u64)(base & 0xFFFFFF) << 16) | ((u64)type_dpl << 40) |
	       ((u64)((limit >> 16) & 0xF) << 48) | ((u64)0xC << 52) | ((u64)(base >> 24) << 56);
}

static void set_gate(int vec, void (*fn)(void), u32 dpl)
{
	u32 a = (u32)fn;
	idt[vec] = (a & 0xFFFF) | (0x08ull << 16) | ((u64)(0x8E | (dpl << 5)) << 40) |
		   ((u64)(a >> 16) << 48);
}

static void tables_init(void)
{
	gdt[1] = seg_desc(0, 0xFFFFF, 0x9A);        // 0x08 kernel code
	gdt[2] = seg_desc(0, 0xFFFFF, 0x92);        // 0x10 kernel data
	gdt[3] = seg_desc(0, 0xFFFFF, 0xFA);        // 0x18 user code
	gdt[4] = seg_desc(0, 0xFFFFF, 0xF2);        // 0x20 user data
	gdt[5] = seg_desc((u32)tss, sizeof(tss) - 1, 0x89) & ~(0xCull << 52); // 0x28 TSS, byte granular
	tss[1] = (u32)istack_top;                    // esp0: not the stack test code runs on
	tss[2] = 0x10;                               // ss0
	struct { u16 limit; u32 base; } __attribute__((packed)) g = { sizeof(gdt) - 1, (u32)gdt };
	__asm__ volatile("lgdt %0; ljmp $0x08, $1f; 1: mov $0x10, %%ax; mov %%ax, %%ds; mov %%ax, %%es;"
			 "mov %%ax, %%ss; mov %%ax, %%fs; mov %%ax, %%gs; mov $0x28, %%ax; ltr %%ax"
			 ::"m"(g) : "eax");
	void (*stubs[20])(void) = { isr0, isr1, isr2, isr3, isr4, isr5, isr6, isr7, isr8, isr9,
				    isr10, isr11, isr12, isr13, isr14, isr15, isr16, isr17, isr18, isr19 };
	for (int v = 0; v < 20; v++)
		set_gate(v, stubs[v], v == 3 || v == 4 ? 3 : 0);
	set_gate(0x20, isr32, 0); // IRQ 0 once a test remaps the PIC there
	set_gate(0x24, isr36, 0); // IRQ 4 (COM1), likewise
	set_gate(0x80, isr128, 3);
	void (*apic_stubs[5])(void) = { isr49, isr65, isr81, isr97, isr255 };
	for (int i = 0; i < 5; i++) // 0x31 0x41 0x51 0x61 0xFF: for tests of the APICs, one a priority class
		set_gate(i < 4 ? 0x31 + 0x10 * i : 0xFF, apic_stubs[i], 0);
	struct { u16 limit; u32 base; } __attribute__((packed)) i = { 256 * 8 - 1, (u32)idt };
	__asm__ volatile("lidt %0" ::"m"(i));
}

u16 data_segment(u32 base)
{
	gdt[7] = seg_desc(base, 0xFFFFF, 0x92); // 4 GiB from base (wrapping), DPL 0
	return 0x38;
}

u16 code16_segment(u32 base)
{
	// 16-bit code (D=0), byte-granular 64 KiB limit, DPL 0.
	gdt[6] = (0xFFFFull) | ((u64)(base & 0xFFFFFF) << 16) | (0x9Aull << 40) | ((u64)(base >> 24) << 56);
	return 0x30;
}

// ---- traps ----


// Tests may hook vectors other than #PF (pg_stackpf counts deliveries).
void (*trap_hook)(struct frame *f);

void trap(struct frame *f)
{
	if (trap_hook && f->vec != 14 && f->vec != 128) {
		trap_hook(f);
		return;
	}
	bool from_user = (f->cs & 3) == 3;
	if (f->vec == 128 || (from_user && f->vec == 14 && user_fault_ok)) {
		if (f->vec == 14) {
			fault_vec = 14;
			fault_err = f->err;
			fault_cr2 = read_cr2();
			f->eax = 0xFFFFFFFFu;
		}
		user_fault_ok = 0;
		// Back to user_call's caller at CPL 0 (iret to the same privilege).
		f->eip = (u32)user_return;
		f->cs = 0x08;
		f->ds = f->es = 0x10;
		return;
	}
	if (!from_user && f->vec == 14 && recover_eip) {
		fault_vec = 14;
		fault_err = f->err;
		fault_cr2 = read_cr2();
		f->eip = recover_eip;
		recover_eip = 0;
		return;
	}
	printf("FAIL unexpected exception vec=%u err=%x cr2=%x eip=%x\n", f->vec, f->err, read_cr2(), f->eip);
	exit_guest(1);
}

bool k_read(u32 va, u32 *val)
{
	u32 v = 0;
	fault_vec = 0;
	__asm__ volatile("movl $1f, recover_eip\n\t"
			 "movl (%1), %0\n\t"
			 "1: movl $0, recover_eip" : "+r"(v) : "r"(va) : "memory");
	*val = v;
	return fault_vec == 0;
}

bool k_write(u32 va, u32 val)
{
	fault_vec = 0;
	__asm__ volatile("movl $1f, recover_eip\n\t"
			 "movl %1, (%0)\n\t"
			 "1: movl $0, recover_eip" ::"r"(va), "r"(val) : "memory");
	return fault_vec == 0;
}

static u32 user_read_fn(u32 va) { return *(volatile u32 *)va; }
static volatile u32 user_write_val;
static u32 user_write_fn(u32 va) { *(volatile u32 *)va = user_write_val; return 0; }

bool u_read(u32 va, u32 *val)
{
	fault_vec = 0;
	user_fault_ok = 1;
	*val = user_call(user_read_fn, va);
	user_fault_ok = 0;
	return fault_vec == 0;
}

bool u_write(u32 va, u32 val)
{
	fault_vec = 0;
	user_fault_ok = 1;
	user_write_val = val;
	user_call(user_write_fn, va);
	user_fault_ok = 0;
	return fault_vec == 0;
}

// ---- memory ----

static u32 next_free = 0x400000;

u32 *alloc_page(void)
{
	if (next_free >= 0x1000000) {
		puts("FAIL out of test pages\n");
		exit_guest(1);
	}
	u32 *p = (u32 *)next_free;
	next_free += 4096;
	memset(p, 0, 4096);
	return p;
}

u32 *new_pt(u32 *pd, u32 va, u32 pde_flags)
{
	u32 *pt = alloc_page();
	pd[va >> 22] = (u32)pt | pde_flags;
	return pt;
}

u32 *pte_of(u32 *pd, u32 va)
{
	return (u32 *)(pd[va >> 22] & ~0xFFFu) + ((va >> 12) & 1023);
}

const char *boot_cmdline = "";

void lib_main(u32 magic, u32 mbi)
{
	const u32 *info = (const u32 *)mbi;
	if (magic == 0x2BADB002 && (info[0] & 4))
		boot_cmdline = (const char *)info[4];
	tables_init();
	if (magic != 0x2BADB002) {
		puts("FAIL not booted by a multiboot loader\n");
		exit_guest(1);
	}
	// Identity-map 0-16 MiB with 4 KiB pages, everything user and writable.
	kpd = alloc_page();
	for (u32 va = 0; va < 0x1000000; va += 0x400000) {
		u32 *pt = new_pt(kpd, va, P | W | U);
		for (u32 i = 0; i < 1024; i++)
			pt[i] = (va + i * 4096) | P | W | U;
	}
	write_cr3((u32)kpd);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
	test_main();
	report_summary();
}
