// mm/'s link to its surroundings: where host-physical memory is visible, and
// the error codes its functions return. Pure C; the VMM and host tests both
// provide it.
#ifndef UMBRA_MM_H
#define UMBRA_MM_H

#include "types.h"

// VMs have ids 1..MAX_VMS-1 (0 is none, or "shared" where mm/ names an
// owner); mm/ keeps per-VM data indexed by id.
#define MAX_VMS 128

// Negative error codes returned by mm/ and vmm/ functions.
#define ERR_NOMEM 12  // no free host frame
#define ERR_FAULT 14  // address outside what the VM owns
#define ERR_INVAL 22  // malformed input
#define ERR_IO 5      // the swap store failed

// Host-physical memory is reached at mm_phys_base + hpa: 0 in the VMM (an
// identity map), a malloc'ed arena in host tests.
extern uintptr_t mm_phys_base;

static inline void *hpa_ptr(hpa_t hpa)
{
	return (void *)(mm_phys_base + (uintptr_t)hpa);
}

static inline void *hfn_ptr(hfn_t hfn)
{
	return hpa_ptr(hfn << PAGE_SHIFT);
}

#endif
