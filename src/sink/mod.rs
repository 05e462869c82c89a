//! Where output goes: an object store opened from a URL, and Parquet files written into it.

pub mod budget;
mod encode;
pub mod parquet;
pub mod raw;
pub mod store;
pub mod upload;

pub use budget::WriteBudget;
pub use parquet::{
    DEFAULT_BUDGET_BYTES, FileWritten, MIN_UPLOAD_PART_BYTES, PartitionWriter, WriterSettings,
};
pub use store::Output;
