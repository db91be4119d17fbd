//! `ldb`: a unikv disk image inspected and loaded on the host, through the
//! same `lsm` code the kernel runs (after RocksDB's `ldb` and `sst_dump`).
//!
//! ```text
//!   args     ldb DISK COMMAND [ARGS]; keys are console tokens
//!   device   the image as a BlockDevice (read-only unless loading)
//!   lock     QEMU's image locks found; load's own lock taken
//!   show     info, verify, get, scan, dump, sst: Db::open_read_only
//!   value    values decoded (kv::value), as text, expiry by the host's clock
//!   load     dump's lines back in: Db::open, batches, sync, flush, close
//!   error    every failure, typed, printed as `ldb: ...`
//! ```
//!
//! Every command but `load` opens the image file read-only and the store
//! with `Db::open_read_only`, which never writes: the image stays byte for
//! byte as it was. An image that another process holds a lock on (a
//! running QEMU) is refused before anything is read.

pub mod args;
pub mod device;
pub mod error;
pub mod load;
pub mod lock;
pub mod show;
pub mod value;

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

use lsm::db::{Db, Options};

pub use args::{Command, Parsed, USAGE};
pub use error::LdbError;

use device::{open_image, Access};
use show::Store;

/// Opens the image at `path` read-only: the file read-only, the store with
/// `Db::open_read_only`.
pub fn open_read_only(path: &Path) -> Result<Store<'_>, LdbError> {
    let dev = open_image(path, Access::ReadOnly)?;
    let file_bytes = dev.file_bytes();
    let opts = Options::for_disk(lsm::device::BlockDevice::capacity(&dev));
    let (db, report) = Db::open_read_only(dev, opts).map_err(LdbError::store(path))?;
    Ok(Store {
        path,
        db,
        report,
        file_bytes,
    })
}

/// Runs the command line `args` (without the program's name), writing what
/// it prints to `out`.
pub fn run(args: &[OsString], out: &mut dyn Write) -> Result<(), LdbError> {
    let (disk, command) = match args::parse(args)? {
        Parsed::Help => return show::emit(out, USAGE),
        Parsed::Run { disk, command } => (disk, command),
    };
    let open = || open_read_only(&disk);
    match command {
        Command::Load(file) => load::run(&disk, &file, out),
        Command::Info => show::info(&open()?, out),
        Command::Verify => show::verify(&open()?, out),
        Command::Get(key) => show::get(&open()?, &key, value::now_ms(), out),
        Command::Scan { start, end, limit } => show::scan(
            &open()?,
            &start,
            end.as_deref(),
            limit,
            value::now_ms(),
            out,
        ),
        Command::Dump => show::scan(&open()?, &[], None, None, value::now_ms(), out),
        Command::Sst(n) => show::sst(&open()?, n, out),
    }
}
