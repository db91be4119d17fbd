//! What CLIENT LIST and CLIENT INFO show of a client: its row in the
//! server's client list ([`ClientInfo`], brought up to date by its session
//! once per read), what its session's socket and buffers hold
//! ([`Buffers`]), and the line, in Redis 7.2's fields and order.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use crate::ctx::Ctx;
use crate::state::{addr, Caller, Client, Protocol, REPLY_BUFFER};

/// What a session's socket and buffers hold for its client, as the
/// session last said (when a read began, and when it was done). The
/// console's are [`Buffers::NONE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buffers {
    /// Its socket's number among the session's sockets, a small integer
    /// reused once the socket is closed, as a file descriptor is
    /// (Redis's `fd`); -1 for none.
    pub fd: i64,
    /// Bytes of requests received and not done with (`qbuf`): while a
    /// read's commands run, that read's and an unfinished request's before
    /// it; between reads, the unfinished request's.
    pub query: u64,
    /// Room the buffers that keep unfinished requests have beyond `query`
    /// (`qbuf-free`).
    pub query_free: u64,
    /// Bytes of replies not sent yet.
    pub unsent: u64,
    /// The output buffer's size (`rbs`).
    pub out_size: u64,
    /// The most it held unsent, over the connection's life (`rbp`).
    pub out_peak: u64,
}

impl Buffers {
    /// No socket, nothing held.
    pub const NONE: Buffers = Buffers {
        fd: -1,
        query: 0,
        query_free: 0,
        unsent: 0,
        out_size: 0,
        out_peak: 0,
    };
}

/// A connected client as `CLIENT LIST` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    /// Its id.
    pub id: u64,
    /// Where it is.
    pub caller: Caller,
    /// Its name.
    pub name: Option<Vec<u8>>,
    /// Its library.
    pub lib_name: Option<Vec<u8>>,
    /// The library's version.
    pub lib_ver: Option<Vec<u8>>,
    /// Its protocol.
    pub protocol: Protocol,
    /// When it connected.
    pub since_ms: u64,
    /// When its last command ran.
    pub last_ms: u64,
    /// Its last command.
    pub last_command: &'static str,
    /// The container and subcommand of the last container command.
    pub last_sub: Option<(&'static str, &'static str)>,
    /// Commands queued in a transaction (-1: none).
    pub multi: i64,
    /// What the queued commands hold (Redis's `multi-mem`).
    pub multi_mem: u64,
    /// Whether it has authenticated.
    pub authenticated: bool,
    /// In MONITOR.
    pub monitor: bool,
    /// Waiting for CLIENT PAUSE to end.
    pub postponed: bool,
    /// Its session's socket and buffers.
    pub buffers: Buffers,
}

/// Its transaction: commands queued (-1: none), and their bytes (kept as
/// they are queued: a read must not walk a queue of a million).
fn multi_of(client: &Client) -> (i64, u64) {
    client
        .multi
        .as_ref()
        .map_or((-1, 0), |m| (m.queued.len() as i64, m.queued_bytes as u64))
}

impl ClientInfo {
    /// Brings the entry up to date with `client`, in place: sessions call
    /// this once per read, and the names rarely change.
    pub fn update(&mut self, client: &Client) {
        // Every field named, so that a new one cannot be forgotten here.
        let ClientInfo {
            id: _,
            caller,
            name,
            lib_name,
            lib_ver,
            protocol,
            since_ms,
            last_ms,
            last_command,
            last_sub,
            multi,
            multi_mem,
            authenticated,
            monitor,
            postponed,
            buffers,
        } = self;
        for (mine, theirs) in [
            (name, &client.name),
            (lib_name, &client.lib_name),
            (lib_ver, &client.lib_ver),
        ] {
            if mine != theirs {
                mine.clone_from(theirs);
            }
        }
        *caller = client.caller;
        *protocol = client.protocol;
        *since_ms = client.since_ms;
        *last_ms = client.last_ms;
        *last_command = client.last_command;
        *last_sub = client.last_sub;
        (*multi, *multi_mem) = multi_of(client);
        *authenticated = client.authenticated;
        *monitor = client.monitor;
        *postponed = client.postponed;
        *buffers = client.buffers;
    }

