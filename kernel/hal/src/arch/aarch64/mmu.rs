//! The MMU: one identity map, built once at boot.
//!
//! 4 KiB granule, 39-bit addresses (three levels from a 1 GiB level 1).
//! The first GiB (the virt machine's devices) is device-nGnRE; RAM is normal
//! write-back memory in 2 MiB blocks, never executable; the 2 MiB blocks that
//! hold the kernel image are split into pages so that text is read-only and
//! executable, read-only data read-only, and the guard page under each stack
//! is not mapped at all (W^X everywhere).
//!
//! Devices beyond the first GiB (the PCI host bridge's ECAM window sits at
//! 256 GiB on virt) are added later with [`map_device`], in 2 MiB device
//! blocks, by the driver that finds them.

use crate::memory::{self, Range};
use crate::sync::BootCell;
use aarch64_cpu::{
    asm::barrier,
    registers::{ReadWriteable, Writeable, MAIR_EL1, SCTLR_EL1, TCR_EL1, TTBR0_EL1},
};
use tock_registers::{fields::FieldValue, register_bitfields};

register_bitfields! {u64,
    /// A stage 1 descriptor at any level (table, block or page).
    DESC [
        VALID OFFSET(0) NUMBITS(1) [],
        /// Table (levels 1-2) or page (level 3) rather than block.
        TABLE_OR_PAGE OFFSET(1) NUMBITS(1) [],
        ATTR_INDX OFFSET(2) NUMBITS(3) [Device = 0, Normal = 1],
        AP OFFSET(6) NUMBITS(2) [RwEl1 = 0b00, RoEl1 = 0b10],
        SH OFFSET(8) NUMBITS(2) [Non = 0b00, Inner = 0b11],
        AF OFFSET(10) NUMBITS(1) [],
        PXN OFFSET(53) NUMBITS(1) [],
        UXN OFFSET(54) NUMBITS(1) []
    ]
}

const ENTRIES: usize = 512;
const L1_SPAN: u64 = 1 << 30;
const L2_SPAN: u64 = 1 << 21;
const L2_TABLES: usize = 8;
const L3_TABLES: usize = 8;
const ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;

#[repr(C, align(4096))]
struct Table([u64; ENTRIES]);

#[repr(C)]
struct Tables {
    l1: Table,
    l2: [Table; L2_TABLES],
    l3: [Table; L3_TABLES],
    l2_used: usize,
    l3_used: usize,
}

static TABLES: BootCell<Tables> = BootCell::new(Tables {
    l1: Table([0; ENTRIES]),
    l2: [const { Table([0; ENTRIES]) }; L2_TABLES],
    l3: [const { Table([0; ENTRIES]) }; L3_TABLES],
    l2_used: 0,
    l3_used: 0,
});

#[derive(Debug)]
pub enum MmuError {
    OutOfTables(&'static str),
    /// The address is beyond the 39 bits the map covers.
    OutOfRange(u64),
    /// A device range overlaps RAM.
    NotDevice(u64),
}

impl core::fmt::Display for MmuError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::OutOfTables(level) => write!(
                f,
                "the identity map needs more {level} tables than the kernel reserves"
            ),
            Self::OutOfRange(a) => write!(
                f,
                "{a:#x} is beyond the 39-bit addresses the identity map covers"
            ),
            Self::NotDevice(a) => write!(f, "{a:#x} is RAM, not a device"),
        }
    }
}

type Attrs = FieldValue<u64, DESC::Register>;

fn device() -> Attrs {
    DESC::ATTR_INDX::Device + DESC::SH::Non + DESC::AP::RwEl1 + DESC::PXN::SET + DESC::UXN::SET
}

fn normal_rw() -> Attrs {
    DESC::ATTR_INDX::Normal + DESC::SH::Inner + DESC::AP::RwEl1 + DESC::PXN::SET + DESC::UXN::SET
}

fn normal_ro() -> Attrs {
    DESC::ATTR_INDX::Normal + DESC::SH::Inner + DESC::AP::RoEl1 + DESC::PXN::SET + DESC::UXN::SET
}

