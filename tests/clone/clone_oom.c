// Clone with no memory left for it: the guest touches 100 MiB, then asks
// for a clone on a host too small to copy it. umbra must refuse (the
// hypercall returns 0xFFFFFFFE), free what it had begun, and the guest goes on.
// test-name: clone/out-of-memory (clone=deep: refused with 0xFFFFFFFE, the partial copy freed, no leak)
// qemu-mem: 192
// module-args: umbra.mem=160
// umbra-args: clone=deep
// expect: clone refused: out of host memory
// expect: refused as expected, memory intact
// expect: vm1 ended .*status 0: wrote 0
// expect: no leak
#include "../edge/edge.h"

static inline u32 inl(unsigned short p) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }

void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	for (u32 a = 0x400000; a < 0x6800000; a += 4096)
		*(volatile u32 *)a = a;
	u32 r = inl(0x6C0);
	if (r == 0xFFFFFFFEu) {
		u32 bad = 0;
		for (u32 a = 0x400000; a < 0x6800000; a += 4096)
			bad += *(volatile u32 *)a != a;
		puts_(bad ? "clone_oom: refused, but memory changed\n" : "clone_oom: refused as expected, memory intact\n");
		outb(0xF4, bad ? 1 : 0);
	}
	puts_(r == 0xFFFFFFFFu ? "clone_oom: not under umbra\n" : "clone_oom: the clone was not refused\n");
	outb(0xF4, r == 0xFFFFFFFFu ? 0 : 1);
}
