/* x86.h - x86 architectural facts: control-register, RFLAGS, EFER and MSR numbers and bits,
 * exception vectors, segment access rights, the page-fault error code and guest paging-entry
 * bits, CPUID feature bits; each defined once (docs/architecture.md), plus pure predicates over
 * them (x86_code64). No inline asm (arch/asm.h): pure modules and host tests include it. */
#ifndef ARCH_X86_H
#define ARCH_X86_H

#include "arch/types.h"

/* Control-register bits (SDM Vol. 3A, 2.5). */
#define CR0_PE BIT(0)
#define CR0_MP BIT(1)
#define CR0_EM BIT(2)
#define CR0_TS BIT(3)
#define CR0_ET BIT(4)
#define CR0_NE BIT(5)
#define CR0_WP BIT(16)
#define CR0_AM BIT(18)
#define CR0_NW BIT(29)
#define CR0_CD BIT(30)
#define CR0_PG BIT(31)

#define CR3_PCID_NOFLUSH BIT(63) /* MOV to CR3 with CR4.PCIDE: keep the PCID's TLB entries */

#define CR4_VME BIT(0)
#define CR4_PVI BIT(1)
#define CR4_TSD BIT(2)
#define CR4_DE BIT(3)
#define CR4_PSE BIT(4)
#define CR4_PAE BIT(5)
#define CR4_MCE BIT(6)
#define CR4_PGE BIT(7)
#define CR4_PCE BIT(8)
#define CR4_OSFXSR BIT(9)
#define CR4_OSXMMEXCPT BIT(10)
#define CR4_UMIP BIT(11)
#define CR4_LA57 BIT(12)
#define CR4_VMXE BIT(13)
#define CR4_SMXE BIT(14)
#define CR4_FSGSBASE BIT(16)
#define CR4_PCIDE BIT(17)
#define CR4_OSXSAVE BIT(18)
#define CR4_SMEP BIT(20)
#define CR4_SMAP BIT(21)
#define CR4_PKE BIT(22)

/* RFLAGS (SDM Vol. 1, 3.4.3). */
#define RFLAGS_CF BIT(0)    /* carry */
#define RFLAGS_FIXED BIT(1) /* always 1 */
#define RFLAGS_PF BIT(2)    /* parity */
#define RFLAGS_AF BIT(4)    /* auxiliary carry (BCD) */
#define RFLAGS_ZF BIT(6)    /* zero */
#define RFLAGS_SF BIT(7)    /* sign */
#define RFLAGS_TF BIT(8)    /* trap (single step) */
#define RFLAGS_IF BIT(9)    /* interrupt enable */
#define RFLAGS_DF BIT(10)   /* direction */
#define RFLAGS_OF BIT(11)   /* overflow */
#define RFLAGS_RF BIT(16)   /* resume: suppresses instruction breakpoints for one instruction */
#define RFLAGS_VM BIT(17)   /* virtual-8086 mode */
#define RFLAGS_AC BIT(18)   /* alignment check / SMAP override */
#define RFLAGS_RSVD (GENMASK(63, 22) | BIT(15) | BIT(5) | BIT(3)) /* must be 0 */

/* MSRs used by the host and the VMX code (SDM Vol. 4). */
#define MSR_TSC 0x10            /* IA32_TIME_STAMP_COUNTER */
#define MSR_TSC_ADJUST 0x3b     /* IA32_TSC_ADJUST (CPUID.7.0:EBX[1]) */
#define MSR_PLATFORM_ID 0x17    /* IA32_PLATFORM_ID */
#define MSR_PLATFORM_INFO 0xce  /* MSR_PLATFORM_INFO (Intel, Sandy Bridge on): [15:8] max non-turbo ratio */
#define MSR_IA32_FEATURE_CONTROL 0x3a
#define MSR_BIOS_SIGN_ID 0x8b   /* IA32_BIOS_SIGN_ID: microcode revision */
#define MSR_MTRRCAP 0xfe        /* IA32_MTRRCAP */
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_MCG_CAP 0x179       /* IA32_MCG_CAP */
#define MSR_MCG_STATUS 0x17a    /* IA32_MCG_STATUS */
#define MSR_MISC_ENABLE 0x1a0   /* IA32_MISC_ENABLE (MISC_* below) */
#define MISC_FAST_STRINGS BIT(0)      /* fast-string operation of REP MOVS/STOS */
#define MISC_BTS_UNAVAIL BIT(11)      /* read-only: no branch trace store */
#define MISC_PEBS_UNAVAIL BIT(12)     /* read-only: no precise event sampling */
/* The bits that are not reserved on the CPU models this hypervisor presents (SDM Vol. 4,
 * table 2-2 "IA-32 Architectural MSRs": 0, 3, 7, 11, 12, 16, 18, 22, 23, 34); a write of any
 * other is #GP. */
