// Shadow page tables: the guest-virtual -> host-physical tables the CPU
// really walks. They persist across CR3 loads and are shared: a guest table
// has one shadow per role however many directories link it, reference
// counted by the shadow directory entries (and root-cache slots) that hold
// it, and freed when the last goes. Guest tables that are shadowed are
// write-protected; a guest write marks their shadows out of sync, and they
// are brought back in sync at the next CR3 load (INVLPG drops the entries it
// names at once), which is when the architecture lets a guest rely on its
// edits.
#ifndef UMBRA_SHADOW_H
#define UMBRA_SHADOW_H

#include "rmap.h"
#include "walk.h"

// What besides the guest table decides a shadow table's contents. A table
// is found again by (owner, gfn, role) alone, so a role must differ wherever
// the shadow entries would differ: every input to make_spte() other than the
// guest table's own entries is a bit here. tests/host/test_role.c proves it
// by enumeration (every pair of inputs with one key gives the same entries).
#define SP_ROLE_DIR (1u << 0)    // a shadow page directory (a root); else a page table
#define SP_ROLE_DIRECT (1u << 1) // no guest table behind it: a split 4 MiB page, or paging off
#define SP_ROLE_WP (1u << 2)     // the guest's CR0.WP
#define SP_ROLE_PSE (1u << 3)    // roots: the guest's CR4.PSE (how PDEs read)
#define SP_ROLE_PDE_U (1u << 4)  // tables: the parent guest PDE's U/S
#define SP_ROLE_PDE_W (1u << 5)  // tables: the parent guest PDE's R/W
#define SP_ROLE_PDE_D (1u << 6)  // split 4 MiB pages: the guest PDE's Dirty bit, which
                                 // is their leaf's: a clean PDE may not share writable entries
#define SP_ROLE_NOPG (1u << 7)   // paging off: the identity, every entry user and writable
#define SP_ROLE_PDE_PWT (1u << 8) // split 4 MiB pages: the PDE's caching bits, which are
#define SP_ROLE_PDE_PCD (1u << 9) // their leaf's (a page table's come from its own PTEs)

// One shadow table. Invariants: its frame's count is the number of shadow
// PDEs pointing at it plus the root-cache slots holding it; its frame's
// reverse map holds exactly those PDEs; a non-direct table's guest frame is
// FRAME_F_PROTECTED unless some shadow of it is unsync. A present shadow
// entry of an in-sync table stands for a guest entry whose Accessed bit is
// set (so a guest that clears A and reloads CR3 sees it set again).
//
// Sharing between clones: a table is either its owner VM's (owner = the
// VM's id) or shared (owner = SP_SHARED) by the VMs whose roots link it.
// A root is shared by the VMs whose root caches hold it (a clone starts on
// its parent's), and links shared tables only; a VM that must change it
// (sp_root_own) first takes its own copy. A shared table is in sync and right for every VM
// that links it, and nobody changes it: a VM that must (a fill, a sync, a
// copy-on-write break of a frame it maps, its guest table written) first
// takes its own copy, or takes the table itself if no other VM links it.
// A shadow PDE that links a shared table is read-only; one that is writable
// links a table whose writable entries all map frames its VM alone holds.
#define SP_SHARED 0xFFFFu // never a VM id (ids are below MAX_VMS), nor OWNER_NONE
struct sp {
	hfn_t hfn;
	gfn_t gfn;          // the guest table; direct: the first guest frame it maps
	u16 role;
	u16 owner;          // VM id, or SP_SHARED
	bool unsync;        // the guest wrote its table since the last sync
	u8 writes;          // trapped guest writes since the last fill through it
	bool hot;           // written after every sync: left writable and unsync (shadow_sync.c)
	u8 rewrites;        // trapped guest writes since it last cooled
	u8 quiet;           // hot: syncs in a row that found nothing changed
	u32 wgen;           // its writable entries were checked at owner's clone
	                    // generation wgen: if that is not the current one,
	                    // link it read-only and check again on the first write
	struct sp *hash_next, *unsync_next;
};