fn normal_rx() -> Attrs {
    DESC::ATTR_INDX::Normal + DESC::SH::Inner + DESC::AP::RoEl1 + DESC::UXN::SET
}

fn block(addr: u64, attrs: Attrs) -> u64 {
    (attrs + DESC::VALID::SET + DESC::AF::SET).value | (addr & ADDR_MASK)
}

fn page(addr: u64, attrs: Attrs) -> u64 {
    (attrs + DESC::VALID::SET + DESC::TABLE_OR_PAGE::SET + DESC::AF::SET).value | (addr & ADDR_MASK)
}

fn table(t: &Table) -> u64 {
    (DESC::VALID::SET + DESC::TABLE_OR_PAGE::SET).value | (t as *const Table as u64 & ADDR_MASK)
}

fn is_table(desc: u64) -> bool {
    desc & 0b11 == 0b11
}

/// What a kernel page gets, by the section it lies in.
fn kernel_page(addr: u64) -> Option<Attrs> {
    if memory::guard_pages().any(|g| g.contains(addr, 1)) {
        None
    } else if memory::text().contains(addr, 1) {
        Some(normal_rx())
    } else if memory::rodata().contains(addr, 1) {
        Some(normal_ro())
    } else {
        Some(normal_rw())
    }
}

impl Tables {
    fn l2_for(&mut self, addr: u64) -> Result<&mut Table, MmuError> {
        let g = (addr / L1_SPAN) as usize;
        if !is_table(self.l1.0[g]) {
            if self.l2_used == L2_TABLES {
                return Err(MmuError::OutOfTables("level 2"));
            }
            let i = self.l2_used;
            self.l2_used += 1;
            self.l1.0[g] = table(&self.l2[i]);
        }
        let pa = self.l1.0[g] & ADDR_MASK;
        let i = self.l2.iter().position(|t| t as *const Table as u64 == pa);
        i.map(|i| &mut self.l2[i])
            .ok_or(MmuError::OutOfTables("level 2"))
    }

    fn map_ram(&mut self, ram: Range) -> Result<(), MmuError> {
        let mut addr = ram.start & !(L2_SPAN - 1);
        while addr < ram.end {
            let g = (addr / L1_SPAN) as usize;
            if g >= ENTRIES {
                break;
            }
            let whole_gib = addr.is_multiple_of(L1_SPAN) && addr + L1_SPAN <= ram.end;
            if whole_gib && self.l2_used == L2_TABLES {
                // Out of level 2 tables: far RAM is mapped in 1 GiB blocks.
                self.l1.0[g] = block(addr, normal_rw());
                addr += L1_SPAN;
                continue;
            }
            let l2 = self.l2_for(addr)?;
            l2.0[((addr / L2_SPAN) as usize) % ENTRIES] = block(addr, normal_rw());
            addr += L2_SPAN;
        }
        Ok(())
    }

    /// Maps `start..end` as device memory in 2 MiB blocks; blocks already
    /// mapped as devices stay as they are.
    fn map_device(&mut self, start: u64, end: u64) -> Result<(), MmuError> {
        let mut addr = start & !(L2_SPAN - 1);
        while addr < end {
            let g = (addr / L1_SPAN) as usize;
            if g >= ENTRIES {
                return Err(MmuError::OutOfRange(addr));
            }
            let l1 = self.l1.0[g];
            if l1 & 1 != 0 && !is_table(l1) {
                // A whole GiB block: the first GiB is devices already, the
                // others are RAM.
                if l1 & DESC::ATTR_INDX.mask << DESC::ATTR_INDX.shift != 0 {
                    return Err(MmuError::NotDevice(addr));
                }
                addr = (addr / L1_SPAN + 1) * L1_SPAN;
                continue;
            }
            let entry = &mut self.l2_for(addr)?.0[((addr / L2_SPAN) as usize) % ENTRIES];
            if *entry & 1 == 0 {
                *entry = block(addr, device());
            } else if is_table(*entry)
                || *entry & (DESC::ATTR_INDX.mask << DESC::ATTR_INDX.shift) != 0
            {
                return Err(MmuError::NotDevice(addr));
            }
            addr += L2_SPAN;
        }
        Ok(())
    }