#define MISC_DEFINED (BIT(0) | BIT(3) | BIT(7) | BIT(11) | BIT(12) | BIT(16) | BIT(18) | \
		      BIT(22) | BIT(23) | BIT(34))
#define MSR_DEBUGCTL 0x1d9      /* IA32_DEBUGCTL (DEBUGCTL_* below) */
#define MSR_IA32_PAT 0x277
#define MSR_IA32_VMX_BASIC 0x480
#define MSR_IA32_VMX_PINBASED_CTLS 0x481
#define MSR_IA32_VMX_PROCBASED_CTLS 0x482
#define MSR_IA32_VMX_EXIT_CTLS 0x483
#define MSR_IA32_VMX_ENTRY_CTLS 0x484
#define MSR_IA32_VMX_MISC 0x485
#define MSR_IA32_VMX_CR0_FIXED0 0x486
#define MSR_IA32_VMX_CR0_FIXED1 0x487
#define MSR_IA32_VMX_CR4_FIXED0 0x488
#define MSR_IA32_VMX_CR4_FIXED1 0x489
#define MSR_IA32_VMX_VMCS_ENUM 0x48a
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48b
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x490
#define MSR_IA32_EFER 0xc0000080
#define MSR_STAR 0xc0000081     /* IA32_STAR: SYSCALL/SYSRET selectors */
#define MSR_LSTAR 0xc0000082    /* IA32_LSTAR: 64-bit SYSCALL target */
#define MSR_CSTAR 0xc0000083    /* IA32_CSTAR: compatibility-mode SYSCALL target (AMD) */
#define MSR_FMASK 0xc0000084    /* IA32_FMASK: RFLAGS mask for SYSCALL */
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103     /* IA32_TSC_AUX: what RDTSCP (ECX) and RDPID return */

#define FEATURE_CONTROL_LOCKED BIT(0)
#define FEATURE_CONTROL_VMXON_IN_SMX BIT(1)
#define FEATURE_CONTROL_VMXON_OUTSIDE_SMX BIT(2)

#define EFER_SCE BIT(0)  /* SYSCALL/SYSRET enable */
#define EFER_LME BIT(8)  /* long mode enable */
#define EFER_LMA BIT(10) /* long mode active (IA-32e mode): read-only, set by CR0.PG with LME */
#define EFER_NXE BIT(11) /* execute-disable (PTE_XD) enable */
#define EFER_DEFINED (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE) /* the bits a CPU without
								   SVM/FFXSR defines */

/* DR6, debug status (SDM Vol. 3B, 17.2.3); a #DB exit's qualification has the same layout
 * (Vol. 3C, 28.2.1). */
#define DR6_B_MASK GENMASK(3, 0) /* B0-B3: breakpoint condition i detected */
#define DR6_BD BIT(13)           /* debug-register access detected (DR7.GD) */
#define DR6_BS BIT(14)           /* single step (RFLAGS.TF) */

/* IA32_DEBUGCTL (SDM Vol. 3B, 18.4.1). */
#define DEBUGCTL_LBR BIT(0) /* last branch record */
#define DEBUGCTL_BTF BIT(1) /* single-step on branches */
#define DEBUGCTL_RSVD (GENMASK(63, 16) | GENMASK(5, 3)) /* bit 2 is bus-lock detect on new CPUs */

/* CPUID feature bits tested in more than one place (SDM Vol. 2A, CPUID). */
#define CPUID_1_ECX_VMX BIT(5)        /* VMX (hidden from the guest) */
#define CPUID_1_ECX_XSAVE BIT(26)     /* XSAVE/XRSTOR, XSETBV/XGETBV, XCR0 */
#define CPUID_1_ECX_HYPERVISOR BIT(31) /* running under a hypervisor: CPUID_HV_BASE names it */
#define CPUID_HV_BASE 0x40000000u     /* the hypervisor leaves: EBX ECX EDX = its vendor */
#define CPUID_7_EBX_FSGSBASE BIT(0)   /* RDFSBASE and friends (CR4.FSGSBASE) */
#define CPUID_7_EBX_SMEP BIT(7)       /* CR4.SMEP */
#define CPUID_7_EBX_SMAP BIT(20)      /* CR4.SMAP */
#define CPUID_80000001_EDX_NX BIT(20) /* execute-disable (EFER.NXE, PTE_XD) */

/* XCR0, the XSAVE feature mask (SDM Vol. 1, 13.3), and the XSAVE area (13.4): a 512-byte
 * legacy region (x87 and SSE in FXSAVE format), a 64-byte header, then the extended components
 * (i >= 2) at the offsets CPUID.(EAX=0DH,ECX=i) gives. */
