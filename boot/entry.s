// The image's first instructions: the only code that runs before Rust.
//
// QEMU enters here on CPU 0 at EL1 (EL2 with virtualization=on), MMU off,
// x0 = device tree or 0. Everything below must hold before kernel_main:
// other cores parked, EL1, FP/SIMD on (Rust emits NEON for memcpy), the
// exception stack in SP_EL1 and the kernel stack in SP_EL0, .bss zeroed,
// vectors installed. kernel_main(dtb, entry_el).

// EL2 -> EL1 (QEMU's virtualization=on): EL1 runs AArch64 with the
// physical timer and counter and the GIC's system registers its own, no
// FP/SIMD traps; then `eret` to \target at EL1h with DAIF masked.
.macro drop_to_el1 target
    mov     x1, #(1 << 31)              // HCR_EL2.RW
    msr     hcr_el2, x1
    mrs     x1, cnthctl_el2
    orr     x1, x1, #3                  // EL1PCTEN | EL1PCEN
    msr     cnthctl_el2, x1
    msr     cntvoff_el2, xzr
    mov     x1, #0x33ff                 // CPTR_EL2: no FP/SIMD traps
    msr     cptr_el2, x1
    msr     hstr_el2, xzr
    // GICv3 system registers usable at EL1.
    mrs     x1, S3_4_C12_C9_5           // ICC_SRE_EL2
    orr     x1, x1, #0xf                // SRE | DFB | DIB | Enable
    msr     S3_4_C12_C9_5, x1
    isb
    ldr     x1, =0x30d00800             // SCTLR_EL1 RES1 bits, MMU off
    msr     sctlr_el1, x1
    mov     x1, #0x3c5                  // EL1h, DAIF masked
    msr     spsr_el2, x1
    adr     x1, \target
    msr     elr_el2, x1
    eret

.endm

.section .text.boot, "ax"
.global _start
_start:
    .cfi_startproc
    // The outermost frame: debuggers stop unwinding here.
    .cfi_undefined x30
    mov     x19, x0                     // keep the device tree pointer

    // Only the boot CPU goes on; PSCI starts the others explicitly.
    mrs     x1, mpidr_el1
    and     x1, x1, #0xffffff           // Aff2.Aff1.Aff0
    cbnz    x1, .Lpark

    mrs     x1, CurrentEL
    lsr     x1, x1, #2
    mov     x20, x1                     // the EL we were entered at, for the log
    cmp     x1, #2
    b.eq    .Lfrom_el2
    b.hi    .Lpark                      // EL3: not a platform we support
    b       .Lat_el1

.Lfrom_el2:
    drop_to_el1 .Lat_el1

.Lat_el1:
    mov     x1, #(3 << 20)              // CPACR_EL1.FPEN: no FP/SIMD traps
    msr     cpacr_el1, x1
    isb

    // Exceptions run on their own stack (SP_EL1); the kernel on SP_EL0, so a
    // kernel stack overflow is still reported from a good stack.
    ldr     x1, =__exc_stack_top
    mov     sp, x1
    msr     spsel, #0
    ldr     x1, =__stack_top
    mov     sp, x1

    ldr     x1, =__bss_start
    ldr     x2, =__bss_end
1:  cmp     x1, x2
    b.hs    2f
    stp     xzr, xzr, [x1], #16
    b       1b
2:
    ldr     x1, =__exception_vectors
    msr     vbar_el1, x1
    isb

    msr     tpidr_el1, xzr              // this CPU's index (hal::cpus)

    // A zero frame record ends every backtrace here.
    mov     x29, xzr
    mov     x30, xzr
    mov     x0, x19
    mov     x1, x20
    bl      kernel_main

.Lpark:
    msr     daifset, #0xf
1:  wfe
    b       1b
    .cfi_endproc

// Where PSCI CPU_ON starts the other CPUs (hal::smp), x0 = the CPU's index
// (the call's context), MMU off, at EL1 or EL2. Everything the boot CPU
// sets up for itself before Rust runs: EL1, FP/SIMD, its slot of stacks,
// vectors, its index in TPIDR_EL1; and the MMU, on with the boot CPU's
// tables and settings (hal::smp's SECONDARY_MMU: MAIR, TCR, TTBR0, SCTLR)
// before any Rust code, whose memcpy then copies by unaligned words.
.global _start_secondary
_start_secondary:
    .cfi_startproc
    .cfi_undefined x30
    msr     daifset, #0xf
    mov     x19, x0
    mrs     x1, CurrentEL
    lsr     x1, x1, #2
    cmp     x1, #2
    b.eq    .Lsecondary_from_el2
    b.hi    .Lpark
    b       .Lsecondary_at_el1
.Lsecondary_from_el2:
    drop_to_el1 .Lsecondary_at_el1

.Lsecondary_at_el1:
    mov     x1, #(3 << 20)              // CPACR_EL1.FPEN
    msr     cpacr_el1, x1
    ldr     x1, =SECONDARY_MMU
    ldp     x2, x3, [x1]                // MAIR, TCR
    ldp     x4, x5, [x1, #16]           // TTBR0, SCTLR
    msr     mair_el1, x2
    msr     tcr_el1, x3
    msr     ttbr0_el1, x4
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    msr     sctlr_el1, x5
    isb

    // This CPU's slot: [guard][kernel stack][guard][exception stack].
    ldr     x1, =__cpu_stacks
    ldr     x2, =__cpu_stack_slot
    madd    x1, x2, x19, x1             // the slot's bottom
    ldr     x2, =__stack_size
    add     x1, x1, #4096
    add     x1, x1, x2                  // kernel stack top
    ldr     x3, =__exc_stack_size
    add     x4, x1, #4096
    add     x4, x4, x3                  // exception stack top
    mov     sp, x4
    msr     spsel, #0
    mov     sp, x1

    ldr     x1, =__exception_vectors
    msr     vbar_el1, x1
    msr     tpidr_el1, x19
    isb

    mov     x29, xzr
    mov     x30, xzr
    mov     x0, x19
    bl      secondary_main
    b       .Lpark
    .cfi_endproc
.ltorg
