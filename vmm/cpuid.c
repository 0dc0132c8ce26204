// The guest's CPUID (see cpuid.h). Every bit passed through is one umbra
// either virtualizes (paging: PSE, PGE; SYSENTER; PAT; the FPU/SSE state it
// keeps with FXSAVE) or that needs nothing from it (instruction-set
// extensions that use no new state). Anything else reads as absent: no
// SVM/VMX, no PAE or long mode, the local APIC's bit left to the caller (it
// follows the APIC's enable), no MCE/MTRR (their MSRs
// are not offered), no XSAVE/AVX (umbra's VM switch does not keep that
// state), no monitor/mwait, and one CPU. Beside umbra's signature, KVM's at
// 0x40000100 offers its paravirtual clock (vmm/pvclock.c).
#include "cpuid.h"
#include "lib.h"

// Leaf 1 EDX (and its mirror in 8000_0001 EDX, bits 0-9, 12-17, 23-24).
#define D_FPU (1u << 0)
#define D_VME (1u << 1)
#define D_DE (1u << 2)
#define D_PSE (1u << 3)
#define D_TSC (1u << 4)
#define D_MSR (1u << 5)
#define D_PAE (1u << 6)
#define D_MCE (1u << 7)
#define D_CX8 (1u << 8)
#define D_SEP (1u << 11)
#define D_PGE (1u << 13)
#define D_CMOV (1u << 15)
#define D_PAT (1u << 16)
#define D_CLFSH (1u << 19)
#define D_MMX (1u << 23)
#define D_FXSR (1u << 24)
#define D_SSE (1u << 25)
#define D_SSE2 (1u << 26)
#define LEAF1_EDX (D_FPU | D_VME | D_DE | D_PSE | D_TSC | D_MSR | D_CX8 | D_SEP | D_PGE | D_CMOV | D_PAT | \
		   D_CLFSH | D_MMX | D_FXSR | D_SSE | D_SSE2)
// Leaf 1 ECX: SSE3, PCLMULQDQ, SSSE3, CX16, SSE4.1, SSE4.2, MOVBE, POPCNT,
// AES, RDRAND; bit 31 is set: a hypervisor is present.
#define LEAF1_ECX ((1u << 0) | (1u << 1) | (1u << 9) | (1u << 13) | (1u << 19) | (1u << 20) | (1u << 22) | \
		   (1u << 23) | (1u << 25) | (1u << 30))
#define C_HYPERVISOR (1u << 31)
// 8000_0001 ECX: LAHF/SAHF, LZCNT, SSE4A, misaligned SSE, PREFETCHW.
#define EXT1_ECX ((1u << 0) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 8))
// 8000_0001 EDX: the leaf-1 mirror bits above, MMX extensions, 3DNow!;
// not SYSCALL (its MSRs are not offered), NX, 1 GiB pages, RDTSCP, LM.
#define EXT1_EDX ((LEAF1_EDX & 0x0183F3FFu) | (1u << 22) | (1u << 30) | (1u << 31))
#define MAX_BASIC 0xDu
#define MAX_EXT 0x80000008u
#define HV_LEAF 0x40000000u
#define KVM_LEAF 0x40000100u // where a kernel that scans for KVM's signature finds it
#define KVM_FEATURE_NOP_IO_DELAY (1u << 1)
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define KVM_FEATURE_CLOCKSOURCE_STABLE (1u << 24)

static u32 sig(const char *s)
{
	return (u32)(u8)s[0] | (u32)(u8)s[1] << 8 | (u32)(u8)s[2] << 16 | (u32)(u8)s[3] << 24;
}

