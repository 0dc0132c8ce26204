// The CPU umbra presents to its guests: one CPUID answer for every leaf,
// derived from the host's by a whitelist, so that a guest sees only what
// umbra virtualizes or preserves (see the README's guest platform), and
// the CR4 and EFER bits that go with it. Pure C: no CPUID instruction here.
#ifndef UMBRA_CPUID_H
#define UMBRA_CPUID_H

#include "types.h"

struct cpuid_regs {
	u32 eax, ebx, ecx, edx;
};

#define CPUID_SIGNATURE "umbraumbraum" // leaf 0x40000000, EBX ECX EDX

// What the guest reads for (leaf, subleaf), given what the host CPU says:
// host(leaf, subleaf, &regs) runs the instruction (or a test's stand-in).
typedef void (*cpuid_host_fn)(u32 leaf, u32 subleaf, struct cpuid_regs *r);
void cpuid_guest(u32 leaf, u32 subleaf, cpuid_host_fn host, struct cpuid_regs *out);
// The CR4 and EFER bits a guest may set on the CPU it is shown.
u32 cpuid_guest_cr4_valid(cpuid_host_fn host);
u32 cpuid_guest_efer_valid(cpuid_host_fn host);

// Leaf 1 and 8000_0001 EDX bit 9: set by the caller while the VM's local
// APIC is enabled (vmm/vlapic.c).
#define CPUID_APIC (1u << 9)

// What a VM's CPUID instruction returns (emulate.c): cpuid_guest on this
// CPU, and the APIC bit as its APIC says.
struct vm;
void vm_cpuid(struct vm *vm, u32 leaf, u32 sub, struct cpuid_regs *r);

#endif
