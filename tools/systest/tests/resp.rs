//! unikv as a Redis server under QEMU, with real clients on 127.0.0.1:
//! redis-cli (one-shot and interactive), redis-benchmark, the Rust `redis`
//! crate; data written over the network read at the console and after a
//! reboot; and maxclients, the idle timeout, passwords and CLIENT PAUSE as
//! Redis applies them. Hostile clients and a QEMU killed under clients' writes are in
//! tests/resp_faults.rs.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use resp::Frame;
use systest::net::{bulk, error, ok, request, Server};

fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli (tools/setup installs redis-tools)");
    assert!(out.status.success(), "redis-cli {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn redis_cli_and_the_console_see_the_same_store_across_a_reboot() {
    let mut s = Server::boot("resp-cli.img", 64, false, None);
    assert_eq!(
        redis_cli(s.port, &["SET", "greeting", "hello world"]),
        "OK\n"
    );
    assert_eq!(redis_cli(s.port, &["GET", "greeting"]), "hello world\n");
    assert_eq!(redis_cli(s.port, &["INCRBY", "n", "41"]), "41\n");
    // Interactive: commands on stdin, replies in order; a binary value
    // typed in redis-cli's quoting round trips.
    let mut child = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &s.port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("redis-cli");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"SET a 1\nAPPEND a 23\nGET a\nDEL a\nEXISTS a\nSET bin \"a\\x00b\"\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "OK\n3\n123\n1\n0\nOK\n"
    );
    assert_eq!(
        redis_cli(s.port, &["--no-raw", "GET", "bin"]),
        "\"a\\x00b\"\n"
    );
    // The console reads what the network wrote, and a network client in
    // MONITOR sees the console's commands (fed on the console's core,
    // which wakes the network's) and the network's.
    let mut monitor = s.client();
    assert_eq!(monitor.cmd(&["MONITOR"]).unwrap(), ok());
    assert_eq!(s.qemu.cmd("GET greeting"), "\"hello world\"\n");
    assert_eq!(s.qemu.cmd("GET n"), "\"41\"\n");
    assert_eq!(redis_cli(s.port, &["SET", "bin2", "a\nb"]), "OK\n");
    let mut lines = Vec::new();
    for _ in 0..3 {
        let Frame::Simple(line) = monitor.read().unwrap() else {
            panic!("not a status line")
        };
        let line = String::from_utf8(line).unwrap();
        lines.push(line.split_once("] ").unwrap().1.to_string());
    }
    assert_eq!(
        lines,
        [
            r#""GET" "greeting""#,
            r#""GET" "n""#,
            r#""SET" "bin2" "a\nb""#
        ]
    );
    drop(monitor);
    // And after a reboot too.
    s.qemu.send(b"REBOOT\r");
    s.qemu.read_until("boot complete");
    s.qemu.read_until(systest::PROMPT);
    s.wait_ready();
    assert_eq!(redis_cli(s.port, &["GET", "greeting"]), "hello world\n");
    assert_eq!(s.qemu.cmd("GET bin"), "\"a\\x00b\"\n");
    s.qemu.shutdown();
}

