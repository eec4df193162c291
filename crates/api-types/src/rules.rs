//! The servers' rules for text fields, as JSON Schema patterns for the OpenAPI documents.
//!
//! Each pattern states exactly what the field's validator accepts (`auth::domain`,
//! `chat::http::validate`), so a client generated from the documents can check input before it
//! is sent, and property-based testing (Schemathesis) can tell valid input from invalid. The
//! patterns use only what ECMAScript and Python regular expressions share. "Whitespace" is
//! Unicode's White_Space, which Rust's `trim` and `split_whitespace` use; "control characters"
//! are U+0000–U+001F and U+007F–U+009F (Rust's `char::is_control`).

/// No NUL character.
pub const NO_NUL: &str = r"^[^\x00]*$";

/// No control character.
pub const NO_CONTROL: &str = r"^[^\x00-\x1f\x7f-\x9f]*$";

/// Not blank (something besides whitespace), no NUL: message content.
pub const NOT_BLANK_NO_NUL: &str = concat!(
    r"^[^\x00]*",
    r"[^\x00\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]",
    r"[^\x00]*$"
);

/// Not blank, no control character: titles.
pub const NOT_BLANK_NO_CONTROL: &str = concat!(
    r"^[^\x00-\x1f\x7f-\x9f]*",
    r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]",
    r"[^\x00-\x1f\x7f-\x9f]*$"
);

/// One to ten words separated by whitespace, no control character: search queries.
pub const SEARCH_WORDS: &str = concat!(
    r"^[ \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*",
    r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+",
    r"(?:[ \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+",
    r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+){0,9}",
    r"[ \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
);

/// A username: 3 to 64 ASCII letters, digits, `_`, `.` and `-`, starting with a letter or
/// digit (stored lowercased).
pub const USERNAME: &str = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$";

/// An email address: a local part of 1 to 64 characters without whitespace, control characters
/// or `@<>()[]\,;:"`; a domain of ASCII letters, digits, `-` and at least one `.`, which neither
/// starts nor ends with `.` or `-` and has no `..` (stored lowercased; 254 characters at most).
pub const EMAIL: &str = concat!(
    r#"^[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000@<>()\[\]\\,;:"]{1,64}"#,
    r"@[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*\.[A-Za-z0-9-]*[A-Za-z0-9]$"
);

/// A random id as the servers issue them: ASCII letters, digits, `-` and `_`.
pub const ID: &str = r"^[A-Za-z0-9_-]+$";

/// `GET /api/v1/search?q=` in the documents: a required parameter of its own type (a parameter
/// given by `schema_with` cannot be required).
pub struct SearchQuery;

impl utoipa::PartialSchema for SearchQuery {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        schema::search_query()
    }
}

impl utoipa::ToSchema for SearchQuery {}

/// Schemas of the text fields that follow these rules, for `#[schema(schema_with = …)]` (whose
/// attributes take only literals, so the patterns above could not be named there).
pub mod schema {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    use utoipa::openapi::{Object, RefOr, Schema};

    fn text(min: usize, max: usize, pattern: &str, nullable: bool, description: &str) -> RefOr<Schema> {
        let kind =
            if nullable { SchemaType::from_iter([Type::String, Type::Null]) } else { Type::String.into() };
        let object: Object = ObjectBuilder::new()
            .schema_type(kind)
            .min_length((min > 0).then_some(min))
            .max_length(Some(max))
            .pattern(Some(pattern))
            .description(Some(description))
            .build();
        RefOr::T(Schema::Object(object))
    }

    const USERNAME: &str = "3 to 64 ASCII letters, digits, `_`, `.` and `-`, starting with a letter or a \
                            digit; stored lowercased.";
    const EMAIL: &str = "An email address (a domain in ASCII, `xn--` for an internationalised one); stored \
                         lowercased.";
    const PASSWORD: &str = "8 to 128 characters, not one of the most common passwords.";
    const FULL_NAME: &str =
        "At most 128 characters without control characters; stored trimmed, blank is none.";
    const TITLE: &str = "At most 200 characters, not blank, without control characters; stored trimmed.";
    const MODEL: &str = "One of `GET /api/v1/models`; `\"\"` for the default.";
    const SYSTEM_PROMPT: &str = "At most 16 000 characters without NUL.";
    const CONTENT: &str = "Not blank, without NUL, at most `chat.max_message_chars` characters (32 000 unless \
                           configured otherwise).";

    pub fn username() -> RefOr<Schema> {
        text(0, 64, super::USERNAME, false, USERNAME)
    }
    pub fn email() -> RefOr<Schema> {
        text(0, 254, super::EMAIL, false, EMAIL)
    }
    pub fn email_or_null() -> RefOr<Schema> {
        text(0, 254, super::EMAIL, true, EMAIL)
    }
    pub fn password() -> RefOr<Schema> {
        text(8, 128, super::NO_NUL, false, PASSWORD)
    }
    pub fn password_or_null() -> RefOr<Schema> {
        text(8, 128, super::NO_NUL, true, PASSWORD)
    }
    pub fn full_name_or_null() -> RefOr<Schema> {
        text(0, 128, super::NO_CONTROL, true, FULL_NAME)
    }
    pub fn title() -> RefOr<Schema> {
        text(0, 200, super::NOT_BLANK_NO_CONTROL, false, TITLE)
    }
    pub fn title_or_null() -> RefOr<Schema> {
        text(0, 200, super::NOT_BLANK_NO_CONTROL, true, TITLE)
    }
    pub fn model_or_null() -> RefOr<Schema> {
        text(0, 200, super::NO_CONTROL, true, MODEL)
    }
    pub fn system_prompt_or_null() -> RefOr<Schema> {
        text(0, 16_000, super::NO_NUL, true, SYSTEM_PROMPT)
    }
    pub fn content() -> RefOr<Schema> {
        text(0, 32_000, super::NOT_BLANK_NO_NUL, false, CONTENT)
    }

    pub fn id_or_null() -> RefOr<Schema> {
        text(1, 64, super::ID, true, "An id the server issued (a message's, here).")
    }
    /// `GET /users/?q=`.
    pub fn user_query() -> RefOr<Schema> {
        text(0, 128, super::NO_NUL, false, "Matches username, email or full name (at most 128 characters).")
    }
    /// `GET /audit?event=` and `?username=`.
    pub fn audit_filter() -> RefOr<Schema> {
        text(0, 64, super::NO_CONTROL, false, "At most 64 characters without control characters.")
    }
    /// `GET /api/v1/conversations/?q=`.
    pub fn title_query() -> RefOr<Schema> {
        text(0, 200, super::NO_NUL, false, "Title search, case-insensitive (at most 200 characters).")
    }
    /// `GET /api/v1/search?q=`.
    pub fn search_query() -> RefOr<Schema> {
        text(0, 200, super::SEARCH_WORDS, false, "One to ten words, at most 200 characters.")
    }
}
