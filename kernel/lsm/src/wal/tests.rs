extern crate std;

use super::*;
use crate::device::{FaultDevice, MemDevice};
use crate::random::Rng;
use std::vec::Vec;

fn record(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 31 + j * 7) as u8).collect()
}

fn read_all(dev: &mut MemDevice, region: Region, log: u32) -> (Vec<Vec<u8>>, Option<LogEnd>) {
    let mut r = LogReader::new(region, log).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = r.next_record(dev).unwrap() {
        out.push(rec);
    }
    (out, r.end())
}

/// Writes `records` as log `log`, returning the region offset after each.
fn write_log(dev: &mut MemDevice, region: Region, log: u32, records: &[Vec<u8>]) -> Vec<u64> {
    let mut w = LogWriter::new(region, log).unwrap();
    let mut ends = Vec::new();
    for rec in records {
        w.append(dev, rec).unwrap();
        ends.push(w.len());
    }
    w.sync(dev).unwrap();
    ends
}

#[test]
fn round_trip_of_sizes_across_blocks() {
    let region = Region {
        start: 4096,
        len: 512 * 1024,
    };
    let mut dev = MemDevice::new(1 << 20);
    let sizes = [
        0,
        1,
        100,
        BLOCK_SIZE - HEADER_SIZE,
        BLOCK_SIZE - HEADER_SIZE - 3,
        BLOCK_SIZE,
        3 * BLOCK_SIZE + 17,
        5,
        0,
        1000,
    ];
    let records: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| record(i, n))
        .collect();
    let ends = write_log(&mut dev, region, 7, &records);
    let (got, end) = read_all(&mut dev, region, 7);
    assert_eq!(got, records);
    assert_eq!(end, Some(LogEnd::Clean));
    let mut r = LogReader::new(region, 7).unwrap();
    while r.next_record(&mut dev).unwrap().is_some() {}
    assert_eq!(r.valid_len(), *ends.last().unwrap());
    // Nothing outside the region was touched.
    assert!(dev.bytes()[..4096].iter().all(|&b| b == 0));
    assert!(dev.bytes()[4096 + 512 * 1024..].iter().all(|&b| b == 0));
}

#[test]
fn cost_matches_what_append_uses() {
    let region = Region {
        start: 0,
        len: 1 << 20,
    };
    let mut dev = MemDevice::new(1 << 20);
    let mut w = LogWriter::new(region, 1).unwrap();
    let mut rng = Rng::new(5);
    for i in 0..200 {
        let n = rng.skewed(16) as usize;
        let before = w.len();
        let cost = w.cost(n);
        if before + cost > region.len {
            break;
        }
        w.append(&mut dev, &record(i, n)).unwrap();
        assert_eq!(w.len() - before, cost);
    }
}

#[test]
fn many_small_synced_records_rewrite_the_partial_sector() {
    let region = Region {
        start: 0,
        len: 64 * 1024,
    };
    let mut dev = MemDevice::new(64 * 1024);
    let mut w = LogWriter::new(region, 3).unwrap();
    let records: Vec<Vec<u8>> = (0..300).map(|i| record(i, i % 37)).collect();
    for rec in &records {
        w.append(&mut dev, rec).unwrap();
        w.sync(&mut dev).unwrap();
    }
    assert_eq!(read_all(&mut dev, region, 3).0, records);
}

