//! unikv as a Redis server under QEMU, for the network tests: a disk, a NIC
//! on user networking with the guest's port forwarded to a free port of
//! 127.0.0.1, and a small RESP client that speaks raw protocol (requests
//! encoded here, replies decoded by the `resp` crate and compared with the
//! frames built here).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use resp::Frame;

use crate::{free_port, Nic, Options, Qemu, TempFile};

/// A unikv with a disk and a forwarded port.
pub struct Server {
    pub qemu: Qemu,
    pub port: u16,
    pub disk: TempFile,
    opts: Options,
}

impl Server {
    /// Boots on a fresh `disk_mib` disk with the mmio NIC (or the PCI one),
    /// and waits until the port answers.
    pub fn boot(name: &str, disk_mib: u64, pci: bool, append: Option<&str>) -> Server {
        let disk = TempFile::new(name, disk_mib << 20);
        let port = free_port();
        let opts = Options {
            disk: Some(disk.0.clone()),
            nic: Nic::User {
                pci,
                host_port: port,
                guest_port: 6379,
            },
            append: append.map(String::from),
            ..Options::default()
        };
        let qemu = Qemu::boot(&opts);
        let s = Server {
            qemu,
            port,
            disk,
            opts,
        };
        s.wait_ready();
        s
    }

    /// Boots again on the same disk (after a kill or a shutdown).
    pub fn reboot(&mut self) {
        self.qemu.kill();
        self.qemu = Qemu::boot(&self.opts);
        self.wait_ready();
    }

    /// Waits until a connection to the port gets a reply (DHCP and the
    /// listeners are up).
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut c) = Client::try_connect(self.port) {
                if c.cmd(&["EXISTS", "unikv-ready"]).is_ok() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "port {} never answered",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn client(&self) -> Client {
        Client::try_connect(self.port).expect("connect to unikv")
    }
}

/// A bulk string reply holding `v`.
pub fn bulk(v: &str) -> Frame {
    Frame::Bulk(v.as_bytes().to_vec())
}

/// The `+OK` reply.
pub fn ok() -> Frame {
    Frame::Simple(b"OK".to_vec())
}

/// An error reply with this text.
pub fn error(text: &str) -> Frame {
    Frame::Error(text.as_bytes().to_vec())
}

/// A raw RESP connection.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

/// A request as RESP's multibulk.
pub fn request<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl Client {
    pub fn try_connect(port: u16) -> std::io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            buf: Vec::new(),
        })
    }

    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// The next reply, or an error if the connection closed first.
    pub fn read(&mut self) -> std::io::Result<Frame> {
        loop {
            match resp::decode(&self.buf) {
                Ok(Some((frame, used))) => {
                    self.buf.drain(..used);
                    return Ok(frame);
                }
                Ok(None) => {}
                Err(e) => panic!("unikv sent a malformed reply: {e:?}"),
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends one command and reads its reply.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> std::io::Result<Frame> {
        self.send(&request(args))?;
        self.read()
    }

    /// Whether the server closed the connection (reads EOF) within `within`.
    pub fn closed_within(&mut self, within: Duration) -> bool {
        let _ = self.stream.set_read_timeout(Some(within));
        let mut b = [0u8; 4096];
        loop {
            match self.stream.read(&mut b) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    }

    pub fn shutdown(&self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}
