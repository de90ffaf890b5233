//! XML-RPC values: parsing calls and responses (quick-xml tokens; no DTD, no entities
//! beyond the five predefined ones and character references, bounded nesting), and
//! writing them byte for byte as CPython's `xmlrpc.client.dumps` does, which is what
//! every existing Supervisor client has seen.

use std::borrow::Cow;

use quick_xml::events::Event;
use quick_xml::Reader;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Bool(bool),
    Str(String),
    Double(f64),
    DateTime(String),
    Base64(Vec<u8>),
    Array(Vec<Value>),
    Struct(Vec<(String, Value)>),
    Nil,
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Struct(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: i32,
    pub string: String,
}

/// Nesting deeper than this is refused (a 10,000-deep document must not exhaust the
/// stack). Real calls nest three or four levels.
const MAX_DEPTH: usize = 64;

/// One open element while parsing; values are built as their elements close, with no
/// intermediate tree.
enum Frame {
    /// `<value>`: its leading text (a bare string) until a typed child gives a value.
    Value {
        text: String,
        typed: Option<Value>,
    },
    /// `<int>`, `<string>`, ...: the text to convert when it closes.
    Scalar {
        kind: &'static str,
        text: String,
    },
    Array(Vec<Value>),
    Struct(Vec<(String, Value)>),
    Member {
        name: String,
        value: Option<Value>,
    },
    Name(String),
    /// Anything else (`methodCall`, `params`, `param`, `fault`, `data`, `methodName`).
    Other {
        tag: Tag,
        text: String,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tag {
    MethodName,
    Param,
    Fault,
    Data,
    Any,
}

const SCALARS: &[&str] = &["int", "i4", "i8", "boolean", "string", "double", "dateTime.iso8601", "base64", "nil"];

fn int_of(text: &str) -> Result<i64, String> {
    crate::config::values::py_int_radix(text, 10).ok_or_else(|| format!("bad integer {text:?}"))
}

fn scalar_kind(tag: &str) -> Option<&'static str> {
    SCALARS.iter().copied().find(|k| *k == tag)
}

fn scalar(kind: &str, t: &str) -> Result<Value, String> {
    Ok(match kind {
        "int" | "i4" | "i8" => Value::Int(int_of(t)?),
        "boolean" => Value::Bool(t.trim() == "1"),
        "string" => Value::Str(t.to_string()),
        "double" => Value::Double(t.trim().parse().map_err(|_| format!("bad double {t:?}"))?),
        "dateTime.iso8601" => Value::DateTime(t.trim().to_string()),
        "base64" => Value::Base64(super::base64::base64_decode(t).ok_or("bad base64")?),
        _ => Value::Nil,
    })
}

/// What a whole document held.
#[derive(Default)]
struct Document {
    root: Option<String>,
    method: Option<String>,
    params: Vec<Value>,
    fault: Option<Value>,
}

fn parse_document(body: &str) -> Result<Document, String> {
    let mut reader = Reader::from_str(body);
    let mut stack: Vec<Frame> = Vec::new();
    let mut doc = Document::default();
    let mut closed_root = false;
    loop {
        let ev = reader.read_event().map_err(|e| format!("malformed XML: {e}"))?;
        let (start, empty) = match &ev {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            let qname = e.name();
            let tag: &str = qname.as_ref();
            if closed_root {
                return Err("content after the document element".into());
            }
            if stack.len() >= MAX_DEPTH {
                return Err("nested too deeply".into());
            }
            if doc.root.is_none() {
                doc.root = Some(tag.to_string());
            }
            let kind = scalar_kind(tag);
            if let Some(Frame::Value { typed: None, .. }) = stack.last() {
                if kind.is_none() && tag != "array" && tag != "struct" {
                    return Err(format!("unknown value type <{tag}>"));
                }
            }
            stack.push(match (tag, kind) {
                ("value", _) => Frame::Value { text: String::new(), typed: None },
                ("array", _) => Frame::Array(Vec::new()),
                ("struct", _) => Frame::Struct(Vec::new()),
                ("member", _) => Frame::Member { name: String::new(), value: None },
                ("name", _) => Frame::Name(String::new()),
                (_, Some(kind)) => Frame::Scalar { kind, text: String::new() },
                (t, None) => {
                    let tag = match t {
                        "methodName" => Tag::MethodName,
                        "param" => Tag::Param,
                        "fault" => Tag::Fault,
                        "data" => Tag::Data,
                        _ => Tag::Any,
                    };
                    Frame::Other { tag, text: String::new() }
                }
            });
            if empty {
                close(&mut stack, &mut doc)?;
                closed_root = stack.is_empty();
            }
            continue;
        }
        match ev {
            Event::End(_) => {
                close(&mut stack, &mut doc)?;
                closed_root = stack.is_empty();
            }
            Event::Text(t) => append_text(&mut stack, &t.xml10_content())?,
            Event::CData(c) => append_text(&mut stack, &c.into_inner())?,
            Event::GeneralRef(r) => {
                let text: Cow<str> = match r.resolve_char_ref() {
                    Ok(Some(c)) => Cow::Owned(c.to_string()),
                    Ok(None) => match r.xml10_content().as_ref() {
                        "lt" => Cow::Borrowed("<"),
                        "gt" => Cow::Borrowed(">"),
                        "amp" => Cow::Borrowed("&"),
                        "quot" => Cow::Borrowed("\""),
                        "apos" => Cow::Borrowed("'"),
                        other => return Err(format!("undefined entity &{other};")),
                    },
                    Err(e) => return Err(format!("bad character reference: {e}")),
                };
                append_text(&mut stack, &text)?;
            }
            Event::DocType(_) => return Err("a DOCTYPE is not allowed".into()),
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("unexpected end of document".into());
    }
    if doc.root.is_none() {
        return Err("empty document".into());
    }
    Ok(doc)
}

fn append_text(stack: &mut [Frame], text: &str) -> Result<(), String> {
    match stack.last_mut() {
        // Only the text before a value's typed child counts (ElementTree keeps the
        // rest as a tail).
        Some(Frame::Value { text: t, typed: None }) => t.push_str(text),
        Some(Frame::Scalar { text: t, .. }) | Some(Frame::Name(t)) => t.push_str(text),
        Some(Frame::Other { text: t, .. }) => t.push_str(text),
        Some(_) => {}
        None if text.trim().is_empty() => {}
        None => return Err("text outside the document element".into()),
    }
    Ok(())
}

/// Closes the innermost element and hands what it built to its parent.
fn close(stack: &mut Vec<Frame>, doc: &mut Document) -> Result<(), String> {
    let frame = stack.pop().ok_or("unbalanced end tag")?;
    let built = match frame {
        Frame::Value { text, typed } => typed.unwrap_or(Value::Str(text)),
        Frame::Scalar { kind, text } => scalar(kind, &text)?,
        Frame::Array(items) => Value::Array(items),
        Frame::Struct(members) => Value::Struct(members),
        Frame::Member { name, value } => {
            let value = value.ok_or("struct member without a value")?;
            if let Some(Frame::Struct(members)) = stack.last_mut() {
                members.push((name, value));
            }
            return Ok(());
        }
        Frame::Name(text) => {
            if let Some(Frame::Member { name, .. }) = stack.last_mut() {
                *name = text;
            }
            return Ok(());
        }
        Frame::Other { tag, text } => {
            if tag == Tag::MethodName {
                let name = text.trim();
                doc.method = (!name.is_empty()).then(|| name.to_string());
            }
            return Ok(());
        }
    };
    // A finished value goes where its parent keeps values.
    match stack.last_mut() {
        Some(Frame::Value { typed, .. }) => *typed = Some(built),
        Some(Frame::Array(items)) => items.push(built),
        Some(Frame::Member { value, .. }) => *value = Some(built),
        Some(Frame::Other { tag: Tag::Data, .. }) => {
            let n = stack.len();
            if let Some(Frame::Array(items)) = n.checked_sub(2).and_then(|i| stack.get_mut(i)) {
                items.push(built);
            }
        }
        Some(Frame::Other { tag: Tag::Param, .. }) => doc.params.push(built),
        Some(Frame::Other { tag: Tag::Fault, .. }) => doc.fault = Some(built),
        _ => {}
    }
    Ok(())
}

/// A `<methodCall>`: the method name (None when absent or empty) and its params.
pub fn parse_call(body: &[u8]) -> Result<(Option<String>, Vec<Value>), String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
    let doc = parse_document(text)?;
    Ok((doc.method, doc.params))
}

/// A `<methodResponse>`: its value, or the fault it carries.
pub fn parse_response(body: &[u8]) -> Result<Result<Value, Fault>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the response is not UTF-8".to_string())?;
    let mut doc = parse_document(text)?;
    if let Some(v) = doc.fault {
        let code = v.get("faultCode").and_then(Value::as_int).unwrap_or(0) as i32;
        let string = v.get("faultString").and_then(Value::as_str).unwrap_or("").to_string();
        return Ok(Err(Fault { code, string }));
    }
    if doc.params.is_empty() {
        return Err("neither params nor fault in the response".into());
    }
    Ok(Ok(doc.params.swap_remove(0)))
}

