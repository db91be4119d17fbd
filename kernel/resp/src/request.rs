//! The server side of the wire: a connection's bytes in, commands out, as
//! Redis 7.0's `processInputBuffer` reads them (networking.c), quirks
//! included, so redis-cli, redis-benchmark and client libraries see the same
//! server.
//!
//! A request whose first byte is `*` is a multibulk (`*N\r\n` then `N` times
//! `$len\r\n<len bytes>\r\n`); anything else is an inline line, split by
//! [`crate::text::split_args`]. Redis's rules kept here:
//!
//! * a header line ends at its first `\r` and the byte after it, whatever
//!   that byte is; the two bytes after a bulk are skipped unread;
//! * an inline line ends at `\n`, one `\r` before it dropped;
//! * a NUL byte before the end of a line hides that end (Redis looks for it
//!   with `strchr`), so such a request waits until it is too big;
//! * an empty inline line and a `*` count of 0 or less are skipped;
//! * a header or inline line is refused as too big only while no end has
//!   been seen in everything received, so a longer line that arrives with
//!   its end in the same read still passes, as in Redis.
//!
//! The parser buffers only the unfinished line of a header or inline
//! request (at most `inline_max_size` plus the last read). A bulk's bytes go
//! straight from the caller's buffer into the argument's own allocation,
//! reserved once from its header, so each byte of a value is copied once and
//! a 16 MiB value in 1 KiB reads costs no rescanning.
//!
//! This module owns the state machine, which reads any request however it
//! is cut; the child module `fast` owns the one-pass path taken first when
//! a whole well-formed multibulk request is already in the input.

use alloc::vec::Vec;

use crate::error::ProtocolError;
use crate::text::{split_args, string2ll};

mod fast;

/// Redis's `PROTO_INLINE_MAX_SIZE`: the longest inline line or header
/// that may stay unfinished.
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;
/// Redis's default `proto-max-bulk-len`: 512 MiB.
pub const PROTO_MAX_BULK_LEN: u64 = 512 * 1024 * 1024;
/// Redis 7.0's bound on a `*` count (`INT_MAX`; 6.x and earlier had
/// 1024 * 1024).
pub const MAX_MULTIBULK_LEN: u64 = i32::MAX as u64;

/// Before authentication Redis refuses counts above 10 and bulks above
/// 16384 bytes, so an anonymous peer cannot make it reserve much.
const UNAUTH_MAX_MULTIBULK_LEN: i64 = 10;
const UNAUTH_MAX_BULK_LEN: i64 = 16384;
/// The argument vector starts with room for at most this many arguments
/// and grows as they arrive (Redis starts at 1024), so a large count alone
/// reserves little.
const FIRST_ARGV_CAPACITY: usize = 16;
/// Room a bulk gets from its header: about what one read brings (a TCP
/// segment's worth and more); the rest grows as its bytes arrive.
const FIRST_BULK_CAPACITY: usize = 64 << 10;
/// Room for an unfinished line kept between lines; a longer line's buffer
/// is freed once it is read.
const KEPT_LINE_CAPACITY: usize = 1024;
/// Arguments given back ([`RequestParser::recycle`]) that are kept for the
/// next requests, and the largest kept: a connection holds a few small
/// buffers, never a large value's.
const SPARE_ARGS: usize = 16;
const SPARE_ARG_CAPACITY: usize = 4096;

/// The bounds a request must keep, under Redis's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `proto-max-bulk-len`: the longest argument, checked on its header
    /// before any of its bytes is buffered. Unlike Redis, a header within
    /// it does not reserve the whole length at once: the room grows with
    /// the bytes that arrive (see [`RequestParser::held_bytes`]).
    pub proto_max_bulk_len: u64,
    /// The largest `*` count; Redis 7.0's `INT_MAX` bounds it whatever is
    /// set.
    pub max_multibulk_len: u64,
    /// `PROTO_INLINE_MAX_SIZE`: how many bytes of an inline line or a
    /// header may wait for its end.
    pub inline_max_size: usize,
}

