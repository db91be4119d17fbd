//! LCS, reply by reply, as native redis-server 7.0.15 answers it;
//! `tcl_lcs` covers the LCS tests of Redis's tests/unit/type/string.tcl.

mod common;

use common::{expect, line, store};

/// "LCS basic", "LCS len", "LCS indexes", "LCS indexes with match len",
/// "LCS indexes with match len and minimum match len"; and LCS's errors.
#[test]
fn tcl_lcs() {
    let s = store(16 << 20);
    let rna1 = "CACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTTCGTCCGGGTGTG";
    let rna2 = "ATTAAAGGTTTATACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT";
    let rnalcs = "ACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT";
    assert_eq!(line(&s, &format!("SET virus1{{t}} {rna1}")), "OK\n");
    assert_eq!(line(&s, &format!("SET virus2{{t}} {rna2}")), "OK\n");
    // Each match: [a start, a end], [b start, b end] (and its length).
    let m = |a: (u32, u32), b: (u32, u32), len: Option<u32>, first: bool| {
        let pad = "                ";
        let lead = if first { "" } else { pad };
        let mut s = format!(
            "{lead}1) (integer) {}\n{pad}      2) (integer) {}\n{pad}   2) 1) (integer) {}\n{pad}      2) (integer) {}",
            a.0, a.1, b.0, b.1
        );
        if let Some(len) = len {
            s.push_str(&format!("\n{pad}   3) (integer) {len}"));
        }
        s
    };
    let idx = |len: bool, only_long: bool| {
        let all = [
            ((238, 238), (239, 239), 1),
            ((236, 236), (238, 238), 1),
            ((229, 230), (236, 237), 2),
            ((224, 224), (235, 235), 1),
            ((1, 222), (13, 234), 222),
        ];
        let kept: Vec<_> = all.iter().filter(|x| !only_long || x.2 >= 5).collect();
        let rows: Vec<String> = kept
            .iter()
            .enumerate()
            .map(|(n, (a, b, l))| {
                let body = m(*a, *b, len.then_some(*l), true);
                let lead = if n == 0 { "" } else { "                " };
                format!("{lead}{}) 1) {body}", n + 1)
            })
            .collect();
        format!(
            "1# \"matches\" => {}\n2# \"len\" => (integer) 227",
            rows.join("\n")
        )
    };
    expect(
        &s,
        &[
            ("LCS virus1{t} virus2{t}", &format!("\"{rnalcs}\"")),
            ("LCS virus1{t} virus2{t} LEN", "(integer) 227"),
            ("LCS virus1{t} virus2{t} IDX", &idx(false, false)),
            (
                "LCS virus1{t} virus2{t} IDX WITHMATCHLEN",
                &idx(true, false),
            ),
            (
                "LCS virus1{t} virus2{t} IDX WITHMATCHLEN MINMATCHLEN 5",
                &idx(true, true),
            ),
        ],
    );
    let _ = m((0, 0), (0, 0), None, false);
    expect(
        &s,
        &[
            ("SET a ohmytext", "OK"),
            ("SET b mynewtext", "OK"),
            ("LCS a b", "\"mytext\""),
            ("LCS nokey b", "\"\""),
            ("LCS a nokey LEN", "(integer) 0"),
            (
                "LCS a b LEN IDX",
                "(error) ERR If you want both the length and indexes, please just use IDX.",
            ),
            ("LCS a b MINMATCHLEN", "(error) ERR syntax error"),
            ("LCS a b foo", "(error) ERR syntax error"),
            (
                "LCS a b MINMATCHLEN x",
                "(error) ERR value is not an integer or out of range",
            ),
            (
                "LCS a b IDX MINMATCHLEN -5 WITHMATCHLEN",
                "1# \"matches\" => 1) 1) 1) (integer) 4\n\
                 \x20                     2) (integer) 7\n\
                 \x20                  2) 1) (integer) 5\n\
                 \x20                     2) (integer) 8\n\
                 \x20                  3) (integer) 4\n\
                 \x20               2) 1) 1) (integer) 2\n\
                 \x20                     2) (integer) 3\n\
                 \x20                  2) 1) (integer) 0\n\
                 \x20                     2) (integer) 1\n\
                 \x20                  3) (integer) 2\n\
                 2# \"len\" => (integer) 6",
            ),
        ],
    );
}

/// LCS's table is refused beyond proto-max-bulk-len (4 bytes a cell).
#[test]
fn lcs_refuses_a_table_bigger_than_proto_max_bulk_len() {
    let s = store(64 << 20);
    let a = "a".repeat(5000);
    assert_eq!(line(&s, &format!("SET a {a}")), "OK\n");
    assert_eq!(line(&s, &format!("SET b {a}")), "OK\n");
    assert_eq!(
        line(&s, "LCS a b LEN"),
        "(error) ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\n"
    );
    assert_eq!(line(&s, "LCS a nokey LEN"), "(integer) 0\n");
}
