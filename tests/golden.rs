//! The golden segments: today's builder must still write those of formats v1, v3 (a
//! blocklist), v6 (categories, in a base and a delta) and v7 (category top lists) byte for
//! byte when it stores every display form (`display_titles: false`), and v8 (display forms
//! marked as titles) by default; today's reader must still answer from all of them. The older golden segments of layouts builders no longer
//! write (v2's and v3's categories by rank, v4's top lists) must answer as the segments built
//! from the same rows today. A change that breaks this changes the format and needs a new
//! format version (see docs/FORMAT.md).

mod common;

use edgesuggest::{BuildOptions, Segment, SegmentBuilder, SuggestOptions};

const GOLDEN_TSV: &str = include_str!("golden/v1.tsv");
const GOLDEN_SEG: &[u8] = include_bytes!("golden/v1.seg");

/// The format version in a segment's header.
fn version(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(bytes[8..12].try_into().unwrap())
}

/// Checks that the builder wrote `golden`, the bytes of the file at `path`, byte for byte; with
/// `EDGESUGGEST_WRITE_GOLDEN` set, rewrites that file instead (after a deliberate format change).
fn assert_golden(built: &[u8], golden: &[u8], path: &str) {
    if std::env::var_os("EDGESUGGEST_WRITE_GOLDEN").is_some() {
        std::fs::write(path, built).unwrap();
        return;
    }
    assert!(
        built == golden,
        "builder output differs from {path}: a format change"
    );
}

/// Checks that `built` holds the sections of `golden`, written before the `category ids`
/// section's blocks could be wider than 64 ranks (format v10), byte for byte but that one,
/// which `built` packs in wider blocks and fewer bytes.
fn same_but_category_ids(built: &[u8], golden: &[u8]) {
    use edgesuggest::format::SectionKind;
    let (built, golden) = (
        edgesuggest::Segment::load(built).unwrap(),
        edgesuggest::Segment::load(golden).unwrap(),
    );
    let sections = |s: &edgesuggest::Segment<&[u8]>| {
        let bytes = s.as_bytes();
        s.header()
            .sections
            .iter()
            .map(|r| (r.kind, bytes[r.offset..r.offset + r.len].to_vec()))
            .collect::<Vec<_>>()
    };
    let (new, old) = (sections(&built), sections(&golden));
    assert_eq!(new.len(), old.len());
    for ((kind, new), (old_kind, old)) in new.into_iter().zip(old) {
        assert_eq!(kind, old_kind);
        if kind != SectionKind::CategoryIds {
            assert!(new == old, "section {} differs", kind.name());
            continue;
        }
        let block = u32::from_le_bytes(new[..4].try_into().unwrap());
        assert!(block > 64 && block.is_power_of_two(), "block size {block}");
        assert!(
            new.len() < old.len(),
            "{} >= {} bytes",
            new.len(),
            old.len()
        );
    }
}

fn rows() -> Vec<(&'static str, u64, Option<&'static str>)> {
    GOLDEN_TSV
        .lines()
        .map(|line| {
            let mut f = line.split('\t');
            let phrase = f.next().unwrap();
            let score = f.next().unwrap().parse().unwrap();
            (phrase, score, f.next())
        })
        .collect()
}

/// The v1 rows built as format v1 is written: every display form stored.
fn build_v1() -> Vec<u8> {
    let mut b = SegmentBuilder::with_options(BuildOptions {
        display_titles: false,
        ..BuildOptions::default()
    });
    for (phrase, score, payload) in rows() {
        b.add_with_payload(phrase, score, payload).unwrap();
    }
    b.finish().unwrap().bytes
}

#[test]
fn builder_writes_the_golden_bytes() {
    let bytes = build_v1();
    assert!(
        bytes == GOLDEN_SEG,
        "builder output differs from tests/golden/v1.seg"
    );
}

