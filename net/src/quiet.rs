//! A budget for log lines about what outsiders send (refused NOTIFY, bad TSIG, refused
//! transfers), shared by the nameserver and the transfer server: a flood of such requests
//! must not become a flood of log lines. At most [`PER_SECOND`] such lines a second are
//! written in a process; the lines held back are counted and said in one line when logging
//! resumes.

use std::sync::Mutex;
use std::time::Instant;

/// Lines allowed a second.
pub const PER_SECOND: u32 = 20;

struct Budget {
    second: Option<Instant>,
    written: u32,
    held_back: u64,
}

static BUDGET: Mutex<Budget> = Mutex::new(Budget {
    second: None,
    written: 0,
    held_back: 0,
});

/// Whether one more such line may be written now.
pub fn allow() -> bool {
    let Ok(mut b) = BUDGET.lock() else {
        return false;
    };
    let now = Instant::now();
    if b.second
        .is_none_or(|s| now.duration_since(s).as_secs() >= 1)
    {
        if b.held_back > 0 {
            tracing::warn!(
                held_back = b.held_back,
                "log lines about refused requests were held back (over {PER_SECOND} a second)"
            );
        }
        b.second = Some(now);
        b.written = 0;
        b.held_back = 0;
    }
    if b.written < PER_SECOND {
        b.written += 1;
        true
    } else {
        b.held_back += 1;
        false
    }
}
