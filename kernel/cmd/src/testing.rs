//! For tests of the command layer and of what sits on it (the `conn`
//! crate's sessions), on the host: a real store on an in-memory disk, a
//! clock the test moves, and a test double of the kernel (`Host`) that
//! records what the commands asked of it. Built with the `testing` feature
//! only; nothing in the kernel uses it.

use std::boxed::Box;
use std::cell::{Cell, RefCell};
use std::format;
use std::string::{String, ToString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::vec;
use std::vec::Vec;

use crate::{Caller, Client, Ctx, Host, Reply, Server, ServerCell, ServiceRow, Sink};
use console::{parse_command, render, CommandError, Report};
use kv::{Clock, Store, StoreCell};
use lsm::db::{Db, Options};
use lsm::device::MemDevice;

static NOW: AtomicU64 = AtomicU64::new(0);

/// A 1 MHz counter that moves 1 µs each time it is read, so benchmark
/// runs have a non-zero duration.
fn now() -> u64 {
    NOW.fetch_add(1, Ordering::Relaxed)
}

std::thread_local! {
    /// This thread's wall clock, once a test stopped it (`freeze_clock`):
    /// tests run in parallel threads, and one moving the time must not
    /// expire another's keys.
    static FROZEN_US: Cell<Option<u64>> = const { Cell::new(None) };
}

/// The wall clock in Unix microseconds: following the counter from a fixed
/// day, or where this thread's test stopped it.
fn wall_us() -> u64 {
    FROZEN_US
        .with(Cell::get)
        .unwrap_or_else(|| 1_700_000_000_000_000 + NOW.load(Ordering::Relaxed))
}

fn wall_ms() -> u64 {
    wall_us() / 1000
}

/// Stops this thread's wall clock at `unix_us`: from then on it moves only
/// with [`advance_us`], so TTLs read back exactly.
pub fn freeze_clock(unix_us: u64) {
    FROZEN_US.with(|f| f.set(Some(unix_us)));
}

/// Moves this thread's wall clock on, stopping it first where it is if it
/// still follows the counter.
pub fn advance_us(us: u64) {
    let now = wall_us();
    FROZEN_US.with(|f| f.set(Some(f.get().unwrap_or(now) + us)));
}

/// Moves this thread's stopped wall clock on by `ms` milliseconds.
pub fn advance_ms(ms: u64) {
    advance_us(ms * 1000);
}

/// The wall clock now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    wall_ms()
}

/// The test clock: a 1 MHz counter and the wall clock above.
pub const CLOCK: Clock = Clock {
    now: lsm::clock::Counter::Fn(now),
    hz: 1_000_000,
    tick_hz: 100,
    wall_us,
};

/// A server with the default configuration.
pub fn server() -> ServerCell {
    ServerCell::new(Server::new(crate::Config::default(), wall_ms()))
}

/// The console's client on `server`.
pub fn console(server: &ServerCell) -> Client {
    Client::new(&mut server.lock(), Caller::Console, wall_ms())
}

/// A fresh store on an in-memory disk of `bytes`.
pub fn store(bytes: usize) -> StoreCell {
    let dev: kv::Disk = Box::new(MemDevice::new(bytes));
    let (db, _) = Db::open(dev, Options::for_disk(bytes as u64)).expect("format");
    StoreCell::new(Some(Store::new(db, CLOCK)))
}

/// The kernel, as far as commands can tell.
#[derive(Default)]
pub struct FakeHost {
    /// What the commands asked of the kernel, in order.
    pub calls: RefCell<Vec<String>>,
    /// The lines LOG prints.
    pub log: Vec<Vec<u8>>,
}

