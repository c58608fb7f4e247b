//! The chat template a GGUF file embeds (`tokenizer.chat_template`, Jinja as in Hugging Face
//! `transformers`), rendered with minijinja; ChatML when the file has none.

use std::path::Path;

use minijinja::{context, Environment};
use redline_model::Message;

use super::meta::{read_header, Meta};
use super::{pycompat, LocalModelError};

/// ChatML, the format SmolLM2 and many small instruct models were trained on; used when a file
/// embeds no template.
pub const CHATML: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

const NAME: &str = "chat_template";

/// A compiled chat template with the model's BOS and EOS token texts.
pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

impl ChatTemplate {
    /// Compiles `source` (ChatML when `None`). A syntax error is returned as its message.
    pub fn new(source: Option<&str>, bos_token: &str, eos_token: &str) -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        // transformers renders chat templates with these two set; templates are written for them.
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        // Templates call `raise_exception` to reject a conversation they can't format (say, a
        // system turn the model doesn't support): that becomes a render error.
        env.add_function(
            "raise_exception",
            |message: String| -> Result<String, minijinja::Error> {
                Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    message,
                ))
            },
        );
        env.set_unknown_method_callback(pycompat::call_method);
        env.add_template_owned(NAME, source.unwrap_or(CHATML).to_string())?;
        Ok(ChatTemplate {
            env,
            bos_token: bos_token.into(),
            eos_token: eos_token.into(),
        })
    }

    /// The template of a GGUF file, reading only its header.
    pub fn load(path: &Path) -> Result<Self, LocalModelError> {
        let (_, content) = read_header(path)?;
        let meta = Meta::new(&content, path);
        let tokenizer = super::GgufTokenizer::from_meta(&meta)?;
        Self::from_meta(&meta, &tokenizer)
    }

    pub(crate) fn from_meta(
        meta: &Meta<'_>,
        tokenizer: &super::GgufTokenizer,
    ) -> Result<Self, LocalModelError> {
        let source = meta.opt_str("tokenizer.chat_template")?;
        let bos = tokenizer.bos().map_or("", |(_, text)| text);
        Self::new(source, bos, tokenizer.eos().1).map_err(|e| LocalModelError::ChatTemplate {
            path: meta.path_buf(),
            reason: format!("{e:#}"),
        })
    }

    /// The prompt for `messages`, ending with the assistant's turn opened
    /// (`add_generation_prompt`).
    pub fn render(&self, messages: &[Message]) -> Result<String, minijinja::Error> {
        let messages: Vec<_> = messages
            .iter()
            .map(|m| context! { role => m.role.as_str(), content => m.content.as_str() })
            .collect();
        self.env.get_template(NAME)?.render(context! {
            messages => messages,
            add_generation_prompt => true,
            bos_token => self.bos_token.as_str(),
            eos_token => self.eos_token.as_str(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_fallback_renders_a_system_and_user_turn() {
        let t = ChatTemplate::new(None, "", "<|im_end|>").expect("ChatML compiles");
        let text = t
            .render(&[Message::system("Be brief."), Message::user("Hi")])
            .expect("renders");
        assert_eq!(
            text,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn a_template_that_raises_is_an_error_not_a_panic() {
        let t =
            ChatTemplate::new(Some("{{ raise_exception('no system role') }}"), "", "</s>").expect("parses");
        let err = t.render(&[Message::user("Hi")]).expect_err("raises");
        assert!(err.to_string().contains("no system role"), "{err}");
    }

    #[test]
    fn python_string_methods_work() {
        let source = "{% for m in messages %}{{ m['content'].strip().upper() }}|{% if m.content.startswith(' h') %}yes{% endif %}{% endfor %}";
        let t = ChatTemplate::new(Some(source), "", "").expect("parses");
        assert_eq!(t.render(&[Message::user(" hi ")]).expect("renders"), "HI|yes");
    }

    #[test]
    fn python_dict_methods_work() {
        let source = "{{ messages[0].get('role') }} {{ messages[0].get('name', 'anon') }} \
                      {{ messages[0].items() | length }} {{ messages[0].keys() | sort | join(',') }}";
        let t = ChatTemplate::new(Some(source), "", "").expect("parses");
        assert_eq!(
            t.render(&[Message::user("x")]).expect("renders"),
            "user anon 2 content,role"
        );
    }

    #[test]
    fn trim_and_lstrip_blocks_match_transformers() {
        let source = "{% for m in messages %}\n    {{ m.content }}\n{% endfor %}";
        let t = ChatTemplate::new(Some(source), "", "").expect("parses");
        assert_eq!(
            t.render(&[Message::user("a"), Message::user("b")])
                .expect("renders"),
            "    a\n    b\n"
        );
    }
}