#[test]
fn the_rust_redis_crate_with_pipelines_and_binary_data_on_the_pci_nic() {
    let s = Server::boot("resp-crate.img", 256, true, None);
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", s.port)).unwrap();
    let mut con = client
        .get_connection()
        .expect("connect with the redis crate");
    // 16 MiB, the largest value a disk of 256 MiB or more keeps.
    let big: Vec<u8> = (0..(16 << 20)).map(|i| (i * 7 % 251) as u8).collect();
    let () = redis::cmd("SET")
        .arg("big")
        .arg(&big)
        .query(&mut con)
        .unwrap();
    let back: Vec<u8> = redis::cmd("GET").arg("big").query(&mut con).unwrap();
    assert!(
        back == big,
        "a 16 MiB binary value comes back byte for byte"
    );
    let mut pipe = redis::pipe();
    for i in 0..500 {
        pipe.cmd("SET").arg(format!("p{i:03}")).arg(i).ignore();
    }
    pipe.cmd("MGET").arg("p000").arg("p499").arg("nope");
    let (got,): (Vec<Option<i64>>,) = pipe.query(&mut con).unwrap();
    assert_eq!(got, vec![Some(0), Some(499), None]);
    let n: i64 = redis::cmd("INCRBY")
        .arg("p010")
        .arg(5)
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 15);
    let ttl: i64 = {
        let () = redis::cmd("SET")
            .arg("t")
            .arg("v")
            .arg("EX")
            .arg(100)
            .query(&mut con)
            .unwrap();
        redis::cmd("TTL").arg("t").query(&mut con).unwrap()
    };
    assert!((99..=100).contains(&ttl), "{ttl}");
    // A transaction: one atomic batch.
    let (a, b): (i64, i64) = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg("tx")
        .cmd("INCRBY")
        .arg("tx")
        .arg(10)
        .query(&mut con)
        .unwrap();
    assert_eq!((a, b), (1, 11));
    // SCAN with MATCH, through the crate's cursor iterator: every key once.
    let mut found: Vec<String> = redis::Commands::scan_match::<_, String>(&mut con, "p04*")
        .unwrap()
        .map(|k| k.unwrap())
        .collect();
    found.sort();
    let want: Vec<String> = (40..50).map(|i| format!("p0{i}")).collect();
    assert_eq!(found, want);
    // SLOWLOG's nested entries, as a client library parses them.
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("slowlog-log-slower-than")
        .arg(0)
        .query(&mut con)
        .unwrap();
    let _: Option<String> = redis::cmd("GET").arg("t").query(&mut con).unwrap();
    type Entry = (u64, u64, u64, Vec<Vec<u8>>, String, String);
    let log: Vec<Entry> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(1)
        .query(&mut con)
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].3, vec![b"GET".to_vec(), b"t".to_vec()]);
    assert!(log[0].4.starts_with("10.0.2.2:"), "{log:?}");
    // CLIENT KILL: the other connection's session closes it; this one
    // goes on.
    let mut other = client.get_connection().expect("a second connection");
    let id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut other).unwrap();
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(id)
        .query(&mut con)
        .unwrap();
    assert_eq!(killed, 1);
    let after: redis::RedisResult<String> = redis::cmd("PING").query(&mut other);
    assert!(after.is_err(), "a killed connection is closed: {after:?}");
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    s.qemu.shutdown();
}

#[test]
fn maxclients_and_the_idle_timeout_as_redis_applies_them() {
    let mut s = Server::boot("resp-limits.img", 64, false, None);
    assert_eq!(s.qemu.cmd("CONFIG SET maxclients 2"), "OK\n");
    let mut a = s.client();
    let mut b = s.client();
    assert_eq!(a.cmd(&["PING"]).unwrap(), Frame::Simple(b"PONG".to_vec()));
    assert_eq!(b.cmd(&["PING"]).unwrap(), Frame::Simple(b"PONG".to_vec()));
    let mut c = s.client();
    assert_eq!(
        c.read().unwrap(),
        error("ERR max number of clients reached")
    );
    assert!(c.closed_within(Duration::from_secs(5)));
    drop(b);
    // A place is free again once the server has seen the close.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut d = s.client();
        if d.cmd(&["PING"])
            .map(|f| f == Frame::Simple(b"PONG".to_vec()))
            .unwrap_or(false)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed connection's place never came back"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(s.qemu.cmd("CONFIG SET maxclients 500"), "OK\n");
    // An idle client is closed after `timeout` seconds; a busy one is not.
    assert_eq!(
        a.cmd(&["CONFIG", "GET", "timeout"]).unwrap(),
        Frame::Array(vec![bulk("timeout"), bulk("0")])
    );
    assert_eq!(s.qemu.cmd("CONFIG SET timeout 1"), "OK\n");
    let mut idle = s.client();
    assert_eq!(
        idle.cmd(&["PING"]).unwrap(),
        Frame::Simple(b"PONG".to_vec())
    );
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        assert_eq!(a.cmd(&["PING"]).unwrap(), Frame::Simple(b"PONG".to_vec()));
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        idle.closed_within(Duration::from_secs(5)),
        "the idle client was closed"
    );
    s.qemu.shutdown();
}