    /// `client` as the client list shows it.
    pub fn of(client: &Client) -> ClientInfo {
        let (multi, multi_mem) = multi_of(client);
        ClientInfo {
            id: client.id,
            caller: client.caller,
            name: client.name.clone(),
            lib_name: client.lib_name.clone(),
            lib_ver: client.lib_ver.clone(),
            protocol: client.protocol,
            since_ms: client.since_ms,
            last_ms: client.last_ms,
            last_command: client.last_command,
            last_sub: client.last_sub,
            multi,
            multi_mem,
            authenticated: client.authenticated,
            monitor: client.monitor,
            postponed: client.postponed,
            buffers: client.buffers,
        }
    }

    /// Its last command as Redis 7 names it: `get`, `client|list`.
    fn command(&self) -> String {
        match (self.last_command, self.last_sub) {
            ("NULL", _) => String::from("NULL"),
            (name, Some((container, sub))) if name == container => {
                format!("{}|{}", name, sub).to_ascii_lowercase()
            }
            (name, _) => name.to_ascii_lowercase(),
        }
    }
}

/// One client as CLIENT LIST shows it, in Redis 7.2's fields and order:
/// those of pub/sub, tracking and databases other than 0 as a client that
/// uses none has them; `argv_mem`, the bytes of the arguments of the
/// command it runs (the one asking; the others run none as far as it can
/// see).
pub(crate) fn line(ctx: &Ctx<'_>, c: &ClientInfo, argv_mem: u64) -> String {
    let now = ctx.now_ms();
    let mut line = format!("id={} addr={} laddr=", c.id, addr(c.caller));
    if let (Caller::Network { .. }, Some((ip, port))) = (c.caller, ctx.host.listen_addr()) {
        line.push_str(&addr(Caller::Network { addr: ip, port }));
    }
    let name = c.name.as_deref().map(String::from_utf8_lossy);
    // Redis's letters for what unikv has, in its order: O a monitor, x in
    // MULTI, b waiting (for CLIENT PAUSE to end).
    let mut flags = String::new();
    for (set, letter) in [(c.monitor, 'O'), (c.multi >= 0, 'x'), (c.postponed, 'b')] {
        if set {
            flags.push(letter);
        }
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let resp = match c.protocol {
        Protocol::Resp2 => 2,
        Protocol::Resp3 => 3,
    };
    fn lib(v: &Option<Vec<u8>>) -> String {
        v.as_deref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }
    let b = &c.buffers;
    let obl = b.unsent.min(REPLY_BUFFER);
    let omem = b.unsent - obl;
    let tot_mem = core::mem::size_of::<Client>() as u64
        + b.query
        + b.query_free
        + argv_mem
        + c.multi_mem
        + b.out_size.max(b.unsent);
    let _ = write!(
        line,
        " fd={} name={} age={} idle={} flags={flags} db=0 sub=0 psub=0 ssub=0 multi={} \
         qbuf={} qbuf-free={} argv-mem={argv_mem} multi-mem={} rbs={} rbp={} obl={obl} \
         oll={} omem={omem} tot-mem={tot_mem} events={} cmd={} user=default redir=-1 \
         resp={resp} lib-name={} lib-ver={}",
        b.fd,
        name.unwrap_or_default(),
        now.saturating_sub(c.since_ms) / 1000,
        now.saturating_sub(c.last_ms) / 1000,
        c.multi,
        b.query,
        b.query_free,
        c.multi_mem,
        b.out_size,
        b.out_peak,
        omem.div_ceil(REPLY_BUFFER),
        if b.unsent > 0 { "rw" } else { "r" },
        c.command(),
        lib(&c.lib_name),
        lib(&c.lib_ver),
    );
    line
}