#[test]
fn reader_answers_from_the_golden_bytes() {
    let segment = Segment::load(GOLDEN_SEG).unwrap();
    segment.verify_deep().unwrap();
    let oracle = common::Oracle::new(rows().into_iter().map(|(p, s, _)| (p, s)));
    for q in [
        "", "n", "new", "new ", "NEW Y", "sa", "sao", "z", "東", "мос", "fi", "l", "x",
    ] {
        let got: Vec<(String, u64)> = segment
            .search(q, &SuggestOptions::with_k(20))
            .unwrap()
            .items
            .into_iter()
            .map(|s| (s.text, s.score))
            .collect();
        let want: Vec<(String, u64)> = oracle
            .suggest(q, 20)
            .into_iter()
            .map(|e| (e.text, e.score))
            .collect();
        assert_eq!(got, want, "query {q:?}");
    }
    let ny = &segment
        .search("new york", &SuggestOptions::with_k(1))
        .unwrap()
        .items[0];
    assert_eq!(ny.text, "New York");
    assert_eq!(ny.score, 8_804_214);
    assert_eq!(
        ny.payload.as_deref(),
        Some(r#"{"id":"ny","url":"/city/ny"}"#)
    );
    let sp = &segment
        .search("sao", &SuggestOptions::with_k(1))
        .unwrap()
        .items[0];
    assert_eq!((sp.text.as_str(), sp.score), ("São Paulo", 12_400_100));
}

/// The golden segments of format v2 (word starts, categories and payloads, the categories as
/// names by rank) and of format v6 (the same rows, the categories as set ids), which today's
/// builder writes.
mod v2 {
    use edgesuggest::{BuildOptions, Searcher, Segment, SegmentBuilder, SuggestOptions};

    const TSV: &str = include_str!("golden/v2.tsv");
    const SEG: &[u8] = include_bytes!("golden/v2.seg");
    const SEG6: &[u8] = include_bytes!("golden/v6.seg");

    fn build() -> Vec<u8> {
        let mut b = SegmentBuilder::with_options(BuildOptions {
            word_starts: true,
            display_titles: false,
            category_cuts: false,
            ..BuildOptions::default()
        });
        for line in TSV.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            let payload = Some(f[2]).filter(|p| !p.is_empty());
            let cats: Vec<&str> = f[3].split(',').filter(|c| !c.is_empty()).collect();
            b.add_row(f[0], f[1].parse().unwrap(), payload, &cats)
                .unwrap();
        }
        b.finish().unwrap().bytes
    }

    #[test]
    fn builder_writes_the_golden_bytes() {
        let bytes = build();
        super::assert_golden(&bytes, SEG6, "tests/golden/v6.seg");
        assert_eq!((super::version(SEG), super::version(SEG6)), (2, 6));
    }

    #[test]
    fn reader_answers_from_the_golden_bytes() {
        for bytes in [SEG, SEG6] {
            let segment = Segment::load(bytes).unwrap();
            segment.verify_deep().unwrap();
            assert!(segment.word_starts());
            let york = segment
                .search("york", &SuggestOptions::default())
                .unwrap()
                .items;
            assert!(york.iter().any(|s| s.text == "New York" && s.word_start));
            let filtered = SuggestOptions {
                categories: vec!["capital".into()],
                ..SuggestOptions::default()
            };
            let capitals = segment.search("n", &filtered).unwrap().items;
            assert!(!capitals.is_empty());
            for s in &capitals {
                assert!(s
                    .categories
                    .as_deref()
                    .unwrap()
                    .split(',')
                    .any(|c| c == "capital"));
            }
        }
    }

    /// Compaction reads the categories of either layout alike: the v2 and v6 golden bases
    /// compact to the same bytes, which answer as the golden base, categories included.
    #[test]
    fn both_layouts_compact_to_a_fresh_build() {
        let compacted = [SEG, SEG6].map(|bytes| {
            let base = Segment::load(bytes).unwrap();
            let stack = edgesuggest::Stack::new(base, Vec::new(), None).unwrap();
            edgesuggest::compact(&stack).unwrap().bytes
        });
        assert!(
            compacted[0] == compacted[1],
            "the two layouts compact alike"
        );
        let (merged, golden) = (
            Segment::load(&compacted[0][..]).unwrap(),
            Segment::load(SEG6).unwrap(),
        );
        merged.verify_deep().unwrap();
        let mut searcher = Searcher::new();
        for categories in [
            vec![],
            vec!["capital".to_string()],
            vec!["city".to_string()],
        ] {
            let options = SuggestOptions {
                categories,
                ..SuggestOptions::with_k(50)
            };
            for q in ["", "n", "new", "york", "s"] {
                let got = searcher.search(&merged, q, &options).unwrap().to_owned();
                let want = searcher.search(&golden, q, &options).unwrap().to_owned();
                assert_eq!(got, want, "query {q:?}, {:?}", options.categories);
            }
        }
    }

    /// Every suggestion, filtered or not, keeps its categories, payload and display form
    /// from one layout to the other.
    #[test]
    fn categories_by_rank_answer_as_category_sets() {
        let (old, new) = (Segment::load(SEG).unwrap(), Segment::load(SEG6).unwrap());
        let mut names = old.categories().unwrap();
        assert_eq!(names, new.categories().unwrap());
        names.push("nowhere");
        let (mut searcher, mut with_categories) = (Searcher::new(), 0);
        for q in ["", "n", "new", "york", "s", "sa", "b", "東", "z"] {
            let filters = names.iter().map(|&n| vec![n.to_string()]);
            let all = std::iter::once(Vec::new())
                .chain(filters)
                .chain(std::iter::once(vec!["capital".into(), "city".into()]));
            for categories in all {
                let options = SuggestOptions {
                    categories,
                    ..SuggestOptions::with_k(50)
                };
                let got = searcher.search(&new, q, &options).unwrap().to_owned();
                let want = searcher.search(&old, q, &options).unwrap().to_owned();
                assert_eq!(got, want, "query {q:?}, {:?}", options.categories);
                with_categories += got.items.iter().filter(|s| s.categories.is_some()).count();
            }
        }
        assert!(
            with_categories > 50,
            "{with_categories} suggestions had categories"
        );
    }
}

/// The golden segments of format v3: a delta (upserts, deletes, a later change winning) and a
/// blocklist, layered over the v1 golden base; and the same delta as today's builder writes
/// it, format v6 (its categories as set ids).
mod v3 {
    use edgesuggest::{
        BlocklistBuilder, DeltaBuilder, Searcher, Segment, SegmentKind, Stack, SuggestOptions,
    };

    const CHANGES: &str = include_str!("golden/v3-delta.ndjson");
    const DELTA: &[u8] = include_bytes!("golden/v3-delta.seg");
    const DELTA6: &[u8] = include_bytes!("golden/v6-delta.seg");
    const LIST: &str = include_str!("golden/v3-blocklist.txt");
    const BLOCKLIST: &[u8] = include_bytes!("golden/v3-blocklist.seg");

