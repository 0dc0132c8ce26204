// Vendor-neutral handling of one VM exit.
#ifndef UMBRA_EXIT_H
#define UMBRA_EXIT_H

#include "vm.h"

void handle_exit(struct vcpu *v, const struct vm_exit *e);

#endif
