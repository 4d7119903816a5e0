//! JSON or XML, written once: [`Body`] reads a request body by its `Content-Type`, [`Reply`]
//! answers in the format `Accept` asks for (JSON when it asks for neither).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, Responder};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::xml;
use crate::error::{ApiError, Code};

pub const JSON: &str = "application/json";
pub const XML: &str = "application/xml";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    pub fn source(self) -> crate::domain::record::Source {
        match self {
            Self::Json => crate::domain::record::Source::Json,
            Self::Xml => crate::domain::record::Source::Xml,
        }
    }
}

/// The largest request body, set from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Does `Accept` prefer XML? Highest q wins; JSON on a tie, when absent, or for anything else.
pub fn wants_xml(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let (mut json_q, mut xml_q) = (-1.0_f32, -1.0_f32);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if is_xml(&media) {
            xml_q = xml_q.max(q);
        } else if is_json(&media) || media == "*/*" || media == "application/*" {
            json_q = json_q.max(q);
        }
    }
    xml_q > 0.0 && xml_q > json_q
}

fn is_xml(media: &str) -> bool {
    media == "application/xml" || media == "text/xml" || media.ends_with("+xml")
}

fn is_json(media: &str) -> bool {
    media == JSON || media.ends_with("+json")
}

/// The format a request's `Content-Type` names, or 415.
pub fn request_format(req: &HttpRequest) -> Result<Format, ApiError> {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return Err(unsupported("the request has a body but no Content-Type"));
    };
    let media = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if is_json(&media) {
        Ok(Format::Json)
    } else if is_xml(&media) {
        Ok(Format::Xml)
    } else {
        Err(unsupported(&format!(
            "Content-Type '{media}' is not accepted"
        )))
    }
}

fn unsupported(why: &str) -> ApiError {
    ApiError::new(
        Code::UnsupportedMediaType,
        format!("{why}; send application/json or application/xml"),
    )
}

/// A request body of type `T`, read from JSON or XML.
#[derive(Debug)]
pub struct Body<T> {
    pub value: T,
    pub format: Format,
    /// The bytes as received, for idempotency fingerprints.
    pub raw: web::Bytes,
}

impl<T> Body<T> {
    pub fn into_inner(self) -> T {
        self.value
    }
}

/// A body that may be left out entirely: an empty body gives `T::default()`.
#[derive(Debug)]
pub struct OptionalBody<T>(pub Body<T>);

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let raw = read(&req, payload).await?;
            let format = request_format(&req)?;
            Ok(Body {
                value: decode(&raw, format)?,
                format,
                raw,
            })
        })
    }
}

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let raw = read(&req, payload).await?;
            // No body, or JSON's null, is the default request.
            let blank = raw.iter().all(u8::is_ascii_whitespace)
                || (raw.trim_ascii() == b"null"
                    && request_format(&req).is_ok_and(|f| f == Format::Json));
            if blank {
                let format = request_format(&req).unwrap_or(Format::Json);
                return Ok(OptionalBody(Body {
                    value: T::default(),
                    format,
                    raw,
                }));
            }
            let format = request_format(&req)?;
            Ok(OptionalBody(Body {
                value: decode(&raw, format)?,
                format,
                raw,
            }))
        })
    }
}

