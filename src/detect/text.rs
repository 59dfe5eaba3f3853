//! A short string stored inline when it fits (container and product ids,
//! fault labels): observations cross threads and wait in the `--lateness`
//! buffer without allocating, and the engine compares a reading's container
//! with its state's without following a pointer out of the cache.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

/// Longest string kept inline (ISO 6346 container ids are 11 characters).
const INLINE: usize = 22;

#[derive(Clone)]
pub enum Text {
    Inline(u8, [u8; INLINE]),
    Heap(Box<str>),
}

impl Text {
    pub fn new(s: &str) -> Text {
        if s.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..s.len()].copy_from_slice(s.as_bytes());
            Text::Inline(s.len() as u8, buf)
        } else {
            Text::Heap(s.into())
        }
    }

    #[inline]
    pub fn as_str(&self) -> &str {
        match self {
            // SAFETY: `new` copied these bytes from a &str and cut them at its
            // length, so they are valid UTF-8 (read twice per reading, which a
            // `from_utf8` check made 4 % of reefer-detect's instructions).
            Text::Inline(n, buf) => unsafe { std::str::from_utf8_unchecked(&buf[..*n as usize]) },
            Text::Heap(s) => s,
        }
    }
}

/// Equal, hashed and borrowed as the `str` it holds, so that a map keyed by
/// `Text` is looked up with a `&str`.
impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl Hash for Text {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_str().hash(h);
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_strings_read_back_and_look_up_as_str() {
        let long = "L".repeat(INLINE + 1);
        let mut m = rustc_hash::FxHashMap::default();
        for s in ["", "MSKU1234565", &"S".repeat(INLINE), &long] {
            let t = Text::new(s);
            assert_eq!(t.as_str(), s);
            assert_eq!(matches!(t, Text::Inline(..)), s.len() <= INLINE);
            m.insert(t, s.len());
        }
        assert_eq!(m.get(long.as_str()), Some(&long.len()));
        assert_eq!(m.get("MSKU1234565"), Some(&11));
        assert_eq!(m.get("MSKU123456"), None);
    }
}