    fn map_kernel(&mut self, image: Range) -> Result<(), MmuError> {
        let mut chunk = image.start & !(L2_SPAN - 1);
        while chunk < image.end {
            if self.l3_used == L3_TABLES {
                return Err(MmuError::OutOfTables("level 3"));
            }
            let i = self.l3_used;
            self.l3_used += 1;
            for (n, entry) in self.l3[i].0.iter_mut().enumerate() {
                let addr = chunk + n as u64 * memory::PAGE;
                *entry = match kernel_page(addr) {
                    Some(attrs) => page(addr, attrs),
                    None => 0,
                };
            }
            let desc = table(&self.l3[i]);
            let l2 = self.l2_for(chunk)?;
            l2.0[((chunk / L2_SPAN) as usize) % ENTRIES] = desc;
            chunk += L2_SPAN;
        }
        Ok(())
    }
}

/// Builds the identity map for `ram` and turns the MMU and caches on.
///
/// Must run once, on the boot CPU, before anything else uses `TABLES`.
pub fn init(ram: &[Range]) -> Result<(), MmuError> {
    // SAFETY: called once on the boot CPU before the MMU is on, interrupts
    // enabled or other CPUs started: nothing else can see TABLES.
    let tables = unsafe { &mut *TABLES.get() };
    tables.l1.0[0] = block(0, device());
    for r in ram {
        tables.map_ram(*r)?;
    }
    tables.map_kernel(memory::image())?;

    MAIR_EL1.write(
        MAIR_EL1::Attr0_Device::nonGathering_nonReordering_EarlyWriteAck
            + MAIR_EL1::Attr1_Normal_Outer::WriteBack_NonTransient_ReadWriteAlloc
            + MAIR_EL1::Attr1_Normal_Inner::WriteBack_NonTransient_ReadWriteAlloc,
    );
    TTBR0_EL1.set_baddr(&tables.l1 as *const Table as u64);
    TCR_EL1.write(
        TCR_EL1::TBI0::Used
            + TCR_EL1::IPS::Bits_40
            + TCR_EL1::TG0::KiB_4
            + TCR_EL1::SH0::Inner
            + TCR_EL1::ORGN0::WriteBack_ReadAlloc_WriteAlloc_Cacheable
            + TCR_EL1::IRGN0::WriteBack_ReadAlloc_WriteAlloc_Cacheable
            + TCR_EL1::EPD0::EnableTTBR0Walks
            + TCR_EL1::EPD1::DisableTTBR1Walks
            + TCR_EL1::T0SZ.val(25),
    );
    // Stale entries go before the first walk.
    invalidate_tlb();
    // Alignment checks off: with the MMU on, unaligned loads of normal memory
    // are allowed, and the store loads its keys' words that way (lsm's
    // `unaligned-loads` feature).
    SCTLR_EL1.modify(
        SCTLR_EL1::M::Enable
            + SCTLR_EL1::C::Cacheable
            + SCTLR_EL1::I::Cacheable
            + SCTLR_EL1::A::Disable,
    );
    barrier::isb(barrier::SY);
    super::mem::allow_word_copies();
    Ok(())
}

/// Adds `base..base+size` to the identity map as device memory (nGnRE,
/// never executable), for devices the boot map does not cover.
///
/// One CPU at a time changes the tables (under `MAP_LOCK`); the others
/// may walk them meanwhile, and see the new entries once they are written.
pub fn map_device(base: u64, size: u64) -> Result<(), MmuError> {
    let end = base.checked_add(size).ok_or(MmuError::OutOfRange(base))?;
    if end > 1 << 39 {
        return Err(MmuError::OutOfRange(end - 1));
    }
    let _only_writer = MAP_LOCK.lock();
    // SAFETY: MAP_LOCK makes this the only writer of TABLES (init ran
    // before any other CPU started); other CPUs' walks read entries that
    // are new (invalid before), which needs no break-before-make.
    let tables = unsafe { &mut *TABLES.get() };
    let result = tables.map_device(base, end);
    // None can exist for entries that were invalid, but a walk cached
    // before the change is discarded all the same, on every CPU.
    invalidate_tlb_everywhere();
    result
}

