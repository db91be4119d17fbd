//! How a value is stored: a tag byte (the value's type, and whether an
//! expiry time follows), the expiry as Unix milliseconds (8 bytes, little
//! endian) when there is one, then the payload.
//!
//! ```text
//!   string:               0x00 | payload
//!   string that expires:  0x80 | expires_at_ms (u64 LE) | payload
//!   changed in place:     tag | 0x40 (APPEND to a value, SETRANGE)
//! ```
//!
//! The store below (`lsm`) sees only bytes; this is where they get their
//! meaning, for every front end and for `tools/ldb`. Expiry lives in the
//! store, so it survives reboots and compactions; an expired value reads as
//! absent, and compactions drop it ([`Expired`]).

use alloc::vec::Vec;
use core::fmt;

use lsm::db::CompactionFilter;

/// The tag's type bits: a string (the only type so far).
const STRING: u8 = 0x00;
/// The tag bit that says an expiry time follows.
const EXPIRES: u8 = 0x80;
/// The tag bit of a string changed in place ([`Kind::StringInPlace`]).
const IN_PLACE: u8 = 0x40;
/// The most bytes the encoding adds to a payload: the tag and the expiry.
pub const MAX_HEADER: usize = 9;

/// What a value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Bytes (Redis's string), as written whole.
    String,
    /// A string changed in place since it was last written whole (APPEND
    /// to a value, SETRANGE): Redis keeps such a string in its `raw`
    /// encoding whatever its bytes, where one written whole is encoded by
    /// its bytes (an integer, short, long), and `OBJECT ENCODING` says so.
    StringInPlace,
}

impl Kind {
    /// Redis's name for it (`TYPE`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::String | Kind::StringInPlace => "string",
        }
    }

    fn tag(self) -> u8 {
        match self {
            Kind::String => STRING,
            Kind::StringInPlace => STRING | IN_PLACE,
        }
    }
}

/// A stored value, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its type.
    pub kind: Kind,
    /// When it expires, in Unix milliseconds; `None` for never.
    pub expires_at: Option<u64>,
    /// The value itself.
    pub value: Vec<u8>,
}

impl Entry {
    /// A string that never expires.
    pub fn string(value: Vec<u8>) -> Entry {
        Entry {
            kind: Kind::String,
            expires_at: None,
            value,
        }
    }

    /// Whether it has expired at `now_ms`: once that time has passed, as
    /// in Redis (a key expiring at `now_ms` still reads, with a TTL of 0).
    pub fn is_expired(&self, now_ms: u64) -> bool {
        expired(self.expires_at, now_ms)
    }

    /// The bytes the store keeps.
    pub fn encode(&self) -> Vec<u8> {
        self.header().join(&self.value)
    }

    /// The bytes the store keeps before the payload: with the payload, what
    /// [`Entry::encode`] makes, for a writer that copies the two where they
    /// go (a write batch) instead of joining them first.
    pub fn header(&self) -> Header {
        header_of(self.kind, self.expires_at)
    }
}

/// The tag and the expiry, when there is one: the bytes before a payload.
#[derive(Clone, Copy, Debug)]
pub struct Header {
    bytes: [u8; MAX_HEADER],
    len: usize,
}

impl Header {
    /// The header's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The stored bytes: this header, then `payload`.
    fn join(&self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len + payload.len());
        out.extend_from_slice(self.as_bytes());
        out.extend_from_slice(payload);
        out
    }
}

/// The header of a string expiring at `expires_at`.
pub fn header(expires_at: Option<u64>) -> Header {
    header_of(Kind::String, expires_at)
}

/// The header of a value of `kind` expiring at `expires_at`.
pub fn header_of(kind: Kind, expires_at: Option<u64>) -> Header {
    let mut bytes = [0u8; MAX_HEADER];
    match expires_at {
        None => {
            bytes[0] = kind.tag();
            Header { bytes, len: 1 }
        }
        Some(at) => {
            bytes[0] = kind.tag() | EXPIRES;
            bytes[1..].copy_from_slice(&at.to_le_bytes());
            Header {
                bytes,
                len: MAX_HEADER,
            }
        }
    }
}

fn expired(expires_at: Option<u64>, now_ms: u64) -> bool {
    expires_at.is_some_and(|at| at < now_ms)
}

/// The stored bytes of a string `value` expiring at `expires_at`.
pub fn encode(value: &[u8], expires_at: Option<u64>) -> Vec<u8> {
    header(expires_at).join(value)
}

/// A stored value that is not in this format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadValue {
    /// The tag byte found (`None`: the value was empty, or cut short).
    pub tag: Option<u8>,
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.tag {
            Some(t) => write!(f, "a stored value has an unknown type tag {t:#04x}"),
            None => f.write_str("a stored value is cut short"),
        }
    }
}

/// The stored bytes, decoded without copying the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Raw<'a> {
    /// Its type.
    pub kind: Kind,
    /// When it expires.
    pub expires_at: Option<u64>,
    /// The payload.
    pub value: &'a [u8],
}

