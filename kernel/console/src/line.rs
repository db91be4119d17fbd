//! Line editing: raw received bytes in, complete lines and echo out.
//!
//! The editor is a byte-at-a-time state machine so the kernel can feed it from
//! whatever drains the UART, without buffering a line of its own. It never
//! blocks and never allocates more than `max_len` bytes for one line, so a
//! script that pipes megabytes without a newline cannot exhaust the heap.

use alloc::vec::Vec;

const BACKSPACE: u8 = 0x08;
const DEL: u8 = 0x7f;
const CTRL_C: u8 = 0x03;
const CTRL_U: u8 = 0x15;
const ESC: u8 = 0x1b;
const TAB: u8 = b'\t';
const CR: u8 = b'\r';
const LF: u8 = b'\n';

/// Moves the cursor back, blanks the cell, moves back again: the classic way
/// to erase one column that works on every terminal, including dumb ones.
const ERASE: &[u8] = b"\x08 \x08";
const NEWLINE: &[u8] = b"\r\n";

/// What a byte completed, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineEvent {
    /// A complete line, without its line end. May be empty: the caller still
    /// answers it (with a fresh prompt) so the user sees the Enter registered.
    Line(Vec<u8>),
    /// The line exceeded `max_len` and was dropped; `len` is its total length.
    TooLong {
        /// Bytes of line content seen, including those dropped past the limit.
        len: usize,
    },
    /// The user pressed Ctrl-C; the line was abandoned.
    Cancelled,
}

/// Where we are inside a terminal escape sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    /// Just after ESC.
    Esc,
    /// Inside `ESC [` (CSI): parameters and intermediates until a final byte.
    Csi,
    /// After `ESC O` (SS3): one more byte ends it.
    Ss3,
}

/// Turns received bytes into lines, echoing what the user should see.
#[derive(Debug)]
pub struct LineEditor {
    buf: Vec<u8>,
    max_len: usize,
    /// Content bytes seen in this line, including any dropped past `max_len`.
    len: usize,
    echo: bool,
    escape: Escape,
    /// The previous byte was a CR, so an LF now is the second half of CRLF.
    after_cr: bool,
}

impl LineEditor {
    /// An editor that accepts lines of up to `max_len` bytes, echo on.
    pub fn new(max_len: usize) -> Self {
        LineEditor {
            buf: Vec::new(),
            max_len,
            len: 0,
            echo: true,
            escape: Escape::None,
            after_cr: false,
        }
    }

    /// Turns echo on or off (off suits scripts that do not want their input back).
    pub fn set_echo(&mut self, on: bool) {
        self.echo = on;
    }

    /// Whether received bytes are echoed.
    pub fn echo(&self) -> bool {
        self.echo
    }

    /// The longest line accepted, in bytes.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The line typed so far: after printing something asynchronously (a log
    /// line), the kernel reprints the prompt and this to restore the screen.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Forgets the partial line and any half-received escape sequence.
    pub fn reset(&mut self) {
        self.buf = Vec::new();
        self.len = 0;
        self.escape = Escape::None;
        self.after_cr = false;
    }

    /// Consumes one received byte. `out` gets the bytes to echo (never called
    /// with echo off). Returns an event when the byte ended or cancelled a line.
    pub fn feed(&mut self, byte: u8, out: &mut dyn FnMut(&[u8])) -> Option<LineEvent> {
        let after_cr = core::mem::replace(&mut self.after_cr, false);
        if self.in_escape(byte) {
            return None;
        }
        match byte {
            LF if after_cr => None,
            CR | LF => {
                self.after_cr = byte == CR;
                self.emit(out, NEWLINE);
                Some(self.finish())
            }
            BACKSPACE | DEL => {
                self.backspace(out);
                None
            }
            CTRL_C => {
                self.emit(out, b"^C\r\n");
                self.reset();
                Some(LineEvent::Cancelled)
            }
            CTRL_U => {
                self.kill_line(out);
                None
            }
            ESC => {
                self.escape = Escape::Esc;
                None
            }
            TAB => {
                self.insert(b' ', out);
                None
            }
            0x00..=0x1f => None,
            _ => {
                self.insert(byte, out);
                None
            }
        }
    }

