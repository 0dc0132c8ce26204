// kern's processes: a table of them, round-robin scheduling preempted by the
// PIT tick in user mode, traps, and the system calls (int 0x40: number in
// eax, arguments in ebx, ecx, edx, result in eax).
#include "kernel.h"

enum state { UNUSED, RUNNABLE, RUNNING, WAITING, ZOMBIE };
#define NPROC 64

struct proc {
	enum state state;
	int pid, xstatus;
	u32 *pd;
	u32 kstack;         // one frame; the trapframe sits at its top
	u32 esp;            // saved by swtch
	struct proc *parent;
	u32 brk;            // end of the heap
};

static struct proc procs[NPROC];
static struct proc *cur;
static u32 sched_esp;
static int nextpid = 1;
u32 ticks;
extern struct { u32 link, esp0, ss0, unused[23]; } __attribute__((packed)) tss;
extern char trapret[];
void swtch(u32 *save, u32 esp);
u32 *kernel_pd(void);

enum { SYS_FORK = 1, SYS_EXIT, SYS_WAIT, SYS_GETPID, SYS_WRITE, SYS_YIELD, SYS_SBRK, SYS_VMCLONE, SYS_COWSTATS };

static struct trapframe *tf_of(struct proc *p)
{
	return (struct trapframe *)(p->kstack + PGSIZE - sizeof(struct trapframe));
}

// A fresh process whose first switch to it returns to user mode through
// trapret with the trapframe at the top of its kernel stack.
static struct proc *proc_alloc(void)
{
	for (struct proc *p = procs; p < procs + NPROC; p++) {
		if (p->state != UNUSED)
			continue;
		u32 ks = frame_alloc();
		if (!ks)
			return NULL;
		memset(p, 0, sizeof(*p));
		p->kstack = ks;
		p->pid = nextpid++;
		u32 *sp = (u32 *)tf_of(p);
		*--sp = (u32)trapret;
		for (int i = 0; i < 4; i++)
			*--sp = 0; // ebp, ebx, esi, edi for swtch to pop
		p->esp = (u32)sp;
		return p;
	}
	return NULL;
}

void proc_init_first(const void *code, u32 size)
{
	struct proc *p = proc_alloc();
	if (!p || !(p->pd = pgdir_new()))
		panic("no memory for the first process");
	for (u32 off = 0; off < size; off += PGSIZE) {
		u32 f = frame_alloc();
		if (!f || !map_page(p->pd, USER_BASE + off, f, PTE_U | PTE_W))
			panic("no memory for the first process");
		memcpy((void *)f, (const u8 *)code + off, size - off < PGSIZE ? size - off : PGSIZE);
	}
	p->brk = USER_BASE + ((size + PGSIZE - 1) & ~(PGSIZE - 1));
	u32 stack = frame_alloc();
	if (!stack || !map_page(p->pd, USER_STACK, stack, PTE_U | PTE_W))
		panic("no memory for the first process");
	// The command line at the top of the stack; its address in eax.
	memcpy((void *)(stack + PGSIZE - 256), cmdline, 256);
	struct trapframe *tf = tf_of(p);
	memset(tf, 0, sizeof(*tf));
	tf->cs = 0x18 | 3;
	tf->ds = tf->es = tf->fs = tf->gs = tf->ss = 0x20 | 3;
	tf->eflags = 0x202;
	tf->eip = USER_BASE;
	tf->esp = USER_STACK + PGSIZE - 256 - 16;
	tf->eax = USER_STACK + PGSIZE - 256;
	p->state = RUNNABLE;
}

_Noreturn void scheduler(void)
{
	for (;;) {
		bool any = false;
		for (struct proc *p = procs; p < procs + NPROC; p++) {
			if (p->state != UNUSED)
				any = true;
			if (p->state != RUNNABLE)
				continue;
			cur = p;
			p->state = RUNNING;
			tss.esp0 = p->kstack + PGSIZE;
			lcr3((u32)p->pd);
			swtch(&sched_esp, p->esp);
			lcr3((u32)kernel_pd());
			cur = NULL;
		}
		if (!any)
			panic("no process left");
		__asm__ volatile("sti; hlt; cli"); // nothing runnable: wait for a tick
	}
}

static void sched(void)
{
	swtch(&cur->esp, sched_esp);
}

static void yield(void)
{
	cur->state = RUNNABLE;
	sched();
}

static _Noreturn void exit_(int status)
{
	if (cur->pid == 1) {
		// The first process is the whole run: its status is the machine's.
		outl(0xF4, (u32)status);
		panic("exit port did not stop the machine");
	}
	lcr3((u32)kernel_pd());
	pgdir_free(cur->pd);
	cur->pd = kernel_pd();
	for (struct proc *p = procs; p < procs + NPROC; p++)
		if (p->parent == cur)
			p->parent = &procs[0];
	cur->xstatus = status;
	cur->state = ZOMBIE;
	if (cur->parent->state == WAITING)
		cur->parent->state = RUNNABLE;
	sched();
	panic("a zombie ran");
}

