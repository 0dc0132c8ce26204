// VMs and vCPUs as the vendor-neutral parts of umbra see them. Nothing here
// knows a control block of SVM's or VMX's: the backend (vmm/svm, vmm/vmx)
// translates.
#ifndef UMBRA_VM_H
#define UMBRA_VM_H

#include "asid.h"
#include "gpmap.h"
#include "legacy.h"
#include "rtc.h"
#include "shadow.h"
#include "uart.h"
#include "vfwcfg.h"
#include "vioapic.h"
#include "vlapic.h"
#include "vpic.h"
#include "x86.h"

enum gpr { GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI, GPR_NR = 16 };
enum seg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS };

enum event_type { EVENT_EXTINT = 0, EVENT_NMI = 2, EVENT_EXCEPTION = 3, EVENT_SOFTINT = 4 };

struct event {
	bool valid;
	bool has_ec;
	u8 vector;
	u8 type;  // enum event_type
	u32 ec;
};

// EXIT_INSN: an instruction umbra intercepts to answer it itself or to keep
// the host's state from guests (CPUID, INVD, RDPMC); the decoder says which.
// EXIT_VIRT_INSN: an instruction of the virtualization extensions (VMRUN,
// VMXON, ...): #UD, as for a CPU without them.
enum exit_reason {
	EXIT_CR_READ, EXIT_CR_WRITE, EXIT_PF, EXIT_INVLPG, EXIT_IO, EXIT_MSR,
	EXIT_HLT, EXIT_INSN, EXIT_DF, EXIT_SHUTDOWN, EXIT_VMMCALL, EXIT_VIRT_INSN, EXIT_INTR, EXIT_IRQ_WINDOW,
	EXIT_INVALID, EXIT_OTHER, EXIT_NR
};

struct vm_exit {
	enum exit_reason reason;
	u64 raw;              // the backend's own exit code, for logs
	u64 info1, info2;
	u8 cr;                // EXIT_CR_*
	u16 port;             // EXIT_IO
	u8 io_size;
	bool io_in, io_string, io_rep;
	u32 next_rip;         // EXIT_IO: the backend always knows it
	u8 insn_len;          // an intercepted instruction's length as the CPU says it
	                      // (VMX; SVM with NRIPS), 0 if it does not
	u32 pf_ec;            // EXIT_PF
	gva_t pf_addr;
	bool msr_write;       // EXIT_MSR
	struct event interrupted; // an event whose delivery the exit interrupted
	const char *why;      // EXIT_INVALID, EXIT_OTHER: the backend's words, or NULL
};

struct vm;

#define VCPU_EVENTS 6

struct vcpu {
	u64 gpr[GPR_NR];      // synced with the backend around every entry
	u64 rip, rflags;
	u32 cr0, cr3, cr4;    // the guest's view
	u32 cr2;
	u32 efer;             // the guest's view (no SVME)
	u8 cpl;
	bool paging_changed;  // guest CR0/CR4 changed: the backend recomputes real CRs
	bool int_shadow;      // the guest is in an STI/MOV SS interrupt shadow (from the backend)
	bool want_irq_window; // an interrupt waits for the guest to take it: exit when it can
	bool halted;          // HLT with interrupts on: runs again when an interrupt is pending
	bool irq_from_lapic;  // the interrupt last injected came from the local APIC, not the 8259
	bool irq_check;       // a device may have changed: look at interrupts before the next entry
	bool dr6_bs;          // set DR6.BS at the next entry: a single-step #DB is being injected
	struct event inject;  // delivered at the next entry
	struct event_note {   // the last events delivered or seen, oldest first, for
		struct event ev;  // the log when umbra stops the VM (vmm/diag.c)
		u32 eip;
	} events[VCPU_EVENTS];
	u32 nevents;          // events noted in all (the ring holds the last VCPU_EVENTS)
	struct shadow_vcpu shadow; // the root it runs on and its recent roots
	struct asid_tag asid; // the backend's TLB tag (ASID, VPID) and its generation
	u32 tlb_gen_seen;     // shadow_tlb_gen of its VM when it last flushed
	bool tlb_stale;       // at this entry: its cached translations must go
	struct vm *vm;
	void *hw;             // backend-private
	u8 fpu[512] __attribute__((aligned(16))); // FXSAVE image while another VM has the FPU
	u64 pvclock_time_msr, pvclock_wall_msr; // where the guest placed the paravirtual clock (pvclock.c)
	u32 dr[4];            // DR0-DR3 while another VM has them (the guest writes them
	                      // unintercepted; DR6/DR7 live in the backend's control block)
	u64 exits[EXIT_NR];
	u64 exits_total;
	u64 handling_tsc;     // TSC cycles umbra spent on exits (from the exit to the next entry's work)
	u64 reinjected;       // events whose delivery an exit interrupted, delivered again
	u64 irqs_injected;    // interrupts from the emulated PIC
	u64 soft_restarted;   // interrupted INT n / INT3 / INTO, re-executed instead
	u64 len_checked;      // instructions umbra completed whose length the CPU also gave
	u64 len_differ;       // ... and where its decoder's differed (a bug: logged)
	u64 single_steps;     // #DB raised after instructions umbra completed with TF set
	u64 tlb_flushes;      // entries with the VM's TLB flushed
};

