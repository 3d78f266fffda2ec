//! Anything-as-a-Source imports (docs/imports.md): the building blocks of an import, pure and streaming.
//!
//! - [`source`]: a CSV file or an HTTP JSON endpoint read record by record ([`SourceReader`]), and the
//!   source preview.
//! - [`mapping`]: a record → an identity-source user ([`apply`](mapping::apply)), the mapping check and
//!   the suggested mapping from column names ([`suggest`](mapping::suggest)).
//! - [`validate`]: the per-record rules, duplicate externalIds, the reject threshold, rejects as CSV.
//! - [`spool`]: the plan's mapped records as JSON lines, read back by line range, and the delta hash.

pub mod api;
pub mod mapping;
pub mod run;
pub mod schedule;
pub mod source;
pub mod spool;
pub mod validate;

pub use mapping::{
    ATTRIBUTES, ActiveRule, AttributeRule, ImportMapping, Mapped, MappedPreviewRow, Transform,
};
pub use source::{Item, Record, SourcePreview, SourceReader, SourceSpec};
pub use spool::{SpoolReader, SpoolWriter, content_hash, spool_path};
pub use validate::{Reject, Validator};
