/* types.h - fixed-width types, address types and bit helpers shared by every module. */
#ifndef ARCH_TYPES_H
#define ARCH_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef unsigned long long u64; /* %llx everywhere, host and target */
typedef uint32_t u32;
typedef uint16_t u16;
typedef uint8_t u8;
typedef long long s64;
typedef int32_t s32;

/*
 * Address vocabulary (docs/mmu.md):
 *   gva_t  guest virtual address      gpa_t  guest physical address
 *   gfn_t  guest frame number         hpa_t  host physical address
 * Plain integer typedefs: they document intent at every interface.
 */
typedef u64 gva_t;
typedef u64 gpa_t;
typedef u64 gfn_t;
typedef u64 hpa_t;

#define BIT(n) (1ULL << (n))
#define GENMASK(h, l) (((~0ULL) >> (63 - (h))) & ~((1ULL << (l)) - 1))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((u64)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define PAGE_SIZE 4096ULL
#define PAGE_SHIFT 12

#define KiB (1024ULL)
#define MiB (1024ULL * 1024)
#define GiB (1024ULL * 1024 * 1024)

#define __packed __attribute__((packed))
#define __noreturn __attribute__((noreturn))
#define __unused __attribute__((unused))
#define __printf(a, b) __attribute__((format(printf, a, b)))

#endif
