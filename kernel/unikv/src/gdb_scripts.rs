//! The gdb helpers (`tools/gdb/unikv.py`) embedded in the image, so that any
//! gdb that loads the ELF finds them once `set auto-load safe-path` allows.
//!
//! rustc's `debugger_visualizer` only keeps its section alive from the
//! `main` shim, which a `no_main` kernel does not have; so the entry is laid
//! out here in gdb's own `.debug_gdb_scripts` format: one byte of kind (4 =
//! inline Python text), the script's name on a line, its text, a NUL.

const SCRIPT: &[u8] = include_bytes!("../../../tools/gdb/unikv.py");
const NAME: &[u8] = b"gdb.inlined-script.unikv\n";

#[repr(C)]
struct Entry {
    kind: u8,
    name: [u8; NAME.len()],
    script: [u8; SCRIPT.len()],
    nul: u8,
}

const fn copy<const N: usize>(from: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = from[i];
        i += 1;
    }
    out
}

#[used]
#[link_section = ".debug_gdb_scripts"]
static GDB_SCRIPTS: Entry = Entry {
    kind: 4,
    name: copy(NAME),
    script: copy(SCRIPT),
    nul: 0,
};
