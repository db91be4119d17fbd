//! The kernel as the command layer sees it (`cmd::Host`): its fields of
//! INFO's sections (INFO starts each section), the service registry, the log ring, power, the profiler and
//! the debug hooks that exercise the failure paths.

use crate::{board, registry, services};
use alloc::{format, string::String, vec::Vec};
use cmd::ServiceRow;
use console::Report;
use hal::arch::{cpu, gicv3, mmu, psci, timer};
use hal::drivers::virtio::Location;
use hal::{console_out, heap, logger, memory};

/// The kernel behind every session's commands.
pub struct KernelHost;

const SECTIONS: &[&str] = &["server", "memory", "cpu", "services", "devices", "network"];

/// Inside the 39-bit address space, far above any RAM or device of virt.
const UNMAPPED: u64 = 0x7f_0000_0000;

impl cmd::Host for KernelHost {
    fn info_sections(&self) -> &'static [&'static str] {
        SECTIONS
    }

    fn info(&self, name: &str, r: &mut Report) {
        match name {
            "server" => server(r),
            "memory" => memory_section(r),
            "cpu" => cpu_section(r),
            "services" => {
                for (d, state) in registry::table() {
                    r.add_field(d.name, state);
                }
            }
            "devices" => devices(r),
            "network" => services::net::info(r),
            _ => {}
        }
    }

    fn services(&self) -> Vec<ServiceRow> {
        registry::table()
            .into_iter()
            .map(|(d, state)| ServiceRow {
                name: d.name,
                state,
                description: d.description,
                author: d.author,
                license: d.license,
            })
            .collect()
    }

    fn service_state(&self, name: &str) -> String {
        registry::table()
            .into_iter()
            .find(|(d, _)| d.name == name)
            .map(|(_, s)| s)
            .unwrap_or_default()
    }

    fn start_service(&self, name: &str) -> Result<(), String> {
        registry::start(name)
    }

    fn stop_service(&self, name: &str) -> Result<(), String> {
        registry::stop(name)
    }

    fn stop_all_services(&self) {
        registry::stop_all();
    }

    fn power(&self, reset: bool) -> ! {
        log::info!("{}", if reset { "rebooting" } else { "powering off" });
        console_out::flush();
        if reset {
            psci::system_reset()
        } else {
            psci::system_off()
        }
    }

    fn log_lines(&self, n: usize) -> Vec<Vec<u8>> {
        logger::last_lines(n)
    }

    fn set_console_log_level(&self, level: log::LevelFilter) {
        logger::set_console_level(level);
        if level > log::max_level() {
            logger::set_level(level);
        }
    }

    fn free_memory(&self) -> usize {
        heap::stats().free
    }

    fn used_memory(&self) -> usize {
        heap::stats().used
    }

    fn total_memory(&self) -> u64 {
        board::board().ram.iter().map(|m| m.size).sum()
    }

    fn listen_addr(&self) -> Option<([u8; 4], u16)> {
        services::net::listen_addr()
    }

    fn clock(&self) -> kv::Clock {
        services::kv::clock()
    }

    fn panic(&self, message: &str) -> ! {
        panic!("{message}")
    }

    fn wake_sessions(&self) {
        // Monitors are network clients, whose lines the network's core
        // sends; a line fed on another core (a console command) wakes it.
        if let Some(core) = crate::cores::network_core() {
            if hal::cpus::index() != core {
                hal::arch::smp::wake(core);
            }
        }
    }

    fn fault(&self) -> String {
        // SAFETY: deliberately not safe: the read of an unmapped address is
        // the point (it must end in the exception dump, never return).
        let v = unsafe { core::ptr::read_volatile(UNMAPPED as *const u64) };
        format!("read of unmapped {UNMAPPED:#x} returned {v:#x}: the MMU is not protecting it")
    }

    fn overflow(&self) -> String {
        let depth = recurse(0);
        format!("recursed {depth} levels without overflowing the stack")
    }

    fn sleep_us(&self, us: u64) {
        hal::arch::timer::delay_us(us);
    }

    fn profile_start(&self, hz: u64, cpu: usize) -> Result<(), String> {
        hal::profile::start(hz, cpu).map_err(String::from)
    }

    fn profile_stop(&self, top: usize) -> (usize, Vec<(u64, u32)>) {
        hal::profile::stop(top)
    }

    fn parallel(&self, n: usize, job: &(dyn Fn(usize) + Sync)) -> Result<(), String> {
        crate::cores::parallel(n, job)
    }
}

/// Recurses until the stack's guard page stops it.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let frame = [depth; 64];
    if core::hint::black_box(depth) == u64::MAX {
        return depth;
    }
    let deeper = recurse(core::hint::black_box(depth + 1));
    core::hint::black_box(&frame);
    deeper
}

fn server(r: &mut Report) {
    let board = board::board();
    r.add_field("version", board::VERSION);
    r.add_field("kernel", "unikv (aarch64, no_std unikernel)");
    r.add_field("uptime_ms", timer::now_us() / 1000);
    r.add_field("boot_time_us", board::boot_time_us());
    r.add_field("cpus", board.cpus);
    r.add_field("cpus_online", hal::cpus::online());
    r.add_field("exception_level", cpu::exception_level());
    r.add_field("timer_hz", timer::frequency());
    r.add_field("tick_hz", timer::TICK_HZ);
    r.add_field("machine", board.model.as_deref().unwrap_or("unknown"));
    r.add_field("bootargs", board.bootargs.as_deref().unwrap_or(""));
}

