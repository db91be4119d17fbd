//! The one way out to the serial port, shared by the logger, the console and
//! the fatal paths (panic, exception dump).

use crate::drivers::pl011::{self, Pl011};
use crate::sync::IrqLock;
use core::fmt;
use core::sync::atomic::Ordering;

/// QEMU virt's PL011, used before the device tree is read (as Linux's
/// `earlycon`), so that even a failure to parse it can be reported.
const EARLY_UART_BASE: usize = 0x0900_0000;

// SAFETY: the early address is QEMU virt's PL011; with the MMU off (or later
// mapped as device memory) the access is a plain device access.
static UART: IrqLock<Pl011> = IrqLock::new(unsafe { Pl011::new(EARLY_UART_BASE) });

/// Switches to the UART the device tree names, with receive interrupts on.
///
/// # Safety
/// `base` is a PL011 mapped as device memory.
pub unsafe fn init(base: usize) {
    let mut uart = UART.lock();
    if uart.base() != base {
        // SAFETY: forwarded from the caller.
        *uart = unsafe { Pl011::new(base) };
    }
    uart.init_rx_interrupts();
}

pub fn write(bytes: &[u8]) {
    UART.lock().write_bytes(bytes);
}

/// Waits until everything written has left the transmitter.
pub fn flush() {
    UART.lock().flush();
}

/// `fmt::Write` onto the UART, turning "\n" into "\r\n" for terminals.
pub struct Writer<'a>(&'a mut Pl011);

impl fmt::Write for Writer<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for chunk in s.split_inclusive('\n') {
            match chunk.strip_suffix('\n') {
                Some(line) => {
                    self.0.write_bytes(line.as_bytes());
                    if !line.ends_with('\r') {
                        self.0.write_byte(b'\r');
                    }
                    self.0.write_byte(b'\n');
                }
                None => self.0.write_bytes(chunk.as_bytes()),
            }
        }
        Ok(())
    }
}

pub fn with_writer<R>(f: impl FnOnce(&mut Writer<'_>) -> R) -> R {
    let mut uart = UART.lock();
    f(&mut Writer(&mut uart))
}

/// For a dying kernel: writes even if the lock's holder was interrupted.
pub fn fatal(f: impl FnOnce(&mut dyn fmt::Write)) {
    // SAFETY: callers never return to the interrupted code.
    let mut uart = unsafe { UART.force_lock() };
    f(&mut Writer(&mut uart));
    uart.flush();
}

pub fn on_rx_interrupt(_intid: u32) {
    UART.lock().drain_rx();
}

/// The next received byte, if any; lets the UART refill the ring.
pub fn read_byte() -> Option<u8> {
    let b = pl011::RX.pop();
    if b.is_some() {
        UART.lock().resume_rx();
    }
    b
}

/// Arms (or disarms) Ctrl-C as an interrupt of the running command, and
/// forgets an earlier one.
pub fn arm_interrupt(on: bool) {
    pl011::INTERRUPTED.store(false, Ordering::Relaxed);
    pl011::INTR_ARMED.store(on, Ordering::Relaxed);
}

/// Whether a Ctrl-C arrived since the interrupt was armed.
pub fn interrupted() -> bool {
    pl011::INTERRUPTED.load(Ordering::Relaxed)
}

pub fn rx_errors() -> u64 {
    UART.lock().rx_errors()
}
