// Fixed-width types and the address-space vocabulary shared by every module.
// Freestanding: usable in the VMM, in guests' host-side tests, and in mm/ host builds.
#ifndef UMBRA_TYPES_H
#define UMBRA_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

// One name per address space; they are plain integers, so the names are the
// only thing keeping a guest-physical address from being used as a host one.
typedef u32 gva_t;  // guest-virtual (32-bit guests)
typedef u32 gpa_t;  // guest-physical
typedef u32 gfn_t;  // guest frame number (gpa >> 12)
typedef u64 hpa_t;  // host-physical
typedef u64 hfn_t;  // host frame number (hpa >> 12)

#define PAGE_SHIFT 12
#define PAGE_SIZE (1u << PAGE_SHIFT)
#define PAGE_MASK (~(u64)(PAGE_SIZE - 1))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
