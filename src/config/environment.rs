//! `environment=KEY=val,KEY2="v,2"`.
//!
//! The reference tokenises this with Python's non-POSIX `shlex`, which silently cuts an
//! unquoted value at the first character outside `[A-Za-z0-9_/.+-():]` (`A=a b` gives
//! `a`, `A=$HOME` gives `$`). We accept and reject exactly the same strings (so a config
//! moves between the two unchanged), but take an unquoted value whole up to the next
//! comma, and report where the two readings differ so the author can see it.

use super::ini::py_repr;

/// The parsed pairs, in order, and for each key whose reading differs from the
/// reference's, a note saying how.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub pairs: Vec<(String, String)>,
    pub differences: Vec<String>,
}

pub fn parse(arg: &str) -> Result<Parsed, String> {
    let reference = reference_pairs(arg)?;
    let ours = whole_value_pairs(arg);
    let mut differences = Vec::new();
    for (k, v) in &ours {
        let theirs = reference.iter().rev().find(|(rk, _)| rk == k).map(|(_, rv)| rv);
        if theirs != Some(v) {
            differences.push(format!(
                "environment value for {k} is {} here; Supervisor 4.3.0 would read {} (quote the value to make both agree)",
                py_repr(v),
                theirs.map(|t| py_repr(t)).unwrap_or_else(|| "nothing".to_string())
            ));
        }
    }
    // A key the reference saw that our reading does not have means the two disagree
    // about the structure; fall back to the reference's reading rather than guess.
    if reference.iter().any(|(rk, _)| !ours.iter().any(|(k, _)| k == rk)) {
        return Ok(Parsed { pairs: dedup(reference), differences: Vec::new() });
    }
    Ok(Parsed { pairs: dedup(ours), differences })
}

/// Later duplicates win, keeping the first position (a Python dict's behaviour).
fn dedup(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in pairs {
        match out.iter_mut().find(|(ok, _)| *ok == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_/.+-():".contains(c)
}

/// Python's `shlex.shlex(arg)` (non-POSIX) tokens, with `/.+-():` added to wordchars.
fn shlex_tokens(arg: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = arg.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if " \t\r\n".contains(c) {
            i += 1;
        } else if c == '#' {
            // A comment runs to the end of the line.
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if is_word_char(c) {
            let mut tok = String::new();
            while i < chars.len() && (is_word_char(chars[i]) || chars[i] == '\'' || chars[i] == '"') {
                tok.push(chars[i]);
                i += 1;
            }
            tokens.push(tok);
        } else if c == '\'' || c == '"' {
            let mut tok = String::from(c);
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("No closing quotation".to_string()),
                    Some(&q) if q == c => {
                        tok.push(q);
                        i += 1;
                        break;
                    }
                    Some(&other) => {
                        tok.push(other);
                        i += 1;
                    }
                }
            }
            tokens.push(tok);
        } else {
            tokens.push(c.to_string());
            i += 1;
        }
    }
    Ok(tokens)
}

/// The reference's `dict_of_key_value_pairs`: tokens taken as `K = V` then one skipped.
fn reference_pairs(arg: &str) -> Result<Vec<(String, String)>, String> {
    let tokens = shlex_tokens(arg)?;
    let mut pairs = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if i + 3 > tokens.len() || tokens[i + 1] != "=" {
            return Err(format!("Unexpected end of key/value pairs in value '{arg}'"));
        }
        let v = tokens[i + 2].trim_matches(['\'', '"']).to_string();
        pairs.push((tokens[i].clone(), v));
        i += 4;
    }
    Ok(pairs)
}

/// Our reading: pairs split at commas outside quotes; a quoted value is its content, an
/// unquoted one everything up to the next comma, trimmed.
fn whole_value_pairs(arg: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = arg.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_string();
        let after = rest[eq + 1..].trim_start();
        let (value, next) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => match after[1..].find(q) {
                Some(end) => {
                    let inner = &after[1..1 + end];
                    let tail = &after[1 + end + 1..];
                    // Text glued after the closing quote belongs to the reference's next
                    // token; keep the same cut.
                    let tail = match tail.find(',') {
                        Some(c) => &tail[c + 1..],
                        None => "",
                    };
                    (inner.to_string(), tail)
                }
                None => (after[1..].to_string(), ""),
            },
            _ => match after.find(',') {
                Some(c) => (after[..c].trim().to_string(), &after[c + 1..]),
                None => (after.trim().to_string(), ""),
            },
        };
        pairs.push((key, value));
        rest = next.trim_start();
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &str) -> Vec<(String, String)> {
        parse(s).unwrap().pairs
    }

    fn p(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn simple_and_quoted() {
        assert_eq!(pairs("A=1,B=2"), vec![p("A", "1"), p("B", "2")]);
        assert_eq!(pairs("A=1,B=\"x,y\",C='z'"), vec![p("A", "1"), p("B", "x,y"), p("C", "z")]);
        assert_eq!(pairs("ES_HOME=/usr/local/x"), vec![p("ES_HOME", "/usr/local/x")]);
        assert_eq!(pairs("A=1,"), vec![p("A", "1")]);
        assert_eq!(pairs("A=\"\""), vec![p("A", "")]);
        assert_eq!(pairs(""), vec![]);
        assert_eq!(pairs("PATH=/a:/b,X=(1)"), vec![p("PATH", "/a:/b"), p("X", "(1)")]);
    }

    #[test]
    fn whole_values_where_the_reference_truncates_with_a_note() {
        let r = parse("A=a b").unwrap();
        assert_eq!(r.pairs, vec![p("A", "a b")]);
        assert_eq!(r.differences.len(), 1);
        assert!(r.differences[0].contains("'a b' here; Supervisor 4.3.0 would read 'a'"));
        assert_eq!(parse("B=$HOME").unwrap().pairs, vec![p("B", "$HOME")]);
        assert_eq!(parse("C=café").unwrap().pairs, vec![p("C", "café")]);
        assert_eq!(parse("X=1,C=café").unwrap().pairs, vec![p("X", "1"), p("C", "café")]);
        // Where the reference's tokens leave the pairs out of step it rejects the value.
        assert!(parse("A=a b,B=2").is_err());
    }

    #[test]
    fn rejected_like_the_reference() {
        for bad in ["A=x=y", "A=", "A=1,,B=2", "A=1 B=2", "A", "=1"] {
            assert_eq!(parse(bad), Err(format!("Unexpected end of key/value pairs in value '{bad}'")), "{bad}");
        }
        assert_eq!(parse("A=\"open"), Err("No closing quotation".into()));
    }

    #[test]
    fn reference_tokens() {
        assert_eq!(reference_pairs("A=a b").unwrap(), vec![p("A", "a")]);
        assert_eq!(reference_pairs("A=$HOME").unwrap(), vec![p("A", "$")]);
        assert_eq!(reference_pairs("A=café").unwrap(), vec![p("A", "caf")]);
    }
}
