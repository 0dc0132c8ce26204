// String I/O, as a kernel uses it: REP OUTSB of a message to the serial
// port, forwards and backwards (EFLAGS.DF), with a segment override; REP
// INSB from the UART's scratch register; a count of zero; and a REP INSB
// that runs into a read-only page halfway: #PF at the first byte it could
// not write, with EDI and ECX saying how far it got; word and doubleword
// sizes.
#include "lib/lib.h"

static inline void outb(u16 p, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }

extern volatile u32 recover_eip;

static void outs_fwd(const char *s, u32 n)
{
	__asm__ volatile("cld; rep outsb" : "+S"(s), "+c"(n) : "d"(0x3F8) : "memory");
}

static void outs_back(const char *last, u32 n)
{
	__asm__ volatile("std; rep outsb; cld" : "+S"(last), "+c"(n) : "d"(0x3F8) : "memory");
}

static u8 buf[2 * 4096] __attribute__((aligned(4096)));

void test_main(void)
{
	static const char msg[] = "strio: written by rep outsb\n";
	outs_fwd(msg, sizeof(msg) - 1);
	static const char rev[] = "\nsdrawkcab ,bstuo per yb :oirts";
	outs_back(rev + sizeof(rev) - 2, sizeof(rev) - 1);
	// A segment override on the source: %es is flat too.
	const char *p = "strio: es: override\n";
	u32 n = 20;
	__asm__ volatile("cld; rep outsb %%es:(%%esi), (%%dx)" : "+S"(p), "+c"(n) : "d"(0x3F8) : "memory");
	report(n == 0, "rep outsb leaves ECX at 0", "%u", n);
	// And through %fs with a base of its own, loaded by the guest: the
	// segment umbra reads must be the one the guest has now.
	u16 fs = data_segment(0x1000);
	p = "strio: fs: override\n";
	u32 off = (u32)p - 0x1000;
	n = 20;
	__asm__ volatile("mov %w4, %%fs; cld; rep outsb %%fs:(%%esi), (%%dx); mov %w5, %%fs"
			 : "+S"(off), "+c"(n) : "d"(0x3F8), "m"(*p), "r"(fs), "r"(0x10) : "memory");
	report(n == 0 && off == (u32)p - 0x1000 + 20, "rep outsb through %fs with a base", "%u", n);

	// REP INSB from the scratch register.
	outb(0x3FF, 0x5A);
	u8 *d = buf;
	n = 100;
	__asm__ volatile("cld; rep insb" : "+D"(d), "+c"(n) : "d"(0x3FF) : "memory");
	u32 same = 0;
	for (u32 i = 0; i < 100; i++)
		same += buf[i] == 0x5A;
	report(same == 100 && n == 0 && d == buf + 100, "rep insb fills 100 bytes", "%u same, ecx %u", same, n);
	// Backwards, and a zero count that does nothing.
	outb(0x3FF, 0xA5);
	d = buf + 199;
	n = 50;
	__asm__ volatile("std; rep insb; cld" : "+D"(d), "+c"(n) : "d"(0x3FF) : "memory");
	report(buf[199] == 0xA5 && buf[150] == 0xA5 && buf[149] == 0 && d == buf + 149, "rep insb backwards",
	       "%x %x %x", buf[199], buf[150], buf[149]);
	n = 0;
	d = buf + 300;
	__asm__ volatile("cld; rep insb" : "+D"(d), "+c"(n) : "d"(0x3FF) : "memory");
	report(buf[300] == 0 && d == buf + 300, "a zero count does nothing", "%x", buf[300]);

	// Into a read-only page halfway (CR0.WP is on): #PF at its first byte,
	// with EDI and ECX where the CPU stopped.
	u32 *pte = pte_of(kpd, (u32)buf + 4096);
	*pte &= ~W;
	invlpg((u32)buf + 4096);
	d = buf + 4096 - 10;
	n = 30;
	fault_vec = 0;
	__asm__ volatile("movl $1f, recover_eip\n\t"
			 "cld; rep insb\n\t"
			 "1: movl $0, recover_eip" : "+D"(d), "+c"(n) : "d"(0x3FF) : "memory");
	*pte |= W;
	invlpg((u32)buf + 4096);
	report(fault_vec == 14 && fault_err == 3 && fault_cr2 == (u32)buf + 4096 && d == buf + 4096 && n == 20,
	       "rep insb stops at a read-only page", "vec %u err %x cr2 %x edi +%d ecx %u", fault_vec, fault_err,
	       fault_cr2 - (u32)buf, (int)(d - buf), n);

	// Word and doubleword sizes, to a port nothing listens on (0x80):
	// each element moves ESI by its size.
	static const u32 words[4] = { 1, 2, 3, 4 };
	const u32 *w = words;
	n = 3;
	__asm__ volatile("cld; rep outsw" : "+S"(w), "+c"(n) : "d"(0x80) : "memory");
	report((const u8 *)w == (const u8 *)words + 6 && n == 0, "rep outsw moves ESI by 2 an element", "+%d",
	       (int)((const u8 *)w - (const u8 *)words));
	w = words;
	__asm__ volatile("outsl" : "+S"(w) : "d"(0x80) : "memory");
	report(w == words + 1, "outsl moves ESI by 4", "+%d", (int)((const u8 *)w - (const u8 *)words));
}
