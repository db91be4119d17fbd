//! The `log` backend: every record goes to the serial port and into the log
//! ring that `LOG` prints and the gdb helper `unikv-dmesg` reads.
//!
//! Lines look like Linux's dmesg: `[    1.234567] INFO  unikv::mmu: text`,
//! the timestamp being seconds since reset from the generic timer.

use crate::arch::timer;
use crate::sync::{BootCell, IrqLock};
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicUsize, Ordering};
use kcore::logring::LogRing;
use log::{LevelFilter, Log, Metadata, Record};

pub const LOG_RING_BYTES: usize = 64 * 1024;

/// The ring itself, at a fixed symbol so that gdb finds it without Rust's
/// name mangling; `RING_LOCK` serializes every access from the kernel.
#[no_mangle]
pub static UNIKV_LOG_RING: BootCell<LogRing<LOG_RING_BYTES>> = BootCell::new(LogRing::new());
static RING_LOCK: IrqLock<()> = IrqLock::new(());

/// Records at or above this level are also printed on the console; the
/// ring keeps everything the max level lets through (Linux's
/// console_loglevel). Info while booting, warn once the prompt is up, so
/// that log lines do not land in the middle of command replies.
static CONSOLE_LEVEL: AtomicUsize = AtomicUsize::new(LevelFilter::Info as usize);

struct Logger;

static LOGGER: Logger = Logger;

/// A line is formatted into a fixed buffer first: the logger must work before
/// the heap exists and inside interrupt handlers.
struct LineBuf {
    buf: [u8; 512],
    len: usize,
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let us = timer::now_us();
        let mut line = LineBuf {
            buf: [0; 512],
            len: 0,
        };
        let _ = write!(
            line,
            "[{:5}.{:06}] {:<5} {}: {}",
            us / 1_000_000,
            us % 1_000_000,
            record.level(),
            record.module_path().unwrap_or("?"),
            record.args()
        );
        let text = &line.buf[..line.len];
        {
            let _guard = RING_LOCK.lock();
            // SAFETY: RING_LOCK is held, and it is the only way the kernel
            // touches the ring.
            unsafe { (*UNIKV_LOG_RING.get()).push_line(text) };
        }
        if record.level() as usize > CONSOLE_LEVEL.load(Ordering::Relaxed) {
            return;
        }
        crate::console_out::with_writer(|w| {
            let _ = writeln!(
                w,
                "{}",
                core::str::from_utf8(text).unwrap_or("<log line not UTF-8>")
            );
        });
    }

    fn flush(&self) {}
}

/// Never inlined: it is `kernel_main`'s first call, and inlined (the LTO
/// build) it put gdb's `break kernel_main` inside `log`'s atomics, five
/// frames down.
#[inline(never)]
pub fn init(level: LevelFilter) {
    // A second call (there is none) would only keep the first logger.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

/// What the ring records (and so what the console may print).
pub fn set_level(level: LevelFilter) {
    log::set_max_level(level);
}

/// What the console prints of what the ring records.
pub fn set_console_level(level: LevelFilter) {
    CONSOLE_LEVEL.store(level as usize, Ordering::Relaxed);
}

/// The last `n` lines of the ring, oldest first.
pub fn last_lines(n: usize) -> Vec<Vec<u8>> {
    let _guard = RING_LOCK.lock();
    // SAFETY: RING_LOCK is held.
    unsafe { (*UNIKV_LOG_RING.get()).last(n) }
}
