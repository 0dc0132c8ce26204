// The guest page-table walker (mm/, pure C). It reads the guest's tables
// through the VM's gpmap only, and sets Accessed/Dirty bits the way hardware
// does: A on every level used by a successful translation, D on the leaf of
// a successful write.
#include "lib.h"
#include "walk.h"

// A pointer to the 32-bit entry at gpa, or NULL outside guest memory (*bad)
// or when its swapped-out frame could not be read back (*err). Untouched
// memory holds zeros, so a walk never needs to allocate to read.
static u32 *entry_ptr(struct gpmap *m, gpa_t gpa, bool *bad, int *err)
{
	static const u32 zero;
	if (!gpmap_contains(m, gpa)) {
		*bad = true;
		return NULL;
	}
	hfn_t hfn = gpmap_resident(m, gpa >> PAGE_SHIFT, err);
	if (*err)
		return NULL;
	if (!hfn)
		return (u32 *)&zero;
	return (u32 *)((u8 *)hfn_ptr(hfn) + (gpa & (PAGE_SIZE - 1)));
}

// Set bits in the guest entry at gpa, known present (so its frame exists).
// The frame may be shared with a clone: the write makes it this VM's own
// first, so *e may move. False when no frame was left for that copy.
static bool entry_set_slow(struct gpmap *m, gpa_t gpa, u32 **e, u32 bits)
{
	int err = 0;
	hfn_t hfn = gpmap_writable(m, gpa >> PAGE_SHIFT, &err);
	if (!hfn)
		return false;
	*e = (u32 *)((u8 *)hfn_ptr(hfn) + (gpa & (PAGE_SIZE - 1)));
	**e |= bits;
	return true;
}

static inline bool entry_set(struct gpmap *m, gpa_t gpa, u32 **e, u32 bits)
{
	return (**e & bits) == bits || entry_set_slow(m, gpa, e, bits);
}

// Does an access with these effective rights fault? Non-PAE, no SMEP/SMAP.
static bool access_denied(u32 access, bool user, bool rw, u32 cr0)
{
	if (access & WALK_USER) {
		if (!user)
			return true;
		return (access & WALK_WRITE) && !rw;
	}
	return (access & WALK_WRITE) && !rw && (cr0 & CR0_WP);
}

enum walk_status walk_gva(const struct walk_ctx *ctx, gva_t gva, u32 access, struct walk *w)
{
	bool bad = false;
	bool peek = access & WALK_PEEK;
	u32 ec = access & (PFEC_W | PFEC_U | PFEC_I);

	memset(w, 0, sizeof(*w));
	if (!(ctx->cr0 & CR0_PG)) {
		w->gpa = gva;
		w->user = w->rw = w->dirty = true;
		return WALK_OK;
	}
	w->paging = true;
	w->pde_gpa = (ctx->cr3 & CR3_ADDR_MASK) + PDE_INDEX(gva) * 4;
	u32 *pdep = entry_ptr(ctx->gpmap, w->pde_gpa, &bad, &w->err);
	if (bad) {
		w->bad_gpa = w->pde_gpa;
		return WALK_BAD_GPA;
	}
	if (!pdep) {
		w->bad_gpa = w->pde_gpa;
		return WALK_NOMEM;
	}
	u32 pde = *pdep;
	w->pde = pde;
	if (!(pde & PTE_P)) {
		w->error_code = ec;
		return WALK_FAULT;
	}

	if ((pde & PTE_PS) && (ctx->cr4 & CR4_PSE)) {
		if (pde & PDE_LARGE_RSVD) {
			w->error_code = ec | PFEC_P | PFEC_RSVD;
			return WALK_FAULT;
		}
		w->large = true;
		w->user = pde & PTE_U;
		w->rw = pde & PTE_W;
		if (pde & PDE_LARGE_HI_MASK) {
			// PSE-36: the page lies above 4 GiB, where no guest has memory.
			w->bad_gpa = 0xFFFFFFFFu;
			if (peek)
				return WALK_BAD_GPA;
			if (access_denied(access, w->user, w->rw, ctx->cr0)) {
				w->error_code = ec | PFEC_P;
				return WALK_FAULT;
			}
			return WALK_BAD_GPA;
		}
		w->gpa = (pde & PDE_LARGE_ADDR_MASK) | (gva & (LARGE_PAGE_SIZE - 1));
		if (!peek) {
			if (access_denied(access, w->user, w->rw, ctx->cr0)) {
				w->error_code = ec | PFEC_P;
				return WALK_FAULT;
			}
			if (!entry_set(ctx->gpmap, w->pde_gpa, &pdep, PTE_A | ((access & WALK_WRITE) ? PTE_D : 0)))
				return WALK_NOMEM;
		}
		w->pde = *pdep;
		w->dirty = w->pde & PTE_D;
		return WALK_OK;
	}

	w->pte_gpa = (pde & PTE_ADDR_MASK) + PTE_INDEX(gva) * 4;
	u32 *ptep = entry_ptr(ctx->gpmap, w->pte_gpa, &bad, &w->err);
	if (bad) {
		w->bad_gpa = w->pte_gpa;
		return WALK_BAD_GPA;
	}
	if (!ptep) {
		w->bad_gpa = w->pte_gpa;
		return WALK_NOMEM;
	}
	u32 pte = *ptep;
	w->pte = pte;
	if (!(pte & PTE_P)) {
		w->error_code = ec;
		return WALK_FAULT;
	}
	w->user = (pde & PTE_U) && (pte & PTE_U);
	w->rw = (pde & PTE_W) && (pte & PTE_W);
	w->gpa = (pte & PTE_ADDR_MASK) | (gva & (PAGE_SIZE - 1));
	if (!peek) {
		if (access_denied(access, w->user, w->rw, ctx->cr0)) {
			w->error_code = ec | PFEC_P;
			return WALK_FAULT;
		}
		if (!entry_set(ctx->gpmap, w->pde_gpa, &pdep, PTE_A) ||
		    !entry_set(ctx->gpmap, w->pte_gpa, &ptep, PTE_A | ((access & WALK_WRITE) ? PTE_D : 0)))
			return WALK_NOMEM;
	}
	w->pde = *pdep;
	w->pte = *ptep;
	w->dirty = w->pte & PTE_D;
	return WALK_OK;
}

int gpa_read(struct gpmap *m, gpa_t gpa, void *buf, u32 len)
{
	ASSERT((gpa & (PAGE_SIZE - 1)) + len <= PAGE_SIZE);
	if (!gpmap_contains(m, gpa))
		return -ERR_FAULT;
	int err;
	hfn_t hfn = gpmap_resident(m, gpa >> PAGE_SHIFT, &err);
	if (err)
		return err;
	if (!hfn)
		memset(buf, 0, len);
	else
		memcpy(buf, (u8 *)hfn_ptr(hfn) + (gpa & (PAGE_SIZE - 1)), len);
	return 0;
}

int gpa_write(struct gpmap *m, gpa_t gpa, const void *buf, u32 len)
{
	ASSERT((gpa & (PAGE_SIZE - 1)) + len <= PAGE_SIZE);
	int err = 0;
	hfn_t hfn = gpmap_writable(m, gpa >> PAGE_SHIFT, &err);
	if (!hfn)
		return err;
	memcpy((u8 *)hfn_ptr(hfn) + (gpa & (PAGE_SIZE - 1)), buf, len);
	return 0;
}
