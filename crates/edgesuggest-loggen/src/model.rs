//! The user model: sessions of typing, suggestion lists, position-biased clicks and committed
//! searches, plus the noise the aggregation must withstand (spam, typos, excluded terms, case
//! and whitespace variants). Everything is drawn from one seeded stream, in one order, so a
//! seed always gives the same events.

use edgesuggest_signals::{Event, EventType};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::phrases::Phrases;

/// Terms that an exclude file is expected to hide; searched by several users each, so only the
/// exclusion (not the privacy threshold) keeps them out.
pub const EXCLUDED_TERMS: &[&str] = &["badword1", "badword2", "badword3"];

/// Share of sessions that search an excluded term.
const EXCLUDED_SHARE: f64 = 0.003;
/// Searches per spam user (before the cap of a tenth of all events).
const SPAM_REPEATS: u64 = 300;
/// Share of suggestion lists that include the target when the prefix alone would not.
const TARGET_SHOWN: f64 = 0.8;
/// Share of searches typed in another case or spacing ("new york", "New  York").
const VARIANT_SHARE: f64 = 0.15;
/// Share of typo searches that find nothing.
const TYPO_ZERO_RESULTS: f64 = 0.6;
/// Share of sessions left without any search (the box is abandoned).
const ABANDON_SHARE: f64 = 0.1;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    /// Seed of the random stream.
    pub seed: u64,
    /// Distinct ordinary users.
    pub users: u32,
    /// First timestamp, ms since the epoch.
    pub start_ms: u64,
    /// Timestamps fall in `start_ms..start_ms + span_ms`.
    pub span_ms: u64,
    /// Events in total.
    pub events: u64,
    /// Zipf exponent of the phrases' popularity by rank.
    pub zipf: f64,
    /// Users who search one phrase hundreds of times.
    pub spam_users: u32,
    /// Share of typed searches with a typo.
    pub typo_rate: f64,
    /// The `index` field of impressions and clicks.
    pub index: String,
    /// The `experiment` field of impressions and clicks (those that carry a `variant`); with
    /// it, impressions also carry a `took_us`. `None` writes neither, so logs made without it
    /// stay byte for byte what they were.
    pub experiment: Option<String>,
}

/// Ranks drawn with probability proportional to `1 / (rank + 1)^s`, by inverse CDF.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut total = 0.0;
        let cdf = (0..n)
            .map(|rank| {
                total += 1.0 / ((rank + 1) as f64).powf(s);
                total
            })
            .collect();
        Zipf { cdf }
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> usize {
        let total = self.cdf.last().copied().unwrap_or(0.0);
        let u = rng.random::<f64>() * total;
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

/// Generates the events of `config` over `phrases`, sorted by `ts` (ties in generation order).
/// `progress` is told how many events exist so far, now and then.
pub fn generate(phrases: &Phrases, config: &Config, progress: &dyn Fn(u64)) -> Vec<Event> {
    let mut gen = Generator {
        rng: ChaCha8Rng::seed_from_u64(config.seed),
        zipf: Zipf::new(phrases.count(), config.zipf),
        phrases,
        config,
        events: Vec::with_capacity(config.events as usize),
        sessions: 0,
        responses: 0,
    };
    gen.spam();
    while (gen.events.len() as u64) < config.events {
        gen.session();
        if gen.sessions.is_multiple_of(4096) {
            progress(gen.events.len() as u64);
        }
    }
    let mut events = gen.events;
    // The last session may overshoot: its latest events go.
    events.truncate(config.events as usize);
    // A session that starts near the end runs past it: its events are moved back to the last
    // millisecond (order kept), so every timestamp is within the span asked for.
    let last = config.start_ms + config.span_ms.max(1) - 1;
    events.iter_mut().for_each(|e| e.ts = e.ts.min(last));
    events.sort_by_key(|e| e.ts);
    events
}

struct Generator<'a> {
    rng: ChaCha8Rng,
    zipf: Zipf,
    phrases: &'a Phrases,
    config: &'a Config,
    events: Vec<Event>,
    sessions: u64,
    responses: u64,
}

/// A server time for answer `response`, in µs: mostly 0.3–5 ms with a tail to ~60 ms.
/// Derived from the answer's number, not drawn from the random stream, so adding it leaves
/// every other field of every event as it was.
fn took_us(response: u64) -> u64 {
    // splitmix64 of the number: well mixed, and no dependency for it.
    let mut h = response.wrapping_add(0x9e37_79b9_7f4a_7c15);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    let base = 300 + h % 4_700;
    // One answer in 50 is slow (a cold index, a busy isolate).
    match (h >> 32) % 50 {
        0 => base + (h >> 40) % 55_000,
        _ => base,
    }
}

