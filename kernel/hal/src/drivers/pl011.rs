//! The PL011 UART (ARM DDI 0183): polled transmit, interrupt-driven receive.
//!
//! Received bytes go into a ring that the console drains. When the ring is
//! full the driver stops reading the FIFO and masks the receive interrupt;
//! the FIFO fills and QEMU holds further input back at its end, so typed or
//! piped input is delayed, never lost. The console unmasks as it catches up.
//!
//! While a command runs the console arms [`INTR_ARMED`]; a Ctrl-C (ETX)
//! received then is taken out of the input and raises [`INTERRUPTED`], as a
//! terminal's line discipline turns ^C into SIGINT, so the command can stop
//! at its next safe point even though nobody reads the input meanwhile.

use crate::mmio::MmioRef;
use core::sync::atomic::{AtomicBool, Ordering};
use kcore::ring::SpscRing;
use tock_registers::{
    interfaces::{ReadWriteable, Readable, Writeable},
    register_bitfields, register_structs,
    registers::{ReadOnly, ReadWrite, WriteOnly},
};

register_bitfields! {u32,
    DR [
        /// Overrun, break, parity, framing errors of this byte.
        ERRORS OFFSET(8) NUMBITS(4) [],
        DATA OFFSET(0) NUMBITS(8) []
    ],
    FR [
        TXFE OFFSET(7) NUMBITS(1) [],
        RXFF OFFSET(6) NUMBITS(1) [],
        TXFF OFFSET(5) NUMBITS(1) [],
        RXFE OFFSET(4) NUMBITS(1) [],
        BUSY OFFSET(3) NUMBITS(1) []
    ],
    LCR_H [
        WLEN OFFSET(5) NUMBITS(2) [EightBit = 0b11],
        /// FIFOs on: 16 bytes each way rather than a 1-byte holding register.
        FEN OFFSET(4) NUMBITS(1) []
    ],
    CR [
        RXE OFFSET(9) NUMBITS(1) [],
        TXE OFFSET(8) NUMBITS(1) [],
        UARTEN OFFSET(0) NUMBITS(1) []
    ],
    IFLS [
        /// Receive interrupt at 1/8 full (2 bytes); the timeout covers fewer.
        RXIFLSEL OFFSET(3) NUMBITS(3) [OneEighth = 0b000]
    ],
    INT [
        /// Receive timeout: bytes wait in the FIFO below the trigger level.
        RT OFFSET(6) NUMBITS(1) [],
        RX OFFSET(4) NUMBITS(1) []
    ]
}

register_structs! {
    pub Pl011Regs {
        (0x00 => dr: ReadWrite<u32, DR::Register>),
        (0x04 => rsr_ecr: ReadWrite<u32>),
        (0x08 => _reserved0),
        (0x18 => fr: ReadOnly<u32, FR::Register>),
        (0x1c => _reserved1),
        (0x2c => lcr_h: ReadWrite<u32, LCR_H::Register>),
        (0x30 => cr: ReadWrite<u32, CR::Register>),
        (0x34 => ifls: ReadWrite<u32, IFLS::Register>),
        (0x38 => imsc: ReadWrite<u32, INT::Register>),
        (0x3c => ris: ReadOnly<u32, INT::Register>),
        (0x40 => mis: ReadOnly<u32, INT::Register>),
        (0x44 => icr: WriteOnly<u32, INT::Register>),
        (0x48 => @END),
    }
}

pub const RX_RING_BYTES: usize = 16 * 1024;

/// Bytes received and not yet read by the console.
pub static RX: SpscRing<RX_RING_BYTES> = SpscRing::new();

/// ETX, what Ctrl-C sends.
const CTRL_C: u8 = 0x03;

/// Set while a command runs: Ctrl-C then interrupts it instead of being input.
pub static INTR_ARMED: AtomicBool = AtomicBool::new(false);
/// A Ctrl-C arrived while armed.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn rx_full() -> bool {
    RX.len() >= RX.capacity()
}

