// Every PDE x PTE permission combination x pair of access kinds x CR0.WP,
// for 4 KiB and 4 MiB pages (kvm-unit-tests' access.c is the model): the #PF
// or its absence, the error code, CR2, and where a successful access lands.
// The second access of a pair runs against whatever the first left cached:
// a TLB caches an entry's rights, not the access that loaded it.
#include "lib/lib.h"

static const u32 flag_sets[] = { 0, P, P | W, P | U, P | W | U };
#define NSETS 5
#define VA 0x40401234u
#define LARGE_FRAME 0x00C00000u

// What the SDM says must happen; written apart from any MMU code.
static bool model(u32 pde, u32 pte, bool large, bool wp, bool write, bool user, u32 *ec)
{
	*ec = (write ? 2 : 0) | (user ? 4 : 0);
	if (!(pde & P) || (!large && !(pte & P)))
		return false;
	u32 eff = large ? pde : (pde & pte);
	bool ok = user ? ((eff & U) && (!write || (eff & W))) : (!write || (eff & W) || !wp);
	if (!ok)
		*ec |= 1;
	return ok;
}

static void run_group(bool large, bool wp)
{
	u32 *pt = alloc_page();
	u32 *data = alloc_page();
	u32 n = 0, bad = 0;
	char name[40];
	u32 first_pde = 0, first_pte = 0, first_acc = 0, got_ec = 0, want_ec = 0, got_ok = 0, cr2 = 0;
	for (u32 i = 0; i < NSETS; i++)
	for (u32 j = 0; j < (large ? 1u : NSETS); j++)
	for (u32 pair = 0; pair < 16; pair++) {
		u32 acc = pair & 3;
		u32 pde = large ? (LARGE_FRAME | PS | flag_sets[i]) : ((u32)pt | flag_sets[i]);
		u32 pte = (u32)data | flag_sets[j];
		u32 *target = large ? (u32 *)(LARGE_FRAME + (VA & 0x3FFFFF)) : (u32 *)((u32)data + (VA & 0xFFF));
		kpd[VA >> 22] = pde;
		pt[(VA >> 12) & 1023] = pte;
		u32 content = 0x5A5A0000u + n;
		*target = content;
		write_cr0(wp ? (read_cr0() | CR0_WP) : (read_cr0() & ~CR0_WP));
		reload_cr3();
		for (int step = 0; step < 2; step++, acc = pair >> 2) {
		bool write = acc & 1, user = acc & 2;
		u32 want;
		bool ok_want = model(pde, pte, large, wp, write, user, &want);
		u32 val = 0;
		bool ok;
		if (user)
			ok = write ? u_write(VA, 0xC0DE0000u + n) : u_read(VA, &val);
		else
			ok = write ? k_write(VA, 0xC0DE0000u + n) : k_read(VA, &val);
		bool good = ok == ok_want;
		if (good && !ok)
			good = fault_err == want && fault_cr2 == VA;
		if (good && ok && write) {
			good = *target == 0xC0DE0000u + n;
			content = *target;
		} else if (good && ok) {
			good = val == content;
		}
		if (!good && !bad++) {
			first_pde = pde & 0xFFF;
			first_pte = pte & 0xFFF;
			first_acc = pair * 10 + (u32)step;
			got_ok = ok;
			got_ec = ok ? 0 : fault_err;
			want_ec = ok_want ? 0 : want;
			cr2 = fault_cr2;
		}
		n++;
		}
	}
	write_cr0(read_cr0() | CR0_WP);
	kpd[VA >> 22] = 0;
	reload_cr3();
	const char *size = large ? "4m" : "4k";
	const char *w = wp ? "wp1" : "wp0";
	char *p = name;
	for (const char *s = "access_"; *s;) *p++ = *s++;
	for (const char *s = size; *s;) *p++ = *s++;
	*p++ = '_';
	for (const char *s = w; *s;) *p++ = *s++;
	*p = 0;
	report(bad == 0, name, "%u of %u combinations wrong; first: pde flags %x pte flags %x access pair*10+step %u: %s ec %x cr2 %x, want ec %x",
	       bad, n, first_pde, first_pte, first_acc, got_ok ? "no fault" : "fault", got_ec, cr2, want_ec);
}

void test_main(void)
{
	write_cr4(read_cr4() | CR4_PSE);
	for (int large = 0; large < 2; large++)
		for (int wp = 0; wp < 2; wp++)
			run_group(large, wp);
}
