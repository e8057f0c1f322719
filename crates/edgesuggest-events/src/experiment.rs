//! An A/B experiment (`docs/EXPERIMENTS.md`): named arms, each an index and query options,
//! with weights; and the sticky assignment of a user to an arm.
//!
//! Assignment is weighted rendezvous hashing: every arm scores `weight / -ln(u)`, where `u` is
//! a uniform number in (0, 1) hashed from (user key, experiment id, arm name), and the highest
//! score wins. A user's arm depends only on those three strings and the weights, so it is the
//! same on every request and every isolate; each arm receives its share of the weights; and a
//! change of weights moves only users that must move: raising one arm's weight moves users
//! into it and out of no other, removing an arm moves only its own users.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use xxhash_rust::xxh64::Xxh64;

/// Most arms an experiment may have.
pub const MAX_ARMS: usize = 16;
/// Longest experiment id or arm name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// The shape of a configuration, for error messages.
const SHAPE: &str =
    r#"{"experiment": ID, "arms": [{"name", "index", "options"?, "weight", "holdout"?}]}"#;
/// The query options an arm may set: the suggest parameters that change an answer.
pub const ARM_OPTIONS: [&str; 5] = ["k", "fuzzy", "prefix_length", "exact_first", "cat"];

/// An experiment: its id and arms, as published (`{"experiment": ID, "arms": [...]}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// The experiment id, logged with every answer and event it touches.
    pub experiment: String,
    /// The arms, in order; the first is the control unless a report names another.
    pub arms: Vec<Arm>,
}

/// One arm of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arm {
    /// The arm's name: the `variant` of its answers and events.
    pub name: String,
    /// The index its users are served from (required unless `holdout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// Suggest parameters applied to its users' requests, overriding theirs (see
    /// [`ARM_OPTIONS`]).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub options: Map<String, Value>,
    /// The arm's share of users, relative to the other weights (≥ 0).
    pub weight: f64,
    /// A holdout arm: its users are shown no suggestions (and their events say so).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub holdout: bool,
}

impl Experiment {
    /// Parses and checks a published experiment. The error says what is wrong and how to fix
    /// it.
    pub fn parse(json: &str) -> Result<Experiment, String> {
        let experiment: Experiment = serde_json::from_str(json)
            .map_err(|e| format!("not an experiment ({e}); expected {SHAPE}"))?;
        experiment.check()?;
        Ok(experiment)
    }

    /// The rules of `docs/EXPERIMENTS.md`: names, at least one arm with weight, indexes, options.
    pub fn check(&self) -> Result<(), String> {
        check_name("experiment id", &self.experiment)?;
        if self.arms.is_empty() || self.arms.len() > MAX_ARMS {
            return Err(format!(
                "experiment {:?} has {} arms: give 1 to {MAX_ARMS}",
                self.experiment,
                self.arms.len()
            ));
        }
        for (i, arm) in self.arms.iter().enumerate() {
            arm.check()?;
            if self.arms[..i].iter().any(|a| a.name == arm.name) {
                return Err(format!("arm name {:?} is used twice", arm.name));
            }
        }
        if self.arms.iter().all(|a| a.weight == 0.0) {
            return Err("every arm has weight 0: give at least one a positive weight".into());
        }
        Ok(())
    }

    /// The arm `user_key` is in: the same for the same key, experiment and weights.
    pub fn assign(&self, user_key: &str) -> &Arm {
        let mut best = &self.arms[0];
        let mut best_score = f64::NEG_INFINITY;
        for arm in &self.arms {
            let score = arm.score(user_key, &self.experiment);
            if score > best_score {
                best = arm;
                best_score = score;
            }
        }
        best
    }

    /// The arm called `name`.
    pub fn arm(&self, name: &str) -> Option<&Arm> {
        self.arms.iter().find(|a| a.name == name)
    }
}

impl Arm {
    fn check(&self) -> Result<(), String> {
        check_name("arm name", &self.name)?;
        if !(self.weight.is_finite() && self.weight >= 0.0) {
            return Err(format!(
                "arm {:?} has weight {}: give a finite number ≥ 0",
                self.name, self.weight
            ));
        }
        if self.index.is_none() && !self.holdout {
            return Err(format!(
                "arm {:?} names no \"index\": give the index its users are served from, or \
                 \"holdout\": true for an arm shown no suggestions",
                self.name
            ));
        }
        self.option_pairs().map(|_| ())
    }

