// The paravirtual clock (vmm/pvclock.c), which plain QEMU's TCG does not
// offer: KVM's signature at 0x40000100 with the clock and no-I/O-delay
// features; the time structure placed by MSR reads consistent time (20 ms
// of the PIT's channel 2 are 20 ms of it), the wall clock a date after 2023;
// an address outside guest memory or misaligned raises #GP; writing 0
// turns it off. Exit status: the number of failed checks.
// expect-status: 1
// expect-log: vm1 ended .*status 0: wrote 0 to the exit port
#include "edge.h"


static u32 failed;
static void check(int ok, const char *what)
{
	puts_(ok ? "edge: pvclock: ok: " : "edge: pvclock: FAILED: ");
	puts_(what);
	puts_("\n");
	failed += !ok;
}

struct pvti {
	u32 version, pad0;
	u64 tsc_timestamp, system_time;
	u32 mul;
	signed char shift;
	unsigned char flags, pad[2];
} __attribute__((packed, aligned(32)));
static volatile struct pvti ti;
static volatile struct { u32 version, sec, nsec; } wall;

static int faults_wrmsr(u32 msr, u64 val)
{
	u32 before = gp_count;
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((u32)val), "d"((u32)(val >> 32)) : "memory");
	return gp_count != before;
}

static u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

static u64 now_ns(void)
{
	u64 d = rdtsc() - ti.tsc_timestamp;
	d = ti.shift >= 0 ? d << ti.shift : d >> -ti.shift;
	// (d * mul) >> 32 without a 64x32 multiply helper: split d.
	u64 hi = (d >> 32) * ti.mul, lo = ((d & 0xFFFFFFFFu) * ti.mul) >> 32;
	return ti.system_time + hi + lo;
}

void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	edge_tables();
	edge_gate(13, gp_skip);
	u32 r[4];
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(0x40000100u), "c"(0));
	const char *want = "KVMKVMKVM\0\0\0", *got = (const char *)&r[1];
	int same = 1;
	for (int i = 0; i < 12; i++)
		same &= got[i] == want[i];
	check(same && r[0] >= 0x40000101u, "KVM's signature at 0x40000100");
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(0x40000101u), "c"(0));
	check((r[0] & ((1u << 1) | (1u << 3) | (1u << 24))) == ((1u << 1) | (1u << 3) | (1u << 24)) &&
	      !(r[0] & ~((1u << 1) | (1u << 3) | (1u << 24))), "features: clock, stable, no I/O delay; nothing else");

	check(!faults_wrmsr(0x4b564d01u, (u32)&ti | 1), "the clock is placed");
	check(ti.version && !(ti.version & 1) && ti.mul && (ti.flags & 1), "a whole structure, scaled, TSC stable");

	// 20 ms of PIT channel 2 (one-shot, gate on) in the clock's time.
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xB0);
	outb(0x42, (unsigned char)23864);
	outb(0x42, (unsigned char)(23864 >> 8));
	u64 t0 = now_ns();
	while (!(inb(0x61) & 0x20))
		;
	u64 t1 = now_ns();
	u64 d = t1 - t0; // in [15, 40] ms, without a 64-bit division
	check(t1 > t0 && d >= 15000000ull && d <= 40000000ull, "20 ms of the PIT read as 20 ms of the clock");

	check(!faults_wrmsr(0x4b564d00u, (u32)&wall), "the wall clock is placed");
	check(!(wall.version & 1) && wall.sec > 1700000000u && wall.nsec < 1000000000u, "the wall clock says a date after 2023");

	check(faults_wrmsr(0x4b564d01u, 0xFFFFF001u), "outside guest memory: #GP");
	check(faults_wrmsr(0x4b564d01u, (u32)&ti | 3), "misaligned: #GP");
	check(!faults_wrmsr(0x4b564d01u, 0), "writing 0 turns it off");
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x4b564d01u));
	check(lo == 0 && hi == 0, "and reads back 0");
	outl(0xF4, failed);
}
