// The instruction decoder for intercepted instructions (see insn.h). Every
// byte comes from the guest: bounds are checked before each read.
#include "insn.h"
#include "lib.h"

#define MAX_INSN_LEN 15
enum { SEG_ES_, SEG_CS_, SEG_SS_, SEG_DS_, SEG_FS_, SEG_GS_ };
// The EFLAGS bits the ALU sets.
#define EFLAGS_CF_ 0x001u
#define EFLAGS_PF_ 0x004u
#define EFLAGS_AF_ 0x010u
#define EFLAGS_ZF_ 0x040u
#define EFLAGS_SF_ 0x080u
#define EFLAGS_OF_ 0x800u

struct cursor {
	const u8 *code;
	unsigned n, at;
};

static bool next(struct cursor *c, u8 *b)
{
	if (c->at >= c->n || c->at >= MAX_INSN_LEN)
		return false;
	*b = c->code[c->at++];
	return true;
}

static bool next_s16(struct cursor *c, s32 *v)
{
	u8 lo, hi;
	if (!next(c, &lo) || !next(c, &hi))
		return false;
	*v = (s16)(u16)(lo | hi << 8);
	return true;
}

static bool next_s32(struct cursor *c, s32 *v)
{
	u8 b[4];
	for (int i = 0; i < 4; i++)
		if (!next(c, &b[i]))
			return false;
	*v = (s32)((u32)b[0] | (u32)b[1] << 8 | (u32)b[2] << 16 | (u32)b[3] << 24);
	return true;
}

// ModRM memory operand in 32-bit addressing; SS is the default segment when
// the base is ESP or EBP.
static bool decode_mem(struct cursor *c, u8 mod, u8 rm, struct insn *in)
{
	struct insn_mem *m = &in->mem;
	m->base = -1;
	m->index = -1;
	m->scale = 1;
	m->disp = 0;
	in->seg = SEG_DS_;
	if (rm == 4) {
		u8 sib;
		if (!next(c, &sib))
			return false;
		u8 base = sib & 7, index = (sib >> 3) & 7;
		if (index != 4) {
			m->index = (s8)index;
			m->scale = (u8)(1u << (sib >> 6));
		}
		if (base == 5 && mod == 0) {
			if (!next_s32(c, &m->disp))
				return false;
		} else {
			m->base = (s8)base;
			if (base == 4 || base == 5)
				in->seg = SEG_SS_;
		}
	} else if (rm == 5 && mod == 0) {
		if (!next_s32(c, &m->disp))
			return false;
	} else {
		m->base = (s8)rm;
		if (rm == 5)
			in->seg = SEG_SS_;
	}
	if (mod == 1) {
		u8 d;
		if (!next(c, &d))
			return false;
		m->disp += (s8)d;
	} else if (mod == 2) {
		s32 d;
		if (!next_s32(c, &d))
			return false;
		m->disp += d;
	}
	in->has_mem = true;
	return true;
}

// ModRM memory operand in 16-bit addressing: BX or BP, plus SI or DI, plus
// a displacement; SS is the default segment when BP is used.
static bool decode_mem16(struct cursor *c, u8 mod, u8 rm, struct insn *in)
{
	enum { BX = 3, BP = 5, SI = 6, DI = 7 };
	static const s8 base[8] = { BX, BX, BP, BP, -1, -1, BP, BX };
	static const s8 index[8] = { SI, DI, SI, DI, SI, DI, -1, -1 };
	struct insn_mem *m = &in->mem;
	m->base = base[rm];
	m->index = index[rm];
	m->scale = 1;
	m->disp = 0;
	m->addr16 = true;
	if (mod == 0 && rm == 6) {
		m->base = -1; // [disp16]
		if (!next_s16(c, &m->disp))
			return false;
	} else if (mod == 1) {
		u8 d;
		if (!next(c, &d))
			return false;
		m->disp = (s8)d;
	} else if (mod == 2) {
		if (!next_s16(c, &m->disp))
			return false;
	}
	in->seg = m->base == BP ? SEG_SS_ : SEG_DS_;
	in->has_mem = true;
	return true;
}