    /// The arm's options as (parameter, value) pairs, for the suggest parameter parser, which
    /// checks each value as it checks a request's.
    pub fn option_pairs(&self) -> Result<Vec<(String, String)>, String> {
        let mut pairs = Vec::with_capacity(self.options.len());
        for (name, value) in &self.options {
            if !ARM_OPTIONS.contains(&name.as_str()) {
                return Err(format!(
                    "arm {:?}: unknown option {name:?}; an arm may set {}",
                    self.name,
                    ARM_OPTIONS.join(", ")
                ));
            }
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(format!(
                    "arm {:?}: option {name:?} must be a string, number or boolean, not {value}",
                    self.name
                ))
                }
            };
            pairs.push((name.clone(), text));
        }
        Ok(pairs)
    }

    /// This arm's rendezvous score for `user_key`: `weight / -ln(u)`, `u` uniform in (0, 1).
    fn score(&self, user_key: &str, experiment: &str) -> f64 {
        if self.weight <= 0.0 {
            return f64::NEG_INFINITY;
        }
        let mut h = Xxh64::new(0);
        // Lengths first: ("ab", "c") and ("a", "bc") must hash apart.
        for part in [user_key, experiment, self.name.as_str()] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        // The top 53 bits, centred in their interval: strictly inside (0, 1).
        let u = ((h.digest() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        self.weight / -u.ln()
    }
}

/// An id or name: 1–64 bytes of `A-Z a-z 0-9 . _ -` (safe in paths, headers and logs).
fn check_name(what: &str, name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.len() > MAX_NAME_BYTES || !name.chars().all(ok_char) {
        return Err(format!(
            "{what} {name:?} is not 1–{MAX_NAME_BYTES} characters of A-Z, a-z, 0-9, '.', '_', '-'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_arms(a: f64, b: f64) -> Experiment {
        Experiment::parse(&format!(
            r#"{{"experiment":"ctr-1","arms":[{{"name":"A","index":"cities","weight":{a}}},
                {{"name":"B","index":"cities-ctr","options":{{"fuzzy":"auto"}},"weight":{b}}}]}}"#
        ))
        .unwrap()
    }

    fn users(n: usize) -> impl Iterator<Item = String> {
        (0..n).map(|i| format!("user-{i}"))
    }

    #[test]
    fn assignment_is_sticky_and_splits_by_weight() {
        let e = two_arms(50.0, 50.0);
        let in_a = users(20_000).filter(|u| e.assign(u).name == "A").count();
        let share = in_a as f64 / 20_000.0;
        assert!((share - 0.5).abs() < 0.01, "share of A {share}");
        for u in users(100) {
            assert_eq!(e.assign(&u).name, e.clone().assign(&u).name);
        }
    }

    #[test]
    fn a_ramp_moves_only_users_that_must_move() {
        let (before, after) = (two_arms(50.0, 50.0), two_arms(20.0, 80.0));
        let mut moved = 0;
        for u in users(20_000) {
            let (was, now) = (&before.assign(&u).name, &after.assign(&u).name);
            assert!(!(was == "B" && now == "A"), "{u} moved from B to A");
            moved += usize::from(was != now);
        }
        // 30% must move from A to B; no more than that, up to sampling noise.
        let share = moved as f64 / 20_000.0;
        assert!((share - 0.3).abs() < 0.01, "moved {share}");
    }

    #[test]
    fn removing_an_arm_moves_only_its_users() {
        let three = Experiment::parse(
            r#"{"experiment":"x","arms":[{"name":"A","index":"i","weight":1},
               {"name":"B","index":"i","weight":1},{"name":"C","holdout":true,"weight":1}]}"#,
        )
        .unwrap();
        let mut two = three.clone();
        two.arms.pop();
        for u in users(5_000) {
            let was = &three.assign(&u).name;
            if was != "C" {
                assert_eq!(was, &two.assign(&u).name, "{u}");
            }
        }
    }

    #[test]
    fn bad_experiments_say_why() {
        let err = |json: &str| Experiment::parse(json).unwrap_err();
        assert!(err(r#"{"experiment":"x","arms":[]}"#).contains("1 to 16"));
        assert!(err(r#"{"experiment":"a b","arms":[]}"#).contains("experiment id"));
        assert!(err(r#"{"experiment":"x","arms":[{"name":"A","weight":1}]}"#).contains("holdout"));
        assert!(
            err(r#"{"experiment":"x","arms":[{"name":"A","index":"i","weight":-1}]}"#)
                .contains("weight")
        );
        assert!(
            err(r#"{"experiment":"x","arms":[{"name":"A","index":"i","weight":0}]}"#)
                .contains("positive")
        );
        assert!(err(
            r#"{"experiment":"x","arms":[{"name":"A","index":"i","weight":1},{"name":"A","index":"i","weight":1}]}"#
        )
        .contains("twice"));
        assert!(err(
            r#"{"experiment":"x","arms":[{"name":"A","index":"i","weight":1,"options":{"q":"x"}}]}"#
        )
        .contains("unknown option"));
        assert!(err(r#"{"experiment":"x","arms":[],"extra":1}"#).contains("unknown field"));
    }
}
