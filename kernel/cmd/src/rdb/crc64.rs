//! Redis's CRC-64, which ends every DUMP payload (src/crc64.c): the Jones
//! polynomial (0xad93d23594c935a9), reflected, no inversion in or out.

/// The polynomial, bit-reversed for the reflected algorithm.
const POLY_REFLECTED: u64 = 0xad93_d235_94c9_35a9_u64.reverse_bits();

/// The CRC of every byte value, built at compile time: 2 KiB of rodata
/// instead of eight shifts a byte.
static TABLE: [u64; 256] = table();

const fn table() -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

/// `crc` carried on over `data`, as Redis's `crc64(crc, s, l)`: a payload's
/// is `crc64(0, payload)`.
pub(crate) fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    for &b in data {
        crc = TABLE[usize::from(crc as u8 ^ b)] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_check_values() {
        // crc64.c's own test (`crc64Test`): the Lorem ipsum with its NUL.
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        let lorem = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed \
do eiusmod tempor incididunt ut labore et dolore magna \
aliqua. Ut enim ad minim veniam, quis nostrud exercitation \
ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis \
aute irure dolor in reprehenderit in voluptate velit esse \
cillum dolore eu fugiat nulla pariatur. Excepteur sint \
occaecat cupidatat non proident, sunt in culpa qui officia \
deserunt mollit anim id est laborum.\0";
        assert_eq!(crc64(0, lorem), 0xc779_4709_e696_83b3);
    }

    #[test]
    fn carries_on_across_pieces_and_keeps_zeros_zero() {
        let data = b"DUMP payloads end with this";
        for split in 0..data.len() {
            let (a, b) = data.split_at(split);
            assert_eq!(crc64(crc64(0, a), b), crc64(0, data));
        }
        // No inversion: zero bytes leave a zero CRC, which is why ten zero
        // bytes are a valid payload (version 0, an empty string).
        assert_eq!(crc64(0, &[0; 16]), 0);
    }
}
