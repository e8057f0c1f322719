//! Why a request can fail.

/// Why an index could not be loaded into isolate memory. Plain data: it is stored for the
/// requests waiting on a load and tested natively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// No manifest in KV: nothing was published for this index yet.
    NoManifest { index: String },
    /// The index is larger than the whole memory budget.
    TooLarge {
        index: String,
        bytes: u64,
        budget: u64,
    },
    /// KV failed, a chunk is missing, or the bytes are corrupt.
    Failed { index: String, detail: String },
}

impl LoadError {
    /// The machine-readable code of the 503 this error answers with.
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::NoManifest { .. } => "not_published",
            LoadError::TooLarge { .. } => "index_too_large",
            LoadError::Failed { .. } => "load_failed",
        }
    }

    /// What went wrong and how to fix it, for people.
    pub fn message(&self) -> String {
        match self {
            LoadError::NoManifest { index } => format!(
                "index `{index}` has no manifest in KV yet; publish it with `edgesuggest publish`"
            ),
            LoadError::TooLarge {
                index,
                bytes,
                budget,
            } => format!(
                "index `{index}` needs {bytes} bytes, more than this worker's memory budget of \
                 {budget} bytes (MEMORY_BUDGET_BYTES); split it or raise the budget"
            ),
            LoadError::Failed { index, detail } => {
                format!("index `{index}` could not be loaded: {detail}")
            }
        }
    }
}
