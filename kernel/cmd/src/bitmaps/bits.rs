//! A byte string as Redis numbers its bits: bit 0 is the first byte's most
//! significant, bit 8 the second byte's, and an integer field is read and
//! written most significant bit first (big-endian when it is aligned to
//! bytes). Bits past the string's end read as zeros. Pure functions, so
//! that the commands' arithmetic is tested without a store.

/// The bit at `offset` (false past the end).
pub fn get(bytes: &[u8], offset: u64) -> bool {
    usize::try_from(offset >> 3)
        .ok()
        .and_then(|i| bytes.get(i))
        .is_some_and(|b| b & (0x80 >> (offset & 7)) != 0)
}

/// Sets the bit at `offset`, which must be inside `bytes`.
pub fn set(bytes: &mut [u8], offset: u64, on: bool) {
    let mask = 0x80 >> (offset & 7);
    if let Some(b) = usize::try_from(offset >> 3)
        .ok()
        .and_then(|i| bytes.get_mut(i))
    {
        if on {
            *b |= mask;
        } else {
            *b &= !mask;
        }
    }
}

/// One 8-byte word, for the loops that go a word at a time.
fn word(chunk: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    u64::from_be_bytes(w)
}

/// How many bits of `bytes` are set.
pub fn count_ones(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut n = 0;
    for c in &mut chunks {
        n += u64::from(word(c).count_ones());
    }
    n + chunks
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum::<u64>()
}

/// The bits of the first byte before bit `first`, and of the last byte
/// after bit `last`, as masks: what a range that does not start or end
/// on a byte boundary leaves out of its edge bytes.
fn outside(first: u64, last: u64) -> (u8, u8) {
    let head = match first & 7 {
        0 => 0,
        n => 0xffu8 << (8 - n),
    };
    let tail = match last & 7 {
        7 => 0,
        n => 0xffu8 >> (n + 1),
    };
    (head, tail)
}

/// The whole bytes that hold bits `first` to `last`.
fn span(bytes: &[u8], first: u64, last: u64) -> Option<(usize, &[u8])> {
    let a = usize::try_from(first >> 3).ok()?;
    let z = usize::try_from(last >> 3).ok()?;
    Some((a, bytes.get(a..=z)?))
}

/// How many bits are set from bit `first` to bit `last`, both included
/// (`last` inside `bytes`, `first <= last`).
pub fn count_ones_between(bytes: &[u8], first: u64, last: u64) -> u64 {
    let Some((_, span)) = span(bytes, first, last) else {
        return 0;
    };
    let (head, tail) = outside(first, last);
    let (Some(&a), Some(&z)) = (span.first(), span.last()) else {
        return 0;
    };
    // Whole bytes, less the edge bytes' bits outside the range.
    count_ones(span) - u64::from((a & head).count_ones()) - u64::from((z & tail).count_ones())
}

/// The offset of the first bit equal to `bit` from bit `first` to bit
/// `last`, both included (`last` inside `bytes`, `first <= last`).
pub fn first_between(bytes: &[u8], bit: bool, first: u64, last: u64) -> Option<u64> {
    let (a, span) = span(bytes, first, last)?;
    let (head, tail) = outside(first, last);
    // An edge byte's bits outside the range made the kind not looked for.
    let edge = |b: u8, outside: u8| if bit { b & !outside } else { b | outside };
    let at = |i: usize, p: u64| (((a + i) as u64) << 3) + p;
    let (&first_byte, rest) = span.split_first()?;
    let Some((&last_byte, inner)) = rest.split_last() else {
        return first_in(&[edge(first_byte, head | tail)], bit).map(|p| at(0, p));
    };
    if let Some(p) = first_in(&[edge(first_byte, head)], bit) {
        return Some(at(0, p));
    }
    if let Some(p) = first_in(inner, bit) {
        return Some(at(1, p));
    }
    first_in(&[edge(last_byte, tail)], bit).map(|p| at(span.len() - 1, p))
}

