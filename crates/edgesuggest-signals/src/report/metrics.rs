//! Tallying the events of an experiment per arm (on the applying thread), and turning the
//! tallies into the per-arm metrics of `docs/EXPERIMENTS.md` once everything is read.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::read::{ArmEvent, ReportBatch};
use super::stats::nearest_rank;
use crate::event::EventType;
use crate::hash::FastState;

/// Milliseconds in a UTC day.
const DAY_MS: u64 = 86_400_000;

/// The impressions of one response (an arm's answer with a `response_id`), and whether any
/// click of the same arm carried its id. Keyed by (arm, xxh3 of the id).
#[derive(Debug, Default)]
struct Response {
    /// Characters of the first impression's `q` that had one (what a click without `q` saved
    /// keystrokes against).
    q_chars: Option<u32>,
    /// Its impressions.
    impressions: u32,
    /// The UTC day of its first impression.
    day: u32,
    /// Days of further impressions on another day (rare: kept apart so that the common case
    /// allocates nothing).
    other_days: Vec<u32>,
    clicked: bool,
}

impl Response {
    fn add_impression(&mut self, day: u32) {
        if self.impressions == 0 {
            self.day = day;
        } else if day != self.day {
            self.other_days.push(day);
        }
        self.impressions = self.impressions.saturating_add(1);
    }

    /// (day, impressions) of all its impressions.
    fn days(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        let first = u64::from(self.impressions).saturating_sub(self.other_days.len() as u64);
        std::iter::once((self.day, first))
            .filter(|&(_, n)| n > 0)
            .chain(self.other_days.iter().map(|&d| (d, 1)))
    }
}

/// Impressions and clicked impressions of one arm on one UTC day.
#[derive(Debug, Default, Clone, Copy)]
struct Day {
    impressions: u64,
    clicked: u64,
}

/// What is counted of one arm while reading.
#[derive(Debug)]
struct ArmTally {
    name: String,
    users: HashSet<u64, FastState>,
    /// (user, session); `None` is the one session of a user's events without one.
    sessions: HashSet<(u64, Option<u64>), FastState>,
    impressions: u64,
    clicks: u64,
    reciprocal_rank_sum: f64,
    /// Keystrokes saved by the clicks whose `q` is known already.
    saved: u64,
    empty_lists: u64,
    errors: u64,
    took_us: Vec<u64>,
    days: BTreeMap<u32, Day>,
}

impl ArmTally {
    fn new(name: &str) -> ArmTally {
        ArmTally {
            name: name.to_string(),
            users: HashSet::default(),
            sessions: HashSet::default(),
            impressions: 0,
            clicks: 0,
            reciprocal_rank_sum: 0.0,
            saved: 0,
            empty_lists: 0,
            errors: 0,
            took_us: Vec::new(),
            days: BTreeMap::new(),
        }
    }
}

/// A click without `q` but with a response id: its keystrokes saved wait for the impression
/// (which may come later in the log).
#[derive(Debug)]
struct PendingClick {
    arm: u32,
    response: u64,
    text_chars: u32,
}

/// Everything counted while reading, over all inputs.
#[derive(Debug, Default)]
pub struct Tally {
    arms: Vec<ArmTally>,
    arm_index: HashMap<String, u32, FastState>,
    responses: HashMap<(u32, u64), Response, FastState>,
    pending: Vec<PendingClick>,
    /// Events of the experiment (with an arm).
    pub events: u64,
    /// Events of another experiment or of none.
    pub other_experiment: u64,
    /// Events of the experiment without `variant`.
    pub no_variant: u64,
    /// Up to a few names of the other experiments seen, for messages.
    pub others_seen: Vec<String>,
}

impl Tally {
    /// Counts a batch's skipped events; its events go one by one through [`Tally::add`].
    pub fn add_skipped(&mut self, batch: &mut ReportBatch) {
        self.other_experiment += batch.other_experiment;
        self.no_variant += batch.no_variant;
        for name in batch.others_seen.drain(..) {
            if self.others_seen.len() < 8 && !self.others_seen.contains(&name) {
                self.others_seen.push(name);
            }
        }
    }

    /// Counts one event of the experiment.
    pub fn add(&mut self, batch: &ReportBatch, event: &ArmEvent) {
        self.events += 1;
        let arm = self.arm(batch.variant(event));
        let tally = &mut self.arms[arm as usize];
        tally.users.insert(event.user);
        tally.sessions.insert((event.user, event.session));
        match event.kind {
            EventType::Impression => self.impression(arm, event),
            EventType::Click => self.click(arm, event),
            EventType::Search => {}
        }
    }

    /// The index of an arm, added on its first event.
    fn arm(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.arm_index.get(name) {
            return i;
        }
        let i = self.arms.len() as u32;
        self.arms.push(ArmTally::new(name));
        self.arm_index.insert(name.to_string(), i);
        i
    }

    fn impression(&mut self, arm: u32, event: &ArmEvent) {
        let tally = &mut self.arms[arm as usize];
        tally.impressions += 1;
        tally.empty_lists += u64::from(event.empty_list && !event.error);
        tally.errors += u64::from(event.error);
        tally.took_us.extend(event.took_us);
        let day = (event.ts / DAY_MS) as u32;
        tally.days.entry(day).or_default().impressions += 1;
        if let Some(id) = event.response {
            let response = self.responses.entry((arm, id)).or_default();
            response.add_impression(day);
            if response.q_chars.is_none() {
                response.q_chars = event.q_chars;
            }
        }
    }

