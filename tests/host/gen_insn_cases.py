#!/usr/bin/env python3
# Generate build/tests/host/insn_cases.h: instructions written in AT&T syntax
# with the operand fields we expect, assembled by GNU as for their bytes and
# length. The decoder test checks its output against both, so neither the
# encodings nor the expected fields come from the decoder's own logic.
import random, subprocess, sys, tempfile, os

REGS = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi']
SEGS = {'es': 0, 'cs': 1, 'ss': 2, 'ds': 3, 'fs': 4, 'gs': 5}
KIND = {'invlpg': 'INSN_INVLPG', 'smsw': 'INSN_SMSW', 'lmsw': 'INSN_LMSW'}

def mem_forms(rng, count, absolute=True):
    """absolute=False: always a register (a bare address is the mode's own
    addressing, so it cannot stand for the other one)."""
    forms = []
    for _ in range(count):
        base = rng.choice(REGS + ([None] if absolute else []))
        index = rng.choice([r for r in REGS if r != 'esp'] + [None, None])
        scale = rng.choice([1, 2, 4, 8]) if index else 1
        disp = rng.choice([0, rng.randint(-128, 127), rng.randint(-2**31, 2**31 - 1)])
        if base is None and index is None:
            disp = rng.randint(0, 2**32 - 1)
        seg = rng.choice([None, None, 'es', 'fs', 'gs', 'ss', 'ds', 'cs'])
        text = ''
        if seg:
            text += '%' + seg + ':'
        if disp or (base is None):
            text += str(disp if disp < 2**31 else disp - 2**32)
        if base or index:
            text += '(' + ('%' + base if base else '')
            if index:
                text += ',%' + index + ',' + str(scale)
            text += ')'
        default = 'ss' if base in ('esp', 'ebp') else 'ds'
        forms.append((text, REGS.index(base) if base else -1,
                      REGS.index(index) if index else -1, scale,
                      ((disp + 2**31) % 2**32) - 2**31, SEGS[seg or default]))
    return forms

REGS16 = {'bx': 3, 'bp': 5, 'si': 6, 'di': 7}
MODRM16 = [('bx', 'si'), ('bx', 'di'), ('bp', 'si'), ('bp', 'di'), (None, 'si'), (None, 'di'), ('bp', None), ('bx', None)]

def mem_forms16(rng, count, absolute=True):
    """16-bit addressing: base BX/BP, index SI/DI (the decoder reports SI/DI
    alone as the index), a 16-bit displacement sign-extended."""
    forms = []
    for _ in range(count):
        base, index = rng.choice(MODRM16 + ([(None, None)] if absolute else []))
        disp = rng.choice([0, rng.randint(-128, 127), rng.randint(-32768, 32767)])
        if base is None and index is None:
            disp = rng.randint(0, 65535)
        seg = rng.choice([None, None, 'es', 'fs', 'gs', 'ss', 'ds', 'cs'])
        text = ('%' + seg + ':') if seg else ''
        if disp or (base is None and index is None):
            text += str(disp)
        if base or index:
            text += '(' + ','.join('%' + r for r in (base, index) if r) + ')'
        default = 'ss' if base == 'bp' else 'ds'
        forms.append((text, REGS16[base] if base else -1, REGS16[index] if index else -1, 1,
                      ((disp + 2**15) % 2**16) - 2**15, SEGS[seg or default]))
    return forms

def text_is16(text):
    """A 16-bit addressing form (registers bx/bp/si/di only)."""
    return any(f'%{r}' in text for r in ('bx', 'bp', 'si', 'di')) and not any(f'%e{r}' in text for r in ('bx', 'bp', 'si', 'di'))