#define XCR0_X87 BIT(0) /* x87 state: always 1 */
#define XCR0_SSE BIT(1) /* XMM registers, MXCSR */
#define XCR0_AVX BIT(2) /* upper halves of the YMM registers; needs SSE */
#define XSAVE_LEGACY_SIZE 512
#define XSAVE_HEADER_SIZE 64

/*
 * Exception vectors (SDM Vol. 3A, 6.3.1, Table 6-1). 15 and 22-27 are reserved, 31 is
 * reserved, 32-255 are user-defined interrupts.
 */
#define VEC_DE 0   /* divide error */
#define VEC_DB 1   /* debug */
#define VEC_NMI 2  /* non-maskable interrupt */
#define VEC_BP 3   /* breakpoint (INT3) */
#define VEC_OF 4   /* overflow (INTO) */
#define VEC_BR 5   /* BOUND range exceeded */
#define VEC_UD 6   /* invalid opcode */
#define VEC_NM 7   /* device not available */
#define VEC_DF 8   /* double fault (error code 0) */
#define VEC_CSO 9  /* coprocessor segment overrun (reserved since the 486) */
#define VEC_TS 10  /* invalid TSS */
#define VEC_NP 11  /* segment not present */
#define VEC_SS 12  /* stack-segment fault */
#define VEC_GP 13  /* general protection */
#define VEC_PF 14  /* page fault (error code: PFEC_*, CR2: the linear address) */
#define VEC_MF 16  /* x87 floating-point error */
#define VEC_AC 17  /* alignment check (error code 0) */
#define VEC_MC 18  /* machine check */
#define VEC_XM 19  /* SIMD floating-point exception */
#define VEC_VE 20  /* virtualization exception */
#define VEC_CP 21  /* control protection */
#define VEC_HV 28  /* hypervisor injection (AMD) */
#define VEC_VC 29  /* VMM communication (AMD SEV-ES) */
#define VEC_SX 30  /* security exception (AMD) */
#define VEC_EXCEPTIONS 32 /* vectors 0-31 are exceptions */

/* The exceptions that push an error code (6.15). */
#define VEC_ERROR_CODE_MASK (BIT(VEC_DF) | BIT(VEC_TS) | BIT(VEC_NP) | BIT(VEC_SS) | \
			     BIT(VEC_GP) | BIT(VEC_PF) | BIT(VEC_AC) | BIT(VEC_CP))
/* Contributory exceptions (6.15, Table 6-4): two of them, or #PF then one, make a #DF. */
#define VEC_CONTRIBUTORY_MASK (BIT(VEC_DE) | BIT(VEC_TS) | BIT(VEC_NP) | BIT(VEC_SS) | BIT(VEC_GP))
/* The exceptions that are not faults (6.5, Table 6-1): #DB (a fault or a trap, by its cause),
 * NMI, the traps #BP and #OF, the aborts #DF and #MC. Every other vector below 32 is a fault
 * (the reserved ones too, as KVM treats them): the CPU sets RF in the EFLAGS image it pushes
 * for a fault (18.3.1.1), so that the IRET back to the instruction does not hit an instruction
 * breakpoint on it again. */
#define VEC_NOT_FAULT_MASK (BIT(VEC_DB) | BIT(VEC_NMI) | BIT(VEC_BP) | BIT(VEC_OF) | BIT(VEC_DF) | \
			    BIT(VEC_MC))

/*
 * Segment access rights as the VMCS (SDM Vol. 3C, 24.4.1) and LAR (shifted by 8) hold them:
 * descriptor bits 47:40 in AR bits 7:0 and descriptor bits 55:52 in AR bits 15:12 (Vol. 3A,
 * 3.4.5). The VMX-only "unusable" bit 16 and the VMCS reserved bits are in vmx/vmcs.h.
 */
#define AR_TYPE(ar) ((ar) & 0xfu)          /* type; bit 0 accessed, code: bit 1 readable */
#define AR_S BIT(4)                        /* 1: code or data, 0: system segment */
#define AR_DPL(ar) (((ar) >> 5) & 3u)      /* descriptor privilege level */
#define AR_P BIT(7)                        /* present */
#define AR_AVL BIT(12)                     /* available to software */
#define AR_L BIT(13)                       /* 64-bit code segment (only in IA-32e mode) */
#define AR_DB BIT(14)                      /* default operation size: 1 = 32-bit */
#define AR_G BIT(15)                       /* granularity: limit in 4 KiB units */
#define SEL_RPL(sel) ((sel) & 3u)          /* selector: requested privilege level */
#define SEL_TI BIT(2)                      /* selector: 1 = LDT */

/* Is the guest executing 64-bit code: IA-32e mode and a CS with L set (SDM Vol. 3A, 5.2.1,
 * 3.4.5). CS.L outside IA-32e mode is ignored by the CPU; in IA-32e mode with CS.L = 0 the code
 * runs in compatibility mode, 16- or 32-bit by CS.D. The one spelling of this fact. */
