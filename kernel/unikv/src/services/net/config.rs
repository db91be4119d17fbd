//! The network's settings from the kernel command line:
//!
//! - `ip=A.B.C.D/N` a static address and prefix (`ip=dhcp`, or no `ip=`:
//!   DHCP);
//! - `gw=A.B.C.D` the default gateway for a static address (none without);
//! - `port=P` the TCP port the sessions listen on (default 6379, Redis's).
//!
//! A value that does not parse fails the service with the reason, rather
//! than booting onto an address nobody asked for.

use alloc::{format, string::String};
use core::net::Ipv4Addr;
use smoltcp::wire::Ipv4Cidr;

pub const DEFAULT_PORT: u16 = 6379;

/// How the interface gets its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addressing {
    Dhcp,
    Static {
        address: Ipv4Cidr,
        gateway: Option<Ipv4Addr>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetConfig {
    pub addressing: Addressing,
    pub port: u16,
}

fn address(s: &str, what: &str) -> Result<Ipv4Addr, String> {
    s.parse()
        .map_err(|_| format!("{what}={s}: not an IPv4 address"))
}

/// Reads `ip=`, `gw=` and `port=` from `bootargs`.
pub fn from_bootargs(bootargs: &str) -> Result<NetConfig, String> {
    let arg = |key| kcore::dt::bootarg(bootargs, key);
    let port = match arg("port") {
        None => DEFAULT_PORT,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| format!("port={p}: not a TCP port (1-65535)"))?,
    };
    let gateway = arg("gw").map(|g| address(g, "gw")).transpose()?;
    let addressing = match arg("ip") {
        None | Some("dhcp") => {
            if gateway.is_some() {
                return Err(String::from(
                    "gw= goes with a static ip=A.B.C.D/N; DHCP brings its own gateway",
                ));
            }
            Addressing::Dhcp
        }
        Some(ip) => {
            let (a, n) = ip
                .split_once('/')
                .ok_or_else(|| format!("ip={ip}: want A.B.C.D/N (or ip=dhcp)"))?;
            let prefix = n
                .parse::<u8>()
                .ok()
                .filter(|&n| (1..=32).contains(&n))
                .ok_or_else(|| format!("ip={ip}: the prefix length must be 1-32"))?;
            let addr = address(a, "ip")?;
            if addr.is_unspecified() || addr.is_broadcast() || addr.is_multicast() {
                return Err(format!("ip={ip}: not a host address"));
            }
            let address = Ipv4Cidr::new(addr, prefix);
            if let Some(g) = gateway {
                if !address.contains_addr(&g) {
                    return Err(format!("gw={g} is outside {address}"));
                }
            }
            Addressing::Static { address, gateway }
        }
    };
    Ok(NetConfig { addressing, port })
}