// A table whose guest frame is written this many times in a row (each write
// trapped after a sync) with no fill through it in between is taken for a
// frame that is no longer a page table: it is unshadowed.
#define SP_FLOOD_WRITES 4
#define SP_HOT_REWRITES 2
#define SP_COOL_SYNCS 4

struct shadow_stats {
	u64 faults;       // shadow page faults handled
	u64 fills;        // shadow PTEs written
	u64 guest_faults; // faults reflected to the guest
	u64 cr3_loads;    // root switches (CR3 loads, paging-mode changes)
	u64 invlpgs;
	u64 tables;       // shadow tables of this VM now
	u64 tables_made;  // shadow tables created
	u64 roots_reused; // CR3 loads that found their root still there
	u64 unsyncs;      // guest writes to a protected table
	u64 syncs;        // tables brought back in sync
	u64 zapped;       // entries dropped by a sync
	u64 hot;          // tables that became write-hot (left unprotected between syncs)
	u64 downgraded;   // entries a sync kept with fewer rights (write or user taken away)
	u64 unshadowed;   // tables dropped because their frame became data
	u64 cow_breaks;   // guest frames copied on this VM's write
	u64 sp_copies;    // shared tables copied for this VM
	u64 sp_taken;     // shared tables this VM took over uncopied (last user)
	u64 sp_own_roots; // of those copied or taken: roots,
	u64 sp_own_high;  // tables linked at 3 GiB and above (a Linux kernel's),
	u64 sp_own_low;   // tables below (user space)
	u64 w_checks;     // tables checked before a first write through them
	u64 recycles;     // frames whose many mappings were dropped for one more
	u64 oom_shrinks;  // out of memory: cached roots dropped to retry
};

// to += from, counter by counter (totals over VMs, and of VMs gone).
void shadow_stats_add(struct shadow_stats *to, const struct shadow_stats *from);

// Shadow state no one VM owns.
struct shadow_global {
	u64 shared_tables;  // tables shared by clones now
	u64 clones;         // shadow_clone calls that succeeded
	u64 tlb_requests;   // TLB generations moved on for a VM other than the one at work
};
extern struct shadow_global shadow_global;

#define ROOT_CACHE 8

struct shadow_vcpu;

// A VM's shadow: its tables (found by owner in the table hash), their sync
// state, its statistics, and its vCPUs.
struct shadow_mmu {
	struct gpmap *gpmap;
	u16 owner;
	struct sp *unsync;             // this VM's unsync tables
	struct sp *unsync_kept;        // during shadow_sync_all: those that stay unsync
	struct shadow_stats stats;
	struct shadow_mmu *next;       // every live shadow, for the full-scan reclaim
	u32 wgen;                      // clone generation: bumped when this VM is cloned
	struct shadow_vcpu *vcpus;     // every vCPU running on it
};

// A vCPU's part: the root its CPU walks and the roots it switched between
// most recently, so that switching back finds them (each holds a reference).
struct shadow_vcpu {
	struct shadow_mmu *mmu;        // its VM's
	struct sp *root;               // the root the CPU walks; also in cache
	struct sp *cache[ROOT_CACHE];  // recent roots, newest first
	struct shadow_vcpu *next;      // the VM's other vCPUs
};

enum shadow_result {
	SHADOW_FIXED,        // the shadow now allows the access: retry it
	SHADOW_GUEST_FAULT,  // reflect #PF(w->error_code) at the address
	SHADOW_BAD_GPA,      // the page accessed is not the guest's memory (a
	                     // device's, or none): w->bad_gpa
	SHADOW_BAD_TABLE,    // a guest paging structure lies outside its memory
	                     // (or a PSE-36 page above 4 GiB): w->bad_gpa
	SHADOW_NOMEM,        // no host frame for a shadow table or guest page
};