    fn build_delta() -> Vec<u8> {
        let mut delta = DeltaBuilder::with_options(edgesuggest::BuildOptions {
            display_titles: false,
            category_cuts: false,
            ..edgesuggest::BuildOptions::default()
        });
        for line in CHANGES.lines() {
            let change: serde_json::Value = serde_json::from_str(line).unwrap();
            let phrase = change["phrase"].as_str().unwrap();
            if change["op"] == "delete" {
                delta.delete(phrase).unwrap();
                continue;
            }
            let payload = change.get("payload").map(|p| p.to_string());
            let cats: Vec<&str> = change["categories"]
                .as_array()
                .map(|c| c.iter().map(|v| v.as_str().unwrap()).collect())
                .unwrap_or_default();
            let score = change["score"].as_u64().unwrap();
            delta
                .upsert(phrase, score, payload.as_deref(), &cats)
                .unwrap();
        }
        delta.finish().unwrap().bytes
    }

    fn build_blocklist() -> Vec<u8> {
        let mut list = BlocklistBuilder::new();
        for line in LIST.lines() {
            list.add_line(line).unwrap();
        }
        list.finish().unwrap().bytes
    }

    #[test]
    fn builders_write_the_golden_bytes() {
        let (delta, list) = (build_delta(), build_blocklist());
        super::assert_golden(&delta, DELTA6, "tests/golden/v6-delta.seg");
        super::assert_golden(&list, BLOCKLIST, "tests/golden/v3-blocklist.seg");
        assert_eq!(
            [DELTA, BLOCKLIST, DELTA6].map(super::version),
            [3, 3, 6],
            "the delta has categories: version 6 writes them as sets"
        );
    }

    /// The base compacted with either delta gives the same bytes: compaction reads the v3
    /// delta's categories by rank as the v6 delta's sets.
    #[test]
    fn both_deltas_compact_alike() {
        let compacted = [DELTA, DELTA6].map(|delta| {
            let base = Segment::load(super::GOLDEN_SEG).unwrap();
            let stack = Stack::new(base, vec![Segment::load(delta).unwrap()], None).unwrap();
            edgesuggest::compact(&stack).unwrap().bytes
        });
        assert!(compacted[0] == compacted[1]);
        let merged = Segment::load(&compacted[0][..]).unwrap();
        merged.verify_deep().unwrap();
        let newark = merged.search("newark", &SuggestOptions::default()).unwrap();
        assert_eq!(newark.items[0].categories.as_deref(), Some("airport,city"));
    }

    #[test]
    fn reader_answers_from_the_golden_stack() {
        let answers = [DELTA, DELTA6].map(stack_answers);
        assert_eq!(answers[0], answers[1], "the v3 and v6 deltas answer alike");
        assert!(
            answers[0].iter().flatten().any(|(_, _, c)| c.is_some()),
            "the delta's categories are compared"
        );
    }

    type Answer = Vec<(String, u64, Option<String>)>;

    /// Checks the stack of the v1 base, `delta_bytes` and the blocklist, and returns its
    /// answers to a few queries, with and without a category filter.
    fn stack_answers(delta_bytes: &[u8]) -> Vec<Answer> {
        let base = Segment::load(super::GOLDEN_SEG).unwrap();
        let delta = Segment::load(delta_bytes).unwrap();
        let list = Segment::load(BLOCKLIST).unwrap();
        for segment in [&delta, &list] {
            segment.verify_deep().unwrap();
        }
        assert_eq!(
            (delta.kind(), delta.len(), delta.extra_entries()),
            (SegmentKind::Delta, 3, 2)
        );
        assert_eq!(
            (list.kind(), list.extra_entries()),
            (SegmentKind::Blocklist, 3)
        );
        let stack = Stack::new(base, vec![delta], Some(list)).unwrap();
        let mut searcher = Searcher::new();
        let texts = |searcher: &mut Searcher, q: &str| -> Vec<(String, u64)> {
            let found = searcher
                .search(&stack, q, &SuggestOptions::with_k(20))
                .unwrap();
            found
                .items
                .iter()
                .map(|s| (s.text.to_string(), s.score))
                .collect()
        };
        let new = texts(&mut searcher, "ne");
        assert_eq!(new[0], ("Newark".to_string(), 9_000_000_000));
        assert!(new.iter().any(|(t, _)| t == "Neuss"));
        assert!(
            !new.iter().any(|(t, _)| t == "New York"),
            "deleted: {new:?}"
        );
        assert!(
            texts(&mut searcher, "sao").is_empty(),
            "blocked by the prefix `sao *`"
        );
        assert!(
            texts(&mut searcher, "los a").is_empty(),
            "blocked by the phrase"
        );
        assert!(
            texts(&mut searcher, "zu").is_empty(),
            "upserted, then deleted"
        );
        assert_eq!(
            texts(&mut searcher, "東")[0],
            ("東京".to_string(), 37_400_000)
        );
        let filters = [
            vec![],
            vec!["airport".to_string()],
            vec!["city".to_string()],
        ];
        let mut answers = Vec::new();
        for q in ["", "n", "ne", "newark", "z"] {
            for categories in &filters {
                let options = SuggestOptions {
                    categories: categories.clone(),
                    ..SuggestOptions::with_k(20)
                };
                let found = searcher.search(&stack, q, &options).unwrap();
                let answer = found.items.iter().map(|s| {
                    let categories = s.categories.map(str::to_string);
                    (s.text.to_string(), s.score, categories)
                });
                answers.push(answer.collect());
            }
        }
        answers
    }
}

/// The golden segment of format v4: word starts and top lists in their first layout (fixed
/// 12-byte entries, whole keys). Builders now write the lists front-coded, as version 5; this
/// one was written by the builder of that time with `--word-starts --top-lists 100`.
mod v4 {
    use edgesuggest::format::SectionKind;
    use edgesuggest::{
        BuildOptions, Searcher, Segment, SegmentBuilder, SuggestOptions, TopListOptions,
    };

    const TSV: &str = include_str!("golden/v4.tsv");
    const SEG: &[u8] = include_bytes!("golden/v4.seg");

