//! Levenshtein prefix automata over UTF-8 bytes, for the typo passes' walks.
//!
//! The construction is Schulz and Mihov's ("Fast String Correction with Levenshtein-Automata",
//! 2002) as the `levenshtein_automata` crate implements it (MIT licence, Paul Masurel): a
//! *parametric* DFA of an edit count, made once per [`Parametric`], whose states are shapes of
//! NFA positions relative to an offset in the query; then, per query, the DFA over bytes that
//! instantiates it at every offset the query reaches, with a chain of intermediate states for
//! each character of more than one byte. Transpositions cost one edit.
//!
//! What differs is the table. The crate gives every state a row of 256 words, one per byte,
//! and fills each row whole: a prefix DFA of two edits for a query of 6–8 characters has about
//! 140 states, so about 140 KB were written per query, most of a typo query's time in
//! WebAssembly. Here bytes that every state treats alike share a class: the four UTF-8 lead
//! ranges (one byte, or the first of two, three or four), split by each byte of the query's own
//! characters. A row holds one word per class, a dozen for most queries, and a transition
//! reads the byte's class first. The automaton is the crate's, transition for transition: the
//! tests walk every reachable state of both together for every byte. Sets of positions are
//! small and sorted by insertion: a slice sort's code would cost the WebAssembly modules more
//! than this whole module.

/// The state no byte sequence leads out of once the query cannot match within the edits.
pub(crate) const SINK_STATE: u32 = 0;

/// The edits a state's text needs to match the query: `Exact` within the automaton's
/// maximum, `AtLeast` beyond it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Distance {
    Exact(u8),
    AtLeast(u8),
}

/// One position of the Levenshtein NFA: `offset` characters of the query matched with
/// `distance` edits, possibly half-way through a transposition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Position {
    offset: u32,
    distance: u8,
    in_transpose: bool,
}

impl Position {
    /// Whether every text this position matches, `other` matches with no fewer edits: `other`
    /// adds nothing to a set that holds this one.
    fn subsumes(self, other: Position) -> bool {
        let reach = u32::from(self.distance) + self.offset.abs_diff(other.offset);
        if self.in_transpose || !other.in_transpose {
            u32::from(other.distance) >= reach
        } else {
            u32::from(other.distance) > reach
        }
    }
}

/// A set of NFA positions with none subsumed by another (a DFA state's shape once normalized).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Positions(Vec<Position>);

impl Positions {
    fn add(&mut self, new: Position) {
        if self.0.iter().any(|p| p.subsumes(new)) {
            return;
        }
        let mut i = 0;
        while i < self.0.len() {
            if new.subsumes(self.0[i]) {
                self.0.swap_remove(i);
            } else {
                i += 1;
            }
        }
        self.0.push(new);
    }

    /// Sorts the positions. A set holds a handful: an insertion sort keeps the slice
    /// sort's code out of the WebAssembly modules.
    fn sort(&mut self) {
        for i in 1..self.0.len() {
            let mut j = i;
            while j > 0 && self.0[j - 1] > self.0[j] {
                self.0.swap(j - 1, j);
                j -= 1;
            }
        }
    }

    /// Shifts the positions to start at offset 0, sorted; returns the shift.
    fn normalize(&mut self) -> u32 {
        let least = self.0.iter().map(|p| p.offset).min().unwrap_or(0);
        for p in &mut self.0 {
            p.offset -= least;
        }
        self.sort();
        least
    }
}

/// The NFA's moves from `p` on a character whose matches in the query from `p.offset` on are
/// the bits of `chi` (bit 0: the query's character at `p.offset`).
fn step_position(p: Position, chi: u64, max: u8, into: &mut Positions) {
    let bit = |i: u8| (chi >> i) & 1 == 1;
    if p.distance < max {
        let edit = |offset, in_transpose| Position {
            offset,
            distance: p.distance + 1,
            in_transpose,
        };
        into.add(edit(p.offset, false)); // insertion
        into.add(edit(p.offset + 1, false)); // substitution
        for d in 1..=max - p.distance {
            if bit(d) {
                // `d` query characters deleted, then a match.
                into.add(Position {
                    offset: p.offset + 1 + u32::from(d),
                    distance: p.distance + d,
                    in_transpose: false,
                });
            }
        }
        if bit(1) {
            into.add(edit(p.offset, true));
        }
    }
    let matched = |offset| Position {
        offset,
        distance: p.distance,
        in_transpose: false,
    };
    if bit(0) {
        into.add(matched(p.offset + 1));
    }
    if p.in_transpose && bit(0) {
        into.add(matched(p.offset + 2));
    }
}

