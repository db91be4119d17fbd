//! A total reader for the flattened device tree format (devicetree spec v0.4,
//! chapter 5): every offset and length in the blob is checked before use, so
//! a damaged or hostile blob yields a [`DtError`], never a panic or an
//! out-of-bounds read.
//!
//! It allocates nothing, so it also works before the kernel has a heap.

use super::{DtError, MemRegion};

pub(crate) const FDT_MAGIC: u32 = 0xd00d_feed;
/// Ten big-endian `u32` fields (v17 header).
pub(crate) const HEADER_LEN: usize = 40;
/// The same bound as Linux's arm64 `MAX_FDT_SIZE`: it stops a corrupted
/// `totalsize` from sending a reader through gigabytes of memory.
pub const MAX_FDT_SIZE: usize = 2 << 20;

const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;

pub(crate) fn be32(b: &[u8], off: usize) -> Option<u32> {
    let bytes = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

fn be64(b: &[u8], off: usize) -> Option<u64> {
    let bytes = b.get(off..off.checked_add(8)?)?;
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

fn align4(x: usize) -> Option<usize> {
    Some(x.checked_add(3)? & !3)
}

/// A NUL-terminated UTF-8 string at the start of `b`, and its length without
/// the NUL.
fn cstr(b: &[u8]) -> Option<(&str, usize)> {
    let len = b.iter().position(|&c| c == 0)?;
    let s = core::str::from_utf8(b.get(..len)?).ok()?;
    Some((s, len))
}

/// Checks the header fields shared by [`Fdt::new`] and the pointer entry
/// point, returning `totalsize`.
pub(crate) fn check_magic_and_size(head: &[u8]) -> Result<usize, DtError> {
    let magic = be32(head, 0).ok_or(DtError::Truncated {
        needed: HEADER_LEN,
        available: head.len(),
    })?;
    if magic != FDT_MAGIC {
        return Err(DtError::BadMagic(magic));
    }
    let total = be32(head, 4).ok_or(DtError::Truncated {
        needed: HEADER_LEN,
        available: head.len(),
    })? as usize;
    if total > MAX_FDT_SIZE {
        return Err(DtError::TooLarge(total));
    }
    if total < HEADER_LEN {
        return Err(DtError::BadHeader("totalsize is smaller than the header"));
    }
    Ok(total)
}

/// A validated header with the three blocks it points to.
#[derive(Debug, Clone, Copy)]
pub struct Fdt<'a> {
    total: usize,
    structs: &'a [u8],
    strings: &'a [u8],
    rsvmap: &'a [u8],
}

impl<'a> Fdt<'a> {
    /// Validates the header of `blob`. Bytes past `totalsize` are ignored.
    pub fn new(blob: &'a [u8]) -> Result<Self, DtError> {
        let total = check_magic_and_size(blob)?;
        let blob = blob.get(..total).ok_or(DtError::Truncated {
            needed: total,
            available: blob.len(),
        })?;
        let field = |i: usize| be32(blob, i * 4).map(|v| v as usize);
        let bad = DtError::BadHeader("header fields missing");
        let version = field(5).ok_or(bad)?;
        let last_compatible = field(6).ok_or(bad)?;
        // Version 16 lacks size_dt_struct; 17 is what every current tool
        // writes. A blob whose last compatible version is newer than 17
        // changed the format in ways this reader cannot know.
        if version < 16 || last_compatible > 17 {
            return Err(DtError::UnsupportedVersion {
                version: version as u32,
                last_compatible: last_compatible as u32,
            });
        }
        let off_struct = field(2).ok_or(bad)?;
        let off_strings = field(3).ok_or(bad)?;
        let off_rsvmap = field(4).ok_or(bad)?;
        let size_strings = field(8).ok_or(bad)?;
        let size_struct = if version >= 17 {
            field(9).ok_or(bad)?
        } else {
            total.saturating_sub(off_struct)
        };
        if !off_struct.is_multiple_of(4) {
            // Token padding is relative to the blob start.
            return Err(DtError::BadHeader("structure block is not 4-byte aligned"));
        }
        let range = |off: usize, len: usize| blob.get(off..off.checked_add(len)?);
        let structs = range(off_struct, size_struct)
            .ok_or(DtError::BadHeader("structure block lies outside the blob"))?;
        let strings = range(off_strings, size_strings)
            .ok_or(DtError::BadHeader("strings block lies outside the blob"))?;
        let rsvmap = blob.get(off_rsvmap..).ok_or(DtError::BadHeader(
            "reservation block lies outside the blob",
        ))?;
        Ok(Self {
            total,
            structs,
            strings,
            rsvmap,
        })
    }

    /// `totalsize` from the header: the bytes a kernel must keep reserved
    /// while it still reads the blob.
    pub fn total_size(&self) -> usize {
        self.total
    }

    /// The memory reservation block, without its terminating empty entry.
    pub fn reservations(&self) -> Reservations<'a> {
        Reservations {
            block: self.rsvmap,
            pos: 0,
            done: false,
        }
    }

    /// The structure block as a token stream.
    pub fn walk(&self) -> Walk<'a> {
        Walk {
            structs: self.structs,
            strings: self.strings,
            pos: 0,
            depth: 0,
            root_seen: false,
            props_allowed: false,
            done: false,
        }
    }
}