    /// Advances the escape-sequence state; true if `byte` belongs to a sequence
    /// and must be swallowed. A control byte inside a sequence aborts it and is
    /// then handled normally: a line end or Ctrl-C is never lost to a stray ESC
    /// (scripts sending binary data would otherwise hang the console).
    fn in_escape(&mut self, byte: u8) -> bool {
        match self.escape {
            Escape::None => false,
            Escape::Esc => match byte {
                0x00..=0x1f => {
                    self.escape = Escape::None;
                    false
                }
                b'[' => {
                    self.escape = Escape::Csi;
                    true
                }
                b'O' => {
                    self.escape = Escape::Ss3;
                    true
                }
                _ => {
                    self.escape = Escape::None;
                    true
                }
            },
            Escape::Csi => match byte {
                0x20..=0x3f => true,
                0x40..=0x7e => {
                    self.escape = Escape::None;
                    true
                }
                _ => {
                    self.escape = Escape::None;
                    false
                }
            },
            Escape::Ss3 => {
                self.escape = Escape::None;
                byte >= 0x20
            }
        }
    }

    fn overflowed(&self) -> bool {
        self.len > self.max_len
    }

    fn emit(&self, out: &mut dyn FnMut(&[u8]), bytes: &[u8]) {
        if self.echo {
            out(bytes);
        }
    }

    fn insert(&mut self, byte: u8, out: &mut dyn FnMut(&[u8])) {
        self.len = self.len.saturating_add(1);
        if self.overflowed() {
            return;
        }
        if self.buf.len() == self.buf.capacity() {
            // Vec's own growth could round a 40 KiB line up to 64 KiB of
            // capacity past a smaller limit; grow by hand, capped at max_len.
            let want = self
                .buf
                .capacity()
                .saturating_mul(2)
                .max(64)
                .min(self.max_len);
            self.buf.reserve_exact(want - self.buf.len());
        }
        self.buf.push(byte);
        self.emit(out, &[byte]);
    }

    fn backspace(&mut self, out: &mut dyn FnMut(&[u8])) {
        // Past the limit the line is refused anyway; what is left on screen is
        // the stored prefix, which erasing the dropped tail would not match.
        if self.overflowed() || self.buf.is_empty() {
            return;
        }
        let n = last_char_len(&self.buf);
        self.buf.truncate(self.buf.len() - n);
        self.len -= n;
        self.emit(out, ERASE);
    }

    fn kill_line(&mut self, out: &mut dyn FnMut(&[u8])) {
        // Everything echoed is in buf (nothing past the limit was echoed), so
        // erasing it character by character restores the bare prompt.
        while !self.buf.is_empty() {
            let n = last_char_len(&self.buf);
            self.buf.truncate(self.buf.len() - n);
            self.emit(out, ERASE);
        }
        self.len = 0;
    }

    fn finish(&mut self) -> LineEvent {
        let event = if self.overflowed() {
            LineEvent::TooLong { len: self.len }
        } else {
            LineEvent::Line(core::mem::take(&mut self.buf))
        };
        self.buf = Vec::new();
        self.len = 0;
        event
    }
}

