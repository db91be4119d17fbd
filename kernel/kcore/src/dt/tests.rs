use super::*;
use alloc::vec;
use alloc::vec::Vec;
use std::panic;

const VIRT_1G: &[u8] = include_bytes!("../../testdata/virt-gicv3-1024m.dtb");
const VIRT_256M: &[u8] = include_bytes!("../../testdata/virt-gicv3-256m.dtb");
const VIRT_4G: &[u8] = include_bytes!("../../testdata/virt-gicv3-4096m.dtb");
const VIRT_BOOTARGS: &[u8] = include_bytes!("../../testdata/virt-gicv3-512m-bootargs.dtb");
const SYNTHETIC: &[u8] = include_bytes!("../../testdata/synthetic.dtb");
const GICV2: &[u8] = include_bytes!("../../testdata/gicv2.dtb");
const NO_MEMORY: &[u8] = include_bytes!("../../testdata/no-memory.dtb");
const PCI: &[u8] = include_bytes!("../../testdata/pci.dtb");
const PCI_BAD_MAP: &[u8] = include_bytes!("../../testdata/pci-bad-map.dtb");

const ALL_REAL: [&[u8]; 4] = [VIRT_1G, VIRT_256M, VIRT_4G, VIRT_BOOTARGS];

fn check_virt(board: &Board, ram_size: u64, cpus: usize) {
    assert_eq!(
        board.ram,
        vec![MemRegion {
            base: 0x4000_0000,
            size: ram_size
        }]
    );
    assert_eq!(board.reserved, vec![]);
    assert_eq!(
        board.rtc,
        Some(Rtc {
            base: 0x0901_0000,
            size: 0x1000,
            intid: 34
        })
    );
    assert_eq!(
        board.uart,
        Some(Uart {
            base: 0x0900_0000,
            size: 0x1000,
            intid: 33
        })
    );
    assert_eq!(
        board.gic,
        Some(Gic {
            version: 3,
            gicd_base: 0x0800_0000,
            gicd_size: 0x1_0000,
            gicr_base: 0x080a_0000,
            gicr_size: 0xf6_0000,
        })
    );
    assert_eq!(
        board.timer,
        Some(Timer {
            phys_ns_intid: 30,
            virt_intid: 27,
            hyp_intid: Some(26),
            phys_s_intid: Some(29),
        })
    );
    assert_eq!(board.virtio_mmio.len(), 32);
    for (slot, v) in board.virtio_mmio.iter().enumerate() {
        assert_eq!(
            *v,
            VirtioMmio {
                base: 0x0a00_0000 + 0x200 * slot as u64,
                size: 0x200,
                intid: 48 + slot as u32,
            }
        );
    }
    // The slot QEMU fills first.
    assert_eq!(board.virtio_mmio[31].base, 0x0a00_3e00);
    assert_eq!(board.virtio_mmio[31].intid, 79);
    assert_eq!(
        board.psci,
        Some(Psci {
            conduit: PsciConduit::Hvc
        })
    );
    assert_eq!(board.cpus, cpus);
    // virt numbers its CPUs' affinity from 0 in Aff0 (16 to a cluster).
    let ids: Vec<u64> = (0..cpus as u64)
        .map(|i| ((i / 16) << 8) | (i % 16))
        .collect();
    assert_eq!(board.cpu_ids, ids);
    assert_eq!(board.model.as_deref(), Some("linux,dummy-virt"));
    check_virt_pci(board.pci.as_ref().expect("virt has a PCIe host bridge"));
}