    fn rows() -> Vec<(&'static str, u64)> {
        TSV.lines()
            .map(|line| {
                let (phrase, score) = line.split_once('\t').unwrap();
                (phrase, score.parse().unwrap())
            })
            .collect()
    }

    fn build_v5() -> Vec<u8> {
        let mut b = SegmentBuilder::with_options(BuildOptions {
            word_starts: true,
            display_titles: false,
            top_lists: TopListOptions {
                budget_percent: 100,
                category_percent: 100,
                ..TopListOptions::default()
            },
            ..BuildOptions::default()
        });
        for (phrase, score) in rows() {
            b.add(phrase, score).unwrap();
        }
        b.finish().unwrap().bytes
    }

    #[test]
    fn reader_answers_from_the_v4_lists_as_from_the_v5_ones() {
        let old = Segment::load(SEG).unwrap();
        old.verify_deep().unwrap();
        // The deep check compares each list with a walk: an attested open keeps them too.
        let attested = Segment::open_attested(SEG).unwrap();
        attested.verify_deep().unwrap();
        let new_bytes = build_v5();
        let new = Segment::load(&new_bytes[..]).unwrap();
        new.verify_deep().unwrap();
        assert_eq!((super::version(SEG), super::version(&new_bytes)), (4, 5));
        let top = |s: &Segment<&[u8]>| s.header().section(SectionKind::Top).is_some();
        assert!(top(&old) && top(&new), "both segments hold top lists");
        let oracle = crate::common::Oracle::with_categories(
            rows().into_iter().map(|(p, s)| (p, s, Vec::new())),
            true,
        );
        let (mut searcher, mut compared) = (Searcher::new(), 0);
        for q in [
            "", "s", "sa", "san", "n", "new", "north e", "b", "bay", "york", "haven", "z",
        ] {
            for k in [1, 10, 12, 30] {
                let options = SuggestOptions::with_k(k);
                let got = searcher.search(&old, q, &options).unwrap().to_owned();
                let want = searcher.search(&new, q, &options).unwrap().to_owned();
                assert_eq!(got, want, "query {q:?}, k {k}");
                // Opened without the checks (as attested bytes are), the same lists answer.
                let unchecked = searcher.search(&attested, q, &options).unwrap().to_owned();
                assert_eq!(unchecked, want, "attested, query {q:?}, k {k}");
                let texts: Vec<&str> = got.items.iter().map(|s| s.text.as_str()).collect();
                let expected = oracle.search(q, &crate::common::Ask::k(k));
                let expected: Vec<&str> = expected.iter().map(|m| m.text.as_str()).collect();
                assert_eq!(texts, expected, "query {q:?}, k {k}");
                compared += texts.len();
            }
        }
        assert!(compared > 400, "only {compared} suggestions compared");
    }
}

/// The golden segment of format v7: the v4 rows with two derived categories each, word starts,
/// and top lists for the main FST and for each category's FST (`budget_percent` 100, so every
/// prefix with 16 entries or more gets a list).
mod v7 {
    use edgesuggest::format::SectionKind;
    use edgesuggest::{
        BuildOptions, Searcher, Segment, SegmentBuilder, SuggestOptions, TopListOptions,
    };

    const TSV: &str = include_str!("golden/v4.tsv");
    const SEG: &[u8] = include_bytes!("golden/v7.seg");
    const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/v7.seg");

    /// Phrase, score and categories: the half of the alphabet the phrase starts in, and the
    /// score's parity (two orthogonal halves, each large enough for lists of its own).
    pub(super) fn rows() -> Vec<(&'static str, u64, Vec<String>)> {
        TSV.lines()
            .map(|line| {
                let (phrase, score) = line.split_once('\t').unwrap();
                let score: u64 = score.parse().unwrap();
                let first = phrase.chars().next().unwrap().to_ascii_lowercase();
                let half = if first <= 'm' { "a-m" } else { "n-z" };
                let parity = if score % 2 == 0 { "even" } else { "odd" };
                (phrase, score, vec![half.to_string(), parity.to_string()])
            })
            .collect()
    }

    fn build(budget_percent: u32) -> Vec<u8> {
        build_with(budget_percent, true)
    }

    /// The rows built with each category's members' keys, the set numbers in blocks of 64
    /// ranks or, with `wide`, in the size that packs them smallest.
    fn build_with(budget_percent: u32, wide: bool) -> Vec<u8> {
        let mut b = SegmentBuilder::with_options(BuildOptions {
            word_starts: true,
            display_titles: false,
            category_cuts: false,
            wide_category_ids: wide,
            top_lists: TopListOptions {
                budget_percent,
                category_percent: budget_percent,
                ..TopListOptions::default()
            },
            ..BuildOptions::default()
        });
        for (phrase, score, categories) in rows() {
            b.add_row(phrase, score, None, &categories).unwrap();
        }
        b.finish().unwrap().bytes
    }

    /// With the set numbers in blocks of 64 ranks the builder writes the golden version 7
    /// segment (and, without lists, a version 6 one). By default these rows' numbers pack
    /// smaller in wider blocks: version 10, every other section the same.
    #[test]
    fn builder_writes_the_golden_bytes() {
        let narrow = build_with(100, false);
        assert_eq!(super::version(&narrow), 7);
        super::assert_golden(&narrow, SEG, PATH);
        assert_eq!(super::version(&build_with(0, false)), 6);
        let built = build(100);
        assert_eq!(super::version(&built), 10);
        super::same_but_category_ids(&built, SEG);
        assert_eq!(super::version(&build(0)), 10);
    }

