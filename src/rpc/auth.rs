//! HTTP Basic authentication as the reference does it: plain passwords, or `{SHA}` plus
//! the hex SHA-1 of the password. Comparisons take the same time whatever matches.
//! SHA-1 is small enough to carry here rather than pull in a crate.

use crate::wire::base64::base64_decode;

/// SHA-1 (FIPS 180-4), used only to check `{SHA}` passwords.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, &wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, word) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
    }
    out
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal contents, in time that depends only on the lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, &x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(!x));
    }
    diff == 0
}

/// Whether an `Authorization` header value grants access.
pub fn check_basic(header: Option<&str>, username: &str, password: &str) -> bool {
    let Some(value) = header else { return false };
    let Some((scheme, token)) = value.trim().split_once(' ') else { return false };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Some(decoded) = base64_decode(token.trim()) else { return false };
    let Ok(decoded) = String::from_utf8(decoded) else { return false };
    let Some((user, pass)) = decoded.split_once(':') else { return false };
    let user_ok = constant_time_eq(user.as_bytes(), username.as_bytes());
    let pass_ok = match password.strip_prefix("{SHA}") {
        Some(expected) => {
            constant_time_eq(hex(&sha1(pass.as_bytes())).as_bytes(), expected.to_ascii_lowercase().as_bytes())
        }
        None => constant_time_eq(pass.as_bytes(), password.as_bytes()),
    };
    user_ok & pass_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::base64::{base64_encode, base64_encode_lines};

    #[test]
    fn base64_round_trips() {
        for s in ["", "f", "fo", "foo", "foob", "fooba", "foobar", "user:123"] {
            assert_eq!(base64_decode(&base64_encode(s.as_bytes())).unwrap(), s.as_bytes());
        }
        assert_eq!(base64_encode(b"user:123"), "dXNlcjoxMjM=");
        assert_eq!(base64_decode("dXNl\ncjox MjM="), Some(b"user:123".to_vec()));
        assert_eq!(base64_decode("!!"), None);
        assert_eq!(base64_encode_lines(&[0u8; 60]).lines().next().map(str::len), Some(76));
    }

    #[test]
    fn sha1_vectors() {
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(hex(&sha1(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(hex(&sha1(&[b'a'; 1000])), "291e9a6c66994949b57ba5e650361e98fc36b1ba");
    }

    #[test]
    fn basic_auth() {
        let header = format!("Basic {}", base64_encode(b"user:123"));
        assert!(check_basic(Some(&header), "user", "123"));
        assert!(!check_basic(Some(&header), "user", "124"));
        assert!(!check_basic(Some(&header), "usr", "123"));
        assert!(!check_basic(None, "user", "123"));
        assert!(!check_basic(Some("Bearer x"), "user", "123"));
        let sha = format!("{{SHA}}{}", hex(&sha1(b"123")));
        assert!(check_basic(Some(&header), "user", &sha));
        assert!(check_basic(Some(&format!("basic {}", base64_encode(b"user:a:b"))), "user", "a:b"));
    }
}
