//! The state commands keep beyond the store: one [`Client`] per session
//! (who it is, its protocol, its transaction), and the [`Server`] every
//! session shares (configuration, the client list, statistics, WATCHed
//! keys, SCAN cursors).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use console::command::Position;
use console::{CommandSpec, Invocation};

use crate::clientlist::ClientInfo;
use crate::latency::histogram::Histogram;

/// Where a session's commands come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// A person (or script) at the serial console: trusted, as the machine's
    /// own console is.
    Console,
    /// A network connection, from this IPv4 address and port.
    Network {
        /// The peer's address.
        addr: [u8; 4],
        /// The peer's port.
        port: u16,
    },
}

impl Caller {
    /// Whether it is a network connection.
    pub fn is_network(self) -> bool {
        matches!(self, Caller::Network { .. })
    }
}

/// The protocol a connection speaks (`HELLO 2|3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// RESP2, every connection's start.
    Resp2,
    /// RESP3.
    Resp3,
}

/// A transaction being queued (`MULTI` ... `EXEC`).
#[derive(Debug, Default)]
pub struct Multi {
    /// The commands, in order.
    pub queued: Vec<Invocation>,
    /// The bytes of their arguments (see [`Multi::queue`]).
    pub queued_bytes: usize,
    /// A command was refused while queueing: EXEC will abort.
    pub failed: bool,
}

impl Multi {
    /// A command's cost in the queue: its arguments and their vectors.
    pub fn cost(inv: &Invocation) -> usize {
        inv.args
            .iter()
            .map(|a| a.len() + core::mem::size_of::<Vec<u8>>())
            .sum::<usize>()
            + core::mem::size_of::<Invocation>()
    }

    /// Queues `inv` (a copy of it), counting its cost.
    pub fn queue(&mut self, inv: &Invocation) {
        self.queued_bytes += Multi::cost(inv);
        self.queued.push(inv.clone());
    }

    /// Whether a queued command writes (its EXEC waits out a WRITE pause).
    pub fn writes(&self) -> bool {
        self.queued
            .iter()
            .any(|q| q.spec.has(console::command::flag::WRITE))
    }
}

/// A key a client WATCHes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watched {
    /// The key.
    pub key: Vec<u8>,
    /// Its version (times it changed) when watched: see [`Server::touch`].
    pub version: u64,
    /// Whether it held a live value when watched: if it then expires, EXEC
    /// fails (Redis's `isWatchedKeyExpired`), while a key already expired
    /// (or absent) when watched fails EXEC only if written.
    pub live: bool,
}

/// One session's state.
#[derive(Debug)]
pub struct Client {
    /// Unique for the server's life (`CLIENT ID`).
    pub id: u64,
    /// Where it is.
    pub caller: Caller,
    /// `CLIENT SETNAME`.
    pub name: Option<Vec<u8>>,
    /// `CLIENT SETINFO LIB-NAME` and `LIB-VER`.
    pub lib_name: Option<Vec<u8>>,
    /// The library's version.
    pub lib_ver: Option<Vec<u8>>,
    /// Its protocol.
    pub protocol: Protocol,
    /// Whether AUTH (or HELLO AUTH) succeeded; the console always is.
    pub authenticated: bool,
    /// A transaction being queued.
    pub multi: Option<Multi>,
    /// WATCHed keys, as they were when watched.
    pub watched: Vec<Watched>,
    /// Set by QUIT: the session sends the reply, then closes.
    pub closing: bool,
    /// In MONITOR: every command run is streamed to it
    /// ([`Server::monitors`]).
    pub monitor: bool,
    /// CLIENT REPLY OFF: its replies are left out, until CLIENT REPLY ON.
    pub reply_off: bool,
    /// CLIENT REPLY SKIP: replies left out, counting down one a command.
    pub reply_skip: u8,
    /// Its session holds a command of it until CLIENT PAUSE ends (Redis's
    /// postponed clients: INFO's `blocked_clients`, CLIENT LIST's `b`).
    pub postponed: bool,
    /// While EXEC runs its queued commands: a command that would turn the
    /// connection into a stream (MONITOR) is refused then, as Redis
    /// refuses it to a client that expects one reply per command.
    pub(crate) in_exec: bool,
    /// When it connected, in Unix milliseconds.
    pub since_ms: u64,
    /// When it last sent something (its session sets it per read, as
    /// Redis's `lastinteraction`; a command that does not read the time
    /// of day then reads no clock for it).
    pub last_ms: u64,
    /// Its last command (the one running, while one runs), as its spec
    /// names it.
    pub last_command: &'static str,
    /// The container and subcommand the last container command named
    /// (`CLIENT`, `LIST`): CLIENT LIST's `cmd=client|list` when they are
    /// the last command's.
    pub(crate) last_sub: Option<(&'static str, &'static str)>,
    /// What its session's socket and buffers hold, as its session last
    /// said (CLIENT LIST's `fd`, `qbuf`, `obl` ...).
    pub buffers: crate::clientlist::Buffers,
    /// The spec its last request named, looked at first for the next one.
    pub(crate) last_spec: Option<&'static console::CommandSpec>,
    /// The writes of the command (or transaction) running, applied as one
    /// batch when it succeeds; kept here so that their room outlives it.
    pub(crate) pending: crate::keyspace::Pending,
    /// The buffer the next value read from the store goes into: a reply's
    /// value, given back once the reply is encoded
    /// ([`Client::give_back`]), so that a GET allocates nothing.
    pub(crate) spare_value: SpareValue,
    /// The batch the last command's writes went to the store in, kept for
    /// the next command's ([`lsm::db::Db::write_batch`]): a SET allocates
    /// nothing for it. Up to [`SPARE_BATCH_MAX`] bytes.
    pub(crate) spare_batch: Option<lsm::db::WriteBatch>,
}

