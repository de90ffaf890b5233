//! JSON for `status --json` and `avail --json`: an array with one object per process.
//! Also a small reader for the daemon's own JSON view (`/api/status`), whose usage
//! figures `status --json` and `status --long` add.

use crate::wire::xmlrpc::Value;

use crate::wire::json::string;

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

/// Reads a JSON document into the XML-RPC value model (numbers without a fraction or
/// exponent become Int, others Double; null becomes Nil). None on malformed input.
pub fn parse(text: &str) -> Option<Value> {
    let mut p = Parser { b: text.as_bytes(), i: 0, depth: 0 };
    let v = p.value()?;
    p.ws();
    (p.i == p.b.len()).then_some(v)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.b.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn lit(&mut self, word: &str, v: Value) -> Option<Value> {
        self.b[self.i..].starts_with(word.as_bytes()).then(|| {
            self.i += word.len();
            v
        })
    }

    fn value(&mut self) -> Option<Value> {
        self.ws();
        self.depth += 1;
        if self.depth > 64 {
            return None;
        }
        let v = match *self.b.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        let Value::Str(k) = self.string()? else { return None };
                        if !self.eat(b':') {
                            return None;
                        }
                        members.push((k, self.value()?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Value::Struct(members)
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value()?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Value::Array(items)
            }
            b'"' => self.string()?,
            b't' => self.lit("true", Value::Bool(true))?,
            b'f' => self.lit("false", Value::Bool(false))?,
            b'n' => self.lit("null", Value::Nil)?,
            _ => {
                let start = self.i;
                while self.b.get(self.i).is_some_and(|c| b"+-.eE0123456789".contains(c)) {
                    self.i += 1;
                }
                let t = std::str::from_utf8(&self.b[start..self.i]).ok()?;
                match t.parse::<i64>() {
                    Ok(n) => Value::Int(n),
                    Err(_) => Value::Double(t.parse().ok()?),
                }
            }
        };
        self.depth -= 1;
        Some(v)
    }

    fn string(&mut self) -> Option<Value> {
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = *self.b.get(self.i)?;
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = *self.b.get(self.i)?;
                    self.i += 1;
                    let ch = match e {
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => {
                            let hex = std::str::from_utf8(self.b.get(self.i..self.i + 4)?).ok()?;
                            self.i += 4;
                            char::from_u32(u32::from_str_radix(hex, 16).ok()?).unwrap_or('\u{fffd}')
                        }
                        other => other as char,
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c => out.push(c),
            }
        }
        Some(Value::Str(String::from_utf8_lossy(&out).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes() {
        let v = parse(r#"{"a": [1, -2.5, true, null, "x\"\u003c\n"], "b": {}}"#).unwrap();
        assert_eq!(
            v.get("a").map(|a| values(std::slice::from_ref(a))).unwrap(),
            r#"[[1, -2.5, true, null, "x\"\u003c\n"]]"#
        );
        assert!(parse("{\"a\": }").is_none());
        assert!(parse("[1,").is_none());
        assert!(parse(&"[".repeat(1000)).is_none());
    }

    #[test]
    fn encodes() {
        let v = Value::Struct(vec![(
            "a\"".into(),
            Value::Array(vec![Value::Int(1), Value::Bool(true), Value::str("x\n")]),
        )]);
        assert_eq!(values(&[v]), r#"[{"a\"": [1, true, "x\n"]}]"#);
    }
}
