//! All cores at work at once, under the seed's `-smp 4`: BENCH threads on
//! the console, network clients writing, deleting and reading their keys
//! against a model, and compactions forced meanwhile; then QEMU killed in
//! the middle, and after the reboot every acknowledged write is there.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use resp::Frame;
use systest::net::{Client, Server};
use systest::PROMPT;

/// What a client knows of one of its keys: the value its last
/// acknowledged write left (None: deleted or never written).
type Model = HashMap<String, Option<Vec<u8>>>;

/// A client's write in flight when the machine died: its key and what it
/// would have left.
type InFlight = Option<(String, Option<Vec<u8>>)>;

const CLIENTS: usize = 4;
const KEYS_PER_CLIENT: usize = 300;
const PASSWORD: &str = "cores-stress";

fn auth(c: &mut Client) {
    assert_eq!(
        c.cmd(&["AUTH", PASSWORD]).unwrap(),
        Frame::Simple(b"OK".to_vec())
    );
}

/// A value that names its key and the write that made it, 100 to 400
/// bytes so that memtables fill and tables are written often.
fn value(key: &str, n: u64, rng: &mut u64) -> Vec<u8> {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    let len = 100 + (*rng % 300) as usize;
    let head = format!("{key}#{n}#");
    let mut v = head.into_bytes();
    v.resize(len, b'a' + (n % 26) as u8);
    v
}

/// One client's work until `stop`: random SETs, DELs and GETs of its own
/// keys, every GET checked against the model. Returns the model and the
/// write in flight when the connection died (if it did).
fn client(port: u16, t: usize, stop: Arc<AtomicBool>) -> (Model, InFlight, u64) {
    let mut c = Client::try_connect(port).unwrap();
    auth(&mut c);
    let mut model: Model = HashMap::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ (t as u64 + 1);
    let mut ops = 0u64;
    while !stop.load(Ordering::Relaxed) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let key = format!("c{t}:{}", rng % KEYS_PER_CLIENT as u64);
        let op = (rng >> 32) % 10;
        if op < 5 {
            let v = value(&key, ops, &mut rng);
            let inflight = Some((key.clone(), Some(v.clone())));
            match c.cmd(&[b"SET".as_slice(), key.as_bytes(), &v]) {
                Ok(Frame::Simple(ok)) if ok == b"OK" => {
                    model.insert(key, Some(v));
                }
                Ok(other) => panic!("SET {key}: {other:?}"),
                Err(_) => return (model, inflight, ops),
            }
        } else if op < 7 {
            let inflight = Some((key.clone(), None));
            match c.cmd(&["DEL", key.as_str()]) {
                Ok(Frame::Integer(n)) => {
                    let had = model.get(&key).is_some_and(Option::is_some);
                    assert_eq!(n, i64::from(had), "DEL {key}: the model says {had}");
                    model.insert(key, None);
                }
                Ok(other) => panic!("DEL {key}: {other:?}"),
                Err(_) => return (model, inflight, ops),
            }
        } else {
            match c.cmd(&["GET", key.as_str()]) {
                Ok(got) => {
                    let want = match model.get(&key).cloned().flatten() {
                        Some(v) => Frame::Bulk(v),
                        None => Frame::NilBulk,
                    };
                    assert_eq!(
                        got, want,
                        "GET {key} read something its writes did not leave"
                    );
                }
                Err(_) => return (model, None, ops),
            }
        }
        ops += 1;
    }
    (model, None, ops)
}

