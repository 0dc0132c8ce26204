// The local APIC against plain QEMU's (as SeaBIOS leaves it): the base MSR
// and CPUID bit, registers at reset and what writes keep, self-IPIs (fixed
// and NMI), TPR
// masking and PPR, ISR nesting and EOI order, the 8259 through LINT0
// (virtual wire) and LINT0 masked, software disable, and the timer: one-shot
// (masked and not), periodic with reloads, every divide value counting at
// 1/d the rate of divide 1. Timing is only ever compared in ratios, with
// wide bounds: the lines printed must not depend on how fast a run is.
#include "lib/lib.h"

#define APIC 0xFEE00000u
#define ID 0x20
#define VER 0x30
#define TPR 0x80
#define PPR 0xA0
#define EOI 0xB0
#define LDR 0xD0
#define DFR 0xE0
#define SVR 0xF0
#define ISR 0x100
#define TMR 0x180
#define IRR 0x200
#define ESR 0x280
#define ICR 0x300
#define ICR2 0x310
#define LVT_TIMER 0x320
#define LVT_LINT0 0x350
#define LVT_LINT1 0x360
#define LVT_ERROR 0x370
#define TMICT 0x380
#define TMCCT 0x390
#define TDCR 0x3E0
#define MASKED (1u << 16)
#define PERIODIC (1u << 17)

static inline void outb(u16 p, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return (u64)hi << 32 | lo; }
static u32 rd(u32 r) { return *(volatile u32 *)(APIC + r); }
static void wr(u32 r, u32 v) { *(volatile u32 *)(APIC + r) = v; }
static bool bit_of(u32 base, u8 vec) { return rd(base + 0x10 * (vec / 32)) & (1u << (vec % 32)); }

static char log[64];
static volatile u32 nlog, hits[256];
static volatile bool nest; // the 0x51 handler opens interrupts and sends 0x61 and 0x41
static volatile u32 seen_isr, seen_ppr;

static void note(char c)
{
	if (nlog < sizeof(log) - 1)
		log[nlog++] = c;
}

static void self_ipi(u8 vec)
{
	wr(ICR, 0x40000 | vec); // shorthand: self, fixed
}

static void on_irq(struct frame *f)
{
	u8 vec = (u8)f->vec;
	hits[vec]++;
	if (vec == 0x20) { // the PIT through the 8259 (LINT0, ExtINT): no APIC EOI
		outb(0x20, 0x20);
		return;
	}
	if (vec == 0xFF || vec == 2)
		return; // spurious, NMI: no EOI
	note("0123456789abcdef"[vec >> 4]);
	seen_isr = bit_of(ISR, vec);
	seen_ppr = rd(PPR);
	if (vec == 0x51 && nest) {
		nest = false;
		self_ipi(0x41); // lower class: waits for the EOI of 0x51
		self_ipi(0x61); // higher: nests
		__asm__ volatile("sti; nop; nop; cli");
	}
	note('.');
	wr(EOI, 0);
}

static void settle(void)
{
	for (volatile u32 i = 0; i < 1000; i++)
		__asm__ volatile("sti; nop; cli");
}

static u64 cpuid_edx(u32 leaf)
{
	u32 a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf), "c"(0));
	return d;
}

// The timer's moves per 2^4 TSC cycles at this divide value, over about
// `cycles` (the TSC read on both sides of both reads of the count); 0 if
// the run went far over (the VM lost the CPU).
static u64 count_rate(u32 tdcr, u64 cycles)
{
	wr(TDCR, tdcr);
	wr(TMICT, 0xFFFFFFFF);
	u64 t0 = rdtsc();
	u32 a = rd(TMCCT);
	while (rdtsc() - t0 < cycles)
		;
	u32 b = rd(TMCCT);
	u64 t1 = rdtsc();
	wr(TMICT, 0);
	if (a - b >= (1u << 26) || t1 - t0 >= 2 * cycles)
		return 0;
	return (u32)((a - b) << 6) / (u32)((t1 - t0) >> 10);
}

