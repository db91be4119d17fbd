//! unikv as a Redis server under QEMU, among clients that misbehave or
//! lose their server: hostile clients that must not hurt anyone else (nor
//! fill the heap), a
//! QEMU killed while clients pipeline SETs, after which every SET whose OK
//! reached its client is there, and `appendfsync` switched at run time
//! before such a kill.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use resp::Frame;
use systest::net::{bulk, ok, request, Client, Server};

/// Closes `stream` with a reset (RST) instead of a FIN: SO_LINGER with a
/// zero timeout, as a client that crashes or is killed does.
fn reset(stream: std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket descriptor and a properly sized, initialised
    // option value; the call only changes how the socket closes.
    let r = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "SO_LINGER");
    drop(stream);
}

/// Hostile clients, one after another, while a well-behaved one keeps
/// being served; afterwards nothing stored has changed.
#[test]
fn hostile_clients_hurt_nobody_else() {
    let s = Server::boot("resp-hostile.img", 64, false, None);
    let mut good = s.client();
    assert_eq!(good.cmd(&["SET", "canary", "alive"]).unwrap(), ok());
    let check = |good: &mut Client| match good.cmd(&["GET", "canary"]) {
        Ok(f) => assert_eq!(f, bulk("alive")),
        Err(e) => panic!("the well-behaved client lost its connection: {e}"),
    };

    // Garbage: a protocol error, then the connection closes.
    let mut c = s.client();
    c.send(b"*2\r\n$3\r\nGET\r\nxx\r\n\x00\xff garbage\r\n")
        .unwrap();
    let mut rest = c.read();
    while let Ok(f) = rest {
        if let Frame::Error(e) = &f {
            assert!(e.starts_with(b"ERR Protocol error"), "{f:?}");
        }
        rest = c.read();
    }
    check(&mut good);

    // Absurd lengths are refused from the header, before any byte is kept.
    for header in [
        &b"*99999999999999\r\n"[..],
        b"*1\r\n$99999999999\r\n",
        b"*1\r\n$-7\r\n",
        b"*abc\r\n",
    ] {
        let mut c = s.client();
        c.send(header).unwrap();
        match c.read().unwrap() {
            Frame::Error(e) => assert!(e.starts_with(b"ERR Protocol error"), "{e:?}"),
            f => panic!("{header:?}: {f:?}"),
        }
        assert!(c.closed_within(Duration::from_secs(5)));
    }
    check(&mut good);

    // An endless inline line: refused at 64 KiB.
    let mut c = s.client();
    let _ = c.send(&vec![b'a'; 70 * 1024]);
    match c.read() {
        Ok(Frame::Error(e)) => assert_eq!(e, b"ERR Protocol error: too big inline request"),
        other => panic!("{other:?}"),
    }
    check(&mut good);

    // A value over proto-max-bulk-len (64 MiB): refused from its header.
    let mut c = s.client();
    c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$70000000\r\n")
        .unwrap();
    match c.read().unwrap() {
        Frame::Error(e) => assert_eq!(e, b"ERR Protocol error: invalid bulk length"),
        f => panic!("{f:?}"),
    }
    check(&mut good);

    // A slow sender: one command dribbled a byte at a time.
    let mut slow = s.client();
    let req = request(&["SET", "slow", "value"]);
    for b in &req {
        slow.send(&[*b]).unwrap();
        check(&mut good);
    }
    assert_eq!(slow.read().unwrap(), ok());

    // A reset in the middle of a request.
    let c = s.client();
    let mut half = request(&["SET", "half", "value"]);
    half.truncate(half.len() - 5);
    (&c.stream).write_all(&half).unwrap();
    reset(c.stream);
    check(&mut good);

    // Hundreds of connections at once, each served.
    let mut many: Vec<Client> = (0..300).map(|_| s.client()).collect();
    for (i, c) in many.iter_mut().enumerate() {
        c.send(&request(&["GET", "canary"])).unwrap();
        if i % 50 == 0 {
            check(&mut good);
        }
    }
    for c in &mut many {
        assert_eq!(c.read().unwrap(), bulk("alive"));
    }
    drop(many);

    // A client that never reads: it asks for a 512 KiB value over and over;
    // it is dropped once its unread replies pass the limit, and the server
    // goes on. The limit at its smallest: as in Redis it counts only what
    // overflows a client's 16 KiB reply buffer, so clients that read their
    // replies are served as before (they were all closed at their first
    // reply once).
    assert_eq!(
        good.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 1 0 0"
        ])
        .unwrap(),
        ok()
    );
    assert_eq!(
        s.client().cmd(&["PING"]).unwrap(),
        Frame::Simple(b"PONG".to_vec())
    );
    let mut c = s.client();
    assert_eq!(
        c.cmd(&["SET", "big", &"x".repeat(512 << 10)]).unwrap(),
        ok()
    );
    let stop = Arc::new(AtomicBool::new(false));
    let stream = c.stream.try_clone().unwrap();
    let flood = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut stream = stream;
            let req = request(&["GET", "big"]);
            let deadline = Instant::now() + Duration::from_secs(60);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                if stream.write_all(&req).is_err() {
                    return true;
                }
            }
            false
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        check(&mut good);
        let clients = s.client().cmd(&["EXISTS", "canary"]).unwrap();
        assert_eq!(clients, Frame::Integer(1));
        if flood.is_finished() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    assert!(
        flood.join().unwrap(),
        "the client that never reads was dropped"
    );

    // Nothing stored changed: the canary and the values set on purpose.
    check(&mut good);
    assert_eq!(good.cmd(&["GET", "slow"]).unwrap(), bulk("value"));
    assert_eq!(
        good.cmd(&["EXISTS", "half", "k"]).unwrap(),
        Frame::Integer(0)
    );
    s.qemu.shutdown();
}

