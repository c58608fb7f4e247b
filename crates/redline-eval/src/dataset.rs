//! Streamed datasets: JSONL and CSV rows mapped onto samples.

use std::collections::HashSet;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use redline_model::{Message, Role};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{DatasetError, EvalError};
use crate::scorer::letter;
use crate::spec::{ChoiceFields, DatasetFormat, Eval, FieldMap, SolverKind};

/// One dataset row, mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub id: String,
    /// 0-based row index.
    pub ordinal: u64,
    /// 1-based line in the file, for error messages.
    pub line: u64,
    pub input: SampleInput,
    /// Accepted answers (a list field gives several).
    pub target: Vec<String>,
    pub choices: Vec<String>,
    /// The whole row, available to templates.
    pub record: Map<String, Value>,
}

impl Sample {
    /// The `[run].group_by` fields' values, as text.
    pub fn groups(&self, fields: &[String]) -> Result<std::collections::BTreeMap<String, String>, String> {
        fields
            .iter()
            .map(|f| {
                self.record
                    .get(f)
                    .and_then(scalar_text)
                    .map(|v| (f.clone(), v))
                    .ok_or_else(|| format!("missing field `{f}` (used by [run].group_by)"))
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SampleInput {
    Text(String),
    Messages(Vec<Message>),
}

/// What a full validation pass over the dataset found.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetScan {
    /// Rows that will run (after `limit`).
    pub samples: u64,
    /// SHA-256 of the whole dataset file.
    pub sha256: String,
}

/// Reads samples one at a time; memory stays flat however long the file is.
pub struct DatasetReader<'e> {
    eval: &'e Eval,
    rows: Rows,
    ordinal: u64,
    /// One row's samples still to hand out, one per attack technique.
    pending: std::collections::VecDeque<Sample>,
}

enum Rows {
    Jsonl {
        lines: std::io::Lines<BufReader<File>>,
        line: u64,
    },
    Csv {
        reader: csv::Reader<File>,
        headers: Vec<String>,
    },
    /// A folder of task folders; the "line" of an error is the task's position.
    Tasks {
        dirs: std::vec::IntoIter<PathBuf>,
        index: u64,
    },
}

impl Eval {
    /// Opens the dataset for streaming.
    pub fn open_dataset(&self) -> Result<DatasetReader<'_>, EvalError> {
        let path = &self.dataset_path;
        if self.format == DatasetFormat::Tasks {
            return Ok(DatasetReader {
                eval: self,
                rows: Rows::Tasks {
                    dirs: crate::task::task_dirs(path)?.into_iter(),
                    index: 0,
                },
                ordinal: 0,
                pending: Default::default(),
            });
        }
        let file = File::open(path).map_err(|source| EvalError::Io {
            path: path.clone(),
            source,
        })?;
        let rows = match self.format {
            DatasetFormat::Tasks => unreachable!("handled above"),
            DatasetFormat::Jsonl => Rows::Jsonl {
                lines: BufReader::with_capacity(64 * 1024, file).lines(),
                line: 0,
            },
            DatasetFormat::Csv => {
                let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(file);
                let headers = reader
                    .headers()
                    .map_err(|e| DatasetError {
                        path: path.clone(),
                        line: 1,
                        message: format!("cannot read the CSV header: {e}"),
                    })?
                    .iter()
                    .map(str::to_string)
                    .collect();
                Rows::Csv { reader, headers }
            }
        };
        Ok(DatasetReader {
            eval: self,
            rows,
            ordinal: 0,
            pending: Default::default(),
        })
    }

    /// Reads every row that will run (the first `limit`), checking that each maps onto a
    /// sample, that ids are unique and that the prompt renders, and hashes the file. Run this
    /// before creating a run so bad input never leaves a half-made run behind.
    pub fn scan_dataset(&self, limit: Option<u64>) -> Result<DatasetScan, EvalError> {
        let sha256 = if self.format == DatasetFormat::Tasks {
            crate::task::sha256_tree(&self.dataset_path)?
        } else {
            sha256_file(&self.dataset_path)?
        };
        let mut seen: HashSet<u64> = HashSet::new();
        let mut samples = 0;
        for sample in self.open_dataset()? {
            if limit.is_some_and(|l| samples >= l) {
                break;
            }
            let sample = sample?;
            // Ids are remembered as 64-bit hashes to keep this pass small for huge files.
            let mut h = std::collections::hash_map::DefaultHasher::new();
            sample.id.hash(&mut h);
            if !seen.insert(h.finish()) {
                return Err(self
                    .row_error(sample.line, format!("duplicate sample id `{}`", sample.id))
                    .into());
            }
            self.messages_for(&sample)
                .map_err(|m| self.row_error(sample.line, m))?;
            sample
                .groups(&self.spec.run.group_by)
                .map_err(|m| self.row_error(sample.line, m))?;
            samples += 1;
        }
        if samples == 0 {
            return Err(self.row_error(0, "the dataset has no rows".into()).into());
        }
        Ok(DatasetScan { samples, sha256 })
    }

    /// The messages to send for `sample`: the system template (if any), then either the
    /// rendered prompt or the sample's own messages.
    pub fn messages_for(&self, sample: &Sample) -> Result<Vec<Message>, String> {
        let ctx = template_context(sample);
        let mut messages = Vec::with_capacity(2);
        if let Some(system) = self.templates.render_system(&ctx)? {
            messages.push(Message::system(system));
        }
        match &sample.input {
            SampleInput::Text(_) => messages.push(Message::user(self.templates.render_prompt(&ctx)?)),
            SampleInput::Messages(m) => messages.extend(m.iter().cloned()),
        }
        if !self.attacks.is_empty() {
            // The technique transforms the final request, after the template has rendered it.
            let name = sample
                .record
                .get("technique")
                .and_then(Value::as_str)
                .unwrap_or("none");
            let attack = self
                .attacks
                .iter()
                .find(|a| a.name() == name)
                .ok_or_else(|| format!("unknown technique `{name}`"))?;
            if let Some(last) = messages.iter_mut().rev().find(|m| m.role == Role::User) {
                last.content = attack.apply(&last.content);
            }
        }
        Ok(messages)
    }

    fn row_error(&self, line: u64, message: String) -> DatasetError {
        DatasetError {
            path: self.dataset_path.clone(),
            line,
            message,
        }
    }
}

pub(crate) fn template_context(sample: &Sample) -> minijinja::Value {
    let mut ctx = sample.record.clone();
    let input = match &sample.input {
        SampleInput::Text(t) => t.clone(),
        SampleInput::Messages(m) => m
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| m.content.clone())
            .unwrap_or_default(),
    };
    ctx.insert("input".into(), Value::String(input));
    ctx.insert(
        "target".into(),
        Value::String(sample.target.first().cloned().unwrap_or_default()),
    );
    ctx.insert("choices".into(), Value::from(sample.choices.clone()));
    let block: Vec<String> = sample
        .choices
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{}) {c}", letter(i)))
        .collect();
    ctx.insert("choices_block".into(), Value::String(block.join("\n")));
    minijinja::Value::from_serialize(&ctx)
}