static void timer_tests(void)
{
	// One-shot, masked: counts to 0, no interrupt.
	wr(LVT_TIMER, MASKED | 0x31);
	wr(TDCR, 0xB);
	wr(TMICT, 100000); // 100 us at divide 1
	u64 t = rdtsc();
	while (rd(TMCCT) && rdtsc() - t < 20000000000ull)
		;
	settle();
	report(rd(TMCCT) == 0 && hits[0x31] == 0, "a masked one-shot timer counts to 0 and does not interrupt",
	       "count %u, %u interrupts", rd(TMCCT), hits[0x31]);

	// One-shot: one interrupt, then the count stays 0. (Its first read may
	// already be 0 under umbra: each access is an exit, and a loaded host or
	// umbra's other VMs can take 200 us between two of them.)
	wr(LVT_TIMER, 0x31);
	wr(TMICT, 200000);
	u32 first = rd(TMCCT);
	t = rdtsc();
	while (!hits[0x31] && rdtsc() - t < 20000000000ull)
		__asm__ volatile("sti; nop; cli");
	settle();
	settle();
	report(first <= 200000 && hits[0x31] == 1 && rd(TMCCT) == 0,
	       "a one-shot timer interrupts once and stays at 0", "first %u, %u interrupts, count %u", first,
	       hits[0x31], rd(TMCCT));
	printf("timer LVT after firing: %x, initial count %u\n", rd(LVT_TIMER), rd(TMICT));

	// Periodic: the count reloads, interrupts keep coming.
	hits[0x31] = 0;
	wr(LVT_TIMER, PERIODIC | 0x31);
	wr(TDCR, 0x3);     // divide by 16
	wr(TMICT, 62500);  // 1 ms
	u32 prev = rd(TMCCT), reloads = 0;
	t = rdtsc();
	while (hits[0x31] < 5 && rdtsc() - t < 40000000000ull) {
		u32 c = rd(TMCCT);
		reloads += c > prev;
		prev = c;
		__asm__ volatile("sti; nop; cli");
	}
	wr(TMICT, 0);
	report(hits[0x31] >= 5 && reloads >= 1, "a periodic timer reloads and keeps interrupting",
	       "%u interrupts, %u reloads", hits[0x31], reloads);
	printf("timer count after stopping: %u\n", rd(TMCCT));
	wr(LVT_TIMER, MASKED | 0x31);

	// Every divide value: the count moves 1/d as fast as at divide 1. (Each
	// pair is measured again, up to 5 times, if the VM lost the CPU in it:
	// preempted between a read of the count and of the TSC, it errs.)
	static const u32 tdcr[8] = { 0xB, 0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xA };
	bool ok = true;
	for (int i = 1; i < 8; i++) {
		u32 d = 1u << i;
		bool good = false;
		u64 base = 0, scaled = 0;
		for (int try = 0; try < 5 && !good; try++) {
			base = count_rate(0xB, 20000000);
			scaled = count_rate(tdcr[i], 20000000) * d; // ~ base
			good = base > 16 && scaled * 10 > base * 6 && scaled * 10 < base * 15;
		}
		if (!good)
			printf("divide %u: %u moves per 16 cycles times %u against %u at divide 1\n", d,
			       (u32)(scaled / d), d, (u32)base);
		ok &= good;
	}
	report(ok, "the timer counts at 1/d the rate for divide 2..128", "see above");
	for (u32 v = 0; v < 16; v++) {
		wr(TDCR, v);
		printf("%x", rd(TDCR));
	}
	printf(" (TDCR 0..f read back)\n");
}

// Read-modify-write instructions on registers, as kernels compiled with
// optimization use them (`apic[SVR] |= 0x100` is an OR to memory): the
// register after, and the arithmetic flags each leaves.
static u32 flags_after(void)
{
	u32 f;
	__asm__ volatile("pushf; pop %0" : "=r"(f));
	return f & 0x8D5; // CF PF AF ZF SF OF
}

