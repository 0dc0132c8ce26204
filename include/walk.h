// The guest page-table walker: 32-bit non-PAE paging as the SDM and APM
// define it, with 4 MiB pages (CR4.PSE), CR0.WP, U/S, R/W and A/D updates.
#ifndef UMBRA_WALK_H
#define UMBRA_WALK_H

#include "gpmap.h"
#include "x86.h"

// The guest state a translation depends on.
struct walk_ctx {
	u32 cr0, cr3, cr4;
	struct gpmap *gpmap;
};

// Access kinds: the #PF error-code bits, plus walker-only flags.
#define WALK_WRITE PFEC_W
#define WALK_USER PFEC_U
#define WALK_FETCH PFEC_I
#define WALK_PEEK (1u << 8)  // look only: no permission check, no A/D update

enum walk_status {
	WALK_OK,       // translated; the guest's A/D bits were updated
	WALK_FAULT,    // the guest must see #PF with error_code
	WALK_BAD_GPA,  // a paging structure lies outside guest memory
	WALK_NOMEM,    // no host frame to copy a shared table into for A/D, or a
	               // swapped-out table could not be read back (err)
};

struct walk {
	gpa_t gpa;          // the translation, when WALK_OK
	gpa_t pde_gpa, pte_gpa;
	u32 pde, pte;       // the entries as they are after the walk
	bool paging;        // false: paging off, gpa == gva
	bool large;         // translated by a 4 MiB PDE
	bool user;          // both levels allow CPL 3
	bool rw;            // both levels have R/W set
	bool dirty;         // the leaf's D bit after the walk
	u32 error_code;     // when WALK_FAULT
	int err;            // when WALK_NOMEM for a swapped-out table: -ERR_NOMEM or -ERR_IO
	gpa_t bad_gpa;      // when WALK_BAD_GPA
};

enum walk_status walk_gva(const struct walk_ctx *ctx, gva_t gva, u32 access, struct walk *w);

// Read or write guest-physical memory (within one page). Untouched memory
// reads as zeros; a write allocates it, or copies it if shared with a clone.
// Return 0 or a negative error. A write does not tell the shadow: the caller
// does (shadow_guest_wrote).
int gpa_read(struct gpmap *m, gpa_t gpa, void *buf, u32 len);
int gpa_write(struct gpmap *m, gpa_t gpa, const void *buf, u32 len);

#endif
