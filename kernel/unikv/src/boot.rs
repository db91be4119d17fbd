//! `kernel_main`: the boot sequence after `boot/entry.s`, in order.

use crate::board::{self, cpu_name, VERSION};
use crate::{cores, registry, session};
use hal::arch::{cpu, gicv3, mmu, psci, timer};
use hal::memory::{self, Range};
use hal::{console_out, heap, logger};
use kcore::dt::{Board, PsciConduit};
use log::{error, info, warn, LevelFilter};

/// Where QEMU puts the device tree for an ELF image: the start of RAM.
const VIRT_RAM_BASE: usize = 0x4000_0000;
const FDT_MAGIC: u32 = 0xd00d_feed;

fn fdt_at(addr: usize) -> Option<usize> {
    if addr == 0 || !addr.is_multiple_of(8) {
        return None;
    }
    // SAFETY: candidates are the boot register or the start of RAM, both
    // readable with the MMU off; only the 4-byte magic is read.
    let magic = unsafe { (addr as *const u32).read_volatile() };
    (u32::from_be(magic) == FDT_MAGIC).then_some(addr)
}

/// The first Rust code: called by `boot/entry.s` on the boot CPU at EL1 with
/// the MMU off, `dtb` = x0 at entry (0 for an ELF image) and `entry_el` the
/// exception level QEMU entered the image at (2 with virtualization=on).
#[no_mangle]
pub extern "C" fn kernel_main(dtb: usize, entry_el: u64) -> ! {
    logger::init(LevelFilter::Info);
    info!(
        "unikv {VERSION} booting at EL{} (entered at EL{entry_el}) on {}",
        cpu::exception_level(),
        cpu_name()
    );

    let Some(dtb) = fdt_at(dtb).or_else(|| fdt_at(VIRT_RAM_BASE)) else {
        error!("no device tree at x0 ({dtb:#x}) or at {VIRT_RAM_BASE:#x}: cannot go on");
        cpu::halt();
    };
    // SAFETY: fdt_at found the magic there; the header is 40 bytes and
    // QEMU leaves the blob intact in RAM.
    let total = u32::from_be(unsafe { ((dtb + 4) as *const u32).read_volatile() }) as usize;
    if total > kcore::dt::MAX_FDT_SIZE {
        error!("device tree at {dtb:#x} claims {total} bytes: cannot go on");
        cpu::halt();
    }
    // SAFETY: the blob's header says it spans `total` bytes of RAM there.
    let blob = unsafe { core::slice::from_raw_parts(dtb as *const u8, total) };
    let mut regions = [kcore::dt::MemRegion { base: 0, size: 0 }; 8];
    let nram = match kcore::dt::ram_regions(blob, &mut regions) {
        Ok(n) => n,
        Err(e) => {
            error!("device tree at {dtb:#x}: {e}: cannot go on");
            cpu::halt();
        }
    };
    let mut ram = [Range { start: 0, end: 0 }; 8];
    for (r, m) in ram.iter_mut().zip(&regions[..nram]) {
        *r = Range {
            start: m.base,
            end: m.base + m.size,
        };
    }
    let dtb_range = Range {
        start: dtb as u64,
        end: (dtb + total) as u64,
    };
    let image = memory::image();
    let Some(home) = ram[..nram]
        .iter()
        .copied()
        .find(|r| r.contains(image.start, image.len()))
    else {
        error!("the kernel image {image:x?} is not inside the RAM the device tree reports");
        cpu::halt();
    };

    if let Err(e) = mmu::init(&ram[..nram]) {
        error!("MMU: {e}");
        cpu::halt();
    }
    info!("MMU on: identity map, text RX, rodata R, data RW+NX, stack guard pages unmapped");
    // The store's, the protocol's and the commands' short copies move
    // words at any address from here on: checked once, as boot/mem.s's.
    if let Err(e) = unaligned::check() {
        error!("word copies: {e}");
        cpu::halt();
    }

    // The heap is the rest of the kernel's RAM region above the image,
    // stopping short of the device tree if a boot loader put it up there.
    let mut heap_end = home.end;
    if dtb_range.start >= image.end && dtb_range.start < heap_end {
        heap_end = dtb_range.start & !(memory::PAGE - 1);
    }
    let heap_range = Range {
        start: image.end,
        end: heap_end,
    };
    // SAFETY: the range is RAM (inside `home`), mapped RW by mmu::init,
    // above everything the image uses and below the device tree.
    unsafe { heap::init(heap_range) };
    info!(
        "heap: {} MiB at {:#x}",
        heap_range.len() >> 20,
        heap_range.start
    );

    let board = match Board::from_fdt(blob) {
        Ok(b) => board::set(b),
        Err(e) => {
            error!("device tree: {e}");
            cpu::halt();
        }
    };
    if let Some(args) = board.bootargs.as_deref() {
        info!("bootargs: {args}");
        if let Some(level) =
            kcore::dt::bootarg(args, "loglevel").and_then(|l| l.parse::<LevelFilter>().ok())
        {
            logger::set_level(level);
            logger::set_console_level(level);
        }
    }
    if let Some(p) = &board.psci {
        psci::set_conduit_smc(matches!(p.conduit, PsciConduit::Smc));
    } else {
        warn!("no PSCI node: SHUTDOWN and REBOOT will only halt");
    }
    info!(
        "board: {} MiB RAM at {:#x}, {} CPUs, {} virtio-mmio slots",
        board.ram.iter().map(|r| r.size).sum::<u64>() >> 20,
        board.ram.first().map_or(0, |r| r.base),
        board.cpus,
        board.virtio_mmio.len()
    );

    let Some(gic) = &board.gic else {
        error!("no GICv3 in the device tree (start QEMU with -M virt,gic-version=3)");
        cpu::halt();
    };
    if let Err(e) = gicv3::init(gic.gicd_base, gic.gicr_base, gic.gicr_size) {
        error!("GIC: {e}");
        cpu::halt();
    }
    let timer_intid = board.timer.as_ref().map_or(30, |t| t.phys_ns_intid);
    if let Some(t) = &board.timer {
        timer::enable_sleep(t.virt_intid);
    }
    if let Err(e) = timer::start_tick(timer_intid) {
        error!("timer: {e}");
    }
    info!(
        "GICv3 at {:#x}, timer {} Hz counter, {} Hz tick on INTID {timer_intid}",
        gic.gicd_base,
        timer::frequency(),
        timer::TICK_HZ
    );
    match &board.uart {
        Some(u) => {
            // SAFETY: the device tree's PL011, in the device-mapped first GiB.
            unsafe { console_out::init(u.base as usize) };
            if let Err(e) = gicv3::enable(u.intid, console_out::on_rx_interrupt, false) {
                error!("UART receive interrupt: {e}");
            }
        }
        None => warn!("no PL011 in the device tree: staying on the early UART, polled"),
    }
    if let Some(rtc) = &board.rtc {
        // SAFETY: the device tree's PL031, in the device-mapped first GiB.
        let secs = unsafe { hal::drivers::pl031::init(rtc.base as usize) };
        info!(
            "clock: {secs} s since the Unix epoch (PL031 at {:#x}; exact within two seconds)",
            rtc.base
        );
    } else {
        warn!("no PL031 in the device tree: the time of day starts at the Unix epoch");
    }
    cpu::irq_enable();
    cores::start(&board.cpu_ids);
    cores::start_background();

    registry::start_all();
    board::set_boot_time_us(timer::now_us());
    info!("boot complete in {} us", board::boot_time_us());
    // From here on the console is for commands; the log stays in the ring
    // (LOG) unless it is a warning or worse.
    let quiet = board
        .bootargs
        .as_deref()
        .and_then(|a| kcore::dt::bootarg(a, "console_loglevel"))
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::Warn);
    logger::set_console_level(quiet);
    session::run()
}
