//! Wall-clock time of a long job's stages, for one debug line at its end (where does a large
//! zone's import or full publish spend its seconds).

use std::fmt;
use std::time::Instant;

/// Stages timed one after the other.
#[derive(Debug)]
pub struct Stages {
    last: Instant,
    laps: Vec<(&'static str, f64)>,
}

impl Default for Stages {
    fn default() -> Self {
        Self::new()
    }
}

impl Stages {
    /// Starts the clock.
    pub fn new() -> Self {
        Self {
            last: Instant::now(),
            laps: Vec::new(),
        }
    }

    /// Ends the stage `name` now; the next one starts.
    pub fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        self.laps
            .push((name, now.duration_since(self.last).as_secs_f64() * 1000.0));
        self.last = now;
    }
}

impl fmt::Display for Stages {
    /// `parse 812 ms, insert 2310 ms, …`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, ms)) in self.laps.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{name} {ms:.0} ms")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laps_are_listed_in_order() {
        let mut s = Stages::new();
        s.lap("read");
        std::thread::sleep(std::time::Duration::from_millis(5));
        s.lap("write");
        let text = s.to_string();
        assert!(text.starts_with("read "), "{text}");
        let write: f64 = text
            .split("write ")
            .nth(1)
            .and_then(|t| t.strip_suffix(" ms"))
            .and_then(|t| t.parse().ok())
            .unwrap();
        assert!(write >= 5.0, "{text}");
    }
}
