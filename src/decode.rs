//! Served records (JSON) → Arrow record batches, one set per output table of a dataset.
//!
//! The decoder is driven by the table schemas: each column says which payload field it reads,
//! so adding a column is a schema edit, not a code change. Every field of an entity lands
//! somewhere: in its column, in a child table (the schema's `nested` fields), or, when this
//! schema version does not know it (or its value has an unexpected type), in the row's
//! `extra_fields` JSON column, counted per table and field so the run can warn about it.
//! Nothing is silently dropped. A required column (a key) that is missing or has an unexpected
//! type fails the record instead, and a failed record leaves no row behind.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, ListBuilder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use chrono::{DateTime, NaiveDate, Utc};
use rustc_hash::FxHashMap;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::json::{Fields, Json, field, write_fields};
use crate::schema::{Catalog, ColumnType, Source, TableSchema};

/// Days from 0001-01-01 (CE) to 1970-01-01, to turn a `NaiveDate` into Arrow's Date32.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Parses an API instant (`2026-11-01T12:34:56.789Z`) to microseconds since the epoch.
///
/// The API's own form (UTC, `Z`, up to nine fraction digits) is read directly; anything else
/// RFC 3339 allows (an offset, a leap second) goes through chrono, with the same result.
pub fn parse_instant(s: &str) -> Option<i64> {
    parse_utc_instant(s.as_bytes()).or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc).timestamp_micros())
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, or `None` for any other form. Digits are read at
/// their fixed places, two at a time, each checked by one subtraction: an aggregate row reads
/// two instants twice (to check the row, then to append it), and a loop per field cost about
/// 50 instructions an instant more (benches/profile.md, "Tenth round").
fn parse_utc_instant(b: &[u8]) -> Option<i64> {
    /// Ten powers: a fraction of `n` digits is scaled to nanoseconds by `SCALE[n]`.
    const SCALE: [u64; 10] = [
        1_000_000_000,
        100_000_000,
        10_000_000,
        1_000_000,
        100_000,
        10_000,
        1_000,
        100,
        10,
        1,
    ];
    #[inline(always)]
    fn digit(c: u8) -> Option<u32> {
        let d = c.wrapping_sub(b'0');
        (d < 10).then_some(u32::from(d))
    }
    #[inline(always)]
    fn two(b: &[u8], i: usize) -> Option<u32> {
        Some(digit(b[i])? * 10 + digit(b[i + 1])?)
    }
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' || !matches!(b[b.len() - 1], b'Z' | b'z') {
        return None;
    }
    let (hour, minute, second) = (two(b, 11)?, two(b, 14)?, two(b, 17)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let micros = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
            let mut n = 0u64;
            for &c in frac {
                n = n * 10 + u64::from(digit(c)?);
            }
            // The first six digits are microseconds; further digits are truncated, as chrono.
            (n * SCALE[frac.len()] / 1_000) as i64
        }
        _ => return None,
    };
    let year = two(b, 0)? * 100 + two(b, 2)?;
    let date = NaiveDate::from_ymd_opt(year as i32, two(b, 5)?, two(b, 8)?)?;
    let days = i64::from(date32(date));
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some(secs * 1_000_000 + micros)
}

/// A `NaiveDate` as Arrow Date32 (days since 1970-01-01).
pub fn date32(d: NaiveDate) -> i32 {
    use chrono::Datelike;
    d.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE
}

/// One Arrow builder per column type.
enum ColumnBuilder {
    Str(StringBuilder),
    I64(Int64Builder),
    F64(Float64Builder),
    Bool(BooleanBuilder),
    Ts(TimestampMicrosecondBuilder),
    Date(Date32Builder),
    StrList(ListBuilder<StringBuilder>),
    I64List(ListBuilder<Int64Builder>),
}

/// A value did not have the column's type; the caller keeps it in `extra_fields` instead.
struct Mismatch;

/// The last instant a timestamp column read: its text and its value.
///
/// Rows repeat instants: an aggregate row carries its bucket's start and end, the same for
/// every metric of the bucket, and a required instant is read twice (to check its row, then
/// to append it). Comparing the text to the last one read costs less than reading it again
/// (benches/profile.md, "Eleventh round"). Compared by content, never by address: a page's
/// memory is reused by the next.
#[derive(Clone, Copy, Default)]
struct LastInstant {
    len: u8,
    text: [u8; 32],
    micros: i64,
}

impl LastInstant {
    /// `s` read as an instant, from the memo when `s` is the text read last.
    #[inline]
    fn read(memo: &std::cell::Cell<LastInstant>, s: &str) -> Option<i64> {
        let last = memo.get();
        let b = s.as_bytes();
        // No instant is empty: a memo that kept nothing (`len` 0) answers nothing.
        if last.len != 0 && usize::from(last.len) == b.len() && last.text[..b.len()] == *b {
            return Some(last.micros);
        }
        let micros = parse_instant(s)?;
        if b.len() <= last.text.len() {
            let mut text = [0u8; 32];
            text[..b.len()].copy_from_slice(b);
            memo.set(LastInstant {
                len: b.len() as u8,
                text,
                micros,
            });
        }
        Some(micros)
    }
}

/// The last object a JSON column kept (see [`LastJson::keeps`]), owned, with its text.
///
/// An aggregate row carries its group's dimensions as a JSON column, the same object for every
/// bucket and metric of the group: writing it anew cost 7% of an aggregates rebuild. A value
/// equal to the last one (the same fields, in the same order, with the same values) has the
/// same text, so the text is copied instead. Only small flat objects are kept, and a column
/// whose objects rarely repeat (a conversation's attributes) stops keeping them: a miss costs
/// a comparison and an owned copy of the object.
struct LastJson {
    value: Json<'static>,
    /// Checked to be UTF-8 once, when written: a hit appends it as it is (checking each hit
    /// again was 0.8% of an aggregates rebuild).
    text: String,
    hits: u32,
    misses: u32,
}

impl LastJson {
    /// At most this many fields for an object to be kept.
    const MAX_FIELDS: usize = 8;

    /// Whether a column with these counts still keeps its last object: always for its first
    /// 16 misses, then while at least one object in four repeats the one before.
    fn worth_it(hits: u32, misses: u32) -> bool {
        misses < 16 || hits >= misses / 3
    }

    /// Whether `v` is kept: a small flat object without fractions. serde_json's equality
    /// takes `0.0` and `-0.0` for the same number, which it writes differently; an object
    /// equal to the kept one must have the same text.
    fn keeps(v: &Json<'_>) -> bool {
        matches!(v, Json::Object(f) if f.len() <= Self::MAX_FIELDS
        && f.iter().all(|(_, v)| match v {
            Json::Object(_) | Json::Array(_) => false,
            Json::Number(n) => !n.is_f64(),
            _ => true,
        }))
    }

    /// Appends `v`'s text to `b`: the last text when `v` equals the last object, else
    /// written (and `v` kept, when the column still keeps objects).
    fn append(
        memo: &mut Option<LastJson>,
        v: &Json<'_>,
        b: &mut StringBuilder,
        scratch: &mut Vec<u8>,
    ) {
        if let Some(m) = memo.as_mut() {
            if *v == m.value {
                m.hits = m.hits.saturating_add(1);
                return b.append_value(&m.text);
            }
            m.misses = m.misses.saturating_add(1);
        }
        scratch.clear();
        v.write_to(scratch);
        let text = append_text(b, scratch);
        let (hits, misses) = memo.as_ref().map_or((0, 0), |m| (m.hits, m.misses));
        if !Self::worth_it(hits, misses) {
            // Stopped: nothing kept, so each object after this is told apart at once (no
            // object equals `null`), and the counts stay to keep the column stopped.
            if let Some(m) = memo.as_mut() {
                m.value = Json::Null;
                m.text = String::new();
            }
        } else if let Some(text) = text.filter(|_| Self::keeps(v)) {
            let m = memo.get_or_insert_with(|| LastJson {
                value: Json::Null,
                text: String::new(),
                hits,
                misses,
            });
            m.value = v.to_owned_json();
            m.text.clear();
            m.text.push_str(text);
        }
    }
}

/// [`convert`], reading instants through `memo` (the column's last instant).
#[inline]
fn convert_memo<'a>(
    ty: ColumnType,
    v: &'a Json<'a>,
    memo: &std::cell::Cell<LastInstant>,
) -> std::result::Result<Cell<'a>, Mismatch> {
    match (ty, v) {
        (ColumnType::Timestamp, Json::Str(s)) => {
            LastInstant::read(memo, s).map(Cell::Ts).ok_or(Mismatch)
        }
        _ => convert(ty, v),
    }
}

/// A field kept in `extra_fields`: the node (table) of its row, the field as served, and
/// whether it is a known field of an unexpected type.
type Unknown<'a> = (usize, &'a str, bool);

