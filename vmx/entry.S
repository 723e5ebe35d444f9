/* entry.S - VM entry and the VM-exit landing point (HOST_RIP). */
#define HOST_RSP 0x6c14
#define R(n) (n * 8)(%rdi)
#define CR2_OFF (16 * 8)

	.text
/*
 * int vmx_enter(struct guest_regs *regs [rdi], int launched [esi])
 * Saves the host's callee-saved registers, leaves regs on the stack, sets HOST_RSP to the
 * stack pointer at that point, loads the guest GPRs and CR2 and runs VMLAUNCH or VMRESUME.
 * A VM exit lands in vmx_exit with that stack; it stores the guest registers and returns 0.
 */
	.global vmx_enter
vmx_enter:
	pushq %rbp
	movq %rsp, %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdi                      /* regs, found again at (%rsp) by vmx_exit */
	cmpq %rsp, host_rsp(%rip)       /* the same stack as the last entry: HOST_RSP holds */
	je 6f
	movq $HOST_RSP, %rax
	vmwrite %rsp, %rax
	jc 3f
	jz 2f
	movq %rsp, host_rsp(%rip)
6:
	movq CR2_OFF(%rdi), %rax
	movq %rax, %cr2
	testl %esi, %esi                /* flags stay set through the MOVs below */
	movq R(0), %rax
	movq R(1), %rcx
	movq R(2), %rdx
	movq R(3), %rbx
	movq R(5), %rbp
	movq R(6), %rsi
	movq R(8), %r8
	movq R(9), %r9
	movq R(10), %r10
	movq R(11), %r11
	movq R(12), %r12
	movq R(13), %r13
	movq R(14), %r14
	movq R(15), %r15
	movq R(7), %rdi
	jnz 1f
	vmlaunch
	jmp 4f
1:	vmresume
4:	/* Only a failed VMLAUNCH/VMRESUME falls through: the guest GPRs are loaded, host ones are
	 * on the stack. CF=1: VMfailInvalid; ZF=1: VMfailValid. */
	jc 3f
2:	movl $1, %eax
	jmp 5f
3:	movl $2, %eax
5:	popq %rdi
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

	.global vmx_exit
vmx_exit:
	pushq %rdi                      /* guest RDI; regs pointer is now at 8(%rsp) */
	movq 8(%rsp), %rdi
	movq %rax, R(0)
	movq %rcx, R(1)
	movq %rdx, R(2)
	movq %rbx, R(3)
	movq %rbp, R(5)
	movq %rsi, R(6)
	movq %r8, R(8)
	movq %r9, R(9)
	movq %r10, R(10)
	movq %r11, R(11)
	movq %r12, R(12)
	movq %r13, R(13)
	movq %r14, R(14)
	movq %r15, R(15)
	popq %rax
	movq %rax, R(7)
	movq %cr2, %rax
	movq %rax, CR2_OFF(%rdi)
	call vmx_exit_landing           /* the exit handled; 1: resume the guest now */
	testl %eax, %eax
	jz 5b                           /* 0: back to vcpu_run */
	movq (%rsp), %rdi
	movl $1, %esi                   /* launched: VMRESUME */
	jmp 6b

	.bss
	.align 8
host_rsp:                               /* the value in HOST_RSP (0: not written yet) */
	.quad 0
