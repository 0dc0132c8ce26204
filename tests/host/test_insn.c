// Host tests of the instruction decoder: encodings from GNU as (generated
// into insn_cases.h), truncation at every length, rejection of what umbra
// does not emulate, and random bytes under ASan/UBSan.
#include <string.h>
#include "check.h"
#include "insn.h"

struct insn_case {
	const char *asm_text;
	u8 bytes[15];
	u8 len;
	enum insn_kind kind;
	u8 cr, reg, rm, opsize, has_mem; // INSN_ALU: cr is the operation, rm whether the register is the destination
	s8 base, index;
	u8 scale;
	s32 disp;
	u8 seg;
	u8 code32, addr16;
	u32 imm;
};
#include "insn_cases.h"

static void test_assembled_encodings(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(insn_cases); i++) {
		const struct insn_case *c = &insn_cases[i];
		struct insn in;
		bool ok = insn_decode(c->bytes, c->len, c->code32, &in);
		CHECK(ok, "%s: not decoded", c->asm_text);
		if (!ok)
			continue;
		CHECK(in.len == c->len, "%s: len %u, as says %u", c->asm_text, in.len, c->len);
		CHECK(in.kind == c->kind, "%s: kind %d want %d", c->asm_text, in.kind, c->kind);
		CHECK(in.has_mem == c->has_mem, "%s: has_mem", c->asm_text);
		if (c->kind == INSN_MOV_FROM_CR || c->kind == INSN_MOV_TO_CR)
			CHECK(in.cr == c->cr && in.reg == c->reg, "%s: cr %u reg %u", c->asm_text, in.cr, in.reg);
		if (!c->has_mem && (c->kind == INSN_SMSW || c->kind == INSN_LMSW))
			CHECK(in.rm == c->rm, "%s: rm %u", c->asm_text, in.rm);
		if (c->kind == INSN_SMSW && !c->has_mem)
			CHECK(in.opsize == c->opsize, "%s: opsize %u", c->asm_text, in.opsize);
		if (c->kind == INSN_MOV_LOAD || c->kind == INSN_MOV_STORE)
			CHECK(in.size == c->opsize && in.reg == c->reg && in.has_imm == (strchr(c->asm_text, '$') != NULL) &&
			      in.imm == c->imm, "%s: size %u reg %u imm %x (%u)", c->asm_text, in.size, in.reg, in.imm,
			      in.has_imm);
		if (c->kind == INSN_ALU) {
			u32 mask = c->opsize == 4 ? 0xFFFFFFFFu : (1u << (8 * c->opsize)) - 1;
			bool imm = strchr(c->asm_text, '$') != NULL;
			CHECK(in.size == c->opsize && in.alu == c->cr && in.to_reg == c->rm && in.has_imm == imm &&
			      (imm || in.reg == c->reg) && (in.imm & mask) == c->imm,
			      "%s: size %u alu %u to_reg %u reg %u imm %x (%u)", c->asm_text, in.size, in.alu, in.to_reg,
			      in.reg, in.imm, in.has_imm);
		}
		if (c->kind == INSN_INS || c->kind == INSN_OUTS)
			CHECK(in.size == c->opsize && in.seg == c->seg && in.rep == (strncmp(c->asm_text, "rep", 3) == 0),
			      "%s: size %u seg %u rep %u", c->asm_text, in.size, in.seg, in.rep);
		CHECK(!c->has_mem || in.mem.addr16 == c->addr16, "%s (code%u): addr16 %u", c->asm_text,
		      c->code32 ? 32 : 16, in.mem.addr16);
		if (c->has_mem) {
			CHECK(in.mem.base == c->base && in.mem.index == c->index,
			      "%s: base %d index %d", c->asm_text, in.mem.base, in.mem.index);
			CHECK(c->index < 0 || in.mem.scale == c->scale, "%s: scale %u", c->asm_text, in.mem.scale);
			CHECK(in.mem.disp == c->disp, "%s: disp %d want %d", c->asm_text, in.mem.disp, c->disp);
			CHECK(in.seg == c->seg, "%s: seg %u want %u", c->asm_text, in.seg, c->seg);
		}
	}
}

