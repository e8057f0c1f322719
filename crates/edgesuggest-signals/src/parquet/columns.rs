//! Typed, checked views of a record batch's columns. Every accessor returns `None` or an
//! error instead of indexing out of bounds: a crafted file must give an error, never a panic.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{
    Array, ArrowPrimitiveType, GenericListArray, LargeStringArray, OffsetSizeTrait, StringArray,
    StringViewArray,
};
use arrow_schema::DataType;

/// The column types a reader accepts, by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// UTF8: `Utf8`, `LargeUtf8` or `Utf8View`.
    Text,
    /// Any integer type (read losslessly).
    Int,
    /// A list (`List` or `LargeList`) of UTF8.
    TextList,
    /// UTF8 or an integer (kept as its decimal text): `version`.
    TextOrInt,
    /// An integer or a float holding an integer: a row's `score`.
    Score,
    /// UTF8 (comma-separated) or a list of UTF8: a row's `categories`.
    TextOrTextList,
}

impl Kind {
    /// Whether a column of type `dt` can be read in this role.
    pub(super) fn accepts(self, dt: &DataType) -> bool {
        match self {
            Kind::Text => is_text(dt),
            Kind::Int => is_int(dt),
            Kind::TextList => is_text_list(dt),
            Kind::TextOrInt => is_text(dt) || is_int(dt),
            Kind::Score => is_int(dt) || matches!(dt, DataType::Float32 | DataType::Float64),
            Kind::TextOrTextList => is_text(dt) || is_text_list(dt),
        }
    }

    /// The accepted types, for error messages.
    pub(super) fn expected(self) -> &'static str {
        match self {
            Kind::Text => "UTF8 (Arrow Utf8 or LargeUtf8)",
            Kind::Int => "INT64 (or another integer type)",
            Kind::TextList => "LIST of UTF8 (Arrow List<Utf8> or LargeList<Utf8>)",
            Kind::TextOrInt => "UTF8 (or an integer type)",
            Kind::Score => "an integer type (INT64), or DOUBLE/FLOAT holding whole numbers",
            Kind::TextOrTextList => "LIST of UTF8, or UTF8 holding comma-separated items",
        }
    }
}

fn is_text(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

fn is_int(dt: &DataType) -> bool {
    dt.is_integer()
}

fn is_text_list(dt: &DataType) -> bool {
    match dt {
        DataType::List(item) | DataType::LargeList(item) => is_text(item.data_type()),
        _ => false,
    }
}

/// A UTF8 column of any of the three layouts.
#[derive(Clone, Copy)]
pub(super) enum Strs<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

impl<'a> Strs<'a> {
    /// The view, or `None` when the array is not UTF8.
    pub(super) fn new(array: &'a dyn Array) -> Option<Self> {
        if let Some(a) = array.as_string_opt::<i32>() {
            Some(Strs::Utf8(a))
        } else if let Some(a) = array.as_string_opt::<i64>() {
            Some(Strs::Large(a))
        } else {
            array.as_string_view_opt().map(Strs::View)
        }
    }

    fn array(&self) -> &'a dyn Array {
        match *self {
            Strs::Utf8(a) => a,
            Strs::Large(a) => a,
            Strs::View(a) => a,
        }
    }

    /// Value `i`; `None` when null or past the end.
    pub(super) fn get(&self, i: usize) -> Option<&'a str> {
        if i >= self.array().len() || self.array().is_null(i) {
            return None;
        }
        Some(match *self {
            Strs::Utf8(a) => a.value(i),
            Strs::Large(a) => a.value(i),
            Strs::View(a) => a.value(i),
        })
    }
}

/// An integer column of any width and sign, widened to `i128` (lossless for every one).
pub(super) struct Ints(Vec<Option<i128>>);

impl Ints {
    /// The values, or `None` when the array is not of an integer type.
    pub(super) fn new(array: &dyn Array) -> Option<Self> {
        let values = widen::<Int64Type>(array)
            .or_else(|| widen::<Int32Type>(array))
            .or_else(|| widen::<Int16Type>(array))
            .or_else(|| widen::<Int8Type>(array))
            .or_else(|| widen::<UInt64Type>(array))
            .or_else(|| widen::<UInt32Type>(array))
            .or_else(|| widen::<UInt16Type>(array))
            .or_else(|| widen::<UInt8Type>(array))?;
        Some(Ints(values))
    }

