//! The regular expressions of `ready_log_line`: a small Thompson-NFA matcher, so that
//! the time to match a line is linear in its length whatever the pattern (no
//! backtracking blow-up on hostile output), and the binary does not carry a regex
//! crate for one key.
//!
//! Syntax: literals, `.`, `[...]` and `[^...]` with ranges, `\d \D \w \W \s \S`,
//! escaped punctuation, `\t \n \r`, `^` and `$`, groups `(...)` and `(?:...)`,
//! alternation `|`, and the quantifiers `* + ? {n} {n,} {n,m}` (a trailing `?` for
//! laziness is accepted; for "does the line match" it changes nothing).

#[derive(Debug, Clone)]
enum Node {
    Empty,
    Char(char),
    Any,
    Class(Vec<(char, char)>, bool),
    Start,
    End,
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat(Box<Node>, u32, Option<u32>),
}

#[derive(Debug, Clone)]
enum Inst {
    Char(char),
    Any,
    Class(Vec<(char, char)>, bool),
    Start,
    End,
    Split(usize, usize),
    Jmp(usize),
    Match,
}

#[derive(Debug, Clone)]
pub struct Regex {
    prog: Vec<Inst>,
}

/// The largest repetition count: `{n,m}` is expanded, so this bounds the program.
const MAX_REPEAT: u32 = 100;
const MAX_PROGRAM: usize = 10_000;

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    depth: usize,
}

const DIGIT: &[(char, char)] = &[('0', '9')];
const WORD: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
const SPACE: &[(char, char)] = &[('\t', '\r'), (' ', ' ')];

impl Parser<'_> {
    fn alt(&mut self) -> Result<Node, String> {
        let mut branches = vec![self.concat()?];
        while self.chars.peek() == Some(&'|') {
            self.chars.next();
            branches.push(self.concat()?);
        }
        Ok(if branches.len() == 1 { branches.remove(0) } else { Node::Alt(branches) })
    }

    fn concat(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(&c) = self.chars.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.quantified(atom)?);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.remove(0),
            _ => Node::Concat(items),
        })
    }

    fn number(&mut self) -> Option<u32> {
        let mut n: Option<u32> = None;
        while let Some(d) = self.chars.peek().and_then(|c| c.to_digit(10)) {
            self.chars.next();
            n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d));
        }
        n
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, String> {
        let mut node = atom;
        loop {
            let (min, max) = match self.chars.peek() {
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('?') => (0, Some(1)),
                Some('{') => {
                    self.chars.next();
                    let min = self.number().ok_or("a repetition {n,m} needs a number")?;
                    let max = match self.chars.next() {
                        Some('}') => Some(min),
                        Some(',') => {
                            let max = self.number();
                            if self.chars.next() != Some('}') {
                                return Err("unclosed repetition {n,m}".into());
                            }
                            max
                        }
                        _ => return Err("unclosed repetition {n,m}".into()),
                    };
                    if max.is_some_and(|m| m < min) || min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT) {
                        return Err(format!("bad repetition {{{min},{}}} (at most {MAX_REPEAT})", max.unwrap_or(min)));
                    }
                    if matches!(node, Node::Start | Node::End | Node::Empty) {
                        return Err("nothing to repeat".into());
                    }
                    // Python's word; it also keeps `a{1}{1}{1}...` from nesting without bound.
                    if matches!(node, Node::Repeat(..)) {
                        return Err("multiple repeat".into());
                    }
                    node = Node::Repeat(Box::new(node), min, max);
                    self.lazy();
                    continue;
                }
                _ => return Ok(node),
            };
            self.chars.next();
            if matches!(node, Node::Start | Node::End | Node::Empty | Node::Repeat(..)) {
                return Err("nothing to repeat".into());
            }
            node = Node::Repeat(Box::new(node), min, max);
            self.lazy();
        }
    }

    fn lazy(&mut self) {
        if self.chars.peek() == Some(&'?') {
            self.chars.next();
        }
    }

    fn atom(&mut self) -> Result<Node, String> {
        let c = self.chars.next().ok_or("unexpected end")?;
        Ok(match c {
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '(' => {
                self.depth += 1;
                if self.depth > 50 {
                    return Err("groups nested too deeply".into());
                }
                if self.chars.peek() == Some(&'?') {
                    self.chars.next();
                    if self.chars.next() != Some(':') {
                        return Err("only (?:...) groups are supported".into());
                    }
                }
                let inner = self.alt()?;
                if self.chars.next() != Some(')') {
                    return Err("unclosed group".into());
                }
                self.depth -= 1;
                // Wrapped, so that `(a*)*` is a repeated group, not `a**`.
                Node::Concat(vec![inner])
            }
            ')' => return Err("unopened group".into()),
            '[' => self.class()?,
            '*' | '+' | '?' | '{' => return Err("nothing to repeat".into()),
            '\\' => match self.escape()? {
                Ok(ch) => Node::Char(ch),
                Err((ranges, negated)) => Node::Class(ranges, negated),
            },
            c => Node::Char(c),
        })
    }

    /// After a backslash: a character, or a class (`\d` and friends).
    #[allow(clippy::type_complexity)]
    fn escape(&mut self) -> Result<Result<char, (Vec<(char, char)>, bool)>, String> {
        let c = self.chars.next().ok_or("a trailing backslash")?;
        Ok(match c {
            'd' => Err((DIGIT.to_vec(), false)),
            'D' => Err((DIGIT.to_vec(), true)),
            'w' => Err((WORD.to_vec(), false)),
            'W' => Err((WORD.to_vec(), true)),
            's' => Err((SPACE.to_vec(), false)),
            'S' => Err((SPACE.to_vec(), true)),
            't' => Ok('\t'),
            'n' => Ok('\n'),
            'r' => Ok('\r'),
            c if c.is_ascii_punctuation() || c == ' ' => Ok(c),
            c => return Err(format!("unsupported escape \\{c}")),
        })
    }

    fn class(&mut self) -> Result<Node, String> {
        let negated = self.chars.peek() == Some(&'^');
        if negated {
            self.chars.next();
        }
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let c = self.chars.next().ok_or("unclosed character class")?;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = match c {
                '\\' => match self.escape()? {
                    Ok(ch) => ch,
                    Err((set, false)) => {
                        ranges.extend(set);
                        continue;
                    }
                    Err((_, true)) => return Err("negated classes (\\D \\W \\S) inside [...] are not supported".into()),
                },
                c => c,
            };
            let mut ahead = self.chars.clone();
            if ahead.next() == Some('-') && ahead.peek().is_some_and(|&n| n != ']') {
                self.chars.next();
                let hi = match self.chars.next() {
                    Some('\\') => self.escape()?.map_err(|_| "a class cannot end a range".to_string())?,
                    Some(h) => h,
                    None => return Err("unclosed character class".into()),
                };
                if hi < lo {
                    return Err(format!("bad range {lo}-{hi}"));
                }
                ranges.push((lo, hi));
            } else {
                ranges.push((lo, lo));
            }
        }
        Ok(Node::Class(ranges, negated))
    }
}

