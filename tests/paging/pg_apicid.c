// A guest that reads the local APIC's ID as some kernels do on every lock:
// 10^6 reads (umbra serves them from its read-only page of register values
// once the guest reads often, vmm/vlapic.c). Checks that what those reads
// see stays current: the ID, TPR after writes, ISR while a self-IPI is in
// service, and the timer's current count, which must keep moving while the
// timer counts and read 0 once a one-shot has fired. Prints the TSC cycles
// of the 10^6 reads with the command line "bench" (make bench compares them
// with plain QEMU's: BENCH lapic_id_read_slowdown_vs_qemu).
#include "lib/lib.h"

#define APIC 0xFEE00000u
static u32 rd(u32 r) { return *(volatile u32 *)(APIC + r); }
static void wr(u32 r, u32 v) { *(volatile u32 *)(APIC + r) = v; }
static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return (u64)hi << 32 | lo; }

static volatile u32 in_service, hits;

static bool bench_mode(void) // the word "bench" on the command line
{
	for (const char *c = boot_cmdline; *c; c++)
		if ((c == boot_cmdline || c[-1] == ' ') && c[0] == 'b' && c[1] == 'e' && c[2] == 'n' && c[3] == 'c' &&
		    c[4] == 'h' && (c[5] == ' ' || c[5] == 0))
			return true;
	return false;
}

static void on_irq(struct frame *f)
{
	hits++;
	in_service = rd(0x100 + 0x10 * (f->vec / 32)) & (1u << (f->vec % 32));
	wr(0xB0, 0);
}

void test_main(void)
{
	u32 *pt = new_pt(kpd, APIC, P | W);
	pt[(APIC >> 12) & 0x3FF] = APIC | P | W | PCD;
	reload_cr3();
	pic_init(0xFF);
	trap_hook = on_irq;

	u32 sum = 0;
	u64 t = rdtsc();
	for (u32 i = 0; i < 1000000; i++)
		sum |= rd(0x20);
	t = rdtsc() - t;
	if (bench_mode())
		printf("cycles for 10^6 APIC ID reads: %u\n", (u32)(t > 0xFFFFFFFFull ? 0xFFFFFFFFu : t));
	printf("APIC ID over 10^6 reads: %x\n", sum);

	u32 tpr_ok = 0;
	for (u32 v = 0; v < 256; v += 16) {
		wr(0x80, v);
		tpr_ok += rd(0x80) == v && rd(0xA0) == v;
	}
	wr(0x80, 0);
	printf("TPR and PPR read back after each of 16 writes: %u\n", tpr_ok);

	wr(0x300, 0x40041); // self-IPI 0x41
	for (volatile int i = 0; i < 100; i++)
		__asm__ volatile("sti; nop; cli");
	printf("self-IPI: %u taken, in ISR while handled %u, ISR after EOI %x\n", hits, in_service != 0, rd(0x120));

	wr(0x320, 0x10031); // timer masked, one-shot
	wr(0x3E0, 0xB);
	wr(0x380, 1500000000); // 1.5 s: long enough that no pause of this VM outlasts it
	u32 first = rd(0x390), moves = 0, prev = first;
	for (u32 i = 0; i < 100000 && prev && moves < 20; i++) {
		u32 c = rd(0x390);
		moves += c < prev;
		prev = c;
	}
	u64 w = rdtsc();
	while (rd(0x390) && rdtsc() - w < 20000000000ull)
		;
	u32 zero_reads = 0;
	for (u32 i = 0; i < 100000; i++)
		zero_reads += rd(0x390) == 0;
	report(moves >= 20, "the timer count moves between reads while it counts", "%u moves from %u", moves, first);
	printf("after the one-shot: %u of 10^5 reads of the count are 0, ID %x\n", zero_reads, rd(0x20));
}
