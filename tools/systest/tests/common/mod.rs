//! What the console tests of the store share: a scratch disk of the usual
//! size, and unikv booted on it.

use systest::{Options, Qemu, TempFile};

/// A 64 MiB scratch disk image.
pub fn disk(name: &str) -> TempFile {
    TempFile::new(name, 64 << 20)
}

/// unikv booted with `d` as its disk, at its prompt.
pub fn boot_on(d: &TempFile) -> Qemu {
    Qemu::boot(&Options {
        disk: Some(d.0.clone()),
        ..Options::default()
    })
}
