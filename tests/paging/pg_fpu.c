// x87 and SSE registers survive preemption: values drawn from the TSC (so
// two copies of this guest hold different ones) sit in st0-st7 and
// xmm0-xmm7 while the guest spins for ~0.5 s, then are read back. Under
// umbra several VMs share the one FPU; a VM switch that forgot it shows here.
#include "lib/lib.h"

void test_main(void)
{
	// Turn on SSE: CR4.OSFXSR and OSXMMEXCPT, CR0.EM clear, CR0.MP set.
	write_cr4(read_cr4() | (1u << 9) | (1u << 10));
	write_cr0((read_cr0() & ~(1u << 2)) | (1u << 1));
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	u32 seed = (lo ^ hi) | 1;
	u32 x[8], y[8];
	__asm__ volatile("fninit");
	for (int i = 0; i < 8; i++) {
		x[i] = seed * (u32)(2 * i + 3);
		__asm__ volatile("fildl %0" ::"m"(x[i]));
	}
	__asm__ volatile("movd %0, %%xmm0; movd %1, %%xmm1; movd %2, %%xmm2; movd %3, %%xmm3"
			 ::"r"(x[0] ^ 0x55), "r"(x[1] ^ 0x55), "r"(x[2] ^ 0x55), "r"(x[3] ^ 0x55));
	__asm__ volatile("movd %0, %%xmm4; movd %1, %%xmm5; movd %2, %%xmm6; movd %3, %%xmm7"
			 ::"r"(x[4] ^ 0x55), "r"(x[5] ^ 0x55), "r"(x[6] ^ 0x55), "r"(x[7] ^ 0x55));
	// Spin for about half a second of TSC time: many host timer slices.
	u64 t0 = ((u64)hi << 32) | lo, t;
	do {
		__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
		t = ((u64)hi << 32) | lo;
	} while (t - t0 < 1500000000ull);
	__asm__ volatile("movd %%xmm0, %0; movd %%xmm1, %1; movd %%xmm2, %2; movd %%xmm3, %3"
			 : "=r"(y[0]), "=r"(y[1]), "=r"(y[2]), "=r"(y[3]));
	__asm__ volatile("movd %%xmm4, %0; movd %%xmm5, %1; movd %%xmm6, %2; movd %%xmm7, %3"
			 : "=r"(y[4]), "=r"(y[5]), "=r"(y[6]), "=r"(y[7]));
	int bad_sse = 0, bad_x87 = 0;
	for (int i = 0; i < 8; i++)
		bad_sse += y[i] != (x[i] ^ 0x55);
	for (int i = 7; i >= 0; i--) {
		u32 v;
		__asm__ volatile("fistpl %0" : "=m"(v));
		bad_x87 += v != x[i];
	}
	report(bad_sse == 0, "sse_registers_kept", "%d of 8 xmm registers changed", bad_sse);
	report(bad_x87 == 0, "x87_stack_kept", "%d of 8 x87 registers changed", bad_x87);
}
