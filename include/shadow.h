// Shadow page tables: the guest-virtual -> host-physical tables the CPU
// really walks. This version is a virtual TLB: one shadow directory per vCPU,
// filled on demand from guest walks and forgotten on CR3 load, so it caches
// exactly what a TLB may cache.
#ifndef UMBRA_SHADOW_H
#define UMBRA_SHADOW_H

#include "rmap.h"
#include "walk.h"

// A software bit in a shadow PDE: its table shadows a guest 4 MiB page, so
// INVLPG of any address in it drops the whole table.
#define SPDE_LARGE (1u << PTE_AVL_SHIFT)

struct shadow_stats {
	u64 faults;      // shadow page faults handled
	u64 fills;       // shadow PTEs written
	u64 guest_faults; // faults reflected to the guest
	u64 flushes;     // full flushes (CR3 load, CR0/CR4 paging changes)
	u64 invlpgs;
	u64 tables;      // shadow tables in use now
};

// Invariants (checked by shadow_audit): every present shadow PTE is in the
// reverse map of the frame it maps, and every present shadow PDE in the
// reverse map of the table it points at; a shadow PTE maps only a frame of
// this VM's gpmap, and grants no more than a fresh walk of the guest tables.
struct shadow_mmu {
	hfn_t root;            // shadow page directory, the CPU's CR3
	struct gpmap *gpmap;
	u16 owner;
	bool tlb_flush;        // entries were removed: flush before the next entry
	struct shadow_stats stats;
	struct shadow_mmu *next; // every live shadow, for the full-scan reclaim
};

enum shadow_result {
	SHADOW_FIXED,        // the shadow now allows the access: retry it
	SHADOW_GUEST_FAULT,  // reflect #PF(w->error_code) at the address
	SHADOW_BAD_GPA,      // the guest used memory it does not have: w->bad_gpa
	SHADOW_NOMEM,        // no host frame for a shadow table or guest page
};

int shadow_init(struct shadow_mmu *s, struct gpmap *gpmap, u16 owner);
void shadow_destroy(struct shadow_mmu *s);
// Handle a #PF the CPU took on the shadow at gva with hardware error code ec.
enum shadow_result shadow_page_fault(struct shadow_mmu *s, const struct walk_ctx *ctx,
				     gva_t gva, u32 ec, struct walk *w);
void shadow_invlpg(struct shadow_mmu *s, gva_t gva);
void shadow_flush(struct shadow_mmu *s);
hpa_t shadow_root_hpa(const struct shadow_mmu *s);

// Reclaim a frame: invalidate every shadow entry that maps it, found through
// its reverse map (no scan), and mark the TLBs of their owners for a flush.
// Returns how many entries were invalidated; the frame is then mapped by no
// shadow, so its owner may drop or reuse it. report, if given, is called
// with each invalidated entry first.
typedef void (*shadow_zap_fn)(void *arg, u16 owner, spte_ref_t spte, u32 old);
u32 shadow_reclaim(hfn_t hfn, shadow_zap_fn report, void *arg);
// The same by scanning every shadow table of every VM: for benchmarks only.
u32 shadow_reclaim_scan(hfn_t hfn);
// Called by mm/ when entries of owner's shadow were removed outside its own
// exits (reclaim): the VMM flushes that VM's TLB before it next runs.
extern void (*shadow_tlb_flush_owner)(u16 owner);

#endif
