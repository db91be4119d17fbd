//! Architecture support. unikv runs on aarch64 only; the split keeps what
//! is ARMv8-specific apart from the drivers and services above it.

mod aarch64;
pub use aarch64::*;