#[test]
fn passwords_noauth_wrongpass_hello_auth_and_the_appliance_controls() {
    // No password: the data commands work, the appliance's controls are
    // refused over the network with a way to enable them.
    let mut s = Server::boot("resp-noauth.img", 64, false, None);
    let mut c = s.client();
    assert_eq!(c.cmd(&["PING"]).unwrap(), Frame::Simple(b"PONG".to_vec()));
    for control in [
        &["FLUSH"][..],
        &["SERVICE", "STOP", "kv"],
        &["DEBUG", "PANIC"],
        &["BENCH", "fillseq", "10"],
        &["CACHE", "RESET"],
        &["SHUTDOWN"],
    ] {
        match c.cmd(control).unwrap() {
            Frame::Error(e) => {
                let e = String::from_utf8_lossy(&e).into_owned();
                assert!(
                    e.contains("refused over the network") && e.contains("requirepass"),
                    "{control:?}: {e}"
                );
            }
            f => panic!("{control:?}: {f:?}"),
        }
    }
    assert_eq!(s.qemu.cmd("GET nothing"), "(nil)\n", "the kernel is up");
    s.qemu.shutdown();

    // A password from the boot arguments.
    let mut s = Server::boot("resp-auth.img", 64, false, Some("requirepass=s3cret"));
    let mut c = s.client();
    assert_eq!(
        c.cmd(&["GET", "k"]).unwrap(),
        error("NOAUTH Authentication required.")
    );
    assert_eq!(
        c.cmd(&["AUTH", "wrong"]).unwrap(),
        error("WRONGPASS invalid username-password pair or user is disabled.")
    );
    assert_eq!(
        c.cmd(&["GET", "k"]).unwrap(),
        error("NOAUTH Authentication required.")
    );
    assert_eq!(c.cmd(&["AUTH", "s3cret"]).unwrap(), ok());
    assert_eq!(c.cmd(&["SET", "k", "v"]).unwrap(), ok());
    // HELLO 3 with AUTH on a new connection: a RESP3 map, then the data.
    let mut h = s.client();
    match h.cmd(&["HELLO", "3", "AUTH", "default", "s3cret"]).unwrap() {
        Frame::Map(pairs) => assert!(
            pairs.contains(&(bulk("proto"), Frame::Integer(3))),
            "{pairs:?}"
        ),
        f => panic!("HELLO 3: {f:?}"),
    }
    assert_eq!(h.cmd(&["GET", "k"]).unwrap(), bulk("v"));
    let mut bad = s.client();
    assert_eq!(
        bad.cmd(&["HELLO", "3", "AUTH", "default", "nope"]).unwrap(),
        error("WRONGPASS invalid username-password pair or user is disabled.")
    );
    // Authenticated, the appliance's controls work over the network.
    assert_eq!(c.cmd(&["FLUSH"]).unwrap(), ok());
    assert_eq!(c.cmd(&["CACHE", "RESET"]).unwrap(), ok());
    // The console needs no password.
    assert_eq!(s.qemu.cmd("GET k"), "\"v\"\n");
    // SHUTDOWN over the network, authenticated: QEMU exits 0.
    c.send(&request(&["SHUTDOWN"])).unwrap();
    assert_eq!(s.qemu.wait_exit(Duration::from_secs(30)).code(), Some(0));
}

