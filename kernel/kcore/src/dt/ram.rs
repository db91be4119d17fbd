//! The RAM banks without allocating: what an early kernel reads to place its
//! heap, before it can build a [`Board`](super::Board).

use super::fdt::{Fdt, Token};
use super::props::{cells, first_string, one_cell};
use super::{DtError, MemRegion};

/// The RAM banks of `blob` without allocating, for a kernel that needs them
/// to place its heap before it can call
/// [`Board::from_fdt`](super::Board::from_fdt). Fills `out` with the banks of
/// the root's `device_type = "memory"` nodes in blob order and returns how
/// many there are (more than `out.len()` if `out` is too small; only the
/// first `out.len()` are stored). Zero-sized banks are skipped.
pub fn ram_regions(blob: &[u8], out: &mut [MemRegion]) -> Result<usize, DtError> {
    let fdt = Fdt::new(blob)?;
    let (mut ac, mut sc) = (2, 1);
    let (mut is_memory, mut reg, mut enabled) = (false, None, true);
    let mut found = 0;
    let mut walk = fdt.walk();
    while let Some(token) = walk.next() {
        match (token?, walk.depth()) {
            (Token::Property { name, value }, 1) => match name {
                "#address-cells" => ac = one_cell(value).map_or(usize::MAX, |c| c as usize),
                "#size-cells" => sc = one_cell(value).map_or(usize::MAX, |c| c as usize),
                _ => {}
            },
            (Token::Property { name, value }, 2) => match name {
                "device_type" => is_memory = first_string(value) == Some("memory"),
                "reg" => reg = Some(value),
                "status" => enabled = matches!(first_string(value), Some("okay" | "ok")),
                _ => {}
            },
            (Token::EndNode, 1) => {
                if is_memory && enabled {
                    let bad = DtError::BadProperty {
                        node: "memory",
                        property: "reg",
                    };
                    let value = reg.ok_or(bad)?;
                    if !(1..=2).contains(&ac) || sc > 2 {
                        return Err(bad);
                    }
                    let entry = (ac + sc) * 4;
                    if value.is_empty() || !value.len().is_multiple_of(entry) {
                        return Err(bad);
                    }
                    for e in value.chunks_exact(entry) {
                        let base = cells(e, ac).ok_or(bad)?;
                        let size = cells(e.get(ac * 4..).ok_or(bad)?, sc).ok_or(bad)?;
                        if size == 0 {
                            continue;
                        }
                        if let Some(slot) = out.get_mut(found) {
                            *slot = MemRegion { base, size };
                        }
                        found += 1;
                    }
                }
                (is_memory, reg, enabled) = (false, None, true);
            }
            _ => {}
        }
    }
    if found == 0 {
        return Err(DtError::NoMemory);
    }
    Ok(found)
}
