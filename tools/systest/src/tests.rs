//! The transcript helpers: echoes and log lines.

use super::*;

#[test]
fn a_log_line_around_or_inside_the_echo_is_not_the_reply() {
    let log = "[    2.000001] WARN  unikv::session: expiry: damage\r\n";
    let reply = "(error) ERR corruption\r\n";
    for raw in [
        format!("VERIFY\r\n{reply}"),
        format!("{log}VERIFY\r\n{reply}"),
        format!("VERIFY{log}\r\n{reply}"),
        format!("V{log}ERIFY\r\n{reply}"),
        format!("VERI{log}FY\r\n{reply}"),
    ] {
        assert_eq!(
            strip_echo(&raw, "VERIFY"),
            "(error) ERR corruption\n",
            "{raw:?}"
        );
    }
    // Between the echo and the reply it is the reply's (LOG prints them).
    let raw = format!("LOG\r\n{log}");
    assert!(strip_echo(&raw, "LOG").starts_with("[    2.000001] WARN"));
}

#[test]
fn an_echo_that_differs_inside_a_character_is_left_as_it_came() {
    // "é" and "è" share their first byte: the echo differs mid-character.
    let raw = "SET k \u{e8}\r\nOK\r\n";
    assert_eq!(strip_echo(raw, "SET k \u{e9}"), "OK\n");
}
