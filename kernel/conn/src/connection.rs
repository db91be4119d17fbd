//! [`Connection`]: one client speaking Redis's protocol.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use cmd::{Caller, Client, Ctx, Host, Protocol as ClientProtocol, Reply, ServerCell, Sink};
use kv::{StoreCell, Ticket};
use resp::{Limits, Parsed, Protocol, RequestParser};

use crate::outbox::Outbox;

/// What a connection's commands work with: the store, the state every
/// session shares, the kernel.
pub struct Env<'a> {
    /// The store service.
    pub store: &'a StoreCell,
    /// Configuration, clients, statistics.
    pub server: &'a ServerCell,
    /// The kernel.
    pub host: &'a dyn Host,
    /// `host`'s clock, asked once for all the commands of a poll.
    pub clock: kv::Clock,
}

/// Redis's reply to a connection over `maxclients`, before it is closed.
pub const MAX_CLIENTS_REPLY: &[u8] = b"-ERR max number of clients reached\r\n";

/// Sent output is compacted away once this much of the buffer is behind it.
const COMPACT_AFTER: usize = 64 << 10;

/// One client's connection: bytes in, replies out. The owner moves the
/// bytes (`input`, then `output`/`sent`), calls [`Connection::release`]
/// after each group commit, and closes the socket when
/// [`Connection::wants_close`] says so.
pub struct Connection {
    parser: RequestParser,
    client: Client,
    outbox: Outbox,
    /// Replies ready to send; `out[sent..]` has not gone yet.
    out: Vec<u8>,
    sent: usize,
    /// Close once everything is sent (QUIT, a protocol error).
    closing: bool,
    /// Close now: the client let its unread replies grow past the limit.
    dropped: bool,
    /// Commands read but not run, in order: the first waits for CLIENT
    /// PAUSE to end, the others came after it (Redis reads nothing more of
    /// a paused client; their bytes count as its query buffer).
    held: VecDeque<Vec<Vec<u8>>>,
    /// Their arguments' bytes.
    held_bytes: usize,
    /// The time of day as of the read (or resume) under way, in Unix
    /// milliseconds: what a pause is measured against.
    now_ms: u64,
}

/// An argument vector's bytes.
fn argv_bytes(argv: &[Vec<u8>]) -> usize {
    argv.iter().map(Vec::len).sum()
}

/// A network session's sink: it has nowhere to print progress and no
/// Ctrl-C; its commands reply, that is all.
struct Quiet;

impl Sink for Quiet {
    fn progress(&mut self, _line: &str) {}
    fn raw(&mut self, _line: &[u8]) {}
    fn interrupted(&mut self) -> bool {
        false
    }
    fn reply_now(&mut self, _reply: &Reply) {}
}

fn protocol(p: ClientProtocol) -> Protocol {
    match p {
        ClientProtocol::Resp2 => Protocol::Resp2,
        ClientProtocol::Resp3 => Protocol::Resp3,
    }
}

impl Connection {
    /// A connection from `caller`, registered with the server.
    pub fn new(env: &Env<'_>, caller: Caller) -> Connection {
        let now = env.clock.wall_ms();
        let mut server = env.server.lock();
        let client = Client::new(&mut server, caller, now);
        server.register(&client);
        server.stats.connections_received += 1;
        let mut parser = RequestParser::new(Limits {
            proto_max_bulk_len: server.config.proto_max_bulk_len,
            ..Limits::REDIS
        });
        parser.set_auth_required(!client.authenticated);
        Connection {
            parser,
            client,
            outbox: Outbox::new(),
            out: Vec::new(),
            sent: 0,
            closing: false,
            dropped: false,
            held: VecDeque::new(),
            held_bytes: 0,
            now_ms: now,
        }
    }

