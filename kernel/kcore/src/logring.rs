//! The kernel log ring: the last `N` bytes of log text, kept as whole lines,
//! like Linux's printk buffer. The console's `LOG` command reads it through
//! [`LogRing::lines`]; a debugger reads it straight from memory.
//!
//! # Memory layout (for debugger scripts)
//!
//! `LogRing<N>` is `#[repr(C)]`:
//!
//! | field     | type        | meaning                                        |
//! |-----------|-------------|------------------------------------------------|
//! | `buf`     | `[u8; N]`   | the text, circular                             |
//! | `head`    | `usize`     | index in `buf` of the oldest byte, `< N`       |
//! | `len`     | `usize`     | bytes of text held, `<= N`                     |
//! | `dropped` | `usize`     | lines evicted (or cut) since creation          |
//! | `pushed`  | `usize`     | lines ever pushed                              |
//!
//! To recover the text: take `len` bytes starting at `buf[head]`, wrapping
//! to `buf[0]` after `buf[N-1]`:
//!
//! ```text
//! if head + len <= N: text = buf[head : head+len]
//! else:               text = buf[head : N] + buf[0 : head+len-N]
//! ```
//!
//! The text is a sequence of complete lines, each ending in `\n` (so it is
//! empty or ends in `\n`); splitting it on `\n` gives the lines oldest first.
//! Bytes of `buf` outside that range are stale and mean nothing.
//!
//! The fields are updated one after another, not atomically: the kernel
//! guards the ring with a lock, and a debugger should read it with all CPUs
//! stopped. A reader that may catch it mid-update should clamp `head` to
//! `N-1` and `len` to `N` and ignore a partial first line.
#![forbid(unsafe_code)]

use alloc::vec::Vec;
use core::fmt;

/// A ring of whole text lines in `N` bytes; layout in the module docs.
#[repr(C)]
pub struct LogRing<const N: usize> {
    buf: [u8; N],
    head: usize,
    len: usize,
    dropped: usize,
    pushed: usize,
}

impl<const N: usize> LogRing<N> {
    const CHECK: () = assert!(N >= 2, "a LogRing needs room for a byte and its newline");

    /// An empty ring, usable in a `static`.
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK;
        Self {
            buf: [0; N],
            head: 0,
            len: 0,
            dropped: 0,
            pushed: 0,
        }
    }

    /// Appends `line` and a `\n`, evicting the oldest whole lines to make
    /// room. One trailing `\n` in `line` is ignored, so both `b"x"` and
    /// `b"x\n"` store one line; a line longer than `N - 1` bytes is cut to
    /// fit (and counts as dropped). Newlines inside `line` split it into
    /// several lines.
    pub fn push_line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = match line.get(..N - 1) {
            Some(cut) if cut.len() < line.len() => {
                self.dropped += 1;
                cut
            }
            _ => line,
        };
        let need = line.len() + 1;
        while N - self.len < need {
            self.drop_oldest();
        }
        self.write(line);
        self.write(b"\n");
        self.pushed += line.iter().filter(|&&b| b == b'\n').count() + 1;
    }

    fn write(&mut self, bytes: &[u8]) {
        let start = (self.head + self.len) % N;
        let (first, second) = bytes.split_at(bytes.len().min(N - start));
        self.buf[start..start + first.len()].copy_from_slice(first);
        self.buf[..second.len()].copy_from_slice(second);
        self.len += bytes.len();
    }

    fn drop_oldest(&mut self) {
        let (a, b) = self.text();
        // Every stored line ends in '\n', so one is found while len > 0.
        let cut = a
            .iter()
            .chain(b)
            .position(|&c| c == b'\n')
            .map_or(self.len, |i| i + 1);
        self.head = (self.head + cut) % N;
        self.len -= cut;
        self.dropped += 1;
    }

    /// The whole text, oldest first, as two slices to be read in order (the
    /// second is empty unless the text wraps).
    pub fn text(&self) -> (&[u8], &[u8]) {
        let first_len = self.len.min(N - self.head);
        (
            &self.buf[self.head..self.head + first_len],
            &self.buf[..self.len - first_len],
        )
    }

    /// The lines, oldest first, without their `\n`.
    pub fn lines(&self) -> Lines<'_> {
        let (first, second) = self.text();
        Lines { first, second }
    }

    /// The last `n` lines, oldest first, copied.
    pub fn last(&self, n: usize) -> Vec<Vec<u8>> {
        let total = self.lines().count();
        self.lines()
            .skip(total.saturating_sub(n))
            .map(|l| l.to_vec())
            .collect()
    }

    /// Lines evicted to make room, plus lines cut because they did not fit.
    pub fn dropped_lines(&self) -> usize {
        self.dropped
    }

    /// Lines pushed since creation.
    pub fn pushed_lines(&self) -> usize {
        self.pushed
    }

    /// Bytes of text held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no line is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every line (the counters stay).
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}

