//! De-aggregation of Kinesis Producer Library records.
//!
//! An aggregated record is the magic `F3 89 9A C2`, a protobuf `AggregatedRecord`
//! and the MD5 of that protobuf (16 bytes). The two message types are small
//! enough to read by hand:
//!
//! ```text
//! message AggregatedRecord { repeated string partition_key_table = 1;
//!                            repeated string explicit_hash_key_table = 2;
//!                            repeated Record records = 3; }
//! message Record { required uint64 partition_key_index = 1;
//!                  optional uint64 explicit_hash_key_index = 2;
//!                  required bytes data = 3; repeated Tag tags = 4; }
//! ```
//! Like the KCL, a blob whose checksum or protobuf does not check out is
//! passed on as one ordinary record.

use md5::{Digest, Md5};

pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
const DIGEST_LEN: usize = 16;

/// One user record inside an aggregated record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord<'a> {
    pub partition_key: &'a str,
    pub data: &'a [u8],
}

/// The user records of a Kinesis record's data: many for a KPL aggregate,
/// `None` for an ordinary record.
pub fn deaggregate(blob: &[u8]) -> Option<Vec<UserRecord<'_>>> {
    if blob.len() < MAGIC.len() + DIGEST_LEN || blob[..4] != MAGIC {
        return None;
    }
    let body = &blob[4..blob.len() - DIGEST_LEN];
    let digest = &blob[blob.len() - DIGEST_LEN..];
    if Md5::digest(body).as_slice() != digest {
        return None;
    }
    parse_aggregate(body)
}

fn parse_aggregate(mut buf: &[u8]) -> Option<Vec<UserRecord<'_>>> {
    let mut keys: Vec<&str> = Vec::new();
    let mut raw_records: Vec<(u64, &[u8])> = Vec::new();
    while !buf.is_empty() {
        let (field, wire) = read_tag(&mut buf)?;
        match (field, wire) {
            (1, 2) => keys.push(std::str::from_utf8(read_bytes(&mut buf)?).ok()?),
            (3, 2) => {
                let rec = read_bytes(&mut buf)?;
                raw_records.push(parse_record(rec)?);
            }
            (_, w) => skip(&mut buf, w)?,
        }
    }
    raw_records
        .into_iter()
        .map(|(pk, data)| {
            Some(UserRecord {
                partition_key: keys.get(usize::try_from(pk).ok()?)?,
                data,
            })
        })
        .collect()
}

fn parse_record(mut buf: &[u8]) -> Option<(u64, &[u8])> {
    let mut pk = None;
    let mut data = None;
    while !buf.is_empty() {
        let (field, wire) = read_tag(&mut buf)?;
        match (field, wire) {
            (1, 0) => pk = Some(read_varint(&mut buf)?),
            (3, 2) => data = Some(read_bytes(&mut buf)?),
            (_, w) => skip(&mut buf, w)?,
        }
    }
    Some((pk?, data?))
}

fn read_varint(buf: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let (&b, rest) = buf.split_first()?;
        *buf = rest;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn read_tag(buf: &mut &[u8]) -> Option<(u64, u8)> {
    let t = read_varint(buf)?;
    Some((t >> 3, (t & 7) as u8))
}

fn read_bytes<'a>(buf: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = usize::try_from(read_varint(buf)?).ok()?;
    if buf.len() < len {
        return None;
    }
    let (b, rest) = buf.split_at(len);
    *buf = rest;
    Some(b)
}

fn skip(buf: &mut &[u8], wire: u8) -> Option<()> {
    match wire {
        0 => read_varint(buf).map(|_| ()),
        1 => buf.get(8..).map(|r| *buf = r),
        2 => read_bytes(buf).map(|_| ()),
        5 => buf.get(4..).map(|r| *buf = r),
        _ => None,
    }
}

/// Builds an aggregated record (for tests and fixtures): what the KPL writes.
pub fn aggregate(records: &[(&str, &[u8])]) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn bytes_field(out: &mut Vec<u8>, field: u64, b: &[u8]) {
        varint(out, field << 3 | 2);
        varint(out, b.len() as u64);
        out.extend_from_slice(b);
    }
    let mut keys: Vec<&str> = Vec::new();
    let mut body = Vec::new();
    let mut recs = Vec::new();
    for (key, data) in records {
        let idx = keys.iter().position(|k| k == key).unwrap_or_else(|| {
            keys.push(key);
            keys.len() - 1
        });
        let mut r = Vec::new();
        varint(&mut r, 1 << 3);
        varint(&mut r, idx as u64);
        bytes_field(&mut r, 3, data);
        recs.push(r);
    }
    for k in &keys {
        bytes_field(&mut body, 1, k.as_bytes());
    }
    for r in &recs {
        bytes_field(&mut body, 3, r);
    }
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&body);
    out.extend_from_slice(&Md5::digest(&body));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_an_aggregate() {
        let blob = aggregate(&[
            ("a", b"{\"x\":1}"),
            ("b", b"{\"x\":2}"),
            ("a", b"{\"x\":3}"),
        ]);
        let recs = deaggregate(&blob).unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(
            recs[0],
            UserRecord {
                partition_key: "a",
                data: b"{\"x\":1}"
            }
        );
        assert_eq!(recs[1].partition_key, "b");
        assert_eq!(recs[2].data, b"{\"x\":3}");
    }

    #[test]
    fn plain_records_and_bad_checksums_are_not_aggregates() {
        assert_eq!(deaggregate(b"{\"x\":1}"), None);
        let mut blob = aggregate(&[("a", b"1")]);
        let n = blob.len();
        blob[n - 1] ^= 1;
        assert_eq!(deaggregate(&blob), None);
        assert_eq!(deaggregate(&MAGIC), None);
    }

    #[test]
    fn reads_a_kpl_blob_with_tags_and_hash_keys() {
        // Record with an explicit hash key index (field 2) and a tag (field 4).
        let mut rec = vec![
            0x08, 0x00, 0x10, 0x00, 0x1a, 0x01, b'z', 0x22, 0x03, 0x0a, 0x01, b't',
        ];
        let mut body = vec![0x0a, 0x01, b'k', 0x12, 0x01, b'9', 0x1a, rec.len() as u8];
        body.append(&mut rec);
        let mut blob = MAGIC.to_vec();
        blob.extend_from_slice(&body);
        blob.extend_from_slice(&Md5::digest(&body));
        assert_eq!(
            deaggregate(&blob).unwrap(),
            vec![UserRecord {
                partition_key: "k",
                data: b"z"
            }]
        );
    }
}