fn memory_section(r: &mut Report) {
    let board = board::board();
    let h = heap::stats();
    let image = memory::image();
    let (l2, l3) = mmu::tables_used();
    r.add_field("ram_bytes", board.ram.iter().map(|m| m.size).sum::<u64>());
    r.add_field(
        "ram_base",
        format!("{:#x}", board.ram.first().map_or(0, |m| m.base)),
    );
    r.add_field("kernel_image_bytes", image.len());
    r.add_field("kernel_text_bytes", memory::text().len());
    r.add_field("kernel_rodata_bytes", memory::rodata().len());
    r.add_field("kernel_bss_bytes", memory::bss().len());
    r.add_field("kernel_stack_bytes", memory::kernel_stack().len());
    r.add_field("exception_stack_bytes", memory::exception_stack().len());
    r.add_field("heap_base", format!("{:#x}", h.bottom));
    r.add_field("heap_total_bytes", h.total);
    r.add_field("heap_used_bytes", h.used);
    r.add_field("heap_free_bytes", h.free);
    // Free blocks each CPU keeps for its next small allocations: counted
    // in heap_free_bytes, but usable only for their size on their CPU.
    r.add_field("heap_cpu_cached_bytes", h.cached);
    r.add_field("heap_leaked_in_irq_bytes", h.leaked_in_irq);
    r.add_field("page_tables_l2", l2);
    r.add_field("page_tables_l3", l3);
}

fn cpu_section(r: &mut Report) {
    r.add_field("model", board::cpu_name());
    r.add_field("midr", format!("{:#x}", cpu::midr()));
    r.add_field("mpidr", format!("{:#x}", cpu::mpidr()));
    r.add_field("exception_level", cpu::exception_level());
    r.add_field("timer_hz", timer::frequency());
    r.add_field("timer_ticks", timer::ticks());
    r.add_field("irqs_total", gicv3::total());
    for (intid, count) in gicv3::counts() {
        r.add_field(&format!("irq_{intid}_{}", irq_name(intid)), count);
    }
    r.add_field("irqs_spurious", gicv3::spurious());
    r.add_field("uart_rx_errors", console_out::rx_errors());
    cores_fields(r);
}

/// A line per core: `cpuN:role=..,mpidr=..,up_us=..,busy_us=..,busy_pct=..,irqs=..`
/// (busy is the time online outside `wfi`, interrupt handlers included).
fn cores_fields(r: &mut Report) {
    r.add_field("cpus", board::board().cpus);
    r.add_field("cpus_online", hal::cpus::online());
    for i in 0..board::board().cpus.min(hal::memory::MAX_CPUS) {
        let Some(c) = hal::cpus::get(i) else { break };
        let (up, idle) = c.times_us();
        let busy = up.saturating_sub(idle);
        let pct = if up == 0 {
            0.0
        } else {
            busy as f64 * 100.0 / up as f64
        };
        r.add_field(
            &format!("cpu{i}"),
            format!(
                "online={},role={},mpidr={:#x},up_us={up},busy_us={busy},busy_pct={pct:.1},irqs={}",
                u8::from(c.is_online()),
                c.role(),
                c.mpidr() & 0xff_00ff_ffff,
                c.irqs()
            ),
        );
    }
}

fn irq_name(intid: u32) -> &'static str {
    let board = board::board();
    if intid == timer::intid() {
        "timer"
    } else if board.uart.as_ref().is_some_and(|u| u.intid == intid) {
        "uart"
    } else if board.virtio_mmio.iter().any(|v| v.intid == intid) {
        "virtio"
    } else {
        "other"
    }
}

fn devices(r: &mut Report) {
    let board = board::board();
    if let Some(u) = &board.uart {
        r.add_field("uart", format!("pl011 at {:#x} INTID {}", u.base, u.intid));
    }
    if let Some(g) = &board.gic {
        r.add_field(
            "gic",
            format!(
                "GICv{} GICD {:#x} GICR {:#x}",
                g.version, g.gicd_base, g.gicr_base
            ),
        );
    }
    r.add_field("virtio_mmio_slots", board.virtio_mmio.len());
    // What the disk got, request by request (INFO storage counts what the
    // store asked for).
    use hal::drivers::virtio_blk::stats;
    let q = stats::requests();
    r.add_field("disk_write_cache", stats::write_cache().name());
    r.add_field("disk_read_requests", q.reads);
    r.add_field("disk_write_requests", q.writes);
    r.add_field("disk_durable_write_requests", q.durable_writes);
    r.add_field("disk_flush_requests", q.flushes);
    r.add_field("disk_cache_switches", q.cache_switches);
    for (i, d) in services::virtio::devices().iter().enumerate() {
        let at = match d.location {
            Location::Mmio { base, size, .. } => format!("{base:#x} ({size:#x} bytes)"),
            pci @ Location::Pci { .. } => format!("{pci}"),
        };
        let intid = d
            .intid
            .map_or_else(|| String::from("none"), |i| format!("{i}"));
        r.add_field(
            &format!("virtio{i}"),
            format!("{} at {at} INTID {intid}", d.kind()),
        );
    }
    if let Some(host) = &board.pci {
        r.add_field(
            "pci_ecam",
            format!(
                "{:#x} ({} MiB), buses {}-{}",
                host.ecam.base,
                host.ecam.size >> 20,
                host.bus_start,
                host.bus_end
            ),
        );
    }
    for (i, f) in services::virtio::pci_functions().iter().enumerate() {
        r.add_field(&format!("pci{i}"), services::virtio::describe(f));
    }
}