int shadow_init(struct shadow_mmu *s, struct gpmap *gpmap, u16 owner);
// After every vCPU's shadow_vcpu_destroy.
void shadow_destroy(struct shadow_mmu *s);
// A vCPU joins s (no root yet: shadow_load_cr3 or shadow_clone gives one),
// or leaves it, dropping its roots.
void shadow_vcpu_init(struct shadow_vcpu *sv, struct shadow_mmu *s);
void shadow_vcpu_destroy(struct shadow_vcpu *sv);
// The guest loaded CR3, or changed CR0.PG/WP or CR4.PSE: sync what the guest
// wrote, then switch to the root for ctx (kept, or made). Out of memory,
// it drops the cached roots not in use (shadow_shrink) and tries once more.
// 0 or -ERR_NOMEM.
int shadow_load_cr3(struct shadow_vcpu *sv, const struct walk_ctx *ctx);
// sv is the vCPU of a fresh shadow for a clone of parent's VM, whose gpmap
// already shares the parent's (gpmap_share): give it a copy of parent's
// current root linking the same tables, now shared, and take write
// permission from every shadow PDE of the parent VM's roots. Costs O(1024)
// whatever the guest's size. 0 or -ERR_NOMEM (sv is then left rootless).
int shadow_clone(struct shadow_vcpu *sv, struct shadow_vcpu *parent);
// Sync every unsync table of s (write-hot ones stay unsync unless protect_all).
void shadow_sync_all(struct shadow_mmu *s, bool protect_all);
// Is sp a table of VM owner's: its own, or shared and linked by its roots?
bool shadow_sp_used_by(const struct sp *sp, u16 owner);
// How many roots of distinct VMs link sp, and through how many shadow PDEs.
void shadow_sp_users(const struct sp *sp, u32 *vms, u32 *spdes);
// Handle a #PF the CPU took on the shadow at gva with hardware error code ec.
// Out of memory, it drops the cached roots not in use and tries once more.
enum shadow_result shadow_page_fault(struct shadow_vcpu *sv, const struct walk_ctx *ctx,
				     gva_t gva, u32 ec, struct walk *w);
void shadow_invlpg(struct shadow_vcpu *sv, gva_t gva);
// Out of memory: let go of every cached root of s's vCPUs but the ones
// they run on (their tables go with their last reference). Returns how many
// tables went.
u64 shadow_shrink(struct shadow_mmu *s);
// The guest wrote guest frame gfn (the fault path calls this for writes to
// protected frames; host tests call it for their direct writes).
void shadow_guest_wrote(struct shadow_mmu *s, gfn_t gfn);
// Write guest-physical memory for the guest (an instruction umbra completes)
// within one page, and tell the shadow: what umbra writes into a guest goes
// through here. 0 or gpa_write's error.
int shadow_gpa_write(struct shadow_mmu *s, gpa_t gpa, const void *buf, u32 len);
hpa_t shadow_root_hpa(const struct shadow_vcpu *sv);
struct sp *shadow_sp_of(hfn_t hfn);
// The (gfn, role) of the root for the guest's paging state in ctx.
void shadow_root_key(const struct walk_ctx *ctx, gfn_t *gfn, u16 *role);
// The (gfn, role) of the table that translates gva under a root of role
// root_role whose guest PDE for gva is gpde (unused with paging off).
void shadow_child_key(u32 gpde, gva_t gva, u16 root_role, gfn_t *gfn, u16 *role);
// Every live shadow table, for the auditor and the console.
struct sp *shadow_sp_at(u32 index);
u32 shadow_sp_limit(void); // indexes below it may hold a table
#define SP_POOL 16384

// Reclaim a frame: invalidate every shadow entry that maps it, found through
// its reverse map (no scan), and mark the TLBs of their owners for a flush.
// Returns how many entries were invalidated; the frame is then mapped by no
// shadow, so its owner may drop or reuse it. report, if given, is called
// with each invalidated entry first.
typedef void (*shadow_zap_fn)(void *arg, u16 owner, spte_ref_t ref, u32 old);
u32 shadow_reclaim(hfn_t hfn, shadow_zap_fn report, void *arg);
// The same by scanning every shadow table of every VM: for benchmarks only.
u32 shadow_reclaim_scan(hfn_t hfn);
// TLB invalidation as data (bhyve's eptgen, KVM's requests): whenever shadow
// entries a VM may have cached are removed or narrowed (or it loads CR3),
// mm/ moves that VM's generation on; before entering the guest, a vCPU
// compares it with the one it last flushed for. One small array that any
// CPU can read, not a callback: a reclaim touching many VMs stays cheap.
extern u32 shadow_tlb_gen[MAX_VMS];

#endif
