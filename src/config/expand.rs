//! `%(name)s` expansion with the semantics of Python's `str % mapping`, which is what the
//! reference applies to almost every value: `%%`, flags, width and precision
//! (`%(process_num)02d`), and its error texts for unknown names and bad formats.

use super::ini::py_repr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Int(i64),
}

/// The names a value may use, in the order they were first set, as a Python dict keeps
/// them: a lone `%s` prints the whole mapping in that order, as the reference does.
#[derive(Debug, Clone, Default)]
pub struct Names {
    map: Vec<(String, Value)>,
}

impl Names {
    pub fn new() -> Self {
        Names::default()
    }

    fn set(&mut self, k: &str, v: Value) {
        match self.map.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = v,
            None => self.map.push((k.to_string(), v)),
        }
    }

    pub fn set_str(&mut self, k: &str, v: &str) {
        self.set(k, Value::Str(v.to_string()));
    }

    pub fn set_int(&mut self, k: &str, v: i64) {
        self.set(k, Value::Int(v));
    }

    pub fn extend(&mut self, other: &Names) {
        for (k, v) in &other.map {
            self.set(k, v.clone());
        }
    }

    pub fn get(&self, k: &str) -> Option<&Value> {
        self.map.iter().find(|(key, _)| key == k).map(|(_, v)| v)
    }

    /// Python's `repr()` of the mapping as a dict.
    fn py_repr(&self) -> String {
        let items: Vec<String> = self
            .map
            .iter()
            .map(|(k, v)| match v {
                Value::Str(s) => format!("{}: {}", py_repr(k), py_repr(s)),
                Value::Int(n) => format!("{}: {n}", py_repr(k)),
            })
            .collect();
        format!("{{{}}}", items.join(", "))
    }
}

/// Expands `s`; `what` names the value in error messages (`program:x.command`).
pub fn expand(s: &str, names: &Names, what: &str) -> Result<String, String> {
    expand_layered(s, &[names], what)
}

/// Expands `s` with names looked up in `layers`, a later layer overriding an earlier
/// one: the same as merging them into one `Names` first, without copying the
/// environment for every value of every program.
pub fn expand_layered(s: &str, layers: &[&Names], what: &str) -> Result<String, String> {
    format_mapping(s, layers).map_err(|e| match e {
        FormatError::UnknownName(name) => {
            let mut keys: Vec<&str> = layers.iter().flat_map(|n| n.map.iter().map(|(k, _)| k.as_str())).collect();
            crate::sort::sort(&mut keys);
            keys.dedup();
            format!(
                "Format string {} for {} contains names ({}) which cannot be expanded. Available names: {}",
                py_repr(s),
                py_repr(what),
                py_repr(&name),
                keys.join(", ")
            )
        }
        FormatError::Bad(why) => {
            format!("Format string {} for {} is badly formatted: {}", py_repr(s), py_repr(what), why)
        }
    })
}

enum FormatError {
    UnknownName(String),
    Bad(String),
}

/// The largest width or precision accepted.
const MAX_FIELD: usize = 10_000;

#[derive(Default)]
struct Spec {
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alt: bool,
    width: usize,
    precision: Option<usize>,
}

