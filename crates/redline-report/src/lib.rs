//! The system card: one [`Card`] (plain data, also the JSON card) rendered as a self-contained
//! HTML file with inline SVG charts, as Markdown, or as JSON; and signed bundles.
//!
//! ```no_run
//! # fn demo(card: redline_report::Card) -> Result<(), Box<dyn std::error::Error>> {
//! use redline_report::{render, sign_bundle, verify_bundle, Format};
//! let dir = std::path::Path::new("card-bundle");
//! std::fs::create_dir_all(dir)?;
//! std::fs::write(dir.join("card.html"), render(&card, Format::Html)?)?;
//! let key = redline_report::generate_key();
//! sign_bundle(dir, &key)?;
//! verify_bundle(dir, Some(&key.verifying_key()))?; // Err names any file that changed
//! # Ok(()) }
//! ```
//!
//! Model output is untrusted: the HTML template escapes every value (auto-escape is on for the
//! whole file and a Content-Security-Policy forbids scripts), and Markdown shows model output only
//! inside fenced blocks that the text cannot close.

mod bundle;
mod card;
pub mod charts;
mod render;

pub use bundle::{
    generate_key, public_key_path, read_signing_key, read_verifying_key, sign_bundle, verify_bundle,
    write_key_pair, BundleError, Manifest, ManifestEntry, MANIFEST, SIGNATURE,
};
pub use card::*;
pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use render::{md_cell, md_fenced, render, render_html, render_markdown, Format, RenderError};
