//! The serial shell: reads bytes the UART received, edits lines, runs
//! commands and prints replies, in the format `console.md` fixes. This is
//! the kernel's main loop; it sleeps in `wfi` while there is no input.

use crate::{bench, board, kvcmd, registry, services};
use alloc::{format, string::String, vec, vec::Vec};
use console::{
    command::{help_all, help_one},
    parse_command, render, CommandError, Invocation, LineEditor, LineEvent, Reply, Report,
};
use hal::arch::{cpu, gicv3, mmu, psci, timer};
use hal::drivers::pl011;
use hal::{console_out, heap, logger, memory};
use lsm::db::WriteBatch;

pub const PROMPT: &[u8] = b"unikv> ";
/// Longest accepted line: console.md asks for at least 16 KiB.
pub const MAX_LINE: usize = 64 * 1024;

pub fn run() -> ! {
    let mut editor = LineEditor::new(MAX_LINE);
    let mut group: Option<Group> = None;
    console_out::write(PROMPT);
    loop {
        while let Some(byte) = console_out::read_byte() {
            let mut echo = Vec::new();
            let event = editor.feed(byte, &mut |e| echo.extend_from_slice(e));
            match group.as_mut() {
                Some(g) => g.out.push(Out::Bytes(echo)),
                None => console_out::write(&echo),
            }
            let Some(event) = event else { continue };
            if let LineEvent::Line(line) = &event {
                if let Some((key, value)) = groupable_set(line) {
                    let g = group.get_or_insert_with(Group::new);
                    g.batch.put(&key, &value);
                    g.out.push(Out::Reply);
                    g.out.push(Out::Bytes(PROMPT.to_vec()));
                    if g.batch.count() as usize >= MAX_GROUP {
                        commit(group.take());
                    }
                    continue;
                }
            }
            // Anything else runs after the writes before it are durable.
            commit(group.take());
            let reply = match event {
                LineEvent::Line(line) => execute(&line),
                LineEvent::TooLong { len } => {
                    Some(Reply::from(CommandError::TooLong { len, max: MAX_LINE }))
                }
                LineEvent::Cancelled => None,
            };
            if let Some(reply) = reply {
                print(&reply);
            }
            console_out::write(PROMPT);
        }
        // No more input waiting: the SETs gathered so far share one sync.
        commit(group.take());
        services::kv::tick();
        cpu::wait_for_interrupt_if(|| pl011::RX.is_empty());
    }
}

/// Most SETs one WAL sync covers.
const MAX_GROUP: usize = 256;

/// Group commit, as LevelDB's writers queue: SETs that arrive together
/// (pasted, piped, or typed ahead while a command runs) are written as one
/// batch with one WAL sync, and each is answered `OK` only after that sync.
/// Their echoes and replies are held back and printed in order, so the
/// console reads exactly as if each had been synced alone.
struct Group {
    batch: WriteBatch,
    out: Vec<Out>,
}

enum Out {
    Bytes(Vec<u8>),
    /// Where a SET's reply goes once the group is durable.
    Reply,
}

impl Group {
    fn new() -> Group {
        Group {
            batch: WriteBatch::new(),
            out: Vec::new(),
        }
    }
}

/// A SET that can join a group: well-formed and within the store's limits
/// (one that is not runs alone, so its error does not fail the others).
fn groupable_set(line: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let inv = parse_command(line).ok()??;
    if inv.spec.name != "SET" || !services::kv::accepts(&inv.args[0], &inv.args[1]) {
        return None;
    }
    let mut args = inv.args.into_iter();
    Some((args.next()?, args.next()?))
}

fn commit(group: Option<Group>) {
    let Some(g) = group else { return };
    let n = g.batch.count();
    let reply = match services::kv::with(|db| db.write(g.batch, true)) {
        Ok(()) => {
            services::kv::note_group(n);
            Reply::Ok
        }
        Err(e) => Reply::Error(e),
    };
    let mut text = String::new();
    let _ = render(&reply, &mut text);
    for out in g.out {
        match out {
            Out::Bytes(b) => console_out::write(&b),
            Out::Reply => console_out::write(text.as_bytes()),
        }
    }
}

fn print(reply: &Reply) {
    let mut out = String::new();
    let _ = render(reply, &mut out);
    console_out::write(out.as_bytes());
}

/// Runs one line; `None` for a blank line (just a new prompt).
pub fn execute(line: &[u8]) -> Option<Reply> {
    match parse_command(line) {
        Ok(None) => None,
        Ok(Some(inv)) => Some(dispatch(&inv).unwrap_or_else(Reply::Error)),
        Err(e) => Some(Reply::from(e)),
    }
}

type CmdResult = Result<Reply, String>;

