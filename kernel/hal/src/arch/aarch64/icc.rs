//! The GICv3 CPU interface's system registers, which `aarch64-cpu` lacks,
//! defined the way it defines its own: a unit type per register with
//! `tock-registers`' `Readable`/`Writeable`.

#![allow(non_camel_case_types)]

use tock_registers::interfaces::{Readable, Writeable};

macro_rules! icc_register {
    ($(#[$doc:meta])* $name:ident, $encoding:literal, $($access:ident)+) => {
        $(#[$doc])*
        pub struct $name;
        $(icc_register!(@$access $name, $encoding);)+
    };
    (@read $name:ident, $encoding:literal) => {
        impl Readable for $name {
            type T = u64;
            type R = ();
            #[inline]
            fn get(&self) -> u64 {
                let value;
                // SAFETY: reading a GIC CPU interface register only has the
                // register's own documented effect (acknowledging, for IAR,
                // is what the caller asks for).
                unsafe { core::arch::asm!(concat!("mrs {}, ", $encoding), out(reg) value, options(nostack)) };
                value
            }
        }
    };
    (@write $name:ident, $encoding:literal) => {
        impl Writeable for $name {
            type T = u64;
            type R = ();
            #[inline]
            fn set(&self, value: u64) {
                // SAFETY: ICC registers only affect interrupt delivery to
                // this CPU; the GIC driver owns their use.
                unsafe { core::arch::asm!(concat!("msr ", $encoding, ", {}"), in(reg) value, options(nostack)) };
            }
        }
    };
}

icc_register!(
    /// System register enable: SRE | DFB | DIB.
    ICC_SRE_EL1, "S3_0_C12_C12_5", read write);
icc_register!(
    /// Priority mask: interrupts below this priority are signalled.
    ICC_PMR_EL1, "S3_0_C4_C6_0", read write);
icc_register!(
    /// Binary point for group 1 preemption.
    ICC_BPR1_EL1, "S3_0_C12_C12_3", read write);
icc_register!(
    /// Group 1 interrupt enable.
    ICC_IGRPEN1_EL1, "S3_0_C12_C12_7", read write);
icc_register!(
    /// Acknowledge: reading returns the INTID of the highest pending interrupt.
    ICC_IAR1_EL1, "S3_0_C12_C12_0", read);
icc_register!(
    /// End of interrupt.
    ICC_EOIR1_EL1, "S3_0_C12_C12_1", write);
icc_register!(
    /// Generate a group 1 SGI: target affinity and list, INTID.
    ICC_SGI1R_EL1, "S3_0_C12_C11_5", write);