/// One parametric transition: the shape reached and how far the offset moves.
#[derive(Clone, Copy, Debug)]
struct Move {
    shape: u32,
    shift: u32,
}

/// A DFA state before instantiation: a shape at an offset in the query (shape 0 is dead).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Instance {
    shape: u32,
    offset: u32,
}

impl Instance {
    fn after(self, m: Move) -> Instance {
        match m.shape {
            0 => Instance {
                shape: 0,
                offset: 0,
            },
            shape => Instance {
                shape,
                offset: self.offset + m.shift,
            },
        }
    }
}

/// The parametric DFA of an edit count: made once (it costs far more than a query's DFA),
/// then instantiated per query by [`Parametric::prefix_dfa`].
#[derive(Clone, Debug)]
pub(crate) struct Parametric {
    max: u8,
    /// Positions a state spans: `2 * max + 1`.
    diameter: usize,
    /// Per shape, one move per characteristic vector (`1 << diameter` of them).
    moves: Vec<Move>,
    /// Per shape, the distance when `i` query characters remain, for `i < diameter`.
    distances: Vec<u8>,
}

impl Parametric {
    /// The parametric DFA of `max` edits, transpositions costing one.
    pub(crate) fn new(max: u8) -> Parametric {
        let diameter = 2 * usize::from(max) + 1;
        // A few dozen shapes, made once: a linear search keeps a hash map's code out of the
        // WebAssembly modules.
        let mut shapes: Vec<Positions> = Vec::new();
        let intern =
            |p: &Positions, shapes: &mut Vec<Positions>| match shapes.iter().position(|s| s == p) {
                Some(i) => i as u32,
                None => {
                    shapes.push(p.clone());
                    shapes.len() as u32 - 1
                }
            };
        intern(&Positions::default(), &mut shapes);
        intern(&Positions(vec![Position::default()]), &mut shapes);
        let mut moves = Vec::new();
        let mut next = Positions::default();
        let mask = (1u64 << diameter) - 1;
        let mut shape = 0;
        while shape < shapes.len() {
            for chi in 0..1u64 << diameter {
                next.0.clear();
                for &p in &shapes[shape].0 {
                    step_position(p, (chi >> p.offset) & mask, max, &mut next);
                }
                let shift = next.normalize();
                let id = intern(&next, &mut shapes);
                moves.push(Move { shape: id, shift });
            }
            shape += 1;
        }
        let distances = shapes
            .iter()
            .flat_map(|s| (0..diameter as u32).map(move |left| shape_distance(s, left, max)))
            .collect();
        Parametric {
            max,
            diameter,
            moves,
            distances,
        }
    }

    fn shapes(&self) -> usize {
        self.moves.len() >> self.diameter
    }

    fn step(&self, at: Instance, chi: u32) -> Instance {
        let i = ((at.shape as usize) << self.diameter) + chi as usize;
        let m = self
            .moves
            .get(i)
            .copied()
            .unwrap_or(Move { shape: 0, shift: 0 });
        at.after(m)
    }

    /// The shape's distances from `left` query characters remaining on (`left < diameter`).
    fn distances_of(&self, shape: u32) -> &[u8] {
        let start = shape as usize * self.diameter;
        self.distances
            .get(start..start + self.diameter)
            .unwrap_or(&[])
    }