    fn click(&mut self, arm: u32, event: &ArmEvent) {
        let tally = &mut self.arms[arm as usize];
        tally.clicks += 1;
        tally.reciprocal_rank_sum += 1.0 / (event.position as f64 + 1.0);
        match (event.q_chars, event.response) {
            (Some(q), _) => tally.saved += u64::from(event.text_chars.saturating_sub(q)),
            (None, Some(response)) => self.pending.push(PendingClick {
                arm,
                response,
                text_chars: event.text_chars,
            }),
            (None, None) => tally.saved += u64::from(event.text_chars),
        }
        if let Some(id) = event.response {
            self.responses.entry((arm, id)).or_default().clicked = true;
        }
    }

    /// The metrics of every arm, in order of first appearance, once all is read.
    pub fn finish(mut self) -> Vec<ArmMetrics> {
        self.settle_pending();
        let mut clicked = vec![0u64; self.arms.len()];
        for (&(arm, _), response) in &self.responses {
            if !response.clicked {
                continue;
            }
            let tally = &mut self.arms[arm as usize];
            for (day, n) in response.days() {
                clicked[arm as usize] += n;
                tally.days.entry(day).or_default().clicked += n;
            }
        }
        self.arms
            .into_iter()
            .zip(clicked)
            .map(|(tally, clicked)| metrics(tally, clicked))
            .collect()
    }

    /// Keystrokes saved of the clicks that lacked `q`: against their impression's `q`, else
    /// against nothing (the whole text).
    fn settle_pending(&mut self) {
        for click in self.pending.drain(..) {
            let q = self
                .responses
                .get(&(click.arm, click.response))
                .and_then(|r| r.q_chars)
                .unwrap_or(0);
            self.arms[click.arm as usize].saved += u64::from(click.text_chars.saturating_sub(q));
        }
    }

    /// Users per arm and how many appear in more than one arm.
    pub fn users_in_several_arms(&self) -> u64 {
        let mut arms_of: HashMap<u64, u32, FastState> = HashMap::default();
        for tally in &self.arms {
            for &user in &tally.users {
                *arms_of.entry(user).or_default() += 1;
            }
        }
        arms_of.values().filter(|&&n| n > 1).count() as u64
    }
}

/// CTR of one arm on one UTC day.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DayCtr {
    /// The day, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Impressions that day.
    pub impressions: u64,
    /// Of them, clicked.
    pub clicked: u64,
    /// clicked / impressions.
    pub ctr: f64,
}

/// The metrics of one arm (`docs/EXPERIMENTS.md`, "Report"). A rate over nothing is `None`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ArmMetrics {
    /// The arm (`variant`).
    pub name: String,
    /// Distinct users.
    pub users: u64,
    /// Distinct (user, session) pairs.
    pub sessions: u64,
    /// Impression events.
    pub impressions: u64,
    /// Click events.
    pub clicks: u64,
    /// Impressions with a click of the arm carrying their `response_id`.
    pub clicked_impressions: u64,
    /// clicked_impressions / impressions.
    pub ctr: Option<f64>,
    /// Mean of 1 / (position + 1) over clicks.
    pub mrr: Option<f64>,
    /// Mean characters saved per click.
    pub keystrokes_saved: Option<f64>,
    /// Impressions with an empty list and no error, / impressions.
    pub zero_suggestion_rate: Option<f64>,
    /// Impressions with `error`, / impressions.
    pub error_share: Option<f64>,
    /// Impressions with `took_us`.
    pub latency_samples: u64,
    /// Nearest-rank median of `took_us`, in ms.
    pub latency_p50_ms: Option<f64>,
    /// Nearest-rank 95th percentile of `took_us`, in ms.
    pub latency_p95_ms: Option<f64>,
    /// CTR per UTC day of the impression, in day order.
    #[serde(skip)]
    pub daily: Vec<DayCtr>,
}

impl ArmMetrics {
    /// An arm of the configuration that no event names: all zero.
    pub fn empty(name: &str) -> ArmMetrics {
        metrics(ArmTally::new(name), 0)
    }
}

fn metrics(mut tally: ArmTally, clicked: u64) -> ArmMetrics {
    let per = |n: u64, of: u64| (of > 0).then(|| n as f64 / of as f64);
    tally.took_us.sort_unstable();
    let ms = |pct| nearest_rank(&tally.took_us, pct).map(|us| us as f64 / 1000.0);
    ArmMetrics {
        users: tally.users.len() as u64,
        sessions: tally.sessions.len() as u64,
        impressions: tally.impressions,
        clicks: tally.clicks,
        clicked_impressions: clicked,
        ctr: per(clicked, tally.impressions),
        mrr: (tally.clicks > 0).then(|| tally.reciprocal_rank_sum / tally.clicks as f64),
        keystrokes_saved: per(tally.saved, tally.clicks),
        zero_suggestion_rate: per(tally.empty_lists, tally.impressions),
        error_share: per(tally.errors, tally.impressions),
        latency_samples: tally.took_us.len() as u64,
        latency_p50_ms: ms(50.0),
        latency_p95_ms: ms(95.0),
        daily: daily(&tally.days),
        name: tally.name,
    }
}

fn daily(days: &BTreeMap<u32, Day>) -> Vec<DayCtr> {
    days.iter()
        .filter(|(_, d)| d.impressions > 0)
        .map(|(&day, d)| DayCtr {
            day: civil_date(day),
            impressions: d.impressions,
            clicked: d.clicked,
            ctr: d.clicked as f64 / d.impressions as f64,
        })
        .collect()
}

/// `YYYY-MM-DD` of a day number since 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub fn civil_date(days: u32) -> String {
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        // 1970-01-01 is day 0; 2000-03-01 is day 11017; 2025-12-02 is day 20424.
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(11_017), "2000-03-01");
        assert_eq!(civil_date(20_424), "2025-12-02");
        assert_eq!(civil_date(20_513), "2026-03-01");
    }
}
