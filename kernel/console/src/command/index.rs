//! Finding a command by name: a hash table of every name and alias (all
//! upper case, which the build checks), made at compile time from the
//! specs. A network session looks up the name of
//! every request it serves; the walk it replaces compared the name with
//! each spec's in turn (about 110 instructions for GET, more for commands
//! further down the table).

use super::{CommandSpec, FAMILIES};

/// Slots in the table: a power of two, at least twice the names.
const SLOTS: usize = 512;

/// Names longer than this are no command's (checked below, at compile
/// time): a pasted value is refused without hashing it.
const MAX_NAME: usize = 32;

/// FNV-1a of the name in upper case.
const fn hash(name: &[u8]) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < name.len() {
        h ^= name[i].to_ascii_uppercase() as u32;
        h = h.wrapping_mul(0x0100_0193);
        i += 1;
    }
    h as usize
}

/// Each slot: 0 if empty, else the spec's family + 1 in the high byte and
/// its place in the family in the low one. Open addressing, linear probes.
static INDEX: [u16; SLOTS] = build();

const fn insert(table: &mut [u16; SLOTS], name: &str, entry: u16) -> usize {
    assert!(
        name.len() <= MAX_NAME,
        "a command name longer than MAX_NAME"
    );
    // `same_name` raises only the request's side.
    let mut i = 0;
    while i < name.len() {
        assert!(
            !name.as_bytes()[i].is_ascii_lowercase(),
            "a command name or alias with a lower-case letter"
        );
        i += 1;
    }
    let mut slot = hash(name.as_bytes()) & (SLOTS - 1);
    while table[slot] != 0 {
        slot = (slot + 1) & (SLOTS - 1);
    }
    table[slot] = entry;
    1
}

const fn build() -> [u16; SLOTS] {
    let mut table = [0u16; SLOTS];
    let mut names = 0;
    let mut f = 0;
    while f < FAMILIES.len() {
        let specs = FAMILIES[f];
        assert!(f < 255 && specs.len() <= 256);
        let mut at = 0;
        while at < specs.len() {
            let entry = (((f + 1) << 8) | at) as u16;
            names += insert(&mut table, specs[at].name, entry);
            let mut a = 0;
            while a < specs[at].aliases.len() {
                names += insert(&mut table, specs[at].aliases[a], entry);
                a += 1;
            }
            at += 1;
        }
        f += 1;
    }
    assert!(names * 2 <= SLOTS, "the command index needs more slots");
    table
}

/// Whether `upper` (an upper-case name) is `name` in any case: one side
/// to raise, not both as `eq_ignore_ascii_case` does.
fn same_name(upper: &str, name: &[u8]) -> bool {
    upper.len() == name.len()
        && upper
            .bytes()
            .zip(name)
            .all(|(u, b)| u == b.to_ascii_uppercase())
}

/// [`lookup`], trying `last` first: a client's requests mostly repeat its
/// last command (a pipeline, a benchmark, a loader), and comparing one name
/// is a tenth of hashing and probing for it.
pub fn lookup_after(
    last: Option<&'static CommandSpec>,
    name: &[u8],
) -> Option<&'static CommandSpec> {
    match last {
        Some(spec) if same_name(spec.name, name) => Some(spec),
        _ => lookup(name),
    }
}

/// The command called `name` (or one of its aliases), ignoring ASCII case.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    if name.len() > MAX_NAME {
        return None;
    }
    let mut slot = hash(name) & (SLOTS - 1);
    loop {
        let entry = INDEX[slot] as usize;
        if entry == 0 {
            return None;
        }
        let spec = FAMILIES.get((entry >> 8) - 1)?.get(entry & 0xff)?;
        if same_name(spec.name, name) || spec.aliases.iter().any(|a| same_name(a, name)) {
            return Some(spec);
        }
        slot = (slot + 1) & (SLOTS - 1);
    }
}
