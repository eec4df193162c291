//! The built app: embedded at compile time, or read from a directory.

use std::borrow::Cow;
use std::path::PathBuf;

use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../../web/dist"]
#[allow_missing = true]
struct Embedded;

pub enum Assets {
    /// The build embedded in the binary (in debug builds rust-embed reads `web/dist` instead).
    Embedded,
    /// A directory holding a build.
    Dir(PathBuf),
}

impl Assets {
    /// The file at `path` (already cleaned by [`clean_path`]).
    pub async fn get(&self, path: &str) -> Option<Cow<'static, [u8]>> {
        match self {
            Assets::Embedded => Embedded::get(path).map(|file| file.data),
            Assets::Dir(dir) => tokio::fs::read(dir.join(path)).await.ok().map(Cow::Owned),
        }
    }
}

/// The request path as a relative file path, or `None` when it tries to leave the root (a `..`
/// segment, a backslash, a NUL) or is not valid percent-encoded UTF-8.
pub fn clean_path(path: &str) -> Option<String> {
    let decoded = percent_decode(path.trim_start_matches('/'))?;
    let safe = decoded
        .split('/')
        .all(|segment| segment != ".." && segment != "." && !segment.contains(['\\', '\0', ':']));
    (safe && !decoded.starts_with('/') && !decoded.contains("//")).then_some(decoded)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::clean_path;

    #[test]
    fn paths_stay_inside_the_root() {
        assert_eq!(clean_path("/").as_deref(), Some(""));
        assert_eq!(clean_path("/assets/index-abc.js").as_deref(), Some("assets/index-abc.js"));
        assert_eq!(clean_path("/a%20b.txt").as_deref(), Some("a b.txt"));
        // Leading slashes never make an absolute path: the result is joined under the root.
        assert_eq!(clean_path("//etc/passwd").as_deref(), Some("etc/passwd"));
        for bad in [
            "/../etc/passwd",
            "/assets/../../x",
            "/%2e%2e/x",
            "/a%2f..%2f..%2fx",
            "/a\\..\\b",
            "/x%00",
            "/%zz",
            "/%2fetc/passwd",
            "/c:/x",
        ] {
            assert_eq!(clean_path(bad), None, "{bad}");
        }
    }
}
