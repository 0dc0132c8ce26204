// Helpers for the edge-case guests (tests/edge): each one misbehaves in one
// way and states, in its header, the status and log line umbra must give.
#ifndef EDGE_H
#define EDGE_H
typedef unsigned int u32;
typedef unsigned long long u64;
static inline void outb(unsigned short p, unsigned char v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outw(unsigned short p, unsigned short v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outl(unsigned short p, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(p)); }
static inline unsigned char inb(unsigned short p) { unsigned char v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline void putc_(char c) { while (!(inb(0x3FD) & 0x20)) ; outb(0x3F8, (unsigned char)c); }
static inline void puts_(const char *s) { while (*s) putc_(*s++); }
void main(u32 magic, u32 mbi);
#endif