// Effective addresses, wrapping at 32 bits, with every register as base.
static void test_mem_offset(void)
{
	u32 gpr[8] = { 0x1000, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000, 0x7000, 0xFFFFF000u };
	for (unsigned i = 0; i < ARRAY_SIZE(insn_cases); i++) {
		const struct insn_case *c = &insn_cases[i];
		if (!c->has_mem)
			continue;
		struct insn in;
		insn_decode(c->bytes, c->len, c->code32, &in);
		u32 mask = c->addr16 ? 0xFFFF : 0xFFFFFFFF;
		u32 want = ((u32)c->disp + (c->base >= 0 ? gpr[c->base] & mask : 0) +
			    (c->index >= 0 ? (gpr[c->index] & mask) * c->scale : 0)) & mask;
		CHECK(insn_mem_offset(&in, gpr) == want, "%s: offset %x want %x", c->asm_text,
		      insn_mem_offset(&in, gpr), want);
	}
}

// Every proper prefix of every instruction must be refused, not misread.
static void test_truncation(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(insn_cases); i++) {
		const struct insn_case *c = &insn_cases[i];
		for (unsigned n = 0; n < c->len; n++) {
			struct insn in;
			CHECK(!insn_decode(c->bytes, n, c->code32, &in), "%s: decoded from %u of %u bytes",
			      c->asm_text, n, c->len);
		}
	}
}

static void test_rejects(void)
{
	struct insn in;
	static const u8 sgdt[] = { 0x0f, 0x01, 0x00 };          // group 7 /0
	static const u8 vmmcall[] = { 0x0f, 0x01, 0xd9 };       // /3 register form
	static const u8 invlpg_reg[] = { 0x0f, 0x01, 0xf8 };    // /7 mod=3 is SWAPGS
	static const u8 nop[] = { 0x90 };
	static const u8 a16[] = { 0x67, 0x0f, 0x01, 0x3f };     // invlpg (%bx) in 32-bit code
	static const u8 smsw16[] = { 0x0f, 0x01, 0x26, 0x00, 0x20 }; // smsw 0x2000 in 16-bit code
	u8 prefixes[16];
	memset(prefixes, 0x66, sizeof(prefixes));
	prefixes[14] = 0x0f;
	prefixes[15] = 0x06;
	CHECK(!insn_decode(sgdt, sizeof(sgdt), true, &in) || insn_decode(sgdt, sizeof(sgdt), false, &in), "SGDT accepted");
	CHECK(!insn_decode(vmmcall, sizeof(vmmcall), true, &in) || insn_decode(vmmcall, sizeof(vmmcall), false, &in), "VMMCALL accepted as group 7");
	CHECK(!insn_decode(invlpg_reg, sizeof(invlpg_reg), true, &in) || insn_decode(invlpg_reg, sizeof(invlpg_reg), false, &in), "register INVLPG accepted");
	CHECK(!insn_decode(nop, sizeof(nop), true, &in) || insn_decode(nop, sizeof(nop), false, &in), "NOP accepted");
	CHECK(insn_decode(a16, sizeof(a16), true, &in) && in.kind == INSN_INVLPG && in.mem.addr16 && in.mem.base == 3 &&
	      in.mem.index == -1 && in.len == 4, "16-bit addressing in 32-bit code");
	// The reported case: in 16-bit code, mod=0 rm=6 is [disp16], not [ESI].
	CHECK(insn_decode(smsw16, sizeof(smsw16), false, &in) && in.kind == INSN_SMSW && in.len == 5 &&
	      in.mem.base == -1 && in.mem.disp == 0x2000, "smsw [0x2000] in 16-bit code: len %u base %d disp %x",
	      in.len, in.mem.base, in.mem.disp);
	CHECK(insn_decode(smsw16, sizeof(smsw16), true, &in) && in.len == 3 && in.mem.base == 6,
	      "the same bytes in 32-bit code are smsw (%%esi)");
	CHECK(!insn_decode(prefixes, sizeof(prefixes), true, &in), "16-byte instruction accepted");
	CHECK(insn_decode(prefixes + 1, 15, true, &in) && in.kind == INSN_CLTS && in.len == 15,
	      "15-byte CLTS refused");
}