impl Host for FakeHost {
    fn info_sections(&self) -> &'static [&'static str] {
        &["server", "memory", "cpu", "devices"]
    }
    fn info(&self, name: &str, r: &mut Report) {
        r.add_field(&format!("kernel_{name}"), "yes");
    }
    fn services(&self) -> Vec<ServiceRow> {
        vec![ServiceRow {
            name: "kv",
            state: "running".into(),
            description: "the store",
            author: "us",
            license: "MIT",
        }]
    }
    fn service_state(&self, name: &str) -> String {
        format!("stopped ({name})")
    }
    fn start_service(&self, name: &str) -> Result<(), String> {
        self.calls.borrow_mut().push(format!("start {name}"));
        if name == "nosuch" {
            return Err("no service 'nosuch'".into());
        }
        Ok(())
    }
    fn stop_service(&self, name: &str) -> Result<(), String> {
        self.calls.borrow_mut().push(format!("stop {name}"));
        Ok(())
    }
    fn stop_all_services(&self) {
        self.calls.borrow_mut().push("stop all".into());
    }
    fn power(&self, reset: bool) -> ! {
        panic!("power {}", if reset { "reset" } else { "off" })
    }
    fn log_lines(&self, n: usize) -> Vec<Vec<u8>> {
        let skip = self.log.len().saturating_sub(n);
        self.log[skip..].to_vec()
    }
    fn set_console_log_level(&self, level: log::LevelFilter) {
        self.calls.borrow_mut().push(format!("loglevel {level}"));
    }
    fn free_memory(&self) -> usize {
        64 << 20
    }
    fn used_memory(&self) -> usize {
        3 << 20
    }
    fn total_memory(&self) -> u64 {
        1 << 30
    }
    fn listen_addr(&self) -> Option<([u8; 4], u16)> {
        Some(([10, 0, 2, 15], 6379))
    }
    fn clock(&self) -> Clock {
        CLOCK
    }
    fn panic(&self, message: &str) -> ! {
        panic!("{message}")
    }
    fn fault(&self) -> String {
        "the fault returned".into()
    }
    fn overflow(&self) -> String {
        "the recursion returned".into()
    }
    fn sleep_us(&self, us: u64) {
        std::thread::sleep(std::time::Duration::from_micros(us));
    }
    fn profile_start(&self, hz: u64, cpu: usize) -> Result<(), String> {
        if hz > 10_000 {
            return Err("the sampling rate is 10 to 10000 Hz".into());
        }
        if cpu > 0 {
            return Err("no such CPU online (INFO cpu lists them)".into());
        }
        self.calls.borrow_mut().push(format!("profile {hz}"));
        Ok(())
    }
    fn profile_stop(&self, top: usize) -> (usize, Vec<(u64, u32)>) {
        (
            10,
            vec![(0x4020_0000, 7), (0x4020_0040, 3)]
                .into_iter()
                .take(top)
                .collect(),
        )
    }
    /// Threads stand for cores: job 0 on the caller's, up to
    /// [`FAKE_CORES`] in all.
    fn parallel(&self, n: usize, job: &(dyn Fn(usize) + Sync)) -> Result<(), String> {
        if n > FAKE_CORES {
            return Err(format!("{FAKE_CORES} cores can run jobs"));
        }
        std::thread::scope(|s| {
            for i in 1..n {
                s.spawn(move || job(i));
            }
            job(0);
        });
        Ok(())
    }
}

/// The cores the test double's `parallel` has.
pub const FAKE_CORES: usize = 4;

/// A session's sink that keeps what it got, and says "interrupted" from
/// its `stop_at`-th question on.
#[derive(Default)]
pub struct Out {
    /// Progress lines, in order.
    pub progress: Vec<String>,
    /// Unframed lines, in order.
    pub raw: Vec<Vec<u8>>,
    /// Replies sent at once (before power-off).
    pub now: Vec<Reply>,
    /// How many times a command asked whether to stop.
    pub asked: u64,
    /// The question from which on the answer is "stop".
    pub stop_at: Option<u64>,
}

impl Sink for Out {
    fn progress(&mut self, line: &str) {
        self.progress.push(line.to_string());
    }
    fn raw(&mut self, line: &[u8]) {
        self.raw.push(line.to_vec());
    }
    fn interrupted(&mut self) -> bool {
        self.asked += 1;
        self.stop_at.is_some_and(|k| self.asked >= k)
    }
    fn reply_now(&mut self, reply: &Reply) {
        self.now.push(reply.clone());
    }
}

/// One console line through the command layer: the reply as the console
/// renders it (with "\n" line ends), and the ticket it waits for.
pub fn line_with(
    cell: &StoreCell,
    host: &FakeHost,
    out: &mut Out,
    line: &str,
) -> (String, Option<kv::Ticket>) {
    let server = server();
    let mut client = console(&server);
    line_as(cell, &server, &mut client, host, out, line)
}

/// One line from `client` of `server`.
pub fn line_as(
    cell: &StoreCell,
    server: &ServerCell,
    client: &mut Client,
    host: &FakeHost,
    out: &mut Out,
    line: &str,
) -> (String, Option<kv::Ticket>) {
    let reply = match parse_command(line.as_bytes()) {
        Ok(Some(inv)) => {
            client.last_ms = host.clock().wall_ms();
            let mut ctx = Ctx::new(cell, server, (host, host.clock()), out, client);
            let reply = crate::run(&mut ctx, &inv);
            let wait = ctx.wait_for();
            return (shown(&reply), wait);
        }
        Ok(None) => return (String::new(), None),
        Err(e) => Reply::from(e),
    };
    (shown(&reply), None)
}

