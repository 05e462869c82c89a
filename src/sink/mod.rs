//! Where output goes: an object store opened from a URL, and Parquet files written into it.

pub mod parquet;
pub mod raw;
pub mod store;
pub mod upload;

pub use parquet::{FileWritten, MIN_UPLOAD_PART_BYTES, PartitionWriter, WriterSettings};
pub use store::Output;