#[test]
fn redis_benchmark_runs_without_errors() {
    let s = Server::boot("resp-bench.img", 64, false, None);
    for (clients, pipeline) in [("1", "1"), ("10", "1"), ("50", "1"), ("10", "16")] {
        let out = Command::new("redis-benchmark")
            .args(["-h", "127.0.0.1", "-p", &s.port.to_string()])
            .args(["-t", "ping,set,get,incr,mset", "-n", "2000", "-q"])
            .args(["-c", clients, "-P", pipeline])
            .output()
            .expect("redis-benchmark (tools/setup installs redis-tools)");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "-c {clients} -P {pipeline}: {text}");
        for test in ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET"] {
            let line = text
                .lines()
                .find(|l| {
                    l.trim_start().starts_with(&format!("{test}:"))
                        || l.contains(&format!("{test} ("))
                })
                .unwrap_or_else(|| panic!("no {test} line at -c {clients} -P {pipeline}: {text}"));
            assert!(line.contains("requests per second"), "{line}");
        }
        assert!(
            !text.contains("Error"),
            "-c {clients} -P {pipeline}: {text}"
        );
    }
    let mut c = s.client();
    assert_eq!(
        c.cmd(&["EXISTS", "key:__rand_int__"]).unwrap(),
        Frame::Integer(1)
    );
    // The network's loop executed writes while its commits' FLUSHes ran
    // (at -c 50 most of them do), and counted none twice.
    let Frame::Bulk(info) = c.cmd(&["INFO", "storage"]).unwrap() else {
        panic!("INFO storage")
    };
    let info = String::from_utf8_lossy(&info).replace('\r', "");
    let count = |name| -> u64 {
        systest::field(&info, name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {info}"))
    };
    let (writes, during) = (
        count("group_commit_writes"),
        count("group_commit_writes_during_flush"),
    );
    assert!(0 < during && during <= writes, "{info}");
    // Every SET went into its command's latency histogram: 4 loads of
    // 2,000 SETs, and MSET's 2,000 each.
    let Frame::Bulk(stats) = c.cmd(&["INFO", "latencystats"]).unwrap() else {
        panic!("INFO latencystats")
    };
    let stats = String::from_utf8_lossy(&stats).replace('\r', "");
    for name in ["set", "get", "incr", "mset", "ping"] {
        let line = systest::field(&stats, &format!("latency_percentiles_usec_{name}"))
            .unwrap_or_else(|| panic!("no {name} in {stats}"));
        assert!(
            line.starts_with("p50=") && line.contains(",p99.9="),
            "{line}"
        );
    }
    let Frame::Array(h) = c.cmd(&["LATENCY", "HISTOGRAM", "set"]).unwrap() else {
        panic!("LATENCY HISTOGRAM")
    };
    assert_eq!(h[0], Frame::Bulk(b"set".to_vec()));
    let Frame::Array(set) = &h[1] else { panic!() };
    assert_eq!(
        set[..2],
        [Frame::Bulk(b"calls".to_vec()), Frame::Integer(8000)]
    );
    let Frame::Array(buckets) = &set[3] else {
        panic!()
    };
    assert_eq!(buckets.last(), Some(&Frame::Integer(8000)), "cumulative");
    s.qemu.shutdown();
}

/// CLIENT PAUSE over the network, as Redis has it: a WRITE pause holds a
/// client's SET and what it sent after it while other clients read; the
/// console's UNPAUSE (another core's) lets them run in order; a pause also
/// ends by the clock (the network core's tick), and an ALL pause holds
/// reads too. A waiting client is INFO's `blocked_clients`.
#[test]
fn client_pause_holds_writes_until_unpause_or_its_end() {
    let mut s = Server::boot("resp-pause.img", 64, false, None);
    let mut a = s.client();
    let mut b = s.client();
    assert_eq!(a.cmd(&["SET", "k", "v1"]).unwrap(), ok());
    assert_eq!(
        a.cmd(&["CLIENT", "PAUSE", "100000", "WRITE"]).unwrap(),
        ok()
    );
    b.send(&request(&["SET", "k", "v2"])).unwrap();
    b.send(&request(&["GET", "k"])).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s.qemu.cmd("INFO clients").contains("blocked_clients:1") {
        assert!(Instant::now() < deadline, "the SET never waited");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(a.cmd(&["GET", "k"]).unwrap(), bulk("v1"), "reads go on");
    b.stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(b.read().is_err(), "nothing answered while paused");
    b.stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    assert_eq!(s.qemu.cmd("CLIENT UNPAUSE"), "OK\n");
    assert_eq!(b.read().unwrap(), ok());
    assert_eq!(b.read().unwrap(), bulk("v2"));
    assert!(s.qemu.cmd("INFO clients").contains("blocked_clients:0"));
    // By the clock, holding every command.
    let started = Instant::now();
    assert_eq!(a.cmd(&["CLIENT", "PAUSE", "1000", "ALL"]).unwrap(), ok());
    assert_eq!(b.cmd(&["PING"]).unwrap(), Frame::Simple(b"PONG".to_vec()));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(10),
        "{took:?}"
    );
    s.qemu.shutdown();
}