/// Clients that would make the server hold more than its heap: a command
/// that reads more large values than memory allows is refused with an OOM
/// error, and clients that send large requests and never finish them are
/// dropped once what all the clients hold passes a quarter of the free
/// heap. Either would otherwise end in a failed allocation, which stops
/// the kernel. Another client is served throughout; nothing changes.
#[test]
fn clients_that_would_fill_the_heap_are_refused_or_dropped() {
    let s = Server::boot("resp-heap.img", 256, false, None);
    let mut good = s.client();
    assert_eq!(good.cmd(&["SET", "canary", "alive"]).unwrap(), ok());
    let check = |good: &mut Client| match good.cmd(&["GET", "canary"]) {
        Ok(f) => assert_eq!(f, bulk("alive")),
        Err(e) => panic!("the well-behaved client lost its connection: {e}"),
    };
    let big = "x".repeat(15 << 20);
    assert_eq!(good.cmd(&["SET", "big", &big]).unwrap(), ok());
    drop(big);

    // 80 copies of a 15 MiB value would be 1.2 GB on a 1 GiB machine.
    let mut c = s.client();
    let mut mget = vec!["MGET"];
    mget.extend(std::iter::repeat_n("big", 80));
    match c.cmd(&mget).unwrap() {
        Frame::Error(e) => assert!(e.starts_with(b"OOM command not allowed"), "{e:?}"),
        _ => panic!("an MGET of 1.2 GB was not refused"),
    }
    check(&mut good);
    assert_eq!(c.cmd(&["STRLEN", "big"]).unwrap(), Frame::Integer(15 << 20));

    // Twenty clients each announce a 60 MB value and send 55 MB of it: 1.1
    // GB, more than the heap. Each core's connections may hold a quarter of
    // the free heap (what the others left).
    let senders: Vec<_> = (0..20)
        .map(|_| {
            let c = s.client();
            let mut stream = c.stream.try_clone().unwrap();
            stream
                .set_write_timeout(Some(Duration::from_secs(60)))
                .unwrap();
            let t = std::thread::spawn(move || {
                let chunk = vec![b'v'; 1 << 20];
                if stream
                    .write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$60000000\r\n")
                    .is_err()
                {
                    return true;
                }
                (0..55).any(|_| stream.write_all(&chunk).is_err())
            });
            (c, t)
        })
        .collect();
    let mut dropped = 0;
    for (mut c, t) in senders {
        let write_failed = t.join().unwrap();
        check(&mut good);
        if write_failed || c.closed_within(Duration::from_millis(500)) {
            dropped += 1;
        }
    }
    assert!(dropped >= 1, "no client was dropped");
    assert!(dropped < 20, "every client was dropped");
    check(&mut good);
    assert_eq!(good.cmd(&["EXISTS", "k"]).unwrap(), Frame::Integer(0));
    assert_eq!(
        good.cmd(&["STRLEN", "big"]).unwrap(),
        Frame::Integer(15 << 20)
    );
    s.qemu.shutdown();
}