/// An event with only the fields every event has.
fn bare(ts: u64, kind: EventType, user: &str) -> Event {
    Event::new(ts, kind, user)
}

/// Who is searching, in which session and experiment arm.
struct Visit {
    user: String,
    session: String,
    variant: &'static str,
}

impl Generator<'_> {
    fn random_ts(&mut self) -> u64 {
        self.config.start_ms + self.rng.random_range(0..self.config.span_ms.max(1))
    }

    /// Spam users: each searches one phrase hundreds of times over the whole span.
    fn spam(&mut self) {
        let users = u64::from(self.config.spam_users);
        let per_user = (SPAM_REPEATS).min(self.config.events / 10 / users.max(1));
        for n in 0..users {
            let target = self.rng.random_range(0..self.phrases.count());
            let q = self.phrases.get(target).to_string();
            let user = format!("spam-{n}");
            for _ in 0..per_user {
                let mut e = bare(self.random_ts(), EventType::Search, &user);
                e.q = Some(q.clone());
                e.results = Some(self.rng.random_range(1..5000));
                self.events.push(e);
            }
        }
    }

    /// One visit to the search box: an excluded term, or one to three searches.
    fn session(&mut self) {
        self.sessions += 1;
        // Lower user ids are drawn more often: a few heavy users, a long tail of light ones.
        let u = (f64::from(self.config.users) * self.rng.random::<f64>().powi(2)) as u32;
        let visit = Visit {
            user: format!("u{u:05}"),
            session: format!("s{}", self.sessions),
            variant: if u.is_multiple_of(2) { "A" } else { "B" },
        };
        let mut t = self.random_ts();
        if self.rng.random_bool(EXCLUDED_SHARE) {
            let term = EXCLUDED_TERMS[self.rng.random_range(0..EXCLUDED_TERMS.len())];
            let mut e = bare(t, EventType::Search, &visit.user);
            e.q = Some(term.to_string());
            e.results = Some(self.rng.random_range(1..50));
            e.session = Some(visit.session);
            self.events.push(e);
            return;
        }
        let queries =
            1 + u32::from(self.rng.random_bool(0.3)) + u32::from(self.rng.random_bool(0.1));
        for _ in 0..queries {
            let target = self.zipf.sample(&mut self.rng);
            t = self.query(&visit, t, target) + self.rng.random_range(2_000..30_000);
        }
    }

    /// One query: type a prefix, see a list, click or type on, commit. Returns the time of
    /// the last event.
    fn query(&mut self, visit: &Visit, start: u64, target: usize) -> u64 {
        let full: Vec<char> = self.phrases.get(target).to_lowercase().chars().collect();
        let typed_len = full.len().min(self.rng.random_range(2..=6));
        let typed: String = full[..typed_len].iter().collect();
        let mut t = start + typed_len as u64 * self.rng.random_range(80..250);
        let list = self.suggestions(&typed, target, visit.variant);
        let clicked = self.click_position(&list, target);
        self.responses += 1;
        let response = format!("r{}", self.responses);
        if clicked.is_none() {
            // Typing on to the end of the phrase before committing (or leaving).
            t += (full.len() - typed_len) as u64 * self.rng.random_range(80..250);
        }
        let mut shown = self.answer_event(t, EventType::Impression, visit, &response);
        shown.q = Some(typed.clone());
        shown.suggestions = Some(
            list.iter()
                .map(|&r| self.phrases.get(r).to_string())
                .collect(),
        );
        self.events.push(shown);
        if let Some(position) = clicked {
            let mut click = self.answer_event(t, EventType::Click, visit, &response);
            click.q = Some(typed);
            click.text = Some(self.phrases.get(target).to_string());
            click.position = Some(position as u64);
            self.events.push(click);
            t += self.rng.random_range(1..200);
            let q = self.phrases.get(target).to_string();
            self.search(visit, t, q, false);
        } else if !self.rng.random_bool(ABANDON_SHARE) {
            t += self.rng.random_range(50..500);
            let (q, typo) = self.committed_text(target);
            self.search(visit, t, q, typo);
        }
        t
    }

    /// An impression or click of answer `response`.
    fn answer_event(&self, ts: u64, kind: EventType, visit: &Visit, response: &str) -> Event {
        let mut e = bare(ts, kind, &visit.user);
        e.response_id = Some(response.to_string());
        e.variant = Some(visit.variant.to_string());
        e.index = Some(self.config.index.clone());
        e.version = Some("1".to_string());
        e.session = Some(visit.session.clone());
        if let Some(experiment) = &self.config.experiment {
            e.experiment = Some(experiment.clone());
            if kind == EventType::Impression {
                e.took_us = Some(took_us(self.responses));
            }
        }
        e
    }

    fn search(&mut self, visit: &Visit, ts: u64, q: String, typo: bool) {
        let mut e = bare(ts, EventType::Search, &visit.user);
        e.results = Some(if typo && self.rng.random_bool(TYPO_ZERO_RESULTS) {
            0
        } else {
            self.rng.random_range(1..5000)
        });
        e.q = Some(q);
        e.session = Some(visit.session.clone());
        self.events.push(e);
    }

    /// The list shown for `typed`: 5 to 10 of the best phrases sharing the prefix, the
    /// target slipped in most of the time when the prefix alone would not show it. Arm B
    /// ranks the target one place higher now and then: a better ranker to find in A/B tests.
    fn suggestions(&mut self, typed: &str, target: usize, variant: &str) -> Vec<usize> {
        let k = self.rng.random_range(5..=10);
        let mut list = self.phrases.suggest(typed, k);
        let at = list.iter().position(|&r| r == target);
        if at.is_none() && self.rng.random_bool(TARGET_SHOWN) {
            let slot = self.rng.random_range(0..k);
            if slot < list.len() {
                list[slot] = target;
            } else {
                list.push(target);
            }
        } else if let Some(at) = at.filter(|&at| at > 0 && variant == "B") {
            if self.rng.random_bool(0.3) {
                list.swap(at, at - 1);
            }
        }
        list
    }

    /// The position clicked: position `i` is examined with probability `1 / (i + 1)`, and
    /// clicked when examined and relevant (the target).
    fn click_position(&mut self, list: &[usize], target: usize) -> Option<usize> {
        for (i, &rank) in list.iter().enumerate() {
            let examined = self.rng.random_bool(1.0 / (i as f64 + 1.0));
            if examined && rank == target {
                return Some(i);
            }
        }
        None
    }

    /// The text committed when no suggestion was picked: the phrase, sometimes with a typo
    /// (whether it has one is returned), sometimes in another case or spacing.
    fn committed_text(&mut self, target: usize) -> (String, bool) {
        let phrase = self.phrases.get(target);
        if self.rng.random_bool(self.config.typo_rate) {
            if let Some(typo) = self.typo(phrase) {
                return (typo, true);
            }
        }
        if self.rng.random_bool(VARIANT_SHARE) {
            return (self.variant_form(phrase), false);
        }
        (phrase.to_string(), false)
    }

    /// The phrase with two adjacent letters swapped or one letter dropped; `None` when it is
    /// too short to have a typo.
    fn typo(&mut self, phrase: &str) -> Option<String> {
        let mut chars: Vec<char> = phrase.chars().collect();
        if chars.len() < 3 {
            return None;
        }
        let at = self.rng.random_range(0..chars.len() - 1);
        if self.rng.random_bool(0.5) && chars[at] != chars[at + 1] {
            chars.swap(at, at + 1);
        } else {
            chars.remove(at);
        }
        Some(chars.into_iter().collect())
    }

    /// The same phrase as another user types it: lower or upper case, doubled inner spaces,
    /// spaces around it. It normalizes to the same key.
    fn variant_form(&mut self, phrase: &str) -> String {
        match self.rng.random_range(0..4) {
            0 => phrase.to_lowercase(),
            1 => phrase.to_uppercase(),
            2 if phrase.contains(' ') => phrase.replacen(' ', "  ", 1),
            _ => format!(" {phrase} "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_prefers_low_ranks() {
        let zipf = Zipf::new(100, 1.0);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let draws: Vec<usize> = (0..10_000).map(|_| zipf.sample(&mut rng)).collect();
        let top = draws.iter().filter(|&&r| r == 0).count();
        let tail = draws.iter().filter(|&&r| r == 99).count();
        assert!(top > 1_500 && top < 2_300, "{top}");
        assert!(tail < 60, "{tail}");
        assert!(draws.iter().all(|&r| r < 100));
    }
}
