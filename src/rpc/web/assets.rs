//! The page's stylesheet and script, built into the binary (nothing is fetched from
//! anywhere else).

const STYLE: &str = include_str!("assets/style.css");
const SCRIPT: &str = include_str!("assets/app.js");

/// (content type, bytes) of a static file under /ui/ (the reference's
/// /stylesheets/supervisor.css is served the same stylesheet).
pub fn find(path: &str) -> Option<(&'static str, &'static [u8])> {
    match path {
        "/ui/style.css" | "/stylesheets/supervisor.css" => Some(("text/css;charset=utf-8", STYLE.as_bytes())),
        "/ui/app.js" => Some(("text/javascript;charset=utf-8", SCRIPT.as_bytes())),
        _ => None,
    }
}
