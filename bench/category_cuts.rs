//! What a category index without a copy of each key would weigh, and what walking it would
//! cost: a measurement for the design of the next category format, not a benchmark of shipped
//! code.
//!
//! `cargo bench --bench category_cuts -- DATA.tsv` builds the data set with the native bench's
//! two derived categories per row, then, for each category's FST, replaces every member key by
//! its *cut*: its shortest prefix under which the main FST holds only that key, or only keys of
//! the category. Below a cut, a filtered walk can go on in the main FST without meeting a key
//! outside the category, so the category's FST needs the cuts only (each with the least rank
//! below it), not the keys' unshared tails. A member that is a prefix of keys outside the
//! category keeps its whole key, marked by a last byte 0xFF. It prints the bytes per suggestion
//! of the main FST, of the category FSTs as built, and of FSTs of the cuts, and what the
//! segment would weigh against the plain one. Then, for the most common category and the
//! rarest of at least 1% of rows, it runs one best-first walk over the cut FST and the main
//! FST and the same walk over the category FST as built (`walk`), checks both against a count
//! over the sorted keys on every query, and times them next to the engine's filtered query.

#[allow(dead_code)]
#[path = "common.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{derived_categories, read_rows, Rng};
use edgesuggest::format::SectionKind;
use edgesuggest::{
    BuildOptions, Searcher, Segment, SegmentBuilder, SuggestOptions, TopListOptions,
};

fn build(rows: &[(String, u64)], categories: bool, top_lists: TopListOptions) -> Vec<u8> {
    let mut b = SegmentBuilder::with_options(BuildOptions {
        top_lists,
        ..BuildOptions::default()
    });
    for (phrase, score) in rows {
        let cats = match categories {
            true => derived_categories(phrase, *score).to_vec(),
            false => Vec::new(),
        };
        let _ = b.add_row(phrase, *score, None, &cats);
    }
    b.finish().expect("build").bytes
}

/// Every key of an FST with its output, in key order.
fn entries(fst_bytes: &[u8]) -> Vec<(Vec<u8>, u64)> {
    use fst::Streamer;
    let map = fst::Map::new(fst_bytes).expect("fst");
    let mut stream = map.stream();
    let mut out = Vec::new();
    while let Some((k, v)) = stream.next() {
        out.push((k.to_vec(), v));
    }
    out
}

fn section(segment: &Segment<Vec<u8>>, kind: SectionKind) -> &[u8] {
    let range = segment.header().section(kind).expect("section");
    &segment.as_bytes()[range.offset..range.offset + range.len]
}

/// Each category FST's bytes, read from the `categories` section (`docs/FORMAT.md`).
fn category_fsts(section: &[u8]) -> Vec<&[u8]> {
    let u32_at = |at: usize| u32::from_le_bytes(section[at..at + 4].try_into().unwrap()) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(section[at..at + 8].try_into().unwrap()) as usize;
    (0..u32_at(0))
        .map(|i| {
            let entry = 8 + 24 * i;
            let (offset, len) = (u64_at(entry + 8), u64_at(entry + 16));
            &section[offset..offset + len]
        })
        .collect()
}

/// Marks a member that is its own cut: the key is a prefix of keys outside the category.
const WHOLE_KEY: u8 = 0xFF;

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The cut of each member (`member[i]`: main key `i` is in the category) with the least rank
/// below it: the key's shortest prefix under which the main FST holds one key, or members
/// only; the whole key and [`WHOLE_KEY`] when there is none. Sorted keys sharing a prefix are
/// contiguous, so a key shares the most with its neighbours: one byte more than it shares with
/// either neighbour is where it is alone, one byte more than with the nearest keys outside the
/// category on either side is where only members remain.
/// `lengths` adds up the members' key and cut lengths, and counts the members.
fn cuts(
    keys: &[(Vec<u8>, u64)],
    member: &[bool],
    lengths: &mut (usize, usize, usize),
) -> BTreeMap<Vec<u8>, u64> {
    let n = keys.len();
    let shared =
        |i: usize, j: Option<usize>| j.map_or(0, |j| common_prefix(&keys[i].0, &keys[j].0));
    let mut outside_before = vec![None; n];
    let mut last = None;
    for i in 0..n {
        outside_before[i] = last;
        if !member[i] {
            last = Some(i);
        }
    }
    let mut cut_map = BTreeMap::new();
    let mut outside_after = None;
    for i in (0..n).rev() {
        if member[i] {
            let key = &keys[i].0;
            let unique =
                1 + shared(i, i.checked_sub(1)).max(shared(i, (i + 1 < n).then_some(i + 1)));
            let pure = 1 + shared(i, outside_before[i]).max(shared(i, outside_after));
            let end = unique.min(pure);
            let cut = &key[..end.min(key.len())];
            check_cut(keys, member, key, cut);
            // A key that is its own cut ends in 0xFF, a byte no UTF-8 key holds: a final node
            // reached otherwise is a cut, below which the main FST holds members only.
            let mut cut = cut.to_vec();
            if end > key.len() {
                cut.push(WHOLE_KEY);
            }
            lengths.0 += key.len();
            lengths.1 += cut.len();
            lengths.2 += 1;
            let least = cut_map.entry(cut).or_insert(u64::MAX);
            *least = (*least).min(keys[i].1);
        } else {
            outside_after = Some(i);
        }
    }
    cut_map
}

