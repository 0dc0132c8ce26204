// A guest that makes umbra complain thousands of times: 2000 reads and 500
// writes of MSRs umbra does not offer (each a #GP, which it skips) and reads
// of 3000 ports with no device. umbra's log must stay short: a few lines of
// each kind, then one line per kind with the count left out.
// expect-status: 1
// expect-log: vm1: 2492 more 'MSR not offered' messages not shown \(2500 in all\)
// expect-log: vm1: 2992 more 'port without a device' messages not shown \(3000 in all\)
#include "edge.h"


void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	edge_tables();
	edge_gate(13, gp_skip);
	for (u32 i = 0; i < 2000; i++)
		__asm__ volatile("rdmsr" ::"c"(0x40000100u + i) : "eax", "edx");
	for (u32 i = 0; i < 500; i++)
		__asm__ volatile("wrmsr" ::"c"(0x40000100u + i), "a"(0), "d"(0));
	for (u32 p = 0x1000; p < 0x1000 + 3000; p++)
		(void)inb((unsigned short)p);
	puts_(gp_count == 2500 ? "edge: flood done, 2500 #GP\n" : "edge: flood: wrong #GP count\n");
	outl(0xf4, gp_count == 2500 ? 0 : 1);
}