    fn distance(&self, at: Instance, query_len: u32) -> Distance {
        let beyond = Distance::AtLeast(self.max + 1);
        let Some(left) = query_len.checked_sub(at.offset) else {
            return beyond;
        };
        match self.distances_of(at.shape).get(left as usize) {
            _ if at.shape == 0 => beyond,
            Some(&d) if d <= self.max => Distance::Exact(d),
            Some(&d) => Distance::AtLeast(d),
            None => beyond,
        }
    }

    /// Whether no text read further can lower the state's distance: a prefix DFA stays there.
    fn is_prefix_sink(&self, at: Instance, query_len: u32) -> bool {
        if at.shape == 0 {
            return true;
        }
        let Some(left) = query_len.checked_sub(at.offset) else {
            return false;
        };
        let distances = self.distances_of(at.shape);
        match distances.get(left as usize) {
            Some(&d) if d <= self.max => distances[..left as usize].iter().all(|&e| e >= d),
            _ => false,
        }
    }

    /// The DFA over UTF-8 bytes whose distance after a text is the least edits between the
    /// query and any prefix of that text.
    pub(crate) fn prefix_dfa(&self, query: &str) -> Dfa {
        let chars: Vec<char> = query.chars().collect();
        let query_len = chars.len() as u32;
        let alphabet = alphabet(&chars);
        let mut instances = Instances::new(self.shapes(), chars.len());
        let dead = instances.id(Instance {
            shape: 0,
            offset: 0,
        });
        let initial = instances.id(Instance {
            shape: 1,
            offset: 0,
        });
        let mut dfa = ByteDfa::new(query, instances.capacity());
        let mask = (1u32 << self.diameter) - 1;
        let mut id = dead;
        while let Some(at) = instances.get(id) {
            let distance = self.distance(at, query_len);
            if self.is_prefix_sink(at, query_len) {
                dfa.add_state(id, distance, id);
            } else {
                let default = instances.id(self.step(at, 0));
                let state = dfa.add_state(id, distance, default);
                for (c, bits) in &alphabet {
                    let to = instances.id(self.step(at, bits.window(at.offset, mask)));
                    dfa.add_transition(state, *c, to);
                }
            }
            id += 1;
        }
        dfa.finish(initial)
    }
}

/// The distance of a shape when `left` query characters remain after its offset.
fn shape_distance(shape: &Positions, left: u32, max: u8) -> u8 {
    shape
        .0
        .iter()
        .map(|p| p.distance + left.abs_diff(p.offset) as u8)
        .filter(|&d| d <= max)
        .min()
        .unwrap_or(max + 1)
}

/// Where a character occurs in the query: bit `i` set when it is the query's `i`th.
#[derive(Debug)]
struct Occurrences(Vec<u32>);

impl Occurrences {
    /// The bits from `offset` on, masked to a state's span.
    fn window(&self, offset: u32, mask: u32) -> u32 {
        let (word, shift) = ((offset / 32) as usize, offset % 32);
        let low = self.0.get(word).copied().unwrap_or(0) >> shift;
        let high = match shift {
            0 => 0,
            _ => self.0.get(word + 1).copied().unwrap_or(0) << (32 - shift),
        };
        (low | high) & mask
    }
}

/// The query's distinct characters, in order, each with where it occurs.
fn alphabet(chars: &[char]) -> Vec<(char, Occurrences)> {
    // Kept sorted as it grows: a slice sort's code would weigh on the WebAssembly modules.
    let mut distinct: Vec<char> = Vec::with_capacity(chars.len());
    for &c in chars {
        if let Err(at) = distinct.binary_search(&c) {
            distinct.insert(at, c);
        }
    }
    distinct
        .into_iter()
        .map(|c| {
            let mut bits = vec![0u32; chars.len() / 32 + 1];
            for (i, _) in chars.iter().enumerate().filter(|&(_, &q)| q == c) {
                bits[i / 32] |= 1 << (i % 32);
            }
            (c, Occurrences(bits))
        })
        .collect()
}

/// The instances a query's DFA reaches, numbered in the order they are met.
struct Instances {
    ids: Vec<u32>,
    order: Vec<Instance>,
    offsets: usize,
}

