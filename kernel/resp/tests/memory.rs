//! What the parser allocates, measured by a counting allocator: no more
//! than a header announced plus a little, and nothing for a header the
//! limits refuse. A test binary of its own, so the allocator counts only
//! these tests; the counts are per thread, as the tests run in parallel.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use resp::{Limits, Parsed, ProtocolError, RequestParser};

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static CALLS: Cell<usize> = const { Cell::new(0) };
}

fn count(grow: usize, shrink: usize) {
    if grow > 0 {
        let _ = CALLS.try_with(|calls| calls.set(calls.get() + 1));
    }
    let _ = LIVE.try_with(|live| {
        let now = (live.get() + grow).saturating_sub(shrink);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is passed on to the system allocator unchanged; the
// counting touches only thread-local cells, which do not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size(), 0);
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        // SAFETY: `p` came from `alloc`/`realloc` above with `layout`.
        unsafe { System.dealloc(p, layout) };
        count(0, layout.size());
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc` is passed on as is.
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            count(new_size, layout.size());
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most memory `f` held at once beyond what was live before it.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(base));
    let out = f();
    (out, PEAK.with(Cell::get) - base)
}

/// Small bookkeeping beyond the bytes announced: the argument vector's
/// first room and the like.
const OVERHEAD: usize = 1024;

#[test]
fn a_large_value_costs_its_length_once() {
    const LEN: usize = 4 << 20;
    let mut input = format!("*2\r\n$3\r\nSET\r\n${LEN}\r\n").into_bytes();
    input.resize(input.len() + LEN, b'v');
    input.extend_from_slice(b"\r\n");
    let mut parser = RequestParser::default();
    let (argv, peak) = peak_of(|| {
        let mut got = None;
        for chunk in input.chunks(1500) {
            if let Parsed::Command { argv, .. } = parser.parse(chunk).unwrap() {
                got = Some(argv);
            }
        }
        got
    });
    let argv = argv.expect("the command");
    assert_eq!(argv[1].len(), LEN);
    assert_eq!(argv[1].capacity(), LEN, "reserved once, exactly");
    assert!(peak <= LEN + OVERHEAD, "peak {peak}");
}

#[test]
fn a_huge_count_reserves_little() {
    let mut parser = RequestParser::default();
    let (result, peak) = peak_of(|| parser.parse(b"*2147483647\r\n$1\r\nx\r\n"));
    assert_eq!(result, Ok(Parsed::NeedMore));
    assert!(peak <= OVERHEAD, "peak {peak}");
}

#[test]
fn argv_room_never_passes_the_count() {
    let mut input = b"*100\r\n".to_vec();
    for _ in 0..100 {
        input.extend_from_slice(b"$1\r\nx\r\n");
    }
    let mut parser = RequestParser::default();
    match parser.parse(&input) {
        Ok(Parsed::Command { argv, consumed }) => {
            assert_eq!(consumed, input.len());
            assert_eq!(argv.len(), 100);
            assert_eq!(argv.capacity(), 100);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_refused_header_allocates_nothing_for_its_bulk() {
    let limits = Limits {
        proto_max_bulk_len: 1 << 20,
        ..Limits::REDIS
    };
    let mut parser = RequestParser::new(limits);
    let (result, peak) = peak_of(|| parser.parse(b"*1\r\n$1048577\r\n"));
    assert_eq!(result, Err(ProtocolError::InvalidBulkLength));
    assert!(peak <= OVERHEAD, "peak {peak}");
}

#[test]
fn an_unfinished_line_keeps_at_most_the_limit() {
    let mut parser = RequestParser::default();
    let line = vec![b'x'; 64 * 1024];
    let (_, peak) = peak_of(|| {
        for b in line.chunks(1) {
            assert_eq!(parser.parse(b), Ok(Parsed::NeedMore));
        }
    });
    assert!(peak <= 64 * 1024 + OVERHEAD, "peak {peak}");
    assert_eq!(
        parser.parse(b"x"),
        Err(ProtocolError::TooBigInline),
        "one byte more is refused"
    );
}

#[test]
fn a_long_line_buffer_is_freed_after_it() {
    let mut parser = RequestParser::default();
    let base = LIVE.with(Cell::get);
    for _ in 0..20000 {
        assert_eq!(parser.parse(b"xx"), Ok(Parsed::NeedMore));
    }
    assert!(LIVE.with(Cell::get).saturating_sub(base) >= 40000);
    match parser.parse(b"\n") {
        Ok(Parsed::Command { argv, .. }) => drop(argv),
        other => panic!("{other:?}"),
    }
    assert!(LIVE.with(Cell::get).saturating_sub(base) <= OVERHEAD);
}

/// A connection's steady stream of small commands, each one's arguments
/// given back once it ran (`recycle`), allocates nothing after the first.
#[test]
fn recycled_arguments_make_a_steady_stream_allocate_nothing() {
    let mut input = Vec::new();
    for i in 0..1000 {
        let key = format!("key:{i:06}");
        input.extend_from_slice(
            format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).as_bytes(),
        );
    }
    let mut parser = RequestParser::default();
    let mut rest = &input[..];
    let mut calls_after_first = 0;
    let mut commands = 0;
    while !rest.is_empty() {
        let before = CALLS.with(Cell::get);
        let Ok(Parsed::Command { argv, consumed }) = parser.parse(rest) else {
            panic!("a whole command");
        };
        assert_eq!(argv[0], b"GET");
        rest = &rest[consumed..];
        parser.recycle(argv);
        if commands > 0 {
            calls_after_first += CALLS.with(Cell::get) - before;
        }
        commands += 1;
    }
    assert_eq!(commands, 1000);
    assert_eq!(calls_after_first, 0);
}

/// A header alone reserves at most a read's worth, whatever it announces:
/// a peer must send the bytes it makes the server hold. `held_bytes`
/// follows what the unfinished request holds, and is 0 once it is done.
#[test]
fn an_announced_bulk_holds_only_what_arrived() {
    const LEN: usize = 60_000_000;
    let mut parser = RequestParser::default();
    let header = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${LEN}\r\n");
    let (result, peak) = peak_of(|| parser.parse(header.as_bytes()));
    assert_eq!(result, Ok(Parsed::NeedMore));
    assert!(peak <= (64 << 10) + OVERHEAD, "peak {peak}");
    assert!(parser.held_bytes() <= (64 << 10) + OVERHEAD);
    let chunk = vec![b'v'; 1 << 20];
    let (_, peak) = peak_of(|| {
        for _ in 0..3 {
            assert_eq!(parser.parse(&chunk), Ok(Parsed::NeedMore));
        }
    });
    // Doubling: at most twice what came.
    assert!(peak <= 2 * (3 << 20) + OVERHEAD, "peak {peak}");
    let held = parser.held_bytes();
    assert!(
        (3 << 20..=2 * (3 << 20) + OVERHEAD).contains(&held),
        "{held}"
    );
    let rest = vec![b'v'; LEN - (3 << 20)];
    assert_eq!(parser.parse(&rest), Ok(Parsed::NeedMore));
    match parser.parse(b"\r\n") {
        Ok(Parsed::Command { argv, .. }) => {
            assert_eq!(argv[2].len(), LEN);
            assert_eq!(argv[2].capacity(), LEN, "never past the length announced");
        }
        other => panic!("{other:?}"),
    }
    assert!(parser.held_bytes() <= OVERHEAD, "{}", parser.held_bytes());
}