fn dispatch(inv: &Invocation) -> CmdResult {
    let args = &inv.args;
    match inv.spec.name {
        "HELP" => help(args),
        "INFO" => info(args),
        "SERVICES" => Ok(services_list()),
        "SERVICE" => service(args),
        "LOG" => log_cmd(args),
        "SHUTDOWN" => power(false),
        "REBOOT" => power(true),
        "DEBUG" => debug(args),
        "SET" => kvcmd::set(args),
        "GET" => kvcmd::get(args),
        "DEL" => kvcmd::del(args),
        "EXISTS" => kvcmd::exists(args),
        "RANGE" => kvcmd::range(args),
        "FLUSH" => kvcmd::flush(),
        "COMPACT" => kvcmd::compact(),
        "VERIFY" => kvcmd::verify(),
        "BENCH" => bench::run(args),
        "CACHE" => kvcmd::cache_cmd(args),
        other => Err(format!("'{other}' is not available in this kernel")),
    }
}

fn text_arg(arg: &[u8]) -> Result<&str, String> {
    core::str::from_utf8(arg).map_err(|_| String::from("argument is not valid UTF-8"))
}

fn help(args: &[Vec<u8>]) -> CmdResult {
    match args.first() {
        None => Ok(Reply::Text(help_all())),
        Some(name) => help_one(name).map(Reply::Text).ok_or_else(|| {
            format!(
                "no such command '{}', type HELP for the list",
                console::quote(name).trim_matches('"')
            )
        }),
    }
}

const SECTIONS: [&str; 5] = ["server", "memory", "cpu", "services", "devices"];

fn info(args: &[Vec<u8>]) -> CmdResult {
    let wanted = match args.first() {
        Some(a) => Some(text_arg(a)?.to_ascii_lowercase()),
        None => None,
    };
    let mut report = Report::new();
    match wanted.as_deref() {
        None | Some("all") | Some("everything") => {
            for s in SECTIONS {
                add_section(&mut report, s);
            }
            // The store's and cache's sections when they are up.
            let _ = kvcmd::info_storage(&mut report);
            let _ = kvcmd::info_cache(&mut report);
        }
        Some(s) if SECTIONS.contains(&s) => add_section(&mut report, s),
        Some("storage") => kvcmd::info_storage(&mut report)?,
        Some("cache") => kvcmd::info_cache(&mut report)?,
        Some(other) => {
            return Err(format!(
            "no INFO section '{other}'; sections: server, memory, cpu, services, devices, storage, cache"
        ))
        }
    }
    Ok(Reply::Report(report))
}