void cpuid_guest(u32 leaf, u32 sub, cpuid_host_fn host, struct cpuid_regs *out)
{
	struct cpuid_regs h = { 0 }, max = { 0 };
	memset(out, 0, sizeof(*out));
	if (leaf == HV_LEAF) {
		out->eax = HV_LEAF;
		out->ebx = sig(CPUID_SIGNATURE);
		out->ecx = sig(CPUID_SIGNATURE + 4);
		out->edx = sig(CPUID_SIGNATURE + 8);
		return;
	}
	// KVM's paravirtual interface, beside umbra's own: its clock and no
	// I/O delays, nothing else (vmm/pvclock.c).
	if (leaf == KVM_LEAF) {
		out->eax = KVM_LEAF + 1;
		out->ebx = sig("KVMK");
		out->ecx = sig("VMKV");
		out->edx = sig("M\0\0\0");
		return;
	}
	if (leaf == KVM_LEAF + 1) {
		out->eax = KVM_FEATURE_NOP_IO_DELAY | KVM_FEATURE_CLOCKSOURCE2 | KVM_FEATURE_CLOCKSOURCE_STABLE;
		return;
	}
	bool ext = leaf >= 0x80000000u;
	host(ext ? 0x80000000u : 0, 0, &max);
	u32 limit = ext ? MIN(max.eax, MAX_EXT) : MIN(max.eax, MAX_BASIC);
	if (leaf > limit || (!ext && leaf >= 0x40000000u))
		return; // absent leaves read as zeros (AMD's answer; one answer for all)
	host(leaf, sub, &h);
	switch (leaf) {
	case 0:
		*out = h;
		out->eax = limit;
		break;
	case 1:
		out->eax = h.eax;                           // family, model, stepping
		out->ebx = (h.ebx & 0xFFFF) | (1u << 16);   // one logical CPU, APIC ID 0
		out->ecx = (h.ecx & LEAF1_ECX) | C_HYPERVISOR;
		out->edx = h.edx & LEAF1_EDX;
		break;
	case 2:
		*out = h;                                   // cache descriptors
		break;
	case 4:
		*out = h;                                   // cache parameters, of one core
		out->eax &= 0x3FFFu;
		break;
	case 7:
		if (sub == 0)
			out->ebx = h.ebx & (1u << 9);       // ERMS only
		break;
	case 0x80000000u:
		*out = h;
		out->eax = limit;
		break;
	case 0x80000001u:
		out->eax = h.eax;
		out->ecx = h.ecx & EXT1_ECX;
		out->edx = h.edx & EXT1_EDX;
		break;
	case 0x80000002u: case 0x80000003u: case 0x80000004u: // the brand string
	case 0x80000005u: case 0x80000006u:                   // caches and TLBs
		*out = h;
		break;
	case 0x80000008u:
		out->eax = h.eax & 0xFFFF;                  // address sizes; one core
		break;
	}
}

u32 cpuid_guest_cr4_valid(cpuid_host_fn host)
{
	struct cpuid_regs r;
	cpuid_guest(1, 0, host, &r);
	u32 v = (1u << 2) | (1u << 8); // TSD, PCE: nothing to enumerate
	if (r.edx & D_VME)
		v |= (1u << 0) | (1u << 1); // VME, PVI
	if (r.edx & D_DE)
		v |= 1u << 3;
	if (r.edx & D_PSE)
		v |= 1u << 4;
	if (r.edx & D_PAE)
		v |= 1u << 5;
	if (r.edx & D_MCE)
		v |= 1u << 6;
	if (r.edx & D_PGE)
		v |= 1u << 7;
	if (r.edx & D_FXSR)
		v |= 1u << 9;              // OSFXSR
	if (r.edx & D_SSE)
		v |= 1u << 10;             // OSXMMEXCPT
	return v;
}

u32 cpuid_guest_efer_valid(cpuid_host_fn host)
{
	struct cpuid_regs r;
	cpuid_guest(0x80000001u, 0, host, &r);
	u32 v = 0;
	if (r.edx & (1u << 11))
		v |= 1u << 0;              // SCE
	if (r.edx & (1u << 29))
		v |= 1u << 8;              // LME
	if (r.edx & (1u << 20))
		v |= 1u << 11;             // NXE
	return v;
}