/// Buffers of one record's append pass, shared by its rows (one row is appended at a time).
struct Scratch<'a> {
    /// The row's fields that columns read: (column, field as served, value).
    touched: Vec<(usize, &'a str, &'a Json<'a>)>,
    /// The row's fields kept in `extra_fields`.
    extra: Vec<(&'a str, &'a Json<'a>)>,
    unknown: Vec<Unknown<'a>>,
    /// The row's value of each of its table's path roots ([`TableBuilder::path_roots`]).
    roots: Vec<Option<&'a Json<'a>>>,
}

/// One column's value for one row, converted and checked, waiting to be appended.
#[derive(Clone)]
enum Cell<'a> {
    Null,
    Str(std::borrow::Cow<'a, str>),
    /// A value kept as JSON text, serialised straight into the column when appended.
    Json(&'a Json<'a>),
    I64(i64),
    F64(f64),
    Bool(bool),
    /// Microseconds since the epoch.
    Ts(i64),
    /// Days since the epoch.
    Date(i32),
    StrList(Vec<Option<&'a str>>),
    I64List(Vec<Option<i64>>),
}

/// Converts a JSON value to a column's type; JSON null is a null cell.
fn convert<'a>(ty: ColumnType, v: &'a Json<'a>) -> std::result::Result<Cell<'a>, Mismatch> {
    if v.is_null() {
        return Ok(Cell::Null);
    }
    Ok(match ty {
        ColumnType::Json => Cell::Json(v),
        ColumnType::String => match v {
            Json::Str(s) => Cell::Str(std::borrow::Cow::Borrowed(s)),
            _ => return Err(Mismatch),
        },
        ColumnType::Int64 => Cell::I64(json_i64(v).ok_or(Mismatch)?),
        ColumnType::Float64 => Cell::F64(v.as_f64().ok_or(Mismatch)?),
        ColumnType::Boolean => Cell::Bool(v.as_bool().ok_or(Mismatch)?),
        ColumnType::Timestamp => Cell::Ts(v.as_str().and_then(parse_instant).ok_or(Mismatch)?),
        ColumnType::Date => {
            let d = v
                .as_str()
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
            Cell::Date(date32(d.ok_or(Mismatch)?))
        }
        ColumnType::StringList => Cell::StrList(
            v.as_array()
                .ok_or(Mismatch)?
                .iter()
                .map(|i| match i {
                    Json::Null => Ok(None),
                    Json::Str(s) => Ok(Some(&**s)),
                    _ => Err(Mismatch),
                })
                .collect::<std::result::Result<_, _>>()?,
        ),
        ColumnType::Int64List => Cell::I64List(
            v.as_array()
                .ok_or(Mismatch)?
                .iter()
                .map(|i| {
                    if i.is_null() {
                        Ok(None)
                    } else {
                        json_i64(i).map(Some).ok_or(Mismatch)
                    }
                })
                .collect::<std::result::Result<_, _>>()?,
        ),
    })
}

impl ColumnBuilder {
    fn new(ty: ColumnType) -> Self {
        match ty {
            ColumnType::String | ColumnType::Json => ColumnBuilder::Str(StringBuilder::new()),
            ColumnType::Int64 => ColumnBuilder::I64(Int64Builder::new()),
            ColumnType::Float64 => ColumnBuilder::F64(Float64Builder::new()),
            ColumnType::Boolean => ColumnBuilder::Bool(BooleanBuilder::new()),
            ColumnType::Timestamp => {
                ColumnBuilder::Ts(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
            }
            ColumnType::Date => ColumnBuilder::Date(Date32Builder::new()),
            ColumnType::StringList => {
                ColumnBuilder::StrList(ListBuilder::new(StringBuilder::new()))
            }
            ColumnType::Int64List => ColumnBuilder::I64List(ListBuilder::new(Int64Builder::new())),
        }
    }

    fn append_null(&mut self) {
        match self {
            ColumnBuilder::Str(b) => b.append_null(),
            ColumnBuilder::I64(b) => b.append_null(),
            ColumnBuilder::F64(b) => b.append_null(),
            ColumnBuilder::Bool(b) => b.append_null(),
            ColumnBuilder::Ts(b) => b.append_null(),
            ColumnBuilder::Date(b) => b.append_null(),
            ColumnBuilder::StrList(b) => b.append_null(),
            ColumnBuilder::I64List(b) => b.append_null(),
        }
    }

    #[inline]
    fn len(&self) -> usize {
        match self {
            ColumnBuilder::Str(b) => b.len(),
            ColumnBuilder::I64(b) => b.len(),
            ColumnBuilder::F64(b) => b.len(),
            ColumnBuilder::Bool(b) => b.len(),
            ColumnBuilder::Ts(b) => b.len(),
            ColumnBuilder::Date(b) => b.len(),
            ColumnBuilder::StrList(b) => b.len(),
            ColumnBuilder::I64List(b) => b.len(),
        }
    }

    /// Fills the rows before `row` this column has no value for with nulls. Columns are
    /// written sparsely: a row appends only the values it has, and the gaps are filled in one
    /// step when the column's next value (or the batch's end) comes. A session row sets about
    /// 14 of its table's 93 columns.
    #[inline]
    fn pad(&mut self, row: usize) {
        let n = row.saturating_sub(self.len());
        if n > 0 {
            self.append_nulls(n);
        }
    }

    fn append_nulls(&mut self, n: usize) {
        match self {
            ColumnBuilder::Str(b) => b.append_nulls(n),
            ColumnBuilder::I64(b) => b.append_nulls(n),
            ColumnBuilder::F64(b) => b.append_nulls(n),
            ColumnBuilder::Bool(b) => b.append_nulls(n),
            ColumnBuilder::Ts(b) => b.append_nulls(n),
            ColumnBuilder::Date(b) => b.append_nulls(n),
            ColumnBuilder::StrList(b) => b.append_nulls(n),
            ColumnBuilder::I64List(b) => b.append_nulls(n),
        }
    }

    /// Appends `fields` as one JSON object (`extra_fields`), written as a `Value` would be.
    fn append_object(&mut self, fields: &[(&str, &Json<'_>)], scratch: &mut Vec<u8>) {
        let ColumnBuilder::Str(b) = self else {
            return self.append_null();
        };
        scratch.clear();
        write_fields(fields, scratch);
        append_text(b, scratch);
    }

    /// Appends a converted value. Cells are made for their column's type (see [`convert`]);
    /// one of another type would be a defect, and is appended as null so the row stays whole.
    /// `scratch` is a buffer reused for JSON text.
    fn append(&mut self, cell: Cell<'_>, scratch: &mut Vec<u8>) {
        match (self, cell) {
            (b, Cell::Null) => b.append_null(),
            (ColumnBuilder::Str(b), Cell::Str(s)) => b.append_value(s),
            (ColumnBuilder::Str(b), Cell::Json(v)) => {
                scratch.clear();
                v.write_to(scratch);
                append_text(b, scratch);
            }

            (ColumnBuilder::I64(b), Cell::I64(n)) => b.append_value(n),
            (ColumnBuilder::F64(b), Cell::F64(x)) => b.append_value(x),
            (ColumnBuilder::Bool(b), Cell::Bool(x)) => b.append_value(x),
            (ColumnBuilder::Ts(b), Cell::Ts(micros)) => b.append_value(micros),
            (ColumnBuilder::Date(b), Cell::Date(days)) => b.append_value(days),
            (ColumnBuilder::StrList(b), Cell::StrList(items)) => {
                for i in items {
                    b.values().append_option(i);
                }
                b.append(true);
            }
            (ColumnBuilder::I64List(b), Cell::I64List(items)) => {
                for i in items {
                    b.values().append_option(i);
                }
                b.append(true);
            }
            (b, _) => b.append_null(),
        }
    }

    /// A builder of `ty` sized for `rows` values (and `bytes` of text): what the batch before
    /// held and a quarter more, so the next one, much like it, grows no buffer. Without the
    /// margin a page a few rows longer than the one before doubled every buffer of its table
    /// at its end, copying all of it (benches/profile.md, "Twelfth round"); capacity a batch
    /// does not use is never touched, so it costs address space, not memory.
    fn with_capacity(ty: ColumnType, rows: usize, bytes: usize) -> Self {
        match ty {
            ColumnType::String | ColumnType::Json => {
                ColumnBuilder::Str(StringBuilder::with_capacity(rows, bytes))
            }
            ColumnType::Int64 => ColumnBuilder::I64(Int64Builder::with_capacity(rows)),
            ColumnType::Float64 => ColumnBuilder::F64(Float64Builder::with_capacity(rows)),
            ColumnType::Boolean => ColumnBuilder::Bool(BooleanBuilder::with_capacity(rows)),
            ColumnType::Timestamp => ColumnBuilder::Ts(
                TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC"),
            ),
            ColumnType::Date => ColumnBuilder::Date(Date32Builder::with_capacity(rows)),
            ColumnType::StringList | ColumnType::Int64List => ColumnBuilder::new(ty),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Str(b) => Arc::new(b.finish()),
            ColumnBuilder::I64(b) => Arc::new(b.finish()),
            ColumnBuilder::F64(b) => Arc::new(b.finish()),
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
            ColumnBuilder::Ts(b) => Arc::new(b.finish()),
            ColumnBuilder::Date(b) => Arc::new(b.finish()),
            ColumnBuilder::StrList(b) => Arc::new(b.finish()),
            ColumnBuilder::I64List(b) => Arc::new(b.finish()),
        }
    }
}

/// Appends JSON text written to `scratch`. Its text is UTF-8 (copies of strings, and
/// serde_json's); were it not, the cell is null rather than wrong. Gives the text appended.
fn append_text<'s>(b: &mut StringBuilder, scratch: &'s [u8]) -> Option<&'s str> {
    match std::str::from_utf8(scratch) {
        Ok(text) => {
            b.append_value(text);
            Some(text)
        }
        Err(_) => {
            b.append_null();
            None
        }
    }
}

/// An integer the API may serve as `12` or `12.0`.
fn json_i64(v: &Json) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

/// A column's source, resolved once when the builder is made.
enum Plan {
    Field,
    /// A value nested in a field (`division.id`), read without claiming the field: the
    /// field (an index into [`TableBuilder::path_roots`]) and the steps below it.
    Path(usize, Vec<String>),
    /// A field of an enclosing entity (`parent:session.sessionId`): the value the entity at
    /// `depth` exported in `slot` (see [`Node::exports`]), and the field's name. `None` when
    /// no enclosing entity has the name (the column is null), and until the tree resolves it
    /// ([`TreeDecoder::new`]).
    ParentAt(Option<(usize, usize)>, String),
    /// The list position of an enclosing entity: its depth, resolved as `ParentAt`.
    ParentIndexAt(Option<usize>),
    RunId,
    Date,
    Index,
    Extra,
}

/// The enclosing entities of the row being appended, outermost first.
struct Context<'a> {
    /// The root record, for error messages.
    root: Option<&'a Fields<'a>>,
    /// One frame per enclosing entity, outermost first: an entity's depth in the tree is
    /// its index here.
    stack: Vec<Frame>,
    /// The values the enclosing entities export to the rows below them, read and converted
    /// once per entity (each frame's run of them starts at its `values`).
    values: Vec<Exported<'a>>,
    date: i32,
    run_id: &'a str,
}

/// A value an entity exports to the rows below it: the field as served (absent: `None`), and
/// the cell its readers' type makes of it.
///
/// Converted when the entity is entered, not per row below it: a conversation's start is read
/// by every session, segment and metric row of the conversation, and converting it per row
/// parsed each instant of a day's pages 2.8 times (benches/profile.md, "Sixth round").
struct Exported<'a> {
    value: Option<&'a Json<'a>>,
    cell: std::result::Result<Cell<'a>, Mismatch>,
}

struct Frame {
    /// Where this entity's exported values start in [`Context::values`].
    values: usize,
    index: usize,
}

/// Where a row's field goes, remembered per position in the row.
///
/// A table's rows come with their fields in the same order (one serializer writes them all),
/// so the field at a position is most often the one there in the row before. Confirming that
/// is one comparison of the key; looking it up hashes it and compares it too (the lookups
/// were 1.4% of a conversation day's instructions). Only columns and the schema's nested
/// fields are remembered, by index, so nothing is allocated; a field of neither kind is looked
/// up each time (it is rare, and warned about).
#[derive(Clone, Copy)]
enum Slot {
    Unknown,
    Column(u32),
    Nested(u32),
}

/// Builds one table's batch.
struct TableBuilder {
    schema: Arc<TableSchema>,
    plans: Vec<Plan>,
    builders: Vec<ColumnBuilder>,
    /// JSON field name → column index, for `field:` columns.
    by_field: FxHashMap<String, usize>,
    /// Per column, the field it reads (`field:` columns), to confirm a remembered slot.
    field_names: Vec<Option<String>>,
    /// Where the field at each position of the last row went (see [`Slot`]).
    slots: Vec<Slot>,
    /// The fields that `Path` columns read into, each once: an aggregate row's 16 group
    /// dimensions (`groupDimensions.queueId`, ...) look `groupDimensions` up once, not 16 times.
    path_roots: Vec<String>,
    /// Per path root, the keys of the object it held in the last row, in order: while a row's
    /// object has the same keys, each one-step `Path` column's field is where it was
    /// ([`TableBuilder::path_at`]).
    root_keys: Vec<Vec<String>>,
    /// Per column, for `Path` columns of one step, the position of its field in its root's
    /// object of the last row (the last of a repeated key, as [`field`] finds), or `None` when
    /// the object had no such field.
    ///
    /// An aggregate row's 16 group dimensions each searched the group's fields by name (64
    /// comparisons of keys per row for four dimensions); with the group's keys compared once
    /// per row, a row of a group shaped as the last one's finds all 16 at once (about −2.3% of
    /// an aggregates rebuild's instructions: benches/profile.md, "Sixteenth round").
    path_at: Vec<Option<u32>>,
    /// The schema's nested fields, each with its index in `schema.nested`.
    nested: FxHashMap<String, u32>,
    /// The columns that can refuse a row (required ones, and keys read from enclosing
    /// entities, which must have their type): what [`TableBuilder::check`] looks at.
    checked: Vec<usize>,
    /// Of `checked`, those read from the row itself (its fields, or a path below them).
    row_checked: Vec<usize>,
    /// Of `checked`, those read from enclosing entities: the same for every row of a list,
    /// so checked once per list (see [`TableBuilder::context_holds`]).
    context_checked: Vec<usize>,
    /// The columns not read from a field of the row's own entity (nor `extra_fields`).
    computed: Vec<usize>,
    extra: Option<usize>,
    /// Per column, the row number (+1) its field was last seen in, to find a repeated key.
    seen: Vec<usize>,
    rows: usize,
    /// Reused for JSON text appended to string columns.
    scratch: Vec<u8>,
    /// Per column, the last instant it read (used by timestamp columns only); a `Cell`, as
    /// [`TableBuilder::check`] reads through `&self`.
    instants: Vec<std::cell::Cell<LastInstant>>,
    /// Per column, the last object it wrote as JSON (used by JSON columns only).
    objects: Vec<Option<LastJson>>,
}

impl TableBuilder {
    fn new(schema: Arc<TableSchema>) -> Result<Self> {
        let mut by_field = FxHashMap::default();
        let mut path_roots: Vec<String> = Vec::new();
        let mut plans = Vec::with_capacity(schema.columns.len());
        for (i, c) in schema.columns.iter().enumerate() {
            plans.push(match &c.source {
                Source::Field(f) => {
                    by_field.insert(f.clone(), i);
                    Plan::Field
                }
                Source::Path(steps) => {
                    let (first, rest) = steps.split_first().ok_or_else(|| Error::Schema {
                        table: schema.table.clone(),
                        message: format!("column {} reads an empty path", c.name),
                    })?;
                    let root = match path_roots.iter().position(|r| r == first) {
                        Some(at) => at,
                        None => {
                            path_roots.push(first.clone());
                            path_roots.len() - 1
                        }
                    };
                    Plan::Path(root, rest.to_vec())
                }
                Source::Parent { field, .. } => Plan::ParentAt(None, field.clone()),
                Source::ParentIndex(_) => Plan::ParentIndexAt(None),
                Source::RunId => Plan::RunId,
                Source::ConversationDate | Source::SnapshotDate | Source::PartitionDate => {
                    Plan::Date
                }
                Source::Index => Plan::Index,
                Source::ExtraFields => Plan::Extra,
            });
        }
        let builders = schema
            .columns
            .iter()
            .map(|c| ColumnBuilder::new(c.ty))
            .collect();
        let nested = (0..)
            .zip(&schema.nested)
            .map(|(n, f): (u32, &String)| (f.clone(), n))
            .collect();
        let field_names = schema
            .columns
            .iter()
            .map(|c| match &c.source {
                Source::Field(f) => Some(f.clone()),
                _ => None,
            })
            .collect();
        let columns = plans.len();
        let mut table = TableBuilder {
            schema,
            plans,
            builders,
            by_field,
            field_names,
            slots: Vec::new(),
            root_keys: vec![Vec::new(); path_roots.len()],
            path_at: vec![None; columns],
            path_roots,
            nested,
            checked: Vec::new(),
            row_checked: Vec::new(),
            context_checked: Vec::new(),
            computed: Vec::new(),
            extra: None,
            seen: Vec::new(),
            rows: 0,
            scratch: Vec::new(),
            instants: Vec::new(),
            objects: Vec::new(),
        };
        table.classify();
        Ok(table)
    }

    /// Sorts the columns into what [`TableBuilder::check`] and [`TableBuilder::append_row`]
    /// visit.
    fn classify(&mut self) {
        let (mut checked, mut computed, mut extra) = (Vec::new(), Vec::new(), None);
        for (i, (plan, c)) in self.plans.iter().zip(&self.schema.columns).enumerate() {
            match plan {
                Plan::Extra => extra = Some(i),
                Plan::Field => {}
                _ => computed.push(i),
            }
            if (!c.nullable && !matches!(plan, Plan::Extra)) || matches!(plan, Plan::ParentAt(..)) {
                checked.push(i);
            }
        }
        let of = |keep: fn(&Plan) -> bool| -> Vec<usize> {
            checked
                .iter()
                .copied()
                .filter(|&i| keep(&self.plans[i]))
                .collect()
        };
        self.row_checked = of(|p| matches!(p, Plan::Field | Plan::Path(..)));
        self.context_checked = of(|p| matches!(p, Plan::ParentAt(..) | Plan::ParentIndexAt(_)));
        self.seen = vec![0; self.plans.len()];
        self.instants = vec![Default::default(); self.plans.len()];
        self.objects = self.plans.iter().map(|_| None).collect();
        (self.checked, self.computed, self.extra) = (checked, computed, extra);
    }

    /// Fails the row made from `entity` if it would break a required column (absent, null or
    /// of another type) or read a key of another type from an enclosing entity. Nothing is
    /// appended: a record is checked whole before any of its rows is, so a record refused
    /// leaves no row behind.
    fn check<'a>(&self, entity: &'a Fields<'a>, ctx: &Context<'a>) -> Result<()> {
        self.check_columns(&self.checked, entity, ctx)
    }

    /// [`TableBuilder::check`] of a row whose enclosing entities are known to pass
    /// ([`TableBuilder::context_holds`]): only the columns read from the row itself. A leaf
    /// table's rows (a session's metrics, a segment's properties) read nothing required
    /// of their own, and checking each one's parent keys again was most of the check
    /// (benches/profile.md, "Twelfth round").
    fn check_row<'a>(&self, entity: &'a Fields<'a>, ctx: &Context<'a>) -> Result<()> {
        self.check_columns(&self.row_checked, entity, ctx)
    }

    /// Whether the columns read from enclosing entities would let a row of this table under
    /// `ctx` through. When they would not, its rows are checked whole, so that the error is
    /// the one [`TableBuilder::check`] gives.
    fn context_holds(&self, ctx: &Context<'_>) -> bool {
        self.context_checked.is_empty()
            || self.check_columns(&self.context_checked, &[], ctx).is_ok()
    }

    /// Checks `columns` (of `checked`, in order) of the row made from `entity`.
    fn check_columns<'a>(
        &self,
        columns: &[usize],
        entity: &'a Fields<'a>,
        ctx: &Context<'a>,
    ) -> Result<()> {
        for &i in columns {
            let column = &self.schema.columns[i];
            let fail = |what: String| Error::Payload {
                path: self.schema.path.clone(),
                message: format!("{} row of {} has {what}", self.schema.table, ctx.describe()),
            };
            let value = match &self.plans[i] {
                Plan::Field => match &column.source {
                    Source::Field(f) => match field(entity, f) {
                        Some(v) if convert_memo(column.ty, v, &self.instants[i]).is_err() => {
                            return Err(fail(format!(
                                "{} of an unexpected type (required): {}",
                                column.name,
                                short(v)
                            )));
                        }
                        v => v,
                    },
                    _ => None,
                },
                // A mistyped nested value stays in its whole field; this column is null.
                Plan::Path(root, steps) => below(field(entity, &self.path_roots[*root]), steps)
                    .filter(|v| convert(column.ty, v).is_ok()),
                Plan::ParentAt(at, f) => match ctx.exported(*at) {
                    Some(Exported {
                        value: Some(v),
                        cell: Err(Mismatch),
                    }) => {
                        return Err(Error::Payload {
                            path: self.schema.path.clone(),
                            message: format!("{f} has an unexpected type: {}", short(v)),
                        });
                    }
                    e => e.and_then(|e| e.value),
                },
                Plan::ParentIndexAt(depth) if depth.and_then(|d| ctx.stack.get(d)).is_some() => {
                    continue;
                }
                Plan::RunId | Plan::Date | Plan::Index => continue,
                _ => None,
            };
            if !column.nullable && value.is_none_or(Json::is_null) {
                return Err(fail(format!("no {} (required)", column.name)));
            }
        }
        Ok(())
    }

    /// Where the field `key`, at position `at` of its row, goes: the slot remembered for that
    /// position when it names `key`, else looked up (and remembered).
    #[inline]
    fn slot(&mut self, at: usize, key: &str) -> Slot {
        let remembered = match self.slots.get(at) {
            Some(&Slot::Column(i)) => self.field_names[i as usize].as_deref() == Some(key),
            Some(&Slot::Nested(n)) => self.schema.nested[n as usize] == key,
            _ => false,
        };
        if remembered {
            return self.slots[at];
        }
        let slot = if let Some(&i) = self.by_field.get(key) {
            Slot::Column(i as u32)
        } else if let Some(&n) = self.nested.get(key) {
            Slot::Nested(n)
        } else {
            Slot::Unknown
        };
        if at < self.slots.len() {
            self.slots[at] = slot;
        } else if at == self.slots.len() {
            self.slots.push(slot);
        }
        slot
    }

    /// Appends the row made from `entity` (checked before): the values it has, with the
    /// fields no column names (or of an unexpected type) kept in `extra_fields` and counted
    /// into `unknown`.
    fn append_row<'a>(
        &mut self,
        node: usize,
        entity: &'a Fields<'a>,
        ctx: &Context<'a>,
        index: usize,
        s: &mut Scratch<'a>,
    ) {
        let row = self.rows;
        let Scratch {
            touched,
            extra,
            unknown,
            roots,
        } = s;
        touched.clear();
        extra.clear();
        for (at, (k, v)) in entity.iter().enumerate() {
            let k: &'a str = k;
            let slot = self.slot(at, k);
            if let Slot::Column(i) = slot {
                let i = i as usize;
                if self.seen[i] == row + 1 {
                    // A key served twice: the last one counts, as in a `Value`.
                    if let Some(t) = touched.iter_mut().find(|t| t.0 == i) {
                        *t = (i, k, v);
                    }
                } else {
                    self.seen[i] = row + 1;
                    touched.push((i, k, v));
                }
            } else if matches!(slot, Slot::Unknown) {
                // Served twice (or merged from two levels of an item): the last one counts,
                // and the field is counted once, as in a `Value`.
                if extra.is_empty() || !replace_repeated(extra, k, v) {
                    extra.push((k, v));
                    unknown.push((node, k, false));
                }
            }
        }
        for &(i, served, v) in touched.iter() {
            match convert_memo(self.schema.columns[i].ty, v, &self.instants[i]) {
                Ok(Cell::Null) => {}
                Ok(Cell::Json(v)) if matches!(v, Json::Object(_)) => {
                    let b = &mut self.builders[i];
                    b.pad(row);
                    match b {
                        ColumnBuilder::Str(b) => {
                            LastJson::append(&mut self.objects[i], v, b, &mut self.scratch)
                        }
                        b => b.append(Cell::Json(v), &mut self.scratch),
                    }
                }
                Ok(cell) => {
                    let b = &mut self.builders[i];
                    b.pad(row);
                    b.append(cell, &mut self.scratch);
                }
                // Keep the value as served; the column stays null for this row.
                Err(Mismatch) => {
                    extra.push((served, v));
                    unknown.push((node, served, true));
                }
            }
        }
        roots.clear();
        roots.extend(self.path_roots.iter().map(|r| field(entity, r)));
        for (r, root) in roots.iter().enumerate() {
            if let Some(Json::Object(fields)) = root {
                self.locate_paths(r, fields);
            }
        }
        for &i in &self.computed {
            let ty = self.schema.columns[i].ty;
            let cell = match &self.plans[i] {
                Plan::Path(root, steps) => match (roots[*root], steps.as_slice()) {
                    (Some(Json::Object(fields)), [_]) => self.path_at[i]
                        .and_then(|at| fields.get(at as usize))
                        .and_then(|(_, v)| convert(ty, v).ok()),
                    _ => below(roots[*root], steps).and_then(|v| convert(ty, v).ok()),
                },
                Plan::ParentIndexAt(depth) => depth
                    .and_then(|d| ctx.stack.get(d))
                    .map(|f| Cell::I64(f.index as i64)),
                Plan::ParentAt(at, _) => ctx
                    .exported(*at)
                    .and_then(|e| e.cell.as_ref().ok().cloned()),
                Plan::RunId => Some(Cell::Str(ctx.run_id.into())),
                Plan::Date => Some(Cell::Date(ctx.date)),
                Plan::Index => Some(Cell::I64(index as i64)),
                // Not in `computed`: read from the row's own fields, or `extra_fields`.
                Plan::Field | Plan::Extra => None,
            };
            if let Some(cell) = cell.filter(|c| !matches!(c, Cell::Null)) {
                let b = &mut self.builders[i];
                b.pad(row);
                b.append(cell, &mut self.scratch);
            }
        }
        if let Some(i) = self.extra
            && !extra.is_empty()
        {
            let b = &mut self.builders[i];
            b.pad(row);
            b.append_object(extra, &mut self.scratch);
        }
        self.rows += 1;
    }

    /// Makes [`TableBuilder::path_at`] hold for the object `fields` of path root `r`: as it is
    /// when the object has the last one's keys, in the same order; else found again.
    #[inline]
    fn locate_paths(&mut self, r: usize, fields: &Fields<'_>) {
        let keys = &mut self.root_keys[r];
        if keys.len() == fields.len() && keys.iter().zip(fields).all(|(a, (b, _))| a == b) {
            return;
        }
        keys.resize_with(fields.len(), String::new);
        for (key, (k, _)) in keys.iter_mut().zip(fields) {
            key.clear();
            key.push_str(k);
        }
        for (at, plan) in self.path_at.iter_mut().zip(&self.plans) {
            if let Plan::Path(root, steps) = plan
                && *root == r
                && let [step] = steps.as_slice()
            {
                *at = fields
                    .iter()
                    .rposition(|(k, _)| k == step)
                    .map(|p| p as u32);
            }
        }
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.builders.len());
        for (b, c) in self.builders.iter_mut().zip(&self.schema.columns) {
            b.pad(self.rows);
            let array = b.finish();
            let bytes = match b {
                ColumnBuilder::Str(_) => {
                    array.as_string_opt::<i32>().map_or(0, |a| a.values().len())
                }
                _ => 0,
            };
            *b = ColumnBuilder::with_capacity(c.ty, array.len() * 5 / 4, bytes * 5 / 4);
            arrays.push(array);
        }
        self.rows = 0;
        self.seen.fill(0);
        RecordBatch::try_new(self.schema.arrow_schema(), arrays).map_err(|e| Error::Encode {
            table: self.schema.table.clone(),
            message: e.to_string(),
        })
    }
}

