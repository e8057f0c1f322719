//! Typo tolerance, word starts, categories, payloads and exact-first on the real data of
//! `../shared/data/`, each checked against the brute-force oracle of `common` (which computes
//! Damerau–Levenshtein prefix distances, scans word starts and filters categories) for ≥ 1,000
//! queries per file and setting. Skips, saying so, when the data is absent.

mod common;

use common::{read_tsv, shared_data_dir, Ask, ExpectedMatch, Oracle, Rng};
use edgesuggest::{BuildOptions, Fuzziness, Searcher, Segment, SegmentBuilder, SuggestOptions};

const FILES: [&str; 3] = ["npm.tsv", "cities.tsv", "wordfreq-multilang.tsv"];

/// Categories derived from the real rows so that filters have real-looking distributions:
/// an order of magnitude of the score, the script class of the first character, and for a
/// third of the rows a second class by the phrase's length.
fn categories_of(phrase: &str, score: u64) -> Vec<String> {
    let magnitude = format!("m{}", score.checked_ilog10().unwrap_or(0));
    let first = phrase.chars().next().unwrap_or(' ');
    let script = match first {
        c if c.is_ascii_alphabetic() => "latin",
        c if c.is_ascii() => "ascii-other",
        '\u{0400}'..='\u{04FF}' => "cyrillic",
        '\u{3040}'..='\u{30FF}' | '\u{4E00}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}' => "cjk",
        _ => "other",
    };
    let mut out = vec![magnitude, script.to_string()];
    if phrase.len() % 3 == 0 {
        out.push(format!("len{}", phrase.chars().count().min(12)));
    }
    out
}

struct Fixture {
    rows: Vec<(String, u64)>,
    segment: Segment<Vec<u8>>,
    oracle: Oracle,
}

fn fixture(name: &str, word_starts: bool, with_categories: bool) -> Option<Fixture> {
    let Some(dir) = shared_data_dir() else {
        eprintln!("SKIPPED {name}: ../shared/data is absent");
        return None;
    };
    let rows = read_tsv(&dir.join(name));
    let mut builder = SegmentBuilder::with_options(BuildOptions {
        word_starts,
        ..BuildOptions::default()
    });
    let mut kept = Vec::new();
    for (phrase, score) in &rows {
        let cats = if with_categories {
            categories_of(phrase, *score)
        } else {
            Vec::new()
        };
        match builder.add_row(phrase, *score, None, &cats) {
            Ok(()) => kept.push((phrase.as_str(), *score, cats)),
            Err(e) if e.is_row_error() => {}
            Err(e) => panic!("{name}: {e}"),
        }
    }
    let segment = Segment::load(builder.finish().expect("build").bytes).expect("load");
    segment.verify_deep().expect("verify_deep");
    let oracle = Oracle::with_categories(kept, word_starts);
    assert_eq!(segment.len(), oracle.len());
    Some(Fixture {
        rows,
        segment,
        oracle,
    })
}

/// A real prefix (3–8 characters of a random phrase, or of one of its later words) with 0–2
/// random typos after the first character: substitution, insertion, deletion or swap.
fn typo_query(rng: &mut Rng, rows: &[(String, u64)], later_words: bool) -> String {
    let phrase = &rows[rng.below(rows.len())].0;
    let mut words: Vec<&str> = vec![phrase.as_str()];
    if later_words {
        words.extend(phrase.match_indices(' ').map(|(i, _)| &phrase[i + 1..]));
    }
    let start = words[rng.below(words.len())];
    let mut chars: Vec<char> = start.chars().take(3 + rng.below(6)).collect();
    let alphabet: Vec<char> = phrase.chars().filter(|c| !c.is_whitespace()).collect();
    for _ in 0..rng.below(3) {
        if chars.len() < 2 || alphabet.is_empty() {
            break;
        }
        let at = 1 + rng.below(chars.len() - 1);
        let pick = alphabet[rng.below(alphabet.len())];
        match rng.below(4) {
            0 => chars[at] = pick,
            1 => chars.insert(at, pick),
            2 => {
                chars.remove(at);
            }
            _ if at + 1 < chars.len() => chars.swap(at, at + 1),
            _ => chars[at] = 'q',
        }
    }
    chars.into_iter().collect()
}

