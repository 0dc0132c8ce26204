// The instruction decoder (see decode.h), for the VMM and for host tests.
// Every byte comes from the guest: each read is bounds-checked against both
// n and the 15-byte architectural limit, and nothing here can fault.
#include "decode.h"

// What an opcode takes, as masks.
#define OP_MODRM 0x01u // a ModRM byte follows
#define OP_BYTE  0x02u // 8-bit data operand (else 32, or 16 with 66)
#define OP_IMM8  0x04u // an imm8 follows the ModRM operand
#define OP_IMMZ  0x08u // an imm16 or imm32 follows, by operand size
#define OP_SEXT  0x10u // the imm8 is sign-extended to the operand size
#define OP_LOCK  0x20u // LOCK is allowed, with a memory operand only
#define OP_STR   0x40u // string instruction: takes REP, addresses through ESI/EDI
#define OP_GROUP 0x80u // the kind comes from ModRM.reg (see group_kind)
#define OP_CR    0x100u // MOV CR: ModRM.mod is ignored, no memory operand

// Reads stop at the architectural limit: past it the instruction is invalid
// (#GP on hardware), while running out of the n bytes given is truncation.
struct cursor {
	const u8 *code;
	unsigned n, at;
	enum insn_kind fail;
};

static bool next(struct cursor *c, u8 *b)
{
	if (c->at >= INSN_MAX_LEN) {
		c->fail = INSN_INVALID;
		return false;
	}
	if (c->at >= c->n) {
		c->fail = INSN_TRUNCATED;
		return false;
	}
	*b = c->code[c->at++];
	return true;
}

// Little-endian immediate or displacement of 1, 2 or 4 bytes.
static bool next_le(struct cursor *c, unsigned bytes, u32 *v)
{
	u8 b;
	*v = 0;
	for (unsigned i = 0; i < bytes; i++) {
		if (!next(c, &b))
			return false;
		*v |= (u32)b << (8 * i);
	}
	return true;
}

// The opcodes we know, with what they take; INSN_INVALID for the rest.
// Group opcodes give a placeholder kind that group_kind() replaces.
static enum insn_kind lookup_1byte(u8 op, unsigned *f)
{
	unsigned w = (op & 1) ? 0 : OP_BYTE; // even opcode: byte form
	switch (op) {
	case 0x00: case 0x01: *f = OP_MODRM | OP_LOCK | w; return INSN_ADD;
	case 0x08: case 0x09: *f = OP_MODRM | OP_LOCK | w; return INSN_OR;
	case 0x20: case 0x21: *f = OP_MODRM | OP_LOCK | w; return INSN_AND;
	case 0x28: case 0x29: *f = OP_MODRM | OP_LOCK | w; return INSN_SUB;
	case 0x30: case 0x31: *f = OP_MODRM | OP_LOCK | w; return INSN_XOR;
	case 0x86: case 0x87: *f = OP_MODRM | OP_LOCK | w; return INSN_XCHG;
	case 0x88: case 0x89: *f = OP_MODRM | w; return INSN_MOV;
	case 0x80: *f = OP_MODRM | OP_GROUP | OP_LOCK | OP_BYTE | OP_IMM8; return INSN_ADD;
	case 0x81: *f = OP_MODRM | OP_GROUP | OP_LOCK | OP_IMMZ; return INSN_ADD;
	case 0x83: *f = OP_MODRM | OP_GROUP | OP_LOCK | OP_IMM8 | OP_SEXT; return INSN_ADD;
	case 0xC6: *f = OP_MODRM | OP_GROUP | OP_BYTE | OP_IMM8; return INSN_MOV;
	case 0xC7: *f = OP_MODRM | OP_GROUP | OP_IMMZ; return INSN_MOV;
	case 0xA4: case 0xA5: *f = OP_STR | w; return INSN_MOVS;
	case 0xAA: case 0xAB: *f = OP_STR | w; return INSN_STOS;
	case 0x6C: case 0x6D: *f = OP_STR | w; return INSN_INS;
	case 0x6E: case 0x6F: *f = OP_STR | w; return INSN_OUTS;
	case 0xE4: case 0xE5: *f = OP_IMM8 | w; return INSN_IN;
	case 0xE6: case 0xE7: *f = OP_IMM8 | w; return INSN_OUT;
	case 0xEC: case 0xED: *f = w; return INSN_IN;
	case 0xEE: case 0xEF: *f = w; return INSN_OUT;
	case 0xF4: *f = 0; return INSN_HLT;
	}
	return INSN_INVALID;
}

