//! JSON for `status --json` and `avail --json`: an array with one object per process.

use crate::rpc::xmlrpc::Value;

fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn value(v: &Value, out: &mut String) {
    match v {
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Double(f) if f.is_finite() => out.push_str(&f.to_string()),
        Value::Double(_) | Value::Nil => out.push_str("null"),
        Value::Str(s) | Value::DateTime(s) => string(s, out),
        Value::Base64(b) => string(&String::from_utf8_lossy(b), out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                value(item, out);
            }
            out.push(']');
        }
        Value::Struct(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                string(k, out);
                out.push_str(": ");
                value(v, out);
            }
            out.push('}');
        }
    }
}

pub fn values(items: &[Value]) -> String {
    let mut out = String::new();
    value(&Value::Array(items.to_vec()), &mut out);
    out
}

/// getProcessInfo structs plus `uptime` (seconds running, 0 when not running).
pub fn process_infos(infos: &[Value]) -> String {
    let with_uptime: Vec<Value> = infos
        .iter()
        .map(|info| {
            let mut members = match info {
                Value::Struct(m) => m.clone(),
                _ => Vec::new(),
            };
            let int = |k: &str| info.get(k).and_then(Value::as_int).unwrap_or(0);
            let running = int("state") == 20;
            let uptime = if running { (int("now") - int("start")).max(0) } else { 0 };
            members.push(("uptime".into(), Value::Int(uptime)));
            Value::Struct(members)
        })
        .collect();
    values(&with_uptime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes() {
        let v = Value::Struct(vec![(
            "a\"".into(),
            Value::Array(vec![Value::Int(1), Value::Bool(true), Value::str("x\n")]),
        )]);
        assert_eq!(values(&[v]), r#"[{"a\"": [1, true, "x\n"]}]"#);
    }
}