fn escape(s: &str, out: &mut String) {
    if !s.contains(['&', '<', '>']) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// Python's repr() of a float, for <double>.
fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = format!("{f:?}");
    if s.contains('e') {
        // Python writes 1e+20 where Rust writes 1e20.
        match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        }
    } else {
        s
    }
}

pub fn write_value(v: &Value, out: &mut String) {
    match v {
        Value::Int(i) => {
            out.push_str("<value><int>");
            out.push_str(&i.to_string());
            out.push_str("</int></value>\n");
        }
        Value::Bool(b) => {
            out.push_str("<value><boolean>");
            out.push(if *b { '1' } else { '0' });
            out.push_str("</boolean></value>\n");
        }
        Value::Str(s) => {
            out.push_str("<value><string>");
            escape(s, out);
            out.push_str("</string></value>\n");
        }
        Value::Double(f) => {
            out.push_str("<value><double>");
            out.push_str(&float_repr(*f));
            out.push_str("</double></value>\n");
        }
        Value::DateTime(s) => {
            out.push_str("<value><dateTime.iso8601>");
            escape(s, out);
            out.push_str("</dateTime.iso8601></value>\n");
        }
        Value::Base64(b) => {
            out.push_str("<value><base64>\n");
            out.push_str(&super::base64::base64_encode_lines(b));
            out.push_str("</base64></value>\n");
        }
        Value::Array(items) => {
            out.push_str("<value><array><data>\n");
            for i in items {
                write_value(i, out);
            }
            out.push_str("</data></array></value>\n");
        }
        Value::Struct(members) => {
            out.push_str("<value><struct>\n");
            for (k, val) in members {
                out.push_str("<member>\n<name>");
                escape(k, out);
                out.push_str("</name>\n");
                write_value(val, out);
                out.push_str("</member>\n");
            }
            out.push_str("</struct></value>\n");
        }
        Value::Nil => out.push_str("<value><nil/></value>\n"),
    }
}

