/* vmcheck.c - VM-entry checker: every check of SDM Vol. 3C "VM Entries" (26.2, 26.3.1) that
 * the snapshot allows, each a named rule in one table. */
#include "debug/vmcheck.h"
#include "vmx/vmcs.h"
#include "vmx/caps.h"
#include "arch/x86.h"

/* ---- Encodings vmx/vmcs.h does not have (App. B; 24.6) ---- */

#define F_POSTED_INTR_NV 0x0002u
#define F_PML_ADDR 0x200eu
#define F_POSTED_INTR_DESC 0x2016u
#define F_VMREAD_BITMAP 0x2026u
#define F_VMWRITE_BITMAP 0x2028u

#define PIN_POSTED_INTR BIT(7)
#define CPU2_VMCS_SHADOWING BIT(14)
#define CPU2_ENABLE_PML BIT(17)
#define CPU2_MODE_BASED_EPT_EXEC BIT(22)
#define EXIT_SAVE_PREEMPTION_TIMER BIT(22)
#define ENTRY_TO_SMM BIT(10)
#define ENTRY_DEACT_DUAL_MONITOR BIT(11)

/* Architectural bits (CR, EFER, RFLAGS, DEBUGCTL, segment access rights, PDPTE, vectors):
 * arch/x86.h; VMX ones (unusable, interruptibility, activity, pending debug exceptions,
 * interruption information): vmx/vmcs.h. */

/* ---- The rules ---- */

#define S_EXEC "26.2.1.1"
#define S_EXIT "26.2.1.2"
#define S_ENTRY "26.2.1.3"
#define S_HCR "26.2.2"
#define S_HSEG "26.2.3"
#define S_HSIZE "26.2.4"
#define S_GCR "26.3.1.1"
#define S_GSEG "26.3.1.2"
#define S_GDT "26.3.1.3"
#define S_GRIP "26.3.1.4"
#define S_GNR "26.3.1.5"
#define S_PDPTE "26.3.1.6"

#define T_ALLOWED0 "a control the CPU requires (allowed-0 setting 1) is 0"
#define T_ALLOWED1 "a control the CPU does not support (allowed-1 setting 0) is 1"
#define T_PAGE "address bits 11:0 must be 0"
#define T_WIDTH "address must not set bits beyond MAXPHYADDR"
#define T_CANON "address must be canonical"
#define T_RPLTI "selector RPL and TI (bits 2:0) must be 0"
#define T_SEG_G "G must be 0 unless limit bits 11:0 are all 1, and 1 if limit bits 31:20 are not 0"

