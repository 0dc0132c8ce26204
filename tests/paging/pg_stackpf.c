// Faults in the middle of event delivery: the IDT, GDT, TSS and the ring-0
// entry stack are moved to fresh frames (so a shadow must walk their new
// entries while the CPU is delivering an event), then a user-mode INT, a
// user-mode #PF and a user-mode divide error must all be delivered intact.
#include "lib/lib.h"

extern char istack_top[];
extern char user_return[];

static volatile u32 de_count, de_eip_ok;

static void de_hook(struct frame *f)
{
	if (f->vec != 0 || (f->cs & 3) != 3) {
		printf("FAIL unexpected exception vec=%u eip=%x\n", f->vec, f->eip);
		exit_guest(1);
	}
	de_count++;
	de_eip_ok = f->uesp > 0x100000;
	f->eax = 0xDE;
	f->eip = (u32)user_return;
	f->cs = 0x08;
	f->ds = f->es = 0x10;
}

static volatile u32 db_count, db_eip;

// Single-step traps: a lost #DB is never raised again, unlike a fault,
// which re-executes and re-faults.
static void db_hook(struct frame *f)
{
	if (f->vec != 1) {
		printf("FAIL unexpected exception vec=%u eip=%x\n", f->vec, f->eip);
		exit_guest(1);
	}
	db_count++;
	db_eip = f->eip;
	f->eflags &= ~0x100u;
}

static u32 user_divide(u32 x)
{
	volatile u32 zero = 0;
	return x / zero;
}

static u32 user_int80(u32 x)
{
	return x + 1;
}

// Point va's PTE at a fresh copy of its frame.
static void move_page(u32 va)
{
	u32 *f = alloc_page();
	memcpy(f, (void *)(va & ~0xFFFu), 4096);
	*pte_of(kpd, va) = (u32)f | P | W | U;
	invlpg(va);
}

// The page holding the current kernel stack pointer, minus a safety page.
static u32 kstack_top_page(void)
{
	u32 sp;
	__asm__ volatile("mov %%esp, %0" : "=r"(sp));
	return sp - 4096;
}

static u32 sidt_base(void)
{
	struct { u16 limit; u32 base; } __attribute__((packed)) d;
	__asm__ volatile("sidt %0" : "=m"(d));
	return d.base;
}

static u32 sgdt_base(void)
{
	struct { u16 limit; u32 base; } __attribute__((packed)) d;
	__asm__ volatile("sgdt %0" : "=m"(d));
	return d.base;
}

void test_main(void)
{
	u32 idt = sidt_base(), gdt = sgdt_base();
	for (int round = 0; round < 3; round++) {
		move_page(idt);
		move_page(idt + 2047);
		move_page(gdt);
		move_page((u32)istack_top - 4);
		move_page((u32)istack_top - 4097);
		u32 r = user_call(user_int80, 41);
		report(r == 42, round == 0 ? "int80_after_move" : round == 1 ? "int80_after_move_2" : "int80_after_move_3",
		       "got %u", r);
	}
	move_page(idt);
	move_page((u32)istack_top - 4);
	u32 v;
	bool ok = u_read(0x7FF00000u, &v);
	report(!ok && fault_err == 4 && fault_cr2 == 0x7FF00000u, "user_pf_after_move", "ok %u err %x cr2 %x",
	       ok, fault_err, fault_cr2);

	move_page(idt);
	move_page(gdt);
	move_page((u32)istack_top - 4);
	trap_hook = de_hook;
	u32 r = user_call(user_divide, 7);
	trap_hook = NULL;
	report(r == 0xDE && de_count == 1 && de_eip_ok, "user_divide_error_after_move", "r %x count %u", r, de_count);

	// A single-step trap whose delivery walks a freshly moved IDT and stack.
	int steps = 0;
	for (int i = 0; i < 20; i++) {
		// The hook is set first: it shares a page with the IDT, and writing
		// it after the move would walk the IDT's new entry too early.
		trap_hook = db_hook;
		move_page(idt);
		move_page((u32)kstack_top_page());
		// POPF sets TF: the trap comes after the next instruction, at 2:.
		u32 want;
		__asm__ volatile("movl $2f, %0; pushf; orl $0x100, (%%esp); popf; nop; 2: nop; nop"
				 : "=r"(want) :: "memory");
		trap_hook = NULL;
		steps += db_count == (u32)i + 1 && db_eip == want;
	}
	report(steps == 20, "single_step_trap_after_move", "%d of 20 traps delivered (count %u)", steps, db_count);

	// Many round trips through fresh mappings of the entry stack.
	int bad = 0;
	for (int i = 0; i < 50; i++) {
		move_page((u32)istack_top - 4);
		bad += user_call(user_int80, (u32)i) != (u32)i + 1;
	}
	report(bad == 0, "fifty_round_trips", "%d wrong", bad);
}
