// Control registers read back what the guest wrote, through MOV, CLTS,
// LMSW and SMSW; CR2 holds the last #PF address.
#include "lib/lib.h"

#define CR0_TS (1u << 3)
#define CR0_MP (1u << 1)

void test_main(void)
{
	u32 cr0 = read_cr0();
	report((cr0 & (CR0_PG | CR0_WP | 1)) == (CR0_PG | CR0_WP | 1), "cr0_pg_wp_pe", "cr0 %x", cr0);
	write_cr0(cr0 & ~CR0_WP);
	u32 a = read_cr0();
	write_cr0(cr0);
	report(a == (cr0 & ~CR0_WP) && read_cr0() == cr0, "cr0_wp_toggle", "%x then %x", a, read_cr0());

	write_cr0(cr0 | CR0_TS);
	a = read_cr0();
	__asm__ volatile("clts");
	u32 b = read_cr0();
	report(a == (cr0 | CR0_TS) && b == cr0, "ts_mov_and_clts", "with TS %x after CLTS %x", a, b);

	u16 msw = (u16)((cr0 & 0xFFF0) | CR0_TS | CR0_MP | 1);
	__asm__ volatile("lmsw %0" ::"r"(msw));
	a = read_cr0();
	u32 s32 = 0;
	u16 s16 = 0, smem = 0;
	__asm__ volatile("smsw %0" : "=r"(s32));
	__asm__ volatile("smsw %0" : "=r"(s16));
	__asm__ volatile("smsw %0" : "=m"(smem));
	report((a & 0xF) == (CR0_TS | CR0_MP | 1) && (a & ~0xFu) == (cr0 & ~0xFu), "lmsw_sets_ts_mp",
	       "cr0 %x", a);
	report((s32 & 0xFFFF) == (a & 0xFFFF) && s16 == (u16)a && smem == (u16)a, "smsw_reg_and_mem",
	       "r32 %x r16 %x m16 %x cr0 %x", s32 & 0xFFFF, s16, smem, a);
	// LMSW cannot clear PE.
	__asm__ volatile("lmsw %0" ::"r"((u16)0));
	b = read_cr0();
	report((b & 1) && !(b & (CR0_TS | CR0_MP)), "lmsw_keeps_pe", "cr0 %x", b);
	write_cr0(cr0);

	u32 cr3 = read_cr3();
	write_cr3(cr3 | PWT | PCD);
	a = read_cr3();
	write_cr3(cr3);
	report(a == (cr3 | PWT | PCD) && read_cr3() == cr3, "cr3_pwt_pcd", "%x", a);

	u32 cr4 = read_cr4();
	write_cr4(cr4 | CR4_PSE | CR4_PGE);
	a = read_cr4();
	write_cr4(cr4 & ~(CR4_PSE | CR4_PGE));
	b = read_cr4();
	write_cr4(cr4);
	report(a == (cr4 | CR4_PSE | CR4_PGE) && b == (cr4 & ~(CR4_PSE | CR4_PGE)), "cr4_pse_pge",
	       "set %x cleared %x", a, b);

	u32 v;
	bool ok = k_read(0x7FFFF123u, &v);
	report(!ok && read_cr2() == 0x7FFFF123u, "cr2_after_pf", "cr2 %x", read_cr2());
	__asm__ volatile("mov %0, %%cr2" ::"r"(0x12345678u));
	report(read_cr2() == 0x12345678u, "cr2_write_read", "cr2 %x", read_cr2());
}
