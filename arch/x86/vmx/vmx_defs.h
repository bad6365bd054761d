/* VMX architectural numbers: control bits, exit reasons, exit-qualification layouts. */
#ifndef MHV_ARCH_X86_VMX_VMX_DEFS_H
#define MHV_ARCH_X86_VMX_VMX_DEFS_H

/* Primary processor-based controls */
#define PROC_HLT_EXITING       (1u << 7)
#define PROC_INVLPG_EXITING    (1u << 9)
#define PROC_CR3_LOAD_EXITING  (1u << 15)
#define PROC_CR3_STORE_EXITING (1u << 16)
#define PROC_MOV_DR_EXITING    (1u << 23)
#define PROC_USE_IO_BITMAPS    (1u << 25)
#define PROC_MTF	       (1u << 27) /* monitor trap flag: the debugger's single step */
#define PROC_USE_MSR_BITMAPS   (1u << 28)
#define PROC_SECONDARY	       (1u << 31)

/* Secondary processor-based controls */
#define PROC2_EPT	   (1u << 1)
#define PROC2_RDTSCP	   (1u << 3)
#define PROC2_VPID	   (1u << 5)
#define PROC2_UNRESTRICTED (1u << 7)
#define PROC2_INVPCID	   (1u << 12)
#define PROC2_XSAVES	   (1u << 20)

/* VM-exit controls */
#define EXIT_SAVE_DEBUG	     (1u << 2) /* DR7 and IA32_DEBUGCTL into the VMCS */
#define EXIT_HOST_ADDR_SPACE (1u << 9)
#define EXIT_SAVE_PAT	     (1u << 18)
#define EXIT_LOAD_PAT	     (1u << 19)
#define EXIT_SAVE_EFER	     (1u << 20)
#define EXIT_SAVE_PREEMPT_TIMER (1u << 22)
#define EXIT_LOAD_EFER	     (1u << 21)

/* VM-entry controls */
#define ENTRY_LOAD_DEBUG (1u << 2) /* DR7 and IA32_DEBUGCTL from the VMCS */
#define ENTRY_IA32E_MODE (1u << 9)
#define ENTRY_LOAD_PAT	 (1u << 14)
#define ENTRY_LOAD_EFER	 (1u << 15)

/* Basic exit reasons (SDM Vol. 3, Appendix C) */
#define EXIT_REASON_EXCEPTION_NMI    0
#define EXIT_REASON_EXTERNAL_INT     1
#define EXIT_REASON_TRIPLE_FAULT     2
#define EXIT_REASON_INIT	     3
#define EXIT_REASON_SIPI	     4
#define EXIT_REASON_TASK_SWITCH	     9
#define EXIT_REASON_CPUID	     10
#define EXIT_REASON_GETSEC	     11
#define EXIT_REASON_HLT		     12
#define EXIT_REASON_INVD	     13
#define EXIT_REASON_INVLPG	     14
#define EXIT_REASON_VMCALL	     18
#define EXIT_REASON_VMCLEAR	     19
#define EXIT_REASON_VMLAUNCH	     20
#define EXIT_REASON_VMPTRLD	     21
#define EXIT_REASON_VMPTRST	     22
#define EXIT_REASON_VMREAD	     23
#define EXIT_REASON_VMRESUME	     24
#define EXIT_REASON_VMWRITE	     25
#define EXIT_REASON_VMXOFF	     26
#define EXIT_REASON_VMXON	     27
#define EXIT_REASON_CR_ACCESS	     28
#define EXIT_REASON_DR_ACCESS	     29
#define EXIT_REASON_IO		     30
#define EXIT_REASON_RDMSR	     31
#define EXIT_REASON_WRMSR	     32
#define EXIT_REASON_BAD_GUEST_STATE  33
#define EXIT_REASON_MSR_LOADING	     34
#define EXIT_REASON_MCE_DURING_ENTRY 41
#define EXIT_REASON_MTF		     37
#define EXIT_REASON_EPT_VIOLATION    48
#define EXIT_REASON_EPT_MISCONFIG    49
#define EXIT_REASON_INVEPT	     50
#define EXIT_REASON_PREEMPT_TIMER    52
#define EXIT_REASON_INVVPID	     53
#define EXIT_REASON_XSETBV	     55
#define EXIT_REASON_INVPCID	     58
#define EXIT_REASON_VMFUNC	     59
#define EXIT_REASON_BASIC_MASK	     0xFFFF
#define EXIT_REASON_ENTRY_FAILED     (1u << 31)
/* Bit 27: the exit came from an SGX enclave; bits 16-26, 28-30 are other modifiers. */

/* Exit qualification: control-register access */
#define CRQ_CR(q)	((q)&0xF)
#define CRQ_TYPE(q)	(((q) >> 4) & 0x3)
#define CRQ_GPR(q)	(((q) >> 8) & 0xF)
#define CRQ_LMSW_SRC(q) (((q) >> 16) & 0xFFFF)

