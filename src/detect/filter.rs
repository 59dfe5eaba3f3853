//! `--where`: conditions such as `temperature > 18` or
//! `product_id == P06 and temperature > -18`, used to pass matching records
//! through unchanged (like the reference design's faulty-reefers stream) and
//! as the condition of threshold rules in a rules file.
//!
//! Grammar: COND (`and` COND)* (`or` COND (`and` COND)*)*, where COND is
//! `FIELD OP VALUE`, OP one of `> >= < <= == != =`, VALUE a number, `true`,
//! `false`, `null`, or a string (quoted with `'` or `"`, or bare). `and`
//! binds tighter than `or`. A missing or null field matches no comparison
//! except `!= VALUE` / `== null`.

use super::obs::{parse_num, Obs};
use crate::record::value_f64;
use memchr::memmem::Finder;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }

    #[inline]
    fn cmp<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Num(f64),
    Str(String),
    Bool(bool),
    Null,
}

/// One comparison.
#[derive(Debug, Clone)]
pub struct Cond {
    pub field: String,
    pub op: Op,
    pub lit: Lit,
    /// `"field":` for the byte-level search.
    finder: Finder<'static>,
}

impl Cond {
    /// Compares a JSON value (absent: `None`).
    pub fn test_value(&self, v: Option<&Value>) -> bool {
        let v = v.unwrap_or(&Value::Null);
        match (&self.lit, v) {
            (Lit::Null, Value::Null) => self.op == Op::Eq,
            (Lit::Null, _) => self.op == Op::Ne,
            (_, Value::Null) => self.op == Op::Ne,
            (Lit::Num(x), v) => match value_f64(v) {
                Some(y) => self.op.cmp(y, *x),
                None => self.op == Op::Ne,
            },
            (Lit::Bool(x), Value::Bool(y)) => self.op.cmp(*y, *x),
            (Lit::Bool(_), _) => self.op == Op::Ne,
            (Lit::Str(x), Value::String(y)) => self.op.cmp(y.as_str(), x.as_str()),
            (Lit::Str(x), other) => self.op.cmp(other.to_string().as_str(), x.as_str()),
        }
    }

    /// Compares a number field of an observation (`None`: the field is absent).
    pub fn test_obs(&self, o: &Obs) -> Option<bool> {
        let y = o.field(&self.field)?;
        Some(match &self.lit {
            Lit::Num(x) => self.op.cmp(y, *x),
            Lit::Bool(x) => self.op.cmp(y, if *x { 1.0 } else { 0.0 }),
            _ => false,
        })
    }

    /// Byte-level test on a flat JSON line; `None` when unsure (general path).
    #[inline]
    fn test_line(&self, line: &[u8]) -> Option<bool> {
        let at = self.finder.find(line)? + self.finder.needle().len();
        let rest = &line[at..];
        let i = rest.iter().position(|c| !matches!(c, b' ' | b'\t'))?;
        let rest = &rest[i..];
        match rest.first()? {
            b'-' | b'0'..=b'9' => {
                let end = rest
                    .iter()
                    .position(|c| !matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                    .unwrap_or(rest.len());
                let y = parse_num(&rest[..end])?;
                Some(match &self.lit {
                    Lit::Num(x) => self.op.cmp(y, *x),
                    Lit::Str(x) => self
                        .op
                        .cmp(std::str::from_utf8(&rest[..end]).ok()?, x.as_str()),
                    _ => self.op == Op::Ne,
                })
            }
            b'"' => {
                let end = memchr::memchr(b'"', &rest[1..])?;
                let s = std::str::from_utf8(&rest[1..1 + end]).ok()?;
                match &self.lit {
                    Lit::Str(x) => Some(self.op.cmp(s, x.as_str())),
                    // A number written as a string: let the general path decide.
                    _ => None,
                }
            }
            b't' if rest.starts_with(b"true") => Some(self.test_value(Some(&Value::Bool(true)))),
            b'f' if rest.starts_with(b"false") => Some(self.test_value(Some(&Value::Bool(false)))),
            b'n' if rest.starts_with(b"null") => Some(self.test_value(None)),
            _ => None,
        }
    }
}

impl std::fmt::Display for Cond {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = match &self.lit {
            Lit::Num(x) => x.to_string(),
            Lit::Str(s) => format!("{s:?}"),
            Lit::Bool(b) => b.to_string(),
            Lit::Null => "null".into(),
        };
        write!(f, "{} {} {v}", self.field, self.op.name())
    }
}