// Is [va, va+len) present user memory of the current process?
static bool user_ok(u32 va, u32 len)
{
	if (va < USER_BASE || va >= USER_TOP || len > USER_TOP - va)
		return false;
	for (u32 p = va & ~(PGSIZE - 1); p < va + len; p += PGSIZE) {
		u32 *pte = pte_of(cur->pd, p, false);
		if (!pte || (*pte & (PTE_P | PTE_U)) != (PTE_P | PTE_U))
			return false;
	}
	return true;
}

static int sys_fork(void)
{
	struct proc *np = proc_alloc();
	if (!np)
		return -1;
	if (!(np->pd = pgdir_copy_cow(cur->pd))) {
		frame_put(np->kstack);
		np->state = UNUSED;
		return -1;
	}
	*tf_of(np) = *tf_of(cur);
	tf_of(np)->eax = 0;
	np->brk = cur->brk;
	np->parent = cur;
	np->state = RUNNABLE;
	return np->pid;
}

static int sys_wait(u32 status_va)
{
	if (status_va && !user_ok(status_va, 4))
		return -1;
	for (;;) {
		bool kids = false;
		for (struct proc *p = procs; p < procs + NPROC; p++) {
			if (p->parent != cur || p->state == UNUSED)
				continue;
			kids = true;
			if (p->state != ZOMBIE)
				continue;
			int pid = p->pid;
			if (status_va)
				*(int *)status_va = p->xstatus; // may take a copy-on-write fault
			frame_put(p->kstack);
			p->state = UNUSED;
			p->parent = NULL;
			return pid;
		}
		if (!kids)
			return -1;
		cur->state = WAITING;
		sched();
	}
}

static int sys_sbrk(u32 n)
{
	u32 old = cur->brk;
	if (n > USER_STACK - old - PGSIZE)
		return -1;
	u32 end = (old + n + PGSIZE - 1) & ~(PGSIZE - 1);
	for (u32 va = (old + PGSIZE - 1) & ~(PGSIZE - 1); va < end; va += PGSIZE) {
		u32 f = frame_alloc();
		if (!f || !map_page(cur->pd, va, f, PTE_U | PTE_W)) {
			if (f)
				frame_put(f);
			return -1; // what was mapped stays: the heap grew less
		}
	}
	cur->brk = old + n;
	return (int)old;
}

static int syscall(struct trapframe *tf)
{
	switch (tf->eax) {
	case SYS_FORK: return sys_fork();
	case SYS_EXIT: exit_((int)tf->ebx);
	case SYS_WAIT: return sys_wait(tf->ebx);
	case SYS_GETPID: return cur->pid;
	case SYS_WRITE:
		if (!user_ok(tf->ebx, tf->ecx))
			return -1;
		for (u32 i = 0; i < tf->ecx; i++)
			cputc(((const char *)tf->ebx)[i]);
		return (int)tf->ecx;
	case SYS_YIELD: yield(); return 0;
	case SYS_SBRK: return sys_sbrk(tf->ebx);
	case SYS_VMCLONE: return (int)inl(0x6C0);
	case SYS_COWSTATS: return (int)cow_faults;
	}
	return -1;
}

static const char *const names[20] = { "divide error", "debug", "NMI", "breakpoint", "overflow", "bound",
	"invalid opcode", "no FPU", "double fault", "?", "invalid TSS", "segment not present", "stack fault",
	"general protection", "page fault", "?", "x87 error", "alignment check", "machine check", "SIMD error" };

void trap(struct trapframe *tf)
{
	bool user = (tf->cs & 3) == 3;
	switch (tf->trapno) {
	case 64:
		tf->eax = (u32)syscall(tf);
		return;
	case 32:
		ticks++;
		outb(0x20, 0x20);
		if (user && cur)
			yield();
		return;
	case 39:
		return; // spurious IRQ 7: no EOI
	case 14:
		if (cur && cow_fault(cur->pd, rcr2()))
			return;
		break;
	}
	if (user && cur) {
		cprintf("kern: pid %d: %s at eip 0x%x (cr2 0x%x): killed\n", cur->pid,
			tf->trapno < 20 ? names[tf->trapno] : "trap", tf->eip, rcr2());
		exit_(-1);
	}
	panic("%s (trap %u) in the kernel at eip 0x%x, cr2 0x%x, error 0x%x",
	      tf->trapno < 20 ? names[tf->trapno] : "unexpected trap", tf->trapno, tf->eip, rcr2(), tf->err);
}