fn sha256_file(path: &Path) -> Result<String, EvalError> {
    let io = |source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

impl Iterator for DatasetReader<'_> {
    type Item = Result<Sample, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(s) = self.pending.pop_front() {
            return Some(Ok(s));
        }
        let row = self.next_row()?;
        let attacks = &self.eval.attacks;
        if attacks.is_empty() {
            return Some(row);
        }
        // One sample per technique: `row-id/technique`, with the technique as a field.
        let base = match row {
            Ok(s) => s,
            Err(e) => return Some(Err(e)),
        };
        for (k, attack) in attacks.iter().enumerate() {
            let mut s = base.clone();
            s.id = format!("{}/{}", base.id, attack.name());
            s.ordinal = base.ordinal * attacks.len() as u64 + k as u64;
            s.record.insert("technique".into(), Value::String(attack.name()));
            self.pending.push_back(s);
        }
        self.pending.pop_front().map(Ok)
    }
}

impl DatasetReader<'_> {
    fn next_row(&mut self) -> Option<Result<Sample, DatasetError>> {
        let path = &self.eval.dataset_path;
        let (line, record) = match &mut self.rows {
            Rows::Jsonl { lines, line } => loop {
                *line += 1;
                let text = match lines.next()? {
                    Ok(t) => t,
                    Err(e) => return Some(Err(err(path, *line, format!("cannot read: {e}")))),
                };
                if text.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(map)) => break (*line, map),
                    Ok(_) => return Some(Err(err(path, *line, "expected a JSON object".into()))),
                    Err(e) => return Some(Err(err(path, *line, format!("invalid JSON: {e}")))),
                }
            },
            Rows::Csv { reader, headers } => {
                let mut row = csv::StringRecord::new();
                match reader.read_record(&mut row) {
                    Ok(false) => return None,
                    Ok(true) => {}
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line());
                        return Some(Err(err(path, line, format!("invalid CSV: {e}"))));
                    }
                }
                let line = row.position().map_or(0, |p| p.line());
                let map = headers
                    .iter()
                    .zip(row.iter())
                    .map(|(h, v)| (h.clone(), Value::String(v.to_string())))
                    .collect();
                (line, map)
            }
            Rows::Tasks { dirs, index } => {
                let dir = dirs.next()?;
                *index += 1;
                match crate::task::Task::load(&dir) {
                    Ok(task) => (*index, task.record()),
                    Err(e) => return Some(Err(err(&dir.join("task.toml"), 0, e.to_string()))),
                }
            }
        };
        let ordinal = self.ordinal;
        self.ordinal += 1;
        Some(
            to_sample(
                record,
                line,
                ordinal,
                &self.eval.spec.dataset.fields,
                self.eval.spec.solver.kind,
                self.eval.needs_target(),
            )
            .map_err(|m| err(path, line, m)),
        )
    }
}