fn add_section(r: &mut Report, name: &str) {
    let board = board::board();
    match name {
        "server" => {
            r.add_section("Server");
            r.add_field("version", board::VERSION);
            r.add_field("kernel", "unikv (aarch64, no_std unikernel)");
            r.add_field("uptime_ms", timer::now_us() / 1000);
            r.add_field("boot_time_us", board::boot_time_us());
            r.add_field("cpus", board.cpus);
            r.add_field("cpus_online", 1);
            r.add_field("exception_level", cpu::exception_level());
            r.add_field("timer_hz", timer::frequency());
            r.add_field("tick_hz", timer::TICK_HZ);
            r.add_field("machine", board.model.as_deref().unwrap_or("unknown"));
            r.add_field("bootargs", board.bootargs.as_deref().unwrap_or(""));
        }
        "memory" => {
            let h = heap::stats();
            let image = memory::image();
            let (l2, l3) = mmu::tables_used();
            r.add_section("Memory");
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
            r.add_field("heap_leaked_in_irq_bytes", h.leaked_in_irq);
            r.add_field("page_tables_l2", l2);
            r.add_field("page_tables_l3", l3);
        }
        "cpu" => {
            r.add_section("CPU");
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
        }
        "services" => {
            r.add_section("Services");
            for (d, state) in registry::table() {
                r.add_field(d.name, state);
            }
        }
        "devices" => {
            r.add_section("Devices");
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
            for (i, d) in services::virtio::devices().iter().enumerate() {
                r.add_field(
                    &format!("virtio{i}"),
                    format!(
                        "{} at {:#x} ({:#x} bytes) INTID {}",
                        d.kind(),
                        d.base,
                        d.size,
                        d.intid
                    ),
                );
            }
        }
        _ => {}
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

fn services_list() -> Reply {
    let rows = registry::table()
        .into_iter()
        .map(|(d, state)| {
            vec![
                d.name.as_bytes().to_vec(),
                state.into_bytes(),
                d.description.as_bytes().to_vec(),
                d.author.as_bytes().to_vec(),
                d.license.as_bytes().to_vec(),
            ]
        })
        .collect();
    Reply::List(rows)
}

fn service(args: &[Vec<u8>]) -> CmdResult {
    let usage = "usage: SERVICE START|STOP name";
    let [verb, name] = args else {
        return Err(format!("wrong number of arguments, {usage}"));
    };
    let name = text_arg(name)?;
    match text_arg(verb)?.to_ascii_uppercase().as_str() {
        "START" => registry::start(name)?,
        "STOP" => registry::stop(name)?,
        other => return Err(format!("unknown SERVICE action '{other}', {usage}")),
    }
    Ok(Reply::Ok)
}

fn log_cmd(args: &[Vec<u8>]) -> CmdResult {
    let n = match args.first() {
        Some(a) => text_arg(a)?
            .parse::<usize>()
            .map_err(|_| String::from("LOG takes a line count, e.g. LOG 20"))?,
        None => usize::MAX,
    };
    let mut text = String::new();
    for line in logger::last_lines(n) {
        text.push_str(&String::from_utf8_lossy(&line));
        text.push('\n');
    }
    Ok(Reply::Text(text))
}

fn power(reset: bool) -> CmdResult {
    registry::stop_all();
    log::info!("{}", if reset { "rebooting" } else { "powering off" });
    print(&Reply::Ok);
    // The reply must leave the UART before the power does.
    console_out::flush();
    if reset {
        psci::system_reset()
    } else {
        psci::system_off()
    }
}

fn debug(args: &[Vec<u8>]) -> CmdResult {
    let what = text_arg(&args[0])?.to_ascii_uppercase();
    match what.as_str() {
        "PANIC" => {
            let msg = args.get(1).map(|m| String::from_utf8_lossy(m).into_owned());
            panic!(
                "DEBUG PANIC from the console: {}",
                msg.as_deref().unwrap_or("no message")
            );
        }
        "FAULT" => {
            // SAFETY: deliberately not safe: the read of an unmapped address
            // is the point (it must end in the exception dump, never return).
            let v = unsafe { core::ptr::read_volatile(UNMAPPED as *const u64) };
            Err(format!(
                "read of unmapped {UNMAPPED:#x} returned {v:#x}: the MMU is not protecting it"
            ))
        }
        "OVERFLOW" => {
            let depth = recurse(0);
            Err(format!(
                "recursed {depth} levels without overflowing the stack"
            ))
        }
        "LOGLEVEL" => {
            let level = args
                .get(1)
                .and_then(|l| core::str::from_utf8(l).ok())
                .and_then(|l| l.parse::<log::LevelFilter>().ok())
                .ok_or_else(|| String::from("DEBUG LOGLEVEL off|error|warn|info|debug|trace"))?;
            logger::set_console_level(level);
            if level > log::max_level() {
                logger::set_level(level);
            }
            Ok(Reply::Ok)
        }
        "PROFILE" => {
            let arg = |i: usize, default: u64| -> Result<u64, String> {
                args.get(i).map_or(Ok(default), |a| {
                    text_arg(a)?.parse().map_err(|_| {
                        String::from("DEBUG PROFILE START [hz] | DEBUG PROFILE STOP [top]")
                    })
                })
            };
            match args.get(1).map(|a| a.to_ascii_uppercase()).as_deref() {
                Some(b"START") => {
                    hal::profile::start(arg(2, 1000)?)?;
                    Ok(Reply::Ok)
                }
                Some(b"STOP") => {
                    let (total, hot) = hal::profile::stop(arg(2, 40)? as usize);
                    let mut text = format!("samples:{total}\n");
                    for (pc, n) in hot {
                        text.push_str(&format!(
                            "{n:>7} {:>5.1}% {pc:#x}\n",
                            f64::from(n) * 100.0 / total.max(1) as f64
                        ));
                    }
                    Ok(Reply::Text(text))
                }
                _ => Err(String::from(
                    "DEBUG PROFILE START [hz] | DEBUG PROFILE STOP [top]",
                )),
            }
        }
        "TRACE" => match args.get(1).map(|a| a.to_ascii_uppercase()).as_deref() {
            Some(b"START") => {
                services::trace::start();
                Ok(Reply::Ok)
            }
            Some(b"STOP") => {
                let (records, truncated) = services::trace::stop();
                let mut r = Report::new();
                r.add_section("Trace");
                r.add_field("records", records);
                r.add_field("truncated", u8::from(truncated));
                Ok(Reply::Report(r))
            }
            Some(b"DUMP") => {
                // Raw lines, for `cachesim --format store`: no reply framing.
                let text = services::trace::text();
                for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                    console_out::write(line);
                    console_out::write(b"\r\n");
                }
                Ok(Reply::Text(String::new()))
            }
            _ => Err(String::from("DEBUG TRACE START | STOP | DUMP")),
        },
        _ => Err(String::from(DEBUG_USAGE)),
    }
}

const DEBUG_USAGE: &str =
    "DEBUG PANIC [message] | DEBUG FAULT | DEBUG OVERFLOW | DEBUG LOGLEVEL level | \
     DEBUG PROFILE START [hz] | DEBUG PROFILE STOP [top] | DEBUG TRACE START|STOP|DUMP";

/// Inside the 39-bit address space, far above any RAM or device of virt.
const UNMAPPED: u64 = 0x7f_0000_0000;

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
