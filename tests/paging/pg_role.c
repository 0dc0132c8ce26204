// A 4 MiB page over memory the guest touched with paging off must keep its
// own rights (issue: the shadow of a split large page once shared its key
// with the paging-off identity tables, whose entries are user and writable).
// With CR0.WP=0 and a PDE with U=0, R/W=0, D=0: ring 3 faults on read (error
// code 5) and write (7) once ring 0 has read it; ring 0 writes, and the write sets the PDE's D bit.
#include "lib/lib.h"

static volatile u32 victim[2048] __attribute__((aligned(4096)));

static void paging_off_touch(void)
{
	// Paging off and on again: the identity map is ours, so this is safe.
	write_cr0(read_cr0() & ~CR0_PG);
	victim[5] = 0x11111111u;
	victim[1024 + 5] = 0x55555555u;
	write_cr0(read_cr0() | CR0_PG);
}

void test_main(void)
{
	paging_off_touch();
	write_cr4(read_cr4() | CR4_PSE);
	write_cr0(read_cr0() & ~CR0_WP);
	u32 idx = TEST_VA >> 22;
	kpd[idx] = 0x00000000u | P | PS; // frame 0-4 MiB: the guest's own image, victim included
	reload_cr3();
	u32 va = TEST_VA + (u32)&victim[5], val = 0;
	// A supervisor read of the next page goes through and links the shadow
	// table for the 4 MiB page: from then on, what that table holds decides.
	bool ok = k_read(TEST_VA + (u32)&victim[1024 + 5], &val);
	report(ok && val == 0x55555555u, "supervisor read of the 4 MiB page", "fault %x value %x", fault_err, val);
	ok = u_read(va, &val);
	report(!ok && fault_err == 5 && fault_cr2 == va, "user read of a supervisor 4 MiB page faults",
	       "read %s, error code %x, value %x", ok ? "went through" : "faulted", fault_err, val);
	ok = u_write(va, 0x22222222u);
	report(!ok && fault_err == 7 && victim[5] == 0x11111111u, "user write of a supervisor read-only 4 MiB page faults",
	       "write %s, error code %x, victim %x", ok ? "went through" : "faulted", fault_err, victim[5]);
	report(!(kpd[idx] & D), "the PDE is still clean", "pde %x", kpd[idx]);
	ok = k_write(va, 0x33333333u);
	report(ok && victim[5] == 0x33333333u, "supervisor write with CR0.WP=0 goes through", "victim %x", victim[5]);
	report((kpd[idx] & (A | D)) == (A | D), "the supervisor write set the PDE's A and D bits", "pde %x", kpd[idx]);
	// Again after a CR3 reload, and with the PDE user but read-only.
	kpd[idx] = 0x00000000u | P | PS | U;
	reload_cr3();
	ok = u_read(va, &val);
	report(ok && val == 0x33333333u, "user read of a user 4 MiB page", "fault %x value %x", fault_err, val);
	ok = u_write(va, 0x44444444u);
	report(!ok && fault_err == 7 && victim[5] == 0x33333333u, "user write of a user read-only 4 MiB page faults",
	       "error code %x victim %x", fault_err, victim[5]);
	kpd[idx] = 0;
	reload_cr3();
	write_cr0(read_cr0() | CR0_WP);
}