impl Raw<'_> {
    /// Whether it has expired at `now_ms` (see [`Entry::is_expired`]).
    pub fn is_expired(&self, now_ms: u64) -> bool {
        expired(self.expires_at, now_ms)
    }

    /// An owned copy.
    pub fn to_entry(&self) -> Entry {
        Entry {
            kind: self.kind,
            expires_at: self.expires_at,
            value: self.value.to_vec(),
        }
    }
}

/// Whether stored bytes carry an expiry, from the tag alone.
pub fn has_expiry(stored: &[u8]) -> bool {
    stored.first().is_some_and(|t| t & EXPIRES != 0)
}

/// Decodes stored bytes.
#[inline]
pub fn decode(stored: &[u8]) -> Result<Raw<'_>, BadValue> {
    let (&tag, rest) = stored.split_first().ok_or(BadValue { tag: None })?;
    if tag & !(EXPIRES | IN_PLACE) != STRING {
        return Err(BadValue { tag: Some(tag) });
    }
    let kind = if tag & IN_PLACE != 0 {
        Kind::StringInPlace
    } else {
        Kind::String
    };
    let (expires_at, value) = if tag & EXPIRES != 0 {
        if rest.len() < 8 {
            return Err(BadValue { tag: None });
        }
        let (at, value) = rest.split_at(8);
        let mut word = [0u8; 8];
        word.copy_from_slice(at);
        (Some(u64::from_le_bytes(word)), value)
    } else {
        (None, rest)
    };
    Ok(Raw {
        kind,
        expires_at,
        value,
    })
}

/// The compaction filter that reclaims expired values: compactions ask it
/// about each value and drop those whose time has passed.
pub struct Expired {
    /// The time now, in Unix microseconds.
    pub wall_us: fn() -> u64,
}

impl CompactionFilter for Expired {
    fn is_dead(&self, _key: &[u8], value: &[u8]) -> bool {
        // The tag first: the clock is read only for values with an expiry
        // (read for every entry it took a sixth of the background core's
        // time in a 1M-key fillrandom, each read a call out of QEMU's
        // generated code and a division).
        has_expiry(value) && decode(value).is_ok_and(|v| v.is_expired((self.wall_us)() / 1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn round_trips_and_exact_bytes() {
        assert_eq!(encode(b"abc", None), b"\x00abc");
        assert_eq!(
            encode(b"v", Some(0x0102_0304_0506_0708)),
            [0x80, 8, 7, 6, 5, 4, 3, 2, 1, b'v']
        );
        for (v, at) in [
            (&b""[..], None),
            (b"x\x00y", Some(5)),
            (b"", Some(u64::MAX)),
        ] {
            let stored = encode(v, at);
            let raw = decode(&stored).unwrap();
            assert_eq!((raw.value, raw.expires_at, raw.kind), (v, at, Kind::String));
            assert_eq!(raw.to_entry().encode(), stored);
            let e = raw.to_entry();
            assert_eq!([e.header().as_bytes(), &e.value].concat(), stored);
        }
    }

    #[test]
    fn a_string_changed_in_place_keeps_saying_so() {
        for at in [None, Some(7)] {
            let e = Entry {
                kind: Kind::StringInPlace,
                expires_at: at,
                value: b"1234".to_vec(),
            };
            let stored = e.encode();
            assert_eq!(stored[0] & 0x40, 0x40);
            let raw = decode(&stored).unwrap();
            assert_eq!(raw.to_entry(), e);
            assert_eq!(raw.kind.name(), "string");
            assert_eq!([e.header().as_bytes(), &e.value].concat(), stored);
        }
    }

    #[test]
    fn foreign_bytes_are_an_error_never_a_panic() {
        assert_eq!(decode(b""), Err(BadValue { tag: None }));
        assert_eq!(decode(b"\x01abc"), Err(BadValue { tag: Some(1) }));
        assert_eq!(decode(b"\x20abc"), Err(BadValue { tag: Some(0x20) }));
        assert_eq!(decode(b"\x80\x01\x02"), Err(BadValue { tag: None }));
        for n in 0..=255u8 {
            let _ = decode(&[n, 1, 2, 3]);
        }
        assert_eq!(
            BadValue { tag: Some(0x41) }.to_string(),
            "a stored value has an unknown type tag 0x41"
        );
    }

    #[test]
    fn expiry() {
        let e = Entry {
            kind: Kind::String,
            expires_at: Some(1000),
            value: vec![],
        };
        assert!(!e.is_expired(999));
        assert!(!e.is_expired(1000), "alive through its last millisecond");
        assert!(e.is_expired(1001));
        assert!(!Entry::string(vec![]).is_expired(u64::MAX));
        fn late() -> u64 {
            2_000_000
        }
        let f = Expired { wall_us: late };
        assert!(f.is_dead(b"k", &e.encode()));
        assert!(!f.is_dead(b"k", &Entry::string(vec![1]).encode()));
        assert!(!f.is_dead(b"k", b"\x07garbage"), "not ours to judge");
    }
}