static enum insn_kind lookup_0f(u8 op, unsigned *f)
{
	switch (op) {
	case 0x06: *f = 0; return INSN_CLTS;
	case 0x30: *f = 0; return INSN_WRMSR;
	case 0x32: *f = 0; return INSN_RDMSR;
	case 0xA2: *f = 0; return INSN_CPUID;
	case 0x20: *f = OP_MODRM | OP_CR; return INSN_MOV_FROM_CR;
	case 0x22: *f = OP_MODRM | OP_CR; return INSN_MOV_TO_CR;
	case 0x01: *f = OP_MODRM | OP_GROUP; return INSN_SMSW;
	case 0xB0: *f = OP_MODRM | OP_LOCK | OP_BYTE; return INSN_CMPXCHG;
	case 0xB1: *f = OP_MODRM | OP_LOCK; return INSN_CMPXCHG;
	case 0xAB: *f = OP_MODRM | OP_LOCK; return INSN_BTS;
	case 0xB3: *f = OP_MODRM | OP_LOCK; return INSN_BTR;
	case 0xBB: *f = OP_MODRM | OP_LOCK; return INSN_BTC;
	case 0xBA: *f = OP_MODRM | OP_GROUP | OP_LOCK | OP_IMM8; return INSN_BTS;
	}
	return INSN_INVALID;
}

// The member of a group opcode selected by ModRM, or INSN_INVALID for the
// members umbra does not handle (ADC, SBB, CMP, BT, SGDT, VMRUN, SWAPGS, ...).
static enum insn_kind group_kind(bool ext, u8 op, u8 mod, u8 reg, u8 rm)
{
	static const enum insn_kind alu[8] = {
		INSN_ADD, INSN_OR, INSN_INVALID, INSN_INVALID,
		INSN_AND, INSN_SUB, INSN_XOR, INSN_INVALID,
	};
	if (!ext && (op == 0xC6 || op == 0xC7))
		return reg == 0 ? INSN_MOV : INSN_INVALID;
	if (!ext)
		return alu[reg];
	if (op == 0xBA)
		return reg == 5 ? INSN_BTS : reg == 6 ? INSN_BTR : reg == 7 ? INSN_BTC : INSN_INVALID;
	// 0F 01: register forms of /3 and /7 are other instructions entirely.
	if (reg == 4)
		return INSN_SMSW;
	if (reg == 6)
		return INSN_LMSW;
	if (reg == 7 && mod != 3)
		return INSN_INVLPG;
	if (reg == 3 && mod == 3 && rm == 1)
		return INSN_VMMCALL;
	return INSN_INVALID;
}

// ModRM memory operand in 32-bit addressing, after the ModRM byte. The
// default segment is SS for an ESP or EBP base, DS otherwise (also for the
// no-base disp32 forms, whose encodings would otherwise name EBP).
static bool decode_mem(struct cursor *c, u8 mod, u8 rm, struct insn *in)
{
	struct insn_mem *m = &in->mem;
	u8 base = rm;
	u32 d = 0;

	m->base = -1;
	m->index = -1;
	m->scale = 1;
	if (rm == 4) {
		u8 sib;
		if (!next(c, &sib))
			return false;
		base = sib & 7;
		if (((sib >> 3) & 7) != 4) { // index 100: none
			m->index = (s8)((sib >> 3) & 7);
			m->scale = (u8)(1u << (sib >> 6));
		}
	}
	if (base == 5 && mod == 0) {
		if (!next_le(c, 4, &d))
			return false;
	} else {
		m->base = (s8)base;
	}
	if (mod == 1) {
		if (!next_le(c, 1, &d))
			return false;
		d = (u32)(s32)(s8)d;
	} else if (mod == 2) {
		if (!next_le(c, 4, &d))
			return false;
	}
	m->disp = (s32)d;
	in->seg = (m->base == 4 || m->base == 5) ? INSN_SEG_SS : INSN_SEG_DS;
	in->has_mem = true;
	return true;
}