    /// Its client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Takes bytes the client sent: runs every complete command in them.
    /// Input after QUIT or a protocol error is ignored.
    pub fn input(&mut self, env: &Env<'_>, bytes: &[u8]) {
        let (limit, query_limit, bulk_limit) = {
            let config = &env.server.lock().config;
            (
                config.client_output_buffer_limit,
                config.client_query_buffer_limit,
                config.proto_max_bulk_len,
            )
        };
        // CONFIG SET proto-max-bulk-len holds for every connection at once.
        if self.parser.limits().proto_max_bulk_len != bulk_limit {
            self.parser.set_proto_max_bulk_len(bulk_limit);
        }
        self.client.last_ms = env.clock.wall_ms();
        self.now_ms = self.client.last_ms;
        self.note_buffers(Some(bytes.len()));
        let mut rest = bytes;
        while !rest.is_empty() && !self.closing && !self.dropped {
            match self.parser.parse(rest) {
                Ok(Parsed::Command { argv, consumed }) => {
                    rest = &rest[consumed..];
                    if self.held.is_empty() {
                        if let Err(argv) = self.command(env, argv) {
                            self.hold(argv);
                        }
                    } else {
                        self.hold(argv);
                    }
                    // Redis's client-output-buffer-limit, checked after
                    // every command: a client that does not read is
                    // dropped, not the server's memory.
                    self.drop_past_output_limit(limit);
                }
                Ok(Parsed::NeedMore) => {
                    // Redis's client-query-buffer-limit: a request that
                    // holds more unparsed than this closes the client
                    // (Redis sends nothing either).
                    if (self.parser.request_bytes() + self.held_bytes) as u64 > query_limit {
                        log::warn!(
                            "closing a client whose unfinished request passed client-query-buffer-limit ({query_limit} bytes)"
                        );
                        self.drop_client();
                    }
                    break;
                }
                Err(e) => {
                    let mut reply = Vec::new();
                    e.write_reply(&mut reply);
                    self.emit(reply);
                    self.closing = true;
                }
            }
        }
        if self.held_bytes as u64 > query_limit {
            log::warn!(
                "closing a paused client whose waiting commands passed client-query-buffer-limit ({query_limit} bytes)"
            );
            self.drop_client();
        }
        // Once per read, not per command: the other sessions see this
        // client as of its last read (its own commands see it as it is).
        self.client.postponed = !self.held.is_empty();
        self.note_buffers(None);
        env.server.lock().register(&self.client);
    }

    /// Keeps `argv` to run once CLIENT PAUSE ends, after those kept before.
    fn hold(&mut self, argv: Vec<Vec<u8>>) {
        self.held_bytes += argv_bytes(&argv);
        self.held.push_back(argv);
    }

    /// Runs the commands CLIENT PAUSE held, in order, as far as the pause
    /// lets them (its owner calls this every round: a pause ends by the
    /// clock or by CLIENT UNPAUSE from another session). Whether any ran.
    pub fn resume(&mut self, env: &Env<'_>) -> bool {
        if self.held.is_empty() || self.dropped {
            return false;
        }
        self.now_ms = env.clock.wall_ms();
        let limit = env.server.lock().config.client_output_buffer_limit;
        let mut ran = false;
        while let Some(argv) = self.held.pop_front() {
            if self.closing || self.dropped {
                break;
            }
            let n = argv_bytes(&argv);
            self.held_bytes -= n;
            if let Err(argv) = self.command(env, argv) {
                self.held_bytes += n;
                self.held.push_front(argv);
                break;
            }
            ran = true;
            self.drop_past_output_limit(limit);
        }
        if self.closing || self.dropped {
            // Nothing it sent after QUIT runs.
            self.held.clear();
            self.held_bytes = 0;
        }
        if ran || self.held.is_empty() {
            self.client.postponed = !self.held.is_empty();
            env.server.lock().register(&self.client);
        }
        ran
    }

