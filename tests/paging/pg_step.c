// Single-stepping (EFLAGS.TF) over instructions umbra completes for the
// guest: MOV from/to CR0 and CR3, CLTS, SMSW, LMSW, IN, OUT, INVLPG,
// RDMSR, WRMSR, between native ones. After each, the CPU raises #DB with
// DR6.BS set; the handler records where (EIP past the instruction) and DR6.
#include "lib/lib.h"

extern char step_start[], step_end[];

#define MAX_TRAPS 64
static volatile u32 trap_eip[MAX_TRAPS], trap_dr6[MAX_TRAPS], ntraps, other;

static void on_trap(struct frame *f)
{
	if (f->vec != 1) {
		other = f->vec;
		return;
	}
	u32 dr6;
	__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
	if (ntraps < MAX_TRAPS) {
		trap_eip[ntraps] = f->eip;
		trap_dr6[ntraps] = dr6;
	}
	ntraps++;
	__asm__ volatile("mov %0, %%dr6" ::"r"(0u)); // DR6 is sticky: clear it for the next trap
}

static volatile u32 scratch;

void test_main(void)
{
	trap_hook = on_trap;
	u32 va = (u32)&scratch;
	__asm__ volatile(
		"cli\n"
		"pushf\n"
		"orl $0x100, (%%esp)\n"
		"popf\n"                     // TF from the next instruction on
		".globl step_start\n"
		"step_start:\n"
		"nop\n"
		"mov %%cr0, %%eax\n"
		"mov %%eax, %%cr0\n"
		"clts\n"
		"smsw %%ax\n"
		"lmsw %%ax\n"
		"mov %%cr3, %%eax\n"
		"mov %%eax, %%cr3\n"
		"inb $0x21, %%al\n"
		"outb %%al, $0x80\n"
		"invlpg (%0)\n"
		"mov $0x174, %%ecx\n"
		"rdmsr\n"
		"wrmsr\n"
		"addl $1, (%0)\n"
		"pushf\n"
		"andl $0xFFFFFEFF, (%%esp)\n"
		"popf\n"                     // the last instruction stepped
		".globl step_end\n"
		"step_end:\n"
		::"r"(va) : "eax", "ecx", "edx", "memory", "cc");
	printf("%u single-step traps (EIP past step_start / DR6):", ntraps);
	for (u32 i = 0; i < ntraps && i < MAX_TRAPS; i++)
		printf("%s +%u/%x", i % 6 ? "" : "\n ", trap_eip[i] - (u32)step_start, trap_dr6[i]);
	printf("\n");
	report(other == 0 && ntraps == 18 && trap_eip[ntraps - 1] == (u32)step_end,
	       "a #DB after every instruction, emulated or not", "%u traps, other vector %u", ntraps, other);
	u32 bs = 0;
	for (u32 i = 0; i < ntraps && i < MAX_TRAPS; i++)
		bs += (trap_dr6[i] & 0x4000) != 0;
	report(bs == ntraps, "DR6.BS set at every single-step trap", "%u of %u", bs, ntraps);
}