#[test]
fn bench_threads_clients_and_compactions_at_once_then_a_kill() {
    let append = format!("requirepass={PASSWORD}");
    let mut s = Server::boot("cores-stress.img", 64, false, Some(&append));

    // The console: a benchmark on two cores, writing its own keys and
    // reading them back checked, for as long as the clients run.
    s.qemu
        .send(b"BENCH fillrandom 150000 threads=2 value_size=200\r");

    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for t in 0..CLIENTS {
        let (port, stop) = (s.port, stop.clone());
        threads.push(std::thread::spawn(move || client(port, t, stop)));
    }
    // Compactions forced meanwhile, from a client of their own.
    let compactions = Arc::new(Mutex::new(0u32));
    let compactor = {
        let (port, stop, compactions) = (s.port, stop.clone(), compactions.clone());
        std::thread::spawn(move || {
            let mut c = Client::try_connect(port).unwrap();
            auth(&mut c);
            while !stop.load(Ordering::Relaxed) {
                match c.cmd(&["COMPACT"]) {
                    Ok(Frame::Simple(ok)) if ok == b"OK" => *compactions.lock().unwrap() += 1,
                    Ok(other) => panic!("COMPACT: {other:?}"),
                    Err(_) => return,
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };

    // Let everything run together, then check the console is still alive
    // and pull the plug in the middle of it all.
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(8));
    // Whatever the benchmark printed so far (it may not have finished: the
    // kill comes in the middle of it all) has no error.
    if let Some(out) = s.qemu.try_read_until(PROMPT, Duration::from_millis(100)) {
        assert!(
            !out.contains("ERR"),
            "the benchmark failed beside the clients: {out}"
        );
    }
    s.qemu.kill();
    stop.store(true, Ordering::Relaxed);
    let mut results = Vec::new();
    for t in threads {
        results.push(t.join().expect("a client's checks held"));
    }
    compactor.join().expect("COMPACT always succeeded");
    let total: u64 = results.iter().map(|r| r.2).sum();
    eprintln!(
        "{total} client operations and {} compactions in {:?} beside BENCH threads=2, then killed",
        compactions.lock().unwrap(),
        started.elapsed()
    );
    // Served, each of them, beside the benchmark and the compactions (how
    // many depends on the host's load: a count, not a rate).
    for (t, r) in results.iter().enumerate() {
        assert!(r.2 >= 20, "client {t} was served {} operations", r.2);
    }
    assert!(*compactions.lock().unwrap() > 0, "COMPACT ran");

    // After the reboot every key is as its last acknowledged write left
    // it, or as the write in flight at the kill would have.
    s.reboot();
    let mut c = s.client();
    auth(&mut c);
    for (t, (model, inflight, _)) in results.iter().enumerate() {
        for k in 0..KEYS_PER_CLIENT {
            let key = format!("c{t}:{k}");
            let got = c.cmd(&["GET", key.as_str()]).unwrap();
            let acked = match model.get(&key).cloned().flatten() {
                Some(v) => Frame::Bulk(v),
                None => Frame::NilBulk,
            };
            let pending = inflight
                .as_ref()
                .filter(|(k2, _)| *k2 == key)
                .map(|(_, v)| v.clone().map_or(Frame::NilBulk, Frame::Bulk));
            assert!(
                got == acked || Some(&got) == pending.as_ref(),
                "{key}: after the kill {got:?}, acknowledged {acked:?}"
            );
        }
    }
    let verify = c.cmd(&["VERIFY"]);
    assert!(
        matches!(&verify, Ok(Frame::Simple(_)) | Ok(Frame::Bulk(_))),
        "{verify:?}"
    );
    s.qemu.shutdown();
}

/// BENCH threads=N asked over the network (allowed once authenticated)
/// runs from the network's core: its helpers are job cores, never CPU 0,
/// whose loop takes no jobs (claiming it hung the network core).
#[test]
fn bench_threads_from_the_network_core() {
    let append = format!("requirepass={PASSWORD}");
    let s = Server::boot("cores-net-bench.img", 64, false, Some(&append));
    let mut c = Client::try_connect(s.port).unwrap();
    auth(&mut c);
    for workload in ["fillrandom", "readrandom"] {
        let reply = c
            .cmd(&["BENCH", workload, "3000", "threads=2"])
            .unwrap_or_else(|e| panic!("BENCH {workload} threads=2: {e}"));
        let text = match &reply {
            Frame::Bulk(b) | Frame::Verbatim { text: b, .. } => {
                String::from_utf8_lossy(b).into_owned()
            }
            other => panic!("BENCH {workload} threads=2: {other:?}"),
        };
        assert!(text.contains("threads:2"), "{text}");
        assert!(text.contains("ops_per_sec:"), "{text}");
    }
    assert_eq!(c.cmd(&["PING"]).unwrap(), Frame::Simple(b"PONG".to_vec()));
}
