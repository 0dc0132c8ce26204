// Instructions that would reach the host's state if umbra let a guest run
// them on the CPU: INVD (drops dirty cache lines without writing them back:
// the host's data too) and RDPMC (the host's counters, counting every VM).
// INVD must behave as the no-op a guest can rely on (no memory lost), RDPMC
// must raise an exception as on plain QEMU, and WBINVD just runs. QEMU's
// TCG never delivers the INVD intercept (umbra's INVD path could be broken
// without this test noticing: only hardware can show it); RDPMC's it does.
#include "lib/lib.h"


static volatile u32 vec_seen = 0xFFFFFFFFu, err_seen;

static void on_trap(struct frame *f)
{
	vec_seen = f->vec;
	err_seen = f->err;
	f->eip += 2; // RDPMC is 0f 33
}

static volatile u32 data[1024];

void test_main(void)
{
	trap_hook = on_trap;
	for (u32 i = 0; i < 1024; i++)
		data[i] = i * 2654435761u;
	__asm__ volatile("invd" ::: "memory");
	u32 bad = 0;
	for (u32 i = 0; i < 1024; i++)
		bad += data[i] != i * 2654435761u;
	report(bad == 0, "INVD loses no memory", "%u words changed", bad);
	__asm__ volatile("wbinvd" ::: "memory");
	report(1, "WBINVD runs", "-");
	u32 lo = 0, hi = 0;
	__asm__ volatile("rdpmc" : "=a"(lo), "=d"(hi) : "c"(0));
	printf("rdpmc: vector %u error %u\n", vec_seen, err_seen);
	report(vec_seen != 0xFFFFFFFFu, "RDPMC raises an exception", "it returned %x:%x", hi, lo);
}
