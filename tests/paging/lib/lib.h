// The paging test guests' runtime: console, reporting, paging helpers, and
// accesses that may fault, at CPL 0 or CPL 3. Every test guest boots on plain
// QEMU and under umbra and must print the same bytes on both.
#ifndef PAGING_LIB_H
#define PAGING_LIB_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)

#define P 0x001u
#define W 0x002u
#define U 0x004u
#define PWT 0x008u
#define PCD 0x010u
#define A 0x020u
#define D 0x040u
#define PS 0x080u
#define G 0x100u
#define CR0_WP (1u << 16)
#define CR0_PG (1u << 31)
#define CR4_PSE (1u << 4)
#define CR4_PGE (1u << 7)

// Where tests map things: PDE 256 onwards, away from the identity map.
#define TEST_VA 0x40000000u

void test_main(void);  // each guest defines it
extern const char *boot_cmdline; // the multiboot command line ("" without one)

void putc(char c);
void puts(const char *s);
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// Print "PASS name" or "FAIL name: detail" (detail formatted like printf).
bool report(bool ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
_Noreturn void report_summary(void);
_Noreturn void exit_guest(u32 status);
void *memset(void *d, int c, unsigned n);
void *memcpy(void *d, const void *s, unsigned n);

// Paging. kpd identity-maps 0-16 MiB with 4 KiB pages, P|W|U, and is
// loaded when test_main starts. alloc_page hands out zeroed frames above
// 4 MiB, identity-mapped, so a frame's address is usable as a pointer.
extern u32 *kpd;
u32 *alloc_page(void);
u32 *new_pt(u32 *pd, u32 va, u32 pde_flags); // a fresh table linked at va's PDE
u32 *pte_of(u32 *pd, u32 va);                // the PTE slot for va (table must exist)
static inline u32 read_cr0(void) { u32 v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline u32 read_cr2(void) { u32 v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline u32 read_cr3(void) { u32 v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline u32 read_cr4(void) { u32 v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(u32 v) { __asm__ volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
static inline void write_cr3(u32 v) { __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
static inline void write_cr4(u32 v) { __asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }
static inline void invlpg(u32 va) { __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory"); }
static inline void reload_cr3(void) { write_cr3(read_cr3()); }

// Accesses that may fault. They return true when the access went through;
// otherwise fault_err/fault_cr2 describe the #PF (fault_vec its vector).
extern volatile u32 fault_vec, fault_err, fault_cr2;
bool k_read(u32 va, u32 *val);
bool k_write(u32 va, u32 val);
bool u_read(u32 va, u32 *val);
bool u_write(u32 va, u32 val);
// A 16-bit code segment (CS.D=0) at base, in the GDT; returns its selector.
u16 code16_segment(u32 base);
// A flat 32-bit data segment whose base is base, in the GDT; returns its selector.
u16 data_segment(u32 base);
// Run fn(arg) at CPL 3; returns fn's result.
u32 user_call(u32 (*fn)(u32), u32 arg);

// Traps: the frame the stubs push, and a hook for vectors other than #PF
// and 0x80 (IRQs once the PIC is remapped: 0x20 and 0x24 have gates; for
// the APICs 0x31, 0x41, 0x51, 0x61, one in each of four priority classes,
// and 0xFF).
struct frame { u32 es, ds, edi, esi, ebp, esp_, ebx, edx, ecx, eax, vec, err, eip, cs, eflags, uesp, uss; };
extern void (*trap_hook)(struct frame *f);
// Program the 8259 pair as a kernel does (ICW1-4: vectors 0x20 and 0x28,
// cascade on IRQ 2, 8086 mode), then mask: master_mask, all of the slave.
void pic_init(u8 master_mask);
// COM1's receive interrupt taken as Linux's 8250 driver takes it: IIR read
// until nothing is pending, the receiver drained on "data available" and
// on the character timeout; each byte read goes to rx.
void com1_drain(void (*rx)(char c));

#endif
