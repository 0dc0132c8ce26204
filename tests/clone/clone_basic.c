// The clone hypercall: the parent fills 64 pages with its pattern and
// clones itself. The clone must see the parent's pages, then overwrites them
// with its own pattern; the parent, after giving the clone time to run, must
// still see its own. On plain QEMU the port reads all-ones: no clone.
// test-name: clone/basic (the clone inherits, neither sees the other's writes, audits OK, no leak; plain QEMU: no clone)
// qemu-mem: 256
// expect-plain-status: 1
// expect-plain: not under umbra
// expect: ^\[vm2\] clone: child: inherited pages intact, own writes kept
// expect: ^\[vm1\] clone: parent: pages intact, clone is vm2
// expect: vm1 cloned into vm2
// expect-count: 2 status 0: wrote 0
// expect-count: 2 audit: OK
// expect: no leak
#include "../edge/edge.h"

#define PAGES 64
#define BASE ((volatile u32 *)0x400000)

static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((u64)hi << 32) | lo; }

static void put_dec(u32 v)
{
	char b[12];
	int n = 0;
	do {
		b[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		putc_(b[--n]);
}

static u32 check(u32 salt)
{
	u32 bad = 0;
	for (u32 i = 0; i < PAGES * 1024; i += 61)
		bad += BASE[i] != (i ^ salt);
	return bad;
}

static void fill(u32 salt)
{
	for (u32 i = 0; i < PAGES * 1024; i += 61)
		BASE[i] = i ^ salt;
}

void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	fill(0xAAAA0000u);
	u32 r = clone_or_end();
	if (r == 0) {
		u32 inherited = check(0xAAAA0000u);
		fill(0x55550000u);
		u32 mine = check(0x55550000u);
		puts_(inherited || mine ? "clone: child: FAIL\n" : "clone: child: inherited pages intact, own writes kept\n");
		outb(0xF4, inherited || mine ? 1 : 0);
	}
	u64 t0 = rdtsc();
	while (rdtsc() - t0 < 800000000ull) // ~0.3 s: the clone runs meanwhile
		;
	u32 bad = check(0xAAAA0000u);
	puts_(bad ? "clone: parent: FAIL, the clone's writes show through\n" : "clone: parent: pages intact, clone is vm");
	if (!bad) {
		put_dec(r);
		putc_('\n');
	}
	outb(0xF4, bad ? 1 : 0);
}
