//! Where output goes: an object store opened from a URL, and Parquet files written into it.

pub mod parquet;
pub mod raw;
pub mod store;

pub use parquet::{FileWritten, PartitionWriter, WriterSettings};
pub use store::Output;
