//! `tools/ldb` on disks the real kernel wrote, and the kernel on a disk ldb
//! loaded: the same store code, and the same value encoding (`kv::value`),
//! on both sides of the image.

use std::ffi::OsString;
use std::time::Duration;
use systest::{Options, Qemu, TempFile};

fn ldb(disk: &TempFile, args: &[&str]) -> Result<String, String> {
    let mut argv: Vec<OsString> = vec![disk.0.clone().into()];
    argv.extend(args.iter().map(OsString::from));
    let mut out = Vec::new();
    ldb::run(&argv, &mut out).map_err(|e| e.to_string())?;
    Ok(String::from_utf8(out).expect("ldb prints text"))
}

fn boot(disk: &TempFile) -> Qemu {
    Qemu::boot(&Options {
        disk: Some(disk.0.clone()),
        ..Options::default()
    })
}

fn shutdown(mut q: Qemu) {
    q.send(b"SHUTDOWN\r");
    assert_eq!(q.wait_exit(Duration::from_secs(30)).code(), Some(0));
}

#[test]
fn ldb_reads_what_the_kernel_wrote_and_the_kernel_reads_what_ldb_loaded() {
    let d = TempFile::new("ldb-kernel.img", 64 << 20);
    let mut q = boot(&d);
    assert_eq!(q.cmd("SET alice 1"), "OK\n");
    assert_eq!(
        q.cmd("SET \"bin\\x00key\" \"\\xff\\\"quoted\\\"\\n\""),
        "OK\n"
    );
    assert_eq!(q.cmd("FLUSH"), "OK\n");
    assert_eq!(q.cmd("SET bob \"two words\""), "OK\n");
    // A running QEMU holds the image: ldb refuses to read it.
    let held = ldb(&d, &["dump"]).expect_err("QEMU holds the image");
    assert!(held.contains("in use (a running QEMU holds it)"), "{held}");
    shutdown(q);

    let dump = ldb(&d, &["dump"]).expect("dump");
    assert_eq!(
        dump,
        "\"alice\" \"1\"\n\"bin\\x00key\" \"\\xff\\\"quoted\\\"\\n\"\n\"bob\" \"two words\"\n"
    );
    assert_eq!(
        ldb(&d, &["get", "\"bin\\x00key\""]).unwrap(),
        "\"\\xff\\\"quoted\\\"\\n\"\n"
    );
    assert_eq!(ldb(&d, &["get", "nobody"]).unwrap(), "(nil)\n");
    let verify = ldb(&d, &["verify"]).unwrap();
    assert!(verify.contains("entries:3\nerrors:0\n"), "{verify}");

    // Writes the kernel acknowledged and never flushed to a table (QEMU
    // killed): ldb replays them from the WAL, read-only.
    let mut q = boot(&d);
    assert_eq!(q.cmd("SET carol 3"), "OK\n");
    q.kill();
    let before = std::fs::read(&d.0).unwrap();
    assert_eq!(ldb(&d, &["get", "carol"]).unwrap(), "\"3\"\n");
    let info = ldb(&d, &["info"]).unwrap();
    assert!(info.contains("\nrecords:1\n"), "{info}");
    assert_eq!(std::fs::read(&d.0).unwrap(), before, "ldb never writes");

    // ldb loads a blank image; the kernel boots on it and reads every pair,
    // with the expiries ldb wrote: one in 2100, one long past.
    let fresh = TempFile::new("ldb-loaded.img", 64 << 20);
    let file = TempFile::new("ldb-load.txt", 0);
    let mut pairs = ldb(&d, &["dump"]).unwrap();
    pairs.push_str("later \"in 2100\" PXAT 4102444800000\nexpired x PXAT 1000000000000\n");
    std::fs::write(&file.0, pairs).unwrap();
    let load = ldb(&fresh, &["load", file.0.to_str().unwrap()]).expect("load");
    assert!(load.starts_with("# Load\npairs:6\nexpired:1\n"), "{load}");
    let mut q = boot(&fresh);
    assert!(
        !q.transcript().contains("was blank"),
        "ldb formatted it as the kernel does: {}",
        q.transcript()
    );
    assert_eq!(q.cmd("GET carol"), "\"3\"\n");
    assert_eq!(q.cmd("GET \"bin\\x00key\""), "\"\\xff\\\"quoted\\\"\\n\"\n");
    assert_eq!(q.cmd("GET later"), "\"in 2100\"\n");
    assert_eq!(q.cmd("GET expired"), "(nil)\n");
    let v = q.cmd("VERIFY");
    assert!(v.contains("entries:6\nerrors:0\n"), "{v}");
    shutdown(q);
    // And back: ldb reads the image the kernel shut down, the expiry kept.
    assert_eq!(
        ldb(&fresh, &["get", "later"]).unwrap(),
        "\"in 2100\" PXAT 4102444800000\n"
    );
    assert_eq!(ldb(&fresh, &["get", "expired"]).unwrap(), "(nil)\n");
}
