//! A reload's arguments in JSON. Written as serde writes an `OsString`
//! (`{"Unix":[45,120]}`), the form every version reads; read in that form,
//! and also as a plain string or its bytes, as a path is
//! ([`crate::path_bytes`]), so that a request written by hand
//! (`"args":["-port","8080"]`) is understood rather than refused with
//! serde's "unknown variant". Held to what an exec takes as they are read,
//! each mistake naming its argument.
//!
//! ```ignore
//! #[serde(default, deserialize_with = "arg_bytes::option")]
//! args: Option<Vec<OsString>>,
//! ```

use std::ffi::OsString;
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

/// The longest argument an exec takes: Linux's `MAX_ARG_STRLEN`, 32
/// pages, counts the NUL.
pub(crate) const LONGEST: usize = 128 * 1024 - 1;
/// The most an exec takes of its arguments, each with its NUL and its
/// pointer, whatever the stack limit: three quarters of the kernel's
/// 8 MiB `_STK_LIM`. A ceiling, not the limit, which is the lesser of it
/// and a quarter of the stack limit (2 MiB under the usual 8 MiB): a list
/// between fails at the exec (`E2BIG`, said then). A list over it could
/// only fail so, and short ones ("" is three bytes of JSON) would take 24
/// bytes of memory each.
const ALL_OF_THEM: usize = 6 * 1024 * 1024;

/// Reads an optional list of arguments (`null` or absent: `None`).
pub(crate) fn option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<OsString>>, D::Error> {
    deserializer.deserialize_option(MaybeList)
}

struct MaybeList;

impl<'de> Visitor<'de> for MaybeList {
    type Value = Option<Vec<OsString>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of arguments, or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(List).map(Some)
    }
}

struct List;

impl<'de> Visitor<'de> for List {
    type Value = Vec<OsString>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of arguments")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<OsString>, A::Error> {
        let (mut args, mut total) = (Vec::new(), 0);
        while let Some(arg) = seq.next_element_seed(Arg {
            index: args.len() + 1,
        })? {
            let (index, len) = (args.len() + 1, arg.len());
            if len > LONGEST {
                return Err(too_long(index, &format!(" is {len} bytes,")));
            }
            if arg.as_bytes().contains(&0) {
                return Err(de::Error::custom(format_args!(
                    "argument {index} of `args` holds a NUL byte, which no argument can"
                )));
            }
            total += len + 1 + size_of::<usize>();
            if total > ALL_OF_THEM {
                return Err(de::Error::custom(format_args!(
                    "`args` come to more than any exec takes ({ALL_OF_THEM} bytes, each argument with its NUL and pointer) by argument {index}"
                )));
            }
            args.push(arg);
        }
        Ok(args)
    }
}

/// Argument `index` is longer than an exec takes; `is` says by how much
/// (" is 131072 bytes,"), if that is known.
fn too_long<E: de::Error>(index: usize, is: &str) -> E {
    de::Error::custom(format_args!(
        "argument {index} of `args`{is} longer than any argument ({LONGEST})"
    ))
}

/// Argument `index` (from 1): a string, its bytes, or `{"Unix": bytes}`.
struct Arg {
    index: usize,
}

