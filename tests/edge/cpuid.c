// The CPU umbra presents: CPUID says "umbraumbraum" at leaf 0x40000000 with
// the hypervisor bit set, hides SVM, VMX, PAE, long mode, NX, SYSCALL,
// MCE/MTRR and XSAVE/AVX, shows the local APIC and one CPU; and what it hides a
// guest cannot turn on (CR4.PAE/MCE/OSXSAVE and EFER.SCE/LME/NXE raise #GP).
// MSRs follow the SDM where QEMU's TCG does not: one that does not exist,
// or whose feature CPUID hides, raises #GP, and PAT takes only valid types.
// Exit status: the number of failed checks.
// expect-status: 1
// expect-log: vm1 ended .*status 0: wrote 0 to the exit port
#include "edge.h"


static u32 failed;
static void check(int ok, const char *what)
{
	puts_(ok ? "edge: cpuid: ok: " : "edge: cpuid: FAILED: ");
	puts_(what);
	puts_("\n");
	failed += !ok;
}

static void cpuid(u32 leaf, u32 r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

static int faults_cr4(u32 bit)
{
	u32 before = gp_count, cr4;
	skip_len = 3; // mov %eax, %cr4
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" ::"a"(cr4 | bit));
	int faulted = gp_count != before;
	__asm__ volatile("mov %0, %%cr4" ::"a"(cr4));
	return faulted;
}

static int faults_efer(u32 bit)
{
	u32 before = gp_count;
	skip_len = 2; // wrmsr
	__asm__ volatile("wrmsr" ::"c"(0xC0000080u), "a"(bit), "d"(0));
	return gp_count != before;
}

static int faults_wrmsr(u32 msr, u64 val)
{
	u32 before = gp_count;
	skip_len = 2;
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((u32)val), "d"((u32)(val >> 32)));
	return gp_count != before;
}

static int faults_rdmsr(u32 msr, u64 *val)
{
	u32 before = gp_count, lo = 0, hi = 0;
	skip_len = 2;
	__asm__ volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(msr));
	*val = ((u64)hi << 32) | lo;
	return gp_count != before;
}

void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	edge_tables();
	edge_gate(13, gp_skip);
	u32 r[4], s[4];
	cpuid(0x40000000u, r);
	const char *want = "umbraumbraum", *got = (const char *)&r[1];
	int same = 1;
	for (int i = 0; i < 12; i++)
		same &= got[i] == want[i];
	check(same, "signature umbraumbraum at 0x40000000");
	cpuid(1, r);
	check(r[2] & (1u << 31), "hypervisor bit");
	check(!(r[2] & (1u << 5)), "no VMX");
	check(!(r[2] & ((1u << 26) | (1u << 27) | (1u << 28))), "no XSAVE, OSXSAVE, AVX");
	check(!(r[2] & ((1u << 3) | (1u << 21) | (1u << 24))), "no MONITOR, x2APIC, TSC deadline");
	check(!(r[3] & ((1u << 6) | (1u << 7) | (1u << 12) | (1u << 14))), "no PAE, MCE, MTRR, MCA");
	check(r[3] & (1u << 9), "the local APIC");
	check((r[3] & ((1u << 3) | (1u << 13) | (1u << 11) | (1u << 24) | (1u << 25))) ==
	      ((1u << 3) | (1u << 13) | (1u << 11) | (1u << 24) | (1u << 25)), "PSE, PGE, SEP, FXSR, SSE shown");
	check(((r[1] >> 16) & 0xFF) == 1 && (r[1] >> 24) == 0, "one logical CPU, APIC ID 0");
	cpuid(1, s);
	check(r[0] == s[0] && r[1] == s[1] && r[2] == s[2] && r[3] == s[3], "the same answer twice");
	cpuid(0x80000000u, r);
	check(r[0] >= 0x80000001u && r[0] <= 0x80000008u, "extended leaves up to 0x80000008");
	cpuid(0x80000001u, r);
	check(!(r[2] & (1u << 2)), "no SVM");
	check(!(r[3] & ((1u << 29) | (1u << 20) | (1u << 11) | (1u << 27))), "no long mode, NX, SYSCALL, RDTSCP");
	cpuid(0x8000000Au, r);
	check(!(r[0] | r[1] | r[2] | r[3]), "no SVM leaf");
	check(faults_cr4(1u << 5) && faults_cr4(1u << 6) && faults_cr4(1u << 18), "CR4.PAE, MCE, OSXSAVE raise #GP");
	check(!faults_cr4(1u << 4), "CR4.PSE can be set");
	check(faults_efer(1u << 0) && faults_efer(1u << 8) && faults_efer(1u << 11), "EFER.SCE, LME, NXE raise #GP");
	u64 v;
	check(faults_rdmsr(0x12345678u, &v) && faults_wrmsr(0x12345678u, 0), "an MSR that exists nowhere: #GP");
	check(faults_rdmsr(0xFE, &v) && faults_rdmsr(0x2FF, &v), "MTRR MSRs (hidden): #GP");
	check(faults_rdmsr(0x179, &v), "MCG_CAP (hidden): #GP");
	check(!faults_rdmsr(0x8B, &v) && !faults_wrmsr(0x8B, 0), "microcode revision reads, and takes the write of 0");
	check(faults_wrmsr(0x277, 0x0007040600070402ull) && faults_wrmsr(0x277, 0x0007040600070408ull) &&
	      faults_wrmsr(0x277, 0x0007040600070406ull | (1ull << 59)), "PAT refuses types 2, 3 and reserved bits");
	check(!faults_rdmsr(0x277, &v) && v == 0x0007040600070406ull, "a refused PAT write changes nothing");
	u64 t0, t1;
	faults_rdmsr(0x10, &t0);
	for (volatile u32 i = 0; i < 100000; i++)
		;
	faults_rdmsr(0x10, &t1);
	check(t1 > t0, "the TSC MSR moves forward");
	outl(0xF4, failed);
}