/// `reply` as the console renders it, with "\n" line ends.
pub fn shown(reply: &Reply) -> String {
    let mut s = String::new();
    render(reply, &mut s).unwrap();
    s.replace("\r\n", "\n")
}

/// A line whose writes are committed before the reply is returned, as a
/// session does at the end of its round.
pub fn line(cell: &StoreCell, line: &str) -> String {
    let host = FakeHost::default();
    let mut out = Out::default();
    let (reply, wait) = line_with(cell, &host, &mut out, line);
    if wait.is_some() {
        cell.lock().as_mut().unwrap().commit().unwrap();
    }
    reply
}

/// Runs each console line in order on `cell` and checks its exact reply
/// (as the console renders it, without the final line end).
pub fn expect(cell: &StoreCell, script: &[(&str, &str)]) {
    for (input, want) in script {
        assert_eq!(line(cell, input).trim_end_matches('\n'), *want, "{input}");
    }
}

/// The store's tables, on every level.
pub fn tables(s: &StoreCell) -> usize {
    s.lock()
        .as_ref()
        .unwrap()
        .stats()
        .levels
        .iter()
        .map(|l| l.0)
        .sum()
}

/// Stores `key` = `value` expiring at `at_ms`, straight into the store
/// (the string family's SET options are not this crate's tests' concern).
pub fn set_expiring(cell: &StoreCell, key: &str, value: &str, at_ms: u64) {
    let mut batch = lsm::db::WriteBatch::new();
    batch.put(
        key.as_bytes(),
        &kv::value::encode(value.as_bytes(), Some(at_ms)),
    );
    cell.lock().as_mut().unwrap().write(batch).unwrap();
}

/// Sets `key:0` .. `key:{n - 1}` to their numbers through `c`, checking
/// each reply: a keyspace of a known size for SCAN, DBSIZE and FLUSH tests.
pub fn populate(c: &mut Session<'_>, n: usize) {
    for i in 0..n {
        assert_eq!(c.run(&format!("SET key:{i} {i}")), "OK\n");
    }
}

/// A session of `server` on `cell`, as a session of the kernel runs it:
/// a line is parsed, run (a refused line is reported with
/// `crate::refused`), and its writes are committed before the reply.
pub struct Session<'a> {
    /// The store.
    pub cell: &'a StoreCell,
    /// The shared server state.
    pub server: &'a ServerCell,
    /// This session's client.
    pub client: Client,
    /// The kernel's double.
    pub host: FakeHost,
    /// Its sink.
    pub out: Out,
}

impl<'a> Session<'a> {
    /// A network connection from 127.0.0.1:40000 + its id.
    pub fn network(cell: &'a StoreCell, server: &'a ServerCell) -> Session<'a> {
        let caller = Caller::Network {
            addr: [127, 0, 0, 1],
            port: 40000,
        };
        Self::with(cell, server, caller)
    }

    /// The serial console.
    pub fn console(cell: &'a StoreCell, server: &'a ServerCell) -> Session<'a> {
        Self::with(cell, server, Caller::Console)
    }

    fn with(cell: &'a StoreCell, server: &'a ServerCell, caller: Caller) -> Session<'a> {
        let client = Client::new(&mut server.lock(), caller, wall_ms());
        server.lock().register(&client);
        Session {
            cell,
            server,
            client,
            host: FakeHost::default(),
            out: Out::default(),
        }
    }

    /// The reply to `line`, rendered as the console shows it.
    pub fn run(&mut self, line: &str) -> String {
        shown(&self.reply(line))
    }

    /// The reply to `line`.
    pub fn reply(&mut self, line: &str) -> Reply {
        let reply = match parse_command(line.as_bytes()) {
            Ok(Some(inv)) => {
                self.client.last_ms = self.host.clock().wall_ms();
                let mut ctx = Ctx::new(
                    self.cell,
                    self.server,
                    (&self.host, self.host.clock()),
                    &mut self.out,
                    &mut self.client,
                );
                let reply = crate::run(&mut ctx, &inv);
                if ctx.wait_for().is_some() {
                    self.cell.lock().as_mut().unwrap().commit().unwrap();
                }
                reply
            }
            Ok(None) => return Reply::Text(String::new()),
            Err(e) => {
                let known = match &e {
                    CommandError::Arity { name, .. } => console::lookup(name.as_bytes()),
                    _ => None,
                };
                crate::refused(self.server, &mut self.client, known);
                Reply::from(e)
            }
        };
        self.server.lock().register(&self.client);
        reply
    }
}
