// The KVM-style paravirtual clock (see pvclock.h). Time is the host's TSC
// (guests read it unintercepted), counted in ns from the VM's creation; a
// clone, whose memory holds the same structure and which shares the TSC,
// reads the same clock. The structure is written once, when the guest
// places it: umbra's TSC rate does not change, so its scale never goes stale.
#include "lib.h"
#include "pvclock.h"
#include "rtc.h"
#include "umbra.h"

#define PVCLOCK_TSC_STABLE 0x01

struct pvclock_vcpu_time_info {
	u32 version, pad0;
	u64 tsc_timestamp, system_time;
	u32 tsc_to_system_mul;
	s8 tsc_shift;
	u8 flags, pad[2];
} __attribute__((packed));
_Static_assert(sizeof(struct pvclock_vcpu_time_info) == 32, "pvclock layout");

struct pvclock_wall_clock {
	u32 version, sec, nsec;
} __attribute__((packed));

bool pvclock_msr(u32 msr)
{
	return msr == MSR_KVM_WALL_CLOCK_NEW || msr == MSR_KVM_SYSTEM_TIME_NEW;
}

u64 pvclock_msr_read(struct vcpu *v, u32 msr)
{
	return msr == MSR_KVM_WALL_CLOCK_NEW ? v->pvclock_wall_msr : v->pvclock_time_msr;
}

// ns = ((tsc_delta << shift, or >> -shift) * mul) >> 32: the TSC's rate
// scaled by 2^shift into (1, 2] GHz, so that mul = 10^9 * 2^32 / that < 2^32.
static void tsc_scale(u64 tsc_hz, s8 *shift, u32 *mul)
{
	s8 sh = 0;
	while (tsc_hz > 2000000000ull) {
		tsc_hz >>= 1;
		sh--;
	}
	while (tsc_hz <= 1000000000ull) {
		tsc_hz <<= 1;
		sh++;
	}
	*shift = sh;
	*mul = (u32)((1000000000ull << 32) / tsc_hz);
}

static bool write_guest(struct vm *vm, u64 gpa, const void *src, u32 len)
{
	if (gpa + len > ((u64)vm->mem_mib << 20) || gpa + len < gpa)
		return false;
	const u8 *p = src;
	while (len) {
		u32 chunk = MIN(len, PAGE_SIZE - (u32)(gpa & (PAGE_SIZE - 1)));
		if (shadow_gpa_write(&vm->mmu, (gpa_t)gpa, p, chunk) < 0)
			return false;
		gpa += chunk;
		p += chunk;
		len -= chunk;
	}
	return true;
}

bool pvclock_msr_write(struct vcpu *v, u32 msr, u64 val)
{
	struct vm *vm = v->vm;
	u64 now = __builtin_ia32_rdtsc();
	if (msr == MSR_KVM_WALL_CLOCK_NEW) {
		// The wall-clock time at the clock's zero, the VM's creation.
		u64 ns = rtc_host_ns_at(vm->pvclock_base_tsc);
		struct pvclock_wall_clock w = { 2, (u32)(ns / 1000000000ull), (u32)(ns % 1000000000ull) };
		if (!write_guest(vm, val, &w, sizeof(w)))
			return false;
		v->pvclock_wall_msr = val;
		return true;
	}
	if (!(val & 1)) { // disabled: the guest stops reading it
		v->pvclock_time_msr = val;
		return true;
	}
	struct pvclock_vcpu_time_info t = { 0 };
	t.version = 2; // even: the structure is whole (the guest does not run meanwhile)
	t.tsc_timestamp = now;
	t.system_time = cfg.tsc_khz ? (now - vm->pvclock_base_tsc) * 1000000 / cfg.tsc_khz : 0;
	s8 shift;
	u32 mul;
	tsc_scale(cfg.tsc_khz * 1000, &shift, &mul);
	t.tsc_shift = shift;
	t.tsc_to_system_mul = mul;
	t.flags = PVCLOCK_TSC_STABLE;
	if ((val & 2) || !write_guest(vm, val & ~1ull, &t, sizeof(t)))
		return false;
	v->pvclock_time_msr = val;
	return true;
}
