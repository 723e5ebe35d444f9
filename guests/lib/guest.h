/* guest.h - the small runtime every test guest links: port I/O, serial, printf, exit. */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define MB1_BOOT_MAGIC 0x2badb002

/* The operand of LGDT/LIDT/SGDT/SIDT in 32-bit code, and a 32-bit IDT/call gate. */
struct dtr32 {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

struct gate32 {
	uint16_t off_lo, sel;
	uint8_t zero, type;
	uint16_t off_hi;
} __attribute__((packed));

struct mb1_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
} __attribute__((packed));

struct mb1_mmap_entry {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p));
	return v;
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
/* Debug registers (CPL 0). */
static inline uint32_t read_dr6(void)
{
	uint32_t v;
	__asm__ volatile("mov %%dr6, %0" : "=r"(v));
	return v;
}
static inline void write_dr0(uint32_t v) { __asm__ volatile("mov %0, %%dr0" : : "r"(v)); }
static inline void write_dr1(uint32_t v) { __asm__ volatile("mov %0, %%dr1" : : "r"(v)); }
static inline void write_dr6(uint32_t v) { __asm__ volatile("mov %0, %%dr6" : : "r"(v)); }
static inline void write_dr7(uint32_t v) { __asm__ volatile("mov %0, %%dr7" : : "r"(v)); }

void serial_init(void);
void serial_putc(char c);
int serial_getc(void); /* -1 when nothing is waiting */
void puts(const char *s);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
/* Inline here, not in runtime.c: code in guests/lib's .c files is linked into every guest,
 * and a guest that does not use it would still carry it (see paging.h). */
static inline int snprintf(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* Ends the run with code v: QEMU's isa-debug-exit (status (v << 1) | 1), then Bochs's shutdown
 * port for bare-Bochs reference runs. */
void guest_exit(int v) __attribute__((noreturn));

/* Prints "PASS name" or "FAIL name: detail" and counts failures. */
extern int guest_failures;
void check(bool ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int guest_main(uint32_t magic, struct mb1_info *mbi);

#endif