static u32 mask_to(u32 v, u8 size)
{
	return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

static bool fail(struct insn *in, enum insn_kind why)
{
	in->kind = why;
	in->len = 0;
	return false;
}

bool insn_decode(const u8 *code, unsigned n, struct insn *in)
{
	struct cursor c = { code, n, 0, INSN_INVALID };
	bool o16 = false, a16 = false, rep = false, ext = false;
	int seg = -1; // override prefix
	enum insn_kind kind;
	unsigned f = 0;
	u8 op;

	*in = (struct insn){ .kind = INSN_INVALID, .opsize = 4, .seg = INSN_SEG_DS,
			     .mem = { .base = -1, .index = -1, .scale = 1 } };
	for (;;) {
		if (!next(&c, &op))
			return fail(in, c.fail);
		switch (op) {
		case 0x66: o16 = true; continue;
		case 0x67: a16 = true; continue;
		case 0xF0: in->lock = true; continue;
		case 0xF2: case 0xF3: rep = true; continue;
		case 0x26: seg = INSN_SEG_ES; continue;
		case 0x2E: seg = INSN_SEG_CS; continue;
		case 0x36: seg = INSN_SEG_SS; continue;
		case 0x3E: seg = INSN_SEG_DS; continue;
		case 0x64: seg = INSN_SEG_FS; continue;
		case 0x65: seg = INSN_SEG_GS; continue;
		}
		break;
	}
	if (op == 0x0F) {
		ext = true;
		if (!next(&c, &op))
			return fail(in, c.fail);
		kind = lookup_0f(op, &f);
	} else {
		kind = lookup_1byte(op, &f);
	}
	if (kind == INSN_INVALID)
		return fail(in, INSN_INVALID);
	in->opsize = (f & OP_BYTE) ? 1 : o16 ? 2 : 4;

	if (f & OP_MODRM) {
		u8 modrm;
		if (!next(&c, &modrm))
			return fail(in, c.fail);
		u8 mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
		in->reg = reg;
		if (f & OP_GROUP)
			kind = group_kind(ext, op, mod, reg, rm);
		// F2/F3 0F 01 are other instructions (VMGEXIT is F3 0F 01 D9).
		if (kind == INSN_INVALID || (ext && op == 0x01 && rep))
			return fail(in, INSN_INVALID);
		if (f & OP_CR) {
			in->cr = (u8)(reg + (in->lock ? 8 : 0));
			in->reg = in->rm = rm;
			in->opsize = 4;
			if (in->cr != 0 && in->cr != 2 && in->cr != 3 && in->cr != 4 && in->cr != 8)
				kind = INSN_UD;
		} else if (mod == 3) {
			in->rm = rm;
		} else {
			if (a16)
				return fail(in, INSN_UNSUPPORTED);
			if (!decode_mem(&c, mod, rm, in))
				return fail(in, c.fail);
			if (seg >= 0)
				in->seg = (u8)seg;
		}
		if (kind == INSN_LMSW || (kind == INSN_SMSW && in->has_mem))
			in->opsize = 2;
	}
	if (f & OP_STR) {
		if (a16) // SI, DI and CX instead of ESI, EDI and ECX
			return fail(in, INSN_UNSUPPORTED);
		in->rep = rep;
		if (kind == INSN_STOS || kind == INSN_INS)
			in->seg = INSN_SEG_ES;
		else if (seg >= 0)
			in->seg = (u8)seg;
	}
	if (f & (OP_IMM8 | OP_IMMZ)) {
		u32 v;
		if (!next_le(&c, (f & OP_IMM8) ? 1 : in->opsize, &v))
			return fail(in, c.fail);
		if (f & OP_SEXT)
			v = mask_to((u32)(s32)(s8)v, in->opsize);
		in->imm = v;
		in->has_imm = true;
	}
	// LOCK on MOV CR is the CR8 alias, handled above.
	if (in->lock && !(f & OP_CR) && !((f & OP_LOCK) && in->has_mem))
		kind = INSN_UD;
	in->kind = kind;
	in->len = (u8)c.at;
	return true;
}

u32 insn_mem_offset(const struct insn *in, const u32 gpr[8])
{
	const struct insn_mem *m = &in->mem;
	u32 off = (u32)m->disp;
	if (m->base >= 0)
		off += gpr[m->base & 7];
	if (m->index >= 0)
		off += gpr[m->index & 7] * (u32)m->scale;
	return off;
}
