//! Links the kernel with the workspace's `linker.ld`, and only for the
//! bare-metal target: host builds (clippy, `cargo test --workspace`) stay plain.
use std::{env, path::PathBuf};

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("../..")
        .canonicalize()
        .unwrap();
    let script = root.join("linker.ld");
    // Rustflags in .cargo/config.toml would not relink when the script changes.
    println!("cargo:rerun-if-changed={}", script.display());
    for asm in ["boot/entry.s", "boot/vectors.s", "tools/gdb/unikv.py"] {
        println!("cargo:rerun-if-changed={}", root.join(asm).display());
    }
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    }
}
