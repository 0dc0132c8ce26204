// kern: a small xv6-style 32-bit kernel, umbra's guest OS. One CPU, no
// locks: the kernel runs with interrupts off (every gate is an interrupt
// gate) and is preempted only in user mode, by the PIT tick.
#ifndef KERN_H
#define KERN_H

typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef unsigned long long u64;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)

#define PGSIZE 4096u
#define PTE_P 0x001u
#define PTE_W 0x002u
#define PTE_U 0x004u
#define PTE_PS 0x080u
#define PTE_COW 0x200u          // software bit: shared by fork, copy on write
#define USER_BASE 0x40000000u   // user space: [USER_BASE, USER_TOP)
#define USER_TOP 0x80000000u
#define USER_STACK (USER_TOP - PGSIZE)
#define KERNEL_PDES (USER_BASE >> 22) // kernel PDEs shared by every address space

static inline void outb(u16 p, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outl(u16 p, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(p)); }
static inline u8 inb(u16 p) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline u32 inl(u16 p) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline void lcr3(u32 pa) { __asm__ volatile("mov %0, %%cr3" ::"r"(pa) : "memory"); }
static inline u32 rcr2(void) { u32 v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline void invlpg(u32 va) { __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory"); }

// The registers a trap saves, in the order entry.S pushes them.
struct trapframe {
	u32 edi, esi, ebp, oesp, ebx, edx, ecx, eax;
	u32 gs, fs, es, ds;
	u32 trapno, err;
	u32 eip, cs, eflags;
	u32 esp, ss;   // only when the trap came from ring 3
};

// main.c
void cputc(char c);
void cprintf(const char *fmt, ...);
_Noreturn void panic(const char *fmt, ...);
extern char cmdline[256];
void *memset(void *d, int c, u32 n);
void *memcpy(void *d, const void *s, u32 n);

// mm.c
void mm_init(u32 start, u32 end);
u32 frame_alloc(void);              // a zeroed frame (physical = kernel virtual), or 0
void frame_get(u32 pa);
void frame_put(u32 pa);
u32 frames_free(void);
u32 *pgdir_new(void);               // kernel part filled in
u32 *pte_of(u32 *pd, u32 va, bool make);
bool map_page(u32 *pd, u32 va, u32 pa, u32 flags);
u32 *pgdir_copy_cow(u32 *pd);       // fork: share every user page copy-on-write
void pgdir_free(u32 *pd);
bool cow_fault(u32 *pd, u32 va);    // true: handled
extern u64 cow_faults, cow_copies;

// proc.c
void proc_init_first(const void *code, u32 size);
_Noreturn void scheduler(void);
void trap(struct trapframe *tf);
void tick(void);
extern u32 ticks;

#endif
