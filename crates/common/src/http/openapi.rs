//! Serving a service's OpenAPI document and its interactive reference.

use api_types::error::ErrorBody;
use axum::Router;
use axum::routing::get;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Required, ResponseBuilder, Type};
use utoipa::{Modify, PartialSchema, ToSchema};

/// Adds the `bearer` (JWT) security scheme that operations refer to.
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
            ),
        );
    }
}

/// What every operation shares, written into the document once instead of in every handler's
/// annotation, so a generated client sees the whole contract:
/// - each `{name}` in a path is a required string parameter in the path;
/// - a bearer-protected operation may answer 401 (no, expired or revoked token) and 403 (a
///   token without the scope, or a disabled account);
/// - an operation with a JSON or form body may answer 400 (not JSON), 413 (too large),
///   415 (wrong content type) and 422 (does not fit the schema or the limits);
/// - an operation with query parameters may answer 422 (a malformed or out-of-range value);
/// - every operation may answer 429 (a rate limit or quota, with `Retry-After`) and 503 (the
///   server is overloaded or a dependency is down, with `Retry-After`).
///
/// All of them carry the [`ErrorBody`] shape. Operations keep what their own
/// annotation says when it names the same status.
pub struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut schemas = vec![("ErrorBody".to_owned(), <ErrorBody as PartialSchema>::schema())];
        <ErrorBody as ToSchema>::schemas(&mut schemas);
        for (name, schema) in schemas {
            components.schemas.entry(name).or_insert(schema);
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let names = template_names(path);
            for operation in operations(item) {
                declare_path_parameters(operation, &names);
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let has_body = operation.request_body.is_some();
                let has_query = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| matches!(p, RefOr::T(p) if matches!(p.parameter_in, ParameterIn::Query)));
                let mut add = |status: &str, description: &str| {
                    operation.responses.responses.entry(status.to_owned()).or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description(description)
                                .content(
                                    "application/json",
                                    ContentBuilder::new()
                                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                                        .build(),
                                )
                                .build(),
                        )
                    });
                };
                if secured {
                    add("401", "No valid bearer token (missing, malformed, expired or revoked)");
                    add("403", "The token does not allow this (scope, role or a disabled account)");
                }
                if has_body {
                    add("400", "The body could not be read (for example, not valid JSON)");
                    add("413", "The body is larger than the server accepts");
                    add("415", "The body is not of the documented content type");
                    add("422", "The body does not fit the schema or its limits");
                }
                if has_query {
                    add("422", "A query parameter is malformed or out of range");
                }
                add("429", "Too many requests or a quota reached; `Retry-After` says when to retry");
                add("503", "Overloaded or a dependency is unavailable; `Retry-After` says when to retry");
            }
        }
    }
}

/// The operations of a path, whichever methods it has.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// `/a/{id}/b/{name}` → `["id", "name"]`.
fn template_names(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}')).collect()
}

fn declare_path_parameters(operation: &mut Operation, names: &[&str]) {
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    for name in names {
        let declared = parameters.iter().any(
            |p| matches!(p, RefOr::T(p) if p.name == *name && matches!(p.parameter_in, ParameterIn::Path)),
        );
        if !declared {
            parameters.push(RefOr::T(
                ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(
                        utoipa::openapi::ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)),
                    ))
                    .build(),
            ));
        }
    }
}

/// `GET /openapi.json` and `GET /docs`. The document is built on first request, not at start:
/// generating it touches code that an idle server would otherwise keep resident.
pub fn routes<S: Clone + Send + Sync + 'static>(
    document: fn() -> utoipa::openapi::OpenApi,
    title: &'static str,
) -> Router<S> {
    let json = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let json = json.clone();
                async move {
                    let body =
                        json.get_or_init(|| document().to_json().expect("the OpenAPI document serialises"));
                    ([(axum::http::header::CONTENT_TYPE, "application/json")], body.clone())
                }
            }),
        )
        .merge(super::docs::routes(title))
}