/// Clients pipeline SETs; QEMU is killed in the middle; after the reboot
/// every SET whose OK reached its client is there, with its value.
#[test]
fn a_killed_qemu_keeps_every_acknowledged_set() {
    let mut s = Server::boot("resp-kill.img", 256, false, None);
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let mut threads = Vec::new();
    for t in 0..4 {
        let port = s.port;
        let acked = acked.clone();
        threads.push(std::thread::spawn(move || {
            let mut c = Client::try_connect(port).unwrap();
            for round in 0..10_000 {
                let batch: Vec<(String, String)> = (0..32)
                    .map(|i| (format!("t{t}:{round}:{i}"), format!("v{round}-{i}")))
                    .collect();
                let mut bytes = Vec::new();
                for (k, v) in &batch {
                    bytes.extend_from_slice(&request(&["SET", k.as_str(), v.as_str()]));
                }
                if c.send(&bytes).is_err() {
                    return;
                }
                for pair in batch {
                    match c.read() {
                        Ok(f) if f == ok() => acked.lock().unwrap().push(pair),
                        _ => return,
                    }
                }
            }
        }));
    }
    // Let them write for a while, then pull the plug.
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 3000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    s.qemu.kill();
    for t in threads {
        t.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 3000,
        "only {} SETs acknowledged",
        acked.len()
    );
    s.reboot();
    let mut c = s.client();
    for chunk in acked.chunks(500) {
        let keys: Vec<&str> = chunk.iter().map(|(k, _)| k.as_str()).collect();
        let mut args = vec!["MGET"];
        args.extend(keys);
        let Frame::Array(values) = c.cmd(&args).unwrap() else {
            panic!("MGET")
        };
        for ((k, v), got) in chunk.iter().zip(values) {
            assert_eq!(got, bulk(v), "{k} was acknowledged and lost");
        }
    }
    eprintln!("{} acknowledged SETs all survived the kill", acked.len());
    s.qemu.shutdown();
}

/// `CONFIG SET appendfsync` at run time, over the network: under `no`,
/// SETs are answered without waiting for the disk and INFO says so; back
/// under `always`, SETs acknowledged right before QEMU is killed are there
/// after the reboot (the serving loop, which last read `no`, must still
/// commit them before their replies go).
#[test]
fn appendfsync_switched_at_run_time_keeps_what_always_acknowledged() {
    let mut s = Server::boot("resp-fsync.img", 128, false, None);
    let mut c = s.client();
    let pipelined = |c: &mut Client, prefix: &str, n: usize| {
        let mut bytes = Vec::new();
        for i in 0..n {
            bytes.extend_from_slice(&request(&["SET", &format!("{prefix}{i}"), "v"]));
        }
        c.send(&bytes).unwrap();
        for _ in 0..n {
            assert_eq!(c.read().unwrap(), ok());
        }
    };
    for policy in ["no", "everysec"] {
        assert_eq!(
            c.cmd(&["CONFIG", "SET", "appendfsync", policy]).unwrap(),
            ok()
        );
        pipelined(&mut c, policy, 200);
        let Frame::Bulk(info) = c.cmd(&["INFO", "persistence"]).unwrap() else {
            panic!("INFO persistence")
        };
        let info = String::from_utf8_lossy(&info).replace('\r', "");
        assert_eq!(systest::field(&info, "appendfsync"), Some(policy), "{info}");
    }
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "appendfsync", "always"]).unwrap(),
        ok()
    );
    pipelined(&mut c, "always", 64);
    // Killed (SIGKILL) right after the last OK, then booted on the disk.
    s.reboot();
    let mut c = s.client();
    let keys: Vec<String> = (0..64).map(|i| format!("always{i}")).collect();
    let mut args = vec!["MGET"];
    args.extend(keys.iter().map(String::as_str));
    assert_eq!(
        c.cmd(&args).unwrap(),
        Frame::Array(keys.iter().map(|_| bulk("v")).collect())
    );
    s.qemu.shutdown();
}