/// Replaces the value of `key` in `fields` if it is there (a key served twice), and says so.
#[cold]
#[inline(never)]
fn replace_repeated<'a>(
    fields: &mut [(&'a str, &'a Json<'a>)],
    key: &str,
    v: &'a Json<'a>,
) -> bool {
    match fields.iter_mut().find(|f| f.0 == key) {
        Some(kept) => {
            kept.1 = v;
            true
        }
        None => false,
    }
}

/// The value at `steps` below `value` (`division` → `id`), if every step is an object field.
fn below<'a>(value: Option<&'a Json<'a>>, steps: &[String]) -> Option<&'a Json<'a>> {
    let mut at = value?;
    for step in steps {
        at = at.get(step)?;
    }
    Some(at)
}

impl<'a> Context<'a> {
    /// The value an enclosing entity exported (see [`Plan::ParentAt`]).
    fn exported(&self, at: Option<(usize, usize)>) -> Option<&Exported<'a>> {
        let (depth, slot) = at?;
        let frame = self.stack.get(depth)?;
        self.values.get(frame.values + slot)
    }

    /// Names the record a row comes from, for error messages.
    fn describe(&self) -> String {
        let Some(root) = self.root else {
            return "an entity".to_string();
        };
        match field(root, "conversationId").and_then(Json::as_str) {
            Some(id) => format!("conversation {id}"),
            None => match field(root, "id").and_then(Json::as_str) {
                Some(id) => format!("entity {id}"),
                None => "an entity without an id".to_string(),
            },
        }
    }
}