#[test]
fn full_region_is_refused_without_damage() {
    let region = Region {
        start: 0,
        len: 4096,
    };
    let mut dev = MemDevice::new(4096);
    let mut w = LogWriter::new(region, 1).unwrap();
    let mut written = Vec::new();
    loop {
        let rec = record(written.len(), 300);
        match w.append(&mut dev, &rec) {
            Ok(()) => written.push(rec),
            Err(Error::NoSpace { region, .. }) => {
                assert_eq!(region, "WAL region");
                break;
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    w.sync(&mut dev).unwrap();
    assert!(!written.is_empty());
    assert_eq!(read_all(&mut dev, region, 1).0, written);
}

#[test]
fn bad_arguments_are_refused() {
    assert!(LogWriter::new(Region { start: 1, len: 512 }, 1).is_err());
    assert!(LogWriter::new(Region { start: 0, len: 100 }, 1).is_err());
    assert!(LogWriter::new(Region { start: 0, len: 512 }, 0).is_err());
}

#[test]
fn zeroed_region_is_an_empty_log() {
    let region = Region {
        start: 0,
        len: 64 * 1024,
    };
    let mut dev = MemDevice::new(64 * 1024);
    let (got, end) = read_all(&mut dev, region, 1);
    assert!(got.is_empty());
    assert_eq!(end, Some(LogEnd::Clean));
}

#[test]
fn older_log_in_the_region_is_not_replayed() {
    let region = Region {
        start: 0,
        len: 128 * 1024,
    };
    let mut dev = MemDevice::new(128 * 1024);
    let old: Vec<Vec<u8>> = (0..100).map(|i| record(i, 500)).collect();
    write_log(&mut dev, region, 1, &old);
    let new: Vec<Vec<u8>> = (0..10).map(|i| record(i + 1000, 300)).collect();
    write_log(&mut dev, region, 2, &new);
    let (got, end) = read_all(&mut dev, region, 2);
    assert_eq!(got, new);
    assert_eq!(end, Some(LogEnd::Clean));
}

/// Cuts the log at every byte in `cuts` (zeroing the rest, as a region never
/// written there) and checks that exactly the records wholly before the cut
/// come back.
fn check_truncations(records: &[Vec<u8>], region_len: u64, cuts: impl Iterator<Item = u64>) {
    let region = Region {
        start: 0,
        len: region_len,
    };
    let mut dev = MemDevice::new(region_len as usize);
    let ends = write_log(&mut dev, region, 9, records);
    let image = dev.bytes().to_vec();
    for cut in cuts {
        let bytes = dev.bytes_mut();
        bytes.copy_from_slice(&image);
        bytes[cut as usize..].fill(0);
        let (got, _) = read_all(&mut dev, region, 9);
        // Zeroing bytes that were zero already cuts nothing: the log really
        // ends at the first byte the cut changed.
        let effective = (cut..region_len)
            .find(|&i| image[i as usize] != 0)
            .unwrap_or(region_len);
        let whole = ends.iter().take_while(|&&e| e <= effective).count();
        assert_eq!(got.len(), whole, "cut at {cut}");
        assert_eq!(&got[..], &records[..whole], "cut at {cut}");
    }
}

#[test]
fn truncation_at_every_byte_of_a_small_log() {
    let records: Vec<Vec<u8>> = (0..60).map(|i| record(i, (i * 13) % 97)).collect();
    let total: u64 = records.iter().map(|r| (r.len() + HEADER_SIZE) as u64).sum();
    check_truncations(&records, 8192, 0..=total);
}

#[test]
fn truncation_around_block_boundaries_of_a_large_log() {
    let records: Vec<Vec<u8>> = (0..12).map(|i| record(i, 9000 + i * 101)).collect();
    let total: u64 = 12 * 9000 + 66 * 101 + 40 * HEADER_SIZE as u64;
    let block = BLOCK_SIZE as u64;
    let near_boundaries = (1..4u64).flat_map(|b| b * block - 40..b * block + 40);
    check_truncations(
        &records,
        256 * 1024,
        (0..total).step_by(61).chain(near_boundaries),
    );
}

#[test]
fn bit_flip_at_every_position_gives_a_prefix_never_garbage() {
    let region = Region {
        start: 0,
        len: 4096,
    };
    let records: Vec<Vec<u8>> = (0..20).map(|i| record(i, 10 + i * 3)).collect();
    let mut dev = MemDevice::new(4096);
    let ends = write_log(&mut dev, region, 4, &records);
    let image = dev.bytes().to_vec();
    let total = *ends.last().unwrap() as usize;
    for byte in 0..total {
        for bit in 0..8 {
            let bytes = dev.bytes_mut();
            bytes.copy_from_slice(&image);
            bytes[byte] ^= 1 << bit;
            let (got, end) = read_all(&mut dev, region, 4);
            // The record holding the flipped bit and everything after it are
            // dropped; everything before it comes back intact.
            let damaged = ends.iter().take_while(|&&e| e as usize <= byte).count();
            assert_eq!(&got[..], &records[..damaged], "flip {byte}.{bit}");
            assert_eq!(end, Some(LogEnd::Torn), "flip {byte}.{bit}");
        }
    }
}

#[test]
fn crash_keeps_every_synced_record_and_a_prefix_of_the_rest() {
    let region = Region {
        start: 0,
        len: 256 * 1024,
    };
    for seed in 0..200 {
        let mut rng = Rng::new(seed);
        let mut dev = FaultDevice::new(MemDevice::new(256 * 1024), seed);
        let mut w = LogWriter::new(region, 1).unwrap();
        let mut records = Vec::new();
        let mut synced = 0;
        for i in 0..rng.uniform(40) as usize + 1 {
            let rec = record(i + seed as usize, rng.skewed(14) as usize);
            w.append(&mut dev, &rec).unwrap();
            records.push(rec);
            if rng.one_in(4) {
                w.sync(&mut dev).unwrap();
                synced = records.len();
            } else if rng.one_in(2) {
                w.write_out(&mut dev).unwrap();
            }
        }
        dev.crash().unwrap();
        let mut mem = dev.into_inner();
        let (got, _) = read_all(&mut mem, region, 1);
        assert!(got.len() >= synced, "seed {seed}: lost synced records");
        assert_eq!(&got[..], &records[..got.len()], "seed {seed}");
    }
}

/// A write-out taken from the writer and written by its taker, while the
/// writer buffers more (a group commit that runs without the store's
/// lock), leaves the same log as the writer's own write-outs would: the
/// taken bytes hold the partial last sector as it was, and the next
/// write-out rewrites it with what came since.
#[test]
fn a_taken_write_out_and_the_writers_own_make_one_log() {
    let region = Region {
        start: 8192,
        len: 256 * 1024,
    };
    let mut dev = MemDevice::new(1 << 20);
    let mut w = LogWriter::new(region, 3).unwrap();
    let records: Vec<Vec<u8>> = (0..40).map(|i| record(i, 100 + i * 37)).collect();
    let mut taken = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        w.append_buffered(rec).unwrap();
        if i % 7 == 3 {
            taken.push(w.take_write_out().expect("bytes were buffered"));
            assert!(w.take_write_out().is_none(), "nothing new since");
        }
        if i % 7 == 5 {
            // The taker writes what it took before the writer writes again.
            for (at, bytes) in taken.drain(..) {
                assert_eq!(at % SECTOR_SIZE as u64, 0);
                assert_eq!(bytes.len() % SECTOR_SIZE, 0);
                dev.write(at, &bytes).unwrap();
            }
        }
    }
    for (at, bytes) in taken.drain(..) {
        dev.write(at, &bytes).unwrap();
    }
    w.sync(&mut dev).unwrap();
    let (got, end) = read_all(&mut dev, region, 3);
    assert_eq!(got, records);
    assert_eq!(end, Some(LogEnd::Clean));
}