impl<const N: usize> Default for LogRing<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Debug for LogRing<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogRing")
            .field("capacity", &N)
            .field("len", &self.len)
            .field("dropped", &self.dropped)
            .field("pushed", &self.pushed)
            .finish()
    }
}

/// One stored line, without its `\n`: `first` then `second` (non-empty only
/// for the one line that wraps around the end of the buffer).
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// The line's start.
    pub first: &'a [u8],
    /// The rest of the line, if it wraps.
    pub second: &'a [u8],
}

impl Line<'_> {
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.first.len() + self.second.len()
    }

    /// Whether the line has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, in order.
    pub fn bytes(&self) -> impl Iterator<Item = u8> + '_ {
        self.first.iter().chain(self.second).copied()
    }

    /// The line in one buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        v.extend_from_slice(self.first);
        v.extend_from_slice(self.second);
        v
    }
}

impl PartialEq<[u8]> for Line<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        self.len() == other.len() && self.bytes().eq(other.iter().copied())
    }
}

impl PartialEq<&[u8]> for Line<'_> {
    fn eq(&self, other: &&[u8]) -> bool {
        *self == **other
    }
}

/// Writes the line as text, invalid UTF-8 replaced by U+FFFD.
impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A UTF-8 sequence may straddle the wrap point, so decode the line
        // as one buffer only when it is split.
        if self.second.is_empty() {
            return write_lossy(f, self.first);
        }
        write_lossy(f, &self.to_vec())
    }
}

fn write_lossy(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for chunk in bytes.utf8_chunks() {
        f.write_str(chunk.valid())?;
        if !chunk.invalid().is_empty() {
            f.write_str("\u{fffd}")?;
        }
    }
    Ok(())
}