    /// Tells the client what its buffers hold (CLIENT LIST's `qbuf`, `obl`
    /// ...), once when a read begins (`reading`: its bytes) and once when
    /// it is done (`None`). The replies owed are counted when a read
    /// begins: those of the read's own commands usually go out right
    /// after it, and the others see the client as of its last read, so
    /// what they see owed is what it left untaken until it sent more.
    fn note_buffers(&mut self, reading: Option<usize>) {
        let request = self.parser.request_bytes();
        let free = self.parser.held_bytes().saturating_sub(request);
        let unsent = self.unsent_bytes() as u64;
        let b = &mut self.client.buffers;
        b.query = (request + self.held_bytes + reading.unwrap_or(0)) as u64;
        b.query_free = free as u64;
        if reading.is_some() {
            b.unsent = unsent;
        }
        b.out_size = self.out.capacity() as u64;
        b.out_peak = b.out_peak.max(unsent);
    }

    /// Names the client's socket (CLIENT LIST's `fd`): the owner's number
    /// for it, a small integer reused once it is closed.
    pub fn set_fd(&mut self, env: &Env<'_>, fd: i64) {
        self.client.buffers.fd = fd;
        env.server.lock().register(&self.client);
    }

    /// Closes the connection as CLIENT KILL asks (another session's
    /// command): nothing more it sent is run; what it is owed is sent,
    /// then it closes.
    pub fn kill(&mut self) {
        self.closing = true;
    }

    /// Drops the client at once: its unsent replies go, and so will the
    /// socket (the owner sees [`Connection::wants_close`]).
    pub fn drop_client(&mut self) {
        self.dropped = true;
        self.out = Vec::new();
        self.sent = 0;
        self.outbox = Outbox::new();
        // Its unfinished request too: nothing it sent will run.
        self.parser = RequestParser::new(self.parser.limits());
        self.held = VecDeque::new();
        self.held_bytes = 0;
    }

    /// CLIENT REPLY SKIP's count, one a command, refused ones too (as
    /// Redis's commandProcessed counts), not one that waits for CLIENT
    /// PAUSE to end until it runs.
    fn count_skip(&mut self) {
        if self.client.reply_skip != 0 {
            self.client.reply_skip -= 1;
        }
    }

    /// Runs `argv`, or gives it back if it must wait for CLIENT PAUSE to
    /// end (looked up and checked first: a malformed command is answered
    /// at once, as Redis answers it).
    fn command(&mut self, env: &Env<'_>, mut argv: Vec<Vec<u8>>) -> Result<(), Vec<Vec<u8>>> {
        if argv.is_empty() {
            self.count_skip();
            self.reply(&Reply::error("empty command"), None);
            return Ok(());
        }
        // `remove` shifts the rest with a `memmove` call (~40 instructions
        // a GET, ~50 a SET); with one or two arguments left, `swap_remove`
        // (and a swap back into order) moves nothing else.
        let name = match argv.len() {
            0..=2 => argv.swap_remove(0),
            3 => {
                let name = argv.swap_remove(0);
                argv.swap(0, 1);
                name
            }
            _ => argv.remove(0),
        };
        let inv = match cmd::redis_invocation(env.server, &mut self.client, &name, argv) {
            Ok(inv) => inv,
            Err(refusal) => {
                self.count_skip();
                self.reply(&refusal, None);
                return Ok(());
            }
        };
        if cmd::postponed(env.server, &self.client, &inv, self.now_ms) {
            let mut argv = inv.args;
            argv.insert(0, name);
            return Err(argv);
        }
        self.count_skip();
        let mut quiet = Quiet;
        let mut ctx = Ctx::new(
            env.store,
            env.server,
            (env.host, env.clock),
            &mut quiet,
            &mut self.client,
        );
        let reply = cmd::run(&mut ctx, &inv);
        let gate = ctx.reply_gate();
        self.parser.recycle(inv.args);
        // Given back last, the name's buffer holds the next request's name:
        // every buffer then fits its next argument as it did its last.
        self.parser.recycle_arg(name);
        self.parser.set_auth_required(!self.client.authenticated);
        self.reply(&reply, gate);
        self.client.give_back(reply);
        if self.client.closing {
            self.closing = true;
        }
        Ok(())
    }

