//! The network: PCI (the disk as virtio-blk-pci), booting without a NIC,
//! DHCP and static addressing on both NICs (virtio-net-device and
//! virtio-net-pci) on QEMU's user network, TCP connections through a
//! hostfwd bound to 127.0.0.1 (one held open, then a burst of 300 that must
//! all reach the guest with none refused), and ARP and ping on a tap device
//! inside a network namespace the test makes (skipped where it cannot).
//!
//! Every wait has a deadline; traffic goes only to 127.0.0.1 or into the
//! test's own namespace.

use std::io::Read;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};
use systest::{field, free_port, DiskBus, Nic, Options, Qemu, TempFile, PROMPT};

const WAIT: Duration = Duration::from_secs(20);

fn info_network(q: &mut Qemu) -> String {
    q.cmd("INFO network")
}

/// Asks `INFO network` until `done` holds, or fails with the last answer.
fn wait_network(q: &mut Qemu, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let r = info_network(q);
        if done(&r) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "INFO network never showed {what}:\n{r}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn number(report: &str, name: &str) -> u64 {
    field(report, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number {name} in:\n{report}"))
}

fn user_nic(pci: bool, host_port: u16) -> Nic {
    Nic::User {
        pci,
        host_port,
        guest_port: 6379,
    }
}

#[test]
fn the_store_on_a_pci_disk_without_a_nic() {
    let d = TempFile::new("net-pci-disk.img", 64 << 20);
    let mut q = Qemu::boot(&Options {
        disk: Some(d.0.clone()),
        disk_bus: DiskBus::Pci,
        nic: Nic::None,
        ..Options::default()
    });
    let t = q.transcript();
    assert!(t.contains("virtio block, BAR"), "{t}");
    assert!(t.contains("net: no network device"), "{t}");
    let devices = q.cmd("INFO devices");
    assert!(
        devices.contains("virtio0:block at PCI 00:01.0 INTID 36"),
        "{devices}"
    );
    assert!(
        devices.contains("pci_ecam:0x4010000000 (256 MiB)"),
        "{devices}"
    );
    assert!(
        q.cmd("SERVICES")
            .contains("\"net\" \"failed: no virtio network device"),
        "the service fails with the reason"
    );
    assert_eq!(info_network(&mut q), "# Network\nlink:none\n");
    assert_eq!(q.cmd("SET pci disk"), "OK\n");
    // Its requests were waited for asleep, on its INTx line.
    let (intid, taken) = systest::disk_interrupts(&mut q);
    assert!(
        intid == 36 && taken > 0,
        "INTID {intid} taken {taken} times"
    );
    q.send(b"REBOOT\r");
    q.read_until("boot complete");
    q.read_until(PROMPT);
    assert_eq!(q.cmd("GET pci"), "\"disk\"\n");
    q.shutdown();
}

#[test]
fn boots_with_no_nic_at_all() {
    let mut q = Qemu::boot(&Options {
        extra: vec!["-net".into(), "none".into()],
        ..Options::default()
    });
    assert!(q.transcript().contains("net: no network device"));
    assert!(q
        .cmd("SERVICES")
        .contains("\"net\" \"failed: no virtio network device"));
    assert!(!q.cmd("INFO devices").contains("network"));
    assert_eq!(q.cmd("GET x").lines().count(), 1, "the console still works");
}

#[test]
fn the_seed_line_s_default_nic_gets_an_address_by_dhcp() {
    let mut q = Qemu::boot(&Options::default());
    let r = wait_network(&mut q, "a DHCP address", |r| {
        field(r, "address_source") == Some("dhcp")
    });
    assert_eq!(field(&r, "device"), Some("virtio-net-pci at PCI 00:01.0"));
    assert_eq!(field(&r, "address"), Some("10.0.2.15/24"));
    assert_eq!(field(&r, "gateway"), Some("10.0.2.2"));
    assert_eq!(field(&r, "mac"), Some("52:54:00:12:34:56"));
    assert_eq!(field(&r, "port"), Some("6379"));
    assert_eq!(field(&r, "tcp_listeners"), Some("2"));
    let log = q.cmd("LOG");
    assert!(
        log.contains("net: DHCP: address 10.0.2.15/24, gateway 10.0.2.2"),
        "{log}"
    );
    // Stopped (the device reset, its interrupt off) and started again: a
    // fresh attach and a fresh lease.
    assert_eq!(q.cmd("SERVICE STOP net"), "OK\n");
    assert_eq!(info_network(&mut q), "# Network\nlink:none\n");
    assert_eq!(q.cmd("SERVICE START net"), "OK\n");
    let r = wait_network(&mut q, "a new lease", |r| {
        field(r, "address_source") == Some("dhcp")
    });
    // Counted afresh: the offer and the ack (and whatever else came since).
    let rx = number(&r, "rx_packets");
    assert!((2..10).contains(&rx), "{r}");
}

/// DHCP, one connection held open, then 300 connect-and-close in a row.
fn dhcp_connect_and_burst(pci: bool) {
    let port = free_port();
    let mut q = Qemu::boot(&Options {
        nic: user_nic(pci, port),
        ..Options::default()
    });
    let r = wait_network(&mut q, "a DHCP address", |r| {
        field(r, "address_source") == Some("dhcp")
    });
    assert_eq!(field(&r, "address"), Some("10.0.2.15/24"), "{r}");
    // With restrict=on QEMU's DHCP server names no router.
    assert_eq!(field(&r, "gateway"), Some("none"), "{r}");
    let (device, intid) = if pci {
        ("virtio-net-pci at PCI 00:01.0", "36")
    } else {
        ("virtio-net at 0xa003e00", "79")
    };
    assert_eq!(field(&r, "device"), Some(device), "{r}");
    assert_eq!(field(&r, "intid"), Some(intid), "{r}");
    assert!(q
        .cmd("LOG")
        .contains("net: DHCP: address 10.0.2.15/24, gateway none"));

    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut held = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    // The network's sessions run on their own core: the console may look
    // between the stack's accept and theirs.
    let r = wait_network(&mut q, "the connection, taken by a session", |r| {
        number(r, "tcp_open") == 1 && number(r, "tcp_waiting") == 0
    });
    assert_eq!(number(&r, "tcp_accepted"), 1, "{r}");
    // The session keeps it open, waiting for a request: a read finds no
    // data and no end.
    held.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    let e = held.read(&mut byte).expect_err("nothing to read, no EOF");
    assert!(
        matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{e}"
    );
    held.shutdown(Shutdown::Both).unwrap();
    drop(held);
    let r = wait_network(&mut q, "the connection closed", |r| {
        number(r, "tcp_closed") == 1 && number(r, "tcp_open") == 0
    });
    assert_eq!(number(&r, "tcp_refused"), 0, "{r}");

    let started = Instant::now();
    for i in 0..300 {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connection {i} of the burst: {e}"));
        drop(s);
    }
    let r = wait_network(&mut q, "the burst's 300 connections", |r| {
        number(r, "tcp_accepted") == 301 && number(r, "tcp_closed") == 301
    });
    eprintln!(
        "300 connect-close through hostfwd ({}): {} ms until the guest had closed them all",
        if pci { "PCI" } else { "mmio" },
        started.elapsed().as_millis()
    );
    assert_eq!(
        number(&r, "tcp_refused"),
        0,
        "no SYN found no listener: {r}"
    );
    assert_eq!(number(&r, "tcp_open"), 0, "{r}");
    assert_eq!(number(&r, "tcp_listeners"), 2, "{r}");
    assert_eq!(number(&r, "rx_errors"), 0, "{r}");
    assert!(number(&r, "rx_packets") > 900, "{r}");
}

#[test]
fn mmio_nic_dhcp_connections_and_a_burst() {
    dhcp_connect_and_burst(false);
}

#[test]
fn pci_nic_dhcp_connections_and_a_burst() {
    dhcp_connect_and_burst(true);
}

#[test]
fn static_address_and_port_from_the_boot_arguments() {
    let port = free_port();
    let mut q = Qemu::boot(&Options {
        nic: Nic::User {
            pci: true,
            host_port: port,
            guest_port: 7000,
        },
        append: Some("ip=10.0.2.15/24 gw=10.0.2.2 port=7000".into()),
        ..Options::default()
    });
    assert!(q
        .transcript()
        .contains("net: static address 10.0.2.15/24, gateway 10.0.2.2"));
    let r = info_network(&mut q);
    assert_eq!(field(&r, "address"), Some("10.0.2.15/24"), "{r}");
    assert_eq!(field(&r, "address_source"), Some("static"), "{r}");
    assert_eq!(field(&r, "gateway"), Some("10.0.2.2"), "{r}");
    assert_eq!(field(&r, "port"), Some("7000"), "{r}");
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let _s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    let r = wait_network(&mut q, "the connection on port 7000", |r| {
        number(r, "tcp_accepted") == 1
    });
    assert_eq!(number(&r, "tcp_refused"), 0, "{r}");
    assert!(
        !q.cmd("LOG").contains("DHCP"),
        "no DHCP with a static address"
    );
}

#[test]
fn bad_network_boot_arguments_fail_the_service_with_the_reason() {
    for (args, reason) in [
        ("ip=10.0.2.300/24", "ip=10.0.2.300: not an IPv4 address"),
        (
            "ip=10.0.2.15/24 gw=10.0.3.1",
            "gw=10.0.3.1 is outside 10.0.2.15/24",
        ),
        ("port=0", "port=0: not a TCP port (1-65535)"),
    ] {
        let mut q = Qemu::boot(&Options {
            nic: Nic::None,
            append: Some(args.into()),
            ..Options::default()
        });
        let services = q.cmd("SERVICES");
        assert!(
            services.contains(&format!("\"net\" \"failed: {reason}\"")),
            "{args}: {services}"
        );
    }
}

/// Runs `args` inside the network namespace of process `pid`.
fn in_netns(pid: u32, args: &[&str]) -> std::process::Output {
    Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-n"])
        .args(args)
        .output()
        .expect("run nsenter")
}

/// Why the tap test cannot run here, if it cannot.
fn tap_unavailable() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root: no network namespace with a tap device".into());
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("/dev/net/tun is missing".into());
    }
    for tool in ["unshare", "nsenter", "ip", "ping"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Some(format!("{tool} is missing (tools/setup installs it)"));
        }
    }
    let ok = Command::new("unshare")
        .args(["--net", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return Some("unshare --net fails here".into());
    }
    None
}