impl Instances {
    const NONE: u32 = u32::MAX;

    fn new(shapes: usize, query_len: usize) -> Instances {
        let offsets = query_len + 1;
        Instances {
            ids: vec![Self::NONE; shapes * offsets],
            order: Vec::with_capacity(64),
            offsets,
        }
    }

    fn capacity(&self) -> usize {
        self.ids.len()
    }

    #[inline]
    fn id(&mut self, at: Instance) -> u32 {
        let slot = at.shape as usize * self.offsets + at.offset as usize;
        match self.ids.get(slot) {
            Some(&id) if id != Self::NONE => id,
            Some(_) => {
                let id = self.order.len() as u32;
                self.order.push(at);
                self.ids[slot] = id;
                id
            }
            // An offset past the query's end: no such state is ever reached, as a state at
            // the end is a prefix sink; dead if it were.
            None => 0,
        }
    }

    fn get(&self, id: u32) -> Option<Instance> {
        self.order.get(id as usize).copied()
    }
}

/// A prefix Levenshtein DFA over UTF-8 bytes, each state's transitions one word per byte
/// class (see the module docs).
///
/// A state is the offset of its row in `rows`: the row's first word is the state's distance,
/// then one word per class, so a transition is one load after the byte's class, with no
/// multiplication. The sink's row comes first, at offset 0.
#[derive(Clone, Debug)]
pub(crate) struct Dfa {
    /// Each byte's class, plus one: the place of its transition in a row.
    classes: [u8; 256],
    /// Words per row: the distance and one per class.
    stride: usize,
    rows: Vec<u32>,
    initial: u32,
}

/// A distance as a row's first word: `Exact(d)` is `d`, `AtLeast(d)` is `0x100 | d`.
fn encode(distance: Distance) -> u32 {
    match distance {
        Distance::Exact(d) => u32::from(d),
        Distance::AtLeast(d) => 0x100 | u32::from(d),
    }
}

impl Dfa {
    pub(crate) fn initial_state(&self) -> u32 {
        self.initial
    }

    /// The state after `byte` from `state`.
    #[inline]
    pub(crate) fn transition(&self, state: u32, byte: u8) -> u32 {
        self.transition_at(state, self.class_of(byte))
    }

    /// Where a byte's transition lies in a row: for walks that try the same bytes from many
    /// states, with [`Dfa::transition_at`].
    pub(crate) fn class_of(&self, byte: u8) -> u8 {
        self.classes[usize::from(byte)]
    }

    /// [`Dfa::transition`] on a byte of class `class` (from [`Dfa::class_of`]).
    #[inline]
    pub(crate) fn transition_at(&self, state: u32, class: u8) -> u32 {
        let at = state as usize + usize::from(class);
        self.rows.get(at).copied().unwrap_or(SINK_STATE)
    }

    pub(crate) fn distance(&self, state: u32) -> Distance {
        match self.rows.get(state as usize) {
            Some(&word) if word < 0x100 => Distance::Exact(word as u8),
            Some(&word) => Distance::AtLeast(word as u8),
            None => Distance::AtLeast(u8::MAX),
        }
    }
}

/// Builds a [`Dfa`] from a character-level automaton: each state's transitions on the
/// query's characters, and a default for every other character, whatever its length in bytes.
struct ByteDfa {
    dfa: Dfa,
    /// The UTF-8 lead range (0–3: one to four bytes) of each class.
    ranges: Vec<u8>,
    /// Byte-level state of each character-level state `s` (slot `4 s`) and of the states `k`
    /// bytes before `s`'s default successor (slot `4 s + k`).
    index: Vec<u32>,
}

/// A state being built: its byte-level id and the states `k` bytes before its default
/// successor.
#[derive(Clone, Copy)]
struct StateBuilder {
    id: u32,
    default: [u32; 4],
}

