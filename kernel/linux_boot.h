/* linux_boot.h - the Linux x86 boot protocol: reading a bzImage's setup header, planning where
 * the kernel, its initrd and its boot_params go in guest RAM, and writing them there.
 * Pure: works on byte buffers, host-tested in tests/unit/test_linux_boot.c (docs/linux.md).
 * Facts from Documentation/arch/x86/boot.rst ("boot.rst" below). hv/hv.c uses it when the
 * first module is a bzImage (docs/linux.md). */
#ifndef KERNEL_LINUX_BOOT_H
#define KERNEL_LINUX_BOOT_H

#include "arch/types.h"
#include "kernel/guest_start.h"

/*
 * Setup header fields: the same offset in the image file and in boot_params ("the zero page"),
 * which embeds the header at 0x1f1. boot.rst "The real-mode kernel header"; the protocol
 * version that introduced a field in brackets.
 */
#define LINUX_HDR_SETUP_SECTS 0x1f1      /* u8: setup sectors after the boot sector; 0 = 4 */
#define LINUX_HDR_SYSSIZE 0x1f4          /* u32: protected-mode size, 16-byte units [2.04] */
#define LINUX_HDR_VID_MODE 0x1fa         /* u16: 0xffff = "normal" */
#define LINUX_HDR_BOOT_FLAG 0x1fe        /* u16: 0xaa55 */
#define LINUX_HDR_JUMP 0x200             /* jmp short: the byte at 0x201 ends the header */
#define LINUX_HDR_MAGIC 0x202            /* "HdrS" */
#define LINUX_HDR_VERSION 0x206          /* u16: major << 8 | minor */
#define LINUX_HDR_TYPE_OF_LOADER 0x210   /* u8, written by the loader */
#define LINUX_HDR_LOADFLAGS 0x211        /* u8, LINUX_LF_* */
#define LINUX_HDR_CODE32_START 0x214     /* u32: 32-bit entry = the load address */
#define LINUX_HDR_RAMDISK_IMAGE 0x218    /* u32 */
#define LINUX_HDR_RAMDISK_SIZE 0x21c     /* u32 */
#define LINUX_HDR_HEAP_END_PTR 0x224     /* u16 [2.01] */
#define LINUX_HDR_EXT_LOADER_VER 0x226   /* u8 [2.02] */
#define LINUX_HDR_EXT_LOADER_TYPE 0x227  /* u8 [2.02] */
#define LINUX_HDR_CMD_LINE_PTR 0x228     /* u32 [2.02] */
#define LINUX_HDR_INITRD_ADDR_MAX 0x22c  /* u32: highest address of an initrd byte [2.03] */
#define LINUX_HDR_KERNEL_ALIGNMENT 0x230 /* u32 [2.05] */
#define LINUX_HDR_RELOCATABLE 0x234      /* u8 [2.05] */
#define LINUX_HDR_MIN_ALIGNMENT 0x235    /* u8: log2 [2.10] */
#define LINUX_HDR_XLOADFLAGS 0x236       /* u16, LINUX_XLF_* [2.12] */
#define LINUX_HDR_CMDLINE_SIZE 0x238     /* u32: longest command line, NUL excluded [2.06] */
#define LINUX_HDR_PAYLOAD_OFFSET 0x248   /* u32: from the protected-mode start [2.08] */
#define LINUX_HDR_PAYLOAD_LENGTH 0x24c   /* u32 [2.08] */
#define LINUX_HDR_SETUP_DATA 0x250       /* u64: list of struct setup_data [2.09] */
#define LINUX_HDR_PREF_ADDRESS 0x258     /* u64 [2.10] */
#define LINUX_HDR_INIT_SIZE 0x260        /* u32: bytes needed from the runtime start [2.10] */
#define LINUX_HDR_HANDOVER_OFFSET 0x264  /* u32 [2.11] */
#define LINUX_HDR_MIN_END 0x268          /* a 2.12 header reaches at least this far */

#define LINUX_HDR_MAGIC_VALUE 0x53726448u /* "HdrS", little-endian */
#define LINUX_BOOT_FLAG_VALUE 0xaa55
#define LINUX_MIN_VERSION 0x020c          /* 2.12: xloadflags, the 64-bit entry flag */
#define LINUX_VERSION_ACPI_RSDP 0x020e    /* 2.14: boot_params.acpi_rsdp_addr */
#define LINUX_SECTOR 512
#define LINUX_SETUP_SECTS_DEFAULT 4       /* what setup_sects = 0 means */
#define LINUX_ENTRY64_OFFSET 0x200        /* 64-bit entry = load address + 0x200 */