/// Iterator over the lines of a [`LogRing`], oldest first.
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    first: &'a [u8],
    second: &'a [u8],
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        if let Some(i) = self.first.iter().position(|&c| c == b'\n') {
            let line = Line {
                first: &self.first[..i],
                second: &[],
            };
            self.first = &self.first[i + 1..];
            return Some(line);
        }
        if !self.first.is_empty() {
            // The line wraps: it starts at the end of `first`.
            let j = self
                .second
                .iter()
                .position(|&c| c == b'\n')
                .unwrap_or(self.second.len());
            let line = Line {
                first: self.first,
                second: &self.second[..j],
            };
            self.first = &[];
            self.second = self.second.get(j + 1..).unwrap_or(&[]);
            return Some(line);
        }
        let j = self.second.iter().position(|&c| c == b'\n')?;
        let line = Line {
            first: &self.second[..j],
            second: &[],
        };
        self.second = &self.second[j + 1..];
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::String;
    use alloc::vec;

    fn all<const N: usize>(r: &LogRing<N>) -> Vec<Vec<u8>> {
        r.lines().map(|l| l.to_vec()).collect()
    }

    /// Mirrors the debugger recipe in the module docs, from the raw fields.
    fn reconstruct<const N: usize>(r: &LogRing<N>) -> Vec<u8> {
        let (head, len) = (r.head, r.len);
        if head + len <= N {
            r.buf[head..head + len].to_vec()
        } else {
            let mut v = r.buf[head..].to_vec();
            v.extend_from_slice(&r.buf[..head + len - N]);
            v
        }
    }

    #[test]
    fn keeps_lines_in_order() {
        let mut r = LogRing::<64>::new();
        assert!(r.is_empty());
        r.push_line(b"one");
        r.push_line(b"two\n");
        r.push_line(b"");
        assert_eq!(
            all(&r),
            vec![b"one".to_vec(), b"two".to_vec(), b"".to_vec()]
        );
        assert_eq!(reconstruct(&r), b"one\ntwo\n\n");
        assert_eq!(r.pushed_lines(), 3);
        assert_eq!(r.dropped_lines(), 0);
    }

    #[test]
    fn drops_oldest_whole_lines_and_wraps() {
        let mut r = LogRing::<16>::new();
        r.push_line(b"aaaa"); // 5 bytes
        r.push_line(b"bbbb"); // 10
        r.push_line(b"cccc"); // 15
        r.push_line(b"dddddd"); // needs 7: drops aaaa and bbbb
        assert_eq!(all(&r), vec![b"cccc".to_vec(), b"dddddd".to_vec()]);
        assert_eq!(r.dropped_lines(), 2);
        // "dddddd\n" was written from index 15 and wrapped.
        let (a, b) = r.text();
        assert!(!b.is_empty());
        assert_eq!([a, b].concat(), b"cccc\ndddddd\n");
        assert_eq!(reconstruct(&r), b"cccc\ndddddd\n");
    }

    #[test]
    fn wrapped_line_is_one_line() {
        let mut r = LogRing::<8>::new();
        r.push_line(b"abcde"); // buf[0..6]
        r.push_line(b"xyz"); // drops abcde, writes at 6,7,0,1
        let lines: Vec<Line<'_>> = r.lines().collect();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].first, b"xy");
        assert_eq!(lines[0].second, b"z");
        assert!(lines[0] == b"xyz"[..]);
        assert_eq!(format!("{}", lines[0]), "xyz");
    }

    #[test]
    fn overlong_line_is_cut() {
        let mut r = LogRing::<8>::new();
        r.push_line(b"old");
        r.push_line(b"0123456789");
        assert_eq!(all(&r), vec![b"0123456".to_vec()]);
        assert_eq!(r.len(), 8);
        assert_eq!(r.dropped_lines(), 2);
    }

    #[test]
    fn last_n() {
        let mut r = LogRing::<128>::new();
        for i in 0..10 {
            r.push_line(format!("line {i}").as_bytes());
        }
        assert_eq!(
            r.last(3),
            vec![b"line 7".to_vec(), b"line 8".to_vec(), b"line 9".to_vec()]
        );
        assert_eq!(r.last(0), Vec::<Vec<u8>>::new());
        assert_eq!(r.last(100).len(), 10);
    }

    #[test]
    fn embedded_newline_splits() {
        let mut r = LogRing::<32>::new();
        r.push_line(b"a\nb");
        assert_eq!(all(&r), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(r.pushed_lines(), 2);
    }

    #[test]
    fn lossy_display() {
        let mut r = LogRing::<16>::new();
        r.push_line(b"ok\xffok");
        let s: String = r.lines().map(|l| format!("{l}")).collect();
        assert_eq!(s, "ok\u{fffd}ok");
    }

    #[test]
    fn usable_as_static_layout() {
        static RING: LogRing<32> = LogRing::new();
        assert!(RING.is_empty());
        assert_eq!(core::mem::offset_of!(LogRing<32>, buf), 0);
        assert_eq!(core::mem::offset_of!(LogRing<32>, head), 32);
        assert_eq!(
            core::mem::offset_of!(LogRing<32>, len),
            32 + core::mem::size_of::<usize>()
        );
    }

    /// Random line lengths: the ring always equals the longest suffix of the
    /// pushed lines that fits, and the raw-field recipe agrees.
    #[test]
    fn matches_a_model() {
        let mut r = LogRing::<97>::new();
        let mut model: Vec<Vec<u8>> = Vec::new();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for i in 0..5_000u32 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            let line: Vec<u8> = (0..len)
                .map(|j| b'a' + ((i as usize + j) % 26) as u8)
                .collect();
            r.push_line(&line);
            model.push(line);
            let mut keep = 0;
            let mut used = 0;
            for l in model.iter().rev() {
                if used + l.len() + 1 > 97 {
                    break;
                }
                used += l.len() + 1;
                keep += 1;
            }
            model.drain(..model.len() - keep);
            assert_eq!(all(&r), model);
            let joined: Vec<u8> = model
                .iter()
                .flat_map(|l| l.iter().copied().chain([b'\n']))
                .collect();
            assert_eq!(reconstruct(&r), joined);
        }
        assert_eq!(r.dropped_lines() + model.len(), 5_000);
    }
}