    fn reply(&mut self, reply: &Reply, gate: Option<Ticket>) {
        if self.client.reply_off || self.client.reply_skip > 0 {
            // CLIENT REPLY OFF or SKIP: a write still goes to the store
            // and its commit; only the reply is left out.
            return;
        }
        let proto = protocol(self.client.protocol);
        match gate {
            // Nothing held ahead of it: written straight into the output.
            None if self.outbox.is_empty() => resp::encode(reply, proto, &mut self.out),
            None => self.outbox.queue_with(|b| resp::encode(reply, proto, b)),
            Some(t) => self.outbox.hold_with(t, |b| resp::encode(reply, proto, b)),
        }
    }

    fn emit(&mut self, bytes: Vec<u8>) {
        let out = &mut self.out;
        self.outbox
            .emit(bytes, &mut |b| unaligned::extend_short(out, b));
    }

    /// Moves the replies whose group commit has happened to the output.
    pub fn release(&mut self, env: &Env<'_>) {
        let proto = protocol(self.client.protocol);
        let out = &mut self.out;
        self.outbox.release(
            env.store,
            &|e| resp::encoded(&Reply::error(e), proto),
            &mut |b| unaligned::extend_short(out, b),
        );
        // A monitor's lines go after its own replies, all of them out; a
        // monitor that stops reading meets the output limit as any client.
        // Under CLIENT REPLY OFF they are taken and left out, as Redis
        // leaves out everything written to such a client.
        if self.client.monitor && self.outbox.is_empty() {
            let (lines, limit) = {
                let mut server = env.server.lock();
                let lines = server.monitors.take(self.client.id);
                (lines, server.config.client_output_buffer_limit)
            };
            if !self.client.reply_off {
                self.out.extend_from_slice(&lines);
                self.drop_past_output_limit(limit);
            }
        }
    }

    /// Drops the client if what it left unread passes `limit`
    /// (`client-output-buffer-limit`, counted as [`cmd::past_output_limit`]
    /// counts it).
    fn drop_past_output_limit(&mut self, limit: u64) {
        if cmd::past_output_limit(self.unsent_bytes() as u64, limit) {
            self.drop_client();
        }
    }

    /// The bytes ready to send.
    pub fn output(&self) -> &[u8] {
        &self.out[self.sent..]
    }

    /// `n` bytes of [`Connection::output`] went out.
    pub fn sent(&mut self, n: usize) {
        self.sent = (self.sent + n).min(self.out.len());
        if self.sent == self.out.len() {
            self.out.clear();
            self.sent = 0;
        } else if self.sent >= COMPACT_AFTER && self.sent * 2 >= self.out.len() {
            self.out.drain(..self.sent);
            self.sent = 0;
        }
    }

    /// Replies not sent yet, held or ready.
    pub fn unsent_bytes(&self) -> usize {
        self.out.len() - self.sent + self.outbox.held_bytes()
    }

    /// The heap the connection holds for its client: the replies not sent
    /// yet and the unfinished request. What its owner bounds, across its
    /// connections, to keep clients from taking the memory the store needs.
    pub fn held_bytes(&self) -> usize {
        self.unsent_bytes() + self.parser.held_bytes() + self.held_bytes
    }

    /// Whether the owner should close the socket now: after QUIT or a
    /// protocol error once everything is sent, or at once for a client
    /// that stopped reading.
    pub fn wants_close(&self) -> bool {
        self.dropped || (self.closing && self.output().is_empty() && self.outbox.is_empty())
    }

    /// Whether it was dropped for not reading its replies.
    pub fn was_dropped(&self) -> bool {
        self.dropped
    }

    /// Milliseconds since it last sent something (or since it connected).
    pub fn idle_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.client.last_ms)
    }

    /// Forgets the connection: the client leaves the server's list and
    /// stops watching keys.
    pub fn close(mut self, env: &Env<'_>) {
        env.server.lock().unregister(&mut self.client);
    }
}
