//! What the boot sequence learned about the machine and the image: the
//! board (from the device tree), the version, the CPU's name and how long
//! booting took. Boot sets each once; everything above reads them. Kept
//! apart from `boot.rs` so that nothing needs to import the boot sequence,
//! which imports everything.

use hal::arch::cpu;
use kcore::dt::Board;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

static BOARD: spin::Once<Board> = spin::Once::new();
static BOOT_US: spin::Once<u64> = spin::Once::new();

/// Records the board the device tree describes; called once, before any
/// service starts.
pub fn set(board: Board) -> &'static Board {
    BOARD.call_once(|| board)
}

pub fn board() -> &'static Board {
    BOARD
        .get()
        .expect("the board is described before any service starts")
}

/// Records the time from reset to the prompt.
pub fn set_boot_time_us(us: u64) {
    BOOT_US.call_once(|| us);
}

/// Microseconds from reset to the prompt.
pub fn boot_time_us() -> u64 {
    BOOT_US.get().copied().unwrap_or(0)
}

/// The core's name, from MIDR_EL1's implementer and part number.
pub fn cpu_name() -> &'static str {
    let midr = cpu::midr();
    match ((midr >> 24) & 0xff, (midr >> 4) & 0xfff) {
        (0x41, 0xd03) => "Cortex-A53",
        (0x41, 0xd07) => "Cortex-A57",
        (0x41, 0xd08) => "Cortex-A72",
        (0x41, 0xd0c) => "Neoverse-N1",
        (0x41, _) => "an Arm core",
        _ => "an unknown core",
    }
}
