// Decoding the few instructions umbra intercepts, in 32-bit or 16-bit code
// segments (CS.D), with the operand- and address-size prefixes and 16-bit
// ModRM addressing: QEMU's SVM has no decode assists or next-RIP, so umbra
// reads the bytes at CS:EIP itself. Pure C, no hardware access: also built
// into host tests.
#ifndef UMBRA_INSN_H
#define UMBRA_INSN_H

#include "types.h"

enum insn_kind {
	INSN_INVALID,      // not decodable: truncated, too long, or not one of ours
	INSN_MOV_FROM_CR,  // 0F 20 /r
	INSN_MOV_TO_CR,    // 0F 22 /r
	INSN_CLTS,         // 0F 06
	INSN_LMSW,         // 0F 01 /6
	INSN_SMSW,         // 0F 01 /4
	INSN_INVLPG,       // 0F 01 /7, memory operand only
	INSN_RDMSR,        // 0F 32
	INSN_WRMSR,        // 0F 30
	INSN_INVD,         // 0F 08
	INSN_RDPMC,        // 0F 33
	INSN_CPUID,        // 0F A2
	INSN_INS,          // 6C, 6D: INSB, INSW/INSD (REP with F3/F2)
	INSN_OUTS,         // 6E, 6F: OUTSB, OUTSW/OUTSD
	// Memory moves, the forms a device register (MMIO) is read and written
	// with; memory operands only (a register-to-register MOV never exits):
	INSN_MOV_LOAD,     // 8A, 8B /r: reg <- mem; A0, A1: AL/eAX <- moffs
	INSN_MOV_STORE,    // 88, 89 /r: mem <- reg; A2, A3: moffs <- AL/eAX;
	                   // C6 /0 ib, C7 /0 iw/id: mem <- imm (has_imm)
	// The arithmetic and logic forms with a memory operand, the other way
	// kernels touch device registers (`apic[SVR] |= 0x100` at -O2 is an OR
	// to memory): 00-3B (ADD OR ADC SBB AND SUB XOR CMP, r/m with a
	// register either way), 80/81/83 /n with an immediate, 84/85 TEST,
	// F6/F7 /0 TEST with an immediate. alu says which, to_reg whether the
	// register is the destination.
	INSN_ALU,
};

enum alu_op { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP, ALU_TEST };

struct insn_mem {
	s8 base;     // GPR number, or -1
	s8 index;    // GPR number, or -1
	u8 scale;    // 1, 2, 4 or 8 (1 with 16-bit addressing)
	bool addr16; // 16-bit addressing: BX/BP + SI/DI + disp16, wrapping at 64 KiB
	s32 disp;
};

struct insn {
	enum insn_kind kind;
	u8 len;       // bytes, prefixes included
	u8 opsize;    // 2 or 4: the segment's default, or the other with 0x66
	u8 size;      // INS/OUTS: bytes an element; MOV: bytes moved (1, 2 or 4)
	bool rep;     // INS/OUTS: an F3 or F2 prefix (ECX counts, CX with 16-bit addressing)
	u8 seg;       // segment of the memory operand: ES=0 CS SS DS FS GS=5
	u8 reg;       // MOV CR: the GPR; MOV: the register operand (size 1:
	              // 0-3 AL..BL, 4-7 AH..BH)
	u8 rm;        // LMSW/SMSW register form: the GPR
	u8 cr;        // MOV CR: the control register (LOCK MOV CR0 is CR8)
	bool has_imm; // MOV from C6/C7, ALU from 80/81/83/F6/F7: the source is imm
	u32 imm;      // (sign-extended to the operand size for 83)
	u8 alu;       // INSN_ALU: enum alu_op
	bool to_reg;  // INSN_ALU: the register is the destination (02, 03, 0A, ...)
	bool has_mem; // LMSW/SMSW/INVLPG/MOV: a memory operand in mem; INS/OUTS:
	              // mem.addr16 says the address size (SI/DI/CX or ESI/EDI/ECX)
	struct insn_mem mem;
};

// Decode at most n bytes at code, in a code segment whose default operand
// and address size is 32 bits (CS.D=1) or 16. Never reads past n. Returns
// false, with kind INVALID, for anything umbra does not emulate.
bool insn_decode(const u8 *code, unsigned n, bool code32, struct insn *out);
// Offset of the memory operand (wrapping at 32 or 16 bits), from GPRs EAX..EDI.
// An ALU operation of size bytes (1, 2, 4) on dst and src, as the CPU does
// it: the result (what a destination gets, unless CMP or TEST) and EFLAGS
// with CF, PF, AF, ZF, SF, OF updated (AF is undefined for the logic
// operations; 0 here, as Intel and AMD CPUs leave it).
u32 insn_alu(u8 op, u8 size, u32 dst, u32 src, u32 eflags, u32 *result);
u32 insn_mem_offset(const struct insn *in, const u32 gpr[8]);

#endif