/// Bytes taken by the last character of `buf`: a UTF-8 lead byte and the
/// continuation bytes after it (even if the sequence is still incomplete), or
/// one byte when the tail is not valid UTF-8, so every byte stays deletable.
fn last_char_len(buf: &[u8]) -> usize {
    let mut start = buf.len();
    let mut continuation = 0;
    while start > 0 && continuation < 3 && buf[start - 1] & 0xc0 == 0x80 {
        start -= 1;
        continuation += 1;
    }
    if continuation == 0 || start == 0 {
        return 1;
    }
    let wanted = match buf[start - 1] {
        0xc0..=0xdf => 1,
        0xe0..=0xef => 2,
        0xf0..=0xf7 => 3,
        _ => 0,
    };
    if continuation <= wanted {
        continuation + 1
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// Feeds `input`, returning the events and everything echoed.
    fn run(ed: &mut LineEditor, input: &[u8]) -> (Vec<LineEvent>, Vec<u8>) {
        let mut echoed = Vec::new();
        let mut events = Vec::new();
        for &b in input {
            if let Some(e) = ed.feed(b, &mut |bytes| echoed.extend_from_slice(bytes)) {
                events.push(e);
            }
        }
        (events, echoed)
    }

    fn lines(input: &[u8]) -> Vec<LineEvent> {
        run(&mut LineEditor::new(64 * 1024), input).0
    }

    fn line(s: &[u8]) -> LineEvent {
        LineEvent::Line(s.to_vec())
    }

    #[test]
    fn cr_lf_and_crlf_each_end_one_line() {
        assert_eq!(
            lines(b"a\rb\nc\r\nd"),
            vec![line(b"a"), line(b"b"), line(b"c")]
        );
        assert_eq!(lines(b"GET k\r\n"), vec![line(b"GET k")]);
    }

    #[test]
    fn empty_lines_are_reported() {
        assert_eq!(lines(b"\r\n\r\n"), vec![line(b""), line(b"")]);
        assert_eq!(lines(b"\n\n"), vec![line(b""), line(b"")]);
        // LF CR is two ends: only CR LF is one.
        assert_eq!(lines(b"\n\r"), vec![line(b""), line(b"")]);
        assert_eq!(lines(b"\r\r\n"), vec![line(b""), line(b"")]);
    }

    #[test]
    fn lf_is_swallowed_only_right_after_cr() {
        // A byte between CR and LF breaks the pair, even a dropped one.
        assert_eq!(lines(b"a\r\x01\n"), vec![line(b"a"), line(b"")]);
    }

    #[test]
    fn echo_of_text_and_line_end() {
        let mut ed = LineEditor::new(100);
        let (ev, echo) = run(&mut ed, b"SET a b\n");
        assert_eq!(ev, vec![line(b"SET a b")]);
        assert_eq!(echo, b"SET a b\r\n");
        // The LF of CRLF is not echoed a second time.
        let (_, echo) = run(&mut ed, b"x\r\n");
        assert_eq!(echo, b"x\r\n");
    }

    #[test]
    fn echo_off_echoes_nothing() {
        let mut ed = LineEditor::new(100);
        assert!(ed.echo());
        ed.set_echo(false);
        assert!(!ed.echo());
        let (ev, echo) = run(&mut ed, b"ab\x08c\x1b[A\x15x\x03y\r\n");
        assert_eq!(ev, vec![LineEvent::Cancelled, line(b"y")]);
        assert!(echo.is_empty());
    }

    #[test]
    fn backspace_and_del_over_ascii() {
        let mut ed = LineEditor::new(100);
        let (ev, echo) = run(&mut ed, b"abc\x08\x7fd\r");
        assert_eq!(ev, vec![line(b"ad")]);
        assert_eq!(echo, b"abc\x08 \x08\x08 \x08d\r\n");
    }

    #[test]
    fn backspace_on_empty_line_does_nothing() {
        let mut ed = LineEditor::new(100);
        let (ev, echo) = run(&mut ed, b"\x08\x7fa\r");
        assert_eq!(ev, vec![line(b"a")]);
        assert_eq!(echo, b"a\r\n");
    }

    #[test]
    fn backspace_removes_a_whole_utf8_character() {
        // é (2 bytes), € (3 bytes), 😀 (4 bytes): each one column, one erase.
        for ch in ["é", "€", "😀"] {
            let mut input = Vec::from(b"x".as_slice());
            input.extend_from_slice(ch.as_bytes());
            input.extend_from_slice(b"\x7f\r");
            let mut ed = LineEditor::new(100);
            let (ev, echo) = run(&mut ed, &input);
            assert_eq!(ev, vec![line(b"x")], "{ch}");
            let mut want = Vec::from(b"x".as_slice());
            want.extend_from_slice(ch.as_bytes());
            want.extend_from_slice(b"\x08 \x08\r\n");
            assert_eq!(echo, want, "{ch}");
        }
        let mut input = "aé€".as_bytes().to_vec();
        input.extend_from_slice(b"\x08\x08\r");
        assert_eq!(lines(&input), vec![line(b"a")]);
    }

    #[test]
    fn backspace_over_invalid_utf8_removes_one_byte() {
        // Stray continuation bytes with no lead: one byte each.
        assert_eq!(lines(b"a\x80\x80\x08\r"), vec![line(b"a\x80")]);
        // An incomplete sequence goes as one character.
        assert_eq!(lines(b"a\xe2\x82\x08\r"), vec![line(b"a")]);
        // Too many continuation bytes for the lead: only the last goes.
        assert_eq!(lines(b"a\xc3\xa9\xa9\x08\r"), vec![line(b"a\xc3\xa9")]);
    }

    #[test]
    fn high_bytes_are_kept_and_echoed() {
        let mut ed = LineEditor::new(100);
        let (ev, echo) = run(&mut ed, "SET k héllo\r".as_bytes());
        assert_eq!(ev, vec![line("SET k héllo".as_bytes())]);
        assert_eq!(echo, "SET k héllo\r\n".as_bytes());
    }

    #[test]
    fn arrow_keys_and_other_escape_sequences_are_swallowed() {
        let mut ed = LineEditor::new(100);
        // Up, down, right, left (CSI and SS3 forms), Home/End with params,
        // F5 (ESC [ 1 5 ~), Alt-x (ESC x), Ctrl-Right (ESC [ 1 ; 5 C).
        let input =
            b"G\x1b[A\x1b[B\x1b[C\x1b[DE\x1bOA\x1bOD\x1b[1~\x1b[4~T\x1b[15~\x1bx\x1b[1;5C k\r";
        let (ev, echo) = run(&mut ed, input);
        assert_eq!(ev, vec![line(b"GET k")]);
        assert_eq!(echo, b"GET k\r\n");
    }

    #[test]
    fn control_byte_aborts_an_escape_sequence() {
        // A line end inside a half-received sequence still ends the line.
        assert_eq!(lines(b"a\x1b\r"), vec![line(b"a")]);
        assert_eq!(lines(b"a\x1b[12\r"), vec![line(b"a")]);
        assert_eq!(lines(b"a\x1bO\r"), vec![line(b"a")]);
        assert_eq!(lines(b"a\x1b[1\x03"), vec![LineEvent::Cancelled]);
        // ESC ESC [ A: the second ESC starts the sequence afresh.
        assert_eq!(lines(b"a\x1b\x1b[Ab\r"), vec![line(b"ab")]);
        // A high byte inside CSI aborts it and is kept as text.
        assert_eq!(lines(b"a\x1b[\xc3\xa9\r"), vec![line("aé".as_bytes())]);
    }

    #[test]
    fn ctrl_c_cancels_the_line() {
        let mut ed = LineEditor::new(100);
        let (ev, echo) = run(&mut ed, b"SET a\x03GET b\r");
        assert_eq!(ev, vec![LineEvent::Cancelled, line(b"GET b")]);
        assert_eq!(echo, b"SET a^C\r\nGET b\r\n");
    }

    #[test]
    fn ctrl_u_clears_the_line_on_screen_too() {
        let mut ed = LineEditor::new(100);
        let (ev, echo) = run(&mut ed, "aé\x15b\r".as_bytes());
        assert_eq!(ev, vec![line(b"b")]);
        let mut want = "aé".as_bytes().to_vec();
        want.extend_from_slice(b"\x08 \x08\x08 \x08b\r\n");
        assert_eq!(echo, want);
    }

    #[test]
    fn tab_becomes_space_and_other_controls_are_dropped() {
        let mut ed = LineEditor::new(100);
        let (ev, echo) = run(&mut ed, b"a\tb\x00\x01\x07\x0c\x1fc\r");
        assert_eq!(ev, vec![line(b"a bc")]);
        assert_eq!(echo, b"a bc\r\n");
    }

    #[test]
    fn a_100_kib_line_is_refused_and_the_next_one_works() {
        let max = 64 * 1024;
        let mut ed = LineEditor::new(max);
        let mut input = vec![b'x'; 100 * 1024];
        input.extend_from_slice(b"\r\nGET k\r\n");
        let (ev, echo) = run(&mut ed, &input);
        assert_eq!(
            ev,
            vec![LineEvent::TooLong { len: 100 * 1024 }, line(b"GET k")]
        );
        // Echo stops at the limit; the line end and the next line are echoed.
        assert_eq!(echo.len(), max + 2 + 7);
        assert!(echo.ends_with(b"x\r\nGET k\r\n"));
    }

    #[test]
    fn a_line_of_exactly_max_len_is_accepted() {
        let mut ed = LineEditor::new(16 * 1024);
        let mut input = vec![b'v'; 16 * 1024];
        input.push(b'\r');
        let (ev, _) = run(&mut ed, &input);
        assert_eq!(ev, vec![LineEvent::Line(vec![b'v'; 16 * 1024])]);
        input.insert(0, b'v');
        let (ev, _) = run(&mut ed, &input);
        assert_eq!(ev, vec![LineEvent::TooLong { len: 16 * 1024 + 1 }]);
    }

    #[test]
    fn overflowed_line_ignores_backspace_but_ctrl_c_and_ctrl_u_recover() {
        let mut ed = LineEditor::new(4);
        assert_eq!(
            run(&mut ed, b"abcdef\x08\x08\x08\r").0,
            vec![LineEvent::TooLong { len: 6 }]
        );
        assert_eq!(
            run(&mut ed, b"abcdef\x03ok\r").0,
            vec![LineEvent::Cancelled, line(b"ok")]
        );
        let (ev, echo) = run(&mut ed, b"abcdef\x15ok\r");
        assert_eq!(ev, vec![line(b"ok")]);
        assert_eq!(echo, b"abcd\x08 \x08\x08 \x08\x08 \x08\x08 \x08ok\r\n");
    }

    #[test]
    fn never_allocates_more_than_max_len() {
        for max in [0, 1, 63, 64, 65, 1000, 40 * 1024] {
            let mut ed = LineEditor::new(max);
            let mut cap = 0;
            for _ in 0..(max + 500) {
                ed.feed(b'z', &mut |_| {});
                cap = cap.max(ed.buf.capacity());
            }
            assert!(cap <= max, "max {max}: capacity {cap}");
            assert_eq!(
                ed.feed(b'\n', &mut |_| {}),
                Some(LineEvent::TooLong { len: max + 500 })
            );
        }
    }

    #[test]
    fn zero_max_len_accepts_only_empty_lines() {
        let mut ed = LineEditor::new(0);
        assert_eq!(
            run(&mut ed, b"\ra\r").0,
            vec![line(b""), LineEvent::TooLong { len: 1 }]
        );
    }

    #[test]
    fn pending_and_reset() {
        let mut ed = LineEditor::new(100);
        run(&mut ed, b"GET \x1b");
        assert_eq!(ed.pending(), b"GET ");
        ed.reset();
        assert_eq!(ed.pending(), b"");
        // The ESC was forgotten too: '[' is text again.
        assert_eq!(run(&mut ed, b"[x\r").0, vec![line(b"[x")]);
    }

    /// xorshift64: deterministic, so a failure reproduces.
    fn rng(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn random_binary_never_panics_and_the_next_line_works() {
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        for round in 0..300 {
            let mut ed = LineEditor::new(if round % 3 == 0 { 16 } else { 4096 });
            ed.set_echo(round % 2 == 0);
            let n = (rng(&mut seed) % 3000) as usize;
            let mut echoed = 0usize;
            for _ in 0..n {
                let byte = rng(&mut seed) as u8;
                if let Some(LineEvent::Line(l)) = ed.feed(byte, &mut |b| echoed += b.len()) {
                    assert!(l.len() <= ed.max_len());
                    assert!(l.iter().all(|&b| b >= 0x20 && b != 0x7f));
                }
            }
            // Ctrl-C then a line: whatever state the noise left, this works.
            let (ev, _) = run(&mut ed, b"\x03GET k\r");
            assert_eq!(
                ev,
                vec![LineEvent::Cancelled, line(b"GET k")],
                "round {round}"
            );
        }
    }

    #[test]
    fn random_binary_then_line_end_then_a_line() {
        let mut seed = 12345;
        for _ in 0..300 {
            let mut ed = LineEditor::new(256);
            for _ in 0..(rng(&mut seed) % 1000) {
                ed.feed(rng(&mut seed) as u8, &mut |_| {});
            }
            // A line end always completes something (or is the LF of a CRLF).
            let mut ev = ed.feed(b'\n', &mut |_| {});
            if ev.is_none() {
                ev = ed.feed(b'\n', &mut |_| {});
            }
            assert!(matches!(
                ev,
                Some(LineEvent::Line(_) | LineEvent::TooLong { .. })
            ));
            assert_eq!(run(&mut ed, b"PING\r\n").0, vec![line(b"PING")]);
        }
    }
}