    /// Every filter, nine prefixes and four `k`s: the golden segment, the same rows built
    /// without lists (every filtered query walks) and the same bytes opened as attested all
    /// answer as the brute-force oracle.
    #[test]
    fn reader_answers_from_the_category_lists_as_the_oracle() {
        let listed = Segment::load(SEG).unwrap();
        listed.verify_deep().unwrap();
        let attested = Segment::open_attested(SEG).unwrap();
        let walked_bytes = build(0);
        let walked = Segment::load(&walked_bytes[..]).unwrap();
        let has = |s: &Segment<&[u8]>, kind| s.header().section(kind).is_some();
        assert!(has(&listed, SectionKind::CategoryTop));
        assert!(!has(&walked, SectionKind::CategoryTop));
        let oracle = crate::common::Oracle::with_categories(rows(), true);
        let filters: [&[&str]; 5] = [&["a-m"], &["n-z"], &["even"], &["odd"], &["a-m", "odd"]];
        let (mut searcher, mut compared) = (Searcher::new(), 0);
        for filter in filters {
            for q in ["", "s", "sa", "san", "n", "new", "b", "north e", "haven"] {
                for k in [1, 10, 12, 30] {
                    let options = SuggestOptions {
                        categories: filter.iter().map(|c| c.to_string()).collect(),
                        ..SuggestOptions::with_k(k)
                    };
                    let got = searcher.search(&listed, q, &options).unwrap().to_owned();
                    let want = searcher.search(&walked, q, &options).unwrap().to_owned();
                    assert_eq!(got, want, "filter {filter:?}, query {q:?}, k {k}");
                    let unchecked = searcher.search(&attested, q, &options).unwrap().to_owned();
                    assert_eq!(unchecked, want, "attested, {filter:?}, {q:?}, k {k}");
                    let ask = crate::common::Ask {
                        categories: options.categories.clone(),
                        ..crate::common::Ask::k(k)
                    };
                    let texts: Vec<&str> = got.items.iter().map(|s| s.text.as_str()).collect();
                    let expected = oracle.search(q, &ask);
                    let expected: Vec<&str> = expected.iter().map(|m| m.text.as_str()).collect();
                    assert_eq!(texts, expected, "filter {filter:?}, query {q:?}, k {k}");
                    compared += texts.len();
                }
            }
        }
        assert!(compared > 1_500, "only {compared} suggestions compared");
    }

    /// Over a stack, whose delta deletes listed suggestions and adds a better one and whose
    /// blocklist hides a prefix, a filtered query refuses what the list holds but the stack
    /// hides, and walks on once the list runs out: the base with lists answers as the base
    /// without.
    #[test]
    fn stacks_over_the_category_lists_answer_as_over_the_walks() {
        use edgesuggest::{BlocklistBuilder, Stack};
        let filters = ["a-m", "n-z", "even", "odd"];
        let listed = Segment::load(SEG).unwrap();
        let mut searcher = Searcher::new();
        let delta = delta_over(&listed).finish().unwrap().bytes;
        let mut blocklist = BlocklistBuilder::new();
        blocklist.add_line("sa*").unwrap();
        let blocklist = blocklist.finish().unwrap().bytes;
        let walked_bytes = build(0);
        let stack_of = |base: &[u8]| {
            let base = Segment::load(base.to_vec()).unwrap();
            let delta = Segment::load(delta.clone()).unwrap();
            let list = Segment::load(blocklist.clone()).unwrap();
            Stack::new(base, vec![delta], Some(list)).unwrap()
        };
        let (with_lists, without) = (stack_of(SEG), stack_of(&walked_bytes));
        let mut compared = 0;
        for filter in filters {
            for q in ["", "b", "s", "n", "new", "so", "sonic", "sa", "north e"] {
                for k in [1, 10, 30] {
                    let options = SuggestOptions {
                        categories: vec![filter.to_string()],
                        ..SuggestOptions::with_k(k)
                    };
                    let got = searcher
                        .search(&with_lists, q, &options)
                        .unwrap()
                        .to_owned();
                    let want = searcher.search(&without, q, &options).unwrap().to_owned();
                    assert_eq!(got, want, "filter {filter}, query {q:?}, k {k}");
                    compared += got.items.len();
                }
            }
        }
        assert!(compared > 500, "only {compared} suggestions compared");
        let options = SuggestOptions {
            categories: vec!["odd".to_string()],
            ..SuggestOptions::with_k(10)
        };
        let top = searcher.search(&with_lists, "s", &options).unwrap();
        assert_eq!(
            top.items[0].text, "sonic sandbox",
            "the delta's upsert leads"
        );
    }

    /// A delta over `base` that deletes the top three of four filtered queries and adds a
    /// suggestion that leads one of them.
    pub(super) fn delta_over(base: &Segment<&[u8]>) -> edgesuggest::DeltaBuilder {
        let mut delta = edgesuggest::DeltaBuilder::with_options(BuildOptions {
            word_starts: true,
            ..BuildOptions::default()
        });
        let mut searcher = Searcher::new();
        for (category, prefix) in [("a-m", "b"), ("n-z", "s"), ("even", "s"), ("odd", "n")] {
            let options = SuggestOptions {
                categories: vec![category.to_string()],
                ..SuggestOptions::with_k(3)
            };
            for found in searcher.search(base, prefix, &options).unwrap().items {
                delta.delete(found.text).unwrap();
            }
        }
        delta
            .upsert("sonic sandbox", 1 << 40, None, &["n-z", "odd"])
            .unwrap();
        delta
    }

