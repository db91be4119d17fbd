//! Redis's serialized form of a string, as DUMP gives it (Redis 7.0.15's
//! `createDumpPayload` and the string parts of src/rdb.c), with no store
//! in sight, so that it is tested on its own:
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

use alloc::vec::Vec;

use crate::args::parse_i64;

/// The RDB version DUMP writes (Redis 7.0's).
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

#[cfg(test)]
mod tests;
