//! The on-disk cache of instrumented artifacts: `$WPROF_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/wprof`, else `~/.cache/wprof` (the conventions wasmtime's
//! compilation cache follows). Together with wasmtime's cache of compiled
//! code, a second run of an unchanged module skips both instrumenting and
//! compiling. Errors never stop a run: a cache that cannot be read or
//! written is a cache miss.

use std::path::PathBuf;

use wprof_session::ArtifactCache;

/// Artifacts as `<key>.wasm` files in one directory.
#[derive(Debug, Clone)]
pub struct DirCache {
    dir: PathBuf,
}

impl DirCache {
    /// The user's cache, when a home or cache directory is known.
    pub fn user() -> Option<DirCache> {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let dir = env("WPROF_CACHE_DIR")
            .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("wprof")))
            .or_else(|| env("HOME").map(|h| h.join(".cache/wprof")))?;
        Some(DirCache { dir })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.wasm"))
    }
}

impl ArtifactCache for DirCache {
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(key)).ok()
    }

    fn put(&self, key: &str, artifact: &[u8]) {
        // Written aside and renamed, so a concurrent run never reads half.
        let tmp = self
            .dir
            .join(format!(".{key}.{}.partial", std::process::id()));
        let done = std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(&tmp, artifact))
            .and_then(|()| std::fs::rename(&tmp, self.path(key)));
        if done.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}
