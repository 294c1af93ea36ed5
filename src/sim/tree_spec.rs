//! Stapler's `tree=` query as the simulator understands it: the parser and the pruning of an object to
//! what the spec asks for (`_class` always; an object named without a sub-spec becomes a stub).

use serde_json::{Map, Value};

/// A parsed `tree=` spec: property names with optional sub-specs (ranges are accepted and ignored).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub name: String,
    pub sub: Option<Vec<Node>>,
}

pub type Spec = Vec<Node>;

/// Parses Stapler's tree grammar: `spec := node ("," node)*`, `node := NAME ("[" spec "]")? ("{" range "}")?`.
pub fn parse_tree(s: &str) -> Result<Spec, String> {
    fn spec(chars: &[char], pos: &mut usize) -> Result<Spec, String> {
        let mut out = Vec::new();
        loop {
            let start = *pos;
            while *pos < chars.len() && !matches!(chars[*pos], ',' | '[' | ']' | '{' | '}') {
                *pos += 1;
            }
            let name: String = chars[start..*pos].iter().collect();
            if name.is_empty() {
                return Err(format!("empty name at {start}"));
            }
            let mut sub = None;
            if chars.get(*pos) == Some(&'[') {
                *pos += 1;
                sub = Some(spec(chars, pos)?);
                if chars.get(*pos) != Some(&']') {
                    return Err(format!("expected ] at {pos}"));
                }
                *pos += 1;
            }
            if chars.get(*pos) == Some(&'{') {
                while *pos < chars.len() && chars[*pos] != '}' {
                    *pos += 1;
                }
                *pos += 1;
            }
            out.push(Node { name, sub });
            if chars.get(*pos) == Some(&',') {
                *pos += 1;
            } else {
                return Ok(out);
            }
        }
    }
    let chars: Vec<char> = s.chars().collect();
    let mut pos = 0;
    let out = spec(&chars, &mut pos)?;
    if pos != chars.len() {
        return Err(format!("unexpected {:?} at {pos}", chars.get(pos)));
    }
    Ok(out)
}

/// Keeps only what the spec asks for, like Stapler: `_class` always; an object named without a sub-spec
/// comes back as a `{"_class": …}` stub.
pub fn prune(value: &Value, spec: &Spec) -> Value {
    match value {
        Value::Object(obj) => {
            let mut out = Map::new();
            if let Some(c) = obj.get("_class") {
                out.insert("_class".into(), c.clone());
            }
            for Node { name, sub } in spec {
                if let Some(v) = obj.get(name) {
                    let v = match sub {
                        Some(sub) => prune(v, sub),
                        None => stub(v),
                    };
                    out.insert(name.clone(), v);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| prune(i, spec)).collect()),
        other => other.clone(),
    }
}

fn stub(value: &Value) -> Value {
    match value {
        Value::Object(obj) => {
            let mut out = Map::new();
            if let Some(c) = obj.get("_class") {
                out.insert("_class".into(), c.clone());
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(stub).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn tree_specs_parse_and_prune_like_stapler() {
        let spec = parse_tree("jobs[name,jobs]").unwrap();
        let v = json!({"_class": "R", "jobs": [
            {"_class": "F", "name": "f", "color": "blue", "jobs": [{"_class": "J", "name": "j"}]}
        ]});
        assert_eq!(
            prune(&v, &spec),
            json!({"_class": "R", "jobs": [{"_class": "F", "name": "f", "jobs": [{"_class": "J"}]}]})
        );
        assert!(parse_tree("jobs[name").is_err());
        assert!(parse_tree("builds[number]{0,5}").is_ok());
    }
}
