//! `ldb DISK COMMAND [ARGS]`: see the library's documentation and
//! `tools/ldb/README.md`.

use std::io::{BufWriter, ErrorKind, Write};
use std::process::ExitCode;

use ldb::{LdbError, USAGE};

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let result = ldb::run(&args, &mut out).and_then(|()| out.flush().map_err(LdbError::Output));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that stopped early (`ldb disk.img dump | head`) is not a failure.
        Err(LdbError::Output(e)) if e.kind() == ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            // What was printed before the failure goes out first.
            let _ = out.flush();
            eprintln!("ldb: {e}");
            if matches!(e, LdbError::Usage(_)) {
                eprint!("\n{USAGE}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}
