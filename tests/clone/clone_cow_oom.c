// Copy-on-write with no memory left: the guest touches 100 MiB and clones
// itself (a shared clone needs next to nothing, so it is granted); the clone
// then rewrites all of it, and umbra runs out of frames to copy into. The
// clone must be stopped with a message saying so, the parent must go on
// with its memory intact, and every frame must come back.
// test-name: clone/copy-on-write out of memory (the clone stopped with a message, the parent intact, audits OK, no leak)
// qemu-mem: 192
// module-args: umbra.mem=160
// umbra-args: audit=all
// expect: vm1 cloned into vm2 \(shared
// expect: vm2 ended .*\(stopped by umbra\): out of host memory
// expect: ^\[vm1\] cow_oom: parent: memory intact
// expect: vm1 ended .*status 0: wrote 0
// expect-count: 3 ^umbra: audit after .*: OK
// expect: no leak
#include "../edge/edge.h"

static inline u32 inl(unsigned short p) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((u64)hi << 32) | lo; }

#define LO 0x400000u
#define HI 0x6800000u

void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	for (u32 a = LO; a < HI; a += 4096)
		*(volatile u32 *)a = a;
	u32 r = inl(0x6C0);
	if (r == 0xFFFFFFFFu || r == 0xFFFFFFFEu) {
		puts_(r == 0xFFFFFFFFu ? "cow_oom: not under umbra\n" : "cow_oom: clone refused\n");
		outb(0xF4, r == 0xFFFFFFFFu ? 0 : 1);
	}
	if (r == 0) {
		for (u32 a = LO; a < HI; a += 4096)
			*(volatile u32 *)a = ~a;
		puts_("cow_oom: clone: every page copied: the host had room after all\n");
		outb(0xF4, 1);
	}
	// Run on while the clone does: umbra's slices alternate, so while it
	// lives this loop sees gaps in the TSC. A second or so without one
	// means it is gone (the wait ends at ~30 s of TSC whatever happens).
	u64 start = rdtsc(), last = start, quiet_since = start;
	u32 gaps = 0;
	for (;;) {
		u64 now = rdtsc();
		if (now - last > 30000000ull) { // ~10 ms: longer than umbra takes between slices
			gaps++;
			quiet_since = now;
		}
		last = now;
		if ((gaps && now - quiet_since > 2000000000ull) || now - start > 80000000000ull)
			break;
	}
	u32 bad = 0;
	for (u32 a = LO; a < HI; a += 4096)
		bad += *(volatile u32 *)a != a;
	puts_(bad ? "cow_oom: parent: FAIL, memory changed\n" : "cow_oom: parent: memory intact\n");
	outb(0xF4, bad ? 1 : 0);
}
