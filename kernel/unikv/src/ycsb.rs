//! YCSB's core workloads A-F for `BENCH ycsb-a` ... `ycsb-f`, with YCSB's
//! request distributions: zipfian (theta 0.99, scrambled by hashing as
//! YCSB's ScrambledZipfianGenerator does), latest (zipfian over recency) and
//! uniform.
//!
//! | workload | mix |
//! | --- | --- |
//! | a | 50% read, 50% update |
//! | b | 95% read, 5% update |
//! | c | 100% read |
//! | d | 95% read (latest), 5% insert |
//! | e | 95% short scan (1-100 records), 5% insert |
//! | f | 50% read, 50% read-modify-write |

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Dist {
    Zipfian,
    Latest,
    Uniform,
}

impl Dist {
    pub fn parse(s: &str) -> Option<Dist> {
        Some(match s {
            "zipfian" => Dist::Zipfian,
            "latest" => Dist::Latest,
            "uniform" => Dist::Uniform,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Dist::Zipfian => "zipfian",
            Dist::Latest => "latest",
            Dist::Uniform => "uniform",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read,
    Update,
    Insert,
    Scan(u32),
    ReadModifyWrite,
}

/// The operation mix of workload `w` ('a'..='f'); `r` is uniform in [0, 1).
pub fn choose(w: char, r: f64, scan_len: u32) -> Op {
    match w {
        'a' => {
            if r < 0.5 {
                Op::Read
            } else {
                Op::Update
            }
        }
        'b' => {
            if r < 0.95 {
                Op::Read
            } else {
                Op::Update
            }
        }
        'c' => Op::Read,
        'd' => {
            if r < 0.95 {
                Op::Read
            } else {
                Op::Insert
            }
        }
        'e' => {
            if r < 0.95 {
                Op::Scan(scan_len)
            } else {
                Op::Insert
            }
        }
        _ => {
            if r < 0.5 {
                Op::Read
            } else {
                Op::ReadModifyWrite
            }
        }
    }
}

/// The distribution workload `w` uses unless told otherwise (D reads the
/// latest records, the others zipfian).
pub fn default_dist(w: char) -> Dist {
    if w == 'd' {
        Dist::Latest
    } else {
        Dist::Zipfian
    }
}

/// Gray et al.'s zipfian generator, as YCSB's ZipfianGenerator: items
/// 0..n, item 0 the most popular; theta 0.99.
pub struct Zipfian {
    n: u64,
    theta: f64,
    alpha: f64,
    zetan: f64,
    eta: f64,
}

pub const THETA: f64 = 0.99;

fn zeta(n: u64, theta: f64) -> f64 {
    (1..=n).map(|i| 1.0 / libm::pow(i as f64, theta)).sum()
}

impl Zipfian {
    pub fn new(n: u64) -> Zipfian {
        let n = n.max(1);
        let theta = THETA;
        let zetan = zeta(n, theta);
        let zeta2 = zeta(2, theta);
        Zipfian {
            n,
            theta,
            alpha: 1.0 / (1.0 - theta),
            zetan,
            eta: (1.0 - libm::pow(2.0 / n as f64, 1.0 - theta)) / (1.0 - zeta2 / zetan),
        }
    }

    /// The next item for `u` uniform in [0, 1).
    pub fn sample(&self, u: f64) -> u64 {
        let uz = u * self.zetan;
        if uz < 1.0 {
            return 0;
        }
        if uz < 1.0 + libm::pow(0.5, self.theta) {
            return 1.min(self.n - 1);
        }
        let v = self.n as f64 * libm::pow(self.eta * u - self.eta + 1.0, self.alpha);
        (v as u64).min(self.n - 1)
    }
}

/// YCSB scrambles zipfian items with FNV-1a so that the popular keys are
/// spread over the key space instead of all at its start.
pub fn fnv1a(mut x: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for _ in 0..8 {
        h ^= x & 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
        x >>= 8;
    }
    h
}