/// Checks a cut by counting: under it the main FST holds one key or members only, and under
/// the prefix one byte shorter it holds neither (unless the cut is the whole key).
fn check_cut(keys: &[(Vec<u8>, u64)], member: &[bool], key: &[u8], cut: &[u8]) {
    let count = |prefix: &[u8]| {
        let range = under(keys, prefix);
        (range.len(), member[range].iter().all(|&m| m))
    };
    let holds = |(count, all_members): (usize, bool)| count == 1 || all_members;
    assert!(
        cut.len() == key.len() || holds(count(cut)),
        "cut {cut:?} of {key:?}"
    );
    assert!(
        cut.len() <= 1 || !holds(count(&cut[..cut.len() - 1])),
        "cut {cut:?} of {key:?}"
    );
}

fn fst_of(map: &BTreeMap<Vec<u8>, u64>) -> Vec<u8> {
    let mut b = fst::MapBuilder::memory();
    for (k, v) in map {
        b.insert(k, *v).expect("sorted keys");
    }
    b.into_inner().expect("fst")
}

/// One category's cut FST with what the timing needs: its FST as built, its members and name.
struct Category<'a> {
    name: String,
    built_fst: &'a [u8],
    cut_fst: Vec<u8>,
    member: Vec<bool>,
}

/// `per_length` prefixes of 1–6 characters of random members' keys, by length.
fn member_prefixes(
    keys: &[(Vec<u8>, u64)],
    member: &[bool],
    per_length: usize,
) -> Vec<Vec<String>> {
    let members: Vec<&str> = (0..keys.len())
        .filter(|&i| member[i])
        .filter_map(|i| std::str::from_utf8(&keys[i].0).ok())
        .collect();
    let mut rng = Rng(0xC0_7C07);
    (1..=6)
        .map(|len| {
            let long: Vec<&&str> = members
                .iter()
                .filter(|k| k.chars().count() >= len)
                .collect();
            (0..per_length)
                .map(|_| long[rng.below(long.len())].chars().take(len).collect())
                .collect()
        })
        .collect()
}

/// Where the sorted `keys` that start with `prefix` are.
fn under(keys: &[(Vec<u8>, u64)], prefix: &[u8]) -> std::ops::Range<usize> {
    let start = keys.partition_point(|(key, _)| key.as_slice() < prefix);
    start..start + keys[start..].partition_point(|(key, _)| key.starts_with(prefix))
}

/// The oracle: the `k` least ranks among the members under `prefix`, by a count.
fn oracle(keys: &[(Vec<u8>, u64)], member: &[bool], prefix: &[u8], k: usize) -> Vec<u64> {
    let mut ranks: Vec<u64> = under(keys, prefix)
        .filter(|&i| member[i])
        .map(|i| keys[i].1)
        .collect();
    ranks.sort_unstable();
    ranks.truncate(k);
    ranks
}

/// The median over `queries` of each query's fastest of `rounds` runs, in µs.
fn median_us(queries: &[String], rounds: usize, mut run: impl FnMut(&str) -> usize) -> f64 {
    let mut best: Vec<f64> = queries
        .iter()
        .map(|q| {
            (0..rounds)
                .map(|_| {
                    let t = Instant::now();
                    std::hint::black_box(run(q));
                    t.elapsed().as_secs_f64() * 1e6
                })
                .fold(f64::MAX, f64::min)
        })
        .collect();
    best.sort_by(f64::total_cmp);
    best[best.len() / 2]
}

/// The three filtered queries compared, on one category: the walk over the cut FST and the
/// main FST, the same walk over the category FST as built, and the engine's (no lists).
struct Walks<'a> {
    cuts: fst::raw::Fst<&'a [u8]>,
    built: fst::raw::Fst<&'a [u8]>,
    main: fst::raw::Fst<&'a [u8]>,
    walked: &'a Segment<Vec<u8>>,
    options: SuggestOptions,
    walker: walk::Walker,
    searcher: Searcher,
}