/* Exit qualification: I/O */
#define IOQ_SIZE(q) (((q)&0x7) + 1)
#define IOQ_IN	    (1u << 3)
#define IOQ_STRING  (1u << 4)
#define IOQ_REP	    (1u << 5)
#define IOQ_PORT(q) (((q) >> 16) & 0xFFFF)

/* Exit qualification: EPT violation */
#define EPTQ_READ      (1u << 0)
#define EPTQ_WRITE     (1u << 1)
#define EPTQ_FETCH     (1u << 2)
#define EPTQ_GLA_VALID (1u << 7)
#define EPTQ_GLA_FINAL (1u << 8) /* with GLA_VALID: the access itself, not a page walk */

/* VM-exit instruction information (INVPCID etc.): register operand 2 */
#define INSN_INFO_REG2(i) (((i) >> 28) & 0xF)

/* Event injection (VM-entry interruption information) */
#define INTR_INFO_VALID	       (1u << 31)
#define INTR_INFO_DELIVER_ERR  (1u << 11)
#define INTR_TYPE_HW_EXCEPTION (3u << 8)
#define INTR_TYPE_PRIV_SW_EXC  (5u << 8) /* ICEBP (INT1) */
#define INTR_TYPE_SW_EXC       (6u << 8) /* INT3, INTO */
#define INTR_INFO_VECTOR_MASK  0xFFu
#define INTR_INFO_TYPE_MASK    (7u << 8)
#define INTR_INFO_TYPE_SHIFT   8

/* EPT pointer */
#define EPTP_MT_WB  6
#define EPTP_WALK_4 (3u << 3)

/* INVVPID / INVEPT types */
#define INVVPID_ADDR		0
#define INVVPID_SINGLE		1
#define INVVPID_ALL		2
#define VPID_CAP_INVVPID_ADDR	(1ull << 40)
#define VPID_CAP_INVVPID_SINGLE (1ull << 41)
#define INVEPT_SINGLE		1
#define INVEPT_ALL		2
#define EPT_CAP_EXEC_ONLY	(1ull << 0) /* EPT leaves with X alone */
#define EPT_CAP_INVEPT		(1ull << 20)
#define EPT_CAP_INVEPT_SINGLE	(1ull << 25)
#define EPT_CAP_INVEPT_ALL	(1ull << 26)
#define VPID_CAP_INVVPID	(1ull << 32)
#define VPID_CAP_INVVPID_ALL	(1ull << 42)

/* Guest segment access rights */
#define AR_CODE32_FLAT 0xC09B
#define AR_DATA32_FLAT 0xC093
#define AR_TSS32_BUSY  0x008B
#define AR_UNUSABLE    0x10000
#define AR_DPL(ar)     (((ar) >> 5) & 3)
#define AR_L	       (1u << 13)
#define AR_DB	       (1u << 14)

/* VM-instruction errors (SDM Vol. 3, 31.4) */
#define VM_INSN_ERR_BAD_CONTROLS 7
#define VM_INSN_ERR_BAD_HOST	 8

#define GUEST_ACTIVITY_HLT    1
#define VMX_MISC_ACTIVITY_HLT (1ull << 6)
#define INTR_TYPE_NMI	      (2u << 8)
#define PIN_NMI_EXITING	      (1u << 3) /* SMP: mhv's kicks and stop requests are NMIs */
#define PIN_PREEMPT_TIMER     (1u << 6) /* the break-in's poll (core/debug_stop.h) */
#define VMX_MISC_TIMER_RATE   0x1Full	 /* the timer counts TSC >> this */
#define BLOCKING_BY_STI	      (1u << 0)
#define BLOCKING_BY_MOV_SS    (1u << 1)
#define BLOCKING_BY_NMI	      (1u << 3)
#define PAE_PDPTE_RSVD_LOW    ((3ull << 1) | (0xFull << 5))
#define CPUID_ADDR_SIZES      0x80000008u
#define CPUID_MAXPHYADDR_MASK 0xFFu /* CPUID 80000008H:EAX[7:0] */
#define PENDING_DBG_BS	      (1ull << 14) /* pending debug exceptions: single step */
#define PENDING_DBG_ENABLED_BP (1ull << 12) /* ... an enabled breakpoint (B0-B3 in bits 0-3) */
/* #DB exit qualification: B0-B3, BD, BS, the DR6 bits the exit reports instead of setting */
#define DBQ_DR6_BITS	      0x600Full
/* MOV DR exit qualification */
#define DRQ_DR(q)	      ((unsigned)(q) & 7u)
#define DRQ_FROM_DR	      (1u << 4)
#define DRQ_GPR(q)	      (((unsigned)(q) >> 8) & 0xFu)
#define DEBUGCTL_BTF	      (1ull << 1)  /* TF single-steps branches only */
#define GUEST_ACTIVITY_ACTIVE 0
#define DR7_INIT	      0x400
#define PAT_POWER_ON	      0x0007040600070406ull
#define VMCS_LINK_NONE	      (~0ull)

#endif
