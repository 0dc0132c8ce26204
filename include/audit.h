// The auditor: checks every invariant of a VM's shadow and reports each
// violation with what was found and what was expected.
#ifndef UMBRA_AUDIT_H
#define UMBRA_AUDIT_H

#include "shadow.h"

enum audit_kind {
	AUDIT_TABLE_NOT_SHADOW,   // a shadow PDE points at a frame that is not this VM's shadow table
	AUDIT_TABLE_RMAP,         // a shadow PDE missing from its table's reverse map
	AUDIT_WALK_FAILS,         // a present shadow PTE for an address the guest cannot translate
	AUDIT_WRONG_FRAME,        // the shadow PTE maps another frame than the guest walk gives
	AUDIT_NOT_OWNED,          // the shadow PTE maps a frame the VM does not own
	AUDIT_LOOSER,             // the shadow PTE grants more than the guest entries
	AUDIT_LARGE_MISMATCH,     // 4 MiB marking disagrees with the guest PDE
	AUDIT_SPTE_NOT_IN_RMAP,   // a present shadow PTE missing from its frame's reverse map
	AUDIT_RMAP_DANGLING,      // a reverse-map entry that is not a live shadow PTE mapping the frame
	AUDIT_COUNT_MISMATCH,     // shadow PTEs and reverse-map entries differ in number
	AUDIT_REFCOUNT,           // a table's count is not its parents plus root-cache holds
	AUDIT_WRITABLE_TABLE,     // a writable shadow PTE maps a protected guest table
	AUDIT_UNPROTECTED,        // an in-sync shadowed guest table is not write-protected
	AUDIT_STALE_PDE,          // an in-sync root's PDE links another table than the guest PDE asks
	AUDIT_COW_WRITABLE,       // a write allowed to a frame shared with a clone, or through a shared table
	AUDIT_RMAP_BROKEN,        // a reverse-map set whose count, or an entry's slot bits, disagree with it
	AUDIT_NR_KINDS
};

struct audit_violation {
	enum audit_kind kind;
	gva_t gva;       // where it applies (0 when none)
	u32 found;       // the shadow entry, or a count
	u32 expected;    // the guest entry, or a count
	hfn_t hfn;       // the frame concerned
};

struct audit_result {
	u64 tables, spdes, sptes, rmap_entries, guest_frames;  // what was checked
	u32 violations;
};

typedef void (*audit_report_fn)(void *arg, const struct audit_violation *v);

// Audit every shadow table of s: structure, reference counts, protection and
// reverse maps for all of them; agreement with a fresh guest walk for those
// reachable from a cached root through in-sync tables (an unsync table may
// lag its guest table until the next sync: that is its point). Report each
// violation (if report is given) and return their number. Entries the guest
// changed without invalidating them are reported too: audit where the guest
// has invalidated, or expect those.
u32 shadow_audit(struct shadow_mmu *s, audit_report_fn report, void *arg, struct audit_result *res);
const char *audit_kind_name(enum audit_kind k);

#endif