/// A client's spare value buffer: taken by a read through a shared
/// [`crate::Ctx`], set back by [`Client::give_back`].
#[derive(Default)]
pub(crate) struct SpareValue(core::cell::Cell<Vec<u8>>);

impl SpareValue {
    pub(crate) fn take(&self) -> Vec<u8> {
        self.0.take()
    }

    pub(crate) fn set(&self, v: Vec<u8>) {
        self.0.set(v)
    }
}

impl core::fmt::Debug for SpareValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SpareValue")
    }
}

impl Client {
    /// A new session's state, id from `server`.
    pub fn new(server: &mut Server, caller: Caller, now_ms: u64) -> Client {
        server.next_client_id += 1;
        Client {
            id: server.next_client_id,
            caller,
            name: None,
            lib_name: None,
            lib_ver: None,
            protocol: Protocol::Resp2,
            authenticated: caller == Caller::Console || server.config.requirepass.is_none(),
            multi: None,
            watched: Vec::new(),
            closing: false,
            monitor: false,
            reply_off: false,
            reply_skip: 0,
            postponed: false,
            in_exec: false,
            since_ms: now_ms,
            last_ms: now_ms,
            last_command: "NULL",
            last_sub: None,
            buffers: crate::clientlist::Buffers::NONE,
            last_spec: None,
            pending: Default::default(),
            spare_value: Default::default(),
            spare_batch: None,
        }
    }

    /// Takes back a reply once its session has encoded it: its value's
    /// buffer holds the next value read (a GET's allocation and free,
    /// ~70 guest instructions and two indirect branches, went so). A
    /// buffer of more than [`SPARE_VALUE_MAX`] bytes is let go rather than
    /// kept by an idle client.
    #[inline]
    pub fn give_back(&mut self, reply: console::Reply) {
        use console::Reply;
        match reply {
            Reply::Value(v) => {
                if v.capacity() <= SPARE_VALUE_MAX {
                    self.spare_value.set(v);
                }
            }
            // These own nothing: no call to the reply's drop (under TCG a
            // jump table and a return) for the commonest replies, a
            // SET's or an INCR's.
            Reply::Ok | Reply::Nil | Reply::Integer(_) | Reply::NilArray | Reply::Interrupted => {
                core::mem::forget(reply)
            }
            other => drop(other),
        }
    }

    /// Whether it came over the network.
    pub fn is_network(&self) -> bool {
        self.caller.is_network()
    }
}

/// The largest value buffer a client keeps between replies.
pub const SPARE_VALUE_MAX: usize = 64 << 10;
/// The largest write batch a client keeps between commands.
pub const SPARE_BATCH_MAX: usize = 64 << 10;

