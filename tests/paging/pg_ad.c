// Accessed and Dirty bits: set exactly when hardware sets them, in PTEs and
// PDEs, for 4 KiB and 4 MiB pages, and visible through a data mapping of the
// page table.
#include "lib/lib.h"

void test_main(void)
{
	u32 *frame = alloc_page();
	u32 *pt = new_pt(kpd, TEST_VA, P | W | U);
	pt[0] = (u32)frame | P | W;
	reload_cr3();
	volatile u32 *va = (u32 *)TEST_VA;
	u32 pde_i = TEST_VA >> 22;

	(void)*va;
	report((pt[0] & A) && !(pt[0] & D) && (kpd[pde_i] & A), "read_sets_a_not_d",
	       "pte %x pde %x", pt[0] & 0xFFF, kpd[pde_i] & 0xFFF);
	*va = 1;
	report((pt[0] & D) && frame[0] == 1, "write_sets_d", "pte %x", pt[0] & 0xFFF);
	report(!(kpd[pde_i] & D), "pde_d_untouched_for_4k", "pde %x", kpd[pde_i] & 0xFFF);

	pt[0] &= ~(A | D);
	invlpg(TEST_VA);
	(void)*va;
	report((pt[0] & A) && !(pt[0] & D), "cleared_a_set_again", "pte %x", pt[0] & 0xFFF);
	pt[0] &= ~D;
	invlpg(TEST_VA);
	*va = 2;
	report((pt[0] & D) && frame[0] == 2, "cleared_d_set_again_on_write", "pte %x", pt[0] & 0xFFF);
	*va = 3;
	report((pt[0] & D) && frame[0] == 3, "write_through_dirty_pte", "pte %x val %u", pt[0] & 0xFFF, frame[0]);

	// A read, then a write through the same cached translation: D must be set
	// by the write even though the read found D clear.
	pt[1] = (u32)alloc_page() | P | W;
	invlpg(TEST_VA + 4096);
	(void)*(volatile u32 *)(TEST_VA + 4096);
	u32 after_read = pt[1];
	*(volatile u32 *)(TEST_VA + 4096) = 7;
	report(!(after_read & D) && (pt[1] & D), "read_then_write_sets_d", "after read %x after write %x",
	       after_read & 0xFFF, pt[1] & 0xFFF);

	// The page table itself, mapped as data: A/D seen through that mapping.
	pt[2] = (u32)pt | P | W;
	invlpg(TEST_VA + 2 * 4096);
	volatile u32 *pt_view = (u32 *)(TEST_VA + 2 * 4096);
	pt[3] = (u32)alloc_page() | P | W;
	invlpg(TEST_VA + 3 * 4096);
	*(volatile u32 *)(TEST_VA + 3 * 4096) = 9;
	report((pt_view[3] & (A | D)) == (A | D), "ad_seen_through_pt_mapping", "entry %x", pt_view[3] & 0xFFF);

	// 4 MiB pages: A and D live in the PDE.
	write_cr4(read_cr4() | CR4_PSE);
	u32 big_i = (TEST_VA + 0x800000) >> 22;
	kpd[big_i] = 0x00C00000u | PS | P | W;
	invlpg(TEST_VA + 0x800000);
	volatile u32 *big = (u32 *)(TEST_VA + 0x800000 + 0x1234);
	(void)*big;
	report((kpd[big_i] & A) && !(kpd[big_i] & D), "4m_read_sets_a", "pde %x", kpd[big_i] & 0xFFF);
	*big = 5;
	report((kpd[big_i] & D) && *(volatile u32 *)(0x00C01234u) == 5, "4m_write_sets_d", "pde %x",
	       kpd[big_i] & 0xFFF);
	kpd[big_i] &= ~(A | D);
	invlpg(TEST_VA + 0x800000 + 0x3000);
	*(big + 8) = 6;
	report((kpd[big_i] & (A | D)) == (A | D), "4m_cleared_ad_set_again", "pde %x", kpd[big_i] & 0xFFF);

	// A faulting write leaves D clear.
	pt[4] = (u32)alloc_page() | P;
	invlpg(TEST_VA + 4 * 4096);
	bool ok = k_write(TEST_VA + 4 * 4096, 1);
	report(!ok && fault_err == 3 && !(pt[4] & D), "faulting_write_no_d", "ok %u err %x pte %x", ok,
	       fault_err, pt[4] & 0xFFF);
}