    /// The lists are what answers: within a work budget too small for the walk, a filtered
    /// query still gets all its answers from its category's list, while the same query on
    /// the segment without lists stops short.
    #[test]
    fn filtered_queries_take_their_answers_from_the_lists() {
        // Lean builds (the worker's) answer from no list.
        if cfg!(feature = "lean") {
            return;
        }
        let walked_bytes = build(0);
        let walked = Segment::load(&walked_bytes[..]).unwrap();
        let mut searcher = Searcher::new();
        for options in answered_by_lists(&Segment::load(SEG).unwrap()) {
            let slow = searcher.search(&walked, options.1, &options.0).unwrap();
            assert!(slow.truncated, "{options:?}: the walk fit in 8 visits");
        }
    }

    /// Checks that four filtered queries within 8 visits get all ten answers from `listed`'s
    /// category lists; returns them.
    pub(super) fn answered_by_lists(
        listed: &Segment<&[u8]>,
    ) -> Vec<(SuggestOptions, &'static str)> {
        let mut searcher = Searcher::new();
        let mut asked = Vec::new();
        for (category, prefix) in [("a-m", "b"), ("n-z", "n"), ("even", "s"), ("odd", "s")] {
            let options = SuggestOptions {
                categories: vec![category.to_string()],
                max_visits: 8,
                ..SuggestOptions::with_k(10)
            };
            let fast = searcher.search(listed, prefix, &options).unwrap();
            assert!(
                !fast.truncated && fast.items.len() == 10,
                "{category}: {} items, truncated {}",
                fast.items.len(),
                fast.truncated
            );
            asked.push((options, prefix));
        }
        asked
    }
}

/// The golden segment of format v8: the v1 rows built with the display forms that are their
/// key title-cased ("New York", "Sapporo") marked instead of stored. It answers exactly as the
/// v1 golden segment, which holds every form.
mod v8 {
    use edgesuggest::format::SectionKind;
    use edgesuggest::{Fuzziness, Searcher, Segment, SegmentBuilder, SuggestOptions};

    const SEG: &[u8] = include_bytes!("golden/v8.seg");
    const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/v8.seg");

    fn build() -> Vec<u8> {
        let mut b = SegmentBuilder::new();
        for (phrase, score, payload) in super::rows() {
            b.add_with_payload(phrase, score, payload).unwrap();
        }
        b.finish().unwrap().bytes
    }

    #[test]
    fn builder_writes_the_golden_bytes() {
        let built = build();
        assert_eq!(super::version(&built), 8);
        super::assert_golden(&built, SEG, PATH);
    }

    #[test]
    fn titles_replace_stored_forms_and_answer_as_v1() {
        let v1 = Segment::load(super::GOLDEN_SEG).unwrap();
        let v8 = Segment::load(SEG).unwrap();
        v8.verify_deep().unwrap();
        let section = |s: &Segment<&[u8]>, kind| s.header().section(kind).map_or(0, |r| r.len);
        assert!(section(&v8, SectionKind::DisplayTitles) > 0);
        assert!(
            section(&v8, SectionKind::Display) < section(&v1, SectionKind::Display),
            "the marked forms are no longer stored"
        );
        let (i1, i8) = (v1.info(), v8.info());
        assert_eq!(i1.display_forms, i8.display_forms);
        assert!(i8.display_titles >= 4, "{} titles", i8.display_titles);
        let mut searcher = Searcher::new();
        let mut texts = Vec::new();
        for q in [
            "", "n", "new", "new ", "NEW Y", "new yrok", "sa", "sao", "sap", "z", "東", "мос",
            "fi", "l", "x", "york",
        ] {
            for fuzzy in [Fuzziness::Off, Fuzziness::Edits(1), Fuzziness::Auto] {
                let options = SuggestOptions {
                    fuzzy,
                    ..SuggestOptions::with_k(20)
                };
                let want = searcher.search(&v1, q, &options).unwrap().to_owned();
                let got = searcher.search(&v8, q, &options).unwrap();
                let highlights: Vec<_> = got.items.iter().map(|s| s.highlight()).collect();
                let got = got.to_owned();
                assert_eq!(got, want, "query {q:?}, {fuzzy:?}");
                let want_highlights: Vec<_> = searcher
                    .search(&v1, q, &options)
                    .unwrap()
                    .items
                    .iter()
                    .map(|s| s.highlight())
                    .collect();
                assert_eq!(highlights, want_highlights, "query {q:?}");
                texts.extend(got.items.into_iter().map(|s| s.text));
            }
        }
        for title in ["New York", "Newark", "Sapporo", "New Delhi"] {
            assert!(texts.iter().any(|t| t == title), "{title} never answered");
        }
    }

    /// A delta over the v8 base changes one marked form and adds others; the stack and its
    /// compaction answer alike, and compaction keeps the marks.
    #[test]
    fn stacks_and_compaction_keep_the_marked_forms() {
        use edgesuggest::{DeltaBuilder, Stack};
        let mut delta = DeltaBuilder::new();
        delta
            .upsert("NEW YORK", 99_000_000, None, &[] as &[&str])
            .unwrap();
        delta.upsert("New Yorker", 5, None, &[] as &[&str]).unwrap();
        delta.upsert("Sao Paulo", 1, None, &[] as &[&str]).unwrap();
        delta.delete("Newark").unwrap();
        let delta = delta.finish().unwrap().bytes;
        let stack = Stack::new(
            Segment::load(SEG.to_vec()).unwrap(),
            vec![Segment::load(delta).unwrap()],
            None,
        )
        .unwrap();
        let compacted = Segment::load(edgesuggest::compact(&stack).unwrap().bytes).unwrap();
        compacted.verify_deep().unwrap();
        assert!(compacted.info().display_titles >= 3);
        let mut searcher = Searcher::new();
        for q in ["", "n", "new", "new y", "sa", "sao p", "s"] {
            let options = SuggestOptions::with_k(20);
            let want = searcher.search(&stack, q, &options).unwrap().to_owned();
            let got = searcher.search(&compacted, q, &options).unwrap().to_owned();
            let texts = |a: &edgesuggest::OwnedSuggestions| {
                a.items
                    .iter()
                    .map(|s| (s.text.clone(), s.score))
                    .collect::<Vec<_>>()
            };
            assert_eq!(texts(&got), texts(&want), "query {q:?}");
        }
        let top = searcher
            .search(&compacted, "new y", &SuggestOptions::with_k(2))
            .unwrap()
            .to_owned();
        let top: Vec<&str> = top.items.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(top, ["NEW YORK", "New Yorker"]);
    }
}

