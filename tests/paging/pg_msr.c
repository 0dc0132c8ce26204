// MSRs a 686 kernel touches, and SYSENTER/SYSEXIT (Linux's vDSO enters the
// kernel with them). Each MSR the CPUID leaf 1 offers must work; each it does
// not must raise #GP, as the SDM says of an absent MSR. PAT takes only valid
// memory types. SYSENTER goes to the MSRs' CS:EIP and ESP with IF off, and
// SYSEXIT back to CPL 3 at EDX:ECX. The outputs must match plain QEMU's,
// whose CPU offers more: so only consistency is printed for those. (Where
// QEMU's TCG departs from the SDM, unknown MSRs, invalid PAT values and a
// TSC MSR that does not move, the edge guest cpuid.c checks umbra alone.)
#include "lib/lib.h"


static volatile u32 gp_count, gp_resume;

static void on_gp(struct frame *f)
{
	if (f->vec != 13 || !gp_resume) {
		printf("FAIL unexpected vector %u at %x\n", f->vec, f->eip);
		exit_guest(1);
	}
	gp_count++;
	f->eip = gp_resume;
	gp_resume = 0;
}

// rdmsr/wrmsr that report #GP instead of dying.
static bool rdmsr_safe(u32 msr, u64 *val)
{
	u32 lo = 0, hi = 0, before = gp_count;
	__asm__ volatile("movl $1f, gp_resume\n\trdmsr\n\t1: movl $0, gp_resume"
			 : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	*val = ((u64)hi << 32) | lo;
	return gp_count == before;
}

static bool wrmsr_safe(u32 msr, u64 val)
{
	u32 before = gp_count;
	__asm__ volatile("movl $1f, gp_resume\n\twrmsr\n\t1: movl $0, gp_resume"
			 :: "a"((u32)val), "d"((u32)(val >> 32)), "c"(msr) : "memory");
	return gp_count == before;
}

static u32 cpuid1_edx(void)
{
	u32 a = 1, b, c = 0, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return d;
}

// SYSENTER lands here at CPL 0: note the state, return with SYSEXIT.
static volatile u32 k_cs, k_ss, k_esp, k_eflags, k_eax;
extern char sysenter_entry[];
__asm__(".text\n"
	"sysenter_entry:\n\t"
	"mov %cs, k_cs\n\t"
	"mov %ss, k_ss\n\t"
	"mov %esp, k_esp\n\t"
	"pushf\n\t"
	"popl k_eflags\n\t"
	"mov %eax, k_eax\n\t"
	"mov $0x23, %eax\n\t"
	"mov %eax, %ds\n\t"
	"mov %eax, %es\n\t"
	"mov $0x5151, %eax\n\t"
	"sysexit\n");

static volatile u32 u_cs, u_ss;
static u32 user_sysenter(u32 arg)
{
	u32 r;
	__asm__ volatile("mov %%esp, %%ecx\n\t"
			 "lea 1f, %%edx\n\t"
			 "sysenter\n"
			 "1:\n\t"
			 "mov %%cs, %%edx\n\t"
			 "mov %%edx, u_cs\n\t"
			 "mov %%ss, %%edx\n\t"
			 "mov %%edx, u_ss\n\t"
			 : "=a"(r) : "a"(arg) : "ecx", "edx", "memory");
	return r;
}

static void consistent(const char *name, u32 feature_bit, u32 msr)
{
	u64 v;
	bool offered = cpuid1_edx() & (1u << feature_bit);
	bool works = rdmsr_safe(msr, &v);
	report(offered == works, name, "CPUID says %u, rdmsr 0x%x %s", offered, msr, works ? "works" : "#GP");
}

static u32 kernel_stack[256];

void test_main(void)
{
	trap_hook = on_gp;
	u64 v;

	consistent("TSC (0x10) as CPUID offers it", 4, 0x10);
	consistent("SYSENTER_CS (0x174) as CPUID offers SEP", 11, 0x174);
	consistent("PAT (0x277) as CPUID offers it", 16, 0x277);
	consistent("MTRRcap (0xFE) as CPUID offers MTRR", 12, 0xFE);
	consistent("MCG_CAP (0x179) as CPUID offers MCA", 14, 0x179);
	consistent("APIC_BASE (0x1B) as CPUID offers the APIC", 9, 0x1B);
	report(rdmsr_safe(0x8B, &v), "the microcode revision (0x8B) reads", "%s", "");
	// AMD's HWCR and C1E-state MSRs, which an AMD family 0Fh CPU has (Linux
	// reads the latter without a #GP handler on such CPUs).
	u32 c0[4];
	__asm__ volatile("cpuid" : "=a"(c0[0]), "=b"(c0[1]), "=c"(c0[2]), "=d"(c0[3]) : "a"(0), "c"(0));
	if (c0[1] == 0x68747541u) {
		report(rdmsr_safe(0xC0010015, &v), "AMD HWCR reads", "%s", "");
		report(rdmsr_safe(0xC0010055, &v) && v == 0, "AMD C1E state reads 0", "%x", (u32)v);
	}

	report(rdmsr_safe(0x277, &v) && v == 0x0007040600070406ull, "PAT at reset: WB WT UC- UC, twice",
	       "%x%x", (u32)(v >> 32), (u32)v);
	report(wrmsr_safe(0x277, 0x0001050600070406ull) && rdmsr_safe(0x277, &v) && v == 0x0001050600070406ull,
	       "PAT takes valid types (WC, WP)", "%x%x", (u32)(v >> 32), (u32)v);
	wrmsr_safe(0x277, 0x0007040600070406ull);

	// SYSENTER: CS 0x08 (so SS 0x10; SYSEXIT: CS 0x1B, SS 0x23).
	wrmsr_safe(0x174, 0x08);
	wrmsr_safe(0x175, (u32)&kernel_stack[256]);
	wrmsr_safe(0x176, (u32)sysenter_entry);
	report(rdmsr_safe(0x176, &v) && v == (u32)sysenter_entry, "SYSENTER_EIP reads back", "%s", "");
	u32 r = user_call(user_sysenter, 0x77);
	report(r == 0x5151 && k_eax == 0x77, "SYSENTER from CPL 3 and SYSEXIT back", "eax %x, k_eax %x", r, k_eax);
	report(k_cs == 0x08 && k_ss == 0x10, "SYSENTER loads CS and SS from SYSENTER_CS", "cs %x ss %x", k_cs, k_ss);
	report(k_esp == (u32)&kernel_stack[256], "SYSENTER loads ESP from SYSENTER_ESP", "%x", k_esp);
	report(!(k_eflags & 0x200), "SYSENTER clears IF", "eflags %x", k_eflags);
	report(u_cs == 0x1B && u_ss == 0x23, "SYSEXIT returns to CS 0x1B, SS 0x23", "cs %x ss %x", u_cs, u_ss);
	wrmsr_safe(0x174, 0);
	trap_hook = 0;
}
