//! The chat template from the GGUF metadata (`tokenizer.chat_template`, a Jinja template as in
//! Hugging Face's tokenizers), rendered with minijinja the way `transformers` renders it, and the
//! trimming of long conversations to the context window.

use llm::{ChatMessage, Role};
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, ErrorKind, context};

/// Used when a GGUF file carries no template: ChatML, which most small instruct models use.
const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// A compiled chat template.
pub(crate) struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

impl ChatTemplate {
    /// Compiles `source` (or ChatML when the model has none). The error is a sentence.
    pub(crate) fn new(source: Option<&str>, bos_token: &str, eos_token: &str) -> Result<Self, String> {
        let mut env = Environment::new();
        // As `transformers` does (and its templates are written for).
        let syntax = SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build();
        env.set_syntax(syntax.map_err(|e| format!("cannot configure the chat template engine: {e}"))?);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |message: String| -> Result<String, minijinja::Error> {
            Err(minijinja::Error::new(ErrorKind::InvalidOperation, message))
        });
        env.add_template_owned("chat", source.unwrap_or(CHATML).to_owned())
            .map_err(|e| format!("the model's chat template is not valid Jinja: {e}"))?;
        Ok(Self { env, bos_token: bos_token.to_owned(), eos_token: eos_token.to_owned() })
    }

    /// The prompt for `messages`, ending with the opening of the assistant's turn. When the
    /// last message is the assistant's (a reply being continued), its turn is left open after
    /// its text, so the model carries on where it stopped.
    pub(crate) fn render(&self, messages: &[ChatMessage]) -> Result<String, String> {
        if let Some((last, earlier)) = messages.split_last()
            && last.role == Role::Assistant
        {
            return Ok(self.render_turns(earlier)? + &last.content);
        }
        self.render_turns(messages)
    }

    fn render_turns(&self, messages: &[ChatMessage]) -> Result<String, String> {
        let messages: Vec<_> = messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    Role::System => "system",
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                context! { role => role, content => m.content.as_str() }
            })
            .collect();
        let template = self.env.get_template("chat").map_err(|e| e.to_string())?;
        template
            .render(context! {
                messages => messages,
                add_generation_prompt => true,
                bos_token => self.bos_token.as_str(),
                eos_token => self.eos_token.as_str(),
            })
            .map_err(|e| format!("the model's chat template failed on this conversation: {e}"))
    }
}

/// Most characters one token is taken to cover when trimming by characters (real vocabularies
/// average 3 to 5; a few tokens are runs of spaces or dashes of 16 to 32).
pub(crate) const MAX_CHARS_PER_TOKEN: usize = 32;