// A ModRM byte whose operand must be memory (a register form never exits
// to umbra): the operand into in, ModRM's reg field into *reg.
static bool decode_modrm_mem(struct cursor *c, bool addr16, int seg_override, struct insn *in, u8 *reg)
{
	u8 modrm;
	if (!next(c, &modrm))
		return false;
	u8 mod = modrm >> 6, rm = modrm & 7;
	*reg = (modrm >> 3) & 7;
	if (mod == 3 || !(addr16 ? decode_mem16(c, mod, rm, in) : decode_mem(c, mod, rm, in)))
		return false;
	if (seg_override >= 0)
		in->seg = (u8)seg_override;
	return true;
}

// An immediate of n bytes, little-endian, into in->imm.
static bool decode_imm(struct cursor *c, u8 n, struct insn *in)
{
	in->has_imm = true;
	for (u8 i = 0; i < n; i++) {
		u8 b;
		if (!next(c, &b))
			return false;
		in->imm |= (u32)b << (8 * i);
	}
	return true;
}

// MOV with a ModRM memory operand (88, 89, 8A, 8B; C6 and C7 /0 with an
// immediate after the operand).
static bool decode_mov(struct cursor *c, u8 op, bool addr16, int seg_override, struct insn *in)
{
	u8 reg;
	if (!decode_modrm_mem(c, addr16, seg_override, in, &reg) || ((op == 0xC6 || op == 0xC7) && reg != 0))
		return false;
	in->size = (op & 1) ? in->opsize : 1;
	in->kind = (op == 0x8A || op == 0x8B) ? INSN_MOV_LOAD : INSN_MOV_STORE;
	in->reg = reg;
	if (op == 0xC6 || op == 0xC7) {
		in->reg = 0;
		return decode_imm(c, in->size, in);
	}
	return true;
}

// The ALU forms with a ModRM memory operand (see INSN_ALU): op is the
// opcode byte. The register forms (mod 3) never exit: not ours.
static bool decode_alu(struct cursor *c, u8 op, bool addr16, int seg_override, struct insn *in)
{
	u8 reg;
	if (!decode_modrm_mem(c, addr16, seg_override, in, &reg) || ((op == 0xF6 || op == 0xF7) && reg != 0))
		return false;
	in->kind = INSN_ALU;
	in->size = (op & 1) ? in->opsize : 1;
	if (op < 0x40) {
		in->alu = op >> 3;
		in->to_reg = op & 2;
		in->reg = reg;
	} else if (op == 0x84 || op == 0x85) {
		in->alu = ALU_TEST;
		in->reg = reg;
	} else {
		in->alu = (op == 0xF6 || op == 0xF7) ? ALU_TEST : reg;
		if (!decode_imm(c, op == 0x83 || op == 0x80 || op == 0xF6 ? 1 : in->size, in))
			return false;
	}
	if (op == 0x83)
		in->imm = (u32)(s32)(s8)in->imm; // sign-extended to the operand size
	return true;
}

static bool is_alu_op(u8 b)
{
	return (b < 0x40 && (b & 7) < 4) || b == 0x80 || b == 0x81 || b == 0x83 || b == 0x84 || b == 0x85 ||
	       b == 0xF6 || b == 0xF7;
}

static u32 parity_flag(u8 v) // set for an even number of 1 bits in the low byte
{
	v ^= v >> 4;
	v ^= v >> 2;
	v ^= v >> 1;
	return (v & 1) ? 0 : EFLAGS_PF_;
}