/// Serializes `map_device` across CPUs (with IRQs masked: a handler on
/// this CPU never maps, but the lock is held across a TLB broadcast).
static MAP_LOCK: crate::sync::IrqLock<()> = crate::sync::IrqLock::new(());

/// Invalidates this CPU's TLB, changing no mapping; the tick does it ten
/// times a second, for the emulator's sake.
///
/// QEMU's TCG sizes its software TLB only when the guest flushes it
/// (`accel/tcg/cputlb.c`: `tlb_flush_one_mmuidx_locked` calls
/// `tlb_mmu_resize_locked`, which doubles the table when more than 70% of
/// it was used since the last flush and shrinks it after 100 ms under
/// 30%). A kernel that never flushes keeps the 256 entries it boots with,
/// 1 MiB of reach, and every access beyond that refills an entry by
/// walking the page tables inside the emulator: the store's blocks, the
/// memtable and the heap span tens of megabytes. Flushed ten times a
/// second the table grows to the working set within a second, and one
/// refill of it every 100 ms costs far less than the misses it saves
/// (BENCH at 100,000 keys: readrandom +35%, fillrandom +35%). On hardware
/// it costs ten TLB refills a second.
///
/// The tick skips the flush when its CPU slept through more than three
/// quarters of the time since it last looked: flushed while asleep, the
/// table was sized by what the sleep used, two quiet windows shrank it to
/// its smallest, and the work that woke the CPU ran with 1 MiB of reach
/// until flushes had doubled it back, half a second and more. BENCH on a
/// store of 100,000 keys, a second or more after the console's last
/// command: readrandom 95k-143k lookups/s flushed while asleep, 188k-237k
/// not (250k with no pause), readseq 430k-800k entries/s against
/// 600k-1.19M.
///
/// And a CPU's first busy ticks each flush (the tick's
/// `TLB_GROWTH_FLUSHES`), so that its table grows from 256 entries in a
/// tenth of a second rather than a second: on fresh boots the first
/// BENCH (fillseq, 100,000 keys) ran 224k-254k writes/s before, 246k-269k
/// after, and the first `readrandom threads=2` (a job core's first work)
/// 316k-358k lookups/s before, 352k-444k after.
pub fn flush_tlb_for_resize() {
    invalidate_tlb();
}

/// Drops every TLB entry of this CPU, after the table writes before it are
/// visible to the walker, and before the next instruction.
fn invalidate_tlb() {
    barrier::dsb(barrier::ISHST);
    // SAFETY: invalidating this CPU's TLB entries changes no mapping; the
    // walks after it read the tables as they now are.
    unsafe { core::arch::asm!("tlbi vmalle1", options(nostack)) };
    barrier::dsb(barrier::ISH);
    barrier::isb(barrier::SY);
}

/// [`invalidate_tlb`] on every CPU of the inner-shareable domain (a
/// broadcast the others complete before the `dsb` returns).
fn invalidate_tlb_everywhere() {
    barrier::dsb(barrier::ISHST);
    // SAFETY: invalidating TLB entries changes no mapping; the walks after
    // it, on any CPU, read the tables as they now are.
    unsafe { core::arch::asm!("tlbi vmalle1is", options(nostack)) };
    barrier::dsb(barrier::ISH);
    barrier::isb(barrier::SY);
}

/// Tables in use, for `INFO memory`.
pub fn tables_used() -> (usize, usize) {
    let _no_writer = MAP_LOCK.lock();
    // SAFETY: only init (before other CPUs start) and map_device (under
    // MAP_LOCK, held here too) write the tables: no write overlaps.
    let t = unsafe { &*TABLES.get() };
    (t.l2_used, t.l3_used)
}