    /// Value `i`; `None` when null or past the end.
    pub(super) fn get(&self, i: usize) -> Option<i128> {
        self.0.get(i).copied().flatten()
    }
}

fn widen<T: ArrowPrimitiveType>(array: &dyn Array) -> Option<Vec<Option<i128>>>
where
    T::Native: Into<i128>,
{
    let a = array.as_primitive_opt::<T>()?;
    Some(a.iter().map(|v| v.map(Into::into)).collect())
}

/// A float column (`Float32` widened losslessly to `f64`).
pub(super) struct Floats(Vec<Option<f64>>);

impl Floats {
    /// The values, or `None` when the array is not a float column.
    pub(super) fn new(array: &dyn Array) -> Option<Self> {
        use arrow_array::types::{Float32Type, Float64Type};
        if let Some(a) = array.as_primitive_opt::<Float64Type>() {
            return Some(Floats(a.iter().collect()));
        }
        let a = array.as_primitive_opt::<Float32Type>()?;
        Some(Floats(a.iter().map(|v| v.map(f64::from)).collect()))
    }

    /// Value `i`; `None` when null or past the end.
    pub(super) fn get(&self, i: usize) -> Option<f64> {
        self.0.get(i).copied().flatten()
    }
}

/// A text column that may also be stored as integers (`version`).
pub(super) enum Text<'a> {
    Str(Strs<'a>),
    Int(Ints),
}

impl<'a> Text<'a> {
    pub(super) fn new(array: &'a dyn Array) -> Option<Self> {
        Strs::new(array)
            .map(Text::Str)
            .or_else(|| Ints::new(array).map(Text::Int))
    }

    /// Value `i` as text; `None` when null or past the end.
    pub(super) fn get(&self, i: usize) -> Option<String> {
        match self {
            Text::Str(s) => s.get(i).map(str::to_string),
            Text::Int(n) => n.get(i).map(|v| v.to_string()),
        }
    }
}

/// A list-of-UTF8 column, 32- or 64-bit offsets.
pub(super) enum StrLists<'a> {
    Small(&'a GenericListArray<i32>, Strs<'a>),
    Large(&'a GenericListArray<i64>, Strs<'a>),
}

impl<'a> StrLists<'a> {
    /// The view, or `None` when the array is not a list of UTF8.
    pub(super) fn new(array: &'a dyn Array) -> Option<Self> {
        if let Some(a) = array.as_list_opt::<i32>() {
            return Some(StrLists::Small(a, Strs::new(a.values().as_ref())?));
        }
        let a = array.as_list_opt::<i64>()?;
        Some(StrLists::Large(a, Strs::new(a.values().as_ref())?))
    }

    /// List `i`: `None` when null, an error when an item is null (the schema's lists hold
    /// strings, and a null in one has no meaning) or the offsets are corrupt. `what` names the
    /// column in the error.
    pub(super) fn get(&self, i: usize, what: &str) -> Option<Result<Vec<String>, String>> {
        match self {
            StrLists::Small(a, items) => list_at(*a, *items, i, what),
            StrLists::Large(a, items) => list_at(*a, *items, i, what),
        }
    }
}

fn list_at<O: OffsetSizeTrait>(
    list: &GenericListArray<O>,
    items: Strs,
    i: usize,
    what: &str,
) -> Option<Result<Vec<String>, String>> {
    if i >= list.len() || list.is_null(i) {
        return None;
    }
    let offsets = list.value_offsets();
    let (Some(start), Some(end)) = (offsets.get(i), offsets.get(i + 1)) else {
        return Some(Err(format!("{what}: corrupt list offsets")));
    };
    let range = start.as_usize()..end.as_usize();
    Some(
        range
            .enumerate()
            .map(|(n, j)| {
                items
                    .get(j)
                    .map(str::to_string)
                    .ok_or_else(|| format!("{what}[{n}] is null; lists hold strings only"))
            })
            .collect(),
    )
}
