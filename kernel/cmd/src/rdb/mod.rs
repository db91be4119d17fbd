//! Redis's serialized form of a string, as DUMP gives it and RESTORE takes
//! it (Redis 7.0.15's `createDumpPayload`, `verifyDumpPayload`, and the
//! string parts of src/rdb.c), with no store in sight, so that it is
//! tested on its own:
//!
//! ```text
//!   0x00 (RDB_TYPE_STRING) | the string | RDB version, u16 LE | CRC-64, u64 LE
//! ```
//!
//! The string is RDB's: one in `string2ll`'s form whose integer fits 32
//! bits as `0xc0|n` and the integer in 1, 2 or 4 bytes (LE); one of more
//! than 20 bytes that LZF (`lzf`) makes at least four bytes shorter as
//! `0xc3 | compressed length | length | compressed bytes`; any other as its
//! length and its bytes. A length is 6 bits (`00xxxxxx`), 14 bits
//! (`01xxxxxx` and a byte), or a byte `0x80` / `0x81` then 32 / 64 bits
//! big-endian. The CRC (`crc64`) covers everything before it.

mod crc64;
mod lzf;

use alloc::borrow::Cow;
use alloc::format;
use alloc::vec::Vec;

use crate::args::parse_i64;

/// The RDB version DUMP writes and the newest RESTORE takes (Redis 7.0's).
const VERSION: u16 = 10;
/// RDB's type byte of a string (`RDB_TYPE_STRING`), the one type unikv
/// has.
const TYPE_STRING: u8 = 0;
/// A length byte's top two bits when it says how the string is encoded
/// (`RDB_ENCVAL`) rather than its length.
const ENCODED: u8 = 3;
/// The encodings (`RDB_ENC_*`): 8-, 16-, 32-bit integers, LZF.
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;
/// The footer: the version and the CRC.
const FOOTER: usize = 2 + 8;

/// Why RESTORE refuses a payload: Redis's two errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Shorter than its footer, of an RDB version after [`VERSION`], or
    /// with a CRC that does not match (`verifyDumpPayload`).
    Footer,
    /// Not a string in RDB's encoding, or one that does not decompress
    /// (`rdbLoadObject` failed).
    Format,
}

/// What DUMP gives for a string of these bytes: what Redis 7.0.15 gives,
/// whatever encoding it keeps the string in (an `int` object is saved by
/// its value, the others by `rdbSaveRawString`, and both come to the same
/// bytes), with `rdbcompression yes`, Redis's default.
pub(crate) fn dump(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 9 + value.len() + FOOTER);
    out.push(TYPE_STRING);
    save_string(&mut out, value);
    out.extend_from_slice(&VERSION.to_le_bytes());
    let crc = crc64::crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// `rdbSaveRawString`.
fn save_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(n) = parse_i64(s) {
            if let Ok(n) = i8::try_from(n) {
                out.extend_from_slice(&[ENCODED << 6 | ENC_INT8, n as u8]);
                return;
            }
            if let Ok(n) = i16::try_from(n) {
                out.push(ENCODED << 6 | ENC_INT16);
                out.extend_from_slice(&n.to_le_bytes());
                return;
            }
            if let Ok(n) = i32::try_from(n) {
                out.push(ENCODED << 6 | ENC_INT32);
                out.extend_from_slice(&n.to_le_bytes());
                return;
            }
        }
    }
    // Redis does not try below 21 bytes: nothing that short compresses by
    // more than four.
    if s.len() > 20 {
        if let Some(compressed) = lzf::compress(s) {
            out.push(ENCODED << 6 | ENC_LZF);
            save_len(out, compressed.len() as u64);
            save_len(out, s.len() as u64);
            out.extend_from_slice(&compressed);
            return;
        }
    }
    save_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// `rdbSaveLen`.
