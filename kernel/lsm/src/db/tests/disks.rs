//! Disks the store did not write, or wrote and then lost bytes of: a
//! foreign image and another format version are refused before anything
//! is written; a damaged table is reported by `verify` and read as an
//! error, never as a wrong value.

use super::*;

/// A disk that starts like an ELF file.
pub(super) fn foreign_image() -> MemDevice {
    let mut dev = MemDevice::new(4 << 20);
    dev.bytes_mut()[..4].copy_from_slice(b"\x7fELF");
    dev
}

/// A store whose superblocks say format `version`, checksums right.
pub(super) fn other_version_image(version: u32) -> MemDevice {
    let (db, _) = Db::open(MemDevice::new(4 << 20), small_opts()).unwrap();
    let mut dev = db.close().unwrap();
    set_version(&mut dev, version);
    dev
}

/// Rewrites the format version in both superblock slots (checksums too).
pub(super) fn set_version(dev: &mut MemDevice, version: u32) {
    for slot in [0usize, 4096] {
        let b = &mut dev.bytes_mut()[slot..slot + 88];
        if b.iter().all(|&x| x == 0) {
            continue;
        }
        b[8..12].copy_from_slice(&version.to_le_bytes());
        let crc = crate::crc32c::mask(crate::crc32c::value(&b[..84]));
        b[84..88].copy_from_slice(&crc.to_le_bytes());
    }
}

#[test]
fn foreign_and_future_disks_are_refused_untouched() {
    let dev = foreign_image();
    let before = dev.bytes().to_vec();
    let mut fault = FaultDevice::new(dev, 1);
    let r = Db::open(&mut fault, small_opts());
    assert_eq!(r.err(), Some(Error::ForeignFormat));
    assert_eq!(fault.counts(), (0, 0), "a foreign disk was written to");
    assert_eq!(fault.into_inner().bytes(), &before[..]);

    // A unikv disk of another version.
    let mut fault = FaultDevice::new(other_version_image(7), 1);
    let err = Db::open(&mut fault, small_opts()).err().unwrap();
    assert_eq!(
        err,
        Error::UnsupportedVersion {
            found: 7,
            supported: FORMAT_VERSION
        }
    );
    assert!(err.to_string().contains("refusing"));
    assert_eq!(fault.counts(), (0, 0));
    // Version 1 (untagged values) too.
    let mut fault = FaultDevice::new(other_version_image(1), 1);
    assert!(matches!(
        Db::open(&mut fault, small_opts()).err(),
        Some(Error::UnsupportedVersion { found: 1, .. })
    ));
    assert_eq!(fault.counts(), (0, 0));

    let opts = Options {
        create_if_missing: false,
        ..small_opts()
    };
    assert_eq!(
        Db::open(MemDevice::new(4 << 20), opts).err(),
        Some(Error::Unformatted)
    );
}

#[test]
fn damaged_table_is_reported_never_misread() {
    let (mut db, _) = Db::open(MemDevice::new(8 << 20), small_opts()).unwrap();
    let mut model = Model::new();
    for i in 0..400u32 {
        let k = format!("k{i:04}").into_bytes();
        let v = vec![(i % 251) as u8; 40];
        db.put(&k, &v, false).unwrap();
        model.insert(k, v);
    }
    db.flush().unwrap();
    let v = db.version();
    let f = v.files().next().unwrap().1.clone();
    let mut dev = db.close().unwrap();
    // Flip a byte in the middle of the table's first data block.
    dev.bytes_mut()[f.extents[0].offset as usize + 100] ^= 0x10;
    let (db, _) = Db::open(dev, small_opts()).unwrap();
    let report = db.verify();
    assert_eq!(report.errors.len(), 1);
    let msg = report.errors[0].to_string();
    assert!(
        msg.contains(&format!(
            "table {} block at offset 0: checksum mismatch",
            f.number
        )),
        "{msg}"
    );
    // Every read is right or an error naming the damage.
    let mut errors = 0;
    for (k, v) in &model {
        match db.get(k, None) {
            Ok(got) => assert_eq!(got.as_ref(), Some(v)),
            Err(e) => {
                assert!(e.to_string().starts_with("corruption: table"), "{e}");
                errors += 1;
            }
        }
    }
    assert!(errors > 0);
}
