//! Each function against the plainest model of it: one bit at a time.

use super::*;
use alloc::vec::Vec;
use proptest::prelude::*;

fn model_bit(bytes: &[u8], i: u64) -> bool {
    let byte = (i / 8) as usize;
    byte < bytes.len() && (bytes[byte] >> (7 - i % 8)) & 1 == 1
}

/// Bytes, and two bit offsets inside them in order (none for no bytes).
fn bytes_and_range() -> impl Strategy<Value = (Vec<u8>, u64, u64)> {
    // Runs of 0x00 and 0xff too, where the word-at-a-time paths skip.
    let byte = prop_oneof![any::<u8>(), Just(0u8), Just(0xffu8)];
    proptest::collection::vec(byte, 1..80).prop_flat_map(|v| {
        let bits = v.len() as u64 * 8;
        (Just(v), 0..bits, 0..bits).prop_map(|(v, a, b)| (v, a.min(b), a.max(b)))
    })
}

proptest! {
    #[test]
    fn counts_match_the_model((v, first, last) in bytes_and_range()) {
        let all = (0..v.len() as u64 * 8).filter(|&i| model_bit(&v, i)).count() as u64;
        prop_assert_eq!(count_ones(&v), all);
        let some = (first..=last).filter(|&i| model_bit(&v, i)).count() as u64;
        prop_assert_eq!(count_ones_between(&v, first, last), some);
    }

    #[test]
    fn searches_match_the_model((v, first, last) in bytes_and_range(), bit: bool) {
        let whole = (0..v.len() as u64 * 8).find(|&i| model_bit(&v, i) == bit);
        prop_assert_eq!(first_in(&v, bit), whole);
        let some = (first..=last).find(|&i| model_bit(&v, i) == bit);
        prop_assert_eq!(first_between(&v, bit, first, last), some);
    }

    #[test]
    fn fields_read_back_what_was_written(
        mut v in proptest::collection::vec(any::<u8>(), 16..24),
        offset in 0u64..64,
        bits in 1u32..=64,
        value: u64,
    ) {
        let before = v.clone();
        set_field(&mut v, offset, bits, value);
        let low = if bits == 64 { value } else { value & ((1 << bits) - 1) };
        prop_assert_eq!(get_field(&v, offset, bits), low);
        // Only the field's bits changed.
        for i in 0..v.len() as u64 * 8 {
            if i < offset || i >= offset + u64::from(bits) {
                prop_assert_eq!(model_bit(&v, i), model_bit(&before, i));
            }
        }
        let signed = get_signed_field(&v, offset, bits);
        // Sign-extended: the same low bits, and in the field's range.
        prop_assert_eq!(signed as u64 & low_mask(bits), low);
        if bits < 64 {
            prop_assert!(signed >= -(1i64 << (bits - 1)) && signed < 1i64 << (bits - 1));
        }
    }

    #[test]
    fn unsigned_overflow_matches_wide_arithmetic(bits in 1u32..=63, value: u64, incr: i64) {
        let max = (1u128 << bits) - 1;
        let value = value & ((1u64 << bits) - 1);
        let exact = i128::from(value) + i128::from(incr);
        let fits = exact >= 0 && exact as u128 <= max;
        match add_unsigned(value, incr, bits, Overflow::Wrap) {
            Ok(v) => { prop_assert!(fits); prop_assert_eq!(i128::from(v), exact); }
            Err(w) => {
                prop_assert!(!fits);
                prop_assert_eq!(w, Some((exact.rem_euclid(max as i128 + 1)) as u64));
            }
        }
        let sat = add_unsigned(value, incr, bits, Overflow::Sat).unwrap_or_else(|v| v.unwrap());
        prop_assert_eq!(i128::from(sat), exact.clamp(0, max as i128));
        prop_assert_eq!(add_unsigned(value, incr, bits, Overflow::Fail).is_err(), !fits);
    }

    #[test]
    fn signed_overflow_matches_wide_arithmetic(bits in 1u32..=64, value: i64, incr: i64) {
        let (min, max) = (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
        let value = (value as i128).clamp(min, max) as i64;
        let exact = i128::from(value) + i128::from(incr);
        let fits = (min..=max).contains(&exact);
        let span = 1i128 << bits;
        let wrapped = (exact - min).rem_euclid(span) + min;
        match add_signed(value, incr, bits, Overflow::Wrap) {
            Ok(v) => { prop_assert!(fits); prop_assert_eq!(i128::from(v), exact); }
            Err(w) => { prop_assert!(!fits); prop_assert_eq!(w.map(i128::from), Some(wrapped)); }
        }
        let sat = add_signed(value, incr, bits, Overflow::Sat).unwrap_or_else(|v| v.unwrap());
        prop_assert_eq!(i128::from(sat), exact.clamp(min, max));
        prop_assert_eq!(add_signed(value, incr, bits, Overflow::Fail).is_err(), !fits);
    }
}

fn low_mask(bits: u32) -> u64 {
    u64::MAX >> (64 - bits)
}

#[test]
fn bits_past_the_end_read_as_zeros() {
    assert!(!get(b"", 0));
    assert!(!get(b"\xff", 8));
    assert!(get(b"\x80", 0));
    assert!(!get(b"\xff", u64::MAX));
    assert_eq!(get_field(b"\xff", 4, 8), 0xf0);
    assert_eq!(get_signed_field(b"\xff", 4, 8), -16);
}

/// Redis's own examples (BITFIELD's documentation and tests).
#[test]
fn redis_examples() {
    // "BITFIELD signed SET and GET basics": i8 at 0 set to -100, then 101.
    let mut v = [0u8; 1];
    set_field(&mut v, 0, 8, -100i64 as u64);
    assert_eq!(get_signed_field(&v, 0, 8), -100);
    // "BITFIELD unsigned overflow wrap": u8 at 0 is 100, INCRBY 257 wraps to 101.
    assert_eq!(add_unsigned(100, 257, 8, Overflow::Wrap), Err(Some(101)));
    assert_eq!(add_unsigned(100, 257, 8, Overflow::Sat), Err(Some(255)));
    assert_eq!(add_unsigned(255, -256, 8, Overflow::Wrap), Err(Some(255)));
    // "BITFIELD signed overflow wrap": i8 100 + 257 is 101, + 255 is 100.
    assert_eq!(add_signed(100, 257, 8, Overflow::Wrap), Err(Some(101)));
    assert_eq!(add_signed(101, 255, 8, Overflow::Wrap), Err(Some(100)));
    assert_eq!(add_signed(127, 1, 8, Overflow::Wrap), Err(Some(-128)));
    assert_eq!(add_signed(100, 257, 8, Overflow::Sat), Err(Some(127)));
    assert_eq!(add_signed(127, -256, 8, Overflow::Sat), Err(Some(-128)));
    // A SET is value + 0: a value out of the field's range overflows.
    assert_eq!(add_unsigned(-1i64 as u64, 0, 8, Overflow::Fail), Err(None));
    assert_eq!(add_signed(i64::MIN, 0, 64, Overflow::Fail), Ok(i64::MIN));
}
