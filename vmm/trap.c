// The host IDT. Any exception in umbra itself is a bug: report it and end.
#include "asm.h"
#include "lib.h"
#include "log.h"
#include "x86.h"

struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8, rdi, rsi, rbp, rbx, rdx, rcx, rax;
	u64 vector, error, rip, cs, rflags, rsp, ss;
};

struct idt_gate {
	u16 off_lo, sel;
	u8 ist, type;
	u16 off_mid;
	u32 off_hi, zero;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == 16, "idt gate");

static struct idt_gate idt[64] __attribute__((aligned(16)));
extern const u64 trap_stubs[64];

void trap_init(void);
extern const char svm_vmrun_exit_point[];
static u64 stray_db;
void trap_handler(struct trap_frame *f);

void trap_init(void)
{
	for (int v = 0; v < 64; v++) {
		u64 a = trap_stubs[v];
		idt[v] = (struct idt_gate){ (u16)a, 0x08, 0, 0x8E, (u16)(a >> 16), (u32)(a >> 32), 0 };
	}
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) ptr = { sizeof(idt) - 1, (u64)(uintptr_t)idt };
	__asm__ volatile("lidt %0" ::"m"(ptr));
}

void trap_handler(struct trap_frame *f)
{
	// Bochs's SVM: a guest instruction that began with EFLAGS.TF set and
	// was intercepted leaves its single-step trap pending, and it fires in
	// umbra right after VMRUN returns. A CPU completes no intercepted
	// instruction, so raises none; umbra gives the guest its own #DB when
	// it completes the instruction. Let it pass, counted.
	if (f->vector == VEC_DB && f->rip == (u64)(uintptr_t)svm_vmrun_exit_point) {
		if (stray_db++ == 0)
			kprintf("umbra: a #DB in umbra right after VMRUN (a guest's single-step trap an emulator carried "
				"across the VM exit): ignored\n");
		return;
	}
	kprintf("umbra: host exception %lu err=%lx rip=%lx rsp=%lx cr2=%lx\n",
		f->vector, f->error, f->rip, f->rsp, read_cr2());
	kprintf("umbra:   rax=%lx rbx=%lx rcx=%lx rdx=%lx rsi=%lx rdi=%lx rbp=%lx\n",
		f->rax, f->rbx, f->rcx, f->rdx, f->rsi, f->rdi, f->rbp);
	panic("exception %lu in umbra", f->vector);
}
