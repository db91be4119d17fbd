//! Exception entry from `boot/vectors.s`: the saved context, the decoded
//! dump of a synchronous exception, and IRQ dispatch to the GIC.
//!
//! A synchronous exception in the kernel is fatal (unikv has no user space
//! and does no demand paging), with one exception: the semihosting probe
//! (see `semihosting.rs`) steps over an `hlt` that QEMU did not intercept.

use super::{backtrace, cpu, gicv3, semihosting};
use core::fmt;

/// The frame `vectors.s` lays down; its size and offsets are fixed there.
#[repr(C)]
pub struct ExceptionContext {
    pub gpr: [u64; 31],
    pub sp_el0: u64,
    pub elr: u64,
    pub spsr: u64,
    pub esr: u64,
    pub far: u64,
    pub q: [u128; 32],
    pub fpcr: u64,
    pub fpsr: u64,
}

const _: () = assert!(core::mem::size_of::<ExceptionContext>() == 816);

/// ESR_EL1 decoded enough to say what happened in words.
#[derive(Clone, Copy)]
pub struct Esr(pub u64);

impl Esr {
    pub fn class(self) -> u64 {
        (self.0 >> 26) & 0x3f
    }

    pub fn iss(self) -> u64 {
        self.0 & 0x1ff_ffff
    }

    pub fn class_name(self) -> &'static str {
        match self.class() {
            0x00 => "unknown reason (undefined instruction)",
            0x01 => "trapped WFI/WFE",
            0x07 => "trapped FP/SIMD access",
            0x0e => "illegal execution state",
            0x15 => "SVC",
            0x16 => "HVC",
            0x17 => "SMC",
            0x18 => "trapped system register access",
            0x20 => "instruction abort from a lower EL",
            0x21 => "instruction abort",
            0x22 => "PC alignment fault",
            0x24 => "data abort from a lower EL",
            0x25 => "data abort",
            0x26 => "SP alignment fault",
            0x2c => "trapped floating-point exception",
            0x2f => "SError",
            0x30 | 0x31 => "breakpoint",
            0x32 | 0x33 => "software step",
            0x34 | 0x35 => "watchpoint",
            0x3c => "BRK instruction",
            _ => "reserved exception class",
        }
    }

    fn is_abort(self) -> bool {
        matches!(self.class(), 0x20 | 0x21 | 0x24 | 0x25)
    }

    /// The fault status code of an abort, in words.
    pub fn fault_status(self) -> Option<&'static str> {
        if !self.is_abort() {
            return None;
        }
        Some(match self.iss() & 0x3f {
            0x00..=0x03 => "address size fault",
            0x04..=0x07 => "translation fault",
            0x09..=0x0b => "access flag fault",
            0x0d..=0x0f => "permission fault",
            0x10 => "synchronous external abort",
            0x21 => "alignment fault",
            0x30 => "TLB conflict",
            _ => "other fault",
        })
    }

    pub fn fault_level(self) -> u64 {
        self.iss() & 0x3
    }

    /// For data aborts: whether the access was a write.
    pub fn is_write(self) -> bool {
        self.class() & !1 == 0x24 && self.iss() & (1 << 6) != 0
    }
}

impl fmt::Display for Esr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:#010x} (EC {:#04x}: {}",
            self.0,
            self.class(),
            self.class_name()
        )?;
        if let Some(status) = self.fault_status() {
            write!(f, ", {} at level {}", status, self.fault_level())?;
            if self.class() & !1 == 0x24 {
                f.write_str(if self.is_write() {
                    ", on a write"
                } else {
                    ", on a read"
                })?;
            }
        }
        f.write_str(")")
    }
}

impl fmt::Display for ExceptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  ESR_EL1  {}", Esr(self.esr))?;
        writeln!(f, "  FAR_EL1  {:#018x}", self.far)?;
        writeln!(f, "  ELR_EL1  {:#018x}", self.elr)?;
        writeln!(f, "  SPSR_EL1 {:#018x}", self.spsr)?;
        writeln!(f, "  SP_EL0   {:#018x}", self.sp_el0)?;
        for (i, pair) in self.gpr.chunks(2).enumerate() {
            write!(f, "  x{:<2} {:#018x}", i * 2, pair[0])?;
            match pair.get(1) {
                Some(v) => writeln!(f, "  x{:<2} {:#018x}", i * 2 + 1, v)?,
                None => writeln!(f)?,
            }
        }
        Ok(())
    }
}

/// The first words of the reason a dump is printed for.
fn fatal(kind: &str, ctx: &ExceptionContext) -> ! {
    super::smp::stop_others();
    let esr = Esr(ctx.esr);
    let overflow = crate::memory::stack_guard_hit(ctx.far).filter(|_| esr.is_abort());
    crate::console_out::fatal(|w| {
        let _ = writeln!(w, "\r\n*** unikv: unhandled {kind} exception ***");
        if let Some((cpu, stack)) = overflow {
            let _ = writeln!(
                w,
                "*** {stack} stack overflow on CPU {cpu} (fault in its guard page) ***"
            );
        }
        let _ = write!(w, "{ctx}");
        let _ = writeln!(w, "backtrace:");
        backtrace::write(w, ctx.gpr[29], Some(ctx.elr));
    });
    semihosting::exit_failure(3);
    cpu::halt()
}

#[no_mangle]
extern "C" fn exception_sync(ctx: &mut ExceptionContext) {
    if semihosting::is_failed_call(ctx.esr, ctx.elr) {
        ctx.elr += 4;
        return;
    }
    fatal("synchronous", ctx)
}

#[no_mangle]
extern "C" fn exception_irq(ctx: &mut ExceptionContext) {
    crate::profile::note_irq(ctx.elr);
    crate::heap::in_irq(gicv3::handle_irq);
}

#[no_mangle]
extern "C" fn exception_fiq(ctx: &mut ExceptionContext) {
    fatal("FIQ", ctx)
}

#[no_mangle]
extern "C" fn exception_serror(ctx: &mut ExceptionContext) {
    fatal("SError", ctx)
}

#[no_mangle]
extern "C" fn exception_nested(ctx: &mut ExceptionContext) {
    fatal("nested (inside an exception handler)", ctx)
}

#[no_mangle]
extern "C" fn exception_lower(ctx: &mut ExceptionContext) {
    fatal("lower-EL", ctx)
}
