//! The request table checked against the real thing: each case is sent to a
//! `redis-server` 7.0 and its replies compared, byte for byte, with the
//! replies the table's commands and error imply.
//!
//! Needs `redis-server` on PATH (Debian's `redis-server` package is 7.0.15),
//! so it is ignored by default:
//! `cargo test -p resp --test reference -- --ignored`.
//! The servers listen on free ports of 127.0.0.1 only, save nothing, and
//! are killed when the test ends.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{run, table, End, LIMITS, READ};

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(password: Option<&str>) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args([
                "--proto-max-bulk-len",
                &LIMITS.proto_max_bulk_len.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(password) = password {
            command.args(["--requirepass", password]);
        }
        let child = command.spawn().expect("redis-server on PATH");
        let server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// Sends `input`, ends the sending side, and returns all the server
    /// wrote until it closed (after a protocol error, or on our end).
    fn exchange(&self, input: &[u8]) -> Vec<u8> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        // After a protocol error Redis closes while we may still write.
        let _ = stream.write_all(input);
        let _ = stream.shutdown(Shutdown::Write);
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out);
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `%.*s` of a C string: up to the first NUL, at most `max` bytes.
fn c_str(bytes: &[u8], max: usize) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end.min(max)]
}

fn bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

fn error(out: &mut Vec<u8>, text: &[u8]) {
    out.extend_from_slice(b"-");
    out.extend(
        text.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
}

/// What Redis 7.0 answers to `argv` on a fresh server: the table uses only
/// PING, ECHO and unknown commands.
fn reply(argv: &[Vec<u8>], auth: bool, out: &mut Vec<u8>) {
    if auth {
        return out.extend_from_slice(b"-NOAUTH Authentication required.\r\n");
    }
    let name = argv[0].to_ascii_lowercase();
    let wrong = |out: &mut Vec<u8>, name: &str| {
        error(
            out,
            format!("ERR wrong number of arguments for '{name}' command").as_bytes(),
        )
    };
    match (&name[..], argv.len()) {
        (b"ping", 1) => out.extend_from_slice(b"+PONG\r\n"),
        (b"ping", 2) | (b"echo", 2) => bulk(out, &argv[1]),
        (b"ping", _) => wrong(out, "ping"),
        (b"echo", _) => wrong(out, "echo"),
        _ => {
            // processCommand's text, argument quoting and truncation included.
            let mut args = Vec::new();
            for arg in &argv[1..] {
                if args.len() >= 128 {
                    break;
                }
                args.push(b'\'');
                args.extend_from_slice(c_str(arg, 128 - (args.len() - 1)));
                args.extend_from_slice(b"' ");
            }
            let mut text = b"ERR unknown command '".to_vec();
            text.extend_from_slice(c_str(&argv[0], 128));
            text.extend_from_slice(b"', with args beginning with: ");
            text.extend_from_slice(&args);
            error(out, &text);
        }
    }
}

#[test]
#[ignore = "needs redis-server 7.0 on PATH"]
fn redis_server_agrees_with_the_table() {
    let open = Server::start(None);
    let locked = Server::start(Some("unikv-reference"));
    let mut checked = 0;
    for case in table() {
        let (commands, end) = run(LIMITS, case.auth, &case.input, READ);
        assert_eq!(
            (&commands, end),
            (&case.commands, case.end),
            "our parser on {}",
            case.name
        );
        let mut expected = Vec::new();
        for argv in &commands {
            reply(argv, case.auth, &mut expected);
        }
        if let End::Error(e) = end {
            e.write_reply(&mut expected);
        }
        let server = if case.auth { &locked } else { &open };
        let got = server.exchange(&case.input);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected),
            "redis-server on {}",
            case.name
        );
        assert_eq!(got, expected, "redis-server on {}", case.name);
        checked += 1;
    }
    eprintln!("{checked} cases agree with redis-server");
}