def main():
    rng = random.Random(1234)
    # (asm, kind, cr, reg, rm, opsize, has_mem, base, index, scale, disp, seg, code32, addr16, imm)
    cases = []
    for op in ('invlpg', 'smsw', 'lmsw'):
        for text, base, index, scale, disp, seg in mem_forms(rng, 120):
            cases.append((f'{op} {text}', KIND[op], 0, 0, 0, 4, 1, base, index, scale, disp, seg))
    for i, r in enumerate(REGS):
        for cr in (0, 2, 3, 4):
            cases.append((f'mov %cr{cr}, %{r}', 'INSN_MOV_FROM_CR', cr, i, 0, 4, 0, -1, -1, 1, 0, 3))
            cases.append((f'mov %{r}, %cr{cr}', 'INSN_MOV_TO_CR', cr, i, 0, 4, 0, -1, -1, 1, 0, 3))
        cases.append((f'smsw %{r}', 'INSN_SMSW', 0, 0, i, 4, 0, -1, -1, 1, 0, 3))
        r16 = r[1:]
        cases.append((f'smsw %{r16}', 'INSN_SMSW', 0, 0, i, 2, 0, -1, -1, 1, 0, 3))
        cases.append((f'lmsw %{r16}', 'INSN_LMSW', 0, 0, i, 4, 0, -1, -1, 1, 0, 3))
    cases.append(('clts', 'INSN_CLTS', 0, 0, 0, 4, 0, -1, -1, 1, 0, 3))
    cases.append(('rdmsr', 'INSN_RDMSR', 0, 0, 0, 4, 0, -1, -1, 1, 0, 3))
    cases.append(('wrmsr', 'INSN_WRMSR', 0, 0, 0, 4, 0, -1, -1, 1, 0, 3))
    cases.append(('invd', 'INSN_INVD', 0, 0, 0, 4, 0, -1, -1, 1, 0, 3))
    cases.append(('rdpmc', 'INSN_RDPMC', 0, 0, 0, 4, 0, -1, -1, 1, 0, 3))
    cases.append(('cpuid', 'INSN_CPUID', 0, 0, 0, 4, 0, -1, -1, 1, 0, 3))
    # String I/O: kind, the element size in the opsize column, the segment.
    for text, kind, size, seg in (('insb', 'INSN_INS', 1, 0), ('insl', 'INSN_INS', 4, 0), ('insw', 'INSN_INS', 2, 0),
                                  ('outsb', 'INSN_OUTS', 1, 3), ('outsl', 'INSN_OUTS', 4, 3), ('rep outsw', 'INSN_OUTS', 2, 3),
                                  ('rep insb', 'INSN_INS', 1, 0), ('outsb %es:(%esi), (%dx)', 'INSN_OUTS', 1, 0),
                                  ('rep outsl %fs:(%esi), (%dx)', 'INSN_OUTS', 4, 4)):
        cases.append((text, kind, 0, 0, 0, size, 0, -1, -1, 1, 0, seg))
    # AMD's alias: LOCK MOV to/from CR0 is CR8.
    cases.append(('.byte 0xf0, 0x0f, 0x22, 0xc1', 'INSN_MOV_TO_CR', 8, 1, 0, 4, 0, -1, -1, 1, 0, 3))
    cases.append(('.byte 0xf0, 0x0f, 0x20, 0xc7', 'INSN_MOV_FROM_CR', 8, 7, 0, 4, 0, -1, -1, 1, 0, 3))
    # The mod field of MOV CR is ignored.
    cases.append(('.byte 0x0f, 0x22, 0x18', 'INSN_MOV_TO_CR', 3, 0, 0, 4, 0, -1, -1, 1, 0, 3))
    cases = [c + (1, 0) for c in cases]
    # 16-bit addressing in 32-bit code (GNU as adds 0x67).
    for op in ('invlpg', 'smsw', 'lmsw'):
        for text, base, index, scale, disp, seg in mem_forms16(rng, 40, absolute=False):
            cases.append((f'{op} {text}', KIND[op], 0, 0, 0, 4, 1, base, index, scale, disp, seg, 1, 1))
    # 16-bit code: its own addressing, and 32-bit addressing with 0x67.
    for op in ('invlpg', 'smsw', 'lmsw'):
        for text, base, index, scale, disp, seg in mem_forms16(rng, 60):
            cases.append((f'{op} {text}', KIND[op], 0, 0, 0, 2, 1, base, index, scale, disp, seg, 0, 1))
        for text, base, index, scale, disp, seg in mem_forms(rng, 30, absolute=False):
            cases.append((f'{op} {text}', KIND[op], 0, 0, 0, 2, 1, base, index, scale, disp, seg, 0, 0))
    for i, r in enumerate(REGS):
        for cr in (0, 3, 4):
            cases.append((f'mov %cr{cr}, %{r}', 'INSN_MOV_FROM_CR', cr, i, 0, 2, 0, -1, -1, 1, 0, 3, 0, 1))
            cases.append((f'mov %{r}, %cr{cr}', 'INSN_MOV_TO_CR', cr, i, 0, 2, 0, -1, -1, 1, 0, 3, 0, 1))
        cases.append((f'smsw %{r[1:]}', 'INSN_SMSW', 0, 0, i, 2, 0, -1, -1, 1, 0, 3, 0, 1))
        cases.append((f'smsw %{r}', 'INSN_SMSW', 0, 0, i, 4, 0, -1, -1, 1, 0, 3, 0, 1))
        cases.append((f'lmsw %{r[1:]}', 'INSN_LMSW', 0, 0, i, 2, 0, -1, -1, 1, 0, 3, 0, 1))
    for op, kind in (('clts', 'INSN_CLTS'), ('rdmsr', 'INSN_RDMSR'), ('wrmsr', 'INSN_WRMSR')):
        cases.append((op, kind, 0, 0, 0, 2, 0, -1, -1, 1, 0, 3, 0, 1))
    cases = [c + (0,) for c in cases]  # the immediate column
    # MOV to and from memory (MMIO): every size, every register, loads and
    # stores, immediates; 32-bit code with both address sizes, 16-bit code.
    REG8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh']
    def regname(i, size):
        return REG8[i] if size == 1 else (REGS[i] if size == 4 else REGS[i][1:])
    suffix = {1: 'b', 2: 'w', 4: 'l'}
    for code32, forms in ((1, mem_forms(rng, 60)), (1, mem_forms16(rng, 20, absolute=False)), (0, mem_forms16(rng, 30))):
        for text, base, index, scale, disp, seg in forms:
            size = rng.choice([1, 2, 4])
            r = rng.randrange(8)
            addr16 = 1 if (code32 == 0 or text_is16(text)) else 0
            rn = regname(r, size)
            cases.append((f'mov{suffix[size]} {text}, %{rn}', 'INSN_MOV_LOAD', 0, r, 0, size, 1,
                          base, index, scale, disp, seg, code32, addr16, 0))
            cases.append((f'mov{suffix[size]} %{rn}, {text}', 'INSN_MOV_STORE', 0, r, 0, size, 1,
                          base, index, scale, disp, seg, code32, addr16, 0))
            imm = rng.randrange(2 ** (8 * size))
            cases.append((f'mov{suffix[size]} ${imm}, {text}', 'INSN_MOV_STORE', 0, 0, 0, size, 1,
                          base, index, scale, disp, seg, code32, addr16, imm))
    # The accumulator with a bare offset (A0-A3), as GNU as picks for %eax.
    for size in (1, 2, 4):
        acc = regname(0, size)
        off = rng.randrange(2 ** 32)
        cases.append((f'mov{suffix[size]} {off}, %{acc}', 'INSN_MOV_LOAD', 0, 0, 0, size, 1, -1, -1, 1,
                      off - 2 ** 32 if off >= 2 ** 31 else off, 3, 1, 0, 0))
        cases.append((f'mov{suffix[size]} %{acc}, %fs:{off}', 'INSN_MOV_STORE', 0, 0, 0, size, 1, -1, -1, 1,
                      off - 2 ** 32 if off >= 2 ** 31 else off, 4, 1, 0, 0))

    # The ALU forms with a memory operand (INSN_ALU; the cr column says the
    # operation, the rm column whether the register is the destination):
    # register to memory, memory to register, an immediate to memory.
    ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp', 'test']
    for code32, forms in ((1, mem_forms(rng, 90)), (0, mem_forms16(rng, 30))):
        for text, base, index, scale, disp, seg in forms:
            size = rng.choice([1, 2, 4])
            op = rng.randrange(len(ALU))
            r = rng.randrange(8)
            addr16 = 1 if (code32 == 0 or text_is16(text)) else 0
            rn, m = regname(r, size), f'{ALU[op]}{suffix[size]}'
            row = lambda asm, reg, to_reg, imm: (asm, 'INSN_ALU', op, reg, to_reg, size, 1, base, index, scale,
                                                 disp, seg, code32, addr16, imm)
            cases.append(row(f'{m} %{rn}, {text}', r, 0, 0))
            if ALU[op] != 'test':
                cases.append(row(f'{m} {text}, %{rn}', r, 1, 0))
            imm = rng.choice([rng.randrange(128), rng.randrange(2 ** (8 * size))])
            cases.append(row(f'{m} ${imm}, {text}', 0, 0, imm))

    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, 'c.s')
        with open(src, 'w') as f:
            for i, c in enumerate(cases):
                f.write(f'.code{32 if c[12] else 16}\nc{i}: {c[0]}\n')
            f.write(f'c{len(cases)}:\n')
        obj = os.path.join(d, 'c.o')
        subprocess.run(['as', '--32', src, '-o', obj], check=True)
        binf = os.path.join(d, 'c.bin')
        subprocess.run(['objcopy', '-O', 'binary', '-j', '.text', obj, binf], check=True)
        code = open(binf, 'rb').read()
        syms = subprocess.run(['nm', obj], check=True, capture_output=True, text=True).stdout
    addr = {}
    for line in syms.split('\n'):
        p = line.split()
        if len(p) == 3 and p[2].startswith('c'):
            addr[int(p[2][1:])] = int(p[0], 16)
    out = ['// Generated by tests/host/gen_insn_cases.py: do not edit.',
           'static const struct insn_case insn_cases[] = {']
    for i, c in enumerate(cases):
        b = code[addr[i]:addr[i + 1]]
        hexes = ', '.join(f'0x{x:02x}' for x in b)
        asm = c[0].replace('\\', '\\\\').replace('"', '\\"')
        out.append(f'\t{{ "{asm}", {{ {hexes} }}, {len(b)}, {c[1]}, {c[2]}, {c[3]}, {c[4]}, {c[5]}, {c[6]}, '
                   f'{c[7]}, {c[8]}, {c[9]}, {c[10]}, {c[11]}, {c[12]}, {c[13]}, {c[14]}u }},')
    out.append('};')
    open(sys.argv[1], 'w').write('\n'.join(out) + '\n')

main()