fn err(path: &Path, line: u64, message: String) -> DatasetError {
    DatasetError {
        path: PathBuf::from(path),
        line,
        message,
    }
}

fn to_sample(
    record: Map<String, Value>,
    line: u64,
    ordinal: u64,
    fields: &FieldMap,
    solver: SolverKind,
    needs_target: bool,
) -> Result<Sample, String> {
    let id = match record.get(&fields.id) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Null) | None => (ordinal + 1).to_string(),
        Some(_) => {
            return Err(format!(
                "field `{}` (the sample id) must be a string or a number",
                fields.id
            ))
        }
    };
    let input = match solver {
        SolverKind::Generate | SolverKind::Agent | SolverKind::MakeMePay | SolverKind::MakeMeSay => {
            let v = record
                .get(&fields.input)
                .ok_or_else(|| missing(&fields.input, "input"))?;
            SampleInput::Text(scalar_text(v).ok_or_else(|| {
                format!(
                    "field `{}` (the input) must be a string or a number",
                    fields.input
                )
            })?)
        }
        SolverKind::Messages => {
            let v = record
                .get(&fields.messages)
                .ok_or_else(|| missing(&fields.messages, "messages"))?;
            SampleInput::Messages(parse_messages(v).map_err(|m| format!("field `{}`: {m}", fields.messages))?)
        }
    };
    let target = match record.get(&fields.target) {
        None | Some(Value::Null) if needs_target => return Err(missing(&fields.target, "target")),
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                scalar_text(v).ok_or_else(|| {
                    format!(
                        "field `{}`: every target must be a string or a number",
                        fields.target
                    )
                })
            })
            .collect::<Result<_, _>>()?,
        Some(v) => vec![scalar_text(v).ok_or_else(|| {
            format!(
                "field `{}` (the target) must be a string, a number or a list",
                fields.target
            )
        })?],
    };
    let choices = match &fields.choices {
        None => match record.get("choices") {
            Some(Value::Array(items)) => items.iter().filter_map(scalar_text).collect(),
            _ => Vec::new(),
        },
        Some(ChoiceFields::One(name)) => match record.get(name) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    scalar_text(v).ok_or_else(|| format!("field `{name}`: every choice must be a string"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(format!("field `{name}` (the choices) must be a list")),
            None => return Err(missing(name, "choices")),
        },
        Some(ChoiceFields::Columns(cols)) => cols
            .iter()
            .map(|c| {
                record
                    .get(c)
                    .and_then(scalar_text)
                    .ok_or_else(|| missing(c, "choices"))
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(Sample {
        id,
        ordinal,
        line,
        input,
        target,
        choices,
        record,
    })
}

fn missing(field: &str, role: &str) -> String {
    format!("missing field `{field}` (mapped to {role} by [dataset].fields.{role})")
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_messages(v: &Value) -> Result<Vec<Message>, String> {
    let items = v.as_array().ok_or("expected a list of {role, content} objects")?;
    if items.is_empty() {
        return Err("the message list is empty".into());
    }
    items
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let role = match m.get("role").and_then(Value::as_str) {
                Some("system") => Role::System,
                Some("user") => Role::User,
                Some("assistant") => Role::Assistant,
                other => {
                    return Err(format!(
                        "message {i}: role must be system, user or assistant, not {other:?}"
                    ))
                }
            };
            let content = m
                .get("content")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("message {i}: content must be a string"))?;
            Ok(Message::new(role, content))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval_with(dir: &Path, toml_extra: &str, data_name: &str, data: &str) -> Eval {
        std::fs::write(dir.join(data_name), data).unwrap();
        let text = format!(
            "[eval]\nid = \"t\"\nversion = \"1\"\n[dataset]\npath = \"{data_name}\"\n{toml_extra}\n[[scorer]]\nkind = \"includes\"\n"
        );
        let p = dir.join("e.toml");
        std::fs::write(&p, text).unwrap();
        Eval::load(&p).unwrap()
    }

    #[test]
    fn jsonl_with_field_mapping_and_blank_lines() {
        let dir = tempfile::tempdir().unwrap();
        let e = eval_with(
            dir.path(),
            "fields = { input = \"question\", target = \"answer\", id = \"qid\" }",
            "d.jsonl",
            "{\"qid\": 7, \"question\": \"1+1?\", \"answer\": 2}\n\n{\"qid\": \"x\", \"question\": \"2+2?\", \"answer\": [\"4\", \"four\"]}\n",
        );
        let rows: Vec<Sample> = e.open_dataset().unwrap().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].id, "7");
        assert_eq!(rows[0].target, vec!["2"]);
        assert_eq!(rows[1].line, 3);
        assert_eq!(rows[1].target, vec!["4", "four"]);
        let scan = e.scan_dataset(None).unwrap();
        assert_eq!(scan.samples, 2);
        assert_eq!(scan.sha256.len(), 64);
    }

    #[test]
    fn malformed_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let e = eval_with(
            dir.path(),
            "",
            "d.jsonl",
            "{\"input\": \"a\", \"target\": \"b\"}\n{\"input\": oops}\n",
        );
        let err = e.scan_dataset(None).unwrap_err().to_string();
        assert!(err.contains("d.jsonl:2: invalid JSON"), "{err}");
    }

    #[test]
    fn missing_field_names_the_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let e = eval_with(
            dir.path(),
            "fields = { input = \"question\" }",
            "d.jsonl",
            "{\"question\": \"a\"}\n",
        );
        let err = e.scan_dataset(None).unwrap_err().to_string();
        assert!(err.contains("d.jsonl:1: missing field `target`"), "{err}");
    }

    #[test]
    fn duplicate_ids_are_rejected_and_limit_stops_early() {
        let dir = tempfile::tempdir().unwrap();
        let data = "{\"id\": 1, \"input\": \"a\", \"target\": \"b\"}\n{\"id\": 1, \"input\": \"a\", \"target\": \"b\"}\n";
        let e = eval_with(dir.path(), "", "d.jsonl", data);
        assert!(e
            .scan_dataset(None)
            .unwrap_err()
            .to_string()
            .contains("duplicate sample id `1`"));
        assert_eq!(e.scan_dataset(Some(1)).unwrap().samples, 1);
    }

    #[test]
    fn csv_rows_and_choice_columns() {
        let dir = tempfile::tempdir().unwrap();
        let e = eval_with(
            dir.path(),
            "fields = { input = \"q\", target = \"a\", choices = [\"A\", \"B\"] }\n[prompt]\ntemplate = \"{{ input }}\\n{{ choices_block }}\"",
            "d.csv",
            "q,A,B,a\n\"Colour of sky, by day?\",blue,green,A\n",
        );
        let s = e.open_dataset().unwrap().next().unwrap().unwrap();
        assert_eq!(s.line, 2);
        assert_eq!(s.choices, vec!["blue", "green"]);
        let m = e.messages_for(&s).unwrap();
        assert_eq!(m[0].content, "Colour of sky, by day?\nA) blue\nB) green");
    }

    #[test]
    fn template_with_unknown_variable_fails_the_scan() {
        let dir = tempfile::tempdir().unwrap();
        let e = eval_with(
            dir.path(),
            "[prompt]\ntemplate = \"{{ qestion }}\"",
            "d.jsonl",
            "{\"input\": \"a\", \"target\": \"b\"}\n",
        );
        let err = e.scan_dataset(None).unwrap_err().to_string();
        assert!(
            err.contains("d.jsonl:1") && err.contains("prompt.template"),
            "{err}"
        );
    }

    #[test]
    fn attack_techniques_expand_rows_and_transform_the_rendered_prompt() {
        let dir = tempfile::tempdir().unwrap();
        let e = eval_with(
            dir.path(),
            "[prompt]\ntemplate = \"Q: {{ input }}\"\n[attack]\ntechniques = [\"none\", \"rot13\", \"role_play+base64\"]",
            "d.jsonl",
            "{\"id\": \"a\", \"input\": \"abc\", \"target\": \"x\"}\n{\"id\": \"b\", \"input\": \"xyz\", \"target\": \"x\"}\n",
        );
        let samples: Vec<Sample> = e.open_dataset().unwrap().map(Result::unwrap).collect();
        let ids: Vec<&str> = samples.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "a/none",
                "a/rot13",
                "a/role_play+base64",
                "b/none",
                "b/rot13",
                "b/role_play+base64"
            ]
        );
        assert_eq!(
            samples.iter().map(|s| s.ordinal).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4, 5]
        );
        assert_eq!(e.messages_for(&samples[0]).unwrap()[0].content, "Q: abc");
        assert!(e.messages_for(&samples[1]).unwrap()[0]
            .content
            .ends_with("D: nop"));
        assert_eq!(
            samples[2].groups(&["technique".into()]).unwrap()["technique"],
            "role_play+base64"
        );
        assert_eq!(e.scan_dataset(None).unwrap().samples, 6);
        let dir2 = tempfile::tempdir().unwrap();
        std::fs::write(dir2.path().join("d.jsonl"), "{}\n").unwrap();
        let text = "[eval]\nid = \"t\"\nversion = \"1\"\n[dataset]\npath = \"d.jsonl\"\n[[scorer]]\nkind = \"refusal\"\n[attack]\ntechniques = [\"caesar\"]\n";
        std::fs::write(dir2.path().join("e.toml"), text).unwrap();
        let err = Eval::load(&dir2.path().join("e.toml")).unwrap_err().to_string();
        assert!(
            err.contains("attack.techniques") && err.contains("caesar"),
            "{err}"
        );
    }

    #[test]
    fn multi_turn_messages() {
        let dir = tempfile::tempdir().unwrap();
        let e = eval_with(
            dir.path(),
            "[solver]\nkind = \"messages\"\n[prompt]\nsystem = \"Be brief.\"",
            "d.jsonl",
            "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"hello\"}, {\"role\": \"user\", \"content\": \"2+2?\"}], \"target\": \"4\"}\n",
        );
        let s = e.open_dataset().unwrap().next().unwrap().unwrap();
        let m = e.messages_for(&s).unwrap();
        assert_eq!(m.len(), 4);
        assert_eq!(m[0], Message::system("Be brief."));
        assert_eq!(m[3], Message::user("2+2?"));
    }
}
