// Clone cost against guest size (make bench): the guest writes every page of
// its memory above 4 MiB (paging off), asks umbra for one clone, and both
// VMs exit. umbra logs the clone's cost in TSC cycles; tests/bench.sh runs
// it at several sizes, shared and deep.
#include "../edge/edge.h"

struct mbi { u32 flags, mem_lower, mem_upper; };
static inline u32 inl(unsigned short p) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }

void main(u32 magic, u32 mbi)
{
	const struct mbi *m = (const struct mbi *)mbi;
	if (magic != 0x2BADB002u || !(m->flags & 1)) {
		puts_("clonemem: no memory size from the loader\n");
		outb(0xF4, 1);
	}
	u32 top = 0x100000u + m->mem_upper * 1024u;
	for (u32 a = 0x400000u; a < top; a += 4096)
		*(volatile u32 *)a = a;
	u32 r = inl(0x6C0);
	outb(0xF4, r == 0xFFFFFFFEu ? 1 : 0);
}