/// `CONFIG SET appendfsync`: when acknowledged writes reach the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appendfsync {
    /// Before the reply: nothing acknowledged is ever lost (the default).
    Always,
    /// Within a second.
    Everysec,
    /// Within the store's write-out bound (`wal_loss_bound_ms`).
    No,
}

impl Appendfsync {
    /// Its name in CONFIG.
    pub fn name(self) -> &'static str {
        match self {
            Appendfsync::Always => "always",
            Appendfsync::Everysec => "everysec",
            Appendfsync::No => "no",
        }
    }
}

/// The least `proto-max-bulk-len` CONFIG SET takes, as Redis's.
pub(crate) const MIN_PROTO_MAX_BULK_LEN: u64 = 1 << 20;

/// What `CONFIG GET`/`SET` reach.
#[derive(Clone, Debug)]
pub struct Config {
    /// The password every network connection must give (`requirepass`).
    pub requirepass: Option<Vec<u8>>,
    /// Most connections at once.
    pub maxclients: u64,
    /// Seconds a connection may stay idle before it is closed (0: never).
    pub timeout_s: u64,
    /// When writes reach the disk.
    pub appendfsync: Appendfsync,
    /// Largest bulk string a request may carry; never below
    /// 1 MiB (Redis's floor).
    pub proto_max_bulk_len: u64,
    /// Most bytes of one client's requests waiting to be parsed.
    pub client_query_buffer_limit: u64,
    /// Most bytes of replies a client may leave unread, past its
    /// [`REPLY_BUFFER`], before it is dropped (see [`past_output_limit`]).
    pub client_output_buffer_limit: u64,
    /// Microseconds from which a command is logged in the SLOWLOG (0:
    /// every command, -1: none).
    pub slowlog_log_slower_than: i64,
    /// Entries the SLOWLOG keeps.
    pub slowlog_max_len: u64,
    /// Whether each command's run times go into its histogram
    /// (`latency-tracking`).
    pub latency_tracking: bool,
    /// The percentiles INFO latencystats shows
    /// (`latency-tracking-info-percentiles`).
    pub latency_percentiles: Vec<f64>,
}

/// Reply bytes a client may have unsent before `client-output-buffer-limit`
/// counts any: Redis's per-client reply buffer (`PROTO_REPLY_CHUNK_BYTES`),
/// which its limit leaves out. CLIENT LIST's `obl` is what sits in it.
pub const REPLY_BUFFER: u64 = 16 << 10;

/// Whether a client that leaves `unsent` bytes of replies (a monitor's
/// lines among them) unread is past `client-output-buffer-limit` (`limit`),
/// as Redis counts it: only what overflows the [`REPLY_BUFFER`], so a
/// client that reads its replies is never dropped, whatever the limit
/// (`normal 1 0 0` once closed every client at its first reply).
pub fn past_output_limit(unsent: u64, limit: u64) -> bool {
    unsent.saturating_sub(REPLY_BUFFER) > limit
}

impl Default for Config {
    fn default() -> Self {
        Config {
            requirepass: None,
            maxclients: 500,
            timeout_s: 0,
            appendfsync: Appendfsync::Always,
            proto_max_bulk_len: 64 << 20,
            client_query_buffer_limit: 128 << 20,
            client_output_buffer_limit: 32 << 20,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            latency_tracking: true,
            latency_percentiles: alloc::vec![50.0, 99.0, 99.9],
        }
    }
}

/// One command's counters (`INFO commandstats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommandStats {
    /// Times it ran.
    pub calls: u64,
    /// Microseconds it took, in all.
    pub usec: u64,
    /// Times it was refused before running (auth, arity, ...).
    pub rejected: u64,
    /// Times it ran and answered an error.
    pub failed: u64,
}

/// The server's counters (`INFO stats`).
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub connections_received: u64,
    /// Connections refused (maxclients).
    pub rejected_connections: u64,
    /// Commands run.
    pub commands_processed: u64,
    /// Reads that found their key.
    pub keyspace_hits: u64,
    /// Reads that did not.
    pub keyspace_misses: u64,
    /// Keys found expired (and removed).
    pub expired_keys: u64,
    /// Per command, by its place in the command table
    /// (`console::command::position`): counted on every command, where a
    /// map by name cost a search of string comparisons each time. Empty
    /// until the first command is counted.
    commands: Vec<CommandStats>,
    /// Error replies, by their code (`ERR`, `WRONGTYPE` ...): INFO
    /// errorstats.
    pub errors: BTreeMap<String, u64>,
    /// Per command, as `commands`, its run times (`latency-tracking`),
    /// made at its first call: 24 KiB each (`latency`).
    pub(crate) latency: Vec<Option<Box<Histogram>>>,
}