fn check_virt_pci(pci: &PciHost) {
    assert_eq!(
        pci.ecam,
        MemRegion {
            base: 0x40_1000_0000,
            size: 0x1000_0000
        }
    );
    assert_eq!((pci.bus_start, pci.bus_end), (0, 0xff));
    assert_eq!(
        pci.windows,
        vec![
            PciWindow {
                space: PciSpace::Io,
                prefetchable: false,
                pci_base: 0,
                cpu_base: 0x3eff_0000,
                size: 0x1_0000,
            },
            PciWindow {
                space: PciSpace::Mem32,
                prefetchable: false,
                pci_base: 0x1000_0000,
                cpu_base: 0x1000_0000,
                size: 0x2eff_0000,
            },
            PciWindow {
                space: PciSpace::Mem64,
                prefetchable: false,
                pci_base: 0x80_0000_0000,
                cpu_base: 0x80_0000_0000,
                size: 0x80_0000_0000,
            },
        ]
    );
    assert_eq!(pci.window(PciSpace::Mem32).unwrap().cpu_base, 0x1000_0000);
    assert_eq!(pci.intx_mask, [0x1800, 0, 0, 7]);
    assert_eq!(pci.intx.len(), 16);
    // virt swizzles: slot d, pin p goes to SPI 3 + (d + p - 1) % 4.
    for device in 0..32u8 {
        for pin in 1..=4u8 {
            let spi = 3 + (u32::from(device) + u32::from(pin) - 1) % 4;
            let route = pci.intx(0, device, 0, pin).unwrap();
            assert_eq!(
                (route.intid, route.level),
                (32 + spi, true),
                "{device} {pin}"
            );
        }
    }
    assert_eq!(pci.intx(0, 1, 0, 1).unwrap().intid, 36);
    // Function and bus bits are masked off.
    assert_eq!(pci.intx(3, 1, 5, 1).unwrap().intid, 36);
    assert_eq!(pci.intx(0, 1, 0, 0), None, "pin 0: no interrupt");
}

#[test]
fn virt_1024m() {
    let b = Board::from_fdt(VIRT_1G).unwrap();
    check_virt(&b, 0x4000_0000, 4);
    assert_eq!(b.bootargs, None);
    assert_eq!(b.fdt_size, VIRT_1G.len());
}

#[test]
fn virt_256m() {
    check_virt(&Board::from_fdt(VIRT_256M).unwrap(), 0x1000_0000, 4);
}

#[test]
fn virt_4096m() {
    check_virt(&Board::from_fdt(VIRT_4G).unwrap(), 0x1_0000_0000, 4);
}

#[test]
fn virt_512m_bootargs() {
    let b = Board::from_fdt(VIRT_BOOTARGS).unwrap();
    check_virt(&b, 0x2000_0000, 2);
    let args = b.bootargs.as_deref().unwrap();
    assert_eq!(args, "loglevel=debug foo=bar");
    assert_eq!(bootarg(args, "loglevel"), Some("debug"));
    assert_eq!(bootarg(args, "foo"), Some("bar"));
    assert_eq!(bootarg(args, "bar"), None);
}

#[test]
fn from_ptr_reads_its_own_size() {
    // Trailing bytes past totalsize must not be read or matter.
    let mut padded = VIRT_1G.to_vec();
    padded.extend_from_slice(&[0xa5; 64]);
    // SAFETY: `padded` is readable for its whole length, which covers the
    // header and totalsize, and is not modified during the call.
    let b = unsafe { Board::from_ptr(padded.as_ptr()) }.unwrap();
    check_virt(&b, 0x4000_0000, 4);
    // SAFETY: a null pointer is allowed and refused.
    let null = unsafe { Board::from_ptr(core::ptr::null()) };
    assert_eq!(null, Err(DtError::NullPointer));
    let garbage = [0u8; 8];
    // SAFETY: 8 readable bytes without the magic: only they are read.
    let bad = unsafe { Board::from_ptr(garbage.as_ptr()) };
    assert_eq!(bad, Err(DtError::BadMagic(0)));
}