fn save_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.extend_from_slice(&[0x40 | (len >> 8) as u8, len as u8]);
    } else if let Ok(len) = u32::try_from(len) {
        out.push(0x80);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// A payload's string, checked but not decompressed yet: its length is
/// known first, so that a caller can refuse one too long before it takes
/// the memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Loaded<'a> {
    /// Stored as it is.
    Bytes(&'a [u8]),
    /// An integer-encoded string: its value in decimal.
    Int(i64),
    /// LZF-compressed: `compressed` should come to `len` bytes.
    Lzf { compressed: &'a [u8], len: usize },
}

impl<'a> Loaded<'a> {
    /// The string's length (an LZF one's as the payload says it).
    pub(crate) fn len(&self) -> usize {
        match self {
            Loaded::Bytes(b) => b.len(),
            Loaded::Int(n) => format!("{n}").len(),
            Loaded::Lzf { len, .. } => *len,
        }
    }

    /// The string's bytes; [`Refusal::Format`] if they do not decompress
    /// to the length the payload gave. An LZF string of length 0 is empty
    /// whatever its compressed bytes, as in Redis (`lzf_decompress` fails
    /// with 0, which is the length asked).
    pub(crate) fn into_bytes(self) -> Result<Cow<'a, [u8]>, Refusal> {
        match self {
            Loaded::Bytes(b) => Ok(Cow::Borrowed(b)),
            Loaded::Int(n) => Ok(Cow::Owned(format!("{n}").into_bytes())),
            Loaded::Lzf { len: 0, .. } => Ok(Cow::Owned(Vec::new())),
            Loaded::Lzf { compressed, len } => lzf::decompress(compressed, len)
                .map(Cow::Owned)
                .ok_or(Refusal::Format),
        }
    }
}

/// RESTORE's reading of `payload`: its footer checked, then a string read
/// from its start as Redis reads it, from the whole payload, footer
/// included. Like Redis, then, bytes left between the string and the
/// footer are ignored, and a string may run into the footer's bytes (ten
/// zero bytes are a valid payload: version 0, whose CRC is 0, holding the
/// empty string its zero bytes say).
pub(crate) fn load(payload: &[u8]) -> Result<Loaded<'_>, Refusal> {
    verify(payload)?;
    let mut r = Reader { rest: payload };
    if r.byte()? != TYPE_STRING {
        return Err(Refusal::Format);
    }
    let (len, encoded) = r.len()?;
    if !encoded {
        return Ok(Loaded::Bytes(r.take(len)?));
    }
    // An encoding is the length byte's low 6 bits.
    match len as u8 {
        ENC_INT8 => Ok(Loaded::Int(i64::from(r.byte()? as i8))),
        ENC_INT16 => Ok(Loaded::Int(i64::from(i16::from_le_bytes(r.array()?)))),
        ENC_INT32 => Ok(Loaded::Int(i64::from(i32::from_le_bytes(r.array()?)))),
        ENC_LZF => {
            // Redis reads both lengths as lengths, an encoded one too.
            let (clen, _) = r.len()?;
            let (len, _) = r.len()?;
            let compressed = r.take(clen)?;
            // Longer than any LZF of this size can say: it cannot
            // decompress to it (and is not allocated to find out).
            if len > clen.saturating_mul(lzf::MAX_EXPANSION) {
                return Err(Refusal::Format);
            }
            let len = usize::try_from(len).map_err(|_| Refusal::Format)?;
            Ok(Loaded::Lzf { compressed, len })
        }
        _ => Err(Refusal::Format),
    }
}

/// `verifyDumpPayload` (with `skip-checksum-validation` off, as it is
/// unless DEBUG sets it): a CRC of 0 is checked like any other.
fn verify(payload: &[u8]) -> Result<(), Refusal> {
    let Some(body) = payload.len().checked_sub(FOOTER) else {
        return Err(Refusal::Footer);
    };
    let (body, footer) = payload.split_at(body);
    let (version, crc) = footer.split_at(2);
    if u16::from_le_bytes([version[0], version[1]]) > VERSION {
        return Err(Refusal::Footer);
    }
    let want = crc64::crc64(crc64::crc64(0, body), version);
    if crc != want.to_le_bytes() {
        return Err(Refusal::Footer);
    }
    Ok(())
}

/// The payload not read yet.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8], Refusal> {
        let n = usize::try_from(n).map_err(|_| Refusal::Format)?;
        if n > self.rest.len() {
            return Err(Refusal::Format);
        }
        let (taken, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(taken)
    }

    fn byte(&mut self) -> Result<u8, Refusal> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Refusal> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N as u64)?);
        Ok(a)
    }

    /// `rdbLoadLenByRef`: a length, or (true) the encoding of what follows.
    fn len(&mut self) -> Result<(u64, bool), Refusal> {
        let b = self.byte()?;
        Ok(match (b >> 6, b) {
            (ENCODED, _) => (u64::from(b & 0x3f), true),
            (0, _) => (u64::from(b), false),
            (1, _) => ((u64::from(b & 0x3f) << 8) | u64::from(self.byte()?), false),
            (_, 0x80) => (u64::from(u32::from_be_bytes(self.array()?)), false),
            (_, 0x81) => (u64::from_be_bytes(self.array()?), false),
            _ => return Err(Refusal::Format),
        })
    }
}

#[cfg(test)]
mod tests;
