// The guest's local APIC (xAPIC at 0xFEE00000, as plain QEMU models it with
// TCG, which is the reference): registers, IRR/ISR/TMR with the priority
// rules, EOI (broadcast to the IOAPIC for level-triggered vectors), self-IPIs
// through the ICR, LVT delivery of the timer and of the 8259 through LINT0
// (ExtINT, virtual wire), and the timer: one-shot and periodic, a 1 GHz bus
// clock divided by 1-128, counting in guest-visible (host TSC) time.
// No TSC-deadline mode and no x2APIC: CPUID offers neither.
#ifndef UMBRA_VLAPIC_H
#define UMBRA_VLAPIC_H

#include "types.h"

#define LAPIC_GPA 0xFEE00000u
#define APIC_BASE_BSP (1u << 8)
#define APIC_BASE_ENABLE (1u << 11)

enum lvt { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_NR };

struct vlapic {
	u64 base_msr;          // IA32_APIC_BASE: the enable bit; the base never moves
	u8 id;
	u8 ldr;                // logical destination (bits 31-24 of LDR)
	u8 dfr_model;          // DFR bits 31-28: 0xF flat, 0x0 cluster
	u32 tpr, svr;
	u32 esr, esr_pending;   // ESR as last latched, and errors since (a write latches them)
	u32 icr_lo, icr_hi;
	u32 lvt[LVT_NR];
	u32 irr[8], isr[8], tmr[8]; // 256 bits each, vector v at word v/32, bit v%32
	u32 timer_initial;     // TMICT
	u32 timer_divide;      // TDCR as written (bits 0, 1, 3)
	u64 timer_load_tsc;    // when the count was loaded (periodic: the current period's start)
	u64 timer_next_tsc;    // the next expiry, ~0 when the timer does not count
	bool nmi_pending;      // an NMI the guest has yet to take
	// Reads without exits: after LAPIC_HOT_READS emulated reads, while the
	// timer does not count, the VM's page of register values (vm->lapic_page)
	// is shown read-only at LAPIC_GPA; umbra rewrites it when a register changes.
	bool page_shown, page_dirty;
	u32 reads;             // emulated reads since the page was last hidden
	u32 page_shows;        // times the page was shown (the VM's summary says)
};

struct vm;
struct vcpu;
// As plain QEMU's guests find it after SeaBIOS: enabled, software-enabled,
// LINT0 ExtINT (virtual wire to the 8259), LINT1 NMI, the rest masked.
void vlapic_reset(struct vlapic *a);
u32 vlapic_read(struct vm *vm, u32 offset);
void vlapic_write(struct vm *vm, u32 offset, u32 val);
// IA32_APIC_BASE: false means #GP. Moving the base stops the VM (umbra's
// page stays at LAPIC_GPA).
u64 vlapic_base_read(struct vm *vm);
bool vlapic_base_write(struct vm *vm, u64 val);
bool vlapic_hw_enabled(const struct vlapic *a);

// An interrupt arrives at the APIC (from the IOAPIC, an LVT or an IPI).
void vlapic_accept(struct vm *vm, u8 vector, bool level);
// Does a destination (IOAPIC or MSI style) name this APIC?
bool vlapic_match_dest(const struct vlapic *a, u8 dest, bool logical);
// Fire the timer if it expired; the TSC of its next expiry (or ~0).
void vlapic_update(struct vm *vm);
u64 vlapic_next_irq_tsc(const struct vm *vm);
// The vector the APIC would have the CPU take now, or -1 (ack: in service).
int vlapic_pending(const struct vlapic *a);
void vlapic_ack(struct vlapic *a, u8 vector);
void vlapic_unack(struct vlapic *a, u8 vector);
// Does the 8259's output reach the CPU (APIC off, or LINT0 unmasked)?
bool vlapic_accepts_pic(const struct vlapic *a);
// A line for the console's "vm N".
void vlapic_show(const struct vm *vm);
// Before an entry: bring the page of register values up to date.
void vlapic_page_sync(struct vm *vm);
// Stop showing the page (its mappings zapped): every access exits again.
void vlapic_page_hide(struct vm *vm);
// vm's devices were just copied from parent's: the parent's page must not
// be in the shadow tables they are to share, and the clone's own page
// starts hidden (shown when it too reads often).
void vlapic_cloned(struct vm *vm, struct vm *parent);

#endif