fn engine(
    searcher: &mut Searcher,
    segment: &Segment<Vec<u8>>,
    query: &str,
    options: &SuggestOptions,
) -> (Vec<ExpectedMatch>, bool) {
    let found = searcher.search(segment, query, options).expect("search");
    let items = found
        .items
        .iter()
        .map(|s| ExpectedMatch {
            key: s.key.to_string(),
            text: s.text.to_string(),
            score: s.score,
            edits: s.edits,
            word_start: s.word_start,
            start: s.matched.0 as usize,
        })
        .collect();
    (items, found.truncated)
}

fn options_for(ask: &Ask) -> SuggestOptions {
    SuggestOptions {
        k: ask.k,
        fuzzy: match ask.fuzzy {
            None => Fuzziness::Auto,
            Some(0) => Fuzziness::Off,
            Some(n) => Fuzziness::Edits(n),
        },
        prefix_length: ask.prefix_length,
        exact_first: ask.exact_first,
        categories: ask.categories.clone(),
        ..SuggestOptions::default()
    }
}

fn check(
    fx: &Fixture,
    name: &str,
    label: &str,
    queries: usize,
    mut ask_for: impl FnMut(&mut Rng, usize) -> (String, Ask),
) {
    let mut rng = Rng(0x5EED ^ name.len() as u64 ^ label.len() as u64);
    let mut searcher = Searcher::new();
    let (mut non_empty, mut fuzzy_hits, mut word_hits, mut truncations) = (0, 0, 0, 0);
    for i in 0..queries {
        let (query, ask) = ask_for(&mut rng, i);
        let want = fx.oracle.search(&query, &ask);
        let (got, truncated) = engine(&mut searcher, &fx.segment, &query, &options_for(&ask));
        if truncated && ask.categories.len() <= 1 {
            // Rare (2 edits from the first character on huge alphabets): what was found is
            // the start of the answer.
            truncations += 1;
            assert_eq!(
                got[..],
                want[..got.len()],
                "{name} {label}: truncated {query:?}"
            );
        } else {
            assert!(
                !truncated,
                "{name} {label}: {query:?} hit the default budget"
            );
            assert_eq!(got, want, "{name} {label}: query {query:?} {ask:?}");
        }
        non_empty += usize::from(!want.is_empty());
        fuzzy_hits += want.iter().filter(|m| m.edits > 0).count();
        word_hits += want.iter().filter(|m| m.word_start).count();
    }
    assert!(
        non_empty * 3 > queries,
        "{name} {label}: only {non_empty} queries matched"
    );
    assert!(
        truncations * 100 <= queries,
        "{name} {label}: {truncations} truncated"
    );
    eprintln!(
        "{name} {label}: {queries} queries match the oracle ({non_empty} non-empty, \
         {fuzzy_hits} fuzzy results, {word_hits} word-start results, {truncations} truncated \
         by the default budget)"
    );
}

#[test]
fn fuzzy_matches_oracle() {
    for name in FILES {
        let Some(fx) = fixture(name, false, false) else {
            return;
        };
        let rows = fx.rows.clone();
        check(&fx, name, "fuzzy", 1_200, |rng, i| {
            let query = typo_query(rng, &rows, false);
            let mut ask = Ask::k([10, 10, 3, 25][i % 4]);
            ask.fuzzy = [None, Some(1), Some(2), None][i % 4];
            ask.prefix_length = [1, 1, 0, 2, 1][i % 5];
            ask.exact_first = i % 7 != 0;
            (query, ask)
        });
    }
}

#[test]
fn word_starts_match_oracle() {
    for name in FILES {
        let Some(fx) = fixture(name, true, false) else {
            return;
        };
        let rows = fx.rows.clone();
        check(&fx, name, "word starts", 1_200, |rng, i| {
            let query = typo_query(rng, &rows, true);
            let mut ask = Ask::k(10);
            ask.fuzzy = [Some(0), Some(0), None, Some(1)][i % 4];
            (query, ask)
        });
    }
}

