/* names.c - text for VM-instruction error numbers (SDM 31.4) and exit reasons (App. C). */
#include "vmx/vmx.h"

static const char *const insn_errors[] = {
	[1] = "VMCALL executed in VMX root operation",
	[2] = "VMCLEAR with invalid physical address",
	[3] = "VMCLEAR with VMXON pointer",
	[4] = "VMLAUNCH with non-clear VMCS",
	[5] = "VMRESUME with non-launched VMCS",
	[6] = "VMRESUME after VMXOFF",
	[7] = "VM entry with invalid control field(s)",
	[8] = "VM entry with invalid host-state field(s)",
	[9] = "VMPTRLD with invalid physical address",
	[10] = "VMPTRLD with VMXON pointer",
	[11] = "VMPTRLD with incorrect VMCS revision identifier",
	[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
	[13] = "VMWRITE to read-only VMCS component",
	[15] = "VMXON executed in VMX root operation",
	[16] = "VM entry with invalid executive-VMCS pointer",
	[17] = "VM entry with non-launched executive VMCS",
	[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
	[19] = "VMCALL with non-clear VMCS",
	[20] = "VMCALL with invalid VM-exit control fields",
	[22] = "VMCALL with incorrect MSEG revision identifier",
	[23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
	[24] = "VMCALL with invalid SMM-monitor features",
	[25] = "VM entry with invalid VM-execution control fields in executive VMCS",
	[26] = "VM entry with events blocked by MOV SS",
	[28] = "invalid operand to INVEPT/INVVPID",
};

const char *vmx_instruction_error_name(u32 err)
{
	if (err < sizeof(insn_errors) / sizeof(insn_errors[0]) && insn_errors[err])
		return insn_errors[err];
	return "unknown VM-instruction error";
}

static const char *const exit_names[EXIT_REASON_MAX] = {
	[EXIT_EXCEPTION_NMI] = "exception_nmi",
	[EXIT_EXTERNAL_INTERRUPT] = "external_interrupt",
	[EXIT_TRIPLE_FAULT] = "triple_fault",
	[EXIT_INIT] = "init",
	[EXIT_SIPI] = "sipi",
	[EXIT_IO_SMI] = "io_smi",
	[EXIT_OTHER_SMI] = "other_smi",
	[EXIT_INTERRUPT_WINDOW] = "interrupt_window",
	[EXIT_NMI_WINDOW] = "nmi_window",
	[EXIT_TASK_SWITCH] = "task_switch",
	[EXIT_CPUID] = "cpuid",
	[EXIT_GETSEC] = "getsec",
	[EXIT_HLT] = "hlt",
	[EXIT_INVD] = "invd",
	[EXIT_INVLPG] = "invlpg",
	[EXIT_RDPMC] = "rdpmc",
	[EXIT_RDTSC] = "rdtsc",
	[EXIT_RSM] = "rsm",
	[EXIT_VMCALL] = "vmcall",
	[EXIT_VMCLEAR] = "vmclear",
	[EXIT_VMLAUNCH] = "vmlaunch",
	[EXIT_VMPTRLD] = "vmptrld",
	[EXIT_VMPTRST] = "vmptrst",
	[EXIT_VMREAD] = "vmread",
	[EXIT_VMRESUME] = "vmresume",
	[EXIT_VMWRITE] = "vmwrite",
	[EXIT_VMXOFF] = "vmxoff",
	[EXIT_VMXON] = "vmxon",
	[EXIT_CR_ACCESS] = "cr_access",
	[EXIT_DR_ACCESS] = "dr_access",
	[EXIT_IO_INSTRUCTION] = "io",
	[EXIT_RDMSR] = "rdmsr",
	[EXIT_WRMSR] = "wrmsr",
	[EXIT_INVALID_GUEST_STATE] = "invalid_guest_state",
	[EXIT_MSR_LOADING] = "msr_loading",
	[EXIT_MWAIT] = "mwait",
	[EXIT_MONITOR_TRAP_FLAG] = "monitor_trap_flag",
	[EXIT_MONITOR] = "monitor",
	[EXIT_PAUSE] = "pause",
	[EXIT_MACHINE_CHECK] = "machine_check",
	[EXIT_TPR_BELOW_THRESHOLD] = "tpr_below_threshold",
	[EXIT_APIC_ACCESS] = "apic_access",
	[EXIT_VIRTUALIZED_EOI] = "virtualized_eoi",
	[EXIT_GDTR_IDTR] = "gdtr_idtr",
	[EXIT_LDTR_TR] = "ldtr_tr",
	[EXIT_EPT_VIOLATION] = "ept_violation",
	[EXIT_EPT_MISCONFIG] = "ept_misconfig",
	[EXIT_INVEPT] = "invept",
	[EXIT_RDTSCP] = "rdtscp",
	[EXIT_PREEMPTION_TIMER] = "preemption_timer",
	[EXIT_INVVPID] = "invvpid",
	[EXIT_WBINVD] = "wbinvd",
	[EXIT_XSETBV] = "xsetbv",
	[EXIT_APIC_WRITE] = "apic_write",
	[EXIT_RDRAND] = "rdrand",
	[EXIT_INVPCID] = "invpcid",
	[EXIT_VMFUNC] = "vmfunc",
	[EXIT_ENCLS] = "encls",
	[EXIT_RDSEED] = "rdseed",
	[EXIT_PML_FULL] = "pml_full",
	[EXIT_XSAVES] = "xsaves",
	[EXIT_XRSTORS] = "xrstors",
};

const char *vmx_exit_reason_name(u32 reason)
{
	if (reason < EXIT_REASON_MAX && exit_names[reason])
		return exit_names[reason];
	return "unknown";
}
