//! The binary's command line: output lines, errors, the sized-trace note.

use std::process::Command;

fn cachesim(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cachesim"))
        .args(args)
        .output()
        .expect("run cachesim");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_plain_sized_trace_prints_one_line_per_policy_and_size() {
    let dir = std::env::temp_dir().join(format!("cachesim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("t.txt");
    let mut text = String::new();
    for round in 0..4 {
        for k in 0..6 {
            text.push_str(&format!("key{k} {}\n", 100 + 10 * ((k + round) % 2)));
        }
    }
    std::fs::write(&trace, text).unwrap();
    let svg = dir.join("p.svg");
    let (ok, stdout, stderr) = cachesim(&[
        "--trace",
        trace.to_str().unwrap(),
        "--policies",
        "lru,arc,opt",
        "--sizes",
        "300,1000",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{stdout}");
    assert!(lines[0].starts_with("policy=lru size=300 requests=24 hits="));
    assert!(lines[5].starts_with("policy=opt size=1000 requests=24 hits=18 "));
    assert!(stderr.contains("heuristic"), "{stderr}");
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_arguments_are_refused_with_a_reason() {
    let (ok, _, stderr) = cachesim(&["--policies", "lru"]);
    assert!(!ok);
    assert!(
        stderr.contains("--trace or --lsm-keys is required"),
        "{stderr}"
    );
    let (ok, _, stderr) = cachesim(&["--trace", "x.lis", "--policies", "fifo"]);
    assert!(!ok);
    assert!(stderr.contains("unknown policy `fifo`"), "{stderr}");
    let (ok, _, stderr) = cachesim(&["--trace", "/nonexistent/x.lis"]);
    assert!(!ok);
    assert!(stderr.contains("reading the trace"), "{stderr}");
}

#[test]
fn a_generated_store_trace_is_detected_replayed_and_plotted() {
    let dir = std::env::temp_dir().join(format!("cachesim-cli-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("phase.txt");
    let t = trace.to_str().unwrap();
    let (ok, _, stderr) = cachesim(&[
        "--gen-phase-trace",
        t,
        "--lsm-keys",
        "5000",
        "--ops",
        "2000",
        "--scans",
        "500",
    ]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("4000 lookups, 500 scans"), "{stderr}");
    let svg = dir.join("reads.svg");
    let (ok, stdout, stderr) = cachesim(&[
        "--trace",
        t,
        "--policies",
        "none,lru,arc,ackey,opt",
        "--sizes",
        "100000,400000",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 10, "{stdout}");
    assert!(
        lines[0].starts_with("policy=none size=100000 lookups=4000 scans=500 block_requests="),
        "{stdout}"
    );
    for field in [
        "disk_reads=",
        "disk_reads_per_lookup=",
        "hit_ratio=",
        "vs_opt=",
    ] {
        assert!(lines.iter().all(|l| l.contains(field)), "{field}: {stdout}");
    }
    assert!(lines[9].starts_with("policy=opt size=400000 "), "{stdout}");
    assert!(lines[9].ends_with(" vs_opt=1.0000"), "{stdout}");
    assert!(stderr.contains("heuristic"), "{stderr}");
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));

    let split = dir.join("split.svg");
    let (ok, stdout, stderr) = cachesim(&[
        "--trace",
        t,
        "--policies",
        "ackey",
        "--sizes",
        "200000",
        "--split-plot",
        split.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("policy=ackey size=200000 "), "{stdout}");
    assert_eq!(stdout.matches("phase=").count(), 3, "{stdout}");
    assert!(std::fs::read_to_string(&split).unwrap().starts_with("<svg"));
    let (ok, _, stderr) = cachesim(&[
        "--trace",
        t,
        "--policies",
        "ackey",
        "--sizes",
        "1,2",
        "--split-plot",
        split.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("exactly one size"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