static void alu_forms(void)
{
	volatile u32 *svr = (volatile u32 *)(APIC + SVR), *tpr = (volatile u32 *)(APIC + TPR);
	u32 f1, f2, f3, f4, f5, f6, r = 0x20;
	__asm__ volatile("andl $0xFFFFFEFF, %0" : "+m"(*svr) :: "cc");
	u32 off = *svr;
	__asm__ volatile("orl $0x100, %0" : "+m"(*svr) :: "cc");
	f1 = flags_after();
	__asm__ volatile("movl $0x7F, %0; addl $0x81, %0" : "+m"(*tpr) :: "cc");
	f2 = flags_after();
	u32 t1 = *tpr; // 0x100 kept to 8 bits
	__asm__ volatile("subl $1, %0" : "+m"(*tpr) :: "cc");
	f3 = flags_after();
	u32 t2 = *tpr;
	__asm__ volatile("cmpl $0x50014, %0" : "+m"(*(volatile u32 *)(APIC + VER)) :: "cc");
	f4 = flags_after();
	__asm__ volatile("testl $0x100, %0" : "+m"(*svr) :: "cc");
	f5 = flags_after();
	__asm__ volatile("orl %1, %0" : "+r"(r) : "m"(*tpr) : "cc");
	f6 = flags_after();
	*tpr = 0;
	printf("ALU forms: SVR %x after AND, %x after OR (flags %x); TPR 0x7F+0x81 %x (flags %x), -1 %x (flags %x)\n",
	       off, *svr, f1, t1, f2, t2, f3);
	printf("ALU forms: CMP version flags %x, TEST SVR flags %x; OR into a register %x (flags %x)\n", f4, f5, r, f6);
}