/// The newest messages whose prompt fits in `budget` tokens: the oldest messages after the
/// leading system prompt are dropped first; the last message is always kept. `count` gives the
/// token count of a candidate conversation's prompt.
///
/// Messages are first trimmed by characters, which costs nothing: no more than
/// `budget × MAX_CHARS_PER_TOKEN` characters of them are ever tokenized, so a conversation of
/// megabytes costs no more than one that fills the context (the model's only thread tokenizes
/// the candidates).
pub(crate) fn trim_to_fit(
    messages: &[ChatMessage],
    budget: usize,
    mut count: impl FnMut(&[ChatMessage]) -> Result<usize, String>,
) -> Result<Vec<ChatMessage>, String> {
    let system = usize::from(messages.first().is_some_and(|m| m.role == Role::System));
    let max_chars = budget.saturating_mul(MAX_CHARS_PER_TOKEN);
    let too_long_error = |last: usize| {
        format!(
            "the message is too long for the local model's context window ({budget} tokens for the \
             prompt; the message has {last} characters): shorten it, or raise OPENCHAT_LOCAL_CONTEXT"
        )
    };
    // By characters: the newest messages (and the system prompt) within `max_chars`.
    let mut chars = messages[..system].iter().map(|m| m.content.chars().count()).sum::<usize>();
    let mut first_kept = messages.len();
    for (i, message) in messages.iter().enumerate().skip(system).rev() {
        let more = message.content.chars().count();
        if chars + more > max_chars {
            if i + 1 == messages.len() {
                return Err(too_long_error(more));
            }
            break;
        }
        chars += more;
        first_kept = i;
    }
    let kept: Vec<ChatMessage> = messages[..system].iter().chain(&messages[first_kept..]).cloned().collect();
    let messages = kept.as_slice();
    let candidate = |dropped: usize| -> Vec<ChatMessage> {
        messages[..system].iter().chain(&messages[system + dropped..]).cloned().collect()
    };
    let droppable = messages.len().saturating_sub(system + 1);
    if count(messages)? <= budget {
        return Ok(messages.to_vec());
    }
    // The fewest dropped messages that fit (fitting is monotonic in the number dropped).
    let (mut fits, mut too_long) = (droppable, 0);
    if count(&candidate(droppable))? > budget {
        return Err(too_long_error(messages.last().map_or(0, |m| m.content.chars().count())));
    }
    while fits - too_long > 1 {
        let middle = too_long + (fits - too_long) / 2;
        if count(&candidate(middle))? <= budget {
            fits = middle;
        } else {
            too_long = middle;
        }
    }
    Ok(candidate(fits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(role: Role, content: &str) -> ChatMessage {
        ChatMessage { role, content: content.into() }
    }

    const SMOLLM2: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn smollm2_template_adds_its_default_system_prompt() {
        let template = ChatTemplate::new(Some(SMOLLM2), "<|im_start|>", "<|im_end|>").unwrap();
        let prompt = template.render(&[message(Role::User, "Hi")]).unwrap();
        assert_eq!(
            prompt,
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
             <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
        let prompt =
            template.render(&[message(Role::System, "Be brief."), message(Role::User, "Hi")]).unwrap();
        assert!(prompt.starts_with("<|im_start|>system\nBe brief.<|im_end|>\n"), "{prompt}");
        assert!(!prompt.contains("SmolLM"), "{prompt}");
    }

    #[test]
    fn templates_use_python_methods_and_special_tokens() {
        let source = "{{ bos_token }}{% for m in messages %}[{{ m['role'].upper() }}] {{ m['content'].strip() }}\n{% endfor %}";
        let template = ChatTemplate::new(Some(source), "<s>", "</s>").unwrap();
        let prompt = template.render(&[message(Role::User, "  spaced  ")]).unwrap();
        assert_eq!(prompt, "<s>[USER] spaced\n");
    }

    #[test]
    fn raise_exception_becomes_an_error_sentence() {
        let source = "{{ raise_exception('Conversation roles must alternate') }}";
        let template = ChatTemplate::new(Some(source), "", "").unwrap();
        let err = template.render(&[message(Role::User, "x")]).unwrap_err();
        assert!(err.contains("Conversation roles must alternate"), "{err}");
        assert!(ChatTemplate::new(Some("{% for %}"), "", "").is_err());
    }

    #[test]
    fn without_a_template_chatml_is_used() {
        let template = ChatTemplate::new(None, "", "").unwrap();
        let prompt = template.render(&[message(Role::User, "Hi")]).unwrap();
        assert_eq!(prompt, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    }

    #[test]
    fn a_reply_being_continued_stays_open() {
        let template = ChatTemplate::new(None, "", "").unwrap();
        let prompt =
            template.render(&[message(Role::User, "Count"), message(Role::Assistant, "one, two,")]).unwrap();
        assert_eq!(prompt, "<|im_start|>user\nCount<|im_end|>\n<|im_start|>assistant\none, two,");
    }

    /// Counts one token per character of content, plus 2 per message.
    fn chars(messages: &[ChatMessage]) -> Result<usize, String> {
        Ok(messages.iter().map(|m| m.content.len() + 2).sum())
    }

    #[test]
    fn trimming_keeps_the_system_prompt_and_the_newest_messages() {
        let conversation = vec![
            message(Role::System, "sys"),
            message(Role::User, "aaaaaaaaaa"),
            message(Role::Assistant, "bbbbbbbbbb"),
            message(Role::User, "cccccccccc"),
            message(Role::Assistant, "dddddddddd"),
            message(Role::User, "eeeee"),
        ];
        assert_eq!(trim_to_fit(&conversation, 1000, chars).unwrap(), conversation);
        // sys (5) + d (12) + e (7) = 24; adding c would make 36.
        let trimmed = trim_to_fit(&conversation, 30, chars).unwrap();
        let contents: Vec<_> = trimmed.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(contents, ["sys", "dddddddddd", "eeeee"]);
        let trimmed = trim_to_fit(&conversation, 12, chars).unwrap();
        assert_eq!(trimmed.len(), 2);
        let err = trim_to_fit(&conversation, 5, chars).unwrap_err();
        assert!(err.contains("too long") && err.contains("OPENCHAT_LOCAL_CONTEXT"), "{err}");
    }

    #[test]
    fn megabytes_of_conversation_are_trimmed_by_characters_before_tokenizing() {
        // 40 messages of 100 000 characters, and a short question: 4 MB of text.
        let mut conversation = vec![message(Role::System, "sys")];
        conversation.extend((0..40).map(|i| message(Role::User, &format!("{i:02}{}", "x".repeat(99_998)))));
        conversation.push(message(Role::User, "and now?"));
        let mut tokenized = 0;
        let largest = std::cell::Cell::new(0);
        let trimmed = trim_to_fit(&conversation, 2048, |candidate| {
            let seen: usize = candidate.iter().map(|m| m.content.chars().count()).sum();
            largest.set(largest.get().max(seen));
            tokenized += 1;
            chars(candidate)
        })
        .unwrap();
        assert!(largest.get() <= 2048 * MAX_CHARS_PER_TOKEN, "tokenized {} characters", largest.get());
        assert!(tokenized <= 12, "{tokenized} candidates tokenized");
        let contents: Vec<_> = trimmed.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(contents, ["sys", "and now?"]);
        // The last message alone over the character bound is refused without tokenizing it.
        let huge = vec![message(Role::User, &"y".repeat(2_000_000))];
        let err = trim_to_fit(&huge, 2048, |_| panic!("nothing is tokenized")).unwrap_err();
        assert!(err.contains("2000000 characters"), "{err}");
    }

    #[test]
    fn trimming_without_a_system_prompt_drops_from_the_start() {
        let conversation: Vec<_> = (0..9).map(|i| message(Role::User, &"x".repeat(i + 1))).collect();
        let trimmed = trim_to_fit(&conversation, 21, chars).unwrap();
        // (8+2) + (9+2) = 21 fits; with (7+2) more it would not.
        assert_eq!(trimmed.iter().map(|m| m.content.len()).collect::<Vec<_>>(), [8, 9]);
    }
}
