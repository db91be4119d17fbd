//! Stored values as ldb shows and reads them: decoded and encoded by the kv
//! service's own codec ([`kv::value`]), written as console tokens, the
//! value then, for one that expires, Redis's SET option `PXAT <unix-ms>`,
//! so that a line reads as the command it stands for.
//!
//! Expiry is judged against the host's clock, as the kernel judges it
//! against its own: an expired value reads as absent.

use std::time::{SystemTime, UNIX_EPOCH};

use console::quote;
use kv::value::{decode, BadValue, Raw};

/// Redis's SET option for an expiry given as Unix milliseconds.
pub const PXAT: &str = "PXAT";

/// The host's time now, in Unix milliseconds (0 for a clock before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Stored bytes as a reader sees them at `now_ms`: `None` once expired.
pub fn live(stored: &[u8], now_ms: u64) -> Result<Option<Raw<'_>>, BadValue> {
    let raw = decode(stored)?;
    Ok((!raw.is_expired(now_ms)).then_some(raw))
}

/// A value as console tokens: `"value"`, or `"value" PXAT <unix-ms>`.
pub fn value_text(raw: &Raw<'_>) -> String {
    match raw.expires_at {
        None => quote(raw.value),
        Some(at) => format!("{} {PXAT} {at}", quote(raw.value)),
    }
}

/// A pair as one line of console tokens: `"key" "value"`, or
/// `"key" "value" PXAT <unix-ms>`.
pub fn pair_line(key: &[u8], raw: &Raw<'_>) -> String {
    format!("{} {}\n", quote(key), value_text(raw))
}

/// What `sst` says of stored bytes after their raw form, whatever the
/// time: `string`, `string expires <unix-ms>`, or `undecodable`.
pub fn describe(stored: &[u8]) -> String {
    match decode(stored) {
        Ok(raw) => match raw.expires_at {
            None => raw.kind.name().to_string(),
            Some(at) => format!("{} expires {at}", raw.kind.name()),
        },
        Err(_) => "undecodable".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kv::value::encode;

    #[test]
    fn values_with_and_without_expiry_as_tokens() {
        let plain = encode(b"a \"b\"\x00", None);
        let raw = decode(&plain).unwrap();
        assert_eq!(value_text(&raw), "\"a \\\"b\\\"\\x00\"");
        assert_eq!(pair_line(b"k\n", &raw), "\"k\\n\" \"a \\\"b\\\"\\x00\"\n");
        let expiring = encode(b"", Some(1_700_000_000_123));
        let raw = decode(&expiring).unwrap();
        assert_eq!(value_text(&raw), "\"\" PXAT 1700000000123");
        assert_eq!(pair_line(b"k", &raw), "\"k\" \"\" PXAT 1700000000123\n");
        let line = pair_line(b"k", &raw);
        assert_eq!(
            console::split_args(line.trim_end().as_bytes()).unwrap(),
            [&b"k"[..], b"", b"PXAT", b"1700000000123"]
        );
    }

    #[test]
    fn expired_values_read_as_absent_and_foreign_bytes_as_an_error() {
        let v = encode(b"v", Some(1000));
        // As in Redis, a key expires once its millisecond has passed.
        assert_eq!(live(&v, 1000).unwrap().map(|r| r.value), Some(&b"v"[..]));
        assert_eq!(live(&v, 1001).unwrap(), None);
        assert_eq!(
            live(&encode(b"v", None), u64::MAX).unwrap().unwrap().value,
            b"v"
        );
        assert_eq!(live(b"\x41bc", 0), Err(BadValue { tag: Some(0x41) }));
        assert_eq!(live(b"", 0), Err(BadValue { tag: None }));
        assert!(
            now_ms() > 1_600_000_000_000,
            "the host's clock is in Unix ms"
        );
    }

    #[test]
    fn sst_describes_every_stored_value() {
        assert_eq!(describe(&encode(b"x", None)), "string");
        assert_eq!(describe(&encode(b"x", Some(5))), "string expires 5");
        assert_eq!(describe(b"\x80\x01"), "undecodable");
        assert_eq!(describe(b"plain"), "undecodable");
    }
}