/// A decoded conversation's partition and identity, for the caller's bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationKey {
    pub id: String,
    /// Microseconds since the epoch.
    pub start_micros: i64,
}

impl ConversationKey {
    /// The UTC date of the start: the conversation's partition.
    pub fn day(&self) -> Result<NaiveDate> {
        DateTime::from_timestamp_micros(self.start_micros)
            .map(|t| t.date_naive())
            .ok_or_else(|| Error::Payload {
                path: "conversations[]".into(),
                message: format!("conversation {} starts out of range", self.id),
            })
    }
}

/// Reads a conversation's id and start, the two fields everything else hangs on.
pub fn conversation_key(conv: &Value) -> Result<ConversationKey> {
    conversation_key_json(&Json::from_value(conv))
}

/// [`conversation_key`] of a record read as [`Json`].
pub fn conversation_key_json(conv: &Json) -> Result<ConversationKey> {
    let fail = |message: String| Error::Payload {
        path: "conversations[]".into(),
        message,
    };
    let id = conv
        .get("conversationId")
        .and_then(Json::as_str)
        .ok_or_else(|| fail("a conversation has no conversationId".into()))?;
    let start = conv
        .get("conversationStart")
        .and_then(Json::as_str)
        .ok_or_else(|| fail(format!("conversation {id} has no conversationStart")))?;
    let start_micros = parse_instant(start).ok_or_else(|| {
        fail(format!(
            "conversation {id} has an unreadable conversationStart {start:?}"
        ))
    })?;
    Ok(ConversationKey {
        id: id.to_string(),
        start_micros,
    })
}

/// One table in the tree of a conversation's tables.
struct Node {
    table: TableBuilder,
    /// The field of the parent entity this table's entities come from (`sessions`, `flow`).
    field: String,
    /// A list of entities (`segments[]`) or a single object (`flow`).
    list: bool,
    children: Vec<usize>,
    /// The fields of this entity that rows below it read (`parent:session.sessionId`), with
    /// the type they are read as: looked up and converted once per entity rather than once
    /// per row.
    exports: Vec<(String, ColumnType)>,
}

/// The entity name of a path step: `participants[]` → participant, `properties[]` → property,
/// `flow` → flow.
fn entity_name(step: &str) -> (String, String, bool) {
    let list = step.ends_with("[]");
    let field = step.trim_end_matches("[]").to_string();
    let entity = if !list {
        field.clone()
    } else if let Some(stem) = field.strip_suffix("ies") {
        format!("{stem}y")
    } else {
        field.strip_suffix('s').unwrap_or(&field).to_string()
    };
    (entity, field, list)
}

/// Turns a dataset's root records into rows of every table of the dataset.
///
/// The tables form a tree given by their schemas' `path` (`conversations[].participants[]`,
/// `...sessions[].flow.outcomes[]`); one walk over a record fills them all, and each row can
/// read keys of its enclosing entities (`parent:session.sessionId`). A flat listing (a
/// dimension) is the one-table case.
///
/// A dataset may have several root tables (one-step paths such as `shifts[]` and
/// `fullDayTimeOffMarkers[]`: one served item holds both, and neither is the other's child).
/// Its records are then envelopes naming each root's list (`{"shifts": [...],
/// "fullDayTimeOffMarkers": [...]}`), and a field that names no root fails the record rather
/// than being dropped.
pub struct TreeDecoder {
    run_id: String,
    nodes: Vec<Node>,
    /// The root tables (one-step paths), the first table first.
    roots: Vec<usize>,
    unknown: BTreeMap<(String, String), u64>,
    /// The walk's buffers, kept empty between records so that each record reuses their
    /// allocations (growing them anew for every conversation cost 3% of `rebuild` in copies).
    spare: Spare,
}

/// The buffers of [`Scratch`] and of the walk's [`Context`] between records: empty, holding
/// only their allocations.
#[derive(Default)]
struct Spare {
    touched: Vec<(usize, &'static str, &'static Json<'static>)>,
    extra: Vec<(&'static str, &'static Json<'static>)>,
    unknown: Vec<Unknown<'static>>,
    roots: Vec<Option<&'static Json<'static>>>,
    stack: Vec<Frame>,
    values: Vec<Exported<'static>>,
}

/// An empty vector on `v`'s allocation, for elements of another lifetime: collecting from a
/// vector's own iterator into elements of the same layout reuses its allocation.
fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

impl TreeDecoder {
    /// A decoder for `tables` (one dataset's, parents first, the root first).
    pub fn new(tables: &[Arc<TableSchema>], run_id: &str) -> Result<Self> {
        let steps: Vec<Vec<&str>> = tables.iter().map(|t| t.path.split('.').collect()).collect();
        let mut nodes = Vec::with_capacity(tables.len());
        let mut entities = Vec::with_capacity(tables.len());
        for (t, path) in tables.iter().zip(&steps) {
            let last = path.last().copied().unwrap_or_default();
            let (entity, field, list) = entity_name(last);
            entities.push(entity);
            nodes.push(Node {
                table: TableBuilder::new(t.clone())?,
                field,
                list,
                children: Vec::new(),
                exports: Vec::new(),
            });
        }
        let mut roots = Vec::new();
        let mut parents = vec![None; nodes.len()];
        for (i, path) in steps.iter().enumerate() {
            match steps
                .iter()
                .position(|p| p.len() + 1 == path.len() && path.starts_with(p))
            {
                Some(parent) => {
                    nodes[parent].children.push(i);
                    parents[i] = Some(parent);
                }
                None if path.len() == 1 => roots.push(i),
                None => {
                    return Err(Error::Schema {
                        table: tables[i].table.clone(),
                        message: format!("no table has the parent path of {}", tables[i].path),
                    });
                }
            }
        }
        if roots.first() != Some(&0) || (roots.len() > 1 && roots.iter().any(|&r| !nodes[r].list)) {
            return Err(Error::Schema {
                table: tables.first().map_or_else(String::new, |t| t.table.clone()),
                message:
                    "a dataset needs a root table listed first (several roots must all be lists)"
                        .into(),
            });
        }
        // Each `parent:` column reads the nearest enclosing entity of its name: found here
        // once, as a depth and an exported value, instead of searched for by name per row.
        let depth = |mut n: usize| {
            let mut d = 0;
            while let Some(p) = parents[n] {
                (n, d) = (p, d + 1);
            }
            d
        };
        for n in 0..nodes.len() {
            let enclosing = |name: &str| {
                let mut at = parents[n];
                while let Some(a) = at {
                    if entities[a] == name {
                        return Some(a);
                    }
                    at = parents[a];
                }
                None
            };
            let schema = nodes[n].table.schema.clone();
            for (i, column) in schema.columns.iter().enumerate() {
                let resolved = match &column.source {
                    Source::ParentIndex(entity) => {
                        Plan::ParentIndexAt(enclosing(entity).map(depth))
                    }
                    Source::Parent { entity, field: f } => {
                        let export = (f.clone(), column.ty);
                        let at = enclosing(entity).map(|a| {
                            let exports = &mut nodes[a].exports;
                            let slot = exports.iter().position(|e| *e == export);
                            let slot = slot.unwrap_or_else(|| {
                                exports.push(export.clone());
                                exports.len() - 1
                            });
                            (depth(a), slot)
                        });
                        Plan::ParentAt(at, f.clone())
                    }
                    _ => continue,
                };
                nodes[n].table.plans[i] = resolved;
            }
        }
        Ok(TreeDecoder {
            run_id: run_id.to_string(),
            nodes,
            roots,
            unknown: BTreeMap::new(),
            spare: Spare::default(),
        })
    }

    /// Appends one root record and everything under it, in the partition of `date`.
    ///
    /// All or nothing: every row of the record is converted and checked before any is
    /// appended, so a record refused with an error leaves no row (and counts no unknown
    /// field), and the decoder goes on with the next record.
    pub fn push(&mut self, record: &Value, date: NaiveDate) -> Result<()> {
        self.push_json(&Json::from_value(record), date)
    }

    /// [`TreeDecoder::push`] of a record read as [`Json`] (borrowed from its page).
    pub fn push_json<'a>(&mut self, record: &'a Json<'a>, date: NaiveDate) -> Result<()> {
        let obj = record.as_object().ok_or_else(|| Error::Payload {
            path: self.nodes[0].table.schema.path.clone(),
            message: format!("an item is not a JSON object: {}", short(record)),
        })?;
        let mut ctx = Context {
            root: Some(obj),
            stack: std::mem::take(&mut self.spare.stack),
            values: recycle(std::mem::take(&mut self.spare.values)),
            date: date32(date),
            run_id: &self.run_id,
        };
        let id = field(obj, "conversationId")
            .or_else(|| field(obj, "id"))
            .and_then(Json::as_str)
            .unwrap_or("without an id");
        let walk = Walk { record_id: id };
        // The record's rows, each with its node, entity and position: the envelope's roots,
        // or the one root and (walked below) everything under it.
        let mut roots: Vec<(usize, &'a Fields<'a>, usize)> = Vec::new();
        if self.roots.len() == 1 {
            roots.push((0, obj, 0));
        } else {
            // An envelope: each field is one root's list.
            if let Some((other, _)) = obj
                .iter()
                .find(|(k, _)| !self.roots.iter().any(|&r| self.nodes[r].field == **k))
            {
                return Err(Error::Payload {
                    path: self.nodes[0].table.schema.path.clone(),
                    message: format!("a record holds {other:?}, which no root table reads"),
                });
            }
            for &r in &self.roots {
                for (i, o) in objects(obj, &self.nodes[r].field, id)?.iter().enumerate() {
                    if let Json::Object(o) = o {
                        roots.push((r, o, i));
                    }
                }
            }
        }
        // All or nothing: the whole record is checked, then appended.
        for &(r, o, i) in &roots {
            ctx.root = Some(o);
            walk.check(&self.nodes, r, o, i, &mut ctx, false)?;
        }
        let mut scratch = Scratch {
            touched: recycle(std::mem::take(&mut self.spare.touched)),
            extra: recycle(std::mem::take(&mut self.spare.extra)),
            unknown: recycle(std::mem::take(&mut self.spare.unknown)),
            roots: recycle(std::mem::take(&mut self.spare.roots)),
        };
        for &(r, o, i) in &roots {
            ctx.root = Some(o);
            walk.append(&mut self.nodes, r, o, i, &mut ctx, &mut scratch);
        }
        for (node, field, mistyped) in scratch.unknown.drain(..) {
            let field = if mistyped {
                format!("{field} (unexpected type)")
            } else {
                field.to_string()
            };
            let table = self.nodes[node].table.schema.table.clone();
            *self.unknown.entry((table, field)).or_default() += 1;
        }
        ctx.stack.clear();
        self.spare = Spare {
            touched: recycle(scratch.touched),
            extra: recycle(scratch.extra),
            unknown: recycle(scratch.unknown),
            roots: recycle(scratch.roots),
            stack: ctx.stack,
            values: recycle(ctx.values),
        };
        Ok(())
    }

    /// Rows buffered so far, over all tables.
    pub fn buffered_rows(&self) -> usize {
        self.nodes.iter().map(|n| n.table.rows).sum()
    }

    /// Emits one batch per table (possibly empty), in catalog order, and resets the builders.
    pub fn finish(&mut self) -> Result<Vec<(Arc<TableSchema>, RecordBatch)>> {
        self.nodes
            .iter_mut()
            .map(|n| Ok((n.table.schema.clone(), n.table.finish()?)))
            .collect()
    }

    /// Unknown (or mistyped) fields seen since the last call, per (table, field).
    pub fn take_unknown_fields(&mut self) -> BTreeMap<(String, String), u64> {
        std::mem::take(&mut self.unknown)
    }
}

/// The start of a value's text, for error messages.
fn short(v: &Json) -> String {
    let text = v.to_string();
    match text.char_indices().nth(120) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}

/// The conversation dataset's decoder: a [`TreeDecoder`] that partitions each conversation by
/// the UTC date of its start.
pub struct ConversationDecoder {
    tree: TreeDecoder,
}

impl ConversationDecoder {
    pub fn new(catalog: &Catalog, run_id: &str) -> Result<Self> {
        Ok(ConversationDecoder {
            tree: TreeDecoder::new(&catalog.dataset_tables("conversations"), run_id)?,
        })
    }

