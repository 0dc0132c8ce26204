// Vendor-neutral handling of one VM exit.
#ifndef UMBRA_EXIT_H
#define UMBRA_EXIT_H

#include "vm.h"

void handle_exit(struct vcpu *v, const struct vm_exit *e);
// Copy guest-virtual memory without side effects (no A/D update, no
// permission check). Returns how many bytes could be read.
u32 vcpu_peek(struct vcpu *v, gva_t gva, u8 *buf, u32 len);
// An event is being delivered to the guest (injected by umbra) or was
// seen in delivery (an exit interrupted it): keep it for vcpu_diagnose.
void vcpu_note_event(struct vcpu *v, const struct event *ev);
// Print to the log what the vCPU looked like: EIP, control registers, the
// last events delivered, the instruction bytes at EIP. For VMs umbra stops.
void vcpu_diagnose(struct vcpu *v);

#endif
