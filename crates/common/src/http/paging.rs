//! The paging and filters of the administrators' listings (the auth audit, the tool-call audit).

use super::{ApiError, ApiResult};

/// Largest page.
pub const MAX_PAGE: i64 = 500;
/// Longest filter value, in characters.
pub const MAX_FILTER_CHARS: usize = 64;

/// `limit` (1 to 500, default 100) and `offset` (not negative, default 0), checked.
pub fn page(limit: Option<i64>, offset: Option<i64>) -> ApiResult<(i64, i64)> {
    let limit = limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "must be between 1 and 500"));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::invalid_field("offset", "must not be negative"));
    }
    Ok((limit, offset))
}

/// Each named filter is short and has no control characters; an empty one filters nothing.
pub fn filters<'a, const N: usize>(
    fields: [(&'static str, &'a Option<String>); N],
) -> ApiResult<[Option<&'a str>; N]> {
    for (name, value) in fields {
        if value
            .as_deref()
            .is_some_and(|v| v.chars().count() > MAX_FILTER_CHARS || v.chars().any(char::is_control))
        {
            return Err(ApiError::invalid_field(
                name,
                "must be at most 64 characters without control characters",
            ));
        }
    }
    Ok(fields.map(|(_, value)| value.as_deref().filter(|v| !v.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_bounded() {
        assert_eq!(page(None, None).unwrap(), (100, 0));
        assert_eq!(page(Some(500), Some(7)).unwrap(), (500, 7));
        assert!(page(Some(0), None).is_err());
        assert!(page(Some(501), None).is_err());
        assert!(page(None, Some(-1)).is_err());
    }

    #[test]
    fn filters_are_checked_and_empty_ones_dropped() {
        let (a, b, c) = (Some("bob".to_owned()), Some(String::new()), None);
        assert_eq!(filters([("a", &a), ("b", &b), ("c", &c)]).unwrap(), [Some("bob"), None, None]);
        let long = Some("x".repeat(65));
        assert!(filters([("a", &long)]).is_err());
        let control = Some("a\u{7}".to_owned());
        assert!(filters([("a", &control)]).is_err());
    }
}