u32 insn_alu(u8 op, u8 size, u32 dst, u32 src, u32 eflags, u32 *result)
{
	u32 mask = size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1, sign = 1u << (8 * size - 1);
	dst &= mask, src &= mask;
	u32 cf_in = eflags & EFLAGS_CF_ ? 1 : 0, r, cf = 0, of = 0, af = 0;
	switch (op) {
	case ALU_ADD: case ALU_ADC: {
		u64 wide = (u64)dst + src + (op == ALU_ADC ? cf_in : 0);
		r = (u32)wide & mask;
		cf = (wide >> (8 * size)) & 1;
		of = ((dst ^ r) & (src ^ r) & sign) != 0;
		af = ((dst ^ src ^ r) & 0x10) != 0;
		break;
	}
	case ALU_SUB: case ALU_SBB: case ALU_CMP: {
		u32 borrow = op == ALU_SBB ? cf_in : 0;
		r = (dst - src - borrow) & mask;
		cf = (u64)dst < (u64)src + borrow;
		of = ((dst ^ src) & (dst ^ r) & sign) != 0;
		af = ((dst ^ src ^ r) & 0x10) != 0;
		break;
	}
	case ALU_OR: r = dst | src; break;
	case ALU_XOR: r = dst ^ src; break;
	default: r = dst & src; break; // AND, TEST
	}
	*result = r;
	eflags &= ~(u32)(EFLAGS_CF_ | EFLAGS_PF_ | EFLAGS_AF_ | EFLAGS_ZF_ | EFLAGS_SF_ | EFLAGS_OF_);
	return eflags | (cf ? EFLAGS_CF_ : 0) | parity_flag((u8)r) | (af ? EFLAGS_AF_ : 0) | (r ? 0 : EFLAGS_ZF_) |
	       ((r & sign) ? EFLAGS_SF_ : 0) | (of ? EFLAGS_OF_ : 0);
}

// MOV between AL/eAX and a memory offset (A0-A3): the offset is as wide as
// the address size.
static bool decode_moffs(struct cursor *c, u8 op, bool addr16, int seg_override, struct insn *in)
{
	u32 off = 0;
	for (int i = 0; i < (addr16 ? 2 : 4); i++) {
		u8 b;
		if (!next(c, &b))
			return false;
		off |= (u32)b << (8 * i);
	}
	in->mem = (struct insn_mem){ .base = -1, .index = -1, .scale = 1, .addr16 = addr16, .disp = (s32)off };
	in->has_mem = true;
	in->seg = seg_override >= 0 ? (u8)seg_override : SEG_DS_;
	in->size = (op & 1) ? in->opsize : 1;
	in->kind = op < 0xA2 ? INSN_MOV_LOAD : INSN_MOV_STORE;
	in->reg = 0; // AL / AX / EAX
	return true;
}

