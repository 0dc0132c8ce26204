// Each vCPU's part of the shadow (mm/, pure C): the root it runs on, its
// cache of recent roots (each holding a reference), switching roots at CR3
// loads and paging-mode changes, and giving cached roots back when memory
// runs short. The tables themselves are the VM's (shadow.c).
#include "frame.h"
#include "lib.h"
#include "shadow.h"
#include "shadow_int.h"

void shadow_root_key(const struct walk_ctx *ctx, gfn_t *gfn, u16 *role)
{
	if (!(ctx->cr0 & CR0_PG)) {
		*gfn = 0;
		*role = SP_ROLE_DIR | SP_ROLE_DIRECT | SP_ROLE_NOPG;
		return;
	}
	*gfn = ctx->cr3 >> PAGE_SHIFT;
	*role = (u16)(SP_ROLE_DIR | ((ctx->cr0 & CR0_WP) ? SP_ROLE_WP : 0) | ((ctx->cr4 & CR4_PSE) ? SP_ROLE_PSE : 0));
}

hpa_t shadow_root_hpa(const struct shadow_vcpu *sv)
{
	ASSERT(sv->root);
	return sv->root->hfn << PAGE_SHIFT;
}

void shadow_vcpu_init(struct shadow_vcpu *sv, struct shadow_mmu *s)
{
	memset(sv, 0, sizeof(*sv));
	sv->mmu = s;
	sv->next = s->vcpus;
	s->vcpus = sv;
}

void shadow_vcpu_destroy(struct shadow_vcpu *sv)
{
	struct shadow_mmu *s = sv->mmu;
	if (!s)
		return;
	for (int i = 0; i < ROOT_CACHE; i++) {
		if (sv->cache[i])
			sp_put(s, sv->cache[i]);
		sv->cache[i] = NULL;
	}
	sv->root = NULL;
	for (struct shadow_vcpu **pp = &s->vcpus; *pp; pp = &(*pp)->next) {
		if (*pp == sv) {
			*pp = sv->next;
			break;
		}
	}
	sv->mmu = NULL;
}

static int load_cr3_once(struct shadow_vcpu *sv, const struct walk_ctx *ctx)
{
	struct shadow_mmu *s = sv->mmu;
	shadow_sync_all(s, false);
	gfn_t gfn;
	u16 role;
	shadow_root_key(ctx, &gfn, &role);
	s->stats.cr3_loads++;
	sp_tlb_flush(s);
	int at = -1;
	for (int i = 0; i < ROOT_CACHE; i++)
		if (sv->cache[i] && sv->cache[i]->gfn == gfn && sv->cache[i]->role == role)
			at = i;
	struct sp *root;
	if (at >= 0) {
		root = sv->cache[at];
		s->stats.roots_reused++;
	} else {
		root = sp_lookup(s->owner, gfn, role);
		if (root) {
			frame_get(root->hfn);
			s->stats.roots_reused++;
		} else if (!(root = sp_new(s, gfn, role))) {
			return -ERR_NOMEM;
		}
		at = ROOT_CACHE - 1;
		if (sv->cache[at])
			sp_put(s, sv->cache[at]);
	}
	// Move to the front, newest first.
	for (int i = at; i > 0; i--)
		sv->cache[i] = sv->cache[i - 1];
	sv->cache[0] = root;
	sv->root = root;
	return 0;
}

int shadow_load_cr3(struct shadow_vcpu *sv, const struct walk_ctx *ctx)
{
	int r = load_cr3_once(sv, ctx);
	if (r == -ERR_NOMEM && shadow_shrink(sv->mmu)) {
		sv->mmu->stats.oom_shrinks++;
		r = load_cr3_once(sv, ctx);
	}
	return r;
}

u64 shadow_shrink(struct shadow_mmu *s)
{
	u64 before = s->stats.tables;
	for (struct shadow_vcpu *sv = s->vcpus; sv; sv = sv->next) {
		for (int i = 1; i < ROOT_CACHE; i++) { // cache[0] is the root in use
			if (sv->cache[i])
				sp_put(s, sv->cache[i]);
			sv->cache[i] = NULL;
		}
	}
	return before - s->stats.tables;
}