impl<'a> Walks<'a> {
    fn new(main_fst: &'a [u8], walked: &'a Segment<Vec<u8>>, category: &'a Category) -> Self {
        Walks {
            cuts: fst::raw::Fst::new(&category.cut_fst[..]).expect("fst"),
            built: fst::raw::Fst::new(category.built_fst).expect("fst"),
            main: fst::raw::Fst::new(main_fst).expect("fst"),
            walked,
            options: SuggestOptions {
                categories: vec![category.name.clone()],
                exact_first: false,
                ..SuggestOptions::default()
            },
            walker: walk::Walker::default(),
            searcher: Searcher::new(),
        }
    }

    /// The top-10 ranks by the walk over the cut FST (`false`) or the FST as built (`true`).
    fn top(&mut self, as_built: bool, q: &str) -> Vec<u64> {
        let fst = if as_built { &self.built } else { &self.cuts };
        self.walker
            .top((fst, as_built), &self.main, q.as_bytes(), 10)
    }

    /// How many suggestions the engine's filtered query returns.
    fn engine(&mut self, q: &str) -> usize {
        let found = self.searcher.search(self.walked, q, &self.options);
        found.expect("search").items.len()
    }

    /// Both walks give the oracle's ranks, and the engine as many suggestions.
    fn check(&mut self, keys: &[(Vec<u8>, u64)], category: &Category, q: &str) {
        let want = oracle(keys, &category.member, q.as_bytes(), 10);
        assert_eq!(self.top(false, q), want, "{}, prefix {q:?}", category.name);
        assert_eq!(
            self.top(true, q),
            want,
            "{}, {q:?}, as built",
            category.name
        );
        assert_eq!(self.engine(q), want.len(), "the engine's answer to {q:?}");
    }
}

/// Checks the walks against the oracle on every query, then times them, by prefix length.
fn time_walks(
    main_keys: &[(Vec<u8>, u64)],
    main_fst: &[u8],
    walked: &Segment<Vec<u8>>,
    category: &Category,
) {
    let mut walks = Walks::new(main_fst, walked, category);
    let mut lines = [String::new(), String::new(), String::new()];
    let prefixes = member_prefixes(main_keys, &category.member, 300);
    for (len, queries) in prefixes.iter().enumerate() {
        for q in queries {
            walks.check(main_keys, category, q);
        }
        let times = [
            median_us(queries, 5, |q| walks.top(false, q).len()),
            median_us(queries, 5, |q| walks.top(true, q).len()),
            median_us(queries, 5, |q| walks.engine(q)),
        ];
        for (line, us) in lines.iter_mut().zip(times) {
            let sep = if len == 0 { "" } else { " / " };
            line.push_str(&format!("{sep}{us:.2}"));
        }
    }
    let members = category.member.iter().filter(|&&m| m).count();
    let share = 100.0 * members as f64 / category.member.len() as f64;
    let name = &category.name;
    println!("  `{name}` ({share:.1}% of rows), top-10 median µs at 1–6 characters, no lists:");
    println!(
        "    this walk over the cut FST and the main FST (ranks only): {}",
        lines[0]
    );
    println!(
        "    this walk over the category FST as built (ranks only): {}",
        lines[1]
    );
    println!(
        "    the engine over the category FSTs as built (full path): {}",
        lines[2]
    );
}

/// Every category's cut FST, made from its FST as built; `sizes` adds up the bytes of both
/// and the cuts' count and lengths.
fn cut_categories<'a>(
    segment: &'a Segment<Vec<u8>>,
    main_keys: &[(Vec<u8>, u64)],
    sizes: &mut Sizes,
) -> Vec<Category<'a>> {
    let fsts = category_fsts(section(segment, SectionKind::Categories));
    let names = segment.categories().expect("names");
    fsts.into_iter()
        .zip(names)
        .map(|(built_fst, name)| {
            let mut member = vec![false; main_keys.len()];
            for (key, _) in entries(built_fst) {
                let at = main_keys.binary_search_by(|(k, _)| k.as_slice().cmp(&key));
                member[at.expect("a category key is a main key")] = true;
            }
            let cut_map = cuts(main_keys, &member, &mut sizes.lengths);
            let cut_fst = fst_of(&cut_map);
            sizes.built += built_fst.len();
            sizes.cuts += cut_map.len();
            sizes.cut_bytes += cut_fst.len();
            Category {
                name: name.to_string(),
                built_fst,
                cut_fst,
                member,
            }
        })
        .collect()
}