impl Stats {
    /// The counters of `spec`'s command, to update.
    pub fn command_mut(&mut self, spec: &'static CommandSpec) -> &mut CommandStats {
        self.command_at(console::command::position(spec))
    }

    /// [`Stats::command_mut`], the spec's position known.
    #[inline(always)]
    pub(crate) fn command_at(&mut self, place: Option<Position>) -> &mut CommandStats {
        // The usual case first: no count of the table (a walk of its
        // families) on every command.
        if let Some(p) = place {
            if p.index < self.commands.len() {
                return &mut self.commands[p.index];
            }
        }
        self.command_at_cold(place)
    }

    #[cold]
    #[inline(never)]
    fn command_at_cold(&mut self, place: Option<Position>) -> &mut CommandStats {
        let count = console::command::count();
        if self.commands.is_empty() {
            // One slot more: every spec the sessions run is the table's, a
            // stranger would be a bug, counted there (never shown) rather
            // than under another command.
            self.commands = alloc::vec![CommandStats::default(); count + 1];
        }
        let at = place.map_or(count, |p| p.index);
        &mut self.commands[at]
    }

    /// The counters of the command called `name` (zero if it never ran).
    pub fn command(&self, name: &str) -> CommandStats {
        self.commands()
            .find(|(n, _)| *n == name)
            .map_or_else(CommandStats::default, |(_, c)| c)
    }

