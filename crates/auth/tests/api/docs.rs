//! The API reference at `/docs` is served by the auth server itself, so it works offline.

use crate::helpers::{Backend, TestApp};

/// The database plays no part in `/docs`, so one backend is enough.
#[tokio::test]
async fn api_reference_is_served_from_the_binary() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    common::testing::assert_api_reference_served(&app.base).await;
    app.stop().await;
}
