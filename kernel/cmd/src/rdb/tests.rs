//! The payload's tests: Redis 7.0.15's own DUMPs (taken from a real
//! redis-server 7.0.15) made and read again, and hostile payloads.

use super::*;
use alloc::string::String;
use alloc::vec;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A payload of `body` with its footer: version `version`, the right CRC.
fn framed(body: &[u8], version: u16) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    let crc = crc64::crc64(0, &p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

fn restored(payload: &[u8]) -> Result<Vec<u8>, Refusal> {
    load(payload)?.into_bytes().map(Cow::into_owned)
}

/// Words, some binary, picked by a 64-bit LCG: text with repeats near and
/// far, as the generator that made the Redis payloads below made it.
fn text(mut x: u64, n: usize) -> Vec<u8> {
    const WORDS: [&[u8]; 12] = [
        b"unikv ",
        b"redis ",
        b"dump",
        b"restore ",
        b"lsm-",
        b"0123456789",
        b"\x00\xff",
        b"key:",
        b"value ",
        b"x",
        b"yz",
        b"\n",
    ];
    let mut out = Vec::new();
    while out.len() < n {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.extend_from_slice(WORDS[((x >> 33) % WORDS.len() as u64) as usize]);
    }
    out.truncate(n);
    out
}

/// Bytes from the same LCG's top byte: nothing for LZF to find.
fn noise(mut x: u64, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect()
}

/// (value, Redis's DUMP of it), each as redis-server 7.0.15 gave it.
fn redis_dumps() -> Vec<(Vec<u8>, Vec<u8>)> {
    let small: [(&[u8], &str); 21] = [
        (b"123", "00c07b0a0048e253e1007a67b9"),
        (b"-1", "00c0ff0a000c937e2485089dc5"),
        (b"0", "00c0000a009840a778f8500308"),
        (b"127", "00c07f0a000db5eb315254c514"),
        (b"128", "00c180000a00eb7ab3b510cf4b65"),
        (b"-128", "00c0800a009966326d2f0c5bd9"),
        (b"-129", "00c17fff0a001760822854808480"),
        (b"32767", "00c1ff7f0a00495a37da17f4d52b"),
        (b"32768", "00c2008000000a0045d82eedd5bda910"),
        (b"-32768", "00c100800a00b540064753bb1ace"),
        (b"2147483647", "00c2ffffff7f0a002c74e59ee02eada1"),
        (
            b"2147483648",
            "000a323134373438333634380a00e7b129a34c1d76ee",
        ),
        (b"-2147483648", "00c2000000800a00c74f873e33558187"),
        (
            b"12345678901",
            "000b31323334353637383930310a00304e52d727176510",
        ),
        (
            b"123456789012",
            "000c3132333435363738393031320a00911001b1d116e7ac",
        ),
        (b"01", "000230310a006cddc441144c7da4"),
        (b"hello", "000568656c6c6f0a006372df766534200a"),
        (
            b"abcdefghij",
            "000a6162636465666768696a0a0053434dd27d952d4c",
        ),
        (b"", "00000a005d9b5c400f7fa2da"),
        (b"bar", "00036261720a00e6be4960ee66fd17"),
        (
            b"9223372036854775807",
            "0013393232333337323033363835343737353830370a003a657e9481e85f22",
        ),
    ];
    let mut all: Vec<(Vec<u8>, Vec<u8>)> =
        small.iter().map(|(v, d)| (v.to_vec(), hex(d))).collect();
    all.extend([
        (
            vec![b'a'; 100],
            hex("00c3094064016161e057000161610a00e8a3b507b06df271"),
        ),
        (
            vec![b'a'; 21],
            hex("00c30615016161e00a000a00fd0cb36807413f68"),
        ),
        (
            b"abcdefghijklmnopqrstu".to_vec(),
            hex("00156162636465666768696a6b6c6d6e6f7071727374750a00ad1c23029a10e306"),
        ),
        (
            text(1, 60),
            hex("00c3343c1064756d7078756e696b762000ff00ff0a64200f0e797a78797a726573746f726520797a801d8005401e086c736d2d797a0a6c730a00aafdb61e4c903e21"),
        ),
        (
            text(2, 300),
            hex("00c340b4412c136c736d2d00ff756e696b762076616c7565200a0a800d0700ff7864756d700a400403797a797ac0150b00ff30313233343536373839401b036b65793a8039400de001090472656469732045000a200240230200ff6c206b0a78797a726573746f7265208020e0014c401e80644009c025805040404003401980118005020a797a4075401a804e0100ff80188005027800ffc047c0070100ff403001797ae003c6e00183e00109000a804180050078203d01746f0a00467a588d0ad1b8c1"),
        ),
        (
            noise(3, 100),
            hex("0040641c53bc589e61807b8db3f8e040c1e7da3fc471c93b70e87c31756a4bbe7544d0a448454a037509a983d38ad3b769faaeecd6c7e1fa138b56417d6e4dd343055fead9d2d1a340143eab3198bca6166d14acbf275b1214574156d1fbe0d02cc29f504c31780a00b158466420b57469"),
        ),
    ]);
    all
}

/// Redis's DUMP of a longer string, by its length, first bytes and CRC
/// (which covers every other byte).
struct LongDump {
    value: fn() -> Vec<u8>,
    len: usize,
    head: &'static str,
    crc: &'static str,
}

const REDIS_LONG: [LongDump; 4] = [
    LongDump {
        value: || text(3, 20_000),
        len: 7091,
        head: "00c35ba08000004e200e0a6b",
        crc: "78495d06fd4730e5",
    },
    LongDump {
        value: || text(4, 100_000),
        len: 34559,
        head: "00c380000086e980000186a0",
        crc: "d30305bfa2c9ad3d",
    },
    LongDump {
        value: || noise(5, 70_000),
        len: 70016,
        head: "008000011170cd23d24f7142",
        crc: "8d71195d29bec0a6",
    },
    LongDump {
        value: || text(5, 5000),
        len: 1861,
        head: "00c3473553881b6c736d2d30",
        crc: "b4b2fcb07c1f035b",
    },
];

#[test]
fn dumps_as_redis_7_0_15() {
    for (value, want) in redis_dumps() {
        assert_eq!(dump(&value), want, "{:?}", String::from_utf8_lossy(&value));
    }
    for long in REDIS_LONG {
        let d = dump(&(long.value)());
        assert_eq!(d.len(), long.len);
        assert_eq!(d[..12], hex(long.head));
        assert_eq!(d[long.len - 8..], hex(long.crc));
    }
}

#[test]
fn restores_redis_payloads() {
    for (value, payload) in redis_dumps() {
        assert_eq!(restored(&payload), Ok(value));
    }
    for long in REDIS_LONG {
        let value = (long.value)();
        assert_eq!(restored(&dump(&value)), Ok(value));
    }
    // Integer encodings come back as their decimal.
    assert_eq!(
        load(&hex("00c07b0a0048e253e1007a67b9")),
        Ok(Loaded::Int(123))
    );
    assert_eq!(Loaded::Int(-2147483648).len(), 11);
}

#[test]
fn lengths_in_every_form() {
    let forms: [(u64, &[u8]); 7] = [
        (0, &[0x00]),
        (63, &[0x3f]),
        (64, &[0x40, 0x40]),
        (16383, &[0x7f, 0xff]),
        (16384, &[0x80, 0x00, 0x00, 0x40, 0x00]),
        (u32::MAX as u64, &[0x80, 0xff, 0xff, 0xff, 0xff]),
        (1 << 32, &[0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
    ];
    for (len, bytes) in forms {
        let mut out = Vec::new();
        save_len(&mut out, len);
        assert_eq!(out, bytes, "{len}");
        let mut r = Reader { rest: &out };
        assert_eq!(r.len(), Ok((len, false)), "{len}");
        assert!(r.rest.is_empty());
    }
    // A 32-bit length on a short string, which Redis never writes, reads.
    let p = framed(&[0x00, 0x80, 0, 0, 0, 3, b'a', b'b', b'c'], VERSION);
    assert_eq!(restored(&p), Ok(b"abc".to_vec()));
    let p = framed(&[0x00, 0x81, 0, 0, 0, 0, 0, 0, 0, 1, b'z'], VERSION);
    assert_eq!(restored(&p), Ok(b"z".to_vec()));
}

#[test]
fn refuses_a_wrong_footer() {
    let good = dump(b"bar");
    assert_eq!(restored(&good), Ok(b"bar".to_vec()));
    // Any bit changed anywhere breaks the CRC (or the version).
    for i in 0..good.len() {
        for bit in 0..8 {
            let mut bad = good.clone();
            bad[i] ^= 1 << bit;
            assert_eq!(restored(&bad), Err(Refusal::Footer), "{i} {bit}");
        }
    }
    // Too short for a footer.
    for n in 0..FOOTER {
        assert_eq!(restored(&good[..n]), Err(Refusal::Footer));
    }
    // Older versions are taken, newer ones refused.
    for version in [0, 1, 9, 10] {
        assert_eq!(
            restored(&framed(b"\x00\x03bar", version)),
            Ok(b"bar".to_vec())
        );
    }
    for version in [11, 12, 0xff00] {
        let p = framed(b"\x00\x03bar", version);
        assert_eq!(restored(&p), Err(Refusal::Footer), "{version}");
    }
    // A zero CRC is checked like any other.
    let mut zero = good.clone();
    let n = zero.len();
    zero[n - 8..].fill(0);
    assert_eq!(restored(&zero), Err(Refusal::Footer));
}

#[test]
fn reads_as_redis_reads_into_the_footer_and_past_the_string() {
    // Ten zero bytes: version 0, CRC 0, and a string of length 0 at the
    // start (real Redis 7.0.15 restores it).
    assert_eq!(restored(&[0; 10]), Ok(Vec::new()));
    // A string whose length runs into the footer takes its bytes.
    let p = framed(b"\x00\x05abc", VERSION);
    assert_eq!(restored(&p), Ok(b"abc\x0a\x00".to_vec()));
    // Bytes between the string and the footer are ignored.
    let p = framed(b"\x00\x03barJUNK", VERSION);
    assert_eq!(restored(&p), Ok(b"bar".to_vec()));
    // But not a string past the payload's end.
    let p = framed(b"\x00\x0eabc", VERSION);
    assert_eq!(restored(&p), Err(Refusal::Format));
}

#[test]
fn refuses_what_is_not_a_string() {
    // Every other type byte Redis has (a list, set, zset, hash, module,
    // the compact encodings, streams) and bytes that are no type at all.
    for ty in 1..=255u8 {
        let p = framed(&[ty, 0x03, b'b', b'a', b'r'], VERSION);
        assert_eq!(restored(&p), Err(Refusal::Format), "{ty}");
    }
    // Real Redis 7.0.15's DUMP of a list (RPUSH l a b c).
    let list = hex("12010210100000000300816102816202816302ff0a00c818b90c9533529e");
    assert_eq!(load(&list), Err(Refusal::Format));
}

#[test]
fn refuses_malformed_strings() {
    // Each is read with its footer, as Redis reads it: what would run
    // past the payload's end fails, what fits in the footer does not.
    let bad: [&[u8]; 12] = [
        // A length of 0x0a (the version's first byte) with 9 bytes left.
        b"\x00",
        // LZF: the compressed length runs past the end; the compressed
        // bytes are missing; they do not decompress to the length.
        b"\x00\xc3",
        b"\x00\xc3\x10\x05abc",
        b"\x00\xc3\x01\x20",
        b"\x00\xc3\x03\x05\x02abc",
        // Encodings 4..63 do not exist.
        b"\x00\xc4",
        b"\x00\xff",
        // Length forms 0x82..0xbf do not exist.
        b"\x00\x82abc",
        b"\x00\xbfabc",
        // A 14-bit length of 0x0a00 and of 256 on short strings.
        b"\x00\x4a",
        b"\x00\x41\x00abc",
        // The fuzzer's huge string of Redis's corrupt-dump.tcl.
        b"\x00\x81\x01\x09\x00\xf6\x2b\xb6\x7a\x85",
    ];
    for body in bad {
        let p = framed(body, VERSION);
        let got = load(&p).and_then(Loaded::into_bytes);
        assert_eq!(got, Err(Refusal::Format), "{body:x?}");
    }
    // An integer cut short reads its last bytes from the footer (which
    // always has enough): Redis restores it too.
    let p = framed(b"\x00\xc2\x01", VERSION);
    assert!(matches!(load(&p), Ok(Loaded::Int(_))));
    // An LZF string claiming more than its bytes can say.
    let mut body = vec![0x00, 0xc3, 0x03, 0x81];
    body.extend_from_slice(&(1u64 << 40).to_be_bytes());
    body.extend_from_slice(&[0x00, b'a', 0xe0]);
    assert_eq!(load(&framed(&body, VERSION)), Err(Refusal::Format));
}

#[test]
fn an_empty_lzf_string_is_empty_whatever_it_holds() {
    // Redis's lzf_decompress fails with 0, which is the length it asked.
    let p = framed(b"\x00\xc3\x03\x00\x05ab", VERSION);
    assert_eq!(restored(&p), Ok(Vec::new()));
    // Its compressed bytes must still be there to be read.
    let p = framed(b"\x00\xc3\x30\x00", VERSION);
    assert_eq!(restored(&p), Err(Refusal::Format));
}

proptest! {
    #[test]
    fn every_string_comes_back(value in prop::collection::vec(any::<u8>(), 0..600)) {
        prop_assert_eq!(restored(&dump(&value)), Ok(value));
    }

    #[test]
    fn repetitive_strings_come_back(
        seed in any::<u64>(),
        len in 0usize..5000,
        alphabet in 1u8..6,
    ) {
        let value: Vec<u8> = text(seed, len).iter().map(|b| b % alphabet).collect();
        prop_assert_eq!(restored(&dump(&value)), Ok(value));
    }

    #[test]
    fn numbers_come_back(n in any::<i64>()) {
        let value = format!("{n}").into_bytes();
        prop_assert_eq!(restored(&dump(&value)), Ok(value));
    }

    /// Anything with a valid footer loads or is refused, never panics; a
    /// string it loads is as long as it said.
    #[test]
    fn garbage_never_panics(body in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut body = body;
        if let Some(b) = body.first_mut() {
            *b = TYPE_STRING;
        }
        let p = framed(&body, VERSION);
        if let Ok(loaded) = load(&p) {
            let len = loaded.len();
            if let Ok(bytes) = loaded.into_bytes() {
                prop_assert_eq!(bytes.len(), len);
            }
        }
    }

    #[test]
    fn lzf_garbage_never_panics(
        compressed in prop::collection::vec(any::<u8>(), 0..64),
        len in 0usize..300,
    ) {
        if let Some(out) = lzf::decompress(&compressed, len) {
            prop_assert_eq!(out.len(), len);
        }
    }
}