impl ByteDfa {
    fn new(query: &str, states: usize) -> ByteDfa {
        let range = |b: u8| match b {
            0..=191 => 0,
            192..=223 => 1,
            224..=239 => 2,
            _ => 3,
        };
        let mut classes = [0u8; 256];
        for b in 0..=255u8 {
            classes[usize::from(b)] = 1 + range(b);
        }
        // At most 243 distinct bytes occur in UTF-8 text, so every class, plus one, fits a byte.
        let mut ranges = vec![0, 1, 2, 3];
        let mut seen = [false; 256];
        for &b in query.as_bytes() {
            if !std::mem::replace(&mut seen[usize::from(b)], true) {
                ranges.push(range(b));
                classes[usize::from(b)] = ranges.len() as u8;
            }
        }
        let stride = 1 + ranges.len();
        let dfa = Dfa {
            classes,
            stride,
            // A two-edit query's DFA has about 150 states.
            rows: Vec::with_capacity(stride * 192),
            initial: 0,
        };
        ByteDfa {
            dfa,
            ranges,
            index: vec![Instances::NONE; states * 4],
        }
    }

    /// A new state whose every transition leads to `to`.
    fn allocate(&mut self, to: u32) -> u32 {
        let id = self.dfa.rows.len() as u32;
        self.dfa.rows.push(encode(Distance::AtLeast(u8::MAX)));
        self.dfa.rows.resize(id as usize + self.dfa.stride, to);
        id
    }

    /// The byte-level state of slot `slot` (see [`ByteDfa::index`]), made if new (leading
    /// to `to` on every byte until it is defined).
    #[inline]
    fn state(&mut self, slot: usize, to: u32) -> u32 {
        match self.index.get(slot) {
            Some(&id) if id != Instances::NONE => id,
            Some(_) => {
                let id = self.allocate(to);
                self.index[slot] = id;
                id
            }
            None => SINK_STATE,
        }
    }

    /// Where the transition of `id` on the class of `byte` is.
    fn slot(&self, id: u32, byte: u8) -> usize {
        id as usize + usize::from(self.dfa.class_of(byte))
    }

    /// The default successor `default` and the states 1–3 bytes before it, which skip any
    /// byte: made once, the same for every state that shares the successor.
    fn before(&mut self, default: u32) -> [u32; 4] {
        let slot = default as usize * 4;
        if let Some(&[a, b, c, d]) = self.index.get(slot..slot + 4) {
            if d != Instances::NONE && a != Instances::NONE {
                return [a, b, c, d];
            }
        }
        let mut before = [self.state(slot, SINK_STATE); 4];
        for k in 1..4 {
            before[k] = self.state(slot + k, before[k - 1]);
        }
        before
    }

    /// Adds character-level state `state` whose other characters lead to `default`.
    fn add_state(&mut self, state: u32, distance: Distance, default: u32) -> StateBuilder {
        let id = self.state(state as usize * 4, SINK_STATE);
        if let Some(word) = self.dfa.rows.get_mut(id as usize) {
            *word = encode(distance);
        }
        let before = self.before(default);
        let start = id as usize + 1;
        let row = self.dfa.rows.get_mut(start..start + self.ranges.len());
        for (to, &range) in row.into_iter().flatten().zip(&self.ranges) {
            *to = before[usize::from(range)];
        }
        StateBuilder {
            id,
            default: before,
        }
    }

    /// Adds the transition on `c` from `from` to character-level state `to`, through a chain
    /// of intermediate states for a character of several bytes.
    fn add_transition(&mut self, from: StateBuilder, c: char, to: u32) {
        let mut buffer = [0u8; 4];
        let bytes = c.encode_utf8(&mut buffer).as_bytes();
        let Some((&last, lead)) = bytes.split_last() else {
            return;
        };
        let mut at = from.id;
        for (i, &b) in lead.iter().enumerate() {
            let left = bytes.len() - i - 1;
            let slot = self.slot(at, b);
            let mut next = self.dfa.rows.get(slot).copied().unwrap_or(SINK_STATE);
            if next == from.default[left] {
                next = self.allocate(from.default[left - 1]);
            }
            if let Some(t) = self.dfa.rows.get_mut(slot) {
                *t = next;
            }
            at = next;
        }
        let to = self.state(to as usize * 4, SINK_STATE);
        let slot = self.slot(at, last);
        if let Some(t) = self.dfa.rows.get_mut(slot) {
            *t = to;
        }
    }