fn format_mapping(s: &str, layers: &[&Names]) -> Result<String, FormatError> {
    if !s.contains('%') {
        return Ok(s.to_string());
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let bad = |m: &str| FormatError::Bad(m.to_string());
    // Python hands the mapping itself to the first conversion when it has no `(name)`;
    // every later conversion without a name finds no argument left.
    let mut consumed = false;
    while i < chars.len() {
        let c = chars[i];
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let mut key: Option<String> = None;
        if i < chars.len() && chars[i] == '(' {
            // Python matches nested parentheses inside the key.
            let mut depth = 1;
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && depth > 0 {
                match chars[j] {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                j += 1;
            }
            if depth > 0 {
                return Err(bad("incomplete format key"));
            }
            key = Some(chars[start..j - 1].iter().collect());
            i = j;
        }
        let mut spec = Spec::default();
        while i < chars.len() {
            match chars[i] {
                '-' => spec.left = true,
                '0' => spec.zero = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '#' => spec.alt = true,
                _ => break,
            }
            i += 1;
        }
        if i < chars.len() && chars[i] == '*' {
            return Err(bad("* wants int"));
        }
        while i < chars.len() && chars[i].is_ascii_digit() {
            spec.width = spec.width.saturating_mul(10).saturating_add(chars[i] as usize - '0' as usize);
            i += 1;
        }
        if spec.width > MAX_FIELD {
            return Err(bad("width too big"));
        }
        if i < chars.len() && chars[i] == '.' {
            i += 1;
            if i < chars.len() && chars[i] == '*' {
                return Err(bad("* wants int"));
            }
            let mut p = 0usize;
            while i < chars.len() && chars[i].is_ascii_digit() {
                p = p.saturating_mul(10).saturating_add(chars[i] as usize - '0' as usize);
                i += 1;
            }
            // Nothing in a config needs more; Python fails on absurd sizes too.
            if p > MAX_FIELD {
                return Err(bad("precision too big"));
            }
            spec.precision = Some(p);
        }
        while i < chars.len() && matches!(chars[i], 'h' | 'l' | 'L') {
            i += 1;
        }
        if i >= chars.len() {
            return Err(bad("incomplete format"));
        }
        let conv = chars[i];
        let conv_index = i;
        i += 1;
        if conv == '%' {
            out.push('%');
            continue;
        }
        let value = match &key {
            Some(k) => match layers.iter().rev().find_map(|n| n.get(k)) {
                Some(v) => v.clone(),
                None => return Err(FormatError::UnknownName(k.clone())),
            },
            None if consumed => return Err(bad("not enough arguments for format string")),
            // The whole mapping: `%s`, `%r` and `%a` print its repr (the reference
            // accepts that, so we do); numeric conversions fail as Python's do.
            None => {
                if !"diouxXeEfFgGcrsa".contains(conv) {
                    return Err(unsupported(conv, conv_index));
                }
                return match conv {
                    's' | 'r' | 'a' => {
                        consumed = true;
                        let mut merged = Names::new();
                        for layer in layers {
                            merged.extend(layer);
                        }
                        let repr = merged.py_repr();
                        let text = if conv == 'a' { py_ascii(&repr) } else { repr };
                        out.push_str(&convert('s', conv_index, &Value::Str(text), &spec)?);
                        continue;
                    }
                    'd' | 'i' | 'u' => Err(bad(&format!("%{conv} format: a real number is required, not dict"))),
                    'x' | 'X' | 'o' => Err(bad(&format!("%{conv} format: an integer is required, not dict"))),
                    'e' | 'E' | 'f' | 'F' | 'g' | 'G' => Err(bad("must be real number, not dict")),
                    _ => Err(bad("%c requires int or char")),
                };
            }
        };
        consumed = true;
        if !"diouxXeEfFgGcrsa".contains(conv) {
            return Err(unsupported(conv, conv_index));
        }
        out.push_str(&convert(conv, conv_index, &value, &spec)?);
    }
    Ok(out)
}

/// Python's `ascii()` applied to an already repr'd text: non-ASCII escaped.
fn py_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c as u32 {
            0..=0x7f => out.push(c),
            n @ 0x80..=0xff => out.push_str(&format!("\\x{n:02x}")),
            n @ 0x100..=0xffff => out.push_str(&format!("\\u{n:04x}")),
            n => out.push_str(&format!("\\U{n:08x}")),
        }
    }
    out
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Str(_) => "str",
        Value::Int(_) => "int",
    }
}