impl Limits {
    /// Redis 7.0's defaults.
    pub const REDIS: Limits = Limits {
        proto_max_bulk_len: PROTO_MAX_BULK_LEN,
        max_multibulk_len: MAX_MULTIBULK_LEN,
        inline_max_size: PROTO_INLINE_MAX_SIZE,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::REDIS
    }
}

/// A command's arguments, the name first, each in its own allocation.
pub type Argv = Vec<Vec<u8>>;

/// What [`RequestParser::parse`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A complete command, ending `consumed` bytes into the input; the
    /// rest of the input is the next call's.
    Command {
        /// The arguments; never empty.
        argv: Argv,
        /// Bytes of the input read, counted from its start.
        consumed: usize,
    },
    /// All of the input was read (kept or skipped) and no command is
    /// complete yet: call again with the next bytes received.
    NeedMore,
}

/// Which line the parser is waiting for the end of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Inline,
    Count,
    BulkHeader,
}

impl LineKind {
    fn too_big(self) -> ProtocolError {
        match self {
            LineKind::Inline => ProtocolError::TooBigInline,
            LineKind::Count => ProtocolError::TooBigMultibulkCount,
            LineKind::BulkHeader => ProtocolError::TooBigBulkCount,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between requests: the next byte tells which kind comes.
    Idle,
    /// Reading a line; `pending` holds what came of it in earlier reads.
    Line(LineKind),
    /// A NUL came before the line's end, which Redis will then never see:
    /// only counting the bytes waiting until they are too many remains.
    Hidden { kind: LineKind, waiting: usize },
    /// Reading a bulk's bytes into `arg`, then `trailer` bytes to skip.
    Bulk { len: usize, trailer: usize },
    /// A protocol error was found; the connection is to be closed.
    Failed(ProtocolError),
}

/// Where the current line is, once its end is known.
enum Line {
    /// In `input[..end]`, nothing pending; the line's end takes
    /// `input[..consumed]`.
    InInput { end: usize, consumed: usize },
    /// In `pending`, completed by `input[..consumed]`.
    InPending { consumed: usize },
    /// Not complete: all of the input was kept or counted.
    Incomplete,
}

/// Reads one connection's request stream, incrementally. Feed it each
/// read's bytes; it returns commands as they complete.
///
/// ```
/// use resp::{Parsed, RequestParser};
/// let mut parser = RequestParser::default();
/// let mut input: &[u8] = b"PING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk";
/// let mut commands = Vec::new();
/// while let Parsed::Command { argv, consumed } = parser.parse(input).unwrap() {
///     commands.push(argv);
///     input = &input[consumed..];
/// }
/// assert_eq!(commands, [vec![b"PING".to_vec()]]);
/// assert_eq!(
///     parser.parse(b"\r\n").unwrap(),
///     Parsed::Command { argv: vec![b"GET".to_vec(), b"k".to_vec()], consumed: 2 }
/// );
/// ```
#[derive(Debug, Clone)]
pub struct RequestParser {
    limits: Limits,
    auth_required: bool,
    state: State,
    /// The unfinished line of a header or inline request; for a header,
    /// it may end with the `\r` whose following byte has not come yet.
    pending: Vec<u8>,
    /// The arguments of the multibulk being read.
    argv: Argv,
    /// Arguments of the multibulk still to come (the current one included).
    left: u64,
    /// The bulk being read.
    arg: Vec<u8>,
    /// Bytes the finished arguments of the multibulk being read hold.
    held: usize,
    /// Bytes of them the client sent.
    received: usize,
    /// Emptied argument buffers of earlier requests, for the next ones.
    spare: Vec<Vec<u8>>,
    /// An emptied argument vector of an earlier request.
    spare_argv: Vec<Vec<u8>>,
}

impl Default for RequestParser {
    fn default() -> Self {
        RequestParser::new(Limits::REDIS)
    }
}

impl RequestParser {
    /// A parser for a new connection.
    pub fn new(limits: Limits) -> Self {
        RequestParser {
            limits,
            auth_required: false,
            state: State::Idle,
            pending: Vec::new(),
            argv: Vec::new(),
            left: 0,
            arg: Vec::new(),
            held: 0,
            received: 0,
            spare: Vec::new(),
            spare_argv: Vec::new(),
        }
    }

    /// Gives back a command's arguments once it has run: their buffers
    /// (the small ones, a few) hold the next requests' arguments, so that a
    /// connection's steady stream of commands allocates little. Inlined:
    /// every command comes here, and under TCG each return is a lookup of
    /// its target.
    #[inline(always)]
    pub fn recycle(&mut self, mut argv: Argv) {
        // Last argument first, so that the next request's first argument
        // gets this one's first buffer (commands alike, buffers alike).
        for arg in argv.drain(..).rev() {
            self.recycle_arg(arg);
        }
        if argv.capacity() <= SPARE_ARGS && argv.capacity() > self.spare_argv.capacity() {
            self.spare_argv = argv;
        }
    }

    /// Gives back one argument's buffer, as [`RequestParser::recycle`]
    /// does; the next request's first argument takes the last one given.
    pub fn recycle_arg(&mut self, mut arg: Vec<u8>) {
        if self.spare.len() < SPARE_ARGS && arg.capacity() <= SPARE_ARG_CAPACITY {
            arg.clear();
            self.spare.push(arg);
        }
    }

    /// Whether the client must still authenticate: while it must, counts
    /// over 10 and bulks over 16384 bytes are refused, as Redis does when a
    /// password is set.
    pub fn set_auth_required(&mut self, required: bool) {
        self.auth_required = required;
    }

    /// Changes `proto-max-bulk-len` (CONFIG SET): from the next header on,
    /// as Redis applies it to every connection at once.
    pub fn set_proto_max_bulk_len(&mut self, len: u64) {
        self.limits.proto_max_bulk_len = len;
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The error found earlier, if any: every later call returns it again.
    pub fn error(&self) -> Option<ProtocolError> {
        match self.state {
            State::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Whether nothing of a request is pending: the stream is between
    /// commands.
    pub fn is_idle(&self) -> bool {
        self.state == State::Idle
    }

    /// The heap the unfinished request holds: its finished arguments, the
    /// one being read, the unfinished line, and the argument vector. Its
    /// owner bounds it (with the replies owed) so that clients that send
    /// large requests slowly, or never finish them, cannot take the
    /// memory everything else needs.
    pub fn held_bytes(&self) -> usize {
        self.held
            + self.arg.capacity()
            + self.pending.capacity()
            + self.argv.capacity() * core::mem::size_of::<Vec<u8>>()
    }

    /// The bytes of the unfinished request received so far (its arguments
    /// and its unfinished line): what Redis's `client-query-buffer-limit`
    /// bounds.
    pub fn request_bytes(&self) -> usize {
        self.received + self.arg.len() + self.pending.len()
    }

    /// Reads `input`, the bytes received after those already consumed,
    /// up to the end of the next complete command.
    ///
    /// On [`Parsed::Command`] the bytes after `consumed` are not read yet:
    /// pass them to the next call (pipelining). On [`Parsed::NeedMore`]
    /// everything was read. On an error, reply with
    /// [`ProtocolError::write_reply`] (after the replies of the commands
    /// before it) and close the connection; the parser stays failed.
    pub fn parse(&mut self, input: &[u8]) -> Result<Parsed, ProtocolError> {
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            match self.state {
                State::Failed(e) => return Err(e),
                State::Idle => match rest.first() {
                    None => return Ok(Parsed::NeedMore),
                    Some(b'*') => {
                        if let Some((argv, used)) = self.parse_whole(rest) {
                            return Ok(Parsed::Command {
                                argv,
                                consumed: pos + used,
                            });
                        }
                        self.state = State::Line(LineKind::Count)
                    }
                    Some(_) => self.state = State::Line(LineKind::Inline),
                },
                State::Hidden { kind, waiting } => {
                    let waiting = waiting.saturating_add(rest.len());
                    self.state = State::Hidden { kind, waiting };
                    if waiting > self.limits.inline_max_size {
                        return Err(self.fail(kind.too_big()));
                    }
                    return Ok(Parsed::NeedMore);
                }
                State::Line(kind) => {
                    let line = match self.find_line(rest, kind) {
                        Ok(line) => line,
                        Err(e) => return Err(self.fail(e)),
                    };
                    let (range, consumed) = match line {
                        Line::Incomplete => return Ok(Parsed::NeedMore),
                        Line::InInput { end, consumed } => (Some(end), consumed),
                        Line::InPending { consumed } => (None, consumed),
                    };
                    pos += consumed;
                    let pending = core::mem::take(&mut self.pending);
                    let text = match range {
                        Some(end) => &rest[..end],
                        None => &pending[..],
                    };
                    let done = self.end_line(kind, text);
                    // A long line's room is not kept for the whole connection.
                    if pending.capacity() <= KEPT_LINE_CAPACITY {
                        self.pending = pending;
                        self.pending.clear();
                    }
                    match done {
                        Err(e) => return Err(self.fail(e)),
                        Ok(Some(argv)) => {
                            return Ok(Parsed::Command {
                                argv,
                                consumed: pos,
                            })
                        }
                        Ok(None) => {}
                    }
                }
                State::Bulk { len, trailer } => {
                    let take = rest.len().min(len - self.arg.len());
                    if let Err(e) = self.grow_arg(len, take) {
                        return Err(self.fail(e));
                    }
                    self.arg.extend_from_slice(&rest[..take]);
                    let skip = (rest.len() - take).min(trailer);
                    pos += take + skip;
                    let trailer = trailer - skip;
                    if self.arg.len() < len || trailer > 0 {
                        self.state = State::Bulk { len, trailer };
                        return Ok(Parsed::NeedMore);
                    }
                    if let Some(argv) = self.end_bulk() {
                        return Ok(Parsed::Command {
                            argv,
                            consumed: pos,
                        });
                    }
                }
            }
        }
    }

    fn fail(&mut self, error: ProtocolError) -> ProtocolError {
        self.state = State::Failed(error);
        // Nothing of the broken request is needed any more.
        self.pending = Vec::new();
        self.argv = Vec::new();
        self.arg = Vec::new();
        self.held = 0;
        self.received = 0;
        error
    }

    /// Makes room in the bulk being read (`len` bytes long) for `take`
    /// bytes more: room for what has come, not what the header announced
    /// (a header costs its sender a few bytes, the room it would reserve
    /// up to `proto_max_bulk_len`), doubling so that a large bulk is
    /// copied a few times, not once per read.
    fn grow_arg(&mut self, len: usize, take: usize) -> Result<(), ProtocolError> {
        let needed = self.arg.len() + take;
        if needed <= self.arg.capacity() {
            return Ok(());
        }
        let target = (self.arg.capacity() * 2).max(needed).min(len);
        self.arg
            .try_reserve_exact(target - self.arg.len())
            .map_err(|_| ProtocolError::OutOfMemory)
    }

    /// Appends to the unfinished line, growing its buffer by doubling but
    /// not past `inline_max_size` unless the line itself is longer.
    fn keep(&mut self, bytes: &[u8]) {
        let needed = self.pending.len() + bytes.len();
        if needed > self.pending.capacity() {
            let cap = self.limits.inline_max_size.max(needed);
            let target = (self.pending.capacity() * 2).clamp(needed, cap);
            self.pending.reserve_exact(target - self.pending.len());
        }
        self.pending.extend_from_slice(bytes);
    }

    /// Looks for the end of the current line in `input`, keeping what
    /// comes before it if it is not there.
    fn find_line(&mut self, input: &[u8], kind: LineKind) -> Result<Line, ProtocolError> {
        if kind != LineKind::Inline && self.pending.last() == Some(&b'\r') {
            // A header's `\r` came last in an earlier read: any one byte
            // completes it.
            if input.is_empty() {
                return Ok(Line::Incomplete);
            }
            self.pending.pop();
            return Ok(Line::InPending { consumed: 1 });
        }
        let end_byte = if kind == LineKind::Inline {
            b'\n'
        } else {
            b'\r'
        };
        // Earlier reads of this line are in `pending` and hold neither an
        // end nor a NUL, so only the new bytes are searched.
        let found = input.iter().position(|&b| b == end_byte || b == 0);
        let waiting = self.pending.len().saturating_add(input.len());
        match found {
            Some(at) if input[at] == end_byte => {
                // A header needs the byte after its `\r` too.
                let consumed = if kind == LineKind::Inline {
                    at + 1
                } else {
                    at + 2
                };
                if consumed > input.len() {
                    self.keep(input);
                    return Ok(Line::Incomplete);
                }
                if self.pending.is_empty() {
                    return Ok(Line::InInput { end: at, consumed });
                }
                self.keep(&input[..at]);
                Ok(Line::InPending { consumed })
            }
            Some(_) => {
                self.pending.clear();
                self.state = State::Hidden { kind, waiting };
                if waiting > self.limits.inline_max_size {
                    return Err(kind.too_big());
                }
                Ok(Line::Incomplete)
            }
            None => {
                if waiting > self.limits.inline_max_size {
                    return Err(kind.too_big());
                }
                self.keep(input);
                Ok(Line::Incomplete)
            }
        }
    }

    /// Acts on a complete line; returns a command if it completes one.
    fn end_line(&mut self, kind: LineKind, line: &[u8]) -> Result<Option<Argv>, ProtocolError> {
        match kind {
            LineKind::Inline => {
                let line = match line.split_last() {
                    Some((b'\r', before)) => before,
                    _ => line,
                };
                let argv = split_args(line).ok_or(ProtocolError::UnbalancedQuotes)?;
                self.state = State::Idle;
                Ok((!argv.is_empty()).then_some(argv))
            }
            LineKind::Count => {
                let count = line
                    .get(1..)
                    .and_then(string2ll)
                    .filter(|&n| {
                        n < 0 || n as u64 <= self.limits.max_multibulk_len.min(i32::MAX as u64)
                    })
                    .ok_or(ProtocolError::InvalidMultibulkLength)?;
                if count > UNAUTH_MAX_MULTIBULK_LEN && self.auth_required {
                    return Err(ProtocolError::UnauthenticatedMultibulkLength);
                }
                if count <= 0 {
                    self.state = State::Idle;
                    return Ok(None);
                }
                self.left = count as u64;
                self.argv = Vec::new();
                self.argv
                    .try_reserve_exact((count as usize).min(FIRST_ARGV_CAPACITY))
                    .map_err(|_| ProtocolError::OutOfMemory)?;
                self.state = State::Line(LineKind::BulkHeader);
                Ok(None)
            }
            LineKind::BulkHeader => {
                // An empty line means the `\r` itself stood where `$` should.
                let first = line.first().copied().unwrap_or(b'\r');
                if first != b'$' {
                    return Err(ProtocolError::ExpectedDollar(first));
                }
                let len = string2ll(&line[1..])
                    .filter(|&n| n >= 0 && n as u64 <= self.limits.proto_max_bulk_len)
                    .ok_or(ProtocolError::InvalidBulkLength)?;
                if len > UNAUTH_MAX_BULK_LEN && self.auth_required {
                    return Err(ProtocolError::UnauthenticatedBulkLength);
                }
                let len = usize::try_from(len).map_err(|_| ProtocolError::OutOfMemory)?;
                self.arg = Vec::new();
                // Room for what a read brings at most; the rest as it comes.
                self.arg
                    .try_reserve_exact(len.min(FIRST_BULK_CAPACITY))
                    .map_err(|_| ProtocolError::OutOfMemory)?;
                if self.argv.len() == self.argv.capacity() {
                    // Double, but never past the count announced.
                    let more = self.argv.len().max(1).min(self.left as usize);
                    self.argv
                        .try_reserve_exact(more)
                        .map_err(|_| ProtocolError::OutOfMemory)?;
                }
                self.state = State::Bulk { len, trailer: 2 };
                Ok(None)
            }
        }
    }

    /// Files the bulk just read; returns the command if it was the last.
    fn end_bulk(&mut self) -> Option<Argv> {
        self.held += self.arg.capacity();
        self.received += self.arg.len();
        self.argv.push(core::mem::take(&mut self.arg));
        self.left -= 1;
        if self.left > 0 {
            self.state = State::Line(LineKind::BulkHeader);
            return None;
        }
        self.state = State::Idle;
        self.held = 0;
        self.received = 0;
        Some(core::mem::take(&mut self.argv))
    }
}