#[test]
fn synthetic_edge_cases() {
    let b = Board::from_fdt(SYNTHETIC).unwrap();
    // Sorted, and the zero-sized bank dropped.
    assert_eq!(
        b.ram,
        vec![
            MemRegion {
                base: 0x4000_0000,
                size: 0x800_0000
            },
            MemRegion {
                base: 0x8000_0000,
                size: 0x1000_0000
            },
        ]
    );
    // /memreserve/ plus the reserved-memory child with a reg; the size-only
    // pool is not a reservation.
    assert_eq!(
        b.reserved,
        vec![
            MemRegion {
                base: 0x4800_0000,
                size: 0x1_0000
            },
            MemRegion {
                base: 0x4f00_0000,
                size: 0x10_0000
            },
        ]
    );
    // stdout-path picks the second PL011, whose reg uses the bus's 1/1 cells.
    assert_eq!(
        b.uart,
        Some(Uart {
            base: 0x1000,
            size: 0x1000,
            intid: 38
        })
    );
    assert_eq!(b.gic.unwrap().gicr_base, 0x2f10_0000);
    assert_eq!(
        b.timer,
        Some(Timer {
            phys_ns_intid: 30,
            virt_intid: 27,
            hyp_intid: None,
            phys_s_intid: Some(29),
        })
    );
    // Sorted by base, the disabled slot left out.
    let slots: Vec<(u64, u32)> = b.virtio_mmio.iter().map(|v| (v.base, v.intid)).collect();
    assert_eq!(slots, vec![(0x2000, 72), (0x3000, 73)]);
    assert_eq!(
        b.psci,
        Some(Psci {
            conduit: PsciConduit::Smc
        })
    );
    assert_eq!(b.cpus, 1, "disabled cpu and cpu-map are not counted");
    assert_eq!(b.model.as_deref(), Some("kcore synthetic"));
    let args = b.bootargs.as_deref().unwrap();
    assert_eq!(bootarg(args, "msg"), Some("hello world"));
    assert_eq!(bootarg(args, "quiet"), Some(""));
    assert_eq!(bootarg(args, "console"), Some("ttyAMA0"));
}

#[test]
fn pci_host_bridge_edge_cases() {
    let b = Board::from_fdt(PCI).unwrap();
    let pci = b.pci.unwrap();
    // The first bridge, its reg in the root's 1/1 cells.
    assert_eq!(
        pci.ecam,
        MemRegion {
            base: 0x3000_0000,
            size: 0x20_0000
        }
    );
    assert_eq!((pci.bus_start, pci.bus_end), (0, 1));
    assert_eq!(
        pci.windows,
        vec![
            PciWindow {
                space: PciSpace::Mem32,
                prefetchable: true,
                pci_base: 0x5000_0000,
                cpu_base: 0x5000_0000,
                size: 0x100_0000,
            },
            PciWindow {
                space: PciSpace::Mem32,
                prefetchable: false,
                pci_base: 0x6000_0000,
                cpu_base: 0x6100_0000,
                size: 0x200_0000,
            },
        ]
    );
    // Any BAR may go in a non-prefetchable window: it is preferred.
    assert_eq!(pci.window(PciSpace::Mem32).unwrap().pci_base, 0x6000_0000);
    assert_eq!(pci.window(PciSpace::Io), None);
    // No mask: every bit takes part. The entry for the foreign controller
    // is skipped; the GIC's own are decoded, edge and level.
    assert_eq!(pci.intx_mask, [u32::MAX; 4]);
    assert_eq!(
        pci.intx,
        vec![
            PciIntx {
                addr_hi: 0x800,
                pin: 1,
                intid: 39,
                level: false
            },
            PciIntx {
                addr_hi: 0x1000,
                pin: 1,
                intid: 40,
                level: true
            },
        ]
    );
    assert_eq!(pci.intx(0, 1, 0, 1).unwrap().intid, 39);
    assert_eq!(pci.intx(0, 1, 0, 2), None, "routed to the other controller");
    assert_eq!(
        pci.intx(0, 1, 1, 1),
        None,
        "unmasked function bits must match"
    );
    assert_eq!(pci.intx(0, 2, 0, 1).unwrap().intid, 40);
}

#[test]
fn pci_interrupt_map_to_an_unknown_phandle_is_an_error() {
    assert_eq!(
        Board::from_fdt(PCI_BAD_MAP),
        Err(DtError::BadProperty {
            node: "pci-host-ecam-generic",
            property: "interrupt-map"
        })
    );
    // The machines without a bridge have none.
    assert_eq!(Board::from_fdt(SYNTHETIC).unwrap().pci, None);
}

#[test]
fn gicv2_is_refused() {
    assert_eq!(
        Board::from_fdt(GICV2),
        Err(DtError::UnsupportedGic { version: 2 })
    );
}

#[test]
fn missing_memory_is_an_error() {
    assert_eq!(Board::from_fdt(NO_MEMORY), Err(DtError::NoMemory));
}

