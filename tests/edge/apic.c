// The local APIC on input no correct kernel gives (paging off, its page at
// 0xFEE00000): reserved bits of the base MSR raise #GP; vectors 0-15 are
// refused with the ESR's receive (LVT) and send (self-IPI) illegal-vector
// bits, and nothing is delivered (vectors 3 and 5 have no gate: a delivery
// would triple-fault); the ESR latches errors on a write, as the SDM says;
// reserved LVT bits and the ICR's delivery-status bit read 0; disabling the
// APIC through the MSR hides it from CPUID, and it cannot be enabled again.
// Exit status: the number of failed checks.
// expect-status: 1
// expect-log: vm1 ended .*status 0: wrote 0 to the exit port
#include "edge.h"


static u32 failed;
static void check(int ok, const char *what)
{
	puts_(ok ? "edge: apic: ok: " : "edge: apic: FAILED: ");
	puts_(what);
	puts_("\n");
	failed += !ok;
}

static int faults_wrmsr(u32 msr, u64 v)
{
	u32 before = gp_count;
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
	return gp_count != before;
}

static u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (u64)hi << 32 | lo;
}

static u32 esr(void)
{
	apic_wr(0x280, 0);
	return apic_rd(0x280);
}

void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	edge_tables();
	edge_gate(13, gp_skip);
	check(rdmsr(0x1B) == 0xFEE00900u, "APIC_BASE is 0xFEE00900 (enabled, BSP)");
	check(faults_wrmsr(0x1B, 0xFEE00900u | (1u << 10)) && faults_wrmsr(0x1B, 0xFEE00901u) &&
	      faults_wrmsr(0x1B, 0xFEE00900u | (1ull << 40)), "x2APIC enable, bit 0, bits above 32: #GP");
	check(!faults_wrmsr(0x1B, 0xFEE00900u), "writing the same base");
	check(esr() == 0, "ESR 0 to begin with");

	__asm__ volatile("sti");
	apic_wr(0x320, 0x05); // timer: vector 5, one-shot, unmasked
	apic_wr(0x3E0, 0xB);
	apic_wr(0x380, 1000);
	for (volatile int i = 0; i < 100000 && apic_rd(0x390); i++)
		;
	for (volatile int i = 0; i < 1000; i++)
		;
	check(esr() == 0x40 && !(apic_rd(0x100) & 0x20), "LVT vector 5: refused, ESR receive illegal vector");
	apic_wr(0x300, 0x40003); // self-IPI, vector 3
	check(esr() == 0x20 && !(apic_rd(0x200) & 0x08), "self-IPI vector 3: refused, ESR send illegal vector");
	check(esr() == 0, "a second ESR write: no errors since the first");
	__asm__ volatile("cli");

	apic_wr(0x370, 0xFFFFFFFF);
	check(apic_rd(0x370) == 0x000100FFu, "LVT error: reserved bits read 0");
	apic_wr(0x370, 0x10000);
	apic_wr(0x310, 0);
	apic_wr(0x300, 0x000C1030); // to all others, with the delivery-status bit written
	check(!(apic_rd(0x300) & (1u << 12)), "ICR delivery status reads idle");

	u32 r[4];
	check(!faults_wrmsr(0x1B, 0xFEE00100u), "disabling the APIC");
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(1), "c"(0));
	check(!(r[3] & (1u << 9)), "CPUID hides a disabled APIC");
	faults_wrmsr(0x1B, 0xFEE00900u);
	check(rdmsr(0x1B) == 0xFEE00100u, "it cannot be enabled again");
	outl(0xF4, failed);
}
