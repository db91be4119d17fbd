// memcpy and memset for the kernel, overriding compiler-builtins' weak
// ones. Those are written for `aarch64-unknown-none`'s strict alignment: a
// source and destination that are not mutually aligned (the usual case for
// keys and values) are copied by assembling each word from eight byte
// loads, about 2.5 instructions a byte, and under QEMU's TCG every one of
// them is emulated. Once the MMU is on (normal memory, SCTLR_EL1.A clear)
// unaligned accesses are allowed, and these copy 32 bytes per four
// instructions. Before that (boot, MMU off: every access is to Device
// memory, where an unaligned one faults) they go a byte at a time;
// `{unaligned_ok}` (a byte the MMU code sets) says which.
//
// Only general-purpose registers: nothing here touches the FP/SIMD state.
// memmove stays compiler-builtins' (overlapping copies are rare here).

    .section .text.memcpy, "ax"
    .global memcpy
    .type memcpy, %function
    .p2align 4
// x0 = destination (returned), x1 = source, x2 = length; no overlap.
memcpy:
    mov     x3, x0
    adrp    x4, {unaligned_ok}
    ldrb    w4, [x4, :lo12:{unaligned_ok}]
    cbz     w4, 8f
    cmp     x2, #16
    b.lo    4f
    subs    x2, x2, #32
    b.lo    2f
1:  ldp     x5, x6, [x1]
    ldp     x7, x8, [x1, #16]
    add     x1, x1, #32
    stp     x5, x6, [x3]
    stp     x7, x8, [x3, #16]
    add     x3, x3, #32
    subs    x2, x2, #32
    b.hs    1b
2:  adds    x2, x2, #32
    // 0..31 bytes left, and at least 16 were copied or are left: the
    // last 16 bytes are copied again from the end (no overlap, so the
    // bytes read are the source's).
    b.eq    9f
    cmp     x2, #16
    b.lo    3f
    ldp     x5, x6, [x1], #16
    stp     x5, x6, [x3], #16
    sub     x2, x2, #16
    cbz     x2, 9f
3:  add     x1, x1, x2
    add     x3, x3, x2
    ldp     x5, x6, [x1, #-16]
    stp     x5, x6, [x3, #-16]
    ret
    // Fewer than 16 bytes: 8, 4, 2, 1 as the length's bits say.
4:  tbz     x2, #3, 5f
    ldr     x5, [x1], #8
    str     x5, [x3], #8
5:  tbz     x2, #2, 6f
    ldr     w5, [x1], #4
    str     w5, [x3], #4
6:  tbz     x2, #1, 7f
    ldrh    w5, [x1], #2
    strh    w5, [x3], #2
7:  tbz     x2, #0, 9f
    ldrb    w5, [x1]
    strb    w5, [x3]
    ret
    // MMU off: a byte at a time.
8:  cbz     x2, 9f
    ldrb    w5, [x1], #1
    strb    w5, [x3], #1
    subs    x2, x2, #1
    b.ne    8b
9:  ret
    .size memcpy, . - memcpy

    .section .text.memset, "ax"
    .global memset
    .type memset, %function
    .p2align 4
// x0 = destination (returned), w1 = byte, x2 = length.
memset:
    mov     x3, x0
    and     x1, x1, #0xff
    adrp    x4, {unaligned_ok}
    ldrb    w4, [x4, :lo12:{unaligned_ok}]
    cbz     w4, 8f
    mov     x4, #0x0101010101010101
    mul     x1, x1, x4
    cmp     x2, #16
    b.lo    4f
    subs    x2, x2, #32
    b.lo    2f
1:  stp     x1, x1, [x3]
    stp     x1, x1, [x3, #16]
    add     x3, x3, #32
    subs    x2, x2, #32
    b.hs    1b
2:  adds    x2, x2, #32
    b.eq    9f
    cmp     x2, #16
    b.lo    3f
    stp     x1, x1, [x3], #16
    sub     x2, x2, #16
    cbz     x2, 9f
3:  add     x3, x3, x2
    stp     x1, x1, [x3, #-16]
    ret
4:  tbz     x2, #3, 5f
    str     x1, [x3], #8
5:  tbz     x2, #2, 6f
    str     w1, [x3], #4
6:  tbz     x2, #1, 7f
    strh    w1, [x3], #2
7:  tbz     x2, #0, 9f
    strb    w1, [x3]
    ret
8:  cbz     x2, 9f
    strb    w1, [x3], #1
    subs    x2, x2, #1
    b.ne    8b
9:  ret
    .size memset, . - memset
