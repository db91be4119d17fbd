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
    static __cpu_stacks: u8;
    static __cpu_stacks_end: u8;
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

/// The most CPUs unikv brings up: linker.ld reserves a slot of stacks
/// for each (`MAX_CPUS` there).
pub const MAX_CPUS: usize = 8;

/// CPU `cpu`'s slot of stacks: [guard][kernel stack][guard][exception
/// stack], laid out like CPU 0's, whose symbols give the sizes.
fn slot(cpu: usize) -> u64 {
    let size = (sym!(__cpu_stacks_end) - sym!(__cpu_stacks)) / MAX_CPUS as u64;
    sym!(__cpu_stacks) + cpu as u64 * size
}

/// CPU `cpu`'s stacks: (guard, kernel stack, guard, exception stack).
fn stacks_of(cpu: usize) -> [Range; 4] {
    let at = |s: u64| slot(cpu) + s - sym!(__cpu_stacks);
    [
        Range {
            start: at(sym!(__stack_guard)),
            end: at(sym!(__stack_bottom)),
        },
        Range {
            start: at(sym!(__stack_bottom)),
            end: at(sym!(__stack_top)),
        },
        Range {
            start: at(sym!(__exc_stack_guard)),
            end: at(sym!(__exc_stack_bottom)),
        },
        Range {
            start: at(sym!(__exc_stack_bottom)),
            end: at(sym!(__exc_stack_top)),
        },
    ]
}

/// CPU `cpu`'s kernel stack (SP_EL0).
pub fn kernel_stack_of(cpu: usize) -> Range {
    stacks_of(cpu)[1]
}

/// CPU `cpu`'s exception stack (SP_EL1).
pub fn exception_stack_of(cpu: usize) -> Range {
    stacks_of(cpu)[3]
}

/// The boot CPU's kernel stack; every CPU's is this size.
pub fn kernel_stack() -> Range {
    kernel_stack_of(0)
}

/// The boot CPU's exception stack; every CPU's is this size.
pub fn exception_stack() -> Range {
    exception_stack_of(0)
}

/// The unmapped pages below each CPU's stacks.
pub fn guard_pages() -> impl Iterator<Item = Range> {
    (0..MAX_CPUS).flat_map(|cpu| {
        let [g, _, e, _] = stacks_of(cpu);
        [g, e]
    })
}

pub fn is_stack(addr: u64, len: u64) -> bool {
    (0..MAX_CPUS).any(|cpu| {
        kernel_stack_of(cpu).contains(addr, len) || exception_stack_of(cpu).contains(addr, len)
    })
}

pub fn is_kernel_text(addr: u64, len: u64) -> bool {
    text().contains(addr, len)
}

/// Whose stack's guard page `addr` falls in, if any: (CPU, "kernel" or
/// "exception").
pub fn stack_guard_hit(addr: u64) -> Option<(usize, &'static str)> {
    (0..MAX_CPUS).find_map(|cpu| {
        let [kernel, _, exception, _] = stacks_of(cpu);
        if kernel.contains(addr, 1) {
            Some((cpu, "kernel"))
        } else if exception.contains(addr, 1) {
            Some((cpu, "exception"))
        } else {
            None
        }
    })
}