fn compile(node: &Node, prog: &mut Vec<Inst>) -> Result<(), String> {
    if prog.len() > MAX_PROGRAM {
        return Err("pattern too large".into());
    }
    match node {
        Node::Empty => {}
        Node::Char(c) => prog.push(Inst::Char(*c)),
        Node::Any => prog.push(Inst::Any),
        Node::Class(r, n) => prog.push(Inst::Class(r.clone(), *n)),
        Node::Start => prog.push(Inst::Start),
        Node::End => prog.push(Inst::End),
        Node::Concat(items) => {
            for i in items {
                compile(i, prog)?;
            }
        }
        Node::Alt(branches) => {
            let mut jumps = Vec::new();
            for (i, b) in branches.iter().enumerate() {
                if i + 1 < branches.len() {
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    compile(b, prog)?;
                    jumps.push(prog.len());
                    prog.push(Inst::Jmp(0));
                    let next = prog.len();
                    prog[split] = Inst::Split(split + 1, next);
                } else {
                    compile(b, prog)?;
                }
            }
            let end = prog.len();
            for j in jumps {
                prog[j] = Inst::Jmp(end);
            }
        }
        Node::Repeat(inner, min, max) => {
            for _ in 0..*min {
                compile(inner, prog)?;
            }
            match max {
                None => {
                    // L: split body, out; body; jmp L
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    compile(inner, prog)?;
                    prog.push(Inst::Jmp(split));
                    let out = prog.len();
                    prog[split] = Inst::Split(split + 1, out);
                }
                Some(max) => {
                    let mut splits = Vec::new();
                    for _ in *min..*max {
                        splits.push(prog.len());
                        prog.push(Inst::Split(prog.len() + 1, 0));
                        compile(inner, prog)?;
                    }
                    let out = prog.len();
                    for s in splits {
                        prog[s] = Inst::Split(s + 1, out);
                    }
                }
            }
        }
    }
    Ok(())
}