impl<'de> DeserializeSeed<'de> for Arg {
    type Value = OsString;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<OsString, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Arg {
    type Value = OsString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let index = self.index;
        write!(
            f,
            "argument {index} of `args` as a string, its bytes, or {{\"Unix\": its bytes}}"
        )
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<OsString, E> {
        Ok(OsString::from(text))
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<OsString, E> {
        Bytes { index: self.index }.visit_bytes(bytes)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<OsString, A::Error> {
        Bytes { index: self.index }.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OsString, A::Error> {
        let index = self.index;
        let Some(platform) = map.next_key::<String>()? else {
            return Err(de::Error::invalid_length(0, &self));
        };
        if platform != "Unix" {
            return Err(de::Error::custom(format_args!(
                "argument {index} of `args` is written for `{platform}`, not `Unix`"
            )));
        }
        let arg = map.next_value_seed(Bytes { index })?;
        if map.next_key::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(format_args!(
                "argument {index} of `args` has more than its `Unix` bytes"
            )));
        }
        Ok(arg)
    }
}

/// Argument `index`'s bytes, a list of numbers from 0 to 255.
struct Bytes {
    index: usize,
}

impl<'de> DeserializeSeed<'de> for Bytes {
    type Value = OsString;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<OsString, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Bytes {
    type Value = OsString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let index = self.index;
        write!(f, "argument {index} of `args` as its bytes")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<OsString, E> {
        Ok(OsString::from_vec(bytes.to_vec()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OsString, A::Error> {
        let mut bytes = Vec::new();
        let index = self.index;
        while let Some(byte) = seq.next_element_seed(Byte { index })? {
            // Checked with the rest once whole; this bounds the memory.
            if bytes.len() > LONGEST {
                return Err(too_long(self.index, " is"));
            }
            bytes.push(byte);
        }
        Ok(OsString::from_vec(bytes))
    }
}

/// One byte of argument `index`: a number from 0 to 255, and any other
/// value refused naming the argument.
struct Byte {
    index: usize,
}

impl Byte {
    /// `value` (a number, written as the request wrote it) is no byte.
    fn not_a_byte<E: de::Error>(self, value: impl fmt::Debug) -> E {
        let index = self.index;
        E::custom(format_args!(
            "argument {index} of `args` has {value:?} among its bytes, which are whole numbers from 0 to 255"
        ))
    }
}

impl<'de> DeserializeSeed<'de> for Byte {
    type Value = u8;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<u8, D::Error> {
        deserializer.deserialize_u8(self)
    }
}

impl<'de> Visitor<'de> for Byte {
    type Value = u8;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let index = self.index;
        write!(f, "a byte (0 to 255) of argument {index} of `args`")
    }

    fn visit_u64<E: de::Error>(self, byte: u64) -> Result<u8, E> {
        u8::try_from(byte).map_err(|_| self.not_a_byte(byte))
    }

    fn visit_i64<E: de::Error>(self, byte: i64) -> Result<u8, E> {
        u8::try_from(byte).map_err(|_| self.not_a_byte(byte))
    }

    fn visit_f64<E: de::Error>(self, byte: f64) -> Result<u8, E> {
        Err(self.not_a_byte(byte))
    }
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
    fn an_argument_no_exec_takes_or_in_no_form_we_read_is_refused_by_its_number() {
        let long = "a".repeat(super::LONGEST + 1);
        let longest = "a".repeat(super::LONGEST);
        assert_eq!(
            read(&format!(r#"{{"args":["{longest}"]}}"#)).unwrap(),
            Some(vec![OsString::from(&longest)])
        );
        let long_bytes = format!("[{}97]", "97,".repeat(super::LONGEST + 1));
        // Short ones, each 9 bytes to an exec: more than 6 MiB of them.
        let many = format!("[{}\"\"]", "\"\",".repeat(super::ALL_OF_THEM / 9));
        for (json, says) in [
            (
                r#"{"args":["-x",7]}"#.to_owned(),
                "expected argument 2 of `args` as a string, its bytes, or {\"Unix\": its bytes}",
            ),
            (
                r#"{"args":[{"Windows":[45]}]}"#.to_owned(),
                "argument 1 of `args` is written for `Windows`, not `Unix`",
            ),
            (
                r#"{"args":[{}]}"#.to_owned(),
                "expected argument 1 of `args`",
            ),
            (
                r#"{"args":["-x",[-1]]}"#.to_owned(),
                "argument 2 of `args` has -1 among its bytes, which are whole numbers from 0 to 255",
            ),
            (
                r#"{"args":[[45.0]]}"#.to_owned(),
                "argument 1 of `args` has 45.0 among its bytes, which are whole numbers from 0 to 255",
            ),
            (
                r#"{"args":[[45.5]]}"#.to_owned(),
                "argument 1 of `args` has 45.5 among its bytes, which are whole numbers from 0 to 255",
            ),
            (
                r#"{"args":[["a"]]}"#.to_owned(),
                "expected a byte (0 to 255) of argument 1 of `args`",
            ),
            (
                r#"{"args":[{"Unix":[45],"x":1}]}"#.to_owned(),
                "argument 1 of `args` has more than its `Unix` bytes",
            ),
            (
                r#"{"args":["-x",{"Unix":"-y"}]}"#.to_owned(),
                "expected argument 2 of `args` as its bytes",
            ),
            (
                r#"{"args":[[256]]}"#.to_owned(),
                "argument 1 of `args` has 256 among its bytes, which are whole numbers from 0 to 255",
            ),
            (
                r#"{"args":["a\u0000b"]}"#.to_owned(),
                "argument 1 of `args` holds a NUL byte",
            ),
            (
                format!(r#"{{"args":["-x","{long}"]}}"#),
                "argument 2 of `args` is 131072 bytes, longer than any argument (131071)",
            ),
            (
                format!(r#"{{"args":[{long_bytes}]}}"#),
                "argument 1 of `args` is longer than any argument (131071)",
            ),
            (
                format!(r#"{{"args":{many}}}"#),
                "`args` come to more than any exec takes (6291456 bytes",
            ),
            (
                r#"{"args":"-x"}"#.to_owned(),
                "expected a list of arguments",
            ),
        ] {
            let error = read(&json).unwrap_err();
            assert!(
                error.contains(says),
                "{}: {error}",
                &json[..json.len().min(60)]
            );
        }
    }
}