/// Reads the whole body, refusing with 413 as soon as it passes the limit.
async fn read(req: &HttpRequest, mut payload: Payload) -> Result<web::Bytes, ApiError> {
    let limit = req
        .app_data::<web::Data<BodyLimit>>()
        .map_or(16 * 1024 * 1024, |l| l.0);
    let too_large = || {
        ApiError::new(
            Code::PayloadTooLarge,
            format!("the request body is larger than {limit} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(Code::MalformedBody, format!("reading the body failed: {e}"))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Parses a body: bad syntax is 400 `malformed_body` (or the XML refusal's own code); a
/// well-formed body of the wrong shape is 422 `invalid_body` naming what is wrong.
pub fn decode<T: DeserializeOwned>(raw: &[u8], format: Format) -> Result<T, ApiError> {
    match format {
        Format::Json => {
            // Every body is an object; serde would also read a struct from an array.
            let first = raw.iter().find(|b| !b.is_ascii_whitespace());
            if first.is_some_and(|b| *b != b'{')
                && serde_json::from_slice::<serde_json::Value>(raw).is_ok()
            {
                return Err(ApiError::new(
                    Code::InvalidBody,
                    "the JSON body must be an object",
                ));
            }
            unique_keys(raw)?;
            serde_json::from_slice(raw).map_err(|e| {
                use serde_json::error::Category;
                match e.classify() {
                    Category::Data => ApiError::new(
                        Code::InvalidBody,
                        format!("the JSON body does not fit: {e}"),
                    )
                    .with("path", json_path::<T>(raw)),
                    _ => ApiError::new(
                        Code::MalformedBody,
                        format!("the JSON body is malformed: {e}"),
                    ),
                }
            })
        }
        Format::Xml => {
            let root = xml::parse(raw, xml::DEFAULT_MAX_DEPTH)
                .map_err(|e| ApiError::new(e.code(), format!("the XML body is refused: {e}")))?;
            xml::from_element(&root).map_err(|e| {
                ApiError::new(Code::InvalidBody, format!("the XML body does not fit: {e}"))
                    .with("path", e.path)
            })
        }
    }
}

/// Where in a JSON body that does not fit the member at fault is, as a JSON Pointer (`/` for
/// the body itself), as `duplicate_key` names it. The body is read again only on this error
/// path, so well-formed bodies pay nothing for it.
fn json_path<T: DeserializeOwned>(raw: &[u8]) -> String {
    use serde_path_to_error::Segment;
    let mut de = serde_json::Deserializer::from_slice(raw);
    let Err(e) = serde_path_to_error::deserialize::<_, T>(&mut de) else {
        return "/".to_owned();
    };
    let pointer: String = e
        .path()
        .iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(format!("/{index}")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                Some(format!("/{}", key.replace('~', "~0").replace('/', "~1")))
            }
            Segment::Unknown => None,
        })
        .collect();
    if pointer.is_empty() {
        "/".to_owned()
    } else {
        pointer
    }
}

/// Refuses a JSON document in which an object names a key twice (JSON parsers disagree on
/// which one wins, so neither may), naming the object and the key. Malformed JSON passes
/// here and is refused, with its position, by the typed read.
fn unique_keys(raw: &[u8]) -> Result<(), ApiError> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::fmt;

    struct Walk(String);

    impl<'de> DeserializeSeed<'de> for Walk {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Walk {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                let path = format!("{}/{key}", self.0);
                if !seen.insert(key) {
                    return Err(serde::de::Error::custom(DUPLICATE.to_owned() + &path));
                }
                map.next_value_seed(Walk(path))?;
            }
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut i = 0;
            while seq
                .next_element_seed(Walk(format!("{}/{i}", self.0)))?
                .is_some()
            {
                i += 1;
            }
            Ok(())
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    }

    const DUPLICATE: &str = "duplicate key at ";
    let mut de = serde_json::Deserializer::from_slice(raw);
    match Walk(String::new()).deserialize(&mut de) {
        Err(e) if e.is_data() => {
            let text = e.to_string();
            let path = text
                .strip_prefix(DUPLICATE)
                .and_then(|rest| rest.split(" at line ").next())
                .unwrap_or("")
                .to_owned();
            Err(ApiError::new(
                Code::DuplicateKey,
                format!(
                    "the JSON body names a key twice: {}",
                    path.rsplit('/').next().unwrap_or("")
                ),
            )
            .with(
                "path",
                if path.is_empty() {
                    "/".to_owned()
                } else {
                    path
                },
            ))
        }
        _ => Ok(()),
    }
}

/// A response body in the format the caller accepts, with its status and headers.
pub struct Reply<T> {
    value: T,
    status: StatusCode,
    headers: Vec<(header::HeaderName, String)>,
    root: Option<&'static str>,
}

impl<T: Serialize> Reply<T> {
    pub fn ok(value: T) -> Self {
        Self {
            value,
            status: StatusCode::OK,
            headers: Vec::new(),
            root: None,
        }
    }
    pub fn created(value: T) -> Self {
        Self {
            status: StatusCode::CREATED,
            ..Self::ok(value)
        }
    }
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
    pub fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    /// The XML root element (the type's name otherwise).
    pub fn root(mut self, root: &'static str) -> Self {
        self.root = Some(root);
        self
    }
}

/// The last segment of a type's name, without generics: `orgsync::api::records::Record` → `Record`.
fn type_root<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

impl<T: Serialize> Responder for Reply<T> {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        for (name, value) in &self.headers {
            res.insert_header((name.clone(), value.as_str()));
        }
        res.insert_header((header::VARY, "Accept"));
        if wants_xml(req.headers()) {
            match serde_json::to_value(&self.value) {
                Ok(v) => res
                    .content_type("application/xml; charset=utf-8")
                    .body(xml::to_xml(self.root.unwrap_or_else(type_root::<T>), &v)),
                Err(e) => {
                    ApiError::internal(format!("encoding a response: {e}")).error_response_boxed()
                }
            }
        } else {
            match serde_json::to_vec(&self.value) {
                Ok(bytes) => res.content_type(JSON).body(bytes),
                Err(e) => {
                    ApiError::internal(format!("encoding a response: {e}")).error_response_boxed()
                }
            }
        }
    }
}

impl ApiError {
    fn error_response_boxed(&self) -> HttpResponse {
        actix_web::ResponseError::error_response(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn accept(v: &str) -> bool {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        wants_xml(&h)
    }

    #[test]
    fn accept_negotiation() {
        assert!(accept("application/xml"));
        assert!(accept("text/xml"));
        assert!(accept("application/json;q=0.5, application/xml"));
        assert!(!accept("application/json, application/xml"));
        assert!(!accept("*/*"));
        assert!(!accept("text/html"));
        assert!(!wants_xml(&HeaderMap::new()));
    }

    #[test]
    fn xml_roots_come_from_type_names() {
        assert_eq!(type_root::<Reply<String>>(), "Reply");
        assert_eq!(type_root::<crate::error::Problem>(), "Problem");
    }
}
