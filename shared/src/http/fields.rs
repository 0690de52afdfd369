//! Request fields as GitLab's clients send them: numbers and booleans as text, lists as
//! comma-separated text (serde `deserialize_with` helpers).

use serde::Deserialize;

/// Deserializes `["a","b"]` or `"a,b"` (the form and query-string spelling) into a list.
pub fn list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<String>),
        One(String),
    }
    Ok(match <OneOrMany as serde::Deserialize>::deserialize(d)? {
        OneOrMany::Many(v) => v,
        OneOrMany::One(s) => s.split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect(),
    })
}

/// A number as clients send one: a JSON number (`426.0` too: an integer as JSON Schema
/// counts them), or text (form and query values).
#[derive(serde::Deserialize)]
#[serde(untagged)]
pub(super) enum Numeric<N> {
    Num(N),
    Float(f64),
    Str(String),
}

impl<N: std::str::FromStr> Numeric<N> {
    /// The number; `None` for empty text.
    fn value<E: serde::de::Error>(self) -> Result<Option<N>, E> {
        let not_a_number = |shown: String| E::custom(format!("not a number: {shown}"));
        match self {
            Self::Num(n) => Ok(Some(n)),
            Self::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => {
                format!("{f:.0}").parse().map(Some).map_err(|_| not_a_number(f.to_string()))
            }
            Self::Float(f) => Err(not_a_number(f.to_string())),
            Self::Str(s) if s.trim().is_empty() => Ok(None),
            Self::Str(s) => s.trim().parse().map(Some).map_err(|_| not_a_number(format!("{s:?}"))),
        }
    }
}

/// Deserializes a number given as a JSON number or as a string (form and query values).
pub fn number<'de, D: serde::Deserializer<'de>, N: std::str::FromStr + serde::Deserialize<'de>>(
    d: D,
) -> Result<N, D::Error> {
    Numeric::<N>::deserialize(d)?.value()?.ok_or_else(|| serde::de::Error::custom("not a number: empty"))
}

/// Deserializes a boolean given as JSON or as `true`/`false` text.
pub fn boolean<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum BoolOrStr {
        Bool(bool),
        Str(String),
    }
    match <BoolOrStr as serde::Deserialize>::deserialize(d)? {
        BoolOrStr::Bool(b) => Ok(b),
        BoolOrStr::Str(s) => match s.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(serde::de::Error::custom(format!("not a boolean: {s:?}"))),
        },
    }
}

/// Like [`number`], for an optional field: `null`, absent or an empty string are `None`.
pub fn opt_number<'de, D, N>(d: D) -> Result<Option<N>, D::Error>
where
    D: serde::Deserializer<'de>,
    N: std::str::FromStr + serde::Deserialize<'de>,
{
    Option::<Numeric<N>>::deserialize(d)?.map_or(Ok(None), Numeric::value)
}

/// An optional field that, when given, may not be `null` (absent is `None`; use with
/// `#[serde(default)]`).
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// An optional setting given as a number or a string (`10` or `"10"` or `"all"`).
pub fn opt_string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(u64),
        Str(String),
    }
    Ok(Option::<NumOrStr>::deserialize(d)?.map(|v| match v {
        NumOrStr::Num(n) => n.to_string(),
        NumOrStr::Str(s) => s,
    }))
}

/// Like [`boolean`], for an optional field (absent; `null` is refused).
pub fn opt_boolean<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    boolean(d).map(Some)
}
