//! The panic handler: the other CPUs stopped, then message, location,
//! backtrace, and an exit status that says "failed" (semihosting) or,
//! without semihosting, a halted machine.

use crate::arch::{backtrace, cpu, semihosting, smp};
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};

static PANICKING: AtomicBool = AtomicBool::new(false);

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    let fp = backtrace::current_fp();
    if PANICKING.swap(true, Ordering::SeqCst) {
        // A panic while panicking (or on two CPUs at once): print nothing
        // more that could recurse or interleave.
        semihosting::exit_failure(101);
        cpu::halt();
    }
    smp::stop_others();
    crate::console_out::fatal(|w| {
        let _ = writeln!(w, "\r\n*** unikv kernel panic ***");
        if let Some(loc) = info.location() {
            let _ = writeln!(w, "at {}:{}:{}", loc.file(), loc.line(), loc.column());
        }
        let _ = writeln!(w, "{}", info.message());
        let _ = writeln!(
            w,
            "backtrace (tools/symbolize turns addresses into functions):"
        );
        backtrace::write(w, fp, None);
    });
    semihosting::exit_failure(101);
    cpu::halt()
}
