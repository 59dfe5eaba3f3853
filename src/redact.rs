//! Credentials never leave the process: every URL a tool prints, stores or
//! writes to a dead letter goes through [`url`] (or [`text`] for a message
//! that may quote one). Masked, each as `***`:
//! - userinfo (`https://alice:PW@host` → `https://***@host`: a user name alone
//!   is often a token too);
//! - every query value (`?token=Q&channel=ops` → `?token=***&channel=***`):
//!   whether a parameter is a secret cannot be told from its name;
//! - a fragment;
//! - secret path segments: the last segment of Slack-style
//!   `/services/T…/B…/SECRET`, the token of Discord-style `/webhooks/ID/TOKEN`,
//!   everything after Microsoft Teams' `/IncomingWebhook/`, and any segment
//!   that looks like a token (at least 20 characters of letters, digits,
//!   `-` and `_`, with both letters and digits).
//!
//! The rest (scheme, host, port, the other path segments) stays, so that an
//! operator can still tell destinations apart. Text that is not a URL comes
//! back unchanged. Works on malformed URLs too (`http://a:b@[bad/x`), since
//! those are exactly the ones that end up in error messages.

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// `s` with its credentials masked, when it is a URL (`scheme://…`).
pub fn url(s: &str) -> String {
    let Some(sep) = s.find("://") else {
        return s.to_string();
    };
    if sep == 0 || !s[..sep].bytes().all(is_scheme_byte) {
        return s.to_string();
    }
    let (scheme, rest) = s.split_at(sep + 3);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut out = String::with_capacity(s.len());
    out.push_str(scheme);
    match authority.rfind('@') {
        Some(at) => {
            out.push_str(MASK);
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    let (path, after) = tail.split_at(path_end);
    out.push_str(&path_without_secrets(path));
    let (query, fragment) = match after.find('#') {
        Some(h) => (&after[..h], Some(&after[h + 1..])),
        None => (after, None),
    };
    if let Some(q) = query.strip_prefix('?') {
        out.push('?');
        for (i, pair) in q.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((k, _)) => {
                    out.push_str(k);
                    out.push('=');
                    out.push_str(MASK);
                }
                // `?SECRET` alone: the whole pair may be the secret.
                None if !pair.is_empty() => out.push_str(MASK),
                None => {}
            }
        }
    }
    if fragment.is_some_and(|f| !f.is_empty()) {
        out.push('#');
        out.push_str(MASK);
    }
    out
}

/// `text` with every URL in it masked by [`url`]: for error messages from
/// libraries that quote the URL they failed on.
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(sep) = rest.find("://") {
        let start = rest[..sep]
            .rfind(|c: char| !c.is_ascii() || !is_scheme_byte(c as u8))
            .map_or(0, |i| i + 1);
        if start == sep {
            out.push_str(&rest[..sep + 3]);
            rest = &rest[sep + 3..];
            continue;
        }
        let end = rest[sep..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .map_or(rest.len(), |i| sep + i);
        // Punctuation that ends a sentence ends the URL too ("…/hook: refused").
        let end = start
            + rest[start..end]
                .trim_end_matches([':', ',', '.', ';', ')'])
                .len();
        out.push_str(&rest[..start]);
        out.push_str(&url(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn is_scheme_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')
}

fn path_without_secrets(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    // Segments from this index on are secret (set by a marker segment).
    let mut secret_from = usize::MAX;
    for (i, seg) in segments.iter().enumerate() {
        match seg.to_ascii_lowercase().as_str() {
            // Slack (and Mattermost-style) /services/T/B/SECRET.
            "services" => secret_from = secret_from.min(i + 3),
            // Discord /api/webhooks/ID/TOKEN.
            "webhooks" => secret_from = secret_from.min(i + 2),
            // Teams /webhookb2/…/IncomingWebhook/HEX/GUID/…
            "incomingwebhook" => secret_from = secret_from.min(i + 1),
            _ => {}
        }
        let secret = (i >= secret_from || looks_like_token(seg)) && !seg.is_empty();
        out.push(if secret { MASK } else { seg });
    }
    out.join("/")
}

fn looks_like_token(seg: &str) -> bool {
    seg.len() >= 20
        && seg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && seg.bytes().any(|b| b.is_ascii_alphabetic())
        && seg.bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_query_values_and_slack_secrets_are_masked() {
        assert_eq!(
            url("http://alice:PW@host/services/T/B/SECRET?token=Q"),
            "http://***@host/services/T/B/***?token=***"
        );
        assert_eq!(
            url("https://hooks.slack.com/services/T000/B000/XXXXXXXX"),
            "https://hooks.slack.com/services/T000/B000/***"
        );
        assert_eq!(
            url("https://discord.com/api/webhooks/123/abcDEF"),
            "https://discord.com/api/webhooks/123/***"
        );
        assert_eq!(
            url("https://x.webhook.office.com/webhookb2/a@b/IncomingWebhook/c0ffee/guid"),
            "https://x.webhook.office.com/webhookb2/a@b/IncomingWebhook/***/***"
        );
        assert_eq!(
            url("https://ops.example/hook/9f86d081884c7d659a2feaa0c55ad015"),
            "https://ops.example/hook/***"
        );
        assert_eq!(
            url("http://bob:PW@127.0.0.1:4566"),
            "http://***@127.0.0.1:4566"
        );
        assert_eq!(url("https://h/p?SECRET#frag"), "https://h/p?***#***");
    }

    #[test]
    fn what_is_not_secret_stays() {
        for plain in [
            "-",
            "sqlite://alerts.db",
            "https://ops.example/hooks/reefer",
            "http://127.0.0.1:8080/hook",
            "dynamodb://reefer-alerts",
            "sns://arn:aws:sns:eu-west-1:123456789012:reefer-oncall",
            "exec:/usr/local/bin/page-oncall --team cold-chain",
        ] {
            assert_eq!(url(plain), plain);
        }
    }

    #[test]
    fn malformed_urls_are_masked_too() {
        assert_eq!(url("http://a:b@[bad/x"), "http://***@[bad/x");
        assert_eq!(url("http://a:b@"), "http://***@");
    }

    #[test]
    fn urls_inside_messages_are_masked() {
        assert_eq!(
            text("POST http://u:PW@h/x?k=SECRET: Connection refused"),
            "POST http://***@h/x?k=***: Connection refused"
        );
        assert_eq!(text("no url here"), "no url here");
        assert_eq!(text(":// odd"), ":// odd");
        assert_eq!(
            text("\"https://a:b@h\" and https://c:d@h/services/T/B/S"),
            "\"https://***@h\" and https://***@h/services/T/B/***"
        );
    }
}