#[test]
fn header_errors() {
    assert!(matches!(
        Board::from_fdt(&[]),
        Err(DtError::Truncated { .. })
    ));
    let mut bad = VIRT_1G.to_vec();
    bad[0] = 0xde;
    assert_eq!(Board::from_fdt(&bad), Err(DtError::BadMagic(0xde0d_feed)));
    let mut huge = VIRT_1G.to_vec();
    huge[4..8].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
    assert_eq!(Board::from_fdt(&huge), Err(DtError::TooLarge(0x7fff_ffff)));
    let mut v1 = VIRT_1G.to_vec();
    v1[20..24].copy_from_slice(&1u32.to_be_bytes());
    assert!(matches!(
        Board::from_fdt(&v1),
        Err(DtError::UnsupportedVersion { version: 1, .. })
    ));
    let mut off = VIRT_1G.to_vec();
    off[12..16].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
    assert!(matches!(Board::from_fdt(&off), Err(DtError::BadHeader(_))));
}

#[test]
fn every_truncation_is_an_error() {
    for blob in ALL_REAL {
        for len in 0..blob.len() {
            let r = Board::from_fdt(&blob[..len]);
            assert!(r.is_err(), "{len} bytes accepted");
        }
    }
}

#[test]
fn shrinking_blocks_is_an_error() {
    // The same cuts, but with a header rewritten to agree with them, so the
    // structure walk and the string lookups themselves meet the cut.
    let field = |blob: &[u8], i: usize| {
        u32::from_be_bytes(blob[i * 4..i * 4 + 4].try_into().unwrap()) as usize
    };
    for len in 40..VIRT_BOOTARGS.len() {
        let mut blob = VIRT_BOOTARGS[..len].to_vec();
        blob[4..8].copy_from_slice(&(len as u32).to_be_bytes());
        for (off, size) in [(2, 9), (3, 8)] {
            let fitted = field(&blob, size).min(len.saturating_sub(field(&blob, off)));
            blob[size * 4..size * 4 + 4].copy_from_slice(&(fitted as u32).to_be_bytes());
        }
        let r = panic::catch_unwind(|| Board::from_fdt(&blob));
        assert!(matches!(r, Ok(Err(_))), "{len} bytes: {r:?}");
    }
}

/// A small xorshift generator: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..2_000 {
        let len = (rng.next() % 4096) as usize;
        let mut blob: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let r = panic::catch_unwind(|| Board::from_fdt(&blob));
        assert!(matches!(r, Ok(Err(_))), "round {round}");
        // Random bytes behind a plausible header reach the structure walk.
        if blob.len() >= 40 {
            blob[0..4].copy_from_slice(&0xd00d_feedu32.to_be_bytes());
            blob[4..8].copy_from_slice(&(len as u32).to_be_bytes());
            blob[20..24].copy_from_slice(&17u32.to_be_bytes());
            blob[24..28].copy_from_slice(&16u32.to_be_bytes());
            let r = panic::catch_unwind(|| Board::from_fdt(&blob));
            assert!(r.is_ok(), "round {round} panicked");
        }
    }
}

#[test]
fn corrupted_real_blobs_never_panic() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let mut accepted = 0;
    for round in 0..20_000 {
        let mut blob = VIRT_BOOTARGS.to_vec();
        // Flip a few bytes, half the time inside the header.
        for _ in 0..1 + rng.next() % 4 {
            let at = if rng.next().is_multiple_of(2) {
                (rng.next() % 40) as usize
            } else {
                (rng.next() as usize) % blob.len()
            };
            blob[at] = rng.next() as u8;
        }
        let ram =
            panic::catch_unwind(|| ram_regions(&blob, &mut [MemRegion { base: 0, size: 0 }; 2]));
        assert!(ram.is_ok(), "round {round} panicked in ram_regions");
        match panic::catch_unwind(|| Board::from_fdt(&blob)) {
            Ok(Ok(_)) => accepted += 1,
            Ok(Err(e)) => {
                // Every error renders.
                assert!(!alloc::format!("{e}").is_empty());
            }
            Err(_) => panic!("round {round} panicked"),
        }
    }
    // Most single-byte damage lands in values the board ignores.
    assert!(accepted > 0);
}

