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

use super::obs::Obs;
use crate::codec::scan::{self, Fields, Kind, Record, Slot};
use crate::record::value_f64;
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

    /// Compares a field as the shared scanner read it (declared [`Kind::Any`]).
    pub fn test_scanned(&self, v: scan::Value) -> bool {
        let json = match v {
            scan::Value::Missing | scan::Value::Null => Value::Null,
            scan::Value::Bool(b) => Value::Bool(b),
            scan::Value::Num(x) => Value::from(x),
            scan::Value::Time(t) => Value::from(t),
            scan::Value::Str(s) => match &self.lit {
                // Compare in place: no copy of the string for the common case.
                Lit::Str(x) => return self.op.cmp(s, x.as_str()),
                _ => Value::String(s.to_string()),
            },
            scan::Value::Json(text) => match &self.lit {
                Lit::Str(x) => return self.op.cmp(text, x.as_str()),
                _ => Value::Array(Vec::new()),
            },
        };
        self.test_value(Some(&json))
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
            any.last_mut()
                .expect("one group")
                .push(Cond { field, op, lit });
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

    /// Declares the fields the expression reads (each as [`Kind::Any`], and
    /// `ambiant_temperature` beside `ambient_temperature`), in condition order.
    pub fn declare(&self, fields: &mut Fields) -> Vec<(Slot, Option<Slot>)> {
        self.fields()
            .map(|c| {
                let alt = (c.field == "ambient_temperature")
                    .then(|| fields.add("ambiant_temperature", Kind::Any));
                (fields.add(&c.field, Kind::Any), alt)
            })
            .collect()
    }

    /// Tests a record read by the shared scanner; `slots` from [`Expr::declare`].
    pub fn test_record(&self, r: &Record, slots: &[(Slot, Option<Slot>)]) -> bool {
        let mut k = 0;
        let mut any = false;
        for all in &self.any {
            let mut ok = true;
            for c in all {
                let (slot, alt) = slots[k];
                k += 1;
                let mut v = r.get(slot);
                if let (scan::Value::Missing, Some(alt)) = (v, alt) {
                    v = r.get(alt);
                }
                ok = ok && c.test_scanned(v);
            }
            any = any || ok;
        }
        any
    }
}

/// The fields an expression names, each once, and for each condition the
/// index of its field: a record that lacks a field is counted once per field,
/// however many conditions name it. Only an absent key counts: `null` is a
/// value (`fault == null` is how a healthy reading says it).
pub struct Named {
    pub names: Vec<String>,
    of_cond: Vec<usize>,
}

impl Named {
    pub fn new(expr: &Expr) -> Named {
        let mut names: Vec<String> = Vec::new();
        let of_cond = expr
            .fields()
            .map(|c| match names.iter().position(|n| *n == c.field) {
                Some(i) => i,
                None => {
                    names.push(c.field.clone());
                    names.len() - 1
                }
            })
            .collect();
        Named { names, of_cond }
    }

    /// Bit i set: the record lacks `names[i]` (only the first 64 fields are
    /// tracked).
    pub fn absent(&self, r: &Record, slots: &[(Slot, Option<Slot>)]) -> u64 {
        let mut mask = 0u64;
        for (k, &(slot, alt)) in slots.iter().enumerate() {
            let mut v = r.get(slot);
            if let (scan::Value::Missing, Some(alt)) = (v, alt) {
                v = r.get(alt);
            }
            if matches!(v, scan::Value::Missing) && self.of_cond[k] < 64 {
                mask |= 1 << self.of_cond[k];
            }
        }
        mask
    }

    /// The same for a CSV row or a line read in full.
    pub fn absent_in_map(&self, m: &Map<String, Value>) -> u64 {
        let mut mask = 0u64;
        for (i, f) in self.names.iter().enumerate().take(64) {
            if field_of(m, f).is_none() {
                mask |= 1 << i;
            }
        }
        mask
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
        assert!(scanned(&e, hot));
        assert!(!scanned(&e, cold));
        let m: Map<String, Value> = serde_json::from_slice(hot).unwrap();
        assert!(e.test_map(&m));

        let e =
            Expr::parse("product_id == 'P06' and temperature >= -18 or fan_1 == false").unwrap();
        assert_eq!(e.any.len(), 2);
        let l = br#"{"product_id":"P06","temperature":-17.0,"fan_1":true}"#;
        assert!(scanned(&e, l));
        let l = br#"{"product_id":"P01","temperature":-17.0,"fan_1":true}"#;
        assert!(!scanned(&e, l));
        let l = br#"{"product_id":"P01","temperature":-17.0,"fan_1":false}"#;
        assert!(scanned(&e, l));
        // Escapes and nesting are read like anything else.
        assert!(scanned(
            &e,
            br#"{"a":"\"","product_id":"P06","temperature":1,"x":{"y":[1]}}"#
        ));
    }

    /// `e` on a JSON line through the shared scanner, as `--where` reads it.
    fn scanned(e: &Expr, line: &[u8]) -> bool {
        let mut f = Fields::new(Default::default());
        let slots = e.declare(&mut f);
        let mut sc = scan::Scanner::new(f.into());
        e.test_record(sc.scan(line).unwrap(), &slots)
    }

    #[test]
    fn duplicate_keys_take_the_last_value_like_the_detectors() {
        let e = Expr::parse("temperature > 18").unwrap();
        assert!(scanned(&e, br#"{"temperature":1,"temperature":20}"#));
        assert!(!scanned(&e, br#"{"temperature":20,"temperature":1}"#));
        let m: Map<String, Value> =
            serde_json::from_str(r#"{"temperature":20,"temperature":1}"#).unwrap();
        assert!(!e.test_map(&m));
    }

    #[test]
    fn ibm_ambiant_stands_in_for_ambient() {
        let e = Expr::parse("ambient_temperature > 30").unwrap();
        assert!(scanned(&e, br#"{"ambiant_temperature":35}"#));
        assert!(!scanned(
            &e,
            br#"{"ambient_temperature":20,"ambiant_temperature":35}"#
        ));
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
        assert!(!scanned(&e, br#"{"temperature":1}"#));
    }
}