#[test]
fn categories_match_oracle() {
    for name in FILES {
        let Some(fx) = fixture(name, name == "cities.tsv", true) else {
            return;
        };
        let rows = fx.rows.clone();
        // The categories the data really has, plus one it does not.
        let mut pick: Vec<String> = fx
            .segment
            .categories()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert!(pick.len() >= 5, "{name}: categories {pick:?}");
        pick.push("nope".into());
        check(&fx, name, "categories", 1_200, |rng, i| {
            let query = if i % 3 == 0 {
                // Short prefixes: where a filter must not scan every match.
                rows[rng.below(rows.len())]
                    .0
                    .chars()
                    .take(1 + i % 2)
                    .collect()
            } else {
                typo_query(rng, &rows, true)
            };
            let mut ask = Ask::k(10);
            ask.fuzzy = [Some(0), None, Some(0)][i % 3];
            let n = 1 + rng.below(3);
            ask.categories = (0..n)
                .map(|_| pick[rng.below(pick.len())].clone())
                .collect();
            (query, ask)
        });
    }
}

#[test]
fn budget_truncates_to_the_best_found() {
    let Some(fx) = fixture("cities.tsv", true, false) else {
        return;
    };
    let mut rng = Rng(42);
    let mut searcher = Searcher::new();
    let (mut truncated_count, mut checked) = (0, 0);
    for i in 0..1_000 {
        let query = typo_query(&mut rng, &fx.rows, true);
        let mut ask = Ask::k(10);
        ask.fuzzy = Some(2);
        let want = fx.oracle.search(&query, &ask);
        let mut options = options_for(&ask);
        options.max_visits = 20 + i % 200;
        let (got, truncated) = engine(&mut searcher, &fx.segment, &query, &options);
        if truncated {
            truncated_count += 1;
            // One FST: what was found before the budget ran out is the start of the answer.
            assert!(got.len() <= want.len(), "{query:?}");
            assert_eq!(
                got[..],
                want[..got.len()],
                "{query:?} budget {}",
                options.max_visits
            );
        } else {
            assert_eq!(got, want, "{query:?}");
        }
        checked += 1;
    }
    assert!(
        truncated_count > 100,
        "budget path barely exercised: {truncated_count}/{checked}"
    );
    eprintln!(
        "budget: {truncated_count} of {checked} queries truncated, all prefixes of the answer"
    );
}

