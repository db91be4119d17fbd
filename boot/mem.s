// memcpy and memset for the kernel, overriding compiler-builtins' weak
// ones. Those are written for `aarch64-unknown-none`'s strict alignment: a
// source and destination that are not mutually aligned (the usual case for
// keys and values) are copied by assembling each word from eight byte
// loads, about 2.5 instructions a byte, and under QEMU's TCG every one of
// them is emulated. Once the MMU is on (normal memory, SCTLR_EL1.A clear)
// unaligned accesses are allowed, and these copy 32 bytes per four
// instructions. Most copies here are short (keys, small values, a reply's
// 40 bytes: this target makes LLVM call memcpy for any move it cannot do
// in a few aligned accesses). Before
// that (boot, MMU off: every access is to Device memory, where an
// unaligned one faults) they go a byte at a time; `{unaligned_ok}` (a byte
// the MMU code sets) says which.
//
// Only general-purpose registers: nothing here touches the FP/SIMD state.
// memmove stays compiler-builtins' (overlapping copies are rare here).

    .section .text.memcpy, "ax"
    .global memcpy
    .type memcpy, %function
    .p2align 4
// x0 = destination (returned), x1 = source, x2 = length; no overlap.
// 16 to 32 bytes (keys, a reply's 40-byte move but its tail) take no loop:
// the first 16 and the last 16, overlapping in the middle (an overlap
// rewrites bytes with the source's own). Fewer than 16 go by the length's
// bits, cheapest for the 1-3 byte copies that are most of them.
memcpy:
    adrp    x4, {unaligned_ok}
    ldrb    w4, [x4, :lo12:{unaligned_ok}]
    cbz     w4, 8f
    cmp     x2, #16
    b.lo    2f
    add     x4, x1, x2
    add     x5, x0, x2
    cmp     x2, #32
    b.hi    5f
    ldp     x6, x7, [x1]
    ldp     x8, x9, [x4, #-16]
    stp     x6, x7, [x0]
    stp     x8, x9, [x5, #-16]
    ret
    // Fewer than 16 bytes: 8, 4, 2, 1 as the length's bits say.
2:  mov     x3, x0
    tbz     x2, #3, 3f
    ldr     x5, [x1], #8
    str     x5, [x3], #8
3:  tbz     x2, #2, 4f
    ldr     w5, [x1], #4
    str     w5, [x3], #4
4:  tbz     x2, #1, 6f
    ldrh    w5, [x1], #2
    strh    w5, [x3], #2
6:  tbz     x2, #0, 9f
    ldrb    w5, [x1]
    strb    w5, [x3]
    ret
    // More than 32: 32 at a time while more than 32 are left, then the
    // last 32 from the end.
5:  mov     x3, x0
7:  ldp     x6, x7, [x1]
    ldp     x8, x9, [x1, #16]
    add     x1, x1, #32
    stp     x6, x7, [x3]
    stp     x8, x9, [x3, #16]
    add     x3, x3, #32
    sub     x2, x2, #32
    cmp     x2, #32
    b.hi    7b
    ldp     x6, x7, [x4, #-32]
    ldp     x8, x9, [x4, #-16]
    stp     x6, x7, [x5, #-32]
    stp     x8, x9, [x5, #-16]
    ret
    // MMU off: a byte at a time.
8:  cbz     x2, 9f
    mov     x3, x0
1:  ldrb    w5, [x1], #1
    strb    w5, [x3], #1
    subs    x2, x2, #1
    b.ne    1b
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
