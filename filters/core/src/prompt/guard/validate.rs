//! The checks that turn a pattern match into a finding: a detector's regex only proposes
//! candidates, and each candidate must pass its kind's own rules — a checksum, a number range,
//! a structure — so that order numbers, dates, version strings and code do not read as personal
//! data or secrets.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The digits of `text`, ignoring spaces and dashes.
fn digits(text: &str) -> Vec<u8> {
    text.bytes().filter(u8::is_ascii_digit).map(|b| b.wrapping_sub(b'0')).collect()
}

/// The Luhn checksum (payment cards).
pub fn luhn(digits: &[u8]) -> bool {
    let sum = digits.iter().rev().enumerate().fold(0u32, |sum, (i, d)| {
        let d = u32::from(*d);
        let add = if i % 2 == 1 {
            let twice = d.saturating_mul(2);
            if twice > 9 {
                twice.saturating_sub(9)
            } else {
                twice
            }
        } else {
            d
        };
        sum.saturating_add(add)
    });
    !digits.is_empty() && sum % 10 == 0
}

/// The leading `n` digits as a number.
fn prefix(digits: &[u8], n: usize) -> u32 {
    digits.iter().take(n).fold(0u32, |acc, d| acc.saturating_mul(10).saturating_add(u32::from(*d)))
}

/// A payment card number: 13–19 digits, one kind of separator used consistently, a known
/// issuer range (IIN) with a length that issuer uses, and a valid Luhn checksum.
pub fn card(text: &str) -> bool {
    let separators: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_digit()).collect();
    if separators.windows(2).any(|w| w.first() != w.get(1)) {
        return false; // "4111 1111-1111 1111": not how anyone writes a card
    }
    let d = digits(text);
    let len = d.len();
    if !(13..=19).contains(&len) || !luhn(&d) {
        return false;
    }
    let p1 = prefix(&d, 1);
    let p2 = prefix(&d, 2);
    let p3 = prefix(&d, 3);
    let p4 = prefix(&d, 4);
    let p6 = prefix(&d, 6);
    match len {
        // Visa (13, 16, 19), Mastercard, Discover, JCB, UnionPay, Maestro
        13 => p1 == 4,
        14 => (300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39,
        15 => p2 == 34 || p2 == 37 || p4 == 2131 || p4 == 1800,
        16 => {
            p1 == 4
                || (51..=55).contains(&p2)
                || (2221..=2720).contains(&p4)
                || p4 == 6011
                || (644..=649).contains(&p3)
                || p2 == 65
                || (3528..=3589).contains(&p4)
                || p2 == 62
                || (622_126..=622_925).contains(&p6)
                || p2 == 50
                || (56..=69).contains(&p2)
        }
        17..=19 => p1 == 4 || p2 == 62 || p2 == 50 || (56..=69).contains(&p2) || (3528..=3589).contains(&p4),
        _ => false,
    }
}

/// A US Social Security number `AAA-GG-SSSS`: area not 000, 666 or 900–999; group not 00;
/// serial not 0000; and not one of the numbers published as examples.
pub fn ssn(text: &str) -> bool {
    let d = digits(text);
    if d.len() != 9 {
        return false;
    }
    let area = prefix(&d, 3);
    let group = prefix(d.get(3..).unwrap_or_default(), 2);
    let serial = prefix(d.get(5..).unwrap_or_default(), 4);
    let advertised = [78_051_120u32, 219_099_999, 457_555_462];
    let whole = prefix(&d, 9);
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0 && !advertised.contains(&whole)
}

/// IBAN lengths by country (ISO 13616 registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
];

/// An IBAN: a known country, that country's length, and the ISO 7064 mod-97 check = 1.
pub fn iban(text: &str) -> bool {
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let country = compact.get(..2).and_then(|c| std::str::from_utf8(c).ok()).unwrap_or_default();
    let Some(&(_, len)) = IBAN_LENGTHS.iter().find(|(c, _)| *c == country) else {
        return false;
    };
    if compact.len() != len || !compact.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    // Move the first four characters to the end, letters as 10..35, remainder mod 97.
    let (head, tail) = compact.split_at(4);
    let mut remainder = 0u32;
    for &b in tail.iter().chain(head) {
        let value = match b {
            b'0'..=b'9' => u32::from(b.wrapping_sub(b'0')),
            b'A'..=b'Z' => u32::from(b.wrapping_sub(b'A')).saturating_add(10),
            _ => return false, // lower case is not how IBANs are written
        };
        remainder = if value >= 10 {
            remainder.saturating_mul(100).saturating_add(value) % 97
        } else {
            remainder.saturating_mul(10).saturating_add(value) % 97
        };
    }
    remainder == 1
}

/// A dotted-quad IPv4 address: four numbers ≤ 255 without leading zeros.
pub fn ipv4(text: &str) -> bool {
    text.split('.').all(|part| part.len() == 1 || !part.starts_with('0')) && text.parse::<Ipv4Addr>().is_ok()
}

/// An IPv6 address, as the standard library parses them: eight groups, or fewer around `::`,
/// with at least one digit (so `std::fmt`-like code paths of hex letters are not addresses);
/// bare times and MAC addresses do not parse.
pub fn ipv6(text: &str) -> bool {
    let colons = text.matches(':').count();
    (colons == 7 || (text.contains("::") && colons >= 2))
        && text.bytes().any(|b| b.is_ascii_digit())
        && text.parse::<Ipv6Addr>().is_ok()
}

