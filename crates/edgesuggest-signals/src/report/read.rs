//! Reading the events of one experiment: the reader thread decodes each line, drops the
//! events of other experiments (counting them), and reduces the rest to a compact
//! [`ArmEvent`] with its strings hashed, so the applying thread only tallies.

use xxhash_rust::xxh3::xxh3_64;

use crate::event::{EventRef, EventType, ExperimentFields};
use crate::input::{read_ndjson_batches, read_parquet, Decoding, LineBatch, Source};
use crate::ndjson::RawExperimentEvent;
use crate::SignalsError;

/// Lines per batch (as the aggregation's): the hand-over costs little at this size.
const BATCH_LINES: usize = 4096;
/// Names of other experiments kept for the "nothing found" message.
const OTHERS_KEPT: usize = 8;

/// An event of the experiment, reduced to what the report reads. Strings that are only
/// compared (user, session, response id) are kept as their xxh3: at 10⁷ distinct values the
/// chance of any collision is below 10⁻⁵, and a collision changes a count by one.
#[derive(Debug, Clone)]
pub struct ArmEvent {
    /// Milliseconds since the epoch.
    pub ts: u64,
    /// What happened.
    pub kind: EventType,
    /// The arm (`variant`), as its range in the batch's arena.
    variant: (u32, u32),
    /// xxh3 of `user`.
    pub user: u64,
    /// xxh3 of `session`.
    pub session: Option<u64>,
    /// xxh3 of `response_id`.
    pub response: Option<u64>,
    /// `position` (clicks).
    pub position: u64,
    /// Characters of `text` (clicks).
    pub text_chars: u32,
    /// Characters of `q`, when present.
    pub q_chars: Option<u32>,
    /// An impression whose list was empty.
    pub empty_list: bool,
    /// An impression with `error`.
    pub error: bool,
    /// `took_us` (impressions).
    pub took_us: Option<u64>,
}

/// One line of a batch: an event of the experiment, or why the line is bad.
#[derive(Debug)]
pub struct Item {
    /// 1-based line (or Parquet row) number.
    pub line: u64,
    /// The event, or the reason the line is bad.
    pub outcome: Result<ArmEvent, String>,
}

/// Decoded lines of one input, with the counts of the events skipped on the way.
#[derive(Debug, Default)]
pub struct ReportBatch {
    arena: String,
    /// The events of the experiment and the bad lines, in input order.
    pub items: Vec<Item>,
    /// Events of another experiment (or of none).
    pub other_experiment: u64,
    /// Events of the experiment without `variant`.
    pub no_variant: u64,
    /// A few names of the other experiments seen.
    pub others_seen: Vec<String>,
}

impl LineBatch for ReportBatch {
    fn push_bad(&mut self, line: u64, why: String) {
        self.items.push(Item {
            line,
            outcome: Err(why),
        });
    }

    fn is_full(&self) -> bool {
        self.items.len() >= BATCH_LINES
    }

    fn clear(&mut self) {
        self.arena.clear();
        self.items.clear();
        self.other_experiment = 0;
        self.no_variant = 0;
        // `others_seen` is drained by the consumer; clearing it here too keeps the invariant.
        self.others_seen.clear();
    }
}

impl ReportBatch {
    /// The arm of an event of this batch.
    pub fn variant(&self, event: &ArmEvent) -> &str {
        let (start, end) = event.variant;
        self.arena.get(start as usize..end as usize).unwrap_or("")
    }

    /// Adds a valid event: kept when it is of `experiment` and has an arm, else counted.
    fn push_event<S: AsRef<str>>(
        &mut self,
        line: u64,
        event: &EventRef<'_, S>,
        fields: &ExperimentFields<'_>,
        experiment: &str,
    ) {
        if fields.experiment != Some(experiment) {
            self.other_experiment += 1;
            self.note_other(fields.experiment.unwrap_or("(none)"));
            return;
        }
        let Some(variant) = fields.variant else {
            self.no_variant += 1;
            return;
        };
        let start = self.arena.len() as u32;
        self.arena.push_str(variant);
        let outcome = Ok(compact(event, fields, (start, self.arena.len() as u32)));
        self.items.push(Item { line, outcome });
    }

    fn note_other(&mut self, name: &str) {
        if self.others_seen.len() < OTHERS_KEPT && !self.others_seen.iter().any(|n| n == name) {
            self.others_seen.push(name.to_string());
        }
    }
}

/// The compact form of an event of the experiment.
fn compact<S: AsRef<str>>(
    event: &EventRef<'_, S>,
    fields: &ExperimentFields<'_>,
    variant: (u32, u32),
) -> ArmEvent {
    let chars = |s: &str| s.chars().count() as u32;
    ArmEvent {
        ts: event.ts,
        kind: event.kind,
        variant,
        user: xxh3_64(event.user.as_bytes()),
        session: fields.session.map(|s| xxh3_64(s.as_bytes())),
        response: fields.response_id.map(|s| xxh3_64(s.as_bytes())),
        position: event.position.unwrap_or(0),
        text_chars: event.text.map_or(0, chars),
        q_chars: event.q.map(chars),
        empty_list: event.suggestions.is_some_and(|s| s.is_empty()),
        error: fields.error.is_some(),
        took_us: fields.took_us,
    }
}

/// Decodes one NDJSON line (on the reader thread).
fn decode_line(batch: &mut ReportBatch, line: u64, text: &str, experiment: &str) {
    let raw = match RawExperimentEvent::parse(text) {
        Ok(raw) => raw,
        Err(why) => return batch.push_bad(line, why),
    };
    match raw.view().and_then(|view| view.validate().map(|()| view)) {
        Ok(view) => batch.push_event(line, &view, &raw.experiment_fields(), experiment),
        Err(why) => batch.push_bad(line, why),
    }
}

/// Reads one input, handing every batch of it to `on_batch`: NDJSON through the reader
/// thread, Parquet rows gathered into batches of the same form on this thread.
pub fn read_input(
    source: &Source,
    experiment: &str,
    on_batch: &mut dyn FnMut(&mut ReportBatch) -> Result<(), SignalsError>,
) -> Result<(), SignalsError> {
    if !source.is_parquet() {
        let decode =
            |b: &mut ReportBatch, line: u64, text: &str| decode_line(b, line, text, experiment);
        // Tallying is light: the applying thread decodes every other batch too.
        return read_ndjson_batches(source, Decoding::Shared, decode, on_batch).map(|_| ());
    }
    let mut batch = ReportBatch::default();
    read_parquet(source, &mut |row, event| {
        match event {
            Ok(e) => batch.push_event(row, &e.view(), &e.experiment_fields(), experiment),
            Err(why) => batch.push_bad(row, why),
        }
        if batch.is_full() {
            on_batch(&mut batch)?;
            batch.clear();
        }
        Ok(())
    })?;
    on_batch(&mut batch)
}
