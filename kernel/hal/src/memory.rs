//! The kernel image's layout in memory, from the linker script's symbols,
//! and the questions other code asks about it (is this a stack? text?).

use core::ptr::addr_of;

extern "C" {
    static __kernel_start: u8;
    static __text_end: u8;
    static __rodata_end: u8;
    static __bss_start: u8;
    static __bss_end: u8;
    static __stack_guard: u8;
    static __stack_bottom: u8;
    static __stack_top: u8;
    static __exc_stack_guard: u8;
    static __exc_stack_bottom: u8;
    static __exc_stack_top: u8;
    static __kernel_end: u8;
}

pub const PAGE: u64 = 4096;

/// A half-open address range.
#[derive(Clone, Copy, Debug)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

impl Range {
    pub fn contains(&self, addr: u64, len: u64) -> bool {
        addr >= self.start && addr.saturating_add(len) <= self.end
    }

    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

macro_rules! sym {
    ($s:ident) => {
        addr_of!($s) as u64
    };
}

pub fn image() -> Range {
    Range {
        start: sym!(__kernel_start),
        end: sym!(__kernel_end),
    }
}

pub fn text() -> Range {
    Range {
        start: sym!(__kernel_start),
        end: sym!(__text_end),
    }
}

pub fn rodata() -> Range {
    Range {
        start: sym!(__text_end),
        end: sym!(__rodata_end),
    }
}

pub fn bss() -> Range {
    Range {
        start: sym!(__bss_start),
        end: sym!(__bss_end),
    }
}

pub fn kernel_stack() -> Range {
    Range {
        start: sym!(__stack_bottom),
        end: sym!(__stack_top),
    }
}

pub fn exception_stack() -> Range {
    Range {
        start: sym!(__exc_stack_bottom),
        end: sym!(__exc_stack_top),
    }
}

/// The unmapped pages below each stack.
pub fn guard_pages() -> [Range; 2] {
    [
        Range {
            start: sym!(__stack_guard),
            end: sym!(__stack_bottom),
        },
        Range {
            start: sym!(__exc_stack_guard),
            end: sym!(__exc_stack_bottom),
        },
    ]
}

pub fn is_stack(addr: u64, len: u64) -> bool {
    kernel_stack().contains(addr, len) || exception_stack().contains(addr, len)
}

pub fn is_kernel_text(addr: u64, len: u64) -> bool {
    text().contains(addr, len)
}

/// Which stack's guard page `addr` falls in, if any.
pub fn stack_guard_hit(addr: u64) -> Option<&'static str> {
    let [kernel, exception] = guard_pages();
    if kernel.contains(addr, 1) {
        Some("kernel")
    } else if exception.contains(addr, 1) {
        Some("exception")
    } else {
        None
    }
}
