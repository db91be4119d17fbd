//! What the integration tests share: a scratch directory per test, the
//! `ldb` binary run as a script would run it, and images written by the
//! `lsm` crate itself.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use lsm::db::{Db, Options};
use lsm::device::MemDevice;

/// A directory of its own for one test, removed when the test ends.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("ldb-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes `bytes` to `name` and returns its path.
    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What one run of ldb did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn out(&self) -> String {
        String::from_utf8(self.stdout.clone()).unwrap()
    }

    /// Asserts success with nothing on stderr, and returns stdout.
    pub fn ok(&self) -> String {
        assert_eq!((self.code, self.stderr.as_str()), (0, ""), "{self:?}");
        self.out()
    }
}

/// Runs `ldb DISK ARGS...` in `dir`, so that DISK is named as given.
pub fn ldb_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_ldb"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Runs ldb in the scratch directory.
pub fn ldb(s: &Scratch, args: &[&str]) -> Run {
    ldb_in(&s.dir, args)
}

/// A store made by the `lsm` crate on a device of `capacity` bytes, sized
/// as the kernel sizes it; `fill` writes to it, then it is closed (the WAL
/// synced, nothing flushed that `fill` did not flush).
pub fn lsm_image(capacity: usize, fill: impl FnOnce(&mut Db<MemDevice>)) -> Vec<u8> {
    let opts = Options::for_disk(capacity as u64);
    let (mut db, _) = Db::open(MemDevice::new(capacity), opts).unwrap();
    fill(&mut db);
    db.close().unwrap().bytes().to_vec()
}

/// `bytes` with the superblocks saying format `version`, checksums right,
/// as kernel/lsm's own tests craft one.
pub fn other_version(mut bytes: Vec<u8>, version: u32) -> Vec<u8> {
    for slot in [0usize, 4096] {
        let b = &mut bytes[slot..slot + 88];
        if b.iter().all(|&x| x == 0) {
            continue;
        }
        b[8..12].copy_from_slice(&version.to_le_bytes());
        let crc = lsm::crc32c::mask(lsm::crc32c::value(&b[..84]));
        b[84..88].copy_from_slice(&crc.to_le_bytes());
    }
    bytes
}

/// A value and when it expires (Unix milliseconds), as a test's model of
/// the store holds it.
pub type Value = (Vec<u8>, Option<u64>);

/// 2100-01-01 in Unix milliseconds: an expiry no test run reaches.
pub const LATER: u64 = 4_102_444_800_000;

/// 2001-09-09 in Unix milliseconds: an expiry every test run is past.
pub const EARLIER: u64 = 1_000_000_000_000;

/// Puts `value`, expiring at `at`, as the kv service stores it.
pub fn put(db: &mut Db<MemDevice>, key: &[u8], value: &[u8], at: Option<u64>, sync: bool) {
    db.put(key, &kv::value::encode(value, at), sync).unwrap();
}

/// What get prints for a value: `"value"`, with ` PXAT <ms>` if it expires.
pub fn shown(value: &[u8], at: Option<u64>) -> String {
    match at {
        None => console::quote(value),
        Some(at) => format!("{} PXAT {at}", console::quote(value)),
    }
}

/// The line dump prints for one pair.
pub fn line(key: &[u8], value: &[u8], at: Option<u64>) -> String {
    format!("{} {}\n", console::quote(key), shown(value, at))
}

/// The lines dump prints for `pairs` (sorted, unique keys).
pub fn dump_text<'a>(pairs: impl IntoIterator<Item = (&'a Vec<u8>, &'a Value)>) -> String {
    pairs
        .into_iter()
        .map(|(k, (v, at))| line(k, v, *at))
        .collect()
}

/// The value of `field` in the section `# section` of a report.
pub fn field(report: &str, section: &str, field: &str) -> Option<String> {
    let header = format!("# {section}");
    let body = report
        .split("\n\n")
        .find(|s| s.lines().next() == Some(&header))?;
    body.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
}

/// Every command that only reads, on `disk.img`.
pub const READERS: [&[&str]; 7] = [
    &["disk.img", "info"],
    &["disk.img", "verify"],
    &["disk.img", "get", "k"],
    &["disk.img", "scan"],
    &["disk.img", "scan", "a", "b", "--limit", "2"],
    &["disk.img", "dump"],
    &["disk.img", "sst", "1"],
];

/// Runs `args`, expecting refusal with `message` (after `ldb: `), exit
/// status 1, nothing on stdout and the image unchanged.
pub fn refused(s: &Scratch, args: &[&str], image: &[u8], message: &str) {
    let r = ldb(s, args);
    assert_eq!((r.code, r.out().as_str()), (1, ""), "{args:?}: {r:?}");
    assert_eq!(r.stderr, format!("ldb: {message}\n"), "{args:?}");
    assert!(
        std::fs::read(s.path("disk.img")).unwrap() == image,
        "{args:?} changed the image"
    );
}
