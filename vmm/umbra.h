// umbra-wide configuration and the VM table.
#ifndef UMBRA_UMBRA_H
#define UMBRA_UMBRA_H

#include "vm.h"


struct umbra_config {
	bool split;       // log=com2: COM1 carries only guest bytes, the log goes to COM2
	bool end_exit;    // end=exit (default): leave QEMU when every VM has ended
	u64 tsc_khz;
	u32 reclaim_every; // reclaim_every=N: reclaim a mapped guest frame every N exits (testing)
	u32 deadline_s;    // deadline=S: stop the VMs still running after S seconds (testing)
	bool clone_deep;   // clone=deep: clones copy all guest memory at once (for comparison)
	bool bench;        // bench: enable the benchmark hook port (make bench)
	bool audit_all;    // audit=all: audit every live VM after each clone and each VM end
	bool module_names; // a module's command line starts with its file name (QEMU's -initrd,
	                   // GRUB legacy); GRUB 2 gives the arguments alone
	char linux_append[128]; // append=WORD (each): words added to every Linux kernel's command line
	u32 mem_limit_mib;  // mem_limit=MIB: guest memory all VMs together hold; more is swapped out
	u32 mem_limit_kib;  // mem_limit=NK: the same in KiB (tests)
	u32 swap_fail_reads; // swap_fail_reads=N (tests): every Nth read of the swap disk fails
	u32 dedup_every_s;   // dedup_every=S: merge identical guest pages every S seconds
};

extern struct umbra_config cfg;
extern struct vm vms[MAX_VMS];

// Keep guest memory under mem_limit before umbra handles an exit; why a VM
// found no frame, for its end message (vmm/vm.c).
void vm_make_room(void);
// A deduplication pass now, its result said (always, or when it merged).
void vm_dedup(bool say);
extern u64 guest_frames_peak; // the most guest frames there were at an exit
const char *vm_oom_reason(char *buf, size_t n);
// A guest's byte for its console: raw in split mode, else "[vmN] " lines.
void vm_console_putc(struct vm *vm, char c);
// Create a VM from a module (a multiboot kernel, or a Linux bzImage with
// an optional initrd); on failure say why in err.
struct vm *vm_create_from_module(const u8 *image, u32 size, const u8 *initrd, u32 initrd_size,
				 const char *cmdline, char *err, size_t errlen);
// Run vm until it ends or the tick count reaches until.
void vm_run_slice(struct vm *vm, u64 until);
// Run every VM to its end, round-robin, preempted by the host timer;
// finish(vm) is called as each one ends.
void sched_run(void (*finish)(struct vm *vm));
// Bring vm's FPU/SSE and DR0-DR3 into its save areas if they are live in
// the CPU (before a clone copies them).
void sched_save_state(struct vm *vm);
// vm is going: the CPU's FPU and debug registers are nobody's now.
void sched_forget(struct vm *vm);
// Clone a running VM (the hypercall): a new VM with its memory and shadow
// tables shared copy-on-write (clone=deep: copied), and a copy of its vCPU
// and devices. NULL, with a reason in err, when it cannot be made.
struct vm *vm_clone(struct vm *parent, char *err, size_t errlen);
void vm_destroy(struct vm *vm);
// Run the auditor over one VM, or over every live VM (when says after what);
// print the result; return the number of violations.
u32 vm_audit(struct vm *vm);
u32 vm_audit_all(const char *when_fmt, ...) __attribute__((format(printf, 1, 2)));
u64 tsc_to_us(u64 ticks);

#endif