static inline bool x86_code64(u64 efer, u64 cs_ar)
{
	return (efer & EFER_LMA) && (cs_ar & AR_L);
}

/* Page-fault error code (SDM Vol. 3A, 4.7). */
#define PFEC_P BIT(0)    /* 0: not-present page, 1: protection violation */
#define PFEC_W BIT(1)    /* the access was a write */
#define PFEC_U BIT(2)    /* the access was a user-mode access (CPL 3, not implicit) */
#define PFEC_RSVD BIT(3) /* a reserved bit was set in a paging-structure entry */
#define PFEC_I BIT(4)    /* the access was an instruction fetch (with NX or SMEP) */
#define PFEC_PK BIT(5)   /* protection-key violation */
#define PFEC_SS BIT(6)   /* shadow-stack access */
#define PFEC_SGX BIT(15) /* SGX-specific access-control violation */
/* NOT ARCHITECTURAL, a software bit (KVM's synthetic PFERR_* bits are the model): set by the
 * hypervisor in the error code it hands the MMU when RFLAGS.AC was 1 at the faulting access,
 * so that SMAP is checked as the CPU did. Never injected: a guest's error code comes from the
 * walker. Kept here so that no architectural PFEC bit is ever given the same position. */
#define PFEC_SW_AC BIT(31)

/* Whether a page fault on an instruction fetch sets PFEC_I: with SMEP, or with
 * execute-disable in use (PAE or 4-level paging with IA32_EFER.NXE) (SDM Vol. 3A, 4.7). */
static inline bool pfec_reports_fetch(bool smep, bool pae, bool nxe)
{
	return smep || (pae && nxe);
}
_Static_assert(!(PFEC_SW_AC & (PFEC_P | PFEC_W | PFEC_U | PFEC_RSVD | PFEC_I | PFEC_PK | PFEC_SS |
			       PFEC_SGX)), "the software PFEC bit overlaps an architectural one");

/*
 * Guest paging-structure entries (SDM Vol. 3A, 4.3-4.5, Tables 4-4 to 4-20): the bits every
 * format shares. The hypervisor's own shadow entries (mmu/spte.h) reuse them where they are
 * the same hardware bit.
 */
#define PTE_P BIT(0)   /* present */
#define PTE_RW BIT(1)  /* 0: no writes through this entry (4.6) */
#define PTE_US BIT(2)  /* 0: no user-mode accesses through this entry (4.6) */
#define PTE_PWT BIT(3) /* page-level write-through */
#define PTE_PCD BIT(4) /* page-level cache disable */
#define PTE_A BIT(5)   /* accessed (4.8) */
#define PTE_D BIT(6)   /* dirty, only in an entry that maps a page (4.8) */
#define PTE_PS BIT(7)  /* page size: a PDE or PDPTE that maps a page (PAT in a 4 KiB PTE) */
#define PTE_G BIT(8)   /* global, only in an entry that maps a page */
#define PTE_XD BIT(63) /* execute-disable with EFER.NXE = 1, else reserved (PAE, 4-level) */

#define PTE_ADDR_32 GENMASK(31, 12)  /* 32-bit paging: table or 4 KiB frame */
#define PTE_ADDR_64 GENMASK(51, 12)  /* PAE, 4-level: bits M-1:12 once 51:M are checked zero */
#define PDE_4M_ADDR GENMASK(31, 22)  /* 32-bit paging, 4 MiB PDE: physical bits 31:22 */
#define PDE_PSE36_HI GENMASK(20, 13) /* 4 MiB PDE bits holding physical bits 39:32 (table 4-4) */
#define PDE_PSE36_SHIFT 19           /* PDE bit 13 -> physical bit 32 */
#define PDE_4M_RSVD BIT(21)          /* 4 MiB PDE, reserved (table 4-4) */
#define PDPTE_PAE_RSVD (GENMASK(2, 1) | GENMASK(8, 5)) /* PAE PDPTE (table 4-8), besides 63:M */
#define CR3_PAE_PDPT_ADDR GENMASK(31, 5) /* CR3 with PAE paging: the PDPT (table 4-7) */

_Static_assert((PDE_PSE36_HI << PDE_PSE36_SHIFT) == GENMASK(39, 32), "PSE-36 gives bits 39:32");
_Static_assert(!(PDPTE_PAE_RSVD & (PTE_P | PTE_ADDR_64)), "PDPTE reserved bits overlap P/address");
_Static_assert(!((PTE_P | PTE_RW | PTE_US | PTE_PWT | PTE_PCD | PTE_A | PTE_D | PTE_PS | PTE_G |
		  PTE_XD) & PTE_ADDR_64), "PTE flag bits overlap the address");

#endif