fn convert(conv: char, index: usize, value: &Value, spec: &Spec) -> Result<String, FormatError> {
    let body = match conv {
        's' | 'r' | 'a' => {
            let mut text = match (conv, value) {
                ('s', Value::Str(s)) => s.clone(),
                (_, Value::Str(s)) => py_repr(s),
                (_, Value::Int(n)) => n.to_string(),
            };
            if let Some(p) = spec.precision {
                text = text.chars().take(p).collect();
            }
            return Ok(pad(text, spec));
        }
        'd' | 'i' | 'u' | 'x' | 'X' | 'o' => {
            let n = match value {
                Value::Int(n) => *n,
                Value::Str(_) => {
                    let what = if matches!(conv, 'd' | 'i' | 'u') { "a real number" } else { "an integer" };
                    return Err(FormatError::Bad(format!(
                        "%{conv} format: {what} is required, not {}",
                        type_name(value)
                    )));
                }
            };
            let mag = n.unsigned_abs();
            let mut digits = match conv {
                'x' => format!("{mag:x}"),
                'X' => format!("{mag:X}"),
                'o' => format!("{mag:o}"),
                _ => mag.to_string(),
            };
            if let Some(p) = spec.precision {
                while digits.len() < p {
                    digits.insert(0, '0');
                }
            }
            let prefix = match (spec.alt, conv) {
                (true, 'x') => "0x",
                (true, 'X') => "0X",
                (true, 'o') => "0o",
                _ => "",
            };
            sign_and_pad(n < 0, format!("{prefix}{digits}"), prefix.len(), spec)
        }
        'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
            let x = match value {
                Value::Int(n) => *n as f64,
                Value::Str(_) => {
                    return Err(FormatError::Bad(format!("must be real number, not {}", type_name(value))))
                }
            };
            let p = spec.precision.unwrap_or(6);
            let text = match conv {
                'f' | 'F' => format!("{:.*}", p, x.abs()),
                'e' | 'E' => sci(x.abs(), p, conv == 'E'),
                _ => general(x.abs(), p, conv == 'G', spec.alt),
            };
            sign_and_pad(x < 0.0, text, 0, spec)
        }
        'c' => {
            let text = match value {
                Value::Int(n) => match u32::try_from(*n).ok().and_then(char::from_u32) {
                    Some(c) => c.to_string(),
                    None => return Err(FormatError::Bad("%c arg not in range(0x110000)".into())),
                },
                Value::Str(s) if s.chars().count() == 1 => s.clone(),
                Value::Str(_) => return Err(FormatError::Bad("%c requires int or char".into())),
            };
            return Ok(pad(text, spec));
        }
        // format_mapping checked the character already.
        other => return Err(unsupported(other, index)),
    };
    Ok(body)
}

fn unsupported(conv: char, index: usize) -> FormatError {
    // Python prints the character itself between quotes only when it is printable
    // ASCII (31 included), else '?'.
    let shown = if (31..=126).contains(&(conv as u32)) { conv } else { '?' };
    FormatError::Bad(format!("unsupported format character '{shown}' (0x{:x}) at index {index}", conv as u32))
}

fn sci(x: f64, p: usize, upper: bool) -> String {
    let s = format!("{:.*e}", p, x);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    let e = if upper { 'E' } else { 'e' };
    format!("{mant}{e}{sign}{:02}", exp.abs())
}

fn general(x: f64, p: usize, upper: bool, alt: bool) -> String {
    let p = p.max(1);
    let exp = if x == 0.0 { 0 } else { x.log10().floor() as i32 };
    let mut s = if exp < -4 || exp >= p as i32 {
        sci(x, p - 1, upper)
    } else {
        format!("{:.*}", (p as i32 - 1 - exp).max(0) as usize, x)
    };
    if !alt {
        let (num, tail) = match s.find(['e', 'E']) {
            Some(pos) => (s[..pos].to_string(), s[pos..].to_string()),
            None => (s.clone(), String::new()),
        };
        let num = if num.contains('.') { num.trim_end_matches('0').trim_end_matches('.').to_string() } else { num };
        s = format!("{num}{tail}");
    }
    s
}

fn sign_and_pad(negative: bool, body: String, prefix_len: usize, spec: &Spec) -> String {
    let sign = if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let len = sign.len() + body.chars().count();
    if spec.zero && !spec.left && spec.width > len {
        let (prefix, digits) = body.split_at(prefix_len);
        let zeros = "0".repeat(spec.width - len);
        return format!("{sign}{prefix}{zeros}{digits}");
    }
    pad(format!("{sign}{body}"), spec)
}