#[test]
fn structure_errors() {
    let fdt = Fdt::new(VIRT_1G).unwrap();
    let tokens: Vec<Token<'_>> = fdt.walk().collect::<Result<_, _>>().unwrap();
    assert_eq!(tokens.first(), Some(&Token::BeginNode("")));
    assert_eq!(tokens.last(), Some(&Token::EndNode));
    assert_eq!(fdt.reservations().count(), 0);
    // Replace the FDT_END token with garbage.
    let mut blob = VIRT_1G.to_vec();
    let off_struct = u32::from_be_bytes(blob[8..12].try_into().unwrap()) as usize;
    let size_struct = u32::from_be_bytes(blob[36..40].try_into().unwrap()) as usize;
    let end = off_struct + size_struct - 4;
    assert_eq!(blob[end..end + 4], 9u32.to_be_bytes());
    blob[end..end + 4].copy_from_slice(&7u32.to_be_bytes());
    assert!(matches!(
        Board::from_fdt(&blob),
        Err(DtError::BadStructure {
            what: "unknown token",
            ..
        })
    ));
}

#[test]
fn errors_display() {
    let cases = [
        DtError::NullPointer,
        DtError::Truncated {
            needed: 40,
            available: 3,
        },
        DtError::BadMagic(1),
        DtError::TooLarge(1 << 30),
        DtError::UnsupportedVersion {
            version: 1,
            last_compatible: 1,
        },
        DtError::BadHeader("x"),
        DtError::BadStructure {
            offset: 4,
            what: "y",
        },
        DtError::TooDeep,
        DtError::BadProperty {
            node: "pl011",
            property: "reg",
        },
        DtError::NoMemory,
        DtError::UnsupportedGic { version: 2 },
    ];
    for e in cases {
        assert!(!alloc::format!("{e}").is_empty());
    }
    assert_eq!(
        alloc::format!("{}", DtError::BadMagic(0x12)),
        "not a device tree: magic 0x00000012, want 0xd00dfeed"
    );
}

#[test]
fn bootarg_parsing() {
    let s = "  root=/dev/vda  ro  quiet=1 init=\"/bin/sh -x\" quiet  x== -- after=1";
    assert_eq!(bootarg(s, "root"), Some("/dev/vda"));
    assert_eq!(bootarg(s, "ro"), Some(""));
    // The later bare `quiet` overrides `quiet=1`.
    assert_eq!(bootarg(s, "quiet"), Some(""));
    assert_eq!(bootarg(s, "init"), Some("/bin/sh -x"));
    assert_eq!(bootarg(s, "x"), Some("="));
    assert_eq!(
        bootarg(s, "after"),
        None,
        "words after -- are not kernel args"
    );
    assert_eq!(bootarg(s, "roo"), None);
    assert_eq!(bootarg(s, ""), None);
    assert_eq!(bootarg("", "a"), None);
    assert_eq!(bootarg("a=1 a=2", "a"), Some("2"));
    assert_eq!(
        bootarg("k=\"unterminated value", "k"),
        Some("\"unterminated value")
    );
}

#[test]
fn ram_regions_without_alloc() {
    let mut out = [MemRegion { base: 0, size: 0 }; 4];
    assert_eq!(ram_regions(VIRT_4G, &mut out), Ok(1));
    assert_eq!(
        out[0],
        MemRegion {
            base: 0x4000_0000,
            size: 0x1_0000_0000
        }
    );
    // Blob order, zero-sized bank skipped; agrees with Board after sorting.
    assert_eq!(ram_regions(SYNTHETIC, &mut out), Ok(2));
    assert_eq!(out[0].base, 0x8000_0000);
    assert_eq!(out[1].base, 0x4000_0000);
    let mut one = [MemRegion { base: 0, size: 0 }; 1];
    assert_eq!(ram_regions(SYNTHETIC, &mut one), Ok(2));
    assert_eq!(ram_regions(NO_MEMORY, &mut out), Err(DtError::NoMemory));
    for len in 0..VIRT_1G.len() {
        assert!(ram_regions(&VIRT_1G[..len], &mut out).is_err());
    }
}