/// A JWT: three base64url parts whose first decodes to a JSON object with an `alg`.
pub fn jwt(text: &str) -> bool {
    let mut parts = text.split('.');
    let Some(header) = parts.next() else { return false };
    let Some(decoded) = base64url(header) else { return false };
    serde_json::from_slice::<serde_json::Value>(&decoded).is_ok_and(|v| v.get("alg").is_some())
}

fn base64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len().saturating_mul(3) / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b.wrapping_sub(b'A'),
            b'a'..=b'z' => b.wrapping_sub(b'a').wrapping_add(26),
            b'0'..=b'9' => b.wrapping_sub(b'0').wrapping_add(52),
            b'-' => 62,
            b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits = bits.saturating_add(6);
        if bits >= 8 {
            bits = bits.saturating_sub(8);
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

/// Top-level domains an address may end in: every two-letter country code and the generic ones
/// in common use. A "domain" ending in anything else (`obj@property.setter`) is code.
const GENERIC_TLDS: &[&str] = &[
    "com",
    "org",
    "net",
    "edu",
    "gov",
    "mil",
    "int",
    "info",
    "biz",
    "name",
    "pro",
    "app",
    "dev",
    "io",
    "ai",
    "cloud",
    "tech",
    "online",
    "site",
    "store",
    "shop",
    "blog",
    "email",
    "mail",
    "xyz",
    "me",
    "inc",
    "llc",
    "ltd",
    "agency",
    "company",
    "digital",
    "network",
    "systems",
    "solutions",
    "services",
    "group",
    "global",
    "media",
    "news",
    "health",
    "bank",
    "finance",
    "law",
    "studio",
    "design",
    "live",
    "life",
    "world",
    "today",
    "team",
    "works",
    "zone",
    "page",
    "art",
    "museum",
    "travel",
    "aero",
    "coop",
    "jobs",
    "mobi",
    "asia",
    "tel",
    "academy",
    "center",
    "club",
];

/// An email address: a plausible local part, domain labels that do not start or end with `-`,
/// and a real top-level domain.
pub fn email(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else { return false };
    if local.is_empty() || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-')) {
        return false;
    }
    let tld = labels.last().copied().unwrap_or_default().to_ascii_lowercase();
    (tld.len() == 2 && tld.bytes().all(|b| b.is_ascii_alphabetic())) || GENERIC_TLDS.contains(&tld.as_str())
}

/// North American Numbering Plan: NXX-NXX-XXXX (N = 2–9).
fn nanp(d: &[u8]) -> bool {
    d.len() == 10 && d.first().is_some_and(|a| *a >= 2) && d.get(3).is_some_and(|e| *e >= 2)
}

/// A phone number: E.164 (`+` and 8–15 digits) or a national format, 7–15 digits in all, not
/// one repeated digit, and (North American numbers) an area code and exchange that exist.
pub fn phone(text: &str) -> bool {
    let d = digits(text);
    if !(7..=15).contains(&d.len()) || d.windows(2).all(|w| w.first() == w.get(1)) {
        return false;
    }
    if text.starts_with('+') {
        if d.first() == Some(&1) && d.len() == 11 {
            // +1: the North American plan's rules below, on the ten digits after it.
            return nanp(d.get(1..).unwrap_or_default());
        }
        return d.len() >= 8 && d.first() != Some(&0);
    }
    if d.len() == 10
        && (text.starts_with('(') || text.contains('-') || text.contains('.') || text.contains(' '))
    {
        return nanp(&d);
    }
    // Other national formats start with a trunk 0 (UK 020 7946 0018, DE 030 123456).
    d.first() == Some(&0) && d.len() >= 9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_and_issuers() {
        assert!(card("4111 1111 1111 1111"));
        assert!(card("5555-5555-5555-4444"));
        assert!(card("378282246310005"));
        assert!(!card("4111 1111 1111 1112"), "Luhn");
        assert!(!card("1234 5678 9012 3452"), "no issuer starts with 1");
        assert!(!card("4111 1111-1111 1111"), "mixed separators");
    }

    #[test]
    fn ssn_rules() {
        assert!(ssn("123-45-6789"));
        for bad in ["000-12-3456", "666-12-3456", "912-12-3456", "123-00-4567", "123-45-0000", "078-05-1120"]
        {
            assert!(!ssn(bad), "{bad}");
        }
    }

    #[test]
    fn iban_check_digits() {
        assert!(iban("DE89 3704 0044 0532 0130 00"));
        assert!(iban("GB82WEST12345698765432"));
        assert!(!iban("DE88 3704 0044 0532 0130 00"), "check digits");
        assert!(!iban("DE89 3704 0044 0532 0130 0"), "length");
        assert!(!iban("ZZ89370400440532013000"), "country");
    }

    #[test]
    fn addresses() {
        assert!(ipv4("192.168.1.20") && !ipv4("256.1.1.1") && !ipv4("01.2.3.4"));
        assert!(
            ipv6("2001:db8::1")
                && ipv6("fe80:0:0:0:0:0:0:1")
                && !ipv6("12:30:45")
                && !ipv6("00:1A:2B:3C:4D:5E")
        );
        assert!(email("jane.doe@example.com") && !email("obj@property.setter") && !email("a..b@x.com"));
    }
}
