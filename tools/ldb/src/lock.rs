//! The advisory locks that say who else has the image open.
//!
//! QEMU locks the disk images it opens (block/file-posix.c): for every
//! permission it takes it holds a shared lock on one byte at offset
//! 100 + permission, and for every one it does not share, on the byte at
//! 200 + permission. It takes them as open file description locks
//! (`F_OFD_SETLK`), which belong to an open file rather than a process and
//! conflict with every other open file, in this process or another.
//!
//! A lock of any kind on any byte conflicts with a write lock over the
//! whole file, so asking the kernel whether one could be taken
//! (`F_OFD_GETLK`) finds any holder. `ldb load` takes that write lock and
//! keeps it while it writes: QEMU started meanwhile cannot take its own
//! locks, and refuses to start.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

#[cfg(target_os = "linux")]
const GETLK: libc::c_int = libc::F_OFD_GETLK;
#[cfg(target_os = "linux")]
const SETLK: libc::c_int = libc::F_OFD_SETLK;
// Elsewhere there are no open file description locks; QEMU then takes
// process locks, which these find as well.
#[cfg(not(target_os = "linux"))]
const GETLK: libc::c_int = libc::F_GETLK;
#[cfg(not(target_os = "linux"))]
const SETLK: libc::c_int = libc::F_SETLK;

/// A lock someone else holds on the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    /// A write (exclusive) lock rather than a read (shared) one.
    pub write: bool,
    /// First byte locked.
    pub start: u64,
    /// Bytes locked; 0 means to the end of the file, however long.
    pub len: u64,
}

impl Holder {
    /// Whether this is the lock `ldb load` holds: a write lock over the
    /// whole file (QEMU's are shared locks on single bytes).
    pub fn is_ldb_load(&self) -> bool {
        self.write && self.start == 0 && self.len == 0
    }
}

/// A request for a lock of `kind` over the whole file.
fn whole_file(kind: libc::c_int) -> libc::flock {
    // SAFETY: `flock` is a plain C struct of integers, for which all zeros
    // is a valid value; it also sets `l_pid` to 0, as OFD requests require.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    // The constants are small (0 to 2); the field is a C short.
    fl.l_type = kind as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = 0;
    fl.l_len = 0;
    fl
}

fn fcntl_lock(file: &File, cmd: libc::c_int, fl: &mut libc::flock) -> io::Result<libc::c_int> {
    // SAFETY: the descriptor is open for as long as `file` is borrowed, and
    // `fl` is a valid, exclusively borrowed `flock` that outlives the call,
    // which is all F_*GETLK and F_*SETLK read or write.
    let r = unsafe { libc::fcntl(file.as_raw_fd(), cmd, fl as *mut libc::flock) };
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// A lock another open file holds on `file`'s image, if any (`file`'s own
/// locks do not count).
pub fn holder(file: &File) -> io::Result<Option<Holder>> {
    let mut fl = whole_file(libc::F_WRLCK);
    fcntl_lock(file, GETLK, &mut fl)?;
    if fl.l_type == libc::F_UNLCK as libc::c_short {
        return Ok(None);
    }
    Ok(Some(Holder {
        write: fl.l_type == libc::F_WRLCK as libc::c_short,
        start: u64::try_from(fl.l_start).unwrap_or(0),
        len: u64::try_from(fl.l_len).unwrap_or(0),
    }))
}

/// Takes a write lock over the whole of `file`, held until the file is
/// closed; `false` if another open file holds a lock on it.
pub fn lock_exclusive(file: &File) -> io::Result<bool> {
    let mut fl = whole_file(libc::F_WRLCK);
    match fcntl_lock(file, SETLK, &mut fl) {
        Ok(_) => Ok(true),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EACCES)) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;

    /// Takes a read lock on the single byte at `offset` of `file`, as QEMU
    /// takes its permission locks; `false` if another open file holds a
    /// conflicting lock: a test's stand-in for QEMU.
    fn lock_shared_byte(file: &File, offset: u64) -> io::Result<bool> {
        let mut fl = whole_file(libc::F_RDLCK);
        fl.l_start = libc::off_t::try_from(offset).unwrap();
        fl.l_len = 1;
        match fcntl_lock(file, SETLK, &mut fl) {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EACCES)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A scratch disk image in a directory of its own, removed with it.
    struct Image {
        dir: std::path::PathBuf,
        path: std::path::PathBuf,
    }

    impl Drop for Image {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn image(name: &str) -> Image {
        let dir = std::env::temp_dir().join(format!("ldb-lock-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("disk.img");
        std::fs::write(&path, vec![0u8; 4096]).unwrap();
        Image { dir, path }
    }

    fn open(path: &std::path::Path) -> File {
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap()
    }

    #[test]
    fn a_qemu_style_byte_lock_is_seen_from_another_open_file() {
        let img = image("qemu");
        let qemu = open(&img.path);
        let ours = open(&img.path);
        assert_eq!(holder(&ours).unwrap(), None);
        assert!(lock_shared_byte(&qemu, 100).unwrap());
        assert!(lock_shared_byte(&qemu, 201).unwrap());
        let h = holder(&ours).unwrap().unwrap();
        assert!(!h.write && !h.is_ldb_load());
        assert!(h.start == 100 || h.start == 201, "{h:?}");
        assert_eq!(h.len, 1);
        // The holder does not see its own locks.
        assert_eq!(holder(&qemu).unwrap(), None);
        assert!(!lock_exclusive(&ours).unwrap());
        drop(qemu);
        assert_eq!(holder(&ours).unwrap(), None);
        assert!(lock_exclusive(&ours).unwrap());
    }

    #[test]
    fn the_load_lock_keeps_qemu_out_until_it_is_closed() {
        let img = image("load");
        let load = open(&img.path);
        let qemu = open(&img.path);
        assert!(lock_exclusive(&load).unwrap());
        assert!(!lock_shared_byte(&qemu, 100).unwrap());
        let h = holder(&qemu).unwrap().unwrap();
        assert!(h.is_ldb_load(), "{h:?}");
        drop(load);
        assert!(lock_shared_byte(&qemu, 100).unwrap());
    }
}