void test_main(void)
{
	u32 *pt = new_pt(kpd, APIC, P | W);
	pt[(APIC >> 12) & 0x3FF] = APIC | P | W | PCD;
	reload_cr3();
	pic_init(0xFF); // the 8259 quiet until the LINT0 test
	trap_hook = on_irq;

	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x1B));
	printf("APIC base MSR %x:%x, CPUID.1 APIC bit %u\n", hi, lo, (u32)(cpuid_edx(1) >> 9) & 1);
	printf("ID %x version %x TPR %x PPR %x LDR %x DFR %x SVR %x\n", rd(ID), rd(VER), rd(TPR), rd(PPR), rd(LDR),
	       rd(DFR), rd(SVR));
	printf("LVT timer %x LINT0 %x LINT1 %x error %x; TMICT %x TMCCT %x TDCR %x\n", rd(LVT_TIMER),
	       rd(LVT_LINT0), rd(LVT_LINT1), rd(LVT_ERROR), rd(TMICT), rd(TMCCT), rd(TDCR));
	u32 any = 0;
	for (u32 i = 0; i < 8; i++)
		any |= rd(ISR + 0x10 * i) | rd(IRR + 0x10 * i) | rd(TMR + 0x10 * i);
	printf("ISR, IRR and TMR all zero: %u\n", any == 0);

	// Writes: what reads back.
	wr(TPR, 0xFFFFFFFF);
	printf("TPR after all-ones %x, PPR %x\n", rd(TPR), rd(PPR));
	wr(TPR, 0);
	wr(LDR, 0xFFFFFFFF);
	wr(DFR, 0x0FFFFFFF);
	printf("LDR %x, DFR (cluster) %x\n", rd(LDR), rd(DFR));
	wr(LDR, 0x01000000);
	wr(DFR, 0xFFFFFFFF);
	wr(VER, 0);
	wr(PPR, 0xF0);
	printf("version %x and PPR %x after writes\n", rd(VER), rd(PPR));
	for (u32 i = 0; i < 8; i++) { // read-only: ISR, TMR, IRR
		wr(ISR + 0x10 * i, 0xFFFFFFFF);
		wr(TMR + 0x10 * i, 0xFFFFFFFF);
		wr(IRR + 0x10 * i, 0xFFFFFFFF);
	}
	any = 0;
	for (u32 i = 0; i < 8; i++)
		any |= rd(ISR + 0x10 * i) | rd(IRR + 0x10 * i) | rd(TMR + 0x10 * i);
	printf("ISR, IRR and TMR after writing all-ones: zero %u\n", any == 0);
	wr(ICR2, 0xFFFFFFFF);
	printf("ICR high after all-ones %x\n", rd(ICR2));
	wr(ICR2, 0);
	(void)rd(0x40); // no register there
	wr(ESR, 0);
	printf("ESR after reading a register that does not exist: %x\n", rd(ESR));

	// Self-IPIs: delivery, ISR and PPR while in service, EOI.
	self_ipi(0x41);
	settle();
	printf("self-IPI 0x41: %u taken, in ISR while handled %u, PPR then %x; ISR after EOI %u, PPR %x\n",
	       hits[0x41], seen_isr != 0, seen_ppr, bit_of(ISR, 0x41), rd(PPR));
	printf("ICR after a self-IPI: %x\n", rd(ICR));
	wr(ICR, 0x40400); // NMI to self: taken even with interrupts off
	for (volatile int i = 0; i < 100; i++)
		;
	printf("NMI to itself: %u taken with interrupts off\n", hits[2]);

	// TPR masks a class and the ones below it.
	nlog = 0;
	wr(TPR, 0x50);
	self_ipi(0x41);
	self_ipi(0x51);
	self_ipi(0x61);
	settle();
	log[nlog] = 0;
	printf("TPR 0x50: taken %s; IRR 0x41 %u 0x51 %u; PPR %x\n", log, bit_of(IRR, 0x41), bit_of(IRR, 0x51), rd(PPR));
	nlog = 0;
	wr(TPR, 0x30);
	settle();
	log[nlog] = 0;
	printf("TPR 0x30: then taken %s\n", log);
	wr(TPR, 0);

	// Nesting: 0x51's handler sends 0x41 and 0x61 and opens interrupts.
	nlog = 0;
	nest = true;
	self_ipi(0x51);
	settle();
	log[nlog] = 0;
	printf("nesting: %s\n", log);

	// The 8259 through LINT0 (ExtINT), then with LINT0 masked.
	outb(0x43, 0x34); outb(0x40, 0x9B); outb(0x40, 0x2E); // PIT: 100 Hz
	outb(0x21, 0xFE);
	u64 t = rdtsc();
	while (hits[0x20] < 3 && rdtsc() - t < 20000000000ull)
		__asm__ volatile("sti; nop; cli");
	report(hits[0x20] >= 3, "the 8259's interrupts arrive through LINT0 (ExtINT)", "%u", hits[0x20]);
	u32 lint0 = rd(LVT_LINT0);
	wr(LVT_LINT0, lint0 | MASKED);
	settle();
	u32 before = hits[0x20];
	t = rdtsc();
	while (rdtsc() - t < 100000000ull)
		__asm__ volatile("sti; nop; cli");
	report(hits[0x20] == before, "LINT0 masked: the 8259's interrupts do not arrive", "%u more", hits[0x20] - before);
	outb(0x21, 0xFF);
	wr(LVT_LINT0, lint0);
	settle();

	// Software disable holds interrupts; enable delivers them.
	hits[0x41] = 0;
	wr(SVR, 0xFF);
	self_ipi(0x41);
	settle();
	u32 while_off = hits[0x41];
	wr(SVR, 0x1FF);
	settle();
	printf("SVR %x: taken while disabled %u, after enabling %u\n", rd(SVR), while_off, hits[0x41]);

	alu_forms();
	timer_tests();
}