/// The golden segment of format v9: the v7 rows (two categories a row, word starts, lists)
/// with each category's cuts stored instead of its members' keys. Every filtered query, with
/// typos or without, over the segment alone or under a delta and a blocklist, answers exactly
/// as from the v7 golden segment, which holds the members' keys.
mod v9 {
    use edgesuggest::format::SectionKind;
    use edgesuggest::{
        BlocklistBuilder, BuildOptions, Fuzziness, Searcher, Segment, SegmentBuilder, Stack,
        SuggestOptions, TopListOptions,
    };

    const SEG: &[u8] = include_bytes!("golden/v9.seg");
    const V7: &[u8] = include_bytes!("golden/v7.seg");
    const V9_SETS_BY_NAME: &[u8] = include_bytes!("golden/v9-sets-by-name.seg");
    const V7_SETS_BY_NAME: &[u8] = include_bytes!("golden/v7-sets-by-name.seg");
    const V10: &[u8] = include_bytes!("golden/v10.seg");
    const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/v10.seg");
    const PATH9: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/v9.seg");

    fn build(budget_percent: u32) -> Vec<u8> {
        build_with(budget_percent, true)
    }

    /// The rows built with each category's cuts, the set numbers in blocks of 64 ranks or,
    /// with `wide`, in the size that packs them smallest.
    fn build_with(budget_percent: u32, wide: bool) -> Vec<u8> {
        let mut b = SegmentBuilder::with_options(BuildOptions {
            word_starts: true,
            display_titles: false,
            wide_category_ids: wide,
            top_lists: TopListOptions {
                budget_percent,
                category_percent: budget_percent,
                ..TopListOptions::default()
            },
            ..BuildOptions::default()
        });
        for (phrase, score, categories) in super::v7::rows() {
            b.add_row(phrase, score, None, &categories).unwrap();
        }
        b.finish().unwrap().bytes
    }

    fn section_len(segment: &Segment<&[u8]>, kind: SectionKind) -> Option<u64> {
        segment.header().section(kind).map(|s| s.len as u64)
    }

    /// The builder writes the v10 golden segment: the v9 one's sections, but the set numbers
    /// packed in wider blocks; with them in blocks of 64, the v9 one.
    #[test]
    fn builder_writes_the_golden_bytes() {
        let narrow = build_with(100, false);
        assert_eq!(super::version(&narrow), 9);
        super::assert_golden(&narrow, SEG, PATH9);
        let built = build(100);
        assert_eq!(super::version(&built), 10);
        super::assert_golden(&built, V10, PATH);
        super::same_but_category_ids(&built, SEG);
        let cuts = Segment::load(V10).unwrap();
        let keys = Segment::load(V7).unwrap();
        assert_eq!(section_len(&cuts, SectionKind::Categories), None);
        let (cut, kept) = (
            section_len(&cuts, SectionKind::CategoryCuts).unwrap(),
            section_len(&keys, SectionKind::Categories).unwrap(),
        );
        assert!(
            cut * 2 < kept,
            "cuts take {cut} bytes, members' keys {kept}"
        );
    }

    /// Every filter and option a filtered query has, on prefixes at, above and below the
    /// cuts: the same answers as the v7 segment, whose category FSTs hold every member.
    fn queries() -> Vec<(String, SuggestOptions)> {
        let filters: [&[&str]; 6] = [
            &["a-m"],
            &["n-z"],
            &["even"],
            &["odd"],
            &["a-m", "odd"],
            &["none"],
        ];
        let mut out = Vec::new();
        for filter in filters {
            for q in [
                "", "s", "sa", "san", "san f", "n", "new", "new y", "b", "north e", "haven", "yor",
                "xq",
            ] {
                for (k, fuzzy) in [(1, 0), (10, 0), (30, 0), (10, 1), (10, 2), (5, 3)] {
                    let fuzzy = match fuzzy {
                        0 => Fuzziness::Off,
                        3 => Fuzziness::Auto,
                        n => Fuzziness::Edits(n),
                    };
                    let options = SuggestOptions {
                        categories: filter.iter().map(|c| c.to_string()).collect(),
                        fuzzy,
                        ..SuggestOptions::with_k(k)
                    };
                    out.push((q.to_string(), options));
                }
            }
        }
        out
    }

    #[test]
    fn reader_answers_as_from_the_members_keys() {
        let cuts = Segment::load(SEG).unwrap();
        cuts.verify_deep().unwrap();
        let wide = Segment::load(V10).unwrap();
        wide.verify_deep().unwrap();
        let attested = Segment::open_attested(V10).unwrap();
        let unlisted_bytes = build(0);
        let unlisted = Segment::load(&unlisted_bytes[..]).unwrap();
        let keys = Segment::load(V7).unwrap();
        let mut searcher = Searcher::new();
        let mut compared = 0;
        for (q, options) in queries() {
            let want = searcher.search(&keys, &q, &options).unwrap().to_owned();
            for (name, segment) in [
                ("v9", &cuts),
                ("v10", &wide),
                ("attested", &attested),
                ("no lists", &unlisted),
            ] {
                let got = searcher.search(segment, &q, &options).unwrap().to_owned();
                assert_eq!(got, want, "{name}: {q:?} {options:?}");
            }
            compared += want.items.len();
        }
        assert!(compared > 2_000, "only {compared} suggestions compared");
    }

