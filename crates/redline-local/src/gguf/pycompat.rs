//! The few Python methods Hugging Face chat templates call on strings and dicts
//! (`message['content'].strip()`, `.startswith(...)`, `dict.items()`), which Jinja2 gets from
//! Python and minijinja does not have. `minijinja-contrib`'s `pycompat` covers these and more,
//! but it is not a dependency of the workspace; this is the subset that chat templates use.
//! SmolLM2's own template needs none of it.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

/// An `Environment::set_unknown_method_callback` handler.
pub(crate) fn call_method(
    state: &State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    if let Some(s) = value.as_str() {
        return string_method(s, method, args);
    }
    if value.kind() == ValueKind::Map {
        match method {
            "items" => return state.apply_filter("items", std::slice::from_ref(value)),
            "keys" => return Ok(Value::from(value.try_iter()?.collect::<Vec<_>>())),
            "values" => {
                let values = value
                    .try_iter()?
                    .map(|k| value.get_item(&k))
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(Value::from(values));
            }
            "get" => {
                let key = args.first().ok_or_else(|| arity(method))?;
                let found = value.get_item(key)?;
                let default = args.get(1).cloned().unwrap_or(Value::from(()));
                return Ok(if found.is_undefined() { default } else { found });
            }
            _ => {}
        }
    }
    Err(Error::new(
        ErrorKind::UnknownMethod,
        format!("{} has no method `{method}`", value.kind()),
    ))
}

fn string_method(s: &str, method: &str, args: &[Value]) -> Result<Value, Error> {
    let arg = |i: usize| args.get(i).and_then(Value::as_str);
    // `strip()` with no argument strips whitespace; with one, those characters.
    let chars: Option<Vec<char>> = arg(0).map(|c| c.chars().collect());
    let strip_set = |c: char| chars.as_ref().map_or(c.is_whitespace(), |set| set.contains(&c));
    Ok(match method {
        "strip" => Value::from(s.trim_matches(strip_set)),
        "lstrip" => Value::from(s.trim_start_matches(strip_set)),
        "rstrip" => Value::from(s.trim_end_matches(strip_set)),
        "upper" => Value::from(s.to_uppercase()),
        "lower" => Value::from(s.to_lowercase()),
        "startswith" => Value::from(s.starts_with(arg(0).ok_or_else(|| arity(method))?)),
        "endswith" => Value::from(s.ends_with(arg(0).ok_or_else(|| arity(method))?)),
        "replace" => {
            let (from, to) = arg(0).zip(arg(1)).ok_or_else(|| arity(method))?;
            Value::from(s.replace(from, to))
        }
        "split" => match arg(0) {
            Some(sep) => Value::from(s.split(sep).map(Value::from).collect::<Vec<_>>()),
            None => Value::from(s.split_whitespace().map(Value::from).collect::<Vec<_>>()),
        },
        _ => {
            return Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("string has no method `{method}`"),
            ))
        }
    })
}

fn arity(method: &str) -> Error {
    Error::new(
        ErrorKind::MissingArgument,
        format!("`{method}` needs a string argument"),
    )
}
