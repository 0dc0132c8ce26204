// The default guest (make run) until the guest OS lands: it turns paging
// on, scatters 256 pages of its memory across an address space, writes a
// pattern through one mapping and checks it through another, then exits.
// Like every umbra guest it boots on plain QEMU too.
typedef unsigned int u32;
typedef unsigned char u8;

static inline void outb(unsigned short p, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outl(unsigned short p, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(p)); }
static inline u8 inb(unsigned short p) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }

static void putc(char c)
{
	while (!(inb(0x3FD) & 0x20))
		;
	outb(0x3F8, (u8)c);
}

static void puts(const char *s)
{
	while (*s)
		putc(*s++);
}

static void put_dec(u32 v)
{
	char b[12];
	int n = 0;
	do {
		b[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		putc(b[--n]);
}

#define NPAGES 256
static u32 pd[1024] __attribute__((aligned(4096)));
static u32 pts[2][1024] __attribute__((aligned(4096)));

void main(u32 magic, u32 mbi);

void main(u32 magic, u32 mbi)
{
	(void)mbi;
	puts("hello: a guest of umbra (or of plain QEMU)\n");
	if (magic != 0x2BADB002) {
		puts("hello: not started by a multiboot loader\n");
		outl(0xF4, 1);
	}
	// Identity-map the first 8 MiB with 4 MiB pages; frames 4..5 MiB are the
	// guest's scratch memory, mapped again page by page, in reverse order,
	// at 1 GiB (table 0) and in order at 1 GiB + 4 MiB (table 1).
	pd[0] = 0x000000 | 0x83;
	pd[1] = 0x400000 | 0x83;
	pd[256] = (u32)pts[0] | 0x3;
	pd[257] = (u32)pts[1] | 0x3;
	for (u32 i = 0; i < NPAGES; i++) {
		u32 frame = 0x400000 + i * 4096;
		pts[0][NPAGES - 1 - i] = frame | 0x3;
		pts[1][i] = frame | 0x3;
	}
	__asm__ volatile("mov %%cr4, %%eax; or $0x10, %%eax; mov %%eax, %%cr4;"
			 "mov %0, %%cr3; mov %%cr0, %%eax; or $0x80010000, %%eax; mov %%eax, %%cr0"
			 ::"r"(pd) : "eax");
	puts("hello: paging on\n");
	volatile u32 *rev = (u32 *)0x40000000, *fwd = (u32 *)0x40400000;
	for (u32 p = 0; p < NPAGES; p++)
		for (u32 w = 0; w < 1024; w += 64)
			rev[p * 1024 + w] = p * 0x10001u ^ w;
	u32 bad = 0;
	for (u32 p = 0; p < NPAGES; p++)
		for (u32 w = 0; w < 1024; w += 64)
			bad += fwd[(NPAGES - 1 - p) * 1024 + w] != (p * 0x10001u ^ w);
	puts("hello: ");
	put_dec(NPAGES);
	puts(" pages written through one mapping, read through another: ");
	puts(bad ? "MISMATCH\n" : "all match\n");
	outl(0xF4, bad ? 1 : 0);
}
