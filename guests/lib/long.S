/* long.S - IA-32e mode for guests/long64.c (see pt.h): the switch from the 32-bit multiboot
 * entry to long mode (returning in compatibility mode, where the -m32 C code keeps running
 * under 4-level paging), the 64-bit IDT stubs that record a fault into pt_fault and resume at
 * its fixup label, the 64-bit INT 0x80 gate back from CPL3, and lm64_op(), one access made
 * from 64-bit code (for addresses above 4 GiB).
 *
 * The object is linked into every guest; nothing here runs unless lm_enter() is called.
 * Data is addressed RIP-relative in 64-bit code (an ELF32 object has no 32S relocation). */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_KCODE64 0x18
#define SEL_TSS 0x30
#define CR0_PG 0x80000000
#define CR0_WP 0x00010000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100

	.text
	.code32

/* void lm_enter(uint32_t pml4, uint32_t extra_efer) */
	.global lm_enter
lm_enter:
	pushl %ebx
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl 8(%esp), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	orl 12(%esp), %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_WP), %eax
	movl %eax, %cr0                 /* IA-32e mode, compatibility mode */
	ljmp $SEL_KCODE64, $1f
	.code64
1:	movl %esp, %esp                 /* upper half of RSP is undefined after 32-bit code */
	lidt lm_idtr(%rip)
	movw $SEL_TSS, %ax
	ltr %ax
	pushq $SEL_KCODE
	movl $2f, %eax
	pushq %rax
	lretq
	.code32
2:	popl %ebx
	ret

/* uint32_t lm64_op(uint32_t op, uint32_t va_lo, uint32_t va_hi, uint32_t wval) */
	.global lm64_op
lm64_op:
	pushl %ebp
	movl %esp, %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl 8(%ebp), %ebx
	movl 12(%ebp), %ecx
	movl 16(%ebp), %edx
	movl 20(%ebp), %esi
	ljmp $SEL_KCODE64, $1f
	.code64
1:	movl %esp, %esp
	movl %ecx, %ecx
	shlq $32, %rdx
	orq %rdx, %rcx                  /* RCX = the 64-bit address */
	movl %esi, %esi
	movl $0xdeadbeef, %eax
	cmpl $1, %ebx
	je 2f
	cmpl $2, %ebx
	je 3f
	cmpl $3, %ebx
	je 5f
	cmpl $4, %ebx
	je 6f
	movq (%rcx), %rax
	jmp lm64_resume
2:	movq %rsi, (%rcx)
	xorl %eax, %eax
	jmp lm64_resume
3:	leaq lm64_resume(%rip), %rdx
	jmp *%rcx                       /* the code there is `jmp *%rdx` */
5:	movl (%rcx), %eax
	jmp lm64_resume
6:	invlpg (%rcx)
	xorl %eax, %eax
	.global lm64_resume
lm64_resume:
	movq %rax, %rdx
	shrq $32, %rdx
	movl %edx, lm64_hi(%rip)
	pushq $SEL_KCODE
	movl $4f, %edx
	pushq %rdx
	lretq
	.code32
4:	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

/* 64-bit exception stubs (all on IST1). */
	.code64
	.macro lmstub v
	.balign 16
lm_isr_\v:
	.if !((\v == 8) || (\v == 10) || (\v == 11) || (\v == 12) || (\v == 13) || (\v == 14) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30))
	pushq $0
	.endif
	pushq $\v
	jmp lm_isr_common
	.endm

	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	lmstub \v
	.endr

/* Frame after the two pushes: 0 rcx, 8 rax, 16 vector, 24 error, 32 rip, 40 cs, 48 rflags,
 * 56 rsp, 64 ss. pt_fault offsets: 0 expect, 4 fixup, 8 vector, 12 ec, 16 cr2, 24 ip,
 * 32 count. */
lm_isr_common:
	pushq %rax
	pushq %rcx
	movq 16(%rsp), %rax
	movl %eax, pt_fault+8(%rip)
	movq 24(%rsp), %rax
	movl %eax, pt_fault+12(%rip)
	movq %cr2, %rax
	movq %rax, pt_fault+16(%rip)
	movq 32(%rsp), %rax
	movq %rax, pt_fault+24(%rip)
	incl pt_fault+32(%rip)
	movl 16(%rsp), %eax
	cmpl pt_fault(%rip), %eax
	jne 1f
	movl $-1, pt_fault(%rip)
	movl pt_fault+4(%rip), %eax
	movq %rax, 32(%rsp)             /* resume at the fixup label */
	popq %rcx
	popq %rax
	addq $16, %rsp
	iretq
1:	/* unexpected: report from compatibility mode on a stack of its own */
	movl $lm_unexp_top, %eax
	pushq $SEL_KDATA
	pushq %rax
	pushq $2
	pushq $SEL_KCODE
	movl $lm_unexpected, %eax
	pushq %rax
	iretq

/* INT 0x80 (DPL3, IST1): back from user_call() to CPL0 compatibility mode. EAX = result. */
	.balign 16
	.global lm_int80
lm_int80:
	pushq $SEL_KDATA
	movl pt_user_saved_esp(%rip), %ecx
	pushq %rcx
	pushq $2
	pushq $SEL_KCODE
	movl $pt_user_return, %ecx
	pushq %rcx
	iretq

	.code32
	.section .rodata
	.balign 4
	.global lm_isr_stubs
lm_isr_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.long lm_isr_\v
	.endr

	.data
	.balign 4
	.global lm64_hi
lm64_hi:
	.long 0

	.bss
	.balign 16
	.skip 4096
	.global lm_ist_top
lm_ist_top:
	.skip 4096
lm_unexp_top:
