// A paravirtual clock with KVM's interface (Documentation/virt/kvm/x86/msr.rst
// and cpuid.rst): CPUID 0x40000100 reads "KVMKVMKVM" beside umbra's own
// signature at 0x40000000, and offers the clock (and no I/O delays) and
// nothing else; MSR_KVM_SYSTEM_TIME_NEW and MSR_KVM_WALL_CLOCK_NEW place the
// time structures in guest memory. A kernel then knows the TSC's rate and
// reads time from it without an exit, where it would otherwise calibrate
// against the PIT and read the PIT for every clock (exits each).
#ifndef UMBRA_PVCLOCK_H
#define UMBRA_PVCLOCK_H

#include "types.h"

#define PVCLOCK_CPUID_BASE 0x40000100u
#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00u
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u

struct vcpu;
bool pvclock_msr(u32 msr);
u64 pvclock_msr_read(struct vcpu *v, u32 msr);
// False: #GP (the address is not guest memory, or reserved bits are set).
bool pvclock_msr_write(struct vcpu *v, u32 msr, u64 val);

#endif