fn pad(text: String, spec: &Spec) -> String {
    let len = text.chars().count();
    if spec.width <= len {
        return text;
    }
    let fill = " ".repeat(spec.width - len);
    if spec.left {
        format!("{text}{fill}")
    } else {
        format!("{fill}{text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        let mut n = Names::new();
        n.set_str("program_name", "web");
        n.set_str("here", "/etc");
        n.set_int("process_num", 3);
        n.set_int("numprocs", 4);
        n
    }

    fn ok(s: &str) -> String {
        expand(s, &names(), "program:web.command").unwrap()
    }

    fn err(s: &str) -> String {
        expand(s, &names(), "program:web.command").unwrap_err()
    }

    #[test]
    fn plain_names_and_percent_escape() {
        assert_eq!(ok("%(here)s/%(program_name)s"), "/etc/web");
        assert_eq!(ok("date +%%s"), "date +%s");
        assert_eq!(ok("no percent"), "no percent");
    }

    #[test]
    fn integer_specs() {
        assert_eq!(ok("%(process_num)02d"), "03");
        assert_eq!(ok("-port=90%(process_num)02d"), "-port=9003");
        assert_eq!(ok("%(process_num)d/%(numprocs)s"), "3/4");
        assert_eq!(ok("%(process_num)-3d|"), "3  |");
        assert_eq!(ok("%(process_num)+d"), "+3");
        assert_eq!(ok("%(process_num)#x %(process_num)o"), "0x3 3");
        assert_eq!(ok("%(process_num).2f"), "3.00");
        assert_eq!(ok("%(process_num)e"), "3.000000e+00");
        assert_eq!(ok("%(process_num)g"), "3");
        assert_eq!(ok("%(program_name)r %(program_name).2s %(program_name)5s"), "'web' we   web");
    }

    #[test]
    fn a_lone_unnamed_conversion_prints_the_mapping_as_python_does() {
        let all = "{'program_name': 'web', 'here': '/etc', 'process_num': 3, 'numprocs': 4}";
        assert_eq!(ok("echo %s"), format!("echo {all}"));
        assert_eq!(ok("%r|%(here)s"), format!("{all}|/etc"));
        assert_eq!(ok("[%.0s]"), "[]");
        assert_eq!(ok("%.6s"), "{'prog");
        let mut n = Names::new();
        n.set_str("ENV_X", "café");
        n.set_str("ENV_X", "it's");
        n.set_int("a", -1);
        assert_eq!(expand("%s", &n, "x").unwrap(), "{'ENV_X': \"it's\", 'a': -1}", "updates keep the position");
        n.set_str("ENV_X", "é");
        assert_eq!(expand("%a", &n, "x").unwrap(), "{'ENV_X': '\\xe9', 'a': -1}");
        assert_eq!(expand("%s", &Names::new(), "x").unwrap(), "{}");
    }

    #[test]
    fn unknown_name_lists_available_names_sorted() {
        assert_eq!(
            err("ls %(foo)s"),
            "Format string 'ls %(foo)s' for 'program:web.command' contains names ('foo') which cannot be expanded. Available names: here, numprocs, process_num, program_name"
        );
    }

    #[test]
    fn bad_formats() {
        assert_eq!(err("100%"), "Format string '100%' for 'program:web.command' is badly formatted: incomplete format");
        assert!(err("%(here").ends_with("badly formatted: incomplete format key"));
        assert!(err("%(here)q").ends_with("unsupported format character 'q' (0x71) at index 7"));
        assert!(err("%(here)\0").ends_with("unsupported format character '?' (0x0) at index 7"));
        assert!(err("%(here)é").ends_with("unsupported format character '?' (0xe9) at index 7"));
        assert!(err("%(here)'").ends_with("unsupported format character ''' (0x27) at index 7"));
        assert!(err("%(here)d").ends_with("%d format: a real number is required, not str"));
        assert!(err("50% off").ends_with("%o format: an integer is required, not dict"));
        assert!(err("%(here)s %s").ends_with("badly formatted: not enough arguments for format string"));
        assert!(err("%s %s").ends_with("badly formatted: not enough arguments for format string"));
        assert!(err("%s %(nope)s").contains("contains names ('nope')"));
        assert!(err("%(nope)q").contains("contains names ('nope')"), "the name is looked up first");
        assert!(err("%c").ends_with("%c requires int or char"));
        assert!(err("%(process_num)99999999999999999999d").ends_with("width too big"));
        assert!(err("%(process_num).70000f").ends_with("precision too big"));
        assert!(err("%(process_num).70000e").ends_with("precision too big"));
    }
}
