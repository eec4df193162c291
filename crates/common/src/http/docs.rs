//! The interactive API reference page served at `/docs`.

use axum::response::Html;

/// An HTML page that renders `/openapi.json` with Scalar's API reference viewer.
///
/// The viewer's script comes from a CDN: the page needs a browser with internet access, while
/// `/openapi.json` itself works anywhere.
pub fn page(title: &str) -> Html<String> {
    let title = title.replace(['<', '>', '&', '"'], "");
    Html(format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
</head>
<body>
<noscript>The interactive reference needs JavaScript. The raw document is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<script id="api-reference" data-url="/openapi.json"></script>
<script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script>
</body>
</html>
"#
    ))
}