pub fn response(v: &Value) -> String {
    let mut out = String::new();
    response_into(v, &mut out);
    out
}

/// Appends the response document to `out`, reserving its size first: a big answer
/// (getAllProcessInfo of thousands) is then written once, without regrowing.
pub fn response_into(v: &Value, out: &mut String) {
    out.reserve(size_hint(v) + 128);
    out.push_str("<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n");
    write_value(v, out);
    out.push_str("</param>\n</params>\n</methodResponse>\n");
}

/// About the encoded size of a value (exact but for escapes and number widths).
fn size_hint(v: &Value) -> usize {
    const VALUE: usize = "<value><string></string></value>\n".len();
    match v {
        Value::Str(s) | Value::DateTime(s) => VALUE + s.len(),
        Value::Base64(b) => VALUE + b.len() * 4 / 3 + b.len() / 57 + 4,
        Value::Array(items) => VALUE + 14 + items.iter().map(size_hint).sum::<usize>(),
        Value::Struct(members) => {
            VALUE
                + members
                    .iter()
                    .map(|(k, v)| "<member>\n<name></name>\n</member>\n".len() + k.len() + size_hint(v))
                    .sum::<usize>()
        }
        Value::Int(_) | Value::Bool(_) | Value::Double(_) | Value::Nil => VALUE + 20,
    }
}

pub fn fault(f: &Fault) -> String {
    let mut out = String::from("<?xml version='1.0'?>\n<methodResponse>\n<fault>\n");
    write_value(&fault_struct(f), &mut out);
    out.push_str("</fault>\n</methodResponse>\n");
    out
}

pub fn fault_struct(f: &Fault) -> Value {
    Value::Struct(vec![("faultCode".into(), Value::Int(f.code.into())), ("faultString".into(), Value::str(&f.string))])
}