    /// Appends one conversation and everything under it.
    pub fn push(&mut self, conv: &Value) -> Result<()> {
        let key = conversation_key(conv)?;
        self.tree.push(conv, key.day()?)
    }

    pub fn buffered_rows(&self) -> usize {
        self.tree.buffered_rows()
    }

    pub fn finish(&mut self) -> Result<Vec<(Arc<TableSchema>, RecordBatch)>> {
        self.tree.finish()
    }

    pub fn take_unknown_fields(&mut self) -> BTreeMap<(String, String), u64> {
        self.tree.take_unknown_fields()
    }
}

/// What one walk over a record shares.
struct Walk<'a> {
    /// The root record's id, for error messages.
    record_id: &'a str,
}

impl<'a> Walk<'a> {
    /// Checks the row `object` makes in node `idx`, then everything under it
    /// ([`TableBuilder::check`]); appends nothing.
    fn check(
        &self,
        nodes: &[Node],
        idx: usize,
        object: &'a Fields<'a>,
        index: usize,
        ctx: &mut Context<'a>,
        context_holds: bool,
    ) -> Result<()> {
        let table = &nodes[idx].table;
        if context_holds {
            table.check_row(object, ctx)?;
        } else {
            table.check(object, ctx)?;
        }
        if nodes[idx].children.is_empty() {
            return Ok(());
        }
        enter(ctx, &nodes[idx], object, index);
        for &child in &nodes[idx].children {
            let (field, list) = (&nodes[child].field, nodes[child].list);
            if list {
                let items = objects(object, field, self.record_id)?;
                if items.is_empty() {
                    continue;
                }
                // Every item of the list has the same enclosing entities.
                let holds = nodes[child].table.context_holds(ctx);
                // Items that read nothing required of their own and have nothing below them
                // (a session's metrics) pass as they are: `objects` found each an object.
                if holds
                    && nodes[child].children.is_empty()
                    && nodes[child].table.row_checked.is_empty()
                {
                    continue;
                }
                for (i, o) in items.iter().enumerate() {
                    if let Json::Object(o) = o {
                        self.check(nodes, child, o, i, ctx, holds)?;
                    }
                }
            } else {
                match self::field(object, field) {
                    None | Some(Json::Null) => {}
                    Some(Json::Object(o)) => self.check(nodes, child, o, 0, ctx, false)?,
                    Some(other) => {
                        return Err(Error::Payload {
                            path: field.clone(),
                            message: format!(
                                "record {}: {field} is not an object but {other}",
                                self.record_id
                            ),
                        });
                    }
                }
            }
        }
        leave(ctx);
        Ok(())
    }

    /// Appends the row `object` makes in node `idx`, then everything under it, in the order
    /// [`Walk::check`] checked them (which found nothing that could fail here).
    fn append(
        &self,
        nodes: &mut [Node],
        idx: usize,
        object: &'a Fields<'a>,
        index: usize,
        ctx: &mut Context<'a>,
        s: &mut Scratch<'a>,
    ) {
        nodes[idx].table.append_row(idx, object, ctx, index, s);
        if nodes[idx].children.is_empty() {
            return;
        }
        enter(ctx, &nodes[idx], object, index);
        for c in 0..nodes[idx].children.len() {
            let child = nodes[idx].children[c];
            match self::field(object, &nodes[child].field) {
                Some(Json::Array(items)) if nodes[child].list => {
                    for (i, o) in items.iter().enumerate() {
                        if let Json::Object(o) = o {
                            self.append(nodes, child, o, i, ctx, s);
                        }
                    }
                }
                Some(Json::Object(o)) if !nodes[child].list => {
                    self.append(nodes, child, o, 0, ctx, s);
                }
                _ => {}
            }
        }
        leave(ctx);
    }
}

/// Enters an entity with children: its frame, and the values its descendants read from it.
fn enter<'a>(ctx: &mut Context<'a>, node: &Node, object: &'a Fields<'a>, index: usize) {
    ctx.stack.push(Frame {
        values: ctx.values.len(),
        index,
    });
    for (f, ty) in &node.exports {
        let value = field(object, f);
        let cell = value.map_or(Ok(Cell::Null), |v| convert(*ty, v));
        ctx.values.push(Exported { value, cell });
    }
}

fn leave(ctx: &mut Context<'_>) {
    if let Some(frame) = ctx.stack.pop() {
        ctx.values.truncate(frame.values);
    }
}

