// Debug registers belong to their VM. DR0-DR3 are 0 after reset; values a
// guest writes there stay its own while other VMs run and write theirs
// (tests/run.sh runs two of these at once, among other VMs).
#include "lib/lib.h"

static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return (u64)hi << 32 | lo; }

static u32 read_dr(int n)
{
	u32 v = 0;
	switch (n) {
	case 0: __asm__ volatile("mov %%dr0, %0" : "=r"(v)); break;
	case 1: __asm__ volatile("mov %%dr1, %0" : "=r"(v)); break;
	case 2: __asm__ volatile("mov %%dr2, %0" : "=r"(v)); break;
	case 3: __asm__ volatile("mov %%dr3, %0" : "=r"(v)); break;
	}
	return v;
}

static void write_dr(int n, u32 v)
{
	switch (n) {
	case 0: __asm__ volatile("mov %0, %%dr0" ::"r"(v)); break;
	case 1: __asm__ volatile("mov %0, %%dr1" ::"r"(v)); break;
	case 2: __asm__ volatile("mov %0, %%dr2" ::"r"(v)); break;
	case 3: __asm__ volatile("mov %0, %%dr3" ::"r"(v)); break;
	}
}

void test_main(void)
{
	u32 start[4];
	for (int i = 0; i < 4; i++)
		start[i] = read_dr(i);
	report(!(start[0] | start[1] | start[2] | start[3]), "DR0-DR3 are 0 at reset",
	       "%x %x %x %x", start[0], start[1], start[2], start[3]);
	// Values no other run writes: from this run's TSC (breakpoints stay off
	// in DR7, so any linear address will do).
	u32 mine[4];
	u32 seed = (u32)rdtsc() | 1;
	for (int i = 0; i < 4; i++) {
		seed = seed * 1103515245u + 12345u;
		mine[i] = seed;
		write_dr(i, mine[i]);
	}
	// Long enough to be preempted many times (umbra's slice is 20 ms).
	u64 t0 = rdtsc(), checks = 0, foreign = 0;
	u32 seen = 0;
	while (rdtsc() - t0 < 600000000ull) {
		for (int i = 0; i < 4; i++) {
			u32 v = read_dr(i);
			if (v != mine[i]) {
				foreign++;
				seen = v;
				write_dr(i, mine[i]);
			}
		}
		checks++;
	}
	report(foreign == 0 && checks > 1000, "DR0-DR3 keep this VM's values", "%u foreign values (e.g. %x) in %u checks",
	       (u32)foreign, seen, (u32)checks);
}
