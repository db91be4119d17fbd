//! An image another process holds a lock on, as a running QEMU does, is
//! refused by every command and left as it was; `load` holds a lock of its
//! own while it writes, so a QEMU started meanwhile cannot open the image.
#![cfg(target_os = "linux")]

mod common;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{ldb, lsm_image, put, refused, Scratch, READERS};

const MIB: usize = 1 << 20;

/// Held by each test for its whole run. A child spawned by one test holds a
/// copy of every descriptor of this process until it execs, the "QEMU"
/// file of the other test included, and with it that file's OFD locks: an
/// image would then look in use a moment after the test closed it.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    // A test that failed poisoned it; the next one still runs alone.
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Takes a shared lock on one byte of `file`, as QEMU takes its permission
/// locks (block/file-posix.c: F_OFD_SETLK, F_RDLCK, bytes 100 + perm and
/// 200 + perm), through libc directly rather than ldb's own code.
fn qemu_lock(file: &File, offset: i64) {
    // SAFETY: `flock` is plain integers, all zeros valid (l_pid 0, as OFD
    // requests require).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_RDLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = offset;
    fl.l_len = 1;
    // SAFETY: the descriptor is open while `file` is borrowed and `fl` is a
    // valid flock that outlives the call.
    let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &mut fl) };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
}

/// The lock found on the image by another open file (`F_OFD_GETLK`), as
/// (write, start, len), if any.
fn lock_on(path: &Path) -> Option<(bool, i64, i64)> {
    let file = File::open(path).unwrap();
    // SAFETY: as in `qemu_lock`.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: as in `qemu_lock`.
    let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_GETLK, &mut fl) };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    (fl.l_type != libc::F_UNLCK as libc::c_short).then_some((
        fl.l_type == libc::F_WRLCK as libc::c_short,
        fl.l_start,
        fl.l_len,
    ))
}

#[test]
fn an_image_a_running_qemu_holds_is_refused_untouched() {
    let _alone = one_at_a_time();
    let s = Scratch::new("locked");
    let image = lsm_image(4 * MIB, |db| put(db, b"k", b"v", None, true));
    let disk = s.file("disk.img", &image);
    s.file("pairs.txt", b"a 1\n");
    let qemu = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&disk)
        .unwrap();
    // What QEMU holds on a writable image it does not share: consistent
    // read and write (100, 101), and no sharing of write (201).
    for byte in [100, 101, 201] {
        qemu_lock(&qemu, byte);
    }
    let msg = "disk.img is in use (a running QEMU holds it): stop QEMU first";
    for args in READERS {
        refused(&s, args, &image, msg);
    }
    refused(&s, &["disk.img", "load", "pairs.txt"], &image, msg);
    // Once QEMU is gone, the same image reads.
    drop(qemu);
    assert_eq!(ldb(&s, &["disk.img", "get", "k"]).ok(), "\"v\"\n");
}

#[test]
fn load_holds_its_lock_while_it_writes() {
    let _alone = one_at_a_time();
    let s = Scratch::new("load-lock");
    let disk = s.file("disk.img", &vec![0u8; 4 * MIB]);
    let fifo = s.path("pairs.fifo");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    let mut load = Command::new(env!("CARGO_BIN_EXE_ldb"))
        .args(["disk.img", "load", "pairs.fifo"])
        .current_dir(&s.dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // ldb opens the FIFO only once it holds the image's lock. A writer's
    // non-blocking open succeeds once a reader has the FIFO open (or is
    // waiting in open), so from then on the lock is held; until then it
    // fails, and the test never blocks on an ldb that died.
    let start = Instant::now();
    let mut writer = loop {
        match OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
        {
            Ok(f) => break f,
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                if let Some(status) = load.try_wait().unwrap() {
                    panic!("ldb load ended before reading its file: {status}");
                }
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "ldb never read its file"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(lock_on(&disk), Some((true, 0, 0)));
    let r = ldb(&s, &["disk.img", "info"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "ldb: disk.img is in use (another ldb load is writing it): wait for it to finish\n"
    );
    writer.write_all(b"a 1\nb 2\n").unwrap();
    drop(writer);
    let out = load.wait_with_output().unwrap();
    assert_eq!(
        (out.status.code(), String::from_utf8(out.stderr).unwrap()),
        (Some(0), String::new())
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "# Load\npairs:2\nexpired:0\nbatches:1\nformatted:1\nlast_sequence:2\n"
    );
    assert_eq!(lock_on(&disk), None);
    assert_eq!(
        ldb(&s, &["disk.img", "dump"]).ok(),
        "\"a\" \"1\"\n\"b\" \"2\"\n"
    );
}