/// The items of a list field, every one checked to be an object (so the caller takes the
/// objects in order); an absent field is an empty list.
fn objects<'a>(parent: &'a Fields<'a>, field: &str, record_id: &str) -> Result<&'a [Json<'a>]> {
    match self::field(parent, field) {
        None | Some(Json::Null) => Ok(&[]),
        Some(Json::Array(items)) => match items.iter().position(|v| v.as_object().is_none()) {
            None => Ok(items),
            Some(i) => Err(Error::Payload {
                path: format!("{field}[{i}]"),
                message: format!("record {record_id}: {field}[{i}] is not an object"),
            }),
        },
        Some(other) => Err(Error::Payload {
            path: field.to_string(),
            message: format!("record {record_id}: {field} is not a list but {other}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int64Type, TimestampMicrosecondType};
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "conversationId": "c1",
            "conversationStart": "2026-11-01T23:50:00.000Z",
            "conversationEnd": "2026-11-02T00:10:00.500Z",
            "divisionIds": ["d1", "d2"],
            "mediaStatsMinConversationMos": 4.2,
            "brandNewField": {"x": 1},
            "participants": [{
                "participantId": "p1", "purpose": "customer",
                "attributes": {"crm.caseId": "CASE-1"},
                "sessions": [{
                    "sessionId": "s1", "mediaType": "voice", "routingRing": "two",
                    "flow": {"flowId": "f1", "outcomes": [{"flowOutcome": "o"}]},
                    "segments": [
                        {"segmentStart": "2026-11-01T23:50:00.000Z", "segmentType": "ivr", "q850ResponseCodes": [16]},
                        {"segmentStart": "2026-11-01T23:55:00.000Z", "segmentType": "interact"}
                    ],
                    "metrics": [{"name": "tTalk", "value": 1200, "emitDate": "2026-11-02T00:10:00.000Z"}]
                }]
            }]
        })
    }

    fn decode(
        v: &Value,
    ) -> (
        BTreeMap<String, RecordBatch>,
        BTreeMap<(String, String), u64>,
    ) {
        let mut d = ConversationDecoder::new(Catalog::builtin(), "run-1").unwrap();
        d.push(v).unwrap();
        (by_table(d.finish().unwrap()), d.take_unknown_fields())
    }

    /// A decoder's finished batches by table name.
    fn by_table(finished: Vec<(Arc<TableSchema>, RecordBatch)>) -> BTreeMap<String, RecordBatch> {
        finished
            .into_iter()
            .map(|(s, b)| (s.table.clone(), b))
            .collect()
    }

    #[test]
    fn a_conversation_fans_out_into_five_tables_with_keys_carried_down() {
        let (b, _) = decode(&sample());
        let rows: Vec<_> = [
            "conversations",
            "participants",
            "sessions",
            "segments",
            "session_metrics",
        ]
        .iter()
        .map(|t| b[*t].num_rows())
        .collect();
        assert_eq!(rows, [1, 1, 1, 2, 1]);
        let seg = &b["segments"];
        let ids = seg.column_by_name("session_id").unwrap().as_string::<i32>();
        assert_eq!(ids.value(1), "s1");
        let idx = seg
            .column_by_name("segment_index")
            .unwrap()
            .as_primitive::<Int64Type>();
        assert_eq!(idx.values().to_vec(), vec![0, 1]);
        let date = seg
            .column_by_name("conversation_date")
            .unwrap()
            .as_primitive::<arrow_array::types::Date32Type>();
        assert_eq!(
            date.value(0),
            date32(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap())
        );
        // A value read by the rows below its entity reaches every row of every table.
        let start = parse_instant("2026-11-01T23:50:00.000Z");
        let mut tables = 0;
        for (t, batch) in &b {
            let Some(col) = batch.column_by_name("conversation_start") else {
                continue;
            };
            let col = col.as_primitive::<TimestampMicrosecondType>();
            assert!(col.iter().all(|v| v == start), "{t}: {col:?}");
            tables += 1;
        }
        assert!(tables >= 6, "{tables} tables");
    }

    #[test]
    fn the_fast_instant_reader_agrees_with_chrono() {
        let chrono = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc).timestamp_micros())
        };
        for s in [
            "2026-11-01T12:34:56.789Z",
            "2026-11-01T12:34:56Z",
            "2026-11-01T12:34:56.1Z",
            "2026-11-01T12:34:56.123456789Z",
            "1969-12-31T23:59:59.999999Z",
            "2024-02-29T00:00:00.000Z",
            "2026-02-29T00:00:00.000Z",
            "2026-13-01T00:00:00.000Z",
            "2026-11-01T24:00:00.000Z",
            "2026-11-01T12:34:60Z",
            "2026-11-01T12:34:56.Z",
            "2026-11-01T12:34:56.1234567890Z",
            "2026-11-01T12:34:56+02:00",
            "2026-11-01 12:34:56Z",
            "yesterday",
            "",
        ] {
            assert_eq!(parse_instant(s), chrono(s), "{s}");
        }
        // The fast reader alone: whatever it reads, it reads as chrono does (`parse_instant`
        // falls back to chrono, so comparing that alone would not see a fast reader that
        // gives up too often).
        let fast = |s: &str| parse_utc_instant(s.as_bytes());
        let agree = |s: &str| {
            assert_eq!(parse_instant(s), chrono(s), "{s}");
            if let Some(v) = fast(s) {
                assert_eq!(Some(v), chrono(s), "{s}");
            }
        };
        // Every day of five centuries, and the impossible days of leap and common years.
        use chrono::Datelike;
        let mut day = NaiveDate::from_ymd_opt(1800, 1, 1).unwrap();
        while day.year() < 2300 {
            let s = format!("{}T23:59:58.5Z", day.format("%Y-%m-%d"));
            agree(&s);
            assert!(fast(&s).is_some(), "{s}");
            day = day.succ_opt().unwrap();
        }
        // Every byte of a well-formed instant replaced by its neighbours in ASCII (those of
        // '0' and '9' are '/' and ':'), a digit replaced by one outside ASCII, and the
        // fraction cut at every length.
        let base = "2026-11-01T12:34:56.123456789Z";
        for at in 0..base.len() {
            for delta in [-1i8, 1, 10, -10] {
                let mut b = base.as_bytes().to_vec();
                b[at] = b[at].wrapping_add_signed(delta);
                if let Ok(s) = std::str::from_utf8(&b) {
                    agree(s);
                }
            }
            if base.as_bytes()[at].is_ascii_digit() {
                for other in ["\u{663}", "\u{ff10}"] {
                    let s = format!("{}{other}{}", &base[..at], &base[at + 1..]);
                    agree(&s);
                    assert_eq!(fast(&s), None, "{s}");
                }
            }
            let s = format!("{}Z", &base[..at]);
            agree(&s);
            assert_eq!(fast(&s).is_some(), at == 19 || at > 20, "{s}");
        }
        for year in [0, 1900, 2000, 2023, 2024, 9999] {
            for month in 0..=13 {
                for d in [0, 28, 29, 30, 31, 32] {
                    let s = format!("{year:04}-{month:02}-{d:02}T00:00:00Z");
                    agree(&s);
                }
            }
        }
    }

    #[test]
    fn instants_are_utc_microseconds() {
        let (b, _) = decode(&sample());
        let end = b["conversations"]
            .column_by_name("conversation_end")
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>();
        assert_eq!(end.value(0), 1_793_578_200_500_000);
    }

    /// The last-instant memo gives what a fresh read gives, whatever came before: the same
    /// text again, another of the same length, a prefix, text too long to keep, and text that
    /// is no instant (never kept, so never answered from the memo).
    #[test]
    fn the_instant_memo_answers_only_the_text_it_read() {
        let texts = [
            "2026-11-28T00:30:00.000Z",
            "2026-11-28T00:30:00.000Z",
            "2026-11-28T01:00:00.000Z",
            "2026-11-28T00:30:00.000Z",
            "2026-11-28T00:30:00Z",
            "2026-11-28T00:30:00.0Z",
            "2026-11-28T00:30:00.123456789+05:30",
            "2026-11-28T00:30:00.123456789+05:30",
            "2026-11-28T00:30:00.000Z",
            "2026-11-28T00:30:00.000X",
            "2026-11-28T00:30:00.000Z",
            "",
            "2026-11-28T00:30:00.000Z",
        ];
        // A memo that kept nothing answers nothing: not the empty text at first, nor after
        // an instant too long to keep.
        for first in [
            &["", "2026-11-28T00:30:00Z"][..],
            &["2026-11-28T00:30:00.123456789+05:30", ""],
        ] {
            let memo = std::cell::Cell::new(LastInstant::default());
            for t in first {
                assert_eq!(LastInstant::read(&memo, t), parse_instant(t), "{t:?} first");
            }
        }
        let memo = std::cell::Cell::new(LastInstant::default());
        for (i, t) in texts.iter().enumerate() {
            assert_eq!(
                LastInstant::read(&memo, t),
                parse_instant(t),
                "text {i}: {t}"
            );
        }
        // The memo is filled by the last instant read, and answers that text alone.
        assert_eq!(memo.get().len, 24);
        let other = "2026-11-28T00:30:00.001Z";
        assert_eq!(LastInstant::read(&memo, other), parse_instant(other));
        assert_ne!(parse_instant(other), parse_instant(texts[0]));
    }

    #[test]
    fn unknown_and_mistyped_fields_are_kept_in_extra_fields_and_counted() {
        let (b, unknown) = decode(&sample());
        let extra = b["conversations"]
            .column_by_name("extra_fields")
            .unwrap()
            .as_string::<i32>();
        assert_eq!(extra.value(0), r#"{"brandNewField":{"x":1}}"#);
        let sess_extra = b["sessions"]
            .column_by_name("extra_fields")
            .unwrap()
            .as_string::<i32>();
        assert_eq!(sess_extra.value(0), r#"{"routingRing":"two"}"#);
        assert!(
            b["sessions"]
                .column_by_name("routing_ring")
                .unwrap()
                .is_null(0)
        );
        assert_eq!(
            unknown[&("conversations".to_string(), "brandNewField".to_string())],
            1
        );
        assert_eq!(
            unknown[&(
                "sessions".to_string(),
                "routingRing (unexpected type)".to_string()
            )],
            1
        );
        // Known fields leave extra_fields null.
        assert!(
            b["participants"]
                .column_by_name("extra_fields")
                .unwrap()
                .is_null(0)
        );
    }

    #[test]
    fn an_unknown_field_served_twice_is_kept_and_counted_once() {
        let text = sample().to_string().replacen(
            r#""brandNewField":{"x":1}"#,
            r#""brandNewField":{"x":1},"brandNewField":{"x":2}"#,
            1,
        );
        assert_ne!(text, sample().to_string(), "the sample has brandNewField");
        let record = Json::parse(&text).unwrap();
        let mut d =
            TreeDecoder::new(&Catalog::builtin().dataset_tables("conversations"), "r").unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        d.push_json(&record, date).unwrap();
        let batches = d.finish().unwrap();
        let conversations = &batches[0].1;
        let extra = conversations
            .column_by_name("extra_fields")
            .unwrap()
            .as_string::<i32>();
        assert_eq!(extra.value(0), r#"{"brandNewField":{"x":2}}"#);
        let unknown = d.take_unknown_fields();
        assert_eq!(
            unknown[&("conversations".to_string(), "brandNewField".to_string())],
            1
        );
    }

    #[test]
    fn nested_objects_without_a_table_are_kept_as_json() {
        let (b, _) = decode(&sample());
        let flow = b["sessions"]
            .column_by_name("flow")
            .unwrap()
            .as_string::<i32>();
        assert_eq!(
            flow.value(0),
            r#"{"flowId":"f1","outcomes":[{"flowOutcome":"o"}]}"#
        );
        let attrs = b["participants"]
            .column_by_name("attributes")
            .unwrap()
            .as_string::<i32>();
        assert_eq!(attrs.value(0), r#"{"crm.caseId":"CASE-1"}"#);
    }

    #[test]
    fn a_missing_key_is_an_error_naming_the_conversation() {
        let mut v = sample();
        v["participants"][0]
            .as_object_mut()
            .unwrap()
            .remove("participantId");
        let mut d = ConversationDecoder::new(Catalog::builtin(), "r").unwrap();
        let err = d.push(&v).unwrap_err().to_string();
        assert!(
            err.contains("conversation c1") && err.contains("participant_id"),
            "{err}"
        );
        // The refused conversation left no row in any table, not even its root's.
        d.push(&sample()).unwrap();
        let rows: BTreeMap<String, usize> = d
            .finish()
            .unwrap()
            .into_iter()
            .map(|(s, b)| (s.table.clone(), b.num_rows()))
            .collect();
        assert_eq!((rows["conversations"], rows["participants"]), (1, 1));
        assert_eq!((rows["sessions"], rows["segments"]), (1, 2));
    }

    /// A test table from its schema text.
    fn schema(text: &str) -> Arc<TableSchema> {
        Arc::new(TableSchema::parse("test", text).unwrap())
    }

    /// The root of the small `things` dataset the tests below build on: a required id, a
    /// nullable label, parts nested under it.
    fn things() -> Arc<TableSchema> {
        schema(
            r#"{"table": "things", "version": 1, "description": "d", "kind": "dimension",
                "dataset": "things", "model": "Thing", "path": "entities[]",
                "partition_column": "snapshot_date", "primary_key": ["id"], "nested": ["parts"],
                "columns": [
                  {"name": "id", "type": "string", "nullable": false, "source": "field:id", "description": "d"},
                  {"name": "snapshot_date", "type": "date", "nullable": false, "source": "meta:snapshot_date", "description": "d"},
                  {"name": "label", "type": "string", "nullable": true, "source": "field:label", "description": "d"},
                  {"name": "extra_fields", "type": "json", "nullable": true, "source": "meta:extra_fields", "description": "d"}]}"#,
        )
    }

    /// Pushes each record, requiring it accepted (`None`) or refused with an error that
    /// contains the text given.
    fn push_each(d: &mut TreeDecoder, records: &[(&str, Option<&str>)]) {
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        for &(text, refused) in records {
            let json = Json::parse(text).unwrap();
            match (d.push_json(&json, day), refused) {
                (Ok(()), None) => {}
                (Err(e), Some(why)) => assert!(e.to_string().contains(why), "{text}: {e}"),
                (got, _) => panic!("{text}: {got:?}"),
            }
        }
    }

    /// A list's rows are checked against their enclosing entities once per list, and the error
    /// a record gets is still the one a whole check of its first failing row gives, column by
    /// column: a row's own required field named before a mistyped parent key is what is
    /// reported; a later row of a list whose parents pass fails on its own field.
    #[test]
    fn rows_of_a_list_fail_as_a_whole_check_would() {
        let things = things();
        let parts = schema(
            r#"{"table": "parts", "version": 1, "description": "d", "kind": "dimension",
                "dataset": "things", "model": "Part", "path": "entities[].parts[]",
                "partition_column": "snapshot_date", "primary_key": ["thing_id", "name"],
                "nested": ["bits"],
                "columns": [
                  {"name": "name", "type": "string", "nullable": false, "source": "field:name", "description": "d"},
                  {"name": "thing_id", "type": "string", "nullable": false, "source": "parent:entity.id", "description": "d"},
                  {"name": "thing_label", "type": "string", "nullable": false, "source": "parent:entity.label", "description": "d"},
                  {"name": "size", "type": "int64", "nullable": true, "source": "field:size", "description": "d"},
                  {"name": "snapshot_date", "type": "date", "nullable": false, "source": "meta:snapshot_date", "description": "d"},
                  {"name": "part_index", "type": "int64", "nullable": false, "source": "meta:index", "description": "d"},
                  {"name": "extra_fields", "type": "json", "nullable": true, "source": "meta:extra_fields", "description": "d"}]}"#,
        );
        // A leaf that reads nothing required of its own: only its parents' values.
        let bits = schema(
            r#"{"table": "bits", "version": 1, "description": "d", "kind": "dimension",
                "dataset": "things", "model": "Bit", "path": "entities[].parts[].bits[]",
                "partition_column": "snapshot_date", "primary_key": ["thing_id", "part_index", "bit_index"],
                "nested": [],
                "columns": [
                  {"name": "thing_id", "type": "string", "nullable": false, "source": "parent:entity.id", "description": "d"},
                  {"name": "part_index", "type": "int64", "nullable": false, "source": "parent_index:part", "description": "d"},
                  {"name": "part_size", "type": "int64", "nullable": false, "source": "parent:part.size", "description": "d"},
                  {"name": "snapshot_date", "type": "date", "nullable": false, "source": "meta:snapshot_date", "description": "d"},
                  {"name": "bit_index", "type": "int64", "nullable": false, "source": "meta:index", "description": "d"}]}"#,
        );
        let mut d = TreeDecoder::new(&[things, parts, bits], "r").unwrap();
        let records = [
            (
                r#"{"id": "t1", "label": "L", "parts": [{"name": "a"}, {"name": "b"}]}"#,
                None,
            ),
            // The second part has no name, under a parent that passes.
            (
                r#"{"id": "t2", "label": "L", "parts": [{"name": "a"}, {"label": "b"}]}"#,
                Some("no name (required)"),
            ),
            // No name, under a parent whose label has another type: the name comes first.
            (
                r#"{"id": "t3", "label": 5, "parts": [{"label": "b"}]}"#,
                Some("no name (required)"),
            ),
            (
                r#"{"id": "t4", "label": 5, "parts": [{"name": "a"}]}"#,
                Some("label has an unexpected type: 5"),
            ),
            (
                r#"{"id": "t5", "parts": [{"name": "a"}]}"#,
                Some("no thing_label (required)"),
            ),
            // No parts: nothing of the parent is asked for.
            (r#"{"id": "t6", "parts": []}"#, None),
            (
                r#"{"id": "t7", "label": "L", "parts": [{"name": "a"}]}"#,
                None,
            ),
            // Bits under a part whose size they need: present, of another type, absent.
            (
                r#"{"id": "t8", "label": "L", "parts": [{"name": "a", "size": 1}, {"name": "b", "size": 2, "bits": [{}, {}]}]}"#,
                None,
            ),
            (
                r#"{"id": "t9", "label": "L", "parts": [{"name": "a", "size": "big", "bits": [{}]}]}"#,
                Some("size has an unexpected type"),
            ),
            (
                r#"{"id": "t10", "label": "L", "parts": [{"name": "a", "bits": [{}]}]}"#,
                Some("no part_size (required)"),
            ),
            (
                r#"{"id": "t11", "label": "L", "parts": [{"name": "a", "size": 3, "bits": [{}, 5]}]}"#,
                Some("bits[1] is not an object"),
            ),
            (
                r#"{"id": "t12", "label": "L", "parts": [{"name": "a", "size": 3, "bits": []}]}"#,
                None,
            ),
        ];
        push_each(&mut d, &records);
        let b = by_table(d.finish().unwrap());
        assert_eq!((b["things"].num_rows(), b["parts"].num_rows()), (5, 6));
        let bits = &b["bits"];
        let int = |name: &str| {
            let c = bits
                .column_by_name(name)
                .unwrap()
                .as_primitive::<Int64Type>();
            c.iter().map(Option::unwrap).collect::<Vec<i64>>()
        };
        assert_eq!(int("part_index"), [1, 1]);
        assert_eq!(int("part_size"), [2, 2]);
        assert_eq!(int("bit_index"), [0, 1]);
    }

    /// A value an entity exports is converted once per column type that reads it: two columns
    /// read one field as an instant and as text; a value of the wrong type for a column below
    /// refuses the whole record (the parent's own nullable column only set it aside), and an
    /// absent one leaves the columns null.
    #[test]
    fn exported_values_are_converted_for_each_reader_and_checked() {
        let things = things();
        let parts = schema(
            r#"{"table": "parts", "version": 1, "description": "d", "kind": "dimension",
                "dataset": "things", "model": "Part", "path": "entities[].parts[]",
                "partition_column": "snapshot_date", "primary_key": ["thing_id", "name"],
                "nested": [],
                "columns": [
                  {"name": "thing_id", "type": "string", "nullable": false, "source": "parent:entity.id", "description": "d"},
                  {"name": "snapshot_date", "type": "date", "nullable": false, "source": "meta:snapshot_date", "description": "d"},
                  {"name": "name", "type": "string", "nullable": false, "source": "field:name", "description": "d"},
                  {"name": "thing_label", "type": "string", "nullable": true, "source": "parent:entity.label", "description": "d"},
                  {"name": "made_at", "type": "timestamp", "nullable": true, "source": "parent:entity.made", "description": "d"},
                  {"name": "made_text", "type": "string", "nullable": true, "source": "parent:entity.made", "description": "d"}]}"#,
        );
        let mut d = TreeDecoder::new(&[things, parts], "r").unwrap();
        let records = [
            (
                r#"{"id": "t1", "label": "L", "made": "2026-11-01T00:00:00Z", "parts": [{"name": "a"}, {"name": "b"}]}"#,
                None,
            ),
            (
                r#"{"id": "t2", "label": 5, "parts": [{"name": "a"}]}"#,
                Some("label has an unexpected type: 5"),
            ),
            (r#"{"id": "t3", "parts": [{"name": "a"}]}"#, None),
        ];
        push_each(&mut d, &records);
        let b = by_table(d.finish().unwrap());
        assert_eq!((b["things"].num_rows(), b["parts"].num_rows()), (2, 3));
        let p = &b["parts"];
        let text = |name: &str, i: usize| {
            let c = p.column_by_name(name).unwrap().as_string::<i32>();
            (!c.is_null(i)).then(|| c.value(i).to_string())
        };
        let made = p
            .column_by_name("made_at")
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>();
        let at = parse_instant("2026-11-01T00:00:00Z");
        assert_eq!((made.value(0), made.value(1)), (at.unwrap(), at.unwrap()));
        assert_eq!(
            text("made_text", 1).as_deref(),
            Some("2026-11-01T00:00:00Z")
        );
        assert_eq!(text("thing_label", 0).as_deref(), Some("L"));
        assert_eq!(text("thing_id", 2).as_deref(), Some("t3"));
        assert!(
            made.is_null(2) && text("made_text", 2).is_none() && text("thing_label", 2).is_none()
        );
    }

    /// Columns are written sparsely (a row appends the values it has, gaps are filled with
    /// nulls later): rows with and without a value interleave correctly, a key served twice
    /// reads as its last value, and a record refused half-way leaves no row in any table.
    #[test]
    fn sparse_rows_repeated_keys_and_refused_records_leave_whole_columns() {
        let schema = Catalog::builtin().table("divisions").unwrap().clone();
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let mut d = TreeDecoder::new(&[schema], "r").unwrap();
        for text in [
            r#"{"id": "d1"}"#,
            r#"{"id": "d2", "name": "first", "name": "second"}"#,
            r#"{"name": "no id"}"#,
            r#"{"id": "d3", "homeDivision": "yes"}"#,
            r#"{"id": "d4", "name": "Four", "homeDivision": true}"#,
        ] {
            let json = Json::parse(text).unwrap();
            let _ = d.push_json(&json, day);
        }
        let b = d.finish().unwrap().remove(0).1;
        let col = |name: &str| b.column_by_name(name).unwrap().clone();
        let ids = col("id");
        let ids = ids.as_string::<i32>();
        assert_eq!(
            (0..b.num_rows()).map(|i| ids.value(i)).collect::<Vec<_>>(),
            ["d1", "d2", "d3", "d4"]
        );
        let names = col("name");
        let names = names.as_string::<i32>();
        assert!(names.is_null(0) && names.is_null(2));
        assert_eq!((names.value(1), names.value(3)), ("second", "Four"));
        let home = col("home_division");
        let home = home.as_boolean();
        assert!(home.is_null(0) && home.is_null(1) && home.is_null(2));
        assert!(home.value(3));
        let extra = col("extra_fields");
        let extra = extra.as_string::<i32>();
        assert_eq!(extra.value(2), r#"{"homeDivision":"yes"}"#);
        assert!(extra.is_null(0) && extra.is_null(1) && extra.is_null(3));
        let unknown = d.take_unknown_fields();
        assert_eq!(
            unknown.get(&("divisions".into(), "homeDivision (unexpected type)".into())),
            Some(&1)
        );
    }

    /// A record of one row that is refused leaves nothing behind: no row, no unknown field
    /// counted, no field marked as seen for the next row to take as a repeat; the error names
    /// the first failing required column. One accepted keeps the last of a repeated key.
    #[test]
    fn a_refused_record_of_one_row_leaves_nothing_behind() {
        let mut d = TreeDecoder::new(&[things()], "r").unwrap();
        push_each(
            &mut d,
            &[
                (
                    r#"{"label": "no id", "colour": "red"}"#,
                    Some("has no id (required)"),
                ),
                (r#"{"id": "t1", "label": "one"}"#, None),
                (
                    r#"{"label": "x", "id": 7, "size": 1}"#,
                    Some("id of an unexpected type (required): 7"),
                ),
                (r#"{"id": "t2", "colour": "blue", "id": "t3"}"#, None),
            ],
        );
        let b = d.finish().unwrap().remove(0).1;
        let col = |name: &str| b.column_by_name(name).unwrap().as_string::<i32>().clone();
        let (ids, labels, extra) = (col("id"), col("label"), col("extra_fields"));
        assert_eq!((ids.value(0), ids.value(1)), ("t1", "t3"));
        assert_eq!(b.num_rows(), 2);
        assert_eq!(labels.value(0), "one");
        assert!(labels.is_null(1) && extra.is_null(0));
        assert_eq!(extra.value(1), r#"{"colour":"blue"}"#);
        let unknown = d.take_unknown_fields();
        assert_eq!(unknown.len(), 1, "{unknown:?}");
        assert_eq!(unknown.get(&("things".into(), "colour".into())), Some(&1));
    }

    /// A JSON column that copies the last object's text when the same object comes again
    /// writes each value's own text: through repeats, objects equal but for their order or a
    /// number's form, strings with escapes, nested objects (never kept), and after the column
    /// has stopped keeping objects (too few repeats), when repeats come again.
    #[test]
    fn the_last_object_memo_writes_each_objects_own_text() {
        let mut texts: Vec<String> = [
            r#"{"direction":"inbound","mediaType":"chat"}"#,
            r#"{"direction":"inbound","mediaType":"chat"}"#,
            r#"{"mediaType":"chat","direction":"inbound"}"#,
            r#"{"direction":"inbound","mediaType":"chat","direction":"outbound"}"#,
            r#"{"n":1}"#,
            r#"{"n":1.0}"#,
            r#"{"n":1}"#,
            r#"{"n":0.0}"#,
            r#"{"n":-0.0}"#,
            r#"{"n":-0}"#,
            r#"{"q":"a\"b\\c\u0001"}"#,
            r#"{"q":"a\"b\\c\u0001"}"#,
            r#"{"nested":{"a":1}}"#,
            r#"{"nested":{"a":2}}"#,
            r#"{}"#,
            r#"{}"#,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Twenty objects that never repeat (the column stops keeping), then repeats again.
        texts.extend((0..20).map(|i| format!(r#"{{"id":"u{i}"}}"#)));
        texts.extend((0..5).map(|_| r#"{"id":"again"}"#.to_string()));
        let values: Vec<Json> = texts.iter().map(|t| Json::parse(t).unwrap()).collect();
        let (mut memo, mut b, mut scratch) = (None, StringBuilder::new(), Vec::new());
        for v in &values {
            LastJson::append(&mut memo, v, &mut b, &mut scratch);
        }
        let written = b.finish();
        for (i, v) in values.iter().enumerate() {
            let mut own = Vec::new();
            v.write_to(&mut own);
            assert_eq!(written.value(i).as_bytes(), own, "value {i}: {}", texts[i]);
        }
        let m = memo.expect("objects were kept");
        // Copied: the second of each pair of equal objects (the chat group, the escaped
        // string, the empty object) and `{"n":1}` after `{"n":1.0}` (an object with a
        // fraction is not kept, so `{"n":1}` stayed). The column then stopped keeping objects.
        assert_eq!(m.hits, 4);
        assert!(!LastJson::worth_it(m.hits, m.misses), "{} misses", m.misses);
    }

    /// Rows whose fields come in other orders, with fields of other kinds (an unknown field, a
    /// nested list, a key served twice) where the row before had a column's field, decode as
    /// each does alone: what the decoder remembers of the last row's field order changes no
    /// row and no count.
    #[test]
    fn rows_decode_alike_whatever_the_order_of_their_fields() {
        let convs = [
            r#"{"conversationId":"c1","conversationStart":"2026-11-01T23:50:00.000Z","originatingDirection":"inbound",
                "participants":[{"participantId":"p1","purpose":"customer","sessions":[{"sessionId":"s1","mediaType":"voice",
                "segments":[{"segmentStart":"2026-11-01T23:50:00.000Z","segmentType":"ivr"}]}]}]}"#,
            r#"{"participants":[{"sessions":[{"segments":[{"segmentType":"interact","segmentStart":"2026-11-01T23:51:00.000Z"}],
                "mediaType":"chat","sessionId":"s2"}],"purpose":"agent","participantId":"p2"}],
                "originatingDirection":"outbound","conversationStart":"2026-11-01T23:51:00.000Z","conversationId":"c2"}"#,
            r#"{"conversationId":"c3","brandNewField":1,"conversationStart":"2026-11-01T23:52:00.000Z","conversationId":"c3",
                "participants":[{"participantId":"p3","mysteryField":"x","purpose":"customer"}],"originatingDirection":"inbound"}"#,
            r#"{"conversationStart":"2026-11-01T23:53:00.000Z","conversationId":"c4","participants":[],"mediaStatsMinConversationMos":4.5,
                "originatingDirection":7}"#,
        ];
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let tables = Catalog::builtin().dataset_tables("conversations");
        let decode = |texts: &[&str]| {
            let mut d = TreeDecoder::new(&tables, "run-1").unwrap();
            for t in texts {
                d.push_json(&Json::parse(t).unwrap(), day).unwrap();
            }
            (by_table(d.finish().unwrap()), d.take_unknown_fields())
        };
        let (together, unknown) = decode(&convs);
        let mut alone_unknown = BTreeMap::new();
        let mut alone: BTreeMap<String, Vec<RecordBatch>> = BTreeMap::new();
        for c in &convs {
            let (batches, unknown) = decode(&[c]);
            for (table, b) in batches {
                alone.entry(table).or_default().push(b);
            }
            for (k, n) in unknown {
                *alone_unknown.entry(k).or_insert(0) += n;
            }
        }
        assert_eq!(unknown, alone_unknown);
        assert!(unknown.contains_key(&("conversations".into(), "brandNewField".into())));
        for (table, batch) in &together {
            let mut at = 0;
            for b in &alone[table] {
                assert_eq!(&batch.slice(at, b.num_rows()), b, "{table} from row {at}");
                at += b.num_rows();
            }
            assert_eq!(at, batch.num_rows(), "{table}");
        }
        assert_eq!(together["conversations"].num_rows(), 4);
    }

    /// A row's `Path` columns read what `below` finds, whether its root object has the last
    /// row's keys (found where they were) or not (found again): keys reordered, a key served
    /// twice (the last counts), a key missing, a nested value of another type, a root that is
    /// absent or no object, and a path of two steps.
    #[test]
    fn path_columns_read_each_rows_own_object() {
        let table = schema(
            r#"{"table": "rows", "version": 1, "description": "d", "kind": "dimension",
                "dataset": "rows", "model": "Row", "path": "entities[]",
                "partition_column": "snapshot_date", "primary_key": ["id"], "nested": [],
                "columns": [
                  {"name": "id", "type": "string", "nullable": false, "source": "field:id", "description": "d"},
                  {"name": "snapshot_date", "type": "date", "nullable": false, "source": "meta:snapshot_date", "description": "d"},
                  {"name": "a", "type": "string", "nullable": true, "source": "field:g.a", "description": "d"},
                  {"name": "b", "type": "string", "nullable": true, "source": "field:g.b", "description": "d"},
                  {"name": "n", "type": "int64", "nullable": true, "source": "field:g.n", "description": "d"},
                  {"name": "y", "type": "string", "nullable": true, "source": "field:g.x.y", "description": "d"},
                  {"name": "g", "type": "json", "nullable": true, "source": "field:g", "description": "d"},
                  {"name": "extra_fields", "type": "json", "nullable": true, "source": "meta:extra_fields", "description": "d"}]}"#,
        );
        let records = [
            r#"{"id":"1","g":{"a":"A1","b":"B1","n":1,"x":{"y":"Y1"}}}"#,
            r#"{"id":"2","g":{"a":"A2","b":"B2","n":2,"x":{"y":"Y2"}}}"#,
            r#"{"id":"3","g":{"b":"B3","a":"A3","x":{"y":"Y3"},"n":3}}"#,
            r#"{"id":"4","g":{"b":"B4","a":"first","a":"last"}}"#,
            r#"{"id":"5","g":{"b":"B5","a":"first","a":"last5"}}"#,
            r#"{"id":"6"}"#,
            r#"{"id":"7","g":"text"}"#,
            r#"{"id":"8","g":{"a":1,"b":"B8","n":"x","x":{"y":"Y8"}}}"#,
            r#"{"id":"9","g":{"a":"A9","b":"B9","n":9,"x":{"y":"Y9"}}}"#,
        ];
        let decode = |texts: &[&str]| {
            let mut d = TreeDecoder::new(std::slice::from_ref(&table), "r").unwrap();
            push_each(
                &mut d,
                &texts.iter().map(|t| (*t, None)).collect::<Vec<_>>(),
            );
            d.finish().unwrap().remove(0).1
        };
        let together = decode(&records);
        // Each record alone, in a decoder that has seen no object before it.
        for (row, text) in records.iter().enumerate() {
            assert_eq!(together.slice(row, 1), decode(&[text]), "{text}");
        }
        let text = |name: &str| {
            let c = together.column_by_name(name).unwrap().as_string::<i32>();
            (0..c.len())
                .map(|i| c.is_valid(i).then(|| c.value(i).to_string()))
                .collect::<Vec<_>>()
        };
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            text("a"),
            [
                s("A1"),
                s("A2"),
                s("A3"),
                s("last"),
                s("last5"),
                None,
                None,
                None,
                s("A9")
            ]
        );
        assert_eq!(
            text("y"),
            [
                s("Y1"),
                s("Y2"),
                s("Y3"),
                None,
                None,
                None,
                None,
                s("Y8"),
                s("Y9")
            ]
        );
        let n = together
            .column_by_name("n")
            .unwrap()
            .as_primitive::<Int64Type>();
        let n: Vec<Option<i64>> = n.iter().collect();
        assert_eq!(
            n,
            [
                Some(1),
                Some(2),
                Some(3),
                None,
                None,
                None,
                None,
                None,
                Some(9)
            ]
        );
    }

    /// A decoder that finished a batch decodes what follows as a new one does: a run hands a
    /// finished chunk's decoder to its next chunk (for its builders' sizes), and nothing of the
    /// rows, repeated keys, memos or counts before may reach the next chunk's rows.
    #[test]
    fn a_finished_decoder_decodes_the_next_records_as_a_new_one() {
        let before = [
            r#"{"conversationId":"c1","conversationStart":"2026-11-01T23:50:00.000Z","brandNewField":1,
                "participants":[{"participantId":"p1","purpose":"customer","attributes":{"a":"1"},
                "sessions":[{"sessionId":"s1","mediaType":"voice"}]}]}"#,
            r#"{"conversationId":"c2","conversationStart":"2026-11-01T23:51:00.000Z",
                "participants":[{"participantId":"p2","purpose":"agent","attributes":{"a":"1"}}]}"#,
        ];
        let refused = r#"{"conversationStart":"2026-11-01T23:52:00.000Z","participants":[]}"#;
        let after = [
            r#"{"conversationId":"c3","conversationStart":"2026-11-01T23:50:00.000Z",
                "participants":[{"participantId":"p3","purpose":"customer","attributes":{"a":"1"},
                "sessions":[{"sessionId":"s3","mediaType":"chat"}]}]}"#,
            r#"{"conversationId":"c4","conversationStart":"2026-11-01T23:53:00.000Z","conversationId":"c4",
                "participants":[{"participantId":"p4","purpose":"agent","attributes":{"a":"2"}}]}"#,
        ];
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let tables = Catalog::builtin().dataset_tables("conversations");
        let push = |d: &mut TreeDecoder, texts: &[&str]| {
            for t in texts {
                d.push_json(&Json::parse(t).unwrap(), day).unwrap();
            }
        };
        let mut used = TreeDecoder::new(&tables, "run-1").unwrap();
        push(&mut used, &before);
        assert!(used.push_json(&Json::parse(refused).unwrap(), day).is_err());
        used.finish().unwrap();
        assert!(!used.take_unknown_fields().is_empty());
        push(&mut used, &after);
        let mut new = TreeDecoder::new(&tables, "run-1").unwrap();
        push(&mut new, &after);
        assert_eq!(used.take_unknown_fields(), new.take_unknown_fields());
        let (used, new) = (
            by_table(used.finish().unwrap()),
            by_table(new.finish().unwrap()),
        );
        assert_eq!(used, new);
        assert_eq!(used["participants"].num_rows(), 2);
    }

    #[test]
    fn dimension_entities_become_snapshot_rows() {
        let schema = Catalog::builtin().table("divisions").unwrap().clone();
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let mut d = TreeDecoder::new(&[schema], "r").unwrap();
        d.push(&json!({"id": "d1", "name": "Home", "homeDivision": true, "objectCounts": {"queues": 3}}), day)
            .unwrap();
        let err = d
            .push(&json!({"name": "no id"}), day)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("divisions row of an entity without an id has no id"),
            "{err}"
        );
        let b = d.finish().unwrap().remove(0).1;
        assert_eq!(b.num_rows(), 1);
        let snap = b
            .column_by_name("snapshot_date")
            .unwrap()
            .as_primitive::<arrow_array::types::Date32Type>();
        assert_eq!(snap.value(0), date32(day));
        let counts = b
            .column_by_name("object_counts")
            .unwrap()
            .as_string::<i32>();
        assert_eq!(counts.value(0), r#"{"queues":3}"#);
    }

    #[test]
    fn an_unreadable_start_is_an_error() {
        let mut v = sample();
        v["conversationStart"] = json!("yesterday");
        let err = conversation_key(&v).unwrap_err().to_string();
        assert!(err.contains("unreadable conversationStart"), "{err}");
    }
}