    /// Every command that ran or was refused, with its counters, by name.
    pub fn commands(&self) -> impl Iterator<Item = (&'static str, CommandStats)> + '_ {
        let mut used: Vec<(&'static str, CommandStats)> = console::commands()
            .zip(&self.commands)
            .filter(|(_, c)| c.calls > 0 || c.rejected > 0)
            .map(|(spec, c)| (spec.name, *c))
            .collect();
        used.sort_unstable_by_key(|(name, _)| *name);
        used.into_iter()
    }
}

/// Everything the sessions share. One per server, behind a lock.
#[derive(Debug, Default)]
pub struct Server {
    /// The configuration.
    pub config: Config,
    /// The counters.
    pub stats: Stats,
    /// The last client id handed out.
    next_client_id: u64,
    /// Connected clients (the console too), by id.
    pub clients: BTreeMap<u64, ClientInfo>,
    /// WATCHed keys: (clients watching, times the key changed since).
    pub watched: BTreeMap<Vec<u8>, (u32, u64)>,
    /// SCAN cursors handed out: cursor number -> the key to go on from;
    /// the [`MAX_CURSORS`] newest.
    pub cursors: BTreeMap<u64, Vec<u8>>,
    /// The last cursor number handed out.
    pub last_cursor: u64,
    /// When the server started, in Unix milliseconds.
    pub started_ms: u64,
    /// Keys written since the last SAVE (or FLUSH), or since the start:
    /// Redis's `dirty`, INFO's `rdb_changes_since_last_save`. Counted as
    /// the writes go to the store, one per key a command wrote (a write
    /// that changes nothing is none); not zeroed by CONFIG RESETSTAT.
    pub changes_since_save: u64,
    /// When the memtable was last written to a table by SAVE or FLUSH
    /// (or the server started), in Unix milliseconds: LASTSAVE.
    pub last_save_ms: u64,
    /// 40 hex digits, different at every start (INFO's `run_id`).
    pub run_id: String,
    /// The commands that were slow (SLOWLOG).
    pub slowlog: crate::slowlog::SlowLog,
    /// Clients CLIENT KILL closed, by id, until their sessions have closed
    /// them (see [`kills`]).
    pub killed: alloc::collections::BTreeSet<u64>,
    /// What waits for the clients in MONITOR.
    pub monitors: crate::monitor::Monitors,
    /// CLIENT PAUSE's, while it holds.
    pub pause: crate::pause::Pause,
    /// Failed authentications (ACL LOG).
    pub acl_log: crate::acl::AclLog,
}

/// See [`kills`].
static KILLS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// CLIENT KILLs so far, on every server: a session looks at
/// [`Server::killed`] (under the lock) only when this moved since it last
/// did, not every round.
pub fn kills() -> u64 {
    KILLS.load(core::sync::atomic::Ordering::Acquire)
}

/// Notes that a CLIENT KILL marked clients in [`Server::killed`].
pub(crate) fn note_kill() {
    KILLS.fetch_add(1, core::sync::atomic::Ordering::AcqRel);
}

/// SCAN cursors kept: a scan whose cursor has been pushed out by this many
/// newer ones gets `ERR invalid cursor`. Each holds a key (at most 1 KiB),
/// so the table is bounded by 4 MiB.
pub const MAX_CURSORS: usize = 4096;

/// The server's lock, as its owner keeps it.
pub type ServerCell = spin::Mutex<Server>;

impl Server {
    /// A fresh server started at `now_ms`. Its cursor numbers start from
    /// `now_ms * 1_000_000`, so that a cursor handed out before a reboot
    /// is not mistaken for one of this run (it gets `ERR invalid cursor`).
    pub fn new(config: Config, now_ms: u64) -> Server {
        let mut rng = lsm::random::Rng::new(now_ms);
        let mut run_id = String::new();
        for _ in 0..5 {
            // 5 x 8 hex digits.
            let _ = write!(run_id, "{:08x}", rng.next_u64() as u32);
        }
        Server {
            config,
            started_ms: now_ms,
            last_save_ms: now_ms,
            last_cursor: now_ms.saturating_mul(1_000_000),
            run_id,
            ..Server::default()
        }
    }

    /// A new SCAN cursor that goes on from `next`; the oldest cursor goes
    /// when [`MAX_CURSORS`] are kept.
    pub fn new_cursor(&mut self, next: Vec<u8>) -> u64 {
        self.last_cursor = self.last_cursor.wrapping_add(1).max(1);
        while self.cursors.len() >= MAX_CURSORS {
            self.cursors.pop_first();
        }
        self.cursors.insert(self.last_cursor, next);
        self.last_cursor
    }

    /// Where the SCAN cursor `n` goes on from, if it is still kept.
    pub fn cursor(&self, n: u64) -> Option<&[u8]> {
        self.cursors.get(&n).map(Vec::as_slice)
    }

    /// Records (or updates) `client` in the client list.
    pub fn register(&mut self, client: &Client) {
        match self.clients.get_mut(&client.id) {
            Some(info) => info.update(client),
            None => {
                self.clients.insert(client.id, ClientInfo::of(client));
            }
        }
    }

    /// Forgets a client that went away, and what it watched.
    pub fn unregister(&mut self, client: &mut Client) {
        self.unwatch_all(client);
        self.clients.remove(&client.id);
        self.killed.remove(&client.id);
        self.monitors.remove(client.id);
    }

    /// The version of `key` now, counting `client` as watching it.
    pub fn watch(&mut self, key: &[u8]) -> u64 {
        let e = self.watched.entry(key.to_vec()).or_insert((0, 0));
        e.0 += 1;
        e.1
    }

    /// Stops `client` watching anything.
    pub fn unwatch_all(&mut self, client: &mut Client) {
        for Watched { key, .. } in client.watched.drain(..) {
            if let Some(e) = self.watched.get_mut(&key) {
                e.0 -= 1;
                if e.0 == 0 {
                    self.watched.remove(&key);
                }
            }
        }
    }

    /// Notes that `key` changed: transactions watching it will abort.
    pub fn touch(&mut self, key: &[u8]) {
        if let Some(e) = self.watched.get_mut(key) {
            e.1 += 1;
        }
    }

    /// Whether no key `client` watches has been written since it was
    /// watched (expiry is the caller's to check: [`Watched::live`]).
    pub fn watched_unchanged(&self, client: &Client) -> bool {
        client
            .watched
            .iter()
            .all(|w| self.watched.get(&w.key).is_some_and(|e| e.1 == w.version))
    }
}

/// A name for logs and CLIENT LIST's `addr=`.
pub fn addr(caller: Caller) -> String {
    match caller {
        Caller::Console => String::from("console"),
        Caller::Network { addr, port } => {
            alloc::format!("{}.{}.{}.{}:{}", addr[0], addr[1], addr[2], addr[3], port)
        }
    }
}