    fn finish(mut self, initial: u32) -> Dfa {
        self.dfa.initial = self.state(initial as usize * 4, SINK_STATE);
        self.dfa
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use levenshtein_automata::{Distance as TheirDistance, LevenshteinAutomatonBuilder};
    use std::collections::HashSet;

    fn same(ours: Distance, theirs: TheirDistance) -> bool {
        match (ours, theirs) {
            (Distance::Exact(a), TheirDistance::Exact(b)) => a == b,
            (Distance::AtLeast(a), TheirDistance::AtLeast(b)) => a == b,
            _ => false,
        }
    }

    /// Walks every pair of states both automata reach together, on every byte, and checks
    /// that their distances and sinks agree: the two accept and measure alike.
    fn check_equivalent(ours: &Dfa, theirs: &levenshtein_automata::DFA, query: &str) {
        let start = (ours.initial_state(), theirs.initial_state());
        let mut seen = HashSet::from([start]);
        let mut stack = vec![start];
        while let Some((a, b)) = stack.pop() {
            assert!(
                same(ours.distance(a), theirs.distance(b)),
                "{query:?}: distance {:?} vs {:?}",
                ours.distance(a),
                theirs.distance(b)
            );
            assert_eq!(
                a == SINK_STATE,
                b == levenshtein_automata::SINK_STATE,
                "{query:?}"
            );
            for byte in 0..=255u8 {
                let next = (ours.transition(a, byte), theirs.transition(b, byte));
                if seen.insert(next) {
                    stack.push(next);
                }
            }
        }
        assert!(seen.len() >= 2, "{query:?}: nothing reached");
    }

    fn queries() -> Vec<String> {
        let mut out: Vec<String> = [
            "",
            "a",
            "ab",
            "aa",
            "abc",
            "abba",
            "paris",
            "mississippi",
            "neaval",
            "kahlme",
            "straße",
            "café",
            "zürich",
            "東京都",
            "ąęśćź",
            "😀a😀",
            "a😀b",
            "ab cd",
            "@scope/x",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabca",
            "éé",
            "€uro",
            "\u{7f}\u{80}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Pseudo-random queries over a small alphabet of 1- to 4-byte characters, so that
        // repeats, transpositions and shared lead bytes all occur.
        let alphabet = ['a', 'b', 'c', 'é', 'è', 'ж', '中', '丰', '😀', ' '];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..300 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 11) as usize;
            let text = (0..len)
                .map(|i| alphabet[((seed >> (8 + 4 * i)) % alphabet.len() as u64) as usize])
                .collect();
            out.push(text);
        }
        out
    }

    #[test]
    fn prefix_dfas_equal_the_crates_on_every_reachable_state() {
        for max in 1..=2 {
            let ours = Parametric::new(max);
            let theirs = LevenshteinAutomatonBuilder::new(max, true);
            for q in queries() {
                check_equivalent(&ours.prefix_dfa(&q), &theirs.build_prefix_dfa(&q), &q);
            }
        }
    }

    #[test]
    fn distances_are_prefix_edit_distances() {
        let dfa = Parametric::new(2).prefix_dfa("paris");
        let eval = |text: &str| {
            let mut s = dfa.initial_state();
            for &b in text.as_bytes() {
                s = dfa.transition(s, b);
            }
            dfa.distance(s)
        };
        assert_eq!(eval("paris"), Distance::Exact(0));
        assert_eq!(eval("parisian"), Distance::Exact(0));
        assert_eq!(eval("pairs"), Distance::Exact(1));
        assert_eq!(eval("prais x"), Distance::Exact(1));
        assert_eq!(eval("pxxis"), Distance::Exact(2));
        assert_eq!(eval("pa"), Distance::AtLeast(3));
        assert_eq!(eval("zz"), Distance::AtLeast(3));
    }
}