impl Regex {
    pub fn new(pattern: &str) -> Result<Regex, String> {
        let mut p = Parser { chars: pattern.chars().peekable(), depth: 0 };
        let node = p.alt()?;
        if p.chars.next().is_some() {
            return Err("unopened group".into());
        }
        let mut prog = Vec::new();
        compile(&node, &mut prog)?;
        prog.push(Inst::Match);
        if prog.len() > MAX_PROGRAM {
            return Err("pattern too large".into());
        }
        Ok(Regex { prog })
    }

    /// Whether the pattern matches anywhere in `text` (one line).
    pub fn is_match(&self, text: &str) -> bool {
        let n = self.prog.len();
        let mut current: Vec<usize> = Vec::new();
        let mut next: Vec<usize> = Vec::new();
        // seen[pc] == pos: pc is already a thread at this position (no duplicates).
        let mut seen = vec![usize::MAX; n];
        let chars: Vec<char> = text.chars().collect();
        for pos in 0..=chars.len() {
            // A new thread starts at every position: the search is unanchored.
            if self.add(0, pos, chars.len(), &mut current, &mut seen, pos) {
                return true;
            }
            let Some(&c) = chars.get(pos) else { break };
            next.clear();
            for &pc in &current {
                let step = match &self.prog[pc] {
                    Inst::Char(x) => *x == c,
                    Inst::Any => true,
                    Inst::Class(ranges, negated) => ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated,
                    _ => false,
                };
                if step && self.add(pc + 1, pos + 1, chars.len(), &mut next, &mut seen, pos + 1) {
                    return true;
                }
            }
            std::mem::swap(&mut current, &mut next);
        }
        false
    }

    /// Adds a thread and its epsilon closure; true when it reaches Match.
    fn add(&self, pc: usize, pos: usize, len: usize, list: &mut Vec<usize>, seen: &mut [usize], mark: usize) -> bool {
        let mut stack = vec![pc];
        while let Some(pc) = stack.pop() {
            if seen[pc] == mark {
                continue;
            }
            seen[pc] = mark;
            match self.prog[pc] {
                Inst::Match => return true,
                Inst::Jmp(t) => stack.push(t),
                Inst::Split(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                Inst::Start if pos == 0 => stack.push(pc + 1),
                Inst::End if pos == len => stack.push(pc + 1),
                Inst::Start | Inst::End => {}
                _ => list.push(pc),
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Regex::new(p).unwrap_or_else(|e| panic!("{p}: {e}")).is_match(t)
    }

    #[test]
    fn matches_like_a_regex_should() {
        assert!(m(r"listening on port \d+", "INFO listening on port 8080"));
        assert!(!m(r"listening on port \d+", "listening on port x"));
        assert!(m("^ready$", "ready"));
        assert!(!m("^ready$", "ready!"));
        assert!(!m("^ready", "not ready"));
        assert!(m("a|b|c", "xxc"));
        assert!(m("(?:ab)+c", "ababc"));
        assert!(!m("^(ab)+c", "ac"));
        assert!(m("colou?r", "color"));
        assert!(m("[A-Fa-f0-9]{4}", "id=beef"));
        assert!(!m("^[0-9]{3}$", "1234"));
        assert!(m("^[0-9]{2,3}$", "123"));
        assert!(m("^x{2,}$", "xxxx"));
        assert!(m(r"[^\s]+\.log", "file app.log"));
        assert!(m(r"\w+=\S", "key=v"));
        assert!(m("", "anything"));
        assert!(m(".*", ""));
        assert!(m("a.c", "abc"));
        assert!(m("[]a]", "]"));
        assert!(m("[a-]", "-"));
        assert!(m("é+", "café"));
        assert!(m(r"Server started \(pid \d+\)", "Server started (pid 42)"));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for bad in ["(unclosed", "a)", "*a", "a**", "[abc", r"\q", "a{3,1}", "a{1000}", "(?=x)", r"[\D]", "a\\"] {
            assert!(Regex::new(bad).is_err(), "{bad} was accepted");
        }
        // A chain of counted repeats would nest one level each: refused at the second.
        assert_eq!(Regex::new(&format!("a{}", "{1}".repeat(100_000))).err().as_deref(), Some("multiple repeat"));
    }

    #[test]
    fn hostile_patterns_stay_linear() {
        // (a*)*b against a long run of a's: exponential for a backtracker.
        let r = Regex::new("(a*)*b").unwrap();
        let text = "a".repeat(4096);
        let t = std::time::Instant::now();
        assert!(!r.is_match(&text));
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
    }
}