// insn_alu against this (x86) host CPU's own instructions, for every
// operation and size, random operands (biased to the edges) and carry in:
// the result and CF, PF, AF, ZF, SF, OF.
#define HOST_ALU(mn, T)                                                                              \
	do {                                                                                         \
		T d = (T)dst, s = (T)src;                                                            \
		unsigned long fl = cf_in;                                                             \
		__asm__ volatile("push %2; popf; " mn " %3, %0; pushf; pop %1"                       \
				 : "+q"(d), "=r"(fl) : "r"(fl), "q"(s) : "cc");                       \
		*res = d;                                                                            \
		return (u32)fl;                                                                      \
	} while (0)
#define HOST_ALU_SIZES(mn)                                                                           \
	do {                                                                                         \
		if (size == 1) HOST_ALU(mn "b", u8);                                                 \
		if (size == 2) HOST_ALU(mn "w", u16);                                                \
		HOST_ALU(mn "l", u32);                                                               \
	} while (0)
static u32 host_alu(u8 op, u8 size, u32 dst, u32 src, u32 cf_in, u32 *res)
{
	switch (op) {
	case ALU_ADD: HOST_ALU_SIZES("add");
	case ALU_OR: HOST_ALU_SIZES("or");
	case ALU_ADC: HOST_ALU_SIZES("adc");
	case ALU_SBB: HOST_ALU_SIZES("sbb");
	case ALU_AND: HOST_ALU_SIZES("and");
	case ALU_SUB: HOST_ALU_SIZES("sub");
	case ALU_XOR: HOST_ALU_SIZES("xor");
	case ALU_CMP: HOST_ALU_SIZES("cmp");
	default: HOST_ALU_SIZES("test");
	}
}

static void test_alu_flags(void)
{
	const u32 flags = 0x001 | 0x004 | 0x010 | 0x040 | 0x080 | 0x800;
	static const u32 edges[] = { 0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000u, 0xFFFFFFFFu, 0x0F };
	u64 s = 42;
	u32 bad = 0;
	for (int i = 0; i < 200000; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		u8 op = (u8)(s % 9), size = (u8[]){ 1, 2, 4 }[(s >> 8) % 3];
		u32 dst = (s >> 16) & 1 ? edges[(s >> 20) % 12] : (u32)(s >> 24);
		u32 src = (s >> 17) & 1 ? edges[(s >> 28) % 12] : (u32)(s >> 32);
		u32 cf_in = (s >> 40) & 1;
		u32 mask = size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
		u32 want, got, wf = host_alu(op, size, dst, src, cf_in | 0x2, &want);
		u32 gf = insn_alu(op, size, dst, src, cf_in | 0x2, &got);
		u32 cmp = flags & ((op == ALU_OR || op == ALU_AND || op == ALU_XOR || op == ALU_TEST) ? ~0x010u : ~0u);
		if (((gf ^ wf) & cmp) || (op != ALU_CMP && op != ALU_TEST && ((got ^ want) & mask))) {
			if (bad++ < 5)
				CHECK(0, "op %u size %u %x,%x cf %u: result %x flags %x, the CPU %x flags %x", op, size, dst,
				      src, cf_in, got, gf & flags, want & mask, wf & flags);
		}
	}
	CHECK(bad == 0, "%u mismatches", bad);
}

static void test_random_bytes(void)
{
	u64 s = 0x1234567887654321ull;
	unsigned decoded = 0;
	for (int i = 0; i < 1000000; i++) {
		u8 buf[15];
		for (int j = 0; j < 15; j++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			buf[j] = (u8)s;
		}
		// Bias towards our opcodes so the deep paths run too.
		if (i & 1) {
			buf[0] = 0x0f;
			buf[1] = (u8[]){ 0x01, 0x20, 0x22, 0x06 }[(s >> 20) & 3];
		}
		unsigned n = (unsigned)(s >> 40) % 16;
		struct insn in;
		if (insn_decode(buf, n, (s >> 50) & 1, &in)) {
			decoded++;
			CHECK(in.len <= n && in.len <= 15, "len %u of %u", in.len, n);
		}
	}
	CHECK(decoded > 1000, "fuzz decoded only %u", decoded);
}

int main(void)
{
	RUN(test_assembled_encodings);
	RUN(test_mem_offset);
	RUN(test_truncation);
	RUN(test_rejects);
	RUN(test_random_bytes);
	RUN(test_alu_flags);
	CHECK_EXIT();
}