/// Boots the guest on a tap NIC (virtio-net-pci if `pci`) in a network
/// namespace of its own, with boot arguments `append`. The namespace holds
/// only loopback and tap0 (192.0.2.1/24, a documentation range), so
/// nothing the tests send goes anywhere else.
fn boot_in_own_netns(pci: bool, append: &str) -> Qemu {
    let setup = "ip link set lo up; ip tuntap add dev tap0 mode tap; \
                 ip addr add 192.0.2.1/24 dev tap0; ip link set tap0 up; exec \"$0\" \"$@\"";
    Qemu::boot(&Options {
        nic: Nic::Tap { pci },
        append: Some(append.into()),
        wrapper: ["unshare", "--net", "sh", "-ec", setup]
            .map(String::from)
            .to_vec(),
        ..Options::default()
    })
}

#[test]
fn arp_and_ping_on_a_tap_device_in_a_namespace_of_our_own() {
    if let Some(why) = tap_unavailable() {
        eprintln!("SKIPPED arp_and_ping_on_a_tap_device_in_a_namespace_of_our_own: {why}");
        return;
    }
    let mut q = boot_in_own_netns(true, "ip=192.0.2.15/24 gw=192.0.2.1");
    let out = in_netns(
        q.pid(),
        &["ping", "-c", "3", "-i", "0.2", "-W", "5", "192.0.2.15"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ping failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("3 packets transmitted, 3 received"), "{text}");
    // The guest answered ARP with its MAC.
    let neigh = in_netns(q.pid(), &["ip", "neigh", "show", "192.0.2.15"]);
    let neigh = String::from_utf8_lossy(&neigh.stdout);
    assert!(neigh.contains("lladdr 52:54:00:12:34:56"), "{neigh}");
    let r = info_network(&mut q);
    assert!(
        number(&r, "rx_packets") >= 4,
        "ARP and 3 echo requests: {r}"
    );
    assert!(number(&r, "tx_packets") >= 4, "ARP and 3 echo replies: {r}");
}

/// A client that connects again from the address and port of a connection
/// the guest closed a moment ago (its socket in TIME-WAIT, in the shard of
/// that peer) is served: its SYN goes to a listener, and the old socket
/// gives way when the new connection moves into the shard.
#[test]
fn a_peer_reconnecting_from_the_same_port_is_served() {
    if let Some(why) = tap_unavailable() {
        eprintln!("SKIPPED a_peer_reconnecting_from_the_same_port_is_served: {why}");
        return;
    }
    let q = boot_in_own_netns(false, "ip=192.0.2.15/24");
    // QUIT: the guest closes first, so its side goes through TIME-WAIT
    // (the client's input stays open until then, or it would close first
    // and the port would wait in the client's TIME-WAIT instead).
    let script = "for i in 1 2 3; do \
                    (printf 'PING\\r\\nQUIT\\r\\n'; sleep 3) | \
                    socat -t 0.2 - TCP:192.0.2.15:6379,bind=192.0.2.1:40000,reuseaddr; \
                  done";
    let out = in_netns(q.pid(), &["timeout", "60", "sh", "-c", script]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.matches("+PONG").count(),
        3,
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text.matches("+OK").count(), 3, "{text}");
}
