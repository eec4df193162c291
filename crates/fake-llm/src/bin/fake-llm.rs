//! `fake-llm [ADDR]`: runs the fake provider (default 127.0.0.1:9999) for end-to-end tests and
//! benchmarks. Point `OPENAI_BASE_URL` at `http://ADDR/v1`. `FAKE_LLM_CATALOGUE=N` lists a
//! realistic catalogue of N models (OpenAI's, then fine-tunes) in a shuffled order.

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9999".into());
    let fake = fake_llm::FakeLlm::start_on(addr.parse().expect("an address like 127.0.0.1:9999")).await;
    if let Some(n) = std::env::var("FAKE_LLM_CATALOGUE").ok().and_then(|n| n.parse().ok()) {
        fake.set_models(fake_llm::models::catalogue(n, 42));
    }
    println!("fake provider on {}", fake.openai_base());
    std::future::pending::<()>().await;
}
