// Decoder for the instructions umbra intercepts or emulates, in a 32-bit code
// segment: QEMU's SVM has no decode assists or next-RIP, so umbra decodes the
// bytes at CS:EIP itself. Pure C, no hardware access: also built into host tests.
// Supersedes insn.h/insn.c (same names and fields): link one of the two, never both.
#ifndef UMBRA_DECODE_H
#define UMBRA_DECODE_H

#include "types.h"

#define INSN_MAX_LEN 15

enum insn_kind {
	// insn_decode() returns false with one of these three.
	INSN_INVALID,     // not one of ours, malformed, or longer than 15 bytes
	INSN_UNSUPPORTED, // ours, but 16-bit addressing (67 prefix with a memory operand)
	INSN_TRUNCATED,   // needs more than the n < 15 bytes given: the rest is unreadable
	// insn_decode() returns true with any of the following.
	INSN_UD,          // complete but raises #UD: MOV with a CR other than 0,2,3,4,8,
	                  // or LOCK on an instruction or register operand that refuses it
	INSN_MOV_FROM_CR, // 0F 20 /r        reg <- cr
	INSN_MOV_TO_CR,   // 0F 22 /r        cr <- reg
	INSN_CLTS,        // 0F 06
	INSN_LMSW,        // 0F 01 /6        r/m16
	INSN_SMSW,        // 0F 01 /4        r/m16, or r32 (r16 with 66)
	INSN_INVLPG,      // 0F 01 /7        memory only
	INSN_HLT,         // F4
	INSN_VMMCALL,     // 0F 01 D9
	INSN_CPUID,       // 0F A2
	INSN_RDMSR,       // 0F 32
	INSN_WRMSR,       // 0F 30
	INSN_IN,          // E4 E5 (port imm8), EC ED (port DX)
	INSN_OUT,         // E6 E7 (port imm8), EE EF (port DX)
	INSN_INS,         // 6C 6D           ES:[EDI] <- port DX
	INSN_OUTS,        // 6E 6F           port DX <- seg:[ESI]
	// r/m destinations, for the write emulator: source is imm if has_imm, else reg.
	INSN_MOV,         // 88 89, C6 /0 ib, C7 /0 iz
	INSN_MOVS,        // A4 A5           ES:[EDI] <- seg:[ESI]
	INSN_STOS,        // AA AB           ES:[EDI] <- AL/AX/EAX
	INSN_XCHG,        // 86 87
	INSN_CMPXCHG,     // 0F B0 0F B1     (accumulator implicit)
	INSN_ADD,         // 00 01, 80/81/83 /0
	INSN_OR,          // 08 09, 80/81/83 /1
	INSN_AND,         // 20 21, 80/81/83 /4
	INSN_SUB,         // 28 29, 80/81/83 /5
	INSN_XOR,         // 30 31, 80/81/83 /6
	INSN_BTS,         // 0F AB /r, 0F BA /5 ib
	INSN_BTR,         // 0F B3 /r, 0F BA /6 ib
	INSN_BTC,         // 0F BB /r, 0F BA /7 ib
};

// Segments and GPRs are numbered in hardware order.
enum insn_seg { INSN_SEG_ES, INSN_SEG_CS, INSN_SEG_SS, INSN_SEG_DS, INSN_SEG_FS, INSN_SEG_GS };

// Memory operand: seg:[base + index * scale + disp], 32-bit wrap-around.
struct insn_mem {
	s8 base;   // GPR 0..7 (EAX..EDI), or -1
	s8 index;  // GPR 0..7 except 4 (ESP), or -1
	u8 scale;  // 1, 2, 4 or 8 (1 without an index)
	s32 disp;  // disp8 sign-extended, or disp32
};

// Invariants after a successful decode: 1 <= len <= min(n, 15); base, index,
// reg and rm are 0..7 (or -1 where said); with opsize 1, GPRs 4..7 name
// AH CH DH BH as the hardware encoding does.
struct insn {
	enum insn_kind kind;
	u8 len;       // bytes, prefixes included; 0 on failure
	u8 opsize;    // data operand bytes: 1, 2 or 4 (4, or 2 with 66, if none)
	u8 seg;       // enum insn_seg of mem (default DS, SS for an ESP/EBP base,
	              // an override wins); MOVS/OUTS: of [ESI]; STOS/INS: ES
	u8 reg;       // ModRM.reg as a GPR (source of stores, XCHG, BTx bit offset);
	              // MOV CR: the GPR (ModRM.rm)
	u8 rm;        // ModRM.rm as a GPR when !has_mem (e.g. LMSW/SMSW register form)
	u8 cr;        // MOV CR: 0..15 (LOCK adds 8: AMD's CR8 alias)
	bool has_mem; // a ModRM memory operand is in mem
	bool has_imm; // imm holds an immediate (IN/OUT: the port)
	bool rep;     // F2 or F3 on a string instruction
	bool lock;    // F0 (on MOV CR it already went into cr)
	u32 imm;      // zero-extended from opsize (83 ib: sign-extended to opsize
	              // first); 0F BA: the imm8 bit offset; IN/OUT: the imm8 port
	struct insn_mem mem;
};

// Decode the instruction at code, reading at most min(n, 15) bytes. Returns
// true with *out filled (kind may be INSN_UD), or false with out->kind one of
// INVALID, UNSUPPORTED, TRUNCATED. Any byte string is safe to pass.
bool insn_decode(const u8 *code, unsigned n, struct insn *out);

// Offset of in->mem within its segment, from GPRs EAX..EDI, wrapping at 2^32.
u32 insn_mem_offset(const struct insn *in, const u32 gpr[8]);

#endif