/// The offset of the first bit equal to `bit` in `bytes`, whole words
/// skipped at a time.
pub fn first_in(bytes: &[u8], bit: bool) -> Option<u64> {
    let skip = if bit { 0 } else { u64::MAX };
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0u64;
    for c in &mut chunks {
        let w = word(c);
        if w != skip {
            let w = if bit { w } else { !w };
            return Some(at + u64::from(w.leading_zeros()));
        }
        at += 64;
    }
    for &b in chunks.remainder() {
        let b = if bit { b } else { !b };
        if b != 0 {
            return Some(at + u64::from(b.leading_zeros()));
        }
        at += 8;
    }
    None
}

/// The `bits`-wide unsigned field at bit `offset` (1 to 64 bits), most
/// significant bit first; bits past the end read as zeros.
pub fn get_field(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    let mut value = 0u64;
    for i in 0..u64::from(bits) {
        value = (value << 1) | u64::from(get(bytes, offset + i));
    }
    value
}

/// The `bits`-wide field at bit `offset` as a two's-complement integer.
pub fn get_signed_field(bytes: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_field(bytes, offset, bits);
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset`, most significant
/// first; the field must be inside `bytes`.
pub fn set_field(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..u64::from(bits) {
        let on = value >> (u64::from(bits) - 1 - i) & 1 != 0;
        set(bytes, offset + i, on);
    }
}

/// What BITFIELD does when a SET or an INCRBY does not fit its field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Keep the low bits (two's complement for signed fields).
    Wrap,
    /// Stop at the field's largest or smallest value.
    Sat,
    /// Change nothing, and reply nil.
    Fail,
}

/// The unsigned field's new value when `incr` is added to `value` (a SET
/// is `value` plus 0): `Ok` if it fits, `Err` with what [`Overflow`] makes
/// of it otherwise (`None` for `Fail`). Redis's
/// `checkUnsignedBitfieldOverflow`, for fields of 1 to 63 bits.
pub fn add_unsigned(value: u64, incr: i64, bits: u32, how: Overflow) -> Result<u64, Option<u64>> {
    let max = u64::MAX.checked_shr(64 - bits).unwrap_or(0);
    // In u64 and wrapped as there: read only once `value` is in range.
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let over = value > max || (incr > 0 && incr > max_incr);
    let under = !over && incr < 0 && incr < min_incr;
    if !over && !under {
        return Ok(value.wrapping_add(incr as u64));
    }
    Err(match how {
        Overflow::Wrap => Some(value.wrapping_add(incr as u64) & max),
        Overflow::Sat if over => Some(max),
        Overflow::Sat => Some(0),
        Overflow::Fail => None,
    })
}

/// [`add_unsigned`] for a signed field of 1 to 64 bits (Redis's
/// `checkSignedBitfieldOverflow`).
pub fn add_signed(value: i64, incr: i64, bits: u32, how: Overflow) -> Result<i64, Option<i64>> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    // Both may wrap; each is read only once `value` is known in range.
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let over = value > max
        || (bits != 64 && incr > max_incr)
        || (value >= 0 && incr > 0 && incr > max_incr);
    let under = !over
        && (value < min
            || (bits != 64 && incr < min_incr)
            || (value < 0 && incr < 0 && incr < min_incr));
    if !over && !under {
        return Ok(value.wrapping_add(incr));
    }
    Err(match how {
        Overflow::Wrap => {
            let mut c = (value as u64).wrapping_add(incr as u64);
            if bits < 64 {
                let high = u64::MAX << bits;
                if c & (1 << (bits - 1)) != 0 {
                    c |= high;
                } else {
                    c &= !high;
                }
            }
            Some(c as i64)
        }
        Overflow::Sat if over => Some(max),
        Overflow::Sat => Some(min),
        Overflow::Fail => None,
    })
}

#[cfg(test)]
mod tests;
