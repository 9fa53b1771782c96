//! The kill switch: the global mode, read from a parameter and cached briefly.

use std::sync::Mutex;
use std::time::Duration;

use crate::domain::Mode;
use crate::ports::Parameters;

/// The longest the kill switch may be cached: a flip takes effect within this time, no deploy.
pub const MAX_KILL_SWITCH_TTL: Duration = Duration::from_secs(60);

/// The mode the kill switch sets, and why, in words fit for a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switch {
    /// `Enforce` lets the other rails decide; `Detect` and `Off` withhold every correction.
    pub mode: Mode,
    /// Why (for a mode other than enforce: the reason a correction is withheld).
    pub reason: String,
}

#[derive(Debug, Clone)]
struct Cached {
    at: u64,
    switch: Switch,
}

/// Reads the kill switch parameter at most once per `ttl` (capped at [`MAX_KILL_SWITCH_TTL`]).
/// A parameter that is missing, unreadable or holds anything but `enforce`, `detect` or `off`
/// means detect, with the reason.
#[derive(Debug)]
pub struct KillSwitch<P> {
    parameters: P,
    name: String,
    ttl: u64,
    cache: Mutex<Option<Cached>>,
}

impl<P: Parameters> KillSwitch<P> {
    /// The switch named `name`, cached for `ttl` (at most 60 s).
    pub fn new(parameters: P, name: impl Into<String>, ttl: Duration) -> Self {
        Self {
            parameters,
            name: name.into(),
            ttl: ttl.min(MAX_KILL_SWITCH_TTL).as_secs(),
            cache: Mutex::new(None),
        }
    }

    /// The parameter's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The switch at `now` (Unix seconds): the cached value while it is fresh, else a new read.
    pub async fn read(&self, now: u64) -> Switch {
        let cached = self.cache.lock().ok().and_then(|c| c.clone());
        if let Some(c) = &cached
            && now >= c.at
            && now < c.at.saturating_add(self.ttl)
        {
            return c.switch.clone();
        }
        let switch = self.fetch().await;
        match &cached {
            None => tracing::info!(parameter = %self.name, mode = %switch.mode, reason = %switch.reason, "kill switch"),
            // A flip is an audit event.
            Some(c) if c.switch != switch => {
                tracing::warn!(parameter = %self.name, mode = %switch.mode, was = %c.switch.mode, reason = %switch.reason, "kill switch changed");
            }
            Some(_) => {}
        }
        if let Ok(mut cache) = self.cache.lock() {
            *cache = Some(Cached {
                at: now,
                switch: switch.clone(),
            });
        }
        switch
    }

    async fn fetch(&self) -> Switch {
        let name = &self.name;
        let detect = |reason: String| Switch {
            mode: Mode::Detect,
            reason,
        };
        match self.parameters.parameter(name).await {
            Ok(Some(value)) => match Mode::parse(&value.trim().to_ascii_lowercase()) {
                Some(Mode::Enforce) => Switch {
                    mode: Mode::Enforce,
                    reason: format!("kill switch {name} is set to enforce"),
                },
                Some(mode) => Switch {
                    mode,
                    reason: format!("kill switch {name} is set to {mode}"),
                },
                None => detect(format!(
                    "kill switch {name} holds {value:?}, not enforce, detect or off: detect until it is fixed"
                )),
            },
            Ok(None) => detect(format!(
                "kill switch {name} does not exist: detect until it is created (enforce, detect or off)"
            )),
            Err(e) => detect(format!("kill switch {name} cannot be read ({e}): detect")),
        }
    }
}
