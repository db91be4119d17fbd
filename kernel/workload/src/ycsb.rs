//! YCSB's core workloads A-F (the operation mix of each) and its request
//! distributions: zipfian (theta 0.99, scrambled by hashing as YCSB's
//! ScrambledZipfianGenerator does), latest (zipfian over recency) and
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
//!
//! Every draw comes from one [`Rng`] in a fixed order (the operation, the
//! scan length, then the key), so a seed replays a run exactly.

use lsm::random::Rng;

/// How a workload picks the records it reads and updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dist {
    /// Zipfian over the loaded records, popular items scattered by FNV-1a.
    Zipfian,
    /// Zipfian over recency: the newest record is the most popular.
    Latest,
    /// Every inserted record equally likely.
    Uniform,
}

impl Dist {
    /// The distribution named `s` (`zipfian`, `latest`, `uniform`).
    pub fn parse(s: &str) -> Option<Dist> {
        Some(match s {
            "zipfian" => Dist::Zipfian,
            "latest" => Dist::Latest,
            "uniform" => Dist::Uniform,
            _ => return None,
        })
    }

    /// The name [`parse`](Self::parse) takes and the report prints.
    pub fn name(self) -> &'static str {
        match self {
            Dist::Zipfian => "zipfian",
            Dist::Latest => "latest",
            Dist::Uniform => "uniform",
        }
    }
}

/// One YCSB operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Read one record.
    Read,
    /// Overwrite one record.
    Update,
    /// Insert the next new record.
    Insert,
    /// Read this many records in key order from a chosen one.
    Scan(u32),
    /// Read one record, then overwrite it.
    ReadModifyWrite,
}

/// One of YCSB's core workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ycsb {
    /// Update heavy: 50% read, 50% update.
    A,
    /// Read mostly: 95% read, 5% update.
    B,
    /// Read only.
    C,
    /// Read latest: 95% read, 5% insert.
    D,
    /// Short ranges: 95% scan, 5% insert.
    E,
    /// Read-modify-write: 50% read, 50% read-modify-write.
    F,
}

impl Ycsb {
    /// Every workload, A to F.
    pub const ALL: [Ycsb; 6] = [Ycsb::A, Ycsb::B, Ycsb::C, Ycsb::D, Ycsb::E, Ycsb::F];

    /// Its letter, `'a'` to `'f'`.
    pub fn letter(self) -> char {
        match self {
            Ycsb::A => 'a',
            Ycsb::B => 'b',
            Ycsb::C => 'c',
            Ycsb::D => 'd',
            Ycsb::E => 'e',
            Ycsb::F => 'f',
        }
    }

    /// The workload of letter `c` (`'a'` to `'f'`).
    pub fn from_letter(c: char) -> Option<Ycsb> {
        Ycsb::ALL.into_iter().find(|w| w.letter() == c)
    }

    /// The operation for `r` uniform in [0, 1); a scan reads `scan_len`
    /// records.
    pub fn choose(self, r: f64, scan_len: u32) -> Op {
        let (share, first, second) = match self {
            Ycsb::A => (0.5, Op::Read, Op::Update),
            Ycsb::B => (0.95, Op::Read, Op::Update),
            Ycsb::C => (1.0, Op::Read, Op::Read),
            Ycsb::D => (0.95, Op::Read, Op::Insert),
            Ycsb::E => (0.95, Op::Scan(scan_len), Op::Insert),
            Ycsb::F => (0.5, Op::Read, Op::ReadModifyWrite),
        };
        if r < share {
            first
        } else {
            second
        }
    }

    /// The next operation: draws its share, then a scan length (1-100,
    /// drawn for every operation so the stream does not depend on the mix).
    pub fn next_op(self, rng: &mut Rng) -> Op {
        let r = unit(rng);
        let scan_len = 1 + rng.uniform(100) as u32;
        self.choose(r, scan_len)
    }

    /// The distribution the workload uses unless told otherwise (D reads the
    /// latest records, the others zipfian).
    pub fn default_dist(self) -> Dist {
        if self == Ycsb::D {
            Dist::Latest
        } else {
            Dist::Zipfian
        }
    }
}

/// Uniform in [0, 1) from 53 random bits.
pub fn unit(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// The skew of every zipfian draw, as YCSB's default.
pub const THETA: f64 = 0.99;

/// Gray et al.'s zipfian generator, as YCSB's ZipfianGenerator: items
/// `0..n`, item 0 the most popular; theta [`THETA`].
#[derive(Clone, Debug)]
pub struct Zipfian {
    n: u64,
    theta: f64,
    alpha: f64,
    zetan: f64,
    eta: f64,
}

/// `sum_{i=1..n} 1/i^theta`: O(n), computed once per generator.
fn zeta(n: u64, theta: f64) -> f64 {
    (1..=n).map(|i| 1.0 / libm::pow(i as f64, theta)).sum()
}

impl Zipfian {
    /// A generator over `n` items (at least one).
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

    /// The number of items.
    pub fn items(&self) -> u64 {
        self.n
    }

    /// The item for `u` uniform in [0, 1).
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

/// YCSB scrambles zipfian items with FNV-1a (of the item's 8 little-endian
/// bytes) so that the popular keys are spread over the key space instead of
/// all at its start.
pub fn fnv1a(mut x: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for _ in 0..8 {
        h ^= x & 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
        x >>= 8;
    }
    h
}

/// Picks the record an operation reads or updates, under one distribution.
#[derive(Clone, Debug)]
pub struct Picker {
    dist: Dist,
    /// Over the records loaded when the run began (inserts during the run
    /// do not grow it, as in YCSB's generators sized at load).
    zipf: Zipfian,
}

impl Picker {
    /// A picker over `keys` loaded records (O(keys) to set up).
    pub fn new(dist: Dist, keys: u64) -> Picker {
        Picker {
            dist,
            zipf: Zipfian::new(keys),
        }
    }

    /// Its distribution.
    pub fn dist(&self) -> Dist {
        self.dist
    }

    /// A record number in `0..inserted` (`inserted` at least 1): one zipfian
    /// draw always, then one more for uniform.
    pub fn pick(&self, rng: &mut Rng, inserted: u64) -> u64 {
        let inserted = inserted.max(1);
        let z = self.zipf.sample(unit(rng));
        match self.dist {
            Dist::Uniform => rng.uniform(inserted),
            // Scrambled over the loaded records, not over `inserted`: with
            // the modulus growing at every insert, each insert reshuffled
            // which records were popular (every ~20 operations of ycsb-e),
            // so the workload had no lasting hot set and no cache could do
            // better than recency. YCSB's ScrambledZipfianGenerator has a
            // fixed item count too.
            Dist::Zipfian => fnv1a(z) % self.zipf.n.min(inserted),
            Dist::Latest => inserted - 1 - z.min(inserted - 1),
        }
    }
}