/* loadflags (boot.rst "Details of header fields") */
#define LINUX_LF_LOADED_HIGH BIT(0)  /* set by the kernel: protected mode loaded at >= 1 MiB */
#define LINUX_LF_QUIET BIT(5)        /* loader: suppress early messages */
#define LINUX_LF_KEEP_SEGMENTS BIT(6)/* loader: obsolete (2.07+); entry code reloads segments */
#define LINUX_LF_CAN_USE_HEAP BIT(7) /* loader: heap_end_ptr is valid (real-mode setup only) */

/* xloadflags */
#define LINUX_XLF_KERNEL_64 BIT(0)              /* has the 64-bit entry at +0x200 */
#define LINUX_XLF_CAN_BE_LOADED_ABOVE_4G BIT(1) /* kernel, boot_params, initrd above 4 GiB */
#define LINUX_XLF_EFI_HANDOVER_32 BIT(2)
#define LINUX_XLF_EFI_HANDOVER_64 BIT(3)
#define LINUX_XLF_EFI_KEXEC BIT(4)

/* Loader id: 0xff is "undefined", what boot.rst asks a loader without an assigned id to use. */
#define LINUX_LOADER_ID_UNDEFINED 0xff
#define LINUX_VID_MODE_NORMAL 0xffff

/* boot_params ("zero page", 4 KiB) fields outside the setup header (boot.rst "The zero page"
 * and arch/x86/include/uapi/asm/bootparam.h). */
#define LINUX_BP_SIZE 4096
#define LINUX_BP_ACPI_RSDP_ADDR 0x070     /* u64 [2.14] */
#define LINUX_BP_EXT_RAMDISK_IMAGE 0x0c0  /* u32: bits 63:32 of ramdisk_image */
#define LINUX_BP_EXT_RAMDISK_SIZE 0x0c4   /* u32: bits 63:32 of ramdisk_size */
#define LINUX_BP_EXT_CMD_LINE_PTR 0x0c8   /* u32: bits 63:32 of cmd_line_ptr */
#define LINUX_BP_SCRATCH 0x1e4            /* u32: the 32-bit entry's first stack */
#define LINUX_BP_E820_ENTRIES 0x1e8       /* u8 */
#define LINUX_BP_SENTINEL 0x1ef           /* u8: nonzero = a loader copied too much */
#define LINUX_BP_HDR 0x1f1                /* the setup header */
#define LINUX_BP_HDR_LIMIT 0x290          /* edd_mbr_sig_buffer: a header must end before */
#define LINUX_BP_E820_TABLE 0x2d0         /* LINUX_E820_MAX entries of 20 bytes */
#define LINUX_E820_MAX 128
#define LINUX_E820_ENTRY_SIZE 20          /* u64 addr, u64 size, u32 type (packed) */
_Static_assert(LINUX_BP_E820_TABLE + LINUX_E820_MAX * LINUX_E820_ENTRY_SIZE <= 0xd00,
	       "e820 table overlaps eddbuf");

/*
 * Where the loader puts its own things in guest-physical memory (docs/linux.md): all below
 * 1 MiB, which Linux keeps reserved; the kernel and the initrd go at or above LINUX_LOW_END.
 * The 32-bit entry needs __BOOT_CS = 0x10 and __BOOT_DS = 0x18 flat (boot.rst "32-bit boot
 * protocol"), not the multiboot guests' 0x08/0x10, hence a GDT of its own.
 */
#define LINUX_GDT_GPA 0x1000          /* null, null, 0x10 flat code32, 0x18 flat data */
#define LINUX_GDT_LIMIT 0x1f
#define LINUX_BOOT_CS 0x10
#define LINUX_BOOT_DS 0x18
#define LINUX_BOOT_PARAMS_GPA 0x7000  /* the zero page: ESI (RSI) at entry */
#define LINUX_CMDLINE_GPA 0x20000
#define LINUX_CMDLINE_AREA 0x10000    /* command line + NUL, whatever cmdline_size says */
#define LINUX_LOW_END 0x100000

/* One entry of the guest's memory map; type as in e820 (the numbers multiboot2 took over:
 * MB2_MEM_AVAILABLE = 1 is RAM, anything else is not). */
struct linux_e820_entry {
	u64 addr, size;
	u32 type;
};

