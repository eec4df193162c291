//! `fake-llm [ADDR]`: runs the fake provider (default 127.0.0.1:9999) for end-to-end tests and
//! benchmarks. Point `OPENAI_BASE_URL` at `http://ADDR/v1`.

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9999".into());
    let fake = fake_llm::FakeLlm::start_on(addr.parse().expect("an address like 127.0.0.1:9999")).await;
    println!("fake provider on {}", fake.openai_base());
    std::future::pending::<()>().await;
}
