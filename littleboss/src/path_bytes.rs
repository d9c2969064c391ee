//! Paths in JSON (the state an upgrade hands over, a control request),
//! which need not be UTF-8 (a folder named in Latin-1): written as a
//! string when they are, as every version wrote them, and as their bytes
//! otherwise (JSON strings are Unicode). Either form is read back.
//!
//! ```ignore
//! #[serde(with = "path_bytes")]
//! pub path: PathBuf,
//! ```

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serializer};

/// A path as written: a string, or its bytes.
struct Written(PathBuf);

impl<'de> Deserialize<'de> for Written {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Written, D::Error> {
        deserializer.deserialize_any(WrittenVisitor)
    }
}

struct WrittenVisitor;

impl<'de> Visitor<'de> for WrittenVisitor {
    type Value = Written;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a path (a string, or its bytes)")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Written, E> {
        Ok(Written(PathBuf::from(text)))
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Written, E> {
        Ok(Written(PathBuf::from(OsStr::from_bytes(bytes))))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Written, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(Written(PathBuf::from(OsString::from_vec(bytes))))
    }
}

impl From<Written> for PathBuf {
    fn from(written: Written) -> PathBuf {
        written.0
    }
}

pub(crate) fn serialize<S: Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
    match path.to_str() {
        Some(text) => serializer.serialize_str(text),
        None => serializer.serialize_bytes(path.as_os_str().as_bytes()),
    }
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PathBuf, D::Error> {
    Written::deserialize(deserializer).map(PathBuf::from)
}

/// The same, for an optional path (`null` when absent).
pub(crate) mod option {
    use std::path::PathBuf;

    use serde::{Deserialize, Deserializer, Serializer};

    use super::Written;

    pub(crate) fn serialize<S: Serializer>(
        path: &Option<PathBuf>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match path {
            Some(path) => super::serialize(path, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<PathBuf>, D::Error> {
        Ok(Option::<Written>::deserialize(deserializer)?.map(PathBuf::from))
    }
}

/// The same, for a list of paths.
pub(crate) mod list {
    use std::path::PathBuf;

    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Written;

    /// Each path as [`super::serialize`] writes one.
    struct One<'a>(&'a std::path::Path);

    impl serde::Serialize for One<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            super::serialize(self.0, serializer)
        }
    }

    pub(crate) fn serialize<S: Serializer>(
        paths: &[PathBuf],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(paths.len()))?;
        for path in paths {
            seq.serialize_element(&One(path))?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<PathBuf>, D::Error> {
        let written = Vec::<Written>::deserialize(deserializer)?;
        Ok(written.into_iter().map(PathBuf::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::path::PathBuf;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Paths {
        #[serde(with = "super")]
        one: PathBuf,
        #[serde(default, with = "super::option")]
        maybe: Option<PathBuf>,
        #[serde(default, with = "super::list")]
        many: Vec<PathBuf>,
    }

    #[test]
    fn a_path_round_trips_byte_for_byte_and_utf8_stays_a_string() {
        let latin1 = PathBuf::from(OsStr::from_bytes(b"/srv/caf\xe9"));
        let paths = Paths {
            one: latin1.clone(),
            maybe: Some(PathBuf::from("/srv/café")),
            many: vec![PathBuf::from("/srv"), latin1.clone()],
        };
        let json = serde_json::to_string(&paths).unwrap();
        assert_eq!(
            json,
            r#"{"one":[47,115,114,118,47,99,97,102,233],"maybe":"/srv/café","many":["/srv",[47,115,114,118,47,99,97,102,233]]}"#
        );
        assert_eq!(serde_json::from_str::<Paths>(&json).unwrap(), paths);
        // As an older image wrote them: strings, an absent optional one.
        let older: Paths = serde_json::from_str(r#"{"one":"/srv/x"}"#).unwrap();
        assert_eq!(older.one, PathBuf::from("/srv/x"));
        assert_eq!(older.maybe, None);
        assert_eq!(older.many, Vec::<PathBuf>::new());
        let none = Paths {
            one: latin1,
            maybe: None,
            many: vec![],
        };
        let json = serde_json::to_string(&none).unwrap();
        assert_eq!(serde_json::from_str::<Paths>(&json).unwrap(), none);
    }
}
