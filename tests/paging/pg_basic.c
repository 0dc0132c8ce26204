// Paging on and off, aliases, and address translation through fresh tables.
#include "lib/lib.h"

void test_main(void)
{
	// The identity map works and paging is on.
	volatile u32 *probe = (u32 *)0x300000;
	*probe = 0x11223344;
	report(*probe == 0x11223344 && (read_cr0() & CR0_PG), "identity_map", "read back %x", *probe);

	// One frame at two virtual addresses.
	u32 *frame = alloc_page();
	u32 *pt = new_pt(kpd, TEST_VA, P | W | U);
	pt[0] = (u32)frame | P | W;
	pt[5] = (u32)frame | P | W;
	reload_cr3();
	*(volatile u32 *)(TEST_VA + 0x10) = 0xCAFEBABE;
	report(*(volatile u32 *)(TEST_VA + 5 * 4096 + 0x10) == 0xCAFEBABE && frame[4] == 0xCAFEBABE,
	       "alias_two_vas", "alias read %x, frame %x", *(volatile u32 *)(TEST_VA + 5 * 4096 + 0x10), frame[4]);

	// Many pages, each a different frame, each with its own pattern.
	u32 *frames[64];
	for (int i = 0; i < 64; i++) {
		frames[i] = alloc_page();
		pt[100 + i] = (u32)frames[i] | P | W;
	}
	reload_cr3();
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < 1024; j += 97)
			*(volatile u32 *)(TEST_VA + (100 + i) * 4096 + j * 4) = (u32)(i * 100000 + j);
	int bad = 0;
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < 1024; j += 97)
			bad += frames[i][j] != (u32)(i * 100000 + j);
	report(bad == 0, "64_pages_patterns", "%d words wrong", bad);

	// Paging off: the same addresses are physical again; then on again.
	write_cr0(read_cr0() & ~CR0_PG);
	u32 off_read = *(volatile u32 *)((u32)frame + 0x10);
	*(volatile u32 *)((u32)frame + 0x20) = 0x0FF0FF0F;
	bool pg_off = !(read_cr0() & CR0_PG);
	write_cr0(read_cr0() | CR0_PG);
	report(pg_off && off_read == 0xCAFEBABE, "paging_off_physical", "pg %u read %x", !pg_off, off_read);
	report(*(volatile u32 *)(TEST_VA + 0x20) == 0x0FF0FF0F, "paging_on_again", "read %x",
	       *(volatile u32 *)(TEST_VA + 0x20));

	// A second address space with a different mapping at the same address.
	u32 *pd2 = alloc_page();
	for (int i = 0; i < 4; i++)
		pd2[i] = kpd[i];
	u32 *frame2 = alloc_page();
	frame2[4] = 0x22222222;
	u32 *pt2 = new_pt(pd2, TEST_VA, P | W | U);
	pt2[0] = (u32)frame2 | P | W;
	write_cr3((u32)pd2);
	u32 in2 = *(volatile u32 *)(TEST_VA + 0x10);
	write_cr3((u32)kpd);
	u32 in1 = *(volatile u32 *)(TEST_VA + 0x10);
	report(in2 == 0x22222222 && in1 == 0xCAFEBABE, "two_address_spaces", "as2 %x as1 %x", in2, in1);

	// Not-present PDE and PTE fault with CR2 = the address.
	u32 v;
	bool ok = k_read(TEST_VA + 0x400000 + 0x123, &v);
	report(!ok && fault_err == 0 && fault_cr2 == TEST_VA + 0x400123, "not_present_pde",
	       "ok %u err %x cr2 %x", ok, fault_err, fault_cr2);
	ok = k_write(TEST_VA + 7 * 4096 + 8, 1);
	report(!ok && fault_err == 2 && fault_cr2 == TEST_VA + 7 * 4096 + 8, "not_present_pte",
	       "ok %u err %x cr2 %x", ok, fault_err, fault_cr2);
	// From ring 3.
	ok = u_read(TEST_VA + 0x10, &v);
	report(!ok && fault_err == 5, "user_reads_supervisor_page", "ok %u err %x", ok, fault_err);
	pt[0] |= U;
	invlpg(TEST_VA);
	ok = u_read(TEST_VA + 0x10, &v);
	report(ok && v == 0xCAFEBABE, "user_reads_user_page", "ok %u val %x", ok, v);
}