/* Per segment register, in a fixed order (seg_kind below relies on it). */
#define SEG_COMMON(X, S, s, basetext)                                                          \
	X(S##_V86_BASE, "guest." s ".v86_base", S_GSEG,                                            \
	  "virtual-8086 guest: base must be selector << 4")                                        \
	X(S##_V86_LIMIT, "guest." s ".v86_limit", S_GSEG,                                          \
	  "virtual-8086 guest: limit must be 0xffff")                                              \
	X(S##_V86_AR, "guest." s ".v86_ar", S_GSEG,                                                \
	  "virtual-8086 guest: access rights must be 0xf3")                                        \
	X(S##_BASE, "guest." s ".base", S_GSEG, basetext)                                          \
	X(S##_AR_S, "guest." s ".ar.s", S_GSEG,                                                    \
	  "S (bit 4) must be 1 (code/data), if CS or usable")                                      \
	X(S##_AR_P, "guest." s ".ar.p", S_GSEG, "P (bit 7) must be 1, if CS or usable")            \
	X(S##_AR_RSVD, "guest." s ".ar.reserved", S_GSEG,                                          \
	  "AR bits 11:8 and 31:17 must be 0, if CS or usable")                                     \
	X(S##_AR_G, "guest." s ".ar.g", S_GSEG, T_SEG_G)
#define SEG_DATA(X, S, s, basetext)                                                            \
	SEG_COMMON(X, S, s, basetext)                                                              \
	X(S##_AR_ACCESSED, "guest." s ".ar.accessed", S_GSEG,                                      \
	  "usable: type bit 0 (accessed) must be 1")                                               \
	X(S##_AR_READABLE, "guest." s ".ar.readable", S_GSEG,                                      \
	  "usable code segment: type bit 1 (readable) must be 1")                                  \
	X(S##_AR_DPL, "guest." s ".ar.dpl_vs_rpl", S_GSEG,                                     \
	  "usable data or non-conforming code, no unrestricted guest: DPL must be >= RPL")
#define T_BASE_HI "base bits 63:32 must be 0 (if usable)"
/* LDTR and TR (system segments), from the base on, in the order seg_system relies on. */
#define SEG_SYS(X, S, s, pre, basetext, typetext)                                              \
	X(S##_BASE, "guest." s ".base", S_GSEG, basetext)                                          \
	X(S##_AR_TYPE, "guest." s ".type", S_GSEG, typetext)                                       \
	X(S##_AR_S, "guest." s ".ar.s", S_GSEG, pre "S (bit 4) must be 0")                         \
	X(S##_AR_P, "guest." s ".ar.p", S_GSEG, pre "P (bit 7) must be 1")                         \
	X(S##_AR_RSVD, "guest." s ".ar.reserved", S_GSEG, pre "AR bits 11:8 and 31:17 must be 0")  \
	X(S##_AR_G, "guest." s ".ar.g", S_GSEG, T_SEG_G)

#define RULES(X)                                                                               \
	X(CTRL_PIN_A0, "ctrl.pin.allowed0", S_EXEC, T_ALLOWED0)                                    \
	X(CTRL_PIN_A1, "ctrl.pin.allowed1", S_EXEC, T_ALLOWED1)                                    \
	X(CTRL_PROC_A0, "ctrl.proc.allowed0", S_EXEC, T_ALLOWED0)                                  \
	X(CTRL_PROC_A1, "ctrl.proc.allowed1", S_EXEC, T_ALLOWED1)                                  \
	X(CTRL_PROC2_A0, "ctrl.proc2.allowed0", S_EXEC, T_ALLOWED0)                                \
	X(CTRL_PROC2_A1, "ctrl.proc2.allowed1", S_EXEC, T_ALLOWED1)                                \
	X(CTRL_CR3_TARGETS, "ctrl.cr3_target_count", S_EXEC,                                       \
	  "CR3-target count must not exceed IA32_VMX_MISC[24:16] (4)")                             \
	X(CTRL_IO_BITMAP_ALIGN, "ctrl.io_bitmap.align", S_EXEC, "use I/O bitmaps: " T_PAGE)        \
	X(CTRL_IO_BITMAP_WIDTH, "ctrl.io_bitmap.width", S_EXEC, "use I/O bitmaps: " T_WIDTH)       \
	X(CTRL_MSR_BITMAP_ALIGN, "ctrl.msr_bitmap.align", S_EXEC, "use MSR bitmaps: " T_PAGE)      \
	X(CTRL_MSR_BITMAP_WIDTH, "ctrl.msr_bitmap.width", S_EXEC, "use MSR bitmaps: " T_WIDTH)     \
	X(CTRL_VAPIC_ALIGN, "ctrl.vapic.align", S_EXEC, "use TPR shadow: virtual-APIC " T_PAGE)    \
	X(CTRL_VAPIC_WIDTH, "ctrl.vapic.width", S_EXEC, "use TPR shadow: virtual-APIC " T_WIDTH)   \
	X(CTRL_TPR_RSVD, "ctrl.tpr_threshold.reserved", S_EXEC,                                    \
	  "use TPR shadow without virtual-interrupt delivery: TPR threshold bits 31:4 must be 0")  \
	X(CTRL_TPR_VTPR, "ctrl.tpr_threshold.vtpr", S_EXEC,                                        \
	  "TPR shadow, no APIC-access virtualization or VID: TPR threshold <= VTPR[7:4]")        \
	X(CTRL_TPR_SHADOW_REQ, "ctrl.tpr_shadow.required", S_EXEC,                                 \
	  "virtualize x2APIC mode, APIC-register virtualization and VID need use TPR shadow")      \
	X(CTRL_VNMI, "ctrl.virtual_nmis.nmi_exiting", S_EXEC, "virtual NMIs needs NMI exiting")    \
	X(CTRL_NMI_WINDOW, "ctrl.nmi_window.virtual_nmis", S_EXEC,                                 \
	  "NMI-window exiting needs virtual NMIs")                                                 \
	X(CTRL_APIC_ACCESS_ALIGN, "ctrl.apic_access.align", S_EXEC,                                \
	  "virtualize APIC accesses: APIC-access " T_PAGE)                                         \
	X(CTRL_APIC_ACCESS_WIDTH, "ctrl.apic_access.width", S_EXEC,                                \
	  "virtualize APIC accesses: APIC-access " T_WIDTH)                                        \
	X(CTRL_X2APIC, "ctrl.x2apic.apic_access", S_EXEC,                                          \
	  "virtualize x2APIC mode excludes virtualize APIC accesses")                              \
	X(CTRL_VID_EXTINT, "ctrl.vid.ext_intr_exiting", S_EXEC,                                    \
	  "virtual-interrupt delivery needs external-interrupt exiting")                           \
	X(CTRL_PI_VID, "ctrl.posted_intr.vid", S_EXEC,                                             \
	  "process posted interrupts needs virtual-interrupt delivery")                            \
	X(CTRL_PI_ACK, "ctrl.posted_intr.ack_on_exit", S_EXEC,                                     \
	  "process posted interrupts needs acknowledge interrupt on exit")                         \
	X(CTRL_PI_VECTOR, "ctrl.posted_intr.vector", S_EXEC,                                       \
	  "posted-interrupt notification vector bits 15:8 must be 0")                              \
	X(CTRL_PI_DESC_ALIGN, "ctrl.posted_intr.desc_align", S_EXEC,                               \
	  "posted-interrupt descriptor address bits 5:0 must be 0")                                \
	X(CTRL_PI_DESC_WIDTH, "ctrl.posted_intr.desc_width", S_EXEC,                               \
	  "posted-interrupt descriptor " T_WIDTH)                                                  \
	X(CTRL_VPID_ZERO, "ctrl.vpid.zero", S_EXEC, "enable VPID: the VPID must not be 0")         \
	X(CTRL_EPTP_MEMTYPE, "ctrl.eptp.memtype", S_EXEC,                                          \
	  "EPTP bits 2:0 must be a supported memory type (UC 0 or WB 6)")                          \
	X(CTRL_EPTP_WALK, "ctrl.eptp.walk", S_EXEC,                                                \
	  "EPTP bits 5:3 must be a supported walk length - 1 (3: 4 levels)")                       \
	X(CTRL_EPTP_AD, "ctrl.eptp.ad", S_EXEC,                                                    \
	  "EPTP bit 6 (A/D flags) needs IA32_VMX_EPT_VPID_CAP[21]")                                \
	X(CTRL_EPTP_RSVD, "ctrl.eptp.reserved", S_EXEC,                                            \
	  "EPTP bits 11:8 and bits beyond MAXPHYADDR must be 0")                                   \
	X(CTRL_UG_EPT, "ctrl.unrestricted.ept", S_EXEC, "unrestricted guest needs enable EPT")     \
	X(CTRL_PML_EPT, "ctrl.pml.ept", S_EXEC, "enable PML needs enable EPT")                     \
	X(CTRL_PML_ADDR, "ctrl.pml.addr", S_EXEC, "enable PML: PML " T_PAGE " and in MAXPHYADDR")  \
	X(CTRL_MBEC_EPT, "ctrl.mbec.ept", S_EXEC,                                                  \
	  "mode-based execute control for EPT needs enable EPT")                                   \
	X(CTRL_SHADOW_BITMAPS, "ctrl.shadow_vmcs.bitmaps", S_EXEC,                                 \
	  "VMCS shadowing: VMREAD/VMWRITE bitmap " T_PAGE " and in MAXPHYADDR")                    \
	X(CTRL_EXIT_A0, "ctrl.exit.allowed0", S_EXIT, T_ALLOWED0)                                  \
	X(CTRL_EXIT_A1, "ctrl.exit.allowed1", S_EXIT, T_ALLOWED1)                                  \
	X(CTRL_EXIT_SAVE_TIMER, "ctrl.exit.save_preemption_timer", S_EXIT,                         \
	  "save VMX-preemption timer value needs activate VMX-preemption timer")                   \
	X(CTRL_EXIT_STORE_ALIGN, "ctrl.exit_msr_store.align", S_EXIT,                              \
	  "VM-exit MSR-store address bits 3:0 must be 0")                                          \
	X(CTRL_EXIT_STORE_WIDTH, "ctrl.exit_msr_store.width", S_EXIT,                              \
	  "VM-exit MSR-store area (first and last byte) must be in MAXPHYADDR")                    \
	X(CTRL_EXIT_LOAD_ALIGN, "ctrl.exit_msr_load.align", S_EXIT,                                \
	  "VM-exit MSR-load address bits 3:0 must be 0")                                           \
	X(CTRL_EXIT_LOAD_WIDTH, "ctrl.exit_msr_load.width", S_EXIT,                                \
	  "VM-exit MSR-load area (first and last byte) must be in MAXPHYADDR")                     \
	X(CTRL_ENTRY_A0, "ctrl.entry.allowed0", S_ENTRY, T_ALLOWED0)                               \
	X(CTRL_ENTRY_A1, "ctrl.entry.allowed1", S_ENTRY, T_ALLOWED1)                               \
	X(CTRL_ENTRY_SMM, "ctrl.entry.smm", S_ENTRY,                                               \
	  "outside SMM, entry to SMM and deactivate dual-monitor treatment must be 0")             \
	X(CTRL_INTR_TYPE, "ctrl.entry_intr.type", S_ENTRY,                                         \
	  "injected event type must not be 1, nor 7 without monitor-trap-flag support")            \
	X(CTRL_INTR_VECTOR, "ctrl.entry_intr.vector", S_ENTRY,                                     \
	  "injected vector: NMI must be 2, hardware exception <= 31, other event 0")               \
	X(CTRL_INTR_DELIVER, "ctrl.entry_intr.deliver_code", S_ENTRY,                              \
	  "deliver-error-code set exactly for #DF #TS #NP #SS #GP #PF #AC #CP in protected mode") \
	X(CTRL_INTR_ERRCODE, "ctrl.entry_intr.error_code", S_ENTRY,                                \
	  "delivered error code bits 31:16 must be 0")                                             \
	X(CTRL_INTR_RSVD, "ctrl.entry_intr.reserved", S_ENTRY,                                     \
	  "interruption-information bits 30:12 must be 0")                                         \
	X(CTRL_INTR_LEN, "ctrl.entry_intr.insn_len", S_ENTRY,                                      \
	  "software interrupt/exception: instruction length 1-15 (0 only if IA32_VMX_MISC[30])")   \
	X(CTRL_ENTRY_LOAD_ALIGN, "ctrl.entry_msr_load.align", S_ENTRY,                             \
	  "VM-entry MSR-load address bits 3:0 must be 0")                                          \
	X(CTRL_ENTRY_LOAD_WIDTH, "ctrl.entry_msr_load.width", S_ENTRY,                             \
	  "VM-entry MSR-load area (first and last byte) must be in MAXPHYADDR")                    \
	X(HOST_CR0_FIXED, "host.cr0.fixed", S_HCR, "host CR0 must respect IA32_VMX_CR0_FIXED0/1")  \
	X(HOST_CR4_VMXE, "host.cr4.vmxe", S_HCR, "host CR4.VMXE must be 1")                        \
	X(HOST_CR4_FIXED, "host.cr4.fixed", S_HCR, "host CR4 must respect IA32_VMX_CR4_FIXED0/1")  \
	X(HOST_CR3_WIDTH, "host.cr3.width", S_HCR, "host CR3 must not set bits beyond MAXPHYADDR") \
	X(HOST_SYSENTER_ESP, "host.sysenter_esp.canonical", S_HCR,                                 \
	  "host IA32_SYSENTER_ESP " T_CANON)                                                       \
	X(HOST_SYSENTER_EIP, "host.sysenter_eip.canonical", S_HCR,                                 \
	  "host IA32_SYSENTER_EIP " T_CANON)                                                       \
	X(HOST_PAT, "host.pat.type", S_HCR, "load IA32_PAT: each byte must be 0, 1, 4, 5, 6 or 7") \
	X(HOST_EFER_RSVD, "host.efer.reserved", S_HCR,                                             \
	  "load IA32_EFER: reserved EFER bits must be 0")                                          \
	X(HOST_EFER_LMA, "host.efer.lma_lme", S_HCR,                                               \
	  "load IA32_EFER: LMA and LME must equal host address-space size")                        \
	X(HOST_ES_RPLTI, "host.es.rpl_ti", S_HSEG, T_RPLTI)                                        \
	X(HOST_CS_RPLTI, "host.cs.rpl_ti", S_HSEG, T_RPLTI)                                        \
	X(HOST_SS_RPLTI, "host.ss.rpl_ti", S_HSEG, T_RPLTI)                                        \
	X(HOST_DS_RPLTI, "host.ds.rpl_ti", S_HSEG, T_RPLTI)                                        \
	X(HOST_FS_RPLTI, "host.fs.rpl_ti", S_HSEG, T_RPLTI)                                        \
	X(HOST_GS_RPLTI, "host.gs.rpl_ti", S_HSEG, T_RPLTI)                                        \
	X(HOST_TR_RPLTI, "host.tr.rpl_ti", S_HSEG, T_RPLTI)                                        \
	X(HOST_CS_NULL, "host.cs.null", S_HSEG, "host CS selector must not be 0")                  \
	X(HOST_TR_NULL, "host.tr.null", S_HSEG, "host TR selector must not be 0")                  \
	X(HOST_SS_NULL, "host.ss.null", S_HSEG,                                                    \
	  "host SS selector must not be 0 with a 32-bit host")                                     \
	X(HOST_FS_BASE, "host.fs.base", S_HSEG, "host FS " T_CANON)                                \
	X(HOST_GS_BASE, "host.gs.base", S_HSEG, "host GS " T_CANON)                                \
	X(HOST_GDTR_BASE, "host.gdtr.base", S_HSEG, "host GDTR " T_CANON)                          \
	X(HOST_IDTR_BASE, "host.idtr.base", S_HSEG, "host IDTR " T_CANON)                          \
	X(HOST_TR_BASE, "host.tr.base", S_HSEG, "host TR " T_CANON)                                \
	X(HOST_SIZE_CPU64, "host.addr_size.cpu_ia32e", S_HSIZE,                                    \
	  "the CPU is in IA-32e mode: host address-space size must be 1")                          \
	X(HOST_SIZE_CPU32, "host.addr_size.cpu_legacy", S_HSIZE,                                   \
	  "the CPU is outside IA-32e mode: host address-space size must be 0")                     \
	X(HOST_SIZE_GUEST64, "host.addr_size.ia32e_guest", S_HSIZE,                                \
	  "host address-space size 0: IA-32e mode guest must be 0")                                \
	X(HOST_CR4_PCIDE, "host.cr4.pcide", S_HSIZE,                                               \
	  "host address-space size 0: host CR4.PCIDE must be 0")                                   \
	X(HOST_RIP_HIGH, "host.rip.upper", S_HSIZE,                                                \
	  "host address-space size 0: host RIP bits 63:32 must be 0")                              \
	X(HOST_CR4_PAE, "host.cr4.pae", S_HSIZE,                                                   \
	  "host address-space size 1: host CR4.PAE must be 1")                                     \
	X(HOST_RIP_CANON, "host.rip.canonical", S_HSIZE,                                           \
	  "host address-space size 1: host RIP " T_CANON)                                          \
	X(GUEST_CR0_PEPG, "guest.cr0.pe_pg", S_GCR,                                                \
	  "CR0.PE and CR0.PG must be 1 unless unrestricted guest")                                 \
	X(GUEST_CR0_FIXED, "guest.cr0.fixed", S_GCR,                                               \
	  "CR0 must respect IA32_VMX_CR0_FIXED0/1 (PE, PG, CD, NW aside)")                         \
	X(GUEST_CR0_PG_PE, "guest.cr0.pg_without_pe", S_GCR, "CR0.PG needs CR0.PE")                \
	X(GUEST_CR4_VMXE, "guest.cr4.vmxe", S_GCR, "CR4.VMXE must be 1 in VMX operation")          \
	X(GUEST_CR4_FIXED, "guest.cr4.fixed", S_GCR, "CR4 must respect IA32_VMX_CR4_FIXED0/1")     \
	X(GUEST_DEBUGCTL, "guest.debugctl.reserved", S_GCR,                                        \
	  "load debug controls: IA32_DEBUGCTL bits 63:16 and 5:3 must be 0")                       \
	X(GUEST_IA32E_PG, "guest.ia32e.cr0_pg", S_GCR, "IA-32e mode guest needs CR0.PG")           \
	X(GUEST_IA32E_PAE, "guest.ia32e.cr4_pae", S_GCR, "IA-32e mode guest needs CR4.PAE")        \
	X(GUEST_CR4_PCIDE, "guest.cr4.pcide", S_GCR, "CR4.PCIDE needs IA-32e mode guest")          \
	X(GUEST_CR3_WIDTH, "guest.cr3.width", S_GCR, "CR3 must not set bits beyond MAXPHYADDR")    \
	X(GUEST_DR7_HIGH, "guest.dr7.upper", S_GCR,                                                \
	  "load debug controls: DR7 bits 63:32 must be 0")                                         \
	X(GUEST_SYSENTER_ESP, "guest.sysenter_esp.canonical", S_GCR, "IA32_SYSENTER_ESP " T_CANON) \
	X(GUEST_SYSENTER_EIP, "guest.sysenter_eip.canonical", S_GCR, "IA32_SYSENTER_EIP " T_CANON) \
	X(GUEST_PAT, "guest.pat.type", S_GCR,                                                      \
	  "load IA32_PAT: each byte must be 0, 1, 4, 5, 6 or 7")                                   \
	X(GUEST_EFER_RSVD, "guest.efer.reserved", S_GCR,                                           \
	  "load IA32_EFER: reserved EFER bits must be 0")                                          \
	X(GUEST_EFER_LMA, "guest.efer.lma", S_GCR,                                                 \
	  "load IA32_EFER: EFER.LMA must equal IA-32e mode guest")                                 \
	X(GUEST_EFER_LME, "guest.efer.lme", S_GCR,                                                 \
	  "load IA32_EFER with CR0.PG: EFER.LME must equal IA-32e mode guest")                     \
	X(GUEST_TR_TI, "guest.tr.ti", S_GSEG, "TR selector TI (bit 2) must be 0")                  \
	X(GUEST_LDTR_TI, "guest.ldtr.ti", S_GSEG, "usable LDTR: selector TI (bit 2) must be 0")    \
	X(GUEST_SS_RPL, "guest.ss.rpl_vs_cs", S_GSEG,                                              \
	  "no virtual-8086, no unrestricted guest: SS.RPL must equal CS.RPL")                      \
	SEG_DATA(X, ES, "es", T_BASE_HI)                                                           \
	SEG_COMMON(X, CS, "cs", "base bits 63:32 must be 0")                                       \
	X(CS_AR_TYPE, "guest.cs.ar.type", S_GSEG,                                                  \
	  "CS type must be 9, 11, 13 or 15 (or 3 with unrestricted guest)")                        \
	X(CS_AR_DPL_DATA, "guest.cs.ar.dpl_data", S_GSEG,                                          \
	  "CS type 3 (unrestricted guest): DPL must be 0")                                         \
	X(CS_AR_DPL_SS, "guest.cs.ar.dpl_vs_ss", S_GSEG,                                           \
	  "CS.DPL must equal SS.DPL (types 9, 11) or not exceed it (13, 15)")                      \
	X(CS_AR_DB_L, "guest.cs.ar.db_with_l", S_GSEG,                                             \
	  "IA-32e mode guest with CS.L=1: CS.D/B must be 0")                                       \
	SEG_COMMON(X, SS, "ss", T_BASE_HI)                                                         \
	X(SS_AR_TYPE, "guest.ss.ar.type", S_GSEG, "usable SS: type must be 3 or 7")                \
	X(SS_AR_DPL_RPL, "guest.ss.ar.dpl_vs_rpl", S_GSEG,                                         \
	  "no unrestricted guest: SS.DPL must equal SS selector RPL")                              \
	X(SS_AR_DPL_ZERO, "guest.ss.ar.dpl_zero", S_GSEG,                                          \
	  "SS.DPL must be 0 when CS type is 3 or CR0.PE is 0")                                     \
	SEG_DATA(X, DS, "ds", T_BASE_HI)                                                           \
	SEG_DATA(X, FS, "fs", T_CANON)                                                             \
	SEG_DATA(X, GS, "gs", T_CANON)                                                             \
	SEG_SYS(X, TR, "tr", "TR: ", "TR " T_CANON,                                                \
		"TR type must be 11 (busy TSS), or 3 (busy 16-bit TSS) outside IA-32e mode")       \
	X(TR_AR_UNUSABLE, "guest.tr.ar.unusable", S_GSEG, "TR must be usable (AR bit 16 = 0)")     \
	SEG_SYS(X, LDTR, "ldtr", "usable LDTR: ", "usable LDTR: " T_CANON,                         \
		"usable LDTR: type must be 2")                                                     \
	X(GUEST_GDTR_BASE, "guest.gdtr.base", S_GDT, "GDTR base " T_CANON)                         \
	X(GUEST_IDTR_BASE, "guest.idtr.base", S_GDT, "IDTR base " T_CANON)                         \
	X(GUEST_GDTR_LIMIT, "guest.gdtr.limit", S_GDT, "GDTR limit bits 31:16 must be 0")          \
	X(GUEST_IDTR_LIMIT, "guest.idtr.limit", S_GDT, "IDTR limit bits 31:16 must be 0")          \
	X(GUEST_RIP_HIGH, "guest.rip.upper", S_GRIP,                                               \
	  "RIP bits 63:32 must be 0 outside 64-bit mode (IA-32e guest with CS.L)")                 \
	X(GUEST_RIP_CANON, "guest.rip.canonical", S_GRIP, "64-bit mode: RIP " T_CANON)             \
	X(GUEST_RFLAGS_RSVD, "guest.rflags.reserved", S_GRIP,                                      \
	  "RFLAGS bits 63:22, 15, 5 and 3 must be 0")                                              \
	X(GUEST_RFLAGS_BIT1, "guest.rflags.bit1", S_GRIP, "RFLAGS bit 1 must be 1")                \
	X(GUEST_RFLAGS_VM, "guest.rflags.vm", S_GRIP,                                              \
	  "RFLAGS.VM must be 0 in an IA-32e mode guest or with CR0.PE 0")                          \
	X(GUEST_RFLAGS_IF, "guest.rflags.if", S_GRIP,                                              \
	  "injecting an external interrupt needs RFLAGS.IF")                                       \
	X(GUEST_ACT_VALUE, "guest.activity.value", S_GNR, "activity state must be 0-3")            \
	X(GUEST_ACT_UNSUP, "guest.activity.unsupported", S_GNR,                                    \
	  "activity state must be supported (IA32_VMX_MISC[8:6])")                                 \
	X(GUEST_ACT_HLT_DPL, "guest.activity.hlt_dpl", S_GNR, "HLT activity state needs SS.DPL 0") \
	X(GUEST_ACT_BLOCKING, "guest.activity.blocking", S_GNR,                                    \
	  "STI or MOV-SS blocking needs the active state")                                         \
	X(GUEST_ACT_EVENT, "guest.activity.event", S_GNR,                                          \
	  "the injected event must be one the activity state lets through")                        \
	X(GUEST_INTR_RSVD, "guest.intr.reserved", S_GNR, "interruptibility bits 31:5 must be 0")   \
	X(GUEST_INTR_STI_MOVSS, "guest.intr.sti_movss", S_GNR,                                     \
	  "STI and MOV-SS blocking must not both be set")                                          \
	X(GUEST_INTR_STI_IF, "guest.intr.sti_if", S_GNR, "STI blocking needs RFLAGS.IF")           \
	X(GUEST_INTR_EXT, "guest.intr.ext_blocked", S_GNR,                                         \
	  "injecting an external interrupt: no STI or MOV-SS blocking")                            \
	X(GUEST_INTR_NMI_MOVSS, "guest.intr.nmi_movss", S_GNR,                                     \
	  "injecting an NMI: no MOV-SS blocking")                                                  \
	X(GUEST_INTR_NMI_STI, "guest.intr.nmi_sti", S_GNR,                                         \
	  "injecting an NMI: no STI blocking (required by some CPUs, Bochs among them)")           \
	X(GUEST_INTR_SMI, "guest.intr.smi", S_GNR, "blocking by SMI must be 0 outside SMM")        \
	X(GUEST_INTR_VNMI, "guest.intr.nmi_virtual", S_GNR,                                        \
	  "virtual NMIs, injecting an NMI: blocking by NMI must be 0")                             \
	X(GUEST_INTR_ENCLAVE, "guest.intr.enclave_movss", S_GNR,                                   \
	  "enclave interruption excludes MOV-SS blocking")                                         \
	X(GUEST_DBG_RSVD, "guest.pending_dbg.reserved", S_GNR,                                     \
	  "pending debug exceptions bits 11:4, 13, 15, 63:17 must be 0")                           \
	X(GUEST_DBG_BS, "guest.pending_dbg.bs", S_GNR,                                             \
	  "with STI/MOV-SS blocking or HLT: BS must be RFLAGS.TF and not IA32_DEBUGCTL.BTF")       \
	X(GUEST_DBG_RTM, "guest.pending_dbg.rtm", S_GNR,                                           \
	  "RTM set: bits 11:0 and 15:13 must be 0, bit 12 1, no MOV-SS blocking")                  \
	X(GUEST_LINK_ALIGN, "guest.link.align", S_GNR, "VMCS link pointer not all ones: " T_PAGE)  \
	X(GUEST_LINK_WIDTH, "guest.link.width", S_GNR, "VMCS link pointer not all ones: " T_WIDTH) \
	X(GUEST_LINK_REV, "guest.link.revision", S_GNR,                                            \
	  "VMCS link pointer not all ones: a VMCS of our revision, shadow bit = VMCS shadowing")  \
	X(GUEST_PDPTE_RSVD, "guest.pdpte.reserved", S_PDPTE,                                     \
	  "PAE paging: a present PDPTE must have bits 2:1, 8:5 and beyond MAXPHYADDR clear")

enum rule {
#define AS_ENUM(id, name, sec, text) R_##id,
	RULES(AS_ENUM)
#undef AS_ENUM
	R_COUNT
};

static const struct vmcheck_rule rule_table[R_COUNT] = {
#define AS_ENTRY(id, name, sec, text) [R_##id] = { name, sec, text },
	RULES(AS_ENTRY)
#undef AS_ENTRY
};

/* Offsets of a segment's rules from its R_x_V86_BASE (the order of SEG_COMMON/SEG_DATA), and
 * of LDTR's and TR's from their R_x_BASE (SEG_SYS); S, P, reserved, G follow each other in both. */
enum seg_kind { K_V86_BASE, K_V86_LIMIT, K_V86_AR, K_BASE, K_S, K_P, K_RSVD, K_G, K_ACCESSED,
		K_READABLE, K_DPL };
enum sys_kind { KS_BASE, KS_TYPE, KS_S, KS_P, KS_RSVD, KS_G };
_Static_assert(R_ES_AR_DPL - R_ES_V86_BASE == K_DPL, "data segment rule order");
_Static_assert(R_GS_AR_DPL - R_GS_V86_BASE == K_DPL, "data segment rule order");
_Static_assert(R_CS_AR_G - R_CS_V86_BASE == K_G && R_SS_AR_G - R_SS_V86_BASE == K_G,
	       "CS/SS common rule order");
_Static_assert(R_TR_AR_G - R_TR_BASE == KS_G && R_LDTR_AR_G - R_LDTR_BASE == KS_G,
	       "system segment rule order");

/* ---- The run ---- */

/* The snapshot as the rules see it. Invariants: pin..entry hold the controls in effect: the
 * VMCS value limited to what the CPU allows (a disallowed bit is reported once, by its
 * allowed-1 rule, and then treated as 0); proc2 is 0 unless secondary controls are active. */
struct ctx {
	const struct vmcheck_input *in;
	vmcheck_report_fn report;
	void *opaque;
	int count;
	u32 pin, proc, proc2, exit, entry;
	u64 cr0, cr4, rflags;
	u32 event;         /* VM-entry interruption information */
	bool ia32e, v86, ug, host64;
};

static u64 rd(const struct ctx *c, u32 field)
{
	return c->in->read(c->in->opaque, field);
}

static void fail(struct ctx *c, enum rule r, int n, u32 f0, u64 v0, u32 f1, u64 v1)
{
	struct vmcheck_violation v = {
		.rule = rule_table[r].name, .sdm = rule_table[r].sdm, .text = rule_table[r].text,
		.nfields = n, .f = { { f0, v0 }, { f1, v1 } },
	};
	c->count++;
	if (c->report)
		c->report(c->opaque, &v);
}

/* Reports rule r unless ok; the field(s) named are the ones the rule looked at. */
static void need(struct ctx *c, bool ok, enum rule r, u32 f, u64 v)
{
	if (!ok)
		fail(c, r, 1, f, v, 0, 0);
}

static void need2(struct ctx *c, bool ok, enum rule r, u32 f0, u64 v0, u32 f1, u64 v1)
{
	if (!ok)
		fail(c, r, 2, f0, v0, f1, v1);
}

/* MAXPHYADDR, 64 when the input does not say (0): no width check then. */
static u32 pa_bits(const struct ctx *c)
{
	return c->in->maxphyaddr && c->in->maxphyaddr < 64 ? c->in->maxphyaddr : 64;
}

static bool in_pa(const struct ctx *c, u64 a)
{
	return pa_bits(c) == 64 || (a >> pa_bits(c)) == 0;
}

/* Bits 63:N all equal bit N-1, N the linear-address width (48 unless the input says). */
static bool canonical(const struct ctx *c, u64 a)
{
	u32 bits = c->in->la_bits && c->in->la_bits <= 64 ? c->in->la_bits : 48;
	u32 shift = 64 - bits;
	return (u64)((s64)(a << shift) >> shift) == a;
}

static bool phys(const struct ctx *c, u64 pa, void *buf, int len)
{
	return c->in->read_phys && c->in->read_phys(c->in->opaque, pa, buf, len);
}

/* A 4-KiB-aligned physical address field (a bitmap, a page). */
static void page_addr(struct ctx *c, u32 field, enum rule align, enum rule width)
{
	u64 a = rd(c, field);
	need(c, !(a & 0xfff), align, field, a);
	need(c, in_pa(c, a), width, field, a);
}

/* ---- 26.2.1 VMX controls ---- */

/* Allowed-0/allowed-1 settings (A.3-A.5) of every control field; fills the controls in effect.
 * Secondary controls count only when "activate secondary controls" is 1 and allowed. */
static void controls_allowed(struct ctx *c)
{
	const struct vmcheck_input *in = c->in;
	struct {
		u32 field;
		u64 cap;
		u32 *eff;
		enum rule must1, may1;
	} k[] = {
		{ PIN_BASED_VM_EXEC_CONTROL, in->pin, &c->pin, R_CTRL_PIN_A0, R_CTRL_PIN_A1 },
		{ CPU_BASED_VM_EXEC_CONTROL, in->proc, &c->proc, R_CTRL_PROC_A0, R_CTRL_PROC_A1 },
		{ SECONDARY_VM_EXEC_CONTROL, in->proc2, &c->proc2, R_CTRL_PROC2_A0,
		  R_CTRL_PROC2_A1 },
		{ VM_EXIT_CONTROLS, in->exit, &c->exit, R_CTRL_EXIT_A0, R_CTRL_EXIT_A1 },
		{ VM_ENTRY_CONTROLS, in->entry, &c->entry, R_CTRL_ENTRY_A0, R_CTRL_ENTRY_A1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(k); i++) {
		/* k[1] is done by now: c->proc says whether secondary controls are active */
		if (k[i].field == SECONDARY_VM_EXEC_CONTROL && !(c->proc & CPU_ACTIVATE_SECONDARY))
			continue;
		u32 v = (u32)rd(c, k[i].field), must1 = (u32)k[i].cap, may1 = (u32)(k[i].cap >> 32);
		need2(c, !(must1 & ~v), k[i].must1, k[i].field, v, VMCHECK_F_BITS, must1 & ~v);
		need2(c, !(v & ~may1), k[i].may1, k[i].field, v, VMCHECK_F_BITS, v & ~may1);
		*k[i].eff = v & may1;
	}
}

static void exec_bitmaps(struct ctx *c)
{
	u32 n = (u32)rd(c, CR3_TARGET_COUNT), max = (u32)(c->in->misc >> 16) & 0x1ff;
	need2(c, n <= max, R_CTRL_CR3_TARGETS, CR3_TARGET_COUNT, n, VMCHECK_F_CAP, max);
	if (c->proc & CPU_USE_IO_BITMAPS) {
		page_addr(c, IO_BITMAP_A, R_CTRL_IO_BITMAP_ALIGN, R_CTRL_IO_BITMAP_WIDTH);
		page_addr(c, IO_BITMAP_B, R_CTRL_IO_BITMAP_ALIGN, R_CTRL_IO_BITMAP_WIDTH);
	}
	if (c->proc & CPU_USE_MSR_BITMAPS)
		page_addr(c, MSR_BITMAP, R_CTRL_MSR_BITMAP_ALIGN, R_CTRL_MSR_BITMAP_WIDTH);
}

/* TPR shadow: the virtual-APIC page and the TPR threshold against VTPR (offset 0x80). */
static void exec_tpr_shadow(struct ctx *c)
{
	bool vid = c->proc2 & CPU2_VIRTUAL_INTR_DELIVERY;
	if (!(c->proc & CPU_TPR_SHADOW)) {
		u32 need_tpr = c->proc2 &
			       (CPU2_VIRTUALIZE_X2APIC | CPU2_APIC_REGISTER_VIRT | CPU2_VIRTUAL_INTR_DELIVERY);
		need2(c, !need_tpr, R_CTRL_TPR_SHADOW_REQ, SECONDARY_VM_EXEC_CONTROL, c->proc2,
		      VMCHECK_F_BITS, need_tpr);
		return;
	}
	u64 vapic = rd(c, VIRTUAL_APIC_PAGE_ADDR);
	u32 thr = (u32)rd(c, TPR_THRESHOLD);
	need(c, !(vapic & 0xfff), R_CTRL_VAPIC_ALIGN, VIRTUAL_APIC_PAGE_ADDR, vapic);
	need(c, in_pa(c, vapic), R_CTRL_VAPIC_WIDTH, VIRTUAL_APIC_PAGE_ADDR, vapic);
	if (!vid)
		need(c, !(thr & ~0xfu), R_CTRL_TPR_RSVD, TPR_THRESHOLD, thr);
	u8 vtpr;
	if (!vid && !(c->proc2 & CPU2_VIRTUALIZE_APIC_ACCESSES) && !(vapic & 0xfff) &&
	    phys(c, vapic + 0x80, &vtpr, 1))
		need2(c, (thr & 0xf) <= (u32)(vtpr >> 4), R_CTRL_TPR_VTPR, TPR_THRESHOLD, thr,
		      VMCHECK_F_MEM, vtpr);
}

static void exec_nmi(struct ctx *c)
{
	bool vnmi = c->pin & PIN_VIRTUAL_NMIS;
	need(c, !vnmi || (c->pin & PIN_NMI_EXITING), R_CTRL_VNMI, PIN_BASED_VM_EXEC_CONTROL,
	     c->pin);
	need2(c, vnmi || !(c->proc & CPU_NMI_WINDOW_EXITING), R_CTRL_NMI_WINDOW,
	      PIN_BASED_VM_EXEC_CONTROL, c->pin, CPU_BASED_VM_EXEC_CONTROL, c->proc);
}

/* APIC-access page, x2APIC virtualization, virtual-interrupt delivery, posted interrupts. */
static void exec_apicv(struct ctx *c)
{
	u32 p2 = c->proc2;
	if (p2 & CPU2_VIRTUALIZE_APIC_ACCESSES)
		page_addr(c, APIC_ACCESS_ADDR, R_CTRL_APIC_ACCESS_ALIGN,
			  R_CTRL_APIC_ACCESS_WIDTH);
	need(c, !(p2 & CPU2_VIRTUALIZE_X2APIC) || !(p2 & CPU2_VIRTUALIZE_APIC_ACCESSES), R_CTRL_X2APIC,
	     SECONDARY_VM_EXEC_CONTROL, p2);
	need2(c, !(p2 & CPU2_VIRTUAL_INTR_DELIVERY) || (c->pin & PIN_EXT_INTR_EXITING),
	      R_CTRL_VID_EXTINT, SECONDARY_VM_EXEC_CONTROL, p2, PIN_BASED_VM_EXEC_CONTROL, c->pin);
	if (!(c->pin & PIN_POSTED_INTR))
		return;
	need2(c, p2 & CPU2_VIRTUAL_INTR_DELIVERY, R_CTRL_PI_VID, PIN_BASED_VM_EXEC_CONTROL, c->pin,
	      SECONDARY_VM_EXEC_CONTROL, p2);
	need2(c, c->exit & EXIT_ACK_INTR_ON_EXIT, R_CTRL_PI_ACK, PIN_BASED_VM_EXEC_CONTROL, c->pin,
	      VM_EXIT_CONTROLS, c->exit);
	u64 nv = rd(c, F_POSTED_INTR_NV), desc = rd(c, F_POSTED_INTR_DESC);
	need(c, !(nv & 0xff00), R_CTRL_PI_VECTOR, F_POSTED_INTR_NV, nv);
	need(c, !(desc & 0x3f), R_CTRL_PI_DESC_ALIGN, F_POSTED_INTR_DESC, desc);
	need(c, in_pa(c, desc), R_CTRL_PI_DESC_WIDTH, F_POSTED_INTR_DESC, desc);
}

/* The EPT pointer (24.6.11) against IA32_VMX_EPT_VPID_CAP when it is known. */
static void exec_eptp(struct ctx *c)
{
	u64 eptp = rd(c, EPT_POINTER), cap = c->in->ept_vpid_cap;
	u32 mt = eptp & 7, walk = (eptp >> 3) & 7;
	bool mt_ok = cap ? (mt == 0 && (cap & BIT(8))) || (mt == 6 && (cap & BIT(14)))
			 : mt == 0 || mt == 6;
	bool walk_ok = cap ? (walk == 3 && (cap & BIT(6))) || (walk == 4 && (cap & BIT(7)))
			   : walk == 3;
	need(c, mt_ok, R_CTRL_EPTP_MEMTYPE, EPT_POINTER, eptp);
	need(c, walk_ok, R_CTRL_EPTP_WALK, EPT_POINTER, eptp);
	need2(c, !(eptp & BIT(6)) || !cap || (cap & BIT(21)), R_CTRL_EPTP_AD, EPT_POINTER, eptp,
	      VMCHECK_F_CAP, cap);
	need(c, !(eptp & GENMASK(11, 8)) && in_pa(c, eptp), R_CTRL_EPTP_RSVD, EPT_POINTER, eptp);
}

static void exec_ept_and_more(struct ctx *c)
{
	u32 p2 = c->proc2;
	bool ept = p2 & CPU2_ENABLE_EPT;
	if (p2 & CPU2_ENABLE_VPID) {
		u64 vpid = rd(c, VPID);
		need(c, (u16)vpid != 0, R_CTRL_VPID_ZERO, VPID, vpid);
	}
	if (ept)
		exec_eptp(c);
	need(c, ept || !(p2 & CPU2_UNRESTRICTED_GUEST), R_CTRL_UG_EPT, SECONDARY_VM_EXEC_CONTROL,
	     p2);
	need(c, ept || !(p2 & CPU2_ENABLE_PML), R_CTRL_PML_EPT, SECONDARY_VM_EXEC_CONTROL, p2);
	need(c, ept || !(p2 & CPU2_MODE_BASED_EPT_EXEC), R_CTRL_MBEC_EPT, SECONDARY_VM_EXEC_CONTROL,
	     p2);
	if (p2 & CPU2_ENABLE_PML)
		page_addr(c, F_PML_ADDR, R_CTRL_PML_ADDR, R_CTRL_PML_ADDR);
	if (p2 & CPU2_VMCS_SHADOWING) {
		page_addr(c, F_VMREAD_BITMAP, R_CTRL_SHADOW_BITMAPS, R_CTRL_SHADOW_BITMAPS);
		page_addr(c, F_VMWRITE_BITMAP, R_CTRL_SHADOW_BITMAPS, R_CTRL_SHADOW_BITMAPS);
	}
}

/* An MSR-load/store area (24.7.2, 24.8.2): 16-byte entries, all inside MAXPHYADDR. */
static void msr_area(struct ctx *c, u32 count_f, u32 addr_f, enum rule align, enum rule width)
{
	u64 n = (u32)rd(c, count_f);
	if (!n)
		return;
	u64 a = rd(c, addr_f);
	need(c, !(a & 0xf), align, addr_f, a);
	need2(c, in_pa(c, a) && in_pa(c, a + n * 16 - 1), width, addr_f, a, count_f, n);
}

static void exit_controls(struct ctx *c)
{
	need2(c, (c->pin & PIN_PREEMPTION_TIMER) || !(c->exit & EXIT_SAVE_PREEMPTION_TIMER),
	      R_CTRL_EXIT_SAVE_TIMER, VM_EXIT_CONTROLS, c->exit, PIN_BASED_VM_EXEC_CONTROL, c->pin);
	msr_area(c, VM_EXIT_MSR_STORE_COUNT, VM_EXIT_MSR_STORE_ADDR, R_CTRL_EXIT_STORE_ALIGN,
		 R_CTRL_EXIT_STORE_WIDTH);
	msr_area(c, VM_EXIT_MSR_LOAD_COUNT, VM_EXIT_MSR_LOAD_ADDR, R_CTRL_EXIT_LOAD_ALIGN,
		 R_CTRL_EXIT_LOAD_WIDTH);
}

/* Exceptions that push an error code (SDM Vol. 3A 6.15): #DF #TS #NP #SS #GP #PF #AC #CP. */
static bool has_error_code(u32 vec)
{
	return vec < VEC_EXCEPTIONS && (VEC_ERROR_CODE_MASK & BIT(vec));
}

/* The vector an injected event of this type may have: NMI 2, exceptions 0-31, MTF 0. */
static bool vector_ok(u32 type, u32 vec)
{
	switch (type) {
	case INTR_TYPE_NMI: return vec == VEC_NMI;
	case INTR_TYPE_HW_EXCEPTION: return vec <= 31;
	case INTR_TYPE_OTHER: return vec == 0;
	default: return true;
	}
}

/* Event injection (24.8.3): interruption information, error code, instruction length. */
static void entry_event(struct ctx *c)
{
	u32 info = c->event, type = (info >> INTR_INFO_TYPE_SHIFT) & 7, vec = info & 0xff;
	if (!(info & INTR_INFO_VALID))
		return;
	bool mtf = (c->in->proc >> 32) & CPU_MONITOR_TRAP_FLAG; /* type 7 needs MTF support */
	bool type_ok = type != 1 && (type != INTR_TYPE_OTHER || mtf);
	need(c, type_ok, R_CTRL_INTR_TYPE, VM_ENTRY_INTR_INFO, info);
	need(c, vector_ok(type, vec), R_CTRL_INTR_VECTOR, VM_ENTRY_INTR_INFO, info);
	bool pmode = !c->ug || (c->cr0 & CR0_PE);
	bool want = pmode && type == INTR_TYPE_HW_EXCEPTION && has_error_code(vec);
	bool deliver = info & INTR_INFO_DELIVER_CODE;
	need2(c, want == deliver, R_CTRL_INTR_DELIVER, VM_ENTRY_INTR_INFO, info, GUEST_CR0, c->cr0);
	if (deliver) {
		u64 ec = rd(c, VM_ENTRY_EXCEPTION_ERROR_CODE);
		need(c, !(ec & GENMASK(31, 16)), R_CTRL_INTR_ERRCODE, VM_ENTRY_EXCEPTION_ERROR_CODE,
		     ec);
	}
	need(c, !(info & INTR_INFO_RSVD), R_CTRL_INTR_RSVD, VM_ENTRY_INTR_INFO, info);
	if (type == INTR_TYPE_SW_INTR || type == INTR_TYPE_PRIV_SW_EXCEPTION ||
	    type == INTR_TYPE_SW_EXCEPTION) {
		u64 len = rd(c, VM_ENTRY_INSTRUCTION_LEN);
		bool zero_ok = c->in->misc & BIT(30);
		need2(c, len <= 15 && (len || zero_ok), R_CTRL_INTR_LEN, VM_ENTRY_INSTRUCTION_LEN,
		      len, VM_ENTRY_INTR_INFO, info);
	}
}

static void entry_controls(struct ctx *c)
{
	need(c, !(c->entry & (ENTRY_TO_SMM | ENTRY_DEACT_DUAL_MONITOR)), R_CTRL_ENTRY_SMM,
	     VM_ENTRY_CONTROLS, c->entry);
	entry_event(c);
	msr_area(c, VM_ENTRY_MSR_LOAD_COUNT, VM_ENTRY_MSR_LOAD_ADDR, R_CTRL_ENTRY_LOAD_ALIGN,
		 R_CTRL_ENTRY_LOAD_WIDTH);
}

static void check_controls(struct ctx *c)
{
	exec_bitmaps(c);
	exec_tpr_shadow(c);
	exec_nmi(c);
	exec_apicv(c);
	exec_ept_and_more(c);
	exit_controls(c);
	entry_controls(c);
}

/* ---- 26.2.2-26.2.4 Host state ---- */

/* Each byte a memory type WRMSR accepts: UC WC WT WP WB UC- (0 1 4 5 6 7). */
static bool pat_ok(u64 pat)
{
	for (int i = 0; i < 8; i++) {
		u32 t = (pat >> (i * 8)) & 0xff;
		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

/* CR4 against the fixed bits, VMXE reported on its own (the commonest mistake). */
static void cr4_fixed(struct ctx *c, u32 field, u64 cr4, enum rule vmxe, enum rule other)
{
	u64 bad = (~cr4 & c->in->cr4_fixed0) | (cr4 & ~c->in->cr4_fixed1);
	need(c, !(bad & CR4_VMXE), vmxe, field, cr4);
	need2(c, !(bad & ~CR4_VMXE), other, field, cr4, VMCHECK_F_BITS, bad & ~CR4_VMXE);
}

static void host_regs(struct ctx *c)
{
	u64 cr0 = rd(c, HOST_CR0), cr3 = rd(c, HOST_CR3), cr4 = rd(c, HOST_CR4);
	u64 bad0 = (~cr0 & c->in->cr0_fixed0) | (cr0 & ~c->in->cr0_fixed1);
	need2(c, !bad0, R_HOST_CR0_FIXED, HOST_CR0, cr0, VMCHECK_F_BITS, bad0);
	cr4_fixed(c, HOST_CR4, cr4, R_HOST_CR4_VMXE, R_HOST_CR4_FIXED);
	need(c, in_pa(c, cr3), R_HOST_CR3_WIDTH, HOST_CR3, cr3);
	u64 esp = rd(c, HOST_IA32_SYSENTER_ESP), eip = rd(c, HOST_IA32_SYSENTER_EIP);
	need(c, canonical(c, esp), R_HOST_SYSENTER_ESP, HOST_IA32_SYSENTER_ESP, esp);
	need(c, canonical(c, eip), R_HOST_SYSENTER_EIP, HOST_IA32_SYSENTER_EIP, eip);
	if (c->exit & EXIT_LOAD_IA32_PAT) {
		u64 pat = rd(c, HOST_IA32_PAT);
		need(c, pat_ok(pat), R_HOST_PAT, HOST_IA32_PAT, pat);
	}
	if (c->exit & EXIT_LOAD_IA32_EFER) {
		u64 efer = rd(c, HOST_IA32_EFER);
		bool lma = efer & EFER_LMA, lme = efer & EFER_LME;
		need(c, !(efer & ~EFER_DEFINED), R_HOST_EFER_RSVD, HOST_IA32_EFER, efer);
		need2(c, lma == c->host64 && lme == c->host64, R_HOST_EFER_LMA, HOST_IA32_EFER,
		      efer, VM_EXIT_CONTROLS, c->exit);
	}
}

static void host_segs(struct ctx *c)
{
	static const struct { u32 field; enum rule r; } sels[] = {
		{ HOST_ES_SELECTOR, R_HOST_ES_RPLTI }, { HOST_CS_SELECTOR, R_HOST_CS_RPLTI },
		{ HOST_SS_SELECTOR, R_HOST_SS_RPLTI }, { HOST_DS_SELECTOR, R_HOST_DS_RPLTI },
		{ HOST_FS_SELECTOR, R_HOST_FS_RPLTI }, { HOST_GS_SELECTOR, R_HOST_GS_RPLTI },
		{ HOST_TR_SELECTOR, R_HOST_TR_RPLTI },
	};
	static const struct { u32 field; enum rule r; } bases[] = {
		{ HOST_FS_BASE, R_HOST_FS_BASE }, { HOST_GS_BASE, R_HOST_GS_BASE },
		{ HOST_GDTR_BASE, R_HOST_GDTR_BASE }, { HOST_IDTR_BASE, R_HOST_IDTR_BASE },
		{ HOST_TR_BASE, R_HOST_TR_BASE },
	};
	for (size_t i = 0; i < ARRAY_SIZE(sels); i++) {
		u64 s = rd(c, sels[i].field);
		need(c, !(s & 7), sels[i].r, sels[i].field, s);
	}
	u64 cs = rd(c, HOST_CS_SELECTOR), tr = rd(c, HOST_TR_SELECTOR),
	    ss = rd(c, HOST_SS_SELECTOR);
	need(c, (u16)cs != 0, R_HOST_CS_NULL, HOST_CS_SELECTOR, cs);
	need(c, (u16)tr != 0, R_HOST_TR_NULL, HOST_TR_SELECTOR, tr);
	need2(c, c->host64 || (u16)ss != 0, R_HOST_SS_NULL, HOST_SS_SELECTOR, ss, VM_EXIT_CONTROLS,
	      c->exit);
	for (size_t i = 0; i < ARRAY_SIZE(bases); i++) {
		u64 b = rd(c, bases[i].field);
		need(c, canonical(c, b), bases[i].r, bases[i].field, b);
	}
}

static void host_addr_size(struct ctx *c)
{
	u64 cr4 = rd(c, HOST_CR4), rip = rd(c, HOST_RIP);
	if (c->in->cpu_lma)
		need(c, c->host64, R_HOST_SIZE_CPU64, VM_EXIT_CONTROLS, c->exit);
	else
		need(c, !c->host64, R_HOST_SIZE_CPU32, VM_EXIT_CONTROLS, c->exit);
	if (!c->host64) {
		need2(c, !c->ia32e, R_HOST_SIZE_GUEST64, VM_EXIT_CONTROLS, c->exit,
		      VM_ENTRY_CONTROLS, c->entry);
		need(c, !(cr4 & CR4_PCIDE), R_HOST_CR4_PCIDE, HOST_CR4, cr4);
		need(c, !(rip >> 32), R_HOST_RIP_HIGH, HOST_RIP, rip);
	} else {
		need(c, cr4 & CR4_PAE, R_HOST_CR4_PAE, HOST_CR4, cr4);
		need(c, canonical(c, rip), R_HOST_RIP_CANON, HOST_RIP, rip);
	}
}

/* ---- 26.3.1.1 Guest control registers, debug registers, MSRs ---- */

static void guest_crs(struct ctx *c)
{
	u64 cr0 = c->cr0, cr4 = c->cr4, cr3 = rd(c, GUEST_CR3);
	u64 pepg = c->ug ? 0 : (CR0_PE | CR0_PG);
	u64 bad0 = ((~cr0 & c->in->cr0_fixed0) | (cr0 & ~c->in->cr0_fixed1)) &
		   ~(CR0_CD | CR0_NW);
	need2(c, !(bad0 & pepg), R_GUEST_CR0_PEPG, GUEST_CR0, cr0, VMCHECK_F_BITS, bad0 & pepg);
	bad0 &= ~(CR0_PE | CR0_PG);
	need2(c, !bad0, R_GUEST_CR0_FIXED, GUEST_CR0, cr0, VMCHECK_F_BITS, bad0);
	need(c, !(cr0 & CR0_PG) || (cr0 & CR0_PE), R_GUEST_CR0_PG_PE, GUEST_CR0, cr0);
	cr4_fixed(c, GUEST_CR4, cr4, R_GUEST_CR4_VMXE, R_GUEST_CR4_FIXED);
	if (c->ia32e) {
		need(c, cr0 & CR0_PG, R_GUEST_IA32E_PG, GUEST_CR0, cr0);
		need(c, cr4 & CR4_PAE, R_GUEST_IA32E_PAE, GUEST_CR4, cr4);
	} else {
		need(c, !(cr4 & CR4_PCIDE), R_GUEST_CR4_PCIDE, GUEST_CR4, cr4);
	}
	need(c, in_pa(c, cr3), R_GUEST_CR3_WIDTH, GUEST_CR3, cr3);
}

static void guest_msrs(struct ctx *c)
{
	if (c->entry & ENTRY_LOAD_DEBUG_CONTROLS) {
		u64 dbgctl = rd(c, GUEST_IA32_DEBUGCTL), dr7 = rd(c, GUEST_DR7);
		need(c, !(dbgctl & DEBUGCTL_RSVD), R_GUEST_DEBUGCTL, GUEST_IA32_DEBUGCTL, dbgctl);
		need(c, !(dr7 >> 32), R_GUEST_DR7_HIGH, GUEST_DR7, dr7);
	}
	u64 esp = rd(c, GUEST_SYSENTER_ESP), eip = rd(c, GUEST_SYSENTER_EIP);
	need(c, canonical(c, esp), R_GUEST_SYSENTER_ESP, GUEST_SYSENTER_ESP, esp);
	need(c, canonical(c, eip), R_GUEST_SYSENTER_EIP, GUEST_SYSENTER_EIP, eip);
	if (c->entry & ENTRY_LOAD_IA32_PAT) {
		u64 pat = rd(c, GUEST_IA32_PAT);
		need(c, pat_ok(pat), R_GUEST_PAT, GUEST_IA32_PAT, pat);
	}
	if (c->entry & ENTRY_LOAD_IA32_EFER) {
		u64 efer = rd(c, GUEST_IA32_EFER);
		bool lma = efer & EFER_LMA, lme = efer & EFER_LME;
		need(c, !(efer & ~EFER_DEFINED), R_GUEST_EFER_RSVD, GUEST_IA32_EFER, efer);
		need2(c, lma == c->ia32e, R_GUEST_EFER_LMA, GUEST_IA32_EFER, efer,
		      VM_ENTRY_CONTROLS, c->entry);
		need2(c, !(c->cr0 & CR0_PG) || lme == c->ia32e, R_GUEST_EFER_LME, GUEST_IA32_EFER,
		      efer, GUEST_CR0, c->cr0);
	}
}

/* ---- 26.3.1.2 Guest segment registers ---- */

struct seg {
	u32 i; /* 0-7: ES CS SS DS FS GS LDTR TR, the order of the encodings */
	u16 sel;
	u64 base;
	u32 limit, ar;
};

/* Segment s's field of a kind, given ES's: the eight encodings of a kind are 2 apart. */
#define SEG_F(es_field, s) ((es_field) + 2 * (s)->i)

static struct seg read_seg(const struct ctx *c, u32 i)
{
	struct seg s = { .i = i };
	s.sel = (u16)rd(c, SEG_F(GUEST_ES_SELECTOR, &s));
	s.base = rd(c, SEG_F(GUEST_ES_BASE, &s));
	s.limit = (u32)rd(c, SEG_F(GUEST_ES_LIMIT, &s));
	s.ar = (u32)rd(c, SEG_F(GUEST_ES_AR, &s));
	return s;
}

static bool usable(const struct seg *s)
{
	return !(s->ar & AR_UNUSABLE);
}

static bool g_ok(const struct seg *s)
{
	if (s->ar & AR_G)
		return (s->limit & 0xfff) == 0xfff;
	return !(s->limit & 0xfff00000);
}

static void need_ar(struct ctx *c, bool ok, enum rule r, const struct seg *s)
{
	need(c, ok, r, SEG_F(GUEST_ES_AR, s), s->ar);
}

/* The descriptor checks of CS, of a usable ES, SS, DS, FS, GS (S 1: code or data) and of LDTR
 * and TR (sys, S 0): S, P, reserved AR bits, G against the limit; rules r_s to r_s + 3. */
static void seg_desc(struct ctx *c, const struct seg *s, bool sys, enum rule r_s)
{
	need_ar(c, !(s->ar & AR_S) == sys, r_s, s);
	need_ar(c, s->ar & AR_P, r_s + 1, s);
	need_ar(c, !(s->ar & AR_RSVD), r_s + 2, s);
	need2(c, g_ok(s), r_s + 3, SEG_F(GUEST_ES_AR, s), s->ar, SEG_F(GUEST_ES_LIMIT, s),
	      s->limit);
}

/* The rules every segment register shares, virtual-8086 or not. */
static void seg_common(struct ctx *c, const struct seg *s, enum rule first)
{
	if (c->v86) {
		need2(c, s->base == (u64)s->sel << 4, first + K_V86_BASE, SEG_F(GUEST_ES_BASE, s),
		      s->base, SEG_F(GUEST_ES_SELECTOR, s), s->sel);
		need(c, s->limit == 0xffff, first + K_V86_LIMIT, SEG_F(GUEST_ES_LIMIT, s),
		     s->limit);
		need_ar(c, s->ar == 0xf3, first + K_V86_AR, s);
	}
	bool fs_gs = s->i == 4 || s->i == 5;
	bool base_ok = fs_gs ? canonical(c, s->base)
			     : !(s->base >> 32) || (s->i != 1 && !usable(s));
	need(c, base_ok, first + K_BASE, SEG_F(GUEST_ES_BASE, s), s->base);
	if (c->v86 || (s->i != 1 && !usable(s)))
		return;
	seg_desc(c, s, false, first + K_S);
}

static void seg_cs(struct ctx *c, const struct seg *cs, const struct seg *ss)
{
	u32 t = AR_TYPE(cs->ar), dpl = AR_DPL(cs->ar), ss_dpl = AR_DPL(ss->ar);
	bool type_ok = t == 9 || t == 11 || t == 13 || t == 15 || (t == 3 && c->ug);
	need_ar(c, type_ok, R_CS_AR_TYPE, cs);
	need_ar(c, t != 3 || dpl == 0, R_CS_AR_DPL_DATA, cs);
	bool dpl_ok = (t != 9 && t != 11) || dpl == ss_dpl;
	dpl_ok = dpl_ok && ((t != 13 && t != 15) || dpl <= ss_dpl);
	need2(c, dpl_ok, R_CS_AR_DPL_SS, GUEST_CS_AR, cs->ar, GUEST_SS_AR, ss->ar);
	need_ar(c, !c->ia32e || !(cs->ar & AR_L) || !(cs->ar & AR_DB), R_CS_AR_DB_L, cs);
}

static void seg_ss(struct ctx *c, const struct seg *ss, const struct seg *cs)
{
	u32 t = AR_TYPE(ss->ar), dpl = AR_DPL(ss->ar);
	if (usable(ss))
		need_ar(c, t == 3 || t == 7, R_SS_AR_TYPE, ss);
	if (!c->ug)
		need2(c, dpl == SEL_RPL(ss->sel), R_SS_AR_DPL_RPL, GUEST_SS_AR, ss->ar,
		      GUEST_SS_SELECTOR, ss->sel);
	bool zero = AR_TYPE(cs->ar) == 3 || !(c->cr0 & CR0_PE);
	need2(c, !zero || dpl == 0, R_SS_AR_DPL_ZERO, GUEST_SS_AR, ss->ar, GUEST_CR0, c->cr0);
}

static void seg_data(struct ctx *c, const struct seg *s, enum rule first)
{
	u32 t = AR_TYPE(s->ar);
	if (!usable(s))
		return;
	need_ar(c, t & 1, first + K_ACCESSED, s);
	need_ar(c, !(t & 8) || (t & 2), first + K_READABLE, s);
	if (!c->ug && t <= 11)
		need2(c, AR_DPL(s->ar) >= SEL_RPL(s->sel), first + K_DPL, SEG_F(GUEST_ES_AR, s),
		      s->ar, SEG_F(GUEST_ES_SELECTOR, s), s->sel);
}

/* LDTR (checked only when usable) and TR: selector TI, base, type, then the descriptor checks
 * with S 0; rule ti, and rules first to first + KS_G (SEG_SYS). */
static void seg_system(struct ctx *c, const struct seg *s, enum rule ti, enum rule first,
		       bool type_ok)
{
	need(c, !(s->sel & SEL_TI), ti, SEG_F(GUEST_ES_SELECTOR, s), s->sel);
	need(c, canonical(c, s->base), first + KS_BASE, SEG_F(GUEST_ES_BASE, s), s->base);
	need_ar(c, type_ok, first + KS_TYPE, s);
	seg_desc(c, s, true, first + KS_S);
}

static void guest_segs(struct ctx *c)
{
	static const enum rule first[6] = { R_ES_V86_BASE, R_CS_V86_BASE, R_SS_V86_BASE,
					    R_DS_V86_BASE, R_FS_V86_BASE, R_GS_V86_BASE };
	struct seg s[8];
	for (u32 i = 0; i < 8; i++)
		s[i] = read_seg(c, i);
	if (!c->v86 && !c->ug)
		need2(c, SEL_RPL(s[2].sel) == SEL_RPL(s[1].sel), R_GUEST_SS_RPL, GUEST_SS_SELECTOR,
		      s[2].sel, GUEST_CS_SELECTOR, s[1].sel);
	for (u32 i = 0; i < 6; i++) {
		seg_common(c, &s[i], first[i]);
		if (c->v86)
			continue;
		if (i == 1)
			seg_cs(c, &s[1], &s[2]);
		else if (i == 2)
			seg_ss(c, &s[2], &s[1]);
		else
			seg_data(c, &s[i], first[i]);
	}
	const struct seg *ldtr = &s[6], *tr = &s[7];
	u32 tr_type = AR_TYPE(tr->ar);
	if (usable(ldtr))
		seg_system(c, ldtr, R_GUEST_LDTR_TI, R_LDTR_BASE, AR_TYPE(ldtr->ar) == 2);
	seg_system(c, tr, R_GUEST_TR_TI, R_TR_BASE, tr_type == 11 || (tr_type == 3 && !c->ia32e));
	need_ar(c, usable(tr), R_TR_AR_UNUSABLE, tr);
}

/* ---- 26.3.1.3-26.3.1.4 Descriptor tables, RIP, RFLAGS ---- */

static void guest_dt_rip_rflags(struct ctx *c)
{
	u64 gb = rd(c, GUEST_GDTR_BASE), ib = rd(c, GUEST_IDTR_BASE);
	u64 gl = rd(c, GUEST_GDTR_LIMIT), il = rd(c, GUEST_IDTR_LIMIT);
	need(c, canonical(c, gb), R_GUEST_GDTR_BASE, GUEST_GDTR_BASE, gb);
	need(c, canonical(c, ib), R_GUEST_IDTR_BASE, GUEST_IDTR_BASE, ib);
	need(c, !(gl & GENMASK(31, 16)), R_GUEST_GDTR_LIMIT, GUEST_GDTR_LIMIT, gl);
	need(c, !(il & GENMASK(31, 16)), R_GUEST_IDTR_LIMIT, GUEST_IDTR_LIMIT, il);
	u64 rip = rd(c, GUEST_RIP), cs_ar = rd(c, GUEST_CS_AR), fl = c->rflags;
	if (c->ia32e && (cs_ar & AR_L))
		need(c, canonical(c, rip), R_GUEST_RIP_CANON, GUEST_RIP, rip);
	else
		need2(c, !(rip >> 32), R_GUEST_RIP_HIGH, GUEST_RIP, rip, GUEST_CS_AR, cs_ar);
	need2(c, !(fl & RFLAGS_RSVD), R_GUEST_RFLAGS_RSVD, GUEST_RFLAGS, fl, VMCHECK_F_BITS,
	      fl & RFLAGS_RSVD);
	need(c, fl & RFLAGS_FIXED, R_GUEST_RFLAGS_BIT1, GUEST_RFLAGS, fl);
	need2(c, !(fl & RFLAGS_VM) || (!c->ia32e && (c->cr0 & CR0_PE)), R_GUEST_RFLAGS_VM,
	      GUEST_RFLAGS, fl, VM_ENTRY_CONTROLS, c->entry);
	bool ext = (c->event & INTR_INFO_VALID) &&
		   ((c->event >> INTR_INFO_TYPE_SHIFT) & 7) == INTR_TYPE_EXT_INTR;
	need2(c, !ext || (fl & RFLAGS_IF), R_GUEST_RFLAGS_IF, GUEST_RFLAGS, fl,
	      VM_ENTRY_INTR_INFO, c->event);
}

/* ---- 26.3.1.5 Guest non-register state ---- */

/* Whether an event injected on entry may be delivered in this activity state. */
static bool event_allowed(u32 act, u32 info)
{
	u32 type = (info >> INTR_INFO_TYPE_SHIFT) & 7, vec = info & 0xff;
	bool hw = type == INTR_TYPE_HW_EXCEPTION;
	switch (act) {
	case ACTIVITY_ACTIVE:
		return true;
	case ACTIVITY_HLT:
		return type == INTR_TYPE_EXT_INTR || type == INTR_TYPE_NMI ||
		       (hw && (vec == VEC_DB || vec == VEC_MC)) ||
		       (type == INTR_TYPE_OTHER && vec == 0);
	case ACTIVITY_SHUTDOWN:
		return type == INTR_TYPE_NMI || (hw && vec == VEC_MC);
	default:
		return false;
	}
}

static void guest_activity(struct ctx *c, u32 act, u32 intr)
{
	u64 ss_ar = rd(c, GUEST_SS_AR);
	need(c, act <= 3, R_GUEST_ACT_VALUE, GUEST_ACTIVITY_STATE, act);
	if (act >= 1 && act <= 3)
		need2(c, (c->in->misc >> (5 + act)) & 1, R_GUEST_ACT_UNSUP, GUEST_ACTIVITY_STATE,
		      act, VMCHECK_F_CAP, c->in->misc);
	need2(c, act != ACTIVITY_HLT || AR_DPL(ss_ar) == 0, R_GUEST_ACT_HLT_DPL,
	      GUEST_ACTIVITY_STATE, act, GUEST_SS_AR, ss_ar);
	need2(c, act == ACTIVITY_ACTIVE || !(intr & (INTR_STATE_STI | INTR_STATE_MOV_SS)),
	      R_GUEST_ACT_BLOCKING, GUEST_ACTIVITY_STATE, act, GUEST_INTERRUPTIBILITY, intr);
	if ((c->event & INTR_INFO_VALID) && act <= 3)
		need2(c, event_allowed(act, c->event), R_GUEST_ACT_EVENT, GUEST_ACTIVITY_STATE, act,
		      VM_ENTRY_INTR_INFO, c->event);
}

static void guest_interruptibility(struct ctx *c, u32 intr)
{
	u32 type = (c->event >> INTR_INFO_TYPE_SHIFT) & 7;
	bool valid = c->event & INTR_INFO_VALID;
	bool ext = valid && type == INTR_TYPE_EXT_INTR, nmi = valid && type == INTR_TYPE_NMI;
	u32 f = GUEST_INTERRUPTIBILITY;
	need(c, !(intr & INTR_STATE_RSVD), R_GUEST_INTR_RSVD, f, intr);
	need(c, (intr & (INTR_STATE_STI | INTR_STATE_MOV_SS)) != (INTR_STATE_STI | INTR_STATE_MOV_SS),
	     R_GUEST_INTR_STI_MOVSS, f, intr);
	need2(c, !(intr & INTR_STATE_STI) || (c->rflags & RFLAGS_IF), R_GUEST_INTR_STI_IF, f, intr,
	      GUEST_RFLAGS, c->rflags);
	need2(c, !ext || !(intr & (INTR_STATE_STI | INTR_STATE_MOV_SS)), R_GUEST_INTR_EXT, f, intr,
	      VM_ENTRY_INTR_INFO, c->event);
	need2(c, !nmi || !(intr & INTR_STATE_MOV_SS), R_GUEST_INTR_NMI_MOVSS, f, intr,
	      VM_ENTRY_INTR_INFO, c->event);
	need2(c, !nmi || !(intr & INTR_STATE_STI), R_GUEST_INTR_NMI_STI, f, intr, VM_ENTRY_INTR_INFO,
	      c->event);
	need(c, !(intr & INTR_STATE_SMI), R_GUEST_INTR_SMI, f, intr);
	need2(c, !nmi || !(c->pin & PIN_VIRTUAL_NMIS) || !(intr & INTR_STATE_NMI), R_GUEST_INTR_VNMI,
	      f, intr, VM_ENTRY_INTR_INFO, c->event);
	need(c, !(intr & INTR_STATE_ENCLAVE) || !(intr & INTR_STATE_MOV_SS), R_GUEST_INTR_ENCLAVE, f,
	     intr);
}

static void guest_pending_dbg(struct ctx *c, u32 act, u32 intr)
{
	u32 f = GUEST_PENDING_DBG_EXCEPTIONS;
	u64 dbg = rd(c, f);
	need2(c, !(dbg & PENDING_DBG_RSVD), R_GUEST_DBG_RSVD, f, dbg, VMCHECK_F_BITS,
	      dbg & PENDING_DBG_RSVD);
	if ((intr & (INTR_STATE_STI | INTR_STATE_MOV_SS)) || act == ACTIVITY_HLT) {
		u64 btf = rd(c, GUEST_IA32_DEBUGCTL) & DEBUGCTL_BTF;
		bool want = (c->rflags & RFLAGS_TF) && !btf;
		need2(c, !!(dbg & PENDING_DBG_BS) == want, R_GUEST_DBG_BS, f, dbg, GUEST_RFLAGS,
		      c->rflags);
	}
	if (dbg & PENDING_DBG_RTM) {
		bool ok = !(dbg & (GENMASK(11, 0) | GENMASK(15, 13))) &&
			  (dbg & PENDING_DBG_ENABLED_BP) && !(intr & INTR_STATE_MOV_SS);
		need2(c, ok, R_GUEST_DBG_RTM, f, dbg, GUEST_INTERRUPTIBILITY, intr);
	}
}

/* The VMCS link pointer: all ones, or a VMCS of our revision whose shadow-VMCS indicator
 * (bit 31 of its first word) matches "VMCS shadowing" (24.4.2, 24.11.1). */
static void guest_link(struct ctx *c)
{
	u64 link = rd(c, VMCS_LINK_POINTER);
	u32 hdr;
	if (link == ~0ULL)
		return;
	need(c, !(link & 0xfff), R_GUEST_LINK_ALIGN, VMCS_LINK_POINTER, link);
	need(c, in_pa(c, link), R_GUEST_LINK_WIDTH, VMCS_LINK_POINTER, link);
	if ((link & 0xfff) || !in_pa(c, link) || !phys(c, link, &hdr, 4))
		return;
	u32 want = vmx_basic_revision(c->in->basic) |
		   ((c->proc2 & CPU2_VMCS_SHADOWING) ? BIT(31) : 0);
	need2(c, hdr == want, R_GUEST_LINK_REV, VMCS_LINK_POINTER, link, VMCHECK_F_MEM, hdr);
}

static void guest_non_register(struct ctx *c)
{
	u32 act = (u32)rd(c, GUEST_ACTIVITY_STATE), intr = (u32)rd(c, GUEST_INTERRUPTIBILITY);
	guest_activity(c, act, intr);
	guest_interruptibility(c, intr);
	guest_pending_dbg(c, act, intr);
	guest_link(c);
}

/* ---- 26.3.1.6 PDPTEs ---- */

/* PAE paging (CR0.PG, CR4.PAE, not IA-32e): with EPT the CPU takes the PDPTEs from the VMCS,
 * without it from the 32-byte table at CR3[31:5], which read_phys must reach. */
static void guest_pdptes(struct ctx *c)
{
	u64 pdpte[4], cr3 = rd(c, GUEST_CR3);
	u64 rsvd = PDPTE_PAE_RSVD | (pa_bits(c) < 64 ? GENMASK(63, pa_bits(c)) : 0);
	if (!(c->cr0 & CR0_PG) || !(c->cr4 & CR4_PAE) || c->ia32e)
		return;
	if (c->proc2 & CPU2_ENABLE_EPT) {
		for (u32 i = 0; i < 4; i++)
			pdpte[i] = rd(c, GUEST_PDPTE0 + 2 * i);
	} else if (!phys(c, cr3 & 0xffffffe0ULL, pdpte, sizeof(pdpte))) {
		return;
	}
	for (u32 i = 0; i < 4; i++)
		if (pdpte[i] & PTE_P)
			need2(c, !(pdpte[i] & rsvd), R_GUEST_PDPTE_RSVD, GUEST_PDPTE0 + 2 * i,
			      pdpte[i], GUEST_CR3, cr3);
}

static void check_guest(struct ctx *c)
{
	guest_crs(c);
	guest_msrs(c);
	guest_segs(c);
	guest_dt_rip_rflags(c);
	guest_non_register(c);
	guest_pdptes(c);
}

/* ---- Entry points ---- */

int vmcheck_run(const struct vmcheck_input *in, vmcheck_report_fn report, void *opaque)
{
	struct ctx c = { .in = in, .report = report, .opaque = opaque };
	controls_allowed(&c);
	c.cr0 = rd(&c, GUEST_CR0);
	c.cr4 = rd(&c, GUEST_CR4);
	c.rflags = rd(&c, GUEST_RFLAGS);
	c.event = (u32)rd(&c, VM_ENTRY_INTR_INFO);
	c.ia32e = c.entry & ENTRY_IA32E_MODE_GUEST;
	c.v86 = c.rflags & RFLAGS_VM;
	c.ug = c.proc2 & CPU2_UNRESTRICTED_GUEST;
	c.host64 = c.exit & EXIT_HOST_ADDR_SPACE_SIZE;
	check_controls(&c);
	host_regs(&c);
	host_segs(&c);
	host_addr_size(&c);
	check_guest(&c);
	return c.count;
}

const struct vmcheck_rule *vmcheck_rules(u32 *count)
{
	*count = R_COUNT;
	return rule_table;
}

#define FIELD_NAME(f) { f, #f }
static const struct { u32 field; const char *name; } field_names[] = {
	FIELD_NAME(VPID), { F_POSTED_INTR_NV, "POSTED_INTR_NV" },
	FIELD_NAME(GUEST_ES_SELECTOR), FIELD_NAME(GUEST_CS_SELECTOR), FIELD_NAME(GUEST_SS_SELECTOR),
	FIELD_NAME(GUEST_DS_SELECTOR), FIELD_NAME(GUEST_FS_SELECTOR), FIELD_NAME(GUEST_GS_SELECTOR),
	FIELD_NAME(GUEST_LDTR_SELECTOR), FIELD_NAME(GUEST_TR_SELECTOR), FIELD_NAME(GUEST_INTR_STATUS),
	FIELD_NAME(HOST_ES_SELECTOR), FIELD_NAME(HOST_CS_SELECTOR), FIELD_NAME(HOST_SS_SELECTOR),
	FIELD_NAME(HOST_DS_SELECTOR), FIELD_NAME(HOST_FS_SELECTOR), FIELD_NAME(HOST_GS_SELECTOR),
	FIELD_NAME(HOST_TR_SELECTOR),
	FIELD_NAME(IO_BITMAP_A), FIELD_NAME(IO_BITMAP_B), FIELD_NAME(MSR_BITMAP),
	FIELD_NAME(VM_EXIT_MSR_STORE_ADDR), FIELD_NAME(VM_EXIT_MSR_LOAD_ADDR),
	FIELD_NAME(VM_ENTRY_MSR_LOAD_ADDR), { F_PML_ADDR, "PML_ADDRESS" }, FIELD_NAME(TSC_OFFSET),
	FIELD_NAME(VIRTUAL_APIC_PAGE_ADDR), FIELD_NAME(APIC_ACCESS_ADDR),
	{ EOI_EXIT_BITMAP0, "EOI_EXIT_BITMAP0" }, { EOI_EXIT_BITMAP0 + 2, "EOI_EXIT_BITMAP1" },
	{ EOI_EXIT_BITMAP0 + 4, "EOI_EXIT_BITMAP2" }, { EOI_EXIT_BITMAP0 + 6, "EOI_EXIT_BITMAP3" },
	{ F_POSTED_INTR_DESC, "POSTED_INTR_DESC_ADDR" }, FIELD_NAME(EPT_POINTER),
	{ F_VMREAD_BITMAP, "VMREAD_BITMAP" }, { F_VMWRITE_BITMAP, "VMWRITE_BITMAP" },
	FIELD_NAME(GUEST_PHYSICAL_ADDRESS), FIELD_NAME(VMCS_LINK_POINTER),
	FIELD_NAME(GUEST_IA32_DEBUGCTL), FIELD_NAME(GUEST_IA32_PAT), FIELD_NAME(GUEST_IA32_EFER),
	FIELD_NAME(GUEST_PDPTE0), FIELD_NAME(GUEST_PDPTE1), FIELD_NAME(GUEST_PDPTE2),
	FIELD_NAME(GUEST_PDPTE3), FIELD_NAME(HOST_IA32_PAT), FIELD_NAME(HOST_IA32_EFER),
	FIELD_NAME(PIN_BASED_VM_EXEC_CONTROL), FIELD_NAME(CPU_BASED_VM_EXEC_CONTROL),
	FIELD_NAME(EXCEPTION_BITMAP), FIELD_NAME(PAGE_FAULT_ERROR_CODE_MASK),
	FIELD_NAME(PAGE_FAULT_ERROR_CODE_MATCH), FIELD_NAME(CR3_TARGET_COUNT),
	FIELD_NAME(VM_EXIT_CONTROLS), FIELD_NAME(VM_EXIT_MSR_STORE_COUNT),
	FIELD_NAME(VM_EXIT_MSR_LOAD_COUNT), FIELD_NAME(VM_ENTRY_CONTROLS),
	FIELD_NAME(VM_ENTRY_MSR_LOAD_COUNT), FIELD_NAME(VM_ENTRY_INTR_INFO),
	FIELD_NAME(VM_ENTRY_EXCEPTION_ERROR_CODE), FIELD_NAME(VM_ENTRY_INSTRUCTION_LEN),
	FIELD_NAME(TPR_THRESHOLD), FIELD_NAME(SECONDARY_VM_EXEC_CONTROL),
	FIELD_NAME(VM_INSTRUCTION_ERROR), FIELD_NAME(VM_EXIT_REASON), FIELD_NAME(VM_EXIT_INTR_INFO),
	FIELD_NAME(VM_EXIT_INTR_ERROR_CODE), FIELD_NAME(IDT_VECTORING_INFO),
	FIELD_NAME(IDT_VECTORING_ERROR_CODE), FIELD_NAME(VM_EXIT_INSTRUCTION_LEN),
	FIELD_NAME(VMX_INSTRUCTION_INFO),
	FIELD_NAME(GUEST_ES_LIMIT), FIELD_NAME(GUEST_CS_LIMIT), FIELD_NAME(GUEST_SS_LIMIT),
	FIELD_NAME(GUEST_DS_LIMIT), FIELD_NAME(GUEST_FS_LIMIT), FIELD_NAME(GUEST_GS_LIMIT),
	FIELD_NAME(GUEST_LDTR_LIMIT), FIELD_NAME(GUEST_TR_LIMIT), FIELD_NAME(GUEST_GDTR_LIMIT),
	FIELD_NAME(GUEST_IDTR_LIMIT), FIELD_NAME(GUEST_ES_AR), FIELD_NAME(GUEST_CS_AR),
	FIELD_NAME(GUEST_SS_AR), FIELD_NAME(GUEST_DS_AR), FIELD_NAME(GUEST_FS_AR),
	FIELD_NAME(GUEST_GS_AR), FIELD_NAME(GUEST_LDTR_AR), FIELD_NAME(GUEST_TR_AR),
	FIELD_NAME(GUEST_INTERRUPTIBILITY), FIELD_NAME(GUEST_ACTIVITY_STATE),
	FIELD_NAME(GUEST_SMBASE), FIELD_NAME(GUEST_SYSENTER_CS), FIELD_NAME(VMX_PREEMPTION_TIMER),
	FIELD_NAME(HOST_IA32_SYSENTER_CS),
	FIELD_NAME(CR0_GUEST_HOST_MASK), FIELD_NAME(CR4_GUEST_HOST_MASK),
	FIELD_NAME(CR0_READ_SHADOW), FIELD_NAME(CR4_READ_SHADOW), FIELD_NAME(CR3_TARGET_VALUE0),
	FIELD_NAME(EXIT_QUALIFICATION), FIELD_NAME(GUEST_LINEAR_ADDRESS),
	FIELD_NAME(GUEST_CR0), FIELD_NAME(GUEST_CR3), FIELD_NAME(GUEST_CR4),
	FIELD_NAME(GUEST_ES_BASE), FIELD_NAME(GUEST_CS_BASE), FIELD_NAME(GUEST_SS_BASE),
	FIELD_NAME(GUEST_DS_BASE), FIELD_NAME(GUEST_FS_BASE), FIELD_NAME(GUEST_GS_BASE),
	FIELD_NAME(GUEST_LDTR_BASE), FIELD_NAME(GUEST_TR_BASE), FIELD_NAME(GUEST_GDTR_BASE),
	FIELD_NAME(GUEST_IDTR_BASE), FIELD_NAME(GUEST_DR7), FIELD_NAME(GUEST_RSP),
	FIELD_NAME(GUEST_RIP), FIELD_NAME(GUEST_RFLAGS), FIELD_NAME(GUEST_PENDING_DBG_EXCEPTIONS),
	FIELD_NAME(GUEST_SYSENTER_ESP), FIELD_NAME(GUEST_SYSENTER_EIP),
	FIELD_NAME(HOST_CR0), FIELD_NAME(HOST_CR3), FIELD_NAME(HOST_CR4), FIELD_NAME(HOST_FS_BASE),
	FIELD_NAME(HOST_GS_BASE), FIELD_NAME(HOST_TR_BASE), FIELD_NAME(HOST_GDTR_BASE),
	FIELD_NAME(HOST_IDTR_BASE), FIELD_NAME(HOST_IA32_SYSENTER_ESP),
	FIELD_NAME(HOST_IA32_SYSENTER_EIP), FIELD_NAME(HOST_RSP), FIELD_NAME(HOST_RIP),
	{ VMCHECK_F_BITS, "bits" }, { VMCHECK_F_CAP, "capability" }, { VMCHECK_F_MEM, "memory" },
};

const char *vmcheck_field_name(u32 field)
{
	for (size_t i = 0; i < ARRAY_SIZE(field_names); i++)
		if (field_names[i].field == field)
			return field_names[i].name;
	return NULL;
}

bool vmcheck_field_at(u32 i, u32 *field, const char **name)
{
	if (i >= ARRAY_SIZE(field_names))
		return false;
	*field = field_names[i].field;
	*name = field_names[i].name;
	return true;
}