/// What the category FSTs weigh as built and as cuts.
#[derive(Default)]
struct Sizes {
    built: usize,
    cut_bytes: usize,
    cuts: usize,
    /// The members' key and cut lengths added up, and the members counted.
    lengths: (usize, usize, usize),
}

fn print_sizes(data: &Path, plain: usize, segment: &Segment<Vec<u8>>, sizes: &Sizes) {
    let count = segment.header().suggestion_count as f64;
    let per = |bytes: usize| bytes as f64 / count;
    let total = segment.as_bytes().len();
    let lists = segment
        .header()
        .section(SectionKind::CategoryTop)
        .map_or(0, |r| r.len);
    // The same lists' share (10%) of the cut FSTs, instead of the category FSTs'.
    let projected = total - sizes.built - lists + sizes.cut_bytes + sizes.cut_bytes / 10;
    let (keys, cuts, members) = sizes.lengths;
    println!("{}: {count} suggestions", data.display());
    println!(
        "  segment plain {plain} B ({:.2}/suggestion), with categories {total} B ({:.2}×)",
        per(plain),
        total as f64 / plain as f64
    );
    println!(
        "  main FST {:.2} B/suggestion; category FSTs as built {:.2}; cut FSTs {:.2} ({} cuts)",
        per(section(segment, SectionKind::Fst).len()),
        per(sizes.built),
        per(sizes.cut_bytes),
        sizes.cuts
    );
    println!(
        "  members' keys {:.1} bytes on average, their cuts {:.1}",
        keys as f64 / members as f64,
        cuts as f64 / members as f64
    );
    println!(
        "  with cut FSTs and their lists: {projected} B ({:.2}×)",
        projected as f64 / plain as f64
    );
}

/// The most common category and the rarest of at least 1% of rows, as the native bench's.
fn common_and_rare<'c, 'a>(categories: &'c [Category<'a>]) -> [&'c Category<'a>; 2] {
    let share = |c: &&Category| c.member.iter().filter(|&&m| m).count();
    let common = categories.iter().max_by_key(share).expect("a category");
    let rare = categories
        .iter()
        .filter(|c| share(c) * 100 >= c.member.len())
        .min_by_key(share)
        .expect("a category");
    [common, rare]
}

fn main() {
    let data = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: category_cuts DATA.tsv"),
    );
    let rows = read_rows(&data);
    let plain = build(&rows, false, TopListOptions::default()).len();
    let segment = Segment::open(build(&rows, true, TopListOptions::default())).expect("open");
    let main_keys = entries(section(&segment, SectionKind::Fst));
    let mut sizes = Sizes::default();
    let categories = cut_categories(&segment, &main_keys, &mut sizes);
    print_sizes(&data, plain, &segment, &sizes);
    let no_lists = TopListOptions {
        budget_percent: 0,
        category_percent: 0,
        ..TopListOptions::default()
    };
    let walked = Segment::open(build(&rows, true, no_lists)).expect("open");
    for category in common_and_rare(&categories) {
        time_walks(
            &main_keys,
            section(&segment, SectionKind::Fst),
            &walked,
            category,
        );
    }
}

/// A filtered top-k over a category's cut FST and the main FST, best first: the walk the
/// design would run, to time it and to check it against a count. Costs are ranks (accumulated
/// outputs) in both FSTs. Given a category FST as built (`whole_keys`), every final node is a
/// match and the main FST is never entered: the same walk over the old layout.
mod walk {
    use super::WHOLE_KEY;
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    type Fst<'a> = fst::raw::Fst<&'a [u8]>;

    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Step {
        /// A node of the cut FST.
        Cut(usize),
        /// A cut: go on in the main FST below the same path.
        Switch,
        /// A match: a key of the main FST, or a whole key of the cut FST.
        Match,
        /// A node of the main FST.
        Main(usize),
    }

    /// Sentinel parent: the query's prefix itself.
    const PREFIX: u32 = u32::MAX;

    /// Reused buffers: the queue (cost, offer order, step, path) and the path arena
    /// (parent, byte) of the bytes after the prefix.
    #[derive(Default)]
    pub struct Walker {
        queue: BinaryHeap<Reverse<(u64, u32, Step, u32)>>,
        arena: Vec<(u32, u8)>,
        sequence: u32,
        path: Vec<u8>,
        /// The main FST's accumulated output at the prefix.
        main_cost: u64,
        /// The category FST holds whole keys (as built), not cuts.
        whole_keys: bool,
    }