bool insn_decode(const u8 *code, unsigned n, bool code32, struct insn *in)
{
	struct cursor c = { code, n, 0 };
	int seg_override = -1;
	bool lock = false, addr16 = !code32;
	u8 b;

	memset(in, 0, sizeof(*in));
	in->kind = INSN_INVALID;
	in->opsize = code32 ? 4 : 2;
	for (;;) {
		if (!next(&c, &b))
			return false;
		switch (b) {
		case 0x66: in->opsize = code32 ? 2 : 4; continue; // repeated: the same
		case 0x67: addr16 = code32; continue;
		case 0xF0: lock = true; continue;
		case 0xF2: case 0xF3: in->rep = true; continue;
		case 0x26: seg_override = SEG_ES_; continue;
		case 0x2E: seg_override = SEG_CS_; continue;
		case 0x36: seg_override = SEG_SS_; continue;
		case 0x3E: seg_override = SEG_DS_; continue;
		case 0x64: seg_override = SEG_FS_; continue;
		case 0x65: seg_override = SEG_GS_; continue;
		}
		break;
	}
	if (b >= 0x6C && b <= 0x6F) {
		// String I/O: the source of OUTS is DS:(E)SI, or the override;
		// the destination of INS is always ES:(E)DI.
		in->kind = b < 0x6E ? INSN_INS : INSN_OUTS;
		in->size = (b & 1) ? in->opsize : 1;
		in->mem.addr16 = addr16;
		in->seg = in->kind == INSN_INS ? SEG_ES_ : seg_override >= 0 ? (u8)seg_override : SEG_DS_;
		in->len = (u8)c.at;
		return !lock; // LOCK INS/OUTS is #UD: not ours to emulate
	}
	in->rep = false; // (F2/F3 mean nothing to the instructions below)
	if (b == 0x88 || b == 0x89 || b == 0x8A || b == 0x8B || b == 0xC6 || b == 0xC7 || (b >= 0xA0 && b <= 0xA3)) {
		// LOCK MOV is #UD: not ours to emulate.
		bool ok = !lock && (b >= 0xA0 && b <= 0xA3 ? decode_moffs(&c, b, addr16, seg_override, in)
							 : decode_mov(&c, b, addr16, seg_override, in));
		if (!ok) {
			in->kind = INSN_INVALID;
			return false;
		}
		in->len = (u8)c.at;
		return true;
	}
	if (is_alu_op(b)) {
		// LOCK is allowed on the forms that write memory (not CMP, TEST, or to a register).
		bool ok = decode_alu(&c, b, addr16, seg_override, in) &&
			  (!lock || (!in->to_reg && in->alu != ALU_CMP && in->alu != ALU_TEST));
		if (!ok) {
			in->kind = INSN_INVALID;
			return false;
		}
		in->len = (u8)c.at;
		return true;
	}
	if (b != 0x0F || !next(&c, &b))
		return false;

	enum insn_kind kind;
	switch (b) {
	case 0x06: kind = INSN_CLTS; break;
	case 0x30: kind = INSN_WRMSR; break;
	case 0x32: kind = INSN_RDMSR; break;
	case 0x08: kind = INSN_INVD; break;
	case 0x33: kind = INSN_RDPMC; break;
	case 0xA2: kind = INSN_CPUID; break;
	case 0x20: kind = INSN_MOV_FROM_CR; break;
	case 0x22: kind = INSN_MOV_TO_CR; break;
	case 0x01: kind = INSN_INVALID; break; // group 7: decided by ModRM.reg
	default: return false;
	}
	if (kind == INSN_CLTS || kind == INSN_WRMSR || kind == INSN_RDMSR || kind == INSN_INVD || kind == INSN_RDPMC ||
	    kind == INSN_CPUID) {
		in->kind = kind;
		in->len = (u8)c.at;
		return true;
	}

	u8 modrm;
	if (!next(&c, &modrm))
		return false;
	u8 mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
	if (kind == INSN_MOV_FROM_CR || kind == INSN_MOV_TO_CR) {
		// The mod field is ignored: always the register form.
		in->kind = kind;
		in->cr = (u8)(reg + (lock ? 8 : 0));
		in->reg = rm;
		in->len = (u8)c.at;
		return true;
	}
	if (reg == 4)
		kind = INSN_SMSW;
	else if (reg == 6)
		kind = INSN_LMSW;
	else if (reg == 7 && mod != 3)
		kind = INSN_INVLPG;
	else
		return false; // other group-7 forms (SGDT, VMMCALL, ...) are not ours
	if (mod == 3) {
		in->rm = rm;
	} else {
		if (!(addr16 ? decode_mem16(&c, mod, rm, in) : decode_mem(&c, mod, rm, in)))
			return false;
		if (seg_override >= 0)
			in->seg = (u8)seg_override;
	}
	in->kind = kind;
	in->len = (u8)c.at;
	return true;
}

u32 insn_mem_offset(const struct insn *in, const u32 gpr[8])
{
	const struct insn_mem *m = &in->mem;
	u32 mask = m->addr16 ? 0xFFFF : 0xFFFFFFFF;
	u32 off = (u32)m->disp;
	if (m->base >= 0)
		off += gpr[m->base] & mask;
	if (m->index >= 0)
		off += (gpr[m->index] & mask) * m->scale;
	return off & mask;
}