    /// The golden segments as builders wrote them before: each set of categories numbered in
    /// the names' byte order rather than in the order the ranks first hold it (until
    /// 2026-12-07), and the numbers in blocks of 64 ranks (format v9 and v7). Readers take
    /// the numbers as they come and the blocks as they are laid out, so they answer every
    /// filtered query as today's, categories included.
    #[test]
    fn earlier_set_numbers_answer_as_todays() {
        let mut searcher = Searcher::new();
        let earlier = [
            (V9_SETS_BY_NAME, SEG),
            (V7_SETS_BY_NAME, V7),
            (SEG, V10),
            (V7, V10),
        ];
        for (by_name, today) in earlier {
            let (by_name, today) = (
                Segment::load(by_name).unwrap(),
                Segment::load(today).unwrap(),
            );
            by_name.verify_deep().unwrap();
            let ids = |s: &Segment<&[u8]>| {
                let section = s.header().section(SectionKind::CategoryIds).unwrap();
                s.as_bytes()[section.offset..][..section.len].to_vec()
            };
            assert_ne!(ids(&by_name), ids(&today), "the numbers differ");
            let mut compared = 0;
            for (q, options) in queries() {
                let got = searcher.search(&by_name, &q, &options).unwrap().to_owned();
                let want = searcher.search(&today, &q, &options).unwrap().to_owned();
                assert_eq!(got, want, "{q:?} {options:?}");
                compared += got.items.iter().filter(|s| s.categories.is_some()).count();
            }
            assert!(compared > 2_000, "only {compared} suggestions compared");
        }
    }

    #[test]
    fn stacks_answer_as_over_the_members_keys() {
        let mut delta = super::v7::delta_over(&Segment::load(V7).unwrap());
        let mut searcher = Searcher::new();
        delta.upsert("santa fe", 7, None, &["even"]).unwrap();
        let delta = delta.finish().unwrap().bytes;
        assert_eq!(super::version(&delta), 9, "a delta stores cuts too");
        let mut blocklist = BlocklistBuilder::new();
        blocklist.add_line("sa*").unwrap();
        let blocklist = blocklist.finish().unwrap().bytes;
        let stack_of = |base: &[u8]| {
            let base = Segment::load(base.to_vec()).unwrap();
            let delta = Segment::load(delta.clone()).unwrap();
            let list = Segment::load(blocklist.clone()).unwrap();
            Stack::new(base, vec![delta], Some(list)).unwrap()
        };
        let (cuts, keys) = (stack_of(SEG), stack_of(V7));
        let mut compared = 0;
        for (q, options) in queries() {
            let got = searcher.search(&cuts, &q, &options).unwrap().to_owned();
            let want = searcher.search(&keys, &q, &options).unwrap().to_owned();
            assert_eq!(got, want, "{q:?} {options:?}");
            compared += got.items.len();
        }
        assert!(compared > 1_500, "only {compared} suggestions compared");
    }

    /// Cuts that are not the ones the members give (another segment's, of the same keys with
    /// two categories' members swapped): deep verification refuses them, naming the section,
    /// and filtered queries answer without a panic.
    #[test]
    fn cuts_of_other_members_are_refused_or_bounded() {
        let build_with = |swap: bool| {
            let mut b = SegmentBuilder::with_options(BuildOptions {
                word_starts: true,
                top_lists: TopListOptions {
                    budget_percent: 0,
                    category_percent: 0,
                    ..TopListOptions::default()
                },
                ..BuildOptions::default()
            });
            for (phrase, score, mut categories) in super::v7::rows() {
                if swap {
                    for c in &mut categories {
                        *c = match c.as_str() {
                            "even" => "odd".into(),
                            "odd" => "even".into(),
                            other => other.into(),
                        };
                    }
                }
                b.add_row(phrase, score, None, &categories).unwrap();
            }
            b.finish().unwrap().bytes
        };
        let (own, other) = (build_with(false), build_with(true));
        let other_cuts = Segment::load(&other[..]).unwrap();
        let cuts = other_cuts
            .header()
            .section(SectionKind::CategoryCuts)
            .unwrap();
        let section = &other[cuts.offset..cuts.offset + cuts.len];
        let crafted = crate::common::replace_section(&own, SectionKind::CategoryCuts, section);
        Segment::load(&own[..]).unwrap().verify_deep().unwrap();
        let segment = Segment::load(crafted).expect("the structure holds");
        let refused = segment.verify_deep().unwrap_err().to_string();
        assert!(refused.contains("category cuts"), "{refused}");
        let mut searcher = Searcher::new();
        for (q, options) in queries() {
            // An error or an answer: either is bounded.
            let _ = searcher.search(&segment, &q, &options);
        }
    }

    /// The cut FSTs' lists answer: within a work budget too small for a walk, filtered queries
    /// at short prefixes get every answer from their category's list.
    #[test]
    fn filtered_queries_take_their_answers_from_the_cut_lists() {
        if cfg!(feature = "lean") {
            return;
        }
        let cuts = Segment::load(SEG).unwrap();
        assert!(cuts.header().section(SectionKind::CategoryTop).is_some());
        assert_eq!(super::v7::answered_by_lists(&cuts).len(), 4);
    }
}