/* What the setup header says (all sizes in bytes). */
struct linux_header {
	u16 version;              /* 0x020f = 2.15 */
	u8 setup_sects;           /* effective: 0 in the image reads as 4 */
	u8 loadflags;
	u16 xloadflags;
	bool relocatable;
	u8 min_alignment;         /* log2 */
	u64 setup_size;           /* (setup_sects + 1) * 512: the file offset of protected mode */
	u64 pm_size;              /* syssize * 16: the protected-mode kernel */
	u64 hdr_end;              /* 0x202 + byte at 0x201 */
	u32 kernel_alignment, init_size, initrd_addr_max, cmdline_size, code32_start;
	u32 payload_offset, payload_length;
	u64 pref_address;
};

struct linux_boot_args {
	const u8 *kernel;         /* the bzImage file */
	u64 kernel_len;
	const u8 *initrd;         /* NULL or initrd_len = 0: none */
	u64 initrd_len;
	const char *cmdline;      /* NULL = "" */
	const struct linux_e820_entry *map; /* the guest's memory map, given to Linux verbatim */
	u32 map_entries;
	gpa_t acpi_rsdp;          /* 0 = none (the kernel scans the BIOS area) */
	bool entry64;             /* the 64-bit entry (caller builds page tables) */
};

/*
 * The plan: where everything goes and how the vCPU must start. 32-bit entry (default): protected
 * mode, paging off, GDTR = gdt_gpa/gdt_limit, CS = code_sel, DS ES SS (FS GS) = data_sel, all
 * flat; IF = 0; ESI = boot_params_gpa; EBX = EBP = EDI = 0; EIP = entry. 64-bit entry: long
 * mode with an identity map covering the kernel, boot_params and the command line (the caller's
 * job), the same selectors, RSI = boot_params_gpa, RIP = entry.
 */
struct linux_boot_plan {
	struct linux_header hdr;
	gpa_t kernel_gpa;         /* the protected-mode kernel's load (and runtime start) address */
	u64 kernel_copy;          /* bytes copied there (hdr.pm_size) */
	u64 kernel_span;          /* bytes reserved from there (init_size) */
	gpa_t entry;
	bool entry64;
	gpa_t initrd_gpa;         /* 0 when there is no initrd */
	u64 initrd_size;
	gpa_t boot_params_gpa;
	gpa_t cmdline_gpa;
	u64 cmdline_len;          /* without the NUL */
	gpa_t gdt_gpa;
	u16 gdt_limit, code_sel, data_sel;
	u32 e820_entries;
	bool rsdp_passed;         /* acpi_rsdp written (protocol 2.14+) */
};

/* True when img looks like a Linux bzImage ("HdrS" at 0x202): how a caller chooses the loader. */
bool linux_is_bzimage(const u8 *img, u64 len);

/*
 * Reads and checks the setup header: boot flag, "HdrS", protocol 2.12 or later, a bzImage
 * (LOADED_HIGH), header length, the file long enough for the setup sectors and the protected-
 * mode kernel (syssize), payload inside it, init_size covering it, a relocatable kernel's
 * alignment a power of two. Returns 0, or -1 with a one-line reason in err.
 */
int linux_parse_header(const u8 *img, u64 len, struct linux_header *h, char *err, size_t errlen);

/*
 * Checks everything and computes the plan for guest RAM [0, ram_size), writing nothing:
 * the kernel at pref_address (a relocatable one higher, aligned, if that is not free RAM) with
 * init_size bytes of free RAM from there; the initrd page-aligned, as high as possible, below
 * initrd_addr_max and clear of the kernel and of every non-RAM map entry; the command line
 * within cmdline_size. Returns 0, or -1 with a one-line reason in err.
 */
int linux_boot_plan(const struct linux_boot_args *a, u64 ram_size, struct linux_boot_plan *p,
		    char *err, size_t errlen);

/*
 * Writes a plan from linux_boot_plan (same args) into ram: the GDT, boot_params (zeroed, the
 * image's setup header, the loader's fields, the e820 table, the RSDP), the command line, the
 * protected-mode kernel and the initrd. Writes nothing else.
 */
void linux_boot_write(const struct linux_boot_args *a, const struct linux_boot_plan *p, u8 *ram,
		      u64 ram_size);

/* linux_boot_plan, then linux_boot_write when it succeeds: a refusal leaves ram untouched. */
int linux_boot_load(const struct linux_boot_args *a, u8 *ram, u64 ram_size,
		    struct linux_boot_plan *p, char *err, size_t errlen);

/*
 * The vCPU start state of a plan with the 32-bit entry (boot.rst "32-bit boot protocol"):
 * EIP = entry, ESI = boot_params, EAX = EBX = 0, the plan's GDT and selectors. Returns 0, or
 * -1 for a 64-bit-entry plan (long mode is not a struct guest_start state).
 */
int linux_boot_start(const struct linux_boot_plan *p, struct guest_start *s);

#endif