#[test]
fn payloads_follow_the_display_row() {
    let Some(dir) = shared_data_dir() else {
        eprintln!("SKIPPED payloads: ../shared/data is absent");
        return;
    };
    let rows = read_tsv(&dir.join("cities.tsv"));
    let mut builder = SegmentBuilder::new();
    let mut by_key: std::collections::HashMap<String, (u64, String)> = Default::default();
    for (i, (phrase, score)) in rows.iter().enumerate() {
        let payload = format!(r#"{{"id":{i},"url":"https://example.org/{}"}}"#, i * 7);
        builder
            .add_with_payload(phrase, *score, Some(&payload))
            .unwrap();
        let key = edgesuggest::normalize_phrase(phrase);
        let e = by_key.entry(key).or_insert((0, String::new()));
        if e.1.is_empty() || *score > e.0 {
            *e = (*score, payload);
        }
    }
    let segment = Segment::load(builder.finish().unwrap().bytes).unwrap();
    let mut searcher = Searcher::new();
    let mut rng = Rng(7);
    for _ in 0..1_000 {
        let q: String = rows[rng.below(rows.len())].0.chars().take(3).collect();
        for s in searcher
            .search(&segment, &q, &SuggestOptions::default())
            .unwrap()
            .items
        {
            let want = &by_key[s.key].1;
            assert_eq!(s.payload, Some(want.as_str()), "{q:?} {}", s.key);
        }
    }
}

/// Small, self-contained cases that run without `../shared`: the README's own examples ("york"
/// finds "New York", "ang" finds "Los Angeles", exact phrase first).
mod examples {
    use edgesuggest::{BuildOptions, Fuzziness, Segment, SegmentBuilder, SuggestOptions};

    fn segment(word_starts: bool) -> Segment<Vec<u8>> {
        let mut b = SegmentBuilder::with_options(BuildOptions {
            word_starts,
            ..BuildOptions::default()
        });
        for (p, s, cats) in [
            ("New York", 8_804_190, &["city"][..]),
            ("York", 200_000, &["city"]),
            ("Yorkshire", 5_000_000, &["region"]),
            ("Los Angeles", 3_898_747, &["city"]),
            ("Angers", 150_000, &["city"]),
            ("New York New York", 10, &["song"]),
            ("Paris", 2_100_000, &["city", "capital"]),
            ("Paris Hilton", 9_000_000, &["person"]),
        ] {
            b.add_row(p, s, None, cats).unwrap();
        }
        Segment::load(b.finish().unwrap().bytes).unwrap()
    }

    fn texts(segment: &Segment<Vec<u8>>, q: &str, options: &SuggestOptions) -> Vec<String> {
        segment
            .search(q, options)
            .unwrap()
            .items
            .into_iter()
            .map(|s| s.text)
            .collect()
    }

    #[test]
    fn word_starts_rank_after_full_matches_and_appear_once() {
        let s = segment(true);
        let o = SuggestOptions::default();
        assert_eq!(
            texts(&s, "york", &o),
            ["York", "Yorkshire", "New York", "New York New York"]
        );
        assert_eq!(texts(&s, "ang", &o), ["Angers", "Los Angeles"]);
        // Without word starts, only phrase prefixes match.
        assert_eq!(texts(&segment(false), "york", &o), ["York", "Yorkshire"]);
    }

    #[test]
    fn highlight_marks_the_matched_word() {
        let s = segment(true);
        let mut searcher = edgesuggest::Searcher::new();
        let found = searcher
            .search(&s, "ANG", &SuggestOptions::default())
            .unwrap();
        let la = found
            .items
            .iter()
            .find(|x| x.text == "Los Angeles")
            .unwrap();
        assert!(la.word_start);
        assert_eq!(&la.text[la.highlight()], "Ang");
        let fuzzy = SuggestOptions {
            fuzzy: Fuzziness::Edits(1),
            ..SuggestOptions::default()
        };
        let found = searcher.search(&s, "yrok", &fuzzy).unwrap();
        let ny = found.items.iter().find(|x| x.text == "New York").unwrap();
        assert_eq!((ny.edits, &ny.text[ny.highlight()]), (1, "York"));
    }

    #[test]
    fn exact_phrase_comes_first_unless_turned_off() {
        let s = segment(false);
        let on = SuggestOptions::default();
        assert_eq!(texts(&s, "paris", &on), ["Paris", "Paris Hilton"]);
        let off = SuggestOptions {
            exact_first: false,
            ..SuggestOptions::default()
        };
        assert_eq!(texts(&s, "paris", &off), ["Paris Hilton", "Paris"]);
        // "paris " asks for another word: the phrase "Paris" is not it.
        assert_eq!(texts(&s, "paris ", &on), ["Paris Hilton"]);
    }

    #[test]
    fn fuzzy_ranks_exact_prefixes_first_then_fewer_edits() {
        let s = segment(false);
        let auto = SuggestOptions {
            fuzzy: Fuzziness::Auto,
            ..SuggestOptions::default()
        };
        // "pari" is an exact prefix of both Paris phrases; "parix" is one edit from them.
        assert_eq!(texts(&s, "pari", &auto), ["Paris Hilton", "Paris"]);
        let found = s.search("parsi", &auto).unwrap().items;
        assert_eq!(found.iter().map(|x| x.edits).collect::<Vec<_>>(), [1, 1]);
        // Under 3 characters auto allows no edit; the first character must match.
        assert!(texts(&s, "px", &auto).is_empty());
        assert!(texts(&s, "oaris", &auto).is_empty());
        let no_prefix = SuggestOptions {
            prefix_length: 0,
            ..auto
        };
        assert_eq!(texts(&s, "oaris", &no_prefix), ["Paris Hilton", "Paris"]);
    }

    #[test]
    fn categories_filter_and_are_returned() {
        let s = segment(true);
        let only = |c: &[&str]| SuggestOptions {
            categories: c.iter().map(|c| c.to_string()).collect(),
            ..SuggestOptions::default()
        };
        assert_eq!(texts(&s, "p", &only(&["capital"])), ["Paris"]);
        assert_eq!(
            texts(&s, "p", &only(&["person", "capital"])),
            ["Paris Hilton", "Paris"]
        );
        assert_eq!(
            texts(&s, "york", &only(&["song", "region"])),
            ["Yorkshire", "New York New York"]
        );
        assert!(texts(&s, "p", &only(&["unknown"])).is_empty());
        let hits = s.search("paris", &only(&["city"])).unwrap().items;
        assert_eq!(hits[0].categories.as_deref(), Some("capital,city"));
        assert_eq!(
            s.categories().unwrap(),
            ["capital", "city", "person", "region", "song"]
        );
    }

    #[test]
    fn bad_categories_are_refused_with_the_reason() {
        let mut b = SegmentBuilder::new();
        for bad in ["", "a,b", "a b", "x\u{7}", &"c".repeat(65)] {
            let err = b.add_row("x", 1, None, &[bad]).unwrap_err();
            assert!(err.is_row_error(), "{bad:?}");
            assert!(err.to_string().contains("category"), "{err}");
        }
        assert_eq!(b.rows(), 0, "refused rows leave nothing behind");
        let too_many: Vec<String> = (0..33).map(|i| format!("c{i}")).collect();
        assert!(b.add_row("x", 1, None, &too_many).is_err());
    }
}

/// The top lists' budget leaves the category sections out: the lists describe the main FST,
/// which filtered queries never walk. The bundled cities (payloads, one to three categories a
/// row) built with and without their categories, under a budget small enough to bind, get
/// the same lists, within the budget of the segment without them and without the category
/// sections, and the same unfiltered answers. The categories' own lists keep within the same
/// share of the categories' FSTs.
#[test]
fn top_lists_budget_leaves_the_category_sections_out() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/cities-10k.tsv");
    let text = std::fs::read_to_string(&path).expect("the bundled cities");
    const PERCENT: u64 = 2;
    let build = |with_categories: bool, budget_percent: u32| {
        let mut builder = SegmentBuilder::with_options(BuildOptions {
            top_lists: edgesuggest::TopListOptions {
                budget_percent,
                category_percent: budget_percent,
                ..Default::default()
            },
            ..BuildOptions::default()
        });
        for line in text.lines() {
            let mut fields = line.split('\t');
            let (phrase, score) = (fields.next().unwrap(), fields.next().unwrap());
            let payload = fields.next().unwrap();
            let categories: Vec<&str> = match with_categories {
                true => fields.next().unwrap().split(',').collect(),
                false => Vec::new(),
            };
            builder
                .add_row(phrase, score.parse().unwrap(), Some(payload), &categories)
                .unwrap();
        }
        Segment::load(builder.finish().unwrap().bytes).unwrap()
    };
    let (with, without) = (build(true, PERCENT as u32), build(false, PERCENT as u32));
    let size = |segment: &Segment<Vec<u8>>, name: &str| {
        let sections = segment.info().sections;
        sections.iter().find(|(n, _)| *n == name).map_or(0, |s| s.1)
    };
    let categories = [
        "categories",
        "category ids",
        "rank categories",
        "category top lists",
    ]
    .map(|name| size(&with, name))
    .iter()
    .sum::<u64>();
    assert!(categories > 0, "the categories are written");
    let lists = size(&with, "top lists");
    assert!(lists > 0, "the bundled cities get top lists");
    let unbounded = size(&build(true, 100), "top lists");
    assert!(
        lists < unbounded,
        "the budget binds: {lists} of {unbounded} bytes"
    );
    assert_eq!(lists, size(&without, "top lists"));
    let rest = with.as_bytes().len() as u64 - lists - categories;
    assert!(
        lists * 100 <= rest * PERCENT,
        "{lists} bytes of lists for {rest} other bytes"
    );
    let category_lists = size(&with, "category top lists");
    let category_fsts: u64 = with.info().categories.iter().map(|c| c.1).sum();
    assert!(category_lists > 0, "the categories get lists of their own");
    assert!(
        category_lists * 100 <= category_fsts * PERCENT,
        "{category_lists} bytes of lists for {category_fsts} bytes of category FSTs"
    );
    let unbounded = size(&build(true, 100), "category top lists");
    assert!(
        category_lists < unbounded,
        "{category_lists} of {unbounded}"
    );
    let mut searcher = Searcher::new();
    for query in ["s", "sa", "new", "san ", "ber", "lo", "m"] {
        let answer = |segment: &Segment<Vec<u8>>, searcher: &mut Searcher| {
            let found = searcher
                .search(segment, query, &SuggestOptions::default())
                .unwrap();
            let items = found.items.iter();
            items
                .map(|s| (s.text.to_string(), s.score))
                .collect::<Vec<_>>()
        };
        let a = answer(&with, &mut searcher);
        assert_eq!(a.len(), 10, "{query}");
        assert_eq!(a, answer(&without, &mut searcher), "{query}");
    }
}
