//! Durability as the host sees it. A QEMU killed mid-write keeps the host's
//! page cache, so the kill tests cannot tell a SET that reached the disk
//! image's platter from one that sat in the host's cache: here QEMU runs
//! under strace, and every `+OK` that QEMU hands to a client's socket must
//! come after an `fdatasync` of the disk image that finished since the OK
//! before it. A driver that acknowledged writes still in a volatile cache
//! (a write with the device's cache on and no FLUSH) fails this.

use std::time::{Duration, Instant};

use systest::net::{request, Client};
use systest::{free_port, Nic, Options, Qemu, TempFile};

/// SETs one at a time from one client, so that each OK has one commit.
const SETS: usize = 20;

#[test]
fn every_ok_follows_an_fdatasync_of_the_disk() {
    let disk = TempFile::new("durability.img", 256 << 20);
    let trace = TempFile::new("durability.strace", 0);
    let port = free_port();
    let opts = Options {
        disk: Some(disk.0.clone()),
        nic: Nic::User {
            pci: false,
            host_port: port,
            guest_port: 6379,
        },
        wrapper: [
            "strace",
            "-f",
            "-qq",
            "-s",
            "8",
            "-e",
            "trace=pwrite64,pwritev,pwritev2,fdatasync,fsync,sendto,sendmsg",
            "-o",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([trace.0.display().to_string()])
        .collect(),
        ..Options::default()
    };
    let mut q = Qemu::boot(&opts);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut c = loop {
        if let Ok(mut c) = Client::try_connect(port) {
            if c.cmd(&["EXISTS", "unikv-ready"]).is_ok() {
                break c;
            }
        }
        assert!(Instant::now() < deadline, "port {port} never answered");
        std::thread::sleep(Duration::from_millis(100));
    };
    for i in 0..SETS {
        let (k, v) = (format!("durable:{i}"), format!("value {i}"));
        c.send(&request(&["SET", &k, &v])).unwrap();
        assert_eq!(c.read().unwrap(), resp::Frame::Simple(b"OK".to_vec()));
    }
    // The device's own counts agree: one durable write a SET, with the
    // cache switched off for it (QEMU's virtio-blk has CONFIG_WCE).
    let info = match c.cmd(&["INFO", "devices"]).unwrap() {
        resp::Frame::Bulk(text) => String::from_utf8(text).unwrap(),
        other => panic!("INFO devices: {other:?}"),
    };
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .unwrap_or_else(|| panic!("{name} missing: {info}"))
            .trim()
            .to_string()
    };
    assert_eq!(field("disk_write_cache"), "switched off for durable writes");
    let durable: usize = field("disk_durable_write_requests").parse().unwrap();
    assert!(durable >= SETS, "{durable} durable writes for {SETS} SETs");
    q.send(b"SHUTDOWN\r");
    q.wait_exit(Duration::from_secs(60));

    let text = std::fs::read_to_string(&trace.0).expect("strace's output");
    let (mut synced, mut oks, mut writes) = (0usize, 0usize, 0usize);
    for line in text.lines() {
        // A call strace saw finish: whole, or resumed after another
        // thread's line came between.
        let done = !line.contains("<unfinished");
        if done && line.contains("fdatasync") && line.trim_end().ends_with("= 0") {
            synced += 1;
        }
        if done && line.contains("pwrite") {
            writes += 1;
        }
        if line.contains("sendto(") && line.contains("\"+OK\\r\\n\"") {
            assert!(
                synced > 0,
                "an OK reached a client's socket with no fdatasync of the disk \
                 since the OK before it:\n{line}\n(strace: {})",
                trace.0.display()
            );
            synced = 0;
            oks += 1;
        }
    }
    assert_eq!(oks, SETS, "every SET's OK is in the trace");
    assert!(
        writes >= SETS,
        "each SET wrote the disk image: {writes} writes"
    );
}
