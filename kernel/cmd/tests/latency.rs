//! LATENCY over network connections, with the replies a native
//! redis-server 7.0.15 gives: its latency monitor (which unikv does not
//! keep) and Redis 7.0's per-command latency tracking (LATENCY HISTOGRAM,
//! INFO latencystats).

mod common;

use cmd::Reply;
use common::{server, store, Session};

/// LATENCY as Redis's monitor answers with its threshold at 0 (Redis's
/// default, the only value unikv takes): nothing recorded. (HISTOGRAM:
/// below.)
#[test]
fn latency_answers_as_a_monitor_that_records_nothing() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("LATENCY LATEST"), "(empty array)\n");
    assert_eq!(c.run("LATENCY HISTORY command"), "(empty array)\n");
    assert_eq!(c.run("LATENCY RESET"), "(integer) 0\n");
    assert_eq!(c.run("LATENCY RESET command fast-command"), "(integer) 0\n");
    assert_eq!(
        c.run("LATENCY GRAPH command"),
        "(error) ERR No samples available for event 'command'\n"
    );
    // Free text, raw at the console as redis-cli prints Redis's.
    assert!(c
        .run("LATENCY DOCTOR")
        .starts_with("unikv records no latency events"));
    assert!(c
        .run("LATENCY HELP")
        .starts_with(" 1) LATENCY <subcommand>"));
    assert_eq!(
        c.run("CONFIG GET latency-monitor-threshold"),
        "1# \"latency-monitor-threshold\" => \"0\"\n"
    );
    assert_eq!(c.run("CONFIG SET latency-monitor-threshold 0"), "OK\n");
    assert!(c
        .run("CONFIG SET latency-monitor-threshold 100")
        .starts_with("(error) ERR CONFIG SET failed (possibly related to argument 'latency-monitor-threshold') - unikv records no latency events"));
}

/// Redis 7.0's latency tracking (tests/unit/latency-monitor.tcl's LATENCY
/// HISTOGRAM tests, tests/unit/info.tcl's latencystats tests): a
/// histogram per command, read as LATENCY HISTOGRAM's map and INFO
/// latencystats' percentiles, switched by `latency-tracking`, emptied by
/// CONFIG RESETSTAT.
#[test]
fn latency_histograms_and_latencystats_as_redis_has_them() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    // name -> calls, from LATENCY HISTOGRAM's map.
    let histogram = |c: &mut Session, args: &str| -> Vec<(String, i64)> {
        let Reply::Map(m) = c.reply(&format!("LATENCY HISTOGRAM {args}")) else {
            panic!("not a map")
        };
        m.into_iter()
            .map(|(name, v)| {
                let Reply::Value(name) = name else { panic!() };
                let Reply::Map(v) = v else { panic!() };
                assert_eq!(v[0].0, Reply::Value(b"calls".to_vec()));
                assert_eq!(v[1].0, Reply::Value(b"histogram_usec".to_vec()));
                let Reply::Integer(calls) = v[0].1 else {
                    panic!()
                };
                let Reply::Map(buckets) = &v[1].1 else {
                    panic!()
                };
                // Cumulative, the last one every call.
                assert_eq!(
                    buckets.last().map(|b| b.1.clone()),
                    Some(Reply::Integer(calls))
                );
                (String::from_utf8(name).unwrap(), calls)
            })
            .collect()
    };
    // The RESETSTAT itself is recorded, after it emptied the histograms.
    c.run("SET a b");
    assert_eq!(c.run("CONFIG RESETSTAT"), "OK\n");
    assert_eq!(histogram(&mut c, ""), [("config".into(), 1)]);
    c.run("SET a b");
    c.run("SET c d");
    c.run("GET a");
    // The first LATENCY HISTOGRAM is in it too, as in Redis.
    assert_eq!(
        histogram(&mut c, ""),
        [
            ("config".into(), 1),
            ("get".into(), 1),
            ("latency".into(), 1),
            ("set".into(), 2)
        ]
    );
    assert_eq!(
        histogram(&mut c, "set GET"),
        [("set".into(), 2), ("get".into(), 1)]
    );
    // Names of no command, and commands that never ran, are skipped.
    assert_eq!(histogram(&mut c, "blabla"), []);
    assert_eq!(
        histogram(&mut c, "blabla blabla2 get incr"),
        [("get".into(), 1)]
    );

    let latencystats = |c: &mut Session| c.run("INFO latencystats");
    let info = latencystats(&mut c);
    let set_line = info
        .lines()
        .find(|l| l.starts_with("latency_percentiles_usec_set:"))
        .unwrap_or_else(|| panic!("{info}"));
    let value = set_line.split_once(':').unwrap().1;
    let names: Vec<&str> = value
        .split(',')
        .map(|f| f.split_once('=').unwrap().0)
        .collect();
    assert_eq!(names, ["p50", "p99", "p99.9"]);
    for f in value.split(',') {
        let usec = f.split_once('=').unwrap().1;
        assert!(
            usec.parse::<f64>().is_ok() && usec.split_once('.').unwrap().1.len() == 3,
            "{f}"
        );
    }

    // Percentiles: Redis's formatting, range and errors; a failed SET
    // changes nothing.
    assert_eq!(
        c.run("CONFIG SET latency-tracking-info-percentiles \"0.0 50.0 100.0\""),
        "OK\n"
    );
    assert_eq!(
        c.run("CONFIG GET latency-tracking-info-percentiles"),
        "1# \"latency-tracking-info-percentiles\" => \"0 50 100\"\n"
    );
    assert!(latencystats(&mut c).contains("latency_percentiles_usec_set:p0="));
    assert!(c
        .run("CONFIG SET latency-tracking-info-percentiles \"10.0 50.0 a\"")
        .starts_with("(error) ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - Invalid latency-tracking-info-percentiles parameters"));
    assert!(c
        .run("CONFIG SET latency-tracking-info-percentiles \"10.0 50.0 101.0\"")
        .contains("should sit between [0.0,100.0]"));
    assert_eq!(
        c.run("CONFIG GET latency-tracking-info-percentiles"),
        "1# \"latency-tracking-info-percentiles\" => \"0 50 100\"\n"
    );
    assert_eq!(
        c.run("CONFIG SET latency-tracking-info-percentiles \"\""),
        "OK\n"
    );
    assert!(latencystats(&mut c).contains("latency_percentiles_usec_set:\n"));

    // Tracking off: nothing recorded, and INFO shows none.
    assert_eq!(c.run("CONFIG RESETSTAT"), "OK\n");
    assert_eq!(c.run("CONFIG SET latency-tracking no"), "OK\n");
    c.run("SET a b");
    assert!(!latencystats(&mut c).contains("latency_percentiles_usec_"));
    assert_eq!(histogram(&mut c, "set"), []);
    assert!(c
        .run("CONFIG SET latency-tracking maybe")
        .contains("argument must be 'yes' or 'no'"));
    assert_eq!(c.run("CONFIG SET latency-tracking yes"), "OK\n");
    c.run("SET a b");
    assert_eq!(histogram(&mut c, "set"), [("set".into(), 1)]);
}