    /// The node `bytes` lead to from `node` and the outputs on the way, if any.
    fn descend<'f>(
        fst: &'f Fst<'_>,
        mut node: fst::raw::Node<'f>,
        bytes: &[u8],
    ) -> Option<(fst::raw::Node<'f>, u64)> {
        let mut acc = 0;
        for &b in bytes {
            let t = node.transition(node.find_input(b)?);
            acc += t.out.value();
            node = fst.node(t.addr);
        }
        Some((node, acc))
    }

    impl Walker {
        /// The ranks of the best `k` members whose keys start with `prefix`, best first.
        pub fn top(
            &mut self,
            (cuts, whole_keys): (&Fst<'_>, bool),
            main: &Fst<'_>,
            prefix: &[u8],
            k: usize,
        ) -> Vec<u64> {
            self.queue.clear();
            self.arena.clear();
            self.whole_keys = whole_keys;
            let Some((at_prefix, main_cost)) = descend(main, main.root(), prefix) else {
                return Vec::new();
            };
            self.main_cost = main_cost;
            let mut node = cuts.root();
            let mut acc = 0u64;
            for &b in prefix {
                match node.find_input(b) {
                    Some(i) => {
                        let t = node.transition(i);
                        acc += t.out.value();
                        node = cuts.node(t.addr);
                    }
                    // A cut shorter than the prefix: below it, every key is a member.
                    None if node.is_final() && !whole_keys => {
                        self.push(main_cost, Step::Main(at_prefix.addr()), PREFIX);
                        return self.run(cuts, main, at_prefix, k);
                    }
                    None => return Vec::new(),
                }
            }
            self.push(acc, Step::Cut(node.addr()), PREFIX);
            self.run(cuts, main, at_prefix, k)
        }

        fn push(&mut self, cost: u64, step: Step, path: u32) {
            self.sequence = self.sequence.wrapping_add(1);
            self.queue.push(Reverse((cost, self.sequence, step, path)));
        }

        fn extend(&mut self, path: u32, byte: u8) -> u32 {
            self.arena.push((path, byte));
            (self.arena.len() - 1) as u32
        }

        fn run(
            &mut self,
            cuts: &Fst<'_>,
            main: &Fst<'_>,
            at_prefix: fst::raw::Node<'_>,
            k: usize,
        ) -> Vec<u64> {
            let mut out = Vec::with_capacity(k);
            while out.len() < k {
                let Some(Reverse((cost, _, step, path))) = self.queue.pop() else {
                    break;
                };
                match step {
                    Step::Match => out.push(cost),
                    Step::Cut(addr) => self.expand_cut(cuts, addr, cost, path),
                    Step::Main(addr) => self.expand_main(main, addr, cost, path),
                    Step::Switch => self.switch(main, at_prefix, path),
                }
            }
            out
        }

        fn expand_cut(&mut self, cuts: &Fst<'_>, addr: usize, cost: u64, path: u32) {
            let node = cuts.node(addr);
            if node.is_final() {
                let step = if self.whole_keys {
                    Step::Match
                } else {
                    Step::Switch
                };
                self.push(cost + node.final_output().value(), step, path);
            }
            for t in node.transitions() {
                let cost = cost + t.out.value();
                if t.inp == WHOLE_KEY && !self.whole_keys {
                    let end = cuts.node(t.addr).final_output().value();
                    self.push(cost + end, Step::Match, path);
                } else {
                    let child = self.extend(path, t.inp);
                    self.push(cost, Step::Cut(t.addr), child);
                }
            }
        }

        fn expand_main(&mut self, main: &Fst<'_>, addr: usize, cost: u64, path: u32) {
            let node = main.node(addr);
            if node.is_final() {
                self.push(cost + node.final_output().value(), Step::Match, path);
            }
            for t in node.transitions() {
                let child = self.extend(path, t.inp);
                self.push(cost + t.out.value(), Step::Main(t.addr), child);
            }
        }

        /// Goes on in the main FST from where the cut's path leads.
        fn switch(&mut self, main: &Fst<'_>, at_prefix: fst::raw::Node<'_>, path: u32) {
            self.path.clear();
            let mut at = path;
            while at != PREFIX {
                let (parent, byte) = self.arena[at as usize];
                self.path.push(byte);
                at = parent;
            }
            self.path.reverse();
            let bytes = std::mem::take(&mut self.path);
            if let Some((node, cost)) = descend(main, at_prefix, &bytes) {
                let cost = cost + self.main_cost;
                self.push(cost, Step::Main(node.addr()), path);
            }
            self.path = bytes;
        }
    }
}
