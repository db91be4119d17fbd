// The exception vector table and the save/restore of the interrupted context.
//
// The kernel runs on SP_EL0 (EL1t); taking an exception switches to SP_EL1,
// the exception stack. So the "current EL with SP0" entries are the normal
// path, and the "current EL with SPx" entries mean a fault inside a handler.
// The frame laid down here is `ExceptionContext` in exception.rs: keep the
// two in step (CONTEXT_SIZE and the offsets below).

.equ CONTEXT_SIZE, 816

.macro VECTOR handler
.balign 0x80
    sub     sp, sp, #CONTEXT_SIZE
    stp     x0, x1, [sp, #0]
    mov     x0, sp
    adrp    x1, \handler
    add     x1, x1, :lo12:\handler
    b       __exception_save
.endm

.section .text.vectors, "ax"
.balign 0x800
.global __exception_vectors
__exception_vectors:
    // Current EL with SP_EL0: the kernel itself.
    VECTOR  exception_sync
    VECTOR  exception_irq
    VECTOR  exception_fiq
    VECTOR  exception_serror
    // Current EL with SP_ELx: an exception inside an exception handler.
    VECTOR  exception_nested
    VECTOR  exception_nested
    VECTOR  exception_nested
    VECTOR  exception_nested
    // Lower EL, AArch64 and AArch32: unikv has no lower EL.
    VECTOR  exception_lower
    VECTOR  exception_lower
    VECTOR  exception_lower
    VECTOR  exception_lower
    VECTOR  exception_lower
    VECTOR  exception_lower
    VECTOR  exception_lower
    VECTOR  exception_lower

// x0 = the frame (x0, x1 already saved), x1 = the Rust handler.
__exception_save:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x2, sp_el0
    stp     x30, x2, [sp, #240]
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x2, x3, [sp, #256]
    mrs     x2, esr_el1
    mrs     x3, far_el1
    stp     x2, x3, [sp, #272]
    // The target is hard-float: any Rust handler may touch the NEON registers.
    stp     q0, q1, [sp, #288]
    stp     q2, q3, [sp, #320]
    stp     q4, q5, [sp, #352]
    stp     q6, q7, [sp, #384]
    stp     q8, q9, [sp, #416]
    stp     q10, q11, [sp, #448]
    stp     q12, q13, [sp, #480]
    stp     q14, q15, [sp, #512]
    stp     q16, q17, [sp, #544]
    stp     q18, q19, [sp, #576]
    stp     q20, q21, [sp, #608]
    stp     q22, q23, [sp, #640]
    stp     q24, q25, [sp, #672]
    stp     q26, q27, [sp, #704]
    stp     q28, q29, [sp, #736]
    stp     q30, q31, [sp, #768]
    mrs     x2, fpcr
    mrs     x3, fpsr
    add     x4, sp, #800
    stp     x2, x3, [x4]
    // A frame record linking the handler's backtrace to the interrupted code.
    ldr     x2, [sp, #256]
    stp     x29, x2, [sp, #-16]!
    mov     x29, sp
    blr     x1
    add     sp, sp, #16

    add     x4, sp, #800
    ldp     x2, x3, [x4]
    msr     fpcr, x2
    msr     fpsr, x3
    ldp     q0, q1, [sp, #288]
    ldp     q2, q3, [sp, #320]
    ldp     q4, q5, [sp, #352]
    ldp     q6, q7, [sp, #384]
    ldp     q8, q9, [sp, #416]
    ldp     q10, q11, [sp, #448]
    ldp     q12, q13, [sp, #480]
    ldp     q14, q15, [sp, #512]
    ldp     q16, q17, [sp, #544]
    ldp     q18, q19, [sp, #576]
    ldp     q20, q21, [sp, #608]
    ldp     q22, q23, [sp, #640]
    ldp     q24, q25, [sp, #672]
    ldp     q26, q27, [sp, #704]
    ldp     q28, q29, [sp, #736]
    ldp     q30, q31, [sp, #768]
    // The handler may have changed ELR (to step over an instruction).
    ldp     x2, x3, [sp, #256]
    msr     elr_el1, x2
    msr     spsr_el1, x3
    ldp     x30, x2, [sp, #240]
    msr     sp_el0, x2
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    add     sp, sp, #CONTEXT_SIZE
    eret
