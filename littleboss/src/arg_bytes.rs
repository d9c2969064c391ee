//! A reload's arguments in JSON. Written as serde writes an `OsString`
//! (`{"Unix":[45,120]}`), the form every version reads; read in that form,
//! and also as a plain string or its bytes, as a path is
//! ([`crate::path_bytes`]), so that a request written by hand
//! (`"args":["-port","8080"]`) is understood rather than refused with
//! serde's "unknown variant".
//!
//! ```ignore
//! #[serde(default, deserialize_with = "arg_bytes::option")]
//! args: Option<Vec<OsString>>,
//! ```

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// One argument as written: a string, its bytes, or `{"Unix": bytes}`.
struct Written(OsString);

impl<'de> Deserialize<'de> for Written {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Written, D::Error> {
        deserializer.deserialize_any(WrittenVisitor)
    }
}

struct WrittenVisitor;

impl<'de> Visitor<'de> for WrittenVisitor {
    type Value = Written;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an argument (a string, its bytes, or {\"Unix\": its bytes})")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Written, E> {
        Ok(Written(OsString::from(text)))
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Written, E> {
        Ok(Written(OsString::from_vec(bytes.to_vec())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Written, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(Written(OsString::from_vec(bytes)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Written, A::Error> {
        let Some(platform) = map.next_key::<String>()? else {
            return Err(de::Error::invalid_length(0, &self));
        };
        if platform != "Unix" {
            return Err(de::Error::custom(format_args!(
                "an argument written for `{platform}`, not `Unix`"
            )));
        }
        let bytes: Vec<u8> = map.next_value()?;
        if map.next_key::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(
                "an argument with more than its `Unix` bytes",
            ));
        }
        Ok(Written(OsString::from_vec(bytes)))
    }
}

/// Reads an optional list of arguments (`null` or absent: `None`).
pub(crate) fn option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<OsString>>, D::Error> {
    let written = Option::<Vec<Written>>::deserialize(deserializer)?;
    Ok(written.map(|args| args.into_iter().map(|arg| arg.0).collect()))
}

#[cfg(test)]
mod tests {
    use std::ffi::{OsStr, OsString};
    use std::os::unix::ffi::OsStrExt;

    #[derive(Debug, serde::Deserialize)]
    struct Args {
        #[serde(default, deserialize_with = "super::option")]
        args: Option<Vec<OsString>>,
    }

    fn read(json: &str) -> Result<Option<Vec<OsString>>, String> {
        serde_json::from_str::<Args>(json)
            .map(|a| a.args)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn arguments_are_read_as_serde_writes_them_as_strings_and_as_bytes() {
        let latin1 = OsString::from(OsStr::from_bytes(b"caf\xe9"));
        // As every version writes them.
        let written = serde_json::to_string(&[OsString::from("-x"), latin1.clone()]).unwrap();
        assert_eq!(written, r#"[{"Unix":[45,120]},{"Unix":[99,97,102,233]}]"#);
        let want = Some(vec![OsString::from("-x"), latin1]);
        assert_eq!(read(&format!(r#"{{"args":{written}}}"#)).unwrap(), want);
        // As a person writes them, and as bytes where not UTF-8.
        assert_eq!(read(r#"{"args":["-x",[99,97,102,233]]}"#).unwrap(), want);
        assert_eq!(read(r#"{"args":[]}"#).unwrap(), Some(vec![]));
        assert_eq!(read(r#"{"args":null}"#).unwrap(), None);
        assert_eq!(read(r#"{}"#).unwrap(), None);
    }

    #[test]
    fn an_argument_in_no_form_we_read_is_refused_saying_which_forms_are() {
        for (json, says) in [
            (r#"{"args":[7]}"#, "an argument (a string, its bytes"),
            (
                r#"{"args":[{"Windows":[45]}]}"#,
                "written for `Windows`, not `Unix`",
            ),
            (r#"{"args":[{}]}"#, "an argument (a string, its bytes"),
            (
                r#"{"args":[{"Unix":[45],"x":1}]}"#,
                "more than its `Unix` bytes",
            ),
            (r#"{"args":[[256]]}"#, "256"),
            (r#"{"args":"-x"}"#, "a sequence"),
        ] {
            let error = read(json).unwrap_err();
            assert!(error.contains(says), "{json}: {error}");
        }
    }
}
