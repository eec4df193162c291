//! A tiny GGUF model written by the tests themselves: a llama of one layer with random weights,
//! a byte-level vocabulary (every byte a token, no merges, so a prompt's token count is its byte
//! count plus one per special token) and a chat template of its own in the metadata.

use std::path::Path;

/// The template in the tiny model's metadata; `[tiny]` shows it was the one applied.
pub(crate) const TEMPLATE: &str = "{% for m in messages %}<|im_start|>{{ m['role'] }}[tiny]\n{{ m['content'] }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

/// Tokens of the prompt the template makes for these messages' (role, content).
pub(crate) fn prompt_tokens(messages: &[(&str, &str)]) -> u32 {
    let per_message: usize = messages
        .iter()
        .map(|(role, content)| 1 + role.len() + "[tiny]\n".len() + content.len() + 1 + 1)
        .sum();
    (per_message + 1 + "assistant\n".len()) as u32
}

const EMBD: u64 = 16;
const FF: u64 = 32;
const SPECIALS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// GPT-2's byte-to-character mapping, which byte-level BPE vocabularies are written in.
fn byte_chars() -> Vec<char> {
    let mut printable: Vec<u32> =
        (u32::from(b'!')..=u32::from(b'~')).chain(0xA1..=0xAC).chain(0xAE..=0xFF).collect();
    let mut chars: Vec<u32> = printable.clone();
    let mut extra = 0;
    for byte in 0..256 {
        if !printable.contains(&byte) {
            printable.push(byte);
            chars.push(256 + extra);
            extra += 1;
        }
    }
    let mut by_byte = vec!['\0'; 256];
    for (byte, ch) in printable.into_iter().zip(chars) {
        by_byte[byte as usize] = char::from_u32(ch).unwrap_or('?');
    }
    by_byte
}

struct Writer(Vec<u8>);

impl Writer {
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn kv_u32(&mut self, key: &str, v: u32) {
        self.str(key);
        self.u32(4);
        self.u32(v);
    }
    fn kv_f32(&mut self, key: &str, v: f32) {
        self.str(key);
        self.u32(6);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn kv_bool(&mut self, key: &str, v: bool) {
        self.str(key);
        self.u32(7);
        self.0.push(u8::from(v));
    }
    fn kv_str(&mut self, key: &str, v: &str) {
        self.str(key);
        self.u32(8);
        self.str(v);
    }
    fn kv_strs(&mut self, key: &str, values: &[String]) {
        self.str(key);
        self.u32(9);
        self.u32(8);
        self.u64(values.len() as u64);
        for v in values {
            self.str(v);
        }
    }
    fn kv_i32s(&mut self, key: &str, values: &[i32]) {
        self.str(key);
        self.u32(9);
        self.u32(5);
        self.u64(values.len() as u64);
        for v in values {
            self.0.extend_from_slice(&v.to_le_bytes());
        }
    }
    fn pad(&mut self) {
        while !self.0.len().is_multiple_of(32) {
            self.0.push(0);
        }
    }
}

/// Writes the tiny model to `path`.
pub(crate) fn write(path: &Path) {
    let mut tokens: Vec<String> = byte_chars().into_iter().map(String::from).collect();
    tokens.extend(SPECIALS.iter().map(|s| s.to_string()));
    let vocab = tokens.len() as u64;
    let mut types = vec![1i32; 256];
    types.extend([3, 3, 3]);

    let mut tensors: Vec<(String, Vec<u64>)> = vec![
        ("token_embd.weight".into(), vec![EMBD, vocab]),
        ("output_norm.weight".into(), vec![EMBD]),
        ("output.weight".into(), vec![EMBD, vocab]),
    ];
    for (name, dims) in [
        ("attn_norm", vec![EMBD]),
        ("attn_q", vec![EMBD, EMBD]),
        ("attn_k", vec![EMBD, EMBD]),
        ("attn_v", vec![EMBD, EMBD]),
        ("attn_output", vec![EMBD, EMBD]),
        ("ffn_norm", vec![EMBD]),
        ("ffn_gate", vec![EMBD, FF]),
        ("ffn_down", vec![FF, EMBD]),
        ("ffn_up", vec![EMBD, FF]),
    ] {
        tensors.push((format!("blk.0.{name}.weight"), dims));
    }

    let mut w = Writer(b"GGUF".to_vec());
    w.u32(3);
    w.u64(tensors.len() as u64);
    w.u64(19);
    w.kv_str("general.architecture", "llama");
    w.kv_str("general.name", "tiny test model");
    w.kv_u32("llama.context_length", 256);
    w.kv_u32("llama.embedding_length", EMBD as u32);
    w.kv_u32("llama.block_count", 1);
    w.kv_u32("llama.feed_forward_length", FF as u32);
    w.kv_u32("llama.attention.head_count", 2);
    w.kv_u32("llama.attention.head_count_kv", 2);
    w.kv_u32("llama.rope.dimension_count", 8);
    w.kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5);
    w.kv_str("tokenizer.ggml.model", "gpt2");
    w.kv_str("tokenizer.ggml.pre", "smollm");
    w.kv_strs("tokenizer.ggml.tokens", &tokens);
    w.kv_i32s("tokenizer.ggml.token_type", &types);
    w.kv_strs("tokenizer.ggml.merges", &[]);
    w.kv_u32("tokenizer.ggml.bos_token_id", 257);
    w.kv_u32("tokenizer.ggml.eos_token_id", 258);
    w.kv_bool("tokenizer.ggml.add_bos_token", false);
    w.kv_str("tokenizer.chat_template", TEMPLATE);

    let mut offset = 0u64;
    for (name, dims) in &tensors {
        w.str(name);
        w.u32(dims.len() as u32);
        for &d in dims {
            w.u64(d);
        }
        w.u32(0); // F32
        w.u64(offset);
        let bytes = dims.iter().product::<u64>() * 4;
        offset += bytes.div_ceil(32) * 32;
    }
    w.pad();
    // Deterministic small weights; norms are ones.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for (name, dims) in &tensors {
        let count = dims.iter().product::<u64>();
        for _ in 0..count {
            let value = if name.contains("norm") {
                1.0f32
            } else {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.5
            };
            w.0.extend_from_slice(&value.to_le_bytes());
        }
        w.pad();
    }
    std::fs::write(path, w.0).expect("write the tiny model");
}