/// Iterator over the memory reservation block.
#[derive(Debug, Clone)]
pub struct Reservations<'a> {
    block: &'a [u8],
    pos: usize,
    done: bool,
}

impl Iterator for Reservations<'_> {
    type Item = Result<MemRegion, DtError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let entry = self
            .pos
            .checked_add(8)
            .and_then(|size_at| Some((be64(self.block, self.pos)?, be64(self.block, size_at)?)));
        match entry {
            None => {
                self.done = true;
                Some(Err(DtError::BadHeader(
                    "reservation block has no terminator",
                )))
            }
            Some((0, 0)) => {
                self.done = true;
                None
            }
            Some((base, size)) => {
                self.pos += 16;
                Some(Ok(MemRegion { base, size }))
            }
        }
    }
}

/// One structure-block token, NOPs removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// A node starts; the root's name is empty.
    BeginNode(&'a str),
    /// A property of the innermost open node.
    Property {
        /// Name from the strings block.
        name: &'a str,
        /// Raw big-endian value.
        value: &'a [u8],
    },
    /// The innermost open node ends.
    EndNode,
}

/// Iterator over the structure block. It checks nesting as it goes (one
/// root, properties before subnodes, balanced begin/end, a final `FDT_END`)
/// and stops for good after the first error.
#[derive(Debug, Clone)]
pub struct Walk<'a> {
    structs: &'a [u8],
    strings: &'a [u8],
    pos: usize,
    depth: usize,
    root_seen: bool,
    props_allowed: bool,
    done: bool,
}

impl<'a> Walk<'a> {
    fn error(&mut self, what: &'static str) -> Option<Result<Token<'a>, DtError>> {
        self.done = true;
        Some(Err(DtError::BadStructure {
            offset: self.pos,
            what,
        }))
    }

    /// Nesting depth after the last token returned: 1 inside the root.
    pub fn depth(&self) -> usize {
        self.depth
    }
}

impl<'a> Iterator for Walk<'a> {
    type Item = Result<Token<'a>, DtError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            let Some(token) = be32(self.structs, self.pos) else {
                return self.error("structure block ends without FDT_END");
            };
            let body = self.pos + 4;
            match token {
                FDT_NOP => self.pos = body,
                FDT_BEGIN_NODE => {
                    if self.root_seen && self.depth == 0 {
                        return self.error("a second root node");
                    }
                    let Some((name, len)) = self.structs.get(body..).and_then(cstr) else {
                        return self.error("node name is not a terminated UTF-8 string");
                    };
                    let Some(next) = align4(body + len + 1) else {
                        return self.error("node name overflows");
                    };
                    self.pos = next;
                    self.root_seen = true;
                    self.depth += 1;
                    self.props_allowed = true;
                    return Some(Ok(Token::BeginNode(name)));
                }
                FDT_END_NODE => {
                    if self.depth == 0 {
                        return self.error("FDT_END_NODE without an open node");
                    }
                    self.pos = body;
                    self.depth -= 1;
                    self.props_allowed = false;
                    return Some(Ok(Token::EndNode));
                }
                FDT_PROP => {
                    if !self.props_allowed {
                        return self.error("property outside a node or after a subnode");
                    }
                    let (Some(len), Some(nameoff)) =
                        (be32(self.structs, body), be32(self.structs, body + 4))
                    else {
                        return self.error("property header is truncated");
                    };
                    let start = body + 8;
                    let Some(end) = start.checked_add(len as usize) else {
                        return self.error("property length overflows");
                    };
                    let Some(value) = self.structs.get(start..end) else {
                        return self.error("property value runs past the structure block");
                    };
                    let Some((name, _)) = self.strings.get(nameoff as usize..).and_then(cstr)
                    else {
                        return self.error("property name is not a terminated UTF-8 string");
                    };
                    let Some(next) = align4(end) else {
                        return self.error("property length overflows");
                    };
                    self.pos = next;
                    return Some(Ok(Token::Property { name, value }));
                }
                FDT_END => {
                    if !self.root_seen || self.depth != 0 {
                        return self.error("FDT_END inside a node or before the root");
                    }
                    self.done = true;
                    return None;
                }
                _ => return self.error("unknown token"),
            }
        }
    }
}