pub struct Pl011 {
    regs: MmioRef<Pl011Regs>,
    rx_errors: u64,
    rx_paused: bool,
}

impl Pl011 {
    /// # Safety
    /// `base` is a PL011's register block, mapped as device memory (or the
    /// MMU is off), and no other `Pl011` drives it.
    pub const unsafe fn new(base: usize) -> Self {
        Self {
            // SAFETY: forwarded from the caller.
            regs: unsafe { MmioRef::new(base) },
            rx_errors: 0,
            rx_paused: false,
        }
    }

    pub fn base(&self) -> usize {
        self.regs.addr()
    }

    /// Programs 8N1 with FIFOs and unmasks the receive interrupts. QEMU's
    /// model ignores the baud rate, so the firmware's divisors are kept.
    pub fn init_rx_interrupts(&mut self) {
        self.flush();
        // A byte typed before now waits in the receive register (the FIFO
        // is off after reset); turning the FIFO on below empties it (QEMU's
        // model resets its count when FEN changes), so keep it first.
        while !self.regs.fr.is_set(FR::RXFE) {
            RX.push(self.regs.dr.extract().read(DR::DATA) as u8);
        }
        self.regs.cr.set(0);
        self.regs
            .lcr_h
            .write(LCR_H::WLEN::EightBit + LCR_H::FEN::SET);
        self.regs.ifls.write(IFLS::RXIFLSEL::OneEighth);
        self.regs.icr.set(0x7ff);
        self.regs.imsc.write(INT::RX::SET + INT::RT::SET);
        self.regs
            .cr
            .write(CR::UARTEN::SET + CR::TXE::SET + CR::RXE::SET);
        // A byte that came after the FIFO went on and before the clear above
        // raised RX, which the clear took back; QEMU raises RX only when
        // its FIFO goes from empty to one byte, so that byte, and all input
        // after it, would wait for good (input pasted during boot stalled
        // the console about one boot in six). Emptying the FIFO now re-arms
        // that edge.
        self.drain_rx();
    }

    pub fn write_byte(&mut self, byte: u8) {
        while self.regs.fr.is_set(FR::TXFF) {
            core::hint::spin_loop();
        }
        self.regs.dr.set(u32::from(byte));
    }

    pub fn write_bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_byte(b);
        }
    }

    /// Waits until every queued byte has left the transmitter.
    pub fn flush(&self) {
        while self.regs.fr.is_set(FR::BUSY) {
            core::hint::spin_loop();
        }
    }

    /// Moves received bytes from the FIFO to `RX` until either is exhausted;
    /// if the ring fills, pauses reception (see the module doc).
    pub fn drain_rx(&mut self) {
        // Acknowledge first, then empty the FIFO: a byte that lands after the
        // last read raises the interrupt again. (Acknowledging after the loop
        // would lose that edge, and QEMU's PL011 only raises RX when the FIFO
        // goes from empty to one byte, so input would stall for good.)
        self.regs.icr.write(INT::RX::SET + INT::RT::SET);
        while !self.regs.fr.is_set(FR::RXFE) {
            if rx_full() {
                self.rx_paused = true;
                self.regs.imsc.modify(INT::RX::CLEAR + INT::RT::CLEAR);
                return;
            }
            let word = self.regs.dr.extract();
            if word.read(DR::ERRORS) != 0 {
                self.rx_errors += 1;
            }
            let byte = word.read(DR::DATA) as u8;
            if byte == CTRL_C && INTR_ARMED.load(Ordering::Relaxed) {
                INTERRUPTED.store(true, Ordering::Relaxed);
                continue;
            }
            RX.push(byte);
        }
    }

    /// Called by the consumer after it made room in `RX`.
    pub fn resume_rx(&mut self) {
        if self.rx_paused && !rx_full() {
            self.rx_paused = false;
            self.drain_rx();
            if !self.rx_paused {
                self.regs.imsc.modify(INT::RX::SET + INT::RT::SET);
            }
        }
    }

    pub fn rx_errors(&self) -> u64 {
        self.rx_errors
    }
}