/// A `<methodCall>` as CPython's client writes it (for our supervisorctl).
pub fn call(method: &str, params: &[Value]) -> String {
    let mut out = String::from("<?xml version='1.0'?>\n<methodCall>\n<methodName>");
    escape(method, &mut out);
    out.push_str("</methodName>\n<params>\n");
    for p in params {
        out.push_str("<param>\n");
        write_value(p, &mut out);
        out.push_str("</param>\n");
    }
    out.push_str("</params>\n</methodCall>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_python_client_call() {
        let body = b"<?xml version='1.0'?>\n<methodCall>\n<methodName>supervisor.startProcess</methodName>\n<params>\n<param>\n<value><string>web:*</string></value>\n</param>\n<param>\n<value><boolean>1</boolean></value>\n</param>\n</params>\n</methodCall>\n";
        let (m, p) = parse_call(body).unwrap();
        assert_eq!(m.as_deref(), Some("supervisor.startProcess"));
        assert_eq!(p, vec![Value::str("web:*"), Value::Bool(true)]);
    }

    #[test]
    fn value_types() {
        let body = "<methodCall><methodName>x.y</methodName><params>\
            <param><value>bare &amp; text</value></param>\
            <param><value><i4> 42 </i4></value></param>\
            <param><value><i8>-7</i8></value></param>\
            <param><value><double>1.5</double></value></param>\
            <param><value><base64>aGk=</base64></value></param>\
            <param><value><nil/></value></param>\
            <param><value><array><data><value><int>1</int></value><value>s</value></data></array></value></param>\
            <param><value><struct><member><name>a</name><value><string>&#233;&lt;</string></value></member></struct></value></param>\
            <param><value><string></string></value></param>\
            <param><value><dateTime.iso8601>20261121T05:37:43</dateTime.iso8601></value></param>\
            </params></methodCall>";
        let (_, p) = parse_call(body.as_bytes()).unwrap();
        assert_eq!(p[0], Value::str("bare & text"));
        assert_eq!(p[1], Value::Int(42));
        assert_eq!(p[2], Value::Int(-7));
        assert_eq!(p[3], Value::Double(1.5));
        assert_eq!(p[4], Value::Base64(b"hi".to_vec()));
        assert_eq!(p[5], Value::Nil);
        assert_eq!(p[6], Value::Array(vec![Value::Int(1), Value::str("s")]));
        assert_eq!(p[7], Value::Struct(vec![("a".into(), Value::str("é<"))]));
        assert_eq!(p[8], Value::str(""));
        assert_eq!(p[9], Value::DateTime("20261121T05:37:43".into()));
    }

    #[test]
    fn hostile_documents_are_refused() {
        let deep = format!(
            "<methodCall><methodName>a.b</methodName><params><param>{}{}</param></params></methodCall>",
            "<value><array><data>".repeat(10_000),
            "</data></array></value>".repeat(10_000)
        );
        assert!(parse_call(deep.as_bytes()).is_err());
        let bomb = "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;\">]><methodCall><methodName>&b;</methodName></methodCall>";
        assert!(parse_call(bomb.as_bytes()).is_err());
        assert!(parse_call(b"<methodCall><methodName>&foo;</methodName></methodCall>").is_err());
        assert!(parse_call(b"<methodCall><methodName>a.b</methodName>").is_err());
        assert!(parse_call(b"not xml at all").is_err());
        assert!(parse_call(b"<a></b>").is_err());
        assert!(parse_call(b"").is_err());
        assert!(parse_call(b"<methodCall><params><param><value><int>99999999999999999999999</int></value></param></params></methodCall>").is_err());
        assert!(parse_call(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn missing_method_name() {
        let (m, p) = parse_call(b"<methodCall><params/></methodCall>").unwrap();
        assert_eq!(m, None);
        assert!(p.is_empty());
        let (m, _) = parse_call(b"<methodCall><methodName></methodName></methodCall>").unwrap();
        assert_eq!(m, None);
    }

    #[test]
    fn writes_exactly_what_cpython_writes() {
        let v = Value::Struct(vec![
            ("name".into(), Value::str("a<&>b")),
            ("pid".into(), Value::Int(0)),
            ("ok".into(), Value::Bool(true)),
            ("list".into(), Value::Array(vec![Value::Double(1e20), Value::str("")])),
        ]);
        assert_eq!(
            response(&v),
            "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><struct>\n<member>\n<name>name</name>\n<value><string>a&lt;&amp;&gt;b</string></value>\n</member>\n<member>\n<name>pid</name>\n<value><int>0</int></value>\n</member>\n<member>\n<name>ok</name>\n<value><boolean>1</boolean></value>\n</member>\n<member>\n<name>list</name>\n<value><array><data>\n<value><double>1e+20</double></value>\n<value><string></string></value>\n</data></array></value>\n</member>\n</struct></value>\n</param>\n</params>\n</methodResponse>\n"
        );
        assert_eq!(
            fault(&Fault { code: 10, string: "BAD_NAME: nosuch".into() }),
            "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value><int>10</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>BAD_NAME: nosuch</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n"
        );
    }

    #[test]
    fn responses_round_trip() {
        let v = Value::Array(vec![Value::Int(1), Value::str("x")]);
        assert_eq!(parse_response(response(&v).as_bytes()).unwrap(), Ok(v));
        let f = Fault { code: 2, string: "INCORRECT_PARAMETERS".into() };
        assert_eq!(parse_response(fault(&f).as_bytes()).unwrap(), Err(f));
        let (m, p) = parse_call(call("supervisor.getState", &[Value::Int(3)]).as_bytes()).unwrap();
        assert_eq!((m.as_deref(), p), (Some("supervisor.getState"), vec![Value::Int(3)]));
    }
}
