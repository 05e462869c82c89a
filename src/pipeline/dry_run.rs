//! `extract --dry-run`: the plan, and what the run would write and load, with nothing touched.
//!
//! The output is never opened (see [`Output::detached`]): the only calls are the ones planning
//! makes to the API.

use super::*;

use serde::Serialize;

use super::fanout::{self, Plan};

/// What a run would do.
#[derive(Debug, Serialize)]
pub struct DryRun {
    pub dry_run: bool,
    pub out: String,
    pub plan: Plan,
    /// Folders the run would write data files into, per table (`<table>/<column>=<value>/`).
    pub writes: Vec<Write>,
    pub manifest: String,
    pub load_script: String,
    /// What the load script would do: fact partitions replaced, dimension snapshots merged.
    pub load: Load,
}

#[derive(Debug, Serialize)]
pub struct Write {
    pub chunk: String,
    pub table: String,
    pub folder: String,
}

#[derive(Debug, Serialize)]
pub struct Load {
    pub replaces: Vec<String>,
    pub merges: Vec<String>,
}

/// Plans the run and describes what it would write and load.
pub async fn dry_run(cfg: &ExtractConfig) -> Result<DryRun> {
    let plan = fanout::plan(cfg, new_run_id(Utc::now())).await?;
    let mut writes = Vec::new();
    let mut load = Load {
        replaces: Vec::new(),
        merges: Vec::new(),
    };
    for c in &plan.chunks {
        let ds = datasets::get(&c.dataset).expect("planned datasets exist");
        for t in datasets::tables(ds) {
            writes.push(Write {
                chunk: c.id.clone(),
                table: t.table.clone(),
                folder: format!("{}/{}={}/", t.table, t.partition_column, c.partition),
            });
            match ds.spec().load {
                LoadMode::ReplacePartitions => load.replaces.push(format!(
                    "{} {}={} [{} .. {})",
                    t.table, t.partition_column, c.partition, c.start, c.end
                )),
                LoadMode::MergeByKey => load.merges.push(format!(
                    "{} by {} from snapshot {}",
                    t.table,
                    t.primary_key.join(","),
                    c.partition
                )),
            }
        }
    }
    Ok(DryRun {
        dry_run: true,
        out: cfg.output.url.clone(),
        manifest: format!("{}/{}", cfg.output.url, Manifest::path(&plan.run_id)),
        load_script: format!("{}/{}", cfg.output.url, Manifest::script_path(&plan.run_id)),
        plan,
        writes,
        load,
    })
}

impl DryRun {
    /// The dry run for people: the chunks, then what would be written and loaded.
    pub fn render_text(&self) -> String {
        let mut s = format!(
            "dry run: nothing is written to {} and nothing is loaded\n\n{}",
            self.out,
            render_plan(&self.plan)
        );
        s.push_str(&format!(
            "\nwould write {} table folder(s), e.g.:\n",
            self.writes.len()
        ));
        for w in self.writes.iter().take(12) {
            s.push_str(&format!("  {}/{}\n", self.out, w.folder));
        }
        if self.writes.len() > 12 {
            s.push_str(&format!("  ... and {} more\n", self.writes.len() - 12));
        }
        s.push_str(&format!(
            "then the load script {}\nand last the manifest {}\n\nthe load would replace {} fact partition(s) and merge {} dimension snapshot(s)\n",
            self.load_script,
            self.manifest,
            self.load.replaces.len(),
            self.load.merges.len()
        ));
        s
    }
}

/// A plan as a table: one line per chunk, then the totals.
pub fn render_plan(plan: &Plan) -> String {
    let mut s = format!(
        "run {}: {} .. {}, datasets {}\n{:<40} {:<10} {:<22} {:<22} {:>9}\n",
        plan.run_id,
        plan.from,
        plan.to,
        plan.datasets.join(","),
        "chunk",
        "method",
        "start",
        "end",
        "requests"
    );
    for c in &plan.chunks {
        s.push_str(&format!(
            "{:<40} {:<10} {:<22} {:<22} {:>9}\n",
            c.id, c.method, c.start, c.end, c.estimated_requests
        ));
    }
    s.push_str(&format!(
        "{} chunk(s), about {} API request(s)\n",
        plan.chunks.len(),
        plan.estimated_requests
    ));
    s
}