enum vm_state { VM_EMPTY, VM_RUNNING, VM_ENDED };

// A VM's devices (see README "The guest platform"); devices.c resets them.
struct vm_devices {
	struct vdev_irq irq;   // the PICs and the PIT
	struct vrtc rtc;       // the CMOS clock
	struct vuart uart;     // COM1
	struct vlegacy legacy; // PCI address, CGA registers
	struct vfwcfg fwcfg;   // the fw_cfg selection
	struct vioapic ioapic; // the IOAPIC
	struct vlapic lapic;   // the local APIC of its one vCPU
};
void devices_reset(struct vm_devices *d, u32 mem_mib);
// The earliest moment (TSC) a device of the VM raises an interrupt, or ~0.
u64 vm_next_deadline(struct vm *vm);

// Kinds of message a guest can make umbra say again and again: each is
// shown VM_SAID_BURST times per VM, then only counted (vm_say).
enum vm_said { SAID_MSR, SAID_TSC_WRITE, SAID_PORT, SAID_CLONE, SAID_TIMER, SAID_APIC, SAID_NR };
#define VM_SAID_BURST 8

#define VM_REASON_LEN 120

struct vm {
	u16 id;
	enum vm_state state;
	u32 exit_status;      // the value the guest wrote to the exit port, or umbra's
	bool stopped_by_umbra;
	char reason[VM_REASON_LEN];
	char cmdline[128];
	u32 mem_mib;
	struct gpmap gpmap;
	struct shadow_mmu mmu; // its shadow tables, their sync state, statistics
	struct vcpu vcpu;
	struct vm_devices dev; // its devices' state (a clone copies it whole)
	hfn_t lapic_page;      // its local APIC's registers, shown read-only to hot readers (vlapic.c)
	u64 next_deadline;     // vm_next_deadline as last computed (TSC)
	u8 warned_ports[8192]; // one bit per port: "unhandled" logged once
	u32 said[SAID_NR];    // guest-caused messages of each kind, shown or not
	u64 pvclock_base_tsc;  // the paravirtual clock's zero
	char line[160];        // console mode: guest output, one whole line at a time
	u16 line_len;
	u64 start_tsc, end_tsc;
	u64 reclaims, reclaimed_entries;
	u64 slices;           // times the scheduler ran it
	u16 parent;           // the VM it was cloned from, 0 for none
	u64 clones;           // clones made of it
	u32 clone_batch;      // clones the next clone hypercall makes (0: one)
};

// Counters of VMs that are gone, so totals survive them (the console's stats).
struct vm_totals {
	u64 exits[EXIT_NR];
	struct shadow_stats shadow;
	u64 tlb_flushes, reclaims, vms;
};
extern struct vm_totals vm_retired;

static inline struct walk_ctx vcpu_walk_ctx(struct vcpu *v)
{
	return (struct walk_ctx){ v->cr0, v->cr3, v->cr4, &v->vm->gpmap };
}

// A message the guest caused, "umbra: vmN: " and fmt: shown at most
// VM_SAID_BURST times for each kind and VM, then counted; vm_said_report
// gives the counts when the VM ends. Keeps a guest from flooding the log.
void vm_say(struct vm *vm, enum vm_said kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void vm_said_report(struct vm *vm);

// End a VM: status is what QEMU's exit port would see.
void vm_end(struct vm *vm, u32 status, bool by_umbra, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
