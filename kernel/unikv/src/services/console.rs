//! The console service: the serial shell people type into. Its loop is the
//! kernel's main loop (`shell::run`); the service entry marks it available
//! and is what `SERVICES` shows. It has no exit: stopping the only console
//! would leave nobody to start it again.

use kcore::registry::ServiceError;

fn init() -> Result<(), ServiceError> {
    Ok(())
}

crate::service!(CONSOLE_SERVICE {
    name: "console",
    description: "serial console: line editor, command parser, redis-cli style replies",
    author: "The unikv developers",
    license: "MIT OR Apache-2.0",
    alias: "shell",
    depends: [],
    init: init,
    exit: None,
});