/// An `or` of `and`s of comparisons.
#[derive(Debug, Clone)]
pub struct Expr {
    pub any: Vec<Vec<Cond>>,
}

impl Expr {
    pub fn parse(s: &str) -> Result<Expr, String> {
        let toks = tokenize(s)?;
        let mut any = vec![Vec::new()];
        let mut i = 0;
        loop {
            if i + 3 > toks.len() {
                return Err(format!(
                    "invalid condition {s:?}: expected FIELD OP VALUE, e.g. 'temperature > 18'"
                ));
            }
            let field = match &toks[i] {
                Tok::Word(w) if is_field(w) => w.clone(),
                t => {
                    return Err(format!(
                        "invalid condition {s:?}: expected a field name, found {t}"
                    ))
                }
            };
            let op = match &toks[i + 1] {
                Tok::Op(o) => *o,
                t => return Err(format!("invalid condition {s:?}: expected one of > >= < <= == != after {field}, found {t}")),
            };
            let lit = match &toks[i + 2] {
                Tok::Word(w) => word_lit(w),
                Tok::Quoted(q) => Lit::Str(q.clone()),
                t => {
                    return Err(format!(
                        "invalid condition {s:?}: expected a value after {field} {}, found {t}",
                        op.name()
                    ))
                }
            };
            if matches!(lit, Lit::Null) && !matches!(op, Op::Eq | Op::Ne) {
                return Err(format!(
                    "invalid condition {s:?}: null can only be compared with == or !="
                ));
            }
            let needle = format!("\"{field}\":").into_bytes();
            any.last_mut().expect("one group").push(Cond {
                field,
                op,
                lit,
                finder: Finder::new(&needle).into_owned(),
            });
            i += 3;
            match toks.get(i) {
                None => break,
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("and") || w == "&&" => {}
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("or") || w == "||" => {
                    any.push(Vec::new())
                }
                Some(t) => {
                    return Err(format!(
                        "invalid condition {s:?}: expected 'and' or 'or', found {t}"
                    ))
                }
            }
            i += 1;
        }
        Ok(Expr { any })
    }

    /// Every field the expression names.
    pub fn fields(&self) -> impl Iterator<Item = &Cond> {
        self.any.iter().flatten()
    }

    pub fn test_map(&self, m: &Map<String, Value>) -> bool {
        self.any
            .iter()
            .any(|all| all.iter().all(|c| c.test_value(field_of(m, &c.field))))
    }

    /// On an observation; `None` when a field it needs is absent.
    pub fn test_obs(&self, o: &Obs) -> Option<bool> {
        let mut unknown = false;
        for all in &self.any {
            let mut ok = true;
            for c in all {
                match c.test_obs(o) {
                    Some(true) => {}
                    Some(false) => {
                        ok = false;
                        break;
                    }
                    None => {
                        unknown = true;
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                return Some(true);
            }
        }
        if unknown {
            None
        } else {
            Some(false)
        }
    }

    /// Byte-level test of a JSON line; `None` means "use the general path".
    #[inline]
    pub fn test_line(&self, line: &[u8]) -> Option<bool> {
        // Only flat objects without escapes: then `"field":` can only be a key.
        if line.first() != Some(&b'{') || line.last() != Some(&b'}') {
            return None;
        }
        if memchr::memchr3(b'\\', b'{', b'[', &line[1..]).is_some() {
            return None;
        }
        for all in &self.any {
            let mut ok = true;
            for c in all {
                if !c.test_line(line)? {
                    ok = false;
                    break;
                }
            }
            if ok {
                return Some(true);
            }
        }
        Some(false)
    }
}

/// A field, with IBM's `ambiant_temperature` standing in for `ambient_temperature`.
fn field_of<'m>(m: &'m Map<String, Value>, f: &str) -> Option<&'m Value> {
    m.get(f).or_else(|| match f {
        "ambient_temperature" => m.get("ambiant_temperature"),
        _ => None,
    })
}

