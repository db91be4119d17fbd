//! The serial console session: UART bytes -> line editor -> `cmd`, replies
//! rendered redis-cli style, in the format `docs/console.md` fixes.
//!
//! SETs and DELs join the store's group commit: their `OK` (and everything
//! printed after it: echoes, prompts, later replies) is held until the WAL
//! flush that covers them, so the console reads exactly as if each write
//! had been synced alone, while writes pasted or piped together share one
//! flush. A command that does not join the group (anything but the key
//! commands) first makes the writes before it durable and their replies
//! go out, so its own output comes after them.
//!
//! While a command runs, Ctrl-C interrupts it (see `hal::drivers::pl011`):
//! long commands stop at their next safe point and say `(interrupted)`.

use super::commit;
use crate::host::KernelHost;
use crate::services::kv::STORE;
use alloc::{string::String, vec::Vec};
use cmd::{Caller, Client, Ctx, Reply, ServerCell, Sink};
use conn::Outbox;
use console::{parse_command, render, CommandError, LineEditor, LineEvent};
use hal::console_out;
use hal::drivers::pl031;

pub const PROMPT: &[u8] = b"unikv> ";
/// Longest accepted line: the contract asks for at least 16 KiB.
pub const MAX_LINE: usize = 64 * 1024;
/// Most writes one group commit waits for before it flushes anyway.
const MAX_GROUP: u64 = 256;

pub struct Console {
    editor: LineEditor,
    /// Output held behind writes' group commits, in order.
    held: Outbox,
    server: &'static ServerCell,
    client: Client,
}

fn rendered(reply: &Reply) -> Vec<u8> {
    let mut text = String::new();
    let _ = render(reply, &mut text);
    text.into_bytes()
}

impl Console {
    pub fn new(server: &'static ServerCell) -> Console {
        let client = Client::new(&mut server.lock(), Caller::Console, pl031::wall_ms());
        server.lock().register(&client);
        console_out::write(PROMPT);
        Console {
            editor: LineEditor::new(MAX_LINE),
            held: Outbox::new(),
            server,
            client,
        }
    }

    /// Output that goes after everything held.
    fn emit(&mut self, bytes: Vec<u8>) {
        self.held.emit(bytes, &mut |b| console_out::write(b));
    }

    /// Takes every byte that has arrived.
    pub fn poll(&mut self) {
        while let Some(byte) = console_out::read_byte() {
            let mut echo = Vec::new();
            let event = self.editor.feed(byte, &mut |e| echo.extend_from_slice(e));
            self.emit(echo);
            let Some(event) = event else { continue };
            match event {
                LineEvent::Line(line) => self.line(&line),
                LineEvent::TooLong { len } => {
                    self.emit(rendered(&Reply::from(CommandError::TooLong {
                        len,
                        max: MAX_LINE,
                    })))
                }
                LineEvent::Cancelled => {}
            }
            self.emit(PROMPT.to_vec());
            let full = STORE
                .lock()
                .as_ref()
                .is_some_and(|s| s.pending() >= MAX_GROUP);
            if full {
                commit();
                self.release();
            }
        }
    }

    fn line(&mut self, line: &[u8]) {
        let clock = crate::services::kv::clock();
        self.client.last_ms = clock.wall_ms();
        let inv = match parse_command(line) {
            Ok(None) => return,
            Ok(Some(inv)) => inv,
            Err(e) => {
                // Counted, and inside MULTI it makes EXEC abort.
                let known = match &e {
                    CommandError::Arity { name, .. } => console::lookup(name.as_bytes()),
                    _ => None,
                };
                cmd::refused(self.server, &mut self.client, known);
                return self.emit(rendered(&Reply::from(e)));
            }
        };
        if !cmd::joins_group(inv.spec) {
            commit();
            self.release();
        }
        console_out::arm_interrupt(true);
        let mut sink = Uart;
        let mut ctx = Ctx::new(
            &STORE,
            self.server,
            (&KernelHost, clock),
            &mut sink,
            &mut self.client,
        );
        let reply = cmd::run(&mut ctx, &inv);
        let wait_for = ctx.wait_for();
        self.server.lock().register(&self.client);
        console_out::arm_interrupt(false);
        match wait_for {
            Some(ticket) => self.held.hold(ticket, rendered(&reply)),
            None => self.emit(rendered(&reply)),
        }
    }

    /// Whether output waits for a commit.
    pub fn holds(&self) -> bool {
        !self.held.is_empty()
    }

    /// Sends what no longer waits: held output up to the first write whose
    /// commit has not happened yet.
    pub fn release(&mut self) {
        self.held
            .release(&STORE, &|e| rendered(&Reply::error(e)), &mut |b| {
                console_out::write(b)
            });
    }
}

/// What commands print beyond their reply goes straight to the UART: a
/// command that prints (BENCH, DEBUG TRACE DUMP, SHUTDOWN) never joins a
/// group, so nothing is held when it runs.
struct Uart;

impl Sink for Uart {
    fn progress(&mut self, line: &str) {
        console_out::write(line.as_bytes());
        console_out::write(b"\r\n");
    }

    fn raw(&mut self, line: &[u8]) {
        console_out::write(line);
        console_out::write(b"\r\n");
    }

    fn interrupted(&mut self) -> bool {
        console_out::interrupted()
    }

    fn reply_now(&mut self, reply: &Reply) {
        console_out::write(&rendered(reply));
        console_out::flush();
    }
}
