//! `docs/console.md` is the console's contract: its command table must name
//! every command of the code's table, with the aliases and the exact usage
//! line `HELP` prints, and nothing else.

const DOC: &str = include_str!("../../../docs/console.md");

/// (name, aliases, usage) of each row of the doc's command table.
fn doc_rows() -> Vec<(String, Vec<String>, String)> {
    let table = DOC
        .split("<!-- commands:")
        .nth(1)
        .expect("the command table's marker");
    table
        .lines()
        .skip(1)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|row| {
            // Cells are split at `|` not escaped as `\|`.
            let row = row.replace("\\|", "\u{1}");
            let cells: Vec<String> = row
                .split('|')
                .map(|c| c.trim().replace('\u{1}', "|"))
                .collect();
            let (name, aliases) = match cells[1].split_once(" (alias ") {
                Some((n, a)) => (
                    n.to_string(),
                    a.trim_end_matches(')')
                        .split(", ")
                        .map(String::from)
                        .collect(),
                ),
                None => (cells[1].clone(), Vec::new()),
            };
            let usage = cells[2].trim_matches('`').to_string();
            (name, aliases, usage)
        })
        .collect()
}

#[test]
fn the_doc_lists_every_command_with_its_usage() {
    let rows = doc_rows();
    assert_eq!(rows.len(), console::commands().count(), "{rows:?}");
    for spec in console::commands() {
        let (_, aliases, usage) = rows
            .iter()
            .find(|(n, _, _)| n == spec.name)
            .unwrap_or_else(|| panic!("{} is not in docs/console.md", spec.name));
        assert_eq!(usage, spec.usage, "{}'s usage", spec.name);
        assert_eq!(aliases, &spec.aliases.to_vec(), "{}'s aliases", spec.name);
    }
}

#[test]
fn the_doc_names_every_info_section_and_bench_workload() {
    for section in [
        "server", "memory", "cpu", "services", "devices", "storage", "cache",
    ] {
        assert!(DOC.contains(&format!("| `{section}` |")), "{section}");
    }
    for w in workload::Workload::ALL {
        assert!(
            DOC.contains(w.name()) || w.name().starts_with("ycsb-"),
            "{}",
            w.name()
        );
    }
    let fields = workload::USAGE
        .split_once("ycsb-f ")
        .expect("BENCH's usage names the workloads, then the fields")
        .1;
    assert!(
        DOC.contains(fields),
        "BENCH's fields as the code takes them: {fields}"
    );
}