fn is_field(w: &str) -> bool {
    !w.is_empty()
        && w.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
}

fn word_lit(w: &str) -> Lit {
    match w {
        "true" => Lit::Bool(true),
        "false" => Lit::Bool(false),
        "null" => Lit::Null,
        _ => match w.parse::<f64>() {
            Ok(x) if x.is_finite() => Lit::Num(x),
            _ => Lit::Str(w.to_string()),
        },
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Op(Op),
}

impl std::fmt::Display for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tok::Word(w) => write!(f, "{w:?}"),
            Tok::Quoted(q) => write!(f, "{q:?}"),
            Tok::Op(o) => write!(f, "{:?}", o.name()),
        }
    }
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '\'' || ch == '"' {
            let end = c[i + 1..]
                .iter()
                .position(|&x| x == ch)
                .ok_or_else(|| format!("invalid condition {s:?}: unterminated quote"))?;
            out.push(Tok::Quoted(c[i + 1..i + 1 + end].iter().collect()));
            i += end + 2;
        } else if "<>=!".contains(ch) {
            let two: String = c[i..(i + 2).min(c.len())].iter().collect();
            let (op, len) = match two.as_str() {
                ">=" => (Op::Ge, 2),
                "<=" => (Op::Le, 2),
                "==" => (Op::Eq, 2),
                "!=" | "<>" => (Op::Ne, 2),
                _ => match ch {
                    '>' => (Op::Gt, 1),
                    '<' => (Op::Lt, 1),
                    '=' => (Op::Eq, 1),
                    _ => return Err(format!("invalid condition {s:?}: unknown operator {two:?}")),
                },
            };
            out.push(Tok::Op(op));
            i += len;
        } else {
            let start = i;
            while i < c.len() && !c[i].is_whitespace() && !"<>=!'\"".contains(c[i]) {
                i += 1;
            }
            out.push(Tok::Word(c[start..i].iter().collect()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_tests() {
        let e = Expr::parse("temperature > 18").unwrap();
        assert_eq!(e.any[0][0].to_string(), "temperature > 18");
        let hot = br#"{"container_id":"A","temperature":18.5,"fan_1":true}"#;
        let cold = br#"{"container_id":"A","temperature":-18.5,"fan_1":true}"#;
        assert_eq!(e.test_line(hot), Some(true));
        assert_eq!(e.test_line(cold), Some(false));
        let m: Map<String, Value> = serde_json::from_slice(hot).unwrap();
        assert!(e.test_map(&m));

        let e =
            Expr::parse("product_id == 'P06' and temperature >= -18 or fan_1 == false").unwrap();
        assert_eq!(e.any.len(), 2);
        let l = br#"{"product_id":"P06","temperature":-17.0,"fan_1":true}"#;
        assert_eq!(e.test_line(l), Some(true));
        let l = br#"{"product_id":"P01","temperature":-17.0,"fan_1":true}"#;
        assert_eq!(e.test_line(l), Some(false));
        let l = br#"{"product_id":"P01","temperature":-17.0,"fan_1":false}"#;
        assert_eq!(e.test_line(l), Some(true));
        // Escapes and nesting go to the general path.
        assert_eq!(e.test_line(br#"{"a":"\"","temperature":1}"#), None);
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "temperature",
            "temperature >",
            "> 18",
            "temperature ~ 3",
            "temperature > 18 and",
            "temperature > 18 xor fan_1 == true",
            "temperature > null",
        ] {
            assert!(Expr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_fields_match_nothing() {
        let e = Expr::parse("door_open == true").unwrap();
        let m: Map<String, Value> = serde_json::from_str(r#"{"temperature":1}"#).unwrap();
        assert!(!e.test_map(&m));
        assert_eq!(e.test_line(br#"{"temperature":1}"#), None);
    }
}
