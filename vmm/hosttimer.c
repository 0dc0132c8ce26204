// The local APIC timer as umbra's one-shot wake-up (see hosttimer.h). The
// APIC keeps passing the 8259's interrupts (LINT0 as ExtINT, virtual wire);
// its timer counts the bus clock divided by 1, measured against the TSC once.
#include "asm.h"
#include "hosttimer.h"
#include "irq.h"
#include "lib.h"
#include "log.h"
#include "umbra.h"


#define APIC_EOI 0xB0
#define APIC_SVR 0xF0
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR 0x390
#define APIC_TIMER_DIV 0x3E0
#define LVT_MASKED (1u << 16)
#define LVT_EXTINT (7u << 8)
#define LVT_NMI (4u << 8)

extern u64 boot_pd[]; // boot/entry.S: 2 MiB pages over the first 4 GiB

static volatile u32 *apic; // NULL: no local APIC, sleep until the tick
static u64 apic_per_ms;    // timer counts a millisecond
static u64 armed_tsc = ~0ull; // the deadline the one-shot is counting to, ~0 for none
u64 hosttimer_wakeups;

static u32 apic_read(u32 reg) { return apic[reg / 4]; }
static void apic_write(u32 reg, u32 val) { apic[reg / 4] = val; }

void hosttimer_init(void)
{
	u32 a, b, c, d;
	cpuid(1, &a, &b, &c, &d);
	u64 base = rdmsr(MSR_APIC_BASE);
	u64 pa = base & 0xFFFFF000ull;
	if (!(d & (1u << 9)) || pa >= (4ull << 30) || !cfg.tsc_khz) {
		kprintf("umbra: no local APIC to wake umbra early: idle VMs wait for the 100 Hz tick\n");
		return;
	}
	// Its page uncached (its 2 MiB page holds nothing else umbra uses).
	boot_pd[pa >> 21] |= PTE_PCD | PTE_PWT;
	__asm__ volatile("invlpg (%0)" ::"r"((uintptr_t)pa) : "memory");
	wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
	apic = (volatile u32 *)(uintptr_t)pa;
	apic_write(APIC_LVT_LINT0, LVT_EXTINT); // the 8259 keeps its way in
	apic_write(APIC_LVT_LINT1, LVT_NMI);
	apic_write(APIC_SVR, 0x100 | HOSTTIMER_SPURIOUS);
	apic_write(APIC_TIMER_DIV, 0xB); // divide by 1
	apic_write(APIC_LVT_TIMER, LVT_MASKED | HOSTTIMER_VECTOR);
	// Count for 10 ms of TSC.
	apic_write(APIC_TIMER_INIT, 0xFFFFFFFFu);
	u64 t0 = rdtsc();
	while (rdtsc() - t0 < cfg.tsc_khz * 10)
		;
	u32 left = apic_read(APIC_TIMER_CUR);
	apic_write(APIC_TIMER_INIT, 0);
	apic_per_ms = (0xFFFFFFFFu - left) / 10;
	if (!apic_per_ms) {
		apic = NULL;
		kprintf("umbra: the local APIC timer does not count: idle VMs wait for the 100 Hz tick\n");
		return;
	}
	apic_write(APIC_LVT_TIMER, HOSTTIMER_VECTOR); // one-shot, unmasked
	kprintf("umbra: local APIC timer at %lu kHz wakes umbra at guests' deadlines\n", apic_per_ms);
}

void hosttimer_arm(u64 deadline_tsc)
{
	if (!apic || deadline_tsc == armed_tsc)
		return;
	u64 now = rdtsc();
	u64 us = deadline_tsc > now ? (deadline_tsc - now) * 1000 / cfg.tsc_khz : 0;
	if (us >= 1000000 / TICK_HZ) { // later than the tick: the tick comes first anyway
		if (armed_tsc != ~0ull)
			apic_write(APIC_TIMER_INIT, 0);
		armed_tsc = ~0ull;
		return;
	}
	apic_write(APIC_TIMER_INIT, (u32)MAX(us * apic_per_ms / 1000, 1ull));
	armed_tsc = deadline_tsc;
}

void hosttimer_sleep_until(u64 deadline_tsc)
{
	if (deadline_tsc <= rdtsc())
		return;
	hosttimer_arm(deadline_tsc);
	hlt();
}

void hosttimer_interrupt(void)
{
	hosttimer_wakeups++;
	armed_tsc = ~0ull; // a one-shot: it counts no more
	apic_write(APIC_EOI, 0);
}
